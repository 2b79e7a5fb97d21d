//! IPS Ung: the REST service for municipal IPS programmes for young people, and its candidate portal.
// `ApiError` is the response itself (a poem-openapi `ApiResponse` enum); boxing it would hide the
// documented variants from the derive, so the size lint is accepted here.
#![allow(clippy::result_large_err)]
// Operations take one argument per extracted parameter, header and body, as poem-openapi wants them.
#![allow(clippy::too_many_arguments)]
pub mod auth;
pub mod body;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod idempotency;
pub mod jobs;
pub mod metrics;
pub mod middleware;
pub mod passwords;
pub mod routes;
pub mod state;
pub mod tokens;

use std::time::Duration;

use poem::{
    Endpoint, EndpointExt, Route, get, handler, listener::TcpListener, middleware::Compression,
};
use poem_openapi::{ContactObject, LicenseObject, OpenApiService};

use crate::{
    routes::privacy::PrivacyApi,
    routes::questionnaires::QuestionnairesApi,
    routes::{
        accounts::AccountsApi, appointments::AppointmentsApi, auth::AuthApi,
        candidates::CandidatesApi, events::EventsApi, goals::GoalsApi, ops, plan::PlanApi,
        requests::RequestsApi,
    },
    state::AppState,
};

/// The operations of the API.
pub type Api = (
    AuthApi,
    AccountsApi,
    CandidatesApi,
    GoalsApi,
    PlanApi,
    RequestsApi,
    AppointmentsApi,
    QuestionnairesApi,
    EventsApi,
    PrivacyApi,
);

const DESCRIPTION: &str = "\
The API of IPS Ung: Individual Placement and Support for young people (15–29) with mental-health \
problems in Danish municipalities.

**Conventions.** JSON with snake_case fields; ids are UUIDv7; timestamps RFC 3339 (UTC); dates \
`YYYY-MM-DD`. Errors are RFC 9457 `application/problem+json` with `errors: [{field, code, message}]` \
for invalid input. Lists use cursor pagination (`limit` 1–200, `cursor` = the previous page's \
`next_cursor`). Mutable resources carry `version` and an `ETag`; send `If-Match` on PATCH/PUT/DELETE \
(a stale one is 412). Every POST that creates accepts `Idempotency-Key` (24 h): a repeat with the same \
body gets the first response, another body 422, a repeat while the first runs 409. Something outside \
your reach is 404, an operation your role can never use 403. Bodies over 64 KiB are 413; a wrong \
content type 415.

**Authentication.** People log in at `POST /auth/login` (or accept an invitation) and send the access \
token as `Authorization: Bearer …`; municipal systems use client credentials at `POST /oauth/token`. \
Tokens are EdDSA JWTs; the public keys are at `/.well-known/jwks.json`.";

/// The OpenAPI service: the operations and their documentation.
pub fn api() -> OpenApiService<Api, ()> {
    OpenApiService::new(
        (
            AuthApi,
            AccountsApi,
            CandidatesApi,
            GoalsApi,
            PlanApi,
            RequestsApi,
            AppointmentsApi,
            QuestionnairesApi,
            EventsApi,
            PrivacyApi,
        ),
        "IPS Ung API",
        env!("CARGO_PKG_VERSION"),
    )
    .description(DESCRIPTION)
    .contact(ContactObject::new().name("IPS Ung"))
    .license(LicenseObject::new("EUPL-1.2"))
    .url_prefix("/api/v1")
}

/// The spec as JSON (what `ips-server openapi` writes to `openapi/openapi.json`).
pub fn spec_json() -> String {
    api().spec()
}

/// The spec as YAML.
pub fn spec_yaml() -> String {
    api().spec_yaml()
}

#[handler]
fn spec_json_handler() -> poem::Response {
    poem::Response::builder()
        .content_type("application/json")
        .body(spec_json())
}

#[handler]
fn spec_yaml_handler() -> poem::Response {
    poem::Response::builder()
        .content_type("application/yaml")
        .body(spec_yaml())
}

/// The whole application: the API, the operational endpoints and the portal, with the conventions
/// every response keeps.
pub fn app(state: AppState) -> impl Endpoint {
    let service = api();
    let docs = service.swagger_ui();
    let api_routes = service.with(idempotency::Idempotency);
    Route::new()
        .nest("/api/v1", api_routes)
        .at("/api/v1/openapi.json", get(spec_json_handler))
        .at("/api/v1/openapi.yaml", get(spec_yaml_handler))
        .nest("/docs", docs)
        .at("/healthz", get(ops::healthz))
        .at("/readyz", get(ops::readyz))
        .at("/metrics", get(ops::metrics))
        .at("/.well-known/jwks.json", get(ops::jwks))
        .at("/", get(ops::portal))
        .at("/*path", get(ops::portal))
        .with(middleware::Conventions)
        // Level 4 instead of the fastest: the portal's scripts shrink by a quarter (brotli, i18n.js
        // 17 KB → about 12 KB) for little CPU; phones on slow connections load the first screen sooner.
        .with(Compression::new().with_quality(poem::web::CompressionLevel::Precise(4)))
        .data(state)
}

/// Serves until SIGTERM or SIGINT, then lets in-flight requests finish (bounded) and closes the pool.
pub async fn serve(state: AppState) -> std::io::Result<()> {
    let bind = state.config.bind.clone();
    let timeout = Duration::from_secs(state.config.shutdown_timeout_secs);
    let db = state.db.clone();
    if state.config.jobs_interval_secs > 0 {
        jobs::spawn(state.clone());
    }
    let app = app(state);
    tracing::info!(bind = %bind, "listening");
    let result = poem::Server::new(TcpListener::bind(bind))
        .run_with_graceful_shutdown(app, shutdown_signal(), Some(timeout))
        .await;
    db.close().await;
    tracing::info!("stopped");
    result
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

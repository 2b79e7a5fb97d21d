//! IPS Ung: the REST service for municipal IPS programmes for young people, and its candidate portal.
// `ApiError` is the response itself (a poem-openapi `ApiResponse` enum); boxing it would hide the
// documented variants from the derive, so the size lint is accepted here.
#![allow(clippy::result_large_err)]
// Operations take one argument per extracted parameter, header and body, as poem-openapi wants them.
#![allow(clippy::too_many_arguments)]
pub mod auth;
pub mod body;
pub mod config;
pub mod crypto;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod idempotency;
pub mod jobs;
pub mod memory;
pub mod metrics;
pub mod middleware;
pub mod request_id;
pub mod routes;
pub mod server;
pub mod spec;
pub mod state;

use std::{sync::OnceLock, time::Duration};

use poem::{
    Endpoint, EndpointExt, Route, get, handler,
    middleware::{Compression, SetHeader},
};
use poem_openapi::{ContactObject, LicenseObject, OpenApiService, ServerObject};

use crate::{
    routes::{
        accounts::AccountsApi, appointments::AppointmentsApi, auth::AuthApi,
        candidates::CandidatesApi, career_profiles::CareerProfilesApi, disclosure::DisclosureApi,
        events::EventsApi, goals::GoalsApi, inbox::InboxApi, job_support_plans::JobSupportPlansApi,
        network_groups::NetworkGroupsApi, notifications::NotificationsApi, ops, plan::PlanApi,
        privacy::PrivacyApi, questionnaires::QuestionnairesApi, reports::ReportsApi,
        requests::RequestsApi, webhooks::WebhooksApi,
    },
    state::AppState,
};

/// The operations of the API.
pub type Api = (
    AuthApi,
    AccountsApi,
    CandidatesApi,
    GoalsApi,
    // The IPS method's documents (SPEC 4.12), nested: poem-openapi takes at most 16 in one tuple.
    (CareerProfilesApi, JobSupportPlansApi, NetworkGroupsApi),
    PlanApi,
    RequestsApi,
    InboxApi,
    DisclosureApi,
    NotificationsApi,
    AppointmentsApi,
    QuestionnairesApi,
    EventsApi,
    PrivacyApi,
    ReportsApi,
    WebhooksApi,
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
            (CareerProfilesApi, JobSupportPlansApi, NetworkGroupsApi),
            PlanApi,
            RequestsApi,
            InboxApi,
            DisclosureApi,
            NotificationsApi,
            AppointmentsApi,
            QuestionnairesApi,
            EventsApi,
            PrivacyApi,
            ReportsApi,
            WebhooksApi,
        ),
        "IPS Ung API",
        env!("CARGO_PKG_VERSION"),
    )
    .description(DESCRIPTION)
    .contact(ContactObject::new().name("IPS Ung"))
    .license(
        LicenseObject::new("EUPL-1.2")
            .url("https://interoperable-europe.ec.europa.eu/collection/eupl/eupl-text-eupl-12"),
    )
    // Relative, so the spec works behind any host; the paths carry the `/api/v1` prefix.
    .server(ServerObject::new("/"))
    .url_prefix("/api/v1")
}

/// The processed spec (`spec::process`), made each time it is asked for and not kept: as a tree of
/// JSON values it took about 6 MiB of an idle server's heap (`tests/bench/README.md`). Making it
/// takes a few milliseconds; the server makes it at start (`path_templates`) and when a spec file or
/// the reference page is first asked for.
fn spec_value() -> serde_json::Value {
    spec::process(&api().spec())
}

/// The spec as JSON (what `ips-server openapi` prints and `openapi/openapi.json` holds).
pub fn spec_json() -> String {
    let mut text = serde_json::to_string_pretty(&spec_value()).expect("the spec is JSON");
    text.push('\n');
    text
}

/// The path templates of the spec and their methods, for the conventions middleware. The two spec
/// files are served too.
fn path_templates() -> middleware::PathTemplates {
    let spec = spec_value();
    let paths = spec["paths"].as_object();
    let spec_files =
        ["/api/v1/openapi.json", "/api/v1/openapi.yaml"].map(|p| (p, vec!["GET".to_string()]));
    middleware::PathTemplates::new(
        paths
            .into_iter()
            .flatten()
            .map(|(template, item)| {
                let methods = item
                    .as_object()
                    .map(|ops| ops.keys().cloned().collect())
                    .unwrap_or_default();
                (template.as_str(), methods)
            })
            .chain(spec_files),
    )
}

/// The spec as YAML.
pub fn spec_yaml() -> String {
    serde_yaml::to_string(&spec_value()).expect("the spec is YAML")
}

/// The spec files `ips-server openapi --out DIR` writes.
fn spec_files() -> [(&'static str, String); 2] {
    [("openapi.json", spec_json()), ("openapi.yaml", spec_yaml())]
}

/// Writes `openapi.json` and `openapi.yaml` into `dir`.
pub fn write_spec_files(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, content) in spec_files() {
        std::fs::write(dir.join(name), content)?;
    }
    Ok(())
}

/// The spec files in `dir` that are missing or differ from the code.
pub fn stale_spec_files(dir: &std::path::Path) -> Vec<&'static str> {
    spec_files()
        .into_iter()
        .filter(|(name, content)| {
            std::fs::read_to_string(dir.join(name)).ok().as_deref() != Some(content.as_str())
        })
        .map(|(name, _)| name)
        .collect()
}

/// The reference page, showing the processed spec (poem-openapi's page with its own document swapped).
fn docs_html() -> String {
    let service = api();
    service
        .swagger_ui_html()
        .replacen(&service.spec(), &spec_json(), 1)
}

// The spec files and the reference page: their text is made on the first request and kept.
#[handler]
fn spec_json_handler() -> poem::Response {
    static FILE: OnceLock<String> = OnceLock::new();
    poem::Response::builder()
        .content_type("application/json")
        .body(FILE.get_or_init(spec_json).as_str())
}

#[handler]
fn docs_handler() -> poem::web::Html<&'static str> {
    static HTML: OnceLock<String> = OnceLock::new();
    poem::web::Html(HTML.get_or_init(docs_html).as_str())
}

/// Anything under `/api/` that is not a path of the API.
#[handler]
fn api_not_found() -> poem::Response {
    use poem::IntoResponse;
    error::ApiError::not_found().into_response()
}

#[handler]
fn spec_yaml_handler() -> poem::Response {
    static FILE: OnceLock<String> = OnceLock::new();
    poem::Response::builder()
        .content_type("application/yaml")
        .body(FILE.get_or_init(spec_yaml).as_str())
}

/// The whole application: the API, the operational endpoints and the portal, with the conventions
/// every response keeps.
pub fn app(state: AppState) -> impl Endpoint {
    let api_routes = api().with(idempotency::Idempotency);
    Route::new()
        .nest("/api/v1", api_routes)
        .at("/api/v1/openapi.json", get(spec_json_handler))
        .at("/api/v1/openapi.yaml", get(spec_yaml_handler))
        .at("/api", api_not_found)
        .at("/api/*path", api_not_found)
        .at("/docs", get(docs_handler))
        .at("/docs/", get(docs_handler))
        .at("/healthz", get(ops::healthz))
        .at("/readyz", get(ops::readyz))
        .at("/metrics", get(ops::metrics))
        .at("/.well-known/jwks.json", get(ops::jwks))
        .at("/", get(ops::portal))
        .at("/*path", get(ops::portal))
        .with(middleware::Conventions::new(path_templates()))
        .with(
            SetHeader::new()
                .overriding("x-content-type-options", "nosniff")
                .overriding("referrer-policy", "no-referrer")
                .overriding("x-frame-options", "DENY"),
        )
        // Level 4 instead of the fastest: the portal's scripts shrink by a quarter (brotli, i18n.js
        // 17 KB → about 12 KB) for little CPU; phones on slow connections load the first screen sooner.
        .with(Compression::new().with_quality(poem::web::CompressionLevel::Precise(4)))
        .data(state)
}

/// Serves until SIGTERM or SIGINT, then lets in-flight requests finish (bounded) and closes the pool.
pub async fn serve(state: AppState) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(&state.config.bind).await?;
    serve_on(state, listener, shutdown_signal()).await
}

/// Serves on `listener` until `signal` resolves (tests pass their own signal).
pub async fn serve_on(
    state: AppState,
    listener: tokio::net::TcpListener,
    signal: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let grace = Duration::from_secs(state.config.shutdown_timeout_secs);
    let db = state.db.clone();
    let jobs = (state.config.jobs_interval_secs > 0).then(|| jobs::spawn(state.clone()));
    let trimmer = memory::trim_when_quiet(state.metrics.activity());
    tracing::info!(bind = %listener.local_addr()?, "listening");
    let result = server::run(listener, app(state), signal, grace).await;
    trimmer.abort();
    // The jobs first: a pass must not meet a closed pool (it would log errors on every restart).
    if let Some(jobs) = jobs {
        jobs.stop(grace).await;
    }
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

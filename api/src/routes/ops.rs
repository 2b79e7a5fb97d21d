//! Operational endpoints outside the spec's `/api/v1`: health, readiness, metrics, the JWKS, the spec
//! files, the reference page and the portal's static files.
use poem::{
    IntoResponse, Response, handler,
    http::{StatusCode, header},
    web::{Data, Path},
};
use rust_embed::Embed as RustEmbed;
use serde_json::json;

use crate::state::AppState;

/// `GET /healthz`: the process is up.
#[handler]
pub fn healthz() -> Response {
    Response::builder()
        .content_type("application/json")
        .body(r#"{"status":"ok"}"#)
}

/// `GET /readyz`: the database answers and every migration is applied.
#[handler]
pub async fn readyz(state: Data<&AppState>) -> Response {
    if state.db.ready().await {
        Response::builder()
            .content_type("application/json")
            .body(r#"{"status":"ready"}"#)
    } else {
        Response::builder()
            .status(StatusCode::SERVICE_UNAVAILABLE)
            .content_type("application/json")
            .body(r#"{"status":"not_ready"}"#)
    }
}

/// `GET /metrics`: Prometheus text.
#[handler]
pub fn metrics(state: Data<&AppState>) -> Response {
    let pools = state.db.pool_stats();
    Response::builder()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render(&pools, state.db.statement_count()))
}

/// `GET /.well-known/jwks.json`: the public keys that verify access tokens.
#[handler]
pub fn jwks(state: Data<&AppState>) -> Response {
    let keys: Vec<_> = state
        .keys
        .public_keys()
        .into_iter()
        .map(|k| json!({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": k.kid, "x": k.x}))
        .collect();
    Response::builder()
        .content_type("application/json")
        .header(header::CACHE_CONTROL, "public, max-age=300")
        .body(json!({ "keys": keys }).to_string())
}

#[derive(RustEmbed)]
#[folder = "../portal/"]
#[exclude = "tests/*"]
#[exclude = "node_modules/*"]
#[exclude = "*.json"]
#[exclude = "*.md"]
#[exclude = ".*"]
struct Portal;

const PORTAL_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The portal: files embedded at compile time; unknown paths get `index.html` (client-side routes).
/// Every file is revalidated (`no-cache` with an ETag from its hash), so a phone never mixes a new
/// `index.html` with old cached scripts after an upgrade, and an unchanged file costs a 304.
#[handler]
pub fn portal(req: &poem::Request, Path(path): Path<String>) -> Response {
    let path = path.trim_start_matches('/');
    let (file, name) = match Portal::get(path) {
        Some(f) if !path.is_empty() => (f, path.to_string()),
        _ => match Portal::get("index.html") {
            Some(f) => (f, "index.html".to_string()),
            None => return StatusCode::NOT_FOUND.into_response(),
        },
    };
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..16]));
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mime = match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("webmanifest") => "application/manifest+json",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    };
    let builder = Response::builder()
        .header(header::CACHE_CONTROL, "no-cache")
        .header(header::ETAG, etag)
        .header("content-security-policy", PORTAL_CSP);
    if fresh {
        return builder.status(StatusCode::NOT_MODIFIED).finish();
    }
    builder.content_type(mime).body(file.data.into_owned())
}

//! Operational endpoints outside the spec's `/api/v1`: health, readiness, metrics, the JWKS, the spec
//! files, the reference page and the portal's static files.
use std::sync::LazyLock;

use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use poem::{
    IntoResponse, Response, handler,
    http::{StatusCode, header},
    web::Data,
};
use rust_embed::Embed as RustEmbed;
use serde_json::json;
use sha2::{Digest, Sha256};

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

/// The portal's own screens, the `routes` table in `portal/app.js`: these paths answer `index.html` and
/// the portal draws the screen. `:name` stands for any one path segment. `tests/api/smoke.rs` fails
/// when this list and app.js differ, so a new screen is one line here and one line there.
pub const PORTAL_ROUTES: &[&str] = &[
    "/",
    "/login",
    "/invitation",
    "/invitation/:code",
    "/goals/new",
    "/goals/:id",
    "/career-profile",
    "/job-support",
    "/network-groups",
    "/appointments",
    "/questionnaires/:key",
    "/progress",
    "/pause",
    "/settings",
];

/// Whether `path` is one of the portal's screens. Empty segments are ignored, as the portal does.
fn is_portal_route(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    // A last segment with a file extension asks for a file, never for a screen.
    if parts
        .last()
        .and_then(|last| last.rsplit_once('.'))
        .is_some_and(|(_, ext)| !ext.is_empty() && ext.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        return false;
    }
    PORTAL_ROUTES.iter().any(|route| {
        let want: Vec<&str> = route.split('/').filter(|p| !p.is_empty()).collect();
        want.len() == parts.len()
            && want
                .iter()
                .zip(&parts)
                .all(|(w, p)| w.starts_with(':') || w == p)
    })
}

/// The CSP of the portal. The one small `<style>` block in `index.html` (the styles of the first
/// paint, so the stylesheet need not block it) is allowed by its hash, so `style-src` stays free of
/// `'unsafe-inline'`; the hash is taken from the embedded file, so editing the block cannot break it.
static PORTAL_CSP: LazyLock<String> = LazyLock::new(|| {
    let inline = Portal::get("index.html")
        .and_then(|f| inline_style_hash(&f.data))
        .map(|h| format!(" 'sha256-{h}'"))
        .unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'{inline}; img-src 'self' data:; \
connect-src 'self'; font-src 'self'; manifest-src 'self'; worker-src 'self'; object-src 'none'; \
base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
});

/// The base64 SHA-256 of the text between `<style>` and `</style>`, as CSP hash sources want it.
fn inline_style_hash(html: &[u8]) -> Option<String> {
    let html = std::str::from_utf8(html).ok()?;
    let start = html.find("<style>")? + "<style>".len();
    let end = start + html[start..].find("</style>")?;
    Some(BASE64.encode(Sha256::digest(&html.as_bytes()[start..end])))
}

/// A hash of every embedded portal file. The service worker names its cache after it, so any change
/// to the portal is a new service worker that replaces the old copy of the app in one step.
static PORTAL_VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut names: Vec<_> = Portal::iter().collect();
    names.sort();
    let mut hasher = Sha256::new();
    for name in names {
        if let Some(f) = Portal::get(&name) {
            hasher.update(name.as_bytes());
            hasher.update(f.metadata.sha256_hash());
        }
    }
    hex::encode(&hasher.finalize()[..8])
});

/// What `sw.js` holds in place of the version until it is served.
const VERSION_PLACEHOLDER: &str = "__PORTAL_VERSION__";

const NOT_FOUND_PAGE: &str = "<!doctype html>\n<html lang=\"da\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Siden findes ikke</title>\
</head><body><h1>Siden findes ikke</h1><p>Vi kan ikke finde den side. <a href=\"/\">Gå til IPS Ung</a></p>\
<p lang=\"en\">Page not found. <a href=\"/\">Go to IPS Ung</a></p></body></html>\n";

/// The portal: its embedded files; its screens (client-side routes) get `index.html`; anything else
/// is 404, so `/favicon.ico`, `/manifest.json` or `/.well-known/…` never get the app page. Every file
/// is revalidated (`no-cache` with an ETag from its hash), so a phone never mixes a new `index.html`
/// with old cached scripts after an upgrade, and an unchanged file costs a 304.
#[handler]
pub fn portal(req: &poem::Request) -> Response {
    let path = req.uri().path().trim_start_matches('/');
    let name = if path.is_empty() { "index.html" } else { path };
    let (file, name) = match Portal::get(name) {
        Some(f) => (f, name),
        None if is_portal_route(path) => match Portal::get("index.html") {
            Some(f) => (f, "index.html"),
            None => return StatusCode::NOT_FOUND.into_response(),
        },
        None => {
            return Response::builder()
                .status(StatusCode::NOT_FOUND)
                .header(header::CACHE_CONTROL, "no-cache")
                .header("content-security-policy", PORTAL_CSP.as_str())
                .content_type("text/html; charset=utf-8")
                .body(NOT_FOUND_PAGE);
        }
    };
    let worker = name == "sw.js";
    let hash = if worker {
        PORTAL_VERSION.clone()
    } else {
        hex::encode(&file.metadata.sha256_hash()[..16])
    };
    let etag = format!("\"{hash}\"");
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mime = match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("txt") => "text/plain; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("webmanifest") => "application/manifest+json",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    };
    let mut builder = Response::builder()
        .header(header::CACHE_CONTROL, "no-cache")
        .header(header::ETAG, etag);
    // A CSP governs documents and workers only (an SVG opened on its own is a document); on a script
    // module or the stylesheet it would be some 400 bytes more per file for nothing.
    if worker || matches!(mime, "text/html; charset=utf-8" | "image/svg+xml") {
        builder = builder.header("content-security-policy", PORTAL_CSP.as_str());
    }
    if fresh {
        return builder.status(StatusCode::NOT_MODIFIED).finish();
    }
    let body = if worker {
        String::from_utf8_lossy(&file.data)
            .replace(VERSION_PLACEHOLDER, &PORTAL_VERSION)
            .into_bytes()
    } else {
        file.data.into_owned()
    };
    builder.content_type(mime).body(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screens_are_routes_and_files_are_not() {
        for path in [
            "",
            "/",
            "/login",
            "/settings/",
            "//goals//new",
            "/goals/0190-abc",
            "/invitation/ABCD-EFGH",
            "/questionnaires/who5",
        ] {
            assert!(is_portal_route(path), "{path}");
        }
        for path in [
            "/robots.txt",
            "/favicon.ico",
            "/manifest.json",
            "/sw.js",
            "/goals/x.js",
            "/.well-known/security.txt",
            "/.well-known/change-password",
            "/goals",
            "/goals/1/steps",
            "/api",
            "/docs2",
        ] {
            assert!(!is_portal_route(path), "{path}");
        }
    }

    #[test]
    fn the_inline_style_hash_is_the_csp_kind() {
        // `echo -n 'body{}' | openssl dgst -sha256 -binary | base64`
        let html = b"<head><style>body{}</style></head>";
        assert_eq!(
            inline_style_hash(html).as_deref(),
            Some("fJgEClQWV1hGkK4qHMO0KotTsVnMYMXTq7/suurGyUo=")
        );
        assert_eq!(inline_style_hash(b"<p>no style</p>"), None);
    }
}

//! The basics answer.
use poem::http::Method;

use crate::common::TestApp;

#[tokio::test]
async fn health_ready_metrics_and_jwks() {
    let app = TestApp::start().await;
    app.call(Method::GET, "/healthz", None, None)
        .await
        .expect(200);
    let ready = app
        .call(Method::GET, "/readyz", None, None)
        .await
        .expect(200);
    assert_eq!(ready.body["status"], "ready");
    let jwks = app
        .call(Method::GET, "/.well-known/jwks.json", None, None)
        .await
        .expect(200);
    let keys = jwks.body["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kty"], "OKP");
    assert_eq!(keys[0]["crv"], "Ed25519");
    assert!(keys[0]["kid"].is_string());
    let m = app.municipality("101").await;
    app.get("/api/v1/me", &m.coordinator.token)
        .await
        .expect(200);
    let metrics = app
        .call(Method::GET, "/metrics", None, None)
        .await
        .expect(200);
    let text = String::from_utf8(metrics.raw).expect("utf-8");
    assert!(
        text.contains("ips_http_requests_total{operation=\"getMe\",status=\"200\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("ips_http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(text.contains("ips_db_pool_connections"), "{text}");
    app.finish().await;
}

#[tokio::test]
async fn every_response_has_request_id_and_security_headers() {
    let app = TestApp::start().await;
    let a = app
        .request(
            Method::GET,
            "/api/v1/me",
            None,
            None,
            &[("x-request-id", "abc-123")],
        )
        .await
        .problem(401);
    assert_eq!(a.header("x-request-id"), Some("abc-123"));
    assert_eq!(a.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(a.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(a.header("cache-control"), Some("no-store"));
    let generated = app.call(Method::GET, "/healthz", None, None).await;
    assert!(
        generated
            .header("x-request-id")
            .is_some_and(|v| v.len() >= 32)
    );
    let portal = app.call(Method::GET, "/", None, None).await.expect(200);
    let csp = portal.header("content-security-policy").expect("csp");
    assert!(
        csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"));
    app.finish().await;
}

#[tokio::test]
async fn portal_files_are_revalidated_with_an_etag() {
    let app = TestApp::start().await;
    let first = app
        .call(Method::GET, "/app.js", None, None)
        .await
        .expect(200);
    assert_eq!(first.header("cache-control"), Some("no-cache"));
    assert!(
        first
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/javascript"))
    );
    let etag = first.header("etag").expect("etag").to_string();
    let again = app
        .request(
            Method::GET,
            "/app.js",
            None,
            None,
            &[("if-none-match", &etag)],
        )
        .await;
    assert_eq!(again.status.as_u16(), 304);
    assert!(again.raw.is_empty());
    app.finish().await;
}

/// The paths of the `routes` table in `portal/app.js`, in order.
fn portal_app_routes() -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../portal/app.js");
    let app_js = std::fs::read_to_string(&path).expect("portal/app.js");
    let start = app_js
        .find("const routes = [")
        .expect("the routes table in app.js");
    let end = start
        + app_js[start..]
            .find("];")
            .expect("the end of the routes table");
    app_js[start..end]
        .lines()
        .filter_map(|line| {
            let rest = &line[line.find("path: '")? + "path: '".len()..];
            Some(rest[..rest.find('\'')?].to_string())
        })
        .collect()
}

#[test]
fn the_server_knows_every_screen_of_the_portal() {
    let mut portal = portal_app_routes();
    let mut server: Vec<String> = ips_api::routes::ops::PORTAL_ROUTES
        .iter()
        .map(|r| r.to_string())
        .collect();
    assert!(
        portal.len() >= 11,
        "read too few routes from app.js: {portal:?}"
    );
    portal.sort();
    server.sort();
    assert_eq!(
        portal, server,
        "the routes table in portal/app.js and PORTAL_ROUTES in api/src/routes/ops.rs must list the same screens"
    );
}

#[tokio::test]
async fn screens_get_the_page_files_are_real_and_anything_else_is_404() {
    let app = TestApp::start().await;
    let get = |path: &'static str| app.call(Method::GET, path, None, None);
    // Every screen, with its parameters filled in, gets the app page.
    for route in portal_app_routes() {
        let path = route
            .replace(":code", "ABCD-EFGH")
            .replace(":id", "0190abcd")
            .replace(":key", "who5");
        let page = app.call(Method::GET, &path, None, None).await.expect(200);
        assert!(
            String::from_utf8_lossy(&page.raw).contains("<html"),
            "{path}"
        );
        assert!(
            page.header("content-type")
                .is_some_and(|t| t.starts_with("text/html"))
        );
    }
    // Real files.
    let robots = get("/robots.txt").await.expect(200);
    assert!(
        robots
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain"))
    );
    let text = String::from_utf8_lossy(&robots.raw).to_string();
    assert!(
        text.contains("User-agent: *") && text.contains("Disallow: /\n"),
        "{text}"
    );
    let manifest = get("/manifest.webmanifest").await.expect(200);
    assert_eq!(
        manifest.header("content-type"),
        Some("application/manifest+json")
    );
    let parsed: serde_json::Value = serde_json::from_slice(&manifest.raw).expect("manifest json");
    assert_eq!(parsed["display"], "standalone");
    for icon in parsed["icons"].as_array().expect("icons") {
        let src = icon["src"].as_str().expect("src").to_string();
        let png = app.call(Method::GET, &src, None, None).await.expect(200);
        assert_eq!(png.header("content-type"), Some("image/png"), "{src}");
        assert_eq!(&png.raw[1..4], b"PNG", "{src}");
    }
    get("/icon.svg").await.expect(200);
    get("/.well-known/jwks.json").await.expect(200);
    // Anything else is a plain 404, never the app page.
    for path in [
        "/favicon.ico",
        "/manifest.json",
        "/.well-known/security.txt",
        "/.well-known/change-password",
        "/.gitignore",
        "/tests/helpers.mjs",
        "/goals/new.js",
        "/goals/1/steps",
        "/no-such-page",
        "/wp-login.php",
    ] {
        let a = get(path).await.expect(404);
        assert!(
            !String::from_utf8_lossy(&a.raw).contains("app.js"),
            "{path}"
        );
    }
    app.finish().await;
}

#[tokio::test]
async fn the_service_worker_is_versioned_by_the_portal_it_serves() {
    let app = TestApp::start().await;
    let sw = app
        .call(Method::GET, "/sw.js", None, None)
        .await
        .expect(200);
    assert!(
        sw.header("content-type")
            .is_some_and(|t| t.starts_with("text/javascript"))
    );
    let text = String::from_utf8_lossy(&sw.raw).to_string();
    assert!(
        !text.contains("__PORTAL_VERSION__"),
        "the version is filled in"
    );
    let etag = sw
        .header("etag")
        .expect("etag")
        .trim_matches('"')
        .to_string();
    assert!(
        text.contains(&format!("'{etag}'")),
        "the version in sw.js is its ETag, a hash of the whole portal"
    );
    let again = app
        .request(
            Method::GET,
            "/sw.js",
            None,
            None,
            &[("if-none-match", &format!("\"{etag}\""))],
        )
        .await;
    assert_eq!(again.status.as_u16(), 304);
    app.finish().await;
}

#[tokio::test]
async fn the_first_paint_styles_are_allowed_by_their_hash_only() {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let app = TestApp::start().await;
    let page = app.call(Method::GET, "/", None, None).await.expect(200);
    let html = String::from_utf8_lossy(&page.raw).to_string();
    let start = html.find("<style>").expect("an inline style block") + "<style>".len();
    let end = start + html[start..].find("</style>").expect("its end");
    let hash = base64::engine::general_purpose::STANDARD
        .encode(Sha256::digest(&html.as_bytes()[start..end]));
    let csp = page.header("content-security-policy").expect("csp");
    assert!(
        csp.contains(&format!("style-src 'self' 'sha256-{hash}'")),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(
        html.contains("<meta name=\"description\""),
        "a description for search results and sharing"
    );
    assert!(html.contains("<link rel=\"manifest\" href=\"/manifest.webmanifest\">"));
    app.finish().await;
}

/// Every SQLite connection, the writer's and each reader's, has the page cache the setting asks for
/// (`IPS_SQLITE_CACHE_KIB`); PostgreSQL has no such setting.
#[tokio::test]
async fn sqlite_connections_have_the_configured_page_cache() {
    use sea_orm::{ConnectionTrait, Statement};
    if crate::common::is_postgres() {
        return;
    }
    let app = TestApp::start_with(|c| {
        c.sqlite_cache_kib = 300;
        c.sqlite_readers = 3;
    })
    .await;
    let db = &app.state.db;
    let pragma = || Statement::from_string(db.backend(), "PRAGMA cache_size");
    let size = |row: Option<sea_orm::QueryResult>| -> i64 {
        row.expect("a row").try_get_by_index(0).expect("a number")
    };
    assert_eq!(
        size(db.write().query_one_raw(pragma()).await.expect("writer")),
        -300
    );
    // Hold every reader at once, so each connection of the pool answers once.
    let mut readers = Vec::new();
    for _ in 0..3 {
        let txn = sea_orm::TransactionTrait::begin(db.read())
            .await
            .expect("reader");
        let row = txn.query_one_raw(pragma()).await.expect("pragma");
        assert_eq!(size(row), -300);
        readers.push(txn);
    }
    drop(readers);
    app.finish().await;
}

/// PostgreSQL connections run without JIT compilation: it cost a report at 100,000 candidates about
/// 110 ms of compiling and saved nothing (see `db.rs`).
#[tokio::test]
async fn postgres_connections_do_not_compile_queries() {
    use sea_orm::{ConnectionTrait, Statement};
    if !crate::common::is_postgres() {
        return;
    }
    let app = TestApp::start().await;
    let db = &app.state.db;
    let row = db
        .read()
        .query_one_raw(Statement::from_string(db.backend(), "SHOW jit"))
        .await
        .expect("SHOW jit")
        .expect("a row");
    let jit: String = row.try_get_by_index(0).expect("a setting");
    assert_eq!(jit, "off");
    app.finish().await;
}

/// When PostgreSQL drops the service's connections (a restart, a failover, an administrator), a
/// request that meets a dropped connection is answered 503 with `Retry-After`, never 500, and the
/// pool replaces the connection: the retry is answered.
#[tokio::test]
async fn dropped_postgres_connections_are_replaced() {
    use sea_orm::{ConnectionTrait, Statement};
    if !crate::common::is_postgres() {
        return;
    }
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let token = &m.coordinator.token;
    let page = "/api/v1/candidates?limit=5";
    // Several connections in the pool, all used in the last seconds.
    let _ = tokio::join!(
        app.get(page, token),
        app.get(page, token),
        app.get(page, token),
        app.get(page, token)
    );
    let db = &app.state.db;
    let dropped = db
        .write()
        .execute_raw(Statement::from_string(
            db.backend(),
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        ))
        .await
        .expect("terminate");
    assert!(dropped.rows_affected() >= 1, "the pool's other connections");
    // At most one failed answer per dropped connection; then every request is answered again. The
    // other four people's sessions have not been checked yet, so their first requests read the
    // session too: a lost connection there is no reason to log anyone out.
    let plan = "/api/v1/me/plan";
    let calls = [
        (token, page),
        (&m.consultant.token, page),
        (&m.candidate.token, plan),
        (&m.other_consultant.token, page),
        (&m.other_candidate.token, plan),
    ];
    let mut statuses = Vec::new();
    for (token, path) in calls.iter().cycle().take(15) {
        let a = app.get(path, token).await;
        if a.status == 503 {
            assert_eq!(a.body["type"], "urn:ips-ung:problem:database-unavailable");
            assert_eq!(a.header("retry-after"), Some("1"));
        }
        statuses.push(a.status.as_u16());
    }
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 503),
        "never a 500: {statuses:?}"
    );
    assert!(
        statuses.iter().rev().take(5).all(|s| *s == 200),
        "the pool replaced the dropped connections: {statuses:?}"
    );
    app.finish().await;
}

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
    // Client-side routes get the page; files that are not the portal's are not served.
    let page = app
        .call(Method::GET, "/invitation/ABCD", None, None)
        .await
        .expect(200);
    assert!(String::from_utf8_lossy(&page.raw).contains("<html"));
    let hidden = app
        .call(Method::GET, "/.gitignore", None, None)
        .await
        .expect(200);
    assert!(
        String::from_utf8_lossy(&hidden.raw).contains("<html"),
        "dotfiles are not embedded"
    );
    app.finish().await;
}

//! The contract: the committed `openapi/` files are what the code generates, and every operation,
//! schema and property is described.
use poem::http::Method;
use serde_json::Value;

use crate::common::TestApp;

fn committed(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../openapi")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_default()
}

#[test]
fn committed_spec_matches_the_code() {
    let fix = "run `cargo run -p ips-api --bin ips-server -- openapi` and commit openapi/";
    assert!(
        committed("openapi.json") == ips_api::spec_json(),
        "openapi/openapi.json is stale: {fix}"
    );
    assert!(
        committed("openapi.yaml") == ips_api::spec_yaml(),
        "openapi/openapi.yaml is stale: {fix}"
    );
}

#[test]
fn every_operation_schema_and_field_is_described() {
    let spec: Value = serde_json::from_str(&ips_api::spec_json()).expect("json");
    let mut missing = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            if op["summary"].as_str().unwrap_or("").is_empty()
                || op["description"].as_str().unwrap_or("").is_empty()
            {
                missing.push(format!("{method} {path}: summary/description"));
            }
            if op["operationId"].as_str().is_none() {
                missing.push(format!("{method} {path}: operationId"));
            }
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["description"].as_str().unwrap_or("").is_empty() && p["in"] != "path" {
                    missing.push(format!("{method} {path}: parameter {}", p["name"]));
                }
            }
        }
    }
    for (name, schema) in spec["components"]["schemas"].as_object().expect("schemas") {
        if schema["description"].as_str().unwrap_or("").is_empty() && schema["enum"].is_null() {
            missing.push(format!("schema {name}"));
        }
        for (field, prop) in schema["properties"].as_object().into_iter().flatten() {
            let described = prop["description"].as_str().is_some_and(|d| !d.is_empty());
            if !described {
                missing.push(format!("schema {name}.{field}"));
            }
        }
    }
    assert!(
        spec["components"]["securitySchemes"]
            .as_object()
            .is_some_and(|s| s.len() >= 2)
    );
    assert!(missing.is_empty(), "undescribed: {missing:#?}");
}

#[tokio::test]
async fn spec_and_docs_are_served() {
    let app = TestApp::start().await;
    let json = app
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await
        .expect(200);
    assert_eq!(json.body["info"]["title"], "IPS Ung API");
    let yaml = app
        .call(Method::GET, "/api/v1/openapi.yaml", None, None)
        .await
        .expect(200);
    assert!(String::from_utf8_lossy(&yaml.raw).contains("openapi: 3"));
    let docs = app.call(Method::GET, "/docs", None, None).await.expect(200);
    let html = String::from_utf8_lossy(&docs.raw);
    assert!(html.contains("swagger"), "docs page");
    assert!(
        !html.contains("src=\"http"),
        "the reference page must not load assets from elsewhere"
    );
    app.finish().await;
}

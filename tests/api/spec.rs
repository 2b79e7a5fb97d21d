//! The contract: the committed `openapi/` files are what the code generates, every operation, schema
//! and property is described, and each pass of `spec.rs` holds over the published document.
use std::collections::BTreeSet;

use ips_api::spec;
use poem::http::Method;
use serde_json::{Value, json};

use crate::common::TestApp;

fn committed(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../openapi")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_default()
}

#[test]
fn committed_spec_matches_the_code() {
    let fix =
        "run `cargo run -p ips-api --bin ips-server -- openapi --out openapi` and commit openapi/";
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
    // The server keeps the files' text, not the spec's tree: what it serves, on the first request
    // and on later ones, is what `ips-server openapi` writes.
    for _ in 0..2 {
        for (path, text) in [
            ("/api/v1/openapi.json", ips_api::spec_json()),
            ("/api/v1/openapi.yaml", ips_api::spec_yaml()),
        ] {
            let served = app.call(Method::GET, path, None, None).await.expect(200);
            assert!(served.raw == text.as_bytes(), "{path} is the spec file");
        }
    }
    let docs = app.call(Method::GET, "/docs", None, None).await.expect(200);
    let html = String::from_utf8_lossy(&docs.raw);
    assert!(html.contains("swagger"), "docs page");
    assert!(
        html.contains(&ips_api::spec_json()),
        "the reference page shows the published spec"
    );
    assert!(
        !html.contains("src=\"http"),
        "the reference page must not load assets from elsewhere"
    );
    app.finish().await;
}

fn published() -> Value {
    serde_json::from_str(&ips_api::spec_json()).expect("json")
}

/// Every schema of the document with where it is, innermost last.
fn schemas(doc: &Value) -> Vec<(String, Value)> {
    fn walk(at: String, s: &Value, out: &mut Vec<(String, Value)>) {
        let Some(obj) = s.as_object() else { return };
        out.push((at.clone(), s.clone()));
        for (k, p) in obj
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            walk(format!("{at}.{k}"), p, out);
        }
        for key in ["items", "additionalProperties"] {
            if let Some(inner) = obj.get(key).filter(|v| v.is_object()) {
                walk(format!("{at}[{key}]"), inner, out);
            }
        }
        for key in ["allOf", "anyOf", "oneOf"] {
            for (i, inner) in obj
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                walk(format!("{at}.{key}[{i}]"), inner, out);
            }
        }
    }
    let mut out = Vec::new();
    for (name, s) in doc["components"]["schemas"].as_object().expect("schemas") {
        walk(name.clone(), s, &mut out);
    }
    for (path, op) in ops(doc) {
        for p in op["parameters"].as_array().into_iter().flatten() {
            walk(format!("{path} {}", p["name"]), &p["schema"], &mut out);
        }
        for (status, r) in op["responses"].as_object().into_iter().flatten() {
            for m in r["content"]
                .as_object()
                .into_iter()
                .flat_map(|c| c.values())
            {
                walk(format!("{path} {status}"), &m["schema"], &mut out);
            }
        }
        for m in op["requestBody"]["content"]
            .as_object()
            .into_iter()
            .flat_map(|c| c.values())
        {
            walk(format!("{path} body"), &m["schema"], &mut out);
        }
    }
    out
}

/// Every operation as ("METHOD /path", operation).
fn ops(doc: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            out.push((format!("{} {path}", method.to_uppercase()), op.clone()));
        }
    }
    out
}

fn resolve<'a>(doc: &'a Value, s: &'a Value) -> &'a Value {
    match s["$ref"].as_str() {
        Some(r) => &doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")],
        None => s,
    }
}

#[test]
fn the_document_is_openapi_3_1_with_a_relative_server_and_a_licence() {
    let doc = published();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"], json!([{"url": "/"}]));
    assert!(
        doc["info"]["license"]["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://"))
    );
}

#[test]
fn enum_typed_fields_are_plain_references() {
    let doc = published();
    let wrapped: Vec<String> = schemas(&doc)
        .into_iter()
        .filter(|(_, s)| s.get("allOf").is_some())
        .map(|(at, _)| at)
        .collect();
    assert!(wrapped.is_empty(), "allOf wrappers left: {wrapped:#?}");
    // The pass itself, on poem-openapi's shape of a described, nullable enum field.
    let mut one = json!({"paths": {}, "components": {"schemas": {"X": {"type": "object", "properties": {
        "kind": {"description": "The kind.", "nullable": true, "allOf": [
            {"$ref": "#/components/schemas/Kind"}, {"description": "The kind.", "nullable": true}]}}}}}});
    spec::plain_refs(&mut one);
    spec::nulls(&mut one);
    assert_eq!(
        one["components"]["schemas"]["X"]["properties"]["kind"],
        json!({"description": "The kind.", "anyOf": [{"$ref": "#/components/schemas/Kind"}, {"type": "null"}]})
    );
}

#[test]
fn every_nullable_carries_its_type() {
    let doc = published();
    let mut bad = Vec::new();
    for (at, s) in schemas(&doc) {
        if s.get("nullable").is_some() {
            bad.push(format!("{at}: nullable"));
        }
        if let Some(types) = s["type"].as_array()
            && !(types.len() == 2 && types.contains(&json!("null")))
        {
            bad.push(format!("{at}: type {types:?}"));
        }
        if let Some(values) = s["enum"].as_array()
            && s["type"].as_array().is_some()
            && !values.contains(&Value::Null)
        {
            bad.push(format!("{at}: a nullable enum without null"));
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn dates_and_e_mail_addresses_have_their_formats() {
    let doc = published();
    let text = ips_api::spec_json();
    assert!(!text.contains("naive-date"), "format: naive-date is left");
    assert!(text.contains("\"format\": \"date\""));
    for (_, op) in ops(&doc) {
        let Some(body) = op["requestBody"]["content"]["application/json"]["schema"].as_object()
        else {
            continue;
        };
        let body = resolve(&doc, &Value::Object(body.clone())).clone();
        for (field, p) in body["properties"].as_object().into_iter().flatten() {
            if field == "email" {
                assert_eq!(p["format"], "email", "{}", op["operationId"]);
            }
            if field == "phone" {
                assert_eq!(p["pattern"], spec::PHONE_PATTERN, "{}", op["operationId"]);
            }
        }
    }
}

#[test]
fn the_text_pattern_excludes_exactly_the_refused_characters() {
    // The ranges TEXT_PATTERN excludes, as written in it.
    let excluded = [(0x0, 0x8), (0xB, 0xC), (0xE, 0x1F), (0x7F, 0x9F)];
    for (from, to) in excluded {
        let range = if from == to {
            format!("\\u{from:04X}")
        } else {
            format!("\\u{from:04X}-\\u{to:04X}")
        };
        assert!(
            spec::TEXT_PATTERN.contains(&range)
                || spec::TEXT_PATTERN.contains(&format!("\\u{from:04X}\\u{to:04X}")),
            "{range} in {}",
            spec::TEXT_PATTERN
        );
    }
    for c in (0..=0x10FFFF_u32).filter_map(char::from_u32) {
        let in_pattern = excluded
            .iter()
            .any(|(f, t)| (*f..=*t).contains(&(c as u32)));
        let refused = ips_api::domain::forbidden_character(&c.to_string()).is_some();
        assert_eq!(in_pattern, refused, "U+{:04X}", c as u32);
    }
}

#[test]
fn every_input_string_has_a_pattern_or_format() {
    let doc = published();
    let mut input: BTreeSet<String> = BTreeSet::new();
    let mut bad = Vec::new();
    for (name, op) in ops(&doc) {
        for p in op["parameters"].as_array().into_iter().flatten() {
            let s = &p["schema"];
            // Headers other than If-Match and Idempotency-Key (Accept-Language) are read leniently.
            if p["in"] == "header" && s["pattern"].is_null() {
                continue;
            }
            if s["type"] == "string"
                && s["pattern"].is_null()
                && s["format"].is_null()
                && s["enum"].is_null()
            {
                bad.push(format!("{name}: parameter {}", p["name"]));
            }
            match p["name"].as_str() {
                Some("cursor") => assert_eq!(s["pattern"], spec::CURSOR_PATTERN),
                Some("If-Match") => assert_eq!(s["pattern"], spec::IF_MATCH_PATTERN),
                _ => {}
            }
        }
        if let Some(r) = op["requestBody"]["content"]["application/json"]["schema"]["$ref"].as_str()
        {
            input.insert(r.trim_start_matches("#/components/schemas/").to_string());
        }
    }
    for (at, s) in schemas(&doc) {
        let root = at.split(['.', '[']).next().unwrap_or_default();
        if input.contains(root)
            && (s["type"] == "string"
                || s["type"]
                    .as_array()
                    .is_some_and(|t| t.contains(&json!("string"))))
            && s["pattern"].is_null()
            && s["format"].is_null()
            && s["enum"].is_null()
        {
            bad.push(at);
        }
    }
    assert!(bad.is_empty(), "strings without a pattern: {bad:#?}");
}

#[test]
fn request_bodies_are_closed_and_optional_where_every_field_is() {
    let doc = published();
    let mut bad = Vec::new();
    for (name, op) in ops(&doc) {
        let Some(schema) = op["requestBody"]["content"]
            .get("application/json")
            .map(|m| &m["schema"])
        else {
            continue;
        };
        let s = resolve(&doc, schema);
        if s["additionalProperties"] != json!(false) {
            bad.push(format!("{name}: additionalProperties"));
        }
        let none_required = s["required"].as_array().is_none_or(|r| r.is_empty());
        if op["requestBody"]["required"] != json!(!none_required) {
            bad.push(format!("{name}: requestBody.required"));
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn every_post_but_auth_and_oauth_declares_idempotency_key() {
    let doc = published();
    let mut bad = Vec::new();
    for (name, op) in ops(&doc) {
        let declared = op["parameters"].as_array().into_iter().flatten().any(|p| {
            p["name"] == "Idempotency-Key" && p["in"] == "header" && p["schema"]["maxLength"] == 255
        });
        let wanted =
            name.starts_with("POST ") && !name.contains("/auth/") && !name.contains("/oauth/");
        if declared != wanted {
            bad.push(name);
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn public_operations_say_so() {
    let doc = published();
    for (name, op) in ops(&doc) {
        let security = op["security"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: no security"));
        let bearer = security.iter().any(|s| s.get("BearerAuth").is_some());
        let public = [
            "/api/v1/auth/",
            "/api/v1/questionnaires",
            "/api/v1/calendar/",
        ]
        .iter()
        .any(|p| name.contains(p));
        if name.contains("/oauth/token") {
            assert_eq!(op["security"], json!([{"ClientCredentials": []}, {}]));
        } else if public {
            assert!(security.is_empty(), "{name}: {security:?}");
        } else {
            assert!(bearer, "{name}: {security:?}");
        }
    }
    assert!(doc["components"]["securitySchemes"]["ClientCredentials"].is_object());
}

/// Every slug in a `Problem::new(…)` of the sources is listed in `PROBLEM_TYPES`, and the spec lists
/// exactly those.
#[test]
fn every_problem_type_is_listed() {
    let doc = published();
    let listed: Vec<String> = ips_api::error::PROBLEM_TYPES
        .iter()
        .map(|s| ips_api::error::problem_type(s))
        .collect();
    assert_eq!(
        doc["components"]["schemas"]["Problem"]["properties"]["type"]["enum"],
        json!(listed)
    );
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../api/src");
    let mut files = vec![src];
    let mut used = BTreeSet::new();
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(
                std::fs::read_dir(&path)
                    .expect("dir")
                    .map(|e| e.expect("entry").path()),
            );
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for (_, rest) in text
            .match_indices("Problem::new(")
            .map(|(i, _)| ((), &text[i..]))
        {
            // Problem::new(status, "slug", ...)
            if let Some(slug) = rest.split('"').nth(1) {
                used.insert(slug.to_string());
            }
        }
    }
    used.remove("slug"); // the doc comment's own example, if any
    let missing: Vec<&String> = used
        .iter()
        .filter(|s| !ips_api::error::PROBLEM_TYPES.contains(&s.as_str()))
        .collect();
    assert!(used.len() >= 10, "found only {used:?}");
    assert!(
        missing.is_empty(),
        "add to error::PROBLEM_TYPES: {missing:?}"
    );
}

#[test]
fn each_operation_lists_its_real_statuses() {
    let doc = published();
    let mut bad = Vec::new();
    for (name, op) in ops(&doc) {
        let r = op["responses"].as_object().expect("responses");
        let has = |s: &str| r.contains_key(s);
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        let if_match = params.iter().any(|p| p["name"] == "If-Match");
        let body = op.get("requestBody").is_some();
        let id = op["operationId"].as_str().unwrap_or_default();
        if has("200") && has("201") {
            bad.push(format!("{name}: both 200 and 201"));
        }
        if has("412") != if_match {
            bad.push(format!(
                "{name}: 412 without If-Match, or If-Match without 412"
            ));
        }
        if has("413") != body || (has("415") && !body) {
            bad.push(format!("{name}: 413/415 without a body"));
        }
        let counted = ["login", "acceptInvitation", "clientCredentialsToken"].contains(&id);
        if has("429") != counted {
            bad.push(format!("{name}: 429"));
        }
        let bearer = op["security"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|s| s.get("BearerAuth").is_some());
        if bearer && !has("401") || has("403") && !bearer {
            bad.push(format!("{name}: 401/403"));
        }
        if !has("500") || !has("400") {
            bad.push(format!("{name}: 400 and 500 can always happen"));
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}

/// A small JSON Schema check for the examples: the keywords the document uses.
fn conforms(doc: &Value, s: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    let s = resolve(doc, s);
    if let Some(any) = s["anyOf"].as_array() {
        if !any.iter().any(|alt| {
            let mut e = Vec::new();
            conforms(doc, alt, v, at, &mut e);
            e.is_empty()
        }) {
            errors.push(format!("{at}: matches no alternative"));
        }
        return;
    }
    if let Some(values) = s["enum"].as_array()
        && !values.contains(v)
    {
        errors.push(format!("{at}: {v} not in the enum"));
    }
    let types: Vec<&str> = match &s["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let actual = match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    if !types.is_empty()
        && !types
            .iter()
            .any(|t| *t == actual || (*t == "number" && actual == "integer"))
    {
        errors.push(format!("{at}: {actual} is not {types:?}"));
        return;
    }
    match v {
        Value::Object(obj) => {
            let props = s["properties"].as_object();
            for req in s["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !obj.contains_key(req) {
                    errors.push(format!("{at}.{req}: required"));
                }
            }
            for (k, x) in obj {
                match props.and_then(|p| p.get(k)) {
                    Some(p) => conforms(doc, p, x, &format!("{at}.{k}"), errors),
                    None if props.is_some() => errors.push(format!("{at}.{k}: not a property")),
                    None => {}
                }
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                conforms(doc, &s["items"], x, &format!("{at}[{i}]"), errors);
            }
        }
        Value::String(text) => {
            let ok = match s["format"].as_str() {
                Some("uuid") => uuid::Uuid::parse_str(text).is_ok(),
                Some("date") => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok(),
                Some("date-time") => chrono::DateTime::parse_from_rfc3339(text).is_ok(),
                Some("email") => text.contains('@'),
                _ => true,
            };
            if !ok {
                errors.push(format!("{at}: {text} is not a {}", s["format"]));
            }
            if let Some(max) = s["maxLength"].as_u64()
                && text.chars().count() as u64 > max
            {
                errors.push(format!("{at}: longer than {max}"));
            }
            if s["pattern"] == spec::TEXT_PATTERN
                && ips_api::domain::forbidden_character(text).is_some()
            {
                errors.push(format!("{at}: a control character"));
            }
        }
        _ => {}
    }
}

#[test]
fn the_main_schemas_have_examples_that_conform() {
    let doc = published();
    let table = spec::example_table();
    let mut errors = Vec::new();
    for name in [
        "LoginRequest",
        "TokenResponse",
        "ClientTokenResponse",
        "OAuthError",
        "Me",
        "MunicipalityCreate",
        "StaffCreate",
        "CandidateCreate",
        "GoalCreate",
        "Goal",
        "AppointmentCreate",
        "Appointment",
        "QuestionnaireResponseCreate",
        "RequestCreate",
        "WebhookCreate",
        "WebhookCreated",
        "Webhook",
        "WebhookDelivery",
        "Problem",
    ] {
        assert!(table.contains_key(name), "no example for {name}");
    }
    for (name, example) in &table {
        let schema = &doc["components"]["schemas"][name];
        assert!(
            schema.is_object(),
            "an example for a schema the spec does not have: {name}"
        );
        assert_eq!(schema["examples"], json!([example]), "{name}");
        conforms(&doc, schema, example, name, &mut errors);
    }
    assert!(errors.is_empty(), "{errors:#?}");
}

#[tokio::test]
async fn the_patterns_are_what_the_server_takes() {
    let app = TestApp::start().await;
    let m = app.municipality("103").await;
    let token = m.coordinator.token.as_str();
    // A cursor of the right shape is a cursor (keyset on any id); another shape is refused.
    app.get("/api/v1/candidates?cursor=AAAAAAAAAAAAAAAAAAAAAA", token)
        .await
        .expect(200);
    app.get("/api/v1/candidates?cursor=AAAAAAAAAAAAAAAAAAAAAB", token)
        .await
        .expect(400);
    // If-Match: an ETag of the API, `*`, or nothing; anything else is 400 naming it.
    let path = format!("/api/v1/candidates/{}", m.candidate.id);
    for (value, status) in [
        ("\"1\"", 200),
        ("W/\"2\"", 200),
        ("*", 200),
        ("", 200),
        ("\"7\"", 412),
        ("1", 400),
        ("\"x\"", 400),
        ("\u{84}", 400),
    ] {
        let a = app
            .request(
                Method::PATCH,
                &path,
                Some(token),
                Some(json!({})),
                &[("if-match", value)],
            )
            .await;
        assert_eq!(a.status.as_u16(), status, "If-Match {value:?}: {}", a.body);
        if status == 400 {
            assert_eq!(a.body["errors"][0]["field"], "If-Match", "{}", a.body);
        }
    }
    let page = app
        .get("/api/v1/candidates?limit=1", token)
        .await
        .expect(200);
    if let Some(next) = page.body["next_cursor"].as_str() {
        assert_eq!(next.len(), 22, "{next}");
    }
    app.finish().await;
}

/// `ips-server openapi --out DIR` writes both files and `--check` compares them (`main.rs` calls these).
#[test]
fn the_openapi_files_are_written_and_checked() {
    let dir = std::env::temp_dir().join(format!("ips-openapi-{}", uuid::Uuid::now_v7()));
    assert_eq!(
        ips_api::stale_spec_files(&dir),
        vec!["openapi.json", "openapi.yaml"]
    );
    ips_api::write_spec_files(&dir).expect("written");
    assert!(ips_api::stale_spec_files(&dir).is_empty());
    assert_eq!(
        std::fs::read_to_string(dir.join("openapi.json")).expect("json"),
        ips_api::spec_json()
    );
    std::fs::write(dir.join("openapi.yaml"), "openapi: 3.0.0\n").expect("write");
    assert_eq!(ips_api::stale_spec_files(&dir), vec!["openapi.yaml"]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The status rules' tables name operations that exist (a renamed operation would silently lose
/// its statuses).
#[test]
fn the_status_tables_name_real_operations() {
    let doc = published();
    let ids: BTreeSet<String> = ops(&doc)
        .into_iter()
        .filter_map(|(_, op)| op["operationId"].as_str().map(str::to_string))
        .collect();
    let named = spec::CREATED
        .iter()
        .chain(spec::LOOKUPS)
        .chain(spec::CONFLICTS)
        .chain(spec::CREDENTIALS.iter().map(|(id, _)| id))
        .chain(spec::REQUIRED_QUERY.iter().map(|(id, _)| id))
        .chain([&spec::TOKEN_OPERATION]);
    for id in named {
        assert!(ids.contains(*id), "`{id}` is not an operation of the spec");
    }
}

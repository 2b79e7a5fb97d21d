//! `/me` (SPEC §4.2): what every kind of caller is told about themselves, and a candidate's language.
use serde_json::{Value, json};

use crate::common::{PASSWORD, TestApp, accept, new_candidate};

#[tokio::test]
async fn me_describes_every_kind_of_caller() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let admin = app.admin().await;
    let mun = m.id.to_string();
    // Only a candidate has a language; for everyone else the field is there, and null.
    let cases = [
        (&m.coordinator, "coordinator", "Coordinator", Value::Null),
        (&m.consultant, "consultant", "Consultant", Value::Null),
        (
            &m.other_consultant,
            "consultant",
            "Other consultant",
            Value::Null,
        ),
        (&m.candidate, "candidate", "Sara", json!("da")),
        (&m.other_candidate, "candidate", "Ali", json!("da")),
    ];
    for (who, role, name, language) in cases {
        let me = app.get("/api/v1/me", &who.token).await.expect(200);
        assert_eq!(me.header("cache-control"), Some("no-store"));
        assert_eq!(
            me.body,
            json!({"id": who.id, "role": role, "municipality_id": mun, "display_name": name, "scopes": [], "language": language}),
            "{role}"
        );
    }
    let me = app.get("/api/v1/me", &m.service.token).await.expect(200);
    assert_eq!(me.body["id"], m.service.id.to_string());
    assert_eq!(me.body["role"], "service");
    assert_eq!(me.body["municipality_id"], mun.as_str());
    assert_eq!(me.body["display_name"], "Fagsystem");
    assert!(me.body["language"].is_null());
    let mut scopes: Vec<&str> = me.body["scopes"]
        .as_array()
        .expect("scopes")
        .iter()
        .map(|s| s.as_str().expect("scope"))
        .collect();
    scopes.sort_unstable();
    assert_eq!(
        scopes,
        [
            "candidates:read",
            "candidates:write",
            "events:read",
            "reports:read"
        ]
    );
    // The admin belongs to no municipality.
    let me = app.get("/api/v1/me", &admin.token).await.expect(200);
    assert_eq!(me.body["id"], admin.id.to_string());
    assert_eq!(me.body["role"], "admin");
    let fields = me.body.as_object().expect("object");
    assert!(me.body["municipality_id"].is_null(), "{}", me.body);
    assert!(fields.contains_key("municipality_id"), "{}", me.body);
    assert_eq!(me.body["scopes"], json!([]));
    assert!(fields.contains_key("language") && me.body["language"].is_null());
    assert!(
        me.body["display_name"]
            .as_str()
            .is_some_and(|n| n.starts_with("admin"))
    );
    // A candidate is greeted by their preferred name.
    let mut body = new_candidate("Mohammed");
    body["preferred_name"] = json!("Mo");
    let created = app
        .post("/api/v1/candidates", &m.consultant.token, body)
        .await
        .expect(201);
    let code = created.body["invitation"]["code"].as_str().expect("code");
    let a = accept(&app, code, "mo.t", PASSWORD).await.expect(200);
    let me = app
        .get(
            "/api/v1/me",
            a.body["access_token"].as_str().expect("access"),
        )
        .await
        .expect(200);
    assert_eq!(me.body["display_name"], "Mo");
    assert_eq!(me.body["id"], created.body["candidate"]["id"]);
    app.finish().await;
}

#[tokio::test]
async fn a_candidate_reads_and_sets_their_language_on_me() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let me = app.get("/api/v1/me", &m.candidate.token).await.expect(200);
    assert_eq!(me.body["language"], "da");
    let before = app
        .get(
            &format!("/api/v1/candidates/{}", m.candidate.id),
            &m.consultant.token,
        )
        .await
        .expect(200);
    let changed = app
        .patch("/api/v1/me", &m.candidate.token, json!({"language": "en"}))
        .await
        .expect(200);
    assert_eq!(changed.body["language"], "en");
    assert_eq!(changed.body["id"], m.candidate.id.to_string());
    let me = app.get("/api/v1/me", &m.candidate.token).await.expect(200);
    assert_eq!(me.body["language"], "en");
    // Staff see the change on the candidate, as if they had made it: a new version.
    let after = app
        .get(
            &format!("/api/v1/candidates/{}", m.candidate.id),
            &m.consultant.token,
        )
        .await
        .expect(200);
    assert_eq!(after.body["language"], "en");
    assert_eq!(
        after.body["version"].as_i64(),
        before.body["version"].as_i64().map(|v| v + 1)
    );
    // The same language again, or nothing at all, changes nothing.
    app.patch("/api/v1/me", &m.candidate.token, json!({"language": "en"}))
        .await
        .expect(200);
    app.patch("/api/v1/me", &m.candidate.token, json!({}))
        .await
        .expect(200);
    let same = app
        .get(
            &format!("/api/v1/candidates/{}", m.candidate.id),
            &m.consultant.token,
        )
        .await
        .expect(200);
    assert_eq!(same.body["version"], after.body["version"]);
    // Bad input names the field; an unknown field is refused.
    let bad = app
        .patch("/api/v1/me", &m.candidate.token, json!({"language": "de"}))
        .await
        .problem(400);
    assert_eq!(bad.fields(), ["language"]);
    let unknown = app
        .patch("/api/v1/me", &m.candidate.token, json!({"lang": "en"}))
        .await
        .problem(400);
    assert!(
        unknown.fields().contains(&"lang".to_string()),
        "{}",
        unknown.body
    );
    // Only a candidate has a language to set.
    for who in [&m.consultant, &m.coordinator, &m.service] {
        app.patch("/api/v1/me", &who.token, json!({"language": "en"}))
            .await
            .problem(403);
    }
    app.finish().await;
}

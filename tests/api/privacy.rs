//! The candidate's export and access log, and the coordinator's audit log.
use serde_json::json;

use crate::common::TestApp;

#[tokio::test]
async fn export_holds_everything_about_me_and_nobody_else() {
    let app = TestApp::start().await;
    let m = app.municipality("501").await;
    let me = &m.candidate;
    app.post(
        "/api/v1/me/goals",
        &me.token,
        json!({"title": "Mit eget mål", "category": "job", "steps": ["Skriv CV"]}),
    )
    .await
    .expect(201);
    app.post(
        "/api/v1/me/goals",
        &m.other_candidate.token,
        json!({"title": "Ikke mit", "category": "job"}),
    )
    .await
    .expect(201);
    app.post(
        "/api/v1/me/requests",
        &me.token,
        json!({"kind": "stop", "reason": "Jeg vil stoppe"}),
    )
    .await
    .expect(201);
    let export = app.get("/api/v1/me/export", &me.token).await.expect(200);
    assert!(
        export
            .header("content-disposition")
            .is_some_and(|d| d.starts_with("attachment"))
    );
    let doc = export.body;
    assert_eq!(doc["candidate"]["id"], me.id.to_string());
    assert_eq!(doc["goals"][0]["title"], "Mit eget mål");
    assert_eq!(doc["goals"][0]["steps"][0]["title"], "Skriv CV");
    assert_eq!(doc["requests"][0]["reason"], "Jeg vil stoppe");
    assert_eq!(doc["courses"][0]["history"][0]["to"], "referred");
    for part in [
        "appointments",
        "questionnaire_assignments",
        "questionnaire_responses",
        "access_log",
    ] {
        assert!(doc[part].is_array(), "{part} in the export");
    }
    assert!(
        !doc.to_string().contains("Ikke mit"),
        "another candidate's data is not in my export"
    );
    app.get("/api/v1/me/export", &m.consultant.token)
        .await
        .problem(403);
    app.finish().await;
}

#[tokio::test]
async fn the_candidate_sees_who_looked_and_the_coordinator_audits() {
    let app = TestApp::start().await;
    let m = app.municipality("502").await;
    let other = app.municipality("503").await;
    let me = &m.candidate;
    app.get(
        &format!("/api/v1/candidates/{}", me.id),
        &m.consultant.token,
    )
    .await
    .expect(200);
    let log = app
        .get("/api/v1/me/access-log", &me.token)
        .await
        .expect(200)
        .body;
    let first = &log["items"][0];
    assert_eq!(first["role"], "consultant");
    assert_eq!(first["action"], "read");
    assert_eq!(first["resource"], "candidate");
    assert!(
        first.get("actor_id").is_none(),
        "the candidate sees roles, not staff ids"
    );

    let audit = app
        .get(
            &format!("/api/v1/audit?candidate_id={}", me.id),
            &m.coordinator.token,
        )
        .await
        .expect(200)
        .body;
    let items = audit["items"].as_array().unwrap();
    assert!(
        items
            .iter()
            .any(|a| a["actor_id"] == m.consultant.id.to_string() && a["action"] == "read")
    );
    app.get(
        &format!("/api/v1/audit?candidate_id={}", me.id),
        &m.consultant.token,
    )
    .await
    .problem(403);
    app.get(
        &format!("/api/v1/audit?candidate_id={}", me.id),
        &m.service.token,
    )
    .await
    .problem(403);
    app.get(
        &format!("/api/v1/audit?candidate_id={}", me.id),
        &other.coordinator.token,
    )
    .await
    .problem(404);
    app.get("/api/v1/audit", &m.coordinator.token)
        .await
        .problem(400);
    // Reading the audit log is audited too.
    let again = app
        .get("/api/v1/me/access-log?limit=1", &me.token)
        .await
        .expect(200)
        .body;
    assert_eq!(again["items"][0]["resource"], "audit");
    assert!(again["next_cursor"].is_string());
    app.finish().await;
}

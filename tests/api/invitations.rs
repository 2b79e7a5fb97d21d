//! Invitations (SPEC §4.2): a candidate chooses a login once, the login is checked, a new invitation
//! voids the old code and ends sessions, and an expired one is refused.
use ips_api::auth::Role;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::json;
use uuid::Uuid;

use crate::common::{
    PASSWORD, TestApp, accept, accept_path, anon_post, cookie_value, give_login, login, me_status,
    new_candidate, refresh,
};

#[tokio::test]
async fn an_invited_candidate_chooses_a_login_once() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let created = app
        .post(
            "/api/v1/candidates",
            &m.consultant.token,
            new_candidate("Maja"),
        )
        .await
        .expect(201);
    let id = created.body["candidate"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let code = created.body["invitation"]["code"]
        .as_str()
        .expect("code")
        .to_string();
    let parts: Vec<&str> = code.split('-').collect();
    assert_eq!(parts.len(), 4, "{code}");
    assert!(parts.iter().all(|p| p.len() == 4), "{code}");
    let expires: chrono::DateTime<chrono::Utc> = created.body["invitation"]["expires_at"]
        .as_str()
        .expect("expires_at")
        .parse()
        .expect("date-time");
    let days = (expires - chrono::Utc::now()).num_hours();
    assert!((7 * 24 - 1..=7 * 24).contains(&days), "{expires}");

    // Case and dashes do not matter.
    let relaxed = code.replace('-', "").to_lowercase();
    let a = accept(&app, &relaxed, "Maja.T", PASSWORD).await.expect(200);
    assert_eq!(a.body["token_type"], "Bearer");
    let access = a.body["access_token"].as_str().expect("access");
    assert_eq!(
        cookie_value(&a),
        a.body["refresh_token"].as_str().expect("refresh")
    );
    let me = app.get("/api/v1/me", access).await.expect(200);
    assert_eq!(me.body["id"], id.as_str());
    assert_eq!(me.body["role"], "candidate");
    assert_eq!(me.body["municipality_id"], m.id.to_string());
    assert_eq!(me.body["display_name"], "Maja");
    // The chosen login works (stored lower-cased).
    let again = login(&app, "maja.t", PASSWORD).await.expect(200);
    let access = again.body["access_token"].as_str().expect("access");
    assert_eq!(
        app.get("/api/v1/me", access).await.expect(200).body["id"],
        id.as_str()
    );
    // A code works once.
    accept(&app, &code, "maja.two", PASSWORD).await.problem(404);
    accept(&app, "ABCD-EFGH-JKLM-NPQR", "maja.three", PASSWORD)
        .await
        .problem(404);
    app.finish().await;
}

#[tokio::test]
async fn accepting_an_invitation_checks_the_login() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    give_login(&app, m.candidate.id, "sara.t", Role::Candidate, Some(m.id)).await;
    let created = app
        .post(
            "/api/v1/candidates",
            &m.consultant.token,
            new_candidate("Maja"),
        )
        .await
        .expect(201);
    let code = created.body["invitation"]["code"]
        .as_str()
        .expect("code")
        .to_string();
    // A taken username, in any case: 409, and the code is not used up.
    for taken in ["sara.t", "SARA.T"] {
        accept(&app, &code, taken, PASSWORD).await.problem(409);
    }
    // Invalid usernames and passwords name their field and leave the code alone.
    for bad in ["ab", "has space", "æøå-name", "semi;colon", &"x".repeat(65)] {
        let a = accept(&app, &code, bad, PASSWORD).await.problem(400);
        assert_eq!(a.fields(), ["username"], "{bad}: {}", a.body);
    }
    for bad in ["short", "123456789", &"p".repeat(129)] {
        let a = accept(&app, &code, "maja.t", bad).await.problem(400);
        assert_eq!(a.fields(), ["password"], "{bad}: {}", a.body);
    }
    let a = anon_post(&app, &accept_path(&code), json!({"username": "maja.t"}))
        .await
        .problem(400);
    assert_eq!(a.fields(), ["password"]);
    let a = anon_post(
        &app,
        &accept_path(&code),
        json!({"username": "maja.t", "password": PASSWORD, "role": "admin"}),
    )
    .await
    .problem(400);
    assert_eq!(a.fields(), ["role"]);
    accept(&app, &code, "maja.t", PASSWORD).await.expect(200);
    app.finish().await;
}

#[tokio::test]
async fn a_new_invitation_voids_the_old_code_and_ends_sessions() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let created = app
        .post(
            "/api/v1/candidates",
            &m.consultant.token,
            new_candidate("Maja"),
        )
        .await
        .expect(201);
    let id = created.body["candidate"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let first = created.body["invitation"]["code"]
        .as_str()
        .expect("code")
        .to_string();
    let path = format!("/api/v1/candidates/{id}/invitation");
    // An unused code is voided by the next one.
    let second = app
        .post(&path, &m.consultant.token, json!({}))
        .await
        .expect(201);
    let second = second.body["code"].as_str().expect("code").to_string();
    assert_ne!(first, second);
    accept(&app, &first, "maja.t", PASSWORD).await.problem(404);
    let a = accept(&app, &second, "maja.t", PASSWORD).await.expect(200);
    let access = a.body["access_token"].as_str().expect("access").to_string();
    let refresh_token = a.body["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    assert_eq!(me_status(&app, &access).await, 200);

    // A coordinator re-invites: the login is reset and every session ends at once.
    let third = app
        .post(&path, &m.coordinator.token, json!({}))
        .await
        .expect(201);
    assert!(third.body["expires_at"].is_string());
    let third = third.body["code"].as_str().expect("code").to_string();
    assert_eq!(me_status(&app, &access).await, 401);
    refresh(&app, &refresh_token).await.problem(401);
    login(&app, "maja.t", PASSWORD).await.problem(401);
    // The old username is free again for the new code.
    accept(&app, &third, "maja.t", "a whole new password")
        .await
        .expect(200);
    login(&app, "maja.t", "a whole new password")
        .await
        .expect(200);

    // Only the candidate's staff may re-invite; others do not even see the candidate.
    let theirs = format!("/api/v1/candidates/{}/invitation", m.other_candidate.id);
    app.post(&theirs, &m.consultant.token, json!({}))
        .await
        .problem(404);
    let other = app.municipality("202").await;
    app.post(&path, &other.coordinator.token, json!({}))
        .await
        .problem(404);
    app.post(&path, &m.candidate.token, json!({}))
        .await
        .problem(403);
    app.post(&path, &m.service.token, json!({}))
        .await
        .problem(403);
    let admin = app.admin().await;
    app.post(&path, &admin.token, json!({})).await.problem(403);
    let missing = format!("/api/v1/candidates/{}/invitation", Uuid::now_v7());
    app.post(&missing, &m.coordinator.token, json!({}))
        .await
        .problem(404);
    app.finish().await;
}

#[tokio::test]
async fn an_expired_invitation_is_refused() {
    use entity::invitation;
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let created = app
        .post(
            "/api/v1/candidates",
            &m.consultant.token,
            new_candidate("Maja"),
        )
        .await
        .expect(201);
    let id: Uuid = created.body["candidate"]["id"]
        .as_str()
        .expect("id")
        .parse()
        .expect("uuid");
    let code = created.body["invitation"]["code"].as_str().expect("code");
    invitation::Entity::update_many()
        .col_expr(
            invitation::Column::ExpiresAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::minutes(1)),
        )
        .filter(invitation::Column::PrincipalId.eq(id))
        .exec(app.state.db.write())
        .await
        .expect("backdate");
    accept(&app, code, "maja.t", PASSWORD).await.problem(404);
    app.finish().await;
}

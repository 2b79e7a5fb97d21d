//! Sessions (SPEC §4.2): refresh-token rotation and reuse, the refresh cookie, logout, refresh lifetimes
//! by role, and sessions ended on one instance ending on another.
use ips_api::{auth::Role, domain::identity, state::AppState};
use poem::{EndpointExt, http::Method, test::TestClient};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::json;
use uuid::Uuid;

use crate::common::{
    Answer, Client, PASSWORD, TestApp, anon_post, cookie_value, give_login, jwt_part, login,
    me_status, problem_parts, refresh,
};

/// Every `Set-Cookie` header of an answer.
fn set_cookies(a: &Answer) -> Vec<String> {
    a.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_token_ends_the_session() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    give_login(&app, m.candidate.id, "sara.t", Role::Candidate, Some(m.id)).await;
    let first = login(&app, "sara.t", PASSWORD).await.expect(200);
    let access1 = first.body["access_token"]
        .as_str()
        .expect("access")
        .to_string();
    let refresh1 = first.body["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    assert_eq!(me_status(&app, &access1).await, 200);

    let second = refresh(&app, &refresh1).await.expect(200);
    assert_eq!(second.body["token_type"], "Bearer");
    assert_eq!(second.body["expires_in"], 900);
    let access2 = second.body["access_token"]
        .as_str()
        .expect("access")
        .to_string();
    let refresh2 = second.body["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    assert_ne!(refresh1, refresh2);
    assert_ne!(access1, access2);
    assert_eq!(cookie_value(&second), refresh2);
    // Same session, same principal.
    assert_eq!(jwt_part(&access1, 1)["sid"], jwt_part(&access2, 1)["sid"]);
    let me = app.get("/api/v1/me", &access2).await.expect(200);
    assert_eq!(me.body["id"], m.candidate.id.to_string());
    assert_eq!(me.body["role"], "candidate");

    // The rotated token a second time: refused, and the whole family is revoked.
    let reuse = refresh(&app, &refresh1).await.problem(401);
    refresh(&app, &refresh2).await.problem(401);
    assert_eq!(me_status(&app, &access2).await, 401);
    assert_eq!(me_status(&app, &access1).await, 401);
    // The answer to a reuse says nothing more than an unknown token does.
    let unknown = refresh(&app, "no-such-token").await.problem(401);
    assert_eq!(problem_parts(&reuse), problem_parts(&unknown));
    // Other sessions of the same person and other people are untouched.
    assert_eq!(me_status(&app, &m.candidate.token).await, 200);
    let again = login(&app, "sara.t", PASSWORD).await.expect(200);
    let refresh3 = again.body["refresh_token"].as_str().expect("refresh");
    refresh(&app, refresh3).await.expect(200);
    app.finish().await;
}

#[tokio::test]
async fn refresh_takes_the_cookie_and_needs_a_token() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let tokens = identity::start_session(
        &app.state.identity(),
        m.consultant.id,
        Role::Consultant,
        Some(m.id),
    )
    .await
    .expect("session");
    let cookie = format!("theme=dark; ips_refresh={}", tokens.refresh_token);
    let a = app
        .request(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({})),
            &[("cookie", cookie.as_str())],
        )
        .await
        .expect(200);
    let rotated = a.body["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    assert_eq!(cookie_value(&a), rotated);
    let access = a.body["access_token"].as_str().expect("access");
    assert_eq!(me_status(&app, access).await, 200);
    // The used cookie again is a reuse.
    let stale = format!("ips_refresh={}", tokens.refresh_token);
    app.request(
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(json!({})),
        &[("cookie", stale.as_str())],
    )
    .await
    .problem(401);
    refresh(&app, &rotated).await.problem(401);
    // No token in the body nor a cookie: no credentials, the same 401 as an unknown token (a portal
    // that starts without a session is normal, not a bad request).
    let missing = anon_post(&app, "/api/v1/auth/refresh", json!({}))
        .await
        .problem(401);
    assert_eq!(missing.body["type"], "urn:ips-ung:problem:unauthorized");
    let empty_cookie = app
        .request(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({})),
            &[("cookie", "ips_refresh=")],
        )
        .await
        .problem(401);
    assert_eq!(
        empty_cookie.body["type"],
        "urn:ips-ung:problem:unauthorized"
    );
    app.request(Method::POST, "/api/v1/auth/refresh", None, None, &[])
        .await
        .problem(401);
    // Unknown fields and wrong types are refused.
    let typo = anon_post(&app, "/api/v1/auth/refresh", json!({"refreshToken": "x"}))
        .await
        .problem(400);
    assert!(
        typo.fields().contains(&"refreshToken".to_string()),
        "{}",
        typo.body
    );
    app.finish().await;
}

#[tokio::test]
async fn logout_ends_the_session_and_clears_the_cookie() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    give_login(
        &app,
        m.coordinator.id,
        "kim.k",
        Role::Coordinator,
        Some(m.id),
    )
    .await;
    let a = login(&app, "kim.k", PASSWORD).await.expect(200);
    let access = a.body["access_token"].as_str().expect("access").to_string();
    let token = a.body["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    assert_eq!(me_status(&app, &access).await, 200);

    // Login sets the session marker beside the refresh cookie, for as long and readable by scripts.
    let cookies = set_cookies(&a);
    let marker = cookies
        .iter()
        .find(|c| c.starts_with("ips_session=1;"))
        .unwrap_or_else(|| panic!("marker cookie: {cookies:?}"));
    for part in ["Path=/", "Secure", "SameSite=Strict"] {
        assert!(marker.split("; ").any(|p| p == part), "{part}: {marker}");
    }
    assert!(!marker.contains("HttpOnly"), "{marker}");
    let max_age = |c: &str| {
        c.split("; ")
            .find(|p| p.starts_with("Max-Age="))
            .map(str::to_string)
    };
    assert_eq!(max_age(marker), max_age(&cookies[0]));
    let again = refresh(&app, &token).await.expect(200);
    assert!(
        set_cookies(&again)
            .iter()
            .any(|c| c.starts_with("ips_session=1;"))
    );
    let token = again.body["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    let access = again.body["access_token"]
        .as_str()
        .expect("access")
        .to_string();

    let out = anon_post(&app, "/api/v1/auth/logout", json!({"refresh_token": token}))
        .await
        .expect(204);
    let cookie = out.header("set-cookie").expect("set-cookie");
    assert!(cookie.starts_with("ips_refresh=;"), "{cookie}");
    assert!(
        set_cookies(&out)
            .iter()
            .any(|c| c.starts_with("ips_session=;")
                && c.contains("Max-Age=0")
                && c.contains("Path=/;")),
        "the marker is cleared too: {:?}",
        set_cookies(&out)
    );
    for part in [
        "Max-Age=0",
        "Path=/api/v1/auth",
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
    ] {
        assert!(cookie.split("; ").any(|p| p == part), "{part}: {cookie}");
    }
    assert_eq!(me_status(&app, &access).await, 401);
    refresh(&app, &token).await.problem(401);
    // Logging out again, with an unknown token, or with nothing at all is fine.
    anon_post(&app, "/api/v1/auth/logout", json!({"refresh_token": token}))
        .await
        .expect(204);
    anon_post(
        &app,
        "/api/v1/auth/logout",
        json!({"refresh_token": "unknown"}),
    )
    .await
    .expect(204);
    anon_post(&app, "/api/v1/auth/logout", json!({}))
        .await
        .expect(204);
    // The coordinator's other session (from the harness) goes on.
    assert_eq!(me_status(&app, &m.coordinator.token).await, 200);

    // Logout by cookie.
    let b = login(&app, "kim.k", PASSWORD).await.expect(200);
    let access = b.body["access_token"].as_str().expect("access").to_string();
    let cookie = format!("ips_refresh={}", cookie_value(&b));
    app.request(
        Method::POST,
        "/api/v1/auth/logout",
        None,
        Some(json!({})),
        &[("cookie", cookie.as_str())],
    )
    .await
    .expect(204);
    assert_eq!(me_status(&app, &access).await, 401);
    app.finish().await;
}

#[tokio::test]
async fn refresh_tokens_expire_by_role() {
    use entity::session;
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    give_login(&app, m.candidate.id, "sara.t", Role::Candidate, Some(m.id)).await;
    give_login(
        &app,
        m.consultant.id,
        "kirsten.k",
        Role::Consultant,
        Some(m.id),
    )
    .await;
    let max_age = |a: &Answer| -> i64 {
        a.header("set-cookie")
            .expect("set-cookie")
            .split("; ")
            .find_map(|p| p.strip_prefix("Max-Age="))
            .expect("Max-Age")
            .parse()
            .expect("number")
    };
    // A candidate's refresh token lives 7 idle days; staff's 12 hours.
    let candidate = login(&app, "sara.t", PASSWORD).await.expect(200);
    let age = max_age(&candidate);
    assert!((7 * 86400 - 60..=7 * 86400).contains(&age), "{age}");
    let staff = login(&app, "kirsten.k", PASSWORD).await.expect(200);
    let age = max_age(&staff);
    assert!((12 * 3600 - 60..=12 * 3600).contains(&age), "{age}");
    let rotated = refresh(&app, staff.body["refresh_token"].as_str().expect("refresh"))
        .await
        .expect(200);
    // Refreshing does not extend a staff session.
    assert!(max_age(&rotated) <= age);

    // Past the idle limit, or past the hard limit, the refresh token is refused.
    let sid = |a: &Answer| -> Uuid {
        jwt_part(a.body["access_token"].as_str().expect("access"), 1)["sid"]
            .as_str()
            .expect("sid")
            .parse()
            .expect("uuid")
    };
    let past = chrono::Utc::now() - chrono::Duration::minutes(1);
    session::Entity::update_many()
        .col_expr(session::Column::IdleExpiresAt, Expr::value(past))
        .filter(session::Column::Id.eq(sid(&candidate)))
        .exec(app.state.db.write())
        .await
        .expect("backdate");
    refresh(
        &app,
        candidate.body["refresh_token"].as_str().expect("refresh"),
    )
    .await
    .problem(401);
    session::Entity::update_many()
        .col_expr(session::Column::ExpiresAt, Expr::value(past))
        .col_expr(session::Column::IdleExpiresAt, Expr::value(past))
        .filter(session::Column::Id.eq(sid(&rotated)))
        .exec(app.state.db.write())
        .await
        .expect("backdate");
    refresh(
        &app,
        rotated.body["refresh_token"].as_str().expect("refresh"),
    )
    .await
    .problem(401);
    app.finish().await;
}

/// A second instance of the app on the same database, checking sessions on every request.
async fn second_instance(app: &TestApp) -> (AppState, Client) {
    let mut config = (*app.state.config).clone();
    config.session_check_secs = 0;
    let state = AppState::build(config).await.expect("second instance");
    let cli = TestClient::new(ips_api::app(state.clone()).map_to_response().boxed());
    (state, cli)
}

async fn me_on(cli: &Client, token: &str) -> u16 {
    cli.get("/api/v1/me")
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .0
        .status()
        .as_u16()
}

#[tokio::test]
async fn sessions_ended_on_one_instance_end_on_another() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let (other_state, other) = second_instance(&app).await;
    give_login(&app, m.candidate.id, "sara.t", Role::Candidate, Some(m.id)).await;
    // Tokens issued by one instance work on the other (shared keys and sessions).
    let a = login(&app, "sara.t", PASSWORD).await.expect(200);
    let access = a.body["access_token"].as_str().expect("access").to_string();
    let token = a.body["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    assert_eq!(me_on(&other, &access).await, 200);
    assert_eq!(me_on(&other, &m.consultant.token).await, 200);
    assert_eq!(me_on(&other, &m.service.token).await, 200);
    // Logout here, refused there.
    anon_post(&app, "/api/v1/auth/logout", json!({"refresh_token": token}))
        .await
        .expect(204);
    assert_eq!(me_on(&other, &access).await, 401);
    // Deactivation here, refused there.
    let path = format!("/api/v1/staff/{}", m.consultant.id);
    app.patch(&path, &m.coordinator.token, json!({"active": false}))
        .await
        .expect(200);
    assert_eq!(me_on(&other, &m.consultant.token).await, 401);
    // A deleted service account, likewise.
    let path = format!("/api/v1/service-accounts/{}", m.service.id);
    app.call(Method::DELETE, &path, Some(&m.coordinator.token), None)
        .await
        .expect(204);
    assert_eq!(me_on(&other, &m.service.token).await, 401);
    assert_eq!(me_on(&other, &m.coordinator.token).await, 200);
    other_state.db.clone().close().await;
    app.finish().await;
}

/// SPEC §4.2: "the body may be omitted when the cookie is sent". With no body at all (and so no content
/// type) refresh and logout read the cookie; an operation with required fields names them.
#[tokio::test]
async fn refresh_and_logout_need_no_body_with_the_cookie() {
    let app = TestApp::start().await;
    let m = app.municipality("110").await;
    let tokens = identity::start_session(
        &app.state.identity(),
        m.candidate.id,
        Role::Candidate,
        Some(m.id),
    )
    .await
    .expect("session");
    let cookie = format!("ips_refresh={}", tokens.refresh_token);
    let a = app
        .request(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            None,
            &[("cookie", cookie.as_str())],
        )
        .await
        .expect(200);
    let rotated = format!("ips_refresh={}", cookie_value(&a));
    app.request(
        Method::POST,
        "/api/v1/auth/logout",
        None,
        None,
        &[("cookie", rotated.as_str())],
    )
    .await
    .expect(204);
    let access = a.body["access_token"].as_str().expect("access");
    assert_eq!(me_status(&app, access).await, 401);
    // Without a body, a create names every required field instead of refusing the content type.
    let empty = app
        .call(
            Method::POST,
            "/api/v1/candidates",
            Some(&m.consultant.token),
            None,
        )
        .await
        .problem(400);
    for field in [
        "given_name",
        "family_name",
        "birth_year",
        "target_group",
        "readiness",
    ] {
        assert!(
            empty.fields().iter().any(|f| f == field),
            "{field} in {:?}",
            empty.fields()
        );
    }
    // A body of another type is still 415.
    app.raw(
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        "text/plain",
        b"x".to_vec(),
    )
    .await
    .problem(415);
    app.finish().await;
}

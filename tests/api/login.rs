//! Logging in (SPEC §4.2): tokens and the refresh cookie, answers that do not tell whether a username
//! exists, and the failed-login limits per account and per address.
use ips_api::auth::Role;
use poem::http::Method;
use serde_json::{Value, json};

use crate::common::{PASSWORD, TestApp, anon_post, give_login, jwt_part, login, problem_parts};

#[tokio::test]
async fn login_returns_tokens_and_a_refresh_cookie() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    give_login(
        &app,
        m.consultant.id,
        "Kirsten.K",
        Role::Consultant,
        Some(m.id),
    )
    .await;
    let a = login(&app, "kirsten.k", PASSWORD).await.expect(200);
    assert_eq!(a.body["token_type"], "Bearer");
    assert_eq!(a.body["expires_in"], 900);
    let access = a.body["access_token"].as_str().expect("access_token");
    let refresh = a.body["refresh_token"].as_str().expect("refresh_token");
    assert!(refresh.len() >= 32);
    let cookie = a.header("set-cookie").expect("set-cookie").to_string();
    assert!(
        cookie.starts_with(&format!("ips_refresh={refresh};")),
        "{cookie}"
    );
    for part in ["Path=/api/v1/auth", "HttpOnly", "Secure", "SameSite=Strict"] {
        assert!(cookie.split("; ").any(|p| p == part), "{part}: {cookie}");
    }
    let max_age: i64 = cookie
        .split("; ")
        .find_map(|p| p.strip_prefix("Max-Age="))
        .expect("Max-Age")
        .parse()
        .expect("number");
    assert!(max_age > 0 && max_age <= 12 * 3600, "{cookie}");
    // The access token works and names the principal.
    let me = app.get("/api/v1/me", access).await.expect(200);
    assert_eq!(me.body["id"], m.consultant.id.to_string());
    assert_eq!(me.body["role"], "consultant");
    let claims = jwt_part(access, 1);
    assert_eq!(claims["sub"], m.consultant.id.to_string());
    assert_eq!(claims["role"], "consultant");
    assert_eq!(claims["mun"], m.id.to_string());
    assert_eq!(claims["iss"], "ips-ung");
    assert_eq!(claims["aud"], "ips-ung-api");
    assert_eq!(
        claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat"),
        900
    );
    for claim in ["nbf", "jti", "sid"] {
        assert!(!claims[claim].is_null(), "{claim}: {claims}");
    }
    assert_eq!(jwt_part(access, 0)["alg"], "EdDSA");
    // Usernames are compared case-insensitively, also with surrounding case changes.
    login(&app, "KIRSTEN.K", PASSWORD).await.expect(200);
    login(&app, "Kirsten.k", PASSWORD).await.expect(200);
    // The password is not.
    login(&app, "kirsten.k", &PASSWORD.to_uppercase())
        .await
        .problem(401);
    // Bad bodies name the field.
    let a = anon_post(&app, "/api/v1/auth/login", json!({}))
        .await
        .problem(400);
    let mut fields = a.fields();
    fields.sort();
    assert_eq!(fields, ["password", "username"]);
    let a = login(&app, &"k".repeat(65), PASSWORD).await.problem(400);
    assert_eq!(a.fields(), ["username"]);
    let a = login(&app, "kirsten.k", &"p".repeat(129))
        .await
        .problem(400);
    assert_eq!(a.fields(), ["password"]);
    let a = anon_post(
        &app,
        "/api/v1/auth/login",
        json!({"username": "kirsten.k", "password": PASSWORD, "remember": true}),
    )
    .await
    .problem(400);
    assert_eq!(a.fields(), ["remember"]);
    let form = format!("username=kirsten.k&password={PASSWORD}");
    app.raw(
        Method::POST,
        "/api/v1/auth/login",
        None,
        "application/x-www-form-urlencoded",
        form.into_bytes(),
    )
    .await
    .problem(415);
    app.finish().await;
}

#[tokio::test]
async fn login_does_not_reveal_whether_a_username_exists() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    give_login(&app, m.candidate.id, "sara.t", Role::Candidate, Some(m.id)).await;
    let wrong = login(&app, "sara.t", "not the password").await.problem(401);
    let unknown = login(&app, "nobody.here", "not the password")
        .await
        .problem(401);
    assert_eq!(problem_parts(&wrong), problem_parts(&unknown));
    assert_eq!(
        wrong.header("www-authenticate"),
        unknown.header("www-authenticate")
    );
    assert!(wrong.header("set-cookie").is_none());
    assert!(unknown.header("set-cookie").is_none());
    // Neither says which part was wrong.
    let detail = wrong.body["detail"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase();
    assert!(
        !detail.contains("not found") && !detail.contains("unknown user"),
        "{detail}"
    );
    app.finish().await;
}

#[tokio::test]
async fn failed_logins_are_limited_per_account() {
    let app = TestApp::start_with(|c| c.login_failures_per_account_hour = 3).await;
    let m = app.municipality("101").await;
    give_login(&app, m.candidate.id, "sara.t", Role::Candidate, Some(m.id)).await;
    give_login(
        &app,
        m.other_candidate.id,
        "ali.t",
        Role::Candidate,
        Some(m.id),
    )
    .await;
    for _ in 0..3 {
        login(&app, "sara.t", "wrong password").await.problem(401);
    }
    // The fourth attempt is refused even with the right password, and any spelling of the name.
    for name in ["sara.t", "SARA.T"] {
        let a = login(&app, name, PASSWORD).await.problem(429);
        let retry: u64 = a
            .header("retry-after")
            .expect("Retry-After")
            .parse()
            .expect("numeric Retry-After");
        assert!((1..=3600).contains(&retry), "{retry}");
    }
    // An unknown username is limited just the same (no enumeration through the limit).
    for _ in 0..3 {
        login(&app, "ghost.user", "wrong password")
            .await
            .problem(401);
    }
    login(&app, "ghost.user", "wrong password")
        .await
        .problem(429);
    // Other accounts are not affected.
    login(&app, "ali.t", PASSWORD).await.expect(200);
    app.finish().await;
}

#[tokio::test]
async fn failed_logins_are_limited_per_address() {
    let app = TestApp::start_with(|c| c.login_failures_per_address_hour = 3).await;
    let m = app.municipality("101").await;
    give_login(&app, m.candidate.id, "sara.t", Role::Candidate, Some(m.id)).await;
    for name in ["one.user", "two.user", "sara.t"] {
        login(&app, name, "wrong password").await.problem(401);
    }
    let a = login(&app, "sara.t", PASSWORD).await.problem(429);
    let retry: u64 = a
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("numeric Retry-After");
    assert!(retry >= 1);
    login(&app, "fresh.name", PASSWORD).await.problem(429);
    // Invitation attempts from that address are refused too.
    anon_post(
        &app,
        "/api/v1/auth/invitations/AAAA-BBBB-CCCC-DDDD/accept",
        json!({"username": "new.user", "password": PASSWORD}),
    )
    .await
    .problem(429);
    app.finish().await;
}

#[tokio::test]
async fn a_hash_with_older_parameters_is_remade_at_login() {
    use argon2::{Algorithm, Argon2, Params, PasswordHasher, Version, password_hash::SaltString};
    use entity::credential;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};

    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    give_login(&app, m.candidate.id, "sara.t", Role::Candidate, Some(m.id)).await;
    // The parameters hashes were made with before (19 MiB, t = 2).
    let older = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(19 * 1024, 2, 1, None).expect("params"),
    )
    .hash_password(
        PASSWORD.as_bytes(),
        &SaltString::from_b64("c2FsdHNhbHRzYWx0").expect("salt"),
    )
    .expect("hash")
    .to_string();
    let stored = || async {
        credential::Entity::find()
            .filter(credential::Column::Username.eq("sara.t"))
            .one(app.state.db.read())
            .await
            .expect("read")
            .expect("credential")
    };
    credential::Entity::update_many()
        .col_expr(credential::Column::PasswordHash, Expr::value(older.clone()))
        .filter(credential::Column::Username.eq("sara.t"))
        .exec(app.state.db.write())
        .await
        .expect("set the older hash");

    // A wrong password changes nothing.
    login(&app, "sara.t", "not the password").await.problem(401);
    assert_eq!(stored().await.password_hash, older);
    // The right one logs in, and the stored hash is remade with today's parameters.
    let before = stored().await.updated_at;
    let a = login(&app, "sara.t", PASSWORD).await.expect(200);
    let now = stored().await;
    assert!(
        now.password_hash
            .starts_with("$argon2id$v=19$m=12288,t=3,p=1$"),
        "{}",
        now.password_hash
    );
    assert!(now.updated_at >= before);
    assert_eq!(now.principal_id, m.candidate.id);
    let token = a.body["access_token"].as_str().expect("access_token");
    app.get("/api/v1/me", token).await.expect(200);
    // The new hash takes the same password, and only it; a later login leaves it as it is.
    login(&app, "sara.t", "not the password").await.problem(401);
    login(&app, "sara.t", PASSWORD).await.expect(200);
    assert_eq!(stored().await.password_hash, now.password_hash);
    app.finish().await;
}

/// A login is five statements: the attempt counted for the account and the address (one upsert),
/// the credential, the person's record, the attempt released, and the session with its first refresh
/// token (one request). A wrong password is the first two. A refresh is four: the token with its
/// session, the person's record, the token marked used, and the new token with the session's new
/// idle time (one request).
#[tokio::test]
async fn a_login_is_five_statements_and_a_refresh_four() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    give_login(&app, m.candidate.id, "sara.t", Role::Candidate, Some(m.id)).await;
    let count = |before: u64| app.state.db.statement_count() - before;
    let before = app.state.db.statement_count();
    let tokens = login(&app, "sara.t", PASSWORD).await.expect(200).body;
    assert_eq!(count(before), 5);
    // The session works, and so does its refresh token.
    app.get("/api/v1/me", tokens["access_token"].as_str().unwrap())
        .await
        .expect(200);
    let refresh = |token: Value| {
        anon_post(
            &app,
            "/api/v1/auth/refresh",
            json!({ "refresh_token": token }),
        )
    };
    let before = app.state.db.statement_count();
    let next = refresh(tokens["refresh_token"].clone())
        .await
        .expect(200)
        .body;
    assert_eq!(count(before), 4);
    // The new refresh token rotates again and its access token works; the first one is used up, and
    // presenting it again ends the session.
    app.get("/api/v1/me", next["access_token"].as_str().unwrap())
        .await
        .expect(200);
    let third = refresh(next["refresh_token"].clone())
        .await
        .expect(200)
        .body;
    refresh(tokens["refresh_token"].clone()).await.problem(401);
    refresh(third["refresh_token"].clone()).await.problem(401);
    let before = app.state.db.statement_count();
    login(&app, "sara.t", "not the password").await.problem(401);
    assert_eq!(count(before), 2);
    app.finish().await;
}

//! Identity and tokens (SPEC §4.2): login, refresh rotation, logout, access-token checks, JWKS and key
//! rotation, invitations, staff, municipalities, service accounts and `/me`.
use ips_api::{auth::Role, domain::identity, state::AppState};
use poem::{EndpointExt, http::Method, test::TestClient};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::{Answer, Client, TestApp};

const PASSWORD: &str = "correct horse battery";

// ---- helpers ----------------------------------------------------------------------------------

const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// base64url without padding (the JWT encoding).
fn b64url_encode(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn b64url_decode(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = B64.iter().position(|b| *b == c).expect("base64url") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// The JSON of one segment of a JWT (0 the header, 1 the claims).
fn jwt_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).expect("jwt segment");
    serde_json::from_slice(&b64url_decode(part)).expect("jwt json")
}

fn b64_json(value: &Value) -> String {
    b64url_encode(value.to_string().as_bytes())
}

/// The `ips_refresh` value of a `Set-Cookie` header.
fn cookie_value(a: &Answer) -> String {
    let cookie = a.header("set-cookie").expect("set-cookie");
    let first = cookie.split(';').next().expect("cookie pair");
    first
        .strip_prefix("ips_refresh=")
        .expect("ips_refresh cookie")
        .to_string()
}

async fn anon_post(app: &TestApp, path: &str, body: Value) -> Answer {
    app.call(Method::POST, path, None, Some(body)).await
}

async fn login(app: &TestApp, username: &str, password: &str) -> Answer {
    anon_post(
        app,
        "/api/v1/auth/login",
        json!({"username": username, "password": password}),
    )
    .await
}

async fn refresh(app: &TestApp, token: &str) -> Answer {
    anon_post(app, "/api/v1/auth/refresh", json!({"refresh_token": token})).await
}

/// Gives a principal a username and `PASSWORD`.
async fn give_login(app: &TestApp, id: Uuid, username: &str, role: Role, mun: Option<Uuid>) {
    let hash = app.state.hasher.hash(PASSWORD).await.expect("hash");
    identity::set_login(app.state.db.write(), hash, id, username, role, mun)
        .await
        .expect("login");
}

async fn me_status(app: &TestApp, token: &str) -> u16 {
    app.get("/api/v1/me", token).await.status.as_u16()
}

/// The problem parts that must not differ between two refusals.
fn problem_parts(a: &Answer) -> (Value, Value, Value, Value) {
    (
        a.body["type"].clone(),
        a.body["title"].clone(),
        a.body["status"].clone(),
        a.body["detail"].clone(),
    )
}

// ---- login ------------------------------------------------------------------------------------

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

// ---- refresh and logout -------------------------------------------------------------------------

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
    let tokens = identity::start_session(&app.state, m.consultant.id, Role::Consultant, Some(m.id))
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
    // No token in the body nor a cookie: 400 naming the field.
    let missing = anon_post(&app, "/api/v1/auth/refresh", json!({}))
        .await
        .problem(400);
    assert_eq!(missing.fields(), ["refresh_token"]);
    let empty_cookie = app
        .request(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({})),
            &[("cookie", "ips_refresh=")],
        )
        .await
        .problem(400);
    assert_eq!(empty_cookie.fields(), ["refresh_token"]);
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

    let out = anon_post(&app, "/api/v1/auth/logout", json!({"refresh_token": token}))
        .await
        .expect(204);
    let cookie = out.header("set-cookie").expect("set-cookie");
    assert!(cookie.starts_with("ips_refresh=;"), "{cookie}");
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

// ---- access tokens and keys ---------------------------------------------------------------------

/// A token with the header and claims replaced and the original signature kept.
fn forge(token: &str, header: &Value, claims: &Value) -> String {
    let signature = token.rsplit('.').next().expect("signature");
    format!("{}.{}.{signature}", b64_json(header), b64_json(claims))
}

#[tokio::test]
async fn tampered_unsigned_and_malformed_tokens_are_refused() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let token = m.consultant.token.clone();
    assert_eq!(me_status(&app, &token).await, 200);
    let header = jwt_part(&token, 0);
    let claims = jwt_part(&token, 1);
    let (h, p) = (
        token.split('.').next().expect("header"),
        token.split('.').nth(1).expect("claims"),
    );
    // The helpers read and write base64url faithfully …
    assert_eq!(b64url_encode(&b64url_decode(h)), h);
    assert_eq!(b64url_encode(&b64url_decode(p)), p);
    assert_eq!(b64url_decode(&b64url_encode(b"ab?>~")), b"ab?>~");
    // … but any change to the claims breaks the signature.
    let mut escalated = claims.clone();
    escalated["role"] = json!("coordinator");
    let mut other = claims.clone();
    other["sub"] = json!(m.other_consultant.id.to_string());
    let mut later = claims.clone();
    later["exp"] = json!(claims["exp"].as_i64().expect("exp") + 3600);
    let mut flipped_sig = token.clone().into_bytes();
    let last = flipped_sig.len() - 2;
    flipped_sig[last] = if flipped_sig[last] == b'A' {
        b'B'
    } else {
        b'A'
    };
    let flipped_sig = String::from_utf8(flipped_sig).expect("ascii");
    // `alg: none` with no signature, and an HMAC header (algorithm confusion).
    let mut none = header.clone();
    none["alg"] = json!("none");
    let mut hs256 = header.clone();
    hs256["alg"] = json!("HS256");
    let mut unknown_kid = header.clone();
    unknown_kid["kid"] = json!("k19700101000000000");
    let mut no_kid = header.clone();
    no_kid.as_object_mut().expect("object").remove("kid");
    let cases = [
        ("role changed", forge(&token, &header, &escalated)),
        ("sub changed", forge(&token, &header, &other)),
        ("exp extended", forge(&token, &header, &later)),
        ("signature flipped", flipped_sig),
        ("signature removed", format!("{h}.{p}.")),
        ("two segments", format!("{h}.{p}")),
        ("alg none", format!("{}.{p}.", b64_json(&none))),
        ("alg none, signature kept", forge(&token, &none, &claims)),
        ("alg HS256", forge(&token, &hs256, &claims)),
        ("unknown kid", forge(&token, &unknown_kid, &claims)),
        ("no kid", forge(&token, &no_kid, &claims)),
        ("not a jwt", "not-a-token".to_string()),
        ("too long", format!("{token}{}", "A".repeat(5000))),
    ];
    for (what, forged) in cases {
        let a = app.get("/api/v1/me", &forged).await;
        assert_eq!(a.status.as_u16(), 401, "{what}: {}", a.body);
        a.problem(401);
    }
    // No token, another scheme, an empty bearer.
    app.call(Method::GET, "/api/v1/me", None, None)
        .await
        .problem(401);
    app.request(
        Method::GET,
        "/api/v1/me",
        None,
        None,
        &[("authorization", "Basic dXNlcjpwYXNz")],
    )
    .await
    .problem(401);
    app.request(
        Method::GET,
        "/api/v1/me",
        None,
        None,
        &[("authorization", "Bearer ")],
    )
    .await
    .problem(401);
    // The real token still works after all that.
    assert_eq!(me_status(&app, &token).await, 200);
    app.finish().await;
}

#[tokio::test]
async fn expired_tokens_are_refused_beyond_the_leeway() {
    // Tokens that expired 45 s before they were issued: past the 30 s leeway.
    let app = TestApp::start_with(|c| c.access_token_ttl_secs = -45).await;
    let m = app.municipality("101").await;
    give_login(
        &app,
        m.consultant.id,
        "kirsten.k",
        Role::Consultant,
        Some(m.id),
    )
    .await;
    let a = login(&app, "kirsten.k", PASSWORD).await.expect(200);
    let access = a.body["access_token"].as_str().expect("access");
    let claims = jwt_part(access, 1);
    assert!(claims["exp"].as_i64().expect("exp") < claims["iat"].as_i64().expect("iat") - 30);
    app.get("/api/v1/me", access).await.problem(401);
    app.get("/api/v1/me", &m.consultant.token)
        .await
        .problem(401);
    app.get("/api/v1/candidates", &m.service.token)
        .await
        .problem(401);
    app.finish().await;
}

#[tokio::test]
async fn tokens_of_another_issuer_or_audience_are_refused() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let claims = jwt_part(&m.coordinator.token, 1);
    let sid: Uuid = claims["sid"].as_str().expect("sid").parse().expect("uuid");
    let issue = |keys: &ips_api::tokens::KeyStore| {
        keys.issue(m.coordinator.id, "coordinator", Some(m.id), None, sid)
            .expect("issue")
            .0
    };
    // Same keys and session, this app's issuer and audience: accepted.
    assert_eq!(me_status(&app, &issue(&app.state.keys)).await, 200);
    let mut other_issuer = (*app.state.config).clone();
    other_issuer.issuer = "someone-else".into();
    let mut other_audience = (*app.state.config).clone();
    other_audience.audience = "another-api".into();
    for config in [other_issuer, other_audience] {
        let keys = ips_api::tokens::KeyStore::load(&app.state.db, &config)
            .await
            .expect("keys");
        let token = issue(&keys);
        // Signed with a key this app trusts …
        assert_eq!(
            jwt_part(&token, 0)["kid"],
            jwt_part(&m.coordinator.token, 0)["kid"]
        );
        // … but meant for someone else.
        app.get("/api/v1/me", &token).await.problem(401);
    }
    app.finish().await;
}

#[tokio::test]
async fn jwks_publishes_the_keys_and_rotation_keeps_old_tokens_valid() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let old_token = m.coordinator.token.clone();
    let old_kid = jwt_part(&old_token, 0)["kid"]
        .as_str()
        .expect("kid")
        .to_string();
    let jwks = app
        .call(Method::GET, "/.well-known/jwks.json", None, None)
        .await
        .expect(200);
    let keys = jwks.body["keys"].as_array().expect("keys").clone();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kid"], old_kid.as_str());
    assert_eq!(keys[0]["kty"], "OKP");
    assert_eq!(keys[0]["crv"], "Ed25519");
    assert_eq!(keys[0]["alg"], "EdDSA");
    assert_eq!(b64url_decode(keys[0]["x"].as_str().expect("x")).len(), 32);
    for key in &keys {
        let key = key.as_object().expect("key");
        assert!(
            !key.contains_key("d"),
            "a private part is published: {key:?}"
        );
    }

    let new_kid = ips_api::tokens::rotate(&app.state.db)
        .await
        .expect("rotate");
    assert_ne!(new_kid, old_kid);
    app.state.keys.reload(&app.state.db).await.expect("reload");
    let jwks = app
        .call(Method::GET, "/.well-known/jwks.json", None, None)
        .await
        .expect(200);
    let kids: Vec<&str> = jwks.body["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["kid"].as_str().expect("kid"))
        .collect();
    assert_eq!(kids, [new_kid.as_str(), old_kid.as_str()], "newest first");
    // New tokens carry the new key; old ones keep working until they expire.
    let fresh = app.staff(m.id, Role::Consultant, "New").await;
    assert_eq!(jwt_part(&fresh.token, 0)["kid"], new_kid.as_str());
    assert_eq!(me_status(&app, &fresh.token).await, 200);
    assert_eq!(me_status(&app, &old_token).await, 200);
    give_login(&app, m.candidate.id, "sara.t", Role::Candidate, Some(m.id)).await;
    let a = login(&app, "sara.t", PASSWORD).await.expect(200);
    let access = a.body["access_token"].as_str().expect("access");
    assert_eq!(jwt_part(access, 0)["kid"], new_kid.as_str());
    app.finish().await;
}

#[tokio::test]
async fn a_retired_key_stops_verifying_once_its_tokens_have_expired() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let old_token = m.coordinator.token.clone();
    let old_kid = jwt_part(&old_token, 0)["kid"]
        .as_str()
        .expect("kid")
        .to_string();
    let new_kid = ips_api::tokens::rotate(&app.state.db)
        .await
        .expect("rotate");
    app.state.keys.reload(&app.state.db).await.expect("reload");
    assert_eq!(me_status(&app, &old_token).await, 200);
    // Pretend the rotation was an hour ago: nothing the old key signed can still be valid.
    use entity::signing_key as sk;
    sk::Entity::update_many()
        .col_expr(
            sk::Column::RetiredAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::hours(1)),
        )
        .filter(sk::Column::Kid.eq(old_kid.as_str()))
        .exec(app.state.db.write())
        .await
        .expect("backdate");
    app.state.keys.reload(&app.state.db).await.expect("reload");
    assert_eq!(me_status(&app, &old_token).await, 401);
    let jwks = app
        .call(Method::GET, "/.well-known/jwks.json", None, None)
        .await
        .expect(200);
    let kids: Vec<&str> = jwks.body["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["kid"].as_str().expect("kid"))
        .collect();
    assert_eq!(kids, [new_kid.as_str()]);
    let fresh = app.staff(m.id, Role::Consultant, "New").await;
    assert_eq!(me_status(&app, &fresh.token).await, 200);
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

// ---- invitations --------------------------------------------------------------------------------

fn new_candidate(name: &str) -> Value {
    json!({
        "given_name": name,
        "family_name": "Testesen",
        "birth_year": 2004,
        "target_group": "mental_distress",
        "readiness": "activity_ready",
    })
}

fn accept_path(code: &str) -> String {
    format!("/api/v1/auth/invitations/{code}/accept")
}

async fn accept(app: &TestApp, code: &str, username: &str, password: &str) -> Answer {
    anon_post(
        app,
        &accept_path(code),
        json!({"username": username, "password": password}),
    )
    .await
}

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

// ---- staff --------------------------------------------------------------------------------------

fn new_staff(municipality_id: Uuid, role: &str) -> Value {
    json!({
        "municipality_id": municipality_id,
        "display_name": "Karen Konsulent",
        "email": "karen@kommune.dk",
        "role": role,
    })
}

#[tokio::test]
async fn staff_are_created_with_an_invitation_by_admins_and_coordinators() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let other = app.municipality("202").await;
    let admin = app.admin().await;

    let a = app
        .post(
            "/api/v1/staff",
            &m.coordinator.token,
            new_staff(m.id, "consultant"),
        )
        .await
        .expect(201);
    let id = a.body["staff"]["id"].as_str().expect("id").to_string();
    assert_eq!(a.header("etag"), Some("\"1\""));
    assert_eq!(
        a.header("location"),
        Some(format!("/api/v1/staff/{id}").as_str())
    );
    assert_eq!(a.body["staff"]["municipality_id"], m.id.to_string());
    assert_eq!(a.body["staff"]["role"], "consultant");
    assert_eq!(a.body["staff"]["active"], true);
    assert_eq!(a.body["staff"]["version"], 1);
    let code = a.body["invitation"]["code"].as_str().expect("code");
    assert!(a.body["invitation"]["expires_at"].is_string());
    // The new consultant chooses a login and is who they should be.
    let t = accept(&app, code, "karen.k", PASSWORD).await.expect(200);
    let me = app
        .get(
            "/api/v1/me",
            t.body["access_token"].as_str().expect("access"),
        )
        .await
        .expect(200);
    assert_eq!(me.body["id"], id.as_str());
    assert_eq!(me.body["role"], "consultant");
    assert_eq!(me.body["municipality_id"], m.id.to_string());
    assert_eq!(me.body["display_name"], "Karen Konsulent");
    login(&app, "karen.k", PASSWORD).await.expect(200);

    // A coordinator only for their own municipality.
    let a = app
        .post(
            "/api/v1/staff",
            &m.coordinator.token,
            new_staff(other.id, "consultant"),
        )
        .await
        .problem(400);
    assert_eq!(a.fields(), ["municipality_id"]);
    // An admin for any existing one.
    let a = app
        .post(
            "/api/v1/staff",
            &admin.token,
            new_staff(other.id, "coordinator"),
        )
        .await
        .expect(201);
    assert_eq!(a.body["staff"]["municipality_id"], other.id.to_string());
    assert_eq!(a.body["staff"]["role"], "coordinator");
    let a = app
        .post(
            "/api/v1/staff",
            &admin.token,
            new_staff(Uuid::now_v7(), "consultant"),
        )
        .await
        .problem(400);
    assert_eq!(a.fields(), ["municipality_id"]);
    // Nobody else.
    for who in [&m.consultant, &m.candidate, &m.service] {
        app.post("/api/v1/staff", &who.token, new_staff(m.id, "consultant"))
            .await
            .problem(403);
    }
    // Bad input names the field.
    let mut body = new_staff(m.id, "admin");
    let a = app
        .post("/api/v1/staff", &m.coordinator.token, body.clone())
        .await
        .problem(400);
    assert_eq!(a.fields(), ["role"]);
    body["role"] = json!("consultant");
    body["email"] = json!("not-an-address");
    let a = app
        .post("/api/v1/staff", &m.coordinator.token, body.clone())
        .await
        .problem(400);
    assert_eq!(a.fields(), ["email"]);
    body["email"] = json!("karen@kommune.dk");
    body["display_name"] = json!("");
    let a = app
        .post("/api/v1/staff", &m.coordinator.token, body.clone())
        .await
        .problem(400);
    assert_eq!(a.fields(), ["display_name"]);
    body["display_name"] = json!("Karen");
    body["phone"] = json!("call me maybe");
    let a = app
        .post("/api/v1/staff", &m.coordinator.token, body.clone())
        .await
        .problem(400);
    assert_eq!(a.fields(), ["phone"]);
    body["phone"] = json!("+45 87 65 43 21");
    body["password"] = json!("x");
    let a = app
        .post("/api/v1/staff", &m.coordinator.token, body)
        .await
        .problem(400);
    assert_eq!(a.fields(), ["password"]);
    app.finish().await;
}

fn staff_ids(a: &Answer) -> Vec<String> {
    a.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|s| s["id"].as_str().expect("id").to_string())
        .collect()
}

#[tokio::test]
async fn staff_lists_and_reads_stay_inside_the_municipality() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let other = app.municipality("202").await;
    let admin = app.admin().await;
    let own = [&m.coordinator, &m.consultant, &m.other_consultant];
    let theirs = [
        &other.coordinator,
        &other.consultant,
        &other.other_consultant,
    ];

    let list = app
        .get("/api/v1/staff", &m.coordinator.token)
        .await
        .expect(200);
    let ids = staff_ids(&list);
    assert_eq!(ids.len(), 3, "{}", list.body);
    for p in own {
        assert!(ids.contains(&p.id.to_string()));
    }
    assert!(
        list.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|s| s["municipality_id"] == m.id.to_string())
    );
    // A coordinator's filter cannot widen their reach.
    let list = app
        .get(
            &format!("/api/v1/staff?municipality_id={}", other.id),
            &m.coordinator.token,
        )
        .await
        .expect(200);
    assert!(staff_ids(&list).is_empty(), "{}", list.body);
    // Pages.
    let page = app
        .get("/api/v1/staff?limit=2", &m.coordinator.token)
        .await
        .expect(200);
    assert_eq!(staff_ids(&page).len(), 2);
    let cursor = page.body["next_cursor"].as_str().expect("cursor");
    let rest = app
        .get(
            &format!("/api/v1/staff?limit=2&cursor={cursor}"),
            &m.coordinator.token,
        )
        .await
        .expect(200);
    assert_eq!(staff_ids(&rest).len(), 1);
    assert!(rest.body["next_cursor"].is_null());

    // The admin sees every municipality's staff (never admins), and can filter.
    let all = staff_ids(&app.get("/api/v1/staff", &admin.token).await.expect(200));
    assert_eq!(all.len(), 6);
    assert!(!all.contains(&admin.id.to_string()));
    let filtered = app
        .get(
            &format!("/api/v1/staff?municipality_id={}", other.id),
            &admin.token,
        )
        .await
        .expect(200);
    let filtered = staff_ids(&filtered);
    assert_eq!(filtered.len(), 3);
    for p in theirs {
        assert!(filtered.contains(&p.id.to_string()));
    }

    // One staff member: own municipality yes, another's 404 for reads and changes alike.
    let path = format!("/api/v1/staff/{}", m.consultant.id);
    let one = app.get(&path, &m.coordinator.token).await.expect(200);
    assert_eq!(one.body["id"], m.consultant.id.to_string());
    assert_eq!(one.header("etag"), Some("\"1\""));
    app.get(&path, &admin.token).await.expect(200);
    app.get(&path, &other.coordinator.token).await.problem(404);
    app.patch(
        &path,
        &other.coordinator.token,
        json!({"display_name": "X"}),
    )
    .await
    .problem(404);
    app.patch(&path, &other.coordinator.token, json!({"active": false}))
        .await
        .problem(404);
    app.get(&format!("/api/v1/staff/{}", admin.id), &admin.token)
        .await
        .problem(404);
    app.get(
        &format!("/api/v1/staff/{}", Uuid::now_v7()),
        &m.coordinator.token,
    )
    .await
    .problem(404);
    // Roles that never manage staff.
    for who in [&m.consultant, &m.candidate, &m.service] {
        app.get("/api/v1/staff", &who.token).await.problem(403);
        app.get(&path, &who.token).await.problem(403);
        app.patch(&path, &who.token, json!({"display_name": "X"}))
            .await
            .problem(403);
    }
    assert_eq!(me_status(&app, &m.consultant.token).await, 200);
    app.finish().await;
}

#[tokio::test]
async fn changing_and_deactivating_staff() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    give_login(
        &app,
        m.consultant.id,
        "kirsten.k",
        Role::Consultant,
        Some(m.id),
    )
    .await;
    let session = login(&app, "kirsten.k", PASSWORD).await.expect(200);
    let refresh_token = session.body["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    let path = format!("/api/v1/staff/{}", m.consultant.id);
    let patch = |body: Value, tag: &'static str| {
        let (app, path, token) = (&app, path.clone(), m.coordinator.token.clone());
        async move {
            app.request(
                Method::PATCH,
                &path,
                Some(&token),
                Some(body),
                &[("if-match", tag)],
            )
            .await
        }
    };

    let a = patch(
        json!({"display_name": "Kirsten K.", "phone": "+45 12 34 56 78"}),
        "\"1\"",
    )
    .await
    .expect(200);
    assert_eq!(a.header("etag"), Some("\"2\""));
    assert_eq!(a.body["display_name"], "Kirsten K.");
    assert_eq!(a.body["phone"], "+45 12 34 56 78");
    // A name change leaves the sessions alone.
    assert_eq!(me_status(&app, &m.consultant.token).await, 200);
    // A stale version is refused and changes nothing.
    patch(json!({"display_name": "Lost"}), "\"1\"")
        .await
        .problem(412);
    let now = app.get(&path, &m.coordinator.token).await.expect(200);
    assert_eq!(now.body["display_name"], "Kirsten K.");
    // `null` clears the phone.
    let a = patch(json!({"phone": null}), "\"2\"").await.expect(200);
    assert!(a.body["phone"].is_null());
    // Bad values name the field.
    let a = patch(json!({"email": "nope"}), "\"3\"").await.problem(400);
    assert_eq!(a.fields(), ["email"]);
    let a = patch(json!({"active": "no"}), "\"3\"").await.problem(400);
    assert_eq!(a.fields(), ["active"]);
    let a = patch(json!({"role": "admin"}), "\"3\"").await.problem(400);
    assert_eq!(a.fields(), ["role"]);
    let a = patch(json!({"phone": "ring ring"}), "\"3\"")
        .await
        .problem(400);
    assert_eq!(a.fields(), ["phone"]);

    // Deactivation ends every session at once and stops logins.
    let a = patch(json!({"active": false}), "\"3\"").await.expect(200);
    assert_eq!(a.body["active"], false);
    assert_eq!(me_status(&app, &m.consultant.token).await, 401);
    let access = session.body["access_token"].as_str().expect("access");
    assert_eq!(me_status(&app, access).await, 401);
    refresh(&app, &refresh_token).await.problem(401);
    let refused = login(&app, "kirsten.k", PASSWORD).await.problem(401);
    let unknown = login(&app, "nobody.here", PASSWORD).await.problem(401);
    assert_eq!(problem_parts(&refused), problem_parts(&unknown));
    // Reactivated, they log in again.
    patch(json!({"active": true}), "\"4\"").await.expect(200);
    login(&app, "kirsten.k", PASSWORD).await.expect(200);

    // A role change also ends the sessions; the next login carries the new role.
    let before = login(&app, "kirsten.k", PASSWORD).await.expect(200);
    let before = before.body["access_token"]
        .as_str()
        .expect("access")
        .to_string();
    let a = patch(json!({"role": "coordinator"}), "\"5\"")
        .await
        .expect(200);
    assert_eq!(a.body["role"], "coordinator");
    assert_eq!(me_status(&app, &before).await, 401);
    let after = login(&app, "kirsten.k", PASSWORD).await.expect(200);
    let after = after.body["access_token"].as_str().expect("access");
    assert_eq!(
        app.get("/api/v1/me", after).await.expect(200).body["role"],
        "coordinator"
    );

    // Nobody deactivates themselves or changes their own role.
    let own = format!("/api/v1/staff/{}", m.coordinator.id);
    app.patch(&own, &m.coordinator.token, json!({"active": false}))
        .await
        .problem(409);
    app.patch(&own, &m.coordinator.token, json!({"role": "consultant"}))
        .await
        .problem(409);
    assert_eq!(me_status(&app, &m.coordinator.token).await, 200);
    // Their own name they may change.
    app.patch(&own, &m.coordinator.token, json!({"display_name": "Kim"}))
        .await
        .expect(200);
    app.finish().await;
}

#[tokio::test]
async fn a_deactivated_staff_member_cannot_use_an_outstanding_invitation() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let a = app
        .post(
            "/api/v1/staff",
            &m.coordinator.token,
            new_staff(m.id, "consultant"),
        )
        .await
        .expect(201);
    let id = a.body["staff"]["id"].as_str().expect("id").to_string();
    let code = a.body["invitation"]["code"]
        .as_str()
        .expect("code")
        .to_string();
    app.request(
        Method::PATCH,
        &format!("/api/v1/staff/{id}"),
        Some(&m.coordinator.token),
        Some(json!({"active": false})),
        &[("if-match", "\"1\"")],
    )
    .await
    .expect(200);
    accept(&app, &code, "karen.k", PASSWORD).await.problem(404);
    login(&app, "karen.k", PASSWORD).await.problem(401);
    // Reactivated within the 7 days, the same code works.
    app.request(
        Method::PATCH,
        &format!("/api/v1/staff/{id}"),
        Some(&m.coordinator.token),
        Some(json!({"active": true})),
        &[("if-match", "\"2\"")],
    )
    .await
    .expect(200);
    let a = accept(&app, &code, "karen.k", PASSWORD).await.expect(200);
    let access = a.body["access_token"].as_str().expect("access");
    assert_eq!(me_status(&app, access).await, 200);
    app.finish().await;
}

// ---- municipalities -----------------------------------------------------------------------------

#[tokio::test]
async fn admins_manage_municipalities() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let admin = app.admin().await;
    let a = app
        .post(
            "/api/v1/municipalities",
            &admin.token,
            json!({"name": "Aarhus Kommune", "code": "751"}),
        )
        .await
        .expect(201);
    let id = a.body["id"].as_str().expect("id").to_string();
    let path = format!("/api/v1/municipalities/{id}");
    assert_eq!(a.header("etag"), Some("\"1\""));
    assert_eq!(a.header("location"), Some(path.as_str()));
    assert_eq!(a.body["name"], "Aarhus Kommune");
    assert_eq!(a.body["code"], "751");
    assert_eq!(a.body["version"], 1);
    assert_eq!(
        a.body["settings"],
        json!({"min_age": 15, "max_age": 29, "caseload_hard_limit": null, "retention_years": 5})
    );
    let settings =
        json!({"min_age": 16, "max_age": 30, "caseload_hard_limit": 25, "retention_years": 3});
    let a = app
        .post(
            "/api/v1/municipalities",
            &admin.token,
            json!({"name": "Vejle Kommune", "code": "630", "settings": settings}),
        )
        .await
        .expect(201);
    assert_eq!(a.body["settings"], settings);

    // The code: three digits, unique.
    for bad in [
        json!("75"),
        json!("7510"),
        json!("7a1"),
        json!(" 751"),
        json!(751),
    ] {
        let a = app
            .post(
                "/api/v1/municipalities",
                &admin.token,
                json!({"name": "X", "code": bad}),
            )
            .await
            .problem(400);
        assert_eq!(a.fields(), ["code"], "{bad}: {}", a.body);
    }
    let a = app
        .post("/api/v1/municipalities", &admin.token, json!({"name": "X"}))
        .await
        .problem(400);
    assert_eq!(a.fields(), ["code"]);
    for taken in ["751", "101"] {
        app.post(
            "/api/v1/municipalities",
            &admin.token,
            json!({"name": "Again", "code": taken}),
        )
        .await
        .problem(409);
    }
    let a = app
        .post(
            "/api/v1/municipalities",
            &admin.token,
            json!({"name": "X", "code": "999", "settings": {"min_age": 30, "max_age": 20, "retention_years": 5}}),
        )
        .await
        .problem(400);
    assert_eq!(a.fields(), ["settings.min_age"]);

    // List (with pages) and read.
    let list = app
        .get("/api/v1/municipalities", &admin.token)
        .await
        .expect(200);
    let codes: Vec<&str> = list.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|m| m["code"].as_str().expect("code"))
        .collect();
    assert_eq!(codes, ["101", "751", "630"], "oldest first");
    let page = app
        .get("/api/v1/municipalities?limit=2", &admin.token)
        .await
        .expect(200);
    let cursor = page.body["next_cursor"].as_str().expect("cursor");
    let rest = app
        .get(
            &format!("/api/v1/municipalities?limit=2&cursor={cursor}"),
            &admin.token,
        )
        .await
        .expect(200);
    assert_eq!(rest.body["items"][0]["code"], "630");
    assert!(rest.body["next_cursor"].is_null());
    let one = app.get(&path, &admin.token).await.expect(200);
    assert_eq!(one.body["code"], "751");
    assert_eq!(one.header("etag"), Some("\"1\""));
    app.get(
        &format!("/api/v1/municipalities/{}", Uuid::now_v7()),
        &admin.token,
    )
    .await
    .problem(404);

    // Change with If-Match.
    let patch = |body: Value, tag: &'static str| {
        let (app, path, token) = (&app, path.clone(), admin.token.clone());
        async move {
            app.request(
                Method::PATCH,
                &path,
                Some(&token),
                Some(body),
                &[("if-match", tag)],
            )
            .await
        }
    };
    let a = patch(json!({"name": "Aarhus"}), "\"1\"").await.expect(200);
    assert_eq!(a.body["name"], "Aarhus");
    assert_eq!(a.body["code"], "751");
    assert_eq!(a.header("etag"), Some("\"2\""));
    patch(json!({"name": "Lost update"}), "\"1\"")
        .await
        .problem(412);
    let a = patch(json!({"name": "Bad tag"}), "yesterday")
        .await
        .problem(400);
    assert_eq!(a.fields(), ["If-Match"]);
    patch(json!({"code": "101"}), "\"2\"").await.problem(409);
    let a = patch(json!({"code": "1"}), "\"2\"").await.problem(400);
    assert_eq!(a.fields(), ["code"]);
    let a = patch(json!({"settings": settings}), "\"2\"")
        .await
        .expect(200);
    assert_eq!(a.body["settings"], settings);
    assert_eq!(a.body["name"], "Aarhus");
    assert_eq!(
        app.get(&path, &admin.token).await.expect(200).body["version"],
        3
    );

    // Nobody but the admin, not even for their own municipality.
    let own = format!("/api/v1/municipalities/{}", m.id);
    for who in [&m.coordinator, &m.consultant, &m.candidate, &m.service] {
        app.get("/api/v1/municipalities", &who.token)
            .await
            .problem(403);
        app.post(
            "/api/v1/municipalities",
            &who.token,
            json!({"name": "X", "code": "998"}),
        )
        .await
        .problem(403);
        app.get(&own, &who.token).await.problem(403);
        app.patch(&own, &who.token, json!({"name": "Mine now"}))
            .await
            .problem(403);
    }
    app.finish().await;
}

// ---- service accounts ---------------------------------------------------------------------------

/// Standard base64 with padding (HTTP Basic).
fn b64_std(data: &[u8]) -> String {
    let mut out = b64url_encode(data).replace('-', "+").replace('_', "/");
    while !out.len().is_multiple_of(4) {
        out.push('=');
    }
    out
}

/// `POST /oauth/token` with a form body and, if given, HTTP Basic credentials.
async fn token_request(app: &TestApp, basic: Option<(&str, &str)>, form: &str) -> Answer {
    let mut req = app
        .cli
        .post("/api/v1/oauth/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_string());
    if let Some((id, secret)) = basic {
        let credentials = b64_std(format!("{id}:{secret}").as_bytes());
        req = req.header("authorization", format!("Basic {credentials}"));
    }
    let resp = req.send().await.0;
    let status = resp.status();
    let headers = resp.headers().clone();
    let raw = resp.into_body().into_vec().await.expect("body");
    let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
        raw,
    }
}

#[tokio::test]
async fn service_accounts_get_tokens_by_client_credentials() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let a = app
        .post(
            "/api/v1/service-accounts",
            &m.coordinator.token,
            json!({"name": "Jobcenter-system", "scopes": ["events:read", "candidates:read"]}),
        )
        .await
        .expect(201);
    let id = a.body["id"].as_str().expect("id").to_string();
    let client_id = a.body["client_id"].as_str().expect("client_id").to_string();
    let secret = a.body["client_secret"]
        .as_str()
        .expect("secret")
        .to_string();
    assert!(secret.len() >= 32);
    assert_eq!(
        a.header("location"),
        Some(format!("/api/v1/service-accounts/{id}").as_str())
    );
    assert_eq!(a.body["account"]["id"], id.as_str());
    assert_eq!(a.body["account"]["client_id"], client_id.as_str());
    assert_eq!(a.body["account"]["municipality_id"], m.id.to_string());
    assert_eq!(a.body["account"]["name"], "Jobcenter-system");
    let mut scopes: Vec<&str> = a.body["account"]["scopes"]
        .as_array()
        .expect("scopes")
        .iter()
        .map(|s| s.as_str().expect("scope"))
        .collect();
    scopes.sort_unstable();
    assert_eq!(scopes, ["candidates:read", "events:read"]);
    assert!(a.body["account"].get("client_secret").is_none());

    // The secret is never listed.
    let list = app
        .get("/api/v1/service-accounts", &m.coordinator.token)
        .await
        .expect(200);
    let text = String::from_utf8(list.raw.clone()).expect("utf-8");
    assert!(
        !text.contains(&secret) && !text.contains(&m.service_secret),
        "{text}"
    );
    assert!(!text.contains("secret"), "{text}");
    let ids: Vec<&str> = list.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|s| s["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, [m.service.id.to_string().as_str(), id.as_str()]);

    // A token with every scope the account holds.
    let t = token_request(
        &app,
        Some((&client_id, &secret)),
        "grant_type=client_credentials",
    )
    .await
    .expect(200);
    assert_eq!(t.body["token_type"], "Bearer");
    assert_eq!(t.body["expires_in"], 900);
    let mut granted: Vec<&str> = t.body["scope"]
        .as_str()
        .expect("scope")
        .split(' ')
        .collect();
    granted.sort_unstable();
    assert_eq!(granted, ["candidates:read", "events:read"]);
    let full = t.body["access_token"].as_str().expect("access").to_string();
    let me = app.get("/api/v1/me", &full).await.expect(200);
    assert_eq!(me.body["id"], id.as_str());
    assert_eq!(me.body["role"], "service");
    assert_eq!(me.body["municipality_id"], m.id.to_string());
    assert_eq!(me.body["display_name"], "Jobcenter-system");
    // Narrowed to one scope.
    let t = token_request(
        &app,
        Some((&client_id, &secret)),
        "grant_type=client_credentials&scope=candidates%3Aread",
    )
    .await
    .expect(200);
    assert_eq!(t.body["scope"], "candidates:read");
    let narrow = t.body["access_token"].as_str().expect("access").to_string();
    let me = app.get("/api/v1/me", &narrow).await.expect(200);
    assert_eq!(me.body["scopes"], json!(["candidates:read"]));
    assert_eq!(jwt_part(&narrow, 1)["scope"], "candidates:read");
    // What the scope allows, and what it does not.
    app.get("/api/v1/candidates", &narrow).await.expect(200);
    app.post("/api/v1/candidates", &narrow, new_candidate("Nope"))
        .await
        .problem(403);
    app.post(
        &format!("/api/v1/candidates/{}/invitation", m.candidate.id),
        &narrow,
        json!({}),
    )
    .await
    .problem(403);

    // Refusals.
    let a = token_request(
        &app,
        Some((&client_id, &secret)),
        "grant_type=client_credentials&scope=reports%3Aread",
    )
    .await
    .problem(400);
    assert_eq!(a.fields(), ["scope"]);
    let a = token_request(
        &app,
        Some((&client_id, &secret)),
        "grant_type=client_credentials&scope=candidates%3Aread+admin",
    )
    .await
    .problem(400);
    assert_eq!(a.fields(), ["scope"]);
    let wrong = token_request(
        &app,
        Some((&client_id, "not-the-secret")),
        "grant_type=client_credentials",
    )
    .await
    .problem(401);
    let unknown = token_request(
        &app,
        Some(("ips_nobody", &secret)),
        "grant_type=client_credentials",
    )
    .await
    .problem(401);
    assert_eq!(problem_parts(&wrong), problem_parts(&unknown));
    // Another account's secret does not open this one.
    token_request(
        &app,
        Some((&client_id, &m.service_secret)),
        "grant_type=client_credentials",
    )
    .await
    .problem(401);
    token_request(&app, None, "grant_type=client_credentials")
        .await
        .problem(401);
    let a = token_request(&app, Some((&client_id, &secret)), "grant_type=password")
        .await
        .problem(400);
    assert_eq!(a.fields(), ["grant_type"]);
    // RFC 6749 wants a form: JSON is the wrong content type.
    app.request(
        Method::POST,
        "/api/v1/oauth/token",
        None,
        Some(json!({"grant_type": "client_credentials"})),
        &[(
            "authorization",
            &format!(
                "Basic {}",
                b64_std(format!("{client_id}:{secret}").as_bytes())
            ),
        )],
    )
    .await
    .problem(415);

    // Deleting the account ends its tokens at once and its secret stops working.
    let path = format!("/api/v1/service-accounts/{id}");
    app.call(Method::DELETE, &path, Some(&m.coordinator.token), None)
        .await
        .expect(204);
    assert_eq!(me_status(&app, &full).await, 401);
    assert_eq!(me_status(&app, &narrow).await, 401);
    app.get("/api/v1/candidates", &narrow).await.problem(401);
    token_request(
        &app,
        Some((&client_id, &secret)),
        "grant_type=client_credentials",
    )
    .await
    .problem(401);
    app.call(Method::DELETE, &path, Some(&m.coordinator.token), None)
        .await
        .problem(404);
    let list = app
        .get("/api/v1/service-accounts", &m.coordinator.token)
        .await
        .expect(200);
    assert_eq!(list.body["items"].as_array().expect("items").len(), 1);
    // The municipality's other account is untouched.
    assert_eq!(me_status(&app, &m.service.token).await, 200);
    app.finish().await;
}

#[tokio::test]
async fn service_accounts_stay_inside_the_municipality() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let other = app.municipality("202").await;
    let admin = app.admin().await;
    let body = json!({"name": "System", "scopes": ["reports:read"]});

    // A coordinator: own municipality only.
    let mut theirs = body.clone();
    theirs["municipality_id"] = json!(other.id);
    let a = app
        .post(
            "/api/v1/service-accounts",
            &m.coordinator.token,
            theirs.clone(),
        )
        .await
        .problem(400);
    assert_eq!(a.fields(), ["municipality_id"]);
    let mut mine = body.clone();
    mine["municipality_id"] = json!(m.id);
    app.post("/api/v1/service-accounts", &m.coordinator.token, mine)
        .await
        .expect(201);
    // An admin names the municipality.
    let a = app
        .post("/api/v1/service-accounts", &admin.token, body.clone())
        .await
        .problem(400);
    assert_eq!(a.fields(), ["municipality_id"]);
    let a = app
        .post("/api/v1/service-accounts", &admin.token, theirs)
        .await
        .expect(201);
    assert_eq!(a.body["account"]["municipality_id"], other.id.to_string());
    let mut nowhere = body.clone();
    nowhere["municipality_id"] = json!(Uuid::now_v7());
    let a = app
        .post("/api/v1/service-accounts", &admin.token, nowhere)
        .await
        .problem(400);
    assert_eq!(a.fields(), ["municipality_id"]);
    // Bad scopes.
    for scopes in [
        json!([]),
        json!(["candidates:delete"]),
        json!("candidates:read"),
    ] {
        let a = app
            .post(
                "/api/v1/service-accounts",
                &m.coordinator.token,
                json!({"name": "S", "scopes": scopes}),
            )
            .await
            .problem(400);
        assert!(
            a.fields().iter().all(|f| f.starts_with("scopes")) && !a.fields().is_empty(),
            "{}",
            a.body
        );
    }
    // Lists: own for a coordinator, all for the admin.
    let own = app
        .get("/api/v1/service-accounts", &m.coordinator.token)
        .await
        .expect(200);
    let own = own.body["items"].as_array().expect("items").clone();
    assert_eq!(own.len(), 2);
    assert!(own.iter().all(|s| s["municipality_id"] == m.id.to_string()));
    let all = app
        .get("/api/v1/service-accounts", &admin.token)
        .await
        .expect(200);
    assert_eq!(all.body["items"].as_array().expect("items").len(), 4);
    // Another municipality's account: 404 for a coordinator; the admin may delete it.
    let path = format!("/api/v1/service-accounts/{}", other.service.id);
    app.call(Method::DELETE, &path, Some(&m.coordinator.token), None)
        .await
        .problem(404);
    assert_eq!(me_status(&app, &other.service.token).await, 200);
    let missing = format!("/api/v1/service-accounts/{}", Uuid::now_v7());
    app.call(Method::DELETE, &missing, Some(&admin.token), None)
        .await
        .problem(404);
    // Roles that never manage service accounts.
    for who in [&m.consultant, &m.candidate, &m.service] {
        app.get("/api/v1/service-accounts", &who.token)
            .await
            .problem(403);
        app.post("/api/v1/service-accounts", &who.token, body.clone())
            .await
            .problem(403);
        app.call(Method::DELETE, &path, Some(&who.token), None)
            .await
            .problem(403);
    }
    app.call(Method::DELETE, &path, Some(&admin.token), None)
        .await
        .expect(204);
    assert_eq!(me_status(&app, &other.service.token).await, 401);
    app.finish().await;
}

// ---- /me ----------------------------------------------------------------------------------------

#[tokio::test]
async fn me_describes_every_kind_of_caller() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let admin = app.admin().await;
    let mun = m.id.to_string();
    let cases = [
        (&m.coordinator, "coordinator", "Coordinator"),
        (&m.consultant, "consultant", "Consultant"),
        (&m.other_consultant, "consultant", "Other consultant"),
        (&m.candidate, "candidate", "Sara"),
        (&m.other_candidate, "candidate", "Ali"),
    ];
    for (who, role, name) in cases {
        let me = app.get("/api/v1/me", &who.token).await.expect(200);
        assert_eq!(me.header("cache-control"), Some("no-store"));
        assert_eq!(
            me.body,
            json!({"id": who.id, "role": role, "municipality_id": mun, "display_name": name}),
            "{role}"
        );
    }
    let me = app.get("/api/v1/me", &m.service.token).await.expect(200);
    assert_eq!(me.body["id"], m.service.id.to_string());
    assert_eq!(me.body["role"], "service");
    assert_eq!(me.body["municipality_id"], mun.as_str());
    assert_eq!(me.body["display_name"], "Fagsystem");
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
    assert!(!fields.contains_key("municipality_id"), "{}", me.body);
    assert!(!fields.contains_key("scopes"), "{}", me.body);
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

/// Tokens signed with the real key but with claims the server must refuse: not yet valid (`nbf` past
/// the 30 s leeway), missing a required claim, or with string-typed times (CVE-2026-25537).
#[tokio::test]
async fn correctly_signed_tokens_with_bad_claims_are_refused() {
    use base64::Engine;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let app = TestApp::start().await;
    let m = app.municipality("109").await;
    let good = m.coordinator.token.clone();
    let claims = jwt_part(&good, 1);
    let kid = jwt_part(&good, 0)["kid"].as_str().expect("kid").to_string();
    let key = entity::signing_key::Entity::find_by_id(kid.clone())
        .one(app.state.db.read())
        .await
        .expect("query")
        .expect("key");
    let der = base64::engine::general_purpose::STANDARD
        .decode(&key.private_der)
        .expect("der");
    let encoding = EncodingKey::from_ed_der(&der);
    let sign = |claims: &Value| {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.clone());
        jsonwebtoken::encode(&header, claims, &encoding).expect("sign")
    };
    // The control: the same claims re-signed are accepted.
    assert_eq!(me_status(&app, &sign(&claims)).await, 200);
    let now = chrono::Utc::now().timestamp();
    let mut early = claims.clone();
    early["nbf"] = serde_json::json!(now + 120);
    assert_eq!(me_status(&app, &sign(&early)).await, 401, "not yet valid");
    let mut within_leeway = claims.clone();
    within_leeway["nbf"] = serde_json::json!(now + 10);
    assert_eq!(
        me_status(&app, &sign(&within_leeway)).await,
        200,
        "within the 30 s leeway"
    );
    for missing in ["exp", "nbf", "iss", "aud", "sub", "iat"] {
        let mut c = claims.clone();
        c.as_object_mut().expect("object").remove(missing);
        assert_eq!(me_status(&app, &sign(&c)).await, 401, "without {missing}");
    }
    let mut stringly = claims.clone();
    stringly["exp"] = serde_json::json!((now - 3600).to_string());
    assert_eq!(
        me_status(&app, &sign(&stringly)).await,
        401,
        "string exp in the past"
    );
    let mut stringly = claims.clone();
    stringly["nbf"] = serde_json::json!((now + 3600).to_string());
    assert_eq!(
        me_status(&app, &sign(&stringly)).await,
        401,
        "string nbf in the future"
    );
    app.finish().await;
}

/// SPEC §4.2: "the body may be omitted when the cookie is sent". With no body at all (and so no content
/// type) refresh and logout read the cookie; an operation with required fields names them.
#[tokio::test]
async fn refresh_and_logout_need_no_body_with_the_cookie() {
    let app = TestApp::start().await;
    let m = app.municipality("110").await;
    let tokens = identity::start_session(&app.state, m.candidate.id, Role::Candidate, Some(m.id))
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

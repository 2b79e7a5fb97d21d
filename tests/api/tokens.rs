//! Access tokens and signing keys (SPEC §4.2): tampered, expired, foreign and badly-claimed tokens are
//! refused; JWKS publishes the keys and rotation keeps earlier tokens valid until they expire.
use ips_api::auth::Role;
use poem::http::Method;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::{
    PASSWORD, TestApp, b64url_decode, b64url_encode, give_login, jwt_part, login, me_status,
};

fn b64_json(value: &Value) -> String {
    b64url_encode(value.to_string().as_bytes())
}

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

/// A token verified once is remembered, so its signature is not checked again; its times and its key
/// still are. Past `exp` and the leeway, or before `nbf` and the leeway, it is refused as a fresh one
/// would be (the tampered tokens above are refused after their original was remembered).
#[tokio::test]
async fn a_remembered_token_still_expires() {
    let app = TestApp::start().await;
    let m = app.municipality("110").await;
    let token = m.consultant.token.clone();
    assert_eq!(me_status(&app, &token).await, 200);
    let claims = jwt_part(&token, 1);
    let exp = claims["exp"].as_i64().expect("exp");
    let nbf = claims["nbf"].as_i64().expect("nbf");
    let (keys, db) = (&app.state.keys, &app.state.db);
    let token = token.as_str();
    let at = |now: i64| async move { keys.verify_at(db, token, now).await.expect("verify") };
    assert_eq!(
        at(exp + 30).await.expect("within the leeway").sub,
        m.consultant.id
    );
    assert!(at(exp + 31).await.is_none(), "expired");
    assert!(at(nbf - 30).await.is_some(), "within the leeway");
    assert!(at(nbf - 31).await.is_none(), "not yet valid");
    assert_eq!(me_status(&app, token).await, 200);
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
    let issue = |keys: &ips_api::domain::tokens::KeyStore| {
        keys.issue(m.coordinator.id, Role::Coordinator, Some(m.id), None, sid)
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
        let keys =
            ips_api::domain::tokens::KeyStore::load(&app.state.db, &config, app.state.kek.clone())
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

    let new_kid = ips_api::domain::tokens::rotate(&app.state.db, &app.state.kek)
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
    let new_kid = ips_api::domain::tokens::rotate(&app.state.db, &app.state.kek)
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

/// Tokens signed with the real key but with claims the server must refuse: not yet valid (`nbf` past
/// the 30 s leeway), missing a required claim, or with string-typed times (CVE-2026-25537).
#[tokio::test]
async fn correctly_signed_tokens_with_bad_claims_are_refused() {
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
    let der = app
        .state
        .kek
        .open(ips_api::crypto::Purpose::SigningKey, &kid, &key.private_der)
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

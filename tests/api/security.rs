//! What an outside security review found, each reproduced: roles from the record, replays that pass
//! the same checks, no secrets in stored answers, control characters, parallel login failures, sealed
//! signing keys, invitation attempts, feeds ended by a new invitation, a shutdown that does not wait on
//! idle clients, and what service accounts see.
use std::{sync::Arc, time::Duration};

use chrono::Utc;
use ips_api::{auth::Role, domain::identity, state::AppState};
use poem::http::Method;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

use crate::common::{
    Answer, Municipality, PASSWORD, Person, TestApp, accept, anon_post, basic, config_for,
    give_login, login, read,
};

fn token_of(a: &Answer) -> String {
    a.body["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

async fn with_key(app: &TestApp, path: &str, token: &str, key: &str, body: Value) -> Answer {
    app.request(
        Method::POST,
        path,
        Some(token),
        Some(body),
        &[("idempotency-key", key)],
    )
    .await
}

async fn stored(app: &TestApp, principal: Uuid, key: &str) -> entity::idempotency_key::Model {
    entity::idempotency_key::Entity::find()
        .filter(entity::idempotency_key::Column::PrincipalId.eq(principal))
        .filter(entity::idempotency_key::Column::Key.eq(key))
        .one(app.state.db.read())
        .await
        .expect("query")
        .expect("a stored key")
}

fn new_staff(municipality_id: impl Into<Uuid>, role: &str) -> Value {
    let municipality_id: Uuid = municipality_id.into();
    json!({
        "municipality_id": municipality_id,
        "display_name": "Kim Koordinator",
        "email": "kim@kommune.dk",
        "role": role,
    })
}

// 1 (high). The role, municipality and active flag come from the record, not from an invitation, a
// credential or a token issued before a change.
#[tokio::test]
async fn a_role_change_before_acceptance_voids_the_invitation_and_logins_take_the_records_role() {
    let app = TestApp::start().await;
    let m = app.municipality("301").await;
    let admin = app.admin().await;

    // Invited as coordinator, changed to consultant before accepting.
    let created = app
        .post(
            "/api/v1/staff",
            &admin.token,
            new_staff(m.id, "coordinator"),
        )
        .await
        .expect(201);
    let id = created.body["staff"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let code = created.body["invitation"]["code"]
        .as_str()
        .expect("code")
        .to_string();
    app.patch(
        &format!("/api/v1/staff/{id}"),
        &admin.token,
        json!({"role": "consultant"}),
    )
    .await
    .expect(200);
    // The old invitation was voided by the role change.
    accept(&app, &code, "kim.k", PASSWORD).await.problem(404);

    // A new invitation gives a login with the record's role.
    let again = app
        .post(
            &format!("/api/v1/staff/{id}/invitation"),
            &admin.token,
            json!({}),
        )
        .await
        .expect(201);
    let code = again.body["code"].as_str().expect("code").to_string();
    let token = token_of(&accept(&app, &code, "kim.k", PASSWORD).await.expect(200));
    let me = app.get("/api/v1/me", &token).await.expect(200);
    assert_eq!(me.body["role"], "consultant");
    // A consultant without a caseload lists nobody, where a coordinator would list everyone.
    let list = app.get("/api/v1/candidates", &token).await.expect(200);
    assert_eq!(list.body["items"].as_array().map(Vec::len), Some(0));

    // Even if a stale copy of the role survived somewhere (the credential), login reads the record.
    let id = Uuid::parse_str(&id).expect("uuid");
    let mut cred = entity::credential::Entity::find_by_id(id)
        .one(app.state.db.read())
        .await
        .expect("query")
        .expect("credential")
        .into_active_model();
    cred.role = Set(Role::Coordinator);
    cred.update(app.state.db.write()).await.expect("update");
    let token = token_of(&login(&app, "kim.k", PASSWORD).await.expect(200));
    let me = app.get("/api/v1/me", &token).await.expect(200);
    assert_eq!(me.body["role"], "consultant");

    // A record changed behind the session's back ends it at the next session check.
    let other = app.state.clone();
    let mut s = entity::staff::Entity::find_by_id(entity::ids::StaffId(id))
        .one(other.db.read())
        .await
        .expect("query")
        .expect("staff")
        .into_active_model();
    s.role = Set(Role::Coordinator);
    s.update(other.db.write()).await.expect("update");
    app.state.sessions.forget_all();
    app.get("/api/v1/me", &token).await.problem(401);

    // Every role change is audited.
    let audited = entity::audit_entry::Entity::find()
        .filter(entity::audit_entry::Column::Resource.eq("staff.role"))
        .filter(entity::audit_entry::Column::ResourceId.eq(id))
        .all(app.state.db.read())
        .await
        .expect("audit");
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].actor_id, admin.id);
    app.finish().await;
}

#[tokio::test]
async fn a_role_change_ends_live_sessions_and_refresh_takes_the_record() {
    let app = TestApp::start().await;
    let m = app.municipality("302").await;
    let staff_id = m.other_consultant.id;
    let tokens = identity::start_session(
        &app.state.identity(),
        staff_id,
        Role::Consultant,
        Some(m.id),
    )
    .await
    .expect("session");
    app.get("/api/v1/me", &tokens.access_token)
        .await
        .expect(200);
    app.patch(
        &format!("/api/v1/staff/{staff_id}"),
        &m.coordinator.token,
        json!({"role": "coordinator"}),
    )
    .await
    .expect(200);
    app.get("/api/v1/me", &tokens.access_token)
        .await
        .problem(401);
    anon_post(
        &app,
        "/api/v1/auth/refresh",
        json!({"refresh_token": tokens.refresh_token}),
    )
    .await
    .problem(401);
    app.finish().await;
}

// 2. A replay passes the same checks as a fresh request.
#[tokio::test]
async fn a_replay_after_logout_is_refused() {
    let app = TestApp::start().await;
    let m = app.municipality("303").await;
    let tokens = identity::start_session(
        &app.state.identity(),
        m.candidate.id,
        Role::Candidate,
        Some(m.id),
    )
    .await
    .expect("session");
    let first = with_key(
        &app,
        "/api/v1/me/calendar-feed",
        &tokens.access_token,
        "feed-1",
        json!({}),
    )
    .await
    .expect(200);
    assert!(first.body["path"].is_string());
    anon_post(
        &app,
        "/api/v1/auth/logout",
        json!({"refresh_token": tokens.refresh_token}),
    )
    .await
    .expect(204);
    let again = with_key(
        &app,
        "/api/v1/me/calendar-feed",
        &tokens.access_token,
        "feed-1",
        json!({}),
    )
    .await
    .problem(401);
    assert!(again.header("idempotent-replayed").is_none());
    assert!(!String::from_utf8_lossy(&again.raw).contains("/calendar/"));
    app.finish().await;
}

#[tokio::test]
async fn a_replay_checks_that_the_candidate_is_still_in_reach() {
    let app = TestApp::start().await;
    let m = app.municipality("304").await;
    let path = format!("/api/v1/candidates/{}/goals", m.candidate.id);
    let body = json!({"title": "Finde et fritidsjob", "category": "job"});
    let first = with_key(&app, &path, &m.consultant.token, "goal-1", body.clone())
        .await
        .expect(201);
    // While nothing changed, the repeat is the first answer, byte for byte.
    let again = with_key(&app, &path, &m.consultant.token, "goal-1", body.clone())
        .await
        .expect(201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.raw, first.raw);
    // The stored answer is sealed: the goal's text is not in the database in clear.
    let row = stored(&app, m.consultant.id, "goal-1").await;
    let sealed = String::from_utf8_lossy(row.response_body.as_deref().expect("body"));
    assert!(!sealed.contains("fritidsjob"), "{sealed}");

    // The candidate moves to another consultant: the first consultant's replay is a 404.
    app.patch(
        &format!("/api/v1/candidates/{}", m.candidate.id),
        &m.coordinator.token,
        json!({"consultant_id": m.other_consultant.id}),
    )
    .await
    .expect(200);
    let refused = with_key(&app, &path, &m.consultant.token, "goal-1", body)
        .await
        .problem(404);
    assert!(refused.header("idempotent-replayed").is_none());
    app.finish().await;
}

// 3. Answers with secrets are never stored; stored answers are purged after 24 hours.
#[tokio::test]
async fn answers_that_carry_secrets_are_never_stored() {
    let app = TestApp::start().await;
    let m = app.municipality("305").await;
    let admin = app.admin().await;
    let candidate = json!({
        "given_name": "Hemmelig", "family_name": "Testesen", "birth_year": 2004,
        "target_group": "mental_distress", "readiness": "activity_ready",
    });
    // The feed first: the new invitation below ends the candidate's sessions.
    let cases: Vec<(&str, &Person, String, Value, &str)> = vec![
        (
            "calendar feed",
            &m.candidate,
            "/api/v1/me/calendar-feed".into(),
            json!({}),
            "path",
        ),
        (
            "candidate",
            &m.coordinator,
            "/api/v1/candidates".into(),
            candidate,
            "code",
        ),
        (
            "invitation",
            &m.coordinator,
            format!("/api/v1/candidates/{}/invitation", m.candidate.id),
            json!({}),
            "code",
        ),
        (
            "staff",
            &admin,
            "/api/v1/staff".into(),
            new_staff(m.id, "consultant"),
            "code",
        ),
        (
            "service account",
            &admin,
            "/api/v1/service-accounts".into(),
            json!({"name": "Fagsystem 2", "scopes": ["events:read"], "municipality_id": m.id}),
            "client_secret",
        ),
    ];
    for (what, who, path, body, secret_field) in cases {
        let key = format!("secret-{}", what.replace(' ', "-"));
        let first = with_key(&app, &path, &who.token, &key, body.clone()).await;
        assert!(first.status.is_success(), "{what}: {}", first.body);
        let secret = find_string(&first.body, secret_field)
            .unwrap_or_else(|| panic!("{what}: no {secret_field} in {}", first.body));
        let row = stored(&app, who.id, &key).await;
        assert!(row.secret_withheld, "{what}");
        assert!(row.response_body.is_none(), "{what}");
        let all = format!("{row:?}");
        assert!(!all.contains(&secret), "{what}: the secret was stored");

        let again = with_key(&app, &path, &who.token, &key, body)
            .await
            .problem(409);
        assert_eq!(
            again.body["type"], "urn:ips-ung:problem:idempotent-answer-withheld",
            "{what}"
        );
        assert!(!String::from_utf8_lossy(&again.raw).contains(&secret));
        if let Some(location) = first.header("location") {
            assert_eq!(again.header("location"), Some(location), "{what}");
        }
    }
    app.finish().await;
}

fn find_string(v: &Value, field: &str) -> Option<String> {
    match v {
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            if k == field {
                v.as_str().map(str::to_string)
            } else {
                find_string(v, field)
            }
        }),
        Value::Array(items) => items.iter().find_map(|v| find_string(v, field)),
        _ => None,
    }
}

#[tokio::test]
async fn stored_answers_are_purged_after_a_day_in_batches() {
    let app = TestApp::start().await;
    let m = app.municipality("306").await;
    let path = format!("/api/v1/candidates/{}/goals", m.candidate.id);
    with_key(
        &app,
        &path,
        &m.consultant.token,
        "fresh",
        json!({"title": "Nyt mål", "category": "job"}),
    )
    .await
    .expect(201);
    // 1,200 answers from two days ago.
    let old = Utc::now() - chrono::Duration::hours(48);
    let rows: Vec<entity::idempotency_key::ActiveModel> = (0..1200)
        .map(|i| entity::idempotency_key::ActiveModel {
            id: Set(Uuid::now_v7()),
            principal_id: Set(m.consultant.id),
            key: Set(format!("old-{i}")),
            request_hash: Set("x".repeat(64)),
            state: Set(entity::types::IdempotencyState::Done),
            status_code: Set(Some(201)),
            response_headers: Set(Some("{}".into())),
            response_body: Set(None),
            created_at: Set(old),
            access_checks: Set(Some("[]".into())),
            secret_withheld: Set(false),
        })
        .collect();
    for chunk in rows.chunks(200) {
        entity::idempotency_key::Entity::insert_many(chunk.to_vec())
            .exec(app.state.db.write())
            .await
            .expect("insert");
    }
    ips_api::jobs::run_once(&app.state).await;
    let left = entity::idempotency_key::Entity::find()
        .all(app.state.db.read())
        .await
        .expect("query");
    assert_eq!(left.len(), 1, "only the fresh key is left");
    assert_eq!(left[0].key, "fresh");
    app.finish().await;
}

// 4. Control characters: a 400 naming the field, never a 500 (PostgreSQL text cannot hold U+0000).
#[tokio::test]
async fn control_characters_are_refused_by_name_before_the_database() {
    let app = TestApp::start().await;
    let m = app.municipality("307").await;
    let a = login(&app, "ad\u{0}min", "whatever-password")
        .await
        .problem(400);
    assert_eq!(a.fields(), vec!["username"]);
    let a = app
        .get("/api/v1/candidates?q=%00", &m.coordinator.token)
        .await
        .problem(400);
    assert_eq!(a.fields(), vec!["q"]);
    let a = app
        .get("/api/v1/questionnaires/who%005", &m.coordinator.token)
        .await
        .problem(400);
    assert_eq!(a.fields(), vec!["key"]);
    let a = app
        .post(
            &format!("/api/v1/candidates/{}/goals", m.candidate.id),
            &m.consultant.token,
            json!({"title": "Et mål", "category": "job", "description": "linje\u{1}to"}),
        )
        .await
        .problem(400);
    assert_eq!(a.fields(), vec!["description"]);
    // Tab, line feed and carriage return are text.
    app.post(
        &format!("/api/v1/candidates/{}/goals", m.candidate.id),
        &m.consultant.token,
        json!({"title": "Et mål", "category": "job", "description": "linje\r\nto\tog tre"}),
    )
    .await
    .expect(201);
    // The client id of the token endpoint reaches the database too.
    let basic = basic(&format!("{}\u{0}", m.service_client_id), &m.service_secret);
    let a = app
        .cli
        .post("/api/v1/oauth/token")
        .header("authorization", basic)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await;
    assert!(a.0.status().is_client_error(), "{}", a.0.status());
    // The refresh cookie, percent-encoded or as a C1 control character, even when the body carries
    // the token and the cookie would not be used.
    let cookies: [&[u8]; 3] = [
        b"ips_refresh=ab%01cd",
        "other=1; ips_refresh=ab\u{85}cd".as_bytes(),
        // A lone byte 0x85, as a client sending Latin-1 does.
        b"ips_refresh=ab\x85cd",
    ];
    for cookie in cookies {
        let header = poem::http::HeaderValue::from_bytes(cookie).expect("a header value");
        let a = read(
            app.cli
                .post("/api/v1/auth/logout")
                .header("cookie", header)
                .body_json(&json!({"refresh_token": "whatever"}))
                .send()
                .await
                .0,
        )
        .await
        .problem(400);
        assert_eq!(a.fields(), vec!["ips_refresh"], "{cookie:?}");
    }
    app.finish().await;
}

// 5. Failed-login limits hold under parallel attempts.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_wrong_passwords_cannot_outrun_the_account_limit() {
    let app = Arc::new(
        TestApp::start_with(|c| {
            c.login_failures_per_account_hour = 5;
            c.password_hash_concurrency = 4;
        })
        .await,
    );
    let m = app.municipality("308").await;
    give_login(
        &app,
        m.consultant.id,
        "karen.k",
        Role::Consultant,
        Some(m.id),
    )
    .await;
    let attempts: Vec<_> = (0..40)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(
                async move { login(&app, "karen.k", &format!("wrong-password-{i}")).await },
            )
        })
        .collect();
    let mut statuses = Vec::new();
    for a in attempts {
        statuses.push(a.await.expect("task").status.as_u16());
    }
    let count = |s: u16| statuses.iter().filter(|x| **x == s).count();
    assert_eq!((count(401), count(429)), (5, 35), "{statuses:?}");
    // The right password is refused too, until the hour has passed.
    let a = login(&app, "karen.k", PASSWORD).await.problem(429);
    assert!(a.header("retry-after").is_some());
    Arc::into_inner(app).expect("tasks done").finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_attempts_cannot_outrun_the_address_limit() {
    let app = Arc::new(
        TestApp::start_with(|c| {
            c.login_failures_per_address_hour = 5;
            c.password_hash_concurrency = 4;
        })
        .await,
    );
    let attempts: Vec<_> = (0..40)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(
                async move { login(&app, &format!("nobody{i}"), "wrong-password-1").await },
            )
        })
        .collect();
    let mut statuses = Vec::new();
    for a in attempts {
        statuses.push(a.await.expect("task").status.as_u16());
    }
    let count = |s: u16| statuses.iter().filter(|x| **x == s).count();
    assert_eq!((count(401), count(429)), (5, 35), "{statuses:?}");
    Arc::into_inner(app).expect("tasks done").finish().await;
}

#[tokio::test]
async fn a_successful_login_does_not_count_as_a_failure() {
    let app = TestApp::start_with(|c| c.login_failures_per_account_hour = 2).await;
    let m = app.municipality("309").await;
    give_login(
        &app,
        m.consultant.id,
        "karen.k",
        Role::Consultant,
        Some(m.id),
    )
    .await;
    for _ in 0..5 {
        login(&app, "karen.k", PASSWORD).await.expect(200);
    }
    login(&app, "karen.k", "wrong-password-1")
        .await
        .problem(401);
    login(&app, "karen.k", PASSWORD).await.expect(200);
    login(&app, "karen.k", "wrong-password-1")
        .await
        .problem(401);
    login(&app, "karen.k", PASSWORD).await.problem(429);
    app.finish().await;
}

// 6. Signing keys are sealed with the key-encryption key.
#[tokio::test]
async fn signing_keys_are_sealed_and_need_the_key_encryption_key() {
    let app = TestApp::start().await;
    let keys = entity::signing_key::Entity::find()
        .all(app.state.db.read())
        .await
        .expect("keys");
    assert!(!keys.is_empty());
    for k in &keys {
        assert!(k.private_der.starts_with("v1."), "{}", k.private_der);
        // A PKCS#8 Ed25519 key in base64 starts with "MC4CAQAwBQYDK2Vw".
        assert!(!k.private_der.contains("MC4CAQAwBQYDK2Vw"));
    }

    // A key stored in clear by an older version is sealed when an instance starts.
    let (legacy_kid, legacy_der) = {
        use ed25519_dalek::{SigningKey, pkcs8::EncodePrivateKey};
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let der = key.to_pkcs8_der().expect("der");
        use base64::Engine;
        let x =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes());
        let kid = "klegacy".to_string();
        entity::signing_key::ActiveModel {
            kid: Set(kid.clone()),
            private_der: Set(base64::engine::general_purpose::STANDARD.encode(der.as_bytes())),
            public_x: Set(x),
            created_at: Set(Utc::now() - chrono::Duration::days(1)),
            retired_at: Set(Some(Utc::now())),
        }
        .insert(app.state.db.write())
        .await
        .expect("legacy key");
        (
            kid,
            base64::engine::general_purpose::STANDARD.encode(der.as_bytes()),
        )
    };
    let second = app.second_instance(|_| {}).await;
    let row = entity::signing_key::Entity::find_by_id(legacy_kid.clone())
        .one(second.db.read())
        .await
        .expect("query")
        .expect("row");
    assert!(row.private_der.starts_with("v1."));
    assert_ne!(row.private_der, legacy_der);
    second.db.clone().close().await;

    // Without the key, or with another one, an instance refuses to start.
    let mut none = config_for(&app.database_url);
    none.key_encryption_key = None;
    let err = AppState::build(none).await.err().expect("refused");
    assert!(err.to_string().contains("IPS_KEY_ENCRYPTION_KEY"), "{err}");
    let mut wrong = config_for(&app.database_url);
    wrong.key_encryption_key = Some(ips_api::config::Secret(ips_api::crypto::Kek::generate().1));
    assert!(AppState::build(wrong).await.is_err());
    let mut malformed = config_for(&app.database_url);
    malformed.key_encryption_key = Some(ips_api::config::Secret("too short".into()));
    assert!(AppState::build(malformed).await.is_err());
    app.finish().await;
}

#[tokio::test]
async fn rewrapping_moves_every_key_to_a_new_key_encryption_key() {
    let app = TestApp::start().await;
    let m = app.municipality("310").await;
    let (new_kek, new_text) = ips_api::crypto::Kek::generate();
    let (n, _) = ips_api::domain::tokens::rewrap(&app.state.db, &app.state.kek, &new_kek)
        .await
        .expect("rewrap");
    assert!(n >= 1);
    let second = app
        .second_instance(|c| c.key_encryption_key = Some(ips_api::config::Secret(new_text)))
        .await;
    // Tokens signed before the rewrap still verify: the keys themselves did not change.
    assert!(
        second
            .keys
            .verify(&second.db, &m.coordinator.token)
            .await
            .expect("the key is known")
            .is_some()
    );
    second.db.clone().close().await;
    assert!(
        AppState::build(config_for(&app.database_url))
            .await
            .is_err()
    );
    app.finish().await;
}

// 7. Taken usernames count against the invitation and the address.

/// Gives the consultant the login `taken.name` and returns a new invitation code for the candidate.
async fn taken_name_and_invitation(app: &TestApp, m: &Municipality) -> String {
    give_login(
        app,
        m.consultant.id,
        "taken.name",
        Role::Consultant,
        Some(m.id),
    )
    .await;
    let inv = app
        .post(
            &format!("/api/v1/candidates/{}/invitation", m.candidate.id),
            &m.coordinator.token,
            json!({}),
        )
        .await
        .expect(201);
    inv.body["code"].as_str().expect("code").to_string()
}
#[tokio::test]
async fn accepting_with_taken_usernames_is_limited_per_invitation() {
    let app = TestApp::start().await;
    let m = app.municipality("311").await;
    let code = taken_name_and_invitation(&app, &m).await;
    for _ in 0..10 {
        accept(&app, &code, "taken.name", PASSWORD)
            .await
            .problem(409);
    }
    accept(&app, &code, "taken.name", PASSWORD)
        .await
        .problem(429);
    accept(&app, &code, "free.name", PASSWORD)
        .await
        .problem(429);
    app.finish().await;
}

#[tokio::test]
async fn taken_usernames_count_against_the_address() {
    let app = TestApp::start_with(|c| c.login_failures_per_address_hour = 3).await;
    let m = app.municipality("312").await;
    let code = taken_name_and_invitation(&app, &m).await;
    for _ in 0..3 {
        accept(&app, &code, "taken.name", PASSWORD)
            .await
            .problem(409);
    }
    accept(&app, &code, "free.name", PASSWORD)
        .await
        .problem(429);
    app.finish().await;
}

// 8. A new invitation ends the calendar feed, refresh tokens and sessions.
#[tokio::test]
async fn a_new_invitation_ends_the_calendar_feed_and_every_session() {
    let app = TestApp::start().await;
    let m = app.municipality("313").await;
    let tokens = identity::start_session(
        &app.state.identity(),
        m.candidate.id,
        Role::Candidate,
        Some(m.id),
    )
    .await
    .expect("session");
    let made = app
        .call(
            Method::POST,
            "/api/v1/me/calendar-feed",
            Some(&tokens.access_token),
            None,
        )
        .await
        .expect(200);
    let feed = made.body["path"].as_str().expect("path").to_string();
    app.call(Method::GET, &feed, None, None).await.expect(200);

    app.post(
        &format!("/api/v1/candidates/{}/invitation", m.candidate.id),
        &m.consultant.token,
        json!({}),
    )
    .await
    .expect(201);
    app.call(Method::GET, &feed, None, None).await.problem(404);
    app.get("/api/v1/me", &tokens.access_token)
        .await
        .problem(401);
    anon_post(
        &app,
        "/api/v1/auth/refresh",
        json!({"refresh_token": tokens.refresh_token}),
    )
    .await
    .problem(401);
    let settings =
        entity::calendar_feed::Entity::find_by_id(entity::ids::CandidateId(m.candidate.id))
            .one(app.state.db.read())
            .await
            .expect("query")
            .expect("row");
    assert!(settings.secret_hash.is_none());
    app.finish().await;
}

// 9. Shutdown: idle connections and half-sent requests do not hold it; requests in flight finish.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shutdown_does_not_wait_for_idle_or_stalled_clients() {
    let app = TestApp::start_with(|c| {
        c.shutdown_timeout_secs = 20;
        c.jobs_interval_secs = 0;
        c.password_hash_concurrency = 1;
    })
    .await;
    let m = app.municipality("314").await;
    give_login(
        &app,
        m.consultant.id,
        "karen.k",
        Role::Consultant,
        Some(m.id),
    )
    .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(ips_api::serve_on(app.state.clone(), listener, async {
        let _ = stop_rx.await;
    }));
    let connect = || tokio::net::TcpStream::connect(addr);

    // An idle keep-alive connection after one answer.
    let mut idle = connect().await.expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut buf = [0u8; 512];
    let n = idle.read(&mut buf).await.expect("read");
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    // Half a request head, then nothing.
    let mut half_head = connect().await.expect("connect");
    half_head
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    // A complete head and half a body, then nothing.
    let mut half_body = connect().await.expect("connect");
    half_body
        .write_all(
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"user",
        )
        .await
        .expect("write");
    // Logins queued behind one hashing permit: in flight when the shutdown starts.
    let body = json!({"username": "karen.k", "password": PASSWORD}).to_string();
    let mut busy = Vec::new();
    for _ in 0..3 {
        let mut c = connect().await.expect("connect");
        c.write_all(
            format!(
                "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .expect("write");
        busy.push(c);
    }
    tokio::time::sleep(Duration::from_millis(30)).await;

    let started = std::time::Instant::now();
    stop_tx.send(()).expect("stop");
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server stops well before its 20 s timeout")
        .expect("task")
        .expect("serve");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "took {took:?}");

    // The logins in flight were answered in full.
    for mut c in busy {
        let mut all = Vec::new();
        c.read_to_end(&mut all).await.expect("read");
        let text = String::from_utf8_lossy(&all);
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        assert!(text.contains("access_token"), "{text}");
    }
    // The client stuck in its body was told to send it again.
    let mut all = Vec::new();
    half_body.read_to_end(&mut all).await.expect("read");
    let text = String::from_utf8_lossy(&all);
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    drop((idle, half_head));
    app.finish().await;
}

// 11. Service accounts never receive health data.
#[tokio::test]
async fn service_accounts_see_no_target_group_and_alerts_carry_no_score() {
    let app = TestApp::start().await;
    let m = app.municipality("315").await;
    let list = app
        .get("/api/v1/candidates", &m.service.token)
        .await
        .expect(200);
    for c in list.body["items"].as_array().expect("items") {
        assert!(c["target_group"].is_null(), "{c}");
    }
    let one = app
        .get(
            &format!("/api/v1/candidates/{}", m.candidate.id),
            &m.service.token,
        )
        .await
        .expect(200);
    assert!(one.body["target_group"].is_null());
    let staff_view = app
        .get(
            &format!("/api/v1/candidates/{}", m.candidate.id),
            &m.coordinator.token,
        )
        .await
        .expect(200);
    assert_eq!(staff_view.body["target_group"], "mental_distress");

    // A low WHO-5 raises an alert event: the candidate's id, never a score, band or answer.
    let answers: Vec<Value> = ["cheerful", "calm", "active", "rested", "interested"]
        .iter()
        .map(|i| json!({"item": i, "value": 1}))
        .collect();
    let who5 = app
        .get("/api/v1/questionnaires/who5", &m.candidate.token)
        .await
        .expect(200);
    app.post(
        "/api/v1/me/questionnaire-responses",
        &m.candidate.token,
        json!({"questionnaire": "who5", "version": who5.body["version"], "answers": answers}),
    )
    .await
    .expect(201);
    let events = app
        .get("/api/v1/events?limit=200", &m.service.token)
        .await
        .expect(200);
    let items = events.body["items"].as_array().expect("items");
    let alert = items
        .iter()
        .find(|e| e["type"] == "wellbeing.alert")
        .expect("an alert event");
    assert_eq!(alert["payload"]["candidate_id"], m.candidate.id.to_string());
    for e in items {
        let text = e["payload"].to_string();
        for word in [
            "score", "band", "value", "answer", "reason", "note", "message", "text",
        ] {
            assert!(!text.contains(word), "{}: {text}", e["type"]);
        }
    }
    app.finish().await;
}

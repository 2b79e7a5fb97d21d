//! Many writers at once, several instances on one database, and what must hold across them: no
//! "database is locked", a gapless change feed, idempotent creates, revocation and key rotation that
//! reach every instance, refresh-token reuse, and writes that outlive the process that made them.
use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use entity::event;
use ips_api::{auth::Role, config::Config, domain::identity, state::AppState};
use poem::{
    EndpointExt,
    http::{Method, StatusCode},
    test::TestClient,
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::{
    Answer, Client, PASSWORD, TestApp, give_login, is_postgres, jwt_part, login, new_candidate,
};

/// Another server process on the same database: its own pools, key store and session cache.
pub struct Instance {
    pub cli: Client,
    pub state: AppState,
}

impl Instance {
    pub async fn start(database_url: &str, change: impl FnOnce(&mut Config)) -> Self {
        let mut config = crate::common::config_for(database_url);
        change(&mut config);
        let state = AppState::build(config).await.expect("second instance");
        let cli = TestClient::new(ips_api::app(state.clone()).map_to_response().boxed());
        Self { cli, state }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        send(&self.cli, method, path, token, body, &[]).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }
}

/// Sends a request through any instance's client (the harness's `TestApp::request`, for `Instance`).
pub async fn send(
    cli: &Client,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> Answer {
    let mut req = cli.request(method, path);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.body_json(&b);
    }
    let resp = req.send().await.0;
    let status = resp.status();
    let headers = resp.headers().clone();
    let raw = resp.into_body().into_vec().await.unwrap_or_default();
    let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
        raw,
    }
}

/// True when an answer mentions SQLite lock contention anywhere in its body.
fn mentions_lock(a: &Answer) -> bool {
    let text = String::from_utf8_lossy(&a.raw).to_lowercase();
    text.contains("database is locked") || text.contains("sqlite_busy")
}

/// Answers counted by status, and the ones that must fail a test.
#[derive(Default, Debug)]
struct Tally {
    by_status: BTreeMap<u16, u64>,
    server_errors: Vec<String>,
    lock_mentions: Vec<String>,
}

impl Tally {
    fn record(&mut self, what: &str, a: &Answer) {
        *self.by_status.entry(a.status.as_u16()).or_default() += 1;
        if a.status.is_server_error() {
            self.server_errors
                .push(format!("{what}: {} {}", a.status, a.body));
        }
        if mentions_lock(a) {
            self.lock_mentions
                .push(format!("{what}: {} {}", a.status, a.body));
        }
    }

    fn ok(&self) -> u64 {
        self.by_status
            .iter()
            .filter(|(s, _)| (200..300).contains(*s))
            .map(|(_, n)| n)
            .sum()
    }

    fn total(&self) -> u64 {
        self.by_status.values().sum()
    }

    fn merge(&mut self, other: Tally) {
        for (s, n) in other.by_status {
            *self.by_status.entry(s).or_default() += n;
        }
        self.server_errors.extend(other.server_errors);
        self.lock_mentions.extend(other.lock_mentions);
    }
}

fn soak_duration() -> Duration {
    let default = if is_postgres() { 15 } else { 60 };
    let secs = std::env::var("IPS_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    Duration::from_secs(secs)
}

fn transition(to: &str) -> Value {
    json!({ "to": to })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_writers_for_a_minute_never_see_database_locked() {
    let app = TestApp::start().await;
    let m = app.municipality("201").await;
    // Each writer changes its own candidate, as one of the three kinds of caller that may.
    let mut writers = Vec::new();
    for i in 0..16 {
        let c = app
            .candidate(m.id, m.consultant.id, &format!("Skribent {i}"))
            .await;
        let token = match i % 3 {
            0 => m.coordinator.token.clone(),
            1 => m.consultant.token.clone(),
            _ => m.service.token.clone(),
        };
        writers.push((c.id, token));
    }
    let app = Arc::new(app);
    let soak = soak_duration();
    let started = Instant::now();
    let deadline = started + soak;

    let mut tasks = Vec::new();
    for (i, (id, token)) in writers.into_iter().enumerate() {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut writes_ok = 0u64;
            let (patch, transitions) = (
                format!("/api/v1/candidates/{id}"),
                format!("/api/v1/candidates/{id}/enrollment/transitions"),
            );
            // The course starts `referred`; then it goes active ↔ paused.
            let mut next = "active";
            let mut n = 0u64;
            while Instant::now() < deadline {
                let a = if n.is_multiple_of(2) {
                    let body = json!({ "preferred_name": format!("Navn {i}-{n}") });
                    app.patch(&patch, &token, body).await
                } else {
                    let a = app.post(&transitions, &token, transition(next)).await;
                    if a.status == StatusCode::OK {
                        next = if next == "active" { "paused" } else { "active" };
                    }
                    a
                };
                if a.status == StatusCode::OK {
                    writes_ok += 1;
                }
                tally.record(&format!("writer {i}"), &a);
                n += 1;
            }
            (i, writes_ok, tally)
        }));
    }
    let mut readers = Vec::new();
    for r in 0..2 {
        let app = app.clone();
        let token = m.coordinator.token.clone();
        let one = m.candidate.id;
        readers.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut after = 0i64;
            let mut n = 0u64;
            while Instant::now() < deadline {
                let a = match (n + r) % 3 {
                    0 => app.get("/api/v1/candidates?limit=50", &token).await,
                    1 => {
                        let a = app
                            .get(&format!("/api/v1/events?after={after}&limit=200"), &token)
                            .await;
                        after = a.body["next_after"].as_i64().unwrap_or(after);
                        a
                    }
                    // A staff read of one candidate also writes an audit entry.
                    _ => app.get(&format!("/api/v1/candidates/{one}"), &token).await,
                };
                tally.record(&format!("reader {r}"), &a);
                n += 1;
            }
            tally
        }));
    }

    let mut writes = Tally::default();
    for t in tasks {
        let (i, ok, tally) = t.await.expect("writer task");
        assert!(ok > 0, "writer {i} made no progress: {tally:?}");
        let unexpected: Vec<_> = tally.by_status.keys().filter(|s| **s != 200).collect();
        assert!(
            unexpected.is_empty(),
            "writer {i} got {unexpected:?}: {:?}",
            tally.by_status
        );
        writes.merge(tally);
    }
    let mut reads = Tally::default();
    for t in readers {
        reads.merge(t.await.expect("reader task"));
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "soak on {}: {:.0} s, 16 writers, 2 readers: {} writes ({:.0}/s), {} reads ({:.0}/s); statuses: writes {:?}, reads {:?}",
        if is_postgres() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        secs,
        writes.total(),
        writes.total() as f64 / secs,
        reads.total(),
        reads.total() as f64 / secs,
        writes.by_status,
        reads.by_status,
    );
    for t in [&writes, &reads] {
        assert!(
            t.server_errors.is_empty(),
            "{} server errors, first: {:?}",
            t.server_errors.len(),
            t.server_errors.first()
        );
        assert!(
            t.lock_mentions.is_empty(),
            "lock contention surfaced: {:?}",
            t.lock_mentions.first()
        );
    }
    assert_eq!(reads.ok(), reads.total(), "reads: {:?}", reads.by_status);
    Arc::into_inner(app).expect("tasks done").finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn event_sequence_is_gapless_with_two_instances_writing() {
    let app = TestApp::start().await;
    let m = app.municipality("202").await;
    let second = Instance::start(&app.database_url, |_| {}).await;
    let app = Arc::new(app);
    let second = Arc::new(second);
    let token = m.coordinator.token.clone();
    let writing = Arc::new(AtomicBool::new(true));

    // The reader pages the feed on instance 1 as fast as it can while both instances write.
    let reader = {
        let app = app.clone();
        let token = token.clone();
        let writing = writing.clone();
        tokio::spawn(async move {
            let mut seen: Vec<i64> = Vec::new();
            let mut after = 0i64;
            let mut pages = 0u64;
            loop {
                // Read the flag before the page, so the last pass starts after every write finished.
                let last_pass = !writing.load(Ordering::SeqCst);
                let a = app
                    .get(&format!("/api/v1/events?after={after}&limit=7"), &token)
                    .await
                    .expect(200);
                pages += 1;
                let items = a.body["items"].as_array().expect("items").clone();
                for e in &items {
                    seen.push(e["seq"].as_i64().expect("seq"));
                }
                after = a.body["next_after"].as_i64().expect("next_after");
                if let Some(&last) = seen.last() {
                    assert_eq!(after, last, "next_after is the last seq of the page");
                }
                if items.is_empty() {
                    if last_pass {
                        break;
                    }
                    tokio::task::yield_now().await;
                }
            }
            (seen, pages)
        })
    };

    let mut writers = Vec::new();
    for t in 0..16 {
        let (app, second, token) = (app.clone(), second.clone(), token.clone());
        writers.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            for k in 0..2 {
                let path = "/api/v1/candidates";
                let body = new_candidate(&format!("Feed {t}-{k}"));
                let a = if t % 2 == 0 {
                    app.post(path, &token, body).await
                } else {
                    second.post(path, &token, body).await
                };
                tally.record("create", &a);
                let Some(id) = a.body["candidate"]["id"].as_str().map(str::to_string) else {
                    continue;
                };
                let path = format!("/api/v1/candidates/{id}/enrollment/transitions");
                for to in ["active", "paused", "active"] {
                    let a = if t % 2 == 0 {
                        app.post(&path, &token, transition(to)).await
                    } else {
                        second.post(&path, &token, transition(to)).await
                    };
                    tally.record("transition", &a);
                }
            }
            tally
        }));
    }
    let mut writes = Tally::default();
    for w in writers {
        writes.merge(w.await.expect("writer"));
    }
    writing.store(false, Ordering::SeqCst);
    let (seen, pages) = reader.await.expect("reader");

    assert!(
        writes.server_errors.is_empty() && writes.lock_mentions.is_empty(),
        "writes failed: {:?} {:?}",
        writes.server_errors,
        writes.lock_mentions
    );
    assert_eq!(
        writes.by_status.get(&201),
        Some(&32),
        "{:?}",
        writes.by_status
    );
    assert_eq!(
        writes.by_status.get(&200),
        Some(&96),
        "{:?}",
        writes.by_status
    );

    for pair in seen.windows(2) {
        assert!(pair[0] < pair[1], "seq not strictly increasing: {pair:?}");
    }
    let max = *seen.last().expect("some events");
    let expected: Vec<i64> = (1..=max).collect();
    assert_eq!(seen, expected, "the reader missed or repeated an event");
    let in_table = event::Entity::find()
        .filter(event::Column::MunicipalityId.eq(m.id))
        .count(app.state.db.read())
        .await
        .expect("count events");
    assert_eq!(seen.len() as u64, in_table);
    let seqs: Vec<i64> = event::Entity::find()
        .filter(event::Column::MunicipalityId.eq(m.id))
        .select_only()
        .column(event::Column::Seq)
        .order_by_asc(event::Column::Seq)
        .into_tuple()
        .all(app.state.db.read())
        .await
        .expect("seqs");
    assert_eq!(seqs, expected, "the table itself is numbered 1..=n");
    println!(
        "feed: {} events seen in order over {pages} pages while 2 instances wrote",
        seen.len()
    );

    drop(second);
    Arc::into_inner(app).expect("tasks done").finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idempotent_create_racing_itself() {
    let app = Arc::new(TestApp::start().await);
    let m = app.municipality("203").await;
    let goals = format!("/api/v1/candidates/{}/goals", m.candidate.id);
    let (mut replayed, mut refused) = (0, 0);
    for round in 0..8 {
        let key = format!("race-{round}-{}", Uuid::now_v7());
        let title = format!("Idem{round}x{}", &Uuid::now_v7().simple().to_string()[24..]);
        let body = json!({"title": title, "category": "job"});
        let go = |app: Arc<TestApp>, token: String, key: String, body: Value, path: String| async move {
            app.request(
                Method::POST,
                &path,
                Some(&token),
                Some(body),
                &[("idempotency-key", &key)],
            )
            .await
        };
        let (a, b) = tokio::join!(
            tokio::spawn(go(
                app.clone(),
                m.consultant.token.clone(),
                key.clone(),
                body.clone(),
                goals.clone(),
            )),
            tokio::spawn(go(
                app.clone(),
                m.consultant.token.clone(),
                key.clone(),
                body.clone(),
                goals.clone(),
            )),
        );
        let (a, b) = (a.expect("first"), b.expect("second"));
        let (first, other) = match (a.status.as_u16(), b.status.as_u16()) {
            (201, 201) => {
                // One of them is the replay.
                assert!(
                    a.header("idempotent-replayed").is_some()
                        ^ b.header("idempotent-replayed").is_some(),
                    "exactly one answer is the replay"
                );
                replayed += 1;
                (a, b)
            }
            (201, 409) => {
                refused += 1;
                (a, b)
            }
            (409, 201) => {
                refused += 1;
                (b, a)
            }
            (x, y) => panic!("statuses {x} and {y}: {} / {}", a.body, b.body),
        };
        if other.status == StatusCode::CONFLICT {
            let _ = other.problem(409);
        } else {
            assert_eq!(first.raw, other.raw, "the replay is the first answer");
        }
        let id = first.body["id"].as_str().expect("id");
        let found = app.get(&goals, &m.consultant.token).await.expect(200);
        let same: Vec<&Value> = found.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|g| g["title"] == title.as_str())
            .collect();
        assert_eq!(same.len(), 1, "exactly one goal: {}", found.body);
        assert_eq!(same[0]["id"], id);
        // Once the first has finished, a repeat replays it byte for byte.
        let third = go(
            app.clone(),
            m.consultant.token.clone(),
            key,
            body,
            goals.clone(),
        )
        .await
        .expect(201);
        assert_eq!(third.header("idempotent-replayed"), Some("true"));
        assert_eq!(third.raw, first.raw);
        assert_eq!(third.header("location"), first.header("location"));
    }
    println!("idempotent race: {replayed} replayed, {refused} refused with 409");
    Arc::into_inner(app).expect("tasks done").finish().await;
}

/// Polls `GET /me` on an instance every 200 ms until it answers 401; false if it never did in 10 s.
async fn becomes_unauthorized(cli: &Client, token: &str) -> bool {
    let give_up = Instant::now() + Duration::from_secs(10);
    while Instant::now() < give_up {
        let a = send(cli, Method::GET, "/api/v1/me", Some(token), None, &[]).await;
        match a.status.as_u16() {
            401 => return true,
            200 => tokio::time::sleep(Duration::from_millis(200)).await,
            s => panic!("GET /me answered {s}: {}", a.body),
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn revocation_reaches_another_instance_within_the_check_window() {
    let app = TestApp::start_with(|c| c.session_check_secs = 1).await;
    let second = Instance::start(&app.database_url, |c| c.session_check_secs = 1).await;
    let m = app.municipality("204").await;

    // Logout on instance 1 ends the session on instance 2.
    give_login(
        &app,
        m.consultant.id,
        "konsulent.a",
        Role::Consultant,
        Some(m.id),
    )
    .await;
    let login = login(&app, "konsulent.a", PASSWORD).await.expect(200);
    let access = login.body["access_token"]
        .as_str()
        .expect("access")
        .to_string();
    let refresh = login.body["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    second.get("/api/v1/me", &access).await.expect(200);
    app.call(
        Method::POST,
        "/api/v1/auth/logout",
        None,
        Some(json!({ "refresh_token": refresh })),
    )
    .await
    .expect(204);
    app.get("/api/v1/me", &access).await.problem(401);
    assert!(
        becomes_unauthorized(&second.cli, &access).await,
        "instance 2 still accepts a logged-out session after 10 s"
    );
    second
        .call(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({ "refresh_token": refresh })),
        )
        .await
        .problem(401);

    // Deactivation by the coordinator on instance 1 ends the member's sessions on instance 2.
    let member = identity::start_session(
        &app.state.identity(),
        m.other_consultant.id,
        Role::Consultant,
        Some(m.id),
    )
    .await
    .expect("session");
    second
        .get("/api/v1/me", &member.access_token)
        .await
        .expect(200);
    app.patch(
        &format!("/api/v1/staff/{}", m.other_consultant.id),
        &m.coordinator.token,
        json!({ "active": false }),
    )
    .await
    .expect(200);
    assert!(
        becomes_unauthorized(&second.cli, &member.access_token).await,
        "instance 2 still accepts a deactivated member's session after 10 s"
    );
    second
        .call(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({ "refresh_token": member.refresh_token })),
        )
        .await
        .problem(401);
    // The coordinator's own session is untouched on both.
    second
        .get("/api/v1/me", &m.coordinator.token)
        .await
        .expect(200);
    app.get("/api/v1/me", &m.coordinator.token)
        .await
        .expect(200);
    drop(second);
    app.finish().await;
}

/// The `kid` in a JWT's header.
fn kid_of(token: &str) -> String {
    jwt_part(token, 0)["kid"].as_str().expect("kid").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rotated_keys_reach_another_instance() {
    let app = TestApp::start().await;
    let m = app.municipality("205").await;
    give_login(
        &app,
        m.consultant.id,
        "konsulent.b",
        Role::Consultant,
        Some(m.id),
    )
    .await;
    let second = Instance::start(&app.database_url, |_| {}).await;
    let before = m.coordinator.token.clone();
    let old_kid = kid_of(&before);
    second.get("/api/v1/me", &before).await.expect(200);

    let new_kid = ips_api::domain::tokens::rotate(&app.state.db, &app.state.kek)
        .await
        .expect("rotate");
    app.state.keys.reload(&app.state.db).await.expect("reload");
    assert_ne!(new_kid, old_kid);
    let login = login(&app, "konsulent.b", PASSWORD).await.expect(200);
    let after = login.body["access_token"].as_str().expect("access");
    assert_eq!(kid_of(after), new_kid, "instance 1 signs with the new key");

    // Instance 2 has never seen the new key; it looks it up on the unknown kid.
    second.get("/api/v1/me", after).await.expect(200);
    app.get("/api/v1/me", after).await.expect(200);
    // A token signed before the rotation keeps working on both until it expires.
    app.get("/api/v1/me", &before).await.expect(200);
    second.get("/api/v1/me", &before).await.expect(200);
    // Both publish both keys, the new one first.
    for jwks in [
        app.call(Method::GET, "/.well-known/jwks.json", None, None)
            .await,
        second
            .call(Method::GET, "/.well-known/jwks.json", None, None)
            .await,
    ] {
        let kids: Vec<&str> = jwks.body["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .filter_map(|k| k["kid"].as_str())
            .collect();
        assert_eq!(kids, [new_kid.as_str(), old_kid.as_str()]);
    }
    drop(second);
    app.finish().await;
}

/// A token signed with a key this instance has not seen, while its database is out of reach: the
/// token may well be good (another instance rotated the keys), so the answer is 503 with
/// `Retry-After`, which a client retries, not 401, which logs the person out. Once the database
/// answers again, the key is found.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unknown_key_while_the_database_is_away_is_retried_not_refused() {
    let app = TestApp::start().await;
    let m = app.municipality("207").await;
    give_login(
        &app,
        m.consultant.id,
        "konsulent.d",
        Role::Consultant,
        Some(m.id),
    )
    .await;
    let second = Instance::start(&app.database_url, |_| {}).await;
    ips_api::domain::tokens::rotate(&app.state.db, &app.state.kek)
        .await
        .expect("rotate");
    app.state.keys.reload(&app.state.db).await.expect("reload");
    let after = login(&app, "konsulent.d", PASSWORD).await.expect(200);
    let after = after.body["access_token"].as_str().expect("access");

    second.state.db.clone().close().await;
    for _ in 0..2 {
        let a = second.get("/api/v1/me", after).await;
        assert_eq!(a.status, 503, "{:?}", a.body);
        assert_eq!(a.body["type"], "urn:ips-ung:problem:database-unavailable");
        assert_eq!(a.header("retry-after"), Some("1"));
    }
    // A token that is not good stays refused, database or not.
    let a = second.get("/api/v1/me", "not.a.token").await;
    assert_eq!(a.status, 401);

    let third = Instance::start(&app.database_url, |_| {}).await;
    third.get("/api/v1/me", after).await.expect(200);
    drop((second, third));
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refresh_token_used_twice_concurrently() {
    let app = Arc::new(TestApp::start_with(|c| c.session_check_secs = 1).await);
    let second = Arc::new(Instance::start(&app.database_url, |c| c.session_check_secs = 1).await);
    let m = app.municipality("206").await;
    give_login(
        &app,
        m.consultant.id,
        "konsulent.c",
        Role::Consultant,
        Some(m.id),
    )
    .await;
    let refresh = |on_second: bool, token: String| {
        let (app, second) = (app.clone(), second.clone());
        tokio::spawn(async move {
            let body = Some(json!({ "refresh_token": token }));
            if on_second {
                second
                    .call(Method::POST, "/api/v1/auth/refresh", None, body)
                    .await
            } else {
                app.call(Method::POST, "/api/v1/auth/refresh", None, body)
                    .await
            }
        })
    };
    // Both uses on one instance, then one on each.
    for round in 0..6 {
        let across = round % 2 == 1;
        let login = login(&app, "konsulent.c", PASSWORD).await.expect(200);
        let access = login.body["access_token"].as_str().expect("access");
        let token = login.body["refresh_token"]
            .as_str()
            .expect("refresh")
            .to_string();
        app.get("/api/v1/me", access).await.expect(200);
        second.get("/api/v1/me", access).await.expect(200);

        let (a, b) = tokio::join!(refresh(false, token.clone()), refresh(across, token));
        let (a, b) = (a.expect("first"), b.expect("second"));
        let statuses = [a.status.as_u16(), b.status.as_u16()];
        let (winner, loser) = match statuses {
            [200, 401] => (a, b),
            [401, 200] => (b, a),
            s => panic!(
                "expected one 200 and one 401, got {s:?}: {} / {}",
                a.body, b.body
            ),
        };
        let _ = loser.problem(401);
        // The loser was a reuse: the whole session ends, the winner's new tokens with it.
        let new_refresh = winner.body["refresh_token"].as_str().expect("refresh");
        let new_access = winner.body["access_token"].as_str().expect("access");
        app.call(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({ "refresh_token": new_refresh })),
        )
        .await
        .problem(401);
        for token in [access, new_access] {
            assert!(
                becomes_unauthorized(&second.cli, token).await,
                "round {round}: the session survived a refresh reuse on instance 2"
            );
            assert!(
                becomes_unauthorized(&app.cli, token).await,
                "round {round}: the session survived a refresh reuse on instance 1"
            );
        }
    }
    drop(second);
    Arc::into_inner(app).expect("tasks done").finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_write_survives_a_restart() {
    let app = TestApp::start().await;
    let m = app.municipality("207").await;
    let writer = Instance::start(&app.database_url, |_| {}).await;
    let created = writer
        .post(
            "/api/v1/candidates",
            &m.coordinator.token,
            new_candidate("Varig"),
        )
        .await
        .expect(201);
    let id = created.body["candidate"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    // No graceful close: the pools are simply dropped, as far as an in-process test can go.
    drop(writer);
    let restarted = Instance::start(&app.database_url, |_| {}).await;
    let read = restarted
        .get(&format!("/api/v1/candidates/{id}"), &m.coordinator.token)
        .await
        .expect(200);
    assert_eq!(read.body["given_name"], "Varig");
    assert_eq!(read.body["status"], "referred");
    app.get(&format!("/api/v1/candidates/{id}"), &m.coordinator.token)
        .await
        .expect(200);
    drop(restarted);
    app.finish().await;
}

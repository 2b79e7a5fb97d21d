//! Webhooks (SPEC §4.10): a real receiver on a local port gets each event, signed, in order, exactly
//! the document `GET /events` lists; retries after failures and gives up after 24 hours (disabled, an
//! inbox item); two instances on one database never send an event twice; request-forgery targets in
//! every spelling are refused; who may use them; the secret is never readable again; bad input.
use std::{
    collections::{BTreeMap, VecDeque},
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use chrono::{Duration, Utc};
use entity::types::EventType;
use hmac::{Hmac, Mac};
use ips_api::{
    config::Config,
    domain::{events, webhooks::Deliverer},
    state::AppState,
};
use poem::http::Method;
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

use crate::common::{Municipality, TestApp};

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Got {
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

/// A small HTTP/1.1 receiver: records each request and answers the next planned status (200 when
/// none is planned, or `fallback`).
#[derive(Clone)]
struct Receiver {
    addr: SocketAddr,
    got: Arc<Mutex<Vec<Got>>>,
    plan: Arc<Mutex<VecDeque<u16>>>,
    fallback: Arc<Mutex<u16>>,
}

impl Receiver {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let r = Self {
            addr: listener.local_addr().expect("addr"),
            got: Arc::default(),
            plan: Arc::default(),
            fallback: Arc::new(Mutex::new(200)),
        };
        let me = r.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let me = me.clone();
                tokio::spawn(async move { me.serve(stream).await });
            }
        });
        r
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    fn answer(&self, statuses: &[u16]) {
        self.plan.lock().unwrap().extend(statuses);
    }

    fn always(&self, status: u16) {
        *self.fallback.lock().unwrap() = status;
    }

    fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    async fn serve(&self, mut s: TcpStream) {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let headers: BTreeMap<String, String> = head
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let len: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + len {
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body = buf[head_end..head_end + len].to_vec();
        self.got.lock().unwrap().push(Got { headers, body });
        let status = self
            .plan
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(*self.fallback.lock().unwrap());
        // A redirect names another path of this receiver: following it would show as a second request.
        let reply = format!(
            "HTTP/1.1 {status} X\r\nlocation: /elsewhere\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
        );
        let _ = s.write_all(reply.as_bytes()).await;
        let _ = s.shutdown().await;
    }
}

/// Verifies `X-IPS-Signature` as a receiver would: HMAC-SHA256 over `"<t>.<body>"`, compared in
/// constant time.
fn verify(secret: &str, header: &str, body: &[u8]) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", x)) => t = Some(x),
            Some(("v1", x)) => v1 = Some(x),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    let Ok(t_secs) = t.parse::<i64>() else {
        return false;
    };
    if (Utc::now().timestamp() - t_secs).abs() > 300 {
        return false;
    }
    let Ok(given) = hex::decode(v1) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

fn allow_private(c: &mut Config) {
    c.webhook_allow_private = true;
}

fn deliverer(state: &AppState) -> Deliverer<'_> {
    Deliverer {
        db: &state.db,
        kek: &state.kek,
        allow_private: state.config.webhook_allow_private,
        retry_base_secs: state.config.webhook_retry_base_secs,
    }
}

async fn pass(state: &AppState, at: chrono::DateTime<Utc>) -> usize {
    deliverer(state).run(at).await.expect("delivery pass")
}

/// Subscribes `url` to `events` as the coordinator; returns the id and the secret.
async fn subscribe(
    app: &TestApp,
    m: &Municipality,
    url: &str,
    events: &[&str],
) -> (String, String) {
    let a = app
        .post(
            "/api/v1/webhooks",
            &m.coordinator.token,
            json!({"url": url, "events": events, "description": "Fagsystem"}),
        )
        .await
        .expect(201);
    (
        a.body["id"].as_str().expect("id").to_string(),
        a.body["secret"].as_str().expect("secret").to_string(),
    )
}

/// Appends an event of `m` directly, as the writing transactions do.
async fn event(app: &TestApp, m: &Municipality, ty: EventType) -> i64 {
    events::append(
        app.state.db.write(),
        m.id,
        ty,
        json!({"candidate_id": m.candidate.id}),
    )
    .await
    .expect("event")
}

async fn deliveries(app: &TestApp, m: &Municipality, id: &str) -> Vec<Value> {
    app.get(
        &format!("/api/v1/webhooks/{id}/deliveries?limit=200"),
        &m.coordinator.token,
    )
    .await
    .expect(200)
    .body["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn webhooks_deliver_signed_events_in_order_as_the_feed_lists_them() {
    let app = TestApp::start_with(allow_private).await;
    let m = app.municipality("101").await;
    let rx = Receiver::start().await;
    let before = app
        .get("/api/v1/events?limit=200", &m.coordinator.token)
        .await
        .expect(200)
        .body["next_after"]
        .as_i64()
        .unwrap();
    let (all_id, secret) = subscribe(&app, &m, &rx.url(), &["*"]).await;
    let filtered_rx = Receiver::start().await;
    let (_, filtered_secret) =
        subscribe(&app, &m, &filtered_rx.url(), &["enrollment.status_changed"]).await;

    // Real changes through the API: a course started (and the events before it).
    let path = format!(
        "/api/v1/candidates/{}/enrollment/transitions",
        m.candidate.id
    );
    app.post(&path, &m.coordinator.token, json!({"to": "active"}))
        .await
        .expect(200);
    event(&app, &m, EventType::CandidateUpdated).await;

    let feed = app
        .get(
            &format!("/api/v1/events?after={before}&limit=200"),
            &m.coordinator.token,
        )
        .await
        .expect(200)
        .body["items"]
        .as_array()
        .cloned()
        .unwrap();
    assert!(feed.len() >= 2, "{feed:?}");
    let attempts = pass(&app.state, Utc::now()).await;
    let got = rx.got();
    assert_eq!(got.len(), feed.len(), "one request per event");
    for (g, e) in got.iter().zip(&feed) {
        let body: Value = serde_json::from_slice(&g.body).expect("JSON");
        assert_eq!(&body, e, "the delivered document is the feed's");
        assert_eq!(g.headers["x-ips-event-id"], e["id"].as_str().unwrap());
        assert_eq!(g.headers["content-type"], "application/json");
        assert!(
            verify(&secret, &g.headers["x-ips-signature"], &g.body),
            "signature {}",
            g.headers["x-ips-signature"]
        );
        assert!(!verify(
            &filtered_secret,
            &g.headers["x-ips-signature"],
            &g.body
        ));
    }
    // The filter: only the status change.
    let fgot = filtered_rx.got();
    let wanted: Vec<&Value> = feed
        .iter()
        .filter(|e| e["type"] == "enrollment.status_changed")
        .collect();
    assert_eq!(fgot.len(), wanted.len());
    assert!(!wanted.is_empty());
    for (g, e) in fgot.iter().zip(wanted) {
        assert_eq!(&serde_json::from_slice::<Value>(&g.body).unwrap(), e);
        assert!(verify(
            &filtered_secret,
            &g.headers["x-ips-signature"],
            &g.body
        ));
    }
    assert_eq!(attempts, got.len() + fgot.len());

    // A second pass has nothing to send; the deliveries list each attempt.
    assert_eq!(pass(&app.state, Utc::now()).await, 0);
    assert_eq!(rx.got().len(), feed.len());
    let list = deliveries(&app, &m, &all_id).await;
    assert_eq!(list.len(), feed.len());
    let newest_first: Vec<i64> = list
        .iter()
        .map(|d| d["event_seq"].as_i64().unwrap())
        .collect();
    let mut sorted = newest_first.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(newest_first, sorted);
    for d in &list {
        assert_eq!(d["outcome"], "delivered", "{d}");
        assert_eq!(d["status_code"], 200);
        assert_eq!(d["attempt"], 1);
        assert!(d["error"].is_null() && d["next_retry_at"].is_null());
        assert!(d["duration_ms"].as_i64().unwrap() >= 0);
        assert!(d["event_type"].is_string() && d["attempted_at"].is_string());
    }
    // Pages of one.
    let first = app
        .get(
            &format!("/api/v1/webhooks/{all_id}/deliveries?limit=1"),
            &m.coordinator.token,
        )
        .await
        .expect(200);
    let cursor = first.body["next_cursor"].as_str().expect("a next page");
    let second = app
        .get(
            &format!("/api/v1/webhooks/{all_id}/deliveries?limit=1&cursor={cursor}"),
            &m.coordinator.token,
        )
        .await
        .expect(200);
    assert_eq!(second.body["items"][0]["id"], list[1]["id"]);

    // Deleted: nothing more is sent, and it is gone.
    app.call(
        Method::DELETE,
        &format!("/api/v1/webhooks/{all_id}"),
        Some(&m.coordinator.token),
        None,
    )
    .await
    .expect(204);
    event(&app, &m, EventType::CandidateUpdated).await;
    pass(&app.state, Utc::now()).await;
    assert_eq!(rx.got().len(), feed.len());
    let listed = app
        .get("/api/v1/webhooks", &m.coordinator.token)
        .await
        .expect(200);
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    app.get(
        &format!("/api/v1/webhooks/{all_id}/deliveries"),
        &m.coordinator.token,
    )
    .await
    .problem(404);
    app.finish().await;
}

#[tokio::test]
async fn webhooks_retry_with_backoff_after_failures() {
    let app = TestApp::start_with(allow_private).await;
    let m = app.municipality("101").await;
    let rx = Receiver::start().await;
    let (id, _) = subscribe(&app, &m, &rx.url(), &["*"]).await;
    rx.answer(&[500, 503]);
    let first = event(&app, &m, EventType::CandidateUpdated).await;
    let second = event(&app, &m, EventType::GoalCreated).await;
    let t0 = Utc::now();

    assert_eq!(pass(&app.state, t0).await, 1, "stops at the failing event");
    let list = deliveries(&app, &m, &id).await;
    assert_eq!(list[0]["outcome"], "retrying");
    assert_eq!(list[0]["status_code"], 500);
    assert_eq!(list[0]["error"], "the receiver answered 500");
    let retry: chrono::DateTime<Utc> = list[0]["next_retry_at"].as_str().unwrap().parse().unwrap();
    // The first retry waits the base delay (10 s) ± 20 %.
    assert!(
        retry >= t0 + Duration::seconds(7) && retry <= t0 + Duration::seconds(13),
        "{retry}"
    );
    let hook = &app
        .get("/api/v1/webhooks", &m.coordinator.token)
        .await
        .expect(200)
        .body["items"][0];
    assert_eq!(hook["next_retry_at"], list[0]["next_retry_at"]);

    // Not due yet: nothing is sent.
    assert_eq!(pass(&app.state, t0 + Duration::seconds(5)).await, 0);
    assert_eq!(rx.got().len(), 1);
    // The second attempt fails too and waits about twice as long.
    assert_eq!(pass(&app.state, t0 + Duration::seconds(20)).await, 1);
    let list = deliveries(&app, &m, &id).await;
    assert_eq!(
        (list[0]["attempt"].as_i64(), list[0]["status_code"].as_i64()),
        (Some(2), Some(503))
    );
    let retry2: chrono::DateTime<Utc> = list[0]["next_retry_at"].as_str().unwrap().parse().unwrap();
    let wait = retry2 - (t0 + Duration::seconds(20));
    assert!(
        wait >= Duration::seconds(15) && wait <= Duration::seconds(25),
        "{wait}"
    );
    // Then it goes through, and the next event after it, in order.
    assert_eq!(pass(&app.state, t0 + Duration::minutes(2)).await, 2);
    let got = rx.got();
    let seqs: Vec<i64> = got
        .iter()
        .map(|g| {
            serde_json::from_slice::<Value>(&g.body).unwrap()["seq"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(seqs, vec![first, first, first, second]);
    // The same event id on every attempt, so a receiver can drop repeats.
    assert_eq!(
        got[0].headers["x-ips-event-id"],
        got[2].headers["x-ips-event-id"]
    );
    let list = deliveries(&app, &m, &id).await;
    let outcomes: Vec<&str> = list
        .iter()
        .map(|d| d["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["delivered", "delivered", "retrying", "retrying"]);
    assert_eq!(list[1]["attempt"], 3);
    let hook = &app
        .get("/api/v1/webhooks", &m.coordinator.token)
        .await
        .expect(200)
        .body["items"][0];
    assert!(
        hook["next_retry_at"].is_null() && hook["active"] == true,
        "{hook}"
    );
    assert_eq!(hook["delivered_seq"], second);
    app.finish().await;
}

#[tokio::test]
async fn webhooks_are_disabled_after_24_hours_of_failures() {
    let app = TestApp::start_with(allow_private).await;
    let m = app.municipality("101").await;
    let rx = Receiver::start().await;
    rx.always(500);
    let (id, _) = subscribe(&app, &m, &rx.url(), &["*"]).await;
    event(&app, &m, EventType::CandidateUpdated).await;
    let t0 = Utc::now();
    assert_eq!(pass(&app.state, t0).await, 1);
    assert_eq!(pass(&app.state, t0 + Duration::hours(12)).await, 1);
    let hook = &app
        .get("/api/v1/webhooks", &m.coordinator.token)
        .await
        .expect(200)
        .body["items"][0];
    assert_eq!(hook["active"], true);
    // 24 hours after the first failure: the last attempt fails, the subscription is disabled.
    assert_eq!(pass(&app.state, t0 + Duration::hours(24)).await, 1);
    let list = deliveries(&app, &m, &id).await;
    assert_eq!(list[0]["outcome"], "failed", "{}", list[0]);
    assert!(list[0]["next_retry_at"].is_null());
    let hook = &app
        .get("/api/v1/webhooks", &m.coordinator.token)
        .await
        .expect(200)
        .body["items"][0];
    assert_eq!(hook["active"], false);
    assert!(hook["disabled_at"].is_string());
    // Nothing more is sent.
    event(&app, &m, EventType::CandidateUpdated).await;
    assert_eq!(pass(&app.state, t0 + Duration::hours(48)).await, 0);
    assert_eq!(rx.got().len(), 3);
    // The coordinators' inbox says so; the consultants' does not.
    let inbox = app
        .get("/api/v1/inbox", &m.coordinator.token)
        .await
        .expect(200);
    let items = inbox.body["items"].as_array().unwrap();
    let item = items
        .iter()
        .find(|i| i["kind"] == "webhook_disabled")
        .expect("a webhook_disabled item");
    assert_eq!(item["ref_id"], id.as_str());
    assert!(item["candidate_id"].is_null() && item["candidate_name"].is_null());
    let inbox = app
        .get("/api/v1/inbox", &m.consultant.token)
        .await
        .expect(200);
    assert!(
        !inbox.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["kind"] == "webhook_disabled")
    );
    app.finish().await;
}

#[tokio::test]
async fn webhooks_two_instances_send_each_event_once() {
    let app = TestApp::start_with(allow_private).await;
    let m = app.municipality("101").await;
    let second = app
        .second_instance(|c| c.webhook_allow_private = true)
        .await;
    let rx = Receiver::start().await;
    let rx2 = Receiver::start().await;
    subscribe(&app, &m, &rx.url(), &["*"]).await;
    subscribe(&app, &m, &rx2.url(), &["*"]).await;
    let mut seqs = Vec::new();
    for _ in 0..12 {
        seqs.push(event(&app, &m, EventType::CandidateUpdated).await);
    }
    for _ in 0..3 {
        let now = Utc::now();
        tokio::join!(
            pass(&app.state, now),
            pass(&second, now),
            pass(&app.state, now)
        );
    }
    for r in [&rx, &rx2] {
        let got: Vec<i64> = r
            .got()
            .iter()
            .map(|g| {
                serde_json::from_slice::<Value>(&g.body).unwrap()["seq"]
                    .as_i64()
                    .unwrap()
            })
            .collect();
        assert_eq!(got, seqs, "each event exactly once, in order");
    }
    let rows = entity::webhook_delivery::Entity::find()
        .all(app.state.db.read())
        .await
        .unwrap();
    assert_eq!(rows.len(), 24);
    second.db.clone().close().await;
    app.finish().await;
}

#[tokio::test]
async fn webhooks_refuse_private_targets_in_every_spelling() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    for url in [
        "https://localhost/hook",
        "https://LOCALHOST./hook",
        "https://api.localhost/hook",
        "https://127.0.0.1/hook",
        "https://127.1.2.3:8443/hook",
        "https://2130706433/hook",
        "https://0177.0.0.1/hook",
        "https://0x7f.0.0.1/hook",
        "https://0x7f000001/hook",
        "https://017700000001/hook",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[::ffff:7f00:1]/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://[::]/hook",
        "https://0.0.0.0/hook",
        "https://10.0.0.1/hook",
        "https://172.16.5.4/hook",
        "https://172.31.255.255/hook",
        "https://192.168.0.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.0.1/hook",
        "https://100.127.255.254/hook",
        "https://255.255.255.255/hook",
        "https://224.0.0.1/hook",
        "https://[ff02::1]/hook",
        "https://[fc00::1]/hook",
        "https://[fd12:3456::1]/hook",
        "https://[fe80::1]/hook",
        "https://192.0.2.10/hook",
        "https://198.51.100.10/hook",
        "https://203.0.113.10/hook",
        "https://[2001:db8::1]/hook",
        "https://[64:ff9b::7f00:1]/hook",
        // Plain http without IPS_WEBHOOK_ALLOW_PRIVATE, other schemes, credentials, not a URL.
        "http://1.1.1.1/hook",
        "ftp://1.1.1.1/hook",
        "https://user:pw@1.1.1.1/hook",
        "not a url",
        "/relative/hook",
    ] {
        let a = app
            .post(
                "/api/v1/webhooks",
                &m.coordinator.token,
                json!({"url": url, "events": ["*"]}),
            )
            .await
            .problem(400);
        assert_eq!(a.fields(), ["url"], "{url}: {}", a.body);
    }
    // A public address is taken (no connection is made when subscribing to an IP address).
    app.post(
        "/api/v1/webhooks",
        &m.coordinator.token,
        json!({"url": "https://1.1.1.1/hook", "events": ["*"]}),
    )
    .await
    .expect(201);
    app.finish().await;
}

#[tokio::test]
async fn webhooks_check_the_target_again_at_every_delivery() {
    // Subscribed while private targets were allowed; an instance without the flag refuses to send.
    let app = TestApp::start_with(allow_private).await;
    let m = app.municipality("101").await;
    let rx = Receiver::start().await;
    let (id, _) = subscribe(&app, &m, &rx.url(), &["*"]).await;
    event(&app, &m, EventType::CandidateUpdated).await;
    let strict = Deliverer {
        db: &app.state.db,
        kek: &app.state.kek,
        allow_private: false,
        retry_base_secs: 10,
    };
    assert_eq!(strict.run(Utc::now()).await.unwrap(), 1);
    assert!(rx.got().is_empty(), "nothing reached the private address");
    let list = deliveries(&app, &m, &id).await;
    assert_eq!(list[0]["outcome"], "retrying");
    assert!(list[0]["status_code"].is_null());
    assert!(
        list[0]["error"].as_str().unwrap().starts_with("url "),
        "{}",
        list[0]
    );
    app.finish().await;
}

#[tokio::test]
async fn webhooks_access_coordinators_and_event_readers_of_the_municipality() {
    let app = TestApp::start().await;
    let a = app.municipality("101").await;
    let b = app.municipality("102").await;
    let admin = app.admin().await;
    let body = json!({"url": "https://1.1.1.1/hook", "events": ["*"]});
    // A service account with events:read may subscribe.
    let made = app
        .post("/api/v1/webhooks", &a.service.token, body.clone())
        .await
        .expect(201);
    let id = made.body["id"].as_str().unwrap().to_string();
    let (sa, secret) = ips_api::domain::accounts::create_service_account(
        &app.state.db,
        a.id,
        "No events",
        &[ips_api::auth::Scope::CandidatesRead],
    )
    .await
    .unwrap();
    let (no_events, _, _) = ips_api::domain::identity::client_credentials(
        &app.state.identity(),
        &sa.client_id,
        &secret,
        None,
        "t",
    )
    .await
    .unwrap();
    for token in [
        &a.candidate.token,
        &a.consultant.token,
        &admin.token,
        &no_events,
    ] {
        app.post("/api/v1/webhooks", token, body.clone())
            .await
            .problem(403);
        app.get("/api/v1/webhooks", token).await.problem(403);
        app.get(&format!("/api/v1/webhooks/{id}/deliveries"), token)
            .await
            .problem(403);
        app.call(
            Method::DELETE,
            &format!("/api/v1/webhooks/{id}"),
            Some(token),
            None,
        )
        .await
        .problem(403);
    }
    // Another municipality: not there at all.
    app.get(
        &format!("/api/v1/webhooks/{id}/deliveries"),
        &b.coordinator.token,
    )
    .await
    .problem(404);
    app.call(
        Method::DELETE,
        &format!("/api/v1/webhooks/{id}"),
        Some(&b.coordinator.token),
        None,
    )
    .await
    .problem(404);
    let listed = app
        .get("/api/v1/webhooks", &b.service.token)
        .await
        .expect(200);
    assert!(listed.body["items"].as_array().unwrap().is_empty());
    // The municipality's coordinator sees and deletes it.
    let listed = app
        .get("/api/v1/webhooks", &a.coordinator.token)
        .await
        .expect(200);
    assert_eq!(listed.body["items"][0]["id"], id.as_str());
    app.get(
        &format!("/api/v1/webhooks/{id}/deliveries"),
        &a.coordinator.token,
    )
    .await
    .expect(200);
    app.call(
        Method::DELETE,
        &format!("/api/v1/webhooks/{id}"),
        Some(&a.coordinator.token),
        None,
    )
    .await
    .expect(204);
    app.call(
        Method::DELETE,
        &format!("/api/v1/webhooks/{id}"),
        Some(&a.coordinator.token),
        None,
    )
    .await
    .problem(404);
    app.finish().await;
}

#[tokio::test]
async fn webhooks_secret_is_never_readable_after_creation() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let body =
        json!({"url": "https://1.1.1.1/hook", "events": ["goal.created"], "description": "ERP"});
    let key = [("idempotency-key", "webhook-1")];
    let made = app
        .request(
            Method::POST,
            "/api/v1/webhooks",
            Some(&m.coordinator.token),
            Some(body.clone()),
            &key,
        )
        .await
        .expect(201);
    let secret = made.body["secret"].as_str().unwrap().to_string();
    assert!(secret.len() >= 40, "{secret}");
    let id = made.body["id"].as_str().unwrap().to_string();
    assert_eq!(made.body["webhook"]["events"], json!(["goal.created"]));
    assert_eq!(
        made.header("location"),
        Some(format!("/api/v1/webhooks/{id}").as_str())
    );
    // A repeat does not get the secret again: it is told where the webhook is.
    let again = app
        .request(
            Method::POST,
            "/api/v1/webhooks",
            Some(&m.coordinator.token),
            Some(body),
            &key,
        )
        .await
        .problem(409);
    assert!(!String::from_utf8_lossy(&again.raw).contains(&secret));
    assert_eq!(again.body["existing_id"], id.as_str());
    // Not in the list.
    let listed = app
        .get("/api/v1/webhooks", &m.coordinator.token)
        .await
        .expect(200);
    assert!(!String::from_utf8_lossy(&listed.raw).contains(&secret));
    assert!(listed.body["items"][0].get("secret").is_none());
    assert_eq!(listed.body["items"][0]["description"], "ERP");
    // Not in the database in clear: not in the webhook row, not in any idempotency record.
    let rows = entity::webhook::Entity::find()
        .all(app.state.db.read())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert!(!format!("{:?}", rows[0]).contains(&secret));
    assert!(rows[0].secret.starts_with("v1."));
    let keys = entity::idempotency_key::Entity::find()
        .all(app.state.db.read())
        .await
        .unwrap();
    assert!(!keys.is_empty());
    for k in keys {
        assert!(!format!("{k:?}").contains(&secret));
        let stored = k.response_body.unwrap_or_default();
        assert!(!String::from_utf8_lossy(&stored).contains(&secret));
    }
    // Re-sealed under a new key-encryption key, it still opens (and never in clear).
    let (new_kek, _) = ips_api::crypto::Kek::generate();
    let (_, webhooks) = ips_api::domain::tokens::rewrap(&app.state.db, &app.state.kek, &new_kek)
        .await
        .unwrap();
    assert_eq!(webhooks, 1);
    let row = entity::webhook::Entity::find()
        .one(app.state.db.read())
        .await
        .unwrap()
        .unwrap();
    let opened = new_kek
        .open(ips_api::crypto::Purpose::WebhookSecret, &id, &row.secret)
        .unwrap();
    assert_eq!(opened, secret.as_bytes());
    app.finish().await;
}

#[tokio::test]
async fn webhooks_bad_input_names_the_field() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let ok = json!({"url": "https://1.1.1.1/hook", "events": ["*"]});
    let many: Vec<&str> = vec!["goal.created"; 51];
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"url": format!("https://1.1.1.1/{}", "a".repeat(1990)), "events": ["*"]}),
            "url",
        ),
        (
            json!({"url": "https://1.1.1.1/hook", "events": []}),
            "events",
        ),
        (
            json!({"url": "https://1.1.1.1/hook", "events": many}),
            "events",
        ),
        (
            json!({"url": "https://1.1.1.1/hook", "events": ["candidate.eaten"]}),
            "events[0]",
        ),
        (
            json!({"url": "https://1.1.1.1/hook", "events": ["*", "Goal.Created"]}),
            "events[1]",
        ),
        (
            json!({"url": "https://1.1.1.1/hook", "events": ["*"], "description": "x".repeat(501)}),
            "description",
        ),
        (
            json!({"url": "https://1.1.1.1/hook", "events": ["*"], "description": "a\u{7}b"}),
            "description",
        ),
        (
            json!({"url": "https://1.1.1.1/h\u{0}ok", "events": ["*"]}),
            "url",
        ),
        (json!({"events": ["*"]}), "url"),
        (json!({"url": "https://1.1.1.1/hook"}), "events"),
        (
            json!({"url": "https://1.1.1.1/hook", "events": "*"}),
            "events",
        ),
        (
            json!({"url": "https://1.1.1.1/hook", "events": ["*"], "secret": "mine"}),
            "secret",
        ),
    ];
    for (body, field) in cases {
        let a = app
            .post("/api/v1/webhooks", &m.coordinator.token, body.clone())
            .await
            .problem(400);
        assert!(
            a.fields().iter().any(|f| f == field),
            "{body}: want {field}, got {}",
            a.body
        );
    }
    app.post("/api/v1/webhooks", &m.coordinator.token, ok)
        .await
        .expect(201);
    // Deduplicated, and `*` covers everything.
    let a = app
        .post(
            "/api/v1/webhooks",
            &m.coordinator.token,
            json!({"url": "https://1.1.1.1/hook", "events": ["goal.created", "goal.created"]}),
        )
        .await
        .expect(201);
    assert_eq!(a.body["webhook"]["events"], json!(["goal.created"]));
    app.get(
        "/api/v1/webhooks/not-a-uuid/deliveries",
        &m.coordinator.token,
    )
    .await
    .problem(400);
    app.finish().await;
}

#[tokio::test]
async fn webhooks_are_delivered_by_the_background_pass() {
    let app = TestApp::start_with(allow_private).await;
    let m = app.municipality("101").await;
    let rx = Receiver::start().await;
    let (_, secret) = subscribe(&app, &m, &rx.url(), &["goal.created"]).await;
    event(&app, &m, EventType::CandidateUpdated).await;
    let seq = event(&app, &m, EventType::GoalCreated).await;
    ips_api::jobs::deliver_webhooks(&app.state).await;
    let got = rx.got();
    assert_eq!(got.len(), 1);
    let body: Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(
        (body["seq"].as_i64(), body["type"].as_str()),
        (Some(seq), Some("goal.created"))
    );
    assert!(verify(
        &secret,
        &got[0].headers["x-ips-signature"],
        &got[0].body
    ));
    app.finish().await;
}

#[tokio::test]
async fn webhooks_migration_goes_down_and_up_again() {
    use migration::MigratorTrait;
    use sea_orm::ConnectionTrait;
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    app.post(
        "/api/v1/webhooks",
        &m.coordinator.token,
        json!({"url": "https://1.1.1.1/hook", "events": ["*"]}),
    )
    .await
    .expect(201);
    // An inbox item about no candidate (what a disabled webhook leaves) and one about a candidate.
    ips_api::domain::inbox::add_for_coordinators(
        app.state.db.write(),
        m.id,
        entity::types::InboxKind::WebhookDisabled,
        None,
    )
    .await
    .unwrap();
    ips_api::domain::inbox::add(
        app.state.db.write(),
        m.id,
        entity::ids::CandidateId(m.candidate.id),
        entity::types::InboxKind::ResumeDue,
        None,
        entity::types::InboxAudience::Consultant,
    )
    .await
    .unwrap();
    let db = app.state.db.write();
    // Down through the webhook migration, with every later one first.
    let all = migration::Migrator::migrations();
    let at = all
        .iter()
        .position(|m| m.name() == "m20261202_000008_webhooks")
        .expect("the webhook migration");
    let steps = u32::try_from(all.len() - at).expect("few migrations");
    migration::Migrator::down(db, Some(steps))
        .await
        .expect("down");
    // The item about a candidate survives; the other cannot exist without the migration.
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT kind FROM inbox_items",
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    migration::Migrator::up(db, None).await.expect("up again");
    let inbox = app
        .get("/api/v1/inbox", &m.coordinator.token)
        .await
        .expect(200);
    assert_eq!(inbox.body["items"].as_array().unwrap().len(), 1);
    app.finish().await;
}

#[tokio::test]
async fn webhooks_do_not_follow_redirects() {
    let app = TestApp::start_with(allow_private).await;
    let m = app.municipality("101").await;
    let rx = Receiver::start().await;
    let (id, _) = subscribe(&app, &m, &rx.url(), &["*"]).await;
    rx.answer(&[307]);
    event(&app, &m, EventType::CandidateUpdated).await;
    assert_eq!(pass(&app.state, Utc::now()).await, 1);
    assert_eq!(rx.got().len(), 1, "the redirect was not followed");
    let list = deliveries(&app, &m, &id).await;
    assert_eq!(list[0]["status_code"], 307);
    assert_eq!(list[0]["outcome"], "retrying");
    app.finish().await;
}

/// Accepts one connection, reads the request head and hands the stream on.
async fn one_request(listener: &TcpListener) -> Option<TcpStream> {
    let (mut s, _) = listener.accept().await.ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    Some(s)
}

#[tokio::test]
async fn webhooks_read_at_most_64_kib_of_an_answer() {
    let app = TestApp::start_with(allow_private).await;
    let m = app.municipality("101").await;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    // 200, then a body without end: the receiver counts what it could write before the sender hung up.
    const CAP: usize = 256 * 1024 * 1024;
    let written = tokio::spawn(async move {
        let mut s = one_request(&listener).await.expect("a request");
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
            .await;
        let piece = [b'x'; 16 * 1024];
        let mut written = 0usize;
        while written < CAP {
            let framed = [b"4000\r\n".as_slice(), &piece, b"\r\n"].concat();
            if s.write_all(&framed).await.is_err() {
                break;
            }
            written += piece.len();
        }
        written
    });
    let (id, _) = subscribe(&app, &m, &url, &["*"]).await;
    event(&app, &m, EventType::CandidateUpdated).await;
    assert_eq!(pass(&app.state, Utc::now()).await, 1);
    let written = written.await.expect("receiver");
    assert!(written < CAP, "the sender kept reading: {written} bytes");
    let list = deliveries(&app, &m, &id).await;
    assert_eq!(list[0]["status_code"], 200);
    assert_eq!(list[0]["outcome"], "delivered");
    app.finish().await;
}

#[tokio::test]
async fn webhooks_give_a_silent_receiver_ten_seconds() {
    let app = TestApp::start_with(allow_private).await;
    let m = app.municipality("101").await;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    // Reads the request and never answers (holds the connection for a minute).
    tokio::spawn(async move {
        if let Some(s) = one_request(&listener).await {
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            drop(s);
        }
    });
    let (id, _) = subscribe(&app, &m, &url, &["*"]).await;
    event(&app, &m, EventType::CandidateUpdated).await;
    let started = std::time::Instant::now();
    assert_eq!(pass(&app.state, Utc::now()).await, 1);
    // Not sooner than the 10 s (a timer never fires early); the error below says it was the timeout.
    let waited = started.elapsed();
    assert!(waited >= std::time::Duration::from_secs(10), "{waited:?}");
    let list = deliveries(&app, &m, &id).await;
    assert!(list[0]["status_code"].is_null());
    assert_eq!(list[0]["outcome"], "retrying");
    assert!(
        list[0]["error"]
            .as_str()
            .expect("error")
            .starts_with("timed out"),
        "{}",
        list[0]["error"]
    );
    app.finish().await;
}

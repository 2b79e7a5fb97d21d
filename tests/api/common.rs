#![allow(dead_code)] // Helpers are shared by every module; not each uses all of them.
//! The harness: the real app on a fresh database per test — a temporary SQLite file, or a fresh
//! PostgreSQL database when `TEST_DATABASE_URL` is set (that URL is used as the admin connection).
//! Either is removed by `TestApp::finish`, or on drop when a test fails before it.
use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use chrono::{Datelike, Days, NaiveDate};
use entity::{
    ids::{MunicipalityId, StaffId},
    types::{Language, Readiness, TargetGroup},
};
use ips_api::{
    auth::{Actor, CandidateScope, Role},
    config::Config,
    crypto::Kek,
    domain::{
        accounts::{self, NewStaff, Settings},
        candidates::{self, NewCandidate},
        identity,
        values::{Email, MunicipalityCode},
    },
    state::AppState,
};
use poem::{
    EndpointExt, Response,
    http::{HeaderMap, Method, StatusCode},
    test::TestClient,
};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use uuid::Uuid;

pub type Client = TestClient<poem::endpoint::BoxEndpoint<'static, Response>>;

/// Which database the tests run on.
pub enum Backend {
    Sqlite,
    Postgres { admin_url: String },
}

pub fn backend() -> Backend {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Backend::Postgres { admin_url: url },
        _ => Backend::Sqlite,
    }
}

pub fn is_postgres() -> bool {
    matches!(backend(), Backend::Postgres { .. })
}

/// A running app on its own database.
pub struct TestApp {
    pub cli: Client,
    pub state: AppState,
    pub database_url: String,
    cleanup: Cleanup,
}

/// What a test leaves behind: removed by `finish`, or on drop when the test panicked before it.
struct Cleanup(Option<Leftover>);

enum Leftover {
    Dir(std::path::PathBuf),
    Database { admin_url: String, name: String },
}

impl Leftover {
    async fn remove(self) {
        match self {
            Leftover::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Leftover::Database { admin_url, name } => {
                if let Ok(admin) = Database::connect(admin_url.as_str()).await {
                    let _ = admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                    admin.close().await.ok();
                }
            }
        }
    }
}

impl Drop for Cleanup {
    /// A failed test never reaches `finish`. `Drop` cannot await, and the runtime of the test may be
    /// the one unwinding, so a database is dropped from a thread of its own with a small runtime,
    /// bounded so that an unreachable server cannot hang the test binary.
    fn drop(&mut self) {
        match self.0.take() {
            None => {}
            Some(Leftover::Dir(dir)) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Some(database) => {
                let removal = std::thread::spawn(move || {
                    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    else {
                        return;
                    };
                    rt.block_on(async {
                        let _ = tokio::time::timeout(
                            std::time::Duration::from_secs(10),
                            database.remove(),
                        )
                        .await;
                    });
                });
                let _ = removal.join();
            }
        }
    }
}

/// An answer: status, headers and the JSON body (`Value::Null` when empty or not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub raw: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status and returns self, printing the body on mismatch.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        self
    }

    /// Asserts an RFC 9457 problem with this status.
    #[track_caller]
    pub fn problem(self, status: u16) -> Self {
        let s = self.expect(status);
        assert_eq!(
            s.header("content-type"),
            Some("application/problem+json"),
            "body: {}",
            s.body
        );
        assert_eq!(s.body["status"], status, "body: {}", s.body);
        assert!(
            s.body["type"].is_string()
                && s.body["title"].is_string()
                && s.body["detail"].is_string()
        );
        s
    }

    /// The fields named by a validation problem.
    pub fn fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The key-encryption key of this test process: every instance a test starts on a database shares it,
/// as the instances of one installation do.
pub fn test_kek() -> &'static str {
    static KEK: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    KEK.get_or_init(|| Kek::generate().1)
}

/// The default configuration for an instance on `url`, with the test key-encryption key.
pub fn config_for(url: &str) -> Config {
    let mut config = Config::for_database(url);
    config.key_encryption_key = Some(ips_api::config::Secret(test_kek().to_string()));
    config
}

/// The address the tests connect to PostgreSQL with, for a database name.
fn with_database(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (admin_url, String::new()),
    };
    let base = match base.rfind('/') {
        Some(i) if i > base.find("//").map(|j| j + 1).unwrap_or(0) => &base[..i],
        _ => base,
    };
    format!("{base}/{name}{query}")
}

impl TestApp {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts with a changed configuration.
    pub async fn start_with(change: impl FnOnce(&mut Config)) -> Self {
        let (url, cleanup) = match backend() {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("ips-test-{}", Uuid::now_v7()));
                std::fs::create_dir_all(&dir).expect("temp dir");
                (
                    format!("sqlite://{}/ips.db?mode=rwc", dir.display()),
                    Leftover::Dir(dir),
                )
            }
            Backend::Postgres { admin_url } => {
                let name = format!("ips_t_{}", Uuid::now_v7().simple());
                let admin = Database::connect(admin_url.as_str())
                    .await
                    .expect("connect to TEST_DATABASE_URL");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create database");
                admin.close().await.ok();
                (
                    with_database(&admin_url, &name),
                    Leftover::Database { admin_url, name },
                )
            }
        };
        let mut config = config_for(&url);
        change(&mut config);
        let state = AppState::build(config).await.expect("app state");
        let cli = TestClient::new(ips_api::app(state.clone()).map_to_response().boxed());
        Self {
            cli,
            state,
            database_url: url,
            cleanup: Cleanup(Some(cleanup)),
        }
    }

    /// Another instance of the service on this test's database (sharing nothing with this one but the
    /// database), with `change` made to its configuration. Close its pools when done.
    pub async fn second_instance(&self, change: impl FnOnce(&mut Config)) -> AppState {
        let mut config = config_for(&self.database_url);
        change(&mut config);
        AppState::build(config).await.expect("second instance")
    }

    /// Closes the pools and removes the database.
    pub async fn finish(mut self) {
        self.state.db.clone().close().await;
        if let Some(leftover) = self.cleanup.0.take() {
            leftover.remove().await;
        }
    }

    /// Sends a request; `token` as bearer, `body` as JSON.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        self.request(method, path, token, body, &[]).await
    }

    /// Sends a request with extra headers.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut req = self.cli.request(method, path);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.body_json(&b);
        }
        read(req.send().await.0).await
    }

    /// Sends raw bytes with a content type.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Answer {
        let mut req = self
            .cli
            .request(method, path)
            .header("content-type", content_type)
            .body(body);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        read(req.send().await.0).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Answer {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    /// A municipality with staff, candidates and a service account, all with tokens.
    pub async fn municipality(&self, code: &str) -> Municipality {
        let db = &self.state.db;
        let m = accounts::create_municipality(
            db,
            &format!("Kommune {code}"),
            MunicipalityCode::parse("code", code).expect("code"),
            Settings::default(),
        )
        .await
        .expect("municipality");
        let coordinator = self.staff(m.id, Role::Coordinator, "Coordinator").await;
        let consultant = self.staff(m.id, Role::Consultant, "Consultant").await;
        let other_consultant = self.staff(m.id, Role::Consultant, "Other consultant").await;
        let candidate = self.candidate(m.id, consultant.id, "Sara").await;
        let other_candidate = self.candidate(m.id, other_consultant.id, "Ali").await;
        let (sa, secret) = accounts::create_service_account(
            db,
            m.id,
            "Fagsystem",
            &[
                ips_api::auth::Scope::CandidatesRead,
                ips_api::auth::Scope::CandidatesWrite,
                ips_api::auth::Scope::EventsRead,
                ips_api::auth::Scope::ReportsRead,
            ],
        )
        .await
        .expect("service account");
        let (token, _, _) = identity::client_credentials(
            &self.state.identity(),
            &sa.client_id,
            &secret,
            None,
            "test",
        )
        .await
        .expect("service token");
        Municipality {
            id: m.id,
            coordinator,
            consultant,
            other_consultant,
            candidate,
            other_candidate,
            service: Person { id: sa.id.0, token },
            service_client_id: sa.client_id,
            service_secret: secret,
        }
    }

    /// A staff member with a session.
    pub async fn staff(&self, municipality_id: MunicipalityId, role: Role, name: &str) -> Person {
        let new = NewStaff {
            municipality_id,
            display_name: name.into(),
            email: Email::parse("email", &format!("{}@example.org", Uuid::now_v7().simple()))
                .expect("email"),
            phone: None,
            role,
        };
        let (s, _) = accounts::create_staff(&self.state.db, None, new)
            .await
            .expect("staff");
        let tokens =
            identity::start_session(&self.state.identity(), s.id.0, role, Some(municipality_id))
                .await
                .expect("session");
        Person {
            id: s.id.0,
            token: tokens.access_token,
        }
    }

    /// A candidate on a consultant's caseload, with a session.
    pub async fn candidate(
        &self,
        municipality_id: MunicipalityId,
        consultant_id: Uuid,
        name: &str,
    ) -> Person {
        let scope = CandidateScope::Municipality { municipality_id };
        let actor = Actor {
            id: consultant_id,
            role: Role::Consultant,
        };
        let new = NewCandidate {
            given_name: name.into(),
            family_name: "Testesen".into(),
            preferred_name: None,
            birth_year: 2005,
            language: Language::Da,
            email: None,
            phone: None,
            target_group: TargetGroup::MentalDistress,
            readiness: Readiness::ActivityReady,
            consultant_id: Some(StaffId(consultant_id)),
            external_ref: None,
            referred_on: None,
        };
        let c = candidates::create(&self.state.db, &scope, actor, new)
            .await
            .expect("candidate");
        let tokens = identity::start_session(
            &self.state.identity(),
            c.candidate.id.0,
            Role::Candidate,
            Some(municipality_id),
        )
        .await
        .expect("session");
        Person {
            id: c.candidate.id.0,
            token: tokens.access_token,
        }
    }

    /// An admin with a session.
    pub async fn admin(&self) -> Person {
        let hash = self
            .state
            .hasher
            .hash("admin-password-1")
            .await
            .expect("hash");
        let name = format!("admin{}", &Uuid::now_v7().simple().to_string()[20..]);
        let id = accounts::create_admin(&self.state.db, hash, &name, None)
            .await
            .expect("admin");
        let tokens = identity::start_session(&self.state.identity(), id.0, Role::Admin, None)
            .await
            .expect("session");
        Person {
            id: id.0,
            token: tokens.access_token,
        }
    }
}

pub async fn read(resp: Response) -> Answer {
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

/// A principal and its access token.
#[derive(Clone, Debug)]
pub struct Person {
    pub id: Uuid,
    pub token: String,
}

/// A municipality with one of each kind of caller.
pub struct Municipality {
    pub id: MunicipalityId,
    pub coordinator: Person,
    /// The consultant of `candidate`.
    pub consultant: Person,
    /// The consultant of `other_candidate`.
    pub other_consultant: Person,
    pub candidate: Person,
    pub other_candidate: Person,
    /// A service account with every scope.
    pub service: Person,
    pub service_client_id: String,
    pub service_secret: String,
}

// ---- logins, tokens and invitations ------------------------------------------------------------

/// The password every login made by the tests has.
pub const PASSWORD: &str = "correct horse battery";

/// base64url without padding (the JWT encoding).
pub fn b64url_encode(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

pub fn b64url_decode(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).expect("base64url")
}

/// Standard base64 with padding (HTTP Basic).
pub fn b64_std(data: &[u8]) -> String {
    STANDARD.encode(data)
}

/// An HTTP Basic `Authorization` value.
pub fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", b64_std(format!("{user}:{password}").as_bytes()))
}

/// The JSON of one segment of a JWT (0 the header, 1 the claims).
pub fn jwt_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).expect("jwt segment");
    serde_json::from_slice(&b64url_decode(part)).expect("jwt json")
}

/// The `ips_refresh` value of a `Set-Cookie` header.
pub fn cookie_value(a: &Answer) -> String {
    let cookie = a.header("set-cookie").expect("set-cookie");
    let first = cookie.split(';').next().expect("cookie pair");
    first
        .strip_prefix("ips_refresh=")
        .expect("ips_refresh cookie")
        .to_string()
}

pub async fn anon_post(app: &TestApp, path: &str, body: Value) -> Answer {
    app.call(Method::POST, path, None, Some(body)).await
}

pub async fn login(app: &TestApp, username: &str, password: &str) -> Answer {
    anon_post(
        app,
        "/api/v1/auth/login",
        json!({"username": username, "password": password}),
    )
    .await
}

pub async fn refresh(app: &TestApp, token: &str) -> Answer {
    anon_post(app, "/api/v1/auth/refresh", json!({"refresh_token": token})).await
}

/// Gives a principal a username and `PASSWORD`.
pub async fn give_login(
    app: &TestApp,
    id: Uuid,
    username: &str,
    role: Role,
    mun: Option<MunicipalityId>,
) {
    let hash = app.state.hasher.hash(PASSWORD).await.expect("hash");
    identity::set_login(app.state.db.write(), hash, id, username, role, mun)
        .await
        .expect("login");
}

pub async fn me_status(app: &TestApp, token: &str) -> u16 {
    app.get("/api/v1/me", token).await.status.as_u16()
}

/// The problem parts that must not differ between two refusals.
pub fn problem_parts(a: &Answer) -> (Value, Value, Value, Value) {
    (
        a.body["type"].clone(),
        a.body["title"].clone(),
        a.body["status"].clone(),
        a.body["detail"].clone(),
    )
}

pub fn accept_path(code: &str) -> String {
    format!("/api/v1/auth/invitations/{code}/accept")
}

pub async fn accept(app: &TestApp, code: &str, username: &str, password: &str) -> Answer {
    anon_post(
        app,
        &accept_path(code),
        json!({"username": username, "password": password}),
    )
    .await
}

// ---- candidates and courses through the API ---------------------------------------------------

pub const CANDIDATES: &str = "/api/v1/candidates";

pub fn today() -> NaiveDate {
    ips_api::domain::today()
}

pub fn days_ago(n: u64) -> NaiveDate {
    today() - Days::new(n)
}

pub fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A valid body for `POST /candidates`.
pub fn new_candidate(given: &str) -> Value {
    json!({
        "given_name": given,
        "family_name": "Jensen",
        "birth_year": today().year() - 20,
        "target_group": "mental_distress",
        "readiness": "activity_ready",
    })
}

/// The same body with extra fields.
pub fn with(mut body: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().expect("object") {
        body[k] = v.clone();
    }
    body
}

pub fn candidate_path(id: &str) -> String {
    format!("{CANDIDATES}/{id}")
}

pub fn id_of(a: &Answer) -> String {
    a.body["candidate"]["id"]
        .as_str()
        .expect("candidate id")
        .to_string()
}

/// Creates a candidate through the API and returns its id.
pub async fn create(app: &TestApp, who: &Person, body: Value) -> String {
    id_of(&app.post(CANDIDATES, &who.token, body).await.expect(201))
}

pub async fn transition(app: &TestApp, who: &Person, id: &str, body: Value) -> Answer {
    app.post(
        &format!("{CANDIDATES}/{id}/enrollment/transitions"),
        &who.token,
        body,
    )
    .await
}

/// The body of a transition to `to` (with an outcome when completing).
pub fn to(status: &str) -> Value {
    if status == "completed" {
        json!({"to": status, "outcome": "job"})
    } else {
        json!({"to": status})
    }
}

/// Moves a fresh course (in `referred`) into `status` along the shortest legal path.
pub async fn drive(app: &TestApp, who: &Person, id: &str, status: &str) {
    let path: &[&str] = match status {
        "referred" => &[],
        "active" => &["active"],
        "paused" => &["active", "paused"],
        "aftercare" => &["active", "aftercare"],
        "completed" => &["active", "completed"],
        "stopped" => &["stopped"],
        other => panic!("unknown status {other}"),
    };
    for step in path {
        transition(app, who, id, to(step)).await.expect(200);
    }
    let e = app
        .get(&format!("{CANDIDATES}/{id}/enrollment"), &who.token)
        .await
        .expect(200);
    assert_eq!(e.body["status"], status);
}

/// Every event of the caller's municipality, paging with `after`.
pub async fn all_events(app: &TestApp, token: &str) -> Vec<Value> {
    let mut after = 0;
    let mut out = Vec::new();
    loop {
        let page = app
            .get(&format!("/api/v1/events?after={after}&limit=200"), token)
            .await
            .expect(200);
        let items = page.body["items"].as_array().expect("items").clone();
        if items.is_empty() {
            return out;
        }
        after = page.body["next_after"].as_i64().expect("next_after");
        out.extend(items);
    }
}

/// Asserts that a validation problem names exactly these fields.
#[track_caller]
pub fn assert_fields(a: &Answer, fields: &[&str]) {
    assert_eq!(a.fields(), fields, "{}", a.body);
}

/// The `caseload.over_limit` events of the municipality, as `(consultant_id, open)`.
pub async fn over_limit(app: &TestApp, coordinator: &Person) -> Vec<(String, i64)> {
    all_events(app, &coordinator.token)
        .await
        .into_iter()
        .filter(|e| e["type"] == "caseload.over_limit")
        .map(|e| {
            (
                e["payload"]["consultant_id"]
                    .as_str()
                    .expect("consultant_id")
                    .to_string(),
                e["payload"]["open"].as_i64().expect("open"),
            )
        })
        .collect()
}

// ---- questionnaires ---------------------------------------------------------------------------

pub const WHO5_ITEMS: [&str; 5] = ["cheerful", "calm", "active", "rested", "interested"];
pub const MOTIVATION_ITEMS: [&str; 3] = ["positive_change", "ready_to_try", "own_influence"];

#![allow(dead_code)] // Helpers are shared by every module; not each uses all of them.
//! The harness: the real app on a fresh database per test — a temporary SQLite file, or a fresh
//! PostgreSQL database when `TEST_DATABASE_URL` is set (that URL is used as the admin connection).
use ips_api::{
    auth::{Actor, CandidateScope, Role},
    config::Config,
    domain::{
        accounts::{self, NewStaff, Settings},
        candidates::{self, NewCandidate},
        identity,
    },
    state::AppState,
};
use poem::{
    EndpointExt, Response,
    http::{HeaderMap, Method, StatusCode},
    test::TestClient,
};
use sea_orm::{ConnectionTrait, Database};
use serde_json::Value;
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

enum Cleanup {
    Dir(std::path::PathBuf),
    Database { admin_url: String, name: String },
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
                    Cleanup::Dir(dir),
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
                    Cleanup::Database { admin_url, name },
                )
            }
        };
        let mut config = Config::for_database(&url);
        change(&mut config);
        let state = AppState::build(config).await.expect("app state");
        let cli = TestClient::new(ips_api::app(state.clone()).map_to_response().boxed());
        Self {
            cli,
            state,
            database_url: url,
            cleanup,
        }
    }

    /// Closes the pools and removes the database.
    pub async fn finish(self) {
        self.state.db.clone().close().await;
        match self.cleanup {
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Database { admin_url, name } => {
                if let Ok(admin) = Database::connect(admin_url.as_str()).await {
                    let _ = admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                    admin.close().await.ok();
                }
            }
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
            code,
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
        let (token, _, _) =
            identity::client_credentials(&self.state, &sa.client_id, &secret, None, "test")
                .await
                .expect("service token");
        Municipality {
            id: m.id,
            coordinator,
            consultant,
            other_consultant,
            candidate,
            other_candidate,
            service: Person { id: sa.id, token },
            service_client_id: sa.client_id,
            service_secret: secret,
        }
    }

    /// A staff member with a session.
    pub async fn staff(&self, municipality_id: Uuid, role: Role, name: &str) -> Person {
        let new = NewStaff {
            municipality_id,
            display_name: name.into(),
            email: format!("{}@example.org", Uuid::now_v7().simple()),
            phone: None,
            role,
        };
        let (s, _) = accounts::create_staff(&self.state.db, None, new)
            .await
            .expect("staff");
        let tokens = identity::start_session(&self.state, s.id, role, Some(municipality_id))
            .await
            .expect("session");
        Person {
            id: s.id,
            token: tokens.access_token,
        }
    }

    /// A candidate on a consultant's caseload, with a session.
    pub async fn candidate(
        &self,
        municipality_id: Uuid,
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
            language: "da".into(),
            email: None,
            phone: None,
            target_group: "mental_distress".into(),
            readiness: "activity_ready".into(),
            consultant_id: Some(consultant_id),
            external_ref: None,
            referred_on: None,
        };
        let c = candidates::create(&self.state.db, &scope, actor, new)
            .await
            .expect("candidate");
        let tokens = identity::start_session(
            &self.state,
            c.candidate.id,
            Role::Candidate,
            Some(municipality_id),
        )
        .await
        .expect("session");
        Person {
            id: c.candidate.id,
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
        let tokens = identity::start_session(&self.state, id, Role::Admin, None)
            .await
            .expect("session");
        Person {
            id,
            token: tokens.access_token,
        }
    }
}

async fn read(resp: Response) -> Answer {
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
    pub id: Uuid,
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

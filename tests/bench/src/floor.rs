//! The floor: `GET /api/v1/me/plan` answered with the same JSON as ips-server's, by the least work we
//! know how to do — a plain hyper HTTP/1 server that checks the bearer token the same way (EdDSA JWT
//! against the server's published keys, and the session row) and reads everything with ONE SQL
//! statement (one round trip) on ONE connection. It runs as its own process, so its CPU is read from
//! `/proc` exactly like the server's; the ratio of the two is how close the server is to the floor.
use std::{collections::HashMap, convert::Infallible, net::SocketAddr, str::FromStr, sync::Arc};

use bytes::Bytes;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use http_body_util::Full;
use hyper::{Method, Request, Response, StatusCode, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use sea_orm::sqlx::{
    self, AssertSqlSafe, Connection, PgConnection, Row, SqliteConnection,
    postgres::{PgConnectOptions, PgRow},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteRow, SqliteSynchronous},
};
use serde::{Deserialize, Serialize};
use tokio::{net::TcpListener, sync::Mutex};
use uuid::Uuid;

use crate::{load, sql::Result};

/// Options of `ips-bench floor-server`.
#[derive(clap::Args, Clone, Debug)]
pub struct FloorArgs {
    /// The database ips-server uses.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: String,
    /// Where to listen.
    #[arg(long)]
    pub bind: SocketAddr,
    /// The running ips-server, whose `/.well-known/jwks.json` gives the keys to verify tokens with.
    #[arg(long)]
    pub server: SocketAddr,
    /// `iss` the tokens must carry (as ips-server's `IPS_ISSUER`).
    #[arg(long, default_value = "ips-ung")]
    pub issuer: String,
    /// `aud` the tokens must carry (as ips-server's `IPS_AUDIENCE`).
    #[arg(long, default_value = "ips-ung-api")]
    pub audience: String,
}

/// The whole plan in one statement: a UNION ALL of typed rows, `k` saying what each row is (0 the
/// candidate, consultant, course and session check; 1 goals; 2 steps; 3 requests; 4 appointments;
/// 5 due questionnaires; 6 the latest WHO-5; 7 the next network group session). `{u}`,
/// `{s}`, … are NULLs of a type (PostgreSQL wants them typed), `$n` the parameters: candidate, session,
/// now, now − 12 h (the longest appointment, as the server bounds its range).
const PLAN_SQL: &str = "
SELECT 0 AS k, c.id AS id, s.id AS ref, c.given_name AS s1, c.family_name AS s2, c.preferred_name AS s3,
       s.display_name AS s4, s.email AS s5, s.phone AS s6, e.status AS s7, e.phase AS s8,
       {t} AS t1, {t} AS t2, e.started_on AS d1, e.resume_on AS d2, {i} AS n1,
       EXISTS (SELECT 1 FROM sessions x WHERE x.id = $2 AND x.revoked_at IS NULL AND x.expires_at > $3) AS b1
  FROM candidates c
  LEFT JOIN staff s ON s.id = c.consultant_id
  JOIN enrollments e ON e.id = (SELECT y.id FROM enrollments y WHERE y.candidate_id = c.id ORDER BY y.id DESC LIMIT 1)
 WHERE c.id = $1
UNION ALL
SELECT 1, g.id, g.candidate_id, g.title, g.description, g.category, g.status, g.created_by, {s}, {s}, {s},
       g.created_at, g.updated_at, g.target_date, {d}, g.version, {b}
  FROM goals g
 WHERE g.candidate_id = $1 AND g.status IN ('active', 'proposed')
UNION ALL
SELECT 2, st.id, st.goal_id, st.title, {s}, {s}, {s}, {s}, {s}, {s}, {s},
       st.done_at, {t}, {d}, {d}, st.position, st.done
  FROM goal_steps st JOIN goals g ON g.id = st.goal_id
 WHERE g.candidate_id = $1 AND g.status IN ('active', 'proposed')
UNION ALL
SELECT 3, r.id, {u}, r.kind, r.status, {s}, {s}, {s}, {s}, {s}, {s},
       r.created_at, {t}, {d}, {d}, {i}, {b}
  FROM requests r
 WHERE r.candidate_id = $1 AND r.status IN ('open', 'acknowledged')
UNION ALL
SELECT * FROM (
  SELECT 4, a.id, {u}, a.kind, a.title, a.location, a.online_url, a.candidate_response, {s}, {s}, {s},
         a.starts_at, a.ends_at, {d}, {d}, {i}, {b}
    FROM appointments a
   WHERE a.candidate_id = $1 AND a.starts_at > $4 AND a.ends_at > $3 AND a.status = 'scheduled'
   ORDER BY a.starts_at, a.id LIMIT 5) AS next_appointments
UNION ALL
SELECT 5, q.id, {u}, q.questionnaire_key, {s}, {s}, {s}, {s}, {s}, {s}, {s},
       q.due_at, q.closes_at, {d}, {d}, {i}, {b}
  FROM questionnaire_assignments q
 WHERE q.candidate_id = $1 AND q.status = 'open' AND q.due_at <= $3 AND q.closes_at > $3
UNION ALL
SELECT * FROM (
  SELECT 6, w.id, {u}, w.band, {s}, {s}, {s}, {s}, {s}, {s}, {s},
         w.submitted_at, {t}, {d}, {d}, w.score, {b}
    FROM questionnaire_responses w
   WHERE w.candidate_id = $1 AND w.questionnaire_key = 'who5'
   ORDER BY w.id DESC LIMIT 1) AS latest_who5
UNION ALL
SELECT * FROM (
  SELECT 7, ns.id, ns.group_id, ng.name, ng.location, ng.online_url, {s}, {s}, {s}, {s}, {s},
         ns.starts_at, ns.ends_at, {d}, {d}, {i}, {b}
    FROM network_group_sessions ns
    JOIN network_group_members m ON m.group_id = ns.group_id
    JOIN network_groups ng ON ng.id = ns.group_id
   WHERE m.candidate_id = $1 AND m.left_at IS NULL AND ng.active = TRUE AND ns.cancelled = FALSE
     AND ns.ends_at > $3
   ORDER BY ns.starts_at, ns.id LIMIT 1) AS next_group_session
";

/// The plan statement for one backend.
pub fn plan_sql(postgres: bool) -> String {
    let nulls = [
        ("{u}", "NULL::uuid"),
        ("{s}", "NULL::text"),
        ("{t}", "NULL::timestamptz"),
        ("{d}", "NULL::date"),
        ("{i}", "NULL::int4"),
        ("{b}", "NULL::bool"),
    ];
    let mut sql = PLAN_SQL.to_string();
    for (marker, typed) in nulls {
        sql = sql.replace(marker, if postgres { typed } else { "NULL" });
    }
    if !postgres {
        // SQLite's numbered parameters are `?N`.
        for n in 1..=4 {
            sql = sql.replace(&format!("${n}"), &format!("?{n}"));
        }
    }
    sql
}

/// One row of the union.
struct PlanRow {
    k: i32,
    id: Option<Uuid>,
    r#ref: Option<Uuid>,
    s: [Option<String>; 8],
    t1: Option<DateTime<Utc>>,
    t2: Option<DateTime<Utc>>,
    d1: Option<NaiveDate>,
    d2: Option<NaiveDate>,
    n1: Option<i32>,
    b1: Option<bool>,
}

macro_rules! decode_row {
    ($row:expr, $get:ident) => {{
        let r = $row;
        PlanRow {
            k: r.$get::<i32, _>(0)?,
            id: r.$get(1)?,
            r#ref: r.$get(2)?,
            s: [
                r.$get(3)?,
                r.$get(4)?,
                r.$get(5)?,
                r.$get(6)?,
                r.$get(7)?,
                r.$get(8)?,
                r.$get(9)?,
                r.$get(10)?,
            ],
            t1: r.$get(11)?,
            t2: r.$get(12)?,
            d1: r.$get(13)?,
            d2: r.$get(14)?,
            n1: r.$get(15)?,
            b1: r.$get(16)?,
        }
    }};
}

fn sqlite_row(r: &SqliteRow) -> std::result::Result<PlanRow, sqlx::Error> {
    // The declared types of a compound SELECT's columns are the first branch's; the values are what
    // the server stored, so decode them without the declared-type check.
    Ok(decode_row!(r, try_get_unchecked))
}

fn pg_row(r: &PgRow) -> std::result::Result<PlanRow, sqlx::Error> {
    Ok(decode_row!(r, try_get))
}

enum Db {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

impl Db {
    async fn connect(url: &str) -> Result<Self> {
        if url.starts_with("sqlite:") {
            // As ips-server's read connections: WAL, synchronous NORMAL, foreign keys, busy timeout.
            let opts = SqliteConnectOptions::from_str(url)?
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(std::time::Duration::from_secs(10));
            Ok(Db::Sqlite(SqliteConnection::connect_with(&opts).await?))
        } else {
            Ok(Db::Pg(
                PgConnection::connect_with(&PgConnectOptions::from_str(url)?).await?,
            ))
        }
    }

    async fn plan_rows(
        &mut self,
        sql: &Arc<str>,
        candidate: Uuid,
        session: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Vec<PlanRow>> {
        let since = now - Duration::hours(12);
        Ok(match self {
            Db::Sqlite(c) => sqlx::query(AssertSqlSafe(sql.clone()))
                .bind(candidate)
                .bind(session)
                .bind(now)
                .bind(since)
                .fetch_all(c)
                .await?
                .iter()
                .map(sqlite_row)
                .collect::<std::result::Result<_, _>>()?,
            Db::Pg(c) => sqlx::query(AssertSqlSafe(sql.clone()))
                .bind(candidate)
                .bind(session)
                .bind(now)
                .bind(since)
                .fetch_all(c)
                .await?
                .iter()
                .map(pg_row)
                .collect::<std::result::Result<_, _>>()?,
        })
    }
}

#[derive(Deserialize)]
struct Claims {
    sub: Uuid,
    role: String,
    sid: Uuid,
}

struct State {
    db: Mutex<Db>,
    sql: Arc<str>,
    keys: HashMap<String, DecodingKey>,
    validation: Validation,
}

/// Verifies the token as ips-server does: EdDSA only, known `kid`, `iss`, `aud`, `exp` and `nbf`
/// with 30 s leeway, the same required claims.
fn verify(state: &State, token: &str) -> Option<Claims> {
    let header = jsonwebtoken::decode_header(token).ok()?;
    if header.alg != Algorithm::EdDSA {
        return None;
    }
    let key = state.keys.get(header.kid.as_deref()?)?;
    jsonwebtoken::decode::<Claims>(token, key, &state.validation)
        .ok()
        .map(|d| d.claims)
}

/// Serves until killed.
pub async fn serve(args: FloorArgs) -> Result<()> {
    let (status, body) = load::once(
        args.server,
        Method::GET,
        "/.well-known/jwks.json",
        None,
        None,
    )
    .await?;
    if !status.is_success() {
        return Err(format!("GET /.well-known/jwks.json answered {status}").into());
    }
    let jwks: serde_json::Value = serde_json::from_slice(&body)?;
    let mut keys = HashMap::new();
    for k in jwks["keys"].as_array().into_iter().flatten() {
        if let (Some(kid), Some(x)) = (k["kid"].as_str(), k["x"].as_str()) {
            keys.insert(kid.to_string(), DecodingKey::from_ed_components(x)?);
        }
    }
    if keys.is_empty() {
        return Err("the server publishes no keys".into());
    }
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.algorithms = vec![Algorithm::EdDSA];
    validation.leeway = 30;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.set_audience(&[args.audience.as_str()]);
    validation.set_issuer(&[args.issuer.as_str()]);
    validation.set_required_spec_claims(&["iss", "aud", "sub", "exp", "nbf", "iat"]);
    let db = Db::connect(&args.database_url).await?;
    let postgres = matches!(db, Db::Pg(_));
    let state = Arc::new(State {
        db: Mutex::new(db),
        sql: plan_sql(postgres).into(),
        keys,
        validation,
    });
    let listener = TcpListener::bind(args.bind).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(state.clone(), req));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn reply(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(hyper::header::CACHE_CONTROL, "no-store")
        .body(Full::new(body.into()))
        .expect("a valid response")
}

async fn handle(
    state: Arc<State>,
    req: Request<hyper::body::Incoming>,
) -> std::result::Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path();
    if path == "/healthz" {
        return Ok(reply(StatusCode::OK, "{}"));
    }
    if path != "/api/v1/me/plan" || req.method() != Method::GET {
        return Ok(reply(StatusCode::NOT_FOUND, "{}"));
    }
    let token = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(claims) = token.and_then(|t| verify(&state, t)) else {
        return Ok(reply(StatusCode::UNAUTHORIZED, "{}"));
    };
    if claims.role != "candidate" {
        return Ok(reply(StatusCode::FORBIDDEN, "{}"));
    }
    let rows = {
        let mut db = state.db.lock().await;
        db.plan_rows(&state.sql, claims.sub, claims.sid, Utc::now())
            .await
    };
    Ok(match rows.map(build) {
        Ok(Some(Built::Plan(plan))) => match serde_json::to_vec(&plan) {
            Ok(body) => reply(StatusCode::OK, body),
            Err(_) => reply(StatusCode::INTERNAL_SERVER_ERROR, "{}"),
        },
        Ok(Some(Built::SessionEnded)) => reply(StatusCode::UNAUTHORIZED, "{}"),
        Ok(None) => reply(StatusCode::NOT_FOUND, "{}"),
        Err(e) => reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            serde_json::json!({ "detail": e.to_string() }).to_string(),
        ),
    })
}

// The response, field for field as ips-server's `Plan` (api/src/routes/plan.rs).

#[derive(Serialize)]
struct Plan {
    candidate: PlanCandidate,
    consultant: Option<PlanConsultant>,
    course: PlanCourse,
    goals: Vec<Goal>,
    proposed_goals: Vec<Goal>,
    next_appointments: Vec<PlanAppointment>,
    due_questionnaires: Vec<PlanQuestionnaire>,
    latest_wellbeing: Option<PlanWellbeing>,
    open_requests: Vec<PlanRequest>,
    next_network_group_session: Option<PlanGroupSession>,
}

#[derive(Serialize)]
struct PlanGroupSession {
    id: Uuid,
    network_group_id: Uuid,
    name: String,
    starts_at: String,
    ends_at: String,
    location: Option<String>,
    online_url: Option<String>,
}

#[derive(Serialize)]
struct PlanCandidate {
    id: Uuid,
    given_name: String,
    family_name: String,
    display_name: String,
}

#[derive(Serialize)]
struct PlanConsultant {
    id: Uuid,
    display_name: String,
    email: Option<String>,
    phone: Option<String>,
}

#[derive(Serialize)]
struct PlanCourse {
    status: String,
    phase: Option<String>,
    started_on: Option<NaiveDate>,
    resume_on: Option<NaiveDate>,
}

#[derive(Serialize)]
struct Goal {
    id: Uuid,
    candidate_id: Uuid,
    title: String,
    description: Option<String>,
    category: String,
    status: String,
    created_by: String,
    target_date: Option<NaiveDate>,
    steps: Vec<Step>,
    progress: i32,
    version: i32,
    created_at: String,
    updated_at: String,
}

#[derive(Serialize)]
struct Step {
    id: Uuid,
    title: String,
    done: bool,
    done_at: Option<String>,
    position: i32,
    #[serde(skip)]
    goal_id: Uuid,
}

#[derive(Serialize)]
struct PlanAppointment {
    id: Uuid,
    kind: String,
    title: String,
    starts_at: String,
    ends_at: String,
    location: Option<String>,
    online_url: Option<String>,
    candidate_response: String,
    #[serde(skip)]
    sort: (DateTime<Utc>, Uuid),
}

#[derive(Serialize)]
struct PlanQuestionnaire {
    assignment_id: Uuid,
    questionnaire: String,
    due_at: String,
    closes_at: String,
    #[serde(skip)]
    sort: DateTime<Utc>,
}

#[derive(Serialize)]
struct PlanWellbeing {
    score: i32,
    band: String,
    answered_at: String,
}

#[derive(Serialize)]
struct PlanRequest {
    id: Uuid,
    kind: String,
    status: String,
    created_at: String,
}

enum Built {
    Plan(Box<Plan>),
    SessionEnded,
}

/// RFC 3339 as poem-openapi writes a `DateTime<Utc>`.
fn ts(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.to_rfc3339()).unwrap_or_default()
}

fn text(s: &mut Option<String>) -> String {
    s.take().unwrap_or_default()
}

/// The server's enums parse stored strings with these fallbacks (api/src/domain/…).
fn course_status(s: &str) -> String {
    match s {
        "referred" | "active" | "paused" | "aftercare" | "completed" | "stopped" => s,
        _ => "referred",
    }
    .to_string()
}

fn goal_status(s: &str) -> String {
    match s {
        "proposed" | "achieved" | "abandoned" => s,
        _ => "active",
    }
    .to_string()
}

fn category(s: &str) -> String {
    match s {
        "job" | "education" | "everyday_life" | "social" | "health" => s,
        _ => "other",
    }
    .to_string()
}

fn build(rows: Vec<PlanRow>) -> Option<Built> {
    let mut head = None;
    let mut goals = Vec::new();
    let mut steps = Vec::new();
    let mut requests = Vec::new();
    let mut appointments = Vec::new();
    let mut due = Vec::new();
    let mut wellbeing = None;
    let mut group_session = None;
    let mut course_runs = false;
    for mut r in rows {
        match r.k {
            0 => {
                if r.b1 != Some(true) {
                    return Some(Built::SessionEnded);
                }
                let status = text(&mut r.s[6]);
                course_runs = matches!(status.as_str(), "referred" | "active" | "aftercare");
                let given_name = text(&mut r.s[0]);
                head = Some((
                    PlanCandidate {
                        id: r.id?,
                        display_name: r.s[2].take().unwrap_or_else(|| given_name.clone()),
                        given_name,
                        family_name: text(&mut r.s[1]),
                    },
                    r.r#ref.map(|id| PlanConsultant {
                        id,
                        display_name: text(&mut r.s[3]),
                        email: r.s[4].take(),
                        phone: r.s[5].take(),
                    }),
                    PlanCourse {
                        status: course_status(&status),
                        phase: r.s[7].take().filter(|p| p == "start" || p == "middle"),
                        started_on: r.d1,
                        resume_on: r.d2,
                    },
                ));
            }
            1 => goals.push(Goal {
                id: r.id?,
                candidate_id: r.r#ref?,
                title: text(&mut r.s[0]),
                description: r.s[1].take(),
                category: category(&text(&mut r.s[2])),
                status: goal_status(&text(&mut r.s[3])),
                created_by: text(&mut r.s[4]),
                target_date: r.d1,
                steps: Vec::new(),
                progress: 0,
                version: r.n1.unwrap_or_default(),
                created_at: ts(r.t1),
                updated_at: ts(r.t2),
            }),
            2 => steps.push(Step {
                id: r.id?,
                goal_id: r.r#ref?,
                title: text(&mut r.s[0]),
                done: r.b1.unwrap_or_default(),
                done_at: r.t1.map(|t| t.to_rfc3339()),
                position: r.n1.unwrap_or_default(),
            }),
            3 => requests.push(PlanRequest {
                id: r.id?,
                kind: text(&mut r.s[0]),
                status: text(&mut r.s[1]),
                created_at: ts(r.t1),
            }),
            4 => appointments.push(PlanAppointment {
                id: r.id?,
                kind: text(&mut r.s[0]),
                title: text(&mut r.s[1]),
                location: r.s[2].take(),
                online_url: r.s[3].take(),
                candidate_response: text(&mut r.s[4]),
                starts_at: ts(r.t1),
                ends_at: ts(r.t2),
                sort: (r.t1?, r.id?),
            }),
            5 => due.push(PlanQuestionnaire {
                assignment_id: r.id?,
                questionnaire: text(&mut r.s[0]),
                due_at: ts(r.t1),
                closes_at: ts(r.t2),
                sort: r.t1?,
            }),
            6 => {
                wellbeing = Some(PlanWellbeing {
                    score: r.n1.unwrap_or_default(),
                    band: text(&mut r.s[0]),
                    answered_at: ts(r.t1),
                })
            }
            7 => {
                group_session = Some(PlanGroupSession {
                    id: r.id?,
                    network_group_id: r.r#ref?,
                    name: text(&mut r.s[0]),
                    starts_at: ts(r.t1),
                    ends_at: ts(r.t2),
                    location: r.s[1].take(),
                    online_url: r.s[2].take(),
                })
            }
            _ => {}
        }
    }
    let (candidate, consultant, course) = head?;
    // The order the server's queries give: goals, steps (by goal, position), requests by id;
    // appointments by start; assignments by due date.
    goals.sort_by_key(|g| g.id);
    steps.sort_by_key(|s| (s.goal_id, s.position));
    requests.sort_by_key(|r| r.id);
    appointments.sort_by_key(|a| a.sort);
    due.sort_by_key(|d| d.sort);
    for s in steps {
        if let Some(g) = goals.iter_mut().find(|g| g.id == s.goal_id) {
            g.steps.push(s);
        }
    }
    for g in &mut goals {
        let done = g.steps.iter().filter(|s| s.done).count();
        g.progress = match (g.status.as_str(), g.steps.len()) {
            ("achieved", _) => 100,
            (_, 0) => 0,
            (_, n) => (done * 100 / n) as i32,
        };
    }
    let (proposed_goals, goals) = goals.into_iter().partition(|g| g.status == "proposed");
    Some(Built::Plan(Box::new(Plan {
        candidate,
        consultant,
        course,
        goals,
        proposed_goals,
        next_appointments: appointments,
        due_questionnaires: if course_runs { due } else { Vec::new() },
        latest_wellbeing: wellbeing,
        open_requests: requests,
        next_network_group_session: group_session,
    })))
}

/// The first place where two JSON documents differ, as a path (`None` when they are equal).
pub fn first_difference(a: &serde_json::Value, b: &serde_json::Value) -> Option<String> {
    use serde_json::Value::*;
    match (a, b) {
        (Object(x), Object(y)) => {
            let mut keys: Vec<&std::string::String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|k| match (x.get(k), y.get(k)) {
                (Some(p), Some(q)) => first_difference(p, q).map(|d| format!(".{k}{d}")),
                (p, q) => Some(format!(".{k}: {p:?} vs {q:?}")),
            })
        }
        (Array(x), Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| first_difference(p, q).map(|d| format!("[{i}]{d}"))),
        _ if a == b => None,
        _ => Some(format!(": {a} vs {b}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn differences_are_located() {
        let a = json!({"a": [1, {"b": "x"}], "c": null});
        assert_eq!(first_difference(&a, &a.clone()), None);
        let b = json!({"a": [1, {"b": "y"}], "c": null});
        assert_eq!(
            first_difference(&a, &b).as_deref(),
            Some(".a[1].b: \"x\" vs \"y\"")
        );
        let c = json!({"a": [1, {"b": "x"}]});
        assert!(first_difference(&a, &c).unwrap().starts_with(".c"));
    }

    #[test]
    fn statements_per_backend() {
        let pg = plan_sql(true);
        assert!(pg.contains("NULL::uuid") && pg.contains("$4") && !pg.contains('{'));
        let lite = plan_sql(false);
        assert!(lite.contains("?4") && !lite.contains('$') && !lite.contains("::"));
    }
}

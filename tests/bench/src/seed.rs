//! Fast seeding straight into the tables, in big transactions, at any size.
//!
//! The schema comes from the server itself (`ips-server migrate`), never from here. The rows follow the
//! server's invariants as its domain code writes them: UUIDv7 ids in creation order, `version` 1 (2 for
//! a course that moved from `referred` to `active`), the stored strings of every status, a course with
//! its history, one event counter per municipality, open assignments with `closes_at` 4 days after
//! `due_at`, an inbox item for each open request, WHO-5 scores and bands computed from the instrument
//! data in the database. Every login shares one argon2id hash of [`PASSWORD`], computed once with the
//! server's parameters.
use std::time::Instant;

use argon2::{
    Algorithm, Argon2, Params, PasswordHasher, Version,
    password_hash::{SaltString, rand_core::OsRng},
};
use chrono::{DateTime, Datelike, Duration, DurationRound, Utc};
use uuid::Uuid;

use crate::sql::{Conn, Kind, Result, Table, V};

/// The password of every seeded login.
pub const PASSWORD: &str = "bench-password-2026";

/// The username of candidate `i` (0-based; the first `active` ones have a lived-in plan).
pub fn candidate_username(i: usize) -> String {
    format!("bench.c{i}")
}

/// The username of municipality `m`'s coordinator.
pub fn coordinator_username(m: usize) -> String {
    format!("bench.coordinator{m}")
}

/// How much to seed.
#[derive(clap::Args, Clone, Debug)]
pub struct Size {
    /// Municipalities (each gets a coordinator and its share of consultants and candidates).
    #[arg(long, default_value_t = 1)]
    pub municipalities: usize,
    /// Candidates in all, spread over the municipalities; each has a login and an active course.
    #[arg(long, default_value_t = 2_000)]
    pub candidates: usize,
    /// Candidates per consultant.
    #[arg(long, default_value_t = 20)]
    pub caseload: usize,
    /// The first N candidates have a lived-in plan (these are the ones the benchmark logs in).
    #[arg(long, default_value_t = 100)]
    pub active: usize,
    /// Goals of each active candidate (the last one proposed by staff, the others active).
    #[arg(long, default_value_t = 5)]
    pub goals: usize,
    /// Steps of each goal (the first one done).
    #[arg(long, default_value_t = 4)]
    pub steps: usize,
    /// Upcoming appointments of each active candidate (one a day from tomorrow).
    #[arg(long, default_value_t = 10)]
    pub appointments: usize,
    /// WHO-5 responses of each active candidate (every two weeks, with their answers).
    #[arg(long, default_value_t = 10)]
    pub who5: usize,
    /// Due questionnaire assignments of each active candidate (at most 5: motivation, energy,
    /// self_efficacy, loneliness, burden — one open per questionnaire, as the server allows).
    #[arg(long, default_value_t = 3)]
    pub due: usize,
    /// Every Nth active candidate has an open pause request (0: none).
    #[arg(long, default_value_t = 10)]
    pub pause_every: usize,
    /// Every Nth active candidate is in their municipality's network group (one group per
    /// municipality, a session a week for 8 weeks from tomorrow; 0: no groups).
    #[arg(long, default_value_t = 2)]
    pub group_every: usize,
    /// Past WHO-5 responses of every candidate (history, older than the active candidates' own).
    #[arg(long, default_value_t = 0)]
    pub history_responses: usize,
    /// Past (completed) appointments of every candidate.
    #[arg(long, default_value_t = 0)]
    pub history_appointments: usize,
    /// The large dataset: 100,000 candidates, 30 past WHO-5 responses and 10 past appointments each
    /// (3,000,000 responses with 15,000,000 answers, 1,000,000 appointments), on top of the rest.
    #[arg(long)]
    pub scale: bool,
}

impl Size {
    /// The sizes with `--scale` applied.
    pub fn resolved(&self) -> Size {
        let mut s = self.clone();
        if s.scale {
            s.candidates = s.candidates.max(100_000);
            s.history_responses = s.history_responses.max(30);
            s.history_appointments = s.history_appointments.max(10);
        }
        s.active = s.active.min(s.candidates);
        s.due = s.due.min(DUE_KEYS.len());
        s.municipalities = s.municipalities.max(1);
        s
    }

    pub fn consultants_per_municipality(&self) -> usize {
        let per = self.candidates.div_ceil(self.municipalities);
        per.div_ceil(self.caseload.max(1)).max(1)
    }
}

/// What the seed made, for the benchmark to log in with.
pub struct Seeded {
    pub municipalities: Vec<Uuid>,
    pub candidates: usize,
    pub active: usize,
    pub rows: u64,
    pub seconds: f64,
}

const DUE_KEYS: [&str; 5] = [
    "motivation",
    "energy",
    "self_efficacy",
    "loneliness",
    "burden",
];

const MUNICIPALITIES: Table = Table {
    name: "municipalities",
    cols: &[
        ("id", Kind::Uuid),
        ("name", Kind::Text),
        ("code", Kind::Text),
        ("settings", Kind::Text),
        ("version", Kind::I32),
        ("created_at", Kind::Ts),
        ("updated_at", Kind::Ts),
    ],
};
const EVENT_COUNTERS: Table = Table {
    name: "event_counters",
    cols: &[("municipality_id", Kind::Uuid), ("last_seq", Kind::I64)],
};
const STAFF: Table = Table {
    name: "staff",
    cols: &[
        ("id", Kind::Uuid),
        ("municipality_id", Kind::Uuid),
        ("role", Kind::Text),
        ("display_name", Kind::Text),
        ("email", Kind::Text),
        ("phone", Kind::Text),
        ("active", Kind::Bool),
        ("version", Kind::I32),
        ("created_at", Kind::Ts),
        ("updated_at", Kind::Ts),
    ],
};
const CREDENTIALS: Table = Table {
    name: "credentials",
    cols: &[
        ("principal_id", Kind::Uuid),
        ("username", Kind::Text),
        ("password_hash", Kind::Text),
        ("role", Kind::Text),
        ("municipality_id", Kind::Uuid),
        ("created_at", Kind::Ts),
        ("updated_at", Kind::Ts),
    ],
};
const CANDIDATES: Table = Table {
    name: "candidates",
    cols: &[
        ("id", Kind::Uuid),
        ("municipality_id", Kind::Uuid),
        ("given_name", Kind::Text),
        ("family_name", Kind::Text),
        ("preferred_name", Kind::Text),
        ("birth_year", Kind::I32),
        ("language", Kind::Text),
        ("email", Kind::Text),
        ("phone", Kind::Text),
        ("target_group", Kind::Text),
        ("readiness", Kind::Text),
        ("consultant_id", Kind::Uuid),
        ("external_ref", Kind::Text),
        ("status", Kind::Text),
        ("version", Kind::I32),
        ("created_at", Kind::Ts),
        ("updated_at", Kind::Ts),
    ],
};
const ENROLLMENTS: Table = Table {
    name: "enrollments",
    cols: &[
        ("id", Kind::Uuid),
        ("candidate_id", Kind::Uuid),
        ("municipality_id", Kind::Uuid),
        ("status", Kind::Text),
        ("phase", Kind::Text),
        ("referred_on", Kind::Date),
        ("started_on", Kind::Date),
        ("ended_on", Kind::Date),
        ("first_employer_contact_on", Kind::Date),
        ("outcome", Kind::Text),
        ("resume_on", Kind::Date),
        ("last_effective_on", Kind::Date),
        ("resume_notified_on", Kind::Date),
        ("version", Kind::I32),
        ("created_at", Kind::Ts),
        ("updated_at", Kind::Ts),
    ],
};
const TRANSITIONS: Table = Table {
    name: "enrollment_transitions",
    cols: &[
        ("id", Kind::Uuid),
        ("enrollment_id", Kind::Uuid),
        ("from_status", Kind::Text),
        ("to_status", Kind::Text),
        ("effective_on", Kind::Date),
        ("recorded_at", Kind::Ts),
        ("by_id", Kind::Uuid),
        ("by_role", Kind::Text),
        ("reason", Kind::Text),
        ("request_id", Kind::Uuid),
    ],
};
const GOALS: Table = Table {
    name: "goals",
    cols: &[
        ("id", Kind::Uuid),
        ("candidate_id", Kind::Uuid),
        ("municipality_id", Kind::Uuid),
        ("title", Kind::Text),
        ("description", Kind::Text),
        ("category", Kind::Text),
        ("status", Kind::Text),
        ("created_by", Kind::Text),
        ("target_date", Kind::Date),
        ("version", Kind::I32),
        ("created_at", Kind::Ts),
        ("updated_at", Kind::Ts),
    ],
};
const GOAL_STEPS: Table = Table {
    name: "goal_steps",
    cols: &[
        ("id", Kind::Uuid),
        ("goal_id", Kind::Uuid),
        ("title", Kind::Text),
        ("done", Kind::Bool),
        ("done_at", Kind::Ts),
        ("position", Kind::I32),
        ("created_at", Kind::Ts),
    ],
};
const APPOINTMENTS: Table = Table {
    name: "appointments",
    cols: &[
        ("id", Kind::Uuid),
        ("candidate_id", Kind::Uuid),
        ("municipality_id", Kind::Uuid),
        ("kind", Kind::Text),
        ("title", Kind::Text),
        ("starts_at", Kind::Ts),
        ("ends_at", Kind::Ts),
        ("location", Kind::Text),
        ("online_url", Kind::Text),
        ("note_for_candidate", Kind::Text),
        ("status", Kind::Text),
        ("cancel_reason", Kind::Text),
        ("candidate_response", Kind::Text),
        ("response_message", Kind::Text),
        ("responded_at", Kind::Ts),
        ("sequence", Kind::I32),
        ("reminded_at", Kind::Ts),
        ("created_by", Kind::Uuid),
        ("version", Kind::I32),
        ("created_at", Kind::Ts),
        ("updated_at", Kind::Ts),
    ],
};
const ASSIGNMENTS: Table = Table {
    name: "questionnaire_assignments",
    cols: &[
        ("id", Kind::Uuid),
        ("municipality_id", Kind::Uuid),
        ("candidate_id", Kind::Uuid),
        ("questionnaire_key", Kind::Text),
        ("series_id", Kind::Uuid),
        ("due_at", Kind::Ts),
        ("closes_at", Kind::Ts),
        ("repeat_every_days", Kind::I32),
        ("status", Kind::Text),
        ("response_id", Kind::Uuid),
        ("notified_at", Kind::Ts),
        ("reminded_at", Kind::Ts),
        ("closed_at", Kind::Ts),
        ("created_by", Kind::Uuid),
        ("version", Kind::I32),
        ("created_at", Kind::Ts),
        ("updated_at", Kind::Ts),
    ],
};
const RESPONSES: Table = Table {
    name: "questionnaire_responses",
    cols: &[
        ("id", Kind::Uuid),
        ("municipality_id", Kind::Uuid),
        ("candidate_id", Kind::Uuid),
        ("questionnaire_key", Kind::Text),
        ("version", Kind::I32),
        ("assignment_id", Kind::Uuid),
        ("raw_score", Kind::I32),
        ("score", Kind::I32),
        ("band", Kind::Text),
        ("alert", Kind::Bool),
        ("submitted_at", Kind::Ts),
    ],
};
const ANSWERS: Table = Table {
    name: "questionnaire_answers",
    cols: &[
        ("response_id", Kind::Uuid),
        ("item_key", Kind::Text),
        ("position", Kind::I32),
        ("value", Kind::I32),
    ],
};
const REQUESTS: Table = Table {
    name: "requests",
    cols: &[
        ("id", Kind::Uuid),
        ("candidate_id", Kind::Uuid),
        ("municipality_id", Kind::Uuid),
        ("enrollment_id", Kind::Uuid),
        ("kind", Kind::Text),
        ("status", Kind::Text),
        ("reason", Kind::Text),
        ("resume_on", Kind::Date),
        ("note", Kind::Text),
        ("created_at", Kind::Ts),
        ("acknowledged_at", Kind::Ts),
        ("acknowledged_by", Kind::Uuid),
        ("closed_at", Kind::Ts),
        ("closed_by", Kind::Uuid),
        ("overdue_at", Kind::Ts),
        ("version", Kind::I32),
    ],
};
const NETWORK_GROUPS: Table = Table {
    name: "network_groups",
    cols: &[
        ("id", Kind::Uuid),
        ("municipality_id", Kind::Uuid),
        ("name", Kind::Text),
        ("weekday", Kind::I32),
        ("starts_at", Kind::Text),
        ("duration_minutes", Kind::I32),
        ("location", Kind::Text),
        ("online_url", Kind::Text),
        ("active", Kind::Bool),
        ("version", Kind::I32),
        ("created_at", Kind::Ts),
        ("updated_at", Kind::Ts),
    ],
};
const GROUP_FACILITATORS: Table = Table {
    name: "network_group_facilitators",
    cols: &[("group_id", Kind::Uuid), ("staff_id", Kind::Uuid)],
};
const GROUP_SESSIONS: Table = Table {
    name: "network_group_sessions",
    cols: &[
        ("id", Kind::Uuid),
        ("group_id", Kind::Uuid),
        ("municipality_id", Kind::Uuid),
        ("starts_at", Kind::Ts),
        ("ends_at", Kind::Ts),
        ("topic", Kind::Text),
        ("cancelled", Kind::Bool),
        ("version", Kind::I32),
        ("created_at", Kind::Ts),
        ("updated_at", Kind::Ts),
    ],
};
const GROUP_MEMBERS: Table = Table {
    name: "network_group_members",
    cols: &[
        ("id", Kind::Uuid),
        ("group_id", Kind::Uuid),
        ("candidate_id", Kind::Uuid),
        ("joined_at", Kind::Ts),
        ("left_at", Kind::Ts),
        ("current", Kind::Bool),
    ],
};
const INBOX: Table = Table {
    name: "inbox_items",
    cols: &[
        ("id", Kind::Uuid),
        ("municipality_id", Kind::Uuid),
        ("candidate_id", Kind::Uuid),
        ("kind", Kind::Text),
        ("ref_id", Kind::Uuid),
        ("audience", Kind::Text),
        ("created_at", Kind::Ts),
        ("resolved_at", Kind::Ts),
    ],
};

/// A UUIDv7 for a row created at `at`, as `Uuid::now_v7()` would have made it then.
fn v7(at: DateTime<Utc>) -> Uuid {
    let ts = uuid::Timestamp::from_unix(
        uuid::NoContext,
        at.timestamp() as u64,
        at.timestamp_subsec_nanos(),
    );
    Uuid::new_v7(ts)
}

/// The argon2id hash every seeded login shares, with the server's parameters (12 MiB, t=3, p=1; kept
/// the same as `api/src/domain/passwords.rs`): with others, each login's first would remake its hash.
pub fn password_hash() -> Result<String> {
    let params = Params::new(12 * 1024, 3, 1, None).map_err(|e| e.to_string())?;
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(PASSWORD.as_bytes(), &salt)
        .map_err(|e| e.to_string())?
        .to_string())
}

/// The WHO-5 instrument as the migrations stored it.
struct Who5 {
    version: i32,
    items: Vec<String>,
    /// (band key, min score, max score)
    bands: Vec<(String, i32, i32)>,
}

impl Who5 {
    async fn load(conn: &mut Conn) -> Result<Self> {
        let version: i32 = conn
            .texts("SELECT CAST(MAX(version) AS TEXT) FROM questionnaire_versions WHERE questionnaire_key = 'who5'")
            .await?
            .first()
            .and_then(|v| v.parse().ok())
            .ok_or("the database has no WHO-5 definition: did the migrations run?")?;
        let items = conn
            .texts(&format!(
                "SELECT item_key FROM questionnaire_items WHERE questionnaire_key = 'who5' AND version = {version} ORDER BY position"
            ))
            .await?;
        let bands = conn
            .texts(&format!(
                "SELECT band_key || ':' || CAST(min_score AS TEXT) || ':' || CAST(max_score AS TEXT) FROM questionnaire_bands WHERE questionnaire_key = 'who5' AND version = {version} ORDER BY position"
            ))
            .await?
            .iter()
            .filter_map(|b| {
                let mut p = b.split(':');
                Some((
                    p.next()?.to_string(),
                    p.next()?.parse().ok()?,
                    p.next()?.parse().ok()?,
                ))
            })
            .collect();
        Ok(Self {
            version,
            items,
            bands,
        })
    }

    fn band(&self, score: i32) -> Option<String> {
        self.bands
            .iter()
            .find(|(_, min, max)| (*min..=*max).contains(&score))
            .map(|(k, _, _)| k.clone())
    }

    /// A response with answers whose raw score is `raw` (spread over the items), and its answers.
    fn response(
        &self,
        id: Uuid,
        municipality_id: Uuid,
        candidate_id: Uuid,
        raw: i32,
        at: DateTime<Utc>,
        answers: &mut Vec<Vec<V>>,
    ) -> Vec<V> {
        let n = self.items.len() as i32;
        for (i, item) in self.items.iter().enumerate() {
            let i = i as i32;
            let value = raw / n + i32::from(i < raw % n);
            answers.push(vec![
                id.into(),
                item.as_str().into(),
                i.into(),
                value.into(),
            ]);
        }
        let score = raw * 4;
        vec![
            id.into(),
            municipality_id.into(),
            candidate_id.into(),
            "who5".into(),
            self.version.into(),
            V::Null,
            raw.into(),
            score.into(),
            self.band(score).into(),
            false.into(),
            at.into(),
        ]
    }
}

/// Runs `ips-server migrate` against the database (the schema always comes from the server).
pub async fn migrate(server_bin: &std::path::Path, database_url: &str) -> Result<()> {
    let out = tokio::process::Command::new(server_bin)
        .arg("migrate")
        .env("DATABASE_URL", database_url)
        .env("IPS_LOG", "warn")
        .env("IPS_LOG_FORMAT", "text")
        .output()
        .await
        .map_err(|e| format!("starting {}: {e}", server_bin.display()))?;
    if !out.status.success() {
        return Err(format!(
            "ips-server migrate failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(())
}

/// Writes the rows in batches and commits every so often, so a large seed never holds everything in
/// memory or in one transaction.
struct Writer {
    conn: Conn,
    rows: u64,
    since_commit: u64,
}

impl Writer {
    async fn put(&mut self, table: &Table, rows: &mut Vec<Vec<V>>) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        self.conn
            .insert(table, rows)
            .await
            .map_err(|e| format!("inserting into {}: {e}", table.name))?;
        self.rows += rows.len() as u64;
        self.since_commit += rows.len() as u64;
        rows.clear();
        if self.since_commit >= 500_000 {
            self.conn.exec("COMMIT; BEGIN").await?;
            self.since_commit = 0;
        }
        Ok(())
    }
}

/// Seeds the (migrated, empty) database.
pub async fn seed(database_url: &str, size: &Size, hash: &str) -> Result<Seeded> {
    let started = Instant::now();
    let size = size.resolved();
    let mut conn = Conn::connect(database_url).await?;
    let existing = conn
        .texts("SELECT CAST(COUNT(*) AS TEXT) FROM municipalities")
        .await?;
    if existing.first().map(String::as_str) != Some("0") {
        return Err("the database is not empty: seed a fresh one".into());
    }
    let who5 = Who5::load(&mut conn).await?;
    if conn.is_pg() {
        conn.exec("SET synchronous_commit = off").await?;
    } else {
        // A seed that fails is thrown away, so nothing needs to survive a crash half-way; the
        // server's own setting (WAL) is put back at the end.
        conn.exec("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -1000000; PRAGMA temp_store = MEMORY")
            .await?;
    }
    conn.exec("BEGIN").await?;
    let mut w = Writer {
        conn,
        rows: 0,
        since_commit: 0,
    };

    let now = Utc::now()
        .duration_trunc(Duration::seconds(1))
        .unwrap_or_else(|_| Utc::now());
    let today = now.date_naive();
    // Everything was created over the last 90 days, in id order.
    let epoch = now - Duration::days(90);
    let referred_on = today - Duration::days(90);
    let started_on = today - Duration::days(83);

    // Municipalities, their event counters, coordinators and consultants.
    let per_m = size.consultants_per_municipality();
    let mut municipalities = Vec::new();
    let mut coordinators = Vec::new();
    let mut consultants: Vec<Vec<Uuid>> = Vec::new();
    let (mut rows, mut counters, mut staff, mut creds) = (vec![], vec![], vec![], vec![]);
    let settings = r#"{"min_age":15,"max_age":29,"caseload_hard_limit":null,"retention_years":5}"#;
    for m in 0..size.municipalities {
        let at = epoch + Duration::milliseconds(m as i64);
        let id = v7(at);
        municipalities.push(id);
        rows.push(vec![
            id.into(),
            format!("Bench Kommune {m}").into(),
            format!("{:03}", 100 + m).into(),
            settings.into(),
            1.into(),
            at.into(),
            at.into(),
        ]);
        counters.push(vec![id.into(), 0i64.into()]);
        let mut mine = Vec::new();
        for s in 0..=per_m {
            let at =
                epoch + Duration::seconds(1) + Duration::milliseconds((m * (per_m + 1) + s) as i64);
            let sid = v7(at);
            let (role, name, username) = if s == 0 {
                coordinators.push(sid);
                (
                    "coordinator",
                    format!("Koordinator {m}"),
                    coordinator_username(m),
                )
            } else {
                mine.push(sid);
                (
                    "consultant",
                    format!("Konsulent {m}.{s}"),
                    format!("bench.consultant{m}.{s}"),
                )
            };
            staff.push(vec![
                sid.into(),
                id.into(),
                role.into(),
                name.into(),
                format!("{username}@bench.invalid").into(),
                "+45 12 34 56 78".into(),
                true.into(),
                1.into(),
                at.into(),
                at.into(),
            ]);
            creds.push(vec![
                sid.into(),
                username.into(),
                hash.into(),
                role.into(),
                id.into(),
                at.into(),
                at.into(),
            ]);
        }
        consultants.push(mine);
    }
    w.put(&MUNICIPALITIES, &mut rows).await?;
    w.put(&EVENT_COUNTERS, &mut counters).await?;
    w.put(&STAFF, &mut staff).await?;
    w.put(&CREDENTIALS, &mut creds).await?;

    // One network group per municipality, run by its first consultant, with a session a week for
    // eight weeks from tomorrow (the server's jobs tick, off during a run, would make these).
    let mut groups = Vec::new();
    if size.group_every > 0 {
        let (mut rows, mut facilitators, mut sessions) = (vec![], vec![], vec![]);
        for (m, &mid) in municipalities.iter().enumerate() {
            let at = epoch + Duration::seconds(30) + Duration::milliseconds(m as i64);
            let gid = v7(at);
            groups.push(gid);
            rows.push(vec![
                gid.into(),
                mid.into(),
                "Torsdagsgruppen".into(),
                4.into(),
                "16:00".into(),
                90.into(),
                "Jobcentret, lokale 2".into(),
                V::Null,
                true.into(),
                1.into(),
                at.into(),
                at.into(),
            ]);
            facilitators.push(vec![gid.into(), consultants[m][0].into()]);
            for week in 0..8 {
                let starts = now + Duration::days(1 + 7 * week);
                sessions.push(vec![
                    v7(at + Duration::milliseconds(1 + week)).into(),
                    gid.into(),
                    mid.into(),
                    starts.into(),
                    (starts + Duration::minutes(90)).into(),
                    V::Null,
                    false.into(),
                    1.into(),
                    at.into(),
                    at.into(),
                ]);
            }
        }
        w.put(&NETWORK_GROUPS, &mut rows).await?;
        w.put(&GROUP_FACILITATORS, &mut facilitators).await?;
        w.put(&GROUP_SESSIONS, &mut sessions).await?;
    }

    // Candidates with their login and active course, a few thousand at a time.
    let birth_year = today.year() - 20;
    let mut b = Batch::default();
    // (candidate id, municipality id, consultant id) of every candidate, for the history pass.
    let mut who: Vec<(Uuid, Uuid, Uuid)> = Vec::with_capacity(size.candidates);
    for i in 0..size.candidates {
        let m = i % size.municipalities;
        let mid = municipalities[m];
        let consultant = consultants[m][(i / size.municipalities) % consultants[m].len()];
        let coordinator = coordinators[m];
        // Creation times 1 ms apart keep the ids in creation order.
        let created = epoch + Duration::minutes(1) + Duration::milliseconds(i as i64);
        let cid = v7(created);
        who.push((cid, mid, consultant));
        b.candidates.push(vec![
            cid.into(),
            mid.into(),
            format!("Kandidat{i}").into(),
            format!("Efternavn{}", i % 97).into(),
            (i % 3 == 0).then(|| format!("K{i}")).into(),
            (birth_year - (i % 8) as i32).into(),
            "da".into(),
            V::Null,
            V::Null,
            "mental_distress".into(),
            "activity_ready".into(),
            consultant.into(),
            format!("B-{i}").into(),
            "active".into(),
            1.into(),
            created.into(),
            created.into(),
        ]);
        b.credentials.push(vec![
            cid.into(),
            candidate_username(i).into(),
            hash.into(),
            "candidate".into(),
            mid.into(),
            created.into(),
            created.into(),
        ]);
        let eid = v7(created);
        let started_at = created + Duration::days(7);
        b.enrollments.push(vec![
            eid.into(),
            cid.into(),
            mid.into(),
            "active".into(),
            "start".into(),
            referred_on.into(),
            started_on.into(),
            V::Null,
            V::Null,
            V::Null,
            V::Null,
            started_on.into(),
            V::Null,
            2.into(),
            created.into(),
            started_at.into(),
        ]);
        for (from, to, on, at) in [
            (None, "referred", referred_on, created),
            (Some("referred"), "active", started_on, started_at),
        ] {
            b.transitions.push(vec![
                v7(at).into(),
                eid.into(),
                from.into(),
                to.into(),
                on.into(),
                at.into(),
                coordinator.into(),
                "coordinator".into(),
                V::Null,
                V::Null,
            ]);
        }
        if i < size.active {
            lived_in_plan(&size, &who5, i, (cid, mid, consultant, eid), now, &mut b);
            if size.group_every > 0 && i.is_multiple_of(size.group_every) {
                let joined = now - Duration::days(2) + Duration::milliseconds(i as i64);
                b.members.push(vec![
                    v7(joined).into(),
                    groups[m].into(),
                    cid.into(),
                    joined.into(),
                    V::Null,
                    true.into(),
                ]);
            }
        }
        if b.candidates.len() >= 5_000 {
            b.flush(&mut w).await?;
        }
    }
    b.flush(&mut w).await?;

    // History for every candidate, oldest first across all of them (time-major), so the ids arrive
    // in order and the primary-key indexes grow at their end.
    let history_start = now - Duration::days(90 + 14 * size.history_responses.max(1) as i64);
    let mut resps = Vec::new();
    let mut answers = Vec::new();
    for slot in 0..size.history_responses {
        let slot_start = history_start + Duration::days(14 * slot as i64);
        for (i, (cid, mid, _)) in who.iter().enumerate() {
            let at = slot_start + Duration::milliseconds(10 * i as i64);
            let raw = 14 + ((i + slot) % 3) as i32;
            resps.push(who5.response(v7(at), *mid, *cid, raw, at, &mut answers));
            if resps.len() >= 10_000 {
                w.put(&RESPONSES, &mut resps).await?;
                w.put(&ANSWERS, &mut answers).await?;
            }
        }
    }
    w.put(&RESPONSES, &mut resps).await?;
    w.put(&ANSWERS, &mut answers).await?;
    let mut appts = Vec::new();
    for slot in 0..size.history_appointments {
        let slot_start = history_start + Duration::days(7 * slot as i64);
        for (i, (cid, mid, consultant)) in who.iter().enumerate() {
            let created = slot_start + Duration::milliseconds(10 * i as i64);
            let starts = (created + Duration::days(3))
                .duration_trunc(Duration::hours(1))
                .unwrap_or(created);
            appts.push(appointment(
                v7(created),
                (*cid, *mid, *consultant),
                starts,
                "completed",
                created,
                slot,
            ));
            if appts.len() >= 10_000 {
                w.put(&APPOINTMENTS, &mut appts).await?;
            }
        }
    }
    w.put(&APPOINTMENTS, &mut appts).await?;

    let Writer { mut conn, rows, .. } = w;
    conn.exec("COMMIT").await?;
    if conn.is_pg() {
        // What autovacuum does after a bulk load: statistics, so the plans match a running system,
        // and the visibility map, so index-only scans read no table pages (without it the reports
        // at scale fetched a table row for every index entry they read).
        conn.exec("VACUUM ANALYZE").await?;
    } else {
        conn.exec("PRAGMA journal_mode = WAL").await?;
    }
    conn.close().await;
    Ok(Seeded {
        municipalities,
        candidates: size.candidates,
        active: size.active,
        rows,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The rows of a few thousand candidates, written together.
#[derive(Default)]
struct Batch {
    candidates: Vec<Vec<V>>,
    credentials: Vec<Vec<V>>,
    enrollments: Vec<Vec<V>>,
    transitions: Vec<Vec<V>>,
    goals: Vec<Vec<V>>,
    steps: Vec<Vec<V>>,
    appointments: Vec<Vec<V>>,
    responses: Vec<Vec<V>>,
    answers: Vec<Vec<V>>,
    assignments: Vec<Vec<V>>,
    requests: Vec<Vec<V>>,
    inbox: Vec<Vec<V>>,
    members: Vec<Vec<V>>,
}

impl Batch {
    /// Writes every table, parents before children.
    async fn flush(&mut self, w: &mut Writer) -> Result<()> {
        w.put(&CANDIDATES, &mut self.candidates).await?;
        w.put(&CREDENTIALS, &mut self.credentials).await?;
        w.put(&ENROLLMENTS, &mut self.enrollments).await?;
        w.put(&TRANSITIONS, &mut self.transitions).await?;
        w.put(&GOALS, &mut self.goals).await?;
        w.put(&GOAL_STEPS, &mut self.steps).await?;
        w.put(&APPOINTMENTS, &mut self.appointments).await?;
        w.put(&RESPONSES, &mut self.responses).await?;
        w.put(&ANSWERS, &mut self.answers).await?;
        w.put(&ASSIGNMENTS, &mut self.assignments).await?;
        w.put(&REQUESTS, &mut self.requests).await?;
        w.put(&INBOX, &mut self.inbox).await?;
        w.put(&GROUP_MEMBERS, &mut self.members).await
    }
}

/// One appointment row (`status` scheduled or completed).
fn appointment(
    id: Uuid,
    (cid, mid, consultant): (Uuid, Uuid, Uuid),
    starts: DateTime<Utc>,
    status: &str,
    created: DateTime<Utc>,
    n: usize,
) -> Vec<V> {
    const KINDS: [&str; 4] = ["consultant_meeting", "employer", "education", "treatment"];
    vec![
        id.into(),
        cid.into(),
        mid.into(),
        KINDS[n % KINDS.len()].into(),
        format!("Møde {n}").into(),
        starts.into(),
        (starts + Duration::hours(1)).into(),
        "Jobcenteret, lokale 2".into(),
        V::Null,
        V::Null,
        status.into(),
        V::Null,
        "none".into(),
        V::Null,
        V::Null,
        0.into(),
        V::Null,
        consultant.into(),
        1.into(),
        created.into(),
        created.into(),
    ]
}

/// Goals with steps, upcoming appointments, WHO-5 history, due assignments and (every Nth) an open
/// pause request with its inbox item.
fn lived_in_plan(
    size: &Size,
    who5: &Who5,
    i: usize,
    (cid, mid, consultant, eid): (Uuid, Uuid, Uuid, Uuid),
    now: DateTime<Utc>,
    b: &mut Batch,
) {
    let today = now.date_naive();
    const CATEGORIES: [&str; 6] = [
        "job",
        "education",
        "everyday_life",
        "social",
        "health",
        "other",
    ];
    // Each active candidate's rows are made within their own second, 60 days ago onwards.
    let base = now - Duration::days(60) + Duration::milliseconds(i as i64 * 20);
    for g in 0..size.goals {
        let proposed = g + 1 == size.goals && size.goals > 1;
        let created = base + Duration::days(g as i64);
        let gid = v7(created);
        b.goals.push(vec![
            gid.into(),
            cid.into(),
            mid.into(),
            format!("Mål {g}: finde et deltidsjob").into(),
            (g % 2 == 0).then_some("Gerne tæt på hvor jeg bor.").into(),
            CATEGORIES[g % CATEGORIES.len()].into(),
            if proposed { "proposed" } else { "active" }.into(),
            if proposed { "staff" } else { "candidate" }.into(),
            (g % 2 == 1).then(|| today + Duration::days(30)).into(),
            1.into(),
            created.into(),
            created.into(),
        ]);
        for s in 0..size.steps {
            let done = s == 0 && !proposed;
            b.steps.push(vec![
                v7(created + Duration::microseconds(s as i64 + 1)).into(),
                gid.into(),
                format!("Skridt {s}").into(),
                done.into(),
                done.then(|| created + Duration::days(1)).into(),
                (s as i32).into(),
                created.into(),
            ]);
        }
    }
    for a in 0..size.appointments {
        let created = base + Duration::days(10) + Duration::microseconds(a as i64);
        let day = (now + Duration::days(a as i64 + 1))
            .duration_trunc(Duration::hours(1))
            .unwrap_or(now);
        b.appointments.push(appointment(
            v7(created),
            (cid, mid, consultant),
            day,
            "scheduled",
            created,
            a,
        ));
    }
    for r in 0..size.who5 {
        // Every two weeks up to yesterday; raw 14–16 (score 56–64, `good`), so a submission of 15
        // raises no alert (neither low nor a fall of 10).
        let at = now - Duration::days(1 + 14 * (size.who5 - 1 - r) as i64)
            + Duration::milliseconds(i as i64);
        let raw = 14 + ((i + r) % 3) as i32;
        b.responses
            .push(who5.response(v7(at), mid, cid, raw, at, &mut b.answers));
    }
    for (d, key) in DUE_KEYS.iter().take(size.due).enumerate() {
        let due_at = now - Duration::days(1) - Duration::hours(d as i64);
        let created = base + Duration::days(20) + Duration::microseconds(d as i64);
        let id = v7(created);
        b.assignments.push(vec![
            id.into(),
            mid.into(),
            cid.into(),
            (*key).into(),
            id.into(),
            due_at.into(),
            (due_at + Duration::days(4)).into(),
            28.into(),
            "open".into(),
            V::Null,
            due_at.into(),
            V::Null,
            V::Null,
            consultant.into(),
            1.into(),
            created.into(),
            due_at.into(),
        ]);
    }
    if size.pause_every > 0 && i.is_multiple_of(size.pause_every) {
        let created = now - Duration::days(1) + Duration::milliseconds(i as i64);
        let rid = v7(created);
        b.requests.push(vec![
            rid.into(),
            cid.into(),
            mid.into(),
            eid.into(),
            "pause".into(),
            "open".into(),
            "Jeg har brug for en pause.".into(),
            V::Null,
            V::Null,
            created.into(),
            V::Null,
            V::Null,
            V::Null,
            V::Null,
            V::Null,
            1.into(),
        ]);
        b.inbox.push(vec![
            v7(created).into(),
            mid.into(),
            cid.into(),
            "request".into(),
            rid.into(),
            "consultant".into(),
            created.into(),
            V::Null,
        ]);
    }
}

//! Benchmark of the reports (SPEC §4.10, issue 12): one municipality with 100,000 candidates, each
//! with a course, two WHO-5 responses and a motivation response with its answers (every tenth
//! candidate answers twice), seeded straight into the tables;
//! then each report is fetched through the real app, as a client would, and timed.
//!
//! ```sh
//! cargo bench -p ips-tests --bench reports                      # SQLite
//! TEST_DATABASE_URL=postgres://user@host/db cargo bench -p ips-tests --bench reports
//! ```
//!
//! `IPS_BENCH_CANDIDATES` changes the number of candidates. The target: each report answers in well
//! under a second at 100,000 candidates, on both databases.
#[path = "../api/common.rs"]
mod common;

use std::time::{Duration, Instant};

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use ips_api::auth::Role;
use sea_orm::{ConnectionTrait, Statement, Value};
use uuid::Uuid;

use common::TestApp;

/// Consultants sharing the candidates.
const CONSULTANTS: usize = 200;
/// Timed runs of each report.
const RUNS: usize = 7;

#[tokio::main]
async fn main() {
    let candidates: usize = std::env::var("IPS_BENCH_CANDIDATES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let app = TestApp::start().await;
    let backend = if common::is_postgres() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let m = app.municipality("101").await;
    let started = Instant::now();
    seed(&app, m.id.0, candidates).await;
    println!(
        "{backend}: seeded {candidates} candidates in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // Seeding can take longer than an access token lives.
    let token = ips_api::domain::identity::start_session(
        &app.state.identity(),
        m.coordinator.id,
        Role::Coordinator,
        Some(m.id),
    )
    .await
    .expect("session")
    .access_token;
    let window = "from=2024-01-01&to=2026-12-31";
    println!(
        "{:<34} {:>9} {:>9} {:>9}",
        "report", "first", "median", "max"
    );
    for report in [
        "outcomes",
        "wellbeing",
        "questionnaires/motivation",
        "durations",
        "fidelity",
    ] {
        let url = format!("/api/v1/reports/{report}?{window}");
        let mut times = Vec::new();
        for run in 0..=RUNS {
            let t = Instant::now();
            let a = app.get(&url, &token).await;
            let took = t.elapsed();
            assert_eq!(a.status.as_u16(), 200, "{url}: {}", a.body);
            if run == 0 {
                // The first answer, printed once so that a reader sees the figures are real.
                println!("  {}", truncate(&a.body.to_string(), 160));
            }
            times.push(took);
        }
        let first = times[0];
        let mut rest = times[1..].to_vec();
        rest.sort();
        println!(
            "{report:<34} {:>9} {:>9} {:>9}",
            ms(first),
            ms(rest[rest.len() / 2]),
            ms(*rest.last().expect("runs"))
        );
    }
    app.finish().await;
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn truncate(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// A cheap, repeatable spread of numbers for the seeded data.
fn spread(i: usize, salt: u64) -> u64 {
    let mut x = (i as u64)
        .wrapping_add(salt)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 29;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^ (x >> 32)
}

/// Inserts `count` rows made by `row`, many to a statement, in one transaction.
async fn insert(
    app: &TestApp,
    table: &str,
    columns: &[&str],
    count: usize,
    row: impl Fn(usize) -> Vec<Value>,
) {
    let db = &app.state.db;
    // Under both backends' limits on bound values per statement.
    let per_statement = 30_000 / columns.len();
    let txn = db.begin().await.expect("begin");
    let mut i = 0;
    while i < count {
        let n = per_statement.min(count - i);
        let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
        let mut values = Vec::with_capacity(n * columns.len());
        for r in 0..n {
            let row = row(i + r);
            assert_eq!(row.len(), columns.len());
            let first = values.len();
            values.extend(row);
            let marks: Vec<String> = (first + 1..=values.len())
                .map(|p| format!("${p}"))
                .collect();
            if r > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            sql.push_str(&marks.join(", "));
            sql.push(')');
        }
        txn.execute_raw(Statement::from_sql_and_values(db.backend(), sql, values))
            .await
            .unwrap_or_else(|e| panic!("insert into {table}: {e}"));
        i += n;
    }
    txn.commit().await.expect("commit");
}

fn date(d: NaiveDate) -> Value {
    d.into()
}

fn no_date() -> Value {
    Option::<NaiveDate>::None.into()
}

fn no_text() -> Value {
    Option::<String>::None.into()
}

/// The municipality's consultants, candidates, courses and questionnaire responses.
async fn seed(app: &TestApp, municipality: Uuid, candidates: usize) {
    let now = Utc::now();
    let consultants: Vec<Uuid> = (0..CONSULTANTS).map(|_| Uuid::now_v7()).collect();
    insert(
        app,
        "staff",
        &[
            "id",
            "municipality_id",
            "role",
            "display_name",
            "email",
            "phone",
            "active",
            "version",
            "created_at",
            "updated_at",
        ],
        CONSULTANTS,
        |i| {
            vec![
                consultants[i].into(),
                municipality.into(),
                Role::Consultant.as_str().into(),
                format!("Consultant {i}").into(),
                format!("c{i}@example.org").into(),
                no_text(),
                true.into(),
                1.into(),
                now.into(),
                now.into(),
            ]
        },
    )
    .await;

    let ids: Vec<Uuid> = (0..candidates).map(|_| Uuid::now_v7()).collect();
    let base = NaiveDate::from_ymd_opt(2022, 1, 1).expect("date");
    let today = ips_api::domain::today();
    // (status, started, ended, outcome, first contact) of candidate i's course.
    let course = |i: usize| {
        let referred = base + Days::new(spread(i, 1) % 1400);
        let kind = spread(i, 2) % 10;
        let started = (kind != 0).then(|| referred + Days::new(spread(i, 3) % 21));
        let ended = started.map(|s| (s + Days::new(30 + spread(i, 4) % 700)).min(today));
        let (status, ended, outcome) = match kind {
            0 => ("referred", None, None),
            1..=4 => {
                let outcome =
                    ["job", "flex_job", "education", "other", "none"][(spread(i, 5) % 5) as usize];
                ("completed", ended, Some(outcome))
            }
            5 => ("stopped", ended, None),
            6 => ("paused", None, None),
            7 => ("aftercare", None, None),
            _ => ("active", None, None),
        };
        let contact = started
            .filter(|_| spread(i, 6) % 10 < 7)
            .map(|s| (s + Days::new(spread(i, 7) % 90)).min(today));
        (referred, status, started, ended, outcome, contact)
    };
    insert(
        app,
        "candidates",
        &[
            "id",
            "municipality_id",
            "given_name",
            "family_name",
            "preferred_name",
            "birth_year",
            "language",
            "email",
            "phone",
            "target_group",
            "readiness",
            "consultant_id",
            "external_ref",
            "status",
            "version",
            "created_at",
            "updated_at",
        ],
        candidates,
        |i| {
            vec![
                ids[i].into(),
                municipality.into(),
                "Ung".into(),
                "Jensen".into(),
                no_text(),
                2004.into(),
                "da".into(),
                no_text(),
                no_text(),
                "mental_distress".into(),
                "activity_ready".into(),
                consultants[i % CONSULTANTS].into(),
                no_text(),
                course(i).1.into(),
                1.into(),
                now.into(),
                now.into(),
            ]
        },
    )
    .await;
    insert(
        app,
        "enrollments",
        &[
            "id",
            "candidate_id",
            "municipality_id",
            "status",
            "phase",
            "referred_on",
            "started_on",
            "ended_on",
            "first_employer_contact_on",
            "outcome",
            "resume_on",
            "last_effective_on",
            "resume_notified_on",
            "version",
            "created_at",
            "updated_at",
        ],
        candidates,
        |i| {
            let (referred, status, started, ended, outcome, contact) = course(i);
            vec![
                Uuid::now_v7().into(),
                ids[i].into(),
                municipality.into(),
                status.into(),
                started.map(|_| "middle".to_string()).into(),
                date(referred),
                started.map(date).unwrap_or_else(no_date),
                ended.map(date).unwrap_or_else(no_date),
                contact.map(date).unwrap_or_else(no_date),
                outcome.map(str::to_string).into(),
                no_date(),
                date(ended.or(started).unwrap_or(referred)),
                no_date(),
                1.into(),
                now.into(),
                now.into(),
            ]
        },
    )
    .await;

    // Two WHO-5 responses per candidate (60 days apart) and a motivation response; every tenth
    // candidate answers the motivation scale a second time.
    let epoch = Utc
        .with_ymd_and_hms(2023, 1, 1, 9, 0, 0)
        .single()
        .expect("time");
    let at = |i: usize, salt: u64| -> DateTime<Utc> {
        epoch + chrono::Duration::minutes((spread(i, salt) % (1000 * 24 * 60)) as i64)
    };
    let who5: Vec<(Uuid, i32)> = (0..candidates * 2)
        .map(|j| (Uuid::now_v7(), (spread(j, 8) % 26) as i32))
        .collect();
    let motivation: Vec<Uuid> = (0..candidates + candidates / 10)
        .map(|_| Uuid::now_v7())
        .collect();
    let response_columns = [
        "id",
        "municipality_id",
        "candidate_id",
        "questionnaire_key",
        "version",
        "assignment_id",
        "raw_score",
        "score",
        "band",
        "alert",
        "submitted_at",
    ];
    insert(
        app,
        "questionnaire_responses",
        &response_columns,
        who5.len(),
        |j| {
            let (id, raw) = who5[j];
            let score = raw * 4;
            let band = match score {
                0..=35 => "very_low",
                36..=50 => "at_risk",
                _ => "good",
            };
            let when = at(j / 2, 9) + chrono::Duration::days(60 * (j % 2) as i64);
            vec![
                id.into(),
                municipality.into(),
                ids[j / 2].into(),
                "who5".into(),
                1.into(),
                Option::<Uuid>::None.into(),
                raw.into(),
                score.into(),
                band.into(),
                (score <= 28).into(),
                when.into(),
            ]
        },
    )
    .await;
    insert(
        app,
        "questionnaire_responses",
        &response_columns,
        motivation.len(),
        |j| {
            let candidate = j % candidates;
            let when = at(candidate, 10) + chrono::Duration::days(90 * (j / candidates) as i64);
            vec![
                motivation[j].into(),
                municipality.into(),
                ids[candidate].into(),
                "motivation".into(),
                1.into(),
                Option::<Uuid>::None.into(),
                0.into(),
                0.into(),
                no_text(),
                false.into(),
                when.into(),
            ]
        },
    )
    .await;
    // WHO-5 answers are left out: the reports read WHO-5 scores and bands, never its answers.
    let motivation_items = ["positive_change", "ready_to_try", "own_influence"];
    insert(
        app,
        "questionnaire_answers",
        &["response_id", "item_key", "position", "value"],
        motivation.len() * 3,
        |k| {
            let position = k % 3;
            vec![
                motivation[k / 3].into(),
                motivation_items[position].into(),
                (position as i32).into(),
                ((spread(k, 11) % 4) as i32).into(),
            ]
        },
    )
    .await;
    // PostgreSQL's autovacuum would have analysed tables this size by now; the service never runs
    // ANALYZE on SQLite, so neither does the benchmark.
    if common::is_postgres() {
        app.state
            .db
            .write()
            .execute_unprepared("ANALYZE")
            .await
            .expect("analyze");
    }
}

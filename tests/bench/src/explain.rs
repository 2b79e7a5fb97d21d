//! The query plans of the hot queries (`EXPLAIN QUERY PLAN` on SQLite, `EXPLAIN` on PostgreSQL), with
//! real ids from the seeded database.
//!
//! The statements are the ones ips-server sends, as PostgreSQL's statement log shows them
//! (`ALTER DATABASE … SET log_statement = 'all'`); sea-orm builds the same text for SQLite with `?`
//! for `$n`. Keep them in step with the domain code when it changes (api/src/domain/plan.rs and what it
//! calls, questionnaires::submit, candidates::list, identity::login). The plan's one statement is the
//! floor's (`floor::plan_sql`), which differs from ips-server's only by the session check.
use std::fmt::Write;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::{
    seed,
    sql::{Conn, Result},
};

/// A parameter, written into the statement as a literal of the backend.
enum P {
    Id(Uuid),
    Ts(DateTime<Utc>),
}

impl P {
    fn literal(&self, pg: bool) -> String {
        match (self, pg) {
            (P::Id(u), true) => format!("'{u}'::uuid"),
            // ips-server stores ids as 16-byte blobs on SQLite.
            (P::Id(u), false) => format!("X'{}'", u.simple()),
            (P::Ts(t), true) => format!("'{}'::timestamptz", t.to_rfc3339()),
            (P::Ts(t), false) => format!("'{}'", t.to_rfc3339()),
        }
    }
}

const CANDIDATE_COLS: &str = r#""candidates"."id", "candidates"."municipality_id", "candidates"."given_name", "candidates"."family_name", "candidates"."preferred_name", "candidates"."birth_year", "candidates"."language", "candidates"."email", "candidates"."phone", "candidates"."target_group", "candidates"."readiness", "candidates"."consultant_id", "candidates"."external_ref", "candidates"."status", "candidates"."version", "candidates"."created_at", "candidates"."updated_at""#;

/// (where it runs, what it does, the statement with `$n` and `{candidate_cols}`).
const QUERIES: &[(&str, &str, &str)] = &[
    (
        "every authenticated request (cached 4 s per session)",
        "session alive",
        r#"SELECT "sessions"."id" FROM "sessions" WHERE "sessions"."id" = $1 AND "sessions"."revoked_at" IS NULL AND "sessions"."expires_at" > $2 LIMIT 1"#,
    ),
    (
        "WHO-5 submit (in the write transaction)",
        "the candidate",
        r#"SELECT {candidate_cols} FROM "candidates" WHERE "candidates"."id" = $3 LIMIT 1"#,
    ),
    (
        "WHO-5 submit (in the write transaction)",
        "due assignments",
        r#"SELECT "questionnaire_assignments"."id", "questionnaire_assignments"."municipality_id", "questionnaire_assignments"."candidate_id", "questionnaire_assignments"."questionnaire_key", "questionnaire_assignments"."series_id", "questionnaire_assignments"."due_at", "questionnaire_assignments"."closes_at", "questionnaire_assignments"."repeat_every_days", "questionnaire_assignments"."status", "questionnaire_assignments"."response_id", "questionnaire_assignments"."notified_at", "questionnaire_assignments"."reminded_at", "questionnaire_assignments"."closed_at", "questionnaire_assignments"."created_by", "questionnaire_assignments"."version", "questionnaire_assignments"."created_at", "questionnaire_assignments"."updated_at" FROM "questionnaire_assignments" WHERE "questionnaire_assignments"."candidate_id" = $3 AND "questionnaire_assignments"."status" = 'open' AND "questionnaire_assignments"."due_at" <= $2 AND "questionnaire_assignments"."closes_at" > $2 ORDER BY "questionnaire_assignments"."due_at" ASC"#,
    ),
    (
        "WHO-5 submit (in the write transaction)",
        "the latest WHO-5",
        r#"SELECT "questionnaire_responses"."id", "questionnaire_responses"."municipality_id", "questionnaire_responses"."candidate_id", "questionnaire_responses"."questionnaire_key", "questionnaire_responses"."version", "questionnaire_responses"."assignment_id", "questionnaire_responses"."raw_score", "questionnaire_responses"."score", "questionnaire_responses"."band", "questionnaire_responses"."alert", "questionnaire_responses"."submitted_at" FROM "questionnaire_responses" WHERE "questionnaire_responses"."candidate_id" = $3 AND "questionnaire_responses"."questionnaire_key" = 'who5' ORDER BY "questionnaire_responses"."id" DESC LIMIT 1"#,
    ),
    (
        "WHO-5 submit (one of the five definition queries, once per process: the definitions are cached)",
        "the instrument's items",
        r#"SELECT "questionnaire_items"."questionnaire_key", "questionnaire_items"."version", "questionnaire_items"."item_key", "questionnaire_items"."position", "questionnaire_items"."text_da", "questionnaire_items"."text_en" FROM "questionnaire_items" WHERE "questionnaire_items"."questionnaire_key" = 'who5' ORDER BY "questionnaire_items"."position" ASC"#,
    ),
    (
        "WHO-5 submit (in the write transaction)",
        "the event counter",
        r#"UPDATE "event_counters" SET "last_seq" = "last_seq" + 1 WHERE "event_counters"."municipality_id" = $4 RETURNING "municipality_id", "last_seq""#,
    ),
    (
        "WHO-5 submit (in the write transaction)",
        "resolve \"missed questionnaires\" inbox items",
        r#"UPDATE "inbox_items" SET "resolved_at" = $2 WHERE "inbox_items"."kind" = 'missed_questionnaires' AND "inbox_items"."candidate_id" = $3 AND "inbox_items"."resolved_at" IS NULL"#,
    ),
    (
        "GET /candidates?limit=10 (coordinator)",
        "a page of candidates",
        r#"SELECT {candidate_cols} FROM "candidates" WHERE "candidates"."municipality_id" = $4 ORDER BY "candidates"."id" ASC LIMIT 11"#,
    ),
    (
        "login",
        "the credential",
        r#"SELECT "credentials"."principal_id", "credentials"."username", "credentials"."password_hash", "credentials"."role", "credentials"."municipality_id", "credentials"."created_at", "credentials"."updated_at" FROM "credentials" WHERE "credentials"."username" = 'bench.c0' LIMIT 1"#,
    ),
    (
        "login (twice: account and address)",
        "the failed-login counter (one upsert per attempt; this is its lookup by primary key)",
        r#"SELECT "login_attempts"."count", "login_attempts"."window_started_at" FROM "login_attempts" WHERE "login_attempts"."key" = 'address:127.0.0.1'"#,
    ),
];

async fn one_uuid(conn: &mut Conn, sqlite: &str, pg: &str) -> Result<Uuid> {
    let sql = if conn.is_pg() { pg } else { sqlite };
    let text = conn
        .texts(sql)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| format!("no row for `{sql}`: is the database seeded?"))?;
    Ok(Uuid::parse_str(&text)?)
}

/// Returns markdown: one code block per query.
pub async fn plans(database_url: &str) -> Result<String> {
    let mut conn = Conn::connect(database_url).await?;
    let pg = conn.is_pg();
    let user = seed::candidate_username(0);
    let candidate = one_uuid(
        &mut conn,
        &format!("SELECT hex(principal_id) FROM credentials WHERE username = '{user}'"),
        &format!("SELECT principal_id::text FROM credentials WHERE username = '{user}'"),
    )
    .await?;
    let lit = P::Id(candidate).literal(pg);
    let municipality = one_uuid(
        &mut conn,
        &format!("SELECT hex(municipality_id) FROM candidates WHERE id = {lit}"),
        &format!("SELECT municipality_id::text FROM candidates WHERE id = {lit}"),
    )
    .await?;
    let now = Utc::now();
    // $1 a session, $2 now, $3 the candidate, $4 their municipality.
    let params = [
        P::Id(Uuid::now_v7()),
        P::Ts(now),
        P::Id(candidate),
        P::Id(municipality),
    ];

    let mut out = String::new();
    let _ = writeln!(
        out,
        "Parameters: candidate `{}` ({user}), now = the time of the run.\n",
        candidate
    );
    // `GET /me/plan` is one statement: the floor's, which is ips-server's (api/src/domain/plan.rs)
    // with the session check added as one more branch of the first row.
    let plan_sql = crate::floor::plan_sql(pg)
        .replace(if pg { "$1" } else { "?1" }, &lit)
        .replace(
            if pg { "$2" } else { "?2" },
            &P::Id(Uuid::now_v7()).literal(pg),
        )
        .replace(if pg { "$3" } else { "?3" }, &P::Ts(now).literal(pg))
        .replace(
            if pg { "$4" } else { "?4" },
            &P::Ts(now - Duration::hours(12)).literal(pg),
        );
    let mut statements = vec![(
        "every `GET /me/plan` (ips-server and the floor)",
        "the whole plan",
        plan_sql,
    )];
    for (used_by, what, sql) in QUERIES {
        let mut sql = sql.replace("{candidate_cols}", CANDIDATE_COLS);
        for (i, p) in params.iter().enumerate().rev() {
            sql = sql.replace(&format!("${}", i + 1), &p.literal(pg));
        }
        statements.push((used_by, what, sql));
    }
    for (used_by, what, sql) in statements {
        let explain = if pg {
            format!("EXPLAIN {sql}")
        } else {
            format!("EXPLAIN QUERY PLAN {sql}")
        };
        let plan = if pg {
            conn.texts(&explain).await?.join("\n")
        } else {
            conn.sqlite_query_plan(&explain).await?
        };
        let _ = writeln!(out, "**{what}** — {used_by}\n\n```\n{plan}\n```\n");
    }
    conn.close().await;
    Ok(out)
}

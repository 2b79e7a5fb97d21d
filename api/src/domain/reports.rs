//! Reports for municipal systems (SPEC §4.10): outcomes, wellbeing, questionnaire answers at start,
//! course durations and fidelity, for one municipality and a window of dates.
//!
//! Every figure is counted by the database in grouped queries over the tables, so a report reads a
//! handful of small result rows whatever the number of candidates. The queries are plain SQL with
//! bound values over the tables rather than entity models: the figures depend on the stored values
//! (`status`, `outcome`, `band`, dates), not on how the entities are typed in Rust. The SQL is the
//! same on SQLite and PostgreSQL except for the calendar parts of a date, the days between two dates
//! and the way each candidate's first or latest response is picked, which `Dialect` writes for each
//! backend. Parameters are written `$1`, `$2`, … on both: sqlx binds SQLite's `$N` by its number, as
//! PostgreSQL does.
//!
//! The reports are aggregates over a municipality; they never name a candidate.
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::Copenhagen;
use entity::ids::MunicipalityId;
use poem_openapi::Enum;
use sea_orm::{ConnectionTrait, DbBackend, QueryResult, Statement, TryGetable, Value};
use uuid::Uuid;

use super::{DomainError, DomainResult};
use crate::db::Db;

/// The earliest date a window may start on.
pub const EARLIEST: NaiveDate = NaiveDate::from_ymd_opt(1900, 1, 1).expect("a date");
/// The latest date a window may end on (dates are stored with four-digit years).
pub const LATEST: NaiveDate = NaiveDate::from_ymd_opt(9999, 12, 31).expect("a date");

/// The statuses of a course that has ended.
const ENDED: &str = "('completed', 'stopped')";
/// The statuses of an open course: what makes a consultant's caseload (SPEC §4.4).
const OPEN: &str = "('referred', 'active', 'paused', 'aftercare')";

/// The days a report covers, `from` and `to` both included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Window {
    /// A window from `from` to `to`; a date outside 1900–9999 is refused naming its parameter, and
    /// `to` before `from` naming `to`.
    pub fn new(from: NaiveDate, to: NaiveDate) -> DomainResult<Self> {
        for (name, date) in [("from", from), ("to", to)] {
            if !(EARLIEST..=LATEST).contains(&date) {
                return Err(DomainError::field(
                    name,
                    "invalid_value",
                    format!("must be a date from {EARLIEST} to {LATEST}"),
                ));
            }
        }
        if to < from {
            return Err(DomainError::field(
                "to",
                "invalid_value",
                format!("must not be before `from` ({from})"),
            ));
        }
        Ok(Self { from, to })
    }

    /// The first instant of `from` and the first instant after `to`, for timestamps: days are the
    /// days where the people are (Europe/Copenhagen).
    pub fn instants(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let start_of = |d: NaiveDate| {
            let midnight = d.and_time(NaiveTime::MIN);
            Copenhagen
                .from_local_datetime(&midnight)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(|| midnight.and_utc())
        };
        let after = self.to.succ_opt().unwrap_or(self.to);
        (start_of(self.from), start_of(after))
    }
}

/// `numerator / denominator` to one decimal, rounded half away from zero, in exact integer
/// arithmetic (so 11/40 is 27.5 and 1/16 is 6.3, never 6.2); `None` over nothing.
pub fn tenths(numerator: i64, denominator: i64) -> Option<f64> {
    if denominator <= 0 {
        return None;
    }
    let scaled = i128::from(numerator) * 10;
    let den = i128::from(denominator);
    let magnitude = (2 * scaled.abs() + den) / (2 * den);
    let rounded = if scaled < 0 { -magnitude } else { magnitude };
    Some(rounded as f64 / 10.0)
}

/// A count and its share of a whole.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Share {
    pub count: i64,
    /// Percent of the whole to one decimal (half away from zero); `None` when the whole is 0.
    pub percent: Option<f64>,
}

impl Share {
    pub fn of(count: i64, total: i64) -> Self {
        Self {
            count,
            percent: tenths(count.saturating_mul(100), total),
        }
    }
}

/// Ended courses by how they ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcomes {
    /// Courses that became `completed` or `stopped` in the window.
    pub ended: i64,
    pub job: Share,
    pub flex_job: Share,
    pub education: Share,
    pub other: Share,
    pub none: Share,
    pub stopped: Share,
    /// Job, flex job or education.
    pub success: Share,
}

/// WHO-5 at one point: the mean score and the bands.
#[derive(Clone, Debug, PartialEq)]
pub struct WellbeingPoint {
    pub mean: Option<f64>,
    pub very_low: Share,
    pub at_risk: Share,
    pub good: Share,
}

/// First against latest WHO-5 in the window, for candidates who answered at least twice in it.
#[derive(Clone, Debug, PartialEq)]
pub struct Wellbeing {
    pub n: i64,
    pub first: WellbeingPoint,
    pub latest: WellbeingPoint,
}

/// The answers to one item at start.
#[derive(Clone, Debug, PartialEq)]
pub struct ItemAnswers {
    pub item: String,
    /// Every answer the item allows, in the questionnaire's order, with its share.
    pub answers: Vec<(i32, Share)>,
}

/// The answers at start to one version of a questionnaire.
#[derive(Clone, Debug, PartialEq)]
pub struct QuestionnaireAnswers {
    pub key: String,
    pub version: i32,
    pub n: i64,
    pub items: Vec<ItemAnswers>,
}

/// How long an ended course ran, in whole calendar months.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DurationBucket {
    /// Under 2 months.
    #[oai(rename = "under_2")]
    Under2,
    /// 2 months, under 4.
    #[oai(rename = "2_4")]
    From2To4,
    /// 4 months, under 6.
    #[oai(rename = "4_6")]
    From4To6,
    /// 6 months, under 8.
    #[oai(rename = "6_8")]
    From6To8,
    /// 8 months, under 10.
    #[oai(rename = "8_10")]
    From8To10,
    /// 10 months, under 12.
    #[oai(rename = "10_12")]
    From10To12,
    /// 12 months and over.
    #[oai(rename = "12_plus")]
    From12,
}

impl DurationBucket {
    pub const ALL: [Self; 7] = [
        Self::Under2,
        Self::From2To4,
        Self::From4To6,
        Self::From6To8,
        Self::From8To10,
        Self::From10To12,
        Self::From12,
    ];

    /// The bucket of a course that ran `months` whole months.
    pub fn of(months: i64) -> Self {
        Self::ALL[usize::try_from(months / 2).unwrap_or(0).min(6)]
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Under2 => "under_2",
            Self::From2To4 => "2_4",
            Self::From4To6 => "4_6",
            Self::From6To8 => "6_8",
            Self::From8To10 => "8_10",
            Self::From10To12 => "10_12",
            Self::From12 => "12_plus",
        }
    }
}

/// Ended courses by length.
#[derive(Clone, Debug, PartialEq)]
pub struct Durations {
    /// Ended courses that had started (a referral stopped before it started has no length).
    pub n: i64,
    pub buckets: Vec<(DurationBucket, Share)>,
}

/// Open courses on one staff member now.
#[derive(Clone, Debug, PartialEq)]
pub struct Caseload {
    pub consultant_id: Uuid,
    pub open: i64,
}

/// The IPS fidelity figures.
#[derive(Clone, Debug, PartialEq)]
pub struct Fidelity {
    pub caseloads: Vec<Caseload>,
    /// Median days from start to the first employer contact, over courses started in the window that
    /// have one; a half day when their number is even.
    pub median_days: Option<f64>,
    /// Courses started in the window with a first employer contact within 30 days of the start.
    pub within_30_days: Share,
    /// Courses in aftercare now.
    pub in_aftercare: i64,
    /// Courses started in the window whose career profile was completed within 30 days of the start.
    pub career_profile_within_30_days: Share,
}

/// Network groups in a window (SPEC §4.12).
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkGroups {
    /// Groups with at least one session held in the window.
    pub groups: i64,
    /// Sessions held: not cancelled, started within the window and by now.
    pub sessions_held: i64,
    /// Candidates who attended at least one of those sessions.
    pub participants: i64,
    /// Attended member-sessions of all member-sessions: for each session held, each candidate who was
    /// a member during it.
    pub attendance: Share,
}

/// The two expressions the backends write differently.
struct Dialect(DbBackend);

impl Dialect {
    /// Year, month and day of a date column, as integers.
    fn parts(&self, column: &str) -> [String; 3] {
        match self.0 {
            DbBackend::Postgres => ["YEAR", "MONTH", "DAY"]
                .map(|p| format!("CAST(EXTRACT({p} FROM {column}) AS INTEGER)")),
            _ => ["%Y", "%m", "%d"].map(|p| format!("CAST(strftime('{p}', {column}) AS INTEGER)")),
        }
    }

    /// Whole calendar months from `start` to `end`: the months between them, less one when the end
    /// falls on an earlier day of its month than the start (31 Jan → 28 Feb is 0 months, 15 Jan →
    /// 15 Mar is 2).
    fn months(&self, start: &str, end: &str) -> String {
        let [y1, m1, d1] = self.parts(start);
        let [y2, m2, d2] = self.parts(end);
        format!("(({y2} - {y1}) * 12 + ({m2} - {m1}) - CASE WHEN {d2} < {d1} THEN 1 ELSE 0 END)")
    }

    /// The `WITH` prefix and the `FROM` clause that name, for each candidate of municipality `$1`,
    /// one response to questionnaire `$2` per `(alias, order)`: the candidate's first (`ASC`) or
    /// latest (`DESC`) by submission time, then id, among those meeting `window` (an extra condition
    /// on `r.submitted_at`). A candidate without such a response has no row.
    ///
    /// Each pick is one seek in the report index (`municipality_id, questionnaire_key, candidate_id,
    /// submitted_at, id`) per candidate, so a report reads one or two entries per candidate instead of
    /// every response. PostgreSQL seeks in a `LATERAL` join; given the ids to join back to instead, it
    /// hashes the whole table. SQLite has no `LATERAL`: it seeks the ids in a materialized `WITH` (so
    /// each seek runs once, not once per use of its column) and joins the rows by primary key.
    ///
    /// `slice` is a further condition on the candidates `c` (see `query_sliced`).
    fn picked_responses(
        &self,
        picks: &[(&str, &str)],
        window: &str,
        slice: &str,
    ) -> (String, String) {
        let seek = |columns: &str, order: &str| {
            format!(
                "(SELECT {columns} FROM questionnaire_responses r \
                  WHERE r.municipality_id = $1 AND r.questionnaire_key = $2 \
                    AND r.candidate_id = c.id{window} \
                  ORDER BY r.submitted_at {order}, r.id {order} LIMIT 1)"
            )
        };
        let candidates = format!("candidates c WHERE c.municipality_id = $1{slice}");
        match self.0 {
            DbBackend::Postgres => {
                let mut from = format!("FROM (SELECT c.id FROM {candidates}) AS c");
                for (alias, order) in picks {
                    from += &format!(" CROSS JOIN LATERAL {} AS {alias}", seek("r.*", order));
                }
                (String::new(), from)
            }
            _ => {
                let ids: Vec<String> = picks
                    .iter()
                    .map(|(alias, order)| format!("{} AS {alias}_id", seek("r.id", order)))
                    .collect();
                let with = format!(
                    "WITH picked AS MATERIALIZED (SELECT {} FROM {candidates}) ",
                    ids.join(", ")
                );
                let mut from = "FROM picked".to_string();
                for (alias, _) in picks {
                    from += &format!(
                        " JOIN questionnaire_responses {alias} ON {alias}.id = picked.{alias}_id"
                    );
                }
                (with, from)
            }
        }
    }

    /// Days from `start` to `end`.
    fn days(&self, start: &str, end: &str) -> String {
        match self.0 {
            DbBackend::Postgres => format!("({end} - {start})"),
            _ => format!("CAST(julianday({end}) - julianday({start}) AS INTEGER)"),
        }
    }
}

async fn query<C: ConnectionTrait>(
    db: &C,
    sql: &str,
    values: Vec<Value>,
) -> DomainResult<Vec<QueryResult>> {
    let stmt = Statement::from_sql_and_values(db.get_database_backend(), sql, values);
    Ok(db.query_all_raw(stmt).await?)
}

/// Runs a statement over the municipality's candidates in `db.report_slices()` parts at once, each
/// on a connection of its own, and returns the rows of every part: the candidates are split by the
/// last byte of their id (random in the ids this service makes), so the parts are about equal. `sql`
/// writes the statement with a condition on the candidates `c` that picks one part (empty for a
/// single part); the condition binds two values after `values`. Each part reads its own snapshot,
/// so a response stored while the parts run may count in one part and not another; a report is as
/// of the moment it ran, to the millisecond.
async fn query_sliced(
    db: &Db,
    sql: impl Fn(&str) -> String,
    values: Vec<Value>,
) -> DomainResult<Vec<QueryResult>> {
    let parts = db.report_slices();
    if parts <= 1 {
        return query(db.read(), &sql(""), values).await;
    }
    let (of, which) = (values.len() + 1, values.len() + 2);
    let sql = sql(&format!(
        " AND get_byte(uuid_send(c.id), 15) % ${of} = ${which}"
    ));
    let mut running = tokio::task::JoinSet::new();
    for part in 0..parts {
        let (conn, sql) = (db.read().clone(), sql.clone());
        let mut values = values.clone();
        values.extend([Value::from(parts as i32), Value::from(part as i32)]);
        running.spawn(async move { query(&conn, &sql, values).await });
    }
    let mut rows = Vec::new();
    while let Some(part) = running.join_next().await {
        let part = part.map_err(|e| DomainError::Internal(format!("report part: {e}")))?;
        rows.extend(part?);
    }
    Ok(rows)
}

fn get<T: TryGetable>(row: &QueryResult, index: usize) -> DomainResult<T> {
    Ok(row.try_get_by_index(index)?)
}

/// A stored value no report knows: the data is not what the rules wrote.
fn unexpected(what: &str, value: &str) -> DomainError {
    DomainError::Internal(format!("report: unexpected {what} `{value}`"))
}

/// Ended courses by outcome; `stopped` counts as ended, so `ended` is every course that became
/// `completed` or `stopped` in the window and every share is of that.
pub async fn outcomes<C: ConnectionTrait>(
    db: &C,
    municipality_id: MunicipalityId,
    window: Window,
) -> DomainResult<Outcomes> {
    let sql = format!(
        "SELECT status, outcome, COUNT(*) FROM enrollments \
         WHERE municipality_id = $1 AND ended_on >= $2 AND ended_on <= $3 AND status IN {ENDED} \
         GROUP BY status, outcome"
    );
    let rows = query(
        db,
        &sql,
        vec![municipality_id.into(), window.from.into(), window.to.into()],
    )
    .await?;
    // job, flex_job, education, other, none, stopped
    let mut counts = [0i64; 6];
    for row in &rows {
        let status: String = get(row, 0)?;
        let outcome: Option<String> = get(row, 1)?;
        let at = match (status.as_str(), outcome.as_deref()) {
            ("stopped", _) => 5,
            (_, Some("job")) => 0,
            (_, Some("flex_job")) => 1,
            (_, Some("education")) => 2,
            (_, Some("other")) => 3,
            (_, Some("none")) => 4,
            (_, other) => return Err(unexpected("outcome", other.unwrap_or("null"))),
        };
        counts[at] += get::<i64>(row, 2)?;
    }
    let ended: i64 = counts.iter().sum();
    let share = |i: usize| Share::of(counts[i], ended);
    Ok(Outcomes {
        ended,
        job: share(0),
        flex_job: share(1),
        education: share(2),
        other: share(3),
        none: share(4),
        stopped: share(5),
        success: Share::of(counts[0] + counts[1] + counts[2], ended),
    })
}

/// WHO-5 first against latest: for each candidate with at least two responses in the window, their
/// first and their latest response in it (by submission time, then id). Each candidate's two
/// responses are found by two index seeks, and one grouped query counts them by the pair of bands
/// (on PostgreSQL one per part of the candidates, at once: `query_sliced`).
pub async fn wellbeing(
    db: &Db,
    municipality_id: MunicipalityId,
    window: Window,
) -> DomainResult<Wellbeing> {
    let (start, end) = window.instants();
    let within = " AND r.submitted_at >= $3 AND r.submitted_at < $4";
    // Two responses that are not the same one: the candidate answered twice or more in the window.
    let sql = |slice: &str| {
        let (with, from) =
            Dialect(db.backend()).picked_responses(&[("f", "ASC"), ("l", "DESC")], within, slice);
        format!(
            "{with}SELECT f.band, l.band, COUNT(*), SUM(f.score), SUM(l.score) {from} \
             WHERE f.id <> l.id GROUP BY f.band, l.band"
        )
    };
    // Each part's rows are counted into the same sums.
    let rows = query_sliced(
        db,
        sql,
        vec![
            municipality_id.into(),
            "who5".into(),
            start.into(),
            end.into(),
        ],
    )
    .await?;
    // [first, latest] × [very_low, at_risk, good], and the score sums.
    let mut counts = [[0i64; 3]; 2];
    let mut sums = [0i64; 2];
    let band = |row: &QueryResult, index: usize| -> DomainResult<usize> {
        match get::<Option<String>>(row, index)?.as_deref() {
            Some("very_low") => Ok(0),
            Some("at_risk") => Ok(1),
            Some("good") => Ok(2),
            other => Err(unexpected("WHO-5 band", other.unwrap_or("null"))),
        }
    };
    for row in &rows {
        let count = get::<i64>(row, 2)?;
        counts[0][band(row, 0)?] += count;
        counts[1][band(row, 1)?] += count;
        sums[0] += get::<Option<i64>>(row, 3)?.unwrap_or(0);
        sums[1] += get::<Option<i64>>(row, 4)?.unwrap_or(0);
    }
    // Every counted candidate has exactly one first and one latest response.
    let n: i64 = counts[0].iter().sum();
    let point = |w: usize| WellbeingPoint {
        mean: tenths(sums[w], n),
        very_low: Share::of(counts[w][0], n),
        at_risk: Share::of(counts[w][1], n),
        good: Share::of(counts[w][2], n),
    };
    Ok(Wellbeing {
        n,
        first: point(0),
        latest: point(1),
    })
}

/// The answers at start to one version of a questionnaire (`version`, or the latest).
///
/// "At start" is each candidate's first response to the questionnaire ever: it counts when it was
/// submitted in the window and answers that version. A later response of the same candidate never
/// counts, in this window or any other. `NotFound` for an unknown questionnaire or version.
pub async fn questionnaire(
    db: &Db,
    municipality_id: MunicipalityId,
    key: &str,
    version: Option<i32>,
    window: Window,
) -> DomainResult<QuestionnaireAnswers> {
    let versions: Vec<i32> = query(
        db.read(),
        "SELECT version FROM questionnaire_versions WHERE questionnaire_key = $1 ORDER BY version",
        vec![key.into()],
    )
    .await?
    .iter()
    .map(|r| get(r, 0))
    .collect::<DomainResult<_>>()?;
    let version = match version {
        Some(v) if versions.contains(&v) => v,
        Some(_) => return Err(DomainError::NotFound),
        None => *versions.last().ok_or(DomainError::NotFound)?,
    };
    let definition = |table: &str, column: &str| {
        format!(
            "SELECT {column} FROM {table} WHERE questionnaire_key = $1 AND version = $2 \
             ORDER BY position"
        )
    };
    let items: Vec<String> = query(
        db.read(),
        &definition("questionnaire_items", "item_key"),
        vec![key.into(), version.into()],
    )
    .await?
    .iter()
    .map(|r| get(r, 0))
    .collect::<DomainResult<_>>()?;
    let values: Vec<i32> = query(
        db.read(),
        &definition("questionnaire_options", "value"),
        vec![key.into(), version.into()],
    )
    .await?
    .iter()
    .map(|r| get(r, 0))
    .collect::<DomainResult<_>>()?;

    let (start, end) = window.instants();
    // Each candidate's first response ever; it counts when it answers this version and was
    // submitted in the window.
    let sql = |slice: &str| {
        let (with, from) = Dialect(db.backend()).picked_responses(&[("f", "ASC")], "", slice);
        format!(
            "{with}SELECT a.item_key, a.value, COUNT(*) {from} \
             JOIN questionnaire_answers a ON a.response_id = f.id \
             WHERE f.version = $3 AND f.submitted_at >= $4 AND f.submitted_at < $5 \
             GROUP BY a.item_key, a.value"
        )
    };
    let rows = query_sliced(
        db,
        sql,
        vec![
            municipality_id.into(),
            key.into(),
            version.into(),
            start.into(),
            end.into(),
        ],
    )
    .await?;
    // Each part of the candidates counted its own answers: an answer's count is their sum.
    let mut counts = std::collections::HashMap::new();
    for row in &rows {
        let item: String = get(row, 0)?;
        let value: i32 = get(row, 1)?;
        *counts.entry((item, value)).or_insert(0) += get::<i64>(row, 2)?;
    }
    // A response answers every item of its version exactly once (checked when it was submitted), so
    // the answers to any one item count the responses.
    let n: i64 = items
        .first()
        .map(|first| {
            counts
                .iter()
                .filter(|((item, _), _)| item == first)
                .map(|(_, c)| c)
                .sum()
        })
        .unwrap_or(0);
    let items = items
        .into_iter()
        .map(|item| {
            let answers = values
                .iter()
                .map(|&v| {
                    let count = counts.get(&(item.clone(), v)).copied().unwrap_or(0);
                    (v, Share::of(count, n))
                })
                .collect();
            ItemAnswers { item, answers }
        })
        .collect();
    Ok(QuestionnaireAnswers {
        key: key.to_string(),
        version,
        n,
        items,
    })
}

/// Ended courses (as in `outcomes`) by whole calendar months from `started_on` to `ended_on`,
/// grouped by the month count in the database and put into buckets here.
pub async fn durations<C: ConnectionTrait>(
    db: &C,
    municipality_id: MunicipalityId,
    window: Window,
) -> DomainResult<Durations> {
    let months = Dialect(db.get_database_backend()).months("started_on", "ended_on");
    let sql = format!(
        "SELECT months, COUNT(*) FROM ( \
           SELECT CAST({months} AS BIGINT) AS months FROM enrollments \
           WHERE municipality_id = $1 AND ended_on >= $2 AND ended_on <= $3 \
             AND status IN {ENDED} AND started_on IS NOT NULL \
         ) AS d GROUP BY months"
    );
    let rows = query(
        db,
        &sql,
        vec![municipality_id.into(), window.from.into(), window.to.into()],
    )
    .await?;
    let mut counts = [0i64; 7];
    for row in &rows {
        let bucket = DurationBucket::of(get(row, 0)?);
        counts[bucket as usize] += get::<i64>(row, 1)?;
    }
    let n = counts.iter().sum();
    Ok(Durations {
        n,
        buckets: DurationBucket::ALL
            .into_iter()
            .map(|b| (b, Share::of(counts[b as usize], n)))
            .collect(),
    })
}

/// Caseloads and aftercare now; first employer contacts of the courses started in the window.
pub async fn fidelity<C: ConnectionTrait>(
    db: &C,
    municipality_id: MunicipalityId,
    window: Window,
) -> DomainResult<Fidelity> {
    // Every active consultant (an empty caseload too), and anyone else who holds open courses.
    let caseloads = query(
        db,
        &format!(
            "SELECT s.id, CAST(COALESCE(o.open_courses, 0) AS BIGINT) FROM staff s \
             LEFT JOIN ( \
               SELECT c.consultant_id, COUNT(*) AS open_courses \
               FROM enrollments e JOIN candidates c ON c.id = e.candidate_id \
               WHERE e.municipality_id = $1 AND e.status IN {OPEN} \
               GROUP BY c.consultant_id \
             ) AS o ON o.consultant_id = s.id \
             WHERE s.municipality_id = $1 \
               AND ((s.role = 'consultant' AND s.active = $2) OR o.open_courses IS NOT NULL) \
             ORDER BY s.id"
        ),
        vec![municipality_id.into(), true.into()],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(Caseload {
            consultant_id: get(r, 0)?,
            open: get(r, 1)?,
        })
    })
    .collect::<DomainResult<Vec<_>>>()?;

    let in_aftercare: i64 = match query(
        db,
        "SELECT COUNT(*) FROM enrollments WHERE municipality_id = $1 AND status = 'aftercare'",
        vec![municipality_id.into()],
    )
    .await?
    .first()
    {
        Some(row) => get(row, 0)?,
        None => 0,
    };

    let dialect = Dialect(db.get_database_backend());
    // A contact recorded before the course started counts as day 0.
    let days = format!(
        "CASE WHEN first_employer_contact_on < started_on THEN 0 ELSE {} END",
        dialect.days("started_on", "first_employer_contact_on")
    );
    let started = "municipality_id = $1 AND started_on >= $2 AND started_on <= $3";
    let args = || vec![municipality_id.into(), window.from.into(), window.to.into()];
    let (courses, within) = match query(
        db,
        &format!(
            "SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN first_employer_contact_on IS NOT NULL \
               AND {days} <= 30 THEN 1 ELSE 0 END), 0) AS BIGINT) \
             FROM enrollments WHERE {started}"
        ),
        args(),
    )
    .await?
    .first()
    {
        Some(row) => (get::<i64>(row, 0)?, get::<i64>(row, 1)?),
        None => (0, 0),
    };
    // The median: number the contact days in order and keep the middle one (odd count) or two.
    let median = query(
        db,
        &format!(
            "SELECT CAST(MIN(days) AS BIGINT), CAST(MAX(days) AS BIGINT) FROM ( \
               SELECT days, ROW_NUMBER() OVER (ORDER BY days) AS rn, COUNT(*) OVER () AS total \
               FROM (SELECT {days} AS days FROM enrollments \
                     WHERE {started} AND first_employer_contact_on IS NOT NULL) AS contact \
             ) AS numbered WHERE rn IN ((total + 1) / 2, (total + 2) / 2)"
        ),
        args(),
    )
    .await?;
    let median_days = match median.first() {
        Some(row) => {
            let low: Option<i64> = get(row, 0)?;
            let high: Option<i64> = get(row, 1)?;
            low.zip(high).map(|(l, h)| (l + h) as f64 / 2.0)
        }
        None => None,
    };
    // A profile completed before the course started (it can be written while `referred`) is day 0.
    let profile_days = format!(
        "CASE WHEN p.completed_on < e.started_on THEN 0 ELSE {} END",
        dialect.days("e.started_on", "p.completed_on")
    );
    let profiles_within = match query(
        db,
        &format!(
            "SELECT CAST(COALESCE(SUM(CASE WHEN p.completed_on IS NOT NULL \
               AND {profile_days} <= 30 THEN 1 ELSE 0 END), 0) AS BIGINT) \
             FROM enrollments e LEFT JOIN career_profiles p ON p.enrollment_id = e.id \
             WHERE e.municipality_id = $1 AND e.started_on >= $2 AND e.started_on <= $3"
        ),
        args(),
    )
    .await?
    .first()
    {
        Some(row) => get::<i64>(row, 0)?,
        None => 0,
    };
    Ok(Fidelity {
        caseloads,
        median_days,
        within_30_days: Share::of(within, courses),
        in_aftercare,
        career_profile_within_30_days: Share::of(profiles_within, courses),
    })
}

/// The network-group figures: sessions held in the window (not cancelled, started by now), the groups
/// that held them, the candidates who came, and attended ÷ member-sessions (each session held, times
/// each candidate who was a member during it).
pub async fn network_groups<C: ConnectionTrait>(
    db: &C,
    municipality_id: MunicipalityId,
    window: Window,
) -> DomainResult<NetworkGroups> {
    let (start, end) = window.instants();
    let end = end.min(Utc::now());
    let held = "s.municipality_id = $1 AND s.starts_at >= $2 AND s.starts_at < $3 \
                AND s.starts_at <= $4 AND s.cancelled = $5";
    let values = || -> Vec<Value> {
        vec![
            municipality_id.into(),
            start.into(),
            end.into(),
            end.into(),
            false.into(),
        ]
    };
    let sql = format!(
        "SELECT COUNT(*), COUNT(DISTINCT s.group_id) FROM network_group_sessions s WHERE {held}"
    );
    let rows = query(db, &sql, values()).await?;
    let (sessions_held, groups) = match rows.first() {
        Some(r) => (get::<i64>(r, 0)?, get::<i64>(r, 1)?),
        None => (0, 0),
    };
    let sql = format!(
        "SELECT COUNT(*) FROM (SELECT DISTINCT s.id, m.candidate_id FROM network_group_sessions s \
         JOIN network_group_members m ON m.group_id = s.group_id AND m.joined_at <= s.ends_at \
         AND (m.left_at IS NULL OR m.left_at >= s.starts_at) WHERE {held}) t"
    );
    let rows = query(db, &sql, values()).await?;
    let member_sessions = match rows.first() {
        Some(r) => get::<i64>(r, 0)?,
        None => 0,
    };
    let sql = format!(
        "SELECT COUNT(*), COUNT(DISTINCT a.candidate_id) FROM network_group_attendance a \
         JOIN network_group_sessions s ON s.id = a.session_id WHERE {held} AND a.attended = $6"
    );
    let mut v = values();
    v.push(true.into());
    let rows = query(db, &sql, v).await?;
    let (attended, participants) = match rows.first() {
        Some(r) => (get::<i64>(r, 0)?, get::<i64>(r, 1)?),
        None => (0, 0),
    };
    Ok(NetworkGroups {
        groups,
        sessions_held,
        participants,
        attendance: Share::of(attended, member_sessions),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenths_round_half_away_from_zero() {
        for (num, den, want) in [
            (1964, 40, Some(49.1)),
            (2036, 40, Some(50.9)),
            (25, 2, Some(12.5)),
            (0, 7, Some(0.0)),
            // Exactly half a tenth: away from zero, on both sides.
            (1, 16, Some(0.1)),
            (1, 20, Some(0.1)),
            (-1, 20, Some(-0.1)),
            (5, 0, None),
        ] {
            assert_eq!(tenths(num, den), want, "{num}/{den}");
        }
        for (count, total, want) in [
            (26, 43, Some(60.5)),
            (11, 40, Some(27.5)),
            (34, 55, Some(61.8)),
            (16, 55, Some(29.1)),
            (5, 55, Some(9.1)),
            (0, 55, Some(0.0)),
            (1, 16, Some(6.3)),
            (3, 8, Some(37.5)),
            (0, 0, None),
        ] {
            assert_eq!(Share::of(count, total).percent, want, "{count}/{total}");
        }
    }

    #[test]
    fn buckets_by_whole_months() {
        for (months, want) in [
            (-1, "under_2"),
            (0, "under_2"),
            (1, "under_2"),
            (2, "2_4"),
            (3, "2_4"),
            (4, "4_6"),
            (7, "6_8"),
            (9, "8_10"),
            (11, "10_12"),
            (12, "12_plus"),
            (40, "12_plus"),
        ] {
            assert_eq!(DurationBucket::of(months).as_str(), want, "{months}");
        }
    }

    #[test]
    fn windows_name_the_bad_parameter() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
        assert!(Window::new(d("2026-01-01"), d("2026-01-01")).is_ok());
        let field = |r: DomainResult<Window>| match r {
            Err(DomainError::Invalid(e)) => e[0].field.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(field(Window::new(d("2026-02-01"), d("2026-01-31"))), "to");
        assert_eq!(field(Window::new(d("1899-12-31"), d("2026-01-31"))), "from");
        let w = Window::new(d("2026-03-29"), d("2026-03-29")).expect("window");
        // The day summer time starts in Copenhagen is 23 hours long.
        let (start, end) = w.instants();
        assert_eq!(start.to_rfc3339(), "2026-03-28T23:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2026-03-29T22:00:00+00:00");
        let last = Window::new(LATEST, LATEST).expect("window");
        assert_eq!(last.instants().1.to_rfc3339(), "9999-12-31T23:00:00+00:00");
    }
}

//! `GET /me/plan`: everything the portal's home screen needs, read by ONE statement on one connection,
//! whatever the size of the candidate's history.
//!
//! The plan is the most frequent request of the service, and on both databases its cost was the
//! number of round trips, not the queries (nine indexed reads each paid a connection hand-off, and on
//! PostgreSQL some 0.4 ms of server CPU per statement). So the parts are one `UNION ALL` of typed rows,
//! each row saying which part it belongs to, and each branch is the same filter the part's own finder
//! uses (`enrollment::current`, `requests::open_for`, `appointments::upcoming`,
//! `assignments::due_for`, `questionnaires::latest_who5_score`, `network_groups::my_sessions`); the tests of
//! `/me/plan` hold them to it.
use std::sync::LazyLock;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use entity::{
    goal, goal_step,
    ids::{
        AppointmentId, AssignmentId, CandidateId, GoalId, MunicipalityId, NetworkGroupId,
        NetworkGroupSessionId, RequestId, StaffId, StepId,
    },
    types::{
        AppointmentKind, AppointmentReply, Author, CoursePhase, CourseStatus, GoalCategory,
        GoalStatus, QuestionnaireKey, RequestKind, RequestStatus, WellbeingBand,
    },
};
use sea_orm::{ConnectionTrait, DbBackend, QueryResult, Statement};
use uuid::Uuid;

use super::{DomainError, DomainResult, access::Reach, appointments, goals};
use crate::db::Db;

/// The candidate's names.
pub struct Me {
    pub id: CandidateId,
    pub given_name: String,
    pub family_name: String,
    pub preferred_name: Option<String>,
}

/// Their consultant and how to reach them.
pub struct Consultant {
    pub id: StaffId,
    pub display_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// Where the current course stands.
pub struct Course {
    pub status: CourseStatus,
    pub phase: Option<CoursePhase>,
    pub started_on: Option<NaiveDate>,
    pub resume_on: Option<NaiveDate>,
}

/// An open pause or stop request.
pub struct OpenRequest {
    pub id: RequestId,
    pub kind: RequestKind,
    pub status: RequestStatus,
    pub created_at: DateTime<Utc>,
}

/// A scheduled appointment that has not ended.
pub struct Appointment {
    pub id: AppointmentId,
    pub kind: AppointmentKind,
    pub title: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub location: Option<String>,
    pub online_url: Option<String>,
    pub candidate_response: AppointmentReply,
}

/// A questionnaire due now.
pub struct Due {
    pub assignment_id: AssignmentId,
    pub questionnaire: QuestionnaireKey,
    pub due_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
}

/// The latest WHO-5.
pub struct Wellbeing {
    pub score: i32,
    pub band: WellbeingBand,
    pub answered_at: DateTime<Utc>,
}

/// The next session of a network group I am in.
pub struct GroupSession {
    pub id: NetworkGroupSessionId,
    pub group_id: NetworkGroupId,
    pub name: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub location: Option<String>,
    pub online_url: Option<String>,
}

/// The parts of the plan.
pub struct Plan {
    pub candidate: Me,
    pub consultant: Option<Consultant>,
    pub course: Course,
    /// Active goals with their steps, oldest first.
    pub goals: Vec<goals::GoalView>,
    /// Goals staff proposed, oldest first.
    pub proposed_goals: Vec<goals::GoalView>,
    /// `open` and `acknowledged` requests, oldest first.
    pub open_requests: Vec<OpenRequest>,
    /// The next (at most 5) scheduled appointments that have not ended.
    pub next_appointments: Vec<Appointment>,
    /// Questionnaires due now, oldest due first (none while the course is paused or has ended).
    pub due_questionnaires: Vec<Due>,
    /// The latest WHO-5 response.
    pub latest_wellbeing: Option<Wellbeing>,
    /// The next session of a network group I am in.
    pub next_network_group_session: Option<GroupSession>,
}

/// The whole plan as a `UNION ALL` of rows of one shape. `k` says what a row is: 0 the candidate with
/// their consultant and current course (no row: no such candidate, or erased, or no course), 1 a goal,
/// 2 a step, 3 a request, 4 an appointment, 5 a due questionnaire, 6 the latest WHO-5, 7 the next
/// network group session. `{u}`, `{s}`, … are NULLs of a type (PostgreSQL wants them typed).
/// Parameters: `$1` the candidate, `$2` now, `$3` now − the longest appointment (the lower bound that
/// keeps `appointments_candidate_starts`' range small).
const PLAN_SQL: &str = "
SELECT 0 AS k, c.id AS id, s.id AS ref, c.municipality_id AS u2,
       c.given_name AS s1, c.family_name AS s2, c.preferred_name AS s3, s.display_name AS s4,
       s.email AS s5, s.phone AS s6, e.status AS s7, e.phase AS s8,
       {t} AS t1, {t} AS t2, e.started_on AS d1, e.resume_on AS d2, {i} AS n1, {b} AS b1
  FROM candidates c
  LEFT JOIN staff s ON s.id = c.consultant_id
  JOIN enrollments e ON e.id = (SELECT y.id FROM enrollments y WHERE y.candidate_id = c.id
                                 ORDER BY y.id DESC LIMIT 1)
 WHERE c.id = $1 AND c.erased_at IS NULL
UNION ALL
SELECT 1, g.id, g.candidate_id, g.municipality_id, g.title, g.description, g.category, g.status,
       g.created_by, {s}, {s}, {s}, g.created_at, g.updated_at, g.target_date, {d}, g.version, {b}
  FROM goals g
 WHERE g.candidate_id = $1 AND g.status IN ('active', 'proposed')
UNION ALL
SELECT 2, st.id, st.goal_id, {u}, st.title, {s}, {s}, {s}, {s}, {s}, {s}, {s},
       st.done_at, st.created_at, {d}, {d}, st.position, st.done
  FROM goal_steps st JOIN goals g ON g.id = st.goal_id
 WHERE g.candidate_id = $1 AND g.status IN ('active', 'proposed')
UNION ALL
SELECT 3, r.id, {u}, {u}, r.kind, r.status, {s}, {s}, {s}, {s}, {s}, {s},
       r.created_at, {t}, {d}, {d}, {i}, {b}
  FROM requests r
 WHERE r.candidate_id = $1 AND r.status IN ('open', 'acknowledged')
UNION ALL
SELECT * FROM (
  SELECT 4, a.id, {u}, {u}, a.kind, a.title, a.location, a.online_url, a.candidate_response,
         {s}, {s}, {s}, a.starts_at, a.ends_at, {d}, {d}, {i}, {b}
    FROM appointments a
   WHERE a.candidate_id = $1 AND a.starts_at > $3 AND a.ends_at > $2 AND a.status = 'scheduled'
   ORDER BY a.starts_at, a.id LIMIT 5) AS next_appointments
UNION ALL
SELECT 5, q.id, {u}, {u}, q.questionnaire_key, {s}, {s}, {s}, {s}, {s}, {s}, {s},
       q.due_at, q.closes_at, {d}, {d}, {i}, {b}
  FROM questionnaire_assignments q
 WHERE q.candidate_id = $1 AND q.status = 'open' AND q.due_at <= $2 AND q.closes_at > $2
UNION ALL
SELECT * FROM (
  SELECT 6, w.id, {u}, {u}, w.band, {s}, {s}, {s}, {s}, {s}, {s}, {s},
         w.submitted_at, {t}, {d}, {d}, w.score, {b}
    FROM questionnaire_responses w
   WHERE w.candidate_id = $1 AND w.questionnaire_key = 'who5'
   ORDER BY w.id DESC LIMIT 1) AS latest_who5
UNION ALL
SELECT * FROM (
  SELECT 7, ns.id, ns.group_id, {u}, ng.name, ng.location, ng.online_url, {s}, {s}, {s}, {s}, {s},
         ns.starts_at, ns.ends_at, {d}, {d}, {i}, {b}
    FROM network_group_sessions ns
    JOIN network_group_members m ON m.group_id = ns.group_id
    JOIN network_groups ng ON ng.id = ns.group_id
   WHERE m.candidate_id = $1 AND m.left_at IS NULL AND ng.active = TRUE AND ns.cancelled = FALSE
     AND ns.ends_at > $2
   ORDER BY ns.starts_at, ns.id LIMIT 1) AS next_group_session
";

/// The statement for each backend, made once.
static SQL: LazyLock<[String; 2]> = LazyLock::new(|| [backend_sql(false), backend_sql(true)]);

fn backend_sql(postgres: bool) -> String {
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
        // SQLite numbers a repeated `$n` by first appearance; `?n` is the parameter n everywhere.
        for n in 1..=3 {
            sql = sql.replace(&format!("${n}"), &format!("?{n}"));
        }
    }
    sql
}

pub async fn load(db: &Db, reach: &Reach) -> DomainResult<Plan> {
    // The statement is keyed on the caller's own id, with the same condition `Reach::candidate` puts
    // on a candidate reading their own record (not erased).
    let Reach::Own(me) = reach else {
        return Err(DomainError::Forbidden);
    };
    let conn = db.read();
    let backend = conn.get_database_backend();
    let now = Utc::now();
    let sql = &SQL[usize::from(backend == DbBackend::Postgres)];
    let rows = conn
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql.as_str(),
            [
                me.id.into(),
                now.into(),
                (now - Duration::hours(appointments::MAX_HOURS)).into(),
            ],
        ))
        .await?;
    assemble(&rows)
}

/// Sorts the rows into the plan. The union's branches come back in no promised order, so each part
/// is put in its finder's order here.
fn assemble(rows: &[QueryResult]) -> DomainResult<Plan> {
    let mut head = None;
    let mut open_goals = Vec::new();
    let mut steps = Vec::new();
    let mut open_requests = Vec::new();
    let mut next_appointments = Vec::new();
    let mut due = Vec::new();
    let mut latest_wellbeing = None;
    let mut next_network_group_session = None;
    for row in rows {
        let r = Row(row);
        match r.get::<i32>(0)? {
            0 => head = Some(r.head()?),
            1 => open_goals.push(r.goal()?),
            2 => steps.push(r.step()?),
            3 => open_requests.push(OpenRequest {
                id: RequestId(r.id()?),
                kind: r.vocab(4, RequestKind::parse)?,
                status: r.vocab(5, RequestStatus::parse)?,
                created_at: r.get(12)?,
            }),
            4 => next_appointments.push(Appointment {
                id: AppointmentId(r.id()?),
                kind: r.vocab(4, AppointmentKind::parse)?,
                title: r.get(5)?,
                location: r.get(6)?,
                online_url: r.get(7)?,
                candidate_response: r.vocab(8, AppointmentReply::parse)?,
                starts_at: r.get(12)?,
                ends_at: r.get(13)?,
            }),
            5 => due.push(Due {
                assignment_id: AssignmentId(r.id()?),
                questionnaire: r.vocab(4, QuestionnaireKey::parse)?,
                due_at: r.get(12)?,
                closes_at: r.get(13)?,
            }),
            6 => {
                let id = r.id()?;
                let band = r.optional_vocab(4, WellbeingBand::parse)?.ok_or_else(|| {
                    DomainError::Internal(format!("WHO-5 response {id} has no band"))
                })?;
                latest_wellbeing = Some(Wellbeing {
                    score: r.get(16)?,
                    band,
                    answered_at: r.get(12)?,
                });
            }
            7 => {
                next_network_group_session = Some(GroupSession {
                    id: NetworkGroupSessionId(r.id()?),
                    group_id: NetworkGroupId(r.reference()?),
                    name: r.get(4)?,
                    location: r.get(5)?,
                    online_url: r.get(6)?,
                    starts_at: r.get(12)?,
                    ends_at: r.get(13)?,
                })
            }
            k => return Err(DomainError::Internal(format!("plan row of kind {k}"))),
        }
    }
    let (candidate, consultant, course) = head.ok_or(DomainError::NotFound)?;
    open_goals.sort_by_key(|g| g.id);
    steps.sort_by_key(|s| (s.goal_id, s.position));
    let (proposed_goals, goals): (Vec<_>, Vec<_>) = goals::join_steps(open_goals, steps)
        .into_iter()
        .partition(|g| g.goal.status == GoalStatus::Proposed);
    open_requests.sort_by_key(|r| r.id);
    next_appointments.sort_by_key(|a| (a.starts_at, a.id));
    let due_questionnaires = if super::questionnaires::assignments::runs(course.status) {
        due.sort_by_key(|d| d.due_at);
        due
    } else {
        Vec::new()
    };
    Ok(Plan {
        candidate,
        consultant,
        course,
        goals,
        proposed_goals,
        open_requests,
        next_appointments,
        due_questionnaires,
        latest_wellbeing,
        next_network_group_session,
    })
}

/// One row of the union, read by column position.
struct Row<'a>(&'a QueryResult);

impl Row<'_> {
    fn get<T: sea_orm::TryGetable>(&self, column: usize) -> DomainResult<T> {
        self.0
            .try_get_by_index(column)
            .map_err(|e| DomainError::Internal(format!("plan column {column}: {e}")))
    }

    fn id(&self) -> DomainResult<Uuid> {
        self.get(1)
    }

    fn reference(&self) -> DomainResult<Uuid> {
        self.get(2)
    }

    /// A stored vocabulary value; one that no variant matches is an error, never a default.
    fn vocab<T>(&self, column: usize, parse: fn(&str) -> Option<T>) -> DomainResult<T> {
        self.optional_vocab(column, parse)?.ok_or_else(|| {
            DomainError::Internal(format!(
                "plan column {column} is empty in a {} row",
                self.kind()
            ))
        })
    }

    fn optional_vocab<T>(
        &self,
        column: usize,
        parse: fn(&str) -> Option<T>,
    ) -> DomainResult<Option<T>> {
        self.get::<Option<String>>(column)?
            .map(|name| {
                parse(&name).ok_or_else(|| {
                    DomainError::Internal(format!("plan column {column}: unknown value {name:?}"))
                })
            })
            .transpose()
    }

    fn kind(&self) -> i32 {
        self.get(0).unwrap_or(-1)
    }

    fn head(&self) -> DomainResult<(Me, Option<Consultant>, Course)> {
        let consultant = match self.get::<Option<Uuid>>(2)? {
            Some(id) => Some(Consultant {
                id: StaffId(id),
                display_name: self.get(7)?,
                email: self.get(8)?,
                phone: self.get(9)?,
            }),
            None => None,
        };
        Ok((
            Me {
                id: CandidateId(self.id()?),
                given_name: self.get(4)?,
                family_name: self.get(5)?,
                preferred_name: self.get(6)?,
            },
            consultant,
            Course {
                status: self.vocab(10, CourseStatus::parse)?,
                phase: self.optional_vocab(11, CoursePhase::parse)?,
                started_on: self.get(14)?,
                resume_on: self.get(15)?,
            },
        ))
    }

    fn goal(&self) -> DomainResult<goal::Model> {
        Ok(goal::Model {
            id: GoalId(self.id()?),
            candidate_id: CandidateId(self.reference()?),
            municipality_id: MunicipalityId(self.get(3)?),
            title: self.get(4)?,
            description: self.get(5)?,
            category: self.vocab(6, GoalCategory::parse)?,
            status: self.vocab(7, GoalStatus::parse)?,
            created_by: self.vocab(8, Author::parse)?,
            created_at: self.get(12)?,
            updated_at: self.get(13)?,
            target_date: self.get(14)?,
            version: self.get(16)?,
        })
    }

    fn step(&self) -> DomainResult<goal_step::Model> {
        Ok(goal_step::Model {
            id: StepId(self.id()?),
            goal_id: GoalId(self.reference()?),
            title: self.get(4)?,
            done_at: self.get(12)?,
            created_at: self.get(13)?,
            position: self.get(16)?,
            done: self.get(17)?,
        })
    }
}

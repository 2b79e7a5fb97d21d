//! Assignments: staff ask a candidate to answer a questionnaire on a date, once or every so many days.
//!
//! Each occurrence is one row. It is *due* from `due_at` until `closes_at` (4 days later) while the
//! candidate's course runs (`referred`, `active` or `aftercare`); the candidate is told when it falls
//! due and reminded on day 2. Unanswered at `closes_at` it is `expired` (missed); two missed in a row
//! of the same questionnaire put an item in the consultant's inbox.
//!
//! **Pauses.** Nothing falls due while the course is paused (or has ended): such an occurrence is held
//! — the candidate is neither shown nor told about it — and falls due if the course resumes before it
//! closes. One that closes while the course is paused becomes `skipped`: not a miss, nothing in the
//! inbox. In effect the due dates inside a pause are skipped and a repeating assignment carries on
//! with its next date.
//!
//! **Repeating.** When an occurrence of a repeating assignment closes (answered, missed or skipped) the
//! next one is made, `repeat_every_days` after the previous due date (later still if that date has
//! passed). Cancelling stops the series, and so does the end of the course.
//!
//! The background tick claims each step with a conditional update, so with several instances only one
//! sends a notice, closes an occurrence or rolls a series.
use chrono::{DateTime, Duration, DurationRound, Utc};
use entity::{
    candidate,
    ids::{AssignmentId, CandidateId, ResponseId, StaffId},
    inbox_item, questionnaire_assignment as qa,
    scoped::CandidateOwned,
    types::{
        AssignmentState, AuditAction, AuditResource, CourseStatus as Status, EventType,
        NotificationKind,
    },
};
use poem_openapi::Enum;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Select, Set, sea_query::Expr,
};
use serde_json::json;

use super::QuestionnaireKey;
use crate::{
    db::Db,
    domain::{
        DomainError, DomainResult,
        access::{Reach, Reached},
        events,
        inbox::{self, Audience, Kind},
        journal::{self, Subject},
        notifications,
        pagination::PageRequest,
    },
};

/// An occurrence stays open this long after it falls due.
pub const OPEN_DAYS: i64 = 4;
/// The reminder goes out this many days after it fell due.
pub const REMIND_AFTER_DAYS: i64 = 2;
/// The shortest and longest repeat interval (longer than the open window, so occurrences never overlap).
pub const MIN_REPEAT_DAYS: i32 = 7;
pub const MAX_REPEAT_DAYS: i32 = 365;
/// How far ahead an assignment may be set.
pub const MAX_DAYS_AHEAD: i64 = 366;
/// Units of work per step and tick.
const BATCH: u64 = 500;

/// Where an assignment stands.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename = "QuestionnaireAssignmentStatus", rename_all = "snake_case")]
pub enum AssignmentStatus {
    /// Not due yet.
    Scheduled,
    /// Due: the candidate can answer it until `closes_at`.
    Due,
    /// Due, but the course is paused (or has ended): the candidate is not asked. It falls due again if
    /// the course resumes before `closes_at`, and becomes `skipped` otherwise.
    OnHold,
    /// Answered (`response_id`).
    Completed,
    /// Closed unanswered: missed.
    Expired,
    /// Closed while the course was paused or had ended: not counted as missed.
    Skipped,
    /// Cancelled by staff (a repeating series stops).
    Cancelled,
}

impl AssignmentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Due => "due",
            Self::OnHold => "on_hold",
            Self::Completed => "completed",
            Self::Expired => "expired",
            Self::Skipped => "skipped",
            Self::Cancelled => "cancelled",
        }
    }

    /// The status of an occurrence at `now`, for a candidate whose course status is `course`.
    pub fn of(a: &qa::Model, course: Status, now: DateTime<Utc>) -> Self {
        match a.status {
            AssignmentState::Completed => Self::Completed,
            AssignmentState::Expired => Self::Expired,
            AssignmentState::Skipped => Self::Skipped,
            AssignmentState::Cancelled => Self::Cancelled,
            AssignmentState::Open if now < a.due_at => Self::Scheduled,
            _ if !runs(course) => {
                if now < a.closes_at {
                    Self::OnHold
                } else {
                    Self::Skipped
                }
            }
            _ if now < a.closes_at => Self::Due,
            _ => Self::Expired,
        }
    }
}

/// Whether questionnaires can fall due in a course with this status.
pub fn runs(course: Status) -> bool {
    RUNNING.contains(&course)
}

const RUNNING: [Status; 3] = [Status::Referred, Status::Active, Status::Aftercare];

/// The candidate's due occurrences, oldest due first (one indexed query). The caller checks that the
/// course runs.
pub async fn due_for<C: ConnectionTrait>(
    db: &C,
    candidate_id: CandidateId,
    now: DateTime<Utc>,
) -> DomainResult<Vec<qa::Model>> {
    Ok(due(candidate_id, now).all(db).await?)
}

/// The query of `due_for`.
fn due(candidate_id: CandidateId, now: DateTime<Utc>) -> Select<qa::Entity> {
    qa::Entity::secure_find(candidate_id)
        .filter(qa::Column::Status.eq(AssignmentState::Open))
        .filter(qa::Column::DueAt.lte(now))
        .filter(qa::Column::ClosesAt.gt(now))
        .order_by_asc(qa::Column::DueAt)
}

/// The id of the candidate's oldest due occurrence of questionnaire `key` (what a response without
/// an `assignment_id` completes), as a subquery for `Reach::candidate_with`. The caller checks that
/// the course runs.
pub fn oldest_due(candidate_id: CandidateId, key: QuestionnaireKey, now: DateTime<Utc>) -> Expr {
    due(candidate_id, now)
        .filter(qa::Column::QuestionnaireKey.eq(key))
        .select_only()
        .column(qa::Column::Id)
        .limit(1)
        .into_query()
        .into()
}

/// The candidate's own due questionnaires: none while the course is paused or has ended.
pub async fn my_due(db: &Db, reach: &Reach) -> DomainResult<Vec<qa::Model>> {
    let Reach::Own(me) = reach else {
        return Err(DomainError::Forbidden);
    };
    let c = reach.candidate(db.read(), me.id).await?;
    if !runs(c.candidate().status) {
        return Ok(Vec::new());
    }
    due_for(db.read(), c.id(), Utc::now()).await
}

/// A new assignment.
pub struct NewAssignment {
    pub questionnaire: QuestionnaireKey,
    pub due_at: DateTime<Utc>,
    pub repeat_every_days: Option<i32>,
}

fn payload(a: &qa::Model) -> serde_json::Value {
    json!({
        "candidate_id": a.candidate_id, "assignment_id": a.id, "series_id": a.series_id,
        "questionnaire": a.questionnaire_key, "status": a.status, "due_at": a.due_at,
    })
}

/// Records a change of `a` by staff who reached its candidate: the event (ids) and the audit.
async fn record<C: ConnectionTrait>(
    txn: &C,
    c: &Reached,
    a: &qa::Model,
    event: EventType,
    action: AuditAction,
) -> DomainResult<()> {
    let subject = Subject::of(c, AuditResource::QuestionnaireAssignment, a.id);
    journal::record(txn, c.actor(), &subject, Some((event, payload(a))), action).await
}

/// Staff assign a questionnaire. One open assignment per questionnaire and candidate (409 names it).
pub async fn create(
    db: &Db,
    reach: &Reach,
    candidate_id: CandidateId,
    new: NewAssignment,
) -> DomainResult<(qa::Model, candidate::Model)> {
    let now = Utc::now();
    // Whole seconds: both databases keep them exactly, so a series' dates never drift.
    let due_at = new
        .due_at
        .duration_trunc(Duration::seconds(1))
        .unwrap_or(new.due_at);
    if due_at + Duration::days(OPEN_DAYS) <= now {
        return Err(DomainError::field(
            "due_at",
            "invalid_value",
            format!(
                "is so long ago that the questionnaire would already be closed (it stays open {OPEN_DAYS} days)"
            ),
        ));
    }
    if due_at > now + Duration::days(MAX_DAYS_AHEAD) {
        return Err(DomainError::field(
            "due_at",
            "invalid_value",
            format!("may be at most {MAX_DAYS_AHEAD} days ahead"),
        ));
    }
    let txn = db.begin().await?;
    let c = reach.candidate(&txn, candidate_id).await?;
    if !c.through_scope() {
        return Err(DomainError::Forbidden);
    }
    if !c.candidate().status.is_open() {
        return Err(DomainError::Conflict(
            "The candidate's course has ended; open a new course first.".into(),
        ));
    }
    let key = new.questionnaire;
    let existing = c
        .rows::<qa::Entity>()
        .filter(qa::Column::QuestionnaireKey.eq(key))
        .filter(qa::Column::Status.eq(AssignmentState::Open))
        .one(&txn)
        .await?;
    if let Some(open) = existing {
        return Err(DomainError::ConflictWith {
            detail: format!(
                "The candidate already has an open `{key}` assignment. Cancel it first to set a new one."
            ),
            existing_id: open.id.0,
        });
    }
    let id = AssignmentId::generate();
    let a = qa::ActiveModel {
        id: Set(id),
        municipality_id: Set(c.municipality_id()),
        candidate_id: Set(c.id()),
        questionnaire_key: Set(key),
        series_id: Set(id),
        due_at: Set(due_at),
        closes_at: Set(due_at + Duration::days(OPEN_DAYS)),
        repeat_every_days: Set(new.repeat_every_days),
        status: Set(AssignmentState::Open),
        response_id: Set(None),
        notified_at: Set(None),
        reminded_at: Set(None),
        closed_at: Set(None),
        created_by: Set(StaffId(c.actor().id)),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    record(
        &txn,
        &c,
        &a,
        EventType::QuestionnaireAssignmentCreated,
        AuditAction::Create,
    )
    .await?;
    txn.commit().await?;
    Ok((a, c.into_candidate()))
}

/// A candidate's assignments for their staff, newest first (audited).
pub async fn list(
    db: &Db,
    reach: &Reach,
    candidate_id: CandidateId,
    page: PageRequest,
) -> DomainResult<(Vec<qa::Model>, candidate::Model, Option<String>)> {
    let c = reach.candidate(db.read(), candidate_id).await?;
    let mut q = c.rows::<qa::Entity>().order_by_desc(qa::Column::Id);
    if let Some(before) = page.after {
        q = q.filter(qa::Column::Id.lt(before));
    }
    let (rows, next) = page.read(q, db.read(), |a| a.id.0).await?;
    let subject = Subject::candidate(
        c.municipality_id(),
        c.id(),
        AuditResource::QuestionnaireAssignment,
        None,
    );
    journal::read(db.write(), c.actor(), &subject).await?;
    Ok((rows, c.into_candidate(), next))
}

/// One assignment of a candidate, for their staff (audited).
pub async fn get(
    db: &Db,
    reach: &Reach,
    candidate_id: CandidateId,
    id: AssignmentId,
) -> DomainResult<(qa::Model, candidate::Model)> {
    let c = reach.candidate(db.read(), candidate_id).await?;
    let a = c.find::<qa::Entity, _>(db.read(), id).await?;
    let subject = Subject::of(&c, AuditResource::QuestionnaireAssignment, a.id);
    journal::read(db.write(), c.actor(), &subject).await?;
    Ok((a, c.into_candidate()))
}

/// Staff cancel an open assignment; a repeating series stops with it.
pub async fn cancel(
    db: &Db,
    reach: &Reach,
    candidate_id: CandidateId,
    id: AssignmentId,
    expected: Option<i32>,
) -> DomainResult<(qa::Model, candidate::Model)> {
    let txn = db.begin().await?;
    let c = reach.candidate(&txn, candidate_id).await?;
    let a = c.find::<qa::Entity, _>(&txn, id).await?;
    if expected.is_some_and(|v| v != a.version) {
        return Err(DomainError::Stale);
    }
    if a.status != AssignmentState::Open {
        return Err(DomainError::Conflict(format!(
            "This assignment is already `{}`.",
            a.status
        )));
    }
    let version = a.version;
    let mut am = a.into_active_model();
    am.status = Set(AssignmentState::Cancelled);
    am.closed_at = Set(Some(Utc::now()));
    // The version check is also the claim: a tick that closed it meanwhile changed the version.
    let a = journal::versioned_update::<qa::Entity, _>(&txn, id, version, expected, am).await?;
    record(
        &txn,
        &c,
        &a,
        EventType::QuestionnaireAssignmentCancelled,
        AuditAction::Update,
    )
    .await?;
    txn.commit().await?;
    Ok((a, c.into_candidate()))
}

/// Closes an open occurrence (only if it is still open: the conditional update is the claim) and,
/// with `carry_on`, rolls a repeating series on. `None` when someone else closed it first.
async fn close<C: ConnectionTrait>(
    txn: &C,
    id: AssignmentId,
    status: AssignmentState,
    response_id: Option<ResponseId>,
    now: DateTime<Utc>,
    carry_on: bool,
) -> DomainResult<Option<qa::Model>> {
    let closed = qa::Entity::update_many()
        .col_expr(qa::Column::Status, Expr::value(status))
        .col_expr(qa::Column::ResponseId, Expr::value(response_id))
        .col_expr(qa::Column::ClosedAt, Expr::value(now))
        .col_expr(qa::Column::UpdatedAt, Expr::value(now))
        .col_expr(
            qa::Column::Version,
            sea_orm::ExprTrait::add(Expr::col(qa::Column::Version), 1),
        )
        .filter(qa::Column::Id.eq(id))
        .filter(qa::Column::Status.eq(AssignmentState::Open))
        .exec_with_returning(txn)
        .await?
        .into_iter()
        .next();
    if let Some(c) = &closed
        && let Some(days) = c.repeat_every_days
        && carry_on
    {
        roll(txn, c, days, now).await?;
    }
    Ok(closed)
}

/// The next occurrence of a series: `days` after the previous due date, and after now.
async fn roll<C: ConnectionTrait>(
    txn: &C,
    prev: &qa::Model,
    days: i32,
    now: DateTime<Utc>,
) -> DomainResult<qa::Model> {
    let step = Duration::days(i64::from(days.max(1)));
    let mut due_at = prev.due_at + step;
    while due_at <= now {
        due_at += step;
    }
    Ok(qa::ActiveModel {
        id: Set(AssignmentId::generate()),
        municipality_id: Set(prev.municipality_id),
        candidate_id: Set(prev.candidate_id),
        questionnaire_key: Set(prev.questionnaire_key),
        series_id: Set(prev.series_id),
        due_at: Set(due_at),
        closes_at: Set(due_at + Duration::days(OPEN_DAYS)),
        repeat_every_days: Set(Some(days)),
        status: Set(AssignmentState::Open),
        response_id: Set(None),
        notified_at: Set(None),
        reminded_at: Set(None),
        closed_at: Set(None),
        created_by: Set(prev.created_by),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await?)
}

/// The assignment a new response completes, inside the response's transaction: the one named (which
/// must be due: 400 when it is not the candidate's or is for another questionnaire, 409 when it is
/// not open for answers), else the oldest due one of that questionnaire (`oldest_due`, which the
/// caller reads with the candidate), else none.
pub async fn complete<C: ConnectionTrait>(
    txn: &C,
    c: &Reached,
    key: QuestionnaireKey,
    named: Option<AssignmentId>,
    oldest_due: Option<AssignmentId>,
    response_id: ResponseId,
    now: DateTime<Utc>,
) -> DomainResult<Option<qa::Model>> {
    let course = c.candidate().status;
    let Some(id) = named else {
        let Some(id) = oldest_due.filter(|_| runs(course)) else {
            return Ok(None);
        };
        return close(
            txn,
            id,
            AssignmentState::Completed,
            Some(response_id),
            now,
            true,
        )
        .await;
    };
    let a = c.find::<qa::Entity, _>(txn, id).await.map_err(|_| {
        DomainError::field(
            "assignment_id",
            "invalid_value",
            "is not one of your questionnaires",
        )
    })?;
    if a.questionnaire_key != key {
        return Err(DomainError::field(
            "assignment_id",
            "invalid_value",
            format!("asks for `{}`, not `{key}`", a.questionnaire_key),
        ));
    }
    let status = AssignmentStatus::of(&a, course, now);
    if status != AssignmentStatus::Due {
        return Err(DomainError::Conflict(match status {
            AssignmentStatus::Scheduled => {
                "This questionnaire is not open for answers yet.".to_string()
            }
            AssignmentStatus::OnHold => {
                "Your course is paused, so this questionnaire waits until it resumes.".to_string()
            }
            other => format!("This questionnaire is already `{}`.", other.as_str()),
        }));
    }
    match close(
        txn,
        a.id,
        AssignmentState::Completed,
        Some(response_id),
        now,
        true,
    )
    .await?
    {
        Some(done) => Ok(Some(done)),
        None => Err(DomainError::Conflict(
            "This questionnaire was closed meanwhile.".into(),
        )),
    }
}

/// Open occurrences of running courses matching `filter` (one page of work).
async fn batch(
    db: &Db,
    filter: impl FnOnce(sea_orm::Select<qa::Entity>) -> sea_orm::Select<qa::Entity>,
) -> DomainResult<Vec<qa::Model>> {
    let q = qa::Entity::find()
        .filter(qa::Column::Status.eq(AssignmentState::Open))
        .order_by_asc(qa::Column::DueAt)
        .limit(BATCH);
    Ok(filter(q).all(db.read()).await?)
}

/// The candidate's course status now (the candidate row mirrors the current course).
async fn course_of<C: ConnectionTrait>(db: &C, candidate_id: CandidateId) -> DomainResult<Status> {
    candidate::Entity::find_by_id(candidate_id)
        .one(db)
        .await?
        .map(|c| c.status)
        .ok_or(DomainError::NotFound)
}

/// Whether the previous closed occurrence of the same questionnaire was missed too.
async fn missed_before<C: ConnectionTrait>(db: &C, a: &qa::Model) -> DomainResult<bool> {
    let prev = qa::Entity::secure_find(a.candidate_id)
        .filter(qa::Column::QuestionnaireKey.eq(a.questionnaire_key))
        .filter(qa::Column::Status.is_in([AssignmentState::Completed, AssignmentState::Expired]))
        .filter(qa::Column::DueAt.lt(a.due_at))
        .filter(qa::Column::Id.ne(a.id))
        .order_by_desc(qa::Column::DueAt)
        .one(db)
        .await?;
    Ok(prev.is_some_and(|p| p.status == AssignmentState::Expired))
}

/// Claims a timestamp column of an open occurrence (`notified_at`, `reminded_at`): true for the one
/// instance whose update found it still empty.
async fn claim<C: ConnectionTrait>(
    txn: &C,
    a: &qa::Model,
    columns: &[qa::Column],
    now: DateTime<Utc>,
) -> DomainResult<bool> {
    let mut q = qa::Entity::update_many()
        .col_expr(qa::Column::UpdatedAt, Expr::value(now))
        .filter(qa::Column::Id.eq(a.id))
        .filter(qa::Column::Status.eq(AssignmentState::Open))
        .filter(columns[0].is_null());
    for c in columns {
        q = q.col_expr(*c, Expr::value(now));
    }
    Ok(q.exec(txn).await?.rows_affected == 1)
}

/// The background work: close occurrences whose window has passed (missed or skipped; roll series;
/// the inbox item for two missed in a row), tell candidates what fell due, and send the day-2
/// reminders. Every unit is its own transaction, claimed by a conditional update.
pub async fn tick(db: &Db) -> DomainResult<()> {
    let now = Utc::now();

    for a in batch(db, |q| q.filter(qa::Column::ClosesAt.lte(now))).await? {
        let txn = db.begin().await?;
        let course = course_of(&txn, a.candidate_id).await?;
        let running = runs(course);
        let (status, event) = if running {
            (
                AssignmentState::Expired,
                EventType::QuestionnaireAssignmentExpired,
            )
        } else {
            (
                AssignmentState::Skipped,
                EventType::QuestionnaireAssignmentSkipped,
            )
        };
        // A course that has ended asks nothing more: its series stop here.
        let carry_on = course.is_open();
        if let Some(closed) = close(&txn, a.id, status, None, now, carry_on).await? {
            events::append(&txn, closed.municipality_id, event, payload(&closed)).await?;
            if running && missed_before(&txn, &closed).await? {
                let already = inbox_item::Entity::find()
                    .filter(inbox_item::Column::CandidateId.eq(closed.candidate_id))
                    .filter(inbox_item::Column::Kind.eq(Kind::MissedQuestionnaires))
                    .filter(inbox_item::Column::ResolvedAt.is_null())
                    .one(&txn)
                    .await?;
                if already.is_none() {
                    inbox::add(
                        &txn,
                        closed.municipality_id,
                        closed.candidate_id,
                        Kind::MissedQuestionnaires,
                        Some(closed.id.0),
                        Audience::Consultant,
                    )
                    .await?;
                }
            }
        }
        txn.commit().await?;
    }

    let due = batch(db, |q| {
        q.inner_join(candidate::Entity)
            .filter(candidate::Column::Status.is_in(RUNNING))
            .filter(candidate::Column::ErasedAt.is_null())
            .filter(qa::Column::NotifiedAt.is_null())
            .filter(qa::Column::DueAt.lte(now))
            .filter(qa::Column::ClosesAt.gt(now))
    })
    .await?;
    for a in due {
        let txn = db.begin().await?;
        // Found late (the course resumed, or no tick ran for a while): this notice is the reminder too.
        let late = a.due_at + Duration::days(REMIND_AFTER_DAYS) <= now;
        let columns: &[qa::Column] = if late {
            &[qa::Column::NotifiedAt, qa::Column::RemindedAt]
        } else {
            &[qa::Column::NotifiedAt]
        };
        if claim(&txn, &a, columns, now).await? {
            notify(
                &txn,
                &a,
                NotificationKind::QuestionnaireDue,
                EventType::QuestionnaireAssignmentDue,
            )
            .await?;
        }
        txn.commit().await?;
    }

    let remind = batch(db, |q| {
        q.inner_join(candidate::Entity)
            .filter(candidate::Column::Status.is_in(RUNNING))
            .filter(candidate::Column::ErasedAt.is_null())
            .filter(qa::Column::NotifiedAt.is_not_null())
            .filter(qa::Column::RemindedAt.is_null())
            .filter(qa::Column::DueAt.lte(now - Duration::days(REMIND_AFTER_DAYS)))
            .filter(qa::Column::ClosesAt.gt(now))
    })
    .await?;
    for a in remind {
        let txn = db.begin().await?;
        if claim(&txn, &a, &[qa::Column::RemindedAt], now).await? {
            notify(
                &txn,
                &a,
                NotificationKind::QuestionnaireReminder,
                EventType::QuestionnaireAssignmentReminded,
            )
            .await?;
        }
        txn.commit().await?;
    }
    Ok(())
}

/// The candidate's notification and the matching event (ids only).
async fn notify<C: ConnectionTrait>(
    txn: &C,
    a: &qa::Model,
    kind: NotificationKind,
    event: EventType,
) -> DomainResult<()> {
    notifications::add(
        txn,
        a.candidate_id,
        kind,
        json!({"assignment_id": a.id, "questionnaire": a.questionnaire_key, "closes_at": a.closes_at}),
    )
    .await?;
    events::append(txn, a.municipality_id, event, payload(a)).await?;
    Ok(())
}

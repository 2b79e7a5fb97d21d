//! Pause and stop: the candidate's own request, staff acknowledging and carrying it out (through the
//! course's one state machine), resuming, and the overdue warning.
use chrono::{Datelike, Duration, NaiveDate, SubsecRound, Utc, Weekday};
pub use entity::types::{RequestKind, RequestStatus};
use entity::{
    enrollment,
    ids::{CandidateId, EnrollmentId, RequestId, StaffId},
    request,
    scoped::CandidateOwned,
    types::{AuditAction, AuditResource, CourseStatus as Status, EventType, NotificationKind},
};
use sea_orm::sea_query::ExprTrait;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Select, Set, sea_query::Expr,
};
use serde_json::json;

use super::{
    DomainError, DomainResult,
    access::{Actor, Reach, Reached},
    enrollment::{self as course, Transition},
    events,
    inbox::{self, Audience, Kind},
    is_unique_violation,
    journal::{self, Subject, Writes},
    notifications,
    pagination::PageRequest,
    today,
};
use crate::db::Db;

/// The day a request made on `asked` becomes overdue: the third working day (Monday–Friday) after it,
/// i.e. once more than two whole working days have passed unanswered. Public holidays are not counted
/// separately.
pub fn overdue_on(asked: NaiveDate) -> NaiveDate {
    let mut day = asked;
    let mut working = 0;
    while working < 3 {
        day += Duration::days(1);
        if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            working += 1;
        }
    }
    day
}

fn copenhagen_date(at: chrono::DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&chrono_tz::Europe::Copenhagen)
        .date_naive()
}

/// A new request from the candidate.
pub struct NewRequest {
    pub kind: RequestKind,
    pub reason: Option<String>,
    pub resume_on: Option<NaiveDate>,
}

/// The candidate asks to pause or stop. One open request per kind; 409 names the open one.
pub async fn create(db: &Db, reach: &Reach, new: NewRequest) -> DomainResult<request::Model> {
    let Reach::Own(me) = reach else {
        return Err(DomainError::Forbidden);
    };
    if new.resume_on.is_some() && new.kind != RequestKind::Pause {
        return Err(DomainError::field(
            "resume_on",
            "invalid_value",
            "is only given with a pause",
        ));
    }
    if new.resume_on.is_some_and(|d| d <= today()) {
        return Err(DomainError::field(
            "resume_on",
            "invalid_value",
            "must be a day after today",
        ));
    }
    let txn = db.begin().await?;
    // The candidate, their current course and an open request of this kind: one read.
    let course_column = |column: enrollment::Column| -> Expr {
        course::current_query(me.id)
            .select_only()
            .column(column)
            .limit(1)
            .into_query()
            .into()
    };
    let open_request = open_of_kind(me.id, new.kind)
        .select_only()
        .column(request::Column::Id)
        .limit(1)
        .into_query();
    let (c, before): (_, Before) = reach
        .candidate_with(
            &txn,
            me.id,
            [
                ("enrollment_id", course_column(enrollment::Column::Id)),
                ("course_status", course_column(enrollment::Column::Status)),
                ("open_request", open_request.into()),
            ],
        )
        .await?;
    let (Some(enrollment_id), Some(status)) = (before.enrollment_id, before.course_status) else {
        return Err(DomainError::NotFound);
    };
    let possible = match new.kind {
        // The course's state machine pauses only a running course (`active`).
        RequestKind::Pause => status == Status::Active,
        RequestKind::Stop => status.is_open(),
    };
    if !possible {
        return Err(DomainError::Conflict(match (new.kind, status) {
            (_, Status::Completed | Status::Stopped) => "Your course has already ended.".into(),
            (RequestKind::Pause, Status::Paused) => "Your course is already paused.".into(),
            (RequestKind::Pause, Status::Aftercare) => {
                "You are in aftercare, so there is no course to pause. Talk with your consultant if you need a break."
                    .into()
            }
            _ => "Your course has not started yet, so there is nothing to pause. You can talk with your consultant."
                .into(),
        }));
    }
    if let Some(open) = before.open_request {
        return Err(DomainError::ConflictWith {
            detail: already_open(new.kind),
            existing_id: open.0,
        });
    }
    // Microseconds, as the database keeps it: the answer shows what a later read will.
    let r = request::Model {
        id: RequestId::generate(),
        candidate_id: c.id(),
        municipality_id: c.municipality_id(),
        enrollment_id,
        kind: new.kind,
        status: RequestStatus::Open,
        reason: new.reason,
        resume_on: new.resume_on,
        note: None,
        created_at: Utc::now().trunc_subsecs(6),
        acknowledged_at: None,
        acknowledged_by: None,
        closed_at: None,
        closed_by: None,
        overdue_at: None,
        version: 1,
    };
    // The request, the consultant's inbox item, the audit entry and the event: one request.
    let mut writes = Writes::new(txn.get_database_backend());
    writes.push(request::Entity::insert(request::ActiveModel::from(r.clone())).as_query());
    inbox::add_with(
        &mut writes,
        c.municipality_id(),
        c.id(),
        Kind::Request,
        Some(r.id.0),
        Audience::Consultant,
    );
    let written = record_with(
        &txn,
        writes,
        &c,
        &r,
        EventType::RequestCreated,
        AuditAction::Create,
    )
    .await;
    // Two requests sent at the same moment can both pass the check above (read committed on
    // PostgreSQL); the index `requests_one_open_per_kind` lets only the first be written, and the
    // second is answered as if it had come after.
    if let Err(err) = written {
        if !is_unique_violation(&err) {
            return Err(err);
        }
        txn.rollback().await?;
        let detail = already_open(new.kind);
        return Err(match open_of_kind(me.id, new.kind).one(db.read()).await? {
            Some(open) => DomainError::ConflictWith {
                detail,
                existing_id: open.id.0,
            },
            None => DomainError::Conflict(detail),
        });
    }
    txn.commit().await?;
    Ok(r)
}

/// The candidate's unfinished request of this kind (there is at most one).
fn open_of_kind(candidate: CandidateId, kind: RequestKind) -> Select<request::Entity> {
    request::Entity::secure_find(candidate)
        .filter(request::Column::Kind.eq(kind))
        .filter(request::Column::Status.is_in(RequestStatus::OPEN))
}

fn already_open(kind: RequestKind) -> String {
    format!(
        "You already have an open {} request. You can see it or take it back.",
        kind.as_str()
    )
}

/// What a new request reads with its candidate, in the same statement.
#[derive(FromQueryResult)]
struct Before {
    /// The current course.
    enrollment_id: Option<EnrollmentId>,
    course_status: Option<Status>,
    /// An open request of the same kind.
    open_request: Option<RequestId>,
}

fn payload(r: &request::Model) -> serde_json::Value {
    json!({"candidate_id": r.candidate_id, "request_id": r.id, "kind": r.kind, "status": r.status})
}

/// Records a change of `r` by whoever reached its candidate: the event (ids and status) and the audit.
async fn record<C: ConnectionTrait>(
    txn: &C,
    c: &Reached,
    r: &request::Model,
    event: EventType,
    action: AuditAction,
) -> DomainResult<()> {
    let writes = Writes::new(txn.get_database_backend());
    record_with(txn, writes, c, r, event, action).await
}

/// `record`, sent with the change's own statements as one request (`journal::record_with`).
async fn record_with<C: ConnectionTrait>(
    txn: &C,
    writes: Writes,
    c: &Reached,
    r: &request::Model,
    event: EventType,
    action: AuditAction,
) -> DomainResult<()> {
    journal::record_reached(
        txn,
        writes,
        c,
        AuditResource::Request,
        r.id,
        event,
        payload(r),
        action,
    )
    .await
}

/// A candidate's requests, newest first (staff reads are audited).
pub async fn list(
    db: &Db,
    reach: &Reach,
    candidate_id: CandidateId,
    page: PageRequest,
) -> DomainResult<(Vec<request::Model>, Option<String>)> {
    let c = reach.candidate(db.read(), candidate_id).await?;
    let mut q = c
        .rows::<request::Entity>()
        .order_by_desc(request::Column::Id);
    if let Some(before) = page.after {
        q = q.filter(request::Column::Id.lt(before));
    }
    let out = page.read(q, db.read(), |r| r.id.0).await?;
    if c.through_scope() {
        let subject = Subject::candidate(c.municipality_id(), c.id(), AuditResource::Request, None);
        journal::read(db.write(), c.actor(), &subject).await?;
    }
    Ok(out)
}

/// One of the candidate's own requests; someone else's is not found.
pub async fn get_mine(db: &Db, reach: &Reach, id: RequestId) -> DomainResult<request::Model> {
    let Reach::Own(me) = reach else {
        return Err(DomainError::Forbidden);
    };
    let c = reach.candidate(db.read(), me.id).await?;
    c.find::<request::Entity, _>(db.read(), id).await
}

/// The candidate takes back their open or acknowledged request.
pub async fn withdraw(db: &Db, reach: &Reach, id: RequestId) -> DomainResult<request::Model> {
    let Reach::Own(me) = reach else {
        return Err(DomainError::Forbidden);
    };
    let txn = db.begin().await?;
    let c = reach.candidate(&txn, me.id).await?;
    let r = c.find::<request::Entity, _>(&txn, id).await?;
    let r = close(&txn, c.actor(), r, RequestStatus::Withdrawn).await?;
    inbox::resolve(&txn, &[Kind::Request, Kind::RequestOverdue], r.id.0).await?;
    record(
        &txn,
        &c,
        &r,
        EventType::RequestWithdrawn,
        AuditAction::Update,
    )
    .await?;
    txn.commit().await?;
    Ok(r)
}

fn finished(r: &request::Model) -> DomainError {
    DomainError::Conflict(format!("This request is already `{}`.", r.status))
}

async fn close<C: ConnectionTrait>(
    txn: &C,
    actor: Actor,
    r: request::Model,
    to: RequestStatus,
) -> DomainResult<request::Model> {
    if !RequestStatus::OPEN.contains(&r.status) {
        return Err(finished(&r));
    }
    let (id, version) = (r.id, r.version);
    let mut am = r.into_active_model();
    am.status = Set(to);
    am.closed_at = Set(Some(Utc::now()));
    am.closed_by = Set(Some(actor.id));
    journal::versioned_update::<request::Entity, _>(txn, id, version, None, am).await
}

/// A request staff reach through its candidate.
async fn find_for_staff<C: ConnectionTrait>(
    db: &C,
    reach: &Reach,
    id: RequestId,
) -> DomainResult<(Reached, request::Model)> {
    if !matches!(reach, Reach::Scoped(..)) {
        return Err(DomainError::Forbidden);
    }
    reach
        .owner_of::<request::Entity, _>(db, id, |r| r.candidate_id)
        .await
}

/// Staff have seen the request and will talk with the candidate.
pub async fn acknowledge(
    db: &Db,
    reach: &Reach,
    id: RequestId,
    note: Option<String>,
) -> DomainResult<request::Model> {
    let txn = db.begin().await?;
    let (c, r) = find_for_staff(&txn, reach, id).await?;
    if r.status != RequestStatus::Open {
        return Err(finished(&r));
    }
    let version = r.version;
    let mut am = r.into_active_model();
    am.status = Set(RequestStatus::Acknowledged);
    am.note = Set(note);
    am.acknowledged_at = Set(Some(Utc::now()));
    am.acknowledged_by = Set(Some(StaffId(c.actor().id)));
    let r = journal::versioned_update::<request::Entity, _>(&txn, id, version, None, am).await?;
    inbox::resolve(&txn, &[Kind::RequestOverdue], r.id.0).await?;
    notifications::add(
        &txn,
        r.candidate_id,
        NotificationKind::RequestAcknowledged,
        json!({"request_id": r.id, "kind": r.kind}),
    )
    .await?;
    record(
        &txn,
        &c,
        &r,
        EventType::RequestAcknowledged,
        AuditAction::Update,
    )
    .await?;
    txn.commit().await?;
    Ok(r)
}

/// Carries the request out: the course becomes `paused` (with the request's `resume_on`) or `stopped`
/// through the same state machine as every other status change, with the request id in its history.
pub async fn carry_out(
    db: &Db,
    reach: &Reach,
    id: RequestId,
    effective_on: Option<NaiveDate>,
) -> DomainResult<(request::Model, enrollment::Model)> {
    let txn = db.begin().await?;
    let (c, r) = find_for_staff(&txn, reach, id).await?;
    if !RequestStatus::OPEN.contains(&r.status) {
        return Err(finished(&r));
    }
    let t = Transition {
        to: if r.kind == RequestKind::Pause {
            Status::Paused
        } else {
            Status::Stopped
        },
        reason: None,
        outcome: None,
        resume_on: r.resume_on,
        effective_on,
        request_id: Some(r.id),
    };
    // Staff may already have made the change (e.g. paused the course in a phone call): then carrying
    // the request out only closes it.
    let now = course::current(&txn, c.id()).await?;
    let e = if now.status == t.to {
        now
    } else {
        course::apply_transition(&txn, &c, c.actor(), None, t).await?
    };
    let r = close(&txn, c.actor(), r, RequestStatus::CarriedOut).await?;
    inbox::resolve(&txn, &[Kind::Request, Kind::RequestOverdue], r.id.0).await?;
    notifications::add(
        &txn,
        r.candidate_id,
        NotificationKind::RequestCarriedOut,
        json!({"request_id": r.id, "kind": r.kind}),
    )
    .await?;
    record(
        &txn,
        &c,
        &r,
        EventType::RequestCarriedOut,
        AuditAction::Update,
    )
    .await?;
    txn.commit().await?;
    Ok((r, e))
}

/// The candidate ends their pause themselves.
pub async fn resume(db: &Db, reach: &Reach) -> DomainResult<enrollment::Model> {
    let Reach::Own(me) = reach else {
        return Err(DomainError::Forbidden);
    };
    let txn = db.begin().await?;
    let c = reach.candidate(&txn, me.id).await?;
    let e = course::current(&txn, c.id()).await?;
    if e.status != Status::Paused {
        return Err(DomainError::Conflict("Your course is not paused.".into()));
    }
    let t = Transition {
        to: Status::Active,
        reason: None,
        outcome: None,
        resume_on: None,
        effective_on: None,
        request_id: None,
    };
    let e = course::apply_transition(&txn, &c, c.actor(), None, t).await?;
    inbox::resolve_for_candidate(&txn, Kind::ResumeDue, c.id()).await?;
    txn.commit().await?;
    Ok(e)
}

/// The overdue warning and the passed resume dates. Each unit is claimed with a conditional update,
/// so with several instances exactly one of them raises it.
pub async fn tick(db: &Db) -> DomainResult<()> {
    let today = today();
    // Requests still `open`: anything asked at least three working days ago is a candidate.
    let candidates = request::Entity::find()
        .filter(request::Column::Status.eq(RequestStatus::Open))
        .filter(request::Column::OverdueAt.is_null())
        .filter(request::Column::CreatedAt.lt(Utc::now() - Duration::days(3)))
        .limit(500)
        .all(db.read())
        .await?;
    for r in candidates {
        if overdue_on(copenhagen_date(r.created_at)) > today {
            continue;
        }
        let txn = db.begin().await?;
        let claimed = request::Entity::update_many()
            .col_expr(request::Column::OverdueAt, Expr::value(Utc::now()))
            .filter(request::Column::Id.eq(r.id))
            .filter(request::Column::OverdueAt.is_null())
            .filter(request::Column::Status.eq(RequestStatus::Open))
            .exec(&txn)
            .await?;
        if claimed.rows_affected == 1 {
            inbox::add(
                &txn,
                r.municipality_id,
                r.candidate_id,
                Kind::RequestOverdue,
                Some(r.id.0),
                Audience::Coordinator,
            )
            .await?;
            events::append(
                &txn,
                r.municipality_id,
                EventType::RequestOverdue,
                payload(&r),
            )
            .await?;
        }
        txn.commit().await?;
    }
    // Paused courses whose planned resume date has come: staff should talk with the candidate.
    let due = enrollment::Entity::find()
        .filter(enrollment::Column::Status.eq(Status::Paused))
        .filter(enrollment::Column::ResumeOn.lte(today))
        .limit(500)
        .all(db.read())
        .await?;
    for e in due {
        let Some(resume_on) = e.resume_on else {
            continue;
        };
        if e.resume_notified_on == Some(resume_on) {
            continue;
        }
        let txn = db.begin().await?;
        let claimed = enrollment::Entity::update_many()
            .col_expr(enrollment::Column::ResumeNotifiedOn, Expr::value(resume_on))
            .filter(enrollment::Column::Id.eq(e.id))
            .filter(enrollment::Column::Status.eq(Status::Paused))
            .filter(
                enrollment::Column::ResumeNotifiedOn
                    .is_null()
                    .or(enrollment::Column::ResumeNotifiedOn.ne(resume_on)),
            )
            .exec(&txn)
            .await?;
        if claimed.rows_affected == 1 {
            inbox::add(
                &txn,
                e.municipality_id,
                e.candidate_id,
                Kind::ResumeDue,
                Some(e.id.0),
                Audience::Consultant,
            )
            .await?;
            events::append(
                &txn,
                e.municipality_id,
                EventType::EnrollmentResumeDue,
                json!({"candidate_id": e.candidate_id, "enrollment_id": e.id, "resume_on": resume_on}),
            )
            .await?;
        }
        txn.commit().await?;
    }
    Ok(())
}

/// Open requests of a candidate (for the plan).
pub async fn open_for<C: ConnectionTrait>(
    db: &C,
    candidate_id: CandidateId,
) -> DomainResult<Vec<request::Model>> {
    Ok(request::Entity::find()
        .filter(request::Column::CandidateId.eq(candidate_id))
        .filter(request::Column::Status.is_in(RequestStatus::OPEN))
        .order_by_asc(request::Column::Id)
        .all(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn overdue_counts_working_days() {
        // 2026-12-04 is a Friday: Monday and Tuesday pass, Wednesday is overdue.
        assert_eq!(overdue_on(d(2026, 12, 4)), d(2026, 12, 9));
        // Saturday and Sunday count as Friday.
        assert_eq!(overdue_on(d(2026, 12, 5)), d(2026, 12, 9));
        assert_eq!(overdue_on(d(2026, 12, 6)), d(2026, 12, 9));
        // Monday → Thursday; Wednesday → Monday.
        assert_eq!(overdue_on(d(2026, 11, 30)), d(2026, 12, 3));
        assert_eq!(overdue_on(d(2026, 12, 2)), d(2026, 12, 7));
    }
}

//! The course ("forløb") and its state machine. Every status change — a staff transition, and later a
//! carried-out pause or stop request — goes through `transition`, which writes the history entry, the
//! event and the audit entry in the same transaction.
use chrono::{NaiveDate, Utc};
use entity::{
    candidate, enrollment, enrollment_transition,
    ids::{CandidateId, EnrollmentId, RequestId},
    types::{AuditAction, AuditResource, EventType},
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, Select, Set, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use super::{
    DomainError, DomainResult,
    access::{Actor, Reach, Reached},
    candidates, events,
    journal::{self, Subject},
    today,
};
use crate::db::Db;

pub use entity::types::{CourseOutcome as Outcome, CoursePhase as Phase, CourseStatus as Status};

/// A requested status change.
#[derive(Clone, Debug)]
pub struct Transition {
    pub to: Status,
    pub reason: Option<String>,
    pub outcome: Option<Outcome>,
    pub resume_on: Option<NaiveDate>,
    pub effective_on: Option<NaiveDate>,
    /// The candidate's pause or stop request this carries out, if any.
    pub request_id: Option<RequestId>,
}

/// A course with its history, oldest entry first.
#[derive(Clone, Debug)]
pub struct Course {
    pub enrollment: enrollment::Model,
    pub history: Vec<enrollment_transition::Model>,
}

pub async fn current<C: ConnectionTrait>(
    db: &C,
    candidate_id: CandidateId,
) -> DomainResult<enrollment::Model> {
    current_query(candidate_id)
        .one(db)
        .await?
        .ok_or(DomainError::NotFound)
}

/// The query of `current` (the newest course first); with one column selected, a subquery for
/// `Reach::candidate_with`.
pub fn current_query(candidate_id: CandidateId) -> Select<enrollment::Entity> {
    enrollment::Entity::find()
        .filter(enrollment::Column::CandidateId.eq(candidate_id))
        .order_by_desc(enrollment::Column::Id)
}

async fn history<C: ConnectionTrait>(
    db: &C,
    ids: &[EnrollmentId],
) -> DomainResult<Vec<enrollment_transition::Model>> {
    Ok(enrollment_transition::Entity::find()
        .filter(enrollment_transition::Column::EnrollmentId.is_in(ids.iter().copied()))
        .order_by_asc(enrollment_transition::Column::Id)
        .all(db)
        .await?)
}

/// The candidate's current course, with its history; audited as a read.
pub async fn get(db: &Db, reach: &Reach, candidate_id: CandidateId) -> DomainResult<Course> {
    let c = reach.candidate(db.read(), candidate_id).await?;
    let e = current(db.read(), c.id()).await?;
    let h = history(db.read(), &[e.id]).await?;
    let subject = Subject::of(&c, AuditResource::Enrollment, e.id);
    journal::read(db.write(), c.actor(), &subject).await?;
    Ok(Course {
        enrollment: e,
        history: h,
    })
}

/// All courses of a candidate, newest first.
pub async fn list(db: &Db, reach: &Reach, candidate_id: CandidateId) -> DomainResult<Vec<Course>> {
    let c = reach.candidate(db.read(), candidate_id).await?;
    let all = c
        .rows::<enrollment::Entity>()
        .order_by_desc(enrollment::Column::Id)
        .all(db.read())
        .await?;
    let ids: Vec<EnrollmentId> = all.iter().map(|e| e.id).collect();
    let mut h = history(db.read(), &ids).await?;
    let subject = Subject::candidate(c.municipality_id(), c.id(), AuditResource::Enrollment, None);
    journal::read(db.write(), c.actor(), &subject).await?;
    Ok(all
        .into_iter()
        .map(|e| {
            let mine = h
                .iter()
                .filter(|t| t.enrollment_id == e.id)
                .cloned()
                .collect();
            h.retain(|t| t.enrollment_id != e.id);
            Course {
                enrollment: e,
                history: mine,
            }
        })
        .collect())
}

/// Opens a course in `referred`; call inside a transaction (candidate creation, a new course).
pub async fn open<C: ConnectionTrait>(
    txn: &C,
    candidate: &candidate::Model,
    actor: Actor,
    referred_on: NaiveDate,
) -> DomainResult<enrollment::Model> {
    let now = Utc::now();
    let e = enrollment::ActiveModel {
        id: Set(EnrollmentId::generate()),
        candidate_id: Set(candidate.id),
        municipality_id: Set(candidate.municipality_id),
        status: Set(Status::Referred),
        phase: Set(None),
        referred_on: Set(referred_on),
        started_on: Set(None),
        ended_on: Set(None),
        first_employer_contact_on: Set(None),
        outcome: Set(None),
        resume_on: Set(None),
        last_effective_on: Set(referred_on),
        resume_notified_on: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await?;
    write_history(
        txn,
        &e,
        None,
        Status::Referred,
        referred_on,
        actor,
        None,
        None,
    )
    .await?;
    events::append(
        txn,
        candidate.municipality_id,
        EventType::EnrollmentStatusChanged,
        json!({"candidate_id": candidate.id, "enrollment_id": e.id, "from": null, "to": Status::Referred, "effective_on": referred_on}),
    )
    .await?;
    Ok(e)
}

#[allow(clippy::too_many_arguments)]
async fn write_history<C: ConnectionTrait>(
    txn: &C,
    e: &enrollment::Model,
    from: Option<Status>,
    to: Status,
    effective_on: NaiveDate,
    actor: Actor,
    reason: Option<String>,
    request_id: Option<RequestId>,
) -> DomainResult<()> {
    enrollment_transition::ActiveModel {
        id: Set(Uuid::now_v7()),
        enrollment_id: Set(e.id),
        from_status: Set(from),
        to_status: Set(to),
        effective_on: Set(effective_on),
        recorded_at: Set(Utc::now()),
        by_id: Set(Some(actor.id)),
        by_role: Set(actor.role),
        reason: Set(reason),
        request_id: Set(request_id),
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// Opens a new course for a candidate whose last course has ended.
pub async fn open_new(
    db: &Db,
    reach: &Reach,
    candidate_id: CandidateId,
    referred_on: Option<NaiveDate>,
) -> DomainResult<(Course, Option<String>)> {
    let referred_on = referred_on.unwrap_or_else(today);
    if referred_on > today() {
        return Err(DomainError::field(
            "referred_on",
            "invalid_value",
            "may not be in the future",
        ));
    }
    let txn = db.begin().await?;
    let reached = reach.candidate(&txn, candidate_id).await?;
    let c = reached.candidate();
    let last = current(&txn, c.id).await?;
    if last.status.is_open() {
        return Err(DomainError::Conflict(format!(
            "The candidate's course is still `{}`; end it before opening a new one.",
            last.status
        )));
    }
    if last.ended_on.is_some_and(|d| referred_on < d) {
        return Err(DomainError::Conflict(
            "`referred_on` may not be before the previous course ended.".into(),
        ));
    }
    let warning = match c.consultant_id {
        Some(consultant) => {
            candidates::check_caseload(&txn, c.municipality_id, consultant, Some(c.id)).await?
        }
        None => None,
    };
    let e = open(&txn, c, reached.actor(), referred_on).await?;
    set_candidate_status(&txn, c.id, Status::Referred).await?;
    let subject = Subject::of(&reached, AuditResource::Enrollment, e.id);
    journal::record(&txn, reached.actor(), &subject, None, AuditAction::Create).await?;
    let h = history(&txn, &[e.id]).await?;
    txn.commit().await?;
    Ok((
        Course {
            enrollment: e,
            history: h,
        },
        warning,
    ))
}

async fn set_candidate_status<C: ConnectionTrait>(
    txn: &C,
    candidate_id: CandidateId,
    status: Status,
) -> DomainResult<()> {
    candidate::Entity::update_many()
        .col_expr(candidate::Column::Status, Expr::value(status))
        .col_expr(candidate::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(candidate::Column::Id.eq(candidate_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Moves the candidate's current course to another status, by the rules of the state machine.
pub async fn transition(
    db: &Db,
    reach: &Reach,
    candidate_id: CandidateId,
    expected: Option<i32>,
    t: Transition,
) -> DomainResult<Course> {
    let txn = db.begin().await?;
    let c = reach.candidate(&txn, candidate_id).await?;
    let e = apply_transition(&txn, &c, c.actor(), expected, t).await?;
    let h = history(&txn, &[e.id]).await?;
    txn.commit().await?;
    Ok(Course {
        enrollment: e,
        history: h,
    })
}

/// The state machine itself, inside the caller's transaction.
pub async fn apply_transition(
    txn: &DatabaseTransaction,
    reached: &Reached,
    actor: Actor,
    expected: Option<i32>,
    t: Transition,
) -> DomainResult<enrollment::Model> {
    let c = reached.candidate();
    let e = current(txn, c.id).await?;
    if expected.is_some_and(|v| v != e.version) {
        return Err(DomainError::Stale);
    }
    let from = e.status;
    if !from.allowed().contains(&t.to) {
        return Err(DomainError::IllegalTransition {
            from: from.as_str().into(),
            to: t.to.as_str().into(),
            allowed: from
                .allowed()
                .iter()
                .map(|s| s.as_str().to_string())
                .collect(),
        });
    }
    match (t.to, t.outcome) {
        (Status::Completed, None) => {
            return Err(DomainError::field(
                "outcome",
                "required",
                "is required to complete a course",
            ));
        }
        (to, Some(_)) if to != Status::Completed => {
            return Err(DomainError::field(
                "outcome",
                "invalid_value",
                "is only given when completing a course",
            ));
        }
        _ => {}
    }
    if t.resume_on.is_some() && t.to != Status::Paused {
        return Err(DomainError::field(
            "resume_on",
            "invalid_value",
            "is only given when pausing a course",
        ));
    }
    let effective_on = t.effective_on.unwrap_or_else(today);
    if effective_on > today() {
        return Err(DomainError::Conflict(
            "`effective_on` may not be in the future.".into(),
        ));
    }
    if effective_on < e.last_effective_on {
        return Err(DomainError::Conflict(format!(
            "`effective_on` may not be before the previous change ({}).",
            e.last_effective_on
        )));
    }
    if t.resume_on.is_some_and(|r| r <= effective_on) {
        return Err(DomainError::field(
            "resume_on",
            "invalid_value",
            "must be after the day the pause starts",
        ));
    }
    let mut am = e.clone().into_active_model();
    am.status = Set(t.to);
    am.last_effective_on = Set(effective_on);
    am.resume_on = Set(if t.to == Status::Paused {
        t.resume_on
    } else {
        None
    });
    if t.to == Status::Active {
        if e.started_on.is_none() {
            am.started_on = Set(Some(effective_on));
        }
        if e.phase.is_none() {
            am.phase = Set(Some(Phase::Start));
        }
    }
    if !t.to.is_open() {
        am.ended_on = Set(Some(effective_on));
        am.outcome = Set(t.outcome);
    }
    let updated =
        journal::versioned_update::<enrollment::Entity, _>(txn, e.id, e.version, None, am).await?;
    write_history(
        txn,
        &updated,
        Some(from),
        t.to,
        effective_on,
        actor,
        t.reason,
        t.request_id,
    )
    .await?;
    set_candidate_status(txn, c.id, t.to).await?;
    let event = json!({
        "candidate_id": c.id, "enrollment_id": updated.id, "from": from, "to": t.to,
        "effective_on": effective_on, "outcome": updated.outcome, "request_id": t.request_id,
    });
    journal::record(
        txn,
        actor,
        &Subject::of(reached, AuditResource::Enrollment, updated.id),
        Some((EventType::EnrollmentStatusChanged, event)),
        AuditAction::Update,
    )
    .await?;
    Ok(updated)
}

/// A change of the current course's phase or first employer contact; `Some(None)` clears the date.
pub struct CourseChange {
    pub phase: Option<Phase>,
    pub first_employer_contact_on: Option<Option<NaiveDate>>,
}

pub async fn update(
    db: &Db,
    reach: &Reach,
    candidate_id: CandidateId,
    expected: Option<i32>,
    change: CourseChange,
) -> DomainResult<Course> {
    let txn = db.begin().await?;
    let c = reach.candidate(&txn, candidate_id).await?;
    let e = current(&txn, c.id()).await?;
    if expected.is_some_and(|v| v != e.version) {
        return Err(DomainError::Stale);
    }
    if change.phase.is_some() && e.status != Status::Active {
        return Err(DomainError::Conflict(
            "The phase can only be set while the course is `active`.".into(),
        ));
    }
    if let Some(Some(d)) = change.first_employer_contact_on
        && (d > today() || d < e.referred_on)
    {
        return Err(DomainError::field(
            "first_employer_contact_on",
            "invalid_value",
            "must be between the referral and today",
        ));
    }
    let mut am = e.clone().into_active_model();
    if let Some(p) = change.phase {
        am.phase = Set(Some(p));
    }
    if let Some(d) = change.first_employer_contact_on {
        am.first_employer_contact_on = Set(d);
    }
    let updated =
        journal::versioned_update::<enrollment::Entity, _>(&txn, e.id, e.version, expected, am)
            .await?;
    journal::record(
        &txn,
        c.actor(),
        &Subject::of(&c, AuditResource::Enrollment, e.id),
        Some((
            EventType::EnrollmentUpdated,
            json!({"candidate_id": c.id(), "enrollment_id": updated.id, "phase": updated.phase}),
        )),
        AuditAction::Update,
    )
    .await?;
    let h = history(&txn, &[e.id]).await?;
    txn.commit().await?;
    Ok(Course {
        enrollment: updated,
        history: h,
    })
}

//! Pause and stop: the candidate's own request, staff acknowledging and carrying it out (through the
//! course's one state machine), resuming, the overdue warning, and the candidate's disclosure choice.
use chrono::{Datelike, Duration, NaiveDate, Utc, Weekday};
use entity::{candidate, disclosure, enrollment, request};
use poem_openapi::Enum;
use sea_orm::sea_query::ExprTrait;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, Set, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use super::{
    DomainError, DomainResult, audit, candidates,
    enrollment::{self as course, Status, Transition},
    events,
    inbox::{self, Audience, Kind},
    notifications,
    pagination::PageRequest,
    today,
};
use crate::{
    auth::{Actor, CandidateScope},
    db::Db,
};

/// What the candidate asks for.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum RequestKind {
    /// A break; the course resumes later.
    Pause,
    /// End the course.
    Stop,
}

impl RequestKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pause => "pause",
            Self::Stop => "stop",
        }
    }

    pub fn parse(s: &str) -> Self {
        if s == "stop" { Self::Stop } else { Self::Pause }
    }
}

/// Where a request stands.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum RequestStatus {
    /// Sent; nobody has answered yet.
    Open,
    /// Staff have seen it and will talk with the candidate.
    Acknowledged,
    /// Done: the course is paused or stopped.
    CarriedOut,
    /// The candidate took it back.
    Withdrawn,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Acknowledged => "acknowledged",
            Self::CarriedOut => "carried_out",
            Self::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "acknowledged" => Self::Acknowledged,
            "carried_out" => Self::CarriedOut,
            "withdrawn" => Self::Withdrawn,
            _ => Self::Open,
        }
    }
}

const OPEN: [&str; 2] = ["open", "acknowledged"];

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
pub async fn create(db: &Db, actor: Actor, new: NewRequest) -> DomainResult<request::Model> {
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
    let c = candidate::Entity::find_by_id(actor.id)
        .one(&txn)
        .await?
        .ok_or(DomainError::NotFound)?;
    let e = course::current(&txn, c.id).await?;
    let status = Status::parse(&e.status).unwrap_or(Status::Referred);
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
    let existing = request::Entity::find()
        .filter(request::Column::CandidateId.eq(c.id))
        .filter(request::Column::Kind.eq(new.kind.as_str()))
        .filter(request::Column::Status.is_in(OPEN))
        .one(&txn)
        .await?;
    if let Some(open) = existing {
        return Err(DomainError::ConflictWith {
            detail: format!(
                "You already have an open {} request. You can see it or take it back.",
                new.kind.as_str()
            ),
            existing_id: open.id,
        });
    }
    let r = request::ActiveModel {
        id: Set(Uuid::now_v7()),
        candidate_id: Set(c.id),
        municipality_id: Set(c.municipality_id),
        enrollment_id: Set(e.id),
        kind: Set(new.kind.as_str().into()),
        status: Set(RequestStatus::Open.as_str().into()),
        reason: Set(new.reason),
        resume_on: Set(new.resume_on),
        note: Set(None),
        created_at: Set(Utc::now()),
        acknowledged_at: Set(None),
        acknowledged_by: Set(None),
        closed_at: Set(None),
        closed_by: Set(None),
        overdue_at: Set(None),
        version: Set(1),
    }
    .insert(&txn)
    .await?;
    inbox::add(
        &txn,
        c.municipality_id,
        c.id,
        Kind::Request,
        Some(r.id),
        Audience::Consultant,
    )
    .await?;
    record(&txn, actor, &r, "request.created", audit::Action::Create).await?;
    txn.commit().await?;
    Ok(r)
}

async fn record<C: ConnectionTrait>(
    txn: &C,
    actor: Actor,
    r: &request::Model,
    event: &str,
    action: audit::Action,
) -> DomainResult<()> {
    events::append(
        txn,
        r.municipality_id,
        event,
        json!({"candidate_id": r.candidate_id, "request_id": r.id, "kind": r.kind, "status": r.status}),
    )
    .await?;
    audit::record(
        txn,
        actor,
        Some(r.municipality_id),
        Some(r.candidate_id),
        action,
        "request",
        Some(r.id),
    )
    .await?;
    Ok(())
}

/// The candidate's own requests, newest first.
pub async fn list_own(
    db: &Db,
    candidate_id: Uuid,
    page: PageRequest,
) -> DomainResult<(Vec<request::Model>, Option<String>)> {
    list_for(db, candidate_id, page).await
}

async fn list_for(
    db: &Db,
    candidate_id: Uuid,
    page: PageRequest,
) -> DomainResult<(Vec<request::Model>, Option<String>)> {
    let mut q = request::Entity::find()
        .filter(request::Column::CandidateId.eq(candidate_id))
        .order_by_desc(request::Column::Id)
        .limit(page.fetch());
    if let Some(before) = page.after {
        q = q.filter(request::Column::Id.lt(before));
    }
    Ok(page.finish(q.all(db.read()).await?, |r| r.id))
}

/// A candidate's requests for their staff (audited).
pub async fn list_for_staff(
    db: &Db,
    scope: &CandidateScope,
    actor: Actor,
    candidate_id: Uuid,
    page: PageRequest,
) -> DomainResult<(Vec<request::Model>, Option<String>)> {
    let c = candidates::find_in_scope(db.read(), scope, candidate_id).await?;
    let out = list_for(db, c.id, page).await?;
    audit::record(
        db.write(),
        actor,
        Some(c.municipality_id),
        Some(c.id),
        audit::Action::Read,
        "request",
        None,
    )
    .await?;
    Ok(out)
}

/// The candidate takes back their open or acknowledged request.
pub async fn withdraw(db: &Db, actor: Actor, id: Uuid) -> DomainResult<request::Model> {
    let txn = db.begin().await?;
    let r = request::Entity::find_by_id(id)
        .filter(request::Column::CandidateId.eq(actor.id))
        .one(&txn)
        .await?
        .ok_or(DomainError::NotFound)?;
    let r = close(&txn, actor, r, RequestStatus::Withdrawn).await?;
    inbox::resolve(&txn, &[Kind::Request, Kind::RequestOverdue], r.id).await?;
    record(&txn, actor, &r, "request.withdrawn", audit::Action::Update).await?;
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
    if !OPEN.contains(&r.status.as_str()) {
        return Err(finished(&r));
    }
    let version = r.version;
    let mut am = r.into_active_model();
    am.status = Set(to.as_str().into());
    am.closed_at = Set(Some(Utc::now()));
    am.closed_by = Set(Some(actor.id));
    am.version = Set(version + 1);
    let id = am.id.clone().unwrap();
    request::Entity::update_many()
        .set(am)
        .filter(request::Column::Id.eq(id))
        .filter(request::Column::Version.eq(version))
        .exec_with_returning(txn)
        .await?
        .into_iter()
        .next()
        .ok_or(DomainError::Stale)
}

/// A request staff can reach.
async fn find_for_staff<C: ConnectionTrait>(
    db: &C,
    scope: &CandidateScope,
    id: Uuid,
) -> DomainResult<(request::Model, candidate::Model)> {
    let r = request::Entity::find_by_id(id)
        .filter(request::Column::MunicipalityId.eq(scope.municipality_id()))
        .one(db)
        .await?
        .ok_or(DomainError::NotFound)?;
    let c = candidates::find_in_scope(db, scope, r.candidate_id).await?;
    Ok((r, c))
}

/// Staff have seen the request and will talk with the candidate.
pub async fn acknowledge(
    db: &Db,
    scope: &CandidateScope,
    actor: Actor,
    id: Uuid,
    note: Option<String>,
) -> DomainResult<request::Model> {
    let txn = db.begin().await?;
    let (r, _) = find_for_staff(&txn, scope, id).await?;
    if r.status != RequestStatus::Open.as_str() {
        return Err(finished(&r));
    }
    let version = r.version;
    let mut am = r.into_active_model();
    am.status = Set(RequestStatus::Acknowledged.as_str().into());
    am.note = Set(note);
    am.acknowledged_at = Set(Some(Utc::now()));
    am.acknowledged_by = Set(Some(actor.id));
    am.version = Set(version + 1);
    let r = request::Entity::update_many()
        .set(am)
        .filter(request::Column::Id.eq(id))
        .filter(request::Column::Version.eq(version))
        .exec_with_returning(&txn)
        .await?
        .into_iter()
        .next()
        .ok_or(DomainError::Stale)?;
    inbox::resolve(&txn, &[Kind::RequestOverdue], r.id).await?;
    notifications::add(
        &txn,
        r.candidate_id,
        "request_acknowledged",
        json!({"request_id": r.id, "kind": r.kind}),
    )
    .await?;
    record(
        &txn,
        actor,
        &r,
        "request.acknowledged",
        audit::Action::Update,
    )
    .await?;
    txn.commit().await?;
    Ok(r)
}

/// Carries the request out: the course becomes `paused` (with the request's `resume_on`) or `stopped`
/// through the same state machine as every other status change, with the request id in its history.
pub async fn carry_out(
    db: &Db,
    scope: &CandidateScope,
    actor: Actor,
    id: Uuid,
    effective_on: Option<NaiveDate>,
) -> DomainResult<(request::Model, enrollment::Model)> {
    let txn = db.begin().await?;
    let (r, c) = find_for_staff(&txn, scope, id).await?;
    if !OPEN.contains(&r.status.as_str()) {
        return Err(finished(&r));
    }
    let kind = RequestKind::parse(&r.kind);
    let t = Transition {
        to: if kind == RequestKind::Pause {
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
    let now = course::current(&txn, c.id).await?;
    let e = if now.status == t.to.as_str() {
        now
    } else {
        course::apply_transition(&txn, &c, actor, None, t).await?
    };
    let r = close(&txn, actor, r, RequestStatus::CarriedOut).await?;
    inbox::resolve(&txn, &[Kind::Request, Kind::RequestOverdue], r.id).await?;
    notifications::add(
        &txn,
        r.candidate_id,
        "request_carried_out",
        json!({"request_id": r.id, "kind": r.kind}),
    )
    .await?;
    record(
        &txn,
        actor,
        &r,
        "request.carried_out",
        audit::Action::Update,
    )
    .await?;
    txn.commit().await?;
    Ok((r, e))
}

/// The candidate ends their pause themselves.
pub async fn resume(db: &Db, actor: Actor) -> DomainResult<enrollment::Model> {
    let txn = db.begin().await?;
    let c = candidate::Entity::find_by_id(actor.id)
        .one(&txn)
        .await?
        .ok_or(DomainError::NotFound)?;
    let e = course::current(&txn, c.id).await?;
    if e.status != Status::Paused.as_str() {
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
    let e = course::apply_transition(&txn, &c, actor, None, t).await?;
    inbox::resolve_for_candidate(&txn, Kind::ResumeDue, c.id).await?;
    txn.commit().await?;
    Ok(e)
}

/// The overdue warning and the passed resume dates. Each unit is claimed with a conditional update,
/// so with several instances exactly one of them raises it.
pub async fn tick(db: &Db) -> DomainResult<()> {
    let today = today();
    // Requests still `open`: anything asked at least three working days ago is a candidate.
    let candidates = request::Entity::find()
        .filter(request::Column::Status.eq(RequestStatus::Open.as_str()))
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
            .filter(request::Column::Status.eq(RequestStatus::Open.as_str()))
            .exec(&txn)
            .await?;
        if claimed.rows_affected == 1 {
            inbox::add(
                &txn,
                r.municipality_id,
                r.candidate_id,
                Kind::RequestOverdue,
                Some(r.id),
                Audience::Coordinator,
            )
            .await?;
            events::append(
                &txn,
                r.municipality_id,
                "request.overdue",
                json!({"candidate_id": r.candidate_id, "request_id": r.id, "kind": r.kind, "status": r.status}),
            )
            .await?;
        }
        txn.commit().await?;
    }
    // Paused courses whose planned resume date has come: staff should talk with the candidate.
    let due = enrollment::Entity::find()
        .filter(enrollment::Column::Status.eq(Status::Paused.as_str()))
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
            .filter(enrollment::Column::Status.eq(Status::Paused.as_str()))
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
                Some(e.id),
                Audience::Consultant,
            )
            .await?;
            events::append(
                &txn,
                e.municipality_id,
                "enrollment.resume_due",
                json!({"candidate_id": e.candidate_id, "enrollment_id": e.id, "resume_on": resume_on}),
            )
            .await?;
        }
        txn.commit().await?;
    }
    Ok(())
}

/// How much the consultant may tell an employer or school.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum DisclosureLevel {
    /// Nothing: not even that the candidate takes part in IPS.
    None,
    /// That the candidate takes part in a programme with support.
    Participation,
    /// What support the candidate needs at work or school, without diagnoses.
    SupportNeeds,
    /// Also health details the candidate has agreed to share.
    HealthDetails,
}

impl DisclosureLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Participation => "participation",
            Self::SupportNeeds => "support_needs",
            Self::HealthDetails => "health_details",
        }
    }

    pub fn parse(s: &str) -> Self {
        [
            Self::None,
            Self::Participation,
            Self::SupportNeeds,
            Self::HealthDetails,
        ]
        .into_iter()
        .find(|l| l.as_str() == s)
        .unwrap_or(Self::None)
    }
}

/// The disclosure history, oldest first (empty: the default `none`).
pub async fn disclosure_history<C: ConnectionTrait>(
    db: &C,
    candidate_id: Uuid,
) -> DomainResult<Vec<disclosure::Model>> {
    Ok(disclosure::Entity::find()
        .filter(disclosure::Column::CandidateId.eq(candidate_id))
        .order_by_asc(disclosure::Column::Id)
        .all(db)
        .await?)
}

/// The candidate sets their disclosure level. `expected` is the number of earlier choices (the ETag).
pub async fn set_disclosure(
    db: &Db,
    actor: Actor,
    expected: Option<i32>,
    level: DisclosureLevel,
    note: Option<String>,
) -> DomainResult<Vec<disclosure::Model>> {
    let txn = db.begin().await?;
    let c = candidate::Entity::find_by_id(actor.id)
        .one(&txn)
        .await?
        .ok_or(DomainError::NotFound)?;
    let history = disclosure_history(&txn, c.id).await?;
    if expected.is_some_and(|v| v != history.len() as i32) {
        return Err(DomainError::Stale);
    }
    disclosure::ActiveModel {
        id: Set(Uuid::now_v7()),
        candidate_id: Set(c.id),
        level: Set(level.as_str().into()),
        note: Set(note),
        at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    events::append(
        &txn,
        c.municipality_id,
        "disclosure.changed",
        json!({"candidate_id": c.id, "level": level.as_str()}),
    )
    .await?;
    audit::record(
        &txn,
        actor,
        Some(c.municipality_id),
        Some(c.id),
        audit::Action::Update,
        "disclosure",
        None,
    )
    .await?;
    let history = disclosure_history(&txn, c.id).await?;
    txn.commit().await?;
    Ok(history)
}

/// Staff read a candidate's disclosure (audited).
pub async fn disclosure_for_staff(
    db: &Db,
    scope: &CandidateScope,
    actor: Actor,
    candidate_id: Uuid,
) -> DomainResult<Vec<disclosure::Model>> {
    let c = candidates::find_in_scope(db.read(), scope, candidate_id).await?;
    let history = disclosure_history(db.read(), c.id).await?;
    audit::record(
        db.write(),
        actor,
        Some(c.municipality_id),
        Some(c.id),
        audit::Action::Read,
        "disclosure",
        None,
    )
    .await?;
    Ok(history)
}

/// Open requests of a candidate (for the plan).
pub async fn open_for<C: ConnectionTrait>(
    db: &C,
    candidate_id: Uuid,
) -> DomainResult<Vec<request::Model>> {
    Ok(request::Entity::find()
        .filter(request::Column::CandidateId.eq(candidate_id))
        .filter(request::Column::Status.is_in(OPEN))
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

//! The job support plan (jobstøtteplan, SPEC §4.12): the support around a candidate's job, flex job,
//! internship or education place, written while the course is `active` or in `aftercare`.
//!
//! Staff write the placement, the contacts, the supports and the check-in cadence; whatever staff write
//! or change substantively waits as `proposed` until the candidate accepts it (as staff-proposed goals
//! do). The candidate writes their own `early_signs` and `what_helps`, which staff never change. Every
//! change is kept in `job_support_plan_changes`: who, when, which fields (never the texts). The jobs
//! tick puts a `check_in_due` item in the consultant's inbox once per period when an active plan had no
//! completed meeting within its cadence.
use chrono::{DateTime, Duration, NaiveDate, Utc};
pub use entity::types::{ContactRole, JobSupportPlanStatus as Status, PlacementKind, SupportBy};
use entity::{
    appointment, enrollment,
    ids::{CandidateId, JobSupportPlanId},
    job_support_plan as plan, job_support_plan_change as change,
    scoped::CandidateOwned,
    types::{
        AppointmentKind, AppointmentStatus, AuditAction, AuditResource, CourseStatus, EventType,
    },
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::{Expr, ExprTrait},
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::{
    DomainError, DomainResult,
    access::{Reach, Reached},
    events,
    inbox::{self, Audience, Kind},
    journal::{self, Subject},
    pagination::PageRequest,
    today,
    values::{Email, Phone},
};
use crate::db::Db;

/// At most this many contacts per plan.
pub const MAX_CONTACTS: usize = 10;
/// At most this many supports per plan.
pub const MAX_SUPPORTS: usize = 30;
/// At most this many open (`proposed` or `active`) plans per candidate.
pub const MAX_OPEN_PLANS: u64 = 10;
/// The appointment kinds that count as a check-in: a meeting with the candidate, or with the workplace
/// or school.
pub const CHECK_IN_KINDS: [AppointmentKind; 3] = [
    AppointmentKind::ConsultantMeeting,
    AppointmentKind::Employer,
    AppointmentKind::Education,
];

/// The place the plan supports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    pub kind: PlacementKind,
    pub workplace: String,
    pub role: String,
    pub starts_on: NaiveDate,
    pub hours_per_week: Option<i32>,
}

/// A person at the workplace or school, as stored (phone and e-mail already checked).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub role: ContactRole,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
}

impl Contact {
    /// A contact whose phone and e-mail are checked; errors name `contacts[i].phone` / `.email`.
    pub fn parse(
        i: usize,
        role: ContactRole,
        name: String,
        phone: Option<String>,
        email: Option<String>,
    ) -> DomainResult<Self> {
        let phone = phone
            .map(|p| Phone::parse(&format!("contacts[{i}].phone"), &p).map(Phone::into_inner))
            .transpose()?;
        let email = email
            .map(|e| Email::parse(&format!("contacts[{i}].email"), &e).map(Email::into_inner))
            .transpose()?;
        Ok(Self {
            role,
            name: name.trim().to_string(),
            phone,
            email,
        })
    }
}

/// One agreed support: what, by whom, how often.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Support {
    pub what: String,
    pub who: SupportBy,
    pub how_often: Option<String>,
}

/// A plan with its contacts and supports read out of their JSON.
#[derive(Clone, Debug)]
pub struct PlanView {
    pub plan: plan::Model,
    pub contacts: Vec<Contact>,
    pub supports: Vec<Support>,
}

impl PlanView {
    fn of(plan: plan::Model) -> DomainResult<Self> {
        let contacts = serde_json::from_str(&plan.contacts)
            .map_err(|e| DomainError::Internal(format!("job support plan contacts: {e}")))?;
        let supports = serde_json::from_str(&plan.supports)
            .map_err(|e| DomainError::Internal(format!("job support plan supports: {e}")))?;
        Ok(Self {
            plan,
            contacts,
            supports,
        })
    }

    pub fn placement(&self) -> Placement {
        Placement {
            kind: self.plan.placement_kind,
            workplace: self.plan.workplace.clone(),
            role: self.plan.role.clone(),
            starts_on: self.plan.starts_on,
            hours_per_week: self.plan.hours_per_week,
        }
    }
}

/// A new plan, as staff write it.
pub struct NewPlan {
    pub placement: Placement,
    pub contacts: Vec<Contact>,
    pub supports: Vec<Support>,
    pub check_in_every_days: i32,
}

/// Staff's change; absent fields stay as they are.
#[derive(Default)]
pub struct StaffChange {
    pub placement: Option<Placement>,
    pub contacts: Option<Vec<Contact>>,
    pub supports: Option<Vec<Support>>,
    pub check_in_every_days: Option<i32>,
    pub status: Option<Status>,
}

/// The candidate's change of their own parts; `Some(None)` clears one.
#[derive(Default)]
pub struct OwnChange {
    pub early_signs: Option<Option<String>>,
    pub what_helps: Option<Option<String>>,
}

/// One entry of a plan's history.
pub type HistoryEntry = change::Model;

/// The changed fields of a history entry, as a list.
pub fn fields_of(h: &HistoryEntry) -> Vec<String> {
    h.fields
        .split(',')
        .filter(|f| !f.is_empty())
        .map(str::to_string)
        .collect()
}

fn to_json<T: Serialize>(v: &T) -> DomainResult<String> {
    serde_json::to_string(v).map_err(|e| DomainError::Internal(e.to_string()))
}

fn check_lengths(contacts: Option<&[Contact]>, supports: Option<&[Support]>) -> DomainResult<()> {
    if contacts.is_some_and(|c| c.len() > MAX_CONTACTS) {
        return Err(DomainError::field(
            "contacts",
            "max_items",
            format!("a plan has at most {MAX_CONTACTS} contacts"),
        ));
    }
    if supports.is_some_and(|s| s.len() > MAX_SUPPORTS) {
        return Err(DomainError::field(
            "supports",
            "max_items",
            format!("a plan has at most {MAX_SUPPORTS} supports"),
        ));
    }
    Ok(())
}

/// A plan is written and changed only while the candidate's course is `active` or in `aftercare`.
async fn course_allows<C: ConnectionTrait>(db: &C, c: &Reached) -> DomainResult<()> {
    let status = match super::enrollment::current(db, c.id()).await {
        Ok(course) => Some(course.status),
        Err(DomainError::NotFound) => None,
        Err(e) => return Err(e),
    };
    match status {
        Some(CourseStatus::Active | CourseStatus::Aftercare) => Ok(()),
        Some(s) => Err(DomainError::Conflict(format!(
            "A job support plan can be written or changed only while the course is `active` or in \
             `aftercare` (once the candidate has a job, flex job, internship or education place); \
             this course is `{s}`."
        ))),
        None => Err(DomainError::Conflict(
            "A job support plan can be written only while the course is `active` or in `aftercare`; \
             the candidate has no course."
                .into(),
        )),
    }
}

/// Staff reads are audited (the candidate reading their own are not).
async fn audit_read(db: &Db, c: &Reached, id: Option<JobSupportPlanId>) -> DomainResult<()> {
    if c.through_scope() {
        let subject = Subject::candidate(
            c.municipality_id(),
            c.id(),
            AuditResource::JobSupportPlan,
            id.map(|p| p.0),
        );
        journal::read(db.write(), c.actor(), &subject).await?;
    }
    Ok(())
}

fn payload(p: &plan::Model) -> serde_json::Value {
    json!({"candidate_id": p.candidate_id, "job_support_plan_id": p.id, "status": p.status})
}

/// Writes the event (ids and status), the audit entry and the history entry of a change to `p`.
async fn record<C: ConnectionTrait>(
    txn: &C,
    c: &Reached,
    p: &plan::Model,
    event: EventType,
    action: AuditAction,
    fields: &[&str],
) -> DomainResult<()> {
    let subject = Subject::of(c, AuditResource::JobSupportPlan, p.id);
    journal::record(txn, c.actor(), &subject, Some((event, payload(p))), action).await?;
    let actor = c.actor();
    change::ActiveModel {
        id: Set(Uuid::now_v7()),
        plan_id: Set(p.id),
        candidate_id: Set(p.candidate_id),
        municipality_id: Set(p.municipality_id),
        actor_id: Set(actor.id),
        actor_role: Set(actor.role),
        fields: Set(fields.join(",")),
        status: Set(p.status),
        version: Set(p.version),
        at: Set(Utc::now()),
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// The candidate's plans, newest first, a page at a time.
pub async fn list(
    db: &Db,
    reach: &Reach,
    candidate_id: CandidateId,
    page: PageRequest,
) -> DomainResult<(Vec<PlanView>, Option<String>)> {
    let c = reach.candidate(db.read(), candidate_id).await?;
    let mut q = c.rows::<plan::Entity>().order_by_desc(plan::Column::Id);
    if let Some(after) = page.after {
        q = q.filter(plan::Column::Id.lt(after));
    }
    let (rows, next) = page.read(q, db.read(), |p| p.id.0).await?;
    let views = rows
        .into_iter()
        .map(PlanView::of)
        .collect::<DomainResult<Vec<_>>>()?;
    audit_read(db, &c, None).await?;
    Ok((views, next))
}

pub async fn get(
    db: &Db,
    reach: &Reach,
    candidate_id: CandidateId,
    plan_id: JobSupportPlanId,
) -> DomainResult<PlanView> {
    let c = reach.candidate(db.read(), candidate_id).await?;
    let p = c.find::<plan::Entity, _>(db.read(), plan_id).await?;
    audit_read(db, &c, Some(p.id)).await?;
    PlanView::of(p)
}

/// Staff write a plan; it is `proposed` until the candidate accepts it.
pub async fn create(
    db: &Db,
    reach: &Reach,
    candidate_id: CandidateId,
    new: NewPlan,
) -> DomainResult<PlanView> {
    let Reach::Scoped(..) = reach else {
        return Err(DomainError::Forbidden);
    };
    check_lengths(Some(&new.contacts), Some(&new.supports))?;
    let txn = db.begin().await?;
    let c = reach.candidate(&txn, candidate_id).await?;
    course_allows(&txn, &c).await?;
    let open = c
        .rows::<plan::Entity>()
        .filter(plan::Column::Status.is_in([Status::Proposed, Status::Active]))
        .count(&txn)
        .await?;
    if open >= MAX_OPEN_PLANS {
        return Err(DomainError::Conflict(format!(
            "There are already {MAX_OPEN_PLANS} open job support plans. End one first."
        )));
    }
    let now = Utc::now();
    let pl = new.placement;
    let p = plan::ActiveModel {
        id: Set(JobSupportPlanId::generate()),
        candidate_id: Set(c.id()),
        municipality_id: Set(c.municipality_id()),
        status: Set(Status::Proposed),
        placement_kind: Set(pl.kind),
        workplace: Set(pl.workplace.trim().to_string()),
        role: Set(pl.role.trim().to_string()),
        starts_on: Set(pl.starts_on),
        hours_per_week: Set(pl.hours_per_week),
        contacts: Set(to_json(&new.contacts)?),
        supports: Set(to_json(&new.supports)?),
        early_signs: Set(None),
        what_helps: Set(None),
        check_in_every_days: Set(new.check_in_every_days),
        accepted_at: Set(None),
        ended_at: Set(None),
        check_in_claimed_until: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    record(
        &txn,
        &c,
        &p,
        EventType::JobSupportPlanProposed,
        AuditAction::Create,
        &[
            "placement",
            "contacts",
            "supports",
            "check_in_every_days",
            "status",
        ],
    )
    .await?;
    txn.commit().await?;
    PlanView::of(p)
}

fn not_ended(p: &plan::Model) -> DomainResult<()> {
    if p.status == Status::Ended {
        return Err(DomainError::Conflict(
            "This job support plan has ended and cannot change; write a new one.".into(),
        ));
    }
    Ok(())
}

/// Staff change the placement, contacts, supports or cadence (the plan waits for the candidate again),
/// or end it (`status: ended`). A proposal becomes active only through the candidate's accept.
pub async fn update_by_staff(
    db: &Db,
    reach: &Reach,
    candidate_id: CandidateId,
    plan_id: JobSupportPlanId,
    expected: Option<i32>,
    ch: StaffChange,
) -> DomainResult<PlanView> {
    let Reach::Scoped(..) = reach else {
        return Err(DomainError::Forbidden);
    };
    check_lengths(ch.contacts.as_deref(), ch.supports.as_deref())?;
    let txn = db.begin().await?;
    let c = reach.candidate(&txn, candidate_id).await?;
    let p = c.find::<plan::Entity, _>(&txn, plan_id).await?;
    if expected.is_some_and(|v| v != p.version) {
        return Err(DomainError::Stale);
    }
    not_ended(&p)?;
    let view = PlanView::of(p.clone())?;
    let ending = ch.status == Some(Status::Ended);
    if let Some(to) = ch.status
        && to != p.status
        && !ending
    {
        return Err(DomainError::Conflict(format!(
            "A job support plan that is `{}` cannot become `{to}` here: staff can end a plan \
             (`ended`); it becomes `active` when the candidate accepts it (POST …/accept), and any \
             change staff make turns it back to `proposed`.",
            p.status
        )));
    }
    if !ending {
        course_allows(&txn, &c).await?;
    }
    let mut fields: Vec<&str> = Vec::new();
    let mut am = p.clone().into_active_model();
    if let Some(pl) = ch.placement {
        let pl = Placement {
            workplace: pl.workplace.trim().to_string(),
            role: pl.role.trim().to_string(),
            ..pl
        };
        if pl != view.placement() {
            fields.push("placement");
            am.placement_kind = Set(pl.kind);
            am.workplace = Set(pl.workplace);
            am.role = Set(pl.role);
            am.starts_on = Set(pl.starts_on);
            am.hours_per_week = Set(pl.hours_per_week);
        }
    }
    if let Some(v) = ch.contacts
        && v != view.contacts
    {
        fields.push("contacts");
        am.contacts = Set(to_json(&v)?);
    }
    if let Some(v) = ch.supports
        && v != view.supports
    {
        fields.push("supports");
        am.supports = Set(to_json(&v)?);
    }
    if let Some(v) = ch.check_in_every_days
        && v != p.check_in_every_days
    {
        fields.push("check_in_every_days");
        am.check_in_every_days = Set(v);
    }
    let event = if ending {
        am.status = Set(Status::Ended);
        am.ended_at = Set(Some(Utc::now()));
        fields.push("status");
        EventType::JobSupportPlanEnded
    } else if fields.is_empty() {
        // Nothing changed: nothing to record, and no new proposal for the candidate.
        txn.commit().await?;
        return Ok(view);
    } else {
        if p.status != Status::Proposed {
            am.status = Set(Status::Proposed);
            fields.push("status");
        }
        EventType::JobSupportPlanProposed
    };
    let updated =
        journal::versioned_update::<plan::Entity, _>(&txn, p.id, p.version, expected, am).await?;
    if ending {
        inbox::resolve(&txn, &[Kind::CheckInDue], p.id.0).await?;
    }
    record(&txn, &c, &updated, event, AuditAction::Update, &fields).await?;
    txn.commit().await?;
    PlanView::of(updated)
}

/// The candidate writes their own parts: `early_signs` and `what_helps`. The status stays as it is.
pub async fn update_own(
    db: &Db,
    reach: &Reach,
    candidate_id: CandidateId,
    plan_id: JobSupportPlanId,
    expected: Option<i32>,
    ch: OwnChange,
) -> DomainResult<PlanView> {
    let Reach::Own(_) = reach else {
        return Err(DomainError::Forbidden);
    };
    let txn = db.begin().await?;
    let c = reach.candidate(&txn, candidate_id).await?;
    let p = c.find::<plan::Entity, _>(&txn, plan_id).await?;
    if expected.is_some_and(|v| v != p.version) {
        return Err(DomainError::Stale);
    }
    not_ended(&p)?;
    course_allows(&txn, &c).await?;
    let clean = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let mut fields: Vec<&str> = Vec::new();
    let mut am = p.clone().into_active_model();
    if let Some(v) = ch.early_signs.map(clean)
        && v != p.early_signs
    {
        fields.push("early_signs");
        am.early_signs = Set(v);
    }
    if let Some(v) = ch.what_helps.map(clean)
        && v != p.what_helps
    {
        fields.push("what_helps");
        am.what_helps = Set(v);
    }
    if fields.is_empty() {
        txn.commit().await?;
        return PlanView::of(p);
    }
    let updated =
        journal::versioned_update::<plan::Entity, _>(&txn, p.id, p.version, expected, am).await?;
    record(
        &txn,
        &c,
        &updated,
        EventType::JobSupportPlanUpdated,
        AuditAction::Update,
        &fields,
    )
    .await?;
    txn.commit().await?;
    PlanView::of(updated)
}

/// The candidate accepts a proposed plan; it becomes `active` and the check-ins count from now.
pub async fn accept(
    db: &Db,
    reach: &Reach,
    candidate_id: CandidateId,
    plan_id: JobSupportPlanId,
    expected: Option<i32>,
) -> DomainResult<PlanView> {
    let Reach::Own(_) = reach else {
        return Err(DomainError::Forbidden);
    };
    let txn = db.begin().await?;
    let c = reach.candidate(&txn, candidate_id).await?;
    let p = c.find::<plan::Entity, _>(&txn, plan_id).await?;
    if expected.is_some_and(|v| v != p.version) {
        return Err(DomainError::Stale);
    }
    if p.status != Status::Proposed {
        return Err(DomainError::Conflict(format!(
            "Only a proposed job support plan can be accepted; this one is `{}`.",
            p.status
        )));
    }
    course_allows(&txn, &c).await?;
    let mut am = p.clone().into_active_model();
    am.status = Set(Status::Active);
    am.accepted_at = Set(Some(Utc::now()));
    let updated =
        journal::versioned_update::<plan::Entity, _>(&txn, p.id, p.version, expected, am).await?;
    record(
        &txn,
        &c,
        &updated,
        EventType::JobSupportPlanAccepted,
        AuditAction::Update,
        &["status"],
    )
    .await?;
    txn.commit().await?;
    PlanView::of(updated)
}

/// A plan's changes, newest first, a page at a time.
pub async fn history(
    db: &Db,
    reach: &Reach,
    candidate_id: CandidateId,
    plan_id: JobSupportPlanId,
    page: PageRequest,
) -> DomainResult<(Vec<HistoryEntry>, Option<String>)> {
    let c = reach.candidate(db.read(), candidate_id).await?;
    let p = c.find::<plan::Entity, _>(db.read(), plan_id).await?;
    let mut q = c
        .rows::<change::Entity>()
        .filter(change::Column::PlanId.eq(p.id))
        .order_by_desc(change::Column::Id);
    if let Some(after) = page.after {
        q = q.filter(change::Column::Id.lt(after));
    }
    let (rows, next) = page.read(q, db.read(), |h| h.id).await?;
    audit_read(db, &c, Some(p.id)).await?;
    Ok((rows, next))
}

/// When the candidate last had a completed meeting (with the consultant, or at the workplace or school).
async fn last_meeting<C: ConnectionTrait>(
    db: &C,
    candidate_id: CandidateId,
    now: DateTime<Utc>,
) -> DomainResult<Option<DateTime<Utc>>> {
    Ok(appointment::Entity::secure_find(candidate_id)
        .filter(appointment::Column::Status.eq(AppointmentStatus::Completed))
        .filter(appointment::Column::Kind.is_in(CHECK_IN_KINDS))
        .filter(appointment::Column::StartsAt.lte(now))
        .order_by_desc(appointment::Column::StartsAt)
        .one(db)
        .await?
        .map(|a| a.starts_at))
}

/// The check-in job: for each active plan whose course runs and which had no completed meeting within
/// its `check_in_every_days` (counted from the acceptance at the earliest), one `check_in_due` item for
/// the consultant per period. The period is claimed by a conditional update of
/// `check_in_claimed_until`, which only one instance can win.
pub async fn tick(db: &Db) -> DomainResult<()> {
    let now = Utc::now();
    let today = today();
    let plans = plan::Entity::find()
        .filter(plan::Column::Status.eq(Status::Active))
        .filter(
            plan::Column::CheckInClaimedUntil
                .is_null()
                .or(plan::Column::CheckInClaimedUntil.lte(today)),
        )
        .order_by_asc(plan::Column::Id)
        .limit(500)
        .all(db.read())
        .await?;
    for p in plans {
        let course = enrollment::Entity::secure_find(p.candidate_id)
            .order_by_desc(enrollment::Column::Id)
            .one(db.read())
            .await?;
        if !course
            .is_some_and(|e| matches!(e.status, CourseStatus::Active | CourseStatus::Aftercare))
        {
            continue;
        }
        let period = Duration::days(i64::from(p.check_in_every_days));
        let since = p.accepted_at.unwrap_or(p.created_at);
        let last = last_meeting(db.read(), p.candidate_id, now)
            .await?
            .map_or(since, |m| Ord::max(m, since));
        if now - last < period {
            continue;
        }
        let until = today + Duration::days(i64::from(p.check_in_every_days));
        let txn = db.begin().await?;
        let claimed = plan::Entity::update_many()
            .col_expr(plan::Column::CheckInClaimedUntil, Expr::value(until))
            .filter(plan::Column::Id.eq(p.id))
            .filter(plan::Column::Status.eq(Status::Active))
            .filter(
                plan::Column::CheckInClaimedUntil
                    .is_null()
                    .or(plan::Column::CheckInClaimedUntil.lte(today)),
            )
            .exec(&txn)
            .await?;
        if claimed.rows_affected == 1 {
            // The previous period's item, if still open, is replaced by this one.
            inbox::resolve(&txn, &[Kind::CheckInDue], p.id.0).await?;
            inbox::add(
                &txn,
                p.municipality_id,
                p.candidate_id,
                Kind::CheckInDue,
                Some(p.id.0),
                Audience::Consultant,
            )
            .await?;
            events::append(
                &txn,
                p.municipality_id,
                EventType::JobSupportPlanCheckInDue,
                payload(&p),
            )
            .await?;
        }
        txn.commit().await?;
    }
    Ok(())
}

/// The candidate's plans and their histories, for `/me/export`.
pub async fn export<C: ConnectionTrait>(
    db: &C,
    candidate_id: CandidateId,
) -> DomainResult<serde_json::Value> {
    let plans = plan::Entity::secure_find(candidate_id)
        .order_by_asc(plan::Column::Id)
        .all(db)
        .await?;
    let changes = change::Entity::secure_find(candidate_id)
        .order_by_asc(change::Column::Id)
        .all(db)
        .await?;
    let mut out = Vec::new();
    for p in plans {
        let v = PlanView::of(p)?;
        let p = &v.plan;
        out.push(json!({
            "id": p.id, "status": p.status,
            "placement": {
                "kind": p.placement_kind, "workplace": p.workplace, "role": p.role,
                "starts_on": p.starts_on, "hours_per_week": p.hours_per_week,
            },
            "contacts": v.contacts, "supports": v.supports,
            "early_signs": p.early_signs, "what_helps": p.what_helps,
            "check_in_every_days": p.check_in_every_days, "accepted_at": p.accepted_at,
            "ended_at": p.ended_at, "created_at": p.created_at, "updated_at": p.updated_at,
            "history": changes.iter().filter(|h| h.plan_id == p.id).map(|h| json!({
                "at": h.at, "role": h.actor_role, "fields": fields_of(h), "status": h.status,
                "version": h.version,
            })).collect::<Vec<_>>(),
        }));
    }
    Ok(serde_json::Value::Array(out))
}

//! Appointments: staff book, change, cancel and close them; the candidate lists and answers them.
//! Every change writes its event and audit entry, and tells the candidate, in the same transaction.
//! The reminder 24 h before an appointment is claimed with a conditional update (`reminded_at IS
//! NULL`), so with any number of instances on one database exactly one of them sends it.
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Copenhagen;
pub use entity::types::{
    AppointmentKind as Kind, AppointmentReply as CandidateResponse, AppointmentStatus,
};
use entity::{
    appointment, candidate, enrollment,
    ids::{AppointmentId, CandidateId, StaffId},
    types::{AuditAction, AuditResource, CourseStatus, EventType, NotificationKind},
};
use poem_openapi::Enum;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::{Expr, Query},
};
use serde_json::json;

use super::{
    DomainError, DomainResult,
    access::{Reach, Reached},
    enrollment as course, events,
    journal::{self, Subject},
    notifications,
    pagination::PageRequest,
};
use crate::db::Db;

/// An appointment lasts at most this long.
pub const MAX_HOURS: i64 = 12;
/// The reminder comes this long before the start.
pub const REMINDER_HOURS: i64 = 24;
/// Without `ends_at`, an appointment lasts this long.
pub const DEFAULT_MINUTES: i64 = 60;
/// Course statuses in which no reminder is sent: paused (SPEC §4.8) or ended.
const QUIET: [CourseStatus; 3] = [
    CourseStatus::Paused,
    CourseStatus::Completed,
    CourseStatus::Stopped,
];

/// How an appointment that took place (or did not) is closed.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename = "AppointmentClosing", rename_all = "snake_case")]
pub enum CloseStatus {
    /// It took place.
    Completed,
    /// The candidate did not come.
    NoShow,
}

impl From<CloseStatus> for AppointmentStatus {
    fn from(s: CloseStatus) -> Self {
        match s {
            CloseStatus::Completed => Self::Completed,
            CloseStatus::NoShow => Self::NoShow,
        }
    }
}

/// What a candidate can answer.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename = "AppointmentAnswerChoice", rename_all = "snake_case")]
pub enum Answer {
    /// I will come.
    Accepted,
    /// I cannot come.
    Declined,
    /// Can we move it?
    RescheduleRequested,
}

impl From<Answer> for CandidateResponse {
    fn from(a: Answer) -> Self {
        match a {
            Answer::Accepted => Self::Accepted,
            Answer::Declined => Self::Declined,
            Answer::RescheduleRequested => Self::RescheduleRequested,
        }
    }
}

/// Midnight at the start of a Copenhagen day, as an instant.
fn copenhagen_midnight(day: NaiveDate) -> DateTime<Utc> {
    let local = day.and_hms_opt(0, 0, 0).expect("midnight");
    Copenhagen
        .from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&local))
}

/// What to list.
#[derive(Clone, Copy, Debug, Default)]
pub struct ListFilter {
    /// Only appointments that end after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Only appointments that start before this instant.
    pub to: Option<DateTime<Utc>>,
    pub status: Option<AppointmentStatus>,
    /// Only `scheduled` appointments that fall inside the current pause (none unless paused).
    pub during_pause: bool,
}

/// The candidate's appointments in time order (then id), a page at a time. The cursor is the last
/// appointment's id; the next page starts after its `(starts_at, id)`.
pub async fn list(
    db: &Db,
    reach: &Reach,
    candidate_id: CandidateId,
    filter: ListFilter,
    page: PageRequest,
) -> DomainResult<(Vec<appointment::Model>, Option<String>)> {
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && to <= from
    {
        return Err(DomainError::field(
            "to",
            "invalid_value",
            "must be after `from`",
        ));
    }
    let conn = db.read();
    let c = reach.candidate(conn, candidate_id).await?;
    let mut q = c
        .rows::<appointment::Entity>()
        .order_by_asc(appointment::Column::StartsAt)
        .order_by_asc(appointment::Column::Id);
    if let Some(from) = filter.from {
        q = q.filter(appointment::Column::EndsAt.gt(from));
    }
    if let Some(to) = filter.to {
        q = q.filter(appointment::Column::StartsAt.lt(to));
    }
    if let Some(s) = filter.status {
        q = q.filter(appointment::Column::Status.eq(s));
    }
    if filter.during_pause {
        let e = course::current(conn, c.id()).await?;
        if e.status != CourseStatus::Paused {
            audit_read(db, &c, None).await?;
            return Ok((Vec::new(), None));
        }
        q = q
            .filter(appointment::Column::Status.eq(AppointmentStatus::Scheduled))
            .filter(appointment::Column::StartsAt.gte(copenhagen_midnight(e.last_effective_on)));
        if let Some(resume_on) = e.resume_on {
            q = q.filter(appointment::Column::StartsAt.lt(copenhagen_midnight(resume_on)));
        }
    }
    if let Some(after) = page.after {
        let last = c
            .find::<appointment::Entity, _>(conn, AppointmentId(after))
            .await
            .map_err(|_| {
                DomainError::field("cursor", "invalid_value", "is not a cursor this API issued")
            })?;
        q = q.filter(
            Condition::any()
                .add(appointment::Column::StartsAt.gt(last.starts_at))
                .add(
                    Condition::all()
                        .add(appointment::Column::StartsAt.eq(last.starts_at))
                        .add(appointment::Column::Id.gt(last.id)),
                ),
        );
    }
    let (rows, next) = page.read(q, conn, |a| a.id.0).await?;
    audit_read(db, &c, None).await?;
    Ok((rows, next))
}

pub async fn get(
    db: &Db,
    reach: &Reach,
    candidate_id: CandidateId,
    id: AppointmentId,
) -> DomainResult<appointment::Model> {
    let c = reach.candidate(db.read(), candidate_id).await?;
    let a = c.find::<appointment::Entity, _>(db.read(), id).await?;
    audit_read(db, &c, Some(a.id)).await?;
    Ok(a)
}

/// Staff reads are audited (the candidate reading their own are not).
async fn audit_read(db: &Db, c: &Reached, id: Option<AppointmentId>) -> DomainResult<()> {
    if c.through_scope() {
        let subject = Subject::candidate(
            c.municipality_id(),
            c.id(),
            AuditResource::Appointment,
            id.map(|i| i.0),
        );
        journal::read(db.write(), c.actor(), &subject).await?;
    }
    Ok(())
}

/// The next scheduled appointments of a candidate that have not ended (for the plan): one indexed query.
pub async fn upcoming<C: ConnectionTrait>(
    db: &C,
    candidate_id: CandidateId,
    now: DateTime<Utc>,
    limit: u64,
) -> DomainResult<Vec<appointment::Model>> {
    Ok(appointment::Entity::find()
        .filter(appointment::Column::CandidateId.eq(candidate_id))
        // Bounded below by the longest possible appointment, so the index range stays small.
        .filter(appointment::Column::StartsAt.gt(now - Duration::hours(MAX_HOURS)))
        .filter(appointment::Column::EndsAt.gt(now))
        .filter(appointment::Column::Status.eq(AppointmentStatus::Scheduled))
        .order_by_asc(appointment::Column::StartsAt)
        .order_by_asc(appointment::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// A new appointment, as staff book it.
pub struct NewAppointment {
    pub kind: Kind,
    pub title: String,
    pub starts_at: DateTime<Utc>,
    /// Default: an hour after the start.
    pub ends_at: Option<DateTime<Utc>>,
    pub location: Option<String>,
    pub online_url: Option<String>,
    pub note_for_candidate: Option<String>,
}

/// A change; absent fields stay, `Some(None)` clears an optional one. Moving `starts_at` without
/// `ends_at` keeps the length.
#[derive(Default)]
pub struct AppointmentChange {
    pub kind: Option<Kind>,
    pub title: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub location: Option<Option<String>>,
    pub online_url: Option<Option<String>>,
    pub note_for_candidate: Option<Option<String>>,
}

fn check_title(title: &str) -> DomainResult<String> {
    let t = title.trim();
    if t.is_empty() {
        return Err(DomainError::field(
            "title",
            "min_length",
            "must not be blank",
        ));
    }
    Ok(t.to_string())
}

/// Trims optional text; blank is none.
fn tidy(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty())
}

/// An online meeting link must be an `https://` address with a host.
pub fn check_online_url(url: Option<String>) -> DomainResult<Option<String>> {
    let Some(url) = tidy(url) else {
        return Ok(None);
    };
    let ok = !url.chars().any(|c| c.is_whitespace() || c.is_control())
        && url.parse::<poem::http::Uri>().is_ok_and(|u| {
            u.scheme_str() == Some("https") && u.host().is_some_and(|h| !h.is_empty())
        });
    if ok {
        Ok(Some(url))
    } else {
        Err(DomainError::field(
            "online_url",
            "invalid_format",
            "must be an https:// address",
        ))
    }
}

/// End after start, at most `MAX_HOURS` long; the start no more than a year back (recording a past
/// meeting) or two years ahead.
fn check_times(
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    if starts_at < now - Duration::days(366) || starts_at > now + Duration::days(2 * 366) {
        return Err(DomainError::field(
            "starts_at",
            "invalid_value",
            "must be within a year back and two years ahead",
        ));
    }
    if ends_at <= starts_at {
        return Err(DomainError::field(
            "ends_at",
            "invalid_value",
            "must be after `starts_at`",
        ));
    }
    if ends_at - starts_at > Duration::hours(MAX_HOURS) {
        return Err(DomainError::field(
            "ends_at",
            "invalid_value",
            format!("an appointment lasts at most {MAX_HOURS} hours"),
        ));
    }
    Ok(())
}

/// The payload of the appointment's events: ids, statuses and times, never its words.
fn payload(a: &appointment::Model) -> serde_json::Value {
    json!({
        "candidate_id": a.candidate_id,
        "appointment_id": a.id,
        "status": a.status,
        "candidate_response": a.candidate_response,
        "starts_at": a.starts_at,
        "ends_at": a.ends_at,
        "sequence": a.sequence,
    })
}

/// Records a change of `a` by whoever reached its candidate: the event (ids and times) and the audit.
async fn record<C: ConnectionTrait>(
    txn: &C,
    c: &Reached,
    a: &appointment::Model,
    event: EventType,
    action: AuditAction,
) -> DomainResult<()> {
    let subject = Subject::of(c, AuditResource::Appointment, a.id);
    journal::record(txn, c.actor(), &subject, Some((event, payload(a))), action).await
}

/// Staff book an appointment. The candidate is told; one less than 24 h ahead gets its reminder at once.
pub async fn create(
    db: &Db,
    reach: &Reach,
    candidate_id: CandidateId,
    new: NewAppointment,
) -> DomainResult<appointment::Model> {
    let now = Utc::now();
    let title = check_title(&new.title)?;
    let online_url = check_online_url(new.online_url)?;
    let ends_at = new
        .ends_at
        .unwrap_or(new.starts_at + Duration::minutes(DEFAULT_MINUTES));
    check_times(new.starts_at, ends_at, now)?;
    let txn = db.begin().await?;
    let c = reach.candidate(&txn, candidate_id).await?;
    let booked_by = staff_of(&c)?;
    let a = appointment::ActiveModel {
        id: Set(AppointmentId::generate()),
        candidate_id: Set(c.id()),
        municipality_id: Set(c.municipality_id()),
        kind: Set(new.kind),
        title: Set(title),
        starts_at: Set(new.starts_at),
        ends_at: Set(ends_at),
        location: Set(tidy(new.location)),
        online_url: Set(online_url),
        note_for_candidate: Set(tidy(new.note_for_candidate)),
        status: Set(AppointmentStatus::Scheduled),
        cancel_reason: Set(None),
        candidate_response: Set(CandidateResponse::None),
        response_message: Set(None),
        responded_at: Set(None),
        sequence: Set(0),
        reminded_at: Set(None),
        created_by: Set(booked_by),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    notifications::add(
        &txn,
        a.candidate_id,
        NotificationKind::AppointmentCreated,
        json!({"appointment_id": a.id, "starts_at": a.starts_at}),
    )
    .await?;
    record(
        &txn,
        &c,
        &a,
        EventType::AppointmentCreated,
        AuditAction::Create,
    )
    .await?;
    let a = remind_if_due(&txn, a, now).await?;
    txn.commit().await?;
    Ok(a)
}

/// The staff member acting (appointments are booked and changed by staff only).
fn staff_of(c: &Reached) -> DomainResult<StaffId> {
    if c.through_scope() {
        Ok(StaffId(c.actor().id))
    } else {
        Err(DomainError::Forbidden)
    }
}

/// Writes `am` as the next version of `a` (if still `expected`); a change the candidate's calendar
/// shows also bumps the iCalendar `SEQUENCE`.
async fn bump(
    txn: &DatabaseTransaction,
    a: &appointment::Model,
    expected: Option<i32>,
    mut am: appointment::ActiveModel,
    calendar_change: bool,
) -> DomainResult<appointment::Model> {
    if calendar_change {
        am.sequence = Set(a.sequence + 1);
    }
    journal::versioned_update::<appointment::Entity, _>(txn, a.id, a.version, expected, am).await
}

fn must_be_scheduled(a: &appointment::Model, doing: &str) -> DomainResult<()> {
    if a.status != AppointmentStatus::Scheduled {
        return Err(DomainError::Conflict(format!(
            "Only a scheduled appointment can be {doing}; this one is `{}`.",
            a.status
        )));
    }
    Ok(())
}

/// Staff change a scheduled appointment. Moving it resets the candidate's answer and moves the reminder.
pub async fn update(
    db: &Db,
    reach: &Reach,
    candidate_id: CandidateId,
    id: AppointmentId,
    expected: Option<i32>,
    change: AppointmentChange,
) -> DomainResult<appointment::Model> {
    let now = Utc::now();
    let title = change.title.as_deref().map(check_title).transpose()?;
    let online_url = change.online_url.map(check_online_url).transpose()?;
    let txn = db.begin().await?;
    let c = reach.candidate(&txn, candidate_id).await?;
    let a = c.find::<appointment::Entity, _>(&txn, id).await?;
    if expected.is_some_and(|v| v != a.version) {
        return Err(DomainError::Stale);
    }
    must_be_scheduled(&a, "changed")?;
    let starts_at = change.starts_at.unwrap_or(a.starts_at);
    let ends_at = change
        .ends_at
        .unwrap_or_else(|| starts_at + (a.ends_at - a.starts_at));
    if starts_at != a.starts_at || ends_at != a.ends_at {
        check_times(starts_at, ends_at, now)?;
    }
    // Only what really changes is set, so a PATCH that changes nothing is no new version.
    let mut am = a.clone().into_active_model();
    if let Some(k) = change.kind {
        am.kind.set_ne(k);
    }
    if let Some(t) = title {
        am.title.set_ne(t);
    }
    am.starts_at.set_ne(starts_at);
    am.ends_at.set_ne(ends_at);
    if let Some(l) = change.location {
        am.location.set_ne(tidy(l));
    }
    if let Some(u) = online_url {
        am.online_url.set_ne(u);
    }
    if let Some(n) = change.note_for_candidate {
        am.note_for_candidate.set_ne(tidy(n));
    }
    let moved = starts_at != a.starts_at || ends_at != a.ends_at;
    if moved {
        // A new time is a new question for the candidate, and the reminder follows the start.
        am.candidate_response.set_ne(CandidateResponse::None);
        am.response_message.set_ne(None);
        am.responded_at.set_ne(None);
        if starts_at != a.starts_at {
            am.reminded_at.set_ne(None);
        }
    }
    if !am.is_changed() {
        txn.commit().await?;
        return Ok(a);
    }
    let updated = bump(&txn, &a, expected, am, true).await?;
    notifications::add(
        &txn,
        updated.candidate_id,
        NotificationKind::AppointmentChanged,
        json!({
            "appointment_id": updated.id,
            "starts_at": updated.starts_at,
            "previous_starts_at": a.starts_at,
            "moved": moved,
        }),
    )
    .await?;
    record(
        &txn,
        &c,
        &updated,
        EventType::AppointmentUpdated,
        AuditAction::Update,
    )
    .await?;
    let updated = remind_if_due(&txn, updated, now).await?;
    txn.commit().await?;
    Ok(updated)
}

/// Staff call a scheduled appointment off; the candidate is told why, and its reminder is dropped.
pub async fn cancel(
    db: &Db,
    reach: &Reach,
    candidate_id: CandidateId,
    id: AppointmentId,
    expected: Option<i32>,
    reason: String,
) -> DomainResult<appointment::Model> {
    let reason = reason.trim().to_string();
    if reason.is_empty() {
        return Err(DomainError::field(
            "reason",
            "min_length",
            "must not be blank",
        ));
    }
    let txn = db.begin().await?;
    let c = reach.candidate(&txn, candidate_id).await?;
    staff_of(&c)?;
    let a = c.find::<appointment::Entity, _>(&txn, id).await?;
    if expected.is_some_and(|v| v != a.version) {
        return Err(DomainError::Stale);
    }
    must_be_scheduled(&a, "cancelled")?;
    let mut am = a.clone().into_active_model();
    am.status = Set(AppointmentStatus::Cancelled);
    am.cancel_reason = Set(Some(reason.clone()));
    let updated = bump(&txn, &a, expected, am, true).await?;
    notifications::add(
        &txn,
        updated.candidate_id,
        NotificationKind::AppointmentCancelled,
        json!({"appointment_id": updated.id, "starts_at": updated.starts_at, "reason": reason}),
    )
    .await?;
    record(
        &txn,
        &c,
        &updated,
        EventType::AppointmentCancelled,
        AuditAction::Update,
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}

/// Staff close an appointment that has begun: `completed` or `no_show`. A completed `employer` or
/// `education` appointment fills the course's `first_employer_contact_on` when it is empty.
pub async fn close(
    db: &Db,
    reach: &Reach,
    candidate_id: CandidateId,
    id: AppointmentId,
    expected: Option<i32>,
    status: CloseStatus,
) -> DomainResult<appointment::Model> {
    let txn = db.begin().await?;
    let c = reach.candidate(&txn, candidate_id).await?;
    staff_of(&c)?;
    let a = c.find::<appointment::Entity, _>(&txn, id).await?;
    if expected.is_some_and(|v| v != a.version) {
        return Err(DomainError::Stale);
    }
    must_be_scheduled(&a, "closed")?;
    if a.starts_at > Utc::now() {
        return Err(DomainError::Conflict(
            "An appointment can be closed once it has begun; change or cancel it instead.".into(),
        ));
    }
    let mut am = a.clone().into_active_model();
    am.status = Set(AppointmentStatus::from(status));
    let updated = bump(&txn, &a, expected, am, true).await?;
    if status == CloseStatus::Completed && matches!(a.kind, Kind::Employer | Kind::Education) {
        first_employer_contact(&txn, c.candidate(), &updated).await?;
    }
    // A meeting that took place is the check-in a job support plan asked for.
    if status == CloseStatus::Completed
        && super::job_support_plans::CHECK_IN_KINDS.contains(&a.kind)
    {
        super::inbox::resolve_for_candidate(&txn, super::inbox::Kind::CheckInDue, c.id()).await?;
    }
    record(
        &txn,
        &c,
        &updated,
        EventType::AppointmentClosed,
        AuditAction::Update,
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}

/// Fills the current course's `first_employer_contact_on` with the appointment's (Copenhagen) date,
/// when it is empty and the date falls within the course.
async fn first_employer_contact(
    txn: &DatabaseTransaction,
    c: &candidate::Model,
    a: &appointment::Model,
) -> DomainResult<()> {
    let day = a.starts_at.with_timezone(&Copenhagen).date_naive();
    let e = course::current(txn, c.id).await?;
    if e.first_employer_contact_on.is_some() || day < e.referred_on {
        return Ok(());
    }
    let filled = enrollment::Entity::update_many()
        .col_expr(enrollment::Column::FirstEmployerContactOn, Expr::value(day))
        .col_expr(enrollment::Column::Version, Expr::value(e.version + 1))
        .col_expr(enrollment::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(enrollment::Column::Id.eq(e.id))
        .filter(enrollment::Column::Version.eq(e.version))
        .filter(enrollment::Column::FirstEmployerContactOn.is_null())
        .exec(txn)
        .await?;
    if filled.rows_affected == 1 {
        events::append(
            txn,
            c.municipality_id,
            EventType::EnrollmentUpdated,
            json!({
                "candidate_id": c.id, "enrollment_id": e.id, "phase": e.phase,
                "first_employer_contact_on": day, "appointment_id": a.id,
            }),
        )
        .await?;
    }
    Ok(())
}

/// The candidate answers a scheduled appointment that has not ended.
pub async fn respond(
    db: &Db,
    reach: &Reach,
    id: AppointmentId,
    expected: Option<i32>,
    answer: Answer,
    message: Option<String>,
) -> DomainResult<appointment::Model> {
    let Reach::Own(me) = reach else {
        return Err(DomainError::Forbidden);
    };
    let txn = db.begin().await?;
    let c = reach.candidate(&txn, me.id).await?;
    let a = c.find::<appointment::Entity, _>(&txn, id).await?;
    if expected.is_some_and(|v| v != a.version) {
        return Err(DomainError::Stale);
    }
    must_be_scheduled(&a, "answered")?;
    if a.ends_at <= Utc::now() {
        return Err(DomainError::Conflict(
            "This appointment is over; it can no longer be answered.".into(),
        ));
    }
    let mut am = a.clone().into_active_model();
    am.candidate_response = Set(CandidateResponse::from(answer));
    am.response_message = Set(tidy(message));
    am.responded_at = Set(Some(Utc::now()));
    // The answer does not change the calendar entry, so `sequence` stays.
    let updated = bump(&txn, &a, expected, am, false).await?;
    record(
        &txn,
        &c,
        &updated,
        EventType::AppointmentResponded,
        AuditAction::Update,
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}

/// Candidates who get no reminders now: their course is paused or has ended, or they were erased.
fn quiet_candidates() -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(candidate::Column::Id)
        .from(candidate::Entity)
        .cond_where(
            sea_orm::Condition::any()
                .add(candidate::Column::Status.is_in(QUIET))
                .add(candidate::Column::ErasedAt.is_not_null()),
        )
        .to_owned()
}

/// Claims the reminder of one appointment: sets `reminded_at` only if it is still empty, the
/// appointment still scheduled, starting within 24 h of `now` and not yet begun, and the course not
/// paused. Two instances racing for it both run this update; the database lets exactly one match
/// (on PostgreSQL the second waits for the first's row lock and then re-checks `reminded_at`; on
/// SQLite writers are serialised).
async fn claim_reminder<C: ConnectionTrait>(
    txn: &C,
    id: AppointmentId,
    now: DateTime<Utc>,
) -> DomainResult<Option<appointment::Model>> {
    Ok(appointment::Entity::update_many()
        .col_expr(appointment::Column::RemindedAt, Expr::value(now))
        .filter(appointment::Column::Id.eq(id))
        .filter(appointment::Column::Status.eq(AppointmentStatus::Scheduled))
        .filter(appointment::Column::RemindedAt.is_null())
        .filter(appointment::Column::StartsAt.gt(now))
        .filter(appointment::Column::StartsAt.lte(now + Duration::hours(REMINDER_HOURS)))
        .filter(appointment::Column::CandidateId.not_in_subquery(quiet_candidates()))
        .exec_with_returning(txn)
        .await?
        .into_iter()
        .next())
}

async fn send_reminder<C: ConnectionTrait>(txn: &C, a: &appointment::Model) -> DomainResult<()> {
    notifications::add(
        txn,
        a.candidate_id,
        NotificationKind::AppointmentReminder,
        json!({"appointment_id": a.id, "starts_at": a.starts_at}),
    )
    .await?;
    events::append(
        txn,
        a.municipality_id,
        EventType::AppointmentReminder,
        payload(a),
    )
    .await?;
    Ok(())
}

/// Inside a booking or a move: an appointment less than 24 h ahead gets its reminder now.
async fn remind_if_due(
    txn: &DatabaseTransaction,
    a: appointment::Model,
    now: DateTime<Utc>,
) -> DomainResult<appointment::Model> {
    if a.reminded_at.is_some()
        || a.starts_at <= now
        || a.starts_at > now + Duration::hours(REMINDER_HOURS)
    {
        return Ok(a);
    }
    match claim_reminder(txn, a.id, now).await? {
        Some(claimed) => {
            send_reminder(txn, &claimed).await?;
            Ok(claimed)
        }
        None => Ok(a),
    }
}

/// The reminder job (see `jobs`): every scheduled appointment starting within 24 h whose reminder
/// has not been sent gets it, unless the candidate's course is paused or has ended.
pub async fn tick(db: &Db) -> DomainResult<u64> {
    tick_at(db, Utc::now()).await
}

/// `tick` as if the time were `now` (tests drive the clock through this). Returns the reminders sent.
pub async fn tick_at(db: &Db, now: DateTime<Utc>) -> DomainResult<u64> {
    let mut sent = 0;
    loop {
        let due: Vec<AppointmentId> = appointment::Entity::find()
            .select_only()
            .column(appointment::Column::Id)
            .filter(appointment::Column::Status.eq(AppointmentStatus::Scheduled))
            .filter(appointment::Column::RemindedAt.is_null())
            .filter(appointment::Column::StartsAt.gt(now))
            .filter(appointment::Column::StartsAt.lte(now + Duration::hours(REMINDER_HOURS)))
            .filter(appointment::Column::CandidateId.not_in_subquery(quiet_candidates()))
            .order_by_asc(appointment::Column::StartsAt)
            .limit(500)
            .into_tuple()
            .all(db.read())
            .await?;
        let batch = due.len();
        let mut claimed_here = 0;
        for id in due {
            let txn = db.begin().await?;
            if let Some(a) = claim_reminder(&txn, id, now).await? {
                send_reminder(&txn, &a).await?;
                claimed_here += 1;
            }
            txn.commit().await?;
        }
        sent += claimed_here;
        // A full batch may have more behind it; a batch another instance took is not retried.
        if batch < 500 || claimed_here == 0 {
            return Ok(sent);
        }
    }
}

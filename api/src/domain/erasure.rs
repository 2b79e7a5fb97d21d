//! Erasure and retention (SPEC §4.11). Erasing a candidate removes every piece of personal data — names,
//! contact details, the municipality's reference, every free text written by or about them, their login,
//! sessions, calendar feed, notifications and inbox items, the words of their career profile and job
//! support plans — and keeps the anonymous rows the reports count
//! (courses with their dates and outcomes, statuses, questionnaire scores and answer values), so no report
//! changes. It happens in one transaction, claimed by a conditional update of the candidate row, so a
//! candidate is erased exactly once and never half.
//!
//! The jobs tick erases the candidates whose last course ended more than the municipality's
//! `retention_years` ago, and purges audit entries older than its `audit_retention_months`.
use chrono::{Months, Utc};
use entity::{
    appointment, audit_entry, calendar_feed, candidate, career_profile, credential, disclosure,
    enrollment, enrollment_transition, event, goal, goal_step, idempotency_key,
    ids::{CandidateId, MunicipalityId},
    inbox_item, invitation, job_support_plan, login_attempt, municipality, notification,
    questionnaire_assignment, refresh_token, request, session,
    types::{
        AppointmentStatus, AssignmentState, AuditAction, AuditResource, CourseStatus, EventType,
        JobSupportPlanStatus, RequestStatus,
    },
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait, Query},
};
use serde_json::json;

use super::{
    DomainError, DomainResult,
    access::{Actor, CandidateScope, Reach},
    accounts::Settings,
    events, identity,
    journal::{self, Subject},
};
use crate::db::Db;

/// Candidates the retention job erases in one tick, at most.
pub const RETENTION_BATCH: u64 = 100;
/// Audit entries the purge deletes per municipality in one tick, at most.
pub const AUDIT_PURGE_BATCH: u64 = 1000;
/// Audit entries are kept at least this long, whatever the setting says (SPEC §4.11).
pub const MIN_AUDIT_MONTHS: i32 = 6;

/// A coordinator erases a candidate of their municipality. A candidate erased already is not found.
pub async fn erase(
    db: &Db,
    actor: Actor,
    scope: CandidateScope,
    id: CandidateId,
    reason: &str,
) -> DomainResult<()> {
    let txn = db.begin().await?;
    let c = Reach::Scoped(actor, scope).candidate(&txn, id).await?;
    if !wipe(&txn, c.candidate(), reason.trim()).await? {
        return Err(DomainError::NotFound);
    }
    journal::record(
        &txn,
        actor,
        &Subject::candidate(
            c.municipality_id(),
            id,
            AuditResource::Candidate,
            Some(id.0),
        ),
        Some((EventType::CandidateErased, json!({ "candidate_id": id }))),
        AuditAction::Erase,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Removes the candidate's personal data inside `txn`. The first statement claims the candidate (sets
/// `erased_at` only while it is empty): `false` when someone else erased them first, and then nothing
/// was changed.
async fn wipe<C: ConnectionTrait>(
    txn: &C,
    c: &candidate::Model,
    reason: &str,
) -> DomainResult<bool> {
    let now = Utc::now();
    let id = c.id;
    use candidate::Column as Cd;
    let claimed = candidate::Entity::update_many()
        .col_expr(Cd::ErasedAt, Expr::value(now))
        .col_expr(Cd::ErasureReason, Expr::value(reason))
        .col_expr(Cd::GivenName, Expr::value(""))
        .col_expr(Cd::FamilyName, Expr::value(""))
        .col_expr(Cd::PreferredName, Expr::value(Option::<String>::None))
        .col_expr(Cd::Email, Expr::value(Option::<String>::None))
        .col_expr(Cd::Phone, Expr::value(Option::<String>::None))
        .col_expr(Cd::ExternalRef, Expr::value(Option::<String>::None))
        // No report uses the year of birth: keep only its five-year span.
        .col_expr(
            Cd::BirthYear,
            Expr::value(c.birth_year - c.birth_year.rem_euclid(5)),
        )
        .col_expr(Cd::Version, Expr::col(Cd::Version).add(1))
        .col_expr(Cd::UpdatedAt, Expr::value(now))
        .filter(Cd::Id.eq(id))
        .filter(Cd::ErasedAt.is_null())
        .exec(txn)
        .await?;
    if claimed.rows_affected != 1 {
        return Ok(false);
    }

    // The login: credentials, the failed-attempt counter keyed by the username, invitations, sessions
    // with their refresh tokens, and stored idempotent answers.
    if let Some(cred) = credential::Entity::find_by_id(id.0).one(txn).await? {
        login_attempt::Entity::delete_many()
            .filter(login_attempt::Column::Key.eq(identity::account_key(&cred.username)))
            .exec(txn)
            .await?;
    }
    credential::Entity::delete_many()
        .filter(credential::Column::PrincipalId.eq(id.0))
        .exec(txn)
        .await?;
    invitation::Entity::delete_many()
        .filter(invitation::Column::PrincipalId.eq(id.0))
        .exec(txn)
        .await?;
    refresh_token::Entity::delete_many()
        .filter(
            refresh_token::Column::SessionId.in_subquery(
                Query::select()
                    .column(session::Column::Id)
                    .from(session::Entity)
                    .and_where(session::Column::PrincipalId.eq(id.0))
                    .to_owned(),
            ),
        )
        .exec(txn)
        .await?;
    session::Entity::delete_many()
        .filter(session::Column::PrincipalId.eq(id.0))
        .exec(txn)
        .await?;
    idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::PrincipalId.eq(id.0))
        .exec(txn)
        .await?;

    // Rows that only serve the person: the feed, what they were told, what staff were told about them.
    calendar_feed::Entity::delete_many()
        .filter(calendar_feed::Column::CandidateId.eq(id))
        .exec(txn)
        .await?;
    notification::Entity::delete_many()
        .filter(notification::Column::CandidateId.eq(id))
        .exec(txn)
        .await?;
    inbox_item::Entity::delete_many()
        .filter(inbox_item::Column::CandidateId.eq(id))
        .exec(txn)
        .await?;

    // Rows the statistics count keep their kinds, statuses and dates and lose their words.
    let none = || Expr::value(Option::<String>::None);
    goal_step::Entity::update_many()
        .col_expr(goal_step::Column::Title, Expr::value(""))
        .filter(
            goal_step::Column::GoalId.in_subquery(
                Query::select()
                    .column(goal::Column::Id)
                    .from(goal::Entity)
                    .and_where(goal::Column::CandidateId.eq(id))
                    .to_owned(),
            ),
        )
        .exec(txn)
        .await?;
    goal::Entity::update_many()
        .col_expr(goal::Column::Title, Expr::value(""))
        .col_expr(goal::Column::Description, none())
        .filter(goal::Column::CandidateId.eq(id))
        .exec(txn)
        .await?;
    // A meeting with someone who is no longer known cannot take place: no reminder goes out for it.
    appointment::Entity::update_many()
        .col_expr(
            appointment::Column::Status,
            Expr::value(AppointmentStatus::Cancelled),
        )
        .filter(appointment::Column::CandidateId.eq(id))
        .filter(appointment::Column::Status.eq(AppointmentStatus::Scheduled))
        .exec(txn)
        .await?;
    appointment::Entity::update_many()
        .col_expr(appointment::Column::Title, Expr::value(""))
        .col_expr(appointment::Column::Location, none())
        .col_expr(appointment::Column::OnlineUrl, none())
        .col_expr(appointment::Column::NoteForCandidate, none())
        .col_expr(appointment::Column::CancelReason, none())
        .col_expr(appointment::Column::ResponseMessage, none())
        .filter(appointment::Column::CandidateId.eq(id))
        .exec(txn)
        .await?;
    // Open requests are withdrawn, so no overdue warning is raised about nobody.
    request::Entity::update_many()
        .col_expr(
            request::Column::Status,
            Expr::value(RequestStatus::Withdrawn),
        )
        .col_expr(request::Column::ClosedAt, Expr::value(now))
        .filter(request::Column::CandidateId.eq(id))
        .filter(request::Column::Status.is_in(RequestStatus::OPEN))
        .exec(txn)
        .await?;
    request::Entity::update_many()
        .col_expr(request::Column::Reason, none())
        .col_expr(request::Column::Note, none())
        .filter(request::Column::CandidateId.eq(id))
        .exec(txn)
        .await?;
    disclosure::Entity::update_many()
        .col_expr(disclosure::Column::Note, none())
        .filter(disclosure::Column::CandidateId.eq(id))
        .exec(txn)
        .await?;
    enrollment_transition::Entity::update_many()
        .col_expr(enrollment_transition::Column::Reason, none())
        .filter(
            enrollment_transition::Column::EnrollmentId.in_subquery(
                Query::select()
                    .column(enrollment::Column::Id)
                    .from(enrollment::Entity)
                    .and_where(enrollment::Column::CandidateId.eq(id))
                    .to_owned(),
            ),
        )
        .exec(txn)
        .await?;
    // A paused course's resume date raises no "resume due" for staff any more.
    enrollment::Entity::update_many()
        .col_expr(
            enrollment::Column::ResumeNotifiedOn,
            Expr::col(enrollment::Column::ResumeOn),
        )
        .filter(enrollment::Column::CandidateId.eq(id))
        .exec(txn)
        .await?;
    questionnaire_assignment::Entity::update_many()
        .col_expr(
            questionnaire_assignment::Column::Status,
            Expr::value(AssignmentState::Cancelled),
        )
        .col_expr(questionnaire_assignment::Column::ClosedAt, Expr::value(now))
        .filter(questionnaire_assignment::Column::CandidateId.eq(id))
        .filter(questionnaire_assignment::Column::Status.eq(AssignmentState::Open))
        .exec(txn)
        .await?;

    // The IPS documents keep their dates (the fidelity report counts completed career profiles) and lose
    // every word; a job support plan still running ends, so no check-in falls due for nobody.
    career_profile::Entity::update_many()
        .col_expr(career_profile::Column::WorkWishes, none())
        .col_expr(career_profile::Column::Strengths, none())
        .col_expr(career_profile::Column::Interests, none())
        .col_expr(career_profile::Column::SupportNeeds, none())
        .col_expr(career_profile::Column::Barriers, none())
        .col_expr(career_profile::Column::DisclosureWishes, none())
        .col_expr(career_profile::Column::Education, none())
        .col_expr(career_profile::Column::Experience, Expr::value("[]"))
        .filter(career_profile::Column::CandidateId.eq(id))
        .exec(txn)
        .await?;
    job_support_plan::Entity::update_many()
        .col_expr(
            job_support_plan::Column::Status,
            Expr::value(JobSupportPlanStatus::Ended),
        )
        .col_expr(job_support_plan::Column::EndedAt, Expr::value(now))
        .filter(job_support_plan::Column::CandidateId.eq(id))
        .filter(job_support_plan::Column::Status.ne(JobSupportPlanStatus::Ended))
        .exec(txn)
        .await?;
    job_support_plan::Entity::update_many()
        .col_expr(job_support_plan::Column::Workplace, Expr::value(""))
        .col_expr(job_support_plan::Column::Role, Expr::value(""))
        .col_expr(job_support_plan::Column::Contacts, Expr::value("[]"))
        .col_expr(job_support_plan::Column::Supports, Expr::value("[]"))
        .col_expr(job_support_plan::Column::EarlySigns, none())
        .col_expr(job_support_plan::Column::WhatHelps, none())
        .filter(job_support_plan::Column::CandidateId.eq(id))
        .exec(txn)
        .await?;
    // Network groups: the candidate's own topic suggestions go; memberships end (attendance stays, by
    // id only, for the network-group report).
    super::network_groups::erase(txn, id).await?;

    // The change feed carried the municipality's reference with the candidate's events.
    scrub_events(txn, c.municipality_id, id).await?;
    Ok(true)
}

/// Removes `external_ref` from the candidate's `candidate.created` and `candidate.updated` events (the
/// only events that carry anything but ids, statuses and dates).
async fn scrub_events<C: ConnectionTrait>(
    txn: &C,
    municipality_id: MunicipalityId,
    id: CandidateId,
) -> DomainResult<()> {
    let rows = event::Entity::find()
        .filter(event::Column::MunicipalityId.eq(municipality_id))
        .filter(
            event::Column::EventType
                .is_in([EventType::CandidateCreated, EventType::CandidateUpdated]),
        )
        .filter(event::Column::Payload.contains(id.0.to_string()))
        .all(txn)
        .await?;
    for e in rows {
        let Ok(mut payload) = serde_json::from_str::<serde_json::Value>(&e.payload) else {
            continue;
        };
        let Some(obj) = payload.as_object_mut() else {
            continue;
        };
        if obj.get("candidate_id") != Some(&json!(id)) {
            continue;
        }
        if obj.get("external_ref").is_some_and(|v| !v.is_null()) {
            obj.insert("external_ref".into(), serde_json::Value::Null);
            event::Entity::update_many()
                .col_expr(event::Column::Payload, Expr::value(payload.to_string()))
                .filter(event::Column::Id.eq(e.id))
                .exec(txn)
                .await?;
        }
    }
    Ok(())
}

/// One pass of the retention job: erases up to `RETENTION_BATCH` candidates whose courses all ended more
/// than their municipality's `retention_years` ago. Each candidate is claimed in its own transaction, so
/// several instances running it at once erase each exactly once. Returns how many it erased.
pub async fn retention_tick(db: &Db) -> DomainResult<u64> {
    let today = Utc::now().date_naive();
    let mut left = RETENTION_BATCH;
    let mut erased = 0;
    for m in municipality::Entity::find()
        .order_by_asc(municipality::Column::Id)
        .all(db.read())
        .await?
    {
        if left == 0 {
            break;
        }
        let years = Settings::of(&m).retention_years.clamp(1, 50);
        let Some(cutoff) = today.checked_sub_months(Months::new(12 * years as u32)) else {
            continue;
        };
        // Candidates with no open course and no course that ended on or after the cutoff.
        let recent = Query::select()
            .column(enrollment::Column::CandidateId)
            .from(enrollment::Entity)
            .cond_where(
                Condition::all()
                    .add(enrollment::Column::MunicipalityId.eq(m.id))
                    .add(
                        Condition::any()
                            .add(enrollment::Column::EndedOn.is_null())
                            .add(enrollment::Column::EndedOn.gte(cutoff)),
                    ),
            )
            .to_owned();
        let due = candidate::Entity::find()
            .filter(candidate::Column::MunicipalityId.eq(m.id))
            .filter(candidate::Column::ErasedAt.is_null())
            .filter(candidate::Column::Status.is_in(CourseStatus::ENDED))
            .filter(candidate::Column::Id.not_in_subquery(recent))
            .order_by_asc(candidate::Column::Id)
            .limit(left)
            .all(db.read())
            .await?;
        for c in due {
            left -= 1;
            let txn = db.begin().await?;
            let reason = format!("retention: the last course ended more than {years} years ago");
            if wipe(&txn, &c, &reason).await? {
                events::append(
                    &txn,
                    c.municipality_id,
                    EventType::CandidateErased,
                    json!({ "candidate_id": c.id }),
                )
                .await?;
                erased += 1;
            }
            txn.commit().await?;
        }
    }
    Ok(erased)
}

/// Deletes audit entries older than each municipality's `audit_retention_months` (never fewer than
/// `MIN_AUDIT_MONTHS`), up to `AUDIT_PURGE_BATCH` per municipality a tick. Entries of no municipality
/// (the operator's) keep the default. Deleting twice is harmless, so instances need no claim here.
pub async fn purge_audit(db: &Db) -> DomainResult<u64> {
    let now = Utc::now();
    let mut purged = 0;
    let mut groups: Vec<(Option<MunicipalityId>, i32)> = municipality::Entity::find()
        .all(db.read())
        .await?
        .iter()
        .map(|m| (Some(m.id), Settings::of(m).audit_retention_months))
        .collect();
    groups.push((None, Settings::default().audit_retention_months));
    for (municipality_id, months) in groups {
        let months = Ord::max(months, MIN_AUDIT_MONTHS) as u32;
        let Some(cutoff) = now.checked_sub_months(Months::new(months)) else {
            continue;
        };
        let owner = match municipality_id {
            Some(id) => audit_entry::Column::MunicipalityId.eq(id),
            None => audit_entry::Column::MunicipalityId.is_null(),
        };
        let ids: Vec<uuid::Uuid> = audit_entry::Entity::find()
            .select_only()
            .column(audit_entry::Column::Id)
            .filter(owner)
            .filter(audit_entry::Column::At.lt(cutoff))
            .order_by_asc(audit_entry::Column::At)
            .limit(AUDIT_PURGE_BATCH)
            .into_tuple()
            .all(db.read())
            .await?;
        if ids.is_empty() {
            continue;
        }
        purged += audit_entry::Entity::delete_many()
            .filter(audit_entry::Column::Id.is_in(ids))
            .exec(db.write())
            .await?
            .rows_affected;
    }
    Ok(purged)
}

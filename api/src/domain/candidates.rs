//! Candidates: creation with the first course and an invitation, changes and the caseload rule.
//! Every other module reaches a candidate through `access::Reach`.
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use entity::{
    candidate,
    ids::{CandidateId, MunicipalityId, StaffId},
    municipality, staff,
    types::{
        AuditAction, AuditResource, CourseStatus, EventType, Language, Readiness, Role, TargetGroup,
    },
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, Set,
    sea_query::{Expr, ExprTrait, Func},
};
use serde_json::json;

use super::{
    DomainError, DomainResult,
    access::{Actor, CandidateScope, CandidateSelf, Reach},
    accounts::Settings,
    enrollment as course, events,
    identity::{self, NewInvitation},
    journal::{self, Subject},
    on_unique,
    pagination::PageRequest,
    today,
    values::{Email, Phone},
};
use crate::db::Db;

/// A consultant's open courses at which the warning starts (the 21st is over the limit).
pub const CASELOAD_WARNING: u64 = 20;

/// A new candidate.
pub struct NewCandidate {
    pub given_name: String,
    pub family_name: String,
    pub preferred_name: Option<String>,
    pub birth_year: i32,
    pub language: Language,
    pub email: Option<Email>,
    pub phone: Option<Phone>,
    pub target_group: TargetGroup,
    pub readiness: Readiness,
    pub consultant_id: Option<StaffId>,
    pub external_ref: Option<String>,
    pub referred_on: Option<NaiveDate>,
}

/// What creating a candidate hands back.
pub struct Created {
    pub candidate: candidate::Model,
    pub course: course::Course,
    pub invitation: NewInvitation,
    pub warning: Option<String>,
}

/// Checks that `consultant_id` is an active consultant or coordinator of the municipality, and that a
/// consultant assigns only to themselves.
async fn check_consultant<C: ConnectionTrait>(
    db: &C,
    scope: &CandidateScope,
    consultant_id: StaffId,
) -> DomainResult<()> {
    if let CandidateScope::Caseload {
        consultant_id: me, ..
    } = *scope
        && consultant_id != me
    {
        return Err(DomainError::field(
            "consultant_id",
            "invalid_value",
            "a consultant can only assign candidates to themselves",
        ));
    }
    let found = staff::Entity::find_by_id(consultant_id)
        .filter(staff::Column::MunicipalityId.eq(scope.municipality_id()))
        .filter(staff::Column::Active.eq(true))
        .filter(staff::Column::Role.is_in([Role::Consultant, Role::Coordinator]))
        .one(db)
        .await?;
    if found.is_none() {
        return Err(DomainError::field(
            "consultant_id",
            "invalid_value",
            "is not an active consultant of this municipality",
        ));
    }
    Ok(())
}

/// Counts the consultant's open courses (excluding `except`), refuses past the municipality's hard
/// limit, and from the 21st returns a warning and raises `caseload.over_limit`.
pub async fn check_caseload<C: ConnectionTrait>(
    txn: &C,
    municipality_id: MunicipalityId,
    consultant_id: StaffId,
    except: Option<CandidateId>,
) -> DomainResult<Option<String>> {
    let mut q = candidate::Entity::find()
        .filter(candidate::Column::ConsultantId.eq(consultant_id))
        .filter(candidate::Column::Status.is_not_in(CourseStatus::ENDED));
    if let Some(id) = except {
        q = q.filter(candidate::Column::Id.ne(id));
    }
    let open = q.count(txn).await?;
    let settings = municipality::Entity::find_by_id(municipality_id)
        .one(txn)
        .await?
        .map(|m| Settings::of(&m))
        .unwrap_or_default();
    if let Some(limit) = settings.caseload_hard_limit
        && open >= Ord::max(limit, 0) as u64
    {
        return Err(DomainError::Conflict(format!(
            "The consultant already has {open} open courses; the municipality's limit is {limit}."
        )));
    }
    if open >= CASELOAD_WARNING {
        events::append(
            txn,
            municipality_id,
            EventType::CaseloadOverLimit,
            json!({"consultant_id": consultant_id, "open": open + 1}),
        )
        .await?;
        return Ok(Some(format!(
            "The consultant now has {} open courses, above the IPS guideline of at most {CASELOAD_WARNING}.",
            open + 1
        )));
    }
    Ok(None)
}

/// The municipality's age range at the referral; with only the birth year known, a candidate who may
/// still be `max_age` that year is accepted.
fn check_age(settings: &Settings, referred_on: NaiveDate, birth_year: i32) -> DomainResult<()> {
    let age = referred_on.year() - birth_year;
    if age < settings.min_age || age > settings.max_age + 1 {
        return Err(DomainError::field(
            "birth_year",
            "invalid_value",
            format!(
                "the candidate must be {}–{} years old at the start",
                settings.min_age, settings.max_age
            ),
        ));
    }
    Ok(())
}

pub async fn create(
    db: &Db,
    scope: &CandidateScope,
    actor: Actor,
    new: NewCandidate,
) -> DomainResult<Created> {
    let municipality_id = scope.municipality_id();
    let m = municipality::Entity::find_by_id(municipality_id)
        .one(db.read())
        .await?
        .ok_or(DomainError::NotFound)?;
    let settings = Settings::of(&m);
    let referred_on = new.referred_on.unwrap_or_else(today);
    if referred_on > today() {
        return Err(DomainError::field(
            "referred_on",
            "invalid_value",
            "may not be in the future",
        ));
    }
    check_age(&settings, referred_on, new.birth_year)?;
    let consultant_id = match (new.consultant_id, scope) {
        (None, CandidateScope::Caseload { consultant_id, .. }) => Some(*consultant_id),
        (id, _) => id,
    };
    if let Some(id) = consultant_id {
        check_consultant(db.read(), scope, id).await?;
    }
    let now = Utc::now();
    let txn = db.begin().await?;
    let warning = match consultant_id {
        Some(id) => check_caseload(&txn, municipality_id, id, None).await?,
        None => None,
    };
    let c = candidate::ActiveModel {
        id: Set(CandidateId::generate()),
        municipality_id: Set(municipality_id),
        given_name: Set(new.given_name.trim().to_string()),
        family_name: Set(new.family_name.trim().to_string()),
        preferred_name: Set(new.preferred_name),
        birth_year: Set(new.birth_year),
        language: Set(new.language),
        email: Set(new.email.map(Email::into_inner)),
        phone: Set(new.phone.map(Phone::into_inner)),
        target_group: Set(new.target_group),
        readiness: Set(new.readiness),
        consultant_id: Set(consultant_id),
        external_ref: Set(new.external_ref),
        status: Set(CourseStatus::Referred),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        erased_at: Set(None),
        erasure_reason: Set(None),
    }
    .insert(&txn)
    .await
    .map_err(|e| {
        on_unique(
            e,
            "Another candidate of this municipality has this `external_ref`.",
        )
    })?;
    let e = course::open(&txn, &c, actor, referred_on).await?;
    let invitation = identity::invite(&txn, c.id.0, Role::Candidate, Some(municipality_id)).await?;
    journal::record(
        &txn,
        actor,
        &Subject::candidate(municipality_id, c.id, AuditResource::Candidate, Some(c.id.0)),
        Some((
            EventType::CandidateCreated,
            json!({"candidate_id": c.id, "enrollment_id": e.id, "consultant_id": consultant_id, "external_ref": c.external_ref}),
        )),
        AuditAction::Create,
    )
    .await?;
    let history = entity::enrollment_transition::Entity::find()
        .filter(entity::enrollment_transition::Column::EnrollmentId.eq(e.id))
        .all(&txn)
        .await?;
    txn.commit().await?;
    Ok(Created {
        candidate: c,
        course: course::Course {
            enrollment: e,
            history,
        },
        invitation,
        warning,
    })
}

/// List filters.
#[derive(Default)]
pub struct Filter {
    pub status: Option<CourseStatus>,
    pub consultant_id: Option<StaffId>,
    pub q: Option<String>,
    pub updated_since: Option<DateTime<Utc>>,
}

pub async fn list(
    db: &Db,
    scope: &CandidateScope,
    filter: Filter,
    page: PageRequest,
) -> DomainResult<(Vec<candidate::Model>, Option<String>)> {
    let mut q = candidate::Entity::find()
        .filter(scope.condition())
        .order_by_asc(candidate::Column::Id);
    if let Some(s) = filter.status {
        q = q.filter(candidate::Column::Status.eq(s));
    }
    if let Some(c) = filter.consultant_id {
        q = q.filter(candidate::Column::ConsultantId.eq(c));
    }
    if let Some(since) = filter.updated_since {
        q = q.filter(candidate::Column::UpdatedAt.gte(since));
    }
    if let Some(text) = filter.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let escaped = text
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let pattern = format!("%{escaped}%");
        let mut any = Condition::any();
        for col in [
            candidate::Column::GivenName,
            candidate::Column::FamilyName,
            candidate::Column::PreferredName,
        ] {
            let like = Expr::expr(Func::lower(Expr::col(col)))
                .like(sea_orm::sea_query::LikeExpr::new(pattern.clone()).escape('\\'));
            any = any.add(like);
        }
        q = q.filter(any);
    }
    if let Some(after) = page.after {
        q = q.filter(candidate::Column::Id.gt(after));
    }
    Ok(page.read(q, db.read(), |c| c.id.0).await?)
}

/// One candidate, audited as a read.
pub async fn get(db: &Db, reach: &Reach, id: CandidateId) -> DomainResult<candidate::Model> {
    let c = reach.candidate(db.read(), id).await?;
    let subject = Subject::of(&c, AuditResource::Candidate, c.id());
    journal::read(db.write(), c.actor(), &subject).await?;
    Ok(c.into_candidate())
}

/// A change to a candidate; `Some(None)` clears an optional field.
#[derive(Default)]
pub struct CandidateChange {
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub preferred_name: Option<Option<String>>,
    pub birth_year: Option<i32>,
    pub language: Option<Language>,
    pub email: Option<Option<Email>>,
    pub phone: Option<Option<Phone>>,
    pub target_group: Option<TargetGroup>,
    pub readiness: Option<Readiness>,
    pub consultant_id: Option<Option<StaffId>>,
    pub external_ref: Option<Option<String>>,
}

pub async fn update(
    db: &Db,
    reach: &Reach,
    id: CandidateId,
    expected: Option<i32>,
    change: CandidateChange,
) -> DomainResult<(candidate::Model, Option<String>)> {
    let Reach::Scoped(actor, scope) = *reach else {
        return Err(DomainError::Forbidden);
    };
    let scope = &scope;
    let reached = reach.candidate(db.read(), id).await?;
    let current = reached.candidate().clone();
    if expected.is_some_and(|v| v != current.version) {
        return Err(DomainError::Stale);
    }
    if let Some(birth_year) = change.birth_year
        && birth_year != current.birth_year
    {
        // The same age rule as at creation, at the current course's referral.
        let settings = municipality::Entity::find_by_id(current.municipality_id)
            .one(db.read())
            .await?
            .map(|m| Settings::of(&m))
            .unwrap_or_default();
        let referred_on = course::current(db.read(), id).await?.referred_on;
        check_age(&settings, referred_on, birth_year)?;
    }
    if let Some(Some(consultant)) = change.consultant_id {
        if matches!(scope, CandidateScope::Caseload { .. })
            && Some(consultant) != current.consultant_id
        {
            return Err(DomainError::field(
                "consultant_id",
                "invalid_value",
                "only a coordinator can reassign a candidate",
            ));
        }
        check_consultant(db.read(), scope, consultant).await?;
    }
    if matches!(scope, CandidateScope::Caseload { .. }) && change.consultant_id == Some(None) {
        return Err(DomainError::field(
            "consultant_id",
            "invalid_value",
            "only a coordinator can unassign a candidate",
        ));
    }
    let reassigned = change
        .consultant_id
        .flatten()
        .filter(|c| Some(*c) != current.consultant_id);
    let open = current.status.is_open();
    let mut am = current.clone().into_active_model();
    macro_rules! apply {
        ($($f:ident),*) => { $( if let Some(v) = change.$f { am.$f = Set(v); } )* };
    }
    apply!(
        given_name,
        family_name,
        preferred_name,
        birth_year,
        language,
        target_group,
        readiness,
        consultant_id,
        external_ref
    );
    if let Some(email) = change.email {
        am.email = Set(email.map(Email::into_inner));
    }
    if let Some(phone) = change.phone {
        am.phone = Set(phone.map(Phone::into_inner));
    }
    let txn = db.begin().await?;
    let warning = match reassigned {
        Some(c) if open => check_caseload(&txn, current.municipality_id, c, Some(id)).await?,
        _ => None,
    };
    let updated =
        journal::versioned_update::<candidate::Entity, _>(&txn, id, current.version, expected, am)
            .await
            .map_err(|e| match e {
                DomainError::Db(e) => on_unique(
                    e,
                    "Another candidate of this municipality has this `external_ref`.",
                ),
                other => other,
            })?;
    journal::record(
        &txn,
        actor,
        &Subject::of(&reached, AuditResource::Candidate, id),
        Some((
            EventType::CandidateUpdated,
            json!({"candidate_id": id, "consultant_id": updated.consultant_id, "external_ref": updated.external_ref}),
        )),
        AuditAction::Update,
    )
    .await?;
    txn.commit().await?;
    Ok((updated, warning))
}

/// A new invitation for the candidate; the old one stops working and their login is reset.
pub async fn reinvite(db: &Db, reach: &Reach, id: CandidateId) -> DomainResult<NewInvitation> {
    let txn = db.begin().await?;
    let c = reach.candidate(&txn, id).await?;
    let inv = identity::invite(&txn, id.0, Role::Candidate, Some(c.municipality_id())).await?;
    let subject = Subject::of(&c, AuditResource::Invitation, id);
    journal::record(&txn, c.actor(), &subject, None, AuditAction::Update).await?;
    txn.commit().await?;
    Ok(inv)
}

/// The candidate choosing their own language (`PATCH /me`): the same change, event and audit entry
/// as when staff change it. The scope is the candidate's own municipality; it only narrows the lookup
/// to them, and the change touches nothing a scope guards (the consultant).
pub async fn set_own_language(
    db: &Db,
    me: CandidateSelf,
    language: Language,
) -> DomainResult<candidate::Model> {
    let current = own(db, me.id).await?;
    if current.language == language {
        return Ok(current);
    }
    let change = CandidateChange {
        language: Some(language),
        ..CandidateChange::default()
    };
    let reach = Reach::Scoped(
        me.actor(),
        CandidateScope::Municipality {
            municipality_id: me.municipality_id,
        },
    );
    let (updated, _) = update(db, &reach, me.id, None, change).await?;
    Ok(updated)
}

/// The candidate's own record (for `/me`).
pub async fn own(db: &Db, id: CandidateId) -> DomainResult<candidate::Model> {
    candidate::Entity::find_by_id(id)
        .filter(candidate::Column::ErasedAt.is_null())
        .one(db.read())
        .await?
        .ok_or(DomainError::NotFound)
}

//! The career profile (karriereprofil, SPEC §4.12): one per course, in the candidate's own words, written
//! by the candidate and their staff together.
//!
//! The rules a reader needs:
//! - A course without a profile reads as an empty profile at version 0; the first save creates it
//!   (`If-Match` may be left out, or be `"0"`).
//! - A save replaces the whole document. Saving what is already there changes nothing (no new version,
//!   no history entry), so a portal may save whenever a field is left.
//! - Each side marks it done (`done: true`); when both marks are set, `completed_on` is that day.
//!   Until then, a change of the words by one side clears the other side's mark (they agreed to other
//!   words); `completed_on` is kept once set, because it is the fidelity measure of when the profile
//!   first came together — the profile stays a living document after that.
//! - Every change is listed in the history by who (role and id), when and which fields, never the text.
//!   Free text is never in events, audit entries or logs.
use chrono::{NaiveDate, Utc};
pub use entity::types::{CareerProfileField as Field, ExperienceKind};
use entity::{
    career_profile, career_profile_change, enrollment,
    ids::{CandidateId, CareerProfileId, EnrollmentId},
    types::{AuditAction, AuditResource, EventType, Role},
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, IntoActiveModel, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::{
    DomainError, DomainResult, FieldError,
    access::{Reach, Reached},
    enrollment::current,
    journal::{self, Subject},
    pagination::PageRequest,
};
use crate::db::Db;

/// Each free-text field holds at most this many characters.
pub const MAX_TEXT: usize = 2000;
/// A title or place of an experience entry holds at most this many characters.
pub const MAX_SHORT: usize = 200;
/// At most this many experience entries.
pub const MAX_EXPERIENCE: usize = 30;

/// The free-text fields, each `None` when empty.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Texts {
    pub work_wishes: Option<String>,
    pub strengths: Option<String>,
    pub interests: Option<String>,
    pub support_needs: Option<String>,
    pub barriers: Option<String>,
    pub disclosure_wishes: Option<String>,
    pub education: Option<String>,
}

impl Texts {
    fn fields(&self) -> [(Field, &Option<String>); 7] {
        [
            (Field::WorkWishes, &self.work_wishes),
            (Field::Strengths, &self.strengths),
            (Field::Interests, &self.interests),
            (Field::SupportNeeds, &self.support_needs),
            (Field::Barriers, &self.barriers),
            (Field::DisclosureWishes, &self.disclosure_wishes),
            (Field::Education, &self.education),
        ]
    }

    fn of(p: &career_profile::Model) -> Self {
        Self {
            work_wishes: p.work_wishes.clone(),
            strengths: p.strengths.clone(),
            interests: p.interests.clone(),
            support_needs: p.support_needs.clone(),
            barriers: p.barriers.clone(),
            disclosure_wishes: p.disclosure_wishes.clone(),
            education: p.education.clone(),
        }
    }

    /// Trimmed, with blank fields as `None`.
    fn normalised(self) -> Self {
        let n = |v: Option<String>| v.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
        Self {
            work_wishes: n(self.work_wishes),
            strengths: n(self.strengths),
            interests: n(self.interests),
            support_needs: n(self.support_needs),
            barriers: n(self.barriers),
            disclosure_wishes: n(self.disclosure_wishes),
            education: n(self.education),
        }
    }
}

/// A job, an education, volunteer work or something else the candidate has done.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Experience {
    pub kind: ExperienceKind,
    pub title: String,
    pub place: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub went_well: Option<String>,
}

/// A course's career profile as read: stored, or empty at version 0 when none is stored yet.
#[derive(Clone, Debug)]
pub struct Profile {
    pub id: Option<CareerProfileId>,
    pub candidate_id: CandidateId,
    pub enrollment_id: EnrollmentId,
    pub texts: Texts,
    pub experience: Vec<Experience>,
    pub candidate_done_on: Option<NaiveDate>,
    pub staff_done_on: Option<NaiveDate>,
    pub completed_on: Option<NaiveDate>,
    pub version: i32,
    pub updated_at: Option<chrono::DateTime<Utc>>,
}

impl Profile {
    fn empty(e: &enrollment::Model) -> Self {
        Self {
            id: None,
            candidate_id: e.candidate_id,
            enrollment_id: e.id,
            texts: Texts::default(),
            experience: Vec::new(),
            candidate_done_on: None,
            staff_done_on: None,
            completed_on: None,
            version: 0,
            updated_at: None,
        }
    }

    fn of(p: career_profile::Model) -> DomainResult<Self> {
        let experience = serde_json::from_str(&p.experience).map_err(|e| {
            DomainError::Internal(format!("career profile {}: experience: {e}", p.id))
        })?;
        Ok(Self {
            id: Some(p.id),
            candidate_id: p.candidate_id,
            enrollment_id: p.enrollment_id,
            texts: Texts::of(&p),
            experience,
            candidate_done_on: p.candidate_done_on,
            staff_done_on: p.staff_done_on,
            completed_on: p.completed_on,
            version: p.version,
            updated_at: Some(p.updated_at),
        })
    }
}

/// What a save sends: the whole document, and optionally the caller's own "done" mark.
#[derive(Clone, Debug, Default)]
pub struct ProfileInput {
    pub texts: Texts,
    pub experience: Vec<Experience>,
    /// `Some(true)` marks it done from the caller's side, `Some(false)` takes the mark back, `None`
    /// leaves it as it is.
    pub done: Option<bool>,
}

fn too_long(text: &Option<String>, max: usize) -> bool {
    text.as_ref().is_some_and(|t| t.chars().count() > max)
}

/// The rules the body's schema cannot say: lengths after trimming, dates in order, blank titles.
fn validate(input: &ProfileInput) -> DomainResult<()> {
    let mut errors = Vec::new();
    for (field, text) in input.texts.fields() {
        if too_long(text, MAX_TEXT) {
            errors.push(FieldError::new(
                field.as_str(),
                "max_length",
                format!("at most {MAX_TEXT} characters"),
            ));
        }
    }
    if input.experience.len() > MAX_EXPERIENCE {
        errors.push(FieldError::new(
            "experience",
            "max_items",
            format!("at most {MAX_EXPERIENCE} entries"),
        ));
    }
    for (i, x) in input.experience.iter().enumerate() {
        let at = |f: &str| format!("experience[{i}].{f}");
        if x.title.trim().is_empty() {
            errors.push(FieldError::new(
                at("title"),
                "min_length",
                "must not be blank",
            ));
        }
        if x.title.chars().count() > MAX_SHORT {
            errors.push(FieldError::new(
                at("title"),
                "max_length",
                format!("at most {MAX_SHORT} characters"),
            ));
        }
        if too_long(&x.place, MAX_SHORT) {
            errors.push(FieldError::new(
                at("place"),
                "max_length",
                format!("at most {MAX_SHORT} characters"),
            ));
        }
        if too_long(&x.went_well, MAX_TEXT) {
            errors.push(FieldError::new(
                at("went_well"),
                "max_length",
                format!("at most {MAX_TEXT} characters"),
            ));
        }
        if let (Some(from), Some(to)) = (x.from, x.to)
            && to < from
        {
            errors.push(FieldError::new(
                at("to"),
                "invalid_value",
                "must not be before `from`",
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DomainError::Invalid(errors))
    }
}

fn normalised(x: Experience) -> Experience {
    let n = |v: Option<String>| v.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
    Experience {
        kind: x.kind,
        title: x.title.trim().to_string(),
        place: n(x.place),
        from: x.from,
        to: x.to,
        went_well: n(x.went_well),
    }
}

/// The current course's stored profile, if any.
async fn stored<C: ConnectionTrait>(
    db: &C,
    c: &Reached,
    e: &enrollment::Model,
) -> DomainResult<Option<career_profile::Model>> {
    Ok(c.rows::<career_profile::Entity>()
        .filter(career_profile::Column::EnrollmentId.eq(e.id))
        .one(db)
        .await?)
}

/// Staff reads are audited (the candidate reading their own is not).
async fn audit_read(db: &Db, c: &Reached, id: Option<CareerProfileId>) -> DomainResult<()> {
    if c.through_scope() {
        let subject = Subject::candidate(
            c.municipality_id(),
            c.id(),
            AuditResource::CareerProfile,
            id.map(|i| i.0),
        );
        journal::read(db.write(), c.actor(), &subject).await?;
    }
    Ok(())
}

/// The career profile of the candidate's current course (empty at version 0 when none is stored).
pub async fn get(db: &Db, reach: &Reach, candidate_id: CandidateId) -> DomainResult<Profile> {
    let c = reach.candidate(db.read(), candidate_id).await?;
    let e = current(db.read(), c.id()).await?;
    let profile = match stored(db.read(), &c, &e).await? {
        Some(p) => Profile::of(p)?,
        None => Profile::empty(&e),
    };
    audit_read(db, &c, profile.id).await?;
    Ok(profile)
}

/// Saves the career profile of the candidate's current course, if it is still at `expected` (any
/// version when `None`; 0 when none is stored yet). See the module's rules.
pub async fn put(
    db: &Db,
    reach: &Reach,
    candidate_id: CandidateId,
    expected: Option<i32>,
    input: ProfileInput,
) -> DomainResult<Profile> {
    let input = ProfileInput {
        texts: input.texts.normalised(),
        experience: input.experience.into_iter().map(normalised).collect(),
        done: input.done,
    };
    validate(&input)?;
    let txn = db.begin().await?;
    let c = reach.candidate(&txn, candidate_id).await?;
    let e = current(&txn, c.id()).await?;
    let row = stored(&txn, &c, &e).await?;
    let before = match row.clone() {
        Some(p) => Profile::of(p)?,
        None => Profile::empty(&e),
    };
    if expected.is_some_and(|v| v != before.version) {
        return Err(DomainError::Stale);
    }

    let mut changed: Vec<Field> = input
        .texts
        .fields()
        .into_iter()
        .zip(before.texts.fields())
        .filter(|((_, new), (_, old))| new != old)
        .map(|((f, _), _)| f)
        .collect();
    if input.experience != before.experience {
        changed.push(Field::Experience);
    }
    let words_changed = !changed.is_empty();

    let today = super::today();
    let staff = c.through_scope();
    let (mut mine, mut theirs) = if staff {
        (before.staff_done_on, before.candidate_done_on)
    } else {
        (before.candidate_done_on, before.staff_done_on)
    };
    if words_changed && before.completed_on.is_none() {
        theirs = None;
    }
    match input.done {
        Some(true) => mine = mine.or(Some(today)),
        Some(false) => mine = None,
        None => {}
    }
    let (candidate_done_on, staff_done_on) = if staff {
        (theirs, mine)
    } else {
        (mine, theirs)
    };
    let completed_on = before
        .completed_on
        .or_else(|| (candidate_done_on.is_some() && staff_done_on.is_some()).then_some(today));
    for (field, new, old) in [
        (
            Field::CandidateDone,
            candidate_done_on,
            before.candidate_done_on,
        ),
        (Field::StaffDone, staff_done_on, before.staff_done_on),
        (Field::CompletedOn, completed_on, before.completed_on),
    ] {
        if new.is_some() != old.is_some() {
            changed.push(field);
        }
    }
    if changed.is_empty() {
        // Nothing to save: answering with what is there keeps save-as-you-go free of empty versions.
        txn.commit().await?;
        return Ok(before);
    }

    let experience = serde_json::to_string(&input.experience)
        .map_err(|e| DomainError::Internal(format!("experience: {e}")))?;
    let t = input.texts;
    let now = Utc::now();
    let (saved, action) = match row {
        None => {
            let am = career_profile::ActiveModel {
                id: Set(CareerProfileId::generate()),
                enrollment_id: Set(e.id),
                candidate_id: Set(c.id()),
                municipality_id: Set(c.municipality_id()),
                work_wishes: Set(t.work_wishes),
                strengths: Set(t.strengths),
                interests: Set(t.interests),
                support_needs: Set(t.support_needs),
                barriers: Set(t.barriers),
                disclosure_wishes: Set(t.disclosure_wishes),
                education: Set(t.education),
                experience: Set(experience),
                candidate_done_on: Set(candidate_done_on),
                staff_done_on: Set(staff_done_on),
                completed_on: Set(completed_on),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
            };
            // Two first saves at once: the second finds the profile made, as a stale version would.
            let saved = am.insert(&txn).await.map_err(|err| match err.sql_err() {
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => DomainError::Stale,
                _ => DomainError::Db(err),
            })?;
            (saved, AuditAction::Create)
        }
        Some(p) => {
            let mut am = p.clone().into_active_model();
            am.work_wishes = Set(t.work_wishes);
            am.strengths = Set(t.strengths);
            am.interests = Set(t.interests);
            am.support_needs = Set(t.support_needs);
            am.barriers = Set(t.barriers);
            am.disclosure_wishes = Set(t.disclosure_wishes);
            am.education = Set(t.education);
            am.experience = Set(experience);
            am.candidate_done_on = Set(candidate_done_on);
            am.staff_done_on = Set(staff_done_on);
            am.completed_on = Set(completed_on);
            let saved = journal::versioned_update::<career_profile::Entity, _>(
                &txn, p.id, p.version, expected, am,
            )
            .await?;
            (saved, AuditAction::Update)
        }
    };
    let actor = c.actor();
    career_profile_change::ActiveModel {
        id: Set(Uuid::now_v7()),
        profile_id: Set(saved.id),
        candidate_id: Set(c.id()),
        actor_id: Set(actor.id),
        actor_role: Set(actor.role),
        at: Set(now),
        fields: Set(changed
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join(" ")),
        version: Set(saved.version),
    }
    .insert(&txn)
    .await?;
    let payload = json!({
        "candidate_id": saved.candidate_id,
        "enrollment_id": saved.enrollment_id,
        "career_profile_id": saved.id,
        "version": saved.version,
        "completed_on": saved.completed_on,
    });
    let subject = Subject::of(&c, AuditResource::CareerProfile, saved.id);
    journal::record(
        &txn,
        actor,
        &subject,
        Some((EventType::CareerProfileUpdated, payload)),
        action,
    )
    .await?;
    txn.commit().await?;
    Profile::of(saved)
}

/// One change in a profile's history.
#[derive(Clone, Debug)]
pub struct Change {
    pub id: Uuid,
    pub at: chrono::DateTime<Utc>,
    pub actor_id: Uuid,
    pub actor_role: Role,
    pub fields: Vec<Field>,
    pub version: i32,
}

fn change_of(m: career_profile_change::Model) -> DomainResult<Change> {
    let fields = m
        .fields
        .split_whitespace()
        .map(|f| {
            Field::parse(f).ok_or_else(|| {
                DomainError::Internal(format!("career profile change {}: field `{f}`", m.id))
            })
        })
        .collect::<DomainResult<Vec<_>>>()?;
    Ok(Change {
        id: m.id,
        at: m.at,
        actor_id: m.actor_id,
        actor_role: m.actor_role,
        fields,
        version: m.version,
    })
}

/// The changes of the current course's profile, newest first, a page at a time.
pub async fn history(
    db: &Db,
    reach: &Reach,
    candidate_id: CandidateId,
    page: PageRequest,
) -> DomainResult<(Vec<Change>, Option<String>)> {
    let c = reach.candidate(db.read(), candidate_id).await?;
    let e = current(db.read(), c.id()).await?;
    let Some(p) = stored(db.read(), &c, &e).await? else {
        audit_read(db, &c, None).await?;
        return Ok((Vec::new(), None));
    };
    let mut q = c
        .rows::<career_profile_change::Entity>()
        .filter(career_profile_change::Column::ProfileId.eq(p.id))
        .order_by_desc(career_profile_change::Column::Id);
    if let Some(before) = page.after {
        q = q.filter(career_profile_change::Column::Id.lt(before));
    }
    let (rows, next) = page.read(q, db.read(), |m| m.id).await?;
    let changes = rows
        .into_iter()
        .map(change_of)
        .collect::<DomainResult<Vec<_>>>()?;
    audit_read(db, &c, Some(p.id)).await?;
    Ok((changes, next))
}

/// Every career profile of a candidate (one per course) with its history, for their data export.
pub async fn export<C: ConnectionTrait>(
    db: &C,
    candidate_id: CandidateId,
) -> DomainResult<serde_json::Value> {
    use entity::scoped::CandidateOwned;
    let profiles = career_profile::Entity::secure_find(candidate_id)
        .order_by_asc(career_profile::Column::Id)
        .all(db)
        .await?;
    let changes = career_profile_change::Entity::secure_find(candidate_id)
        .order_by_asc(career_profile_change::Column::Id)
        .all(db)
        .await?;
    let mut out = Vec::new();
    for p in profiles {
        let id = p.id;
        let history: Vec<serde_json::Value> = changes
            .iter()
            .filter(|m| m.profile_id == id)
            .map(|m| {
                json!({
                    "at": m.at, "role": m.actor_role, "fields": m.fields.split_whitespace().collect::<Vec<_>>(),
                    "version": m.version,
                })
            })
            .collect();
        let v = Profile::of(p)?;
        let t = &v.texts;
        out.push(json!({
            "id": id, "course_id": v.enrollment_id,
            "work_wishes": t.work_wishes, "strengths": t.strengths, "interests": t.interests,
            "support_needs": t.support_needs, "barriers": t.barriers,
            "disclosure_wishes": t.disclosure_wishes, "education": t.education,
            "experience": v.experience,
            "candidate_done_on": v.candidate_done_on, "staff_done_on": v.staff_done_on,
            "completed_on": v.completed_on, "version": v.version, "updated_at": v.updated_at,
            "history": history,
        }));
    }
    Ok(serde_json::Value::Array(out))
}

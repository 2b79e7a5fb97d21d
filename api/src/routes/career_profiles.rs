//! The career profile (karriereprofil): the candidate's own under `/me/career-profile`, and the same for
//! their staff under `/candidates/{id}/career-profile`, with the list of changes under `…/history`.
use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    ids::{CandidateId, EnrollmentId},
    types::Role,
};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Header, Path, Query},
    payload::Json,
    types::Example,
};
use uuid::Uuid;

use super::{
    Tag,
    common::{Cursor, IfMatch, Limit, Page, etag, expected, page},
};
use crate::{
    auth::{BearerAuth, Reach},
    body::Body,
    domain::career_profiles::{
        self, Change, Experience, ExperienceKind, Field, Profile, ProfileInput, Texts,
    },
    error::ApiResult,
    state::AppState,
};

/// Something the candidate has done: a job, an education, volunteer work or something else.
#[derive(Object, Debug, Clone)]
#[oai(deny_unknown_fields)]
pub struct ExperienceEntry {
    /// What kind of experience it is.
    pub kind: ExperienceKind,
    /// What it was, in the candidate's words (e.g. "Weekend job in a bakery"), 1–200 characters.
    #[oai(validator(min_length = 1, max_length = 200))]
    pub title: String,
    /// Where, up to 200 characters.
    #[oai(nullable, validator(max_length = 200))]
    pub place: Option<String>,
    /// When it began.
    #[oai(nullable)]
    pub from: Option<NaiveDate>,
    /// When it ended (not before `from`); `null` while it goes on or when unknown.
    #[oai(nullable)]
    pub to: Option<NaiveDate>,
    /// What went well there, up to 2,000 characters.
    #[oai(nullable, validator(max_length = 2000))]
    pub went_well: Option<String>,
}

impl From<Experience> for ExperienceEntry {
    fn from(x: Experience) -> Self {
        Self {
            kind: x.kind,
            title: x.title,
            place: x.place,
            from: x.from,
            to: x.to,
            went_well: x.went_well,
        }
    }
}

impl From<ExperienceEntry> for Experience {
    fn from(x: ExperienceEntry) -> Self {
        Self {
            kind: x.kind,
            title: x.title,
            place: x.place,
            from: x.from,
            to: x.to,
            went_well: x.went_well,
        }
    }
}

/// The career profile of a candidate's current course: what work they wish for, what they are good at
/// and what gets in the way, in their own words. One per course; a course without one reads as an empty
/// profile at `version` 0.
#[derive(Object, Debug)]
#[oai(example)]
pub struct CareerProfile {
    /// The candidate.
    pub candidate_id: CandidateId,
    /// The course (enrollment) the profile belongs to: the candidate's current one.
    pub course_id: EnrollmentId,
    /// What work (or education) the candidate wishes for.
    #[oai(nullable)]
    pub work_wishes: Option<String>,
    /// What they are good at.
    #[oai(nullable)]
    pub strengths: Option<String>,
    /// What they are interested in.
    #[oai(nullable)]
    pub interests: Option<String>,
    /// The support they need to get and keep a job.
    #[oai(nullable)]
    pub support_needs: Option<String>,
    /// What stands in the way (e.g. transport, a criminal record, health); the candidate decides what
    /// is written here.
    #[oai(nullable)]
    pub barriers: Option<String>,
    /// What they want an employer told, and how (complements the disclosure setting).
    #[oai(nullable)]
    pub disclosure_wishes: Option<String>,
    /// Their education so far.
    #[oai(nullable)]
    pub education: Option<String>,
    /// Jobs, education, volunteer work and more, in the order they were written (at most 30).
    pub experience: Vec<ExperienceEntry>,
    /// The day the candidate marked the profile done; `null` when not (or taken back).
    #[oai(nullable)]
    pub candidate_done_on: Option<NaiveDate>,
    /// The day staff marked the profile done; `null` when not (or taken back).
    #[oai(nullable)]
    pub staff_done_on: Option<NaiveDate>,
    /// The day both had marked it done. Kept once set (later edits do not clear it): it is when the
    /// profile first came together, which IPS asks for within 30 days of the start.
    #[oai(nullable)]
    pub completed_on: Option<NaiveDate>,
    /// Version, for `If-Match`; 0 while nothing is saved.
    pub version: i32,
    /// When it last changed; `null` while nothing is saved.
    #[oai(nullable)]
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<Profile> for CareerProfile {
    fn from(p: Profile) -> Self {
        let t = p.texts;
        Self {
            candidate_id: p.candidate_id,
            course_id: p.enrollment_id,
            work_wishes: t.work_wishes,
            strengths: t.strengths,
            interests: t.interests,
            support_needs: t.support_needs,
            barriers: t.barriers,
            disclosure_wishes: t.disclosure_wishes,
            education: t.education,
            experience: p.experience.into_iter().map(Into::into).collect(),
            candidate_done_on: p.candidate_done_on,
            staff_done_on: p.staff_done_on,
            completed_on: p.completed_on,
            version: p.version,
            updated_at: p.updated_at,
        }
    }
}

impl Example for CareerProfile {
    fn example() -> Self {
        let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).expect("a date");
        Self {
            candidate_id: CandidateId(Uuid::from_u128(0x0193e0a3_1a2b_7c3d_9e4f_5a6b7c8d9e0f)),
            course_id: EnrollmentId(Uuid::from_u128(0x0193e0a3_2b3c_7d4e_8f5a_6b7c8d9e0f1a)),
            work_wishes: Some("Something with animals, or outdoors. Not in a shop.".into()),
            strengths: Some("I am good with my hands and I show up on time.".into()),
            interests: Some("Horses, fishing, fixing bikes.".into()),
            support_needs: Some("Help to call employers the first times.".into()),
            barriers: Some("No driving licence; the bus is slow in the morning.".into()),
            disclosure_wishes: Some("Only that I need short breaks, not why.".into()),
            education: Some("9th grade; one year at a production school.".into()),
            experience: vec![ExperienceEntry {
                kind: ExperienceKind::Job,
                title: "Stable hand at weekends".into(),
                place: Some("Riding school near Viborg".into()),
                from: NaiveDate::from_ymd_opt(2024, 5, 1),
                to: NaiveDate::from_ymd_opt(2025, 8, 31),
                went_well: Some("The horses, and working on my own.".into()),
            }],
            candidate_done_on: Some(day(18)),
            staff_done_on: Some(day(20)),
            completed_on: Some(day(20)),
            version: 7,
            updated_at: Some(
                DateTime::parse_from_rfc3339("2026-11-20T10:15:00Z")
                    .expect("a time")
                    .with_timezone(&Utc),
            ),
        }
    }
}

/// The whole career profile, as saved. This replaces the document: a field left out or `null` is
/// saved as empty, so send every field you show. Each text is up to 2,000 characters (newlines
/// allowed, other control characters not); blank text is saved as `null`.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct CareerProfileUpdate {
    /// What work (or education) the candidate wishes for.
    #[oai(nullable, validator(max_length = 2000))]
    pub work_wishes: Option<String>,
    /// What they are good at.
    #[oai(nullable, validator(max_length = 2000))]
    pub strengths: Option<String>,
    /// What they are interested in.
    #[oai(nullable, validator(max_length = 2000))]
    pub interests: Option<String>,
    /// The support they need.
    #[oai(nullable, validator(max_length = 2000))]
    pub support_needs: Option<String>,
    /// What stands in the way; the candidate decides what is written.
    #[oai(nullable, validator(max_length = 2000))]
    pub barriers: Option<String>,
    /// What they want an employer told, and how.
    #[oai(nullable, validator(max_length = 2000))]
    pub disclosure_wishes: Option<String>,
    /// Their education so far.
    #[oai(nullable, validator(max_length = 2000))]
    pub education: Option<String>,
    /// Jobs, education, volunteer work and more (at most 30 entries); left out or `null` is none.
    #[oai(nullable, validator(max_items = 30))]
    pub experience: Option<Vec<ExperienceEntry>>,
    /// The caller's own "done" mark: `true` marks the profile done from the caller's side (the
    /// candidate's or staff's), `false` takes the mark back, left out keeps it. When both sides have
    /// marked it, `completed_on` is set to that day. Until then, a change of the words clears the
    /// other side's mark, so they look again.
    #[oai(nullable)]
    pub done: Option<bool>,
}

impl From<CareerProfileUpdate> for ProfileInput {
    fn from(b: CareerProfileUpdate) -> Self {
        Self {
            texts: Texts {
                work_wishes: b.work_wishes,
                strengths: b.strengths,
                interests: b.interests,
                support_needs: b.support_needs,
                barriers: b.barriers,
                disclosure_wishes: b.disclosure_wishes,
                education: b.education,
            },
            experience: b
                .experience
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            done: b.done,
        }
    }
}

/// One change of a career profile: who made it, when, and which fields changed (never the text).
#[derive(Object, Debug)]
pub struct CareerProfileChange {
    /// Id of the change (also the order: newer changes have greater ids).
    pub id: Uuid,
    /// When it was saved.
    pub at: DateTime<Utc>,
    /// The role of whoever saved it: `candidate`, `consultant` or `coordinator`.
    pub actor_role: Role,
    /// Who saved it: the candidate's id, or the staff member's.
    pub actor_id: Uuid,
    /// The fields that changed, including the done marks and `completed_on`.
    pub fields: Vec<Field>,
    /// The profile's version after the change.
    pub version: i32,
}

impl From<Change> for CareerProfileChange {
    fn from(c: Change) -> Self {
        Self {
            id: c.id,
            at: c.at,
            actor_role: c.actor_role,
            actor_id: c.actor_id,
            fields: c.fields,
            version: c.version,
        }
    }
}

#[derive(ApiResponse, Debug)]
pub enum CareerProfileResponse {
    /// The career profile; `ETag` carries its version for `If-Match` (`"0"` while nothing is saved).
    #[oai(status = 200)]
    Ok(Json<CareerProfile>, #[oai(header = "ETag")] String),
}

fn respond(p: Profile) -> CareerProfileResponse {
    let tag = etag(p.version);
    CareerProfileResponse::Ok(Json(p.into()), tag)
}

pub struct CareerProfilesApi;

#[OpenApi(tag = "Tag::CareerProfiles")]
impl CareerProfilesApi {
    /// My career profile
    ///
    /// The career profile of the candidate's current course. Before anything is saved it is empty,
    /// with `version` 0 and `ETag: "0"`.
    #[oai(
        path = "/me/career-profile",
        method = "get",
        operation_id = "getMyCareerProfile"
    )]
    async fn my_get(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> ApiResult<CareerProfileResponse> {
        let me = auth.0.candidate_self()?;
        Ok(respond(
            career_profiles::get(&state.db, &Reach::Own(me), me.id).await?,
        ))
    }

    /// Save my career profile
    ///
    /// Replaces the whole profile of the candidate's current course (send every field). Send
    /// `If-Match` with the ETag you read (`"0"` for the first save, or leave it out): if staff saved in
    /// the meantime the answer is 412, and you read the profile again. Saving what is already there
    /// changes nothing (no new version), so it is safe to save whenever a field is left.
    #[oai(
        path = "/me/career-profile",
        method = "put",
        operation_id = "putMyCareerProfile"
    )]
    async fn my_put(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The ETag you read (`"0"` before the first save); a stale one is refused with 412.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<IfMatch>>,
        body: Body<CareerProfileUpdate>,
    ) -> ApiResult<CareerProfileResponse> {
        let me = auth.0.candidate_self()?;
        let expected = expected(if_match_header.0);
        Ok(respond(
            career_profiles::put(&state.db, &Reach::Own(me), me.id, expected, body.0.into())
                .await?,
        ))
    }

    /// Changes of my career profile
    ///
    /// Every saved change of the current course's profile, newest first: who (role and id), when, and
    /// which fields — not the text.
    #[oai(
        path = "/me/career-profile/history",
        method = "get",
        operation_id = "listMyCareerProfileHistory"
    )]
    async fn my_history(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<Limit>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<CareerProfileChange>>> {
        let me = auth.0.candidate_self()?;
        let page = page(limit.0, cursor.0);
        let (items, next) =
            career_profiles::history(&state.db, &Reach::Own(me), me.id, page).await?;
        Ok(Json(Page::of(items, next, Into::into)))
    }

    /// A candidate's career profile
    ///
    /// The career profile of the candidate's current course, for their consultant or a coordinator of
    /// the municipality (404 for a candidate outside your reach). Empty with `version` 0 before
    /// anything is saved. Service accounts are refused (403): the profile is the candidate's own words.
    /// The read is written to the audit log.
    #[oai(
        path = "/candidates/:id/career-profile",
        method = "get",
        operation_id = "getCandidateCareerProfile"
    )]
    async fn staff_get(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The candidate.
        id: Path<CandidateId>,
    ) -> ApiResult<CareerProfileResponse> {
        let who = auth.0.staff_reach()?;
        Ok(respond(career_profiles::get(&state.db, &who, id.0).await?))
    }

    /// Save a candidate's career profile
    ///
    /// Replaces the whole profile of the candidate's current course (send every field), written
    /// together with the candidate. `If-Match` as for the candidate (412 when the candidate saved in the
    /// meantime). `done: true` is staff's mark; the profile is completed when the candidate has marked
    /// it too.
    #[oai(
        path = "/candidates/:id/career-profile",
        method = "put",
        operation_id = "putCandidateCareerProfile"
    )]
    async fn staff_put(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The candidate.
        id: Path<CandidateId>,
        /// The ETag you read (`"0"` before the first save); a stale one is refused with 412.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<IfMatch>>,
        body: Body<CareerProfileUpdate>,
    ) -> ApiResult<CareerProfileResponse> {
        let who = auth.0.staff_reach()?;
        let expected = expected(if_match_header.0);
        Ok(respond(
            career_profiles::put(&state.db, &who, id.0, expected, body.0.into()).await?,
        ))
    }

    /// Changes of a candidate's career profile
    ///
    /// Every saved change of the current course's profile, newest first: who (role and id), when, and
    /// which fields — not the text. Staff of the candidate; the read is written to the audit log.
    #[oai(
        path = "/candidates/:id/career-profile/history",
        method = "get",
        operation_id = "listCandidateCareerProfileHistory"
    )]
    async fn staff_history(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The candidate.
        id: Path<CandidateId>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<Limit>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<CareerProfileChange>>> {
        let who = auth.0.staff_reach()?;
        let page = page(limit.0, cursor.0);
        let (items, next) = career_profiles::history(&state.db, &who, id.0, page).await?;
        Ok(Json(Page::of(items, next, Into::into)))
    }
}

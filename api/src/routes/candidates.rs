//! `/candidates…`: candidates, their invitation, and their course (enrollment) with its transitions.
use chrono::{DateTime, NaiveDate, Utc};
use entity::{candidate, enrollment_transition};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Header, Path, Query},
    payload::Json,
    types::MaybeUndefined,
};
use uuid::Uuid;

use super::{
    Tag,
    accounts::Invitation,
    common::{check_email, check_phone, etag, if_match},
};
use crate::{
    auth::{BearerAuth, Role},
    body::Body,
    domain::{
        candidates::{self, CandidateChange, Filter, NewCandidate},
        enrollment::{self as course, Course, CourseChange, Outcome, Phase, Status, Transition},
        pagination::PageRequest,
    },
    error::ApiResult,
    state::AppState,
    versioned_response,
};

/// The language the candidate reads.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum Language {
    /// Danish.
    Da,
    /// English.
    En,
}

/// The candidate's target group.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum TargetGroup {
    /// In psychiatric treatment.
    PsychiatricTreatment,
    /// Mental distress without treatment.
    MentalDistress,
    /// Substance use.
    SubstanceUse,
    /// Other.
    Other,
}

/// The candidate's readiness category.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum Readiness {
    /// Activity-ready ("aktivitetsparat").
    ActivityReady,
    /// Education-ready ("uddannelsesparat").
    EducationReady,
    /// Other.
    Other,
}

macro_rules! str_enum {
    ($t:ty { $($v:ident => $s:literal),* }) => {
        impl $t {
            pub fn as_str(self) -> &'static str { match self { $(Self::$v => $s),* } }
            pub fn parse(s: &str) -> Self { match s { $($s => Self::$v,)* _ => <$t>::fallback() } }
        }
    };
}
str_enum!(Language { Da => "da", En => "en" });
str_enum!(TargetGroup { PsychiatricTreatment => "psychiatric_treatment", MentalDistress => "mental_distress", SubstanceUse => "substance_use", Other => "other" });
str_enum!(Readiness { ActivityReady => "activity_ready", EducationReady => "education_ready", Other => "other" });
impl Language {
    fn fallback() -> Self {
        Self::Da
    }
}
impl TargetGroup {
    fn fallback() -> Self {
        Self::Other
    }
}
impl Readiness {
    fn fallback() -> Self {
        Self::Other
    }
}

/// A candidate: a young person in the programme. No national identity number is stored.
#[derive(Object, Debug)]
pub struct Candidate {
    /// Id.
    pub id: Uuid,
    /// Municipality.
    pub municipality_id: Uuid,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// The name the candidate wants to be called.
    #[oai(nullable)]
    pub preferred_name: Option<String>,
    /// Year of birth.
    pub birth_year: i32,
    /// The language the candidate reads.
    pub language: Language,
    /// E-mail.
    #[oai(nullable)]
    pub email: Option<String>,
    /// Phone.
    #[oai(nullable)]
    pub phone: Option<String>,
    /// Target group.
    pub target_group: TargetGroup,
    /// Readiness category.
    pub readiness: Readiness,
    /// The candidate's IPS consultant.
    #[oai(nullable)]
    pub consultant_id: Option<Uuid>,
    /// The municipality's own id for the candidate; unique in the municipality.
    #[oai(nullable)]
    pub external_ref: Option<String>,
    /// Status of the candidate's current (latest) course.
    pub status: Status,
    /// Version, for `If-Match`.
    pub version: i32,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it or its course status last changed.
    pub updated_at: DateTime<Utc>,
    /// Warnings about the change just made (e.g. the consultant's caseload is above 20). Only on the
    /// answer to a change.
    #[oai(default, skip_serializing_if_is_empty)]
    pub warnings: Vec<String>,
}

impl From<candidate::Model> for Candidate {
    fn from(c: candidate::Model) -> Self {
        Self {
            id: c.id,
            municipality_id: c.municipality_id,
            given_name: c.given_name,
            family_name: c.family_name,
            preferred_name: c.preferred_name,
            birth_year: c.birth_year,
            language: Language::parse(&c.language),
            email: c.email,
            phone: c.phone,
            target_group: TargetGroup::parse(&c.target_group),
            readiness: Readiness::parse(&c.readiness),
            consultant_id: c.consultant_id,
            external_ref: c.external_ref,
            status: Status::parse(&c.status).unwrap_or(Status::Referred),
            version: c.version,
            created_at: c.created_at,
            updated_at: c.updated_at,
            warnings: Vec::new(),
        }
    }
}

/// A new candidate. Creating one opens a `referred` course and returns a one-time invitation.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct CandidateCreate {
    /// Given name.
    #[oai(validator(min_length = 1, max_length = 100))]
    pub given_name: String,
    /// Family name.
    #[oai(validator(min_length = 1, max_length = 100))]
    pub family_name: String,
    /// The name the candidate wants to be called.
    #[oai(validator(min_length = 1, max_length = 100))]
    pub preferred_name: Option<String>,
    /// Year of birth; the candidate must be within the municipality's age range (default 15–29) at the referral.
    #[oai(validator(minimum(value = "1900"), maximum(value = "2100")))]
    pub birth_year: i32,
    /// Language; default `da`.
    pub language: Option<Language>,
    /// E-mail.
    #[oai(validator(max_length = 254))]
    pub email: Option<String>,
    /// Phone.
    #[oai(validator(max_length = 32))]
    pub phone: Option<String>,
    /// Target group.
    pub target_group: TargetGroup,
    /// Readiness category.
    pub readiness: Readiness,
    /// The consultant; a consultant creating a candidate gets them on their own caseload.
    pub consultant_id: Option<Uuid>,
    /// The municipality's own id for the candidate; unique in the municipality.
    #[oai(validator(min_length = 1, max_length = 100))]
    pub external_ref: Option<String>,
    /// The referral date; default today, never in the future.
    pub referred_on: Option<NaiveDate>,
}

/// A change to a candidate; absent fields stay as they are, `null` clears an optional field.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct CandidatePatch {
    /// Given name.
    #[oai(validator(min_length = 1, max_length = 100))]
    pub given_name: Option<String>,
    /// Family name.
    #[oai(validator(min_length = 1, max_length = 100))]
    pub family_name: Option<String>,
    /// Preferred name; `null` clears it.
    #[oai(nullable, validator(min_length = 1, max_length = 100))]
    pub preferred_name: MaybeUndefined<String>,
    /// Year of birth.
    #[oai(validator(minimum(value = "1900"), maximum(value = "2100")))]
    pub birth_year: Option<i32>,
    /// Language.
    pub language: Option<Language>,
    /// E-mail; `null` clears it.
    #[oai(nullable, validator(max_length = 254))]
    pub email: MaybeUndefined<String>,
    /// Phone; `null` clears it.
    #[oai(nullable, validator(max_length = 32))]
    pub phone: MaybeUndefined<String>,
    /// Target group.
    pub target_group: Option<TargetGroup>,
    /// Readiness category.
    pub readiness: Option<Readiness>,
    /// The consultant; only a coordinator (or a service account) may reassign. `null` unassigns.
    #[oai(nullable)]
    pub consultant_id: MaybeUndefined<Uuid>,
    /// The municipality's own id; `null` clears it.
    #[oai(nullable, validator(min_length = 1, max_length = 100))]
    pub external_ref: MaybeUndefined<String>,
}

/// One entry of a course's status history.
#[derive(Object, Debug)]
pub struct HistoryEntry {
    /// The status before; `null` for the referral.
    #[oai(nullable)]
    pub from: Option<Status>,
    /// The status after.
    pub to: Status,
    /// The day the change took effect.
    pub effective_on: NaiveDate,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
    /// Who recorded it.
    #[oai(nullable)]
    pub by: Option<Uuid>,
    /// The role of who recorded it.
    pub by_role: Role,
    /// Why, in staff's words; always `null` for service accounts, which never receive free text.
    #[oai(nullable)]
    pub reason: Option<String>,
    /// The candidate's pause or stop request this carried out.
    #[oai(nullable)]
    pub request_id: Option<Uuid>,
}

impl From<enrollment_transition::Model> for HistoryEntry {
    fn from(t: enrollment_transition::Model) -> Self {
        Self {
            from: t.from_status.as_deref().and_then(Status::parse),
            to: Status::parse(&t.to_status).unwrap_or(Status::Referred),
            effective_on: t.effective_on,
            recorded_at: t.recorded_at,
            by: t.by_id,
            by_role: Role::parse(&t.by_role).unwrap_or(Role::Coordinator),
            reason: t.reason,
            request_id: t.request_id,
        }
    }
}

/// A course ("forløb").
#[derive(Object, Debug)]
pub struct Enrollment {
    /// Id.
    pub id: Uuid,
    /// The candidate.
    pub candidate_id: Uuid,
    /// Where the course stands.
    pub status: Status,
    /// The phase while `active` (kept while paused).
    #[oai(nullable)]
    pub phase: Option<Phase>,
    /// Referral date.
    pub referred_on: NaiveDate,
    /// The day the course first became `active`.
    #[oai(nullable)]
    pub started_on: Option<NaiveDate>,
    /// The day it became `completed` or `stopped`.
    #[oai(nullable)]
    pub ended_on: Option<NaiveDate>,
    /// The first contact with an employer or school.
    #[oai(nullable)]
    pub first_employer_contact_on: Option<NaiveDate>,
    /// How it ended (`completed` only).
    #[oai(nullable)]
    pub outcome: Option<Outcome>,
    /// While `paused`: the planned day to resume, if given.
    #[oai(nullable)]
    pub resume_on: Option<NaiveDate>,
    /// Version, for `If-Match`.
    pub version: i32,
    /// Status history, oldest first; the first entry is the referral.
    pub history: Vec<HistoryEntry>,
    /// Warnings about the change just made. Only on the answer to a change.
    #[oai(default, skip_serializing_if_is_empty)]
    pub warnings: Vec<String>,
}

impl From<Course> for Enrollment {
    fn from(c: Course) -> Self {
        let e = c.enrollment;
        Self {
            id: e.id,
            candidate_id: e.candidate_id,
            status: Status::parse(&e.status).unwrap_or(Status::Referred),
            phase: e.phase.as_deref().and_then(Phase::parse),
            referred_on: e.referred_on,
            started_on: e.started_on,
            ended_on: e.ended_on,
            first_employer_contact_on: e.first_employer_contact_on,
            outcome: e.outcome.as_deref().and_then(Outcome::parse),
            resume_on: e.resume_on,
            version: e.version,
            history: c.history.into_iter().map(Into::into).collect(),
            warnings: Vec::new(),
        }
    }
}

/// The new candidate, their first course and their invitation.
#[derive(Object, Debug)]
pub struct CandidateCreated {
    /// The candidate (with `warnings` if the consultant's caseload went above 20).
    pub candidate: Candidate,
    /// The course, `referred`.
    pub enrollment: Enrollment,
    /// The invitation; give the code to the candidate. It is shown only now.
    pub invitation: Invitation,
}

/// A page of candidates.
#[derive(Object, Debug)]
pub struct CandidateList {
    /// Candidates, oldest first.
    pub items: Vec<Candidate>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

/// All courses of a candidate.
#[derive(Object, Debug)]
pub struct EnrollmentList {
    /// Courses, newest first.
    pub items: Vec<Enrollment>,
}

/// A change to the current course; absent fields stay as they are.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct EnrollmentPatch {
    /// The phase; only while `active`.
    pub phase: Option<Phase>,
    /// The first contact with an employer or school; `null` clears it.
    #[oai(nullable)]
    pub first_employer_contact_on: MaybeUndefined<NaiveDate>,
}

/// A status change of the current course.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct TransitionRequest {
    /// The new status; see the allowed transitions in the description of the operation.
    pub to: Status,
    /// Why.
    #[oai(validator(min_length = 1, max_length = 2000))]
    pub reason: Option<String>,
    /// How the course ended; required with `to: completed`, not allowed otherwise.
    pub outcome: Option<Outcome>,
    /// With `to: paused`: the planned day to resume (after `effective_on`).
    pub resume_on: Option<NaiveDate>,
    /// The day the change took effect: default today, never in the future, never before the previous change.
    pub effective_on: Option<NaiveDate>,
}

/// A new course for a candidate whose last course has ended.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct EnrollmentCreate {
    /// The referral date; default today, never in the future.
    pub referred_on: Option<NaiveDate>,
}

versioned_response!(CandidateResponse, Candidate, "candidate");
versioned_response!(EnrollmentResponse, Enrollment, "course");

#[derive(ApiResponse, Debug)]
pub enum CandidateCreatedResponse {
    /// Created with a `referred` course; `invitation.code` is shown only now.
    #[oai(status = 201)]
    Created(
        Json<CandidateCreated>,
        #[oai(header = "ETag")] String,
        #[oai(header = "Location")] String,
    ),
}

#[derive(ApiResponse, Debug)]
pub enum InvitationResponse {
    /// A new invitation; the old one no longer works and the candidate's login was reset.
    #[oai(status = 201)]
    Created(Json<Invitation>),
}

/// The course as `caller` may see it: service accounts never receive free text (SPEC §4.3), so the
/// history's `reason` is left out for them.
fn for_caller(mut course: Course, caller: &crate::auth::Caller) -> Course {
    if caller.role == Role::Service {
        for t in &mut course.history {
            t.reason = None;
        }
    }
    course
}

fn enrollment_response(
    course: Course,
    caller: &crate::auth::Caller,
    warning: Option<String>,
    created: bool,
) -> EnrollmentResponse {
    let mut e: Enrollment = for_caller(course, caller).into();
    e.warnings.extend(warning);
    let tag = etag(e.version);
    if created {
        let location = format!("/api/v1/candidates/{}/enrollment", e.candidate_id);
        EnrollmentResponse::Created(Json(e), tag, location)
    } else {
        EnrollmentResponse::Ok(Json(e), tag)
    }
}

pub struct CandidatesApi;

#[OpenApi(tag = "Tag::Candidates")]
impl CandidatesApi {
    /// List candidates
    ///
    /// A consultant sees their caseload, a coordinator and a service account (`candidates:read`) the
    /// whole municipality. Filters combine with AND.
    #[allow(clippy::too_many_arguments)]
    #[oai(path = "/candidates", method = "get", operation_id = "listCandidates")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// Only candidates whose current course has this status.
        status: Query<Option<Status>>,
        /// Only candidates of this consultant.
        consultant_id: Query<Option<Uuid>>,
        /// Part of a given, family or preferred name (case-insensitive).
        #[oai(validator(max_length = 100))]
        q: Query<Option<String>>,
        /// Only candidates changed at or after this time (RFC 3339), for syncing.
        updated_since: Query<Option<DateTime<Utc>>>,
        /// Page size, 1–200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        #[oai(validator(max_length = 100))]
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<CandidateList>> {
        let scope = auth.0.candidates_reader()?;
        let page = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let filter = Filter {
            status: status.0,
            consultant_id: consultant_id.0,
            q: q.0,
            updated_since: updated_since.0,
        };
        let (items, next_cursor) = candidates::list(&state.db, &scope, filter, page).await?;
        Ok(Json(CandidateList {
            items: items.into_iter().map(Into::into).collect(),
            next_cursor,
        }))
    }

    /// Create a candidate
    ///
    /// Opens a `referred` course and returns a one-time invitation (7 days) with which the candidate
    /// chooses a username and password. A consultant creates candidates on their own caseload. From
    /// the 21st open course on a consultant the answer carries a warning (and a `caseload.over_limit`
    /// event); a municipality's hard limit, if set, refuses with 409.
    #[oai(
        path = "/candidates",
        method = "post",
        operation_id = "createCandidate"
    )]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Body<CandidateCreate>,
    ) -> ApiResult<CandidateCreatedResponse> {
        let scope = auth.0.candidates_writer()?;
        let b = body.0;
        let new = NewCandidate {
            given_name: b.given_name,
            family_name: b.family_name,
            preferred_name: b.preferred_name,
            birth_year: b.birth_year,
            language: b.language.unwrap_or(Language::Da).as_str().into(),
            email: b.email.map(|e| check_email("email", e)).transpose()?,
            phone: b.phone.map(|p| check_phone("phone", p)).transpose()?,
            target_group: b.target_group.as_str().into(),
            readiness: b.readiness.as_str().into(),
            consultant_id: b.consultant_id,
            external_ref: b.external_ref,
            referred_on: b.referred_on,
        };
        let created = candidates::create(&state.db, &scope, auth.0.actor(), new).await?;
        let mut c: Candidate = created.candidate.into();
        c.warnings.extend(created.warning);
        let (tag, location) = (etag(c.version), format!("/api/v1/candidates/{}", c.id));
        Ok(CandidateCreatedResponse::Created(
            Json(CandidateCreated {
                candidate: c,
                enrollment: created.course.into(),
                invitation: created.invitation.into(),
            }),
            tag,
            location,
        ))
    }

    /// Get a candidate
    ///
    /// Staff of the candidate (their consultant, a coordinator) or a service account with
    /// `candidates:read`. The read is written to the audit log.
    #[oai(
        path = "/candidates/:id",
        method = "get",
        operation_id = "getCandidate"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> ApiResult<CandidateResponse> {
        let scope = auth.0.candidates_reader()?;
        let c = candidates::get(&state.db, &scope, auth.0.actor(), id.0).await?;
        let tag = etag(c.version);
        Ok(CandidateResponse::Ok(Json(c.into()), tag))
    }

    /// Change a candidate
    ///
    /// Absent fields stay as they are; `null` clears optional ones. Only a coordinator or a service
    /// account (`candidates:write`) reassigns `consultant_id`. `If-Match` guards against lost updates.
    #[oai(
        path = "/candidates/:id",
        method = "patch",
        operation_id = "updateCandidate"
    )]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        /// The ETag you read; a stale one is refused with 412.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<String>>,
        body: Body<CandidatePatch>,
    ) -> ApiResult<CandidateResponse> {
        let scope = auth.0.candidates_writer()?;
        let expected = if_match(if_match_header.0.as_deref())?;
        let b = body.0;
        let change = CandidateChange {
            given_name: b.given_name,
            family_name: b.family_name,
            preferred_name: Option::from(b.preferred_name),
            birth_year: b.birth_year,
            language: b.language.map(|l| l.as_str().to_string()),
            email: b
                .email
                .map_value(|e| check_email("email", e))
                .transpose()?
                .into(),
            phone: b
                .phone
                .map_value(|p| check_phone("phone", p))
                .transpose()?
                .into(),
            target_group: b.target_group.map(|t| t.as_str().to_string()),
            readiness: b.readiness.map(|r| r.as_str().to_string()),
            consultant_id: Option::from(b.consultant_id),
            external_ref: Option::from(b.external_ref),
        };
        let (c, warning) =
            candidates::update(&state.db, &scope, auth.0.actor(), id.0, expected, change).await?;
        let mut c: Candidate = c.into();
        c.warnings.extend(warning);
        let tag = etag(c.version);
        Ok(CandidateResponse::Ok(Json(c), tag))
    }

    /// Issue a new invitation
    ///
    /// Voids the candidate's earlier invitation and resets their login (their sessions end); they choose
    /// a username and password again with the new code. Staff only.
    #[oai(
        path = "/candidates/:id/invitation",
        method = "post",
        operation_id = "reinviteCandidate"
    )]
    async fn invitation(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> ApiResult<InvitationResponse> {
        let scope = auth.0.staff()?;
        let inv = candidates::reinvite(&state.db, &scope, auth.0.actor(), id.0).await?;
        state.sessions.forget_all();
        Ok(InvitationResponse::Created(Json(inv.into())))
    }

    /// Get the current course
    ///
    /// The candidate's current (latest) course with its status history, oldest entry first.
    #[oai(
        path = "/candidates/:id/enrollment",
        method = "get",
        operation_id = "getEnrollment"
    )]
    async fn get_enrollment(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> ApiResult<EnrollmentResponse> {
        let scope = auth.0.candidates_reader()?;
        let c = course::get(&state.db, &scope, auth.0.actor(), id.0).await?;
        Ok(enrollment_response(c, &auth.0, None, false))
    }

    /// Change the current course
    ///
    /// Sets the `phase` (only while `active`) or `first_employer_contact_on`. Status changes go through
    /// `POST …/enrollment/transitions`.
    #[oai(
        path = "/candidates/:id/enrollment",
        method = "patch",
        operation_id = "updateEnrollment"
    )]
    async fn update_enrollment(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        /// The ETag you read; a stale one is refused with 412.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<String>>,
        body: Body<EnrollmentPatch>,
    ) -> ApiResult<EnrollmentResponse> {
        let scope = auth.0.candidates_writer()?;
        let expected = if_match(if_match_header.0.as_deref())?;
        let change = CourseChange {
            phase: body.0.phase,
            first_employer_contact_on: Option::from(body.0.first_employer_contact_on),
        };
        let c = course::update(&state.db, &scope, auth.0.actor(), id.0, expected, change).await?;
        Ok(enrollment_response(c, &auth.0, None, false))
    }

    /// Change the course's status
    ///
    /// Allowed: `referred` → `active`, `stopped`; `active` → `paused`, `aftercare`, `completed`, `stopped`;
    /// `paused` → `active`, `stopped`; `aftercare` → `active`, `completed`, `stopped`; `completed` and
    /// `stopped` are final. Anything else is 409 with `allowed_transitions`. `effective_on` (default
    /// today) may not be in the future nor before the previous change (409). Completing needs `outcome`.
    #[oai(
        path = "/candidates/:id/enrollment/transitions",
        method = "post",
        operation_id = "transitionEnrollment"
    )]
    async fn transition(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        /// The ETag of the course you read; a stale one is refused with 412.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<String>>,
        body: Body<TransitionRequest>,
    ) -> ApiResult<EnrollmentResponse> {
        let scope = auth.0.candidates_writer()?;
        let expected = if_match(if_match_header.0.as_deref())?;
        let b = body.0;
        let t = Transition {
            to: b.to,
            reason: b.reason,
            outcome: b.outcome,
            resume_on: b.resume_on,
            effective_on: b.effective_on,
            request_id: None,
        };
        let c = course::transition(&state.db, &scope, auth.0.actor(), id.0, expected, t).await?;
        Ok(enrollment_response(c, &auth.0, None, false))
    }

    /// List all courses
    ///
    /// Every course of the candidate, newest first, each with its history.
    #[oai(
        path = "/candidates/:id/enrollments",
        method = "get",
        operation_id = "listEnrollments"
    )]
    async fn list_enrollments(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<EnrollmentList>> {
        let scope = auth.0.candidates_reader()?;
        let all = course::list(&state.db, &scope, auth.0.actor(), id.0).await?;
        Ok(Json(EnrollmentList {
            items: all
                .into_iter()
                .map(|c| for_caller(c, &auth.0).into())
                .collect(),
        }))
    }

    /// Open a new course
    ///
    /// For a candidate whose last course is `completed` or `stopped` (otherwise 409). The old course
    /// stays as history.
    #[oai(
        path = "/candidates/:id/enrollments",
        method = "post",
        operation_id = "createEnrollment"
    )]
    async fn create_enrollment(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Body<EnrollmentCreate>,
    ) -> ApiResult<EnrollmentResponse> {
        let scope = auth.0.candidates_writer()?;
        let (c, warning) =
            course::open_new(&state.db, &scope, auth.0.actor(), id.0, body.0.referred_on).await?;
        Ok(enrollment_response(c, &auth.0, warning, true))
    }
}

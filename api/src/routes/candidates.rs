//! `/candidates…`: candidates, their invitation, and their course (enrollment) with its transitions.
use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    candidate, enrollment_transition,
    ids::{CandidateId, EnrollmentId, MunicipalityId, RequestId, StaffId},
    types::{Language, Readiness, TargetGroup},
};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Header, Path, Query},
    payload::Json,
    types::MaybeUndefined,
};
use uuid::Uuid;

use super::{
    Tag,
    accounts::Invitation,
    common::{Cursor, IfMatch, Limit, Page, etag, expected, page, versioned_response},
};
use crate::{
    auth::{BearerAuth, Caller, Role},
    body::Body,
    domain::{
        candidates::{self, CandidateChange, Filter, NewCandidate},
        enrollment::{self as course, Course, CourseChange, Outcome, Phase, Status, Transition},
        erasure,
        values::{Email, Phone},
    },
    error::{ApiError, ApiResult},
    state::AppState,
};

/// A candidate: a young person in the programme. No national identity number is stored.
#[derive(Object, Debug)]
pub struct Candidate {
    /// Id.
    pub id: CandidateId,
    /// Municipality.
    pub municipality_id: MunicipalityId,
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
    /// Target group. Health information: `null` for service accounts, which never receive it.
    #[oai(nullable)]
    pub target_group: Option<TargetGroup>,
    /// Readiness category.
    pub readiness: Readiness,
    /// The candidate's IPS consultant.
    #[oai(nullable)]
    pub consultant_id: Option<StaffId>,
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
            language: c.language,
            email: c.email,
            phone: c.phone,
            target_group: Some(c.target_group),
            readiness: c.readiness,
            consultant_id: c.consultant_id,
            external_ref: c.external_ref,
            status: c.status,
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
    pub consultant_id: Option<StaffId>,
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
    pub consultant_id: MaybeUndefined<StaffId>,
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
    pub request_id: Option<RequestId>,
}

impl From<enrollment_transition::Model> for HistoryEntry {
    fn from(t: enrollment_transition::Model) -> Self {
        Self {
            from: t.from_status,
            to: t.to_status,
            effective_on: t.effective_on,
            recorded_at: t.recorded_at,
            by: t.by_id,
            by_role: t.by_role,
            reason: t.reason,
            request_id: t.request_id,
        }
    }
}

/// A course ("forløb").
#[derive(Object, Debug)]
pub struct Enrollment {
    /// Id.
    pub id: EnrollmentId,
    /// The candidate.
    pub candidate_id: CandidateId,
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
            status: e.status,
            phase: e.phase,
            referred_on: e.referred_on,
            started_on: e.started_on,
            ended_on: e.ended_on,
            first_employer_contact_on: e.first_employer_contact_on,
            outcome: e.outcome,
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

/// The candidate as `caller` may see them: service accounts never receive health information
/// (SPEC §4.3), so the target group is left out for them.
fn candidate_for(c: candidate::Model, caller: &Caller) -> Candidate {
    let mut out = Candidate::from(c);
    if !caller.sees_health_data() {
        out.target_group = None;
    }
    out
}

/// The course as `caller` may see it: service accounts never receive free text (SPEC §4.3), so the
/// history's `reason` is left out for them.
fn for_caller(mut course: Course, caller: &Caller) -> Course {
    if !caller.sees_health_data() {
        for t in &mut course.history {
            t.reason = None;
        }
    }
    course
}

fn enrollment_response(
    course: Course,
    caller: &Caller,
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

/// Why a candidate's personal data is erased.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct ErasureRequest {
    /// Why, e.g. "the candidate asked for erasure (GDPR art. 17)" (1–500 characters, no control
    /// characters). It is kept with the anonymous row, so write no personal data in it.
    #[oai(validator(min_length = 1, max_length = 500))]
    pub reason: String,
}

/// The answer to an erasure.
#[derive(ApiResponse, Debug)]
pub enum ErasureResponse {
    /// Erased: the candidate's personal data is gone and the id is unknown from now on.
    #[oai(status = 204)]
    Erased,
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
        consultant_id: Query<Option<StaffId>>,
        /// Part of a given, family or preferred name (case-insensitive).
        #[oai(validator(max_length = 100))]
        q: Query<Option<String>>,
        /// Only candidates changed at or after this time (RFC 3339), for syncing.
        updated_since: Query<Option<DateTime<Utc>>>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<Limit>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<Candidate>>> {
        let scope = auth.0.candidates_reader()?;
        let page = page(limit.0, cursor.0);
        let filter = Filter {
            status: status.0,
            consultant_id: consultant_id.0,
            q: q.0,
            updated_since: updated_since.0,
        };
        let (items, next_cursor) = candidates::list(&state.db, &scope, filter, page).await?;
        Ok(Json(Page::of(items, next_cursor, |c| {
            candidate_for(c, &auth.0)
        })))
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
            language: b.language.unwrap_or(Language::Da),
            email: b.email.map(|e| Email::parse("email", &e)).transpose()?,
            phone: b.phone.map(|p| Phone::parse("phone", &p)).transpose()?,
            target_group: b.target_group,
            readiness: b.readiness,
            consultant_id: b.consultant_id,
            external_ref: b.external_ref,
            referred_on: b.referred_on,
        };
        let created = candidates::create(&state.db, &scope, auth.0.actor(), new).await?;
        let mut c = candidate_for(created.candidate, &auth.0);
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
        id: Path<CandidateId>,
    ) -> ApiResult<CandidateResponse> {
        let c = candidates::get(&state.db, &auth.0.reader_reach()?, id.0).await?;
        let tag = etag(c.version);
        Ok(CandidateResponse::Ok(Json(candidate_for(c, &auth.0)), tag))
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
        id: Path<CandidateId>,
        /// The ETag you read; a stale one is refused with 412.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<IfMatch>>,
        body: Body<CandidatePatch>,
    ) -> ApiResult<CandidateResponse> {
        let reach = auth.0.writer_reach()?;
        let expected = expected(if_match_header.0);
        let b = body.0;
        let change = CandidateChange {
            given_name: b.given_name,
            family_name: b.family_name,
            preferred_name: Option::from(b.preferred_name),
            birth_year: b.birth_year,
            language: b.language,
            email: b
                .email
                .map_value(|e| Email::parse("email", &e))
                .transpose()?
                .into(),
            phone: b
                .phone
                .map_value(|p| Phone::parse("phone", &p))
                .transpose()?
                .into(),
            target_group: b.target_group,
            readiness: b.readiness,
            consultant_id: Option::from(b.consultant_id),
            external_ref: Option::from(b.external_ref),
        };
        let (c, warning) = candidates::update(&state.db, &reach, id.0, expected, change).await?;
        let mut c = candidate_for(c, &auth.0);
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
        id: Path<CandidateId>,
    ) -> ApiResult<InvitationResponse> {
        let inv = candidates::reinvite(&state.db, &auth.0.staff_reach()?, id.0).await?;
        state.sessions.forget_all();
        Ok(InvitationResponse::Created(Json(inv.into())))
    }

    /// Erase a candidate's personal data
    ///
    /// Removes everything that identifies the candidate or was written by or about them: names, e-mail,
    /// phone, `external_ref`, the texts of goals, steps, appointments, requests, disclosure notes and course
    /// history reasons, and their login, sessions, invitation, calendar feed, notifications and inbox
    /// items. The anonymous rows the reports count stay (courses with their dates, statuses and outcome,
    /// questionnaire scores and answer values, appointment and goal kinds and statuses), so no report
    /// changes; the year of birth is kept only as its five-year span. Scheduled appointments, open
    /// requests and open questionnaire assignments are closed.
    ///
    /// It cannot be undone. The candidate can no longer log in, and the id answers 404 everywhere from
    /// then on (so erasing again is 404 too). A `candidate.erased` event carrying only `candidate_id`
    /// tells municipal systems to remove their copy. The audit log keeps who did what when, which holds
    /// no personal data. Coordinators of the candidate's municipality only.
    #[oai(
        path = "/candidates/:id/erase",
        method = "post",
        operation_id = "eraseCandidate"
    )]
    async fn erase(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<CandidateId>,
        body: Body<ErasureRequest>,
    ) -> ApiResult<ErasureResponse> {
        let scope = auth.0.coordinator()?;
        let reason = body.0.reason.trim();
        if reason.is_empty() {
            return Err(ApiError::field("reason", "min_length", "must not be blank"));
        }
        erasure::erase(&state.db, auth.0.actor(), scope, id.0, reason).await?;
        state.sessions.forget_all();
        Ok(ErasureResponse::Erased)
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
        id: Path<CandidateId>,
    ) -> ApiResult<EnrollmentResponse> {
        let c = course::get(&state.db, &auth.0.reader_reach()?, id.0).await?;
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
        id: Path<CandidateId>,
        /// The ETag you read; a stale one is refused with 412.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<IfMatch>>,
        body: Body<EnrollmentPatch>,
    ) -> ApiResult<EnrollmentResponse> {
        let reach = auth.0.writer_reach()?;
        let expected = expected(if_match_header.0);
        let change = CourseChange {
            phase: body.0.phase,
            first_employer_contact_on: Option::from(body.0.first_employer_contact_on),
        };
        let c = course::update(&state.db, &reach, id.0, expected, change).await?;
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
        id: Path<CandidateId>,
        /// The ETag of the course you read; a stale one is refused with 412.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<IfMatch>>,
        body: Body<TransitionRequest>,
    ) -> ApiResult<EnrollmentResponse> {
        let reach = auth.0.writer_reach()?;
        let expected = expected(if_match_header.0);
        let b = body.0;
        let t = Transition {
            to: b.to,
            reason: b.reason,
            outcome: b.outcome,
            resume_on: b.resume_on,
            effective_on: b.effective_on,
            request_id: None,
        };
        let c = course::transition(&state.db, &reach, id.0, expected, t).await?;
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
        id: Path<CandidateId>,
    ) -> ApiResult<Json<EnrollmentList>> {
        let all = course::list(&state.db, &auth.0.reader_reach()?, id.0).await?;
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
        id: Path<CandidateId>,
        body: Body<EnrollmentCreate>,
    ) -> ApiResult<EnrollmentResponse> {
        let reach = auth.0.writer_reach()?;
        let (c, warning) = course::open_new(&state.db, &reach, id.0, body.0.referred_on).await?;
        Ok(enrollment_response(c, &auth.0, warning, true))
    }
}

//! Pause and stop: the candidate's requests, staff acknowledging and carrying them out, resuming.
use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    ids::{CandidateId, RequestId},
    request,
};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};

use super::{
    Tag,
    common::{Cursor, Limit, Page, page},
};
use crate::{
    auth::BearerAuth,
    body::Body,
    domain::{
        enrollment::Status,
        requests::{self, NewRequest, RequestKind, RequestStatus},
    },
    error::ApiResult,
    state::AppState,
};

/// A request to pause or stop the course.
#[derive(Object, Debug)]
pub struct Request {
    /// Id.
    pub id: RequestId,
    /// The candidate who asked.
    pub candidate_id: CandidateId,
    /// `pause` or `stop`.
    pub kind: RequestKind,
    /// `open` → `acknowledged` → `carried_out`, or `withdrawn`. Staff never reject a request.
    pub status: RequestStatus,
    /// Why, in the candidate's words (optional).
    #[oai(nullable)]
    pub reason: Option<String>,
    /// For a pause: the day the candidate would like to start again.
    #[oai(nullable)]
    pub resume_on: Option<NaiveDate>,
    /// What staff wrote when acknowledging (shown to the candidate).
    #[oai(nullable)]
    pub note: Option<String>,
    /// When it was asked.
    pub created_at: DateTime<Utc>,
    /// When staff acknowledged it.
    #[oai(nullable)]
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// When it was carried out or withdrawn.
    #[oai(nullable)]
    pub closed_at: Option<DateTime<Utc>>,
    /// Version.
    pub version: i32,
}

impl From<request::Model> for Request {
    fn from(r: request::Model) -> Self {
        Self {
            id: r.id,
            candidate_id: r.candidate_id,
            kind: r.kind,
            status: r.status,
            reason: r.reason,
            resume_on: r.resume_on,
            note: r.note,
            created_at: r.created_at,
            acknowledged_at: r.acknowledged_at,
            closed_at: r.closed_at,
            version: r.version,
        }
    }
}

/// The candidate asks to pause or stop.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct RequestCreate {
    /// `pause` or `stop`.
    pub kind: RequestKind,
    /// Why, if the candidate wants to say (up to 1000 characters).
    #[oai(validator(min_length = 1, max_length = 1000))]
    pub reason: Option<String>,
    /// For a pause: the day the candidate would like to start again (after today).
    pub resume_on: Option<NaiveDate>,
}

/// Staff acknowledge a request.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct AcknowledgeRequest {
    /// A short note to the candidate, e.g. when you will call (up to 1000 characters).
    #[oai(validator(min_length = 1, max_length = 1000))]
    pub note: Option<String>,
}

/// Staff carry out a request.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct CarryOutRequest {
    /// The day the pause or stop takes effect; default today, never in the future.
    pub effective_on: Option<NaiveDate>,
}

/// A carried-out request and where the course now stands.
#[derive(Object, Debug)]
pub struct CarriedOut {
    /// The request, now `carried_out`.
    pub request: Request,
    /// The course's status: `paused` or `stopped`.
    pub course_status: Status,
    /// For a pause: the planned day to resume.
    #[oai(nullable)]
    pub resume_on: Option<NaiveDate>,
}

/// Where the course stands after resuming.
#[derive(Object, Debug)]
pub struct Resumed {
    /// The course's status: `active`.
    pub course_status: Status,
}

#[derive(ApiResponse, Debug)]
pub enum RequestCreated {
    /// Sent. Your consultant sees it in their inbox.
    #[oai(status = 201)]
    Created(Json<Request>, #[oai(header = "Location")] String),
}

pub struct RequestsApi;

#[OpenApi(tag = "Tag::Requests")]
impl RequestsApi {
    /// Ask to pause or stop
    ///
    /// The candidate asks to pause (optionally with the day they would like to start again) or to stop
    /// their course. Staff never reject it: they acknowledge it, talk with the candidate and carry it
    /// out, or the candidate withdraws it. One open request per kind: a second is 409 with the open
    /// one's id in `existing_id`. A pause needs a running course (409 otherwise, with a kind message).
    #[oai(
        path = "/me/requests",
        method = "post",
        operation_id = "createMyRequest"
    )]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Body<RequestCreate>,
    ) -> ApiResult<RequestCreated> {
        let reach = auth.0.candidate_reach()?;
        let b = body.0;
        let r = requests::create(
            &state.db,
            &reach,
            NewRequest {
                kind: b.kind,
                reason: b.reason,
                resume_on: b.resume_on,
            },
        )
        .await?;
        let location = format!("/api/v1/me/requests/{}", r.id);
        Ok(RequestCreated::Created(Json(r.into()), location))
    }

    /// My requests
    ///
    /// The candidate's pause and stop requests, newest first, with their state.
    #[oai(path = "/me/requests", method = "get", operation_id = "listMyRequests")]
    async fn list_mine(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<Limit>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<Request>>> {
        let me = auth.0.candidate_self()?;
        let page = page(limit.0, cursor.0);
        let (items, next_cursor) =
            requests::list(&state.db, &auth.0.candidate_reach()?, me.id, page).await?;
        Ok(Json(Page::of(items, next_cursor, Into::into)))
    }

    /// One of my requests
    ///
    /// One of the candidate's pause or stop requests with its state: the address a new request's
    /// `Location` names. Another person's request is 404.
    #[oai(
        path = "/me/requests/:request_id",
        method = "get",
        operation_id = "getMyRequest"
    )]
    async fn get_mine(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        request_id: Path<RequestId>,
    ) -> ApiResult<Json<Request>> {
        let reach = auth.0.candidate_reach()?;
        Ok(Json(
            requests::get_mine(&state.db, &reach, request_id.0)
                .await?
                .into(),
        ))
    }

    /// Take back a request
    ///
    /// The candidate withdraws their `open` or `acknowledged` request (409 once it is finished).
    #[oai(
        path = "/me/requests/:request_id/withdraw",
        method = "post",
        operation_id = "withdrawMyRequest"
    )]
    async fn withdraw(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        request_id: Path<RequestId>,
    ) -> ApiResult<Json<Request>> {
        let reach = auth.0.candidate_reach()?;
        Ok(Json(
            requests::withdraw(&state.db, &reach, request_id.0)
                .await?
                .into(),
        ))
    }

    /// End my pause
    ///
    /// The candidate starts again after a pause: the course becomes `active` (409 if it is not paused).
    #[oai(path = "/me/resume", method = "post", operation_id = "resumeMyCourse")]
    async fn resume(&self, state: Data<&AppState>, auth: BearerAuth) -> ApiResult<Json<Resumed>> {
        let e = requests::resume(&state.db, &auth.0.candidate_reach()?).await?;
        Ok(Json(Resumed {
            course_status: e.status,
        }))
    }

    /// Acknowledge a request
    ///
    /// Staff have seen the request and will talk with the candidate; the candidate is notified. Only an
    /// `open` request (409 otherwise). There is no reject.
    #[oai(
        path = "/requests/:request_id/acknowledge",
        method = "post",
        operation_id = "acknowledgeRequest"
    )]
    async fn acknowledge(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        request_id: Path<RequestId>,
        body: Body<AcknowledgeRequest>,
    ) -> ApiResult<Json<Request>> {
        let reach = auth.0.staff_reach()?;
        Ok(Json(
            requests::acknowledge(&state.db, &reach, request_id.0, body.0.note)
                .await?
                .into(),
        ))
    }

    /// Carry out a request
    ///
    /// Pauses (with the request's `resume_on`) or stops the course through the same transitions as
    /// `POST /candidates/{id}/enrollment/transitions`, with the request id in the course history; the
    /// candidate is notified. From `open` or `acknowledged` (409 otherwise).
    #[oai(
        path = "/requests/:request_id/carry-out",
        method = "post",
        operation_id = "carryOutRequest"
    )]
    async fn carry_out(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        request_id: Path<RequestId>,
        body: Body<CarryOutRequest>,
    ) -> ApiResult<Json<CarriedOut>> {
        let reach = auth.0.staff_reach()?;
        let (r, e) =
            requests::carry_out(&state.db, &reach, request_id.0, body.0.effective_on).await?;
        Ok(Json(CarriedOut {
            request: r.into(),
            course_status: e.status,
            resume_on: e.resume_on,
        }))
    }

    /// A candidate's requests
    ///
    /// Staff of the candidate; newest first. The read is written to the audit log.
    #[oai(
        path = "/candidates/:id/requests",
        method = "get",
        operation_id = "listCandidateRequests"
    )]
    async fn list_for_staff(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<CandidateId>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<Limit>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<Request>>> {
        let page = page(limit.0, cursor.0);
        let (items, next_cursor) =
            requests::list(&state.db, &auth.0.staff_reach()?, id.0, page).await?;
        Ok(Json(Page::of(items, next_cursor, Into::into)))
    }
}

//! Pause and stop requests, the staff inbox, resuming, disclosure and the candidate's notifications.
use chrono::{DateTime, NaiveDate, Utc};
use entity::{disclosure, notification, request};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Header, Path, Query},
    payload::Json,
    types::Any,
};
use uuid::Uuid;

use super::{
    Tag,
    common::{etag, if_match},
};
use crate::{
    auth::BearerAuth,
    body::Body,
    domain::{
        enrollment::Status,
        inbox::{self, Kind},
        notifications,
        pagination::PageRequest,
        requests::{self, DisclosureLevel, NewRequest, RequestKind, RequestStatus},
    },
    error::ApiResult,
    state::AppState,
};

/// A request to pause or stop the course.
#[derive(Object, Debug)]
pub struct Request {
    /// Id.
    pub id: Uuid,
    /// The candidate who asked.
    pub candidate_id: Uuid,
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
            kind: RequestKind::parse(&r.kind),
            status: RequestStatus::parse(&r.status),
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

/// A page of requests.
#[derive(Object, Debug)]
pub struct RequestList {
    /// Requests, newest first.
    pub items: Vec<Request>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
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

/// Something to look at in the staff inbox.
#[derive(Object, Debug)]
pub struct InboxItem {
    /// Id.
    pub id: Uuid,
    /// What it is about.
    pub kind: Kind,
    /// The candidate.
    pub candidate_id: Uuid,
    /// The candidate's name.
    pub candidate_name: String,
    /// The request, enrollment, response or assignment it is about.
    #[oai(nullable)]
    pub ref_id: Option<Uuid>,
    /// Since when it has waited.
    pub created_at: DateTime<Utc>,
    /// How long it has waited, in seconds.
    pub waiting_seconds: i64,
    /// For `request` and `request_overdue`: the request's kind.
    #[oai(nullable)]
    pub request_kind: Option<RequestKind>,
    /// For `request` and `request_overdue`: where the request stands now (`open` or `acknowledged`).
    #[oai(nullable)]
    pub request_status: Option<RequestStatus>,
}

/// A page of the inbox.
#[derive(Object, Debug)]
pub struct InboxList {
    /// Open items, oldest first.
    pub items: Vec<InboxItem>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

/// One disclosure choice.
#[derive(Object, Debug)]
pub struct DisclosureEntry {
    /// The level chosen.
    pub level: DisclosureLevel,
    /// The candidate's note, e.g. what not to mention.
    #[oai(nullable)]
    pub note: Option<String>,
    /// When it was chosen.
    pub at: DateTime<Utc>,
}

/// How much the consultant may tell an employer or school: the candidate's choice.
#[derive(Object, Debug)]
pub struct Disclosure {
    /// The level in force; `none` until the candidate chooses.
    pub level: DisclosureLevel,
    /// The note with the level in force.
    #[oai(nullable)]
    pub note: Option<String>,
    /// When the level in force was chosen.
    #[oai(nullable)]
    pub updated_at: Option<DateTime<Utc>>,
    /// Version (the number of choices made), for `If-Match`.
    pub version: i32,
    /// Every choice, oldest first.
    pub history: Vec<DisclosureEntry>,
}

fn disclosure_of(history: Vec<disclosure::Model>) -> Disclosure {
    let last = history.last().cloned();
    Disclosure {
        level: last
            .as_ref()
            .map(|d| DisclosureLevel::parse(&d.level))
            .unwrap_or(DisclosureLevel::None),
        note: last.as_ref().and_then(|d| d.note.clone()),
        updated_at: last.map(|d| d.at),
        version: history.len() as i32,
        history: history
            .into_iter()
            .map(|d| DisclosureEntry {
                level: DisclosureLevel::parse(&d.level),
                note: d.note,
                at: d.at,
            })
            .collect(),
    }
}

/// The candidate's disclosure choice.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct DisclosurePut {
    /// `none`, `participation`, `support_needs` or `health_details`.
    pub level: DisclosureLevel,
    /// A note, e.g. what not to mention (up to 1000 characters).
    #[oai(validator(min_length = 1, max_length = 1000))]
    pub note: Option<String>,
}

/// An in-app notification. The portal words it from `kind` and `data`.
#[derive(Object, Debug)]
pub struct Notification {
    /// Id.
    pub id: Uuid,
    /// What happened, e.g. `request_acknowledged`, `request_carried_out`, `appointment_reminder`.
    pub kind: String,
    /// Ids and dates of what it is about.
    pub data: Any<serde_json::Value>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When the candidate read it.
    #[oai(nullable)]
    pub read_at: Option<DateTime<Utc>>,
}

impl From<notification::Model> for Notification {
    fn from(n: notification::Model) -> Self {
        Self {
            id: n.id,
            kind: n.kind,
            data: Any(serde_json::from_str(&n.data).unwrap_or_default()),
            created_at: n.created_at,
            read_at: n.read_at,
        }
    }
}

/// A page of notifications.
#[derive(Object, Debug)]
pub struct NotificationList {
    /// Notifications, newest first.
    pub items: Vec<Notification>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

/// How many notifications were marked read.
#[derive(Object, Debug)]
pub struct ReadAll {
    /// The number that changed.
    pub updated: u64,
}

#[derive(ApiResponse, Debug)]
pub enum RequestCreated {
    /// Sent. Your consultant sees it in their inbox.
    #[oai(status = 201)]
    Created(Json<Request>, #[oai(header = "Location")] String),
}

#[derive(ApiResponse, Debug)]
pub enum DisclosureResponse {
    /// The disclosure choice; `ETag` carries its version for `If-Match`.
    #[oai(status = 200)]
    Ok(Json<Disclosure>, #[oai(header = "ETag")] String),
}

fn disclosure_response(history: Vec<disclosure::Model>) -> DisclosureResponse {
    let d = disclosure_of(history);
    let tag = etag(d.version);
    DisclosureResponse::Ok(Json(d), tag)
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
        auth.0.candidate_self()?;
        let b = body.0;
        let r = requests::create(
            &state.db,
            auth.0.actor(),
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
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        #[oai(validator(max_length = 100))]
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<RequestList>> {
        let (id, _) = auth.0.candidate_self()?;
        let page = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let (items, next_cursor) = requests::list_own(&state.db, id, page).await?;
        Ok(Json(RequestList {
            items: items.into_iter().map(Into::into).collect(),
            next_cursor,
        }))
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
        request_id: Path<Uuid>,
    ) -> ApiResult<Json<Request>> {
        auth.0.candidate_self()?;
        Ok(Json(
            requests::withdraw(&state.db, auth.0.actor(), request_id.0)
                .await?
                .into(),
        ))
    }

    /// End my pause
    ///
    /// The candidate starts again after a pause: the course becomes `active` (409 if it is not paused).
    #[oai(path = "/me/resume", method = "post", operation_id = "resumeMyCourse")]
    async fn resume(&self, state: Data<&AppState>, auth: BearerAuth) -> ApiResult<Json<Resumed>> {
        auth.0.candidate_self()?;
        let e = requests::resume(&state.db, auth.0.actor()).await?;
        Ok(Json(Resumed {
            course_status: Status::parse(&e.status).unwrap_or(Status::Active),
        }))
    }

    /// The inbox
    ///
    /// Open pause and stop requests, planned resume dates that have passed and (with questionnaires)
    /// wellbeing alerts and missed questionnaires, oldest first, with how long each has waited. A
    /// consultant sees their own caseload; a coordinator the whole municipality, including requests
    /// nobody acknowledged within 2 working days. Each candidate shown is written to the audit log.
    #[oai(path = "/inbox", method = "get", operation_id = "getInbox")]
    async fn inbox(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// Page size, 1–200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        #[oai(validator(max_length = 100))]
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<InboxList>> {
        let scope = auth.0.staff()?;
        let page = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let (items, next_cursor) = inbox::list(&state.db, &scope, auth.0.actor(), page).await?;
        let now = Utc::now();
        let items = items
            .into_iter()
            .map(|i| InboxItem {
                id: i.item.id,
                kind: Kind::parse(&i.item.kind),
                candidate_id: i.candidate.id,
                candidate_name: format!(
                    "{} {}",
                    i.candidate.preferred_name.unwrap_or(i.candidate.given_name),
                    i.candidate.family_name
                ),
                ref_id: i.item.ref_id,
                created_at: i.item.created_at,
                waiting_seconds: (now - i.item.created_at).num_seconds().max(0),
                request_kind: i.request.as_ref().map(|r| RequestKind::parse(&r.kind)),
                request_status: i.request.as_ref().map(|r| RequestStatus::parse(&r.status)),
            })
            .collect();
        Ok(Json(InboxList { items, next_cursor }))
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
        request_id: Path<Uuid>,
        body: Body<AcknowledgeRequest>,
    ) -> ApiResult<Json<Request>> {
        let scope = auth.0.staff()?;
        Ok(Json(
            requests::acknowledge(&state.db, &scope, auth.0.actor(), request_id.0, body.0.note)
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
        request_id: Path<Uuid>,
        body: Body<CarryOutRequest>,
    ) -> ApiResult<Json<CarriedOut>> {
        let scope = auth.0.staff()?;
        let (r, e) = requests::carry_out(
            &state.db,
            &scope,
            auth.0.actor(),
            request_id.0,
            body.0.effective_on,
        )
        .await?;
        Ok(Json(CarriedOut {
            request: r.into(),
            course_status: Status::parse(&e.status).unwrap_or(Status::Paused),
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
        id: Path<Uuid>,
        /// Page size, 1–200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        #[oai(validator(max_length = 100))]
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<RequestList>> {
        let scope = auth.0.staff()?;
        let page = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let (items, next_cursor) =
            requests::list_for_staff(&state.db, &scope, auth.0.actor(), id.0, page).await?;
        Ok(Json(RequestList {
            items: items.into_iter().map(Into::into).collect(),
            next_cursor,
        }))
    }

    /// My disclosure choice
    ///
    /// How much the consultant may tell an employer or school, with every earlier choice. `none` until
    /// the candidate chooses.
    #[oai(
        path = "/me/disclosure",
        method = "get",
        operation_id = "getMyDisclosure"
    )]
    async fn my_disclosure(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> ApiResult<DisclosureResponse> {
        let (id, _) = auth.0.candidate_self()?;
        Ok(disclosure_response(
            requests::disclosure_history(state.db.read(), id).await?,
        ))
    }

    /// Choose what may be disclosed
    ///
    /// The candidate sets the level (`none`, `participation`, `support_needs`, `health_details`) and
    /// can change it at any time. `If-Match` with the ETag guards against a stale screen (412).
    #[oai(
        path = "/me/disclosure",
        method = "put",
        operation_id = "setMyDisclosure"
    )]
    async fn set_disclosure(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The ETag you read; a stale one is refused with 412.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<String>>,
        body: Body<DisclosurePut>,
    ) -> ApiResult<DisclosureResponse> {
        auth.0.candidate_self()?;
        let expected = if_match(if_match_header.0.as_deref())?;
        let history = requests::set_disclosure(
            &state.db,
            auth.0.actor(),
            expected,
            body.0.level,
            body.0.note,
        )
        .await?;
        Ok(disclosure_response(history))
    }

    /// A candidate's disclosure choice
    ///
    /// Staff of the candidate read what they may tell an employer or school. Audited.
    #[oai(
        path = "/candidates/:id/disclosure",
        method = "get",
        operation_id = "getCandidateDisclosure"
    )]
    async fn candidate_disclosure(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> ApiResult<DisclosureResponse> {
        let scope = auth.0.staff()?;
        Ok(disclosure_response(
            requests::disclosure_for_staff(&state.db, &scope, auth.0.actor(), id.0).await?,
        ))
    }

    /// My notifications
    ///
    /// Newest first: appointment reminders and changes, questionnaires due, answers to requests.
    #[oai(
        path = "/me/notifications",
        method = "get",
        operation_id = "listMyNotifications"
    )]
    async fn notifications(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// Only unread ones.
        unread: Query<Option<bool>>,
        /// Page size, 1–200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        #[oai(validator(max_length = 100))]
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<NotificationList>> {
        let (id, _) = auth.0.candidate_self()?;
        let page = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let (items, next_cursor) =
            notifications::list(&state.db, id, unread.0.unwrap_or(false), page).await?;
        Ok(Json(NotificationList {
            items: items.into_iter().map(Into::into).collect(),
            next_cursor,
        }))
    }

    /// Mark a notification read
    ///
    /// Marking one that is already read changes nothing.
    #[oai(
        path = "/me/notifications/:notification_id/read",
        method = "post",
        operation_id = "readMyNotification"
    )]
    async fn read_one(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        notification_id: Path<Uuid>,
    ) -> ApiResult<Json<Notification>> {
        let (id, _) = auth.0.candidate_self()?;
        Ok(Json(
            notifications::mark_read(&state.db, id, notification_id.0)
                .await?
                .into(),
        ))
    }

    /// Mark every notification read
    ///
    /// Answers with how many changed.
    #[oai(
        path = "/me/notifications/read-all",
        method = "post",
        operation_id = "readAllMyNotifications"
    )]
    async fn read_all(&self, state: Data<&AppState>, auth: BearerAuth) -> ApiResult<Json<ReadAll>> {
        let (id, _) = auth.0.candidate_self()?;
        Ok(Json(ReadAll {
            updated: notifications::mark_all_read(&state.db, id).await?,
        }))
    }
}

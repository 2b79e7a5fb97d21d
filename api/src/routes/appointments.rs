//! Appointments: staff book and manage them under `/candidates/{id}/appointments…`; the candidate lists
//! and answers theirs under `/me/appointments…`, and takes them to their phone's calendar
//! (`/me/calendar.ics`, or the secret subscription URL from `/me/calendar-feed`).
use chrono::{DateTime, Utc};
use entity::{
    appointment, calendar_feed,
    ids::{AppointmentId, CandidateId},
};
use poem::{Request, web::Data};
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Header, Path, Query},
    payload::{Json, PlainText},
    types::MaybeUndefined,
};

use super::{
    Tag,
    common::{Cursor, IfMatch, Limit, Page, etag, expected, page, versioned_response},
};
use crate::{
    auth::BearerAuth,
    body::Body,
    domain::{
        appointments::{
            self, Answer, AppointmentChange, AppointmentStatus, CandidateResponse, CloseStatus,
            Kind, ListFilter, NewAppointment,
        },
        calendar,
    },
    error::ApiResult,
    state::AppState,
};

/// An appointment.
#[derive(Object, Debug)]
pub struct Appointment {
    /// Id; also the calendar entry's `UID`.
    pub id: AppointmentId,
    /// The candidate it is with.
    pub candidate_id: CandidateId,
    /// What it is.
    pub kind: Kind,
    /// What it is about, in staff's words (shown in the calendar feed only when the candidate opts in).
    pub title: String,
    /// Start (UTC).
    pub starts_at: DateTime<Utc>,
    /// End (UTC): after the start, at most 12 hours later.
    pub ends_at: DateTime<Utc>,
    /// Where.
    #[oai(nullable)]
    pub location: Option<String>,
    /// Online meeting link (`https://`).
    #[oai(nullable)]
    pub online_url: Option<String>,
    /// A note for the candidate, e.g. what to bring.
    #[oai(nullable)]
    pub note_for_candidate: Option<String>,
    /// Where it stands.
    pub status: AppointmentStatus,
    /// Why it was cancelled.
    #[oai(nullable)]
    pub cancel_reason: Option<String>,
    /// The candidate's answer; back to `none` when the appointment moves.
    pub candidate_response: CandidateResponse,
    /// The candidate's message with the answer.
    #[oai(nullable)]
    pub response_message: Option<String>,
    /// When the candidate answered.
    #[oai(nullable)]
    pub responded_at: Option<DateTime<Utc>>,
    /// The calendar entry's `SEQUENCE`: grows with every change staff make.
    pub sequence: i32,
    /// Version, for `If-Match` (grows with every change, the candidate's answer included).
    pub version: i32,
    /// When it was booked.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<appointment::Model> for Appointment {
    fn from(a: appointment::Model) -> Self {
        Self {
            id: a.id,
            candidate_id: a.candidate_id,
            kind: a.kind,
            title: a.title,
            starts_at: a.starts_at,
            ends_at: a.ends_at,
            location: a.location,
            online_url: a.online_url,
            note_for_candidate: a.note_for_candidate,
            status: a.status,
            cancel_reason: a.cancel_reason,
            candidate_response: a.candidate_response,
            response_message: a.response_message,
            responded_at: a.responded_at,
            sequence: a.sequence,
            version: a.version,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

/// A new appointment.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct AppointmentCreate {
    /// What it is.
    pub kind: Kind,
    /// What it is about, 1–200 characters.
    #[oai(validator(min_length = 1, max_length = 200))]
    pub title: String,
    /// Start (RFC 3339): no more than a year back (to record a past meeting) or two years ahead.
    pub starts_at: DateTime<Utc>,
    /// End (RFC 3339): after the start, at most 12 hours later; default an hour after the start.
    pub ends_at: Option<DateTime<Utc>>,
    /// Where, up to 200 characters.
    #[oai(validator(max_length = 200))]
    pub location: Option<String>,
    /// Online meeting link: an `https://` address, up to 500 characters.
    #[oai(validator(max_length = 500))]
    pub online_url: Option<String>,
    /// A note for the candidate, up to 2000 characters.
    #[oai(validator(max_length = 2000))]
    pub note_for_candidate: Option<String>,
}

/// A change to a scheduled appointment; absent fields stay as they are, `null` clears an optional one.
/// Moving `starts_at` without `ends_at` keeps the length.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct AppointmentPatch {
    /// What it is.
    pub kind: Option<Kind>,
    /// What it is about.
    #[oai(validator(min_length = 1, max_length = 200))]
    pub title: Option<String>,
    /// New start; the candidate's answer is reset and the reminder moves with it.
    pub starts_at: Option<DateTime<Utc>>,
    /// New end.
    pub ends_at: Option<DateTime<Utc>>,
    /// Where; `null` clears it.
    #[oai(nullable, validator(max_length = 200))]
    pub location: MaybeUndefined<String>,
    /// Online meeting link (`https://`); `null` clears it.
    #[oai(nullable, validator(max_length = 500))]
    pub online_url: MaybeUndefined<String>,
    /// A note for the candidate; `null` clears it.
    #[oai(nullable, validator(max_length = 2000))]
    pub note_for_candidate: MaybeUndefined<String>,
}

/// Why the appointment is cancelled.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct AppointmentCancel {
    /// The reason, 1–1000 characters; the candidate sees it.
    #[oai(validator(min_length = 1, max_length = 1000))]
    pub reason: String,
}

/// How the appointment went.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct AppointmentClose {
    /// `completed` or `no_show`.
    pub status: CloseStatus,
}

/// The candidate's answer.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct AppointmentAnswer {
    /// `accepted`, `declined` or `reschedule_requested`.
    pub response: Answer,
    /// A message for the consultant, up to 1000 characters (e.g. when another time would suit).
    #[oai(validator(max_length = 1000))]
    pub message: Option<String>,
}

/// The candidate's calendar settings.
#[derive(Object, Debug)]
pub struct CalendarFeed {
    /// A secret subscription URL exists (its secret is shown only when it is made).
    pub enabled: bool,
    /// Entries show the real title, the note and the meeting link; otherwise only "Møde" and the place.
    pub show_details: bool,
    /// When the current secret URL was made.
    #[oai(nullable)]
    pub rotated_at: Option<DateTime<Utc>>,
    /// Version, for `If-Match` (0 until first changed).
    pub version: i32,
}

impl From<calendar_feed::Model> for CalendarFeed {
    fn from(f: calendar_feed::Model) -> Self {
        Self {
            enabled: f.secret_hash.is_some(),
            show_details: f.show_details,
            rotated_at: f.rotated_at,
            version: f.version,
        }
    }
}

/// A new secret subscription URL. Shown once: only a hash of the secret is kept.
#[derive(Object, Debug)]
pub struct CalendarFeedUrl {
    /// The address to subscribe to in a phone calendar, when the server's address is known from the
    /// request.
    #[oai(nullable)]
    pub url: Option<String>,
    /// The same address relative to the server (`/api/v1/calendar/<secret>.ics`).
    pub path: String,
    /// The settings now.
    pub feed: CalendarFeed,
}

/// The candidate's choice about details in the calendar.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct CalendarFeedPatch {
    /// `true`: entries show the real title, the note and the meeting link. `false` (the default):
    /// only "Møde" and the place, so nothing about health or the programme shows on the phone.
    pub show_details: bool,
}

versioned_response!(AppointmentResponse, Appointment, "appointment");
versioned_response!(CalendarFeedResponse, CalendarFeed, "calendar settings");

/// An iCalendar file.
#[derive(ApiResponse, Debug)]
pub enum IcsResponse {
    /// The appointments as iCalendar (RFC 5545): from 90 days back, cancelled ones included as
    /// `STATUS:CANCELLED`.
    #[oai(status = 200, content_type = "text/calendar; charset=utf-8")]
    Ok(PlainText<String>),
}

/// The secret feed is turned off.
#[derive(ApiResponse, Debug)]
pub enum CalendarFeedDeleted {
    /// Off: the subscription URL no longer works.
    #[oai(status = 204)]
    Done,
}

fn respond(a: appointment::Model, created: Option<String>) -> AppointmentResponse {
    let a: Appointment = a.into();
    let tag = etag(a.version);
    match created {
        Some(path) => AppointmentResponse::Created(Json(a), tag, path),
        None => AppointmentResponse::Ok(Json(a), tag),
    }
}

fn feed_response(f: calendar_feed::Model) -> CalendarFeedResponse {
    let f: CalendarFeed = f.into();
    let tag = etag(f.version);
    CalendarFeedResponse::Ok(Json(f), tag)
}

fn list_response(
    (items, next_cursor): (Vec<appointment::Model>, Option<String>),
) -> Json<Page<Appointment>> {
    Json(Page::of(items, next_cursor, Into::into))
}

/// The absolute feed URL, from the request's host: `https` unless the host is this machine (or a
/// trusted proxy says otherwise).
fn absolute_url(req: &Request, trust_forwarded_for: bool, path: &str) -> Option<String> {
    let host = req
        .headers()
        .get("host")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()))?;
    if host.is_empty() || host.len() > 255 || host.contains(['/', '@', ' ']) {
        return None;
    }
    let forwarded = trust_forwarded_for
        .then(|| req.headers().get("x-forwarded-proto"))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .filter(|p| matches!(*p, "http" | "https"));
    let local = ["localhost", "127.0.0.1", "[::1]"]
        .iter()
        .any(|l| host == *l || host.starts_with(&format!("{l}:")));
    let scheme = forwarded.unwrap_or(if local { "http" } else { "https" });
    Some(format!("{scheme}://{host}{path}"))
}

pub struct AppointmentsApi;

#[OpenApi(tag = "Tag::Appointments")]
impl AppointmentsApi {
    /// List my appointments
    ///
    /// The candidate's appointments by start time, optionally those overlapping `from`–`to`
    /// (RFC 3339 timestamps). Cancelled ones are included, with their reason.
    #[oai(
        path = "/me/appointments",
        method = "get",
        operation_id = "listMyAppointments"
    )]
    async fn my_list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// Only appointments that end after this time (RFC 3339).
        from: Query<Option<DateTime<Utc>>>,
        /// Only appointments that start before this time (RFC 3339).
        to: Query<Option<DateTime<Utc>>>,
        /// Only appointments with this status.
        status: Query<Option<AppointmentStatus>>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<Limit>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<Appointment>>> {
        let me = auth.0.candidate_self()?;
        let page = page(limit.0, cursor.0);
        let filter = ListFilter {
            from: from.0,
            to: to.0,
            status: status.0,
            during_pause: false,
        };
        Ok(list_response(
            appointments::list(&state.db, &auth.0.candidate_reach()?, me.id, filter, page).await?,
        ))
    }

    /// Answer an appointment
    ///
    /// The candidate says they will come (`accepted`), cannot (`declined`), or asks to move it
    /// (`reschedule_requested`), with an optional message for the consultant. Only a scheduled
    /// appointment that has not ended can be answered (409 otherwise); answering again replaces the
    /// answer.
    #[oai(
        path = "/me/appointments/:appointment_id/response",
        method = "post",
        operation_id = "answerMyAppointment"
    )]
    async fn my_answer(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        appointment_id: Path<AppointmentId>,
        /// The ETag you read; a stale one is refused with 412.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<IfMatch>>,
        body: Body<AppointmentAnswer>,
    ) -> ApiResult<AppointmentResponse> {
        let reach = auth.0.candidate_reach()?;
        let expected = expected(if_match_header.0);
        let a = appointments::respond(
            &state.db,
            &reach,
            appointment_id.0,
            expected,
            body.0.response,
            body.0.message,
        )
        .await?;
        Ok(respond(a, None))
    }

    /// My calendar file
    ///
    /// The candidate's appointments as an iCalendar file (RFC 5545) to import into a calendar app:
    /// times in UTC (shown in local Copenhagen time by the app), stable UIDs, `SEQUENCE` growing with
    /// every change, cancelled appointments as `STATUS:CANCELLED`. Titles say only "Møde" and the place
    /// unless the candidate has turned on details (`PATCH /me/calendar-feed`).
    #[oai(
        path = "/me/calendar.ics",
        method = "get",
        operation_id = "getMyCalendar"
    )]
    async fn my_calendar(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> ApiResult<IcsResponse> {
        Ok(IcsResponse::Ok(PlainText(
            calendar::own_feed(&state.db, &auth.0.candidate_reach()?).await?,
        )))
    }

    /// My calendar settings
    ///
    /// Whether a secret subscription URL exists (the URL itself is shown only when it is made) and
    /// whether the calendar shows details.
    #[oai(
        path = "/me/calendar-feed",
        method = "get",
        operation_id = "getMyCalendarFeed"
    )]
    async fn my_feed(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> ApiResult<CalendarFeedResponse> {
        let me = auth.0.candidate_self()?;
        Ok(feed_response(
            calendar::settings(state.db.read(), me.id).await?,
        ))
    }

    /// Make a new calendar subscription URL
    ///
    /// Returns a secret URL that phone calendars can subscribe to without logging in. Each call makes
    /// a new secret: the previous URL stops working at once (use it when the URL may have been
    /// shared by mistake). The URL is shown only here; keep it private.
    #[oai(
        path = "/me/calendar-feed",
        method = "post",
        operation_id = "rotateMyCalendarFeed"
    )]
    async fn my_feed_rotate(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: BearerAuth,
        /// The ETag you read; a stale one is refused with 412.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<IfMatch>>,
    ) -> ApiResult<Json<CalendarFeedUrl>> {
        let reach = auth.0.candidate_reach()?;
        let expected = expected(if_match_header.0);
        let (secret, feed) = calendar::rotate(&state.db, &reach, expected).await?;
        let path = format!("/api/v1/calendar/{secret}.ics");
        Ok(Json(CalendarFeedUrl {
            url: absolute_url(req, state.config.trust_forwarded_for, &path),
            path,
            feed: feed.into(),
        }))
    }

    /// Change my calendar settings
    ///
    /// Turn details on or off for both the calendar file and the subscription URL. Off (the default),
    /// every entry says only "Møde" and the place, so nothing about health or the programme shows on
    /// the phone.
    #[oai(
        path = "/me/calendar-feed",
        method = "patch",
        operation_id = "updateMyCalendarFeed"
    )]
    async fn my_feed_update(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The ETag you read; a stale one is refused with 412.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<IfMatch>>,
        body: Body<CalendarFeedPatch>,
    ) -> ApiResult<CalendarFeedResponse> {
        let reach = auth.0.candidate_reach()?;
        let expected = expected(if_match_header.0);
        let f = calendar::set_details(&state.db, &reach, expected, body.0.show_details).await?;
        Ok(feed_response(f))
    }

    /// Turn off my calendar subscription URL
    ///
    /// The secret URL stops working at once. The calendar file (`GET /me/calendar.ics`) still works
    /// with the token.
    #[oai(
        path = "/me/calendar-feed",
        method = "delete",
        operation_id = "deleteMyCalendarFeed"
    )]
    async fn my_feed_delete(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The ETag you read; a stale one is refused with 412.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<IfMatch>>,
    ) -> ApiResult<CalendarFeedDeleted> {
        let reach = auth.0.candidate_reach()?;
        let expected = expected(if_match_header.0);
        calendar::disable(&state.db, &reach, expected).await?;
        Ok(CalendarFeedDeleted::Done)
    }

    /// Calendar subscription feed
    ///
    /// The iCalendar feed (RFC 5545) behind a candidate's secret subscription URL, for phone calendars:
    /// no token, the secret is the key. The path is `/api/v1/calendar/<secret>.ics` as returned by
    /// `POST /me/calendar-feed`. An unknown or replaced secret is 404.
    #[oai(
        path = "/calendar/:secret",
        method = "get",
        operation_id = "getCalendarFeed"
    )]
    async fn feed(
        &self,
        state: Data<&AppState>,
        /// The secret with its `.ics` ending, e.g. `Zm9v….ics`.
        #[oai(validator(max_length = 120))]
        secret: Path<String>,
    ) -> ApiResult<IcsResponse> {
        Ok(IcsResponse::Ok(PlainText(
            calendar::feed_by_secret(&state.db, &secret.0).await?,
        )))
    }

    /// List a candidate's appointments
    ///
    /// Staff of the candidate: appointments by start time, optionally those overlapping `from`–`to`,
    /// of one status, or — with `during_pause=true` — the scheduled ones that fall inside the
    /// candidate's current pause, to cancel or keep (empty when the course is not paused). The read is
    /// written to the audit log.
    #[oai(
        path = "/candidates/:id/appointments",
        method = "get",
        operation_id = "listCandidateAppointments"
    )]
    async fn staff_list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<CandidateId>,
        /// Only appointments that end after this time (RFC 3339).
        from: Query<Option<DateTime<Utc>>>,
        /// Only appointments that start before this time (RFC 3339).
        to: Query<Option<DateTime<Utc>>>,
        /// Only appointments with this status.
        status: Query<Option<AppointmentStatus>>,
        /// Only scheduled appointments inside the current pause (from the day it took effect until
        /// the planned resume day).
        during_pause: Query<Option<bool>>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<Limit>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<Appointment>>> {
        let who = auth.0.staff_reach()?;
        let page = page(limit.0, cursor.0);
        let filter = ListFilter {
            from: from.0,
            to: to.0,
            status: status.0,
            during_pause: during_pause.0.unwrap_or(false),
        };
        Ok(list_response(
            appointments::list(&state.db, &who, id.0, filter, page).await?,
        ))
    }

    /// Book an appointment
    ///
    /// Staff book an appointment with the candidate, who gets a notification (and, when it starts
    /// within 24 hours, its reminder at once; otherwise the reminder comes 24 hours before).
    /// `online_url` must be an `https://` address; the end must be after the start and at most 12
    /// hours later.
    #[oai(
        path = "/candidates/:id/appointments",
        method = "post",
        operation_id = "createCandidateAppointment"
    )]
    async fn staff_create(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<CandidateId>,
        body: Body<AppointmentCreate>,
    ) -> ApiResult<AppointmentResponse> {
        let reach = auth.0.staff_reach()?;
        let b = body.0;
        let new = NewAppointment {
            kind: b.kind,
            title: b.title,
            starts_at: b.starts_at,
            ends_at: b.ends_at,
            location: b.location,
            online_url: b.online_url,
            note_for_candidate: b.note_for_candidate,
        };
        let a = appointments::create(&state.db, &reach, id.0, new).await?;
        let path = format!("/api/v1/candidates/{}/appointments/{}", id.0, a.id);
        Ok(respond(a, Some(path)))
    }

    /// Get a candidate's appointment
    ///
    /// Staff of the candidate; with the candidate's answer. The read is written to the audit log.
    #[oai(
        path = "/candidates/:id/appointments/:appointment_id",
        method = "get",
        operation_id = "getCandidateAppointment"
    )]
    async fn staff_get(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<CandidateId>,
        appointment_id: Path<AppointmentId>,
    ) -> ApiResult<AppointmentResponse> {
        let who = auth.0.staff_reach()?;
        Ok(respond(
            appointments::get(&state.db, &who, id.0, appointment_id.0).await?,
            None,
        ))
    }

    /// Change an appointment
    ///
    /// Only a scheduled appointment (409 otherwise). The candidate is told; the calendar entry's
    /// `SEQUENCE` grows. Moving the start resets the candidate's answer and moves the reminder (at once
    /// when the new start is within 24 hours). `If-Match` guards against overwriting another change (412).
    #[oai(
        path = "/candidates/:id/appointments/:appointment_id",
        method = "patch",
        operation_id = "updateCandidateAppointment"
    )]
    async fn staff_update(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<CandidateId>,
        appointment_id: Path<AppointmentId>,
        /// The ETag you read; a stale one is refused with 412.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<IfMatch>>,
        body: Body<AppointmentPatch>,
    ) -> ApiResult<AppointmentResponse> {
        let reach = auth.0.staff_reach()?;
        let expected = expected(if_match_header.0);
        let b = body.0;
        let change = AppointmentChange {
            kind: b.kind,
            title: b.title,
            starts_at: b.starts_at,
            ends_at: b.ends_at,
            location: Option::from(b.location),
            online_url: Option::from(b.online_url),
            note_for_candidate: Option::from(b.note_for_candidate),
        };
        let a = appointments::update(&state.db, &reach, id.0, appointment_id.0, expected, change)
            .await?;
        Ok(respond(a, None))
    }

    /// Cancel an appointment
    ///
    /// Only a scheduled appointment (409 otherwise). The candidate is told, with the reason; the
    /// calendar shows the entry as cancelled and its reminder is dropped.
    #[oai(
        path = "/candidates/:id/appointments/:appointment_id/cancel",
        method = "post",
        operation_id = "cancelCandidateAppointment"
    )]
    async fn staff_cancel(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<CandidateId>,
        appointment_id: Path<AppointmentId>,
        /// The ETag you read; a stale one is refused with 412.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<IfMatch>>,
        body: Body<AppointmentCancel>,
    ) -> ApiResult<AppointmentResponse> {
        let reach = auth.0.staff_reach()?;
        let expected = expected(if_match_header.0);
        let a = appointments::cancel(
            &state.db,
            &reach,
            id.0,
            appointment_id.0,
            expected,
            body.0.reason,
        )
        .await?;
        Ok(respond(a, None))
    }

    /// Close an appointment
    ///
    /// After it has begun, staff record how it went: `completed` or `no_show` (409 before the start or
    /// when it is not scheduled). A completed `employer` or `education` appointment fills the course's
    /// `first_employer_contact_on` when that is still empty.
    #[oai(
        path = "/candidates/:id/appointments/:appointment_id/close",
        method = "post",
        operation_id = "closeCandidateAppointment"
    )]
    async fn staff_close(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<CandidateId>,
        appointment_id: Path<AppointmentId>,
        /// The ETag you read; a stale one is refused with 412.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<IfMatch>>,
        body: Body<AppointmentClose>,
    ) -> ApiResult<AppointmentResponse> {
        let reach = auth.0.staff_reach()?;
        let expected = expected(if_match_header.0);
        let a = appointments::close(
            &state.db,
            &reach,
            id.0,
            appointment_id.0,
            expected,
            body.0.status,
        )
        .await?;
        Ok(respond(a, None))
    }
}

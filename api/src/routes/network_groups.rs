//! Network groups (netværksgrupper, SPEC §4.12): staff of the municipality set groups up and record
//! attendance under `/network-groups…`; candidates see the groups, join, leave and suggest topics under
//! `/me/network-groups…`. Joining is always the candidate's own choice. Free text (topics,
//! suggestions): never to service accounts, never in events.
use chrono::{DateTime, NaiveDate, Utc};
use entity::ids::{CandidateId, NetworkGroupId, NetworkGroupSessionId, StaffId};
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
    common::{IfMatch, etag, expected, versioned_response},
};
use crate::{
    auth::{BearerAuth, Reach},
    body::Body,
    domain::network_groups::{
        self as groups, GroupChange, GroupDetail, GroupView, MyGroup, NewGroup, SessionChange,
        SessionView,
    },
    error::ApiResult,
    state::AppState,
};

/// The HH:MM pattern of a group's start time (00:00–23:59), as the `starts_at` validators declare it.
#[cfg(test)]
const TIME_PATTERN: &str = "^([01][0-9]|2[0-3]):[0-5][0-9]$";

/// A network group as listed for staff.
#[derive(Object, Debug)]
pub struct NetworkGroupSummary {
    /// Id.
    pub id: NetworkGroupId,
    /// The group's name, e.g. "Torsdagsgruppen".
    pub name: String,
    /// The day it meets each week: 1 = Monday … 7 = Sunday.
    pub weekday: i32,
    /// When it starts, `HH:MM`, wall-clock time in Europe/Copenhagen.
    pub starts_at: String,
    /// How long a session lasts, in minutes (15–480).
    pub duration_minutes: i32,
    /// Where it meets.
    #[oai(nullable)]
    pub location: Option<String>,
    /// An `https://` link for joining online.
    #[oai(nullable)]
    pub online_url: Option<String>,
    /// Whether it still meets: sessions are made, and candidates see it, only while active.
    pub active: bool,
    /// The staff members who run it (they may record attendance and set topics).
    pub facilitator_ids: Vec<StaffId>,
    /// Version, for `If-Match`.
    pub version: i32,
    /// When it was set up.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<GroupView> for NetworkGroupSummary {
    fn from(v: GroupView) -> Self {
        let g = v.group;
        Self {
            id: g.id,
            name: g.name,
            weekday: g.weekday,
            starts_at: g.starts_at,
            duration_minutes: g.duration_minutes,
            location: g.location,
            online_url: g.online_url,
            active: g.active,
            facilitator_ids: v.facilitator_ids,
            version: g.version,
            created_at: g.created_at,
            updated_at: g.updated_at,
        }
    }
}

/// A candidate in the group now.
#[derive(Object, Debug)]
pub struct NetworkGroupMember {
    /// The candidate.
    pub candidate_id: CandidateId,
    /// When they joined (this time).
    pub joined_at: DateTime<Utc>,
}

/// A topic a member suggested (the candidate's own words; who suggested it is not shown).
#[derive(Object, Debug)]
pub struct NetworkGroupTopicSuggestion {
    /// Id.
    pub id: Uuid,
    /// The suggestion, up to 500 characters.
    pub text: String,
    /// When it was suggested.
    pub created_at: DateTime<Utc>,
}

/// A network group with its members and the newest topic suggestions (staff of the municipality).
#[derive(Object, Debug)]
pub struct NetworkGroup {
    /// Id.
    pub id: NetworkGroupId,
    /// The group's name.
    pub name: String,
    /// The day it meets each week: 1 = Monday … 7 = Sunday.
    pub weekday: i32,
    /// When it starts, `HH:MM`, wall-clock time in Europe/Copenhagen.
    pub starts_at: String,
    /// How long a session lasts, in minutes (15–480).
    pub duration_minutes: i32,
    /// Where it meets.
    #[oai(nullable)]
    pub location: Option<String>,
    /// An `https://` link for joining online.
    #[oai(nullable)]
    pub online_url: Option<String>,
    /// Whether it still meets.
    pub active: bool,
    /// The staff members who run it.
    pub facilitator_ids: Vec<StaffId>,
    /// The candidates in the group now, in the order they joined.
    pub members: Vec<NetworkGroupMember>,
    /// The newest topic suggestions from the members (at most 50), newest first.
    pub topic_suggestions: Vec<NetworkGroupTopicSuggestion>,
    /// Version, for `If-Match`.
    pub version: i32,
    /// When it was set up.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<GroupDetail> for NetworkGroup {
    fn from(d: GroupDetail) -> Self {
        let s = NetworkGroupSummary::from(d.view);
        Self {
            id: s.id,
            name: s.name,
            weekday: s.weekday,
            starts_at: s.starts_at,
            duration_minutes: s.duration_minutes,
            location: s.location,
            online_url: s.online_url,
            active: s.active,
            facilitator_ids: s.facilitator_ids,
            members: d
                .members
                .into_iter()
                .map(|m| NetworkGroupMember {
                    candidate_id: m.candidate_id,
                    joined_at: m.joined_at,
                })
                .collect(),
            topic_suggestions: d
                .suggestions
                .into_iter()
                .map(|t| NetworkGroupTopicSuggestion {
                    id: t.id,
                    text: t.text,
                    created_at: t.created_at,
                })
                .collect(),
            version: s.version,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// A new network group, as the coordinator sets it up.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct NetworkGroupCreate {
    /// The group's name, 1–200 characters.
    #[oai(validator(min_length = 1, max_length = 200))]
    pub name: String,
    /// The day it meets each week: 1 = Monday … 7 = Sunday.
    #[oai(validator(minimum(value = "1"), maximum(value = "7")))]
    pub weekday: i32,
    /// When it starts, `HH:MM` (00:00–23:59), wall-clock time in Europe/Copenhagen; the sessions keep
    /// that time across summer and winter time.
    #[oai(validator(max_length = 5, pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$"))]
    pub starts_at: String,
    /// How long a session lasts, 15–480 minutes.
    #[oai(validator(minimum(value = "15"), maximum(value = "480")))]
    pub duration_minutes: i32,
    /// Where it meets, up to 200 characters.
    #[oai(validator(max_length = 200))]
    pub location: Option<String>,
    /// An `https://` link for joining online, up to 500 characters.
    #[oai(validator(max_length = 500))]
    pub online_url: Option<String>,
    /// The staff who run it: active consultants or coordinators of the municipality (400 naming
    /// `facilitator_ids` otherwise), at most 20.
    #[oai(validator(max_items = 20))]
    pub facilitator_ids: Vec<StaffId>,
}

/// The coordinator's change to a group; absent fields stay as they are, `null` clears `location` or
/// `online_url`. A new weekday, time or length moves the sessions ahead (their topics are dropped);
/// `active: false` stops the group and removes the sessions ahead.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct NetworkGroupPatch {
    /// The group's name, 1–200 characters.
    #[oai(validator(min_length = 1, max_length = 200))]
    pub name: Option<String>,
    /// The day it meets each week: 1 = Monday … 7 = Sunday.
    #[oai(validator(minimum(value = "1"), maximum(value = "7")))]
    pub weekday: Option<i32>,
    /// When it starts, `HH:MM` (00:00–23:59), wall-clock time in Europe/Copenhagen.
    #[oai(validator(max_length = 5, pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$"))]
    pub starts_at: Option<String>,
    /// How long a session lasts, 15–480 minutes.
    #[oai(validator(minimum(value = "15"), maximum(value = "480")))]
    pub duration_minutes: Option<i32>,
    /// Where it meets, up to 200 characters; `null` clears it.
    #[oai(nullable, validator(max_length = 200))]
    pub location: MaybeUndefined<String>,
    /// An `https://` link, up to 500 characters; `null` clears it.
    #[oai(nullable, validator(max_length = 500))]
    pub online_url: MaybeUndefined<String>,
    /// `false` stops the group (it is kept, with its history); `true` starts it again.
    pub active: Option<bool>,
    /// The staff who run it (the whole list), at most 20.
    #[oai(validator(max_items = 20))]
    pub facilitator_ids: Option<Vec<StaffId>>,
}

/// Whether a member came to a session.
#[derive(Object, Debug)]
pub struct AttendanceMark {
    /// The member.
    pub candidate_id: CandidateId,
    /// Whether they came.
    pub attended: bool,
}

/// One member's attendance, as staff record it.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct AttendanceMarkInput {
    /// The member: a candidate who was in the group during the session.
    pub candidate_id: CandidateId,
    /// Whether they came.
    pub attended: bool,
}

/// The attendance of a session: the whole list, replacing what was recorded before.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct AttendanceInput {
    /// One entry per member, at most 200; each candidate once.
    #[oai(validator(max_items = 200))]
    pub attendance: Vec<AttendanceMarkInput>,
}

/// One weekly meeting of a network group, with the attendance recorded for it.
#[derive(Object, Debug)]
pub struct NetworkGroupSession {
    /// Id.
    pub id: NetworkGroupSessionId,
    /// The group.
    pub network_group_id: NetworkGroupId,
    /// Start (the group's Copenhagen wall-clock time on that day).
    pub starts_at: DateTime<Utc>,
    /// End.
    pub ends_at: DateTime<Utc>,
    /// What the session is about.
    #[oai(nullable)]
    pub topic: Option<String>,
    /// Whether it is called off.
    pub cancelled: bool,
    /// Who came, as recorded (empty until recorded).
    pub attendance: Vec<AttendanceMark>,
    /// Version, for `If-Match`.
    pub version: i32,
}

impl From<SessionView> for NetworkGroupSession {
    fn from(v: SessionView) -> Self {
        let s = v.session;
        Self {
            id: s.id,
            network_group_id: s.group_id,
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            topic: s.topic,
            cancelled: s.cancelled,
            attendance: v
                .attendance
                .into_iter()
                .map(|a| AttendanceMark {
                    candidate_id: a.candidate_id,
                    attended: a.attended,
                })
                .collect(),
            version: s.version,
        }
    }
}

/// A session's change; absent fields stay as they are, `null` clears the topic.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct NetworkGroupSessionPatch {
    /// What the session is about, up to 200 characters (members see it).
    #[oai(nullable, validator(max_length = 200))]
    pub topic: MaybeUndefined<String>,
    /// `true` calls the session off (it leaves the members' calendars); `false` puts it back.
    pub cancelled: Option<bool>,
}

/// The sessions of a window.
#[derive(Object, Debug)]
pub struct NetworkGroupSessions {
    /// The sessions starting in the window, earliest first.
    pub items: Vec<NetworkGroupSession>,
}

/// Staff invite a candidate to a group.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct NetworkGroupInvitation {
    /// The candidate: one the caller reaches (their caseload, or the municipality for a coordinator).
    pub candidate_id: CandidateId,
}

/// A session, as a candidate sees it.
#[derive(Object, Debug)]
pub struct MyNetworkGroupSession {
    /// Id.
    pub id: NetworkGroupSessionId,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End.
    pub ends_at: DateTime<Utc>,
    /// What the session is about, when set.
    #[oai(nullable)]
    pub topic: Option<String>,
}

/// Whether I came to a session.
#[derive(Object, Debug)]
pub struct MyAttendance {
    /// The session.
    pub session_id: NetworkGroupSessionId,
    /// When it started.
    pub starts_at: DateTime<Utc>,
    /// Whether I came, as staff recorded it.
    pub attended: bool,
}

/// A network group, as a candidate sees it.
#[derive(Object, Debug)]
pub struct MyNetworkGroup {
    /// Id.
    pub id: NetworkGroupId,
    /// The group's name.
    pub name: String,
    /// The day it meets each week: 1 = Monday … 7 = Sunday.
    pub weekday: i32,
    /// When it starts, `HH:MM`, Copenhagen time.
    pub starts_at: String,
    /// How long a session lasts, in minutes.
    pub duration_minutes: i32,
    /// Where it meets.
    #[oai(nullable)]
    pub location: Option<String>,
    /// A link for joining online.
    #[oai(nullable)]
    pub online_url: Option<String>,
    /// The next session that is not cancelled and has not ended; `null` when none is planned.
    #[oai(nullable)]
    pub next_session: Option<MyNetworkGroupSession>,
    /// Whether I am in the group.
    pub member: bool,
    /// My attendance in this group as recorded, newest first.
    pub my_attendance: Vec<MyAttendance>,
}

impl From<MyGroup> for MyNetworkGroup {
    fn from(v: MyGroup) -> Self {
        let g = v.group;
        Self {
            id: g.id,
            name: g.name,
            weekday: g.weekday,
            starts_at: g.starts_at,
            duration_minutes: g.duration_minutes,
            location: g.location,
            online_url: g.online_url,
            next_session: v.next_session.map(|s| MyNetworkGroupSession {
                id: s.id,
                starts_at: s.starts_at,
                ends_at: s.ends_at,
                topic: s.topic,
            }),
            member: v.member,
            my_attendance: v
                .my_attendance
                .into_iter()
                .map(|(s, attended)| MyAttendance {
                    session_id: s.id,
                    starts_at: s.starts_at,
                    attended,
                })
                .collect(),
        }
    }
}

/// The network groups of my municipality.
#[derive(Object, Debug)]
pub struct MyNetworkGroups {
    /// The active groups, by weekday and time.
    pub items: Vec<MyNetworkGroup>,
}

/// A topic I suggest for my group.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct TopicSuggestionInput {
    /// The topic, in my own words, 1–500 characters.
    #[oai(validator(min_length = 1, max_length = 500))]
    pub text: String,
}

/// A topic I suggested.
#[derive(Object, Debug)]
pub struct MyTopicSuggestion {
    /// Id.
    pub id: Uuid,
    /// The group.
    pub network_group_id: NetworkGroupId,
    /// The topic.
    pub text: String,
    /// When I suggested it.
    pub created_at: DateTime<Utc>,
}

/// The list of network groups.
#[derive(Object, Debug)]
pub struct NetworkGroupList {
    /// The municipality's groups (at most 200), by weekday and time.
    pub items: Vec<NetworkGroupSummary>,
}

versioned_response!(NetworkGroupResponse, NetworkGroup, "network group");
versioned_response!(
    NetworkGroupSessionResponse,
    NetworkGroupSession,
    "network group session"
);

/// The answer to an invitation.
#[derive(ApiResponse, Debug)]
pub enum InvitationResponse {
    /// The candidate got a notification inviting them; they join themselves.
    #[oai(status = 204)]
    Invited,
}

/// The answer to a topic suggestion.
#[derive(ApiResponse, Debug)]
pub enum SuggestionResponse {
    /// The suggestion was passed on to the group's staff.
    #[oai(status = 201)]
    Created(Json<MyTopicSuggestion>),
}

fn group_response(d: GroupDetail, created: bool) -> NetworkGroupResponse {
    let g: NetworkGroup = d.into();
    let tag = etag(g.version);
    if created {
        let path = format!("/api/v1/network-groups/{}", g.id);
        NetworkGroupResponse::Created(Json(g), tag, path)
    } else {
        NetworkGroupResponse::Ok(Json(g), tag)
    }
}

fn session_response(v: SessionView) -> NetworkGroupSessionResponse {
    let s: NetworkGroupSession = v.into();
    let tag = etag(s.version);
    NetworkGroupSessionResponse::Ok(Json(s), tag)
}

pub struct NetworkGroupsApi;

#[OpenApi(tag = "Tag::NetworkGroups")]
impl NetworkGroupsApi {
    /// List the network groups
    ///
    /// The municipality's groups, active and stopped, by weekday and time. Consultants and
    /// coordinators of the municipality; other roles 403.
    #[oai(
        path = "/network-groups",
        method = "get",
        operation_id = "listNetworkGroups"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> ApiResult<Json<NetworkGroupList>> {
        let scope = auth.0.staff()?;
        let items = groups::list(&state.db, scope).await?;
        Ok(Json(NetworkGroupList {
            items: items.into_iter().map(Into::into).collect(),
        }))
    }

    /// Set up a network group
    ///
    /// The coordinator sets up a weekly group: weekday, Copenhagen start time, length, place and the
    /// staff who run it. Its sessions for the next eight weeks are made at once, and more as time
    /// passes. Candidates see it at `GET /me/network-groups` and join themselves. At most 200 groups
    /// per municipality (409).
    #[oai(
        path = "/network-groups",
        method = "post",
        operation_id = "createNetworkGroup"
    )]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Body<NetworkGroupCreate>,
    ) -> ApiResult<NetworkGroupResponse> {
        let scope = auth.0.coordinator()?;
        let b = body.0;
        let new = NewGroup {
            name: b.name,
            weekday: b.weekday,
            starts_at: b.starts_at,
            duration_minutes: b.duration_minutes,
            location: b.location,
            online_url: b.online_url,
            facilitator_ids: b.facilitator_ids,
        };
        let v = groups::create(&state.db, auth.0.actor(), scope, new).await?;
        let d = groups::get(&state.db, scope, v.group.id).await?;
        Ok(group_response(d, true))
    }

    /// Get a network group
    ///
    /// The group with its members and the newest topic suggestions. Consultants and coordinators of
    /// the municipality. `ETag` for later changes.
    #[oai(
        path = "/network-groups/:id",
        method = "get",
        operation_id = "getNetworkGroup"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<NetworkGroupId>,
    ) -> ApiResult<NetworkGroupResponse> {
        let scope = auth.0.staff()?;
        Ok(group_response(
            groups::get(&state.db, scope, id.0).await?,
            false,
        ))
    }

    /// Change a network group
    ///
    /// The coordinator renames, moves, stops (`active: false`) or restarts a group, or changes who runs
    /// it. A new weekday, time or length makes the sessions ahead again from the new schedule (their
    /// topics are dropped); stopping removes them. Send `If-Match`: a stale version is 412.
    #[oai(
        path = "/network-groups/:id",
        method = "patch",
        operation_id = "updateNetworkGroup"
    )]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<NetworkGroupId>,
        /// The ETag you read; a stale one is refused with 412.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<IfMatch>>,
        body: Body<NetworkGroupPatch>,
    ) -> ApiResult<NetworkGroupResponse> {
        let scope = auth.0.coordinator()?;
        let b = body.0;
        let change = GroupChange {
            name: b.name,
            weekday: b.weekday,
            starts_at: b.starts_at,
            duration_minutes: b.duration_minutes,
            location: Option::from(b.location),
            online_url: Option::from(b.online_url),
            active: b.active,
            facilitator_ids: b.facilitator_ids,
        };
        let d = groups::update(
            &state.db,
            auth.0.actor(),
            scope,
            id.0,
            expected(if_match_header.0),
            change,
        )
        .await?;
        Ok(group_response(d, false))
    }

    /// List a network group's sessions
    ///
    /// The sessions starting on the days `from` to `to` (Copenhagen days, both included; at most 400
    /// days), earliest first, with the attendance recorded. One session a week, made as time passes
    /// (eight weeks ahead). Consultants and coordinators of the municipality.
    #[oai(
        path = "/network-groups/:id/sessions",
        method = "get",
        operation_id = "listNetworkGroupSessions"
    )]
    async fn sessions(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<NetworkGroupId>,
        /// The first day (`YYYY-MM-DD`, included).
        from: Query<NaiveDate>,
        /// The last day (`YYYY-MM-DD`, included; not before `from`, at most 400 days after it).
        to: Query<NaiveDate>,
    ) -> ApiResult<Json<NetworkGroupSessions>> {
        let scope = auth.0.staff()?;
        let items = groups::sessions(&state.db, scope, id.0, from.0, to.0).await?;
        Ok(Json(NetworkGroupSessions {
            items: items.into_iter().map(Into::into).collect(),
        }))
    }

    /// Set a session's topic, or call it off
    ///
    /// The group's facilitators and the coordinator (another consultant: 403). A cancelled session
    /// leaves the members' calendars and plans. Send `If-Match`: a stale version is 412.
    #[oai(
        path = "/network-groups/:id/sessions/:session_id",
        method = "patch",
        operation_id = "updateNetworkGroupSession"
    )]
    async fn update_session(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<NetworkGroupId>,
        session_id: Path<NetworkGroupSessionId>,
        /// The ETag you read; a stale one is refused with 412.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<IfMatch>>,
        body: Body<NetworkGroupSessionPatch>,
    ) -> ApiResult<NetworkGroupSessionResponse> {
        let scope = auth.0.staff()?;
        let change = SessionChange {
            topic: Option::from(body.0.topic),
            cancelled: body.0.cancelled,
        };
        let v = groups::update_session(
            &state.db,
            auth.0.actor(),
            scope,
            id.0,
            session_id.0,
            expected(if_match_header.0),
            change,
        )
        .await?;
        Ok(session_response(v))
    }

    /// Record who came to a session
    ///
    /// The group's facilitators and the coordinator (another consultant: 403) record, once the session
    /// has started (409 before, and for a cancelled session), whether each member came. The list
    /// replaces what was recorded before. A candidate who was not in the group during the session is
    /// 400 naming `attendance[i].candidate_id`, and nothing is changed. Writes the event
    /// `network_group.attendance_recorded` (ids only).
    #[oai(
        path = "/network-groups/:id/sessions/:session_id/attendance",
        method = "put",
        operation_id = "putNetworkGroupSessionAttendance"
    )]
    async fn attendance(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<NetworkGroupId>,
        session_id: Path<NetworkGroupSessionId>,
        body: Body<AttendanceInput>,
    ) -> ApiResult<NetworkGroupSessionResponse> {
        let scope = auth.0.staff()?;
        let list = body
            .0
            .attendance
            .into_iter()
            .map(|a| (a.candidate_id, a.attended))
            .collect();
        let v =
            groups::record_attendance(&state.db, auth.0.actor(), scope, id.0, session_id.0, list)
                .await?;
        Ok(session_response(v))
    }

    /// Invite a candidate to a network group
    ///
    /// Staff send the candidate a notification (`network_group_invitation`) about an active group;
    /// joining stays the candidate's own choice. The candidate must be one the caller reaches (404
    /// otherwise); a stopped group is 409.
    #[oai(
        path = "/network-groups/:id/invitations",
        method = "post",
        operation_id = "inviteToNetworkGroup"
    )]
    async fn invite(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<NetworkGroupId>,
        body: Body<NetworkGroupInvitation>,
    ) -> ApiResult<InvitationResponse> {
        let reach = auth.0.staff_reach()?;
        let Reach::Scoped(_, scope) = reach else {
            return Err(crate::error::ApiError::forbidden());
        };
        groups::invite(&state.db, &reach, scope, id.0, body.0.candidate_id).await?;
        Ok(InvitationResponse::Invited)
    }

    /// List the network groups I can join
    ///
    /// My municipality's active groups, by weekday and time: each with its next session, whether I am
    /// in it, and my own attendance. Candidates only.
    #[oai(
        path = "/me/network-groups",
        method = "get",
        operation_id = "listMyNetworkGroups"
    )]
    async fn mine(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> ApiResult<Json<MyNetworkGroups>> {
        let me = auth.0.candidate_self()?;
        let items = groups::mine(&state.db, me).await?;
        Ok(Json(MyNetworkGroups {
            items: items.into_iter().map(Into::into).collect(),
        }))
    }

    /// Join a network group
    ///
    /// I join a group of my municipality; its sessions appear on my plan and in my calendar feed.
    /// Joining a group I am in changes nothing (200 again). A stopped group is 409. Writes the event
    /// `network_group.joined`.
    #[oai(
        path = "/me/network-groups/:id/join",
        method = "post",
        operation_id = "joinMyNetworkGroup"
    )]
    async fn join(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<NetworkGroupId>,
    ) -> ApiResult<Json<MyNetworkGroup>> {
        let me = auth.0.candidate_self()?;
        Ok(Json(groups::join(&state.db, me, id.0).await?.into()))
    }

    /// Leave a network group
    ///
    /// I leave a group; I can join again later. Leaving a group I am not in changes nothing (200
    /// again). Writes the event `network_group.left`.
    #[oai(
        path = "/me/network-groups/:id/leave",
        method = "post",
        operation_id = "leaveMyNetworkGroup"
    )]
    async fn leave(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<NetworkGroupId>,
    ) -> ApiResult<Json<MyNetworkGroup>> {
        let me = auth.0.candidate_self()?;
        Ok(Json(groups::leave(&state.db, me, id.0).await?.into()))
    }

    /// Suggest a topic for my network group
    ///
    /// Topics come from the participants: a member suggests one, in their own words, and the group's
    /// staff see it (not who wrote it). Only members (409 otherwise).
    #[oai(
        path = "/me/network-groups/:id/topic-suggestions",
        method = "post",
        operation_id = "suggestMyNetworkGroupTopic"
    )]
    async fn suggest(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<NetworkGroupId>,
        body: Body<TopicSuggestionInput>,
    ) -> ApiResult<SuggestionResponse> {
        let me = auth.0.candidate_self()?;
        let s = groups::suggest(&state.db, me, id.0, body.0.text).await?;
        Ok(SuggestionResponse::Created(Json(MyTopicSuggestion {
            id: s.id,
            network_group_id: s.group_id,
            text: s.text,
            created_at: s.created_at,
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_pattern_is_the_parser() {
        let re = regex::Regex::new(TIME_PATTERN).unwrap();
        for h in 0..24 {
            for m in [0, 7, 30, 59] {
                let t = format!("{h:02}:{m:02}");
                assert!(re.is_match(&t) && groups::parse_time(&t).is_some(), "{t}");
            }
        }
        for bad in ["24:00", "9:00", "12:60", "x", ""] {
            assert!(
                !re.is_match(bad) && groups::parse_time(bad).is_none(),
                "{bad}"
            );
        }
    }
}

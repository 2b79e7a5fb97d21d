//! Network groups (netværksgrupper, SPEC §4.12): weekly groups of young people in the programme, run by
//! IPS consultants of one municipality.
//!
//! The coordinator sets a group up (name, weekday, Copenhagen wall-clock time, length, place,
//! facilitators). The sessions are made as time passes: the jobs tick keeps eight weeks of sessions
//! ahead for every active group, inserting with `ON CONFLICT DO NOTHING` on `(group_id, starts_at)`,
//! so several instances never make the same session twice. Joining is always the candidate's own
//! choice: staff may invite (a notification), never enrol. Facilitators and the coordinator record
//! who came. Events carry ids only; topics and suggestions (free text) never leave the API except to
//! staff of the municipality and the group's members.
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::Copenhagen;
use entity::{
    ids::{CandidateId, MunicipalityId, NetworkGroupId, NetworkGroupSessionId, StaffId},
    network_group as group, network_group_attendance as attendance,
    network_group_facilitator as facilitator, network_group_member as member,
    network_group_session as session, network_group_topic_suggestion as suggestion,
    scoped::CandidateOwned,
    staff,
    types::{AuditAction, AuditResource, EventType, NotificationKind, Role},
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, ExprTrait,
    FromQueryResult, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    Statement,
};
use serde_json::json;
use uuid::Uuid;

use super::{
    DomainError, DomainResult,
    access::{Actor, CandidateScope, CandidateSelf, Reach},
    journal::{self, Subject},
    notifications, today,
};
use crate::db::Db;

/// Sessions are kept this many weeks ahead.
pub const WEEKS_AHEAD: i64 = 8;
/// At most this many facilitators per group.
pub const MAX_FACILITATORS: usize = 20;
/// At most this many days in one `GET …/sessions` window.
pub const MAX_WINDOW_DAYS: i64 = 400;
/// At most this many of the newest topic suggestions are shown on a group.
pub const SHOWN_SUGGESTIONS: u64 = 50;
/// At most this many groups per municipality.
pub const MAX_GROUPS: u64 = 200;

/// "HH:MM" (00:00–23:59) as a time of day.
pub fn parse_time(text: &str) -> Option<NaiveTime> {
    let b = text.as_bytes();
    if b.len() != 5 || b[2] != b':' {
        return None;
    }
    let (h, m) = (text.get(0..2)?, text.get(3..5)?);
    if !h.bytes().chain(m.bytes()).all(|c| c.is_ascii_digit()) {
        return None;
    }
    NaiveTime::from_hms_opt(h.parse().ok()?, m.parse().ok()?, 0)
}

/// The instant of a Copenhagen wall-clock time on a day. On the day summer time starts, a time in the
/// skipped hour (02:00–02:59) is read as the same time an hour later, which is what a clock on the
/// wall shows then; on the day it ends, a time that happens twice is the first one.
pub fn instant(date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let local = date.and_time(time);
    match Copenhagen.from_local_datetime(&local) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
        LocalResult::None => Copenhagen
            .from_local_datetime(&(local + Duration::hours(1)))
            .earliest()
            .map_or_else(|| local.and_utc(), |t| t.with_timezone(&Utc)),
    }
}

/// The start and end of every session of a group meeting on `weekday` (1 = Monday … 7 = Sunday) at
/// `time` for `minutes`, on the days `from` to `to` (both included).
pub fn schedule(
    weekday: i32,
    time: NaiveTime,
    minutes: i32,
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut out = Vec::new();
    let mut day = from;
    while day <= to {
        if day.weekday().number_from_monday() as i32 == weekday {
            let start = instant(day, time);
            out.push((start, start + Duration::minutes(i64::from(minutes))));
        }
        match day.succ_opt() {
            Some(next) => day = next,
            None => break,
        }
    }
    out
}

/// A group as it is set up, with its facilitators.
#[derive(Clone, Debug)]
pub struct GroupView {
    pub group: group::Model,
    pub facilitator_ids: Vec<StaffId>,
}

/// What staff of the municipality see of a group besides its settings.
#[derive(Clone, Debug)]
pub struct GroupDetail {
    pub view: GroupView,
    /// The running memberships.
    pub members: Vec<member::Model>,
    /// The newest topic suggestions (at most `SHOWN_SUGGESTIONS`), newest first.
    pub suggestions: Vec<suggestion::Model>,
}

/// A new group, as the coordinator writes it.
pub struct NewGroup {
    pub name: String,
    pub weekday: i32,
    pub starts_at: String,
    pub duration_minutes: i32,
    pub location: Option<String>,
    pub online_url: Option<String>,
    pub facilitator_ids: Vec<StaffId>,
}

/// The coordinator's change; absent fields stay as they are, `Some(None)` clears one.
#[derive(Default)]
pub struct GroupChange {
    pub name: Option<String>,
    pub weekday: Option<i32>,
    pub starts_at: Option<String>,
    pub duration_minutes: Option<i32>,
    pub location: Option<Option<String>>,
    pub online_url: Option<Option<String>>,
    pub active: Option<bool>,
    pub facilitator_ids: Option<Vec<StaffId>>,
}

/// A change to one session; absent fields stay as they are, `Some(None)` clears the topic.
#[derive(Default)]
pub struct SessionChange {
    pub topic: Option<Option<String>>,
    pub cancelled: Option<bool>,
}

/// A session with the attendance recorded for it.
#[derive(Clone, Debug)]
pub struct SessionView {
    pub session: session::Model,
    pub attendance: Vec<attendance::Model>,
}

/// A group as a candidate sees it.
#[derive(Clone, Debug)]
pub struct MyGroup {
    pub group: group::Model,
    pub next_session: Option<session::Model>,
    pub member: bool,
    /// My attendance records in this group, newest session first.
    pub my_attendance: Vec<(session::Model, bool)>,
}

/// A session of a group I am in, for my plan and my calendar feed.
#[derive(Clone, Debug, FromQueryResult)]
pub struct MySession {
    pub id: NetworkGroupSessionId,
    pub group_id: NetworkGroupId,
    pub name: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub location: Option<String>,
    pub online_url: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn clean(text: String) -> String {
    text.trim().to_string()
}

fn clean_opt(text: Option<String>) -> Option<String> {
    text.map(clean).filter(|t| !t.is_empty())
}

fn check_name(name: &str) -> DomainResult<()> {
    if name.is_empty() {
        return Err(DomainError::field(
            "name",
            "min_length",
            "must not be empty",
        ));
    }
    Ok(())
}

fn check_time(text: &str) -> DomainResult<NaiveTime> {
    parse_time(text).ok_or_else(|| {
        DomainError::field(
            "starts_at",
            "invalid_format",
            "must be a time of day as HH:MM, 00:00–23:59",
        )
    })
}

/// The facilitators must be active consultants or coordinators of the municipality.
async fn check_facilitators<C: ConnectionTrait>(
    db: &C,
    municipality_id: MunicipalityId,
    ids: &[StaffId],
) -> DomainResult<Vec<StaffId>> {
    let wanted: BTreeSet<StaffId> = ids.iter().copied().collect();
    if wanted.len() > MAX_FACILITATORS {
        return Err(DomainError::field(
            "facilitator_ids",
            "max_items",
            format!("a group has at most {MAX_FACILITATORS} facilitators"),
        ));
    }
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let found: BTreeSet<StaffId> = staff::Entity::find()
        .filter(staff::Column::Id.is_in(wanted.iter().copied()))
        .filter(staff::Column::MunicipalityId.eq(municipality_id))
        .filter(staff::Column::Active.eq(true))
        .filter(staff::Column::Role.is_in([Role::Consultant, Role::Coordinator]))
        .all(db)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    if let Some(missing) = wanted.difference(&found).next() {
        return Err(DomainError::field(
            "facilitator_ids",
            "invalid_value",
            format!("{missing} is not an active consultant or coordinator of this municipality"),
        ));
    }
    Ok(wanted.into_iter().collect())
}

async fn facilitators_of<C: ConnectionTrait>(
    db: &C,
    group_id: NetworkGroupId,
) -> DomainResult<Vec<StaffId>> {
    Ok(facilitator::Entity::find()
        .filter(facilitator::Column::GroupId.eq(group_id))
        .order_by_asc(facilitator::Column::StaffId)
        .all(db)
        .await?
        .into_iter()
        .map(|f| f.staff_id)
        .collect())
}

async fn set_facilitators<C: ConnectionTrait>(
    txn: &C,
    group_id: NetworkGroupId,
    ids: &[StaffId],
) -> DomainResult<()> {
    facilitator::Entity::delete_many()
        .filter(facilitator::Column::GroupId.eq(group_id))
        .exec(txn)
        .await?;
    if !ids.is_empty() {
        facilitator::Entity::insert_many(ids.iter().map(|&staff_id| facilitator::ActiveModel {
            group_id: Set(group_id),
            staff_id: Set(staff_id),
        }))
        .exec_without_returning(txn)
        .await?;
    }
    Ok(())
}

/// The group, when it is of this municipality; `NotFound` otherwise.
async fn find_group<C: ConnectionTrait>(
    db: &C,
    municipality_id: MunicipalityId,
    id: NetworkGroupId,
) -> DomainResult<group::Model> {
    group::Entity::find_by_id(id)
        .filter(group::Column::MunicipalityId.eq(municipality_id))
        .one(db)
        .await?
        .ok_or(DomainError::NotFound)
}

async fn find_session<C: ConnectionTrait>(
    db: &C,
    g: &group::Model,
    id: NetworkGroupSessionId,
) -> DomainResult<session::Model> {
    session::Entity::find_by_id(id)
        .filter(session::Column::GroupId.eq(g.id))
        .one(db)
        .await?
        .ok_or(DomainError::NotFound)
}

/// Staff of the municipality who may change this group's sessions: its facilitators and the
/// coordinator.
async fn may_run<C: ConnectionTrait>(db: &C, actor: Actor, g: &group::Model) -> DomainResult<()> {
    if actor.role == Role::Coordinator {
        return Ok(());
    }
    let facilitates = facilitator::Entity::find()
        .filter(facilitator::Column::GroupId.eq(g.id))
        .filter(facilitator::Column::StaffId.eq(StaffId(actor.id)))
        .one(db)
        .await?
        .is_some();
    if facilitates {
        Ok(())
    } else {
        Err(DomainError::Forbidden)
    }
}

fn municipal(g: &group::Model) -> Subject {
    Subject::municipal(g.municipality_id, AuditResource::NetworkGroup, Some(g.id.0))
}

/// Makes the sessions of `g` from now to `WEEKS_AHEAD` weeks ahead that do not exist yet.
async fn make_sessions<C: ConnectionTrait>(
    db: &C,
    g: &group::Model,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    if !g.active {
        return Ok(());
    }
    let Some(time) = parse_time(&g.starts_at) else {
        return Err(DomainError::Internal(format!(
            "network group {} has the time `{}`",
            g.id, g.starts_at
        )));
    };
    let from = today();
    let to = from + Duration::weeks(WEEKS_AHEAD) - Duration::days(1);
    let rows: Vec<session::ActiveModel> = schedule(g.weekday, time, g.duration_minutes, from, to)
        .into_iter()
        .filter(|(start, _)| *start > now)
        .map(|(start, end)| session::ActiveModel {
            id: Set(NetworkGroupSessionId::generate()),
            group_id: Set(g.id),
            municipality_id: Set(g.municipality_id),
            starts_at: Set(start),
            ends_at: Set(end),
            topic: Set(None),
            cancelled: Set(false),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    session::Entity::insert_many(rows)
        .on_conflict_do_nothing_on([session::Column::GroupId, session::Column::StartsAt])
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The sessions job: eight weeks of sessions ahead for every active group. Safe on several instances
/// at once: a session that another instance made first is left as it is.
pub async fn tick(db: &Db) -> DomainResult<()> {
    let now = Utc::now();
    let groups = group::Entity::find()
        .filter(group::Column::Active.eq(true))
        .order_by_asc(group::Column::Id)
        .all(db.read())
        .await?;
    for g in groups {
        make_sessions(db.write(), &g, now).await?;
    }
    Ok(())
}

/// The groups of the caller's municipality, by weekday and time (staff of the municipality).
pub async fn list(db: &Db, scope: CandidateScope) -> DomainResult<Vec<GroupView>> {
    let groups = group::Entity::find()
        .filter(group::Column::MunicipalityId.eq(scope.municipality_id()))
        .order_by_asc(group::Column::Weekday)
        .order_by_asc(group::Column::StartsAt)
        .order_by_asc(group::Column::Id)
        .limit(MAX_GROUPS)
        .all(db.read())
        .await?;
    let ids: Vec<NetworkGroupId> = groups.iter().map(|g| g.id).collect();
    let mut facilitators: BTreeMap<NetworkGroupId, Vec<StaffId>> = BTreeMap::new();
    for f in facilitator::Entity::find()
        .filter(facilitator::Column::GroupId.is_in(ids))
        .order_by_asc(facilitator::Column::StaffId)
        .all(db.read())
        .await?
    {
        facilitators.entry(f.group_id).or_default().push(f.staff_id);
    }
    Ok(groups
        .into_iter()
        .map(|g| GroupView {
            facilitator_ids: facilitators.remove(&g.id).unwrap_or_default(),
            group: g,
        })
        .collect())
}

/// The coordinator sets up a group; its sessions for the next eight weeks are made at once.
pub async fn create(
    db: &Db,
    actor: Actor,
    scope: CandidateScope,
    new: NewGroup,
) -> DomainResult<GroupView> {
    let municipality_id = scope.municipality_id();
    let name = clean(new.name);
    check_name(&name)?;
    check_time(&new.starts_at)?;
    let online_url = super::appointments::check_online_url(new.online_url)?;
    let txn = db.begin().await?;
    let count = group::Entity::find()
        .filter(group::Column::MunicipalityId.eq(municipality_id))
        .count(&txn)
        .await?;
    if count >= MAX_GROUPS {
        return Err(DomainError::Conflict(format!(
            "A municipality has at most {MAX_GROUPS} network groups; stop one that no longer meets."
        )));
    }
    let facilitator_ids = check_facilitators(&txn, municipality_id, &new.facilitator_ids).await?;
    let now = Utc::now();
    let g = group::ActiveModel {
        id: Set(NetworkGroupId::generate()),
        municipality_id: Set(municipality_id),
        name: Set(name),
        weekday: Set(new.weekday),
        starts_at: Set(new.starts_at),
        duration_minutes: Set(new.duration_minutes),
        location: Set(clean_opt(new.location)),
        online_url: Set(online_url),
        active: Set(true),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    set_facilitators(&txn, g.id, &facilitator_ids).await?;
    make_sessions(&txn, &g, now).await?;
    journal::record(&txn, actor, &municipal(&g), None, AuditAction::Create).await?;
    txn.commit().await?;
    Ok(GroupView {
        group: g,
        facilitator_ids,
    })
}

/// A group with its members and the newest topic suggestions (staff of the municipality).
pub async fn get(db: &Db, scope: CandidateScope, id: NetworkGroupId) -> DomainResult<GroupDetail> {
    let g = find_group(db.read(), scope.municipality_id(), id).await?;
    let facilitator_ids = facilitators_of(db.read(), g.id).await?;
    let members = member::Entity::find()
        .filter(member::Column::GroupId.eq(g.id))
        .filter(member::Column::LeftAt.is_null())
        .order_by_asc(member::Column::JoinedAt)
        .all(db.read())
        .await?;
    let suggestions = suggestion::Entity::find()
        .filter(suggestion::Column::GroupId.eq(g.id))
        .order_by_desc(suggestion::Column::Id)
        .limit(SHOWN_SUGGESTIONS)
        .all(db.read())
        .await?;
    Ok(GroupDetail {
        view: GroupView {
            group: g,
            facilitator_ids,
        },
        members,
        suggestions,
    })
}

/// The coordinator changes a group. A new weekday, time or length moves the sessions still ahead
/// (they are made again from the new schedule; their topics are dropped); stopping a group
/// (`active: false`) removes the sessions ahead.
pub async fn update(
    db: &Db,
    actor: Actor,
    scope: CandidateScope,
    id: NetworkGroupId,
    expected: Option<i32>,
    ch: GroupChange,
) -> DomainResult<GroupDetail> {
    let municipality_id = scope.municipality_id();
    let name = ch.name.map(clean);
    if let Some(n) = &name {
        check_name(n)?;
    }
    if let Some(t) = &ch.starts_at {
        check_time(t)?;
    }
    let online_url = match ch.online_url {
        Some(url) => Some(super::appointments::check_online_url(url)?),
        None => None,
    };
    let txn = db.begin().await?;
    let g = find_group(&txn, municipality_id, id).await?;
    if expected.is_some_and(|v| v != g.version) {
        return Err(DomainError::Stale);
    }
    let facilitator_ids = match &ch.facilitator_ids {
        Some(ids) => Some(check_facilitators(&txn, municipality_id, ids).await?),
        None => None,
    };
    let mut am = g.clone().into_active_model();
    let mut changed = false;
    macro_rules! change {
        ($field:ident, $value:expr) => {
            if let Some(v) = $value
                && v != g.$field
            {
                am.$field = Set(v);
                changed = true;
            }
        };
    }
    change!(name, name);
    change!(weekday, ch.weekday);
    change!(starts_at, ch.starts_at.clone());
    change!(duration_minutes, ch.duration_minutes);
    change!(location, ch.location.map(clean_opt));
    change!(online_url, online_url);
    change!(active, ch.active);
    let old_facilitators = facilitators_of(&txn, g.id).await?;
    let facilitators_changed = facilitator_ids
        .as_ref()
        .is_some_and(|ids| *ids != old_facilitators);
    if !changed && !facilitators_changed {
        txn.commit().await?;
        return get(db, scope, id).await;
    }
    let updated =
        journal::versioned_update::<group::Entity, _>(&txn, g.id, g.version, expected, am).await?;
    if let Some(ids) = facilitator_ids.filter(|_| facilitators_changed) {
        set_facilitators(&txn, g.id, &ids).await?;
    }
    // A new schedule, a stop or a restart: the sessions ahead are made again (none while stopped).
    let moved = updated.weekday != g.weekday
        || updated.starts_at != g.starts_at
        || updated.duration_minutes != g.duration_minutes
        || updated.active != g.active;
    if moved {
        let now = Utc::now();
        session::Entity::delete_many()
            .filter(session::Column::GroupId.eq(g.id))
            .filter(session::Column::StartsAt.gt(now))
            .exec(&txn)
            .await?;
        make_sessions(&txn, &updated, now).await?;
    }
    journal::record(&txn, actor, &municipal(&updated), None, AuditAction::Update).await?;
    txn.commit().await?;
    get(db, scope, id).await
}

/// Checks a sessions window: `to` not before `from`, at most `MAX_WINDOW_DAYS` days.
pub fn check_window(from: NaiveDate, to: NaiveDate) -> DomainResult<()> {
    let earliest = super::reports::EARLIEST;
    let latest = super::reports::LATEST;
    for (name, date) in [("from", from), ("to", to)] {
        if !(earliest..=latest).contains(&date) {
            return Err(DomainError::field(
                name,
                "invalid_value",
                format!("must be a date from {earliest} to {latest}"),
            ));
        }
    }
    if to < from {
        return Err(DomainError::field(
            "to",
            "invalid_value",
            format!("must not be before `from` ({from})"),
        ));
    }
    if (to - from).num_days() + 1 > MAX_WINDOW_DAYS {
        return Err(DomainError::field(
            "to",
            "invalid_value",
            format!("the window may be at most {MAX_WINDOW_DAYS} days"),
        ));
    }
    Ok(())
}

/// The first instant of a Copenhagen day.
fn start_of(day: NaiveDate) -> DateTime<Utc> {
    instant(day, NaiveTime::MIN)
}

/// A group's sessions starting on the Copenhagen days `from` to `to`, with their attendance.
pub async fn sessions(
    db: &Db,
    scope: CandidateScope,
    id: NetworkGroupId,
    from: NaiveDate,
    to: NaiveDate,
) -> DomainResult<Vec<SessionView>> {
    check_window(from, to)?;
    let g = find_group(db.read(), scope.municipality_id(), id).await?;
    let end = start_of(to.succ_opt().unwrap_or(to));
    let rows = session::Entity::find()
        .filter(session::Column::GroupId.eq(g.id))
        .filter(session::Column::StartsAt.gte(start_of(from)))
        .filter(session::Column::StartsAt.lt(end))
        .order_by_asc(session::Column::StartsAt)
        .all(db.read())
        .await?;
    let ids: Vec<NetworkGroupSessionId> = rows.iter().map(|s| s.id).collect();
    let mut marks: BTreeMap<NetworkGroupSessionId, Vec<attendance::Model>> = BTreeMap::new();
    for a in attendance::Entity::find()
        .filter(attendance::Column::SessionId.is_in(ids))
        .order_by_asc(attendance::Column::CandidateId)
        .all(db.read())
        .await?
    {
        marks.entry(a.session_id).or_default().push(a);
    }
    Ok(rows
        .into_iter()
        .map(|s| SessionView {
            attendance: marks.remove(&s.id).unwrap_or_default(),
            session: s,
        })
        .collect())
}

async fn session_view<C: ConnectionTrait>(db: &C, s: session::Model) -> DomainResult<SessionView> {
    let attendance = attendance::Entity::find()
        .filter(attendance::Column::SessionId.eq(s.id))
        .order_by_asc(attendance::Column::CandidateId)
        .all(db)
        .await?;
    Ok(SessionView {
        session: s,
        attendance,
    })
}

/// A facilitator or the coordinator sets a session's topic or calls it off (or on again).
pub async fn update_session(
    db: &Db,
    actor: Actor,
    scope: CandidateScope,
    id: NetworkGroupId,
    session_id: NetworkGroupSessionId,
    expected: Option<i32>,
    ch: SessionChange,
) -> DomainResult<SessionView> {
    let txn = db.begin().await?;
    let g = find_group(&txn, scope.municipality_id(), id).await?;
    let s = find_session(&txn, &g, session_id).await?;
    may_run(&txn, actor, &g).await?;
    if expected.is_some_and(|v| v != s.version) {
        return Err(DomainError::Stale);
    }
    let mut am = s.clone().into_active_model();
    let mut changed = false;
    if let Some(topic) = ch.topic.map(clean_opt)
        && topic != s.topic
    {
        am.topic = Set(topic);
        changed = true;
    }
    if let Some(c) = ch.cancelled
        && c != s.cancelled
    {
        am.cancelled = Set(c);
        changed = true;
    }
    if !changed {
        let v = session_view(&txn, s).await?;
        txn.commit().await?;
        return Ok(v);
    }
    let updated =
        journal::versioned_update::<session::Entity, _>(&txn, s.id, s.version, expected, am)
            .await?;
    journal::record(&txn, actor, &municipal(&g), None, AuditAction::Update).await?;
    let v = session_view(&txn, updated).await?;
    txn.commit().await?;
    Ok(v)
}

/// Whether the candidate was a member of the group at some point during the session.
async fn members_during<C: ConnectionTrait>(
    db: &C,
    s: &session::Model,
    candidates: Vec<CandidateId>,
) -> DomainResult<BTreeSet<CandidateId>> {
    Ok(member::Entity::find()
        .filter(member::Column::GroupId.eq(s.group_id))
        .filter(member::Column::CandidateId.is_in(candidates))
        .filter(member::Column::JoinedAt.lte(s.ends_at))
        .filter(
            member::Column::LeftAt
                .is_null()
                .or(member::Column::LeftAt.gte(s.starts_at)),
        )
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.candidate_id)
        .collect())
}

/// A facilitator or the coordinator records who came to a session that has started: the list
/// replaces what was recorded before. Every candidate must have been a member during the session
/// (400 naming `attendance[i].candidate_id`, and nothing is changed).
pub async fn record_attendance(
    db: &Db,
    actor: Actor,
    scope: CandidateScope,
    id: NetworkGroupId,
    session_id: NetworkGroupSessionId,
    list: Vec<(CandidateId, bool)>,
) -> DomainResult<SessionView> {
    let mut seen = BTreeSet::new();
    for (i, (c, _)) in list.iter().enumerate() {
        if !seen.insert(*c) {
            return Err(DomainError::field(
                &format!("attendance[{i}].candidate_id"),
                "duplicate",
                "each candidate may appear once",
            ));
        }
    }
    let now = Utc::now();
    let txn = db.begin().await?;
    let g = find_group(&txn, scope.municipality_id(), id).await?;
    let s = find_session(&txn, &g, session_id).await?;
    may_run(&txn, actor, &g).await?;
    if s.starts_at > now {
        return Err(DomainError::Conflict(
            "Attendance can be recorded once the session has started.".into(),
        ));
    }
    if s.cancelled {
        return Err(DomainError::Conflict(
            "This session was cancelled; there is no attendance to record.".into(),
        ));
    }
    let members = members_during(&txn, &s, list.iter().map(|(c, _)| *c).collect()).await?;
    if let Some(i) = list.iter().position(|(c, _)| !members.contains(c)) {
        return Err(DomainError::field(
            &format!("attendance[{i}].candidate_id"),
            "not_a_member",
            "was not a member of the group during this session",
        ));
    }
    attendance::Entity::delete_many()
        .filter(attendance::Column::SessionId.eq(s.id))
        .exec(&txn)
        .await?;
    if !list.is_empty() {
        attendance::Entity::insert_many(list.iter().map(|&(candidate_id, attended)| {
            attendance::ActiveModel {
                session_id: Set(s.id),
                candidate_id: Set(candidate_id),
                group_id: Set(g.id),
                attended: Set(attended),
                recorded_by: Set(actor.id),
                recorded_at: Set(now),
            }
        }))
        .exec_without_returning(&txn)
        .await?;
    }
    journal::record(
        &txn,
        actor,
        &municipal(&g),
        Some((
            EventType::NetworkGroupAttendanceRecorded,
            json!({"network_group_id": g.id, "session_id": s.id}),
        )),
        AuditAction::Update,
    )
    .await?;
    let v = session_view(&txn, s).await?;
    txn.commit().await?;
    Ok(v)
}

/// Staff invite a candidate they reach to a group: a notification; the candidate joins themselves.
pub async fn invite(
    db: &Db,
    reach: &Reach,
    scope: CandidateScope,
    id: NetworkGroupId,
    candidate_id: CandidateId,
) -> DomainResult<()> {
    let txn = db.begin().await?;
    let g = find_group(&txn, scope.municipality_id(), id).await?;
    if !g.active {
        return Err(DomainError::Conflict(
            "This group no longer meets; invite to an active group.".into(),
        ));
    }
    let c = reach.candidate(&txn, candidate_id).await?;
    notifications::add(
        &txn,
        c.id(),
        NotificationKind::NetworkGroupInvitation,
        json!({"network_group_id": g.id}),
    )
    .await?;
    journal::record(
        &txn,
        c.actor(),
        &Subject::candidate(
            g.municipality_id,
            c.id(),
            AuditResource::NetworkGroup,
            Some(g.id.0),
        ),
        None,
        AuditAction::Create,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// The municipality's active groups as the candidate sees them.
pub async fn mine(db: &Db, me: CandidateSelf) -> DomainResult<Vec<MyGroup>> {
    let conn = db.read();
    Reach::Own(me).candidate(conn, me.id).await?;
    let groups = group::Entity::find()
        .filter(group::Column::MunicipalityId.eq(me.municipality_id))
        .filter(group::Column::Active.eq(true))
        .order_by_asc(group::Column::Weekday)
        .order_by_asc(group::Column::StartsAt)
        .order_by_asc(group::Column::Id)
        .limit(MAX_GROUPS)
        .all(conn)
        .await?;
    views_for(conn, me.id, groups).await
}

async fn views_for<C: ConnectionTrait>(
    db: &C,
    candidate_id: CandidateId,
    groups: Vec<group::Model>,
) -> DomainResult<Vec<MyGroup>> {
    let ids: Vec<NetworkGroupId> = groups.iter().map(|g| g.id).collect();
    let now = Utc::now();
    let mut next: BTreeMap<NetworkGroupId, session::Model> = BTreeMap::new();
    for s in session::Entity::find()
        .filter(session::Column::GroupId.is_in(ids.clone()))
        .filter(session::Column::Cancelled.eq(false))
        .filter(session::Column::EndsAt.gt(now))
        .order_by_asc(session::Column::StartsAt)
        .all(db)
        .await?
    {
        next.entry(s.group_id).or_insert(s);
    }
    let current: BTreeSet<NetworkGroupId> = member::Entity::secure_find(candidate_id)
        .filter(member::Column::GroupId.is_in(ids.clone()))
        .filter(member::Column::LeftAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.group_id)
        .collect();
    let marks = attendance::Entity::secure_find(candidate_id)
        .filter(attendance::Column::GroupId.is_in(ids))
        .all(db)
        .await?;
    let marked: Vec<NetworkGroupSessionId> = marks.iter().map(|a| a.session_id).collect();
    let marked_sessions: BTreeMap<NetworkGroupSessionId, session::Model> = session::Entity::find()
        .filter(session::Column::Id.is_in(marked))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let mut mine: BTreeMap<NetworkGroupId, Vec<(session::Model, bool)>> = BTreeMap::new();
    for a in marks {
        if let Some(s) = marked_sessions.get(&a.session_id) {
            mine.entry(a.group_id)
                .or_default()
                .push((s.clone(), a.attended));
        }
    }
    Ok(groups
        .into_iter()
        .map(|g| {
            let mut my_attendance = mine.remove(&g.id).unwrap_or_default();
            my_attendance.sort_by_key(|m| std::cmp::Reverse(m.0.starts_at));
            MyGroup {
                next_session: next.remove(&g.id),
                member: current.contains(&g.id),
                my_attendance,
                group: g,
            }
        })
        .collect())
}

async fn my_group<C: ConnectionTrait>(
    db: &C,
    me: CandidateSelf,
    id: NetworkGroupId,
) -> DomainResult<MyGroup> {
    let g = find_group(db, me.municipality_id, id).await?;
    views_for(db, me.id, vec![g])
        .await?
        .pop()
        .ok_or(DomainError::NotFound)
}

fn own_subject(me: CandidateSelf, g: &group::Model) -> Subject {
    Subject::candidate(
        me.municipality_id,
        me.id,
        AuditResource::NetworkGroup,
        Some(g.id.0),
    )
}

/// The candidate joins a group of their municipality (again, if they left). Joining a group they are
/// in changes nothing.
pub async fn join(db: &Db, me: CandidateSelf, id: NetworkGroupId) -> DomainResult<MyGroup> {
    let txn = db.begin().await?;
    Reach::Own(me).candidate(&txn, me.id).await?;
    let g = find_group(&txn, me.municipality_id, id).await?;
    let running = member::Entity::secure_find(me.id)
        .filter(member::Column::GroupId.eq(g.id))
        .filter(member::Column::LeftAt.is_null())
        .one(&txn)
        .await?;
    if running.is_none() {
        if !g.active {
            return Err(DomainError::Conflict(
                "This group no longer meets, so it cannot be joined.".into(),
            ));
        }
        member::ActiveModel {
            id: Set(Uuid::now_v7()),
            group_id: Set(g.id),
            candidate_id: Set(me.id),
            joined_at: Set(Utc::now()),
            left_at: Set(None),
            current: Set(Some(true)),
        }
        .insert(&txn)
        .await
        .map_err(|e| super::on_unique(e, "You joined this group just now; try again."))?;
        journal::record(
            &txn,
            me.actor(),
            &own_subject(me, &g),
            Some((
                EventType::NetworkGroupJoined,
                json!({"network_group_id": g.id, "candidate_id": me.id}),
            )),
            AuditAction::Create,
        )
        .await?;
    }
    let v = my_group(&txn, me, g.id).await?;
    txn.commit().await?;
    Ok(v)
}

/// The candidate leaves a group. Leaving a group they are not in changes nothing.
pub async fn leave(db: &Db, me: CandidateSelf, id: NetworkGroupId) -> DomainResult<MyGroup> {
    let txn = db.begin().await?;
    Reach::Own(me).candidate(&txn, me.id).await?;
    let g = find_group(&txn, me.municipality_id, id).await?;
    let ended = end_memberships(&txn, me.id, Some(g.id)).await?;
    if ended > 0 {
        journal::record(
            &txn,
            me.actor(),
            &own_subject(me, &g),
            Some((
                EventType::NetworkGroupLeft,
                json!({"network_group_id": g.id, "candidate_id": me.id}),
            )),
            AuditAction::Update,
        )
        .await?;
    }
    let v = my_group(&txn, me, g.id).await?;
    txn.commit().await?;
    Ok(v)
}

/// Ends the candidate's running memberships (of one group, or all of them); how many ended.
pub async fn end_memberships<C: ConnectionTrait>(
    txn: &C,
    candidate_id: CandidateId,
    group_id: Option<NetworkGroupId>,
) -> DomainResult<u64> {
    let mut q = member::Entity::update_many()
        .col_expr(
            member::Column::LeftAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .col_expr(
            member::Column::Current,
            sea_orm::sea_query::Expr::value(Option::<bool>::None),
        )
        .filter(member::Column::CandidateId.eq(candidate_id))
        .filter(member::Column::LeftAt.is_null());
    if let Some(g) = group_id {
        q = q.filter(member::Column::GroupId.eq(g));
    }
    Ok(q.exec(txn).await?.rows_affected)
}

/// A member suggests a topic for their group (409 when not a member).
pub async fn suggest(
    db: &Db,
    me: CandidateSelf,
    id: NetworkGroupId,
    text: String,
) -> DomainResult<suggestion::Model> {
    let text = clean(text);
    if text.is_empty() {
        return Err(DomainError::field(
            "text",
            "min_length",
            "must not be empty",
        ));
    }
    let txn = db.begin().await?;
    Reach::Own(me).candidate(&txn, me.id).await?;
    let g = find_group(&txn, me.municipality_id, id).await?;
    let member = member::Entity::secure_find(me.id)
        .filter(member::Column::GroupId.eq(g.id))
        .filter(member::Column::LeftAt.is_null())
        .one(&txn)
        .await?;
    if member.is_none() {
        return Err(DomainError::Conflict(
            "Join the group first; then you can suggest a topic.".into(),
        ));
    }
    let s = suggestion::ActiveModel {
        id: Set(Uuid::now_v7()),
        group_id: Set(g.id),
        candidate_id: Set(me.id),
        text: Set(text),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    journal::record(
        &txn,
        me.actor(),
        &own_subject(me, &g),
        None,
        AuditAction::Create,
    )
    .await?;
    txn.commit().await?;
    Ok(s)
}

/// The sessions of the groups the candidate is in now, not cancelled, of active groups, ending after
/// `since`, soonest first: one query (the plan asks for one, the calendar feed for many).
pub async fn my_sessions<C: ConnectionTrait>(
    db: &C,
    candidate_id: CandidateId,
    since: DateTime<Utc>,
    limit: u64,
) -> DomainResult<Vec<MySession>> {
    let sql = "SELECT s.id, s.group_id, g.name, s.starts_at, s.ends_at, g.location, g.online_url, \
               s.version, s.created_at, s.updated_at \
               FROM network_group_sessions s \
               JOIN network_group_members m ON m.group_id = s.group_id \
               JOIN network_groups g ON g.id = s.group_id \
               WHERE m.candidate_id = $1 AND m.left_at IS NULL AND g.active = $2 \
               AND s.cancelled = $3 AND s.ends_at > $4 \
               ORDER BY s.starts_at, s.id LIMIT $5";
    let backend: DbBackend = db.get_database_backend();
    let stmt = Statement::from_sql_and_values(
        backend,
        sql,
        [
            candidate_id.into(),
            true.into(),
            false.into(),
            since.into(),
            (limit as i64).into(),
        ],
    );
    Ok(MySession::find_by_statement(stmt).all(db).await?)
}

/// The candidate's memberships, attendance and topic suggestions, for `/me/export`.
pub async fn export<C: ConnectionTrait>(
    db: &C,
    candidate_id: CandidateId,
) -> DomainResult<serde_json::Value> {
    let memberships = member::Entity::secure_find(candidate_id)
        .order_by_asc(member::Column::Id)
        .all(db)
        .await?;
    let marks = attendance::Entity::secure_find(candidate_id)
        .order_by_asc(attendance::Column::SessionId)
        .all(db)
        .await?;
    let sessions: BTreeMap<NetworkGroupSessionId, session::Model> = session::Entity::find()
        .filter(session::Column::Id.is_in(marks.iter().map(|a| a.session_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let suggestions = suggestion::Entity::secure_find(candidate_id)
        .order_by_asc(suggestion::Column::Id)
        .all(db)
        .await?;
    Ok(json!({
        "memberships": memberships.iter().map(|m| json!({
            "network_group_id": m.group_id, "joined_at": m.joined_at, "left_at": m.left_at,
        })).collect::<Vec<_>>(),
        "attendance": marks.iter().map(|a| json!({
            "network_group_id": a.group_id, "session_id": a.session_id,
            "starts_at": sessions.get(&a.session_id).map(|s| s.starts_at),
            "attended": a.attended, "recorded_at": a.recorded_at,
        })).collect::<Vec<_>>(),
        "topic_suggestions": suggestions.iter().map(|s| json!({
            "network_group_id": s.group_id, "text": s.text, "created_at": s.created_at,
        })).collect::<Vec<_>>(),
    }))
}

/// Erasure: the candidate's topic suggestions go, their memberships end. Attendance stays, by id
/// only, for the statistics.
pub async fn erase<C: ConnectionTrait>(txn: &C, candidate_id: CandidateId) -> DomainResult<()> {
    suggestion::Entity::delete_many()
        .filter(suggestion::Column::CandidateId.eq(candidate_id))
        .exec(txn)
        .await?;
    end_memberships(txn, candidate_id, None).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn times_are_hh_mm() {
        assert_eq!(parse_time("16:00"), NaiveTime::from_hms_opt(16, 0, 0));
        assert_eq!(parse_time("00:00"), NaiveTime::from_hms_opt(0, 0, 0));
        assert_eq!(parse_time("23:59"), NaiveTime::from_hms_opt(23, 59, 0));
        for bad in [
            "24:00", "9:00", "09:60", "0900", "09:0a", "+9:00", "", "09:00:00",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn copenhagen_wall_time_across_daylight_saving() {
        let four = NaiveTime::from_hms_opt(16, 0, 0).unwrap();
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        // Winter (CET, UTC+1) and summer (CEST, UTC+2).
        assert_eq!(instant(day(2027, 3, 17), four), utc("2027-03-17T15:00:00Z"));
        assert_eq!(
            instant(day(2027, 10, 13), four),
            utc("2027-10-13T14:00:00Z")
        );
        // Either side of the change on 28 March 2027 and 31 October 2027.
        assert_eq!(instant(day(2027, 3, 27), four), utc("2027-03-27T15:00:00Z"));
        assert_eq!(instant(day(2027, 3, 28), four), utc("2027-03-28T14:00:00Z"));
        assert_eq!(
            instant(day(2027, 10, 30), four),
            utc("2027-10-30T14:00:00Z")
        );
        assert_eq!(
            instant(day(2027, 10, 31), four),
            utc("2027-10-31T15:00:00Z")
        );
        // 02:30 does not exist on 28 March: the clock shows 03:30 then.
        let half_two = NaiveTime::from_hms_opt(2, 30, 0).unwrap();
        assert_eq!(
            instant(day(2027, 3, 28), half_two),
            utc("2027-03-28T01:30:00Z")
        );
        // 02:30 happens twice on 31 October: the first.
        assert_eq!(
            instant(day(2027, 10, 31), half_two),
            utc("2027-10-31T00:30:00Z")
        );
    }

    #[test]
    fn one_session_a_week_on_the_weekday() {
        let four = NaiveTime::from_hms_opt(16, 0, 0).unwrap();
        let from = NaiveDate::from_ymd_opt(2027, 3, 15).unwrap(); // a Monday
        let to = from + Duration::weeks(WEEKS_AHEAD) - Duration::days(1);
        // Wednesdays, 90 minutes.
        let s = schedule(3, four, 90, from, to);
        assert_eq!(s.len(), 8);
        assert_eq!(s[0].0, utc("2027-03-17T15:00:00Z"));
        assert_eq!(s[0].1, utc("2027-03-17T16:30:00Z"));
        // After the change on 28 March the same wall-clock time is an hour earlier in UTC.
        assert_eq!(s[2].0, utc("2027-03-31T14:00:00Z"));
        assert!(s.windows(2).all(|w| w[0].0 < w[1].0));
        // Sundays: the day of the change itself.
        let sundays = schedule(7, four, 60, from, to);
        assert_eq!(sundays[1].0, utc("2027-03-28T14:00:00Z"));
    }
}

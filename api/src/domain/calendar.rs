//! The candidate's calendar: the iCalendar (RFC 5545) feed of their appointments, made with the
//! `icalendar` crate, and the secret subscription URL phone calendars poll without a token.
//!
//! Times are written in UTC (`…Z`, RFC 5545 §3.3.5 form 2): an instant needs no VTIMEZONE, and every
//! calendar shows it at the right Copenhagen wall-clock time on both sides of a DST change, because
//! the instant itself was fixed from Copenhagen local time when the appointment was booked.
//! `X-WR-TIMEZONE` tells calendars which zone to show the feed in.
//!
//! A phone calendar is often visible to others (a lock screen, a shared family account), so by default
//! an entry says only "Møde" (or "Meeting") and the place: nothing about health or the programme. The
//! candidate may turn on details (the real title, the note and the meeting link).
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{Duration, Utc};
use entity::{
    appointment, calendar_feed, candidate,
    ids::CandidateId,
    scoped::CandidateOwned,
    types::{AuditAction, AuditResource, Language},
};
use icalendar::{Calendar, Class, Component, Event, EventLike, EventStatus, Property};
use rand::{RngCore, rngs::OsRng};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::{
    DomainError, DomainResult,
    access::Reach,
    appointments::AppointmentStatus,
    journal::{self, Subject},
    network_groups::MySession,
    on_unique, sha256_hex,
};
use crate::db::Db;

/// Appointments that started longer ago than this are left out of the feed.
const PAST_DAYS: i64 = 90;
/// At most this many entries in a feed.
const MAX_ENTRIES: u64 = 1000;
/// How often calendars should fetch the feed again.
const REFRESH_MINUTES: i64 = 60;

/// The candidate's calendar settings; the defaults (no secret feed, no details) when never set.
pub async fn settings<C: ConnectionTrait>(
    db: &C,
    candidate_id: CandidateId,
) -> DomainResult<calendar_feed::Model> {
    Ok(calendar_feed::Entity::find_by_id(candidate_id)
        .one(db)
        .await?
        .unwrap_or_else(|| defaults(candidate_id)))
}

fn defaults(candidate_id: CandidateId) -> calendar_feed::Model {
    let now = Utc::now();
    calendar_feed::Model {
        candidate_id,
        secret_hash: None,
        show_details: false,
        version: 0,
        created_at: now,
        updated_at: now,
        rotated_at: None,
    }
}

/// A change to the settings.
enum Change {
    /// A new secret (the old URL stops working at once).
    Rotate(String),
    /// No secret feed any more.
    Disable,
    Details(bool),
}

/// Applies a change as the next version of the settings row (made on first use). A stale `expected`
/// is 412; two first uses at once are a 409 for the second.
async fn change(
    db: &Db,
    reach: &Reach,
    expected: Option<i32>,
    change: Change,
) -> DomainResult<calendar_feed::Model> {
    let Reach::Own(me) = reach else {
        return Err(DomainError::Forbidden);
    };
    let txn = db.begin().await?;
    let c = reach.candidate(&txn, me.id).await?;
    let existing = c.rows::<calendar_feed::Entity>().one(&txn).await?;
    let current = existing.clone().unwrap_or_else(|| defaults(c.id()));
    if expected.is_some_and(|v| v != current.version) {
        return Err(DomainError::Stale);
    }
    let now = Utc::now();
    let mut next = current.clone();
    match change {
        Change::Rotate(secret) => {
            next.secret_hash = Some(sha256_hex(secret.as_bytes()));
            next.rotated_at = Some(now);
        }
        Change::Disable => {
            next.secret_hash = None;
            next.rotated_at = None;
        }
        Change::Details(on) => next.show_details = on,
    }
    next.version = current.version + 1;
    next.updated_at = now;
    let am = next.into_active_model().reset_all();
    let saved = match existing {
        None => calendar_feed::Entity::insert(am)
            .exec_with_returning(&txn)
            .await
            .map_err(|e| on_unique(e, "The calendar settings changed meanwhile; try again."))?,
        Some(_) => calendar_feed::Entity::update_many()
            .set(am)
            .filter(calendar_feed::Column::CandidateId.eq(c.id()))
            .filter(calendar_feed::Column::Version.eq(current.version))
            .exec_with_returning(&txn)
            .await?
            .into_iter()
            .next()
            .ok_or(DomainError::Stale)?,
    };
    let subject = Subject::candidate(
        c.municipality_id(),
        c.id(),
        AuditResource::CalendarFeed,
        None,
    );
    journal::record(&txn, c.actor(), &subject, None, AuditAction::Update).await?;
    txn.commit().await?;
    Ok(saved)
}

/// Makes a new secret feed URL secret (32 random bytes, base64url); only its hash is stored, so the
/// secret is shown this once.
pub async fn rotate(
    db: &Db,
    reach: &Reach,
    expected: Option<i32>,
) -> DomainResult<(String, calendar_feed::Model)> {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let secret = URL_SAFE_NO_PAD.encode(bytes);
    let saved = change(db, reach, expected, Change::Rotate(secret.clone())).await?;
    super::access::note_secret();
    Ok((secret, saved))
}

/// Turns the secret feed off without the candidate (a new invitation, i.e. a login reset): the old
/// address stops working at once. Call inside the transaction that makes the invitation.
pub async fn revoke_feed<C: ConnectionTrait>(
    txn: &C,
    candidate_id: CandidateId,
) -> DomainResult<()> {
    use sea_orm::sea_query::{Expr, ExprTrait};
    calendar_feed::Entity::update_many()
        .col_expr(
            calendar_feed::Column::SecretHash,
            Expr::value(None::<String>),
        )
        .col_expr(
            calendar_feed::Column::RotatedAt,
            Expr::value(None::<chrono::DateTime<Utc>>),
        )
        .col_expr(
            calendar_feed::Column::Version,
            Expr::col(calendar_feed::Column::Version).add(1),
        )
        .col_expr(calendar_feed::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(calendar_feed::Column::CandidateId.eq(candidate_id))
        .filter(calendar_feed::Column::SecretHash.is_not_null())
        .exec(txn)
        .await?;
    Ok(())
}

/// Turns the secret feed off.
pub async fn disable(
    db: &Db,
    reach: &Reach,
    expected: Option<i32>,
) -> DomainResult<calendar_feed::Model> {
    change(db, reach, expected, Change::Disable).await
}

/// The candidate's choice: real titles and notes in the feed, or only "Møde" and the place.
pub async fn set_details(
    db: &Db,
    reach: &Reach,
    expected: Option<i32>,
    show_details: bool,
) -> DomainResult<calendar_feed::Model> {
    change(db, reach, expected, Change::Details(show_details)).await
}

/// The feed of the candidate whose secret this is; `NotFound` for an unknown or replaced secret.
pub async fn feed_by_secret(db: &Db, secret: &str) -> DomainResult<String> {
    let secret = secret.strip_suffix(".ics").unwrap_or(secret);
    if secret.is_empty() || secret.len() > 100 {
        return Err(DomainError::NotFound);
    }
    let feed = calendar_feed::Entity::find()
        .filter(calendar_feed::Column::SecretHash.eq(sha256_hex(secret.as_bytes())))
        .one(db.read())
        .await?
        .ok_or(DomainError::NotFound)?;
    render(db, feed.candidate_id, feed.show_details).await
}

/// The candidate's own feed (with their token), by their detail setting.
pub async fn own_feed(db: &Db, reach: &Reach) -> DomainResult<String> {
    let Reach::Own(me) = reach else {
        return Err(DomainError::Forbidden);
    };
    let c = reach.candidate(db.read(), me.id).await?;
    let s = settings(db.read(), c.id()).await?;
    render(db, c.id(), s.show_details).await
}

async fn render(db: &Db, candidate_id: CandidateId, show_details: bool) -> DomainResult<String> {
    let c = candidate::Entity::find_by_id(candidate_id)
        .one(db.read())
        .await?
        .ok_or(DomainError::NotFound)?;
    let rows = appointment::Entity::secure_find(candidate_id)
        .filter(appointment::Column::StartsAt.gt(Utc::now() - Duration::days(PAST_DAYS)))
        .order_by_asc(appointment::Column::StartsAt)
        .order_by_asc(appointment::Column::Id)
        .limit(MAX_ENTRIES)
        .all(db.read())
        .await?;
    let groups = super::network_groups::my_sessions(
        db.read(),
        candidate_id,
        Utc::now() - Duration::days(PAST_DAYS),
        MAX_ENTRIES,
    )
    .await?;
    Ok(ics_with(
        &rows,
        &groups,
        Words::for_language(c.language),
        show_details,
    ))
}

/// The few words the feed itself writes.
#[derive(Clone, Copy, Debug)]
pub struct Words {
    calendar: &'static str,
    meeting: &'static str,
    cancelled: &'static str,
    online: &'static str,
    network_group: &'static str,
}

impl Words {
    pub fn for_language(language: Language) -> Self {
        if language == Language::En {
            Self {
                calendar: "Appointments",
                meeting: "Meeting",
                cancelled: "Cancelled",
                online: "Online",
                network_group: "Network group",
            }
        } else {
            Self {
                calendar: "Aftaler",
                meeting: "Møde",
                cancelled: "Aflyst",
                online: "Online",
                network_group: "Netværksgruppe",
            }
        }
    }
}

/// The calendar of these appointments. UIDs are the appointment ids, so an entry keeps its identity
/// through every change, and `SEQUENCE` tells calendars which version is newer.
pub fn ics(rows: &[appointment::Model], words: Words, show_details: bool) -> String {
    ics_with(rows, &[], words, show_details)
}

/// The calendar of these appointments and network-group sessions. A session says only "Netværksgruppe"
/// (or "Network group") and the place: never the group's name or the session's topic, whatever the
/// detail setting, since a group's name can tell what it is for.
pub fn ics_with(
    rows: &[appointment::Model],
    sessions: &[MySession],
    words: Words,
    show_details: bool,
) -> String {
    let mut cal = Calendar::new();
    cal.name(words.calendar)
        .timezone("Europe/Copenhagen")
        .ttl(&Duration::minutes(REFRESH_MINUTES))
        .append_property(Property::new("METHOD", "PUBLISH"));
    for a in rows {
        cal.push(event(a, words, show_details));
    }
    for s in sessions {
        cal.push(session_event(s, words));
    }
    cal.done().to_string()
}

fn session_event(s: &MySession, words: Words) -> Event {
    let mut e = Event::new();
    e.uid(&s.id.to_string())
        .timestamp(s.updated_at)
        .created(s.created_at)
        .last_modified(s.updated_at)
        .sequence(s.version.max(0) as u32)
        .starts(s.starts_at)
        .ends(s.ends_at)
        .summary(words.network_group)
        .class(Class::Private)
        .status(EventStatus::Confirmed);
    match (&s.location, &s.online_url) {
        (Some(place), _) => {
            e.location(place);
        }
        (None, Some(_)) => {
            e.location(words.online);
        }
        (None, None) => {}
    }
    e.done()
}

fn event(a: &appointment::Model, words: Words, show_details: bool) -> Event {
    let cancelled = a.status == AppointmentStatus::Cancelled;
    let title = if show_details {
        a.title.as_str()
    } else {
        words.meeting
    };
    let summary = if cancelled {
        format!("{}: {title}", words.cancelled)
    } else {
        title.to_string()
    };
    let mut e = Event::new();
    e.uid(&a.id.to_string())
        .timestamp(a.updated_at)
        .created(a.created_at)
        .last_modified(a.updated_at)
        .sequence(a.sequence.max(0) as u32)
        .starts(a.starts_at)
        .ends(a.ends_at)
        .summary(&summary)
        .class(Class::Private)
        .status(if cancelled {
            EventStatus::Cancelled
        } else {
            EventStatus::Confirmed
        });
    match (&a.location, &a.online_url) {
        (Some(place), _) => {
            e.location(place);
        }
        (None, Some(_)) => {
            e.location(words.online);
        }
        (None, None) => {}
    }
    if show_details {
        let text: Vec<&str> = [a.note_for_candidate.as_deref(), a.online_url.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        if !text.is_empty() {
            e.description(&text.join("\n\n"));
        }
        if let Some(url) = &a.online_url {
            e.url(url);
        }
    }
    e.done()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn appointment(status: AppointmentStatus, sequence: i32) -> appointment::Model {
        use entity::{
            ids::{AppointmentId, MunicipalityId, StaffId},
            types::{AppointmentKind, AppointmentReply},
        };
        let at = Utc.with_ymd_and_hms(2027, 3, 28, 8, 0, 0).unwrap();
        appointment::Model {
            id: AppointmentId::generate(),
            candidate_id: CandidateId::generate(),
            municipality_id: MunicipalityId::generate(),
            kind: AppointmentKind::Treatment,
            title: "Psykiatrisk samtale; medicin, dosis".into(),
            starts_at: at,
            ends_at: at + Duration::hours(1),
            location: Some("Klinikken, Vestergade 3".into()),
            online_url: Some("https://meet.example.org/a".into()),
            note_for_candidate: Some("Husk\nrecepten".into()),
            status,
            cancel_reason: None,
            candidate_response: AppointmentReply::None,
            response_message: None,
            responded_at: None,
            sequence,
            reminded_at: None,
            created_by: StaffId::generate(),
            version: 1,
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn default_entries_say_only_meeting_and_place() {
        let rows = [
            appointment(AppointmentStatus::Scheduled, 0),
            appointment(AppointmentStatus::Cancelled, 2),
        ];
        let text = ics(&rows, Words::for_language(Language::Da), false);
        assert!(text.starts_with("BEGIN:VCALENDAR\r\n"));
        for line in [
            "VERSION:2.0",
            "METHOD:PUBLISH",
            "X-WR-TIMEZONE:Europe/Copenhagen",
            "DTSTART:20270328T080000Z",
            "DTEND:20270328T090000Z",
            "SUMMARY:Møde",
            "SUMMARY:Aflyst: Møde",
            "STATUS:CONFIRMED",
            "STATUS:CANCELLED",
            "SEQUENCE:2",
            "CLASS:PRIVATE",
            "LOCATION:Klinikken\\, Vestergade 3",
        ] {
            assert!(text.contains(&format!("{line}\r\n")), "{line} in {text}");
        }
        assert!(text.contains(&format!("UID:{}\r\n", rows[0].id)));
        let lower = text.to_lowercase();
        assert!(!lower.contains("psyk") && !lower.contains("medicin") && !lower.contains("meet."));
    }

    #[test]
    fn details_are_escaped() {
        let text = ics(
            &[appointment(AppointmentStatus::Scheduled, 0)],
            Words::for_language(Language::En),
            true,
        );
        assert!(
            text.contains("SUMMARY:Psykiatrisk samtale\\; medicin\\, dosis\r\n"),
            "{text}"
        );
        assert!(
            text.contains("DESCRIPTION:Husk\\nrecepten\\n\\nhttps://meet.example.org/a\r\n"),
            "{text}"
        );
        assert!(text.contains("X-WR-CALNAME:Appointments\r\n"));
    }
}

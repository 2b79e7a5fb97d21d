//! Appointments, the calendar feed and reminders (SPEC §4.6, §4.9): both sides of an appointment, its
//! rules, the iCalendar feed read back by an independent parser (the `icalendar` crate's) across the
//! DST changes, the secret subscription URL, and the reminder scheduler — once per appointment, even
//! with two instances ticking at the same moment.
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Europe::Copenhagen;
use entity::{appointment, enrollment, notification};
use icalendar::{
    CalendarComponent, CalendarDateTime, Component, DatePerhapsTime, EventLike, EventStatus,
};
use ips_api::domain::appointments;
use poem::http::Method;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::common::{Answer, Municipality, Person, TestApp};

/// An instant given as Copenhagen wall-clock time.
fn cph(day: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    Copenhagen
        .from_local_datetime(&day.and_hms_opt(hour, minute, 0).expect("time"))
        .single()
        .expect("an unambiguous local time")
        .with_timezone(&Utc)
}

fn last_sunday(year: i32, month: u32) -> NaiveDate {
    let mut d = NaiveDate::from_ymd_opt(year, month + 1, 1).expect("date") - Duration::days(1);
    while d.weekday() != Weekday::Sun {
        d -= Duration::days(1);
    }
    d
}

/// The next last Sunday of `month` at least two days from now (March: summer time begins; October:
/// it ends), so it is always bookable.
fn next_change(month: u32) -> NaiveDate {
    let today = Utc::now().date_naive();
    let this_year = last_sunday(today.year(), month);
    if this_year > today + Duration::days(2) {
        this_year
    } else {
        last_sunday(today.year() + 1, month)
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn collection(who: &Person) -> String {
    format!("/api/v1/candidates/{}/appointments", who.id)
}

fn one(who: &Person, a: &Value) -> String {
    format!("{}/{}", collection(who), a["id"].as_str().expect("id"))
}

async fn book(app: &TestApp, staff: &Person, who: &Person, body: Value) -> Value {
    app.post(&collection(who), &staff.token, body)
        .await
        .expect(201)
        .body
}

/// A meeting at `start` for an hour.
async fn book_at(app: &TestApp, m: &Municipality, start: DateTime<Utc>) -> Value {
    book(
        app,
        &m.consultant,
        &m.candidate,
        json!({"kind": "consultant_meeting", "title": "Samtale", "starts_at": rfc3339(start)}),
    )
    .await
}

/// One calendar entry as a phone would show it.
#[derive(Debug)]
struct Entry {
    uid: String,
    summary: String,
    location: Option<String>,
    description: Option<String>,
    url: Option<String>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    sequence: u32,
    cancelled: bool,
}

impl Entry {
    /// Start and end as Copenhagen wall-clock `HH:MM`.
    fn local(&self) -> (String, String) {
        let f = |t: DateTime<Utc>| {
            let l = t.with_timezone(&Copenhagen);
            format!("{:02}:{:02}", l.hour(), l.minute())
        };
        (f(self.start), f(self.end))
    }
}

fn instant(d: Option<DatePerhapsTime>) -> DateTime<Utc> {
    match d {
        Some(DatePerhapsTime::DateTime(CalendarDateTime::Utc(t))) => t,
        other => panic!("expected a UTC date-time, got {other:?}"),
    }
}

/// Parses a feed with the `icalendar` crate's parser, checking the RFC 5545 basics on the way.
fn parse(raw: &[u8]) -> Vec<Entry> {
    let text = std::str::from_utf8(raw).expect("UTF-8");
    assert!(text.starts_with("BEGIN:VCALENDAR\r\n"), "{text}");
    assert!(text.trim_end().ends_with("END:VCALENDAR"), "{text}");
    assert!(
        text.split("\r\n").all(|l| l.len() <= 75),
        "lines are folded"
    );
    let cal: icalendar::Calendar = text.parse().expect("a valid iCalendar");
    assert_eq!(cal.property_value("VERSION"), Some("2.0"));
    assert!(cal.property_value("PRODID").is_some());
    assert_eq!(cal.get_timezone(), Some("Europe/Copenhagen"));
    cal.components
        .iter()
        .filter_map(|c| match c {
            CalendarComponent::Event(e) => Some(e),
            _ => None,
        })
        .map(|e| {
            assert!(e.get_timestamp().is_some(), "DTSTAMP is required");
            Entry {
                uid: e.get_uid().expect("UID").to_string(),
                summary: e.get_summary().expect("SUMMARY").to_string(),
                location: e.get_location().map(str::to_string),
                description: e.get_description().map(str::to_string),
                url: e.get_url().map(str::to_string),
                start: instant(e.get_start()),
                end: instant(e.get_end()),
                sequence: e.get_sequence().expect("SEQUENCE"),
                cancelled: e.get_status() == Some(EventStatus::Cancelled),
            }
        })
        .collect()
}

fn entry<'a>(entries: &'a [Entry], a: &Value) -> &'a Entry {
    let id = a["id"].as_str().expect("id");
    entries
        .iter()
        .find(|e| e.uid == id)
        .unwrap_or_else(|| panic!("no entry {id} in {entries:#?}"))
}

async fn my_calendar(app: &TestApp, who: &Person) -> Vec<Entry> {
    let a = app
        .get("/api/v1/me/calendar.ics", &who.token)
        .await
        .expect(200);
    assert_eq!(
        a.header("content-type"),
        Some("text/calendar; charset=utf-8")
    );
    parse(&a.raw)
}

async fn public(app: &TestApp, path: &str) -> Answer {
    app.call(Method::GET, path, None, None).await
}

/// The candidate's notifications of one kind, oldest first, as their data.
async fn notes(app: &TestApp, who: &Person, kind: &str) -> Vec<Value> {
    notification::Entity::find()
        .filter(notification::Column::CandidateId.eq(who.id))
        .filter(notification::Column::Kind.eq(kind))
        .order_by_asc(notification::Column::Id)
        .all(app.state.db.read())
        .await
        .expect("notifications")
        .into_iter()
        .map(|n| serde_json::from_str(&n.data).expect("json"))
        .collect()
}

async fn event_types(app: &TestApp, m: &Municipality) -> (Vec<String>, String) {
    let feed = app
        .get("/api/v1/events?limit=200", &m.coordinator.token)
        .await
        .expect(200)
        .body;
    let types = feed["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["type"].as_str().map(str::to_string))
        .collect();
    (types, feed.to_string())
}

async fn transition(app: &TestApp, m: &Municipality, to: &str) {
    let path = format!(
        "/api/v1/candidates/{}/enrollment/transitions",
        m.candidate.id
    );
    app.post(&path, &m.coordinator.token, json!({"to": to}))
        .await
        .expect(200);
}

/// The "done when": three appointments (one across a DST change) reach the candidate's phone
/// calendar at the right local times; the candidate answers one, the consultant cancels another and the
/// feed shows it cancelled; reminders appear once.
#[tokio::test]
async fn consultant_books_candidate_answers_calendar_follows() {
    let app = TestApp::start().await;
    let m = app.municipality("601").await;
    let (me, staff) = (&m.candidate, &m.consultant);
    let spring = next_change(3);
    let autumn = next_change(10);

    let first = book(
        &app,
        staff,
        me,
        json!({
            "kind": "employer", "title": "Samtale hos Netto om praktik og medicin",
            "starts_at": rfc3339(cph(spring, 10, 0)), "ends_at": rfc3339(cph(spring, 11, 0)),
            "location": "Netto, Vestergade 3", "note_for_candidate": "Tag dit CV med",
        }),
    )
    .await;
    assert_eq!(first["status"], "scheduled");
    assert_eq!(first["candidate_response"], "none");
    assert_eq!(first["sequence"], 0);
    let second = book(
        &app,
        staff,
        me,
        json!({
            "kind": "treatment", "title": "Psykiater", "starts_at": rfc3339(cph(autumn, 10, 0)),
            "online_url": "https://meet.example.org/abc",
        }),
    )
    .await;
    assert_eq!(
        instant_of(&second["ends_at"]),
        cph(autumn, 11, 0),
        "an hour by default"
    );
    // 01:30 winter time until 03:30 summer time: one hour across the spring change.
    let night = book(
        &app,
        staff,
        me,
        json!({
            "kind": "network_group", "title": "Netværksgruppe",
            "starts_at": rfc3339(cph(spring, 1, 30)), "ends_at": rfc3339(cph(spring, 3, 30)),
            "location": "Jobcentret",
        }),
    )
    .await;

    // The phone calendar: the right local times, nothing about health or the programme.
    let cal = my_calendar(&app, me).await;
    assert_eq!(cal.len(), 3);
    let (f, s, n) = (
        entry(&cal, &first),
        entry(&cal, &second),
        entry(&cal, &night),
    );
    assert_eq!(f.local(), ("10:00".into(), "11:00".into()));
    assert_eq!(s.local(), ("10:00".into(), "11:00".into()));
    assert_eq!(n.local(), ("01:30".into(), "03:30".into()));
    assert_eq!(n.end - n.start, Duration::hours(1));
    assert_eq!(f.start.hour(), 8, "summer time: UTC+2");
    assert_eq!(s.start.hour(), 9, "winter time: UTC+1");
    assert_eq!(f.summary, "Møde");
    assert_eq!(f.location.as_deref(), Some("Netto, Vestergade 3"));
    assert_eq!(s.location.as_deref(), Some("Online"));
    assert!(
        cal.iter()
            .all(|e| e.description.is_none() && e.url.is_none())
    );
    let raw = app
        .get("/api/v1/me/calendar.ics", &me.token)
        .await
        .expect(200)
        .raw;
    let text = String::from_utf8(raw).expect("utf-8").to_lowercase();
    for word in [
        "medicin",
        "psyk",
        "ips",
        "praktik",
        "treatment",
        "netværk",
        "behandl",
        "meet.example",
    ] {
        assert!(!text.contains(word), "`{word}` in the default feed");
    }

    // The candidate answers the first; the consultant sees it.
    let answered = app
        .post(
            &format!("/api/v1/me/appointments/{}/response", first["id"].as_str().unwrap()),
            &me.token,
            json!({"response": "reschedule_requested", "message": "Kan vi tage den om eftermiddagen?"}),
        )
        .await
        .expect(200);
    assert_eq!(answered.header("etag"), Some("\"2\""));
    let seen = app
        .get(&one(me, &first), &staff.token)
        .await
        .expect(200)
        .body;
    assert_eq!(seen["candidate_response"], "reschedule_requested");
    assert_eq!(
        seen["response_message"],
        "Kan vi tage den om eftermiddagen?"
    );
    assert_eq!(seen["sequence"], 0, "an answer does not change the entry");

    // The consultant moves it to the afternoon: the answer starts over, the entry's SEQUENCE grows.
    let moved = app
        .patch(
            &one(me, &first),
            &staff.token,
            json!({"starts_at": rfc3339(cph(spring, 14, 0))}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(moved["candidate_response"], "none");
    assert_eq!(
        instant_of(&moved["ends_at"]),
        cph(spring, 15, 0),
        "the length stays"
    );
    assert_eq!(moved["sequence"], 1);

    // The consultant cancels the second; the feed shows it cancelled, the candidate is told why.
    let cancelled = app
        .post(
            &format!("{}/cancel", one(me, &second)),
            &staff.token,
            json!({"reason": "Lægen er syg"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["cancel_reason"], "Lægen er syg");
    let cal = my_calendar(&app, me).await;
    let s = entry(&cal, &second);
    assert!(s.cancelled);
    assert_eq!(s.sequence, 1);
    assert_eq!(s.summary, "Aflyst: Møde");
    let f = entry(&cal, &first);
    assert_eq!(f.sequence, 1);
    assert_eq!(f.local(), ("14:00".into(), "15:00".into()));
    assert!(!entry(&cal, &night).cancelled);
    assert_eq!(
        notes(&app, me, "appointment_cancelled").await[0]["reason"],
        "Lægen er syg"
    );
    assert_eq!(notes(&app, me, "appointment_created").await.len(), 3);
    assert_eq!(notes(&app, me, "appointment_changed").await.len(), 1);

    // The candidate lists theirs by range: the spring day only.
    let from = rfc3339(cph(spring, 0, 0));
    let to = rfc3339(cph(spring + Duration::days(1), 0, 0));
    let listed = app
        .get(
            &format!("/api/v1/me/appointments?from={from}&to={to}"),
            &me.token,
        )
        .await
        .expect(200)
        .body;
    let ids: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [night["id"].as_str().unwrap(), first["id"].as_str().unwrap()]
    );

    // A meeting in three hours gets its reminder at once, and only once however often the job runs.
    let soon = book_at(&app, &m, Utc::now() + Duration::hours(3)).await;
    assert!(!soon["id"].is_null());
    for _ in 0..2 {
        appointments::tick(&app.state.db).await.expect("tick");
    }
    let reminders = notes(&app, me, "appointment_reminder").await;
    assert_eq!(reminders.len(), 1, "{reminders:?}");
    assert_eq!(reminders[0]["appointment_id"], soon["id"]);

    // The plan shows the next appointments, soonest first, without the cancelled one.
    let plan = app.get("/api/v1/me/plan", &me.token).await.expect(200).body;
    let next: Vec<&Value> = plan["next_appointments"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(next.len(), 3);
    assert_eq!(next[0]["id"], soon["id"]);
    assert!(next.iter().all(|a| a["id"] != second["id"]));

    // Every change is an event, without the appointments' words.
    let (types, feed) = event_types(&app, &m).await;
    for t in [
        "appointment.created",
        "appointment.updated",
        "appointment.cancelled",
        "appointment.responded",
        "appointment.reminder",
    ] {
        assert!(types.iter().any(|x| x == t), "{t} in {types:?}");
    }
    for word in ["Netto", "Lægen", "eftermiddagen", "Psykiater"] {
        assert!(!feed.contains(word), "`{word}` in the events");
    }
    app.finish().await;
}

#[tokio::test]
async fn local_times_hold_on_both_sides_of_each_dst_change() {
    let app = TestApp::start().await;
    let m = app.municipality("602").await;
    let mut days = Vec::new();
    for month in [3, 10] {
        let change = next_change(month);
        days.extend([
            change - Duration::days(1),
            change,
            change + Duration::days(1),
        ]);
    }
    // The last change that has passed, too (a meeting recorded afterwards).
    let today = Utc::now().date_naive();
    let past = [
        last_sunday(today.year(), 10),
        last_sunday(today.year(), 3),
        last_sunday(today.year() - 1, 10),
    ]
    .into_iter()
    .find(|d| *d < today - Duration::days(1))
    .expect("a change in the last year");
    days.push(past);
    let mut booked = Vec::new();
    for d in &days {
        booked.push(book_at(&app, &m, cph(*d, 10, 0)).await);
    }
    let cal = my_calendar(&app, &m.candidate).await;
    for a in &booked {
        let e = entry(&cal, a);
        assert_eq!(e.local(), ("10:00".into(), "11:00".into()), "{e:?}");
    }
    // The same wall-clock time is a different instant in summer and winter.
    let utc_hours: std::collections::BTreeSet<u32> =
        booked.iter().map(|a| entry(&cal, a).start.hour()).collect();
    assert_eq!(utc_hours, [8, 9].into());
    app.finish().await;
}

#[tokio::test]
async fn details_only_when_the_candidate_opts_in() {
    let app = TestApp::start().await;
    let m = app.municipality("603").await;
    let me = &m.candidate;
    let start = Utc::now() + Duration::days(3);
    let a = book(
        &app,
        &m.consultant,
        me,
        json!({
            "kind": "treatment", "title": "Samtale om medicin", "starts_at": rfc3339(start),
            "online_url": "https://meet.example.org/x", "note_for_candidate": "Husk recepten",
        }),
    )
    .await;
    let e = &my_calendar(&app, me).await[0];
    assert_eq!(
        (e.summary.as_str(), e.description.as_deref()),
        ("Møde", None)
    );

    let settings = app
        .get("/api/v1/me/calendar-feed", &me.token)
        .await
        .expect(200);
    assert_eq!(settings.body["show_details"], false);
    assert_eq!(settings.body["enabled"], false);
    let on = app
        .patch(
            "/api/v1/me/calendar-feed",
            &me.token,
            json!({"show_details": true}),
        )
        .await
        .expect(200);
    assert_eq!(on.body["show_details"], true);
    let cal = my_calendar(&app, me).await;
    let e = entry(&cal, &a);
    assert_eq!(e.summary, "Samtale om medicin");
    let description = e.description.as_deref().expect("description");
    assert!(
        description.contains("Husk recepten") && description.contains("https://meet.example.org/x")
    );
    assert_eq!(e.url.as_deref(), Some("https://meet.example.org/x"));

    // A stale If-Match is refused; the candidate's English gets English words.
    app.request(
        Method::PATCH,
        "/api/v1/me/calendar-feed",
        Some(&me.token),
        Some(json!({"show_details": false})),
        &[("if-match", "\"0\"")],
    )
    .await
    .problem(412);
    app.request(
        Method::PATCH,
        "/api/v1/me/calendar-feed",
        Some(&me.token),
        Some(json!({"show_details": false})),
        &[("if-match", "\"1\"")],
    )
    .await
    .expect(200);
    app.patch(
        &format!("/api/v1/candidates/{}", me.id),
        &m.coordinator.token,
        json!({"language": "en"}),
    )
    .await
    .expect(200);
    assert_eq!(my_calendar(&app, me).await[0].summary, "Meeting");
    app.finish().await;
}

#[tokio::test]
async fn the_secret_feed_works_without_a_token_until_it_is_replaced() {
    let app = TestApp::start().await;
    let m = app.municipality("604").await;
    let me = &m.candidate;
    book_at(&app, &m, Utc::now() + Duration::days(2)).await;

    let made = app
        .request(
            Method::POST,
            "/api/v1/me/calendar-feed",
            Some(&me.token),
            None,
            &[("host", "ips.example.dk")],
        )
        .await
        .expect(200)
        .body;
    let path = made["path"].as_str().expect("path").to_string();
    assert_eq!(
        made["url"].as_str(),
        Some(format!("https://ips.example.dk{path}").as_str())
    );
    assert!(
        path.starts_with("/api/v1/calendar/") && path.ends_with(".ics"),
        "{path}"
    );
    assert_eq!(made["feed"]["enabled"], true);
    let a = public(&app, &path).await.expect(200);
    assert_eq!(
        a.header("content-type"),
        Some("text/calendar; charset=utf-8")
    );
    assert_eq!(parse(&a.raw).len(), 1);
    // The other candidate's calendar is not in it.
    assert!(
        app.get("/api/v1/me/calendar.ics", &m.other_candidate.token)
            .await
            .expect(200)
            .raw
            .len()
            < a.raw.len()
    );

    // A new secret: the old URL is dead at once, the new one works.
    let again = app
        .call(
            Method::POST,
            "/api/v1/me/calendar-feed",
            Some(&me.token),
            None,
        )
        .await
        .expect(200)
        .body;
    let new_path = again["path"].as_str().expect("path").to_string();
    assert_ne!(new_path, path);
    public(&app, &path).await.problem(404);
    public(&app, &new_path).await.expect(200);
    public(&app, "/api/v1/calendar/not-a-secret.ics")
        .await
        .problem(404);

    // Turned off: no URL works; the token calendar still does.
    app.call(
        Method::DELETE,
        "/api/v1/me/calendar-feed",
        Some(&me.token),
        None,
    )
    .await
    .expect(204);
    public(&app, &new_path).await.problem(404);
    app.get("/api/v1/me/calendar-feed", &me.token)
        .await
        .expect(200);
    my_calendar(&app, me).await;
    app.finish().await;
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field() {
    let app = TestApp::start().await;
    let m = app.municipality("605").await;
    let (me, staff) = (&m.candidate, &m.consultant);
    let start = Utc::now() + Duration::days(1);
    let base = json!({"kind": "other", "title": "Møde", "starts_at": rfc3339(start)});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    for (body, field) in [
        (with("ends_at", json!(rfc3339(start))), "ends_at"),
        (
            with("ends_at", json!(rfc3339(start - Duration::minutes(5)))),
            "ends_at",
        ),
        (
            with(
                "ends_at",
                json!(rfc3339(start + Duration::minutes(12 * 60 + 1))),
            ),
            "ends_at",
        ),
        (
            with("online_url", json!("http://meet.example.org/x")),
            "online_url",
        ),
        (
            with("online_url", json!("javascript:alert(1)")),
            "online_url",
        ),
        (with("online_url", json!("https://")), "online_url"),
        (with("title", json!("   ")), "title"),
        (with("title", json!("x".repeat(201))), "title"),
        (with("location", json!("x".repeat(201))), "location"),
        (
            with("note_for_candidate", json!("x".repeat(2001))),
            "note_for_candidate",
        ),
        (with("kind", json!("therapy")), "kind"),
        (with("starts_at", json!("tomorrow")), "starts_at"),
        (
            with(
                "starts_at",
                json!(rfc3339(Utc::now() + Duration::days(3 * 366))),
            ),
            "starts_at",
        ),
        (with("colour", json!("red")), "colour"),
    ] {
        let a = app
            .post(&collection(me), &staff.token, body.clone())
            .await
            .problem(400);
        assert!(
            a.fields().contains(&field.to_string()),
            "{body}: {}",
            a.body
        );
    }
    // Exactly 12 hours is allowed.
    let long = book(
        &app,
        staff,
        me,
        with("ends_at", json!(rfc3339(start + Duration::hours(12)))),
    )
    .await;

    let a = app
        .patch(
            &one(me, &long),
            &staff.token,
            json!({"online_url": "ftp://x.org"}),
        )
        .await
        .problem(400);
    assert_eq!(a.fields(), ["online_url"]);
    let a = app
        .patch(
            &one(me, &long),
            &staff.token,
            json!({"ends_at": rfc3339(start)}),
        )
        .await
        .problem(400);
    assert_eq!(a.fields(), ["ends_at"]);
    let a = app
        .get(
            &format!(
                "/api/v1/me/appointments?from={}&to={}",
                rfc3339(start),
                rfc3339(start - Duration::hours(1))
            ),
            &me.token,
        )
        .await
        .problem(400);
    assert_eq!(a.fields(), ["to"]);
    let a = app
        .post(
            &format!("{}/cancel", one(me, &long)),
            &staff.token,
            json!({"reason": "  "}),
        )
        .await
        .problem(400);
    assert_eq!(a.fields(), ["reason"]);
    let answer = format!(
        "/api/v1/me/appointments/{}/response",
        long["id"].as_str().unwrap()
    );
    let a = app
        .post(&answer, &me.token, json!({"response": "maybe"}))
        .await
        .problem(400);
    assert_eq!(a.fields(), ["response"]);

    // The rules of the lifecycle.
    app.post(
        &format!("{}/close", one(me, &long)),
        &staff.token,
        json!({"status": "completed"}),
    )
    .await
    .problem(409);
    app.request(
        Method::PATCH,
        &one(me, &long),
        Some(&staff.token),
        Some(json!({"title": "Nyt"})),
        &[("if-match", "\"7\"")],
    )
    .await
    .problem(412);
    let same = app
        .patch(&one(me, &long), &staff.token, json!({"title": "Møde"}))
        .await
        .expect(200);
    assert_eq!(same.body["version"], 1, "no change, no new version");
    app.post(
        &format!("{}/cancel", one(me, &long)),
        &staff.token,
        json!({"reason": "Syg"}),
    )
    .await
    .expect(200);
    app.post(
        &format!("{}/cancel", one(me, &long)),
        &staff.token,
        json!({"reason": "Syg"}),
    )
    .await
    .problem(409);
    app.patch(&one(me, &long), &staff.token, json!({"title": "Nyt"}))
        .await
        .problem(409);
    app.post(&answer, &me.token, json!({"response": "accepted"}))
        .await
        .problem(409);
    app.finish().await;
}

#[tokio::test]
async fn out_of_reach_is_404_and_other_roles_403() {
    let app = TestApp::start().await;
    let m = app.municipality("606").await;
    let other = app.municipality("607").await;
    let admin = app.admin().await;
    let a = book_at(&app, &m, Utc::now() + Duration::days(1)).await;
    let path = one(&m.candidate, &a);
    let answer = format!(
        "/api/v1/me/appointments/{}/response",
        a["id"].as_str().unwrap()
    );

    // Another caseload, another municipality: as if it did not exist.
    for who in [&m.other_consultant, &other.coordinator, &other.consultant] {
        app.get(&path, &who.token).await.problem(404);
        app.get(&collection(&m.candidate), &who.token)
            .await
            .problem(404);
        app.patch(&path, &who.token, json!({"title": "x"}))
            .await
            .problem(404);
        app.post(
            &format!("{path}/cancel"),
            &who.token,
            json!({"reason": "x"}),
        )
        .await
        .problem(404);
        app.post(
            &collection(&m.candidate),
            &who.token,
            json!({"kind": "other", "title": "x", "starts_at": rfc3339(Utc::now())}),
        )
        .await
        .problem(404);
    }
    // Another candidate cannot answer it, nor see it.
    for who in [&m.other_candidate, &other.candidate] {
        app.post(&answer, &who.token, json!({"response": "accepted"}))
            .await
            .problem(404);
        let listed = app
            .get("/api/v1/me/appointments", &who.token)
            .await
            .expect(200);
        assert_eq!(listed.body["items"], json!([]));
    }
    // Service accounts and the operator never reach appointments; candidates not the staff routes.
    for who in [&m.service, &admin, &m.candidate] {
        app.get(&path, &who.token).await.problem(403);
        app.get(&collection(&m.candidate), &who.token)
            .await
            .problem(403);
    }
    for who in [&m.service, &admin, &m.consultant] {
        app.get("/api/v1/me/appointments", &who.token)
            .await
            .problem(403);
        app.get("/api/v1/me/calendar.ics", &who.token)
            .await
            .problem(403);
    }
    // The coordinator reaches every candidate of the municipality; the rightful candidate answers.
    app.get(&path, &m.coordinator.token).await.expect(200);
    app.post(&answer, &m.candidate.token, json!({"response": "accepted"}))
        .await
        .expect(200);
    app.finish().await;
}

fn instant_of(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().expect("a timestamp"))
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

/// The reminder of one appointment.
async fn reminders_of(app: &TestApp, who: &Person, a: &Value) -> Vec<Value> {
    notes(app, who, "appointment_reminder")
        .await
        .into_iter()
        .filter(|n| n["appointment_id"] == a["id"])
        .collect()
}

#[tokio::test]
async fn the_reminder_comes_once_and_follows_the_appointment() {
    let app = TestApp::start().await;
    let m = app.municipality("608").await;
    let me = &m.candidate;
    let db = &app.state.db;
    let now = Utc::now();
    let stays = book_at(&app, &m, now + Duration::hours(30)).await;
    let moves = book_at(&app, &m, now + Duration::hours(30)).await;
    let dropped = book_at(&app, &m, now + Duration::hours(30)).await;

    // Not yet: 30 hours ahead.
    assert_eq!(appointments::tick_at(db, now).await.expect("tick"), 0);
    // Moved to 50 hours ahead, cancelled: the first keeps its reminder, the others not now.
    let moved = app
        .patch(
            &one(me, &moves),
            &m.consultant.token,
            json!({"starts_at": rfc3339(now + Duration::hours(50))}),
        )
        .await
        .expect(200)
        .body;
    app.post(
        &format!("{}/cancel", one(me, &dropped)),
        &m.consultant.token,
        json!({"reason": "Flyttet"}),
    )
    .await
    .expect(200);
    // 24 hours before: twice over the same window, one reminder.
    let at = now + Duration::hours(7);
    assert_eq!(appointments::tick_at(db, at).await.expect("tick"), 1);
    assert_eq!(appointments::tick_at(db, at).await.expect("tick"), 0);
    assert_eq!(
        appointments::tick_at(db, at + Duration::hours(1))
            .await
            .expect("tick"),
        0
    );
    assert_eq!(reminders_of(&app, me, &stays).await.len(), 1);
    assert!(reminders_of(&app, me, &moves).await.is_empty());
    // The moved one's reminder comes 24 hours before its new time.
    assert_eq!(
        appointments::tick_at(db, now + Duration::hours(25))
            .await
            .expect("tick"),
        0
    );
    assert_eq!(
        appointments::tick_at(db, now + Duration::hours(27))
            .await
            .expect("tick"),
        1
    );
    let r = reminders_of(&app, me, &moves).await;
    assert_eq!(r.len(), 1);
    assert_eq!(
        instant_of(&r[0]["starts_at"]),
        instant_of(&moved["starts_at"])
    );
    // Nothing for the cancelled one, ever; nothing after the start.
    assert_eq!(
        appointments::tick_at(db, now + Duration::hours(29))
            .await
            .expect("tick"),
        0
    );
    assert!(reminders_of(&app, me, &dropped).await.is_empty());

    // Moved after its reminder was sent: a new reminder for the new time. Moved to within 24 hours: at once.
    app.patch(
        &one(me, &stays),
        &m.consultant.token,
        json!({"starts_at": rfc3339(now + Duration::hours(5))}),
    )
    .await
    .expect(200);
    assert_eq!(reminders_of(&app, me, &stays).await.len(), 2);
    let (types, _) = event_types(&app, &m).await;
    assert_eq!(
        types
            .iter()
            .filter(|t| *t == "appointment.reminder")
            .count(),
        3
    );
    app.finish().await;
}

#[tokio::test]
async fn no_reminders_while_the_course_is_paused() {
    let app = TestApp::start().await;
    let m = app.municipality("609").await;
    let me = &m.candidate;
    let db = &app.state.db;
    let now = Utc::now();
    transition(&app, &m, "active").await;
    transition(&app, &m, "paused").await;
    let later = book_at(&app, &m, now + Duration::hours(30)).await;
    let soon = book_at(&app, &m, now + Duration::hours(2)).await;
    let kept = book_at(&app, &m, now + Duration::days(40)).await;
    assert!(
        reminders_of(&app, me, &soon).await.is_empty(),
        "not even at once"
    );
    assert_eq!(
        appointments::tick_at(db, now + Duration::hours(7))
            .await
            .expect("tick"),
        0
    );

    // Staff see the scheduled appointments inside the pause, to cancel or keep.
    let listed = app
        .get(
            &format!("{}?during_pause=true", collection(me)),
            &m.consultant.token,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(3));
    app.post(
        &format!("{}/cancel", one(me, &kept)),
        &m.consultant.token,
        json!({"reason": "Pause"}),
    )
    .await
    .expect(200);
    let listed = app
        .get(
            &format!("{}?during_pause=true", collection(me)),
            &m.consultant.token,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(2));

    // Resumed: reminders for what is still ahead.
    transition(&app, &m, "active").await;
    assert_eq!(appointments::tick_at(db, now).await.expect("tick"), 1);
    assert_eq!(
        appointments::tick_at(db, now + Duration::hours(7))
            .await
            .expect("tick"),
        1
    );
    assert_eq!(reminders_of(&app, me, &later).await.len(), 1);
    assert_eq!(reminders_of(&app, me, &soon).await.len(), 1);
    let listed = app
        .get(
            &format!("{}?during_pause=true", collection(me)),
            &m.consultant.token,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(listed["items"], json!([]), "no pause, nothing in it");
    app.finish().await;
}

/// Two instances on one database run the reminder job at the same moment, on separate threads, over
/// the same due appointments: every reminder is sent exactly once between them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_ticking_at_once_send_each_reminder_once() {
    const ROUNDS: i64 = 4;
    const PER_ROUND: u64 = 15;
    let app = TestApp::start().await;
    let m = app.municipality("610").await;
    let second = app.second_instance(|_| {}).await;
    let now = Utc::now();
    let mut booked = Vec::new();
    for round in 0..ROUNDS {
        for i in 0..PER_ROUND as i64 {
            let start = now + Duration::hours(30 + round * 48) + Duration::minutes(i);
            booked.push(book_at(&app, &m, start).await);
        }
        let at = now + Duration::hours(7 + round * 48);
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let run = |db: ips_api::db::Db| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                appointments::tick_at(&db, at).await.expect("tick")
            })
        };
        let (a, b) = (run(app.state.db.clone()), run(second.db.clone()));
        let (a, b) = (a.await.expect("first"), b.await.expect("second"));
        assert_eq!(a + b, PER_ROUND, "round {round}: {a} + {b}");
    }
    for a in &booked {
        assert_eq!(reminders_of(&app, &m.candidate, a).await.len(), 1, "{a}");
    }
    let reminded = appointment::Entity::find()
        .filter(appointment::Column::CandidateId.eq(m.candidate.id))
        .filter(appointment::Column::RemindedAt.is_not_null())
        .all(app.state.db.read())
        .await
        .expect("rows");
    assert_eq!(reminded.len(), booked.len());
    second.db.close().await;
    app.finish().await;
}

async fn first_contact(app: &TestApp, me: &Person) -> Option<NaiveDate> {
    enrollment::Entity::find()
        .filter(enrollment::Column::CandidateId.eq(me.id))
        .one(app.state.db.read())
        .await
        .expect("course")
        .expect("a course")
        .first_employer_contact_on
}

async fn close_as(app: &TestApp, staff: &Person, me: &Person, a: &Value, status: &str) -> Answer {
    app.post(
        &format!("{}/close", one(me, a)),
        &staff.token,
        json!({"status": status}),
    )
    .await
}

#[tokio::test]
async fn a_completed_employer_meeting_is_the_first_employer_contact() {
    let app = TestApp::start().await;
    let m = app.municipality("611").await;
    let (me, staff) = (&m.candidate, &m.consultant);
    transition(&app, &m, "active").await;
    let just_now = Utc::now() - Duration::seconds(1);
    let meeting = book(
        &app,
        staff,
        me,
        json!({"kind": "consultant_meeting", "title": "Samtale", "starts_at": rfc3339(just_now)}),
    )
    .await;
    let employer = book(
        &app,
        staff,
        me,
        json!({"kind": "employer", "title": "Netto", "starts_at": rfc3339(just_now)}),
    )
    .await;
    let school = book(
        &app,
        staff,
        me,
        json!({"kind": "education", "title": "VUC", "starts_at": rfc3339(just_now - Duration::days(1))}),
    )
    .await;
    let future = book_at(&app, &m, Utc::now() + Duration::hours(1)).await;
    let course = || first_contact(&app, me);
    close_as(&app, staff, me, &future, "completed")
        .await
        .problem(409);
    assert_eq!(
        close_as(&app, staff, me, &meeting, "completed")
            .await
            .expect(200)
            .body["status"],
        "completed"
    );
    assert_eq!(course().await, None, "a consultant meeting does not count");
    assert_eq!(
        close_as(&app, staff, me, &employer, "no_show")
            .await
            .expect(200)
            .body["status"],
        "no_show"
    );
    assert_eq!(course().await, None, "a no-show does not count");
    let employer2 = book(
        &app,
        staff,
        me,
        json!({"kind": "employer", "title": "Netto", "starts_at": rfc3339(just_now)}),
    )
    .await;
    let closed = close_as(&app, staff, me, &employer2, "completed")
        .await
        .expect(200)
        .body;
    assert_eq!(closed["sequence"], 1);
    let day = just_now.with_timezone(&Copenhagen).date_naive();
    assert_eq!(course().await, Some(day));
    // Already filled: a later close of an earlier meeting leaves it.
    close_as(&app, staff, me, &school, "completed")
        .await
        .expect(200);
    assert_eq!(course().await, Some(day));
    close_as(&app, staff, me, &employer2, "completed")
        .await
        .problem(409);
    let (types, _) = event_types(&app, &m).await;
    assert!(types.iter().any(|t| t == "appointment.closed"));
    app.finish().await;
}

#[tokio::test]
async fn staff_lists_page_in_time_order() {
    let app = TestApp::start().await;
    let m = app.municipality("612").await;
    let start = Utc::now() + Duration::days(2);
    // Booked in reverse order; two at the same time.
    for i in (0..5i64).rev() {
        book_at(&app, &m, start + Duration::hours(i.min(3))).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("{}?limit=2&cursor={c}", collection(&m.candidate)),
            None => format!("{}?limit=2", collection(&m.candidate)),
        };
        let page = app.get(&path, &m.consultant.token).await.expect(200).body;
        for a in page["items"].as_array().unwrap() {
            seen.push(a.clone());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    let starts: Vec<&str> = seen
        .iter()
        .map(|a| a["starts_at"].as_str().unwrap())
        .collect();
    let mut sorted = starts.clone();
    sorted.sort();
    assert_eq!(starts, sorted);
    let unique: std::collections::BTreeSet<&str> =
        seen.iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(unique.len(), 5);
    app.finish().await;
}

//! Network groups (SPEC §4.12): the coordinator sets a group up, sessions are made eight weeks ahead at
//! the Copenhagen wall-clock time, candidates join and leave (idempotent), suggest topics as members,
//! and see their next session on the plan and in the calendar feed; facilitators record attendance
//! for members of sessions that have started; events carry ids only; the report counts attendance.
use chrono::{Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::Copenhagen;
use entity::{
    ids::{NetworkGroupId, NetworkGroupSessionId},
    network_group_session as session,
};
use ips_api::domain::network_groups;
use poem::http::Method;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{Value, json};

use crate::common::{Municipality, TestApp, all_events, today};

const GROUPS: &str = "/api/v1/network-groups";
const MINE: &str = "/api/v1/me/network-groups";

fn group_body(m: &Municipality) -> Value {
    json!({
        "name": "Torsdagsgruppen",
        "weekday": 4,
        "starts_at": "16:00",
        "duration_minutes": 90,
        "location": "Jobcentret, lokale 3",
        "facilitator_ids": [m.consultant.id],
    })
}

async fn create(app: &TestApp, m: &Municipality) -> String {
    let a = app
        .post(GROUPS, &m.coordinator.token, group_body(m))
        .await
        .expect(201);
    let id = a.body["id"].as_str().expect("id").to_string();
    assert_eq!(
        a.header("location"),
        Some(format!("{GROUPS}/{id}").as_str())
    );
    assert_eq!(a.header("etag"), Some("\"1\""));
    id
}

async fn sessions(app: &TestApp, m: &Municipality, id: &str) -> Vec<Value> {
    sessions_from(app, m, id, today()).await
}

/// The group's sessions on the days `from` to 70 days after today (Copenhagen days).
async fn sessions_from(app: &TestApp, m: &Municipality, id: &str, from: NaiveDate) -> Vec<Value> {
    let to = today() + Duration::days(70);
    app.get(
        &format!("{GROUPS}/{id}/sessions?from={from}&to={to}"),
        &m.coordinator.token,
    )
    .await
    .expect(200)
    .body["items"]
        .as_array()
        .expect("items")
        .clone()
}

/// A session of the group that started an hour ago and ends in an hour (the jobs make only future
/// ones; attendance needs one that has started).
async fn running_session(app: &TestApp, m: &Municipality, id: &str) -> String {
    let now = Utc::now();
    let s = session::ActiveModel {
        id: Set(NetworkGroupSessionId::generate()),
        group_id: Set(NetworkGroupId(id.parse().expect("uuid"))),
        municipality_id: Set(m.id),
        starts_at: Set(now - Duration::hours(1)),
        ends_at: Set(now + Duration::hours(1)),
        topic: Set(None),
        cancelled: Set(false),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(app.state.db.write())
    .await
    .expect("session");
    s.id.to_string()
}

#[tokio::test]
async fn the_coordinator_sets_up_a_group_and_sessions_follow_copenhagen_time() {
    let app = TestApp::start().await;
    let m = app.municipality("701").await;
    // Eight weeks of dates from today hold eight Thursdays. On a Thursday after 16:00 in Copenhagen
    // this week's session has started, and only sessions that have not are made.
    let first =
        today() + Duration::days((4 - today().weekday().number_from_monday() as i64).rem_euclid(7));
    let first = Copenhagen
        .from_local_datetime(&first.and_time(NaiveTime::from_hms_opt(16, 0, 0).unwrap()))
        .single()
        .unwrap();
    let expected = if first > Utc::now() { 8 } else { 7 };
    let id = create(&app, &m).await;

    let list = sessions(&app, &m, &id).await;
    assert_eq!(list.len(), expected, "eight weeks ahead: {list:?}");
    for s in &list {
        let start: chrono::DateTime<Utc> = s["starts_at"].as_str().unwrap().parse().unwrap();
        let local = start.with_timezone(&Copenhagen);
        // Weekday and wall-clock time where the people are, whatever the UTC offset that day.
        assert_eq!(local.weekday().number_from_monday(), 4, "{s}");
        assert_eq!(
            local.time(),
            NaiveTime::from_hms_opt(16, 0, 0).unwrap(),
            "{s}"
        );
        let end: chrono::DateTime<Utc> = s["ends_at"].as_str().unwrap().parse().unwrap();
        assert_eq!(end - start, Duration::minutes(90));
        assert_eq!(s["cancelled"], false);
    }

    // The jobs tick again (on two instances, say): no duplicates.
    network_groups::tick(&app.state.db).await.expect("tick");
    network_groups::tick(&app.state.db).await.expect("tick");
    let made = session::Entity::find()
        .filter(session::Column::GroupId.eq(NetworkGroupId(id.parse().unwrap())))
        .count(app.state.db.read())
        .await
        .unwrap();
    assert_eq!(made, expected as u64);

    // Consultants of the municipality read; the group lists its facilitator.
    let g = app
        .get(&format!("{GROUPS}/{id}"), &m.consultant.token)
        .await
        .expect(200);
    assert_eq!(g.body["facilitator_ids"], json!([m.consultant.id]));
    assert_eq!(g.body["members"], json!([]));
    assert_eq!(g.body["topic_suggestions"], json!([]));
    let all = app.get(GROUPS, &m.consultant.token).await.expect(200);
    assert_eq!(all.body["items"].as_array().map(Vec::len), Some(1));

    // Moving the group to Monday 09:30 moves the sessions ahead.
    let a = app
        .request(
            Method::PATCH,
            &format!("{GROUPS}/{id}"),
            Some(&m.coordinator.token),
            Some(json!({"weekday": 1, "starts_at": "09:30"})),
            &[("if-match", "\"1\"")],
        )
        .await
        .expect(200);
    assert_eq!(a.header("etag"), Some("\"2\""));
    let list = sessions(&app, &m, &id).await;
    assert!(!list.is_empty());
    for s in &list {
        let start: chrono::DateTime<Utc> = s["starts_at"].as_str().unwrap().parse().unwrap();
        let local = start.with_timezone(&Copenhagen);
        assert_eq!(local.weekday().number_from_monday(), 1, "{s}");
        assert_eq!(local.time(), NaiveTime::from_hms_opt(9, 30, 0).unwrap());
    }
    // Stopping the group removes the sessions ahead; starting it again makes them again.
    for (active, version, expect_sessions) in [(false, "\"2\"", false), (true, "\"3\"", true)] {
        app.request(
            Method::PATCH,
            &format!("{GROUPS}/{id}"),
            Some(&m.coordinator.token),
            Some(json!({"active": active})),
            &[("if-match", version)],
        )
        .await
        .expect(200);
        assert_eq!(!sessions(&app, &m, &id).await.is_empty(), expect_sessions);
    }
    // A stale version is 412.
    app.request(
        Method::PATCH,
        &format!("{GROUPS}/{id}"),
        Some(&m.coordinator.token),
        Some(json!({"name": "Mandagsgruppen"})),
        &[("if-match", "\"1\"")],
    )
    .await
    .problem(412);
    app.finish().await;
}

#[tokio::test]
async fn roles_and_municipalities() {
    let app = TestApp::start().await;
    let m = app.municipality("702").await;
    let other = app.municipality("703").await;
    let admin = app.admin().await;
    let id = create(&app, &m).await;
    let path = format!("{GROUPS}/{id}");

    // Only the coordinator sets up and changes groups.
    for token in [&m.consultant.token, &admin.token, &m.service.token] {
        app.post(GROUPS, token, group_body(&m)).await.problem(403);
        app.patch(&path, token, json!({"name": "x"}))
            .await
            .problem(403);
    }
    // Admins and service accounts never see groups; candidates use /me.
    for token in [&admin.token, &m.service.token, &m.candidate.token] {
        app.get(&path, token).await.problem(403);
        app.get(GROUPS, token).await.problem(403);
    }
    for token in [&m.consultant.token, &m.coordinator.token, &m.service.token] {
        app.get(MINE, token).await.problem(403);
    }
    // Another municipality: 404, the same as for no group at all.
    app.get(&path, &other.coordinator.token).await.problem(404);
    app.patch(&path, &other.coordinator.token, json!({"name": "x"}))
        .await
        .problem(404);
    app.post(
        &format!("{MINE}/{id}/join"),
        &other.candidate.token,
        json!({}),
    )
    .await
    .problem(404);
    let session = sessions(&app, &m, &id).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let elsewhere = &other.coordinator.token;
    let today = today();
    app.get(
        &format!("{path}/sessions?from={today}&to={today}"),
        elsewhere,
    )
    .await
    .problem(404);
    app.patch(
        &format!("{path}/sessions/{session}"),
        elsewhere,
        json!({"topic": "x"}),
    )
    .await
    .problem(404);
    app.call(
        Method::PUT,
        &format!("{path}/sessions/{session}/attendance"),
        Some(elsewhere),
        Some(json!({"attendance": []})),
    )
    .await
    .problem(404);
    app.post(
        &format!("{path}/invitations"),
        elsewhere,
        json!({"candidate_id": other.candidate.id}),
    )
    .await
    .problem(404);
    let listed = app.get(MINE, &other.candidate.token).await.expect(200);
    assert_eq!(listed.body["items"], json!([]));
    assert_eq!(
        app.get(GROUPS, &other.coordinator.token)
            .await
            .expect(200)
            .body["items"],
        json!([])
    );
    app.finish().await;
}

#[tokio::test]
async fn bad_input_names_the_field() {
    let app = TestApp::start().await;
    let m = app.municipality("704").await;
    let other = app.municipality("705").await;
    let token = &m.coordinator.token;
    let with = |extra: Value| {
        let mut b = group_body(&m);
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    for (extra, field) in [
        (json!({"weekday": 0}), "weekday"),
        (json!({"weekday": 8}), "weekday"),
        (json!({"starts_at": "24:00"}), "starts_at"),
        (json!({"starts_at": "9:00"}), "starts_at"),
        (json!({"starts_at": "16:00:00"}), "starts_at"),
        (json!({"duration_minutes": 10}), "duration_minutes"),
        (json!({"duration_minutes": 481}), "duration_minutes"),
        (json!({"name": ""}), "name"),
        (json!({"name": "a\u{0}b"}), "name"),
        (json!({"location": "x\u{1b}[31m"}), "location"),
        (json!({"online_url": "http://example.org"}), "online_url"),
        (
            json!({"facilitator_ids": [other.consultant.id]}),
            "facilitator_ids",
        ),
        (
            json!({"facilitator_ids": [m.candidate.id]}),
            "facilitator_ids",
        ),
        (json!({"facilitator_ids": "x"}), "facilitator_ids"),
        (json!({"colour": "blue"}), "colour"),
    ] {
        let a = app
            .post(GROUPS, token, with(extra.clone()))
            .await
            .problem(400);
        assert!(
            a.fields().contains(&field.to_string()),
            "{extra}: {:?}",
            a.body
        );
    }
    let id = create(&app, &m).await;
    let s = |q: &str| format!("{GROUPS}/{id}/sessions?{q}");
    for (q, field) in [
        ("from=2027-01-10&to=2027-01-09", "to"),
        ("from=2027-01-01&to=2028-03-01", "to"),
        ("from=2027-13-01&to=2028-01-01", "from"),
        ("to=2027-01-01", "from"),
    ] {
        let a = app.get(&s(q), token).await.problem(400);
        assert!(a.fields().contains(&field.to_string()), "{q}: {:?}", a.body);
    }
    app.get(&s("from=2027-01-01&to=2028-02-04"), token)
        .await
        .expect(200);
    // A topic suggestion: bounded, no control characters.
    app.post(&format!("{MINE}/{id}/join"), &m.candidate.token, json!({}))
        .await
        .expect(200);
    for text in [
        json!(""),
        json!("x".repeat(501)),
        json!("a\u{7f}b"),
        json!(5),
    ] {
        let a = app
            .post(
                &format!("{MINE}/{id}/topic-suggestions"),
                &m.candidate.token,
                json!({"text": text}),
            )
            .await
            .problem(400);
        assert!(a.fields().contains(&"text".to_string()), "{:?}", a.body);
    }
    app.finish().await;
}

#[tokio::test]
async fn joining_and_leaving_are_the_candidates_own_and_idempotent() {
    let app = TestApp::start().await;
    let m = app.municipality("706").await;
    let id = create(&app, &m).await;
    let me = &m.candidate.token;

    let list = app.get(MINE, me).await.expect(200);
    let g = &list.body["items"][0];
    assert_eq!(g["id"], id.as_str());
    assert_eq!(g["member"], false);
    assert!(g["next_session"]["starts_at"].is_string(), "{g}");
    assert_eq!(g["my_attendance"], json!([]));
    // Not a member: no session on the plan, no topic suggestion.
    let plan = app.get("/api/v1/me/plan", me).await.expect(200);
    assert_eq!(plan.body["next_network_group_session"], Value::Null);
    app.post(
        &format!("{MINE}/{id}/topic-suggestions"),
        me,
        json!({"text": "Jobsamtaler"}),
    )
    .await
    .problem(409);

    for _ in 0..2 {
        let a = app
            .post(&format!("{MINE}/{id}/join"), me, json!({}))
            .await
            .expect(200);
        assert_eq!(a.body["member"], true);
    }
    let plan = app.get("/api/v1/me/plan", me).await.expect(200);
    let next = &plan.body["next_network_group_session"];
    assert_eq!(next["network_group_id"], id.as_str());
    assert_eq!(next["starts_at"], g["next_session"]["starts_at"]);

    // The calendar feed has the sessions, titled neutrally: no group name.
    let ics = app.get("/api/v1/me/calendar.ics", me).await.expect(200);
    let text = String::from_utf8_lossy(&ics.raw).to_string();
    assert!(text.contains("SUMMARY:Netværksgruppe"), "{text}");
    assert!(!text.contains("Torsdagsgruppen"), "{text}");

    // A suggestion, seen by staff (not in events).
    app.post(
        &format!("{MINE}/{id}/topic-suggestions"),
        me,
        json!({"text": "Hvordan siger man til en chef at man er nervøs?"}),
    )
    .await
    .expect(201);
    let staff_view = app
        .get(&format!("{GROUPS}/{id}"), &m.consultant.token)
        .await
        .expect(200);
    assert_eq!(
        staff_view.body["topic_suggestions"][0]["text"],
        "Hvordan siger man til en chef at man er nervøs?"
    );
    assert_eq!(
        staff_view.body["members"][0]["candidate_id"],
        json!(m.candidate.id)
    );

    for _ in 0..2 {
        let a = app
            .post(&format!("{MINE}/{id}/leave"), me, json!({}))
            .await
            .expect(200);
        assert_eq!(a.body["member"], false);
    }
    let plan = app.get("/api/v1/me/plan", me).await.expect(200);
    assert_eq!(plan.body["next_network_group_session"], Value::Null);
    // Rejoining is allowed.
    app.post(&format!("{MINE}/{id}/join"), me, json!({}))
        .await
        .expect(200);

    let events = all_events(&app, &m.coordinator.token).await;
    let kinds: Vec<&str> = events
        .iter()
        .filter_map(|e| e["type"].as_str())
        .filter(|t| t.starts_with("network_group."))
        .collect();
    assert_eq!(
        kinds,
        [
            "network_group.joined",
            "network_group.left",
            "network_group.joined"
        ]
    );
    for e in &events {
        let text = e.to_string();
        assert!(
            !text.contains("nervøs") && !text.contains("Torsdagsgruppen"),
            "{text}"
        );
    }

    // The export has the memberships and the suggestion.
    let export = app.get("/api/v1/me/export", me).await.expect(200);
    let ng = &export.body["network_groups"];
    assert_eq!(ng["memberships"].as_array().map(Vec::len), Some(2), "{ng}");
    assert_eq!(ng["topic_suggestions"].as_array().map(Vec::len), Some(1));
    app.finish().await;
}

#[tokio::test]
async fn attendance_only_for_members_of_started_sessions() {
    let app = TestApp::start().await;
    let m = app.municipality("707").await;
    let id = create(&app, &m).await;
    app.post(&format!("{MINE}/{id}/join"), &m.candidate.token, json!({}))
        .await
        .expect(200);
    let future = sessions(&app, &m, &id).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let now = running_session(&app, &m, &id).await;
    let put = |session: &str, who: &str, body: Value| {
        let path = format!("{GROUPS}/{id}/sessions/{session}/attendance");
        let token = who.to_string();
        let app = &app;
        async move { app.call(Method::PUT, &path, Some(&token), Some(body)).await }
    };
    let me_came = json!({"attendance": [{"candidate_id": m.candidate.id, "attended": true}]});

    // Not yet started: 409.
    put(&future, &m.consultant.token, me_came.clone())
        .await
        .problem(409);
    // A consultant who does not run the group: 403; admins and service accounts too.
    put(&now, &m.other_consultant.token, me_came.clone())
        .await
        .problem(403);
    put(&now, &m.service.token, me_came.clone())
        .await
        .problem(403);
    // The facilitator records it.
    let a = put(&now, &m.consultant.token, me_came.clone())
        .await
        .expect(200);
    assert_eq!(
        a.body["attendance"],
        json!([{"candidate_id": m.candidate.id, "attended": true}])
    );
    // A non-member in the list: 400 naming the entry, and nothing changes.
    let a = put(
        &now,
        &m.coordinator.token,
        json!({"attendance": [
            {"candidate_id": m.candidate.id, "attended": false},
            {"candidate_id": m.other_candidate.id, "attended": true},
        ]}),
    )
    .await
    .problem(400);
    assert_eq!(a.fields(), ["attendance[1].candidate_id"]);
    // From yesterday: between midnight and one in Copenhagen the running session began yesterday.
    let s = sessions_from(&app, &m, &id, today() - Duration::days(1)).await;
    let running = s.iter().find(|s| s["id"] == now.as_str()).expect("listed");
    assert_eq!(
        running["attendance"],
        json!([{"candidate_id": m.candidate.id, "attended": true}])
    );

    // I see my own attendance.
    let mine = app.get(MINE, &m.candidate.token).await.expect(200);
    assert_eq!(
        mine.body["items"][0]["my_attendance"][0]["session_id"],
        now.as_str()
    );
    assert_eq!(mine.body["items"][0]["my_attendance"][0]["attended"], true);

    // The event carries ids only.
    let events = all_events(&app, &m.coordinator.token).await;
    let e = events
        .iter()
        .find(|e| e["type"] == "network_group.attendance_recorded")
        .expect("event");
    assert_eq!(
        e["payload"],
        json!({"network_group_id": id, "session_id": now})
    );

    // The report: one session held, one member, who came.
    let from = today() - Duration::days(1);
    let to = today();
    let r = app
        .get(
            &format!("/api/v1/reports/network-groups?from={from}&to={to}"),
            &m.coordinator.token,
        )
        .await
        .expect(200);
    assert_eq!(
        r.body,
        json!({"groups": 1, "sessions_held": 1, "participants": 1,
               "attendance": {"count": 1, "percent": 100.0}})
    );
    // The topic of a session, set by the facilitator, and a cancellation.
    let a = app
        .request(
            Method::PATCH,
            &format!("{GROUPS}/{id}/sessions/{future}"),
            Some(&m.consultant.token),
            Some(json!({"topic": "Jobsamtaler", "cancelled": true})),
            &[("if-match", "\"1\"")],
        )
        .await
        .expect(200);
    assert_eq!(a.body["topic"], "Jobsamtaler");
    assert_eq!(a.header("etag"), Some("\"2\""));
    app.request(
        Method::PATCH,
        &format!("{GROUPS}/{id}/sessions/{future}"),
        Some(&m.other_consultant.token),
        Some(json!({"topic": "x"})),
        &[],
    )
    .await
    .problem(403);
    app.finish().await;
}

#[tokio::test]
async fn staff_invite_a_candidate_they_reach() {
    let app = TestApp::start().await;
    let m = app.municipality("708").await;
    let id = create(&app, &m).await;
    let path = format!("{GROUPS}/{id}/invitations");
    app.post(
        &path,
        &m.consultant.token,
        json!({"candidate_id": m.candidate.id}),
    )
    .await
    .expect(204);
    // Another caseload's candidate is out of the consultant's reach.
    app.post(
        &path,
        &m.consultant.token,
        json!({"candidate_id": m.other_candidate.id}),
    )
    .await
    .problem(404);
    let n = app
        .get("/api/v1/me/notifications", &m.candidate.token)
        .await
        .expect(200);
    let kinds: Vec<&str> = n.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"network_group_invitation"), "{kinds:?}");
    // An invitation is not an enrolment.
    let mine = app.get(MINE, &m.candidate.token).await.expect(200);
    assert_eq!(mine.body["items"][0]["member"], false);
    app.finish().await;
}

#[test]
fn sixteen_hundred_in_march_and_october() {
    let day = |y, mo, d| chrono::NaiveDate::from_ymd_opt(y, mo, d).unwrap();
    let four = NaiveTime::from_hms_opt(16, 0, 0).unwrap();
    // A Thursday in March (before summer time) and in October (summer time).
    let march = network_groups::instant(day(2027, 3, 18), four);
    let october = network_groups::instant(day(2027, 10, 14), four);
    assert_eq!(march, Utc.with_ymd_and_hms(2027, 3, 18, 15, 0, 0).unwrap());
    assert_eq!(
        october,
        Utc.with_ymd_and_hms(2027, 10, 14, 14, 0, 0).unwrap()
    );
}

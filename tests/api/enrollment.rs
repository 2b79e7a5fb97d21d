//! Courses: the state machine, the fields, dates and history of a transition, changing the course, a
//! new course after the last one ended, and what service accounts see of it.
use chrono::Days;
use poem::http::Method;
use serde_json::{Value, json};

use crate::common::{
    CANDIDATES, TestApp, assert_fields, candidate_path, create, date, days_ago, drive,
    new_candidate, to, today, transition, with,
};

/// The six statuses of a course.
const STATUSES: [&str; 6] = [
    "referred",
    "active",
    "paused",
    "aftercare",
    "completed",
    "stopped",
];

/// SPEC §4.4: where a course may go from each status.
fn allowed(from: &str) -> Vec<&'static str> {
    match from {
        "referred" => vec!["active", "stopped"],
        "active" => vec!["paused", "aftercare", "completed", "stopped"],
        "paused" => vec!["active", "stopped"],
        "aftercare" => vec!["active", "completed", "stopped"],
        "completed" | "stopped" => vec![],
        other => panic!("unknown status {other}"),
    }
}

#[tokio::test]
async fn every_transition_follows_the_state_machine() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let who = &m.consultant;
    for from in STATUSES {
        // One course in `from` tries every refused target; refusals change nothing.
        let id = app.candidate(m.id, who.id, from).await.id.to_string();
        drive(&app, who, &id, from).await;
        let version = app
            .get(&format!("{CANDIDATES}/{id}/enrollment"), &who.token)
            .await
            .expect(200)
            .body["version"]
            .clone();
        for target in STATUSES {
            if allowed(from).contains(&target) {
                continue;
            }
            let a = transition(&app, who, &id, to(target)).await.problem(409);
            assert_eq!(
                a.body["allowed_transitions"],
                json!(allowed(from)),
                "{from} → {target}: {}",
                a.body
            );
        }
        let e = app
            .get(&format!("{CANDIDATES}/{id}/enrollment"), &who.token)
            .await
            .expect(200);
        assert_eq!(e.body["status"], from);
        assert_eq!(e.body["version"], version);
        // Every allowed target works, each on a fresh course in `from`.
        for target in allowed(from) {
            let id = app.candidate(m.id, who.id, target).await.id.to_string();
            drive(&app, who, &id, from).await;
            let a = transition(&app, who, &id, to(target)).await.expect(200);
            assert_eq!(a.body["status"], target, "{from} → {target}");
            let history = a.body["history"].as_array().expect("history");
            let last = history.last().expect("entry");
            assert_eq!(last["from"], from);
            assert_eq!(last["to"], target);
            let c = app.get(&candidate_path(&id), &who.token).await.expect(200);
            assert_eq!(
                c.body["status"], target,
                "the candidate shows the course status"
            );
        }
    }
    app.finish().await;
}

#[tokio::test]
async fn transition_fields_dates_and_history() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let who = &m.consultant;
    let id = create(
        &app,
        who,
        with(
            new_candidate("Dato"),
            json!({"referred_on": date(days_ago(100))}),
        ),
    )
    .await;
    let enrollment = format!("{CANDIDATES}/{id}/enrollment");

    // `outcome` only, and always, with `completed`; `resume_on` only with `paused`.
    let a = transition(&app, who, &id, json!({"to": "active", "outcome": "job"}))
        .await
        .problem(400);
    assert_fields(&a, &["outcome"]);
    let a = transition(
        &app,
        who,
        &id,
        json!({"to": "active", "resume_on": date(today() + Days::new(3))}),
    )
    .await
    .problem(400);
    assert_fields(&a, &["resume_on"]);
    let a = transition(&app, who, &id, json!({"to": "active", "outcome": "rich"}))
        .await
        .problem(400);
    assert_fields(&a, &["outcome"]);
    let a = transition(&app, who, &id, json!({"to": "sleeping"}))
        .await
        .problem(400);
    assert_fields(&a, &["to"]);
    let a = transition(&app, who, &id, json!({"to": "active", "becuase": "typo"}))
        .await
        .problem(400);
    assert_fields(&a, &["becuase"]);

    // Not before the referral, not in the future.
    transition(
        &app,
        who,
        &id,
        json!({"to": "active", "effective_on": date(days_ago(101))}),
    )
    .await
    .problem(409);
    transition(
        &app,
        who,
        &id,
        json!({"to": "active", "effective_on": date(today() + Days::new(1))}),
    )
    .await
    .problem(409);
    assert_eq!(
        app.get(&enrollment, &who.token).await.expect(200).body["version"],
        1
    );

    // A back-dated import: each change on or after the previous one.
    // (The resumption shares its date with the pause: equal to the previous change is fine.)
    for body in [
        json!({"to": "active", "effective_on": date(days_ago(90)), "reason": "start"}),
        json!({"to": "paused", "effective_on": date(days_ago(80)), "reason": "ill", "resume_on": date(days_ago(75))}),
        json!({"to": "active", "effective_on": date(days_ago(80))}),
        json!({"to": "aftercare", "effective_on": date(days_ago(60))}),
    ] {
        transition(&app, who, &id, body).await.expect(200);
    }
    // Before the previous change → 409.
    transition(
        &app,
        who,
        &id,
        json!({"to": "completed", "outcome": "job", "effective_on": date(days_ago(61))}),
    )
    .await
    .problem(409);
    // Completing needs an outcome.
    let a = transition(
        &app,
        who,
        &id,
        json!({"to": "completed", "effective_on": date(days_ago(50))}),
    )
    .await
    .problem(400);
    assert_fields(&a, &["outcome"]);
    let a = app
        .request(
            Method::POST,
            &format!("{enrollment}/transitions"),
            Some(&who.token),
            Some(json!({"to": "completed", "outcome": "flex_job", "effective_on": date(days_ago(50)), "reason": "hired"})),
            &[("if-match", "\"5\"")],
        )
        .await
        .expect(200);
    assert_eq!(a.header("etag"), Some("\"6\""));
    let e = &a.body;
    assert_eq!(e["status"], "completed");
    assert_eq!(e["outcome"], "flex_job");
    assert_eq!(e["referred_on"], date(days_ago(100)));
    assert_eq!(
        e["started_on"],
        date(days_ago(90)),
        "the first day it was active"
    );
    assert_eq!(e["ended_on"], date(days_ago(50)));
    assert_eq!(e["version"], 6);
    let history = e["history"].as_array().expect("history");
    let expected = [
        (Value::Null, "referred", 100, Value::Null),
        (json!("referred"), "active", 90, json!("start")),
        (json!("active"), "paused", 80, json!("ill")),
        (json!("paused"), "active", 80, Value::Null),
        (json!("active"), "aftercare", 60, Value::Null),
        (json!("aftercare"), "completed", 50, json!("hired")),
    ];
    assert_eq!(history.len(), expected.len(), "{e}");
    for (h, (from, to, ago, reason)) in history.iter().zip(expected) {
        assert_eq!(h["from"], from, "{h}");
        assert_eq!(h["to"], to, "{h}");
        assert_eq!(h["effective_on"], date(days_ago(ago)), "{h}");
        assert_eq!(h["by"], who.id.to_string());
        assert_eq!(h["by_role"], "consultant");
        assert_eq!(h["reason"], reason, "{h}");
        assert!(h["recorded_at"].is_string());
    }
    // The GET shows the same.
    let got = app.get(&enrollment, &who.token).await.expect(200);
    assert_eq!(got.body["history"], e["history"]);
    assert_eq!(got.header("etag"), Some("\"6\""));

    // A stale If-Match on a transition → 412.
    let id2 = app.candidate(m.id, who.id, "Stale").await.id.to_string();
    app.request(
        Method::POST,
        &format!("{CANDIDATES}/{id2}/enrollment/transitions"),
        Some(&who.token),
        Some(json!({"to": "active"})),
        &[("if-match", "\"7\"")],
    )
    .await
    .problem(412);

    // `resume_on` with a pause, after its first day; cleared on resuming. Stopping sets `ended_on`.
    transition(&app, who, &id2, to("active")).await.expect(200);
    let a = transition(
        &app,
        who,
        &id2,
        json!({"to": "paused", "resume_on": date(today())}),
    )
    .await
    .problem(400);
    assert_fields(&a, &["resume_on"]);
    let a = transition(
        &app,
        who,
        &id2,
        json!({"to": "paused", "resume_on": date(today() + Days::new(14))}),
    )
    .await
    .expect(200);
    assert_eq!(a.body["resume_on"], date(today() + Days::new(14)));
    assert!(a.body["ended_on"].is_null());
    let a = transition(&app, who, &id2, to("active")).await.expect(200);
    assert!(a.body["resume_on"].is_null());
    assert_eq!(a.body["started_on"], date(today()));
    let a = transition(&app, who, &id2, json!({"to": "stopped", "reason": "moved"}))
        .await
        .expect(200);
    assert_eq!(a.body["ended_on"], date(today()));
    assert!(a.body["outcome"].is_null());
    // A stopped course stopped before it started keeps `started_on` empty.
    let id3 = app.candidate(m.id, who.id, "Never").await.id.to_string();
    let a = transition(&app, who, &id3, to("stopped")).await.expect(200);
    assert!(a.body["started_on"].is_null());
    assert_eq!(a.body["ended_on"], date(today()));
    app.finish().await;
}

#[tokio::test]
async fn patch_the_course() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let who = &m.consultant;
    let id = create(
        &app,
        who,
        with(
            new_candidate("Fase"),
            json!({"referred_on": date(days_ago(40))}),
        ),
    )
    .await;
    let enrollment = format!("{CANDIDATES}/{id}/enrollment");

    // The phase only while active.
    app.patch(&enrollment, &who.token, json!({"phase": "middle"}))
        .await
        .problem(409);
    let a = transition(&app, who, &id, to("active")).await.expect(200);
    assert_eq!(a.body["phase"], "start");
    let a = app
        .patch(&enrollment, &who.token, json!({"phase": "middle"}))
        .await
        .expect(200);
    assert_eq!(a.body["phase"], "middle");
    assert_eq!(a.body["version"], 3);
    assert_eq!(a.header("etag"), Some("\"3\""));
    let a = app
        .patch(&enrollment, &who.token, json!({"phase": "end"}))
        .await
        .problem(400);
    assert_fields(&a, &["phase"]);

    // The first employer contact lies between the referral and today.
    for bad in [days_ago(41), today() + Days::new(1)] {
        let a = app
            .patch(
                &enrollment,
                &who.token,
                json!({"first_employer_contact_on": date(bad)}),
            )
            .await
            .problem(400);
        assert_fields(&a, &["first_employer_contact_on"]);
    }
    let a = app
        .patch(
            &enrollment,
            &who.token,
            json!({"first_employer_contact_on": date(days_ago(40))}),
        )
        .await
        .expect(200);
    assert_eq!(a.body["first_employer_contact_on"], date(days_ago(40)));
    assert_eq!(a.body["phase"], "middle", "absent fields stay");
    let a = app
        .patch(
            &enrollment,
            &who.token,
            json!({"first_employer_contact_on": null}),
        )
        .await
        .expect(200);
    assert!(a.body["first_employer_contact_on"].is_null());
    assert_eq!(a.body["version"], 5);

    // A stale If-Match → 412, and nothing changes.
    app.request(
        Method::PATCH,
        &enrollment,
        Some(&who.token),
        Some(json!({"phase": "start"})),
        &[("if-match", "\"3\"")],
    )
    .await
    .problem(412);
    let a = app
        .request(
            Method::PATCH,
            &enrollment,
            Some(&who.token),
            Some(json!({"phase": "start"})),
            &[("if-match", "\"5\"")],
        )
        .await
        .expect(200);
    assert_eq!(a.body["phase"], "start");
    assert_eq!(a.body["history"].as_array().expect("history").len(), 2);

    // Paused: the phase is kept but cannot be changed.
    let a = transition(&app, who, &id, to("paused")).await.expect(200);
    assert_eq!(a.body["phase"], "start");
    app.patch(&enrollment, &who.token, json!({"phase": "middle"}))
        .await
        .problem(409);
    // Unknown fields are refused; another consultant does not reach the course.
    let a = app
        .patch(&enrollment, &who.token, json!({"status": "active"}))
        .await
        .problem(400);
    assert_fields(&a, &["status"]);
    app.patch(
        &enrollment,
        &m.other_consultant.token,
        json!({"first_employer_contact_on": date(today())}),
    )
    .await
    .problem(404);
    app.finish().await;
}

#[tokio::test]
async fn a_new_course_after_the_last_one_ended() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let who = &m.consultant;
    let id = create(
        &app,
        who,
        with(
            new_candidate("Igen"),
            json!({"referred_on": date(days_ago(60))}),
        ),
    )
    .await;
    let courses = format!("{CANDIDATES}/{id}/enrollments");

    // While the course is open (referred, active, …) there is no second one.
    app.post(&courses, &who.token, json!({})).await.problem(409);
    transition(
        &app,
        who,
        &id,
        json!({"to": "active", "effective_on": date(days_ago(50))}),
    )
    .await
    .expect(200);
    app.post(&courses, &who.token, json!({})).await.problem(409);
    transition(
        &app,
        who,
        &id,
        json!({"to": "stopped", "effective_on": date(days_ago(20))}),
    )
    .await
    .expect(200);
    let first = app
        .get(&format!("{CANDIDATES}/{id}/enrollment"), &who.token)
        .await
        .expect(200)
        .body;

    // Not before the last one ended, not in the future.
    app.post(
        &courses,
        &who.token,
        json!({"referred_on": date(days_ago(21))}),
    )
    .await
    .problem(409);
    let a = app
        .post(
            &courses,
            &who.token,
            json!({"referred_on": date(today() + Days::new(1))}),
        )
        .await
        .problem(400);
    assert_fields(&a, &["referred_on"]);

    let a = app
        .post(
            &courses,
            &who.token,
            json!({"referred_on": date(days_ago(10))}),
        )
        .await
        .expect(201);
    assert_eq!(
        a.header("location"),
        Some(format!("{CANDIDATES}/{id}/enrollment").as_str())
    );
    assert_eq!(a.header("etag"), Some("\"1\""));
    let second = a.body;
    assert_eq!(second["status"], "referred");
    assert_eq!(second["referred_on"], date(days_ago(10)));
    assert_ne!(second["id"], first["id"]);
    let h = second["history"].as_array().expect("history");
    assert_eq!(h.len(), 1);
    assert!(h[0]["from"].is_null());
    assert_eq!(h[0]["to"], "referred");
    // The candidate is referred again.
    let c = app.get(&candidate_path(&id), &who.token).await.expect(200);
    assert_eq!(c.body["status"], "referred");

    // Both courses, newest first, each with its own history.
    let all = app.get(&courses, &who.token).await.expect(200);
    let items = all.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["id"], second["id"]);
    assert_eq!(items[1]["id"], first["id"]);
    assert_eq!(items[0]["history"], second["history"]);
    assert_eq!(items[1]["history"], first["history"]);
    assert_eq!(items[1]["history"].as_array().expect("history").len(), 3);
    assert_eq!(items[1]["status"], "stopped");
    assert_eq!(items[1]["ended_on"], date(days_ago(20)));
    // The current course is the new one, and transitions act on it.
    let current = app
        .get(&format!("{CANDIDATES}/{id}/enrollment"), &who.token)
        .await
        .expect(200);
    assert_eq!(current.body["id"], second["id"]);
    let a = transition(&app, who, &id, to("active")).await.expect(200);
    assert_eq!(a.body["id"], second["id"]);
    assert_eq!(a.body["started_on"], date(today()));
    app.post(&courses, &who.token, json!({})).await.problem(409);
    // Another consultant reaches neither list nor course.
    app.get(&courses, &m.other_consultant.token)
        .await
        .problem(404);
    app.post(&courses, &m.other_consultant.token, json!({}))
        .await
        .problem(404);
    app.finish().await;
}

#[tokio::test]
async fn service_accounts_get_no_free_text_from_the_course() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let id = m.candidate.id.to_string();
    let secret = "Fortroligt: indlagt på psykiatrisk afdeling";
    transition(
        &app,
        &m.consultant,
        &id,
        json!({"to": "active", "reason": secret}),
    )
    .await
    .expect(200);
    // Staff read the reason…
    let staff = app
        .get(
            &format!("{CANDIDATES}/{id}/enrollment"),
            &m.consultant.token,
        )
        .await
        .expect(200);
    assert_eq!(staff.body["history"][1]["reason"], secret);
    // …a service account gets the statuses and dates, never the text.
    let mut answers = vec![
        app.get(&format!("{CANDIDATES}/{id}/enrollment"), &m.service.token)
            .await
            .expect(200),
        app.get(&format!("{CANDIDATES}/{id}/enrollments"), &m.service.token)
            .await
            .expect(200),
        app.get(&candidate_path(&id), &m.service.token)
            .await
            .expect(200),
    ];
    answers.push(
        transition(
            &app,
            &m.service,
            &id,
            json!({"to": "paused", "reason": "ferie"}),
        )
        .await
        .expect(200),
    );
    for a in &answers {
        let text = String::from_utf8(a.raw.clone()).expect("utf-8");
        assert!(!text.contains(secret), "{text}");
    }
    assert_eq!(answers[0].body["history"][1]["to"], "active");
    assert_eq!(
        answers[0].body["history"]
            .as_array()
            .expect("history")
            .len(),
        2
    );
    app.finish().await;
}

//! The career profile (SPEC §4.12): both sides edit it with If-Match, the history names who, when and
//! which fields (never the text), both marks complete it, bad input names the field, access, the
//! export, the events and the fidelity share.
use chrono::{Days, NaiveDate};
use ips_api::{auth::Role, domain::identity};
use poem::http::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::{Answer, Municipality, Person, TestApp};

const ME: &str = "/api/v1/me/career-profile";

fn staff_path(who: &Person) -> String {
    format!("/api/v1/candidates/{}/career-profile", who.id)
}

async fn put(
    app: &TestApp,
    path: &str,
    token: &str,
    if_match: Option<&str>,
    body: Value,
) -> Answer {
    let headers: Vec<(&str, &str)> = if_match.map(|v| ("if-match", v)).into_iter().collect();
    app.request(Method::PUT, path, Some(token), Some(body), &headers)
        .await
}

fn today() -> NaiveDate {
    ips_api::domain::today()
}

fn fields(change: &Value) -> Vec<&str> {
    change["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

#[tokio::test]
async fn candidate_and_staff_write_it_together() {
    let app = TestApp::start().await;
    let m = app.municipality("401").await;
    let me = &m.candidate;

    // Nothing saved yet: an empty profile at version 0.
    let empty = app.get(ME, &me.token).await.expect(200);
    assert_eq!(empty.header("etag"), Some("\"0\""));
    let empty = empty.body;
    assert_eq!(empty["version"], 0);
    assert_eq!(empty["candidate_id"], me.id.to_string());
    assert!(empty["course_id"].is_string());
    for f in ["work_wishes", "barriers", "completed_on", "updated_at"] {
        assert!(empty[f].is_null(), "{f}: {empty}");
    }
    assert_eq!(empty["experience"], json!([]));

    // The candidate's first save, with If-Match "0".
    let mine = json!({
        "work_wishes": "Noget med dyr.\nHelst udendørs.",
        "strengths": "  Jeg møder til tiden  ",
        "experience": [{"kind": "job", "title": "Staldhjælp", "place": "Rideskolen",
                        "from": "2024-05-01", "to": "2025-08-31", "went_well": "Hestene"}],
    });
    let saved = put(&app, ME, &me.token, Some("\"0\""), mine.clone())
        .await
        .expect(200);
    assert_eq!(saved.header("etag"), Some("\"1\""));
    let saved = saved.body;
    assert_eq!(saved["version"], 1);
    assert_eq!(saved["strengths"], "Jeg møder til tiden");
    assert_eq!(saved["work_wishes"], "Noget med dyr.\nHelst udendørs.");
    assert_eq!(saved["experience"][0]["kind"], "job");
    assert_eq!(saved["experience"][0]["to"], "2025-08-31");

    // The same again changes nothing (save as you go).
    let again = put(&app, ME, &me.token, Some("\"1\""), mine.clone())
        .await
        .expect(200);
    assert_eq!(again.body["version"], 1);

    // The consultant reads and adds to it.
    let staff = staff_path(me);
    let read = app.get(&staff, &m.consultant.token).await.expect(200);
    assert_eq!(read.body["strengths"], "Jeg møder til tiden");
    let mut theirs = mine.clone();
    theirs["support_needs"] = json!("Hjælp til at ringe til arbejdsgivere.");
    let v2 = put(
        &app,
        &staff,
        &m.consultant.token,
        Some("\"1\""),
        theirs.clone(),
    )
    .await
    .expect(200)
    .body;
    assert_eq!(v2["version"], 2);

    // The candidate's phone still holds version 1: 412, nothing overwritten.
    let mut stale = mine.clone();
    stale["interests"] = json!("Fiskeri");
    put(&app, ME, &me.token, Some("\"1\""), stale)
        .await
        .problem(412);
    let now = app.get(ME, &me.token).await.expect(200).body;
    assert_eq!(
        now["support_needs"],
        "Hjælp til at ringe til arbejdsgivere."
    );
    assert!(now["interests"].is_null());

    // The coordinator of the municipality reaches it too.
    app.get(&staff, &m.coordinator.token).await.expect(200);

    // The history: newest first, who and which fields, never the text.
    let h = app
        .get(&format!("{ME}/history"), &me.token)
        .await
        .expect(200)
        .body;
    let items = h["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "{h}");
    assert_eq!(items[0]["actor_role"], "consultant");
    assert_eq!(items[0]["actor_id"], m.consultant.id.to_string());
    assert_eq!(fields(&items[0]), ["support_needs"]);
    assert_eq!(items[0]["version"], 2);
    assert_eq!(items[1]["actor_role"], "candidate");
    assert_eq!(items[1]["actor_id"], me.id.to_string());
    assert_eq!(
        fields(&items[1]),
        ["work_wishes", "strengths", "experience"]
    );
    assert!(items[1]["at"].is_string());
    assert!(!h.to_string().contains("Hjælp"), "no text in the history");

    // Cursor pagination, one at a time.
    let p1 = app
        .get(&format!("{}/history?limit=1", staff), &m.consultant.token)
        .await
        .expect(200)
        .body;
    assert_eq!(p1["items"][0]["version"], 2);
    let cursor = p1["next_cursor"].as_str().expect("a next page");
    let p2 = app
        .get(
            &format!("{}/history?limit=1&cursor={cursor}", staff),
            &m.consultant.token,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(p2["items"][0]["version"], 1);
    assert!(p2["next_cursor"].is_null());

    // The change feed has ids only.
    let events = app
        .get("/api/v1/events?limit=200", &m.service.token)
        .await
        .expect(200)
        .body;
    let ours: Vec<&Value> = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["type"] == "career_profile.updated")
        .collect();
    assert_eq!(ours.len(), 2, "{events}");
    let text = events.to_string();
    assert!(!text.contains("Hjælp") && !text.contains("dyr"), "{text}");
    app.finish().await;
}

#[tokio::test]
async fn both_marks_complete_it() {
    let app = TestApp::start().await;
    let m = app.municipality("402").await;
    let me = &m.candidate;
    let staff = staff_path(me);
    let words = json!({"work_wishes": "Lager", "done": true});
    let v1 = put(&app, ME, &me.token, None, words.clone())
        .await
        .expect(200)
        .body;
    assert_eq!(v1["candidate_done_on"], today().to_string());
    assert!(v1["completed_on"].is_null());

    // Staff change the words: the candidate's mark is cleared, so they look again.
    let v2 = put(
        &app,
        &staff,
        &m.consultant.token,
        Some("\"1\""),
        json!({"work_wishes": "Lager eller værksted", "done": true}),
    )
    .await
    .expect(200)
    .body;
    assert!(v2["candidate_done_on"].is_null(), "{v2}");
    assert_eq!(v2["staff_done_on"], today().to_string());
    assert!(v2["completed_on"].is_null());

    // The candidate agrees: completed today.
    let v3 = put(
        &app,
        ME,
        &me.token,
        Some("\"2\""),
        json!({"work_wishes": "Lager eller værksted", "done": true}),
    )
    .await
    .expect(200)
    .body;
    assert_eq!(v3["completed_on"], today().to_string(), "{v3}");
    assert_eq!(v3["candidate_done_on"], today().to_string());

    // Later edits keep `completed_on` (and the marks): it records when it first came together.
    let v4 = put(
        &app,
        ME,
        &me.token,
        Some("\"3\""),
        json!({"work_wishes": "Værksted"}),
    )
    .await
    .expect(200)
    .body;
    assert_eq!(v4["completed_on"], today().to_string());
    assert_eq!(v4["staff_done_on"], today().to_string());

    let h = app
        .get(&format!("{staff}/history"), &m.coordinator.token)
        .await
        .expect(200)
        .body;
    assert_eq!(fields(&h["items"][0]), ["work_wishes"]);
    assert_eq!(fields(&h["items"][1]), ["candidate_done", "completed_on"]);
    assert_eq!(
        fields(&h["items"][2]),
        ["work_wishes", "candidate_done", "staff_done"]
    );
    assert_eq!(fields(&h["items"][3]), ["work_wishes", "candidate_done"]);
    app.finish().await;
}

#[tokio::test]
async fn bad_input_names_the_field() {
    let app = TestApp::start().await;
    let m = app.municipality("403").await;
    let token = &m.candidate.token;
    let entry = |kind: &str| json!({"kind": kind, "title": "Job"});
    for (body, field) in [
        (json!({"barriers": "x".repeat(2001)}), "barriers"),
        (json!({"education": "ok\u{0007}"}), "education"),
        (
            json!({"experience": (0..31).map(|_| entry("job")).collect::<Vec<_>>()}),
            "experience",
        ),
        (
            json!({"experience": [entry("hobby")]}),
            "experience[0].kind",
        ),
        (
            json!({"experience": [{"kind": "job", "title": "Job", "from": "2025-02-01", "to": "2025-01-31"}]}),
            "experience[0].to",
        ),
        (
            json!({"experience": [{"kind": "job", "title": "x".repeat(201)}]}),
            "experience[0].title",
        ),
        (
            json!({"experience": [{"kind": "job", "title": "   "}]}),
            "experience[0].title",
        ),
        (
            json!({"experience": [{"kind": "job"}]}),
            "experience[0].title",
        ),
        (json!({"strenghts": "typo"}), "strenghts"),
    ] {
        let a = put(&app, ME, token, None, body.clone()).await.problem(400);
        assert!(
            a.fields().iter().any(|f| f == field),
            "{field}: {} for {body}",
            a.body
        );
    }
    // Exactly at the limits, with newlines, is fine.
    let ok = json!({
        "barriers": format!("{}\n", "x".repeat(1999)),
        "experience": (0..30).map(|_| entry("volunteer")).collect::<Vec<_>>(),
    });
    put(&app, ME, token, None, ok).await.expect(200);
    // A malformed If-Match is 400; nothing was saved by the failures above but the one save.
    put(&app, ME, token, Some("3"), json!({}))
        .await
        .problem(400);
    let h = app
        .get(&format!("{ME}/history"), token)
        .await
        .expect(200)
        .body;
    assert_eq!(h["items"].as_array().map(Vec::len), Some(1));
    app.finish().await;
}

#[tokio::test]
async fn who_may_reach_it() {
    let app = TestApp::start().await;
    let a = app.municipality("404").await;
    let b = app.municipality("405").await;
    let admin = app.admin().await;
    let path = staff_path(&a.candidate);
    put(
        &app,
        ME,
        &a.candidate.token,
        None,
        json!({"strengths": "Rolig"}),
    )
    .await
    .expect(200);
    for suffix in ["", "/history"] {
        let p = format!("{path}{suffix}");
        // Another caseload, another municipality: 404 as for nobody.
        for token in [
            &a.other_consultant.token,
            &b.consultant.token,
            &b.coordinator.token,
        ] {
            app.get(&p, token).await.problem(404);
        }
        // Service accounts never see the candidate's words; admin sees no candidate data; a candidate
        // has no staff route.
        for token in [&a.service.token, &admin.token, &a.candidate.token] {
            app.get(&p, token).await.problem(403);
        }
        // Staff have no `/me` profile.
        for token in [&a.consultant.token, &a.service.token, &admin.token] {
            app.get(&format!("{ME}{suffix}"), token).await.problem(403);
        }
    }
    for token in [&a.other_consultant.token, &b.coordinator.token] {
        put(&app, &path, token, None, json!({"strengths": "x"}))
            .await
            .problem(404);
    }
    for token in [&a.service.token, &admin.token, &a.candidate.token] {
        put(&app, &path, token, None, json!({"strengths": "x"}))
            .await
            .problem(403);
    }
    // The other candidate has their own, empty profile.
    let other = app.get(ME, &a.other_candidate.token).await.expect(200).body;
    assert!(other["strengths"].is_null());
    assert_eq!(other["version"], 0);
    // Nothing was changed by the refused calls.
    let mine = app.get(ME, &a.candidate.token).await.expect(200).body;
    assert_eq!(mine["strengths"], "Rolig");
    assert_eq!(mine["version"], 1);
    app.finish().await;
}

#[tokio::test]
async fn export_holds_it_and_its_history() {
    let app = TestApp::start().await;
    let m = app.municipality("406").await;
    let me = &m.candidate;
    put(&app, ME, &me.token, None, json!({"interests": "Cykler"}))
        .await
        .expect(200);
    put(
        &app,
        &staff_path(me),
        &m.consultant.token,
        None,
        json!({"interests": "Cykler", "education": "9. klasse"}),
    )
    .await
    .expect(200);
    let doc = app
        .get("/api/v1/me/export", &me.token)
        .await
        .expect(200)
        .body;
    let profiles = doc["career_profiles"].as_array().expect("career_profiles");
    assert_eq!(profiles.len(), 1, "{doc}");
    assert_eq!(profiles[0]["interests"], "Cykler");
    assert_eq!(profiles[0]["education"], "9. klasse");
    let history = profiles[0]["history"].as_array().expect("history");
    assert_eq!(history.len(), 2);
    assert_eq!(history[1]["role"], "consultant");
    assert_eq!(history[1]["fields"], json!(["education"]));
    // Another candidate's export has none of it.
    let other = app
        .get("/api/v1/me/export", &m.other_candidate.token)
        .await
        .expect(200)
        .body;
    assert_eq!(other["career_profiles"], json!([]));
    // Staff reads were audited as career-profile reads.
    app.get(&staff_path(me), &m.consultant.token)
        .await
        .expect(200);
    let log = app
        .get("/api/v1/me/access-log", &me.token)
        .await
        .expect(200)
        .body;
    assert!(
        log.to_string().contains("career_profile"),
        "the read is in the access log: {log}"
    );
    app.finish().await;
}

/// A candidate referred and started on `start`, with a session.
async fn started(app: &TestApp, m: &Municipality, start: NaiveDate) -> Person {
    let a = app
        .post(
            "/api/v1/candidates",
            &m.coordinator.token,
            json!({
                "given_name": "Ung", "family_name": "Holm", "birth_year": 2004,
                "target_group": "mental_distress", "readiness": "activity_ready",
                "consultant_id": m.consultant.id, "referred_on": start,
            }),
        )
        .await
        .expect(201);
    let id: Uuid = a.body["candidate"]["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("candidate id");
    app.post(
        &format!("/api/v1/candidates/{id}/enrollment/transitions"),
        &m.coordinator.token,
        json!({"to": "active", "effective_on": start}),
    )
    .await
    .expect(200);
    let tokens = identity::start_session(&app.state.identity(), id, Role::Candidate, Some(m.id))
        .await
        .expect("session");
    Person {
        id,
        token: tokens.access_token,
    }
}

/// Both sides mark the profile done today.
async fn complete(app: &TestApp, m: &Municipality, who: &Person) {
    put(
        app,
        ME,
        &who.token,
        None,
        json!({"work_wishes": "Job", "done": true}),
    )
    .await
    .expect(200);
    let v = put(
        app,
        &staff_path(who),
        &m.consultant.token,
        None,
        json!({"work_wishes": "Job", "done": true}),
    )
    .await
    .expect(200)
    .body;
    assert_eq!(v["completed_on"], today().to_string());
}

#[tokio::test]
async fn fidelity_counts_profiles_completed_within_30_days() {
    let app = TestApp::start().await;
    let m = app.municipality("407").await;
    let t = today();
    // Started 10 and 30 days ago and completed today: within. Started 40 days ago: not. Started 5
    // days ago without a profile: not.
    for back in [10, 30, 40] {
        let c = started(&app, &m, t - Days::new(back)).await;
        complete(&app, &m, &c).await;
    }
    started(&app, &m, t - Days::new(5)).await;
    let url =
        |from: NaiveDate, to: NaiveDate| format!("/api/v1/reports/fidelity?from={from}&to={to}");
    let f = app
        .get(&url(t - Days::new(60), t), &m.coordinator.token)
        .await
        .expect(200)
        .body;
    assert_eq!(
        f["career_profile_within_30_days"],
        json!({"count": 2, "percent": 50.0}),
        "{f}"
    );
    // Over no started course: null percent.
    let none = app
        .get(&url(t + Days::new(1), t + Days::new(2)), &m.service.token)
        .await
        .expect(200)
        .body;
    assert_eq!(
        none["career_profile_within_30_days"],
        json!({"count": 0, "percent": null})
    );
    app.finish().await;
}

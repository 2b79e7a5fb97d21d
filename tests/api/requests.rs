//! Pause and stop: the candidate's request, the inbox, acknowledge and carry out through the course's
//! state machine, resume, overdue and resume-due warnings, disclosure and notifications.
use chrono::{Duration, Utc};
use poem::http::Method;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};

use crate::common::{Municipality, Person, TestApp};

async fn activate(app: &TestApp, m: &Municipality, who: &Person) {
    let path = format!("/api/v1/candidates/{}/enrollment/transitions", who.id);
    app.post(&path, &m.coordinator.token, json!({"to": "active"}))
        .await
        .expect(200);
}

async fn inbox(app: &TestApp, token: &str) -> Vec<Value> {
    app.get("/api/v1/inbox", token).await.expect(200).body["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn event_types(app: &TestApp, m: &Municipality) -> Vec<String> {
    let feed = app
        .get("/api/v1/events?limit=200", &m.coordinator.token)
        .await
        .expect(200)
        .body;
    feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["type"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn pause_acknowledge_carry_out_and_resume() {
    let app = TestApp::start().await;
    let m = app.municipality("401").await;
    let me = &m.candidate;
    activate(&app, &m, me).await;
    let resume_on = (Utc::now() + Duration::days(30)).date_naive().to_string();

    let asked = app
        .post(
            "/api/v1/me/requests",
            &me.token,
            json!({"kind": "pause", "reason": "Jeg er træt", "resume_on": resume_on}),
        )
        .await
        .expect(201);
    assert!(asked.header("location").is_some());
    let request = asked.body;
    assert_eq!(request["status"], "open");
    let id = request["id"].as_str().unwrap().to_string();
    // A second pause while one is open names the open one.
    let again = app
        .post("/api/v1/me/requests", &me.token, json!({"kind": "pause"}))
        .await
        .problem(409);
    assert_eq!(again.body["existing_id"], id.as_str());

    // The consultant's inbox shows it, with how long it has waited; the plan shows it to the candidate.
    let items = inbox(&app, &m.consultant.token).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["kind"], "request");
    assert_eq!(items[0]["ref_id"], id.as_str());
    assert!(items[0]["waiting_seconds"].as_i64().is_some());
    assert_eq!(items[0]["request_kind"], "pause");
    assert_eq!(items[0]["request_status"], "open");
    assert!(
        inbox(&app, &m.other_consultant.token).await.is_empty(),
        "another caseload sees nothing"
    );
    let plan = app.get("/api/v1/me/plan", &me.token).await.expect(200).body;
    assert_eq!(plan["open_requests"][0]["id"], id.as_str());

    // Acknowledge: the candidate sees it and is told.
    let acked = app
        .post(
            &format!("/api/v1/requests/{id}/acknowledge"),
            &m.consultant.token,
            json!({"note": "Jeg ringer i morgen"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(acked["status"], "acknowledged");
    app.post(
        &format!("/api/v1/requests/{id}/acknowledge"),
        &m.consultant.token,
        json!({}),
    )
    .await
    .problem(409);
    let items = inbox(&app, &m.consultant.token).await;
    assert_eq!(
        items[0]["request_status"], "acknowledged",
        "the inbox shows each step"
    );
    let mine = app
        .get("/api/v1/me/requests", &me.token)
        .await
        .expect(200)
        .body;
    assert_eq!(mine["items"][0]["status"], "acknowledged");
    assert_eq!(mine["items"][0]["note"], "Jeg ringer i morgen");

    // Carry out: the course is paused through the state machine, with the request id in its history.
    let done = app
        .post(
            &format!("/api/v1/requests/{id}/carry-out"),
            &m.consultant.token,
            json!({}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(done["request"]["status"], "carried_out");
    assert_eq!(done["course_status"], "paused");
    assert_eq!(done["resume_on"], resume_on.as_str());
    let course = app
        .get(
            &format!("/api/v1/candidates/{}/enrollment", me.id),
            &m.consultant.token,
        )
        .await
        .expect(200)
        .body;
    let last = course["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["to"], "paused");
    assert_eq!(last["request_id"], id.as_str());
    app.post(
        &format!("/api/v1/requests/{id}/carry-out"),
        &m.consultant.token,
        json!({}),
    )
    .await
    .problem(409);
    app.post(
        &format!("/api/v1/me/requests/{id}/withdraw"),
        &me.token,
        json!({}),
    )
    .await
    .problem(409);
    assert!(
        inbox(&app, &m.consultant.token).await.is_empty(),
        "a carried-out request leaves the inbox"
    );
    let plan = app.get("/api/v1/me/plan", &me.token).await.expect(200).body;
    assert_eq!(plan["course"]["status"], "paused");
    assert_eq!(plan["open_requests"], json!([]));

    // Notifications told the candidate at each step.
    let notes = app
        .get("/api/v1/me/notifications", &me.token)
        .await
        .expect(200)
        .body;
    let kinds: Vec<&str> = notes["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["kind"].as_str())
        .collect();
    assert_eq!(kinds, vec!["request_carried_out", "request_acknowledged"]);

    // The candidate resumes.
    let resumed = app
        .post("/api/v1/me/resume", &me.token, json!({}))
        .await
        .expect(200)
        .body;
    assert_eq!(resumed["course_status"], "active");
    app.post("/api/v1/me/resume", &me.token, json!({}))
        .await
        .problem(409);

    let types = event_types(&app, &m).await;
    for t in [
        "request.created",
        "request.acknowledged",
        "request.carried_out",
        "enrollment.status_changed",
    ] {
        assert!(types.iter().any(|x| x == t), "{t} in {types:?}");
    }
    let feed = app
        .get("/api/v1/events?limit=200", &m.coordinator.token)
        .await
        .expect(200)
        .body
        .to_string();
    assert!(
        !feed.contains("træt") && !feed.contains("ringer"),
        "no free text in events"
    );
    app.finish().await;
}

#[tokio::test]
async fn stop_is_final_and_withdrawal_is_possible() {
    let app = TestApp::start().await;
    let m = app.municipality("402").await;
    let me = &m.candidate;
    // A stop can be asked before the course has started; a pause cannot.
    app.post("/api/v1/me/requests", &me.token, json!({"kind": "pause"}))
        .await
        .problem(409);
    let first = app
        .post("/api/v1/me/requests", &me.token, json!({"kind": "stop"}))
        .await
        .expect(201)
        .body;
    let first_id = first["id"].as_str().unwrap();
    let withdrawn = app
        .post(
            &format!("/api/v1/me/requests/{first_id}/withdraw"),
            &me.token,
            json!({}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(withdrawn["status"], "withdrawn");
    app.post(
        &format!("/api/v1/requests/{first_id}/acknowledge"),
        &m.consultant.token,
        json!({}),
    )
    .await
    .problem(409);
    app.post(
        &format!("/api/v1/requests/{first_id}/carry-out"),
        &m.consultant.token,
        json!({}),
    )
    .await
    .problem(409);
    assert!(inbox(&app, &m.consultant.token).await.is_empty());

    // Asked again, carried out straight from `open`: the course is stopped for good.
    let second = app
        .post(
            "/api/v1/me/requests",
            &me.token,
            json!({"kind": "stop", "reason": "Jeg har fået job"}),
        )
        .await
        .expect(201)
        .body;
    let second_id = second["id"].as_str().unwrap();
    let done = app
        .post(
            &format!("/api/v1/requests/{second_id}/carry-out"),
            &m.coordinator.token,
            json!({}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(done["course_status"], "stopped");
    let course = app
        .get(
            &format!("/api/v1/candidates/{}/enrollment", me.id),
            &m.consultant.token,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(course["status"], "stopped");
    assert!(course["ended_on"].is_string());
    app.post("/api/v1/me/requests", &me.token, json!({"kind": "stop"}))
        .await
        .problem(409);
    app.post("/api/v1/me/requests", &me.token, json!({"kind": "pause"}))
        .await
        .problem(409);
    app.finish().await;
}

/// A new request is one read (the candidate, their current course and an open request of the kind)
/// and one write (the request, the consultant's inbox item, the audit entry and the event); the
/// answer is what a later read finds.
#[tokio::test]
async fn a_new_request_is_one_read_and_one_write() {
    let app = TestApp::start().await;
    let m = app.municipality("403").await;
    let me = &m.candidate;
    activate(&app, &m, me).await;
    // Warm the session cache, so only the request's own statements are counted.
    app.get("/api/v1/me/requests", &me.token).await.expect(200);
    let before = app.state.db.statement_count();
    let created = app
        .post(
            "/api/v1/me/requests",
            &me.token,
            json!({"kind": "pause", "reason": "Jeg har brug for en pause"}),
        )
        .await
        .expect(201);
    let n = app.state.db.statement_count() - before;
    assert_eq!(n, 2, "read, write: took {n}");
    let location = created.header("location").expect("Location").to_string();
    let created = created.body;
    assert_eq!(
        location,
        format!(
            "/api/v1/me/requests/{}",
            created["id"].as_str().expect("id")
        )
    );
    let read = app.get(&location, &me.token).await.expect(200).body;
    assert_eq!(created, read, "the answer is what its Location finds");
    app.get(&location, &m.other_candidate.token)
        .await
        .problem(404);
    let mine = app
        .get("/api/v1/me/requests", &me.token)
        .await
        .expect(200)
        .body;
    let found = mine["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|r| r["id"] == created["id"])
        .cloned();
    assert_eq!(
        Some(created.clone()),
        found,
        "the answer is what a later read finds"
    );
    let items = inbox(&app, &m.consultant.token).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["kind"], "request");
    assert!(
        event_types(&app, &m)
            .await
            .contains(&"request.created".to_string())
    );
    // The same kind again: 409 naming the open one, and nothing written.
    let before = app.state.db.statement_count();
    let again = app
        .post("/api/v1/me/requests", &me.token, json!({"kind": "pause"}))
        .await
        .problem(409);
    assert_eq!(again.body["existing_id"], created["id"]);
    assert_eq!(app.state.db.statement_count() - before, 1, "the read only");
    assert_eq!(inbox(&app, &m.consultant.token).await.len(), 1);
    app.finish().await;
}

#[tokio::test]
async fn there_is_no_reject() {
    let spec: Value = serde_json::from_str(&ips_api::spec_json()).expect("spec");
    for (path, item) in spec["paths"].as_object().expect("paths") {
        assert!(!path.contains("reject"), "{path}");
        for op in item.as_object().expect("item").values() {
            let id = op["operationId"]
                .as_str()
                .unwrap_or_default()
                .to_lowercase();
            assert!(!id.contains("reject") && !id.contains("deny"), "{id}");
        }
    }
    let app = TestApp::start().await;
    let m = app.municipality("403").await;
    activate(&app, &m, &m.candidate).await;
    let r = app
        .post(
            "/api/v1/me/requests",
            &m.candidate.token,
            json!({"kind": "pause"}),
        )
        .await
        .expect(201)
        .body;
    let path = format!("/api/v1/requests/{}/reject", r["id"].as_str().unwrap());
    app.post(&path, &m.consultant.token, json!({}))
        .await
        .problem(404);
    // Nor is there a status "rejected" to set.
    let bad = app
        .post(
            "/api/v1/me/requests",
            &m.candidate.token,
            json!({"kind": "reject"}),
        )
        .await
        .problem(400);
    assert_eq!(bad.fields(), vec!["kind"]);
    app.finish().await;
}

#[tokio::test]
async fn bad_input_names_the_field() {
    let app = TestApp::start().await;
    let m = app.municipality("404").await;
    let me = &m.candidate;
    activate(&app, &m, me).await;
    let past = (Utc::now() - Duration::days(1)).date_naive().to_string();
    let r = app
        .post(
            "/api/v1/me/requests",
            &me.token,
            json!({"kind": "pause", "resume_on": past}),
        )
        .await
        .problem(400);
    assert_eq!(r.fields(), vec!["resume_on"]);
    let future = (Utc::now() + Duration::days(9)).date_naive().to_string();
    let r = app
        .post(
            "/api/v1/me/requests",
            &me.token,
            json!({"kind": "stop", "resume_on": future}),
        )
        .await
        .problem(400);
    assert_eq!(r.fields(), vec!["resume_on"]);
    let r = app
        .post(
            "/api/v1/me/requests",
            &me.token,
            json!({"kind": "stop", "reason": "x".repeat(1001)}),
        )
        .await
        .problem(400);
    assert_eq!(r.fields(), vec!["reason"]);
    let r = app
        .post(
            "/api/v1/me/requests",
            &me.token,
            json!({"kind": "stop", "why": "x"}),
        )
        .await
        .problem(400);
    assert_eq!(r.fields(), vec!["why"]);
    let r = app
        .call(
            Method::PUT,
            "/api/v1/me/disclosure",
            Some(&me.token),
            Some(json!({"level": "everything"})),
        )
        .await
        .problem(400);
    assert_eq!(r.fields(), vec!["level"]);
    app.finish().await;
}

#[tokio::test]
async fn nobody_else_acts_on_a_request() {
    let app = TestApp::start().await;
    let m = app.municipality("405").await;
    let other = app.municipality("406").await;
    activate(&app, &m, &m.candidate).await;
    let r = app
        .post(
            "/api/v1/me/requests",
            &m.candidate.token,
            json!({"kind": "pause"}),
        )
        .await
        .expect(201)
        .body;
    let id = r["id"].as_str().unwrap();
    // Another candidate guessing the id.
    app.post(
        &format!("/api/v1/me/requests/{id}/withdraw"),
        &m.other_candidate.token,
        json!({}),
    )
    .await
    .problem(404);
    // Another caseload, another municipality.
    for token in [
        &m.other_consultant.token,
        &other.consultant.token,
        &other.coordinator.token,
    ] {
        app.post(
            &format!("/api/v1/requests/{id}/acknowledge"),
            token,
            json!({}),
        )
        .await
        .problem(404);
        app.post(
            &format!("/api/v1/requests/{id}/carry-out"),
            token,
            json!({}),
        )
        .await
        .problem(404);
    }
    app.get(
        &format!("/api/v1/candidates/{}/requests", m.candidate.id),
        &m.other_consultant.token,
    )
    .await
    .problem(404);
    app.get(
        &format!("/api/v1/candidates/{}/disclosure", m.candidate.id),
        &other.coordinator.token,
    )
    .await
    .problem(404);
    assert!(inbox(&app, &other.coordinator.token).await.is_empty());
    // Roles that can never use the routes.
    app.get("/api/v1/inbox", &m.candidate.token)
        .await
        .problem(403);
    app.get("/api/v1/inbox", &m.service.token)
        .await
        .problem(403);
    app.post(
        &format!("/api/v1/requests/{id}/acknowledge"),
        &m.candidate.token,
        json!({}),
    )
    .await
    .problem(403);
    app.get(
        &format!("/api/v1/candidates/{}/requests", m.candidate.id),
        &m.service.token,
    )
    .await
    .problem(403);
    app.get("/api/v1/me/requests", &m.consultant.token)
        .await
        .problem(403);
    // Still open: nothing happened.
    let mine = app
        .get("/api/v1/me/requests", &m.candidate.token)
        .await
        .expect(200)
        .body;
    assert_eq!(mine["items"][0]["status"], "open");
    app.finish().await;
}

#[tokio::test]
async fn an_unanswered_request_becomes_overdue_once() {
    let app = TestApp::start().await;
    let m = app.municipality("407").await;
    activate(&app, &m, &m.candidate).await;
    let r = app
        .post(
            "/api/v1/me/requests",
            &m.candidate.token,
            json!({"kind": "stop"}),
        )
        .await
        .expect(201)
        .body;
    let id: uuid::Uuid = r["id"].as_str().unwrap().parse().unwrap();
    // Not yet overdue.
    ips_api::domain::requests::tick(&app.state.db)
        .await
        .expect("tick");
    assert!(
        !event_types(&app, &m)
            .await
            .iter()
            .any(|t| t == "request.overdue")
    );
    // Asked six days ago (at least three working days whatever today is): overdue, once.
    use entity::request as rq;
    rq::Entity::update_many()
        .col_expr(
            rq::Column::CreatedAt,
            Expr::value(Utc::now() - Duration::days(6)),
        )
        .filter(rq::Column::Id.eq(id))
        .exec(app.state.db.write())
        .await
        .expect("backdate");
    ips_api::domain::requests::tick(&app.state.db)
        .await
        .expect("tick");
    ips_api::domain::requests::tick(&app.state.db)
        .await
        .expect("tick");
    let overdue = event_types(&app, &m)
        .await
        .into_iter()
        .filter(|t| t == "request.overdue")
        .count();
    assert_eq!(overdue, 1);
    // The coordinator sees it; the consultant's inbox has the request but not the warning.
    let kinds = |items: Vec<Value>| {
        items
            .iter()
            .filter_map(|i| i["kind"].as_str().map(str::to_string))
            .collect::<Vec<_>>()
    };
    assert!(
        kinds(inbox(&app, &m.coordinator.token).await).contains(&"request_overdue".to_string())
    );
    assert_eq!(
        kinds(inbox(&app, &m.consultant.token).await),
        vec!["request"]
    );
    // Acknowledging clears the warning.
    app.post(
        &format!("/api/v1/requests/{id}/acknowledge"),
        &m.consultant.token,
        json!({}),
    )
    .await
    .expect(200);
    assert!(
        !kinds(inbox(&app, &m.coordinator.token).await).contains(&"request_overdue".to_string())
    );
    app.finish().await;
}

#[tokio::test]
async fn a_passed_resume_date_goes_to_the_inbox_not_back_to_work() {
    let app = TestApp::start().await;
    let m = app.municipality("408").await;
    let me = &m.candidate;
    activate(&app, &m, me).await;
    let soon = (Utc::now() + Duration::days(2)).date_naive().to_string();
    let r = app
        .post(
            "/api/v1/me/requests",
            &me.token,
            json!({"kind": "pause", "resume_on": soon}),
        )
        .await
        .expect(201)
        .body;
    app.post(
        &format!("/api/v1/requests/{}/carry-out", r["id"].as_str().unwrap()),
        &m.consultant.token,
        json!({}),
    )
    .await
    .expect(200);
    // The resume date passes.
    use entity::enrollment as en;
    en::Entity::update_many()
        .col_expr(
            en::Column::ResumeOn,
            Expr::value((Utc::now() - Duration::days(1)).date_naive()),
        )
        .filter(en::Column::CandidateId.eq(me.id))
        .exec(app.state.db.write())
        .await
        .expect("backdate");
    ips_api::domain::requests::tick(&app.state.db)
        .await
        .expect("tick");
    ips_api::domain::requests::tick(&app.state.db)
        .await
        .expect("tick");
    let course = app
        .get(
            &format!("/api/v1/candidates/{}/enrollment", me.id),
            &m.consultant.token,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(
        course["status"], "paused",
        "the course does not resume by itself"
    );
    let items = inbox(&app, &m.consultant.token).await;
    assert_eq!(
        items.iter().filter(|i| i["kind"] == "resume_due").count(),
        1
    );
    app.post("/api/v1/me/resume", &me.token, json!({}))
        .await
        .expect(200);
    assert!(
        inbox(&app, &m.consultant.token)
            .await
            .iter()
            .all(|i| i["kind"] != "resume_due")
    );
    app.finish().await;
}

#[tokio::test]
async fn disclosure_is_the_candidates_choice() {
    let app = TestApp::start().await;
    let m = app.municipality("409").await;
    let me = &m.candidate;
    let first = app
        .get("/api/v1/me/disclosure", &me.token)
        .await
        .expect(200);
    assert_eq!(first.body["level"], "none");
    assert_eq!(first.body["history"], json!([]));
    assert_eq!(first.header("etag"), Some("\"0\""));
    let set = app
        .request(
            Method::PUT,
            "/api/v1/me/disclosure",
            Some(&me.token),
            Some(json!({"level": "participation"})),
            &[("if-match", "\"0\"")],
        )
        .await
        .expect(200);
    assert_eq!(set.body["level"], "participation");
    app.request(
        Method::PUT,
        "/api/v1/me/disclosure",
        Some(&me.token),
        Some(json!({"level": "none"})),
        &[("if-match", "\"0\"")],
    )
    .await
    .problem(412);
    app.call(
        Method::PUT,
        "/api/v1/me/disclosure",
        Some(&me.token),
        Some(json!({"level": "support_needs", "note": "Ikke diagnosen"})),
    )
    .await
    .expect(200);
    let staff = app
        .get(
            &format!("/api/v1/candidates/{}/disclosure", me.id),
            &m.consultant.token,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(staff["level"], "support_needs");
    assert_eq!(staff["note"], "Ikke diagnosen");
    let levels: Vec<&str> = staff["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["level"].as_str())
        .collect();
    assert_eq!(levels, vec!["participation", "support_needs"]);
    use entity::audit_entry as a;
    let reads = a::Entity::find()
        .filter(a::Column::CandidateId.eq(me.id))
        .filter(a::Column::Resource.eq("disclosure"))
        .filter(a::Column::Action.eq("read"))
        .count(app.state.db.read())
        .await
        .unwrap();
    assert_eq!(reads, 1);
    app.get(
        &format!("/api/v1/candidates/{}/disclosure", me.id),
        &m.other_consultant.token,
    )
    .await
    .problem(404);
    app.finish().await;
}

#[tokio::test]
async fn notifications_are_read_one_or_all() {
    let app = TestApp::start().await;
    let m = app.municipality("410").await;
    let me = &m.candidate;
    activate(&app, &m, me).await;
    for kind in ["pause", "stop"] {
        let r = app
            .post("/api/v1/me/requests", &me.token, json!({"kind": kind}))
            .await
            .expect(201)
            .body;
        app.post(
            &format!("/api/v1/requests/{}/acknowledge", r["id"].as_str().unwrap()),
            &m.consultant.token,
            json!({}),
        )
        .await
        .expect(200);
    }
    let list = app
        .get("/api/v1/me/notifications?unread=true", &me.token)
        .await
        .expect(200)
        .body;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let first = items[0]["id"].as_str().unwrap();
    let read = app
        .post(
            &format!("/api/v1/me/notifications/{first}/read"),
            &me.token,
            json!({}),
        )
        .await
        .expect(200)
        .body;
    assert!(read["read_at"].is_string());
    // Another candidate cannot read it.
    app.post(
        &format!("/api/v1/me/notifications/{first}/read"),
        &m.other_candidate.token,
        json!({}),
    )
    .await
    .problem(404);
    let all = app
        .post("/api/v1/me/notifications/read-all", &me.token, json!({}))
        .await
        .expect(200)
        .body;
    assert_eq!(all["updated"], 1);
    let unread = app
        .get("/api/v1/me/notifications?unread=true", &me.token)
        .await
        .expect(200)
        .body;
    assert_eq!(unread["items"], json!([]));
    // Paging with a cursor.
    let page = app
        .get("/api/v1/me/notifications?limit=1", &me.token)
        .await
        .expect(200)
        .body;
    let cursor = page["next_cursor"].as_str().expect("a second page");
    let next = app
        .get(
            &format!("/api/v1/me/notifications?limit=1&cursor={cursor}"),
            &me.token,
        )
        .await
        .expect(200)
        .body;
    assert_ne!(next["items"][0]["id"], page["items"][0]["id"]);
    assert!(next["next_cursor"].is_null());
    app.finish().await;
}

#[tokio::test]
async fn reading_the_inbox_is_audited_per_candidate() {
    let app = TestApp::start().await;
    let m = app.municipality("411").await;
    for c in [&m.candidate, &m.other_candidate] {
        activate(&app, &m, c).await;
        app.post("/api/v1/me/requests", &c.token, json!({"kind": "pause"}))
            .await
            .expect(201);
    }
    assert_eq!(inbox(&app, &m.coordinator.token).await.len(), 2);
    use entity::audit_entry as a;
    for c in [&m.candidate, &m.other_candidate] {
        let n = a::Entity::find()
            .filter(a::Column::CandidateId.eq(c.id))
            .filter(a::Column::Resource.eq("inbox"))
            .filter(a::Column::ActorId.eq(m.coordinator.id))
            .count(app.state.db.read())
            .await
            .unwrap();
        assert_eq!(n, 1);
    }
    app.finish().await;
}

#[tokio::test]
async fn a_request_already_done_by_staff_is_closed_by_carrying_it_out() {
    let app = TestApp::start().await;
    let m = app.municipality("412").await;
    let me = &m.candidate;
    activate(&app, &m, me).await;
    let r = app
        .post("/api/v1/me/requests", &me.token, json!({"kind": "pause"}))
        .await
        .expect(201)
        .body;
    // The consultant paused the course in a phone call before looking at the inbox.
    let path = format!("/api/v1/candidates/{}/enrollment/transitions", me.id);
    app.post(&path, &m.consultant.token, json!({"to": "paused"}))
        .await
        .expect(200);
    let done = app
        .post(
            &format!("/api/v1/requests/{}/carry-out", r["id"].as_str().unwrap()),
            &m.consultant.token,
            json!({}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(done["request"]["status"], "carried_out");
    assert_eq!(done["course_status"], "paused");
    let course = app
        .get(
            &format!("/api/v1/candidates/{}/enrollment", me.id),
            &m.consultant.token,
        )
        .await
        .expect(200)
        .body;
    let paused = course["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["to"] == "paused")
        .count();
    assert_eq!(paused, 1, "no second transition");
    assert!(inbox(&app, &m.consultant.token).await.is_empty());
    app.finish().await;
}

/// Four requests of one kind sent at the same moment (on PostgreSQL each on its own connection, where
/// all four can pass the check before any is written): one is made, the others are 409 naming it, and
/// the consultant has one item in the inbox.
#[tokio::test]
async fn requests_of_one_kind_sent_at_once_make_one() {
    let app = TestApp::start().await;
    let m = app.municipality("404").await;
    let me = &m.candidate;
    activate(&app, &m, me).await;
    let ask = || app.post("/api/v1/me/requests", &me.token, json!({"kind": "stop"}));
    let (a, b, c, d) = tokio::join!(ask(), ask(), ask(), ask());
    let answers = [a, b, c, d];
    let made: Vec<_> = answers.iter().filter(|a| a.status == 201).collect();
    assert_eq!(
        made.len(),
        1,
        "one is made: {:?}",
        answers.map(|a| a.status)
    );
    let id = &made[0].body["id"];
    for refused in answers.iter().filter(|a| a.status != 201) {
        assert_eq!(refused.status, 409, "{:?}", refused.body);
        assert_eq!(&refused.body["existing_id"], id);
    }
    assert_eq!(inbox(&app, &m.consultant.token).await.len(), 1);
    let open = entity::request::Entity::find()
        .filter(entity::request::Column::CandidateId.eq(me.id))
        .count(app.state.db.write())
        .await
        .unwrap();
    assert_eq!(open, 1);
    app.finish().await;
}

/// The database holds "one unfinished request per kind" (`requests_one_open_per_kind`): a second
/// unfinished row of the kind cannot be written, a finished one can. The migration that makes the
/// index closes a duplicate made before it (the newer one, with its inbox item) and keeps the oldest.
#[tokio::test]
async fn the_database_holds_one_unfinished_request_per_kind() {
    use entity::{ids::RequestId, request, types::RequestStatus};
    use migration::MigratorTrait;
    use sea_orm::{ActiveModelTrait, IntoActiveModel};

    let app = TestApp::start().await;
    let m = app.municipality("405").await;
    let me = &m.candidate;
    activate(&app, &m, me).await;
    let made = app
        .post("/api/v1/me/requests", &me.token, json!({"kind": "pause"}))
        .await
        .expect(201)
        .body;
    let db = app.state.db.write();
    let first = request::Entity::find()
        .filter(request::Column::CandidateId.eq(me.id))
        .one(db)
        .await
        .unwrap()
        .expect("the request");
    assert_eq!(made["id"], first.id.0.to_string());
    let copy = |status: RequestStatus| {
        let mut r = first.clone();
        r.id = RequestId::generate();
        r.status = status;
        r.into_active_model()
    };
    let err = request::Entity::insert(copy(RequestStatus::Acknowledged))
        .exec(db)
        .await
        .expect_err("a second unfinished pause request");
    assert!(
        matches!(
            err.sql_err(),
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
        ),
        "{err}"
    );
    copy(RequestStatus::Withdrawn).insert(db).await.unwrap();
    copy(RequestStatus::CarriedOut).insert(db).await.unwrap();

    // Before the index: a duplicate, with its own inbox item.
    let all = migration::Migrator::migrations();
    let at = all
        .iter()
        .position(|m| m.name() == "m20261204_000014_one_open_request")
        .expect("the migration");
    let steps = u32::try_from(all.len() - at).expect("few migrations");
    migration::Migrator::down(db, Some(steps))
        .await
        .expect("down");
    let duplicate = copy(RequestStatus::Open).insert(db).await.unwrap();
    ips_api::domain::inbox::add(
        db,
        m.id,
        entity::ids::CandidateId(me.id),
        entity::types::InboxKind::Request,
        Some(duplicate.id.0),
        entity::types::InboxAudience::Consultant,
    )
    .await
    .unwrap();
    assert_eq!(inbox(&app, &m.consultant.token).await.len(), 2);
    migration::Migrator::up(db, None).await.expect("up again");

    let status = |id: RequestId| async move {
        request::Entity::find_by_id(id)
            .one(db)
            .await
            .unwrap()
            .expect("kept")
            .status
    };
    assert_eq!(
        status(first.id).await,
        RequestStatus::Open,
        "the oldest stays"
    );
    assert_eq!(status(duplicate.id).await, RequestStatus::Withdrawn);
    let items = inbox(&app, &m.consultant.token).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["ref_id"], made["id"]);
    assert!(
        request::Entity::insert(copy(RequestStatus::Open))
            .exec(db)
            .await
            .is_err(),
        "the index is back"
    );
    app.finish().await;
}

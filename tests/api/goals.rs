//! Goals and the plan: both sides, progress, the status rules, access, concurrency and the plan's
//! fixed number of queries.
use poem::http::Method;
use serde_json::{Value, json};

use crate::common::{Person, TestApp};

fn goal_path(goal: &Value) -> String {
    format!("/api/v1/me/goals/{}", goal["id"].as_str().expect("id"))
}

fn step_id(goal: &Value, i: usize) -> String {
    goal["steps"][i]["id"]
        .as_str()
        .expect("step id")
        .to_string()
}

async fn tick(app: &TestApp, who: &Person, goal: &Value, i: usize, done: bool) -> Value {
    let path = format!("{}/steps/{}", goal_path(goal), step_id(goal, i));
    app.patch(&path, &who.token, json!({"done": done}))
        .await
        .expect(200)
        .body
}

#[tokio::test]
async fn candidate_and_consultant_share_the_plan() {
    let app = TestApp::start().await;
    let m = app.municipality("301").await;
    let me = &m.candidate;

    // The candidate adds a goal with three steps and ticks one.
    let goal = app
        .post(
            "/api/v1/me/goals",
            &me.token,
            json!({"title": "Få et job i en butik", "category": "job", "steps": ["Skriv CV", "Ring til Netto", "Gå til samtale"]}),
        )
        .await
        .expect(201);
    assert_eq!(goal.header("etag"), Some("\"1\""));
    assert!(
        goal.header("location")
            .is_some_and(|l| l.starts_with("/api/v1/me/goals/"))
    );
    let goal = goal.body;
    assert_eq!(goal["status"], "active");
    assert_eq!(goal["created_by"], "candidate");
    assert_eq!(goal["progress"], 0);
    let ticked = tick(&app, me, &goal, 0, true).await;
    assert_eq!(ticked["progress"], 33);
    assert!(ticked["steps"][0]["done_at"].is_string());

    // The consultant proposes a goal; it waits for the candidate.
    let proposal = app
        .post(
            &format!("/api/v1/candidates/{}/goals", me.id),
            &m.consultant.token,
            json!({"title": "Prøv en netværksgruppe", "category": "social"}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(proposal["status"], "proposed");
    assert_eq!(proposal["created_by"], "staff");
    let plan = app.get("/api/v1/me/plan", &me.token).await.expect(200).body;
    assert_eq!(plan["goals"].as_array().map(Vec::len), Some(1));
    assert_eq!(plan["goals"][0]["progress"], 33);
    assert_eq!(plan["proposed_goals"][0]["id"], proposal["id"]);
    assert_eq!(plan["consultant"]["id"], m.consultant.id.to_string());
    assert_eq!(plan["course"]["status"], "referred");
    for empty in ["next_appointments", "due_questionnaires", "open_requests"] {
        assert_eq!(plan[empty], json!([]), "{empty}");
    }
    assert!(plan["latest_wellbeing"].is_null());

    // The candidate accepts it; the consultant sees all of it.
    let accepted = app
        .post(
            &format!("{}/accept", goal_path(&proposal)),
            &me.token,
            json!({}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(accepted["status"], "active");
    app.post(
        &format!("{}/accept", goal_path(&proposal)),
        &me.token,
        json!({}),
    )
    .await
    .problem(409);
    let seen = app
        .get(
            &format!("/api/v1/candidates/{}/goals", me.id),
            &m.consultant.token,
        )
        .await
        .expect(200)
        .body;
    let items = seen["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|g| g["status"] == "active"));
    assert!(items.iter().any(|g| g["progress"] == 33));

    // Staff reads are audited; every change is in the feed, without the goal's words.
    use entity::audit_entry as a;
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let reads = a::Entity::find()
        .filter(a::Column::CandidateId.eq(me.id))
        .filter(a::Column::Resource.eq("goal"))
        .filter(a::Column::Action.eq("read"))
        .filter(a::Column::ActorId.eq(m.consultant.id))
        .count(app.state.db.read())
        .await
        .expect("count");
    assert_eq!(reads, 1);
    let feed = app
        .get("/api/v1/events?limit=200", &m.coordinator.token)
        .await
        .expect(200)
        .body;
    let types: Vec<&str> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    for t in ["goal.created", "goal.step_done", "goal.accepted"] {
        assert!(types.contains(&t), "{t} in {types:?}");
    }
    assert!(
        !feed.to_string().contains("Netto"),
        "event payloads carry no free text"
    );
    app.finish().await;
}

#[tokio::test]
async fn progress_follows_the_steps() {
    let app = TestApp::start().await;
    let m = app.municipality("302").await;
    let me = &m.candidate;
    let goal = app
        .post(
            "/api/v1/me/goals",
            &me.token,
            json!({"title": "Mål", "category": "education", "steps": ["a", "b", "c"]}),
        )
        .await
        .expect(201)
        .body;
    let g = tick(&app, me, &goal, 0, true).await;
    assert_eq!(g["progress"], 33);
    let g = tick(&app, me, &g, 1, true).await;
    assert_eq!(g["progress"], 66);
    // A new step after ticks: 2 of 4.
    let g = app
        .post(
            &format!("{}/steps", goal_path(&g)),
            &me.token,
            json!({"title": "d"}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(g["progress"], 50);
    assert_eq!(g["steps"][3]["position"], 3);
    // Removing an undone step: 2 of 3.
    let path = format!("{}/steps/{}", goal_path(&g), step_id(&g, 2));
    let g = app
        .call(Method::DELETE, &path, Some(&me.token), None)
        .await
        .expect(200)
        .body;
    assert_eq!(g["progress"], 66);
    let positions: Vec<i64> = g["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["position"].as_i64().unwrap())
        .collect();
    assert_eq!(positions, vec![0, 1, 2]);
    // Unticking goes back down; achieving is 100 whatever the steps say.
    let g = tick(&app, me, &g, 0, false).await;
    assert_eq!(g["progress"], 33);
    let g = app
        .patch(&goal_path(&g), &me.token, json!({"status": "achieved"}))
        .await
        .expect(200)
        .body;
    assert_eq!(g["progress"], 100);
    // No steps: 0.
    let empty = app
        .post(
            "/api/v1/me/goals",
            &me.token,
            json!({"title": "x", "category": "other"}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(empty["progress"], 0);
    app.finish().await;
}

#[tokio::test]
async fn steps_can_be_reordered() {
    let app = TestApp::start().await;
    let m = app.municipality("303").await;
    let me = &m.candidate;
    let goal = app
        .post(
            "/api/v1/me/goals",
            &me.token,
            json!({"title": "Mål", "category": "job", "steps": ["a", "b", "c", "d"]}),
        )
        .await
        .expect(201)
        .body;
    let path = format!("{}/steps/{}", goal_path(&goal), step_id(&goal, 3));
    let g = app
        .patch(&path, &me.token, json!({"position": 0}))
        .await
        .expect(200)
        .body;
    let titles: Vec<&str> = g["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, vec!["d", "a", "b", "c"]);
    let path = format!("{}/steps/{}", goal_path(&g), step_id(&g, 0));
    let g = app
        .patch(&path, &me.token, json!({"position": 2}))
        .await
        .expect(200)
        .body;
    let titles: Vec<&str> = g["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, vec!["a", "b", "d", "c"]);
    let g = app
        .post(
            &format!("{}/steps", goal_path(&g)),
            &me.token,
            json!({"title": "first", "position": 0}),
        )
        .await
        .expect(201)
        .body;
    let titles: Vec<&str> = g["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, vec!["first", "a", "b", "d", "c"]);
    app.finish().await;
}

#[tokio::test]
async fn status_rules_for_each_side() {
    let app = TestApp::start().await;
    let m = app.municipality("304").await;
    let me = &m.candidate;
    let staff_goals = format!("/api/v1/candidates/{}/goals", me.id);
    let own = app
        .post(
            "/api/v1/me/goals",
            &me.token,
            json!({"title": "Mit mål", "category": "job"}),
        )
        .await
        .expect(201)
        .body;
    let proposal = app
        .post(
            &staff_goals,
            &m.consultant.token,
            json!({"title": "Forslag", "category": "job"}),
        )
        .await
        .expect(201)
        .body;
    let staff_path = |g: &Value| format!("{staff_goals}/{}", g["id"].as_str().unwrap());

    // A proposal becomes active only by accepting it.
    app.patch(
        &goal_path(&proposal),
        &me.token,
        json!({"status": "active"}),
    )
    .await
    .problem(409);
    // Staff cannot change or delete the candidate's own goal.
    app.patch(
        &staff_path(&own),
        &m.consultant.token,
        json!({"title": "Andet"}),
    )
    .await
    .problem(409);
    app.patch(
        &staff_path(&own),
        &m.consultant.token,
        json!({"status": "abandoned"}),
    )
    .await
    .problem(409);
    app.call(
        Method::DELETE,
        &staff_path(&own),
        Some(&m.consultant.token),
        None,
    )
    .await
    .problem(409);
    app.post(
        &format!("{}/steps", staff_path(&own)),
        &m.consultant.token,
        json!({"title": "x"}),
    )
    .await
    .problem(409);
    // The candidate cannot delete the staff goal, but can decline it.
    app.call(Method::DELETE, &goal_path(&proposal), Some(&me.token), None)
        .await
        .problem(409);
    let declined = app
        .patch(
            &goal_path(&proposal),
            &me.token,
            json!({"status": "abandoned"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(declined["status"], "abandoned");
    // Staff may change and withdraw their own proposals.
    let p2 = app
        .post(
            &staff_goals,
            &m.consultant.token,
            json!({"title": "Forslag 2", "category": "job"}),
        )
        .await
        .expect(201)
        .body;
    app.patch(
        &staff_path(&p2),
        &m.consultant.token,
        json!({"title": "Bedre forslag"}),
    )
    .await
    .expect(200);
    app.call(
        Method::DELETE,
        &staff_path(&p2),
        Some(&m.consultant.token),
        None,
    )
    .await
    .expect(204);
    // The candidate deletes their own open goal; once achieved it stays.
    let done = app
        .patch(&goal_path(&own), &me.token, json!({"status": "achieved"}))
        .await
        .expect(200)
        .body;
    app.call(Method::DELETE, &goal_path(&done), Some(&me.token), None)
        .await
        .problem(409);
    let reopened = app
        .patch(&goal_path(&own), &me.token, json!({"status": "active"}))
        .await
        .expect(200)
        .body;
    app.call(Method::DELETE, &goal_path(&reopened), Some(&me.token), None)
        .await
        .expect(204);
    app.get(&goal_path(&reopened), &me.token).await.problem(404);
    app.finish().await;
}

#[tokio::test]
async fn nobody_else_reaches_a_goal() {
    let app = TestApp::start().await;
    let m = app.municipality("305").await;
    let other_m = app.municipality("306").await;
    let me = &m.candidate;
    let goal = app
        .post(
            "/api/v1/me/goals",
            &me.token,
            json!({"title": "Mål", "category": "job", "steps": ["a"]}),
        )
        .await
        .expect(201)
        .body;
    let theirs = app
        .post(
            "/api/v1/me/goals",
            &m.other_candidate.token,
            json!({"title": "Andet", "category": "job", "steps": ["b"]}),
        )
        .await
        .expect(201)
        .body;
    // Another candidate guessing ids.
    app.get(&goal_path(&goal), &m.other_candidate.token)
        .await
        .problem(404);
    app.patch(
        &goal_path(&goal),
        &m.other_candidate.token,
        json!({"title": "hacked"}),
    )
    .await
    .problem(404);
    let foreign_step = format!("{}/steps/{}", goal_path(&theirs), step_id(&goal, 0));
    app.patch(
        &foreign_step,
        &m.other_candidate.token,
        json!({"done": true}),
    )
    .await
    .problem(404);
    let mixed = format!("{}/steps/{}", goal_path(&goal), step_id(&theirs, 0));
    app.patch(&mixed, &me.token, json!({"done": true}))
        .await
        .problem(404);
    // Another caseload and another municipality.
    let staff_path = format!(
        "/api/v1/candidates/{}/goals/{}",
        me.id,
        goal["id"].as_str().unwrap()
    );
    app.get(&staff_path, &m.other_consultant.token)
        .await
        .problem(404);
    app.get(
        &format!("/api/v1/candidates/{}/goals", me.id),
        &other_m.coordinator.token,
    )
    .await
    .problem(404);
    app.post(
        &format!("/api/v1/candidates/{}/goals", me.id),
        &other_m.consultant.token,
        json!({"title": "x", "category": "job"}),
    )
    .await
    .problem(404);
    // Roles that can never use the routes.
    app.get("/api/v1/me/goals", &m.consultant.token)
        .await
        .problem(403);
    app.get("/api/v1/me/plan", &m.coordinator.token)
        .await
        .problem(403);
    app.get(
        &format!("/api/v1/candidates/{}/goals", me.id),
        &m.service.token,
    )
    .await
    .problem(403);
    app.get(&format!("/api/v1/candidates/{}/goals", me.id), &me.token)
        .await
        .problem(403);
    // The coordinator reaches the whole municipality.
    app.get(&staff_path, &m.coordinator.token).await.expect(200);
    app.finish().await;
}

#[tokio::test]
async fn two_writers_with_the_same_version_one_wins() {
    let app = TestApp::start().await;
    let m = app.municipality("307").await;
    let goal = app
        .post(
            &format!("/api/v1/candidates/{}/goals", m.candidate.id),
            &m.consultant.token,
            json!({"title": "Forslag", "category": "job"}),
        )
        .await
        .expect(201)
        .body;
    let mine = goal_path(&goal);
    let staff = format!(
        "/api/v1/candidates/{}/goals/{}",
        m.candidate.id,
        goal["id"].as_str().unwrap()
    );
    let phone = app.request(
        Method::PATCH,
        &mine,
        Some(&m.candidate.token),
        Some(json!({"title": "Fra telefonen"})),
        &[("if-match", "\"1\"")],
    );
    let desk = app.request(
        Method::PATCH,
        &staff,
        Some(&m.consultant.token),
        Some(json!({"title": "Fra skrivebordet"})),
        &[("if-match", "\"1\"")],
    );
    let (a, b) = tokio::join!(phone, desk);
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 412], "{} / {}", a.body, b.body);
    let loser = if a.status == 412 { a } else { b };
    assert_eq!(
        loser.header("content-type"),
        Some("application/problem+json")
    );
    // Steps count as changes to the goal: a stale ETag on a step is refused too.
    let current = app.get(&mine, &m.candidate.token).await.expect(200);
    assert_eq!(current.header("etag"), Some("\"2\""));
    app.request(
        Method::POST,
        &format!("{mine}/steps"),
        Some(&m.candidate.token),
        Some(json!({"title": "x"})),
        &[("if-match", "\"1\"")],
    )
    .await
    .problem(412);
    app.finish().await;
}

#[tokio::test]
async fn limits_and_bad_input() {
    let app = TestApp::start().await;
    let m = app.municipality("308").await;
    let me = &m.candidate;
    let steps: Vec<String> = (0..31).map(|i| format!("step {i}")).collect();
    let too_many = app
        .post(
            "/api/v1/me/goals",
            &me.token,
            json!({"title": "x", "category": "job", "steps": steps}),
        )
        .await
        .problem(400);
    assert_eq!(too_many.fields(), vec!["steps"]);
    let g = app
        .post(
            "/api/v1/me/goals",
            &me.token,
            json!({"title": "x", "category": "job", "steps": &steps[..30]}),
        )
        .await
        .expect(201)
        .body;
    app.post(
        &format!("{}/steps", goal_path(&g)),
        &me.token,
        json!({"title": "31st"}),
    )
    .await
    .problem(409);
    let bad = app
        .post(
            "/api/v1/me/goals",
            &me.token,
            json!({"title": "", "category": "dreams", "colour": "red"}),
        )
        .await
        .problem(400);
    let mut fields = bad.fields();
    fields.sort();
    assert_eq!(fields, vec!["category", "colour", "title"]);
    let long = app
        .post(
            "/api/v1/me/goals",
            &me.token,
            json!({"title": "x".repeat(201), "category": "job"}),
        )
        .await
        .problem(400);
    assert_eq!(long.fields(), vec!["title"]);
    let long = app
        .post(
            "/api/v1/me/goals",
            &me.token,
            json!({"title": "x", "category": "job", "description": "y".repeat(2001)}),
        )
        .await
        .problem(400);
    assert_eq!(long.fields(), vec!["description"]);
    let bad_step = app
        .patch(
            &format!("{}/steps/{}", goal_path(&g), step_id(&g, 0)),
            &me.token,
            json!({"done": "yes"}),
        )
        .await
        .problem(400);
    assert_eq!(bad_step.fields(), vec!["done"]);
    // 50 open goals at most (one exists already).
    for i in 1..50 {
        app.post(
            "/api/v1/me/goals",
            &me.token,
            json!({"title": format!("g{i}"), "category": "other"}),
        )
        .await
        .expect(201);
    }
    app.post(
        "/api/v1/me/goals",
        &me.token,
        json!({"title": "51st", "category": "other"}),
    )
    .await
    .problem(409);
    app.finish().await;
}

/// A new goal is one read (the candidate and their open goals) and one write (the goal, its steps,
/// the audit entry and the event), whoever writes it; and what the answer says is what a later read
/// finds, to the microsecond.
#[tokio::test]
async fn a_new_goal_is_one_read_and_one_write() {
    let app = TestApp::start().await;
    let m = app.municipality("302").await;
    let me = &m.candidate;
    // Warm the session caches, so only the create's own statements are counted.
    app.get("/api/v1/me/plan", &me.token).await.expect(200);
    let staff_path = format!("/api/v1/candidates/{}/goals", me.id);
    app.get(&staff_path, &m.consultant.token).await.expect(200);
    let cases = [
        (
            "/api/v1/me/goals",
            &me.token,
            json!({"title": "Find a course", "category": "education", "target_date": "2027-06-30", "steps": ["Look", "Ask", "Apply"]}),
        ),
        (
            staff_path.as_str(),
            &m.consultant.token,
            json!({"title": "Visit a workplace", "category": "job"}),
        ),
    ];
    for (path, token, body) in cases {
        let before = app.state.db.statement_count();
        let created = app.post(path, token, body).await.expect(201).body;
        let n = app.state.db.statement_count() - before;
        assert_eq!(n, 2, "{path}: read, write; took {n}");
        let id = created["id"].as_str().expect("id");
        let read = app
            .get(
                &format!("/api/v1/candidates/{}/goals/{id}", me.id),
                &m.consultant.token,
            )
            .await
            .expect(200)
            .body;
        assert_eq!(
            created, read,
            "{path}: the answer is what a later read finds"
        );
    }
    let goals = app
        .get(&staff_path, &m.consultant.token)
        .await
        .expect(200)
        .body;
    assert_eq!(goals["items"].as_array().map(Vec::len), Some(2));
    app.finish().await;
}

/// A step's change (ticked, renamed, moved) writes the step, the positions that moved, the audit
/// entry and the event in one request, and answers with the goal as a later read finds it.
#[tokio::test]
async fn a_step_change_is_one_write_and_answers_what_a_later_read_finds() {
    let app = TestApp::start().await;
    let m = app.municipality("303").await;
    let me = &m.candidate;
    let goal = app
        .post(
            "/api/v1/me/goals",
            &me.token,
            json!({"title": "Get a job", "category": "job", "steps": ["a", "b", "c", "d"]}),
        )
        .await
        .expect(201)
        .body;
    let step = |i: usize| format!("{}/steps/{}", goal_path(&goal), step_id(&goal, i));
    let changes = [
        (step(1), json!({"done": true})),
        (step(1), json!({"title": "  b, renamed  "})),
        (step(3), json!({"position": 0, "done": true})),
        (step(0), json!({"position": 9})),
        (step(1), json!({"done": false})),
    ];
    for (path, body) in changes {
        let before = app.state.db.statement_count();
        let answer = app
            .patch(&path, &me.token, body.clone())
            .await
            .expect(200)
            .body;
        let n = app.state.db.statement_count() - before;
        // The candidate, the goal, its steps, the goal's version, and the writes.
        assert_eq!(n, 5, "{body}: took {n}");
        let read = app.get(&goal_path(&goal), &me.token).await.expect(200).body;
        assert_eq!(
            answer, read,
            "{body}: the answer is what a later read finds"
        );
    }
    let read = app.get(&goal_path(&goal), &me.token).await.expect(200).body;
    let titles: Vec<&str> = read["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["title"].as_str().expect("title"))
        .collect();
    assert_eq!(titles, ["d", "b, renamed", "c", "a"]);
    let positions: Vec<i64> = read["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["position"].as_i64().expect("position"))
        .collect();
    assert_eq!(positions, [0, 1, 2, 3]);
    assert_eq!(read["progress"], 25);
    app.finish().await;
}

/// `GET /me/plan` runs the same number of statements for 1 goal as for 50 open goals with a long
/// history of finished ones.
#[tokio::test]
async fn plan_is_one_statement_whatever_the_history() {
    let app = TestApp::start().await;
    let m = app.municipality("309").await;
    let small = &m.candidate;
    let large = &m.other_candidate;
    app.post(
        "/api/v1/me/goals",
        &small.token,
        json!({"title": "one", "category": "job", "steps": ["a", "b"]}),
    )
    .await
    .expect(201);
    for i in 0..40 {
        let g = app
            .post(
                "/api/v1/me/goals",
                &large.token,
                json!({"title": format!("old {i}"), "category": "job", "steps": ["a", "b", "c"]}),
            )
            .await
            .expect(201)
            .body;
        app.patch(&goal_path(&g), &large.token, json!({"status": "achieved"}))
            .await
            .expect(200);
    }
    for i in 0..50 {
        app.post(
            "/api/v1/me/goals",
            &large.token,
            json!({"title": format!("open {i}"), "category": "job", "steps": ["a", "b", "c"]}),
        )
        .await
        .expect(201);
    }
    let count = |who: &Person| {
        let token = who.token.clone();
        let app = &app;
        async move {
            // Warm the session cache first, so only the plan's own statements are counted.
            app.get("/api/v1/me/plan", &token).await.expect(200);
            let before = app.state.db.statement_count();
            let plan = app.get("/api/v1/me/plan", &token).await.expect(200).body;
            (app.state.db.statement_count() - before, plan)
        }
    };
    let (small_n, small_plan) = count(small).await;
    let (large_n, large_plan) = count(large).await;
    assert_eq!(small_plan["goals"].as_array().map(Vec::len), Some(1));
    assert_eq!(large_plan["goals"].as_array().map(Vec::len), Some(50));
    assert_eq!(
        small_n, large_n,
        "the plan's statement count must not grow with the data"
    );
    assert_eq!(small_n, 1, "the plan is one statement, it took {small_n}");
    println!("GET /me/plan: {small_n} statements for 1 goal, {large_n} for 50 open + 40 achieved");
    app.finish().await;
}

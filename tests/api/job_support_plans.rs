//! The job support plan (SPEC §4.12): staff propose, the candidate accepts and writes their own parts,
//! the history, the course status rule, bad input, access, the `check_in_due` inbox item and the
//! export.
use chrono::{Duration, Utc};
use entity::{appointment, ids::JobSupportPlanId, inbox_item, job_support_plan, types::InboxKind};
use poem::http::Method;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{Value, json};

use crate::common::{Answer, Municipality, TestApp};

const EARLY: &str = "Jeg sover dårligt og melder mig syg om mandagen.";

async fn transition(app: &TestApp, m: &Municipality, to: &str) {
    let path = format!(
        "/api/v1/candidates/{}/enrollment/transitions",
        m.candidate.id
    );
    app.post(&path, &m.coordinator.token, json!({"to": to}))
        .await
        .expect(200);
}

fn staff_path(m: &Municipality) -> String {
    format!("/api/v1/candidates/{}/job-support-plans", m.candidate.id)
}

fn plan_body() -> Value {
    json!({
        "placement": {
            "kind": "job", "workplace": "Netto, Vesterbrogade", "role": "Butiksmedhjælper",
            "starts_on": "2026-04-01", "hours_per_week": 15
        },
        "contacts": [{"role": "employer", "name": "Lone Hansen", "phone": "+45 12 34 56 78",
                      "email": "lone@example.org"}],
        "supports": [{"what": "Vi taler om ugen", "who": "consultant", "how_often": "hver fredag"}],
        "check_in_every_days": 14
    })
}

async fn propose(app: &TestApp, m: &Municipality) -> Value {
    app.post(&staff_path(m), &m.consultant.token, plan_body())
        .await
        .expect(201)
        .body
}

async fn with_if_match(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
    version: i64,
) -> Answer {
    let tag = format!("\"{version}\"");
    app.request(
        method,
        path,
        Some(token),
        body,
        &[("if-match", tag.as_str())],
    )
    .await
}

fn ids(a: &Answer) -> Vec<String> {
    a.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_string())
        .collect()
}

#[tokio::test]
async fn job_support_propose_accept_write_my_parts_and_history() {
    let app = TestApp::start().await;
    let m = app.municipality("301").await;
    transition(&app, &m, "active").await;

    let created = app
        .post(&staff_path(&m), &m.consultant.token, plan_body())
        .await
        .expect(201);
    assert_eq!(created.header("etag"), Some("\"1\""));
    let plan = created.body;
    assert_eq!(plan["status"], "proposed");
    assert_eq!(plan["placement"]["hours_per_week"], 15);
    assert_eq!(plan["contacts"][0]["email"], "lone@example.org");
    assert!(plan["early_signs"].is_null() && plan["accepted_at"].is_null());
    let id = plan["id"].as_str().expect("id").to_string();
    let mine = format!("/api/v1/me/job-support-plans/{id}");
    let theirs = format!("{}/{id}", staff_path(&m));
    let me = &m.candidate.token;

    // The candidate sees it and writes their own parts, but cannot touch the placement.
    let list = app
        .get("/api/v1/me/job-support-plans", me)
        .await
        .expect(200);
    assert_eq!(ids(&list), vec![id.clone()]);
    let refused = app
        .patch(&mine, me, json!({"placement": plan_body()["placement"]}))
        .await
        .problem(400);
    assert_eq!(refused.fields(), vec!["placement"], "{}", refused.body);
    let refused = app
        .patch(&mine, me, json!({"check_in_every_days": 7}))
        .await
        .problem(400);
    assert_eq!(refused.fields(), vec!["check_in_every_days"]);
    let written = with_if_match(
        &app,
        Method::PATCH,
        &mine,
        me,
        Some(json!({"early_signs": EARLY, "what_helps": "En snak med min mentor."})),
        1,
    )
    .await
    .expect(200);
    assert_eq!(written.header("etag"), Some("\"2\""));
    assert_eq!(written.body["early_signs"], EARLY);
    assert_eq!(written.body["status"], "proposed");

    // A stale accept is 412 and changes nothing; the current one makes it active.
    with_if_match(&app, Method::POST, &format!("{mine}/accept"), me, None, 1)
        .await
        .problem(412);
    let accepted = with_if_match(&app, Method::POST, &format!("{mine}/accept"), me, None, 2)
        .await
        .expect(200)
        .body;
    assert_eq!(accepted["status"], "active");
    assert!(accepted["accepted_at"].is_string());
    app.post(&format!("{mine}/accept"), me, json!({}))
        .await
        .problem(409);

    // Staff cannot write the candidate's parts; a stale change is 412; a real change is a new proposal.
    let refused = app
        .patch(&theirs, &m.consultant.token, json!({"early_signs": "x"}))
        .await
        .problem(400);
    assert_eq!(refused.fields(), vec!["early_signs"]);
    let change = json!({"supports": [{"what": "Mentor de første 4 uger", "who": "workplace"}]});
    with_if_match(
        &app,
        Method::PATCH,
        &theirs,
        &m.consultant.token,
        Some(change.clone()),
        2,
    )
    .await
    .problem(412);
    let changed = with_if_match(
        &app,
        Method::PATCH,
        &theirs,
        &m.consultant.token,
        Some(change),
        3,
    )
    .await
    .expect(200)
    .body;
    assert_eq!(changed["status"], "proposed");
    assert_eq!(changed["version"], 4);
    assert_eq!(changed["early_signs"], EARLY, "the candidate's words stay");
    assert!(changed["supports"][0]["how_often"].is_null());
    // Staff cannot make it active themselves.
    app.patch(&theirs, &m.consultant.token, json!({"status": "active"}))
        .await
        .problem(409);
    app.post(&format!("{mine}/accept"), me, json!({}))
        .await
        .expect(200);

    // The history: who, when, which fields, newest first; never the texts; both forms agree.
    let history = app
        .get(&format!("{theirs}/history"), &m.coordinator.token)
        .await
        .expect(200);
    let items = history.body["items"].as_array().expect("items").clone();
    let fields: Vec<Value> = items.iter().map(|h| h["fields"].clone()).collect();
    assert_eq!(
        fields,
        vec![
            json!(["status"]),
            json!(["supports", "status"]),
            json!(["status"]),
            json!(["early_signs", "what_helps"]),
            json!([
                "placement",
                "contacts",
                "supports",
                "check_in_every_days",
                "status"
            ]),
        ]
    );
    assert_eq!(items[0]["by_role"], "candidate");
    assert_eq!(items[0]["by_id"], m.candidate.id.to_string());
    assert_eq!(items[1]["by_role"], "consultant");
    assert_eq!(items[1]["by_id"], m.consultant.id.to_string());
    assert_eq!(items[1]["status"], "proposed");
    assert!(!history.body.to_string().contains("sover"));
    let first = app
        .get(&format!("{mine}/history?limit=2"), me)
        .await
        .expect(200);
    assert_eq!(first.body["items"].as_array().map(Vec::len), Some(2));
    let cursor = first.body["next_cursor"].as_str().expect("a next page");
    let rest = app
        .get(&format!("{mine}/history?limit=10&cursor={cursor}"), me)
        .await
        .expect(200);
    assert_eq!(rest.body["items"].as_array().map(Vec::len), Some(3));
    assert!(rest.body["next_cursor"].is_null());
    assert_eq!(rest.body["items"][2]["id"], items[4]["id"]);

    // Events carry ids and statuses, never the candidate's words.
    let feed = app
        .get("/api/v1/events?limit=200", &m.coordinator.token)
        .await
        .expect(200)
        .body
        .to_string();
    for t in [
        "job_support_plan.proposed",
        "job_support_plan.accepted",
        "job_support_plan.updated",
    ] {
        assert!(feed.contains(t), "{t} in {feed}");
    }
    assert!(!feed.contains("sover") && !feed.contains("Netto"));

    // Staff end it; then nothing changes any more.
    let ended = app
        .patch(&theirs, &m.consultant.token, json!({"status": "ended"}))
        .await
        .expect(200)
        .body;
    assert_eq!(ended["status"], "ended");
    assert!(ended["ended_at"].is_string());
    app.patch(&mine, me, json!({"what_helps": "x"}))
        .await
        .problem(409);
    app.patch(
        &theirs,
        &m.consultant.token,
        json!({"check_in_every_days": 7}),
    )
    .await
    .problem(409);
    let feed = app
        .get("/api/v1/events?limit=200", &m.coordinator.token)
        .await
        .expect(200)
        .body
        .to_string();
    assert!(feed.contains("job_support_plan.ended"));
    app.finish().await;
}

#[tokio::test]
async fn job_support_only_while_the_course_is_active_or_in_aftercare() {
    let app = TestApp::start().await;
    let m = app.municipality("302").await;
    // Referred: no plan yet.
    let refused = app
        .post(&staff_path(&m), &m.consultant.token, plan_body())
        .await
        .problem(409);
    assert!(
        refused.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("`active`") && d.contains("`referred`")),
        "{}",
        refused.body
    );
    let list = app
        .get(&staff_path(&m), &m.consultant.token)
        .await
        .expect(200);
    assert_eq!(list.body["items"], json!([]));

    // Active: proposed. Paused: no change, no accept, no own parts; nothing changed.
    transition(&app, &m, "active").await;
    let plan = propose(&app, &m).await;
    let id = plan["id"].as_str().expect("id");
    let mine = format!("/api/v1/me/job-support-plans/{id}");
    let theirs = format!("{}/{id}", staff_path(&m));
    transition(&app, &m, "paused").await;
    let me = &m.candidate.token;
    app.patch(
        &theirs,
        &m.consultant.token,
        json!({"check_in_every_days": 7}),
    )
    .await
    .problem(409);
    app.post(&format!("{mine}/accept"), me, json!({}))
        .await
        .problem(409);
    app.patch(&mine, me, json!({"early_signs": EARLY}))
        .await
        .problem(409);
    app.post(&staff_path(&m), &m.consultant.token, plan_body())
        .await
        .problem(409);
    let now = app.get(&mine, me).await.expect(200).body;
    assert_eq!(now["version"], 1);
    assert_eq!(now["status"], "proposed");
    assert_eq!(now["check_in_every_days"], 14);
    assert!(now["early_signs"].is_null());
    let history = app
        .get(&format!("{mine}/history"), me)
        .await
        .expect(200)
        .body;
    assert_eq!(history["items"].as_array().map(Vec::len), Some(1));

    // Aftercare: allowed again.
    transition(&app, &m, "active").await;
    transition(&app, &m, "aftercare").await;
    app.post(&format!("{mine}/accept"), me, json!({}))
        .await
        .expect(200);
    app.finish().await;
}

#[tokio::test]
async fn job_support_bad_input_names_the_field() {
    let app = TestApp::start().await;
    let m = app.municipality("303").await;
    transition(&app, &m, "active").await;
    let path = staff_path(&m);
    let token = &m.consultant.token;
    let with = |pointer: &str, value: Value| {
        let mut b = plan_body();
        *b.pointer_mut(pointer).expect("pointer") = value;
        b
    };
    let contact = plan_body()["contacts"][0].clone();
    let cases: Vec<(Value, &str)> = vec![
        (
            with("/check_in_every_days", json!(0)),
            "check_in_every_days",
        ),
        (
            with("/check_in_every_days", json!(91)),
            "check_in_every_days",
        ),
        (with("/contacts", json!(vec![contact; 11])), "contacts"),
        (
            with("/placement/kind", json!("volunteer")),
            "placement.kind",
        ),
        (with("/contacts/0/role", json!("boss")), "contacts[0].role"),
        (with("/supports/0/who", json!("mom")), "supports[0].who"),
        (
            with("/placement/workplace", json!("x".repeat(201))),
            "placement.workplace",
        ),
        (with("/placement/role", json!("")), "placement.role"),
        (
            with("/supports/0/what", json!("x".repeat(501))),
            "supports[0].what",
        ),
        (
            with("/placement/workplace", json!("Netto\u{0}")),
            "placement.workplace",
        ),
        (
            with("/placement/hours_per_week", json!(61)),
            "placement.hours_per_week",
        ),
        (
            with("/placement/starts_on", json!("1. april")),
            "placement.starts_on",
        ),
        (
            with("/contacts/0/email", json!("not-an-address")),
            "contacts[0].email",
        ),
        (
            with("/contacts/0/phone", json!("call me")),
            "contacts[0].phone",
        ),
        (
            {
                let mut b = plan_body();
                b["placement"]["salary"] = json!(1);
                b
            },
            "placement.salary",
        ),
    ];
    for (body, field) in cases {
        let a = app.post(&path, token, body.clone()).await.problem(400);
        assert!(
            a.fields().iter().any(|f| f == field),
            "{field}: {} for {body}",
            a.body
        );
    }
    let mut too_many = plan_body();
    too_many["supports"] = json!(vec![plan_body()["supports"][0].clone(); 31]);
    let a = app.post(&path, token, too_many).await.problem(400);
    assert_eq!(a.fields(), vec!["supports"]);
    assert_eq!(
        app.get(&path, token).await.expect(200).body["items"],
        json!([])
    );

    // The candidate's own parts: at most 2,000 characters, no control characters.
    let plan = propose(&app, &m).await;
    let mine = format!(
        "/api/v1/me/job-support-plans/{}",
        plan["id"].as_str().expect("id")
    );
    let me = &m.candidate.token;
    for (body, field) in [
        (json!({"early_signs": "x".repeat(2001)}), "early_signs"),
        (json!({"what_helps": "hjælp\u{7}"}), "what_helps"),
        (json!({"status": "active"}), "status"),
    ] {
        let a = app.patch(&mine, me, body).await.problem(400);
        assert_eq!(a.fields(), vec![field], "{}", a.body);
    }
    let ok = app
        .patch(&mine, me, json!({"early_signs": "x".repeat(2000)}))
        .await
        .expect(200);
    assert_eq!(ok.body["version"], 2);
    // Staff: cadence in a change too.
    let theirs = format!("{path}/{}", plan["id"].as_str().expect("id"));
    for days in [0, 91] {
        let a = app
            .patch(&theirs, token, json!({"check_in_every_days": days}))
            .await
            .problem(400);
        assert_eq!(a.fields(), vec!["check_in_every_days"]);
    }
    app.finish().await;
}

#[tokio::test]
async fn job_support_access_other_candidate_caseload_municipality_service_admin() {
    let app = TestApp::start().await;
    let a = app.municipality("304").await;
    let b = app.municipality("305").await;
    let admin = app.admin().await;
    transition(&app, &a, "active").await;
    let plan = propose(&app, &a).await;
    let id = plan["id"].as_str().expect("id");
    let theirs = format!("{}/{id}", staff_path(&a));
    let mine = format!("/api/v1/me/job-support-plans/{id}");

    // Another candidate (same municipality or another) does not find it: 404 like a random id.
    for other in [&a.other_candidate, &b.candidate] {
        app.get(&mine, &other.token).await.problem(404);
        app.get(&format!("{mine}/history"), &other.token)
            .await
            .problem(404);
        app.patch(&mine, &other.token, json!({"early_signs": "x"}))
            .await
            .problem(404);
        app.post(&format!("{mine}/accept"), &other.token, json!({}))
            .await
            .problem(404);
        let list = app
            .get("/api/v1/me/job-support-plans", &other.token)
            .await
            .expect(200);
        assert_eq!(list.body["items"], json!([]));
    }
    // Another caseload, another municipality: 404.
    for staff in [&a.other_consultant, &b.consultant, &b.coordinator] {
        app.get(&theirs, &staff.token).await.problem(404);
        app.get(&staff_path(&a), &staff.token).await.problem(404);
        app.get(&format!("{theirs}/history"), &staff.token)
            .await
            .problem(404);
        app.patch(&theirs, &staff.token, json!({"status": "ended"}))
            .await
            .problem(404);
        app.post(&staff_path(&a), &staff.token, plan_body())
            .await
            .problem(404);
    }
    // The coordinator of the municipality reaches it.
    app.get(&theirs, &a.coordinator.token).await.expect(200);
    // Service accounts (free text), admins and candidates on the staff routes: 403.
    for who in [&a.service, &admin, &a.candidate] {
        app.get(&theirs, &who.token).await.problem(403);
        app.get(&staff_path(&a), &who.token).await.problem(403);
        app.patch(&theirs, &who.token, json!({"status": "ended"}))
            .await
            .problem(403);
        app.post(&staff_path(&a), &who.token, plan_body())
            .await
            .problem(403);
    }
    for who in [&a.service, &admin, &a.consultant] {
        app.get("/api/v1/me/job-support-plans", &who.token)
            .await
            .problem(403);
        app.post(&format!("{mine}/accept"), &who.token, json!({}))
            .await
            .problem(403);
    }
    // Nothing changed.
    let now = app.get(&mine, &a.candidate.token).await.expect(200).body;
    assert_eq!(now["version"], 1);
    assert_eq!(now["status"], "proposed");
    app.finish().await;
}

/// Moves a plan's acceptance `days` back, so that its first check-in period has passed.
async fn backdate(app: &TestApp, id: JobSupportPlanId, days: i64) {
    let p = job_support_plan::Entity::find_by_id(id)
        .one(app.state.db.write())
        .await
        .expect("read")
        .expect("plan");
    let mut am: job_support_plan::ActiveModel = p.into();
    am.accepted_at = Set(Some(Utc::now() - Duration::days(days)));
    am.update(app.state.db.write()).await.expect("backdate");
}

/// Lets the claimed period run out, as if its days had passed.
async fn end_period(app: &TestApp, id: JobSupportPlanId) {
    job_support_plan::Entity::update_many()
        .col_expr(
            job_support_plan::Column::CheckInClaimedUntil,
            sea_orm::sea_query::Expr::value(Utc::now().date_naive() - Duration::days(1)),
        )
        .filter(job_support_plan::Column::Id.eq(id))
        .exec(app.state.db.write())
        .await
        .expect("end period");
}

#[tokio::test]
async fn job_support_check_in_due_once_per_period() {
    let app = TestApp::start().await;
    let m = app.municipality("306").await;
    transition(&app, &m, "active").await;
    let plan = propose(&app, &m).await;
    let id: JobSupportPlanId = plan["id"].as_str().expect("id").parse().expect("uuid");
    app.post(
        &format!("/api/v1/me/job-support-plans/{id}/accept"),
        &m.candidate.token,
        json!({}),
    )
    .await
    .expect(200);
    let inbox = |token: String| {
        let app = &app;
        async move {
            app.get("/api/v1/inbox", &token).await.expect(200).body["items"]
                .as_array()
                .expect("items")
                .iter()
                .filter(|i| i["kind"] == "check_in_due")
                .cloned()
                .collect::<Vec<Value>>()
        }
    };
    let count = || async {
        inbox_item::Entity::find()
            .filter(inbox_item::Column::Kind.eq(InboxKind::CheckInDue))
            .filter(inbox_item::Column::RefId.eq(id.0))
            .count(app.state.db.read())
            .await
            .expect("count")
    };

    // Just accepted: nothing due yet.
    ips_api::jobs::run_once(&app.state).await;
    assert_eq!(count().await, 0);

    // 15 days without a meeting on a 14-day cadence: one item, even with two instances at once.
    backdate(&app, id, 15).await;
    tokio::join!(
        ips_api::jobs::run_once(&app.state),
        ips_api::jobs::run_once(&app.state)
    );
    ips_api::jobs::run_once(&app.state).await;
    assert_eq!(count().await, 1);
    let items = inbox(m.consultant.token.clone()).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["ref_id"], id.to_string());
    assert_eq!(items[0]["candidate_id"], m.candidate.id.to_string());
    assert!(inbox(m.other_consultant.token.clone()).await.is_empty());
    let first = items[0]["id"].clone();

    // A new period: a new item (replacing the old one in the inbox).
    end_period(&app, id).await;
    tokio::join!(
        ips_api::jobs::run_once(&app.state),
        ips_api::jobs::run_once(&app.state)
    );
    assert_eq!(count().await, 2);
    let items = inbox(m.consultant.token.clone()).await;
    assert_eq!(items.len(), 1);
    assert_ne!(items[0]["id"], first);

    // A completed meeting within the cadence resolves the item, and no item comes for the next period.
    let booked = app
        .post(
            &format!("/api/v1/candidates/{}/appointments", m.candidate.id),
            &m.consultant.token,
            json!({"kind": "consultant_meeting", "title": "Opfølgning",
                   "starts_at": (Utc::now() + Duration::days(1)).to_rfc3339()}),
        )
        .await
        .expect(201)
        .body;
    let meeting: entity::ids::AppointmentId =
        booked["id"].as_str().expect("id").parse().expect("uuid");
    let row = appointment::Entity::find_by_id(meeting)
        .one(app.state.db.write())
        .await
        .expect("read")
        .expect("appointment");
    let mut am: appointment::ActiveModel = row.into();
    am.starts_at = Set(Utc::now() - Duration::days(2));
    am.ends_at = Set(Utc::now() - Duration::days(2) + Duration::hours(1));
    am.update(app.state.db.write()).await.expect("move it back");
    app.post(
        &format!(
            "/api/v1/candidates/{}/appointments/{meeting}/close",
            m.candidate.id
        ),
        &m.consultant.token,
        json!({"status": "completed"}),
    )
    .await
    .expect(200);
    assert!(inbox(m.consultant.token.clone()).await.is_empty());
    end_period(&app, id).await;
    ips_api::jobs::run_once(&app.state).await;
    assert_eq!(count().await, 2);

    // The event names the plan, nothing else.
    let feed = app
        .get("/api/v1/events?limit=200", &m.coordinator.token)
        .await
        .expect(200)
        .body
        .to_string();
    assert!(feed.contains("job_support_plan.check_in_due"));

    // Ending the plan resolves its item.
    app.patch(
        &format!("{}/{id}", staff_path(&m)),
        &m.consultant.token,
        json!({"status": "ended"}),
    )
    .await
    .expect(200);
    assert!(inbox(m.consultant.token.clone()).await.is_empty());
    app.finish().await;
}

#[tokio::test]
async fn job_support_plans_and_history_are_in_my_export() {
    let app = TestApp::start().await;
    let m = app.municipality("307").await;
    transition(&app, &m, "active").await;
    let plan = propose(&app, &m).await;
    let mine = format!(
        "/api/v1/me/job-support-plans/{}",
        plan["id"].as_str().expect("id")
    );
    app.patch(&mine, &m.candidate.token, json!({"early_signs": EARLY}))
        .await
        .expect(200);
    let doc = app
        .get("/api/v1/me/export", &m.candidate.token)
        .await
        .expect(200)
        .body;
    let plans = doc["job_support_plans"].as_array().expect("plans");
    assert_eq!(plans.len(), 1);
    assert_eq!(plans[0]["early_signs"], EARLY);
    assert_eq!(plans[0]["placement"]["workplace"], "Netto, Vesterbrogade");
    assert_eq!(plans[0]["contacts"][0]["name"], "Lone Hansen");
    let history = plans[0]["history"].as_array().expect("history");
    assert_eq!(history.len(), 2);
    assert_eq!(history[1]["fields"], json!(["early_signs"]));
    assert_eq!(history[1]["role"], "candidate");
    // The other candidate's export has none of it.
    let other = app
        .get("/api/v1/me/export", &m.other_candidate.token)
        .await
        .expect(200)
        .body;
    assert_eq!(other["job_support_plans"], json!([]));
    app.finish().await;
}

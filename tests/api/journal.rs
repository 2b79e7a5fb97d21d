//! The change feed and the audit log: every change is an event in a gapless feed, staff reads and
//! changes are audited, and a failed write leaves nothing behind.
use ips_api::auth::Role;
use poem::http::Method;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::{
    Answer, CANDIDATES, Person, TestApp, all_events, candidate_path, create, new_candidate,
    over_limit, to, transition, with,
};

#[tokio::test]
async fn every_change_is_an_event_in_a_gapless_feed() {
    let app = TestApp::start().await;
    let a_mun = app.municipality("101").await;
    let b_mun = app.municipality("202").await;
    let who = &a_mun.consultant;
    let secret = "Privat grund 7f3a: angst og gæld";
    let x = create(
        &app,
        who,
        with(
            new_candidate("Hemmelignavn"),
            json!({"external_ref": "EXT-9", "email": "hemmelig@example.org"}),
        ),
    )
    .await;
    transition(&app, who, &x, json!({"to": "active", "reason": secret}))
        .await
        .expect(200);
    app.patch(
        &candidate_path(&x),
        &who.token,
        json!({"family_name": "Familienavn"}),
    )
    .await
    .expect(200);
    app.patch(
        &format!("{CANDIDATES}/{x}/enrollment"),
        &who.token,
        json!({"phase": "middle"}),
    )
    .await
    .expect(200);
    transition(&app, who, &x, json!({"to": "stopped", "reason": secret}))
        .await
        .expect(200);

    let feed = all_events(&app, &a_mun.coordinator.token).await;
    let seqs: Vec<i64> = feed
        .iter()
        .map(|e| e["seq"].as_i64().expect("seq"))
        .collect();
    assert_eq!(seqs, (1..=feed.len() as i64).collect::<Vec<_>>(), "gapless");
    // The harness made two candidates (two events each); then ours.
    let mine: Vec<&Value> = feed
        .iter()
        .filter(|e| e["payload"]["candidate_id"] == x)
        .collect();
    let types: Vec<&str> = mine
        .iter()
        .map(|e| e["type"].as_str().expect("type"))
        .collect();
    assert_eq!(
        types,
        [
            "enrollment.status_changed",
            "candidate.created",
            "enrollment.status_changed",
            "candidate.updated",
            "enrollment.updated",
            "enrollment.status_changed",
        ]
    );
    assert_eq!(feed.len(), 4 + mine.len());
    let created = mine[1];
    assert_eq!(created["payload"]["external_ref"], "EXT-9");
    assert_eq!(created["payload"]["consultant_id"], who.id.to_string());
    assert!(created["payload"]["enrollment_id"].is_string());
    assert!(created["id"].is_string() && created["occurred_at"].is_string());
    let changes: Vec<(Value, Value)> = mine
        .iter()
        .filter(|e| e["type"] == "enrollment.status_changed")
        .map(|e| (e["payload"]["from"].clone(), e["payload"]["to"].clone()))
        .collect();
    assert_eq!(
        changes,
        [
            (Value::Null, json!("referred")),
            (json!("referred"), json!("active")),
            (json!("active"), json!("stopped")),
        ]
    );
    // Ids and statuses only: no free text, no names, no contact details.
    let text = serde_json::to_string(&feed).expect("json");
    for private in [
        secret,
        "Privat grund",
        "Hemmelignavn",
        "Familienavn",
        "hemmelig@",
    ] {
        assert!(
            !text.contains(private),
            "{private} leaked into the feed: {text}"
        );
    }

    // Paging with `after` returns the rest, in order.
    let first = app
        .get("/api/v1/events?limit=3", &a_mun.coordinator.token)
        .await
        .expect(200);
    assert_eq!(first.body["items"].as_array().expect("items").len(), 3);
    assert_eq!(first.body["next_after"], 3);
    let rest = app
        .get("/api/v1/events?after=3&limit=200", &a_mun.coordinator.token)
        .await
        .expect(200);
    let mut paged = first.body["items"].as_array().expect("items").clone();
    paged.extend(
        rest.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .cloned(),
    );
    assert_eq!(paged, feed);
    let end = app
        .get(
            &format!("/api/v1/events?after={}", feed.len()),
            &a_mun.coordinator.token,
        )
        .await
        .expect(200);
    assert_eq!(end.body["items"], json!([]));
    assert_eq!(end.body["next_after"], feed.len());
    for bad in ["limit=0", "limit=201", "after=-1"] {
        let a = app
            .get(&format!("/api/v1/events?{bad}"), &a_mun.coordinator.token)
            .await
            .problem(400);
        assert_eq!(a.fields().len(), 1, "{}", a.body);
    }

    // Municipality B has its own numbering and never sees A's events.
    let b_feed = all_events(&app, &b_mun.coordinator.token).await;
    let b_seqs: Vec<i64> = b_feed
        .iter()
        .map(|e| e["seq"].as_i64().expect("seq"))
        .collect();
    assert_eq!(b_seqs, [1, 2, 3, 4]);
    let b_candidates = [
        b_mun.candidate.id.to_string(),
        b_mun.other_candidate.id.to_string(),
    ];
    for e in &b_feed {
        let c = e["payload"]["candidate_id"].as_str().expect("candidate_id");
        assert!(b_candidates.contains(&c.to_string()), "{e}");
        assert!(!feed.iter().any(|a| a["id"] == e["id"]));
    }
    assert!(
        !text.contains(&b_candidates[0]) && !text.contains(&b_candidates[1]),
        "B's candidates in A's feed"
    );

    // Who may read the feed.
    app.get("/api/v1/events", &who.token).await.problem(403);
    app.get("/api/v1/events", &a_mun.candidate.token)
        .await
        .problem(403);
    let admin = app.admin().await;
    app.get("/api/v1/events", &admin.token).await.problem(403);
    let service = all_events(&app, &a_mun.service.token).await;
    assert_eq!(service, feed);
    app.finish().await;
}

/// The audit rows about a candidate, as `(actor_id, actor_role, action, resource)`, oldest first.
async fn audit_rows(app: &TestApp, candidate_id: &str) -> Vec<(Uuid, String, String, String)> {
    let id: Uuid = candidate_id.parse().expect("uuid");
    entity::audit_entry::Entity::find()
        .filter(entity::audit_entry::Column::CandidateId.eq(id))
        .order_by_asc(entity::audit_entry::Column::At)
        .order_by_asc(entity::audit_entry::Column::Id)
        .all(app.state.db.read())
        .await
        .expect("audit rows")
        .into_iter()
        .map(|r| {
            (
                r.actor_id,
                r.actor_role.to_string(),
                r.action.to_string(),
                r.resource.to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn staff_reads_and_changes_are_audited() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let who = &m.consultant;
    let x = create(&app, who, new_candidate("Logget")).await;
    let row = |p: &Person, role: &str, action: &str, resource: &str| {
        (
            p.id,
            role.to_string(),
            action.to_string(),
            resource.to_string(),
        )
    };
    assert_eq!(
        audit_rows(&app, &x).await,
        [row(who, "consultant", "create", "candidate")]
    );

    let enrollment = format!("{CANDIDATES}/{x}/enrollment");
    let steps: Vec<(Answer, (Uuid, String, String, String))> = vec![
        (
            app.get(&candidate_path(&x), &who.token).await,
            row(who, "consultant", "read", "candidate"),
        ),
        (
            app.get(&enrollment, &who.token).await,
            row(who, "consultant", "read", "enrollment"),
        ),
        (
            app.patch(
                &candidate_path(&x),
                &who.token,
                json!({"phone": "11223344"}),
            )
            .await,
            row(who, "consultant", "update", "candidate"),
        ),
        (
            transition(&app, who, &x, to("active")).await,
            row(who, "consultant", "update", "enrollment"),
        ),
        (
            app.patch(&enrollment, &who.token, json!({"phase": "middle"}))
                .await,
            row(who, "consultant", "update", "enrollment"),
        ),
        (
            app.get(&candidate_path(&x), &m.coordinator.token).await,
            row(&m.coordinator, "coordinator", "read", "candidate"),
        ),
        (
            app.get(
                &format!("{CANDIDATES}/{x}/enrollments"),
                &m.coordinator.token,
            )
            .await,
            row(&m.coordinator, "coordinator", "read", "enrollment"),
        ),
    ];
    // Rows were written as each answer came; check them all in the order made.
    let rows = audit_rows(&app, &x).await;
    assert_eq!(rows.len(), 1 + steps.len(), "{rows:?}");
    for (i, (answer, expected)) in steps.into_iter().enumerate() {
        assert!(answer.status.is_success(), "step {i}: {}", answer.body);
        assert!(
            rows.contains(&expected),
            "step {i}: {expected:?} in {rows:?}"
        );
    }
    let mut actions: Vec<String> = rows.iter().map(|r| r.2.clone()).collect();
    actions.sort();
    assert_eq!(
        actions,
        [
            "create", "read", "read", "read", "read", "update", "update", "update"
        ]
    );

    // Every row names the municipality and the request.
    let id: Uuid = x.parse().expect("uuid");
    let full = entity::audit_entry::Entity::find()
        .filter(entity::audit_entry::Column::CandidateId.eq(id))
        .all(app.state.db.read())
        .await
        .expect("rows");
    for r in &full {
        assert_eq!(r.municipality_id, Some(m.id));
        assert!(r.request_id.is_some(), "{r:?}");
    }

    // A read that is refused writes nothing.
    app.get(&candidate_path(&x), &m.other_consultant.token)
        .await
        .problem(404);
    app.get(&enrollment, &m.other_consultant.token)
        .await
        .problem(404);
    assert_eq!(audit_rows(&app, &x).await.len(), rows.len());
    app.finish().await;
}

/// Row counts of everything a candidate change writes.
async fn counts(app: &TestApp) -> [u64; 6] {
    let db = app.state.db.read();
    [
        entity::candidate::Entity::find()
            .count(db)
            .await
            .expect("count"),
        entity::enrollment::Entity::find()
            .count(db)
            .await
            .expect("count"),
        entity::enrollment_transition::Entity::find()
            .count(db)
            .await
            .expect("count"),
        entity::event::Entity::find()
            .count(db)
            .await
            .expect("count"),
        entity::audit_entry::Entity::find()
            .count(db)
            .await
            .expect("count"),
        entity::invitation::Entity::find()
            .count(db)
            .await
            .expect("count"),
    ]
}

#[tokio::test]
async fn a_failed_write_leaves_nothing_behind() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let busy = app.staff(m.id, Role::Consultant, "Busy").await;
    let dup = create(
        &app,
        &busy,
        with(new_candidate("Original"), json!({"external_ref": "DUP"})),
    )
    .await;
    for i in 0..19 {
        app.candidate(m.id, busy.id, &format!("Fyld {i}")).await;
    }
    // 20 open courses: the next create would warn and raise an event before it fails on the
    // duplicate `external_ref`; none of it may stay.
    let before = counts(&app).await;
    app.post(
        CANDIDATES,
        &busy.token,
        with(new_candidate("Kopi"), json!({"external_ref": "DUP"})),
    )
    .await
    .problem(409);
    assert_eq!(counts(&app).await, before);
    assert!(over_limit(&app, &m.coordinator).await.is_empty());
    let last_seq = all_events(&app, &m.coordinator.token).await.len();

    // Refused changes write nothing either.
    app.patch(
        &candidate_path(&m.candidate.id.to_string()),
        &m.consultant.token,
        json!({"external_ref": "DUP"}),
    )
    .await
    .problem(409);
    transition(&app, &busy, &dup, to("paused"))
        .await
        .problem(409);
    transition(&app, &busy, &dup, json!({"to": "active", "outcome": "job"}))
        .await
        .problem(400);
    app.request(
        Method::PATCH,
        &candidate_path(&dup),
        Some(&busy.token),
        Some(json!({"family_name": "Forældet"})),
        &[("if-match", "\"9\"")],
    )
    .await
    .problem(412);
    app.request(
        Method::POST,
        &format!("{CANDIDATES}/{dup}/enrollment/transitions"),
        Some(&busy.token),
        Some(json!({"to": "active"})),
        &[("if-match", "\"9\"")],
    )
    .await
    .problem(412);
    app.post(
        &format!("{CANDIDATES}/{dup}/enrollments"),
        &busy.token,
        json!({}),
    )
    .await
    .problem(409);
    app.patch(
        &candidate_path(&m.other_candidate.id.to_string()),
        &m.coordinator.token,
        json!({"consultant_id": busy.id, "email": "bad"}),
    )
    .await
    .problem(400);
    assert_eq!(counts(&app).await, before);

    // The next successful change takes the next number: the failures used none.
    create(&app, &m.consultant, new_candidate("Efter")).await;
    let feed = all_events(&app, &m.coordinator.token).await;
    let seqs: Vec<i64> = feed
        .iter()
        .map(|e| e["seq"].as_i64().expect("seq"))
        .collect();
    assert_eq!(seqs, (1..=last_seq as i64 + 2).collect::<Vec<_>>());
    app.finish().await;
}

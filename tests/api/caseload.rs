//! Caseloads: the warning from the 21st open course and the hard limit.
use ips_api::auth::Role;
use serde_json::{Value, json};

use crate::common::{
    CANDIDATES, TestApp, candidate_path, create, drive, id_of, new_candidate, over_limit, with,
};

fn warnings(candidate: &Value) -> usize {
    candidate
        .get("warnings")
        .map(|w| w.as_array().expect("warnings").len())
        .unwrap_or(0)
}

#[tokio::test]
async fn caseload_warns_from_the_21st_open_course() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let busy = app.staff(m.id, Role::Consultant, "Busy").await;
    // Two ended courses, which do not count…
    let stopped = app.candidate(m.id, busy.id, "Stopped").await.id.to_string();
    drive(&app, &busy, &stopped, "stopped").await;
    let completed = app
        .candidate(m.id, busy.id, "Completed")
        .await
        .id
        .to_string();
    drive(&app, &busy, &completed, "completed").await;
    // …and 19 open ones, in every open status.
    for i in 0..19 {
        let id = app
            .candidate(m.id, busy.id, &format!("Open {i}"))
            .await
            .id
            .to_string();
        let status = ["referred", "active", "paused", "aftercare"][i % 4];
        drive(&app, &busy, &id, status).await;
    }
    // The 20th open course is within the guideline.
    let a = app
        .post(CANDIDATES, &busy.token, new_candidate("Twentieth"))
        .await
        .expect(201);
    assert_eq!(warnings(&a.body["candidate"]), 0, "{}", a.body);
    assert!(over_limit(&app, &m.coordinator).await.is_empty());
    // The 21st succeeds with a warning and an event.
    let a = app
        .post(CANDIDATES, &busy.token, new_candidate("TwentyFirst"))
        .await
        .expect(201);
    assert_eq!(warnings(&a.body["candidate"]), 1, "{}", a.body);
    assert!(
        a.body["candidate"]["warnings"][0]
            .as_str()
            .is_some_and(|w| w.contains("21"))
    );
    let busy_id = busy.id.to_string();
    assert_eq!(
        over_limit(&app, &m.coordinator).await,
        [(busy_id.clone(), 21)]
    );
    // The warning is on the answer to the change only.
    let got = app
        .get(&candidate_path(&id_of(&a)), &busy.token)
        .await
        .expect(200);
    assert_eq!(warnings(&got.body), 0);

    // Reassigning an open course onto the full consultant warns too.
    let ali = candidate_path(&m.other_candidate.id.to_string());
    let a = app
        .patch(
            &ali,
            &m.coordinator.token,
            json!({"consultant_id": busy.id}),
        )
        .await
        .expect(200);
    assert_eq!(warnings(&a.body), 1, "{}", a.body);
    assert_eq!(
        over_limit(&app, &m.coordinator).await,
        [(busy_id.clone(), 21), (busy_id.clone(), 22)]
    );
    // Changing something else of a candidate already there does not.
    let a = app
        .patch(
            &ali,
            &m.coordinator.token,
            json!({"consultant_id": busy.id, "family_name": "Andersen"}),
        )
        .await
        .expect(200);
    assert_eq!(warnings(&a.body), 0, "{}", a.body);
    // An ended course moves over without counting.
    let sara = m.candidate.id.to_string();
    drive(&app, &m.consultant, &sara, "stopped").await;
    let a = app
        .patch(
            &candidate_path(&sara),
            &m.coordinator.token,
            json!({"consultant_id": busy.id}),
        )
        .await
        .expect(200);
    assert_eq!(warnings(&a.body), 0, "{}", a.body);
    // Re-opening a course on the full consultant warns.
    let a = app
        .post(
            &format!("{CANDIDATES}/{stopped}/enrollments"),
            &busy.token,
            json!({}),
        )
        .await
        .expect(201);
    assert_eq!(warnings(&a.body), 1, "{}", a.body);
    assert_eq!(over_limit(&app, &m.coordinator).await.len(), 3);
    app.finish().await;
}

#[tokio::test]
async fn caseload_hard_limit_refuses() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let admin = app.admin().await;
    app.patch(
        &format!("/api/v1/municipalities/{}", m.id),
        &admin.token,
        json!({"settings": {"min_age": 15, "max_age": 29, "caseload_hard_limit": 2, "retention_years": 5}}),
    )
    .await
    .expect(200);
    // The consultant has Sara; a second fits, a third does not.
    create(&app, &m.consultant, new_candidate("Second")).await;
    app.post(CANDIDATES, &m.consultant.token, new_candidate("Third"))
        .await
        .problem(409);
    app.post(
        CANDIDATES,
        &m.coordinator.token,
        with(
            new_candidate("Third"),
            json!({"consultant_id": m.consultant.id}),
        ),
    )
    .await
    .problem(409);
    // Reassigning onto the full consultant is refused too, and changes nothing.
    let ali = candidate_path(&m.other_candidate.id.to_string());
    app.patch(
        &ali,
        &m.coordinator.token,
        json!({"consultant_id": m.consultant.id}),
    )
    .await
    .problem(409);
    let got = app.get(&ali, &m.coordinator.token).await.expect(200);
    assert_eq!(got.body["consultant_id"], m.other_consultant.id.to_string());
    assert_eq!(got.body["version"], 1);
    // Ending a course frees a place.
    drive(&app, &m.consultant, &m.candidate.id.to_string(), "stopped").await;
    create(&app, &m.consultant, new_candidate("Third")).await;
    app.post(CANDIDATES, &m.consultant.token, new_candidate("Fourth"))
        .await
        .problem(409);
    // Nor can a new course open on a full consultant.
    app.post(
        &format!("{CANDIDATES}/{}/enrollments", m.candidate.id),
        &m.consultant.token,
        json!({}),
    )
    .await
    .problem(409);
    // Unassigned candidates are not limited.
    app.post(CANDIDATES, &m.coordinator.token, new_candidate("Nobody's"))
        .await
        .expect(201);
    app.finish().await;
}

//! Staff (SPEC §4.2): created with an invitation by admins and coordinators, listed and read only inside
//! the municipality, changed and deactivated.
use ips_api::auth::Role;
use poem::http::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::{
    Answer, PASSWORD, TestApp, accept, give_login, login, me_status, problem_parts, refresh,
};

fn new_staff(municipality_id: impl Into<Uuid>, role: &str) -> Value {
    let municipality_id: Uuid = municipality_id.into();
    json!({
        "municipality_id": municipality_id,
        "display_name": "Karen Konsulent",
        "email": "karen@kommune.dk",
        "role": role,
    })
}

#[tokio::test]
async fn staff_are_created_with_an_invitation_by_admins_and_coordinators() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let other = app.municipality("202").await;
    let admin = app.admin().await;

    let a = app
        .post(
            "/api/v1/staff",
            &m.coordinator.token,
            new_staff(m.id, "consultant"),
        )
        .await
        .expect(201);
    let id = a.body["staff"]["id"].as_str().expect("id").to_string();
    assert_eq!(a.header("etag"), Some("\"1\""));
    assert_eq!(
        a.header("location"),
        Some(format!("/api/v1/staff/{id}").as_str())
    );
    assert_eq!(a.body["staff"]["municipality_id"], m.id.to_string());
    assert_eq!(a.body["staff"]["role"], "consultant");
    assert_eq!(a.body["staff"]["active"], true);
    assert_eq!(a.body["staff"]["version"], 1);
    let code = a.body["invitation"]["code"].as_str().expect("code");
    assert!(a.body["invitation"]["expires_at"].is_string());
    // The new consultant chooses a login and is who they should be.
    let t = accept(&app, code, "karen.k", PASSWORD).await.expect(200);
    let me = app
        .get(
            "/api/v1/me",
            t.body["access_token"].as_str().expect("access"),
        )
        .await
        .expect(200);
    assert_eq!(me.body["id"], id.as_str());
    assert_eq!(me.body["role"], "consultant");
    assert_eq!(me.body["municipality_id"], m.id.to_string());
    assert_eq!(me.body["display_name"], "Karen Konsulent");
    login(&app, "karen.k", PASSWORD).await.expect(200);

    // A coordinator only for their own municipality.
    let a = app
        .post(
            "/api/v1/staff",
            &m.coordinator.token,
            new_staff(other.id, "consultant"),
        )
        .await;
    // Out of reach, like a municipality that does not exist.
    a.problem(404);
    // An admin for any existing one.
    let a = app
        .post(
            "/api/v1/staff",
            &admin.token,
            new_staff(other.id, "coordinator"),
        )
        .await
        .expect(201);
    assert_eq!(a.body["staff"]["municipality_id"], other.id.to_string());
    assert_eq!(a.body["staff"]["role"], "coordinator");
    let a = app
        .post(
            "/api/v1/staff",
            &admin.token,
            new_staff(Uuid::now_v7(), "consultant"),
        )
        .await;
    a.problem(404);
    // Nobody else.
    for who in [&m.consultant, &m.candidate, &m.service] {
        app.post("/api/v1/staff", &who.token, new_staff(m.id, "consultant"))
            .await
            .problem(403);
    }
    // Bad input names the field.
    let mut body = new_staff(m.id, "admin");
    let a = app
        .post("/api/v1/staff", &m.coordinator.token, body.clone())
        .await
        .problem(400);
    assert_eq!(a.fields(), ["role"]);
    body["role"] = json!("consultant");
    body["email"] = json!("not-an-address");
    let a = app
        .post("/api/v1/staff", &m.coordinator.token, body.clone())
        .await
        .problem(400);
    assert_eq!(a.fields(), ["email"]);
    body["email"] = json!("karen@kommune.dk");
    body["display_name"] = json!("");
    let a = app
        .post("/api/v1/staff", &m.coordinator.token, body.clone())
        .await
        .problem(400);
    assert_eq!(a.fields(), ["display_name"]);
    body["display_name"] = json!("Karen");
    body["phone"] = json!("call me maybe");
    let a = app
        .post("/api/v1/staff", &m.coordinator.token, body.clone())
        .await
        .problem(400);
    assert_eq!(a.fields(), ["phone"]);
    body["phone"] = json!("+45 87 65 43 21");
    body["password"] = json!("x");
    let a = app
        .post("/api/v1/staff", &m.coordinator.token, body)
        .await
        .problem(400);
    assert_eq!(a.fields(), ["password"]);
    app.finish().await;
}

fn staff_ids(a: &Answer) -> Vec<String> {
    a.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|s| s["id"].as_str().expect("id").to_string())
        .collect()
}

#[tokio::test]
async fn staff_lists_and_reads_stay_inside_the_municipality() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let other = app.municipality("202").await;
    let admin = app.admin().await;
    let own = [&m.coordinator, &m.consultant, &m.other_consultant];
    let theirs = [
        &other.coordinator,
        &other.consultant,
        &other.other_consultant,
    ];

    let list = app
        .get("/api/v1/staff", &m.coordinator.token)
        .await
        .expect(200);
    let ids = staff_ids(&list);
    assert_eq!(ids.len(), 3, "{}", list.body);
    for p in own {
        assert!(ids.contains(&p.id.to_string()));
    }
    assert!(
        list.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|s| s["municipality_id"] == m.id.to_string())
    );
    // A coordinator's filter cannot widen their reach.
    let list = app
        .get(
            &format!("/api/v1/staff?municipality_id={}", other.id),
            &m.coordinator.token,
        )
        .await
        .expect(200);
    assert!(staff_ids(&list).is_empty(), "{}", list.body);
    // Pages.
    let page = app
        .get("/api/v1/staff?limit=2", &m.coordinator.token)
        .await
        .expect(200);
    assert_eq!(staff_ids(&page).len(), 2);
    let cursor = page.body["next_cursor"].as_str().expect("cursor");
    let rest = app
        .get(
            &format!("/api/v1/staff?limit=2&cursor={cursor}"),
            &m.coordinator.token,
        )
        .await
        .expect(200);
    assert_eq!(staff_ids(&rest).len(), 1);
    assert!(rest.body["next_cursor"].is_null());

    // The admin sees every municipality's staff (never admins), and can filter.
    let all = staff_ids(&app.get("/api/v1/staff", &admin.token).await.expect(200));
    assert_eq!(all.len(), 6);
    assert!(!all.contains(&admin.id.to_string()));
    let filtered = app
        .get(
            &format!("/api/v1/staff?municipality_id={}", other.id),
            &admin.token,
        )
        .await
        .expect(200);
    let filtered = staff_ids(&filtered);
    assert_eq!(filtered.len(), 3);
    for p in theirs {
        assert!(filtered.contains(&p.id.to_string()));
    }

    // One staff member: own municipality yes, another's 404 for reads and changes alike.
    let path = format!("/api/v1/staff/{}", m.consultant.id);
    let one = app.get(&path, &m.coordinator.token).await.expect(200);
    assert_eq!(one.body["id"], m.consultant.id.to_string());
    assert_eq!(one.header("etag"), Some("\"1\""));
    app.get(&path, &admin.token).await.expect(200);
    app.get(&path, &other.coordinator.token).await.problem(404);
    app.patch(
        &path,
        &other.coordinator.token,
        json!({"display_name": "X"}),
    )
    .await
    .problem(404);
    app.patch(&path, &other.coordinator.token, json!({"active": false}))
        .await
        .problem(404);
    app.get(&format!("/api/v1/staff/{}", admin.id), &admin.token)
        .await
        .problem(404);
    app.get(
        &format!("/api/v1/staff/{}", Uuid::now_v7()),
        &m.coordinator.token,
    )
    .await
    .problem(404);
    // Roles that never manage staff.
    for who in [&m.consultant, &m.candidate, &m.service] {
        app.get("/api/v1/staff", &who.token).await.problem(403);
        app.get(&path, &who.token).await.problem(403);
        app.patch(&path, &who.token, json!({"display_name": "X"}))
            .await
            .problem(403);
    }
    assert_eq!(me_status(&app, &m.consultant.token).await, 200);
    app.finish().await;
}

#[tokio::test]
async fn changing_and_deactivating_staff() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    give_login(
        &app,
        m.consultant.id,
        "kirsten.k",
        Role::Consultant,
        Some(m.id),
    )
    .await;
    let session = login(&app, "kirsten.k", PASSWORD).await.expect(200);
    let refresh_token = session.body["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    let path = format!("/api/v1/staff/{}", m.consultant.id);
    let patch = |body: Value, tag: &'static str| {
        let (app, path, token) = (&app, path.clone(), m.coordinator.token.clone());
        async move {
            app.request(
                Method::PATCH,
                &path,
                Some(&token),
                Some(body),
                &[("if-match", tag)],
            )
            .await
        }
    };

    let a = patch(
        json!({"display_name": "Kirsten K.", "phone": "+45 12 34 56 78"}),
        "\"1\"",
    )
    .await
    .expect(200);
    assert_eq!(a.header("etag"), Some("\"2\""));
    assert_eq!(a.body["display_name"], "Kirsten K.");
    assert_eq!(a.body["phone"], "+45 12 34 56 78");
    // A name change leaves the sessions alone.
    assert_eq!(me_status(&app, &m.consultant.token).await, 200);
    // A stale version is refused and changes nothing.
    patch(json!({"display_name": "Lost"}), "\"1\"")
        .await
        .problem(412);
    let now = app.get(&path, &m.coordinator.token).await.expect(200);
    assert_eq!(now.body["display_name"], "Kirsten K.");
    // `null` clears the phone.
    let a = patch(json!({"phone": null}), "\"2\"").await.expect(200);
    assert!(a.body["phone"].is_null());
    // Bad values name the field.
    let a = patch(json!({"email": "nope"}), "\"3\"").await.problem(400);
    assert_eq!(a.fields(), ["email"]);
    let a = patch(json!({"active": "no"}), "\"3\"").await.problem(400);
    assert_eq!(a.fields(), ["active"]);
    let a = patch(json!({"role": "admin"}), "\"3\"").await.problem(400);
    assert_eq!(a.fields(), ["role"]);
    let a = patch(json!({"phone": "ring ring"}), "\"3\"")
        .await
        .problem(400);
    assert_eq!(a.fields(), ["phone"]);

    // Deactivation ends every session at once and stops logins.
    let a = patch(json!({"active": false}), "\"3\"").await.expect(200);
    assert_eq!(a.body["active"], false);
    assert_eq!(me_status(&app, &m.consultant.token).await, 401);
    let access = session.body["access_token"].as_str().expect("access");
    assert_eq!(me_status(&app, access).await, 401);
    refresh(&app, &refresh_token).await.problem(401);
    let refused = login(&app, "kirsten.k", PASSWORD).await.problem(401);
    let unknown = login(&app, "nobody.here", PASSWORD).await.problem(401);
    assert_eq!(problem_parts(&refused), problem_parts(&unknown));
    // Reactivated, they log in again.
    patch(json!({"active": true}), "\"4\"").await.expect(200);
    login(&app, "kirsten.k", PASSWORD).await.expect(200);

    // A role change also ends the sessions; the next login carries the new role.
    let before = login(&app, "kirsten.k", PASSWORD).await.expect(200);
    let before = before.body["access_token"]
        .as_str()
        .expect("access")
        .to_string();
    let a = patch(json!({"role": "coordinator"}), "\"5\"")
        .await
        .expect(200);
    assert_eq!(a.body["role"], "coordinator");
    assert_eq!(me_status(&app, &before).await, 401);
    let after = login(&app, "kirsten.k", PASSWORD).await.expect(200);
    let after = after.body["access_token"].as_str().expect("access");
    assert_eq!(
        app.get("/api/v1/me", after).await.expect(200).body["role"],
        "coordinator"
    );

    // Nobody deactivates themselves or changes their own role.
    let own = format!("/api/v1/staff/{}", m.coordinator.id);
    app.patch(&own, &m.coordinator.token, json!({"active": false}))
        .await
        .problem(409);
    app.patch(&own, &m.coordinator.token, json!({"role": "consultant"}))
        .await
        .problem(409);
    assert_eq!(me_status(&app, &m.coordinator.token).await, 200);
    // Their own name they may change.
    app.patch(&own, &m.coordinator.token, json!({"display_name": "Kim"}))
        .await
        .expect(200);
    app.finish().await;
}

#[tokio::test]
async fn a_deactivated_staff_member_cannot_use_an_outstanding_invitation() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let a = app
        .post(
            "/api/v1/staff",
            &m.coordinator.token,
            new_staff(m.id, "consultant"),
        )
        .await
        .expect(201);
    let id = a.body["staff"]["id"].as_str().expect("id").to_string();
    let code = a.body["invitation"]["code"]
        .as_str()
        .expect("code")
        .to_string();
    app.request(
        Method::PATCH,
        &format!("/api/v1/staff/{id}"),
        Some(&m.coordinator.token),
        Some(json!({"active": false})),
        &[("if-match", "\"1\"")],
    )
    .await
    .expect(200);
    accept(&app, &code, "karen.k", PASSWORD).await.problem(404);
    login(&app, "karen.k", PASSWORD).await.problem(401);
    // Reactivated within the 7 days, the same code works.
    app.request(
        Method::PATCH,
        &format!("/api/v1/staff/{id}"),
        Some(&m.coordinator.token),
        Some(json!({"active": true})),
        &[("if-match", "\"2\"")],
    )
    .await
    .expect(200);
    let a = accept(&app, &code, "karen.k", PASSWORD).await.expect(200);
    let access = a.body["access_token"].as_str().expect("access");
    assert_eq!(me_status(&app, access).await, 200);
    app.finish().await;
}

//! Municipalities (SPEC §4.2): what admins may do with them.
use poem::http::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::TestApp;

#[tokio::test]
async fn admins_manage_municipalities() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let admin = app.admin().await;
    let a = app
        .post(
            "/api/v1/municipalities",
            &admin.token,
            json!({"name": "Aarhus Kommune", "code": "751"}),
        )
        .await
        .expect(201);
    let id = a.body["id"].as_str().expect("id").to_string();
    let path = format!("/api/v1/municipalities/{id}");
    assert_eq!(a.header("etag"), Some("\"1\""));
    assert_eq!(a.header("location"), Some(path.as_str()));
    assert_eq!(a.body["name"], "Aarhus Kommune");
    assert_eq!(a.body["code"], "751");
    assert_eq!(a.body["version"], 1);
    assert_eq!(
        a.body["settings"],
        json!({"min_age": 15, "max_age": 29, "caseload_hard_limit": null, "retention_years": 5,
               "audit_retention_months": 24})
    );
    let settings = json!({"min_age": 16, "max_age": 30, "caseload_hard_limit": 25,
                          "retention_years": 3, "audit_retention_months": 12});
    let a = app
        .post(
            "/api/v1/municipalities",
            &admin.token,
            json!({"name": "Vejle Kommune", "code": "630", "settings": settings}),
        )
        .await
        .expect(201);
    assert_eq!(a.body["settings"], settings);

    // The code: three digits, unique.
    for bad in [
        json!("75"),
        json!("7510"),
        json!("7a1"),
        json!(" 751"),
        json!(751),
    ] {
        let a = app
            .post(
                "/api/v1/municipalities",
                &admin.token,
                json!({"name": "X", "code": bad}),
            )
            .await
            .problem(400);
        assert_eq!(a.fields(), ["code"], "{bad}: {}", a.body);
    }
    let a = app
        .post("/api/v1/municipalities", &admin.token, json!({"name": "X"}))
        .await
        .problem(400);
    assert_eq!(a.fields(), ["code"]);
    for taken in ["751", "101"] {
        app.post(
            "/api/v1/municipalities",
            &admin.token,
            json!({"name": "Again", "code": taken}),
        )
        .await
        .problem(409);
    }
    let a = app
        .post(
            "/api/v1/municipalities",
            &admin.token,
            json!({"name": "X", "code": "999", "settings": {"min_age": 30, "max_age": 20, "retention_years": 5}}),
        )
        .await
        .problem(400);
    assert_eq!(a.fields(), ["settings.min_age"]);

    // List (with pages) and read.
    let list = app
        .get("/api/v1/municipalities", &admin.token)
        .await
        .expect(200);
    let codes: Vec<&str> = list.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|m| m["code"].as_str().expect("code"))
        .collect();
    assert_eq!(codes, ["101", "751", "630"], "oldest first");
    let page = app
        .get("/api/v1/municipalities?limit=2", &admin.token)
        .await
        .expect(200);
    let cursor = page.body["next_cursor"].as_str().expect("cursor");
    let rest = app
        .get(
            &format!("/api/v1/municipalities?limit=2&cursor={cursor}"),
            &admin.token,
        )
        .await
        .expect(200);
    assert_eq!(rest.body["items"][0]["code"], "630");
    assert!(rest.body["next_cursor"].is_null());
    let one = app.get(&path, &admin.token).await.expect(200);
    assert_eq!(one.body["code"], "751");
    assert_eq!(one.header("etag"), Some("\"1\""));
    app.get(
        &format!("/api/v1/municipalities/{}", Uuid::now_v7()),
        &admin.token,
    )
    .await
    .problem(404);

    // Change with If-Match.
    let patch = |body: Value, tag: &'static str| {
        let (app, path, token) = (&app, path.clone(), admin.token.clone());
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
    let a = patch(json!({"name": "Aarhus"}), "\"1\"").await.expect(200);
    assert_eq!(a.body["name"], "Aarhus");
    assert_eq!(a.body["code"], "751");
    assert_eq!(a.header("etag"), Some("\"2\""));
    patch(json!({"name": "Lost update"}), "\"1\"")
        .await
        .problem(412);
    let a = patch(json!({"name": "Bad tag"}), "yesterday")
        .await
        .problem(400);
    assert_eq!(a.fields(), ["If-Match"]);
    patch(json!({"code": "101"}), "\"2\"").await.problem(409);
    let a = patch(json!({"code": "1"}), "\"2\"").await.problem(400);
    assert_eq!(a.fields(), ["code"]);
    let a = patch(json!({"settings": settings}), "\"2\"")
        .await
        .expect(200);
    assert_eq!(a.body["settings"], settings);
    assert_eq!(a.body["name"], "Aarhus");
    assert_eq!(
        app.get(&path, &admin.token).await.expect(200).body["version"],
        3
    );

    // Nobody but the admin, not even for their own municipality.
    let own = format!("/api/v1/municipalities/{}", m.id);
    for who in [&m.coordinator, &m.consultant, &m.candidate, &m.service] {
        app.get("/api/v1/municipalities", &who.token)
            .await
            .problem(403);
        app.post(
            "/api/v1/municipalities",
            &who.token,
            json!({"name": "X", "code": "998"}),
        )
        .await
        .problem(403);
        app.get(&own, &who.token).await.problem(403);
        app.patch(&own, &who.token, json!({"name": "Mine now"}))
            .await
            .problem(403);
    }
    app.finish().await;
}

//! Service accounts (SPEC §4.2): tokens by client credentials (RFC 6749 errors included), and a
//! service account stays inside its municipality.
use poem::http::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::{Answer, TestApp, b64_std, jwt_part, me_status, new_candidate};

/// `POST /oauth/token` with a form body and, if given, HTTP Basic credentials.
async fn token_request(app: &TestApp, basic: Option<(&str, &str)>, form: &str) -> Answer {
    let mut req = app
        .cli
        .post("/api/v1/oauth/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_string());
    if let Some((id, secret)) = basic {
        let credentials = b64_std(format!("{id}:{secret}").as_bytes());
        req = req.header("authorization", format!("Basic {credentials}"));
    }
    let resp = req.send().await.0;
    let status = resp.status();
    let headers = resp.headers().clone();
    let raw = resp.into_body().into_vec().await.expect("body");
    let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
        raw,
    }
}

#[tokio::test]
async fn service_accounts_get_tokens_by_client_credentials() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let a = app
        .post(
            "/api/v1/service-accounts",
            &m.coordinator.token,
            json!({"name": "Jobcenter-system", "scopes": ["events:read", "candidates:read"]}),
        )
        .await
        .expect(201);
    let id = a.body["id"].as_str().expect("id").to_string();
    let client_id = a.body["client_id"].as_str().expect("client_id").to_string();
    let secret = a.body["client_secret"]
        .as_str()
        .expect("secret")
        .to_string();
    assert!(secret.len() >= 32);
    assert_eq!(
        a.header("location"),
        Some(format!("/api/v1/service-accounts/{id}").as_str())
    );
    assert_eq!(a.body["account"]["id"], id.as_str());
    assert_eq!(a.body["account"]["client_id"], client_id.as_str());
    assert_eq!(a.body["account"]["municipality_id"], m.id.to_string());
    assert_eq!(a.body["account"]["name"], "Jobcenter-system");
    let mut scopes: Vec<&str> = a.body["account"]["scopes"]
        .as_array()
        .expect("scopes")
        .iter()
        .map(|s| s.as_str().expect("scope"))
        .collect();
    scopes.sort_unstable();
    assert_eq!(scopes, ["candidates:read", "events:read"]);
    assert!(a.body["account"].get("client_secret").is_none());

    // The secret is never listed.
    let list = app
        .get("/api/v1/service-accounts", &m.coordinator.token)
        .await
        .expect(200);
    let text = String::from_utf8(list.raw.clone()).expect("utf-8");
    assert!(
        !text.contains(&secret) && !text.contains(&m.service_secret),
        "{text}"
    );
    assert!(!text.contains("secret"), "{text}");
    let ids: Vec<&str> = list.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|s| s["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, [m.service.id.to_string().as_str(), id.as_str()]);

    // A token with every scope the account holds.
    let t = token_request(
        &app,
        Some((&client_id, &secret)),
        "grant_type=client_credentials",
    )
    .await
    .expect(200);
    assert_eq!(t.body["token_type"], "Bearer");
    assert_eq!(t.body["expires_in"], 900);
    let mut granted: Vec<&str> = t.body["scope"]
        .as_str()
        .expect("scope")
        .split(' ')
        .collect();
    granted.sort_unstable();
    assert_eq!(granted, ["candidates:read", "events:read"]);
    let full = t.body["access_token"].as_str().expect("access").to_string();
    let me = app.get("/api/v1/me", &full).await.expect(200);
    assert_eq!(me.body["id"], id.as_str());
    assert_eq!(me.body["role"], "service");
    assert_eq!(me.body["municipality_id"], m.id.to_string());
    assert_eq!(me.body["display_name"], "Jobcenter-system");
    // Narrowed to one scope.
    let t = token_request(
        &app,
        Some((&client_id, &secret)),
        "grant_type=client_credentials&scope=candidates%3Aread",
    )
    .await
    .expect(200);
    assert_eq!(t.body["scope"], "candidates:read");
    let narrow = t.body["access_token"].as_str().expect("access").to_string();
    let me = app.get("/api/v1/me", &narrow).await.expect(200);
    assert_eq!(me.body["scopes"], json!(["candidates:read"]));
    assert_eq!(jwt_part(&narrow, 1)["scope"], "candidates:read");
    // What the scope allows, and what it does not.
    app.get("/api/v1/candidates", &narrow).await.expect(200);
    app.post("/api/v1/candidates", &narrow, new_candidate("Nope"))
        .await
        .problem(403);
    app.post(
        &format!("/api/v1/candidates/{}/invitation", m.candidate.id),
        &narrow,
        json!({}),
    )
    .await
    .problem(403);

    // Refusals, the RFC 6749 §5.2 way: `{error, error_description}`, never stored.
    let oauth = |a: Answer, status: u16, error: &str| {
        assert_eq!(a.status.as_u16(), status, "{error}: {}", a.body);
        assert_eq!(a.body["error"], error, "{}", a.body);
        assert!(a.body["error_description"].is_string(), "{}", a.body);
        assert_eq!(a.header("cache-control"), Some("no-store"));
        assert_eq!(a.header("pragma"), Some("no-cache"));
        a
    };
    let a = token_request(
        &app,
        Some((&client_id, &secret)),
        "grant_type=client_credentials&scope=reports%3Aread",
    )
    .await;
    oauth(a, 400, "invalid_scope");
    let a = token_request(
        &app,
        Some((&client_id, &secret)),
        "grant_type=client_credentials&scope=candidates%3Aread+admin",
    )
    .await;
    oauth(a, 400, "invalid_scope");
    let basic_challenge = |a: &Answer| {
        assert_eq!(
            a.header("www-authenticate"),
            Some("Basic realm=\"ips-ung\""),
            "{}",
            a.body
        );
    };
    let wrong = token_request(
        &app,
        Some((&client_id, "not-the-secret")),
        "grant_type=client_credentials",
    )
    .await;
    basic_challenge(&wrong);
    let wrong = oauth(wrong, 401, "invalid_client");
    let unknown = token_request(
        &app,
        Some(("ips_nobody", &secret)),
        "grant_type=client_credentials",
    )
    .await;
    let unknown = oauth(unknown, 401, "invalid_client");
    assert_eq!(wrong.body, unknown.body);
    // Another account's secret does not open this one.
    let a = token_request(
        &app,
        Some((&client_id, &m.service_secret)),
        "grant_type=client_credentials",
    )
    .await;
    oauth(a, 401, "invalid_client");
    // No credentials at all: the same, with the challenge.
    let a = token_request(&app, None, "grant_type=client_credentials").await;
    basic_challenge(&a);
    oauth(a, 401, "invalid_client");
    let a = token_request(&app, Some((&client_id, &secret)), "grant_type=password").await;
    oauth(a, 400, "unsupported_grant_type");
    // The credentials in the form instead (client_secret_post), and not both ways at once.
    let post =
        format!("grant_type=client_credentials&client_id={client_id}&client_secret={secret}");
    let t = token_request(&app, None, &post).await.expect(200);
    assert_eq!(t.header("cache-control"), Some("no-store"));
    assert_eq!(t.header("pragma"), Some("no-cache"));
    assert!(t.body["access_token"].is_string());
    let a = token_request(
        &app,
        None,
        &format!("grant_type=client_credentials&client_id={client_id}&client_secret=wrong"),
    )
    .await;
    oauth(a, 401, "invalid_client");
    let a = token_request(&app, Some((&client_id, &secret)), &post).await;
    oauth(a, 400, "invalid_request");
    // Parameters the endpoint does not know are ignored (RFC 6749 §3.2).
    token_request(
        &app,
        Some((&client_id, &secret)),
        "grant_type=client_credentials&audience=x",
    )
    .await
    .expect(200);
    // RFC 6749 wants a form: JSON is malformed here.
    let a = app
        .request(
            Method::POST,
            "/api/v1/oauth/token",
            None,
            Some(json!({"grant_type": "client_credentials"})),
            &[(
                "authorization",
                &format!(
                    "Basic {}",
                    b64_std(format!("{client_id}:{secret}").as_bytes())
                ),
            )],
        )
        .await;
    oauth(a, 400, "invalid_request");

    // Deleting the account ends its tokens at once and its secret stops working.
    let path = format!("/api/v1/service-accounts/{id}");
    app.call(Method::DELETE, &path, Some(&m.coordinator.token), None)
        .await
        .expect(204);
    assert_eq!(me_status(&app, &full).await, 401);
    assert_eq!(me_status(&app, &narrow).await, 401);
    app.get("/api/v1/candidates", &narrow).await.problem(401);
    let a = token_request(
        &app,
        Some((&client_id, &secret)),
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(a.status.as_u16(), 401);
    assert_eq!(a.body["error"], "invalid_client");
    app.call(Method::DELETE, &path, Some(&m.coordinator.token), None)
        .await
        .problem(404);
    let list = app
        .get("/api/v1/service-accounts", &m.coordinator.token)
        .await
        .expect(200);
    assert_eq!(list.body["items"].as_array().expect("items").len(), 1);
    // The municipality's other account is untouched.
    assert_eq!(me_status(&app, &m.service.token).await, 200);
    app.finish().await;
}

#[tokio::test]
async fn service_accounts_stay_inside_the_municipality() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let other = app.municipality("202").await;
    let admin = app.admin().await;
    let body = json!({"name": "System", "scopes": ["reports:read"]});

    // A coordinator: own municipality only.
    let mut theirs = body.clone();
    theirs["municipality_id"] = json!(other.id);
    app.post(
        "/api/v1/service-accounts",
        &m.coordinator.token,
        theirs.clone(),
    )
    .await
    .problem(404);
    let mut mine = body.clone();
    mine["municipality_id"] = json!(m.id);
    app.post("/api/v1/service-accounts", &m.coordinator.token, mine)
        .await
        .expect(201);
    // An admin names the municipality.
    let a = app
        .post("/api/v1/service-accounts", &admin.token, body.clone())
        .await
        .problem(400);
    assert_eq!(a.fields(), ["municipality_id"]);
    let a = app
        .post("/api/v1/service-accounts", &admin.token, theirs)
        .await
        .expect(201);
    assert_eq!(a.body["account"]["municipality_id"], other.id.to_string());
    let mut nowhere = body.clone();
    nowhere["municipality_id"] = json!(Uuid::now_v7());
    app.post("/api/v1/service-accounts", &admin.token, nowhere)
        .await
        .problem(404);
    // Bad scopes.
    for scopes in [
        json!([]),
        json!(["candidates:delete"]),
        json!("candidates:read"),
    ] {
        let a = app
            .post(
                "/api/v1/service-accounts",
                &m.coordinator.token,
                json!({"name": "S", "scopes": scopes}),
            )
            .await
            .problem(400);
        assert!(
            a.fields().iter().all(|f| f.starts_with("scopes")) && !a.fields().is_empty(),
            "{}",
            a.body
        );
    }
    // Lists: own for a coordinator, all for the admin.
    let own = app
        .get("/api/v1/service-accounts", &m.coordinator.token)
        .await
        .expect(200);
    let own = own.body["items"].as_array().expect("items").clone();
    assert_eq!(own.len(), 2);
    assert!(own.iter().all(|s| s["municipality_id"] == m.id.to_string()));
    let all = app
        .get("/api/v1/service-accounts", &admin.token)
        .await
        .expect(200);
    assert_eq!(all.body["items"].as_array().expect("items").len(), 4);
    // Another municipality's account: 404 for a coordinator; the admin may delete it.
    let path = format!("/api/v1/service-accounts/{}", other.service.id);
    app.call(Method::DELETE, &path, Some(&m.coordinator.token), None)
        .await
        .problem(404);
    assert_eq!(me_status(&app, &other.service.token).await, 200);
    let missing = format!("/api/v1/service-accounts/{}", Uuid::now_v7());
    app.call(Method::DELETE, &missing, Some(&admin.token), None)
        .await
        .problem(404);
    // Roles that never manage service accounts.
    for who in [&m.consultant, &m.candidate, &m.service] {
        app.get("/api/v1/service-accounts", &who.token)
            .await
            .problem(403);
        app.post("/api/v1/service-accounts", &who.token, body.clone())
            .await
            .problem(403);
        app.call(Method::DELETE, &path, Some(&who.token), None)
            .await
            .problem(403);
    }
    app.call(Method::DELETE, &path, Some(&admin.token), None)
        .await
        .expect(204);
    assert_eq!(me_status(&app, &other.service.token).await, 401);
    app.finish().await;
}

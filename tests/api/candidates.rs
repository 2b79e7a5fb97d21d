//! Candidates and their courses: creation, lists, changes, the state machine, caseloads, the change
//! feed, the audit log and idempotent creation (SPEC §4.1, §4.3, §4.4, §4.10).
use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use ips_api::auth::Role;
use poem::http::Method;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::{Answer, Person, TestApp};

const CANDIDATES: &str = "/api/v1/candidates";

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

fn today() -> NaiveDate {
    ips_api::domain::today()
}

fn days_ago(n: u64) -> NaiveDate {
    today() - Days::new(n)
}

fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A valid body for `POST /candidates`.
fn new_candidate(given: &str) -> Value {
    json!({
        "given_name": given,
        "family_name": "Jensen",
        "birth_year": today().year() - 20,
        "target_group": "mental_distress",
        "readiness": "activity_ready",
    })
}

/// The same body with extra fields.
fn with(mut body: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().expect("object") {
        body[k] = v.clone();
    }
    body
}

fn candidate_path(id: &str) -> String {
    format!("{CANDIDATES}/{id}")
}

fn id_of(a: &Answer) -> String {
    a.body["candidate"]["id"]
        .as_str()
        .expect("candidate id")
        .to_string()
}

/// Creates a candidate through the API and returns its id.
async fn create(app: &TestApp, who: &Person, body: Value) -> String {
    id_of(&app.post(CANDIDATES, &who.token, body).await.expect(201))
}

async fn transition(app: &TestApp, who: &Person, id: &str, body: Value) -> Answer {
    app.post(
        &format!("{CANDIDATES}/{id}/enrollment/transitions"),
        &who.token,
        body,
    )
    .await
}

/// The body of a transition to `to` (with an outcome when completing).
fn to(status: &str) -> Value {
    if status == "completed" {
        json!({"to": status, "outcome": "job"})
    } else {
        json!({"to": status})
    }
}

/// Moves a fresh course (in `referred`) into `status` along the shortest legal path.
async fn drive(app: &TestApp, who: &Person, id: &str, status: &str) {
    let path: &[&str] = match status {
        "referred" => &[],
        "active" => &["active"],
        "paused" => &["active", "paused"],
        "aftercare" => &["active", "aftercare"],
        "completed" => &["active", "completed"],
        "stopped" => &["stopped"],
        other => panic!("unknown status {other}"),
    };
    for step in path {
        transition(app, who, id, to(step)).await.expect(200);
    }
    let e = app
        .get(&format!("{CANDIDATES}/{id}/enrollment"), &who.token)
        .await
        .expect(200);
    assert_eq!(e.body["status"], status);
}

/// Every event of the caller's municipality, paging with `after`.
async fn all_events(app: &TestApp, token: &str) -> Vec<Value> {
    let mut after = 0;
    let mut out = Vec::new();
    loop {
        let page = app
            .get(&format!("/api/v1/events?after={after}&limit=200"), token)
            .await
            .expect(200);
        let items = page.body["items"].as_array().expect("items").clone();
        if items.is_empty() {
            return out;
        }
        after = page.body["next_after"].as_i64().expect("next_after");
        out.extend(items);
    }
}

/// Every candidate id the caller can list, walking the pages.
async fn list_ids(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{CANDIDATES}?limit=200&{query}");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page = app.get(&url, token).await.expect(200);
        for c in page.body["items"].as_array().expect("items") {
            ids.push(c["id"].as_str().expect("id").to_string());
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return ids,
        }
    }
}

/// Asserts that a validation problem names exactly these fields.
#[track_caller]
fn assert_fields(a: &Answer, fields: &[&str]) {
    assert_eq!(a.fields(), fields, "{}", a.body);
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Percent-encodes what a query value may not carry as is.
fn encode(v: &str) -> String {
    v.chars()
        .map(|c| match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '-' | '.' | '_' | '~' => c.to_string(),
            _ => format!("%{:02X}", c as u32),
        })
        .collect()
}

#[tokio::test]
async fn create_returns_candidate_course_and_invitation() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let before = Utc::now();
    let a = app
        .post(
            CANDIDATES,
            &m.consultant.token,
            with(
                new_candidate("Freja"),
                json!({"email": "freja@example.org", "external_ref": "K-1"}),
            ),
        )
        .await
        .expect(201);
    let id = id_of(&a);
    assert_eq!(a.header("location"), Some(candidate_path(&id).as_str()));
    assert_eq!(a.header("etag"), Some("\"1\""));
    let c = &a.body["candidate"];
    assert_eq!(c["given_name"], "Freja");
    assert_eq!(c["consultant_id"], m.consultant.id.to_string());
    assert_eq!(c["municipality_id"], m.id.to_string());
    assert_eq!(c["status"], "referred");
    assert_eq!(c["version"], 1);
    assert_eq!(c["language"], "da");
    assert_eq!(c["external_ref"], "K-1");
    assert!(c.get("warnings").is_none(), "{c}");
    let e = &a.body["enrollment"];
    assert_eq!(e["status"], "referred");
    assert_eq!(e["candidate_id"], id);
    assert_eq!(e["referred_on"], date(today()));
    assert!(e["started_on"].is_null() && e["ended_on"].is_null());
    let history = e["history"].as_array().expect("history");
    assert_eq!(history.len(), 1);
    assert!(history[0]["from"].is_null());
    assert_eq!(history[0]["to"], "referred");
    assert_eq!(history[0]["effective_on"], e["referred_on"]);
    assert_eq!(history[0]["by"], m.consultant.id.to_string());
    assert_eq!(history[0]["by_role"], "consultant");
    let inv = &a.body["invitation"];
    assert!(inv["code"].as_str().is_some_and(|c| c.len() >= 16), "{inv}");
    let expires: DateTime<Utc> = inv["expires_at"]
        .as_str()
        .expect("expires_at")
        .parse()
        .expect("rfc 3339");
    let week = chrono::Duration::days(7);
    assert!(
        expires >= before + week - chrono::Duration::minutes(1)
            && expires <= Utc::now() + week + chrono::Duration::minutes(1),
        "{expires}"
    );

    // An explicit referral date is the course's first date.
    let a = app
        .post(
            CANDIDATES,
            &m.consultant.token,
            with(
                new_candidate("Bo"),
                json!({"referred_on": date(days_ago(30))}),
            ),
        )
        .await
        .expect(201);
    assert_eq!(a.body["enrollment"]["referred_on"], date(days_ago(30)));
    assert_eq!(
        a.body["enrollment"]["history"][0]["effective_on"],
        date(days_ago(30))
    );

    // The created candidate reads back the same.
    let got = app
        .get(&candidate_path(&id), &m.consultant.token)
        .await
        .expect(200);
    assert_eq!(got.body["email"], "freja@example.org");
    assert_eq!(got.header("etag"), Some("\"1\""));
    app.finish().await;
}

#[tokio::test]
async fn create_checks_the_consultant() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let other = app.municipality("202").await;
    // A consultant creates on their own caseload only.
    let a = app
        .post(
            CANDIDATES,
            &m.consultant.token,
            with(
                new_candidate("Ida"),
                json!({"consultant_id": m.other_consultant.id}),
            ),
        )
        .await
        .problem(400);
    assert_fields(&a, &["consultant_id"]);
    let a = app
        .post(
            CANDIDATES,
            &m.consultant.token,
            with(
                new_candidate("Ida"),
                json!({"consultant_id": m.consultant.id}),
            ),
        )
        .await
        .expect(201);
    assert_eq!(
        a.body["candidate"]["consultant_id"],
        m.consultant.id.to_string()
    );
    // A coordinator assigns any active consultant of the municipality…
    let a = app
        .post(
            CANDIDATES,
            &m.coordinator.token,
            with(
                new_candidate("Ida"),
                json!({"consultant_id": m.other_consultant.id}),
            ),
        )
        .await
        .expect(201);
    assert_eq!(
        a.body["candidate"]["consultant_id"],
        m.other_consultant.id.to_string()
    );
    // …but not one of another municipality, nor someone who is not staff at all.
    for stranger in [other.consultant.id, m.candidate.id, Uuid::now_v7()] {
        let a = app
            .post(
                CANDIDATES,
                &m.coordinator.token,
                with(new_candidate("Ida"), json!({"consultant_id": stranger})),
            )
            .await
            .problem(400);
        assert_fields(&a, &["consultant_id"]);
    }
    app.finish().await;
}

#[tokio::test]
async fn create_checks_age_referral_date_and_external_ref() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let other = app.municipality("202").await;
    let year = today().year();
    for too in [year - 14, year - 31] {
        let a = app
            .post(
                CANDIDATES,
                &m.consultant.token,
                with(new_candidate("Ung"), json!({"birth_year": too})),
            )
            .await
            .problem(400);
        assert_eq!(a.fields(), ["birth_year"], "{too}");
    }
    for fine in [year - 15, year - 29] {
        app.post(
            CANDIDATES,
            &m.consultant.token,
            with(new_candidate("Ung"), json!({"birth_year": fine})),
        )
        .await
        .expect(201);
    }
    // The age counts at the referral, not today.
    app.post(
        CANDIDATES,
        &m.consultant.token,
        with(
            new_candidate("Ung"),
            json!({"birth_year": year - 31, "referred_on": date(today().with_year(year - 2).expect("date"))}),
        ),
    )
    .await
    .expect(201);

    let tomorrow = today() + Days::new(1);
    let a = app
        .post(
            CANDIDATES,
            &m.consultant.token,
            with(new_candidate("Ung"), json!({"referred_on": date(tomorrow)})),
        )
        .await
        .problem(400);
    assert_fields(&a, &["referred_on"]);

    app.post(
        CANDIDATES,
        &m.consultant.token,
        with(new_candidate("Ung"), json!({"external_ref": "X-7"})),
    )
    .await
    .expect(201);
    app.post(
        CANDIDATES,
        &m.coordinator.token,
        with(new_candidate("Ung"), json!({"external_ref": "X-7"})),
    )
    .await
    .problem(409);
    app.post(
        CANDIDATES,
        &other.consultant.token,
        with(new_candidate("Ung"), json!({"external_ref": "X-7"})),
    )
    .await
    .expect(201);
    app.finish().await;
}

#[tokio::test]
async fn list_scopes_and_filters() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let other = app.municipality("202").await;
    let (sara, ali) = (m.candidate.id.to_string(), m.other_candidate.id.to_string());
    let hansen = create(
        &app,
        &m.consultant,
        with(new_candidate("Anna"), json!({"family_name": "Berg_Hansen"})),
    )
    .await;
    let bergsholt = create(
        &app,
        &m.consultant,
        with(
            new_candidate("Karen"),
            json!({"family_name": "Bergsholt", "preferred_name": "Kaja"}),
        ),
    )
    .await;
    let percent = create(
        &app,
        &m.coordinator,
        with(
            new_candidate("Mads"),
            json!({"preferred_name": "Mads 100%", "consultant_id": m.other_consultant.id}),
        ),
    )
    .await;

    // A consultant sees their caseload; a coordinator and the service account the municipality.
    let mine = sorted(vec![sara.clone(), hansen.clone(), bergsholt.clone()]);
    let everyone = sorted(vec![
        sara.clone(),
        ali.clone(),
        hansen.clone(),
        bergsholt.clone(),
        percent.clone(),
    ]);
    assert_eq!(sorted(list_ids(&app, &m.consultant.token, "").await), mine);
    assert_eq!(
        sorted(list_ids(&app, &m.coordinator.token, "").await),
        everyone
    );
    assert_eq!(sorted(list_ids(&app, &m.service.token, "").await), everyone);
    assert_eq!(
        list_ids(&app, &other.coordinator.token, "").await,
        sorted(vec![
            other.candidate.id.to_string(),
            other.other_candidate.id.to_string()
        ])
    );
    // A consultant asking for a colleague's candidates still sees only their own.
    assert!(
        list_ids(
            &app,
            &m.consultant.token,
            &format!("consultant_id={}", m.other_consultant.id)
        )
        .await
        .is_empty()
    );
    assert_eq!(
        sorted(
            list_ids(
                &app,
                &m.coordinator.token,
                &format!("consultant_id={}", m.other_consultant.id)
            )
            .await
        ),
        sorted(vec![ali.clone(), percent.clone()])
    );

    // `q`: case-insensitive substring of any name; `%` and `_` are plain characters.
    let q = |q: &str| {
        let query = format!("q={}", encode(q));
        let token = m.coordinator.token.clone();
        let app = &app;
        async move { sorted(list_ids(app, &token, &query).await) }
    };
    assert_eq!(
        q("bERg").await,
        sorted(vec![hansen.clone(), bergsholt.clone()])
    );
    assert_eq!(q("G_H").await, vec![hansen.clone()]);
    assert_eq!(q("_").await, vec![hansen.clone()]);
    assert_eq!(q("%").await, vec![percent.clone()]);
    assert_eq!(q("0%").await, vec![percent.clone()]);
    assert_eq!(q("kAJA").await, vec![bergsholt.clone()]);
    assert_eq!(q("sARa").await, vec![sara.clone()]);
    assert!(q("nobody").await.is_empty());
    assert_eq!(q("testesen").await, sorted(vec![sara.clone(), ali.clone()]));

    // `status`.
    transition(&app, &m.consultant, &hansen, to("active"))
        .await
        .expect(200);
    assert_eq!(
        list_ids(&app, &m.coordinator.token, "status=active").await,
        vec![hansen.clone()]
    );
    assert_eq!(
        sorted(list_ids(&app, &m.coordinator.token, "status=referred").await),
        sorted(vec![
            sara.clone(),
            ali.clone(),
            bergsholt.clone(),
            percent.clone()
        ])
    );
    let a = app
        .get(
            &format!("{CANDIDATES}?status=dormant"),
            &m.coordinator.token,
        )
        .await
        .problem(400);
    assert_fields(&a, &["status"]);
    // Filters combine.
    assert_eq!(
        list_ids(&app, &m.coordinator.token, "status=active&q=anna").await,
        vec![hansen.clone()]
    );
    assert!(
        list_ids(&app, &m.coordinator.token, "status=active&q=karen")
            .await
            .is_empty()
    );

    // `updated_since`: a change made after the others, at the time the answer reports.
    let changed = app
        .patch(
            &candidate_path(&bergsholt),
            &m.consultant.token,
            json!({"phone": "+45 12 34 56 78"}),
        )
        .await
        .expect(200);
    let since = changed.body["updated_at"].as_str().expect("updated_at");
    assert_eq!(
        list_ids(
            &app,
            &m.coordinator.token,
            &format!("updated_since={}", encode(since))
        )
        .await,
        vec![bergsholt.clone()]
    );
    let long_ago = "2000-01-01T00:00:00Z";
    assert_eq!(
        sorted(
            list_ids(
                &app,
                &m.coordinator.token,
                &format!("updated_since={}", encode(long_ago))
            )
            .await
        ),
        everyone
    );
    let a = app
        .get(
            &format!("{CANDIDATES}?updated_since=yesterday"),
            &m.coordinator.token,
        )
        .await
        .problem(400);
    assert_fields(&a, &["updated_since"]);
    app.finish().await;
}

#[tokio::test]
async fn list_pages_with_a_cursor() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    for i in 0..5 {
        app.candidate(m.id, m.consultant.id, &format!("Kandidat {i}"))
            .await;
    }
    // 7 candidates: pages of 2, 2, 2, 1.
    let all = list_ids(&app, &m.coordinator.token, "").await;
    assert_eq!(all.len(), 7);
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let url = match &cursor {
            Some(c) => format!("{CANDIDATES}?limit=2&cursor={c}"),
            None => format!("{CANDIDATES}?limit=2"),
        };
        let page = app.get(&url, &m.coordinator.token).await.expect(200);
        pages += 1;
        let items = page.body["items"].as_array().expect("items");
        assert!(items.len() <= 2);
        walked.extend(
            items
                .iter()
                .map(|c| c["id"].as_str().expect("id").to_string()),
        );
        match &page.body["next_cursor"] {
            Value::String(c) => cursor = Some(c.clone()),
            Value::Null => break,
            other => panic!("next_cursor {other}"),
        }
    }
    assert_eq!(pages, 4);
    assert_eq!(walked, all, "every candidate once, in a stable order");

    // With an exact multiple, the last full page says there is no more.
    let six = app
        .get(
            &format!("{CANDIDATES}?limit=6&cursor={}", {
                let first = app
                    .get(&format!("{CANDIDATES}?limit=1"), &m.coordinator.token)
                    .await
                    .expect(200);
                first.body["next_cursor"]
                    .as_str()
                    .expect("cursor")
                    .to_string()
            }),
            &m.coordinator.token,
        )
        .await
        .expect(200);
    assert_eq!(six.body["items"].as_array().expect("items").len(), 6);
    assert!(six.body["next_cursor"].is_null());

    for bad in ["limit=0", "limit=201", "limit=-1", "limit=many"] {
        let a = app
            .get(&format!("{CANDIDATES}?{bad}"), &m.coordinator.token)
            .await
            .problem(400);
        assert_fields(&a, &["limit"]);
    }
    app.get(&format!("{CANDIDATES}?limit=200"), &m.coordinator.token)
        .await
        .expect(200);
    for bad in ["garbage!", "AAAA", "not-a-cursor"] {
        let a = app
            .get(&format!("{CANDIDATES}?cursor={bad}"), &m.coordinator.token)
            .await
            .problem(400);
        assert_fields(&a, &["cursor"]);
    }
    app.finish().await;
}

#[tokio::test]
async fn get_and_patch_a_candidate() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let id = create(
        &app,
        &m.consultant,
        with(
            new_candidate("Emil"),
            json!({"email": "emil@example.org", "phone": "12345678", "preferred_name": "Em"}),
        ),
    )
    .await;
    let path = candidate_path(&id);
    let got = app.get(&path, &m.consultant.token).await.expect(200);
    assert_eq!(got.header("etag"), Some("\"1\""));
    assert_eq!(got.body["version"], 1);

    let a = app
        .request(
            Method::PATCH,
            &path,
            Some(&m.consultant.token),
            Some(json!({"family_name": "Nielsen", "language": "en"})),
            &[("if-match", "\"1\"")],
        )
        .await
        .expect(200);
    assert_eq!(a.header("etag"), Some("\"2\""));
    assert_eq!(a.body["version"], 2);
    assert_eq!(a.body["family_name"], "Nielsen");
    assert_eq!(a.body["language"], "en");
    // Absent fields stay.
    assert_eq!(a.body["email"], "emil@example.org");
    assert_eq!(a.body["given_name"], "Emil");

    // A stale If-Match changes nothing.
    app.request(
        Method::PATCH,
        &path,
        Some(&m.consultant.token),
        Some(json!({"family_name": "Lost"})),
        &[("if-match", "\"1\"")],
    )
    .await
    .problem(412);
    let got = app.get(&path, &m.consultant.token).await.expect(200);
    assert_eq!(got.body["family_name"], "Nielsen");
    assert_eq!(got.header("etag"), Some("\"2\""));

    // `null` clears an optional field; absent ones stay.
    let a = app
        .request(
            Method::PATCH,
            &path,
            Some(&m.consultant.token),
            Some(json!({"email": null})),
            &[("if-match", "\"2\"")],
        )
        .await
        .expect(200);
    assert!(a.body["email"].is_null(), "{}", a.body);
    assert_eq!(a.body["phone"], "12345678");
    assert_eq!(a.body["preferred_name"], "Em");
    assert_eq!(a.body["version"], 3);
    let got = app.get(&path, &m.consultant.token).await.expect(200);
    assert!(got.body["email"].is_null());
    assert_eq!(got.body["phone"], "12345678");

    // Invalid values name their field and change nothing.
    for (body, field) in [
        (json!({"email": "not-an-address"}), "email"),
        (json!({"phone": "call me"}), "phone"),
        (json!({"given_name": ""}), "given_name"),
        (json!({"language": "de"}), "language"),
        (json!({"emial": "typo@example.org"}), "emial"),
        (
            json!({"consultant_id": m.other_consultant.id}),
            "consultant_id",
        ),
        (json!({"consultant_id": null}), "consultant_id"),
    ] {
        let a = app
            .patch(&path, &m.consultant.token, body.clone())
            .await
            .problem(400);
        assert_fields(&a, &[field]);
    }
    let got = app.get(&path, &m.consultant.token).await.expect(200);
    assert_eq!(got.body["version"], 3);
    assert_eq!(got.body["consultant_id"], m.consultant.id.to_string());

    // Naming oneself is no reassignment.
    app.patch(
        &path,
        &m.consultant.token,
        json!({"consultant_id": m.consultant.id}),
    )
    .await
    .expect(200);

    // A coordinator reassigns; the old consultant then no longer reaches the candidate.
    let a = app
        .patch(
            &path,
            &m.coordinator.token,
            json!({"consultant_id": m.other_consultant.id}),
        )
        .await
        .expect(200);
    assert_eq!(a.body["consultant_id"], m.other_consultant.id.to_string());
    app.get(&path, &m.consultant.token).await.problem(404);
    app.patch(&path, &m.consultant.token, json!({"family_name": "X"}))
        .await
        .problem(404);
    app.get(&path, &m.other_consultant.token).await.expect(200);
    // …but only onto staff of the municipality.
    let other = app.municipality("202").await;
    let a = app
        .patch(
            &path,
            &m.coordinator.token,
            json!({"consultant_id": other.consultant.id}),
        )
        .await
        .problem(400);
    assert_fields(&a, &["consultant_id"]);
    // Another municipality's staff never reach the candidate.
    app.get(&path, &other.coordinator.token).await.problem(404);
    app.get(
        &candidate_path(&Uuid::now_v7().to_string()),
        &m.coordinator.token,
    )
    .await
    .problem(404);
    app.finish().await;
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

fn warnings(candidate: &Value) -> usize {
    candidate
        .get("warnings")
        .map(|w| w.as_array().expect("warnings").len())
        .unwrap_or(0)
}

/// The `caseload.over_limit` events of the municipality, as `(consultant_id, open)`.
async fn over_limit(app: &TestApp, coordinator: &Person) -> Vec<(String, i64)> {
    all_events(app, &coordinator.token)
        .await
        .into_iter()
        .filter(|e| e["type"] == "caseload.over_limit")
        .map(|e| {
            (
                e["payload"]["consultant_id"]
                    .as_str()
                    .expect("consultant_id")
                    .to_string(),
                e["payload"]["open"].as_i64().expect("open"),
            )
        })
        .collect()
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
        .map(|r| (r.actor_id, r.actor_role, r.action, r.resource))
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

async fn create_with_key(app: &TestApp, who: &Person, key: &str, body: Value) -> Answer {
    app.request(
        Method::POST,
        CANDIDATES,
        Some(&who.token),
        Some(body),
        &[("idempotency-key", key)],
    )
    .await
}

async fn candidates_named(app: &TestApp, given_name: &str) -> u64 {
    entity::candidate::Entity::find()
        .filter(entity::candidate::Column::GivenName.eq(given_name))
        .count(app.state.db.read())
        .await
        .expect("count")
}

#[tokio::test]
async fn idempotent_creation() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let body = with(new_candidate("Gentaget"), json!({"external_ref": "I-1"}));
    let first = create_with_key(&app, &m.consultant, "key-1", body.clone())
        .await
        .expect(201);
    let again = create_with_key(&app, &m.consultant, "key-1", body.clone())
        .await
        .expect(201);
    assert_eq!(again.raw, first.raw, "byte-identical");
    assert_eq!(id_of(&again), id_of(&first));
    assert_eq!(
        again.body["invitation"]["code"],
        first.body["invitation"]["code"]
    );
    assert_eq!(again.header("location"), first.header("location"));
    assert_eq!(again.header("etag"), Some("\"1\""));
    assert_eq!(again.header("content-type"), first.header("content-type"));
    assert_eq!(candidates_named(&app, "Gentaget").await, 1);
    let events = all_events(&app, &m.coordinator.token).await;
    assert_eq!(
        events
            .iter()
            .filter(|e| e["type"] == "candidate.created")
            .count(),
        3,
        "the harness's two and ours once"
    );

    // The same key with another body → 422, and nothing is created.
    let a = create_with_key(
        &app,
        &m.consultant,
        "key-1",
        with(body.clone(), json!({"given_name": "Anden"})),
    )
    .await
    .problem(422);
    assert!(a.header("idempotent-replayed").is_none());
    assert_eq!(candidates_named(&app, "Anden").await, 0);
    // …on another path too.
    create_with_key(&app, &m.consultant, "key-1", json!({}))
        .await
        .problem(422);

    // Keys are per caller: another caller with the same key and body gets their own answer.
    let shared = new_candidate("Delt");
    let mine = create_with_key(&app, &m.consultant, "shared-key", shared.clone())
        .await
        .expect(201);
    let theirs = create_with_key(&app, &m.coordinator, "shared-key", shared.clone())
        .await
        .expect(201);
    assert_ne!(id_of(&mine), id_of(&theirs));
    assert!(theirs.header("idempotent-replayed").is_none());
    assert!(theirs.body["candidate"]["consultant_id"].is_null());
    assert_eq!(candidates_named(&app, "Delt").await, 2);

    // A refused first request is answered the same way again (and still creates nothing).
    let young = with(
        new_candidate("ForUng"),
        json!({"birth_year": today().year() - 10}),
    );
    let refused = create_with_key(&app, &m.consultant, "key-young", young.clone())
        .await
        .problem(400);
    let repeat = create_with_key(&app, &m.consultant, "key-young", young)
        .await
        .problem(400);
    assert_eq!(repeat.raw, refused.raw);
    assert_eq!(candidates_named(&app, "ForUng").await, 0);

    // Keys are 1–255 characters.
    let long = "k".repeat(256);
    let a = create_with_key(&app, &m.consultant, &long, new_candidate("Lang"))
        .await
        .problem(400);
    assert_fields(&a, &["Idempotency-Key"]);
    assert_eq!(candidates_named(&app, "Lang").await, 0);
    create_with_key(&app, &m.consultant, &"k".repeat(255), new_candidate("Lang"))
        .await
        .expect(201);
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

#[tokio::test]
async fn patching_the_birth_year_keeps_the_age_rule() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let id = create(
        &app,
        &m.consultant,
        with(
            new_candidate("Alder"),
            json!({"referred_on": date(days_ago(365))}),
        ),
    )
    .await;
    let referral_year = days_ago(365).year();
    for wrong in [referral_year - 14, referral_year - 31, today().year()] {
        let a = app
            .patch(
                &candidate_path(&id),
                &m.consultant.token,
                json!({"birth_year": wrong}),
            )
            .await
            .problem(400);
        assert_fields(&a, &["birth_year"]);
    }
    let a = app
        .patch(
            &candidate_path(&id),
            &m.consultant.token,
            json!({"birth_year": referral_year - 29}),
        )
        .await
        .expect(200);
    assert_eq!(a.body["birth_year"], referral_year - 29);
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

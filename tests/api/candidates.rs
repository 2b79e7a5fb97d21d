//! Candidates: creation with its course and invitation, the checks on a new candidate, reading and
//! changing one, and idempotent creation.
use chrono::{DateTime, Datelike, Days, Utc};
use poem::http::Method;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::{
    Answer, CANDIDATES, Person, TestApp, all_events, assert_fields, candidate_path, create, date,
    days_ago, id_of, new_candidate, today, with,
};

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
    // The answer held the invitation code, which is never stored: the repeat is told where the
    // candidate is instead of getting the code again.
    let again = create_with_key(&app, &m.consultant, "key-1", body.clone())
        .await
        .problem(409);
    assert_eq!(
        again.body["type"],
        "urn:ips-ung:problem:idempotent-answer-withheld"
    );
    assert_eq!(
        again.body["existing_id"].as_str(),
        Some(id_of(&first).as_str())
    );
    assert_eq!(again.header("location"), first.header("location"));
    let code = first.body["invitation"]["code"].as_str().expect("code");
    assert!(!String::from_utf8_lossy(&again.raw).contains(code));
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

//! Questionnaires and wellbeing: the WHO-5 golden scores and official wording, the other instruments'
//! wording, strict answers, the alert thresholds, assignments falling due, reminders, misses, pauses and
//! repeats (driven by calling the background tick directly), access, audit, and the journey.
use chrono::{DateTime, Duration, DurationRound, Utc};
use entity::{audit_entry, inbox_item, notification, questionnaire_assignment as qa};
use ips_api::domain::questionnaires::{
    self as q,
    scoring::{self, Band, ScoringKind},
};
use poem::http::Method;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::{Answer, MOTIVATION_ITEMS, Municipality, Person, TestApp, WHO5_ITEMS};

fn answers(items: &[&str], values: &[i64]) -> Vec<Value> {
    items
        .iter()
        .zip(values)
        .map(|(i, v)| json!({"item": i, "value": v}))
        .collect()
}

fn who5(values: [i64; 5]) -> Value {
    json!({"questionnaire": "who5", "version": 1, "answers": answers(&WHO5_ITEMS, &values)})
}

/// WHO-5 answers summing to `raw` (0–25).
fn who5_raw(raw: i64) -> Value {
    let mut v = [0i64; 5];
    let mut left = raw;
    for x in v.iter_mut() {
        *x = left.min(5);
        left -= *x;
    }
    who5(v)
}

async fn submit(app: &TestApp, who: &Person, body: Value) -> Answer {
    app.post("/api/v1/me/questionnaire-responses", &who.token, body)
        .await
}

fn assignments_path(candidate: Uuid) -> String {
    format!("/api/v1/candidates/{candidate}/questionnaire-assignments")
}

async fn assign(app: &TestApp, staff: &Person, candidate: Uuid, body: Value) -> Value {
    app.post(&assignments_path(candidate), &staff.token, body)
        .await
        .expect(201)
        .body
}

fn at(t: DateTime<Utc>) -> String {
    t.to_rfc3339()
}

async fn tick(app: &TestApp) {
    q::tick(&app.state.db).await.expect("tick");
}

/// Whole seconds, as the API keeps due dates.
fn secs(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(Duration::seconds(1)).expect("truncate")
}

/// Moves an occurrence in time: it fell due at `due_at` (and closes 4 days later).
async fn set_due(app: &TestApp, id: &Value, due_at: DateTime<Utc>) {
    let due_at = secs(due_at);
    let id: Uuid = id.as_str().expect("id").parse().expect("uuid");
    qa::Entity::update_many()
        .col_expr(qa::Column::DueAt, Expr::value(due_at))
        .col_expr(
            qa::Column::ClosesAt,
            Expr::value(due_at + Duration::days(4)),
        )
        .filter(qa::Column::Id.eq(id))
        .exec(app.state.db.write())
        .await
        .expect("update");
}

async fn notifications(app: &TestApp, candidate: Uuid, kind: &str) -> u64 {
    notification::Entity::find()
        .filter(notification::Column::CandidateId.eq(candidate))
        .filter(notification::Column::Kind.eq(kind))
        .count(app.state.db.read())
        .await
        .expect("count")
}

async fn inbox(app: &TestApp, candidate: Uuid, kind: &str) -> Vec<inbox_item::Model> {
    inbox_item::Entity::find()
        .filter(inbox_item::Column::CandidateId.eq(candidate))
        .filter(inbox_item::Column::Kind.eq(kind))
        .filter(inbox_item::Column::ResolvedAt.is_null())
        .all(app.state.db.read())
        .await
        .expect("inbox")
}

async fn events(app: &TestApp, m: &Municipality, kind: &str) -> Vec<Value> {
    let feed = app
        .get("/api/v1/events?limit=200", &m.coordinator.token)
        .await
        .expect(200)
        .body;
    feed["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["type"] == kind)
        .cloned()
        .collect()
}

async fn transition(app: &TestApp, m: &Municipality, candidate: Uuid, to: &str) {
    let path = format!("/api/v1/candidates/{candidate}/enrollment/transitions");
    app.post(&path, &m.coordinator.token, json!({"to": to}))
        .await
        .expect(200);
}

async fn staff_assignments(app: &TestApp, m: &Municipality, candidate: Uuid) -> Vec<Value> {
    app.get(&assignments_path(candidate), &m.consultant.token)
        .await
        .expect(200)
        .body["items"]
        .as_array()
        .expect("items")
        .clone()
}

async fn my_due(app: &TestApp, who: &Person) -> Vec<Value> {
    app.get("/api/v1/me/questionnaires", &who.token)
        .await
        .expect(200)
        .body["items"]
        .as_array()
        .expect("items")
        .clone()
}

fn bands_of(def: &Value) -> Vec<Band> {
    def["bands"]
        .as_array()
        .expect("bands")
        .iter()
        .map(|b| Band {
            key: entity::types::WellbeingBand::parse(b["key"].as_str().expect("key"))
                .expect("a band"),
            min: b["min_score"].as_i64().expect("min") as i32,
            max: b["max_score"].as_i64().expect("max") as i32,
        })
        .collect()
}

/// The band by the evaluation's thresholds, written independently of the definition.
fn expected_band(score: i32) -> &'static str {
    if score < 36 {
        "very_low"
    } else if score <= 50 {
        "at_risk"
    } else {
        "good"
    }
}

#[tokio::test]
async fn who5_golden_every_answer_combination() {
    let app = TestApp::start().await;
    let def = app
        .call(Method::GET, "/api/v1/questionnaires/who5", None, None)
        .await
        .expect(200)
        .body;
    assert_eq!(def["kind"], "who5");
    assert_eq!(
        (def["score_min"].clone(), def["score_max"].clone()),
        (json!(0), json!(100))
    );
    let bands = bands_of(&def);
    let mut seen = std::collections::BTreeMap::new();
    let mut n = 0;
    for code in 0..6u32.pow(5) {
        let values: Vec<i32> = (0..5).map(|i| ((code / 6u32.pow(i)) % 6) as i32).collect();
        let sum: i32 = values.iter().sum();
        let s = scoring::score(ScoringKind::Who5, &values, &bands);
        assert_eq!(s.raw, sum, "{values:?}");
        assert_eq!(s.score, 4 * sum, "{values:?}");
        assert_eq!(
            s.band.map(|b| b.as_str()),
            Some(expected_band(4 * sum)),
            "{values:?}"
        );
        *seen.entry(expected_band(4 * sum)).or_insert(0) += 1;
        n += 1;
    }
    assert_eq!(n, 7776);
    assert_eq!(seen.len(), 3, "every band occurs: {seen:?}");

    // A handful through the API, around the band edges.
    let m = app.municipality("401").await;
    for (values, raw, band) in [
        ([0, 0, 0, 0, 0], 0, "very_low"),
        ([2, 2, 2, 1, 1], 8, "very_low"),
        ([2, 2, 2, 2, 1], 9, "at_risk"),
        ([3, 3, 2, 2, 2], 12, "at_risk"),
        ([3, 3, 3, 2, 2], 13, "good"),
        ([5, 5, 5, 5, 5], 25, "good"),
    ] {
        let r = submit(&app, &m.candidate, who5(values))
            .await
            .expect(201)
            .body;
        assert_eq!(r["raw_score"], raw, "{r}");
        assert_eq!(r["score"], raw * 4, "{r}");
        assert_eq!(r["band"], band, "{r}");
        assert_eq!(r["version"], 1);
        let got: Vec<i64> = r["answers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["value"].as_i64().unwrap())
            .collect();
        assert_eq!(got, values.to_vec(), "answers in item order");
    }
    app.finish().await;
}

#[tokio::test]
async fn who5_wording_is_the_official_file() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let committed = std::fs::read(root.join("api/instruments/who5.json")).expect("committed copy");
    let shared = root.join("../shared/instruments/who5.json");
    if shared.exists() {
        assert!(
            std::fs::read(&shared).expect("shared") == committed,
            "api/instruments/who5.json must be byte-identical to {}",
            shared.display()
        );
    }
    let official: Value = serde_json::from_slice(&committed).expect("json");

    let app = TestApp::start().await;
    for (lang, header) in [
        ("da", None),
        ("da", Some("da")),
        ("en", Some("en-GB,en;q=0.9")),
    ] {
        let headers: Vec<(&str, &str)> = header
            .map(|h| vec![("accept-language", h)])
            .unwrap_or_default();
        let a = app
            .request(
                Method::GET,
                "/api/v1/questionnaires/who5",
                None,
                None,
                &headers,
            )
            .await
            .expect(200);
        assert_eq!(a.header("content-language"), Some(lang));
        let def = a.body;
        assert_eq!(def["language"], lang);
        assert_eq!(def["version"], official["version"]);
        assert_eq!(def["name"], official["name"][lang]);
        assert_eq!(def["instruction"], official["instruction"][lang]);
        assert_eq!(def["recall_period"], official["recall_period"][lang]);
        assert_eq!(def["codes"], official["codes"]);
        assert_eq!(def["codes"][0]["code"], "1144665009");
        let items = def["items"].as_array().expect("items");
        let want = official["items"].as_array().expect("items");
        assert_eq!(items.len(), want.len());
        for (got, want) in items.iter().zip(want) {
            assert_eq!(got["id"], want["id"]);
            assert_eq!(got["text"], want[lang], "byte-equal wording");
        }
        let options = def["options"].as_array().expect("options");
        let want = official["options"].as_array().expect("options");
        assert_eq!(options.len(), want.len());
        for (got, want) in options.iter().zip(want) {
            assert_eq!(got["value"], want["value"]);
            assert_eq!(got["label"], want[lang], "byte-equal wording");
        }
        let bands = def["bands"].as_array().expect("bands");
        let want = official["scoring"]["bands"].as_array().expect("bands");
        for (got, want) in bands.iter().zip(want) {
            assert_eq!(got["key"], want["key"]);
            assert_eq!(got["label"], want[lang]);
        }
        let bounds: Vec<(i64, i64)> = bands
            .iter()
            .map(|b| {
                (
                    b["min_score"].as_i64().unwrap(),
                    b["max_score"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(bounds, vec![(0, 35), (36, 50), (51, 100)]);
    }
    // Language negotiation: the highest q of da/en wins; anything else is Danish.
    for (header, lang) in [
        ("fr-FR", "da"),
        ("da;q=0.2, en;q=0.8", "en"),
        ("en;q=0, da", "da"),
        ("*", "da"),
        ("sv, en;q=0.5", "en"),
    ] {
        let a = app
            .request(
                Method::GET,
                "/api/v1/questionnaires",
                None,
                None,
                &[("accept-language", header)],
            )
            .await
            .expect(200);
        assert_eq!(a.header("content-language"), Some(lang), "{header}");
    }
    app.finish().await;
}

#[tokio::test]
async fn the_other_instruments_are_as_the_spec_lists_them() {
    let app = TestApp::start().await;
    let list = app
        .call(Method::GET, "/api/v1/questionnaires", None, None)
        .await
        .expect(200)
        .body;
    let keys: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "who5",
            "motivation",
            "energy",
            "self_efficacy",
            "loneliness",
            "burden"
        ]
    );
    let get = |key: &str, lang: &str| {
        let path = format!("/api/v1/questionnaires/{key}");
        let lang = lang.to_string();
        let app = &app;
        async move {
            app.request(
                Method::GET,
                &path,
                None,
                None,
                &[("accept-language", &lang)],
            )
            .await
            .expect(200)
            .body
        }
    };
    let texts = |d: &Value, field: &str, text: &str| -> Vec<String> {
        d[field]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x[text].as_str().unwrap().to_string())
            .collect()
    };
    let values = |d: &Value| -> Vec<i64> {
        d["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["value"].as_i64().unwrap())
            .collect()
    };

    let m = get("motivation", "da").await;
    assert_eq!(m["kind"], "sum_scale");
    assert_eq!(
        texts(&m, "items", "text"),
        [
            "Min deltagelse i forløbet vil skabe en positiv forandring for mig",
            "Jeg er klar til at gøre en indsats for, at forløbet skal blive godt",
            "Jeg har selv indflydelse på, om forløbet bliver en succes",
        ]
    );
    assert_eq!(
        texts(&m, "options", "label"),
        [
            "passer præcist",
            "passer nogenlunde",
            "passer en smule",
            "passer slet ikke"
        ]
    );
    assert_eq!(values(&m), [3, 2, 1, 0]);
    assert_eq!(
        (m["score_min"].clone(), m["score_max"].clone()),
        (json!(0), json!(9))
    );
    assert_eq!(m["codes"][0]["system"], "urn:ips-ung:questionnaire");

    for (key, text) in [
        (
            "energy",
            "Har du overskud i hverdagen til at fokusere på job eller uddannelse?",
        ),
        (
            "self_efficacy",
            "Tror du på, at du kan klare at have et arbejde?",
        ),
    ] {
        let d = get(key, "da").await;
        assert_eq!(d["kind"], "single_item");
        assert_eq!(texts(&d, "items", "text"), [text]);
        let labels = texts(&d, "options", "label");
        assert_eq!(labels.first().map(String::as_str), Some("i meget høj grad"));
        assert_eq!(labels.last().map(String::as_str), Some("slet ikke"));
        assert_eq!(values(&d), [5, 4, 3, 2, 1]);
    }
    let d = get("loneliness", "da").await;
    assert_eq!(
        texts(&d, "items", "text"),
        ["Hvor ofte føler du dig ensom?"]
    );
    assert_eq!(values(&d), [1, 2, 3, 4, 5]);
    let labels = texts(&d, "options", "label");
    assert_eq!(
        (labels[0].as_str(), labels[4].as_str()),
        ("aldrig", "meget ofte")
    );
    let d = get("burden", "da").await;
    assert_eq!(
        texts(&d, "items", "text"),
        [
            "I hvilken grad har din psykiske sårbarhed været en belastning i din hverdag de seneste fire uger?"
        ]
    );
    let labels = texts(&d, "options", "label");
    assert_eq!(
        (labels[0].as_str(), labels[4].as_str()),
        ("slet ikke", "i meget høj grad")
    );
    assert_eq!(values(&d), [1, 2, 3, 4, 5]);

    // Every instrument has an English version, different from the Danish.
    for key in keys {
        let (da, en) = (get(key, "da").await, get(key, "en").await);
        assert_eq!(en["language"], "en");
        assert_ne!(
            texts(&da, "items", "text"),
            texts(&en, "items", "text"),
            "{key}"
        );
        assert!(texts(&en, "options", "label").iter().all(|l| !l.is_empty()));
    }
    // Older versions by `?version=`; what does not exist is 404.
    app.call(
        Method::GET,
        "/api/v1/questionnaires/who5?version=1",
        None,
        None,
    )
    .await
    .expect(200);
    app.call(
        Method::GET,
        "/api/v1/questionnaires/who5?version=2",
        None,
        None,
    )
    .await
    .problem(404);
    app.call(Method::GET, "/api/v1/questionnaires/who6", None, None)
        .await
        .problem(404);
    app.finish().await;
}

#[tokio::test]
async fn answers_are_strict_and_name_the_item() {
    let app = TestApp::start().await;
    let m = app.municipality("402").await;
    let me = &m.candidate;
    let bad = |body: Value| submit(&app, me, body);
    let one = |a: Answer, field: &str, code: &str, mentions: &str| {
        let a = a.problem(400);
        let hit = a.body["errors"].as_array().unwrap().iter().any(|e| {
            e["field"] == field
                && e["code"] == code
                && e["message"].as_str().unwrap_or_default().contains(mentions)
        });
        assert!(
            hit,
            "want {field} ({code}) mentioning `{mentions}`: {}",
            a.body
        );
    };

    // A missing item: named in the message.
    let mut body = who5([3, 3, 3, 3, 3]);
    body["answers"].as_array_mut().unwrap().remove(3);
    one(bad(body).await, "answers", "required", "rested");
    // The same item twice (and so another one missing).
    let mut body = who5([3, 3, 3, 3, 3]);
    body["answers"][4]["item"] = json!("calm");
    let a = bad(body).await;
    assert!(
        a.fields().contains(&"answers[4].item".to_string()),
        "{}",
        a.body
    );
    one(a, "answers", "required", "interested");
    // An item the questionnaire does not have.
    let mut body = who5([3, 3, 3, 3, 3]);
    body["answers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"item": "happy", "value": 3}));
    one(bad(body).await, "answers[5].item", "invalid_value", "happy");
    // Values the questionnaire does not offer: WHO-5 has 0–5, motivation 0–3, the single items 1–5.
    one(
        bad(who5([3, 3, 6, 3, 3])).await,
        "answers[2].value",
        "invalid_value",
        "active",
    );
    // Out of every scale's range too: still the item's own error, naming it.
    one(
        bad(who5([3, 3, 3, 3, 11])).await,
        "answers[4].value",
        "invalid_value",
        "interested",
    );
    one(
        bad(who5([3, 3, 3, -1, 3])).await,
        "answers[3].value",
        "invalid_value",
        "rested",
    );
    let motivation = json!({"questionnaire": "motivation", "version": 1, "answers": answers(&MOTIVATION_ITEMS, &[3, 4, 0])});
    one(
        bad(motivation).await,
        "answers[1].value",
        "invalid_value",
        "ready_to_try",
    );
    let energy = json!({"questionnaire": "energy", "version": 1, "answers": [{"item": "energy", "value": 0}]});
    one(
        bad(energy).await,
        "answers[0].value",
        "invalid_value",
        "1, 2, 3, 4, 5",
    );
    // An item of another questionnaire.
    let mixed = json!({"questionnaire": "energy", "version": 1, "answers": [{"item": "cheerful", "value": 3}]});
    let a = bad(mixed).await;
    assert!(
        a.fields().contains(&"answers[0].item".to_string()),
        "{}",
        a.body
    );
    // Unknown questionnaire or version.
    let mut body = who5([3, 3, 3, 3, 3]);
    body["questionnaire"] = json!("who6");
    one(bad(body).await, "questionnaire", "invalid_value", "");
    let mut body = who5([3, 3, 3, 3, 3]);
    body["version"] = json!(2);
    one(bad(body).await, "version", "invalid_value", "no version 2");
    // No answers, an unknown field inside an answer, an assignment that is not the candidate's.
    let empty = json!({"questionnaire": "who5", "version": 1, "answers": []});
    one(bad(empty).await, "answers", "min_items", "");
    let mut body = who5([3, 3, 3, 3, 3]);
    body["answers"][0]["note"] = json!("x");
    one(bad(body).await, "answers[0].note", "unknown_field", "");
    let mut body = who5([3, 3, 3, 3, 3]);
    body["assignment_id"] = json!(Uuid::now_v7());
    one(bad(body).await, "assignment_id", "invalid_value", "");

    // Nothing was stored.
    let history = app
        .get("/api/v1/me/questionnaire-responses", &me.token)
        .await
        .expect(200)
        .body;
    assert_eq!(history["items"], json!([]));
    // The motivation scale keeps each item's answer and sums to 0–9.
    let r = submit(
        &app,
        me,
        json!({"questionnaire": "motivation", "version": 1, "answers": answers(&MOTIVATION_ITEMS, &[3, 2, 1])}),
    )
    .await
    .expect(201)
    .body;
    assert_eq!(
        (r["raw_score"].clone(), r["score"].clone()),
        (json!(6), json!(6))
    );
    assert!(r["band"].is_null());
    assert_eq!(r["answers"][1], json!({"item": "ready_to_try", "value": 2}));
    // Answers may come in any order; they are kept in item order.
    let mut body = who5([1, 2, 3, 4, 5]);
    body["answers"].as_array_mut().unwrap().reverse();
    let r = submit(&app, me, body).await.expect(201).body;
    assert_eq!(r["answers"][0], json!({"item": "cheerful", "value": 1}));
    assert_eq!(r["raw_score"], 15);
    app.finish().await;
}

const KIND_WORDS_ONLY: [&str; 8] = [
    "alarm",
    "risk",
    "risiko",
    "depression",
    "stress",
    "alert",
    "lav trivsel",
    "low",
];

#[tokio::test]
async fn alerts_fire_exactly_at_the_thresholds() {
    let app = TestApp::start().await;
    let m = app.municipality("403").await;
    let b = app.candidate(m.id, m.consultant.id, "Bo").await;
    let c = app.candidate(m.id, m.consultant.id, "Cia").await;
    let d = app.candidate(m.id, m.consultant.id, "Dan").await;

    // 28 alerts; 32 does not.
    let r = submit(&app, &m.candidate, who5_raw(7))
        .await
        .expect(201)
        .body;
    assert_eq!(r["score"], 28);
    let follow_up = &r["follow_up"];
    assert!(
        follow_up["da"]
            .as_str()
            .is_some_and(|t| t.contains("konsulent")),
        "{r}"
    );
    assert!(
        follow_up["en"]
            .as_str()
            .is_some_and(|t| t.contains("consultant")),
        "{r}"
    );
    for word in KIND_WORDS_ONLY {
        assert!(
            !follow_up.to_string().to_lowercase().contains(word),
            "the message to the candidate says `{word}`: {follow_up}"
        );
    }
    assert_eq!(
        inbox(&app, m.candidate.id, "wellbeing_alert").await.len(),
        1
    );
    let r = submit(&app, &b, who5_raw(8)).await.expect(201).body;
    assert_eq!(r["score"], 32);
    assert!(r["follow_up"].is_null(), "{r}");
    assert!(inbox(&app, b.id, "wellbeing_alert").await.is_empty());

    // A fall of 12 alerts; a fall of 8 does not.
    submit(&app, &c, who5_raw(18)).await.expect(201);
    let r = submit(&app, &c, who5_raw(15)).await.expect(201).body;
    assert_eq!(r["score"], 60);
    assert!(r["follow_up"].is_object(), "a fall of 12: {r}");
    let items = inbox(&app, c.id, "wellbeing_alert").await;
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0].ref_id.map(|id| id.to_string()),
        r["id"].as_str().map(str::to_string)
    );
    assert_eq!(items[0].audience, entity::types::InboxAudience::Consultant);
    submit(&app, &d, who5_raw(18)).await.expect(201);
    let r = submit(&app, &d, who5_raw(16)).await.expect(201).body;
    assert_eq!(r["score"], 64);
    assert!(r["follow_up"].is_null(), "a fall of 8: {r}");
    assert!(inbox(&app, d.id, "wellbeing_alert").await.is_empty());
    // A rise never alerts, and other questionnaires never do.
    let r = submit(&app, &d, who5_raw(25)).await.expect(201).body;
    assert!(r["follow_up"].is_null());
    let r = submit(
        &app,
        &d,
        json!({"questionnaire": "burden", "version": 1, "answers": [{"item": "burden", "value": 5}]}),
    )
    .await
    .expect(201)
    .body;
    assert!(r["follow_up"].is_null());

    // The feed: an alert per alerting response, with ids only; submissions without answers or scores.
    let alerts = events(&app, &m, "wellbeing.alert").await;
    assert_eq!(alerts.len(), 2);
    for e in &alerts {
        let keys: Vec<&String> = e["payload"].as_object().expect("payload").keys().collect();
        assert_eq!(keys, ["candidate_id", "response_id"], "{e}");
    }
    let submitted = events(&app, &m, "questionnaire_response.submitted").await;
    assert_eq!(submitted.len(), 8);
    for e in &submitted {
        for forbidden in ["score", "raw_score", "band", "answers", "value"] {
            assert!(e["payload"].get(forbidden).is_none(), "{e}");
        }
        assert!(e["payload"]["questionnaire"].is_string());
    }
    // Staff see which responses alerted; the candidate's own history never says so.
    let staff = app
        .get(
            &format!("/api/v1/candidates/{}/questionnaire-responses", c.id),
            &m.consultant.token,
        )
        .await
        .expect(200)
        .body;
    let flags: Vec<bool> = staff["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["alert"].as_bool().unwrap())
        .collect();
    assert_eq!(flags, [false, true]);
    let own = app
        .get("/api/v1/me/questionnaire-responses", &c.token)
        .await
        .expect(200)
        .body;
    assert!(
        own["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r.get("alert").is_none() && r["follow_up"].is_null())
    );
    app.finish().await;
}

#[tokio::test]
async fn assignments_fall_due_remind_expire_and_two_misses_reach_the_inbox() {
    let app = TestApp::start().await;
    let m = app.municipality("404").await;
    let me = &m.candidate;
    let now = Utc::now();

    // Not due yet: scheduled, not shown to the candidate, no notice.
    let later = assign(
        &app,
        &m.consultant,
        me.id,
        json!({"questionnaire": "motivation", "due_at": at(now + Duration::days(3))}),
    )
    .await;
    assert_eq!(later["status"], "scheduled");
    assert_eq!(later["created_by"], m.consultant.id.to_string());
    let a = assign(
        &app,
        &m.consultant,
        me.id,
        json!({"questionnaire": "who5", "due_at": at(now - Duration::hours(1))}),
    )
    .await;
    assert_eq!(a["status"], "due");
    let closes: DateTime<Utc> = a["closes_at"].as_str().unwrap().parse().unwrap();
    let due: DateTime<Utc> = a["due_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(closes - due, Duration::days(4));
    let shown = my_due(&app, me).await;
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0]["assignment_id"], a["id"]);
    assert_eq!(shown[0]["name"], "WHO-5 Trivselsindeks");
    let plan = app.get("/api/v1/me/plan", &me.token).await.expect(200).body;
    assert_eq!(plan["due_questionnaires"][0]["assignment_id"], a["id"]);
    assert_eq!(plan["due_questionnaires"][0]["questionnaire"], "who5");

    // It fell due: one notice, whatever the number of ticks — also from instances racing.
    tokio::join!(tick(&app), tick(&app), tick(&app));
    tick(&app).await;
    assert_eq!(notifications(&app, me.id, "questionnaire_due").await, 1);
    assert_eq!(
        notifications(&app, me.id, "questionnaire_reminder").await,
        0
    );
    // Day 2: one reminder.
    set_due(
        &app,
        &a["id"],
        Utc::now() - Duration::days(2) - Duration::minutes(1),
    )
    .await;
    tokio::join!(tick(&app), tick(&app));
    tick(&app).await;
    assert_eq!(
        notifications(&app, me.id, "questionnaire_reminder").await,
        1
    );
    assert_eq!(notifications(&app, me.id, "questionnaire_due").await, 1);
    let seen = staff_assignments(&app, &m, me.id).await;
    let row = seen.iter().find(|x| x["id"] == a["id"]).unwrap();
    assert!(
        row["notified_at"].is_string() && row["reminded_at"].is_string(),
        "{row}"
    );

    // Closed unanswered: expired, once; one miss is not yet an inbox item.
    set_due(
        &app,
        &a["id"],
        Utc::now() - Duration::days(4) - Duration::minutes(1),
    )
    .await;
    tokio::join!(tick(&app), tick(&app));
    let seen = staff_assignments(&app, &m, me.id).await;
    let row = seen.iter().find(|x| x["id"] == a["id"]).unwrap();
    assert_eq!(row["status"], "expired");
    assert!(my_due(&app, me).await.is_empty());
    assert!(inbox(&app, me.id, "missed_questionnaires").await.is_empty());
    assert_eq!(
        events(&app, &m, "questionnaire_assignment.expired")
            .await
            .len(),
        1
    );
    // Answering now is a response on its own, not to the closed assignment (409 when named).
    let mut body = who5([3, 3, 3, 3, 3]);
    body["assignment_id"] = a["id"].clone();
    submit(&app, me, body).await.problem(409);

    // A second miss of the same questionnaire in a row: an item in the consultant's inbox, once.
    let b = assign(
        &app,
        &m.consultant,
        me.id,
        json!({"questionnaire": "who5", "due_at": at(Utc::now() - Duration::hours(1))}),
    )
    .await;
    tick(&app).await;
    set_due(
        &app,
        &b["id"],
        Utc::now() - Duration::days(4) - Duration::seconds(1),
    )
    .await;
    tokio::join!(tick(&app), tick(&app));
    tick(&app).await;
    let items = inbox(&app, me.id, "missed_questionnaires").await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(
        items[0].ref_id.map(|i| i.to_string()).as_deref(),
        b["id"].as_str()
    );
    assert_eq!(items[0].audience, entity::types::InboxAudience::Consultant);
    let inbox_page = app
        .get("/api/v1/inbox", &m.consultant.token)
        .await
        .expect(200)
        .body;
    assert!(
        inbox_page["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["kind"] == "missed_questionnaires" && i["candidate_id"] == me.id.to_string()),
        "{inbox_page}"
    );
    // The candidate answers again: the item has done its job.
    submit(&app, me, who5([3, 3, 3, 3, 3])).await.expect(201);
    assert!(inbox(&app, me.id, "missed_questionnaires").await.is_empty());

    // The scheduled one is untouched by all of this.
    let seen = staff_assignments(&app, &m, me.id).await;
    let row = seen.iter().find(|x| x["id"] == later["id"]).unwrap();
    assert_eq!(row["status"], "scheduled");
    assert!(row["notified_at"].is_null());
    app.finish().await;
}

#[tokio::test]
async fn nothing_falls_due_while_the_course_is_paused() {
    let app = TestApp::start().await;
    let m = app.municipality("405").await;
    let me = &m.candidate;
    transition(&app, &m, me.id, "active").await;
    let a = assign(
        &app,
        &m.consultant,
        me.id,
        json!({"questionnaire": "who5", "due_at": at(Utc::now() - Duration::hours(1)), "repeat_every_days": 14}),
    )
    .await;
    transition(&app, &m, me.id, "paused").await;

    // Held: not shown, no notice, staff see it on hold; naming it is 409, answering anyway stands alone.
    assert!(my_due(&app, me).await.is_empty());
    let plan = app.get("/api/v1/me/plan", &me.token).await.expect(200).body;
    assert_eq!(plan["due_questionnaires"], json!([]));
    tick(&app).await;
    assert_eq!(notifications(&app, me.id, "questionnaire_due").await, 0);
    let seen = staff_assignments(&app, &m, me.id).await;
    assert_eq!(seen[0]["status"], "on_hold");
    let mut body = who5([3, 3, 3, 3, 3]);
    body["assignment_id"] = a["id"].clone();
    submit(&app, me, body).await.problem(409);
    let r = submit(&app, me, who5([3, 3, 3, 3, 3]))
        .await
        .expect(201)
        .body;
    assert!(r["assignment_id"].is_null(), "{r}");

    // Still paused when it closes: skipped, not missed; the series carries on with its next date.
    let first_due = secs(Utc::now() - Duration::days(5));
    set_due(&app, &a["id"], first_due).await;
    tick(&app).await;
    let seen = staff_assignments(&app, &m, me.id).await;
    let old = seen.iter().find(|x| x["id"] == a["id"]).unwrap();
    assert_eq!(old["status"], "skipped");
    assert!(inbox(&app, me.id, "missed_questionnaires").await.is_empty());
    assert_eq!(
        events(&app, &m, "questionnaire_assignment.expired")
            .await
            .len(),
        0
    );
    let next = seen
        .iter()
        .find(|x| x["id"] != a["id"])
        .expect("the next occurrence");
    assert_eq!(next["series_id"], a["id"]);
    assert_eq!(next["status"], "scheduled");
    let next_due: DateTime<Utc> = next["due_at"].as_str().unwrap().parse().unwrap();
    assert_eq!((next_due - first_due).num_days(), 14);

    // A due date inside the pause: held while paused, due again once the course resumes.
    set_due(&app, &next["id"], Utc::now() - Duration::hours(2)).await;
    tick(&app).await;
    assert!(my_due(&app, me).await.is_empty());
    assert_eq!(notifications(&app, me.id, "questionnaire_due").await, 0);
    transition(&app, &m, me.id, "active").await;
    assert_eq!(my_due(&app, me).await.len(), 1);
    tick(&app).await;
    assert_eq!(notifications(&app, me.id, "questionnaire_due").await, 1);
    app.finish().await;
}

#[tokio::test]
async fn an_ended_course_asks_nothing_more() {
    let app = TestApp::start().await;
    let m = app.municipality("410").await;
    let me = &m.candidate;
    transition(&app, &m, me.id, "active").await;
    let a = assign(
        &app,
        &m.consultant,
        me.id,
        json!({"questionnaire": "who5", "due_at": at(Utc::now()), "repeat_every_days": 14}),
    )
    .await;
    transition(&app, &m, me.id, "stopped").await;
    assert!(my_due(&app, me).await.is_empty());
    set_due(&app, &a["id"], Utc::now() - Duration::days(5)).await;
    tick(&app).await;
    let seen = staff_assignments(&app, &m, me.id).await;
    assert_eq!(seen.len(), 1, "the series stops with the course: {seen:?}");
    assert_eq!(seen[0]["status"], "skipped");
    assert!(inbox(&app, me.id, "missed_questionnaires").await.is_empty());
    app.post(
        &assignments_path(me.id),
        &m.consultant.token,
        json!({"questionnaire": "who5", "due_at": at(Utc::now())}),
    )
    .await
    .problem(409);
    app.finish().await;
}

#[tokio::test]
async fn repeating_assignments_roll_and_cancelling_stops_them() {
    let app = TestApp::start().await;
    let m = app.municipality("406").await;
    let me = &m.candidate;
    let first_due = secs(Utc::now() - Duration::hours(3));
    let a = assign(
        &app,
        &m.consultant,
        me.id,
        json!({"questionnaire": "who5", "due_at": at(first_due), "repeat_every_days": 14}),
    )
    .await;
    assert_eq!(a["repeat_every_days"], 14);
    assert_eq!(a["series_id"], a["id"]);
    // One open assignment per questionnaire.
    let dup = app
        .post(
            &assignments_path(me.id),
            &m.coordinator.token,
            json!({"questionnaire": "who5", "due_at": at(Utc::now())}),
        )
        .await
        .problem(409);
    assert_eq!(dup.body["existing_id"], a["id"]);

    // Answered (the oldest due one of the questionnaire is completed): the next is due 14 days on.
    let r = submit(&app, me, who5([4, 4, 4, 4, 4]))
        .await
        .expect(201)
        .body;
    assert_eq!(r["assignment_id"], a["id"]);
    let seen = staff_assignments(&app, &m, me.id).await;
    assert_eq!(seen.len(), 2);
    let (next, done) = (&seen[0], &seen[1]);
    assert_eq!(done["status"], "completed");
    assert_eq!(done["response_id"], r["id"]);
    assert_eq!(next["status"], "scheduled");
    assert_eq!(next["series_id"], a["id"]);
    let next_due: DateTime<Utc> = next["due_at"].as_str().unwrap().parse().unwrap();
    assert_eq!((next_due - first_due).num_seconds(), 14 * 86_400);
    // An assignment not yet due cannot be answered by name.
    let mut body = who5([3, 3, 3, 3, 3]);
    body["assignment_id"] = next["id"].clone();
    submit(&app, me, body).await.problem(409);

    // Missed: it rolls on from its own due date, to a date after now.
    let missed_due = secs(Utc::now() - Duration::days(20));
    set_due(&app, &next["id"], missed_due).await;
    tick(&app).await;
    let seen = staff_assignments(&app, &m, me.id).await;
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[1]["status"], "expired");
    let third_due: DateTime<Utc> = seen[0]["due_at"].as_str().unwrap().parse().unwrap();
    assert!(third_due > Utc::now());
    assert_eq!((third_due - missed_due).num_days(), 28);

    // Cancelled: closed, and nothing more comes.
    let path = format!(
        "{}/{}/cancel",
        assignments_path(me.id),
        seen[0]["id"].as_str().unwrap()
    );
    app.request(
        Method::POST,
        &path,
        Some(&m.consultant.token),
        None,
        &[("if-match", "\"7\"")],
    )
    .await
    .problem(412);
    let cancelled = app
        .call(Method::POST, &path, Some(&m.consultant.token), None)
        .await
        .expect(200);
    assert_eq!(cancelled.header("etag"), Some("\"2\""));
    assert_eq!(cancelled.body["status"], "cancelled");
    app.call(Method::POST, &path, Some(&m.consultant.token), None)
        .await
        .problem(409);
    tick(&app).await;
    assert_eq!(staff_assignments(&app, &m, me.id).await.len(), 3);
    assert_eq!(
        events(&app, &m, "questionnaire_assignment.cancelled")
            .await
            .len(),
        1
    );
    // A new one may be set once the old is closed; the repeat interval is bounded.
    for bad in [0, 6, 366] {
        let a = app
            .post(
                &assignments_path(me.id),
                &m.consultant.token,
                json!({"questionnaire": "who5", "due_at": at(Utc::now()), "repeat_every_days": bad}),
            )
            .await;
        assert!(
            a.fields().contains(&"repeat_every_days".to_string()),
            "{}",
            a.body
        );
    }
    let a = app
        .post(
            &assignments_path(me.id),
            &m.consultant.token,
            json!({"questionnaire": "who5", "due_at": at(Utc::now() - Duration::days(5))}),
        )
        .await
        .problem(400);
    assert_eq!(a.fields(), ["due_at"]);
    assign(
        &app,
        &m.consultant,
        me.id,
        json!({"questionnaire": "who5", "due_at": at(Utc::now())}),
    )
    .await;
    app.finish().await;
}

#[tokio::test]
async fn access_and_audit() {
    let app = TestApp::start().await;
    let m = app.municipality("407").await;
    let other = app.municipality("408").await;
    let admin = app.admin().await;
    let me = &m.candidate;
    let a = assign(
        &app,
        &m.consultant,
        me.id,
        json!({"questionnaire": "who5", "due_at": at(Utc::now())}),
    )
    .await;
    submit(&app, me, who5([3, 3, 3, 3, 3])).await.expect(201);
    let aid = a["id"].as_str().unwrap();
    let paths = [
        assignments_path(me.id),
        format!("{}/{aid}", assignments_path(me.id)),
        format!("/api/v1/candidates/{}/questionnaire-responses", me.id),
    ];
    let cancel = format!("{}/{aid}/cancel", assignments_path(me.id));

    // Another caseload's consultant and another municipality's staff: 404, as for nothing at all.
    for who in [&m.other_consultant, &other.consultant, &other.coordinator] {
        for p in &paths {
            app.get(p, &who.token).await.problem(404);
        }
        app.call(Method::POST, &cancel, Some(&who.token), None)
            .await
            .problem(404);
        app.post(
            &assignments_path(me.id),
            &who.token,
            json!({"questionnaire": "motivation", "due_at": at(Utc::now())}),
        )
        .await
        .problem(404);
    }
    // Another candidate's assignment, named in the body: not theirs.
    let mut body = who5([3, 3, 3, 3, 3]);
    body["assignment_id"] = a["id"].clone();
    let r = submit(&app, &m.other_candidate, body).await.problem(400);
    assert_eq!(r.fields(), ["assignment_id"]);
    // Roles that can never use the routes: 403 — service accounts never get answers or scores.
    for who in [&m.service, &admin, me, &m.other_candidate] {
        for p in &paths {
            app.get(p, &who.token).await.problem(403);
        }
        app.call(Method::POST, &cancel, Some(&who.token), None)
            .await
            .problem(403);
    }
    for who in [&m.service, &admin, &m.consultant] {
        app.get("/api/v1/me/questionnaires", &who.token)
            .await
            .problem(403);
        app.get("/api/v1/me/questionnaire-responses", &who.token)
            .await
            .problem(403);
        submit(&app, who, who5([3, 3, 3, 3, 3])).await.problem(403);
    }
    // The other candidate sees none of it.
    let theirs = app
        .get(
            "/api/v1/me/questionnaire-responses",
            &m.other_candidate.token,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(theirs["items"], json!([]));
    assert!(my_due(&app, &m.other_candidate).await.is_empty());
    // Definitions are public.
    app.call(Method::GET, "/api/v1/questionnaires", None, None)
        .await
        .expect(200);

    // Staff reads are audited, the coordinator's too.
    for who in [&m.consultant, &m.coordinator] {
        for p in &paths {
            app.get(p, &who.token).await.expect(200);
        }
    }
    let reads = |resource: &'static str, actor: Uuid| {
        let app = &app;
        async move {
            audit_entry::Entity::find()
                .filter(audit_entry::Column::CandidateId.eq(me.id))
                .filter(audit_entry::Column::Resource.eq(resource))
                .filter(audit_entry::Column::Action.eq("read"))
                .filter(audit_entry::Column::ActorId.eq(actor))
                .count(app.state.db.read())
                .await
                .expect("count")
        }
    };
    assert_eq!(reads("questionnaire_response", m.consultant.id).await, 1);
    assert_eq!(reads("questionnaire_response", m.coordinator.id).await, 1);
    assert_eq!(reads("questionnaire_assignment", m.consultant.id).await, 2);
    // The candidate's own reads are not staff reads; the submission is recorded as a change.
    assert_eq!(reads("questionnaire_response", me.id).await, 0);
    let created = audit_entry::Entity::find()
        .filter(audit_entry::Column::CandidateId.eq(me.id))
        .filter(audit_entry::Column::Resource.eq("questionnaire_response"))
        .filter(audit_entry::Column::Action.eq("create"))
        .count(app.state.db.read())
        .await
        .expect("count");
    assert_eq!(created, 1);
    app.finish().await;
}

/// A submit reads the candidate, the assignment it completes and the previous WHO-5 score in one
/// statement, and writes the response with its audit entry and event in one more; completing the
/// due assignment of the questionnaire (and making its series' next one) adds its own two.
#[tokio::test]
async fn a_submit_reads_in_one_statement_and_completes_the_due_assignment() {
    let app = TestApp::start().await;
    let m = app.municipality("410").await;
    let me = &m.candidate;
    transition(&app, &m, me.id, "active").await;
    let now = Utc::now();
    let who5_due = assign(
        &app,
        &m.consultant,
        me.id,
        json!({"questionnaire": "who5", "due_at": at(now)}),
    )
    .await;
    let series = assign(
        &app,
        &m.consultant,
        me.id,
        json!({"questionnaire": "motivation", "due_at": at(now), "repeat_every_days": 7}),
    )
    .await;
    set_due(&app, &who5_due["id"], now - Duration::hours(1)).await;
    set_due(&app, &series["id"], now - Duration::hours(3)).await;
    // Warm the session cache and the questionnaire catalogue, so only the submit's own statements
    // are counted.
    app.get("/api/v1/me/plan", &me.token).await.expect(200);
    app.get("/api/v1/questionnaires/who5", &me.token)
        .await
        .expect(200);
    let counted = |body: Value| {
        let app = &app;
        async move {
            let before = app.state.db.statement_count();
            let answer = submit(app, me, body).await.expect(201).body;
            (app.state.db.statement_count() - before, answer)
        }
    };

    // The due WHO-5, not the motivation scale that fell due before it.
    let (n, first) = counted(who5([4, 4, 4, 4, 4])).await;
    assert_eq!(first["assignment_id"], who5_due["id"]);
    assert_eq!(n, 3, "read, complete the assignment, write: took {n}");
    // Nothing due: the read and the write.
    let (n, second) = counted(who5([4, 4, 4, 4, 4])).await;
    assert!(second["assignment_id"].is_null());
    assert!(second["follow_up"].is_null());
    assert_eq!(n, 2, "read, write: took {n}");
    // A fall of 10 or more from the previous score (80 → 64) is an alert: its event and inbox item
    // are two more.
    let (n, fall) = counted(who5([4, 3, 3, 3, 3])).await;
    assert_eq!(fall["score"], 64);
    assert!(fall["follow_up"]["da"].is_string());
    assert_eq!(
        n, 4,
        "read, write, the alert's event, its inbox item: took {n}"
    );
    assert_eq!(inbox(&app, me.id, "wellbeing_alert").await.len(), 1);
    // A series' occurrence is completed and the next one made.
    let body = json!({"questionnaire": "motivation", "version": 1, "answers": answers(&MOTIVATION_ITEMS, &[3, 2, 3])});
    let (n, motivation) = counted(body).await;
    assert_eq!(motivation["assignment_id"], series["id"]);
    assert_eq!(n, 4, "read, complete, the next occurrence, write: took {n}");
    let next: Vec<Value> = staff_assignments(&app, &m, me.id)
        .await
        .into_iter()
        .filter(|a| a["questionnaire"] == "motivation" && a["status"] == "scheduled")
        .collect();
    assert_eq!(next.len(), 1, "the series rolled once: {next:?}");
    app.finish().await;
}

#[tokio::test]
async fn done_when_the_journey_works() {
    let app = TestApp::start().await;
    let m = app.municipality("409").await;
    let me = &m.candidate;
    transition(&app, &m, me.id, "active").await;
    let now = Utc::now();

    // The consultant assigns WHO-5 every 14 days and the motivation scale once.
    let who5_assignment = assign(
        &app,
        &m.consultant,
        me.id,
        json!({"questionnaire": "who5", "due_at": at(now), "repeat_every_days": 14}),
    )
    .await;
    let motivation_assignment = assign(
        &app,
        &m.consultant,
        me.id,
        json!({"questionnaire": "motivation", "due_at": at(now)}),
    )
    .await;
    tick(&app).await;
    assert_eq!(notifications(&app, me.id, "questionnaire_due").await, 2);

    // The candidate sees both, reads them in English, and answers both.
    let due = app
        .request(
            Method::GET,
            "/api/v1/me/questionnaires",
            Some(&me.token),
            None,
            &[("accept-language", "en")],
        )
        .await
        .expect(200)
        .body;
    let names: Vec<&str> = due["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["WHO-5 Well-Being Index", "Motivation for the programme"]
    );
    let plan = app.get("/api/v1/me/plan", &me.token).await.expect(200).body;
    assert_eq!(plan["due_questionnaires"].as_array().map(Vec::len), Some(2));
    assert!(plan["latest_wellbeing"].is_null());
    let def = app
        .request(
            Method::GET,
            "/api/v1/questionnaires/who5",
            Some(&me.token),
            None,
            &[("accept-language", "en")],
        )
        .await
        .expect(200)
        .body;
    assert_eq!(
        def["items"][0]["text"],
        "I have felt cheerful and in good spirits"
    );
    let mut body = who5([4, 4, 3, 4, 3]);
    body["assignment_id"] = who5_assignment["id"].clone();
    let first = submit(&app, me, body).await.expect(201).body;
    assert_eq!(
        (first["score"].clone(), first["band"].clone()),
        (json!(72), json!("good"))
    );
    assert!(first["follow_up"].is_null());
    let mut body = json!({"questionnaire": "motivation", "version": 1, "answers": answers(&MOTIVATION_ITEMS, &[3, 2, 3])});
    body["assignment_id"] = motivation_assignment["id"].clone();
    let motivation = submit(&app, me, body).await.expect(201).body;
    assert_eq!(motivation["score"], 8);
    assert!(my_due(&app, me).await.is_empty());

    // Two weeks later the next WHO-5 is due; a low answer.
    let seen = staff_assignments(&app, &m, me.id).await;
    let next = seen
        .iter()
        .find(|a| a["questionnaire"] == "who5" && a["status"] == "scheduled")
        .expect("the next WHO-5");
    set_due(&app, &next["id"], Utc::now() - Duration::minutes(5)).await;
    tick(&app).await;
    let low = submit(&app, me, who5([1, 1, 1, 1, 2]))
        .await
        .expect(201)
        .body;
    assert_eq!(
        (low["score"].clone(), low["band"].clone()),
        (json!(24), json!("very_low"))
    );
    assert_eq!(low["assignment_id"], next["id"]);
    assert!(low["follow_up"]["da"].is_string());

    // The candidate sees their WHO-5 history; the plan shows the latest.
    let history = app
        .get(
            "/api/v1/me/questionnaire-responses?questionnaire=who5",
            &me.token,
        )
        .await
        .expect(200)
        .body;
    let scores: Vec<i64> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["score"].as_i64().unwrap())
        .collect();
    assert_eq!(scores, [72, 24]);
    // What the submit answered is what a later read shows, to the microsecond.
    for (listed, answered) in history["items"]
        .as_array()
        .unwrap()
        .iter()
        .zip([&first, &low])
    {
        for field in [
            "id",
            "submitted_at",
            "score",
            "band",
            "assignment_id",
            "answers",
        ] {
            assert_eq!(listed[field], answered[field], "{field}");
        }
    }
    let plan = app.get("/api/v1/me/plan", &me.token).await.expect(200).body;
    assert_eq!(plan["latest_wellbeing"]["score"], 24);
    assert_eq!(plan["latest_wellbeing"]["band"], "very_low");

    // The alert is in the consultant's inbox and in the feed.
    let items = inbox(&app, me.id, "wellbeing_alert").await;
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0].ref_id.map(|i| i.to_string()).as_deref(),
        low["id"].as_str()
    );
    let page = app
        .get("/api/v1/inbox", &m.consultant.token)
        .await
        .expect(200)
        .body;
    assert!(
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["kind"] == "wellbeing_alert" && i["ref_id"] == low["id"]),
        "{page}"
    );
    let alerts = events(&app, &m, "wellbeing.alert").await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["payload"]["response_id"], low["id"]);
    assert_eq!(alerts[0]["payload"]["candidate_id"], me.id.to_string());
    let created = events(&app, &m, "questionnaire_assignment.created").await;
    assert_eq!(created.len(), 2);
    assert_eq!(
        events(&app, &m, "questionnaire_response.submitted")
            .await
            .len(),
        3
    );
    app.finish().await;
}

#[test]
fn the_pure_scorers() {
    use scoring::{single_item, sum_scale, who5};
    assert_eq!(sum_scale::score(&[3, 3, 3]), (9, 9));
    assert_eq!(single_item::score(&[4]), (4, 4));
    assert_eq!(who5::alert(28, None), Some(who5::Alert::Low));
    assert_eq!(who5::alert(32, None), None);
    assert_eq!(who5::alert(60, Some(72)), Some(who5::Alert::Fall));
    assert_eq!(who5::alert(64, Some(72)), None);
    assert_eq!(q::negotiate(None), entity::types::Language::Da);
}

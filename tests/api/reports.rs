//! Reports (SPEC §4.10): the published evaluation of IPS UNG, loaded through the API, comes out
//! exactly; "at start" and the windows; other municipalities; reports over nothing; whole calendar
//! months; fidelity; CSV; bad input; who may read them.
use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc};
use entity::ids::MunicipalityId;
use ips_api::{
    auth::Role,
    db::Db,
    domain::{identity, reports},
};
use poem::http::Method;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::{
    Answer, MOTIVATION_ITEMS, Municipality, Person, TestApp, WHO5_ITEMS, is_postgres, today,
};

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("a date")
}

/// A candidate created through the API by the coordinator, on `consultant`'s caseload, referred on
/// `referred_on`; with a session of their own.
async fn candidate(
    app: &TestApp,
    m: &Municipality,
    consultant: Uuid,
    referred_on: NaiveDate,
) -> Person {
    let a = app
        .post(
            "/api/v1/candidates",
            &m.coordinator.token,
            json!({
                "given_name": "Ung",
                "family_name": "Jensen",
                "birth_year": referred_on.year() - 20,
                "target_group": "mental_distress",
                "readiness": "activity_ready",
                "consultant_id": consultant,
                "referred_on": referred_on,
            }),
        )
        .await
        .expect(201);
    let id: Uuid = a.body["candidate"]["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("candidate id");
    let tokens = identity::start_session(&app.state.identity(), id, Role::Candidate, Some(m.id))
        .await
        .expect("session");
    Person {
        id,
        token: tokens.access_token,
    }
}

/// A status change of the candidate's course, dated `on`.
async fn transition(
    app: &TestApp,
    m: &Municipality,
    who: &Person,
    to: &str,
    on: NaiveDate,
    outcome: Option<&str>,
) {
    let mut body = json!({"to": to, "effective_on": on});
    if let Some(o) = outcome {
        body["outcome"] = json!(o);
    }
    let path = format!("/api/v1/candidates/{}/enrollment/transitions", who.id);
    app.post(&path, &m.coordinator.token, body)
        .await
        .expect(200);
}

/// A course referred and started on `start` that ended on `end`: `stopped`, or completed with the
/// outcome `how`.
async fn ended_course(
    app: &TestApp,
    m: &Municipality,
    start: NaiveDate,
    end: NaiveDate,
    how: &str,
) -> Person {
    let c = candidate(app, m, m.consultant.id, start).await;
    transition(app, m, &c, "active", start, None).await;
    match how {
        "stopped" => transition(app, m, &c, "stopped", end, None).await,
        outcome => transition(app, m, &c, "completed", end, Some(outcome)).await,
    }
    c
}

/// WHO-5 answers with raw score `raw` (0–25).
fn who5(raw: i64) -> Value {
    let mut left = raw;
    let answers: Vec<Value> = WHO5_ITEMS
        .iter()
        .map(|item| {
            let v = left.min(5);
            left -= v;
            json!({"item": item, "value": v})
        })
        .collect();
    json!({"questionnaire": "who5", "version": 1, "answers": answers})
}

fn motivation(values: [i64; 3]) -> Value {
    let answers: Vec<Value> = MOTIVATION_ITEMS
        .iter()
        .zip(values)
        .map(|(item, v)| json!({"item": item, "value": v}))
        .collect();
    json!({"questionnaire": "motivation", "version": 1, "answers": answers})
}

/// Submits a response as the candidate; its id.
async fn submit(app: &TestApp, who: &Person, body: Value) -> Uuid {
    let a = app
        .post("/api/v1/me/questionnaire-responses", &who.token, body)
        .await
        .expect(201);
    a.body["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("response id")
}

/// Moves a response's submission time: the API stamps the time of the request.
async fn backdate(app: &TestApp, response: Uuid, at: DateTime<Utc>) {
    let stmt = Statement::from_sql_and_values(
        app.state.db.backend(),
        "UPDATE questionnaire_responses SET submitted_at = $1 WHERE id = $2",
        [at.into(), response.into()],
    );
    let done = app
        .state
        .db
        .write()
        .execute_raw(stmt)
        .await
        .expect("update");
    assert_eq!(done.rows_affected(), 1);
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("a time")
        .with_timezone(&Utc)
}

fn path(report: &str, from: NaiveDate, to: NaiveDate) -> String {
    format!("/api/v1/reports/{report}?from={from}&to={to}")
}

async fn report(app: &TestApp, token: &str, report: &str, from: NaiveDate, to: NaiveDate) -> Value {
    app.get(&path(report, from, to), token)
        .await
        .expect(200)
        .body
}

fn share(count: i64, percent: f64) -> Value {
    json!({"count": count, "percent": percent})
}

fn none() -> Value {
    json!({"count": 0, "percent": null})
}

/// The answers of one questionnaire item as `[[value, count, percent], …]`.
fn answers_of(report: &Value, item: &str) -> Vec<(i64, i64, Value)> {
    report["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["item"] == item)
        .unwrap_or_else(|| panic!("no item {item} in {report}"))["answers"]
        .as_array()
        .expect("answers")
        .iter()
        .map(|a| {
            (
                a["value"].as_i64().expect("value"),
                a["count"].as_i64().expect("count"),
                a["percent"].clone(),
            )
        })
        .collect()
}

/// The wellbeing report and WHO-5 at start, read straight from `db`; the wellbeing report is one
/// statement per part (`Db::report_slices`).
async fn seeking_reports(
    db: &Db,
    municipality: MunicipalityId,
    window: reports::Window,
) -> (reports::Wellbeing, reports::QuestionnaireAnswers) {
    let before = db.statement_count();
    let wellbeing = reports::wellbeing(db, municipality, window)
        .await
        .expect("wellbeing");
    assert_eq!(db.statement_count() - before, db.report_slices() as u64);
    let at_start = reports::questionnaire(db, municipality, "who5", None, window)
        .await
        .expect("at start");
    (wellbeing, at_start)
}

fn csv_lines(a: &Answer) -> Vec<String> {
    String::from_utf8(a.raw.clone())
        .expect("utf-8")
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// The published evaluation of IPS UNG (DEFACTUM 2025), entered through the API as a municipality
/// would: referrals on the start date with backdated transitions, outcomes, WHO-5 first and latest
/// answers and motivation answers, all candidates answering for themselves.
#[tokio::test]
async fn the_published_evaluation_comes_out_exactly() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let (from, to) = (d("2025-01-01"), today());

    // 43 ended courses: whole months from start to end, in the published duration buckets
    // (2 / 6 / 9 / 7 / 6 / 3 / 10), and how they ended (9 job, 3 flex job, 14 education, 6 other,
    // 4 none, 7 stopped), mixed so that length and outcome do not go together.
    let months: [u32; 43] = [
        0, 1, // under 2
        2, 3, 2, 3, 3, 2, // 2–4
        4, 5, 4, 5, 4, 5, 4, 5, 4, // 4–6
        6, 7, 6, 7, 6, 7, 6, // 6–8
        8, 9, 8, 9, 8, 9, // 8–10
        10, 11, 10, // 10–12
        12, 13, 14, 15, 18, 24, 12, 16, 20, 30, // 12 and over
    ];
    let hows: Vec<&str> = [
        ("job", 9),
        ("flex_job", 3),
        ("education", 14),
        ("other", 6),
        ("none", 4),
        ("stopped", 7),
    ]
    .into_iter()
    .flat_map(|(how, n)| std::iter::repeat_n(how, n))
    .collect();
    let mut people = Vec::new();
    for (i, &m_months) in months.iter().enumerate() {
        // The first course ends on `from` itself: both ends of the window count.
        let end = from + Days::new(7 * i as u64);
        let start = end - Months::new(m_months) - Days::new(i as u64 % 9);
        people.push(ended_course(&app, &m, start, end, hows[(i * 7) % 43]).await);
    }
    // Twelve more in the programme: running, in aftercare or only referred.
    for i in 0..12 {
        let start = d("2025-06-02");
        let c = candidate(&app, &m, m.other_consultant.id, start).await;
        if i < 9 {
            transition(&app, &m, &c, "active", start, None).await;
        }
        if i < 3 {
            transition(&app, &m, &c, "aftercare", d("2025-09-01"), None).await;
        }
        people.push(c);
    }
    // A course that ended the day before the window: not counted.
    ended_course(&app, &m, d("2024-03-01"), d("2024-12-31"), "job").await;

    // WHO-5 (raw scores, ×4 for the score) of 40 candidates: first and latest. Every fourth also
    // answers in between (raw 0), which must count as neither.
    let first: [i64; 40] = [
        4, 5, 6, 6, 7, 7, 8, 8, 8, 5, 6, 9, 10, 10, 11, 11, 12, 12, 9, 10, 11, 13, 14, 14, 15, 15,
        16, 16, 16, 17, 17, 17, 17, 18, 18, 18, 19, 19, 20, 17,
    ];
    let latest: [i64; 40] = [
        5, 6, 6, 7, 8, 8, 7, 9, 11, 10, 13, 7, 8, 10, 12, 11, 14, 15, 13, 14, 16, 8, 12, 14, 15,
        14, 18, 15, 15, 16, 17, 16, 17, 16, 17, 18, 18, 19, 17, 17,
    ];
    for (who, raw) in people.iter().zip(first) {
        submit(&app, who, who5(raw)).await;
    }
    for who in people.iter().take(40).step_by(4) {
        submit(&app, who, who5(0)).await;
    }
    for (who, raw) in people.iter().zip(latest) {
        submit(&app, who, who5(raw)).await;
    }
    // Three who answered once: not counted.
    for who in &people[40..43] {
        submit(&app, who, who5(25)).await;
    }

    // Motivation at start of 55 candidates: item 1 34 / 16 / 5 / 0 (values 3 / 2 / 1 / 0), item 2
    // 38 / 14 / 3 / 0, item 3 29 / 19 / 6 / 1. Every third answers again later (all 0): that second
    // answer is not "at start".
    assert_eq!(people.len(), 55);
    for (i, who) in people.iter().enumerate() {
        let pick = |offset: usize, bounds: [usize; 3]| {
            let j = (i + offset) % 55;
            match bounds.iter().position(|&b| j < b) {
                Some(p) => 3 - p as i64,
                None => 0,
            }
        };
        let values = [
            pick(0, [34, 50, 55]),
            pick(11, [38, 52, 55]),
            pick(29, [29, 48, 54]),
        ];
        submit(&app, who, motivation(values)).await;
    }
    for who in people.iter().step_by(3) {
        submit(&app, who, motivation([0, 0, 0])).await;
    }

    let token = &m.coordinator.token;
    let outcomes = report(&app, token, "outcomes", from, to).await;
    assert_eq!(
        outcomes,
        json!({
            "ended": 43,
            "by_outcome": {
                "job": share(9, 20.9),
                "flex_job": share(3, 7.0),
                "education": share(14, 32.6),
                "other": share(6, 14.0),
                "none": share(4, 9.3),
                "stopped": share(7, 16.3),
            },
            "success": share(26, 60.5),
        })
    );

    let durations = report(&app, token, "durations", from, to).await;
    assert_eq!(
        durations,
        json!({
            "n": 43,
            "buckets": [
                {"label": "under_2", "count": 2, "percent": 4.7},
                {"label": "2_4", "count": 6, "percent": 14.0},
                {"label": "4_6", "count": 9, "percent": 20.9},
                {"label": "6_8", "count": 7, "percent": 16.3},
                {"label": "8_10", "count": 6, "percent": 14.0},
                {"label": "10_12", "count": 3, "percent": 7.0},
                {"label": "12_plus", "count": 10, "percent": 23.3},
            ],
        })
    );

    let wellbeing = report(&app, token, "wellbeing", from, to).await;
    assert_eq!(
        wellbeing,
        json!({
            "n": 40,
            "first": {
                "mean": 49.1,
                "bands": {"very_low": share(11, 27.5), "at_risk": share(10, 25.0), "good": share(19, 47.5)},
            },
            "latest": {
                "mean": 50.9,
                "bands": {"very_low": share(10, 25.0), "at_risk": share(7, 17.5), "good": share(23, 57.5)},
            },
        })
    );

    let motivation = report(&app, token, "questionnaires/motivation", from, to).await;
    assert_eq!(motivation["key"], "motivation");
    assert_eq!(motivation["version"], 1);
    assert_eq!(motivation["n"], 55);
    let items: Vec<&str> = motivation["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["item"].as_str())
        .collect();
    assert_eq!(items, MOTIVATION_ITEMS);
    for (item, want) in [
        (
            "positive_change",
            [(3, 34, 61.8), (2, 16, 29.1), (1, 5, 9.1), (0, 0, 0.0)],
        ),
        (
            "ready_to_try",
            [(3, 38, 69.1), (2, 14, 25.5), (1, 3, 5.5), (0, 0, 0.0)],
        ),
        (
            "own_influence",
            [(3, 29, 52.7), (2, 19, 34.5), (1, 6, 10.9), (0, 1, 1.8)],
        ),
    ] {
        let want: Vec<(i64, i64, Value)> =
            want.into_iter().map(|(v, c, p)| (v, c, json!(p))).collect();
        assert_eq!(answers_of(&motivation, item), want, "{item}");
    }

    // The same figures as CSV, one row per figure.
    let a = app
        .request(
            Method::GET,
            &path("outcomes", from, to),
            Some(token),
            None,
            &[("accept", "text/csv")],
        )
        .await
        .expect(200);
    let window = format!("{from},{to}");
    let want: Vec<String> = [
        "report,from,to,group,figure,count,percent,value".to_string(),
        format!("outcomes,{window},,ended,43,,"),
        format!("outcomes,{window},by_outcome,job,9,20.9,"),
        format!("outcomes,{window},by_outcome,flex_job,3,7.0,"),
        format!("outcomes,{window},by_outcome,education,14,32.6,"),
        format!("outcomes,{window},by_outcome,other,6,14.0,"),
        format!("outcomes,{window},by_outcome,none,4,9.3,"),
        format!("outcomes,{window},by_outcome,stopped,7,16.3,"),
        format!("outcomes,{window},,success,26,60.5,"),
    ]
    .to_vec();
    assert_eq!(csv_lines(&a), want);
    let a = app
        .request(
            Method::GET,
            &path("wellbeing", from, to),
            Some(token),
            None,
            &[("accept", "text/csv")],
        )
        .await
        .expect(200);
    let lines = csv_lines(&a);
    assert!(lines.contains(&format!("wellbeing,{window},first,mean,,,49.1")));
    assert!(lines.contains(&format!("wellbeing,{window},latest,mean,,,50.9")));
    assert!(lines.contains(&format!("wellbeing,{window},first.bands,very_low,11,27.5,")));

    // On PostgreSQL the two reports that seek each candidate's responses run in parts at once (the
    // figures above came that way); in one statement, as on SQLite, they come out the same.
    let parts = app.state.db.report_slices();
    if is_postgres() {
        assert!(parts > 1, "{parts} part");
    } else {
        assert_eq!(parts, 1);
    }
    let whole = app.second_instance(|c| c.db_max_connections = 2).await;
    assert_eq!(whole.db.report_slices(), 1);
    let window = reports::Window { from, to };
    let in_parts = seeking_reports(&app.state.db, m.id, window).await;
    let in_one = seeking_reports(&whole.db, m.id, window).await;
    assert_eq!((in_parts.0.n, in_parts.1.n), (40, 43));
    assert_eq!(in_parts, in_one);
    whole.db.clone().close().await;
    app.finish().await;
}

/// "At start" is a candidate's first answer ever; a later answer never takes its place, and windows
/// count responses by when they were submitted (days in Europe/Copenhagen).
#[tokio::test]
async fn at_start_is_the_first_answer_ever() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let token = &m.coordinator.token;
    let (x, y, z) = (
        &m.candidate,
        &m.other_candidate,
        &candidate_of(&app, &m).await,
    );

    submit(&app, x, motivation([3, 3, 3])).await;
    submit(&app, x, motivation([0, 0, 0])).await;
    // Y first answered in June 2024, then again now.
    let early = submit(&app, y, motivation([1, 1, 1])).await;
    backdate(&app, early, at("2024-06-01T10:00:00Z")).await;
    submit(&app, y, motivation([2, 2, 2])).await;
    // Z answered at 23:30 UTC on 31 December 2024: 1 January 2025 in Copenhagen.
    let new_year = submit(&app, z, motivation([0, 3, 0])).await;
    backdate(&app, new_year, at("2024-12-31T23:30:00Z")).await;

    let q = "questionnaires/motivation";
    let this_year = report(&app, token, q, d("2025-01-01"), today()).await;
    assert_eq!(this_year["n"], 2, "{this_year}");
    assert_eq!(
        answers_of(&this_year, "positive_change"),
        [
            (3, 1, json!(50.0)),
            (2, 0, json!(0.0)),
            (1, 0, json!(0.0)),
            (0, 1, json!(50.0)),
        ]
    );
    assert_eq!(
        answers_of(&this_year, "ready_to_try"),
        [
            (3, 2, json!(100.0)),
            (2, 0, json!(0.0)),
            (1, 0, json!(0.0)),
            (0, 0, json!(0.0)),
        ]
    );
    let last_year = report(&app, token, q, d("2024-01-01"), d("2024-12-31")).await;
    assert_eq!(last_year["n"], 1, "{last_year}");
    assert_eq!(
        answers_of(&last_year, "own_influence")[2],
        (1, 1, json!(100.0))
    );
    let both = report(&app, token, q, d("2024-01-01"), today()).await;
    assert_eq!(both["n"], 3, "{both}");
    assert_eq!(answers_of(&both, "positive_change")[1], (2, 0, json!(0.0)));

    // WHO-5: only candidates with two responses in the window count, first and latest in it.
    let old = submit(&app, x, who5(5)).await;
    backdate(&app, old, at("2024-06-01T10:00:00Z")).await;
    submit(&app, x, who5(20)).await;
    let w = report(&app, token, "wellbeing", d("2025-01-01"), today()).await;
    assert_eq!(w["n"], 0, "{w}");
    let w = report(&app, token, "wellbeing", d("2024-01-01"), today()).await;
    assert_eq!(w["n"], 1, "{w}");
    assert_eq!(w["first"]["mean"], json!(20.0));
    assert_eq!(w["latest"]["mean"], json!(80.0));
    assert_eq!(w["first"]["bands"]["very_low"], share(1, 100.0));
    assert_eq!(w["latest"]["bands"]["good"], share(1, 100.0));
    app.finish().await;
}

/// A third candidate of `m`, on the consultant's caseload.
async fn candidate_of(app: &TestApp, m: &Municipality) -> Person {
    candidate(app, m, m.consultant.id, today()).await
}

/// Nothing of another municipality is ever counted, whoever asks.
#[tokio::test]
async fn only_the_callers_municipality_counts() {
    let app = TestApp::start().await;
    let a = app.municipality("101").await;
    let b = app.municipality("102").await;
    let (from, to) = (d("2025-01-01"), today());
    for (m, how, raw, values) in [(&a, "job", 5, 3), (&b, "stopped", 20, 0)] {
        let c = ended_course(&app, m, d("2025-02-03"), d("2025-05-05"), how).await;
        submit(&app, &c, who5(raw)).await;
        submit(&app, &c, who5(raw)).await;
        submit(&app, &c, motivation([values; 3])).await;
    }
    let b_late = candidate(&app, &b, b.consultant.id, d("2025-03-03")).await;
    transition(&app, &b, &b_late, "active", d("2025-03-03"), None).await;
    transition(&app, &b, &b_late, "aftercare", d("2025-04-01"), None).await;

    for (m, token, other) in [
        (&a, &a.coordinator.token, &b),
        (&a, &a.service.token, &b),
        (&b, &b.coordinator.token, &a),
    ] {
        let mine = m.id == a.id;
        let o = report(&app, token, "outcomes", from, to).await;
        assert_eq!(o["ended"], 1, "{o}");
        assert_eq!(o["success"]["count"], if mine { 1 } else { 0 }, "{o}");
        let w = report(&app, token, "wellbeing", from, to).await;
        assert_eq!(w["n"], 1, "{w}");
        assert_eq!(w["first"]["mean"], json!(if mine { 20.0 } else { 80.0 }));
        let q = report(&app, token, "questionnaires/motivation", from, to).await;
        assert_eq!(q["n"], 1, "{q}");
        let value = if mine { 3 } else { 0 };
        assert!(
            answers_of(&q, "positive_change").contains(&(value, 1, json!(100.0))),
            "{q}"
        );
        let du = report(&app, token, "durations", from, to).await;
        assert_eq!(du["n"], 1, "{du}");
        let f = report(&app, token, "fidelity", from, to).await;
        assert_eq!(f["in_aftercare"], if mine { 0 } else { 1 }, "{f}");
        let consultants: Vec<String> = f["caseloads"]
            .as_array()
            .expect("caseloads")
            .iter()
            .map(|c| c["consultant_id"].as_str().expect("id").to_string())
            .collect();
        let mut want = vec![
            m.consultant.id.to_string(),
            m.other_consultant.id.to_string(),
        ];
        want.sort();
        assert_eq!(consultants, want, "{f}");
        for theirs in [other.consultant.id, other.other_consultant.id] {
            assert!(!consultants.contains(&theirs.to_string()));
        }
    }
    app.finish().await;
}

/// A share, mean or median over nothing is `null`; every field is still there, and every answer of
/// every item is listed.
#[tokio::test]
async fn reports_over_nothing_are_null() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let token = &m.coordinator.token;
    let (from, to) = (d("2020-01-01"), d("2020-12-31"));
    assert_eq!(
        report(&app, token, "outcomes", from, to).await,
        json!({
            "ended": 0,
            "by_outcome": {
                "job": none(), "flex_job": none(), "education": none(),
                "other": none(), "none": none(), "stopped": none(),
            },
            "success": none(),
        })
    );
    let nothing = json!({
        "mean": null,
        "bands": {"very_low": none(), "at_risk": none(), "good": none()},
    });
    assert_eq!(
        report(&app, token, "wellbeing", from, to).await,
        json!({"n": 0, "first": nothing, "latest": nothing})
    );
    let labels = ["under_2", "2_4", "4_6", "6_8", "8_10", "10_12", "12_plus"];
    assert_eq!(
        report(&app, token, "durations", from, to).await,
        json!({
            "n": 0,
            "buckets": labels
                .map(|l| json!({"label": l, "count": 0, "percent": null}))
                .to_vec(),
        })
    );
    let values = [5, 4, 3, 2, 1, 0].map(|v| json!({"value": v, "count": 0, "percent": null}));
    assert_eq!(
        report(&app, token, "questionnaires/who5", from, to).await,
        json!({
            "key": "who5",
            "version": 1,
            "n": 0,
            "items": WHO5_ITEMS.map(|i| json!({"item": i, "answers": values.to_vec()})).to_vec(),
        })
    );
    // The municipality's two candidates were referred today, one on each consultant.
    let mut caseloads = vec![
        json!({"consultant_id": m.consultant.id, "open": 1}),
        json!({"consultant_id": m.other_consultant.id, "open": 1}),
    ];
    caseloads.sort_by_key(|c| c["consultant_id"].as_str().map(str::to_string));
    assert_eq!(
        report(&app, token, "fidelity", from, to).await,
        json!({
            "caseloads": caseloads,
            "first_contact": {"median_days": null, "within_30_days": none()},
            "in_aftercare": 0,
            "career_profile_within_30_days": none(),
        })
    );
    app.finish().await;
}

/// Lengths are whole calendar months from `started_on` to `ended_on`, the same on both databases.
#[tokio::test]
async fn durations_count_whole_calendar_months() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    for (start, end, bucket) in [
        ("2025-01-15", "2025-03-15", "2_4"),     // exactly 2 months
        ("2025-01-15", "2025-03-14", "under_2"), // a day short of 2
        ("2025-01-31", "2025-02-28", "under_2"), // 0: the 31st has not come round
        ("2025-01-31", "2025-03-31", "2_4"),
        ("2024-02-29", "2025-02-28", "10_12"), // 11
        ("2024-02-29", "2025-03-01", "12_plus"),
        ("2024-12-20", "2025-12-19", "10_12"), // across a new year, 11
        ("2025-04-01", "2025-04-01", "under_2"),
    ] {
        let before = report(&app, &m.coordinator.token, "durations", d(end), d(end)).await;
        ended_course(&app, &m, d(start), d(end), "job").await;
        let after = report(&app, &m.coordinator.token, "durations", d(end), d(end)).await;
        let count = |r: &Value| {
            r["buckets"]
                .as_array()
                .expect("buckets")
                .iter()
                .find(|b| b["label"] == bucket)
                .map(|b| b["count"].as_i64().expect("count"))
                .expect("bucket")
        };
        assert_eq!(
            count(&after),
            count(&before) + 1,
            "{start} → {end}: {after}"
        );
    }
    // A referral stopped before it started has no length, but it did end.
    let c = candidate(&app, &m, m.consultant.id, d("2025-05-05")).await;
    transition(&app, &m, &c, "stopped", d("2025-05-06"), None).await;
    let (from, to) = (d("2025-05-06"), d("2025-05-06"));
    let du = report(&app, &m.coordinator.token, "durations", from, to).await;
    assert_eq!(du["n"], 0, "{du}");
    let o = report(&app, &m.coordinator.token, "outcomes", from, to).await;
    assert_eq!(o["ended"], 1, "{o}");
    assert_eq!(o["by_outcome"]["stopped"], share(1, 100.0));
    app.finish().await;
}

/// Caseloads and aftercare as they are now; first contacts of the courses started in the window.
#[tokio::test]
async fn fidelity_figures() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let (from, to) = (d("2025-03-01"), d("2025-03-31"));
    // Courses started in March 2025 with a first employer contact after (days), or none.
    for (i, days) in [Some(3), Some(10), Some(20), Some(31), Some(45), None]
        .into_iter()
        .enumerate()
    {
        let start = d("2025-03-03") + Days::new(i as u64);
        let c = candidate(&app, &m, m.other_consultant.id, start).await;
        transition(&app, &m, &c, "active", start, None).await;
        if let Some(n) = days {
            app.patch(
                &format!("/api/v1/candidates/{}/enrollment", c.id),
                &m.coordinator.token,
                json!({"first_employer_contact_on": start + Days::new(n)}),
            )
            .await
            .expect(200);
        }
        if i == 0 {
            transition(&app, &m, &c, "aftercare", d("2025-06-02"), None).await;
        }
    }
    // Started in February: outside the window, but still on the caseload.
    let feb = candidate(&app, &m, m.other_consultant.id, d("2025-02-03")).await;
    transition(&app, &m, &feb, "active", d("2025-02-03"), None).await;
    // Ended: off the caseload.
    ended_course(&app, &m, d("2025-03-10"), d("2025-04-10"), "job").await;

    let token = &m.coordinator.token;
    let f = report(&app, token, "fidelity", from, to).await;
    assert_eq!(
        f["first_contact"],
        json!({"median_days": 20.0, "within_30_days": share(3, 42.9)}),
        "{f}"
    );
    assert_eq!(f["in_aftercare"], 1);
    let open = |id: Uuid| {
        f["caseloads"]
            .as_array()
            .expect("caseloads")
            .iter()
            .find(|c| c["consultant_id"] == id.to_string())
            .map(|c| c["open"].clone())
    };
    // The candidate and other candidate every test municipality has, plus the courses above.
    assert_eq!(open(m.consultant.id), Some(json!(1)), "{f}");
    assert_eq!(open(m.other_consultant.id), Some(json!(8)), "{f}");

    // An even number of contacts: the median is halfway between the middle two. A contact made
    // between the referral and the start counts as day 0.
    let c = candidate(&app, &m, m.consultant.id, d("2025-03-10")).await;
    app.patch(
        &format!("/api/v1/candidates/{}/enrollment", c.id),
        token,
        json!({"first_employer_contact_on": "2025-03-12"}),
    )
    .await
    .expect(200);
    transition(&app, &m, &c, "active", d("2025-03-20"), None).await;
    let f = report(&app, token, "fidelity", from, to).await;
    assert_eq!(
        f["first_contact"],
        json!({"median_days": 15.0, "within_30_days": share(4, 50.0)}),
        "{f}"
    );
    // Two contacts, 3 and 10 days after the start: 6.5.
    let g = report(&app, token, "fidelity", d("2025-03-03"), d("2025-03-04")).await;
    assert_eq!(g["first_contact"]["median_days"], json!(6.5), "{g}");
    app.finish().await;
}

/// Every report as CSV when the client prefers it, with a file name; JSON otherwise.
#[tokio::test]
async fn csv_when_the_client_asks_for_it() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let (from, to) = (d("2025-01-01"), d("2025-12-31"));
    for (report, file) in [
        ("outcomes", "outcomes"),
        ("wellbeing", "wellbeing"),
        ("questionnaires/motivation", "questionnaires-motivation"),
        ("durations", "durations"),
        ("fidelity", "fidelity"),
    ] {
        let url = path(report, from, to);
        let a = app
            .request(
                Method::GET,
                &url,
                Some(&m.service.token),
                None,
                &[("accept", "text/csv, application/json;q=0.5")],
            )
            .await
            .expect(200);
        assert_eq!(a.header("content-type"), Some("text/csv; charset=utf-8"));
        assert_eq!(
            a.header("content-disposition"),
            Some(format!("attachment; filename=\"ips-{file}-2025-01-01-2025-12-31.csv\"").as_str())
        );
        let lines = csv_lines(&a);
        assert_eq!(lines[0], "report,from,to,group,figure,count,percent,value");
        assert!(lines.len() > 2, "{lines:?}");
        for line in &lines[1..] {
            assert!(
                line.starts_with(&format!("{report},2025-01-01,2025-12-31,")),
                "{line}"
            );
            assert_eq!(line.split(',').count(), 8, "{line}");
        }
        for accept in [None, Some("application/json"), Some("*/*")] {
            let headers: Vec<(&str, &str)> = accept.map(|v| ("accept", v)).into_iter().collect();
            let a = app
                .request(Method::GET, &url, Some(&m.service.token), None, &headers)
                .await
                .expect(200);
            assert!(a.body.is_object(), "{accept:?}: {}", a.body);
            assert!(a.header("content-disposition").is_none());
        }
    }
    app.finish().await;
}

/// Bad, missing and reversed dates are 400 naming the parameter; an unknown questionnaire or
/// version is a 404 problem.
#[tokio::test]
async fn bad_input_is_a_problem_naming_the_parameter() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let token = &m.coordinator.token;
    for report in [
        "outcomes",
        "wellbeing",
        "questionnaires/who5",
        "durations",
        "fidelity",
    ] {
        for (query, field, code) in [
            ("to=2025-12-31", "from", "required"),
            ("from=2025-01-01", "to", "required"),
            ("from=2025-02-30&to=2025-12-31", "from", "invalid_value"),
            ("from=2025-01-01&to=31-12-2025", "to", "invalid_value"),
            (
                "from=2025-01-01&to=2025-12-31T00:00:00Z",
                "to",
                "invalid_value",
            ),
            ("from=2025-12-31&to=2025-01-01", "to", "invalid_value"),
            ("from=1899-12-31&to=2025-01-01", "from", "invalid_value"),
        ] {
            let a = app
                .get(&format!("/api/v1/reports/{report}?{query}"), token)
                .await
                .problem(400);
            assert_eq!(a.fields(), [field], "{report}?{query}: {}", a.body);
            assert_eq!(a.body["errors"][0]["code"], code, "{report}?{query}");
        }
    }
    let window = "from=2025-01-01&to=2025-12-31";
    for q in ["nonsense", "WHO5", "who5x"] {
        app.get(
            &format!("/api/v1/reports/questionnaires/{q}?{window}"),
            token,
        )
        .await
        .problem(404);
    }
    app.get(
        &format!("/api/v1/reports/questionnaires/who5?{window}&version=2"),
        token,
    )
    .await
    .problem(404);
    let a = app
        .get(
            &format!("/api/v1/reports/questionnaires/who5?{window}&version=0"),
            token,
        )
        .await
        .problem(400);
    assert_eq!(a.fields(), ["version"]);
    // The same day at both ends is a window of one day.
    app.get(
        "/api/v1/reports/outcomes?from=2025-01-01&to=2025-01-01",
        token,
    )
    .await
    .expect(200);
    app.finish().await;
}

/// Coordinators and service accounts with `reports:read` read their municipality's reports;
/// consultants, candidates, admins and service accounts without the scope get 403.
#[tokio::test]
async fn who_may_read_reports() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    let admin = app.admin().await;
    let (sa, secret) = ips_api::domain::accounts::create_service_account(
        &app.state.db,
        m.id,
        "Feed only",
        &[
            ips_api::auth::Scope::CandidatesRead,
            ips_api::auth::Scope::EventsRead,
        ],
    )
    .await
    .expect("service account");
    let (no_scope, _, _) =
        identity::client_credentials(&app.state.identity(), &sa.client_id, &secret, None, "t")
            .await
            .expect("token");
    let window = "from=2025-01-01&to=2025-12-31";
    for report in [
        "outcomes",
        "wellbeing",
        "questionnaires/motivation",
        "durations",
        "fidelity",
    ] {
        let url = format!("/api/v1/reports/{report}?{window}");
        for allowed in [&m.coordinator.token, &m.service.token] {
            app.get(&url, allowed).await.expect(200);
        }
        for refused in [
            &m.consultant.token,
            &m.candidate.token,
            &admin.token,
            &no_scope,
        ] {
            app.get(&url, refused).await.problem(403);
        }
        app.call(Method::GET, &url, None, None).await.problem(401);
    }
    app.finish().await;
}

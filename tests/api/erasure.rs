//! Erasure and retention (SPEC §4.11): a coordinator erases a candidate; every report stays the same, no
//! table holds anything of theirs, they cannot log in, the id is unknown; who may erase; bad input; the
//! retention job (exactly once across instances) and the audit purge.
use chrono::{Datelike, Duration, Months, NaiveDate, Utc};
use entity::{audit_entry, ids::MunicipalityId, types::AuditAction, types::AuditResource};
use ips_api::{auth::Role, domain::identity, jobs};
use poem::http::Method;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
    Statement,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::{Municipality, PASSWORD, Person, TestApp, give_login, is_postgres, login};

fn today() -> NaiveDate {
    ips_api::domain::today()
}

fn erase_path(id: Uuid) -> String {
    format!("/api/v1/candidates/{id}/erase")
}

fn why() -> Value {
    json!({"reason": "The candidate asked for erasure (GDPR art. 17)."})
}

/// A candidate created by the coordinator, referred on `referred_on`, with a session.
async fn candidate(app: &TestApp, m: &Municipality, body: Value) -> Person {
    let a = app
        .post("/api/v1/candidates", &m.coordinator.token, body)
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

async fn transition(app: &TestApp, m: &Municipality, id: Uuid, body: Value) {
    app.post(
        &format!("/api/v1/candidates/{id}/enrollment/transitions"),
        &m.coordinator.token,
        body,
    )
    .await
    .expect(200);
}

/// A course referred on `start` and stopped on `end`.
async fn ended(
    app: &TestApp,
    m: &Municipality,
    name: &str,
    start: NaiveDate,
    end: NaiveDate,
) -> Uuid {
    let c = candidate(
        app,
        m,
        json!({
            "given_name": name, "family_name": "Retention", "birth_year": start.year() - 20,
            "target_group": "other", "readiness": "other", "consultant_id": m.consultant.id,
            "referred_on": start,
        }),
    )
    .await;
    transition(app, m, c.id, json!({"to": "active", "effective_on": start})).await;
    transition(app, m, c.id, json!({"to": "stopped", "effective_on": end})).await;
    c.id
}

/// Every report over a wide window, as the coordinator reads it.
async fn reports(app: &TestApp, m: &Municipality) -> Vec<(String, Value)> {
    let from = today() - Months::new(12 * 10);
    let to = today();
    let mut out = Vec::new();
    for r in [
        "outcomes",
        "wellbeing",
        "questionnaires/motivation",
        "questionnaires/who5",
        "durations",
        "fidelity",
        "network-groups",
    ] {
        let body = app
            .get(
                &format!("/api/v1/reports/{r}?from={from}&to={to}"),
                &m.coordinator.token,
            )
            .await
            .expect(200)
            .body;
        out.push((r.to_string(), body));
    }
    out
}

/// The text columns of every table: `(table, column)`.
async fn text_columns(app: &TestApp) -> Vec<(String, String)> {
    let db = app.state.db.read();
    let backend = app.state.db.backend();
    let mut out = Vec::new();
    if is_postgres() {
        let rows = db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT table_name, column_name FROM information_schema.columns \
                 WHERE table_schema = current_schema() \
                   AND data_type IN ('text', 'character varying', 'character', 'json', 'jsonb')",
            ))
            .await
            .expect("columns");
        for r in rows {
            out.push((
                r.try_get::<String>("", "table_name").expect("table"),
                r.try_get::<String>("", "column_name").expect("column"),
            ));
        }
    } else {
        let tables = db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            ))
            .await
            .expect("tables");
        for t in tables {
            let table: String = t.try_get("", "name").expect("name");
            let cols = db
                .query_all_raw(Statement::from_string(
                    backend,
                    format!("PRAGMA table_info(\"{table}\")"),
                ))
                .await
                .expect("table_info");
            for c in cols {
                let ty: String = c.try_get("", "type").expect("type");
                let ty = ty.to_uppercase();
                if ty.contains("TEXT")
                    || ty.contains("CHAR")
                    || ty.contains("CLOB")
                    || ty.is_empty()
                {
                    out.push((table.clone(), c.try_get("", "name").expect("column name")));
                }
            }
        }
    }
    assert!(
        out.iter()
            .any(|(t, c)| t == "candidates" && c == "given_name"),
        "the scan sees the candidates' names: {out:?}"
    );
    out
}

/// Where `needle` occurs in any text column of any table.
async fn occurrences(app: &TestApp, columns: &[(String, String)], needle: &str) -> Vec<String> {
    let db = app.state.db.read();
    let mut found = Vec::new();
    for (table, column) in columns {
        let stmt = Statement::from_sql_and_values(
            app.state.db.backend(),
            format!(
                "SELECT COUNT(*) AS n FROM \"{table}\" WHERE CAST(\"{column}\" AS TEXT) LIKE $1"
            ),
            [format!("%{needle}%").into()],
        );
        let row = db.query_one_raw(stmt).await.expect("scan").expect("a row");
        let n: i64 = row.try_get("", "n").expect("count");
        if n > 0 {
            found.push(format!("{table}.{column}"));
        }
    }
    found
}

#[tokio::test]
async fn erasure_removes_personal_data_and_keeps_every_report() {
    let app = TestApp::start().await;
    let m = app.municipality("601").await;
    let start = today() - Duration::days(200);
    let c = candidate(
        &app,
        &m,
        json!({
            "given_name": "Zephyrina", "family_name": "Quackenbusch", "preferred_name": "Zeffy",
            "birth_year": start.year() - 21, "email": "zephyrina.quack@example.org",
            "phone": "+45 87 65 43 21", "external_ref": "EXTREF-ZQ-4711",
            "target_group": "mental_distress", "readiness": "education_ready",
            "consultant_id": m.consultant.id, "referred_on": start,
        }),
    )
    .await;
    let staff = &m.coordinator.token;
    let base = format!("/api/v1/candidates/{}", c.id);
    transition(
        &app,
        &m,
        c.id,
        json!({"to": "active", "effective_on": start, "reason": "Startede efter samtale Xyloblomst"}),
    )
    .await;

    // Her own login, and a session with a refresh token.
    let username = "zephyrina_login";
    give_login(&app, c.id, username, Role::Candidate, Some(m.id)).await;
    let tokens = login(&app, username, PASSWORD).await.expect(200).body;
    let access = tokens["access_token"].as_str().expect("access").to_string();
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();

    // Goals and steps, hers and proposed by staff.
    app.post(
        "/api/v1/me/goals",
        &access,
        json!({"title": "Job i Xyloblomst Cykler", "description": "Mit hemmelige Xyloblomst-mål",
               "category": "job", "steps": ["Ring til Xyloblomst-Hansen"]}),
    )
    .await
    .expect(201);
    app.post(
        &format!("{base}/goals"),
        staff,
        json!({"title": "Forslag Xyloblomst uddannelse", "category": "education"}),
    )
    .await
    .expect(201);

    // Appointments: one answered with a message, one cancelled with a reason (notifications too).
    let soon = Utc::now() + Duration::days(3);
    let a = app
        .post(
            &format!("{base}/appointments"),
            staff,
            json!({"kind": "employer", "title": "Samtale Xyloblomst om medicin",
                   "starts_at": soon.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                   "location": "Xyloblomstvej 12", "online_url": "https://meet.example.org/xyloblomst",
                   "note_for_candidate": "Husk Xyloblomst-papirer"}),
        )
        .await
        .expect(201)
        .body;
    let a_id = a["id"].as_str().expect("id");
    app.post(
        &format!("/api/v1/me/appointments/{a_id}/response"),
        &access,
        json!({"response": "reschedule_requested", "message": "Kan ikke, Xyloblomst-tandlæge"}),
    )
    .await
    .expect(200);
    let b = app
        .post(
            &format!("{base}/appointments"),
            staff,
            json!({"kind": "treatment", "title": "Psykiater Xyloblomst",
                   "starts_at": (soon + Duration::days(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)}),
        )
        .await
        .expect(201)
        .body;
    app.post(
        &format!(
            "{base}/appointments/{}/cancel",
            b["id"].as_str().expect("id")
        ),
        staff,
        json!({"reason": "Lægen Xyloblomst er syg"}),
    )
    .await
    .expect(200);

    // A request with a reason, acknowledged with a note; a disclosure with a note; a calendar feed.
    let r = app
        .post(
            "/api/v1/me/requests",
            &access,
            json!({"kind": "pause", "reason": "Jeg er træt Xyloblomst"}),
        )
        .await
        .expect(201)
        .body;
    app.post(
        &format!(
            "/api/v1/requests/{}/acknowledge",
            r["id"].as_str().expect("id")
        ),
        staff,
        json!({"note": "Jeg ringer Xyloblomst fredag"}),
    )
    .await
    .expect(200);
    app.call(
        Method::PUT,
        "/api/v1/me/disclosure",
        Some(&access),
        Some(json!({"level": "support_needs", "note": "Må nævne Xyloblomst-angst"})),
    )
    .await
    .expect(200);
    // A network group she joins and suggests a topic for.
    let group = app
        .post(
            "/api/v1/network-groups",
            staff,
            json!({"name": "Torsdagsgruppen", "weekday": 4, "starts_at": "16:00",
                   "duration_minutes": 90, "facilitator_ids": [m.consultant.id]}),
        )
        .await
        .expect(201)
        .body;
    let group_path = format!(
        "/api/v1/me/network-groups/{}",
        group["id"].as_str().expect("group id")
    );
    app.post(&format!("{group_path}/join"), &access, json!({}))
        .await
        .expect(200);
    app.post(
        &format!("{group_path}/topic-suggestions"),
        &access,
        json!({"text": "Snak om Quorbelnisse-angst"}),
    )
    .await
    .expect(201);
    let feed = app
        .call(
            Method::POST,
            "/api/v1/me/calendar-feed",
            Some(&access),
            None,
        )
        .await
        .expect(200)
        .body;
    let feed_path = feed["path"].as_str().expect("feed path").to_string();
    let ics = app
        .call(Method::GET, &feed_path, None, None)
        .await
        .expect(200);
    assert!(String::from_utf8_lossy(&ics.raw).contains("BEGIN:VCALENDAR"));

    // The IPS documents: her career profile and a job support plan in her own words.
    app.request(
        Method::PUT,
        "/api/v1/me/career-profile",
        Some(&access),
        Some(json!({
            "work_wishes": "Noget hos Xyloblomst", "barriers": "Xyloblomst-angst",
            "experience": [{"kind": "job", "title": "Xyloblomst lager", "place": "Xyloblomst A/S",
                            "went_well": "Xyloblomst-kollegerne"}],
        })),
        &[("if-match", "\"0\"")],
    )
    .await
    .expect(200);
    let plan = app
        .post(
            &format!("{base}/job-support-plans"),
            &m.consultant.token,
            json!({
                "placement": {"kind": "job", "workplace": "Xyloblomst Cykler", "role": "Xyloblomst-lager",
                              "starts_on": today()},
                "contacts": [{"role": "employer", "name": "Xyloblomst-Hansen",
                              "email": "chef@xyloblomst.example"}],
                "supports": [{"what": "Xyloblomst-snak", "who": "consultant"}],
                "check_in_every_days": 14
            }),
        )
        .await
        .expect(201)
        .body;
    let mine = format!(
        "/api/v1/me/job-support-plans/{}",
        plan["id"].as_str().expect("plan id")
    );
    app.request(
        Method::POST,
        &format!("{mine}/accept"),
        Some(&access),
        None,
        &[("if-match", "\"1\"")],
    )
    .await
    .expect(200);
    app.request(
        Method::PATCH,
        &mine,
        Some(&access),
        Some(json!({"early_signs": "Jeg undgår Xyloblomst", "what_helps": "Xyloblomst-pauser"})),
        &[("if-match", "\"2\"")],
    )
    .await
    .expect(200);

    // Questionnaires: two WHO-5 answers and a motivation answer.
    let who5 = |v: i64| {
        let answers: Vec<Value> = ["cheerful", "calm", "active", "rested", "interested"]
            .iter()
            .map(|i| json!({"item": i, "value": v}))
            .collect();
        json!({"questionnaire": "who5", "version": 1, "answers": answers})
    };
    for v in [1, 4] {
        app.post("/api/v1/me/questionnaire-responses", &access, who5(v))
            .await
            .expect(201);
    }
    app.post(
        "/api/v1/me/questionnaire-responses",
        &access,
        json!({"questionnaire": "motivation", "version": 1, "answers": [
            {"item": "positive_change", "value": 2}, {"item": "ready_to_try", "value": 3},
            {"item": "own_influence", "value": 1}]}),
    )
    .await
    .expect(201);
    assert!(
        app.get("/api/v1/me/notifications", &access)
            .await
            .expect(200)
            .body["items"]
            .as_array()
            .is_some_and(|n| !n.is_empty()),
        "she has notifications"
    );
    // The course ends with a job, so every report counts her.
    transition(
        &app,
        &m,
        c.id,
        json!({"to": "completed", "outcome": "job", "reason": "Fik job hos Xyloblomst"}),
    )
    .await;
    app.get(&base, staff).await.expect(200);

    let columns = text_columns(&app).await;
    let needles = [
        "Zephyrina",
        "Quackenbusch",
        "Zeffy",
        "zephyrina.quack@example.org",
        "87 65 43 21",
        "EXTREF-ZQ-4711",
        username,
        "Xyloblomst",
        "chef@xyloblomst.example",
        "Quorbelnisse",
    ];
    for n in needles {
        assert!(
            !occurrences(&app, &columns, n).await.is_empty(),
            "the scan finds {n} before the erasure"
        );
    }
    let before = reports(&app, &m).await;

    app.post(&erase_path(c.id), staff, why()).await.expect(204);

    // 1: every report is the same.
    assert_eq!(reports(&app, &m).await, before);

    // 2: nothing of hers is left in any text column of any table.
    for n in needles {
        let found = occurrences(&app, &columns, n).await;
        assert!(found.is_empty(), "{n} is still in {found:?}");
    }

    // 3: no login, no refresh, no session, no feed; the id is unknown everywhere.
    login(&app, username, PASSWORD).await.problem(401);
    app.call(
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": refresh})),
    )
    .await
    .problem(401);
    assert_eq!(app.get("/api/v1/me", &access).await.status.as_u16(), 401);
    assert_eq!(app.get("/api/v1/me", &c.token).await.status.as_u16(), 401);
    assert_eq!(
        app.call(Method::GET, &feed_path, None, None)
            .await
            .status
            .as_u16(),
        404
    );
    for path in [
        base.clone(),
        format!("{base}/enrollment"),
        format!("{base}/goals"),
        format!("{base}/appointments"),
        format!("/api/v1/audit?candidate_id={}", c.id),
    ] {
        app.get(&path, staff).await.problem(404);
    }
    app.get(&base, &m.service.token).await.problem(404);
    let list = app
        .get("/api/v1/candidates?limit=200", staff)
        .await
        .expect(200)
        .body;
    assert!(
        !list.to_string().contains(&c.id.to_string()),
        "lists leave her out"
    );
    // Erasing again finds nobody.
    app.post(&erase_path(c.id), staff, why()).await.problem(404);

    // 4: one event, with her id and nothing else.
    let events = app
        .get("/api/v1/events?limit=200", &m.service.token)
        .await
        .expect(200)
        .body;
    let erased: Vec<&Value> = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["type"] == "candidate.erased")
        .collect();
    assert_eq!(erased.len(), 1, "{events}");
    assert_eq!(erased[0]["payload"], json!({"candidate_id": c.id}));

    // The audit keeps who erased whom and when.
    let audit = audit_entry::Entity::find()
        .filter(audit_entry::Column::CandidateId.eq(c.id))
        .filter(audit_entry::Column::Action.eq(AuditAction::Erase))
        .all(app.state.db.read())
        .await
        .expect("audit");
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].actor_id, m.coordinator.id);
    assert_eq!(audit[0].actor_role, Role::Coordinator);

    // Others are untouched.
    app.get(&format!("/api/v1/candidates/{}", m.candidate.id), staff)
        .await
        .expect(200);
    app.finish().await;
}

#[tokio::test]
async fn only_the_municipalitys_coordinator_erases() {
    let app = TestApp::start().await;
    let m = app.municipality("602").await;
    let other = app.municipality("603").await;
    let admin = app.admin().await;
    let target = erase_path(m.candidate.id);
    for token in [
        &m.consultant.token,
        &m.service.token,
        &admin.token,
        &m.candidate.token,
    ] {
        app.post(&target, token, why()).await.problem(403);
    }
    app.post(&target, &other.coordinator.token, why())
        .await
        .problem(404);
    app.post(&erase_path(Uuid::now_v7()), &m.coordinator.token, why())
        .await
        .problem(404);
    // Nothing happened: she is still there.
    app.get(
        &format!("/api/v1/candidates/{}", m.candidate.id),
        &m.consultant.token,
    )
    .await
    .expect(200);
    app.post(&target, &m.coordinator.token, why())
        .await
        .expect(204);
    app.finish().await;
}

#[tokio::test]
async fn erasure_needs_a_reason() {
    let app = TestApp::start().await;
    let m = app.municipality("604").await;
    let target = erase_path(m.candidate.id);
    for body in [
        json!({}),
        json!({"reason": ""}),
        json!({"reason": "   "}),
        json!({"reason": "x".repeat(501)}),
        json!({"reason": "bell \u{7} here"}),
        json!({"reason": 5}),
    ] {
        let a = app
            .post(&target, &m.coordinator.token, body.clone())
            .await
            .problem(400);
        assert_eq!(a.fields(), ["reason"], "{body}: {}", a.body);
    }
    app.call(Method::POST, &target, Some(&m.coordinator.token), None)
        .await
        .problem(400);
    app.post(
        &target,
        &m.coordinator.token,
        json!({"reason": "x".repeat(500)}),
    )
    .await
    .expect(204);
    app.finish().await;
}

#[tokio::test]
async fn the_retention_period_erases_exactly_once_across_instances() {
    let app = TestApp::start().await;
    let m = app.municipality("605").await;
    let t = today();
    let old = ended(
        &app,
        &m,
        "Gammel",
        t - Months::new(12 * 7),
        t - Months::new(12 * 6),
    )
    .await;
    let recent = ended(
        &app,
        &m,
        "Nyere",
        t - Months::new(12 * 5),
        t - Months::new(12 * 4),
    )
    .await;
    // Backdated in the database too: the course's own row says when it ended.
    let stmt = Statement::from_sql_and_values(
        app.state.db.backend(),
        "UPDATE enrollments SET ended_on = $1 WHERE candidate_id = $2",
        [(t - Months::new(12 * 6)).into(), old.into()],
    );
    app.state
        .db
        .write()
        .execute_raw(stmt)
        .await
        .expect("backdate");

    let second = app.second_instance(|_| {}).await;
    tokio::join!(jobs::run_once(&app.state), jobs::run_once(&second));
    jobs::run_once(&second).await;

    let staff = &m.coordinator.token;
    app.get(&format!("/api/v1/candidates/{old}"), staff)
        .await
        .problem(404);
    app.get(&format!("/api/v1/candidates/{recent}"), staff)
        .await
        .expect(200);
    // Open courses stay, whatever their age.
    app.get(&format!("/api/v1/candidates/{}", m.candidate.id), staff)
        .await
        .expect(200);
    let events = app
        .get("/api/v1/events?limit=200", &m.service.token)
        .await
        .expect(200)
        .body;
    let erased: Vec<&Value> = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["type"] == "candidate.erased")
        .collect();
    assert_eq!(erased.len(), 1, "exactly one erasure: {events}");
    assert_eq!(erased[0]["payload"], json!({"candidate_id": old}));
    let row = entity::candidate::Entity::find_by_id(entity::ids::CandidateId(old))
        .one(app.state.db.read())
        .await
        .expect("read")
        .expect("the anonymous row stays");
    assert!(row.erased_at.is_some());
    assert_eq!(row.given_name, "");
    assert!(
        row.erasure_reason
            .as_deref()
            .is_some_and(|r| r.starts_with("retention")),
        "{:?}",
        row.erasure_reason
    );
    second.db.clone().close().await;
    app.finish().await;
}

async fn audit_at(app: &TestApp, municipality_id: MunicipalityId, months_ago: u32) -> Uuid {
    let id = Uuid::now_v7();
    audit_entry::ActiveModel {
        id: Set(id),
        municipality_id: Set(Some(municipality_id)),
        candidate_id: Set(None),
        actor_id: Set(Uuid::now_v7()),
        actor_role: Set(Role::Coordinator),
        action: Set(AuditAction::Read),
        resource: Set(AuditResource::Candidate),
        resource_id: Set(None),
        request_id: Set(None),
        at: Set(Utc::now() - Months::new(months_ago)),
    }
    .insert(app.state.db.write())
    .await
    .expect("audit entry");
    id
}

#[tokio::test]
async fn old_audit_entries_are_purged_after_the_retention_months() {
    let app = TestApp::start().await;
    let m = app.municipality("606").await;
    let admin = app.admin().await;
    let path = format!("/api/v1/municipalities/{}", m.id);
    let current = app.get(&path, &admin.token).await.expect(200).body;
    assert_eq!(current["settings"]["audit_retention_months"], 24);
    assert_eq!(current["settings"]["retention_years"], 5);
    let settings = |months: Value, years: Value| {
        json!({"settings": {"min_age": 15, "max_age": 29, "caseload_hard_limit": null,
                            "retention_years": years, "audit_retention_months": months}})
    };
    for (months, years, field) in [
        (json!(5), json!(5), "settings.audit_retention_months"),
        (json!(121), json!(5), "settings.audit_retention_months"),
        (json!(12), json!(0), "settings.retention_years"),
        (json!(12), json!(51), "settings.retention_years"),
    ] {
        let a = app
            .patch(&path, &admin.token, settings(months, years))
            .await
            .problem(400);
        assert_eq!(a.fields(), [field], "{}", a.body);
    }
    let changed = app
        .patch(&path, &admin.token, settings(json!(12), json!(5)))
        .await
        .expect(200)
        .body;
    assert_eq!(changed["settings"]["audit_retention_months"], 12);

    let other = app.municipality("607").await;
    let gone = audit_at(&app, m.id, 13).await;
    let kept = audit_at(&app, m.id, 11).await;
    // Another municipality keeps the default 24 months.
    let kept_elsewhere = audit_at(&app, other.id, 13).await;
    let gone_elsewhere = audit_at(&app, other.id, 25).await;
    jobs::run_once(&app.state).await;
    let db = app.state.db.read();
    let left = |id: Uuid| audit_entry::Entity::find_by_id(id).count(db);
    assert_eq!(left(gone).await.expect("count"), 0);
    assert_eq!(left(kept).await.expect("count"), 1);
    assert_eq!(left(kept_elsewhere).await.expect("count"), 1);
    assert_eq!(left(gone_elsewhere).await.expect("count"), 0);
    app.finish().await;
}

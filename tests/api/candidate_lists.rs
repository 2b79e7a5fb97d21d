//! Candidate lists: what each caller's scope lists, the filters, and cursor paging.
use ips_api::{
    auth::CandidateScope,
    domain::{
        candidates::{self, Filter},
        pagination::PageRequest,
    },
};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};

use crate::common::{
    CANDIDATES, TestApp, assert_fields, candidate_path, create, is_postgres, new_candidate, to,
    transition, with,
};

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
    // An empty cursor is the first page, as the published pattern says.
    let first = app
        .get(
            &format!("{CANDIDATES}?limit=2&cursor="),
            &m.coordinator.token,
        )
        .await
        .expect(200);
    let first: Vec<&str> = first.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["id"].as_str().expect("id"))
        .collect();
    assert_eq!(first, walked[..2]);
    app.finish().await;
}

/// A page's statement has its limit written into it (`PageRequest::read`), so that PostgreSQL plans
/// it once per connection: from the sixth execution on it runs on the generic plan instead of being
/// planned again each time. With the limit bound as a parameter, every execution was planned afresh.
#[tokio::test]
async fn a_page_is_planned_once_per_connection_on_postgresql() {
    let app = TestApp::start().await;
    let m = app.municipality("101").await;
    if is_postgres() {
        // Enough candidates that a plan for a tenth of them costs more than planning afresh.
        for stmt in [
            "INSERT INTO candidates (id, municipality_id, given_name, family_name, birth_year, \
               language, target_group, readiness, status, version, created_at, updated_at) \
             SELECT gen_random_uuid(), municipality_id, 'Ung', 'Jensen', 2005, 'da', \
               'mental_distress', 'activity_ready', 'referred', 1, now(), now() \
             FROM candidates, generate_series(1, 1500) LIMIT 3000",
            "ANALYZE candidates",
        ] {
            app.state
                .db
                .write()
                .execute_unprepared(stmt)
                .await
                .expect("more candidates");
        }
    }
    // A pool of one connection: the prepared statements the query below reads are that connection's.
    let one = app.second_instance(|c| c.db_max_connections = 1).await;
    let scope = CandidateScope::Municipality {
        municipality_id: m.id,
    };
    let page = PageRequest::parse(Some(1), None).expect("a page");
    for _ in 0..8 {
        let (items, next) = candidates::list(&one.db, &scope, Filter::default(), page)
            .await
            .expect("a page");
        assert_eq!(items.len(), 1);
        assert!(next.is_some());
    }
    if is_postgres() {
        let rows = one
            .db
            .read()
            .query_all_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements \
                 WHERE statement LIKE '%FROM \"candidates\"%LIMIT%' \
                   AND statement NOT LIKE '%pg_prepared_statements%'",
            ))
            .await
            .expect("the prepared statements");
        assert_eq!(rows.len(), 1, "one statement for the page");
        let plans = |i| rows[0].try_get_by_index::<i64>(i).expect("a count");
        let (generic, custom) = (plans(0), plans(1));
        assert_eq!(generic + custom, 8);
        assert!(generic >= 3, "{generic} generic and {custom} custom plans");
    }
    one.db.clone().close().await;
    app.finish().await;
}

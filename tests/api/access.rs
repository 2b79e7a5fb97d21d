//! Access and input rules of every operation, driven by the generated spec so that a new operation is
//! covered without editing these tests: 401 without a token, 403 for a role that can never use the
//! route, 404 for what is out of reach (the same 404 as for nothing at all), and a 400 naming the
//! field for every kind of bad input (SPEC §4.1, §4.3).
use std::collections::BTreeSet;

use ips_api::{
    auth::Scope,
    domain::{accounts, identity},
};
use poem::http::Method;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::common::{Answer, Municipality, Person, TestApp, basic, today};

/// A kind of caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Candidate,
    Consultant,
    Coordinator,
    Admin,
    Service,
}
use Who::*;

const ROLES: [Who; 5] = [Candidate, Consultant, Coordinator, Admin, Service];

/// No bearer token at all (the operation authenticates otherwise, or not at all).
const PUBLIC: &[Who] = &[];
const EVERYONE: &[Who] = &[Candidate, Consultant, Coordinator, Admin, Service];
/// The candidate's own data (`/me/…`).
const SELF: &[Who] = &[Candidate];
const ADMIN: &[Who] = &[Admin];
/// Staff, service accounts: admin (any municipality) or coordinator (own).
const MANAGERS: &[Who] = &[Admin, Coordinator];
/// Candidates' identity and course: consultant (caseload), coordinator, service (by scope).
const CANDIDATES: &[Who] = &[Consultant, Coordinator, Service];
/// Staff only (health data, free text; never a service account): consultant (caseload) or coordinator.
const STAFF: &[Who] = &[Consultant, Coordinator];
/// Municipality-wide feeds and reports: coordinator, service (by scope).
const MUNICIPALITY_WIDE: &[Who] = &[Coordinator, Service];
/// Coordinators only.
const COORDINATOR: &[Who] = &[Coordinator];

const READ: Option<&str> = Some("candidates:read");
const WRITE: Option<&str> = Some("candidates:write");
const REPORTS: Option<&str> = Some("reports:read");

/// Who may use each operation (SPEC §4.2–4.3 and the handlers), and the scope a service account
/// needs for it. A spec operation missing here fails `roles_that_can_never_use_a_route_get_403`.
const ACCESS: &[(&str, &[Who], Option<&str>)] = &[
    ("login", PUBLIC, None),
    ("refresh", PUBLIC, None),
    ("logout", PUBLIC, None),
    ("acceptInvitation", PUBLIC, None),
    ("clientCredentialsToken", PUBLIC, None),
    ("getMe", EVERYONE, None),
    ("updateMe", SELF, None),
    ("listMunicipalities", ADMIN, None),
    ("createMunicipality", ADMIN, None),
    ("getMunicipality", ADMIN, None),
    ("updateMunicipality", ADMIN, None),
    ("listStaff", MANAGERS, None),
    ("createStaff", MANAGERS, None),
    ("getStaff", MANAGERS, None),
    ("updateStaff", MANAGERS, None),
    ("createStaffInvitation", MANAGERS, None),
    ("listServiceAccounts", MANAGERS, None),
    ("createServiceAccount", MANAGERS, None),
    ("deleteServiceAccount", MANAGERS, None),
    ("listCandidates", CANDIDATES, READ),
    ("createCandidate", CANDIDATES, WRITE),
    ("getCandidate", CANDIDATES, READ),
    ("updateCandidate", CANDIDATES, WRITE),
    ("reinviteCandidate", STAFF, None),
    ("eraseCandidate", COORDINATOR, None),
    ("getEnrollment", CANDIDATES, READ),
    ("updateEnrollment", CANDIDATES, WRITE),
    ("transitionEnrollment", CANDIDATES, WRITE),
    ("listEnrollments", CANDIDATES, READ),
    ("createEnrollment", CANDIDATES, WRITE),
    ("listEvents", MUNICIPALITY_WIDE, Some("events:read")),
    ("listWebhooks", MUNICIPALITY_WIDE, Some("events:read")),
    ("createWebhook", MUNICIPALITY_WIDE, Some("events:read")),
    ("deleteWebhook", MUNICIPALITY_WIDE, Some("events:read")),
    (
        "listWebhookDeliveries",
        MUNICIPALITY_WIDE,
        Some("events:read"),
    ),
    ("getOutcomesReport", MUNICIPALITY_WIDE, REPORTS),
    ("getWellbeingReport", MUNICIPALITY_WIDE, REPORTS),
    ("getQuestionnaireReport", MUNICIPALITY_WIDE, REPORTS),
    ("getDurationsReport", MUNICIPALITY_WIDE, REPORTS),
    ("getFidelityReport", MUNICIPALITY_WIDE, REPORTS),
    ("getMyPlan", SELF, None),
    ("listMyGoals", SELF, None),
    ("createMyGoal", SELF, None),
    ("getMyGoal", SELF, None),
    ("updateMyGoal", SELF, None),
    ("deleteMyGoal", SELF, None),
    ("acceptMyGoal", SELF, None),
    ("addMyGoalStep", SELF, None),
    ("updateMyGoalStep", SELF, None),
    ("deleteMyGoalStep", SELF, None),
    ("listCandidateGoals", STAFF, None),
    ("proposeCandidateGoal", STAFF, None),
    ("getCandidateGoal", STAFF, None),
    ("updateCandidateGoal", STAFF, None),
    ("deleteCandidateGoal", STAFF, None),
    ("addCandidateGoalStep", STAFF, None),
    ("updateCandidateGoalStep", STAFF, None),
    ("deleteCandidateGoalStep", STAFF, None),
    ("getMyCareerProfile", SELF, None),
    ("putMyCareerProfile", SELF, None),
    ("listMyCareerProfileHistory", SELF, None),
    ("getCandidateCareerProfile", STAFF, None),
    ("putCandidateCareerProfile", STAFF, None),
    ("listCandidateCareerProfileHistory", STAFF, None),
    ("listQuestionnaires", PUBLIC, None),
    ("getQuestionnaire", PUBLIC, None),
    ("listCandidateQuestionnaireAssignments", STAFF, None),
    ("createCandidateQuestionnaireAssignment", STAFF, None),
    ("getCandidateQuestionnaireAssignment", STAFF, None),
    ("cancelCandidateQuestionnaireAssignment", STAFF, None),
    ("listMyDueQuestionnaires", SELF, None),
    ("createMyQuestionnaireResponse", SELF, None),
    ("listMyQuestionnaireResponses", SELF, None),
    ("listCandidateQuestionnaireResponses", STAFF, None),
    ("createMyRequest", SELF, None),
    ("listMyRequests", SELF, None),
    ("getMyRequest", SELF, None),
    ("withdrawMyRequest", SELF, None),
    ("resumeMyCourse", SELF, None),
    ("getInbox", STAFF, None),
    ("acknowledgeRequest", STAFF, None),
    ("carryOutRequest", STAFF, None),
    ("listCandidateRequests", STAFF, None),
    ("getMyDisclosure", SELF, None),
    ("setMyDisclosure", SELF, None),
    ("getCandidateDisclosure", STAFF, None),
    ("listMyNotifications", SELF, None),
    ("readMyNotification", SELF, None),
    ("readAllMyNotifications", SELF, None),
    ("exportMyData", SELF, None),
    ("getMyAccessLog", SELF, None),
    ("getAudit", COORDINATOR, None),
    ("listMyAppointments", SELF, None),
    ("answerMyAppointment", SELF, None),
    ("getMyCalendar", SELF, None),
    ("getMyCalendarFeed", SELF, None),
    ("rotateMyCalendarFeed", SELF, None),
    ("updateMyCalendarFeed", SELF, None),
    ("deleteMyCalendarFeed", SELF, None),
    ("getCalendarFeed", PUBLIC, None),
    ("listCandidateAppointments", STAFF, None),
    ("createCandidateAppointment", STAFF, None),
    ("getCandidateAppointment", STAFF, None),
    ("updateCandidateAppointment", STAFF, None),
    ("cancelCandidateAppointment", STAFF, None),
    ("closeCandidateAppointment", STAFF, None),
    ("listCandidateJobSupportPlans", STAFF, None),
    ("proposeCandidateJobSupportPlan", STAFF, None),
    ("getCandidateJobSupportPlan", STAFF, None),
    ("updateCandidateJobSupportPlan", STAFF, None),
    ("listCandidateJobSupportPlanHistory", STAFF, None),
    ("listMyJobSupportPlans", SELF, None),
    ("getMyJobSupportPlan", SELF, None),
    ("updateMyJobSupportPlan", SELF, None),
    ("acceptMyJobSupportPlan", SELF, None),
    ("listMyJobSupportPlanHistory", SELF, None),
    ("listNetworkGroups", STAFF, None),
    ("createNetworkGroup", COORDINATOR, None),
    ("getNetworkGroup", STAFF, None),
    ("updateNetworkGroup", COORDINATOR, None),
    ("listNetworkGroupSessions", STAFF, None),
    ("updateNetworkGroupSession", STAFF, None),
    ("putNetworkGroupSessionAttendance", STAFF, None),
    ("inviteToNetworkGroup", STAFF, None),
    ("listMyNetworkGroups", SELF, None),
    ("joinMyNetworkGroup", SELF, None),
    ("leaveMyNetworkGroup", SELF, None),
    ("suggestMyNetworkGroupTopic", SELF, None),
    ("getNetworkGroupsReport", MUNICIPALITY_WIDE, REPORTS),
];

fn access(op: &str) -> Option<(&'static [Who], Option<&'static str>)> {
    ACCESS
        .iter()
        .find(|(id, _, _)| *id == op)
        .map(|(_, who, scope)| (*who, *scope))
}

/// The caller used to reach an operation: the broadest role allowed, `None` for public operations.
fn caller_for(op: &str) -> Option<Who> {
    let (who, _) = access(op).unwrap_or((PUBLIC, None));
    [Coordinator, Consultant, Service, Candidate, Admin]
        .into_iter()
        .find(|w| who.contains(w))
}

/// The person of a kind in a municipality (the admin is installation-wide).
fn person<'a>(m: &'a Municipality, admin: &'a Person, who: Who) -> &'a Person {
    match who {
        Candidate => &m.candidate,
        Consultant => &m.consultant,
        Coordinator => &m.coordinator,
        Admin => admin,
        Service => &m.service,
    }
}

/// One operation of the spec.
struct Op {
    id: String,
    method: Method,
    path: String,
    def: Value,
}

impl Op {
    fn bearer(&self) -> bool {
        self.def["security"]
            .as_array()
            .is_some_and(|a| a.iter().any(|s| s.get("BearerAuth").is_some()))
    }

    fn has_body(&self) -> bool {
        self.def.get("requestBody").is_some()
    }

    fn json_schema(&self) -> Option<&Value> {
        self.def["requestBody"]["content"]
            .get("application/json")
            .map(|c| &c["schema"])
    }

    fn params(&self, location: &str) -> Vec<&Value> {
        self.def["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == location)
            .collect()
    }

    fn name(&self) -> String {
        format!("{} {} ({})", self.method, self.path, self.id)
    }

    /// The path with each `{param}` replaced; `f` gets the segment before it and its name.
    fn fill(&self, f: impl Fn(&str, &str) -> String) -> String {
        let mut prev = "";
        let mut out = Vec::new();
        for seg in self.path.split('/') {
            match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(param) => out.push(f(prev, param)),
                None => out.push(seg.to_string()),
            }
            prev = seg;
        }
        out.join("/")
    }

    /// The path with ids from `m`'s world: its candidate, consultant, service account, itself.
    fn path_in(&self, m: &Municipality) -> String {
        self.fill(|prev, param| id_in(m, prev, param))
    }

    /// `path` with a valid value for each required query parameter but `except` (e.g. a report's
    /// `from` and `to`), so that a call gets past parsing to the checks a test is about.
    fn with_required_query(&self, path: &str, schemas: &Schemas, except: Option<&str>) -> String {
        let mut query = Vec::new();
        for p in self.params("query") {
            let name = p["name"].as_str().unwrap_or_default();
            if p["required"] != true || Some(name) == except {
                continue;
            }
            let s = schemas.resolve(&p["schema"]);
            let value = match (s["type"].as_str(), s["format"].as_str()) {
                _ if s["enum"].is_array() => s["enum"][0].as_str().unwrap_or_default().to_string(),
                (_, Some("date" | "naive-date")) => chrono::Utc::now().date_naive().to_string(),
                (_, Some("uuid")) => Uuid::now_v7().to_string(),
                (Some("integer" | "number"), _) => s["minimum"].as_f64().unwrap_or(1.0).to_string(),
                _ => "x".to_string(),
            };
            query.push(format!("{name}={value}"));
        }
        match query.is_empty() {
            true => path.to_string(),
            false => format!("{path}?{}", query.join("&")),
        }
    }
}

fn id_in(m: &Municipality, prev: &str, param: &str) -> String {
    if param == "code" {
        return "ABCD-EFGH-JKLM-NPQR".into();
    }
    match prev {
        "candidates" => m.candidate.id,
        "staff" => m.consultant.id,
        "service-accounts" => m.service.id,
        "municipalities" => m.id.0,
        _ => Uuid::now_v7(),
    }
    .to_string()
}

fn spec() -> Value {
    serde_json::from_str(&ips_api::spec_json()).expect("the spec is JSON")
}

fn operations(spec: &Value) -> Vec<Op> {
    let mut ops = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, def) in item.as_object().expect("path item") {
            let Ok(method) = Method::from_bytes(method.to_uppercase().as_bytes()) else {
                continue;
            };
            ops.push(Op {
                id: def["operationId"].as_str().unwrap_or_default().to_string(),
                method,
                path: path.clone(),
                def: def.clone(),
            });
        }
    }
    assert!(ops.len() > 20, "the spec lists the operations");
    // A valid call of these takes the municipality's candidate away from every later call: last.
    ops.sort_by_key(|op| DESTRUCTIVE.contains(&op.id.as_str()));
    ops
}

/// Operations whose valid call leaves nothing for the others to reach (erasing the candidate).
const DESTRUCTIVE: &[&str] = &["eraseCandidate"];

/// What generated values refer to.
struct Ctx {
    consultant: Uuid,
    municipality: Uuid,
}

impl Ctx {
    fn of(m: &Municipality) -> Self {
        Self {
            consultant: m.consultant.id,
            municipality: m.id.0,
        }
    }
}

/// A property of a request body, with its JSON path.
struct Prop<'a> {
    path: Vec<String>,
    schema: &'a Value,
    required: bool,
}

impl Prop<'_> {
    fn field(&self) -> String {
        self.path.join(".")
    }
}

/// The spec's `components.schemas`, to resolve `$ref`s and generate bodies.
struct Schemas<'a>(&'a Value);

impl<'a> Schemas<'a> {
    fn new(spec: &'a Value) -> Self {
        Self(&spec["components"]["schemas"])
    }

    /// Follows `$ref`s and the `anyOf: [{$ref}, {type: "null"}]` of a nullable reference to the real
    /// schema.
    fn resolve(&self, mut s: &'a Value) -> &'a Value {
        for _ in 0..10 {
            if let Some(r) = s["$ref"].as_str() {
                s = &self.0[r.trim_start_matches("#/components/schemas/")];
                continue;
            }
            if s.get("type").is_none()
                && s.get("properties").is_none()
                && s.get("enum").is_none()
                && let Some(first) = s["anyOf"]
                    .as_array()
                    .and_then(|a| a.iter().find(|x| x["type"] != "null"))
            {
                s = first;
                continue;
            }
            break;
        }
        s
    }

    /// A valid value; with `full` every optional property too, otherwise only the required ones.
    fn valid(&self, raw: &'a Value, name: &str, ctx: &Ctx, full: bool) -> Value {
        let s = self.resolve(raw);
        // A questionnaire response answers every item (of WHO-5, the first questionnaire of the enum).
        if name == "answers" {
            let items = ["cheerful", "calm", "active", "rested", "interested"];
            return Value::Array(items.map(|i| json!({"item": i, "value": 3})).to_vec());
        }
        if let Some(first) = s["enum"].as_array().and_then(|e| e.first()) {
            return first.clone();
        }
        match ty(s) {
            "object" => {
                let required = required_of(s);
                let mut obj = Map::new();
                for (k, p) in s["properties"].as_object().into_iter().flatten() {
                    if full || required.contains(k.as_str()) {
                        obj.insert(k.clone(), self.valid(p, k, ctx, full));
                    }
                }
                Value::Object(obj)
            }
            "array" => {
                let n = s["minItems"].as_u64().unwrap_or(1).max(1);
                Value::Array(
                    (0..n)
                        .map(|_| self.valid(&s["items"], name, ctx, full))
                        .collect(),
                )
            }
            "string" => {
                let min = s["minLength"].as_u64().unwrap_or(1).max(1) as usize;
                let text = match (name, s["format"].as_str(), s["pattern"].as_str()) {
                    ("email", _, _) => "someone@example.org".to_string(),
                    ("phone", _, _) => "+45 1234 5678".to_string(),
                    ("consultant_id" | "facilitator_ids", _, _) => ctx.consultant.to_string(),
                    ("municipality_id", _, _) => ctx.municipality.to_string(),
                    // A webhook target: a public address (no connection is made when subscribing),
                    // and every event type.
                    ("url", _, _) => "https://1.1.1.1/ips-webhook".to_string(),
                    ("events", _, _) => "*".to_string(),
                    (_, Some("uuid"), _) => Uuid::now_v7().to_string(),
                    (_, Some("date"), _) => chrono::Utc::now().date_naive().to_string(),
                    (_, Some("date-time"), _) => chrono::Utc::now().to_rfc3339(),
                    (_, _, Some("^[0-9]{3}$")) => "999".to_string(),
                    // A network group's Copenhagen start time.
                    (_, _, Some("^([01][0-9]|2[0-3]):[0-5][0-9]$")) => "16:00".to_string(),
                    _ => "x".repeat(min),
                };
                Value::String(text)
            }
            "integer" | "number" if name == "birth_year" => json!(2005),
            "integer" | "number" => json!(s["minimum"].as_f64().unwrap_or(0.0) as i64),
            "boolean" => json!(true),
            _ => json!({}),
        }
    }

    /// Every property of an object schema, nested objects' properties included.
    fn props(&self, raw: &'a Value, prefix: &[String], out: &mut Vec<Prop<'a>>) {
        let s = self.resolve(raw);
        let required = required_of(s);
        for (k, p) in s["properties"].as_object().into_iter().flatten() {
            let schema = self.resolve(p);
            let mut path = prefix.to_vec();
            path.push(k.clone());
            out.push(Prop {
                path: path.clone(),
                schema,
                required: required.contains(k.as_str()),
            });
            if ty(schema) == "object" && schema["properties"].is_object() {
                self.props(schema, &path, out);
            }
        }
    }

    /// Sets (or with `None` removes) the value at `path`, creating valid parents where missing.
    fn set_at(
        &self,
        body: &mut Value,
        root: &'a Value,
        path: &[String],
        value: Option<Value>,
        ctx: &Ctx,
    ) {
        let (last, parents) = path.split_last().expect("a path");
        let mut cur = body;
        let mut schema = self.resolve(root);
        for seg in parents {
            let child = self.resolve(&schema["properties"][seg]);
            if !cur[seg].is_object() {
                cur[seg] = self.valid(child, seg, ctx, false);
            }
            cur = &mut cur[seg];
            schema = child;
        }
        let obj = cur.as_object_mut().expect("an object");
        match value {
            Some(v) => {
                obj.insert(last.clone(), v);
            }
            None => {
                obj.remove(last);
            }
        }
    }
}

/// A schema's type, without the `"null"` of a nullable one (`type: ["string", "null"]`).
fn ty(s: &Value) -> &str {
    match &s["type"] {
        Value::String(t) => t,
        Value::Array(types) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or_default(),
        _ => "",
    }
}

fn required_of(s: &Value) -> BTreeSet<&str> {
    s["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

fn is_problem(a: &Answer, status: u16) -> bool {
    a.status.as_u16() == status
        && a.header("content-type") == Some("application/problem+json")
        && a.body["status"] == status
        && a.body["type"].is_string()
        && a.body["title"].is_string()
        && a.body["detail"].is_string()
}

fn show(a: &Answer) -> String {
    format!(
        "{} {:?} {}",
        a.status.as_u16(),
        a.header("content-type"),
        if a.body.is_null() {
            String::from_utf8_lossy(&a.raw).chars().take(300).collect()
        } else {
            a.body.to_string()
        }
    )
}

/// Records a failure unless `a` is a problem with `status`.
fn want_problem(failures: &mut Vec<String>, what: &str, a: &Answer, status: u16) {
    if !is_problem(a, status) {
        failures.push(format!("{what}: want a {status} problem, got {}", show(a)));
    }
}

/// Records a failure unless `a` is a 400 naming `field` (with `code`, when given).
fn want_field(failures: &mut Vec<String>, what: &str, a: &Answer, field: &str, code: Option<&str>) {
    let named = a.body["errors"].as_array().is_some_and(|errors| {
        errors
            .iter()
            .any(|e| e["field"] == field && code.is_none_or(|c| e["code"] == c))
    });
    if !is_problem(a, 400) || !named {
        failures.push(format!(
            "{what}: want 400 naming `{field}`{}, got {}",
            code.map(|c| format!(" ({c})")).unwrap_or_default(),
            show(a)
        ));
    }
}

/// Records a failure unless the operation documents `a`'s status (the spec lists each operation's
/// real statuses, and only those).
fn want_declared(failures: &mut Vec<String>, op: &Op, what: &str, a: &Answer) {
    let status = a.status.as_u16().to_string();
    if op.def["responses"].get(&status).is_none() {
        failures.push(format!(
            "{what}: {status} is not a documented status of {}",
            op.name()
        ));
    }
}

#[track_caller]
fn assert_none(failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A problem body without what differs per request.
fn comparable(a: &Answer) -> Value {
    let mut b = a.body.clone();
    if let Some(o) = b.as_object_mut() {
        o.remove("request_id");
    }
    b
}

/// Sends a request with any headers and raw body.
async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    headers: &[(&str, String)],
    body: Option<Vec<u8>>,
) -> Answer {
    let mut req = app.cli.request(method, path);
    for (k, v) in headers {
        req = req.header(*k, v.as_str());
    }
    if let Some(b) = body {
        req = req.body(b);
    }
    let resp = req.send().await.0;
    let status = resp.status();
    let headers = resp.headers().clone();
    let raw = resp.into_body().into_vec().await.unwrap_or_default();
    let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
        raw,
    }
}

/// A service account of `m` with every scope except `missing`, and its token.
async fn service_without(app: &TestApp, m: &Municipality, missing: &str) -> String {
    let scopes: Vec<Scope> = [
        Scope::CandidatesRead,
        Scope::CandidatesWrite,
        Scope::EventsRead,
        Scope::ReportsRead,
    ]
    .into_iter()
    .filter(|s| s.as_str() != missing)
    .collect();
    let (sa, secret) = accounts::create_service_account(&app.state.db, m.id, "Partial", &scopes)
        .await
        .expect("service account");
    let (token, _, _) =
        identity::client_credentials(&app.state.identity(), &sa.client_id, &secret, None, "t")
            .await
            .expect("service token");
    token
}

#[tokio::test]
async fn every_operation_requires_a_token() {
    let app = TestApp::start().await;
    let spec = spec();
    let mut failures = Vec::new();
    let mut checked = 0;
    for op in operations(&spec) {
        if !op.bearer() {
            continue;
        }
        checked += 1;
        let path = op.fill(|_, param| {
            if param == "code" {
                "ABCD-EFGH-JKLM-NPQR".into()
            } else {
                Uuid::now_v7().to_string()
            }
        });
        for token in [None, Some("garbage"), Some("eyJhbGciOiJub25lIn0.e30.")] {
            let body = op.has_body().then(|| json!({}));
            let a = app.call(op.method.clone(), &path, token, body).await;
            let what = format!("{} with token {token:?}", op.name());
            want_problem(&mut failures, &what, &a, 401);
            want_declared(&mut failures, &op, &what, &a);
            if !a
                .header("www-authenticate")
                .is_some_and(|v| v.starts_with("Bearer"))
            {
                failures.push(format!("{what}: no `WWW-Authenticate: Bearer`"));
            }
        }
    }
    assert!(checked > 15, "only {checked} operations need a token?");
    assert_none(failures);
    app.finish().await;
}

#[tokio::test]
async fn roles_that_can_never_use_a_route_get_403() {
    let app = TestApp::start().await;
    let spec = spec();
    let schemas = Schemas::new(&spec);
    let m = app.municipality("101").await;
    let admin = app.admin().await;
    let ctx = Ctx::of(&m);
    let ops = operations(&spec);

    let missing: Vec<String> = ops
        .iter()
        .filter(|op| access(&op.id).is_none())
        .map(Op::name)
        .collect();
    assert!(
        missing.is_empty(),
        "add these operations to ACCESS in tests/api/access.rs: {missing:#?}"
    );
    let mut failures = Vec::new();
    for op in &ops {
        let (allowed, scope) = access(&op.id).expect("listed");
        if allowed.is_empty() == op.bearer() {
            failures.push(format!(
                "{}: ACCESS says {}, the spec {} a bearer token",
                op.name(),
                if allowed.is_empty() {
                    "public"
                } else {
                    "bearer"
                },
                if op.bearer() {
                    "requires"
                } else {
                    "does not require"
                }
            ));
        }
        let path = op.with_required_query(&op.path_in(&m), &schemas, None);
        let body = op.json_schema().map(|s| schemas.valid(s, "", &ctx, false));
        if op.bearer() {
            for who in ROLES.into_iter().filter(|w| !allowed.contains(w)) {
                let token = &person(&m, &admin, who).token;
                let a = app
                    .call(op.method.clone(), &path, Some(token), body.clone())
                    .await;
                let what = format!("{} as {who:?}", op.name());
                want_problem(&mut failures, &what, &a, 403);
                want_declared(&mut failures, op, &what, &a);
            }
        }
        if let Some(scope) = scope {
            let token = service_without(&app, &m, scope).await;
            let a = app
                .call(op.method.clone(), &path, Some(&token), body.clone())
                .await;
            let what = format!("{} as a service account without {scope}", op.name());
            want_problem(&mut failures, &what, &a, 403);
        }
    }
    // And the table is not stricter than the app: every allowed role gets past the role check.
    // Ids are random (a 404 is past it too), so nothing existing is changed or deleted.
    for op in ops.iter().filter(|op| op.bearer()) {
        let (allowed, _) = access(&op.id).expect("listed");
        let path =
            op.with_required_query(&op.fill(|_, _| Uuid::now_v7().to_string()), &schemas, None);
        let body = op.json_schema().map(|s| schemas.valid(s, "", &ctx, false));
        for &who in allowed {
            let token = &person(&m, &admin, who).token;
            let a = app
                .call(op.method.clone(), &path, Some(token), body.clone())
                .await;
            let s = a.status.as_u16();
            let what = format!("{} as {who:?}, which ACCESS allows", op.name());
            if matches!(s, 401 | 403) || s >= 500 {
                failures.push(format!("{what}: {}", show(&a)));
            }
            want_declared(&mut failures, op, &what, &a);
        }
    }
    assert_none(failures);
    app.finish().await;
}

/// Real ids for the path parameters below a candidate (`{goal_id}` in
/// `/candidates/{id}/goals/{goal_id}`), made through the API: the `POST` on the collection the
/// parameter sits in, with a valid body. Remembered per caller and collection.
#[derive(Default)]
struct Seeds(std::collections::HashMap<(String, String), String>);

impl Seeds {
    /// `template` with `{id}` after `candidates` as `candidate` and every other parameter a real object
    /// made by `token`'s owner, or a random id when the collection cannot make one.
    #[allow(clippy::too_many_arguments)]
    async fn path(
        &mut self,
        app: &TestApp,
        ops: &[Op],
        schemas: &Schemas<'_>,
        failures: &mut Vec<String>,
        template: &str,
        candidate: Option<Uuid>,
        token: &str,
        ctx: &Ctx,
    ) -> String {
        let mut tpl: Vec<&str> = Vec::new();
        let mut concrete: Vec<String> = Vec::new();
        for seg in template.split('/') {
            let Some(param) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) else {
                tpl.push(seg);
                concrete.push(seg.to_string());
                continue;
            };
            let prev = tpl.last().copied().unwrap_or_default();
            let value = match candidate {
                Some(c) if prev == "candidates" && param == "id" => c.to_string(),
                _ => {
                    let (collection, at) = (tpl.join("/"), concrete.join("/"));
                    let key = (token.to_string(), at.clone());
                    if let Some(v) = self.0.get(&key) {
                        v.clone()
                    } else {
                        let made = match ops.iter().find(|o| {
                            o.method == Method::POST
                                && o.path == collection
                                && o.json_schema().is_some()
                        }) {
                            Some(create) => {
                                let body = schemas.valid(
                                    create.json_schema().expect("json"),
                                    "",
                                    ctx,
                                    false,
                                );
                                let a = app.call(Method::POST, &at, Some(token), Some(body)).await;
                                want_declared(failures, create, "seeding", &a);
                                let id = created_id(&a, prev, &at);
                                if id.is_none() {
                                    failures.push(format!(
                                        "seeding {}: no id in {}",
                                        create.name(),
                                        show(&a)
                                    ));
                                }
                                id
                            }
                            None => None,
                        };
                        let v = made.unwrap_or_else(|| Uuid::now_v7().to_string());
                        self.0.insert(key, v.clone());
                        v
                    }
                }
            };
            tpl.push(seg);
            concrete.push(value);
        }
        concrete.join("/")
    }
}

/// The id of what a `POST` on `collection` made: the body's `id`, or, when the answer is the parent
/// (a step answers with its goal), the last item of the array named like the collection.
fn created_id(a: &Answer, collection: &str, at: &str) -> Option<String> {
    if !a.status.is_success() {
        return None;
    }
    match a.body["id"].as_str() {
        Some(id) if !at.contains(id) => Some(id.to_string()),
        _ => a.body[collection]
            .as_array()
            .and_then(|items| items.last())
            .and_then(|item| item["id"].as_str())
            .map(str::to_string),
    }
}

#[tokio::test]
async fn other_caseload_and_other_municipality_get_404() {
    let app = TestApp::start().await;
    let spec = spec();
    let schemas = Schemas::new(&spec);
    let ops = operations(&spec);
    let a = app.municipality("101").await;
    let b = app.municipality("102").await;
    let admin = app.admin().await;
    // Running courses, so that everything a candidate can start (a pause request too) can be seeded.
    for m in [&a, &b] {
        for c in [&m.candidate, &m.other_candidate] {
            let path = format!("/api/v1/candidates/{}/enrollment/transitions", c.id);
            app.post(
                &path,
                &m.coordinator.token,
                serde_json::json!({"to": "active"}),
            )
            .await
            .expect(200);
        }
    }
    // A webhook of A, for the `/webhooks/{id}` paths.
    let webhook: Uuid = app
        .post(
            "/api/v1/webhooks",
            &a.coordinator.token,
            json!({"url": "https://1.1.1.1/ips-webhook", "events": ["*"]}),
        )
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("webhook id");
    // A network group of A and one of its sessions (made when the group is set up), for the
    // `/network-groups/{id}` and `/network-groups/{id}/sessions/{session_id}` paths.
    let group: Uuid = app
        .post(
            "/api/v1/network-groups",
            &a.coordinator.token,
            json!({"name": "Torsdagsgruppen", "weekday": 4, "starts_at": "16:00",
                   "duration_minutes": 90, "facilitator_ids": [a.consultant.id]}),
        )
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("group id");
    let (from, to) = (today(), today() + chrono::Duration::days(30));
    let group_session: Uuid = app
        .get(
            &format!("/api/v1/network-groups/{group}/sessions?from={from}&to={to}"),
            &a.coordinator.token,
        )
        .await
        .expect(200)
        .body["items"][0]["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("a session of the group");
    let (ctx_a, ctx_b) = (Ctx::of(&a), Ctx::of(&b));
    let mut seeds = Seeds::default();
    // A candidate cannot make a job support plan (staff propose it): the other candidate's plan, for
    // the `/me/job-support-plans/{plan_id}` operations, is proposed by their coordinator.
    let plan = ops
        .iter()
        .find(|o| o.id == "proposeCandidateJobSupportPlan")
        .expect("proposeCandidateJobSupportPlan");
    let made = app
        .post(
            &plan.path.replace("{id}", &a.other_candidate.id.to_string()),
            &a.coordinator.token,
            schemas.valid(plan.json_schema().expect("json"), "", &ctx_a, false),
        )
        .await
        .expect(201);
    seeds.0.insert(
        (
            a.other_candidate.token.clone(),
            "/api/v1/me/job-support-plans".to_string(),
        ),
        made.body["id"].as_str().expect("id").to_string(),
    );
    let mut failures = Vec::new();
    let mut checked = 0;
    for op in &ops {
        let Some((allowed, _)) = access(&op.id) else {
            continue;
        };
        if !op.path.contains('{') {
            continue;
        }
        let first = op
            .path
            .split('/')
            .collect::<Vec<_>>()
            .windows(2)
            .find(|w| w[1].starts_with('{'))
            .map(|w| w[0].to_string())
            .unwrap_or_default();
        let nested = op.path.matches('{').count() > 1;
        // (what, caller, the caller's municipality, path)
        let mut cases: Vec<(String, &Person, &Municipality, String)> = Vec::new();
        // Who may reach those paths: a read by them must succeed, or the 404s would prove nothing.
        let mut controls: Vec<(&Person, String)> = Vec::new();
        let seeder = &a.coordinator.token;
        if first == "candidates" {
            if allowed.contains(&Consultant) {
                let other = a.other_candidate.id;
                let p = seeds
                    .path(
                        &app,
                        &ops,
                        &schemas,
                        &mut failures,
                        &op.path,
                        Some(other),
                        seeder,
                        &ctx_a,
                    )
                    .await;
                controls.push((&a.other_consultant, p.clone()));
                cases.push((
                    "a consultant, for another caseload's candidate".into(),
                    &a.consultant,
                    &a,
                    p.clone(),
                ));
                if nested {
                    let own = p.replacen(&other.to_string(), &a.candidate.id.to_string(), 1);
                    cases.push((
                        "a consultant, for their own candidate and another caseload's objects"
                            .into(),
                        &a.consultant,
                        &a,
                        own,
                    ));
                }
            }
            for who in [Consultant, Coordinator, Service] {
                if !allowed.contains(&who) {
                    continue;
                }
                let p = seeds
                    .path(
                        &app,
                        &ops,
                        &schemas,
                        &mut failures,
                        &op.path,
                        Some(a.candidate.id),
                        seeder,
                        &ctx_a,
                    )
                    .await;
                controls.push((person(&a, &admin, who), p.clone()));
                cases.push((
                    format!("another municipality's {who:?}"),
                    person(&b, &admin, who),
                    &b,
                    p.clone(),
                ));
                if nested && who == Coordinator {
                    let own =
                        p.replacen(&a.candidate.id.to_string(), &b.candidate.id.to_string(), 1);
                    cases.push((
                        "another municipality's coordinator, for their candidate and A's objects"
                            .into(),
                        &b.coordinator,
                        &b,
                        own,
                    ));
                }
            }
        } else if op.path.starts_with("/api/v1/me/") && allowed.contains(&Candidate) {
            // The other candidate's own objects, made by them.
            let owner = &a.other_candidate.token;
            let p = seeds
                .path(
                    &app,
                    &ops,
                    &schemas,
                    &mut failures,
                    &op.path,
                    None,
                    owner,
                    &ctx_a,
                )
                .await;
            controls.push((&a.other_candidate, p.clone()));
            cases.push(("another candidate".into(), &a.candidate, &a, p.clone()));
            cases.push((
                "another municipality's candidate".into(),
                &b.candidate,
                &b,
                p,
            ));
        } else if allowed.contains(&Coordinator) {
            let targets = match first.as_str() {
                "staff" => vec![a.consultant.id, a.coordinator.id],
                "service-accounts" => vec![a.service.id],
                "webhooks" => vec![webhook],
                "network-groups" => vec![group],
                _ => vec![],
            };
            for t in targets {
                let p = op.with_required_query(
                    &op.fill(|_, param| match param {
                        "session_id" => group_session.to_string(),
                        _ => t.to_string(),
                    }),
                    &schemas,
                    None,
                );
                controls.push((&a.coordinator, p.clone()));
                cases.push((
                    "another municipality's coordinator".into(),
                    &b.coordinator,
                    &b,
                    p,
                ));
            }
        }
        for (what, caller, m, path) in cases {
            let ctx = if m.id == a.id { &ctx_a } else { &ctx_b };
            let body = op.json_schema().map(|s| schemas.valid(s, "", ctx, false));
            let random =
                op.with_required_query(&op.fill(|_, _| Uuid::now_v7().to_string()), &schemas, None);
            let token = Some(caller.token.as_str());
            let elsewhere = app
                .call(op.method.clone(), &path, token, body.clone())
                .await;
            let nowhere = app
                .call(op.method.clone(), &random, token, body.clone())
                .await;
            compare(&mut failures, op, &what, &elsewhere, &nowhere);
            checked += 1;
        }
        if op.method == Method::GET {
            for (who, path) in controls {
                let r = app.get(&path, &who.token).await;
                if !r.status.is_success() {
                    failures.push(format!(
                        "{}: the rightful caller cannot read {path} either: {}",
                        op.name(),
                        show(&r)
                    ));
                }
            }
        }
    }
    assert!(checked > 15, "only {checked} cases checked");
    assert_none(failures);
    // Nothing of A was touched: its service account still works, its staff are unchanged.
    app.get("/api/v1/me", &a.service.token).await.expect(200);
    let staff = app
        .get(
            &format!("/api/v1/staff/{}", a.consultant.id),
            &a.coordinator.token,
        )
        .await
        .expect(200);
    assert_eq!(staff.body["version"], 1, "{}", staff.body);
    app.finish().await;
}

/// Both must be the same 404 problem: existence never leaks.
fn compare(failures: &mut Vec<String>, op: &Op, what: &str, elsewhere: &Answer, nowhere: &Answer) {
    let name = format!("{} by {what}", op.name());
    want_problem(failures, &name, elsewhere, 404);
    want_declared(failures, op, &name, elsewhere);
    want_problem(failures, &format!("{name} (random id)"), nowhere, 404);
    if comparable(elsewhere) != comparable(nowhere) {
        failures.push(format!(
            "{name}: the 404 differs from a random id's: {} vs {}",
            elsewhere.body, nowhere.body
        ));
    }
}

#[tokio::test]
async fn bad_input_for_every_body() {
    let app = TestApp::start().await;
    let spec = spec();
    let schemas = Schemas::new(&spec);
    let m = app.municipality("101").await;
    let admin = app.admin().await;
    let ctx = Ctx::of(&m);
    let mut failures = Vec::new();
    let mut checked = 0;
    for op in operations(&spec) {
        let Some(root) = op.json_schema() else {
            continue;
        };
        checked += 1;
        let path = op.path_in(&m);
        let token = caller_for(&op.id).map(|w| person(&m, &admin, w).token.as_str());
        if op.bearer() && token.is_none() {
            failures.push(format!("{}: no role in ACCESS may use it", op.name()));
            continue;
        }
        let call = |body: Value| app.call(op.method.clone(), &path, token, Some(body));
        let raw =
            |ct: &'static str, bytes: Vec<u8>| app.raw(op.method.clone(), &path, token, ct, bytes);

        // A valid body: the required properties, or else every property.
        let mut base = None;
        for full in [false, true] {
            let body = schemas.valid(root, "", &ctx, full);
            let a = call(body.clone()).await;
            want_declared(&mut failures, &op, "a valid body", &a);
            let s = a.status.as_u16();
            if s != 400 {
                // Public operations answer 401 to unknown credentials; that is past validation.
                if (op.bearer() && matches!(s, 401 | 403)) || matches!(s, 413 | 415) || s >= 500 {
                    failures.push(format!("{}: valid body {body} got {}", op.name(), show(&a)));
                }
                base = Some(body);
                break;
            }
            if full {
                failures.push(format!("{}: valid body {body} got {}", op.name(), show(&a)));
            }
        }
        let Some(base) = base else {
            continue;
        };
        let name = op.name();

        let a = raw("application/json", b"{bad".to_vec()).await;
        want_field(
            &mut failures,
            &format!("{name}: malformed JSON"),
            &a,
            "body",
            None,
        );

        let mut extra = base.clone();
        extra["zz_unknown"] = json!(1);
        let a = call(extra).await;
        want_field(
            &mut failures,
            &format!("{name}: unknown field"),
            &a,
            "zz_unknown",
            Some("unknown_field"),
        );

        let mut props = Vec::new();
        schemas.props(root, &[], &mut props);
        for p in &props {
            let field = p.field();
            let with = |v: Option<Value>| {
                let mut body = base.clone();
                schemas.set_at(&mut body, root, &p.path, v, &ctx);
                body
            };
            let ty = ty(p.schema);
            let items = schemas.resolve(&p.schema["items"]);
            if p.required {
                let a = call(with(None)).await;
                want_field(
                    &mut failures,
                    &format!("{name}: without {field}"),
                    &a,
                    &field,
                    Some("required"),
                );
            }
            if let Some(max) = p.schema["maxLength"].as_u64() {
                let a = call(with(Some(json!("x".repeat(max as usize + 1))))).await;
                let what = format!("{name}: {field} of {} characters", max + 1);
                want_field(&mut failures, &what, &a, &field, Some("max_length"));
            }
            if ty == "string" {
                // Control characters (but tab, line feed, carriage return) are refused by name.
                for bad in ["a\u{0}b", "a\u{1b}[31mb", "a\u{7f}b"] {
                    let a = call(with(Some(json!(bad)))).await;
                    let what = format!("{name}: {field} = {bad:?}");
                    want_field(&mut failures, &what, &a, &field, Some("invalid_value"));
                }
            }
            if p.schema["enum"].is_array() {
                let a = call(with(Some(json!("not_a_value")))).await;
                let what = format!("{name}: {field} not a value of the enum");
                want_field(&mut failures, &what, &a, &field, Some("invalid_value"));
            }
            if ty == "array" && items["enum"].is_array() {
                let a = call(with(Some(json!(["not_a_value"])))).await;
                let what = format!("{name}: {field} with an item not in the enum");
                want_field(
                    &mut failures,
                    &what,
                    &a,
                    &format!("{field}[0]"),
                    Some("invalid_value"),
                );
            }
            if ty == "array" && self::ty(items) == "string" && !items["enum"].is_array() {
                let item = format!("{field}[0]");
                if let Some(max) = items["maxLength"].as_u64() {
                    let a = call(with(Some(json!(["x".repeat(max as usize + 1)])))).await;
                    let what = format!("{name}: an item of {field} of {} characters", max + 1);
                    want_field(&mut failures, &what, &a, &item, Some("max_length"));
                }
                let a = call(with(Some(json!([12345])))).await;
                let what = format!("{name}: an item of {field} not a string");
                want_field(&mut failures, &what, &a, &item, Some("invalid_type"));
            }
            if let Some(format) = p.schema["format"].as_str()
                && ty == "string"
            {
                let a = call(with(Some(json!("not-a-value-of-the-format")))).await;
                let what = format!("{name}: {field} not a {format}");
                want_field(&mut failures, &what, &a, &field, Some("invalid_format"));
            }
            let wrong = match ty {
                "string" => json!(12345),
                "integer" | "number" => json!("12"),
                "boolean" => json!("true"),
                "array" => json!("x"),
                "object" => json!(["x"]),
                _ => continue,
            };
            let a = call(with(Some(wrong.clone()))).await;
            let what = format!("{name}: {field} = {wrong}");
            want_field(&mut failures, &what, &a, &field, Some("invalid_type"));
        }

        let mut big = base.clone();
        big["zz_padding"] = json!("x".repeat(65 * 1024));
        let a = raw("application/json", serde_json::to_vec(&big).expect("json")).await;
        want_problem(&mut failures, &format!("{name}: a 65 KiB body"), &a, 413);

        let a = raw("text/plain", base.to_string().into_bytes()).await;
        want_problem(&mut failures, &format!("{name}: text/plain"), &a, 415);
    }
    assert!(checked > 10, "only {checked} operations take a JSON body?");

    // The form-encoded client-credentials grant.
    let auth = basic(&m.service_client_id, &m.service_secret);
    let form = |body: &'static str, ct: &'static str| {
        let headers = [
            ("authorization", auth.clone()),
            ("content-type", ct.to_string()),
        ];
        let app = &app;
        async move {
            send(
                app,
                Method::POST,
                "/api/v1/oauth/token",
                &headers,
                Some(body.as_bytes().to_vec()),
            )
            .await
        }
    };
    let url = "application/x-www-form-urlencoded";
    form("grant_type=client_credentials", url).await.expect(200);
    // RFC 6749 §5.2 errors, not problems.
    let oauth_error =
        |failures: &mut Vec<String>, what: &str, a: &Answer, status: u16, code: &str| {
            if a.status.as_u16() != status
                || a.body["error"] != code
                || !a.body["error_description"].is_string()
                || a.header("cache-control") != Some("no-store")
            {
                failures.push(format!("{what}: want {status} `{code}`, got {}", show(a)));
            }
        };
    let a = form("grant_type=password", url).await;
    oauth_error(
        &mut failures,
        "oauth/token: grant_type=password",
        &a,
        400,
        "unsupported_grant_type",
    );
    let a = form(r#"{"grant_type":"client_credentials"}"#, "application/json").await;
    oauth_error(
        &mut failures,
        "oauth/token: a JSON body",
        &a,
        400,
        "invalid_request",
    );
    let a = form("scope=candidates:read", url).await;
    oauth_error(
        &mut failures,
        "oauth/token: no grant_type",
        &a,
        400,
        "invalid_request",
    );
    let a = form("grant_type=client_credentials&scope=everything", url).await;
    oauth_error(
        &mut failures,
        "oauth/token: an unknown scope",
        &a,
        400,
        "invalid_scope",
    );

    assert_none(failures);
    app.finish().await;
}

#[tokio::test]
async fn poem_errors_are_problems() {
    let app = TestApp::start().await;
    let spec = spec();
    let m = app.municipality("101").await;
    let admin = app.admin().await;
    let mut failures = Vec::new();
    let token = m.coordinator.token.as_str();

    for (method, path) in [
        (Method::GET, "/api/v1/no-such-thing"),
        (Method::POST, "/api/v1/no-such-thing"),
        (Method::GET, "/api/v1/candidates/not-a-uuid/nothing"),
        (Method::GET, "/api/v2/candidates"),
        (Method::DELETE, "/api/anything"),
        (Method::GET, "/api"),
    ] {
        let a = app.call(method.clone(), path, Some(token), None).await;
        want_problem(&mut failures, &format!("{method} {path}"), &a, 404);
        let a = app.call(method.clone(), path, None, None).await;
        if !(is_problem(&a, 404) || is_problem(&a, 401)) {
            failures.push(format!("{method} {path} without a token: {}", show(&a)));
        }
    }
    let a = app.get("/api/v1/candidates/not-a-uuid", token).await;
    if !(is_problem(&a, 400) || is_problem(&a, 404)) {
        failures.push(format!("GET /candidates/not-a-uuid: {}", show(&a)));
    }
    let a = app.get("/api/v1/candidates?limit=abc", token).await;
    want_field(&mut failures, "limit=abc", &a, "limit", None);

    let ops = operations(&spec);
    let schemas = Schemas::new(&spec);
    for op in &ops {
        let Some(who) = caller_for(&op.id) else {
            continue;
        };
        let token = Some(person(&m, &admin, who).token.as_str());
        let body = op.has_body().then(|| json!({}));
        // A malformed id in the path.
        if op
            .params("path")
            .iter()
            .any(|p| p["schema"]["format"] == "uuid")
        {
            let path = op.fill(|_, _| "not-a-uuid".into());
            let a = app
                .call(op.method.clone(), &path, token, body.clone())
                .await;
            if !(is_problem(&a, 400) || is_problem(&a, 404)) {
                failures.push(format!("{} with id not-a-uuid: {}", op.name(), show(&a)));
            }
        }
        // A malformed value of each query parameter.
        for p in op.params("query") {
            let name = p["name"].as_str().unwrap_or_default();
            let s = schemas.resolve(&p["schema"]);
            let bad = match (Some(ty(s)).filter(|t| !t.is_empty()), s["format"].as_str()) {
                _ if s["enum"].is_array() => "not_a_value",
                (Some("integer" | "number"), _) => "abc",
                (Some("boolean"), _) => "maybe",
                (Some("string"), Some(_)) => "not-a-value-of-the-format",
                _ => continue,
            };
            let path = op.with_required_query(&op.path_in(&m), &schemas, Some(name));
            let path = match path.contains('?') {
                true => format!("{path}&{name}={bad}"),
                false => format!("{path}?{name}={bad}"),
            };
            let a = app
                .call(op.method.clone(), &path, token, body.clone())
                .await;
            want_field(
                &mut failures,
                &format!("{} with {name}={bad}", op.name()),
                &a,
                name,
                None,
            );
        }
    }
    // A method no operation of the path has.
    let paths: BTreeSet<&str> = ops.iter().map(|o| o.path.as_str()).collect();
    for path in paths {
        let declared: Vec<&Method> = ops
            .iter()
            .filter(|o| o.path == path)
            .map(|o| &o.method)
            .collect();
        let Some(method) = [
            Method::PUT,
            Method::DELETE,
            Method::PATCH,
            Method::POST,
            Method::GET,
        ]
        .into_iter()
        .find(|m| !declared.contains(&m)) else {
            continue;
        };
        let concrete = ops
            .iter()
            .find(|o| o.path == path)
            .map(|o| o.path_in(&m))
            .unwrap_or_default();
        let a = app.call(method.clone(), &concrete, Some(token), None).await;
        let allow: BTreeSet<String> = a
            .header("allow")
            .unwrap_or_default()
            .split(',')
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty())
            .collect();
        let want: BTreeSet<String> = declared
            .iter()
            .map(|m| m.to_string())
            .chain(declared.contains(&&Method::GET).then(|| "HEAD".to_string()))
            .collect();
        let (problem, shaped) = if path.ends_with("/oauth/token") {
            (a.status.as_u16() == 405, a.body["error"].is_string())
        } else {
            (is_problem(&a, 405), true)
        };
        if !problem || !shaped || allow != want {
            failures.push(format!(
                "{method} {path}: want 405 with `Allow: {want:?}`, got `Allow: {allow:?}` {}",
                show(&a)
            ));
        }
    }
    assert_none(failures);
    app.finish().await;
}

/// Every path parameter of the served spec, with a value it cannot take (an id that is not a UUID, a
/// string one character over its `maxLength`) and every other parameter and the body valid: a 400
/// naming the parameter by the spec's name, never poem-openapi's own `param0`.
#[tokio::test]
async fn a_path_parameter_that_does_not_parse_is_named_as_the_spec_names_it() {
    let app = TestApp::start().await;
    let spec = spec();
    let schemas = Schemas::new(&spec);
    let m = app.municipality("101").await;
    let admin = app.admin().await;
    let ctx = Ctx::of(&m);
    let mut failures = Vec::new();
    let mut sent = 0;
    for op in operations(&spec) {
        let token = caller_for(&op.id).map(|w| person(&m, &admin, w).token.as_str());
        let base = op
            .json_schema()
            .map(|root| schemas.valid(root, "", &ctx, true));
        for p in op.params("path") {
            let name = p["name"].as_str().unwrap_or_default();
            let bad = match (
                p["schema"]["format"].as_str(),
                p["schema"]["maxLength"].as_u64(),
            ) {
                (Some("uuid"), _) => "not-a-uuid".to_string(),
                (_, Some(max)) => "a".repeat(max as usize + 1),
                _ => continue,
            };
            let url = op.fill(|prev, param| {
                if param == name {
                    bad.clone()
                } else {
                    id_in(&m, prev, param)
                }
            });
            let a = app.call(op.method.clone(), &url, token, base.clone()).await;
            sent += 1;
            let what = format!("{} with path {name}={bad:.20}", op.name());
            want_field(&mut failures, &what, &a, name, Some("invalid_value"));
            if a.body.to_string().contains("param") {
                failures.push(format!("{what}: poem-openapi's name in {}", show(&a)));
            }
            want_declared(&mut failures, &op, &what, &a);
        }
    }
    assert!(sent > 90, "only {sent} requests sent");
    assert_none(failures);
    app.finish().await;
}

/// Every operation of the served spec, with a control character in each string of its body and in
/// each query and path parameter: a 4xx (a 400 naming the field where the field is a string), never a
/// 5xx. CI runs this on PostgreSQL too, whose text cannot hold U+0000.
#[tokio::test]
async fn control_characters_anywhere_never_reach_the_database() {
    let app = TestApp::start().await;
    let spec = spec();
    let schemas = Schemas::new(&spec);
    let m = app.municipality("101").await;
    let admin = app.admin().await;
    let ctx = Ctx::of(&m);
    let mut failures = Vec::new();
    let mut sent = 0;
    for op in operations(&spec) {
        let token = caller_for(&op.id).map(|w| person(&m, &admin, w).token.as_str());
        let path = op.path_in(&m);
        let base = op
            .json_schema()
            .map(|root| schemas.valid(root, "", &ctx, true));
        for bad in ["\u{0}", "x\u{0}y", "\u{1}\u{1f}", "\u{85}"] {
            // Each string of the body (every optional property present).
            if let (Some(root), Some(base)) = (op.json_schema(), &base) {
                let mut props = Vec::new();
                schemas.props(root, &[], &mut props);
                for p in props.iter().filter(|p| ty(p.schema) == "string") {
                    let mut body = base.clone();
                    schemas.set_at(&mut body, root, &p.path, Some(json!(bad)), &ctx);
                    let a = app.call(op.method.clone(), &path, token, Some(body)).await;
                    sent += 1;
                    let what = format!("{}: {} = {bad:?}", op.name(), p.field());
                    want_field(&mut failures, &what, &a, &p.field(), Some("invalid_value"));
                    want_declared(&mut failures, &op, &what, &a);
                }
            }
            let encoded: String = bad.bytes().map(|b| format!("%{b:02X}")).collect();
            // Each query parameter.
            for p in op.params("query") {
                let name = p["name"].as_str().unwrap_or_default();
                let url = format!("{path}?{name}=a{encoded}b");
                let a = app.call(op.method.clone(), &url, token, base.clone()).await;
                sent += 1;
                want_field(
                    &mut failures,
                    &format!("{} with {name}={bad:?}", op.name()),
                    &a,
                    name,
                    Some("invalid_value"),
                );
            }
            // Each path parameter.
            for p in op.params("path") {
                let name = p["name"].as_str().unwrap_or_default();
                let url = op.fill(|prev, param| {
                    if param == name {
                        format!("a{encoded}b")
                    } else {
                        id_in(&m, prev, param)
                    }
                });
                let a = app.call(op.method.clone(), &url, token, base.clone()).await;
                sent += 1;
                want_field(
                    &mut failures,
                    &format!("{} with path {name}={bad:?}", op.name()),
                    &a,
                    name,
                    Some("invalid_value"),
                );
            }
        }
    }
    assert!(sent > 500, "only {sent} requests sent");
    assert_none(failures);
    app.finish().await;
}

//! The published contract. poem-openapi writes the document from the code; the passes here make it
//! precise enough for machines (SPEC §4.1 "The contract is for machines"), in one place and in order.
//! What is served at `/api/v1/openapi.json|yaml`, shown at `/docs` and committed in `openapi/` is the
//! processed document.
//!
//! The request-body checker (`body.rs`) works from poem-openapi's registry, not from this document.
//! The passes only say what the server already does: a pattern added here is one the server enforces
//! (control characters, cursors, `If-Match`, `Idempotency-Key`, phone numbers), a format is one it
//! checks (`date`, `email`), `additionalProperties: false` is its refusal of unknown fields, and the
//! statuses are those its code can answer. `tests/api/spec.rs` checks each pass.
use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::error::PROBLEM_TYPES;

/// Free-text strings: anything but the control characters the server refuses (U+0000–U+001F and
/// U+007F–U+009F, except tab, line feed and carriage return; `domain::forbidden_character`).
pub const TEXT_PATTERN: &str = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$";
/// A list cursor: a `next_cursor` as the API issues them (16 bytes, base64url without padding), or empty.
pub const CURSOR_PATTERN: &str = "^([A-Za-z0-9_-]{21}[AQgw])?$";
/// `If-Match`: `*` or an ETag this API issued, or empty (no precondition; `routes::common::if_match`).
pub const IF_MATCH_PATTERN: &str = "^(\\*|(W/)?\"[0-9]{1,9}\")?$";
/// `Idempotency-Key`: 1–255 visible ASCII characters (`idempotency.rs`).
pub const IDEMPOTENCY_KEY_PATTERN: &str = "^[!-~]{1,255}$";
/// A phone number as `routes::common::check_phone` takes it: 3–32 of digits, spaces and `+ - ( )`,
/// at least one digit, no space at either end.
pub const PHONE_PATTERN: &str = "^(?=[^0-9]*[0-9])[0-9+()-]([0-9 +()-]{1,30})[0-9+()-]$";

/// A new username (`domain::identity::normalize_username`; letters are compared lower-cased).
pub const USERNAME_PATTERN: &str = "^[A-Za-z0-9._-]{3,64}$";

/// An online meeting link (`domain::appointments::check_online_url`): `https://` and a host, or
/// empty for none. The server takes a few more addresses than this; these it always takes.
pub const ONLINE_URL_PATTERN: &str =
    "^(https://[A-Za-z0-9]([A-Za-z0-9.-]{0,200}[A-Za-z0-9])?(/[A-Za-z0-9._~/-]{0,200})?)?$";

/// Query parameters an operation cannot do without, though the code reads them as optional (to
/// answer a role that can never use the operation 403 first).
pub const REQUIRED_QUERY: &[(&str, &str)] = &[("getAudit", "candidate_id")];

/// Operations whose versioned answer is 201 with `Location` (they make a new resource); every other
/// operation sharing such a response type answers 200 only.
pub const CREATED: &[&str] = &[
    "createMunicipality",
    "createEnrollment",
    "createMyGoal",
    "addMyGoalStep",
    "proposeCandidateGoal",
    "addCandidateGoalStep",
    "createCandidateAppointment",
    "createCandidateQuestionnaireAssignment",
    "proposeCandidateJobSupportPlan",
    "createNetworkGroup",
];

/// Public operations that check a password, a refresh token or client credentials (401) and count
/// failed attempts (429 only where counted).
pub const CREDENTIALS: &[(&str, bool)] = &[
    ("login", true),
    ("refresh", false),
    ("acceptInvitation", true),
];

/// Operations without path parameters that look up something named in their body or query, or the
/// caller's own course, and answer 404 when it is not there or not theirs.
pub const LOOKUPS: &[&str] = &[
    "createStaff",
    "createServiceAccount",
    "createCandidate",
    "listCandidates",
    "listStaff",
    "createMyQuestionnaireResponse",
    "getAudit",
];

/// Operations that can conflict with the current state (409) besides the POSTs, which can always
/// meet an `Idempotency-Key` still in flight.
pub const CONFLICTS: &[&str] = &[
    "updateMunicipality",
    "updateStaff",
    "updateCandidate",
    "updateEnrollment",
    "updateMyGoal",
    "updateCandidateGoal",
    "updateMyGoalStep",
    "updateCandidateGoalStep",
    "deleteMyGoal",
    "deleteCandidateGoal",
    "deleteMyGoalStep",
    "deleteCandidateGoalStep",
    "updateCandidateAppointment",
    "setMyDisclosure",
    "acceptInvitation",
    "updateCandidateJobSupportPlan",
    "updateMyJobSupportPlan",
    "putNetworkGroupSessionAttendance",
];

/// The operation that answers the RFC 6749 way (`routes::auth`); its responses are its own.
pub const TOKEN_OPERATION: &str = "clientCredentialsToken";

/// One pass over the document.
pub type Pass = fn(&mut Value);

/// The passes, in the order they run.
pub const PASSES: &[(&str, Pass)] = &[
    ("enum-typed fields are plain references", plain_refs),
    ("OpenAPI 3.1 nulls: every nullable carries its type", nulls),
    ("dates, e-mail addresses and phone numbers", formats),
    (
        "patterns for free text, cursors and If-Match; required query parameters",
        patterns,
    ),
    (
        "request bodies: no unknown fields; optional where every field is",
        request_bodies,
    ),
    (
        "Idempotency-Key on every POST outside /auth and /oauth",
        idempotency_key,
    ),
    (
        "security: [] on public operations, client credentials",
        security,
    ),
    ("every problem type listed", problem_types),
    ("each operation's real statuses", statuses),
    ("canonical header names and response descriptions", headers),
    ("examples for the main schemas", examples),
];

/// poem-openapi's document (JSON) after every pass.
pub fn process(raw: &str) -> Value {
    let mut doc: Value = serde_json::from_str(raw).expect("poem-openapi writes JSON");
    for (_, pass) in PASSES {
        pass(&mut doc);
    }
    doc
}

// ---------------------------------------------------------------------------------------------
// Walking the document

/// Calls `f` on `schema` and on every schema inside it, innermost first.
fn walk_schema(schema: &mut Value, f: &mut dyn FnMut(&mut Map<String, Value>)) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    if let Some(props) = obj.get_mut("properties").and_then(Value::as_object_mut) {
        for p in props.values_mut() {
            walk_schema(p, f);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(inner) = obj.get_mut(key)
            && inner.is_object()
        {
            walk_schema(inner, f);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(list) = obj.get_mut(key).and_then(Value::as_array_mut) {
            for s in list {
                walk_schema(s, f);
            }
        }
    }
    f(obj);
}

/// Every operation: (path, method, operation).
fn operations(doc: &mut Value) -> Vec<(String, String, &mut Map<String, Value>)> {
    let mut out = Vec::new();
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (path, item) in paths.iter_mut() {
            if let Some(item) = item.as_object_mut() {
                for (method, op) in item.iter_mut() {
                    if let Some(op) = op.as_object_mut() {
                        out.push((path.clone(), method.clone(), op));
                    }
                }
            }
        }
    }
    out
}

/// Calls `f` on every schema of the document: components, parameters, bodies, responses, headers.
fn walk_all(doc: &mut Value, f: &mut dyn FnMut(&mut Map<String, Value>)) {
    if let Some(schemas) = doc["components"]["schemas"].as_object_mut() {
        for s in schemas.values_mut() {
            walk_schema(s, f);
        }
    }
    for (_, _, op) in operations(doc) {
        for p in op
            .get_mut("parameters")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            walk_schema(&mut p["schema"], f);
        }
        if let Some(content) = op
            .get_mut("requestBody")
            .and_then(|b| b.get_mut("content"))
            .and_then(Value::as_object_mut)
        {
            for media in content.values_mut() {
                walk_schema(&mut media["schema"], f);
            }
        }
        for resp in op
            .get_mut("responses")
            .and_then(Value::as_object_mut)
            .into_iter()
            .flat_map(|r| r.values_mut())
        {
            if let Some(content) = resp.get_mut("content").and_then(Value::as_object_mut) {
                for media in content.values_mut() {
                    walk_schema(&mut media["schema"], f);
                }
            }
            if let Some(headers) = resp.get_mut("headers").and_then(Value::as_object_mut) {
                for h in headers.values_mut() {
                    walk_schema(&mut h["schema"], f);
                }
            }
        }
    }
}

fn ref_name(schema: &Value) -> Option<&str> {
    schema["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
}

/// The component schemas `schema` refers to, directly or through other components.
fn referenced(doc: &Value, schema: &Value, seen: &mut BTreeSet<String>) {
    match schema {
        Value::Object(obj) => {
            if let Some(name) = ref_name(schema)
                && seen.insert(name.to_string())
            {
                referenced(doc, &doc["components"]["schemas"][name], seen);
            }
            for (k, v) in obj {
                if k != "examples" && k != "example" && k != "enum" && k != "default" {
                    referenced(doc, v, seen);
                }
            }
        }
        Value::Array(items) => {
            for v in items {
                referenced(doc, v, seen);
            }
        }
        _ => {}
    }
}

/// The JSON schema of an operation's request body, if it takes JSON.
fn json_body(op: &Map<String, Value>) -> Option<&Value> {
    op.get("requestBody")?
        .get("content")?
        .get("application/json")?
        .get("schema")
}

/// Component schemas reachable from a JSON request body: these describe input.
fn request_schemas(doc: &Value) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for item in doc["paths"]
        .as_object()
        .into_iter()
        .flat_map(|p| p.values())
    {
        for op in item.as_object().into_iter().flat_map(|i| i.values()) {
            if let Some(schema) = op.as_object().and_then(json_body) {
                referenced(doc, schema, &mut seen);
            }
        }
    }
    seen
}

/// A component schema, without creating it when missing.
fn component<'a>(doc: &'a mut Value, name: &str) -> Option<&'a mut Map<String, Value>> {
    doc.get_mut("components")?
        .get_mut("schemas")?
        .get_mut(name)?
        .as_object_mut()
}

fn is_type(schema: &Map<String, Value>, ty: &str) -> bool {
    match schema.get("type") {
        Some(Value::String(t)) => t == ty,
        Some(Value::Array(ts)) => ts.iter().any(|t| t == ty),
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// The passes

/// poem-openapi wraps a described field of a named type as `allOf: [{$ref}, {description}]`, which
/// generators read as an anonymous object. OpenAPI 3.1 allows annotations beside `$ref`: the field
/// becomes `{$ref, description}`.
pub fn plain_refs(doc: &mut Value) {
    walk_all(doc, &mut |s| {
        let Some(all_of) = s.get("allOf").and_then(Value::as_array) else {
            return;
        };
        let refs: Vec<&Value> = all_of.iter().filter(|x| x.get("$ref").is_some()).collect();
        let only_annotations = all_of.iter().all(|x| {
            x.get("$ref").is_some()
                || x.as_object().is_some_and(|o| {
                    o.keys()
                        .all(|k| matches!(k.as_str(), "description" | "nullable" | "default"))
                })
        });
        if refs.len() != 1 || !only_annotations || s.contains_key("properties") {
            return;
        }
        let target = refs[0]["$ref"].clone();
        let extra: Vec<Map<String, Value>> = all_of
            .iter()
            .filter(|x| x.get("$ref").is_none())
            .filter_map(|x| x.as_object().cloned())
            .collect();
        s.remove("allOf");
        s.remove("type");
        for e in extra {
            for (k, v) in e {
                s.entry(k).or_insert(v);
            }
        }
        s.insert("$ref".into(), target);
    });
}

/// OpenAPI 3.1: `nullable` becomes `null` among the types (`type: [string, "null"]`), or
/// `anyOf: [{$ref}, {type: "null"}]` for a named type; an enum that may be null lists `null`.
/// A nullable field of an answer is always there (`null` when it has no value), so it is required.
pub fn nulls(doc: &mut Value) {
    doc["openapi"] = json!("3.1.0");
    let input = request_schemas(doc);
    for (name, schema) in doc["components"]["schemas"]
        .as_object_mut()
        .into_iter()
        .flatten()
    {
        if input.contains(name) {
            continue;
        }
        let nullable: Vec<Value> = schema["properties"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, p)| p["nullable"] == json!(true))
            .map(|(k, _)| json!(k))
            .collect();
        if nullable.is_empty() {
            continue;
        }
        let required = schema
            .as_object_mut()
            .expect("a schema")
            .entry("required")
            .or_insert_with(|| json!([]));
        if let Some(list) = required.as_array_mut() {
            for k in nullable {
                if !list.contains(&k) {
                    list.push(k);
                }
            }
        }
    }
    walk_all(doc, &mut |s| {
        let Some(nullable) = s.remove("nullable") else {
            return;
        };
        if nullable != Value::Bool(true) {
            return;
        }
        if let Some(target) = s.remove("$ref") {
            s.insert(
                "anyOf".into(),
                json!([{ "$ref": target }, { "type": "null" }]),
            );
        } else if let Some(Value::String(ty)) = s.get("type").cloned() {
            s.insert("type".into(), json!([ty, "null"]));
            if let Some(values) = s.get_mut("enum").and_then(Value::as_array_mut)
                && !values.contains(&Value::Null)
            {
                values.push(Value::Null);
            }
        } else if let Some(any) = s.get_mut("anyOf").and_then(Value::as_array_mut) {
            any.push(json!({ "type": "null" }));
        } else {
            let inner = std::mem::take(s);
            s.insert("anyOf".into(), json!([inner, { "type": "null" }]));
        }
    });
}

/// `format: date` (poem-openapi says `naive-date`, which no tool knows); `format: email` and the phone
/// and username patterns on the input fields the server checks as such (`check_email`,
/// `check_phone`, `normalize_username`).
pub fn formats(doc: &mut Value) {
    walk_all(doc, &mut |s| {
        if s.get("format").and_then(Value::as_str) == Some("naive-date") {
            s.insert("format".into(), json!("date"));
        }
    });
    for name in request_schemas(doc) {
        let Some(props) = component(doc, &name)
            .and_then(|s| s.get_mut("properties"))
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        for (field, p) in props.iter_mut() {
            let Some(p) = p.as_object_mut() else { continue };
            if !is_type(p, "string") {
                continue;
            }
            match field.as_str() {
                "email" => {
                    p.insert("format".into(), json!("email"));
                }
                "phone" => {
                    p.insert("pattern".into(), json!(PHONE_PATTERN));
                }
                "username" if name == "AcceptInvitation" => {
                    p.insert("pattern".into(), json!(USERNAME_PATTERN));
                }
                "online_url" => {
                    p.insert("pattern".into(), json!(ONLINE_URL_PATTERN));
                }
                _ => {}
            }
        }
    }
}

/// Input strings say what the server takes: free text without control characters; `cursor` as
/// issued; `If-Match` as an ETag. Query parameters the operation cannot do without are required.
pub fn patterns(doc: &mut Value) {
    let free_text = |s: &mut Map<String, Value>| {
        walk_schema_map(s, &mut |s| {
            if is_type(s, "string")
                && !s.contains_key("format")
                && !s.contains_key("enum")
                && !s.contains_key("pattern")
            {
                s.insert("pattern".into(), json!(TEXT_PATTERN));
            }
        })
    };
    for name in request_schemas(doc) {
        if let Some(s) = component(doc, &name) {
            free_text(s);
        }
    }
    for (_, _, op) in operations(doc) {
        let operation_id = op
            .get("operationId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if let Some(schema) = op
            .get_mut("requestBody")
            .and_then(|b| b.get_mut("content"))
            .and_then(|c| c.get_mut("application/json"))
            .and_then(|m| m.get_mut("schema"))
            .and_then(Value::as_object_mut)
        {
            free_text(schema);
        }
        for p in op
            .get_mut("parameters")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            let name = p["name"].as_str().unwrap_or_default().to_string();
            let location = p["in"].clone();
            let Some(schema) = p.get_mut("schema").and_then(Value::as_object_mut) else {
                continue;
            };
            match (name.as_str(), location.as_str()) {
                ("cursor", _) => {
                    schema.insert("pattern".into(), json!(CURSOR_PATTERN));
                }
                ("If-Match", _) => {
                    schema.insert("pattern".into(), json!(IF_MATCH_PATTERN));
                }
                (_, Some("query"))
                    if REQUIRED_QUERY.contains(&(operation_id.as_str(), name.as_str())) =>
                {
                    free_text(schema);
                    p["required"] = json!(true);
                }
                // Other headers (`Accept-Language`) are read leniently: anything goes.
                (_, Some("header")) => {}
                _ => free_text(schema),
            }
        }
    }
}

fn walk_schema_map(s: &mut Map<String, Value>, f: &mut dyn FnMut(&mut Map<String, Value>)) {
    let mut v = Value::Object(std::mem::take(s));
    walk_schema(&mut v, f);
    if let Value::Object(m) = v {
        *s = m;
    }
}

/// The server refuses unknown fields in every JSON body (`body.rs`): `additionalProperties: false` on
/// the objects of request bodies. A body whose fields are all optional may be left out (the server
/// reads no body as `{}`), so it is `required: false`.
pub fn request_bodies(doc: &mut Value) {
    let closed = |s: &mut Map<String, Value>| {
        walk_schema_map(s, &mut |s| {
            if s.contains_key("properties") && !s.contains_key("additionalProperties") {
                s.insert("additionalProperties".into(), json!(false));
            }
        })
    };
    for name in request_schemas(doc) {
        if let Some(s) = component(doc, &name) {
            closed(s);
        }
    }
    let schemas = doc["components"]["schemas"].clone();
    for (_, _, op) in operations(doc) {
        let Some(schema) = json_body(op).cloned() else {
            continue;
        };
        let resolved = match ref_name(&schema) {
            Some(name) => schemas[name].clone(),
            None => schema,
        };
        let none_required = resolved["required"].as_array().is_none_or(|r| r.is_empty());
        op["requestBody"]["required"] = json!(!none_required);
        if let Some(inline) =
            op["requestBody"]["content"]["application/json"]["schema"].as_object_mut()
        {
            closed(inline);
        }
    }
}

/// The idempotency middleware reads `Idempotency-Key` on every POST outside `/auth/` and `/oauth/`.
pub fn idempotency_key(doc: &mut Value) {
    for (path, method, op) in operations(doc) {
        if method != "post" || path.contains("/auth/") || path.contains("/oauth/") {
            continue;
        }
        let params = op
            .entry("parameters")
            .or_insert_with(|| json!([]))
            .as_array_mut()
            .expect("parameters is a list");
        params.push(json!({
            "name": "Idempotency-Key",
            "in": "header",
            "required": false,
            "description": "A key of your choice (e.g. a UUID) that makes a retry safe: a repeat with the same \
                key and body within 24 hours gets the first answer again (`Idempotent-Replayed: true`), \
                the same key with another body is 422, and a repeat while the first is still running is 409.",
            "schema": {
                "type": "string",
                "minLength": 1,
                "maxLength": 255,
                "pattern": IDEMPOTENCY_KEY_PATTERN,
            },
        }));
    }
}

/// Public operations say so (`security: []`). The token endpoint takes the client's credentials as
/// HTTP Basic or in the form (`client_secret_post`), one grant type, and known scopes.
pub fn security(doc: &mut Value) {
    // The scopes the document already lists (`Scope`).
    let scopes = doc["components"]["schemas"]["Scope"]["enum"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if let Some(props) = component(doc, "ClientTokenRequest")
        .and_then(|s| s.get_mut("properties"))
        .and_then(Value::as_object_mut)
    {
        if let Some(grant) = props.get_mut("grant_type").and_then(Value::as_object_mut) {
            grant.insert("enum".into(), json!(["client_credentials"]));
        }
        if let Some(scope) = props.get_mut("scope").and_then(Value::as_object_mut) {
            let scopes: Vec<&str> = scopes.iter().filter_map(Value::as_str).collect();
            let one = format!("({})", scopes.join("|"));
            scope.insert("pattern".into(), json!(format!("^{one}( {one})*$")));
        }
    }
    let mut token = false;
    for (_, _, op) in operations(doc) {
        if op.get("operationId").and_then(Value::as_str) == Some(TOKEN_OPERATION) {
            op.insert("security".into(), json!([{ "ClientCredentials": [] }, {}]));
            token = true;
        } else if !op.contains_key("security") {
            op.insert("security".into(), json!([]));
        }
    }
    if token {
        doc["components"]["securitySchemes"]["ClientCredentials"] = json!({
            "type": "http",
            "scheme": "basic",
            "description": "A service account's client id and secret as HTTP Basic credentials \
                (`client_secret_basic`); they may instead be sent as `client_id` and `client_secret` in \
                the form (`client_secret_post`).",
        });
    }
}

/// `Problem.type` is one of the listed URIs (`error::PROBLEM_TYPES`).
pub fn problem_types(doc: &mut Value) {
    let types: Vec<String> = PROBLEM_TYPES
        .iter()
        .map(|slug| crate::error::problem_type(slug))
        .collect();
    if let Some(field) = component(doc, "Problem")
        .and_then(|p| p.get_mut("properties"))
        .and_then(|p| p.get_mut("type"))
        .and_then(Value::as_object_mut)
    {
        field.insert("enum".into(), json!(types));
    }
}

/// The statuses each operation can answer, by what it does:
/// - 400 always (every query and path parameter, and every body, is checked);
/// - 401 with a bearer token or credentials; 403 where some role or scope is refused (all bearer
///   operations but `GET /me`);
/// - 404 with path parameters or a lookup of something named in the body or query;
/// - 409 for every POST with an `Idempotency-Key` and where the state can conflict; 422 for a key
///   reused with another body;
/// - 412 with `If-Match`; 413, 415 and 503 (shutting down while the body arrives) with a body;
/// - 429 where failed attempts are counted; 500 always;
/// - one success status, 201 only for operations that make something.
pub fn statuses(doc: &mut Value) {
    for (path, method, op) in operations(doc) {
        let id = op
            .get("operationId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if id == TOKEN_OPERATION {
            continue;
        }
        let params: Vec<(String, String)> = op
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|p| {
                (
                    p["in"].as_str().unwrap_or_default().to_string(),
                    p["name"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let has = |location: &str, name: &str| {
            params
                .iter()
                .any(|(i, n)| i == location && (name.is_empty() || n == name))
        };
        let bearer = op
            .get("security")
            .and_then(Value::as_array)
            .is_some_and(|s| s.iter().any(|r| r.get("BearerAuth").is_some()));
        let body = op.contains_key("requestBody");
        let credentials = CREDENTIALS.iter().find(|(op, _)| *op == id);
        let idempotent = method == "post" && !path.contains("/auth/");
        let mut keep: BTreeSet<u16> = [400, 500].into();
        let mut add = |cond: bool, status: u16| {
            if cond {
                keep.insert(status);
            }
        };
        add(bearer || credentials.is_some(), 401);
        add(bearer && id != "getMe", 403);
        add(has("path", "") || LOOKUPS.contains(&id.as_str()), 404);
        add(idempotent || CONFLICTS.contains(&id.as_str()), 409);
        add(has("header", "If-Match"), 412);
        add(body, 413);
        add(body, 415);
        add(idempotent, 422);
        add(credentials.is_some_and(|(_, counted)| *counted), 429);
        add(body, 503);

        let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
            continue;
        };
        let both = responses.contains_key("200") && responses.contains_key("201");
        if both {
            let drop = if CREATED.contains(&id.as_str()) {
                "200"
            } else {
                "201"
            };
            responses.remove(drop);
        }
        responses.retain(|status, _| {
            status.starts_with('2') || status.parse::<u16>().is_ok_and(|s| keep.contains(&s))
        });
    }
}

/// Response headers under their usual names (`ETag`, not `ETAG`), and a description on every
/// response.
pub fn headers(doc: &mut Value) {
    const NAMES: &[&str] = &[
        "ETag",
        "Location",
        "WWW-Authenticate",
        "Retry-After",
        "Set-Cookie",
        "Content-Language",
        "Content-Disposition",
        "Vary",
        "Cache-Control",
        "Pragma",
    ];
    for (_, _, op) in operations(doc) {
        for (status, resp) in op
            .get_mut("responses")
            .and_then(Value::as_object_mut)
            .into_iter()
            .flat_map(|r| r.iter_mut())
        {
            if resp["description"].as_str().is_none_or(str::is_empty) {
                resp["description"] = json!(match status.as_str() {
                    "201" => "Created.",
                    "204" => "Done.",
                    _ => "OK.",
                });
            }
            if let Some(h) = resp.get_mut("headers").and_then(Value::as_object_mut) {
                let renamed: Map<String, Value> = std::mem::take(h)
                    .into_iter()
                    .map(|(k, v)| {
                        let name = NAMES
                            .iter()
                            .find(|n| n.eq_ignore_ascii_case(&k))
                            .map(|n| n.to_string())
                            .unwrap_or(k);
                        (name, v)
                    })
                    .collect();
                *h = renamed;
            }
        }
    }
}

/// Examples for the schemas a client meets first. Each is checked against its schema by the tests.
pub fn examples(doc: &mut Value) {
    for (name, example) in example_table() {
        if let Some(schema) = component(doc, name) {
            schema.insert("examples".into(), json!([example]));
        }
    }
}

/// The example of each main schema.
pub fn example_table() -> BTreeMap<&'static str, Value> {
    let municipality = "0193e0a2-7c4b-7d1e-9a3f-2b8c4d5e6f70";
    let consultant = "0193e0a2-8d5c-7e2f-8b4a-3c9d5e6f7081";
    let candidate = "0193e0a3-1a2b-7c3d-9e4f-5a6b7c8d9e0f";
    let goal = "0193e0a4-2b3c-7d4e-8f5a-6b7c8d9e0f1a";
    let step = "0193e0a4-3c4d-7e5f-9a6b-7c8d9e0f1a2b";
    let appointment = "0193e0a5-4d5e-7f6a-8b7c-8d9e0f1a2b3c";
    let mut t = BTreeMap::new();
    t.insert(
        "LoginRequest",
        json!({"username": "mette.k", "password": "correct horse battery staple"}),
    );
    t.insert(
        "TokenResponse",
        json!({
            "access_token": "eyJhbGciOiJFZERTQSIsImtpZCI6IjAxOTNlMGEyIn0.eyJzdWIiOiIwMTkzZTBhMyJ9.c2lnbmF0dXJl",
            "token_type": "Bearer",
            "expires_in": 900,
            "refresh_token": "r1.4f9c2a7e8b1d4c6a9e0f3b5d7c9a1e2f",
        }),
    );
    t.insert(
        "ClientTokenResponse",
        json!({
            "access_token": "eyJhbGciOiJFZERTQSIsImtpZCI6IjAxOTNlMGEyIn0.eyJzdWIiOiIwMTkzZTBhMyJ9.c2lnbmF0dXJl",
            "token_type": "Bearer",
            "expires_in": 900,
            "scope": "candidates:read events:read",
        }),
    );
    t.insert(
        "OAuthError",
        json!({"error": "invalid_client", "error_description": "Unknown client or wrong secret."}),
    );
    t.insert(
        "Me",
        json!({
            "id": consultant,
            "role": "consultant",
            "municipality_id": municipality,
            "display_name": "Mette Konsulent",
            "scopes": [],
            "language": null,
        }),
    );
    t.insert(
        "MunicipalityCreate",
        json!({"name": "Aarhus Kommune", "code": "751"}),
    );
    t.insert(
        "StaffCreate",
        json!({
            "municipality_id": municipality,
            "display_name": "Mette Konsulent",
            "email": "mette.konsulent@aarhus.dk",
            "role": "consultant",
        }),
    );
    t.insert(
        "CandidateCreate",
        json!({
            "given_name": "Sofie",
            "family_name": "Jensen",
            "birth_year": 2005,
            "language": "da",
            "target_group": "mental_distress",
            "readiness": "education_ready",
            "consultant_id": consultant,
            "external_ref": "SAG-2026-0042",
        }),
    );
    t.insert(
        "GoalCreate",
        json!({
            "title": "Finde et fritidsjob",
            "category": "job",
            "target_date": "2026-09-01",
            "steps": ["Skrive mit CV", "Søge tre jobs"],
        }),
    );
    t.insert(
        "Goal",
        json!({
            "id": goal,
            "candidate_id": candidate,
            "title": "Finde et fritidsjob",
            "description": null,
            "category": "job",
            "status": "active",
            "created_by": "candidate",
            "target_date": "2026-09-01",
            "steps": [{
                "id": step,
                "title": "Skrive mit CV",
                "done": true,
                "done_at": "2026-03-02T10:15:00Z",
                "position": 0,
            }],
            "progress": 100,
            "version": 3,
            "created_at": "2026-02-20T09:00:00Z",
            "updated_at": "2026-03-02T10:15:00Z",
        }),
    );
    t.insert(
        "JobSupportPlan",
        json!({
            "id": "0193e0a6-5e6f-7a7b-8c8d-9e0f1a2b3c4d",
            "candidate_id": candidate,
            "status": "active",
            "placement": {
                "kind": "job",
                "workplace": "Netto, Vesterbrogade",
                "role": "Butiksmedhjælper",
                "starts_on": "2026-04-01",
                "hours_per_week": 15,
            },
            "contacts": [{
                "role": "employer",
                "name": "Lone Hansen",
                "phone": "+45 12 34 56 78",
                "email": "lone.hansen@example.org",
            }],
            "supports": [{
                "what": "Vi taler sammen om ugen, der gik",
                "who": "consultant",
                "how_often": "hver fredag",
            }],
            "early_signs": "Jeg sover dårligt og melder mig syg om mandagen.",
            "what_helps": "En kort snak med min mentor før vagten.",
            "check_in_every_days": 14,
            "accepted_at": "2026-03-20T12:00:00Z",
            "ended_at": null,
            "version": 3,
            "created_at": "2026-03-18T09:00:00Z",
            "updated_at": "2026-03-21T18:30:00Z",
        }),
    );
    t.insert(
        "AppointmentCreate",
        json!({
            "kind": "consultant_meeting",
            "title": "Samtale om job",
            "starts_at": "2026-03-10T09:00:00Z",
            "ends_at": "2026-03-10T10:00:00Z",
            "location": "Jobcenter Aarhus, Værkmestergade 11",
        }),
    );
    t.insert(
        "Appointment",
        json!({
            "id": appointment,
            "candidate_id": candidate,
            "kind": "consultant_meeting",
            "title": "Samtale om job",
            "starts_at": "2026-03-10T09:00:00Z",
            "ends_at": "2026-03-10T10:00:00Z",
            "location": "Jobcenter Aarhus, Værkmestergade 11",
            "online_url": null,
            "note_for_candidate": null,
            "status": "scheduled",
            "cancel_reason": null,
            "candidate_response": "accepted",
            "response_message": null,
            "responded_at": "2026-03-05T18:02:00Z",
            "sequence": 0,
            "version": 2,
            "created_at": "2026-03-01T08:30:00Z",
            "updated_at": "2026-03-05T18:02:00Z",
        }),
    );
    t.insert(
        "QuestionnaireResponseCreate",
        json!({
            "questionnaire": "who5",
            "version": 1,
            "answers": [
                {"item": "cheerful", "value": 3},
                {"item": "calm", "value": 4},
                {"item": "active", "value": 2},
                {"item": "rested", "value": 3},
                {"item": "interested", "value": 4},
            ],
        }),
    );
    t.insert(
        "RequestCreate",
        json!({"kind": "pause", "reason": "Jeg skal til eksamen.", "resume_on": "2026-06-30"}),
    );
    let webhook = "0193e0a7-6f7a-7b8c-9d0e-1f2a3b4c5d6e";
    let webhook_object = json!({
        "id": webhook,
        "url": "https://fagsystem.example.dk/ips/events",
        "events": ["enrollment.status_changed", "request.created"],
        "description": "Jobcenterets fagsystem",
        "active": true,
        "disabled_at": null,
        "delivered_seq": 1042,
        "next_retry_at": null,
        "created_at": "2026-03-01T08:30:00Z",
    });
    t.insert(
        "WebhookCreate",
        json!({
            "url": "https://fagsystem.example.dk/ips/events",
            "events": ["enrollment.status_changed", "request.created"],
            "description": "Jobcenterets fagsystem",
        }),
    );
    t.insert(
        "WebhookCreated",
        json!({
            "id": webhook,
            "secret": "whsec_3q2-7wE1bX9vYk0cP4mZ8rT6uN5aL2sD1fG7hJ3kQ0w",
            "webhook": webhook_object,
        }),
    );
    t.insert("Webhook", webhook_object);
    t.insert(
        "WebhookDelivery",
        json!({
            "id": "0193e0a8-7a8b-7c9d-8e0f-2a3b4c5d6e7f",
            "attempted_at": "2026-03-05T18:02:01Z",
            "event_id": "0193e0a8-6f7a-7b8c-9d0e-1f2a3b4c5d6e",
            "event_seq": 1043,
            "event_type": "enrollment.status_changed",
            "attempt": 2,
            "outcome": "retrying",
            "status_code": 503,
            "error": "the receiver answered 503",
            "duration_ms": 412,
            "next_retry_at": "2026-03-05T18:02:21Z",
        }),
    );
    t.insert(
        "Problem",
        json!({
            "type": "urn:ips-ung:problem:validation",
            "title": "Invalid request",
            "status": 400,
            "detail": "`email`: must be an e-mail address",
            "errors": [{"field": "email", "code": "invalid_format", "message": "must be an e-mail address"}],
            "request_id": "0193e0a6-5e6f-7a7b-8c9d-0e1f2a3b4c5d",
        }),
    );
    t
}

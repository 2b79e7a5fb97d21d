//! `Body<T>`: the JSON request payload. Unlike poem-openapi's `Json<T>`, it checks the body against
//! `T`'s own OpenAPI schema first, so every problem names its field (`steps[1].title`), and unknown
//! fields are refused everywhere.
use std::collections::HashMap;

use poem::{Request, RequestBody};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions,
    error::ContentTypeError,
    payload::{ParsePayload, Payload},
    registry::{MetaMediaType, MetaRequest, MetaSchema, MetaSchemaRef, Registry},
    types::{ParseFromJSON, Type},
};
use serde_json::Value;

use crate::{
    domain,
    error::{ApiError, FieldError},
};

/// Request bodies above this are refused with 413.
pub const BODY_LIMIT: usize = 64 * 1024;

/// A JSON request body of type `T`, validated against `T`'s schema.
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<T: Type> Payload for Body<T> {
    const CONTENT_TYPE: &'static str = "application/json";

    fn check_content_type(content_type: &str) -> bool {
        matches!(content_type.parse::<mime::Mime>(), Ok(m) if m.type_() == "application"
            && (m.subtype() == "json" || m.suffix().is_some_and(|s| s == "json")))
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: ParseFromJSON + 'static> ParsePayload for Body<T> {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let _ = request;
        let bytes = body
            .take()?
            .into_bytes_limit(BODY_LIMIT)
            .await
            .map_err(|_| ApiError::payload_too_large().into_poem())?;
        // An empty body is an empty object: operations whose fields are all optional (refresh with
        // the cookie, acknowledge, carry out) may be called without one; others name what is missing.
        let mut value: Value = if bytes.is_empty() {
            Value::Object(Default::default())
        } else {
            serde_json::from_slice(&bytes)
                .map_err(|e| ApiError::field("body", "malformed", e.to_string()).into_poem())?
        };
        integral_numbers(&mut value);
        let schema = schema_of::<T>();
        let mut errors = Vec::new();
        control_characters(&value, "", &mut errors);
        check(&schema.0, &schema.1, &value, "", &mut errors);
        if !errors.is_empty() {
            errors.truncate(50);
            return Err(ApiError::validation(errors).into_poem());
        }
        T::parse_from_json(Some(value))
            .map(Body)
            .map_err(|e| ApiError::field("body", "invalid_value", e.into_message()).into_poem())
    }
}

impl<'a, T: ParseFromJSON + 'static> ApiExtractor<'a> for Body<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        <Self as Payload>::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: <Self as Payload>::CONTENT_TYPE,
                schema: <Self as Payload>::schema_ref(),
            }],
            required: <Self as ParsePayload>::IS_REQUIRED,
        })
    }

    /// Like poem-openapi's own payloads, but a request with no body at all (and so no content type)
    /// is read as `{}` instead of being refused with 415.
    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        match request.content_type() {
            Some(content_type) if Self::check_content_type(content_type) => {
                <Self as ParsePayload>::from_request(request, body).await
            }
            Some(content_type) => Err(ContentTypeError::NotSupported {
                content_type: content_type.to_string(),
            }
            .into()),
            None if has_no_body(request) => {
                <Self as ParsePayload>::from_request(request, body).await
            }
            None => Err(ContentTypeError::ExpectContentType.into()),
        }
    }
}

type Schemas = std::collections::BTreeMap<String, MetaSchema>;
type Compiled = std::sync::Arc<(Schemas, MetaSchemaRef)>;

/// `T`'s schema and the schemas it refers to, built once per type and kept for the process.
fn schema_of<T: Type + 'static>() -> Compiled {
    use std::{
        any::TypeId,
        sync::{Arc, Mutex, OnceLock},
    };
    static CACHE: OnceLock<Mutex<HashMap<TypeId, Compiled>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(found) = cache.lock().expect("schema cache").get(&TypeId::of::<T>()) {
        return found.clone();
    }
    let mut registry = Registry::new();
    T::register(&mut registry);
    let built = Arc::new((registry.schemas, T::schema_ref()));
    cache
        .lock()
        .expect("schema cache")
        .insert(TypeId::of::<T>(), built.clone());
    built
}

fn has_no_body(request: &Request) -> bool {
    let headers = request.headers();
    !headers.contains_key(poem::http::header::TRANSFER_ENCODING)
        && headers
            .get(poem::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_none_or(|v| v.trim() == "0")
}

fn resolve<'a>(
    schemas: &'a std::collections::BTreeMap<String, MetaSchema>,
    r: &'a MetaSchemaRef,
) -> Option<&'a MetaSchema> {
    match r {
        MetaSchemaRef::Inline(s) => Some(s),
        MetaSchemaRef::Reference(name) => schemas.get(name),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn field_name(path: &str) -> String {
    if path.is_empty() {
        "body".to_string()
    } else {
        path.to_string()
    }
}

/// Checks `value` against `schema`, appending one error per problem found.
fn check(
    schemas: &std::collections::BTreeMap<String, MetaSchema>,
    schema: &MetaSchemaRef,
    value: &Value,
    path: &str,
    errors: &mut Vec<FieldError>,
) {
    let Some(s) = resolve(schemas, schema) else {
        return;
    };
    if value.is_null() {
        if !s.nullable {
            errors.push(FieldError::new(
                field_name(path),
                "invalid_type",
                "must not be null",
            ));
        }
        return;
    }
    // Wrappers such as `allOf: [$ref]` carry the real schema inside.
    if s.ty == "object"
        && s.properties.is_empty()
        && s.additional_properties.is_none()
        && !s.all_of.is_empty()
    {
        for inner in &s.all_of {
            check(schemas, inner, value, path, errors);
        }
        return;
    }
    if !s.all_of.is_empty() && s.properties.is_empty() {
        for inner in &s.all_of {
            check(schemas, inner, value, path, errors);
        }
    }
    let field = field_name(path);
    match s.ty {
        "object" => {
            let Some(obj) = value.as_object() else {
                errors.push(FieldError::new(field, "invalid_type", "must be an object"));
                return;
            };
            if let Some(additional) = &s.additional_properties {
                for (k, v) in obj {
                    check(schemas, additional, v, &join(path, k), errors);
                }
                return;
            }
            if s.properties.is_empty()
                && s.all_of.is_empty()
                && s.any_of.is_empty()
                && s.one_of.is_empty()
            {
                return;
            }
            let props: HashMap<&str, &MetaSchemaRef> =
                s.properties.iter().map(|(k, v)| (*k, v)).collect();
            for k in obj.keys() {
                if !props.contains_key(k.as_str()) {
                    errors.push(FieldError::new(
                        join(path, k),
                        "unknown_field",
                        "is not a field of this request",
                    ));
                }
            }
            for req in &s.required {
                if obj
                    .get(*req)
                    .is_none_or(|v| v.is_null() && !is_nullable(schemas, props.get(req).copied()))
                {
                    errors.push(FieldError::new(join(path, req), "required", "is required"));
                }
            }
            for (k, v) in obj {
                if let Some(p) = props.get(k.as_str()) {
                    if v.is_null() && s.required.contains(&k.as_str()) {
                        continue; // already reported as required
                    }
                    check(schemas, p, v, &join(path, k), errors);
                }
            }
        }
        "array" => {
            let Some(items) = value.as_array() else {
                errors.push(FieldError::new(field, "invalid_type", "must be an array"));
                return;
            };
            if let Some(max) = s.max_items
                && items.len() > max
            {
                errors.push(FieldError::new(
                    field.clone(),
                    "max_items",
                    format!("may have at most {max} items"),
                ));
            }
            if let Some(min) = s.min_items
                && items.len() < min
            {
                errors.push(FieldError::new(
                    field.clone(),
                    "min_items",
                    format!("must have at least {min} items"),
                ));
            }
            if let Some(item_schema) = &s.items {
                for (i, item) in items.iter().enumerate().take(200) {
                    check(schemas, item_schema, item, &format!("{field}[{i}]"), errors);
                }
            }
        }
        "string" => {
            let Some(text) = value.as_str() else {
                errors.push(FieldError::new(field, "invalid_type", "must be a string"));
                return;
            };
            if !s.enum_items.is_empty() {
                if !s.enum_items.iter().any(|e| e.as_str() == Some(text)) {
                    let allowed: Vec<&str> =
                        s.enum_items.iter().filter_map(|e| e.as_str()).collect();
                    errors.push(FieldError::new(
                        field,
                        "invalid_value",
                        format!("must be one of: {}", allowed.join(", ")),
                    ));
                }
                return;
            }
            let chars = text.chars().count();
            if let Some(max) = s.max_length
                && chars > max
            {
                errors.push(FieldError::new(
                    field.clone(),
                    "max_length",
                    format!("may be at most {max} characters"),
                ));
                return;
            }
            if let Some(min) = s.min_length
                && chars < min
            {
                errors.push(FieldError::new(
                    field.clone(),
                    "min_length",
                    format!("must be at least {min} characters"),
                ));
                return;
            }
            if let Some(pattern) = &s.pattern
                && !pattern_matches(pattern, text)
            {
                errors.push(FieldError::new(
                    field.clone(),
                    "invalid_format",
                    format!("must match {pattern}"),
                ));
                return;
            }
            let ok = match s.format {
                Some("uuid") => uuid::Uuid::parse_str(text).is_ok(),
                Some("date" | "naive-date") => {
                    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok()
                }
                Some("date-time") => chrono::DateTime::parse_from_rfc3339(text).is_ok(),
                Some("email") => validator::ValidateEmail::validate_email(&text),
                _ => true,
            };
            if !ok {
                let format = s.format.unwrap_or_default();
                errors.push(FieldError::new(
                    field,
                    "invalid_format",
                    format!("must be a valid {format}"),
                ));
            }
        }
        "integer" | "number" => {
            let n = match (s.ty, value) {
                ("integer", Value::Number(n)) if n.is_i64() || n.is_u64() => n.as_f64(),
                ("number", Value::Number(n)) => n.as_f64(),
                _ => None,
            };
            let Some(n) = n else {
                errors.push(FieldError::new(
                    field,
                    "invalid_type",
                    format!("must be an {}", s.ty),
                ));
                return;
            };
            if let Some(max) = s.maximum
                && n > max
            {
                errors.push(FieldError::new(
                    field.clone(),
                    "maximum",
                    format!("may be at most {max}"),
                ));
            }
            if let Some(min) = s.minimum
                && n < min
            {
                errors.push(FieldError::new(
                    field,
                    "minimum",
                    format!("must be at least {min}"),
                ));
            }
        }
        "boolean" if !value.is_boolean() => {
            errors.push(FieldError::new(
                field,
                "invalid_type",
                "must be true or false",
            ));
        }
        _ => {}
    }
}

/// JSON has one number type: `16.0` is the integer 16 (as JSON Schema's `integer` says), so whole
/// numbers written with a fraction are read as integers.
fn integral_numbers(value: &mut Value) {
    match value {
        Value::Number(n) if !(n.is_i64() || n.is_u64()) => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.abs() < 9_007_199_254_740_992.0
            {
                *value = Value::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_numbers),
        Value::Object(map) => map.values_mut().for_each(integral_numbers),
        _ => {}
    }
}

/// Every string in the body, keys included, is checked for control characters (one rule for all input:
/// `domain::forbidden_character`), whatever the schema says about it.
fn control_characters(value: &Value, path: &str, errors: &mut Vec<FieldError>) {
    match value {
        Value::String(text) => {
            if let Some(c) = domain::forbidden_character(text) {
                errors.push(FieldError::new(
                    field_name(path),
                    "invalid_value",
                    domain::forbidden_character_message(c),
                ));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate().take(200) {
                control_characters(item, &format!("{}[{i}]", field_name(path)), errors);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                let field = join(path, k);
                if let Some(c) = domain::forbidden_character(k) {
                    errors.push(FieldError::new(
                        field.clone(),
                        "invalid_value",
                        domain::forbidden_character_message(c),
                    ));
                }
                control_characters(v, &field, errors);
            }
        }
        _ => {}
    }
}

fn is_nullable(
    schemas: &std::collections::BTreeMap<String, MetaSchema>,
    r: Option<&MetaSchemaRef>,
) -> bool {
    r.and_then(|r| resolve(schemas, r))
        .is_some_and(|s| s.nullable)
}

/// Whether `text` matches a schema's `pattern` (an ECMA-262 regular expression; the API's are
/// anchored and within what the `regex` crate reads). Each pattern is compiled once per process.
fn pattern_matches(pattern: &str, text: &str) -> bool {
    use std::sync::{Mutex, OnceLock};
    static COMPILED: OnceLock<Mutex<HashMap<String, regex::Regex>>> = OnceLock::new();
    let cache = COMPILED.get_or_init(Default::default);
    let mut cache = cache.lock().expect("pattern cache");
    if !cache.contains_key(pattern) {
        match regex::Regex::new(pattern) {
            Ok(re) => {
                cache.insert(pattern.to_string(), re);
            }
            Err(e) => {
                // A pattern the server itself declared and cannot read is a bug, not bad input.
                tracing::error!(pattern, error = %e, "a schema pattern does not compile");
                return true;
            }
        }
    }
    cache[pattern].is_match(text)
}

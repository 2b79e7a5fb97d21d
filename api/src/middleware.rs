//! The layers around every request: request id, body limit, problem+json for every error, security
//! headers, one structured log line (no personal data, no tokens) and the metrics.
use std::{sync::Arc, time::Instant};

use poem::{
    Endpoint, IntoResponse, Middleware, Request, Response, Result,
    http::{HeaderValue, StatusCode, header},
};
use poem_openapi::OperationId;

use crate::{
    body::BODY_LIMIT, domain::forbidden_character, error::from_poem_error, request_id,
    state::AppState,
};

/// The conventions, knowing the API's path templates (to name a path parameter in an error).
pub struct Conventions {
    paths: Arc<PathTemplates>,
}

impl Conventions {
    pub fn new(paths: PathTemplates) -> Self {
        Self {
            paths: Arc::new(paths),
        }
    }
}

impl<E: Endpoint> Middleware<E> for Conventions {
    type Output = ConventionsEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        ConventionsEndpoint {
            inner: ep,
            paths: self.paths.clone(),
        }
    }
}

pub struct ConventionsEndpoint<E> {
    inner: E,
    paths: Arc<PathTemplates>,
}

/// The API's path templates (`/api/v1/candidates/{id}`), split at `/`, with the methods each takes.
#[derive(Debug, Default)]
pub struct PathTemplates(Vec<(Vec<String>, Vec<String>)>);

impl PathTemplates {
    /// From `(template, methods)` pairs; the methods in any case.
    pub fn new<'a>(templates: impl IntoIterator<Item = (&'a str, Vec<String>)>) -> Self {
        Self(
            templates
                .into_iter()
                .map(|(t, methods)| {
                    let mut methods: Vec<String> =
                        methods.iter().map(|m| m.to_ascii_uppercase()).collect();
                    // poem answers HEAD wherever there is a GET.
                    if methods.iter().any(|m| m == "GET") {
                        methods.push("HEAD".into());
                    }
                    (t.split('/').map(str::to_string).collect(), methods)
                })
                .collect(),
        )
    }

    /// The name of the path parameter at segment `index` of `path` (split at `/`); `None` outside the
    /// API or for a literal segment.
    pub fn parameter(&self, path: &str, index: usize) -> Option<&str> {
        let segments: Vec<&str> = path.split('/').collect();
        self.0
            .iter()
            .map(|(t, _)| t)
            .filter(|t| t.len() == segments.len())
            .find(|t| {
                t.iter()
                    .zip(&segments)
                    .enumerate()
                    .all(|(i, (want, got))| i == index || is_parameter(want) || want == got)
            })
            .and_then(|t| t[index].strip_prefix('{')?.strip_suffix('}'))
    }

    /// The methods `path` takes, by the template that matches it; `None` for a path the API does not
    /// have.
    pub fn allowed_methods(&self, path: &str) -> Option<&[String]> {
        self.matching(path).map(|(_, methods)| methods.as_slice())
    }

    /// The name of the `n`-th parameter (from 0, left to right) of the template `path` matches:
    /// poem-openapi calls it `param{n}` when its value does not parse.
    pub fn nth_parameter(&self, path: &str, n: usize) -> Option<&str> {
        let (template, _) = self.matching(path)?;
        template
            .iter()
            .filter(|s| is_parameter(s))
            .nth(n)
            .map(|s| &s[1..s.len() - 1])
    }

    /// The template `path` matches with the most literal segments (`/read-all` before `/{id}`), the
    /// way the router chooses.
    fn matching(&self, path: &str) -> Option<&(Vec<String>, Vec<String>)> {
        let segments: Vec<&str> = path.split('/').collect();
        self.0
            .iter()
            .filter(|(t, _)| t.len() == segments.len())
            .filter_map(|entry| {
                let mut literal = 0;
                let matches = entry.0.iter().zip(&segments).all(|(want, got)| {
                    if want == got {
                        literal += 1;
                        true
                    } else {
                        is_parameter(want) && !got.is_empty()
                    }
                });
                matches.then_some((literal, entry))
            })
            .max_by_key(|(literal, _)| *literal)
            .map(|(_, entry)| entry)
    }
}

tokio::task_local! {
    /// The API's path templates and the path being served, so that an error raised without the
    /// request (poem-openapi's `bad_request_handler`) can still name a path parameter.
    static SERVING: (Arc<PathTemplates>, Arc<str>);
}

/// The spec's name for the `n`-th path parameter of the request being served; `None` outside a
/// request or for a path the API does not have.
pub fn path_parameter_name(n: usize) -> Option<String> {
    SERVING
        .try_with(|(paths, path)| paths.nth_parameter(path, n).map(str::to_string))
        .ok()
        .flatten()
}

fn is_parameter(segment: &str) -> bool {
    segment.starts_with('{') && segment.ends_with('}')
}

fn valid_request_id(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 100
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl<E: Endpoint> Endpoint for ConventionsEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let started = Instant::now();
        let request_id = req
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| valid_request_id(v))
            .map(str::to_string)
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        let method = req.method().clone();
        // Paths of the candidate calendar feed carry a secret; log the route shape only.
        let path: Arc<str> = req.uri().path().into();
        let state = req.data::<AppState>().cloned();

        let serving = (self.paths.clone(), path.clone());
        let response = request_id::scope(
            request_id.clone(),
            SERVING.scope(serving, async {
                if let Some(resp) = limit_body(&mut req).await {
                    return resp;
                }
                if let Some(err) = check_url(&req, &self.paths) {
                    return err.into_response();
                }
                match self.inner.call(req).await {
                    Ok(resp) => resp.into_response(),
                    Err(err) => {
                        let op = err.data::<OperationId>().map(|o| o.0);
                        // An operation's own answer (the `ApiError` it returned) is already a
                        // problem; keep it. Only poem's own failures need mapping.
                        let mut resp = if err.is_from_response() {
                            err.into_response()
                        } else {
                            from_poem_error(&err).into_response()
                        };
                        if let Some(op) = op {
                            resp.set_data(OperationId(op));
                        }
                        resp
                    }
                }
            }),
        )
        .await;
        let mut resp = response;
        if path.starts_with("/api/") {
            if resp.status() == StatusCode::METHOD_NOT_ALLOWED {
                method_not_allowed(&mut resp, &path, &self.paths);
            }
            if &*path == TOKEN_PATH {
                resp = oauth_shaped(resp).await;
            }
        }
        finish(&mut resp, &request_id, path.starts_with("/api/"));
        let status = resp.status().as_u16();
        let elapsed = started.elapsed().as_secs_f64();
        let operation = resp.data::<OperationId>().map(|o| o.0).unwrap_or("-");
        if let Some(state) = state {
            state.metrics.observe(operation, status, elapsed);
        }
        tracing::info!(
            target: "ips::request",
            request_id = %request_id,
            method = %method,
            operation,
            status,
            duration_ms = (elapsed * 1000.0) as u64,
        );
        Ok(resp)
    }
}

/// Refuses control characters in the URL's query parameters, path segments and the refresh cookie
/// (percent-decoded),
/// naming the parameter: the same rule as for bodies (`domain::forbidden_character`), applied before
/// any parameter reaches an operation or the database. An `If-Match` that is not ASCII is refused
/// too.
fn check_url(req: &Request, paths: &PathTemplates) -> Option<crate::error::ApiError> {
    let bad = |field: &str, c: char| {
        crate::error::ApiError::field(
            field,
            "invalid_value",
            crate::domain::forbidden_character_message(c),
        )
    };
    if let Some(query) = req.uri().query() {
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            if let Some(c) = forbidden_character(&k).or_else(|| forbidden_character(&v)) {
                return Some(bad(&k, c));
            }
        }
    }
    // poem reads a header that is not plain ASCII as absent; an `If-Match` of that kind is not "no
    // precondition" but a malformed one.
    if req
        .headers()
        .get(header::IF_MATCH)
        .is_some_and(|v| v.to_str().is_err())
    {
        return Some(crate::error::ApiError::field(
            "If-Match",
            "invalid_value",
            "must be an ETag this API returned, e.g. \"3\"",
        ));
    }
    // The one cookie the API declares: read the raw header (poem passes over a cookie header that is
    // not ASCII, so such a cookie would otherwise be "absent"), as sent and percent-decoded.
    for value in req.headers().get_all(header::COOKIE) {
        // UTF-8 when it is; otherwise the bytes as Latin-1 (what HTTP clients send), so that a lone
        // C1 control byte is seen as one.
        let value = match std::str::from_utf8(value.as_bytes()) {
            Ok(text) => text.to_owned(),
            Err(_) => value.as_bytes().iter().map(|&b| char::from(b)).collect(),
        };
        for (name, raw) in value.split(';').filter_map(|c| c.trim().split_once('=')) {
            if name != crate::routes::auth::REFRESH_COOKIE {
                continue;
            }
            let decoded = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
            if let Some(c) = forbidden_character(raw).or_else(|| forbidden_character(&decoded)) {
                return Some(bad(name, c));
            }
        }
    }
    let path = req.uri().path();
    for (i, segment) in path.split('/').enumerate() {
        let decoded = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
        if let Some(c) = forbidden_character(&decoded) {
            return Some(bad(paths.parameter(path, i).unwrap_or("path"), c));
        }
    }
    None
}

/// Reads the body into memory up to the limit; larger bodies get 413 at once.
async fn limit_body(req: &mut Request) -> Option<Response> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = || crate::error::ApiError::payload_too_large().into_response();
    if declared.is_some_and(|n| n > BODY_LIMIT as u64) {
        return Some(too_large());
    }
    let has_body =
        declared.is_some_and(|n| n > 0) || req.headers().contains_key(header::TRANSFER_ENCODING);
    if !has_body {
        return None;
    }
    let stopping = req.extensions().get::<crate::server::Stopping>().cloned();
    let read = req.take_body().into_bytes_limit(BODY_LIMIT);
    let read = async {
        match stopping {
            // A client still sending its body when shutdown starts is told to try again elsewhere.
            Some(stopping) => tokio::select! {
                read = read => Some(read),
                _ = stopping.wait() => None,
            },
            None => Some(read.await),
        }
    };
    let Some(read) = read.await else {
        return Some(crate::error::ApiError::unavailable().into_response());
    };
    match read {
        Ok(bytes) => {
            req.set_body(bytes);
            None
        }
        Err(poem::error::ReadBodyError::PayloadTooLarge) => Some(too_large()),
        Err(_) => Some(
            crate::error::ApiError::field("body", "malformed", "the body could not be read")
                .into_response(),
        ),
    }
}

/// The client-credentials endpoint, which answers every error the RFC 6749 way.
const TOKEN_PATH: &str = "/api/v1/oauth/token";

/// A 405 for a path of the API lists the methods the path takes in `Allow`; a path the API does not
/// have is a 404 instead.
fn method_not_allowed(resp: &mut Response, path: &str, paths: &PathTemplates) {
    match paths.allowed_methods(path) {
        Some(methods) => {
            if let Ok(v) = HeaderValue::from_str(&methods.join(", ")) {
                resp.headers_mut().insert(header::ALLOW, v);
            }
        }
        None => *resp = crate::error::ApiError::not_found().into_response(),
    }
}

/// The token endpoint's own errors are already RFC 6749 errors; the problems answered around it (a body
/// too large, shutting down, a wrong method) are said the same way, so OAuth clients read every error.
async fn oauth_shaped(resp: Response) -> Response {
    let is_problem = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if !is_problem {
        return resp;
    }
    let status = resp.status();
    let allow = resp.headers().get(header::ALLOW).cloned();
    let bytes = resp.into_body().into_vec().await.unwrap_or_default();
    let detail = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|p| p["detail"].as_str().map(str::to_string))
        .unwrap_or_default();
    let mut out =
        crate::routes::auth::TokenAnswer::from_problem(status.as_u16(), &detail).into_response();
    // A wrong method keeps its status and `Allow`.
    if status == StatusCode::METHOD_NOT_ALLOWED {
        out.set_status(status);
        if let Some(allow) = allow {
            out.headers_mut().insert(header::ALLOW, allow);
        }
    }
    out
}

fn finish(resp: &mut Response, request_id: &str, api: bool) {
    // Outside the API (the portal), a method a path does not take is simply not there.
    if !api && resp.status() == StatusCode::METHOD_NOT_ALLOWED {
        *resp = crate::error::ApiError::not_found().into_response();
    }
    let headers = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("x-request-id", v);
    }
    if api {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

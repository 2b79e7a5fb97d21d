//! The layers around every request: request id, body limit, problem+json for every error, security
//! headers, one structured log line (no personal data, no tokens) and the metrics.
use std::time::Instant;

use poem::{
    Endpoint, IntoResponse, Middleware, Request, Response, Result,
    http::{HeaderValue, StatusCode, header},
};
use poem_openapi::OperationId;

use crate::{error::from_poem_error, state::AppState};

/// Request bodies above this are refused with 413.
pub const BODY_LIMIT: usize = 64 * 1024;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being served, for audit entries and error logs.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(|id| id.clone()).ok()
}

pub struct Conventions;

impl<E: Endpoint> Middleware<E> for Conventions {
    type Output = ConventionsEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        ConventionsEndpoint { inner: ep }
    }
}

pub struct ConventionsEndpoint<E> {
    inner: E,
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
        let path = req.uri().path().to_string();
        let state = req.data::<AppState>().cloned();

        let response = REQUEST_ID
            .scope(request_id.clone(), async {
                if let Some(resp) = limit_body(&mut req).await {
                    return resp;
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
            })
            .await;
        let mut resp = response;
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
    match req.take_body().into_bytes_limit(BODY_LIMIT).await {
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

fn finish(resp: &mut Response, request_id: &str, api: bool) {
    let headers = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("x-request-id", v);
    }
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    if api {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if !headers.contains_key("x-frame-options") {
        headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    }
    // poem answers unknown methods/paths itself; keep those in the problem shape too.
    if resp.status() == StatusCode::METHOD_NOT_ALLOWED {
        resp.set_status(StatusCode::NOT_FOUND);
    }
}

//! `Idempotency-Key` for every POST: the first response (anything but a 5xx) is stored for 24 hours
//! per caller and key; a repeat with the same body gets it again, another body gets 422, and a repeat
//! while the first is still running gets 409.
//!
//! A replay answers without running the operation, so it must not answer what a fresh request would
//! refuse. It passes the same checks: the full token check (signature, a live session, a principal
//! whose role and municipality are unchanged), then every access check the first request passed (its
//! *access trail*: capabilities granted and candidates reached, see `domain::access`), against the data
//! as it is now. A consultant whose candidate was reassigned away gets 404, as a fresh request would.
//!
//! Stored answers are sealed with the key-encryption key and purged after 24 hours. Answers that carry
//! a secret made by the request (an invitation code, a client secret, a calendar-feed address) are
//! never stored: a repeat of such a request gets 409 and is told where to read the resource.
use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use entity::{idempotency_key as ik, types::IdempotencyState};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result, http::Method};
use poem_openapi::payload::Json;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use crate::{
    auth::{self, Caller},
    crypto::Purpose,
    db::Db,
    domain::{
        self,
        access::{self, Check, Trail},
        sha256_hex,
    },
    error::{ApiError, Problem},
    state::AppState,
};

/// Keys live this long.
const TTL_HOURS: i64 = 24;
/// A key still `in_progress` after this long belongs to a request that died; it may be retried.
const ABANDONED_SECS: i64 = 120;
const REPLAYED: [&str; 4] = ["content-type", "etag", "location", "set-cookie"];
/// Expired keys deleted per statement, and statements per background tick.
const PURGE_BATCH: u64 = 500;
const PURGE_BATCHES_PER_TICK: usize = 20;

pub struct Idempotency;

impl<E: Endpoint> Middleware<E> for Idempotency {
    type Output = IdempotencyEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        IdempotencyEndpoint { inner: ep }
    }
}

pub struct IdempotencyEndpoint<E> {
    inner: E,
}

impl<E: Endpoint> IdempotencyEndpoint<E> {
    async fn pass(&self, req: Request) -> Result<Response> {
        self.inner.call(req).await.map(IntoResponse::into_response)
    }
}

impl<E: Endpoint> Endpoint for IdempotencyEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let key = req
            .headers()
            .get("idempotency-key")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        // Tokens are never stored: the identity operations are left alone.
        let path = req.original_uri().path();
        let identity = path.contains("/auth/") || path.contains("/oauth/");
        let (Some(key), true) = (key, req.method() == Method::POST && !identity) else {
            return self.pass(req).await;
        };
        // The spec's `spec::IDEMPOTENCY_KEY_PATTERN`: no control characters, no spaces, ASCII.
        if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            let message = match domain::forbidden_character(&key) {
                Some(c) => domain::forbidden_character_message(c),
                None => "must be 1–255 visible ASCII characters (no spaces)".to_string(),
            };
            return Ok(ApiError::field("Idempotency-Key", "invalid_value", message).into_response());
        }
        let Some(state) = req.data::<AppState>().cloned() else {
            return self.pass(req).await;
        };
        // Keys are per caller. Without a token that passes every check, the operation answers 401
        // itself, exactly as without the header.
        let token = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_string);
        let caller = match token {
            Some(t) => auth::authenticate(&state, &t).await.ok(),
            None => None,
        };
        let Some(caller) = caller else {
            return self.pass(req).await;
        };
        let body = req.take_body().into_bytes().await.unwrap_or_default();
        let mut material = format!("{} {}\n", req.method(), req.uri().path()).into_bytes();
        material.extend_from_slice(&body);
        let request_hash = sha256_hex(&material);
        req.set_body(body);

        match claim(&state.db, caller.id, &key, &request_hash).await {
            Ok(Claim::Fresh(id)) => {
                let (resp, trail) = access::with_trail(self.inner.call(req)).await;
                let resp = match resp {
                    Ok(r) => r.into_response(),
                    Err(e) if e.is_from_response() => e.into_response(),
                    Err(e) => crate::error::from_poem_error(&e).into_response(),
                };
                store(&state, id, resp, trail).await
            }
            Ok(Claim::Replay(row)) => Ok(replay(&state, &caller, row).await),
            Err(e) => Ok(e.into_response()),
        }
    }
}

enum Claim {
    Fresh(Uuid),
    Replay(Box<ik::Model>),
}

async fn claim(db: &Db, principal: Uuid, key: &str, request_hash: &str) -> Result<Claim, ApiError> {
    let now = Utc::now();
    ik::Entity::delete_many()
        .filter(ik::Column::PrincipalId.eq(principal))
        .filter(ik::Column::Key.eq(key))
        .filter(
            ik::Column::CreatedAt
                .lt(now - Duration::hours(TTL_HOURS))
                .or(ik::Column::State
                    .eq(IdempotencyState::InProgress)
                    .and(ik::Column::CreatedAt.lt(now - Duration::seconds(ABANDONED_SECS)))),
        )
        .exec(db.write())
        .await?;
    let id = Uuid::now_v7();
    let inserted = ik::ActiveModel {
        id: Set(id),
        principal_id: Set(principal),
        key: Set(key.to_string()),
        request_hash: Set(request_hash.to_string()),
        state: Set(IdempotencyState::InProgress),
        status_code: Set(None),
        response_headers: Set(None),
        response_body: Set(None),
        created_at: Set(now),
        access_checks: Set(None),
        secret_withheld: Set(false),
    }
    .insert(db.write())
    .await;
    match inserted {
        Ok(_) => Ok(Claim::Fresh(id)),
        Err(e)
            if matches!(
                e.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) =>
        {
            let existing = ik::Entity::find()
                .filter(ik::Column::PrincipalId.eq(principal))
                .filter(ik::Column::Key.eq(key))
                .one(db.write())
                .await?
                .ok_or_else(|| {
                    ApiError::conflict(
                        "The request with this Idempotency-Key is still being processed.",
                    )
                })?;
            if existing.request_hash != request_hash {
                return Err(ApiError::unprocessable(
                    "This Idempotency-Key was used with another request; use a new key for a new request.",
                ));
            }
            if existing.state != IdempotencyState::Done {
                return Err(ApiError::conflict(
                    "The first request with this Idempotency-Key is still being processed.",
                ));
            }
            Ok(Claim::Replay(Box::new(existing)))
        }
        Err(e) => Err(e.into()),
    }
}

/// The stored answer, after the caller passed again every check the first request passed.
async fn replay(state: &AppState, caller: &Caller, row: Box<ik::Model>) -> Response {
    let checks: Vec<Check> = match row.access_checks.as_deref().map(serde_json::from_str) {
        Some(Ok(checks)) => checks,
        _ => {
            tracing::error!("an idempotency record has no readable access checks");
            return ApiError::internal().into_response();
        }
    };
    for check in &checks {
        if let Err(e) = caller.recheck(state, check).await {
            return e.into_response();
        }
    }
    let headers: BTreeMap<String, String> = row
        .response_headers
        .as_deref()
        .and_then(|h| serde_json::from_str(h).ok())
        .unwrap_or_default();
    if row.secret_withheld {
        let location = headers.get("location").cloned();
        let mut problem = Problem::new(
            409,
            "idempotent-answer-withheld",
            "Answer not kept",
            match &location {
                Some(l) => format!(
                    "The first request with this Idempotency-Key succeeded. Its answer held a secret, \
                     which is never stored: read the resource at {l}, and ask for a new secret or \
                     invitation if you need one."
                ),
                None => "The first request with this Idempotency-Key succeeded. Its answer held a \
                         secret, which is never stored: make a new request (with a new key) to get a \
                         new one."
                    .to_string(),
            },
        );
        problem.existing_id = location
            .as_deref()
            .and_then(|l| l.rsplit('/').next())
            .and_then(|id| Uuid::parse_str(id).ok());
        let mut resp = ApiError::Conflict(Json(problem)).into_response();
        if let Some(l) = location.and_then(|l| l.parse().ok()) {
            resp.headers_mut().insert("location", l);
        }
        return resp;
    }
    let body = match row.response_body.as_deref().map(|sealed| {
        state.kek.open(
            Purpose::IdempotentAnswer,
            &row.id.to_string(),
            &String::from_utf8_lossy(sealed),
        )
    }) {
        Some(Ok(body)) => body,
        None => Vec::new(),
        Some(Err(e)) => {
            tracing::error!(error = %e, "a stored idempotent answer could not be opened");
            return ApiError::internal().into_response();
        }
    };
    let mut builder = Response::builder()
        .status(
            poem::http::StatusCode::from_u16(row.status_code.unwrap_or(200) as u16)
                .unwrap_or_default(),
        )
        .header("idempotent-replayed", "true");
    for (k, v) in headers {
        builder = builder.header(k, v);
    }
    builder.body(body)
}

async fn store(state: &AppState, id: Uuid, resp: Response, trail: Trail) -> Result<Response> {
    let status = resp.status();
    if status.is_server_error() {
        let _ = ik::Entity::delete_by_id(id).exec(state.db.write()).await;
        return Ok(resp);
    }
    let (parts, body) = resp.into_parts();
    let bytes = body.into_vec().await.unwrap_or_default();
    let headers: BTreeMap<String, String> = REPLAYED
        .iter()
        .flat_map(|name| {
            parts
                .headers
                .get_all(*name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .map(|v| (name.to_string(), v.to_string()))
                .next_back()
        })
        .filter(|(name, _)| !trail.secret || name != "set-cookie")
        .collect();
    let sealed = (!trail.secret).then(|| {
        state
            .kek
            .seal(Purpose::IdempotentAnswer, &id.to_string(), &bytes)
            .into_bytes()
    });
    let checks = serde_json::to_string(&trail.checks).unwrap_or_else(|_| "[]".into());
    let _ = ik::Entity::update_many()
        .col_expr(ik::Column::State, Expr::value(IdempotencyState::Done))
        .col_expr(ik::Column::StatusCode, Expr::value(status.as_u16() as i32))
        .col_expr(
            ik::Column::ResponseHeaders,
            Expr::value(serde_json::to_string(&headers).unwrap_or_default()),
        )
        .col_expr(ik::Column::ResponseBody, Expr::value(sealed))
        .col_expr(ik::Column::AccessChecks, Expr::value(checks))
        .col_expr(ik::Column::SecretWithheld, Expr::value(trail.secret))
        .filter(ik::Column::Id.eq(id))
        .exec(state.db.write())
        .await;
    let mut resp = Response::from_parts(parts, bytes.into());
    resp.headers_mut().remove("content-length");
    Ok(resp)
}

/// Deletes keys older than 24 hours in bounded batches (background jobs); returns how many.
pub async fn purge(db: &Db) -> Result<u64, sea_orm::DbErr> {
    let cutoff = Utc::now() - Duration::hours(TTL_HOURS);
    let mut total = 0;
    for _ in 0..PURGE_BATCHES_PER_TICK {
        let ids: Vec<Uuid> = ik::Entity::find()
            .select_only()
            .column(ik::Column::Id)
            .filter(ik::Column::CreatedAt.lt(cutoff))
            .limit(PURGE_BATCH)
            .into_tuple()
            .all(db.read())
            .await?;
        if ids.is_empty() {
            break;
        }
        let res = ik::Entity::delete_many()
            .filter(ik::Column::Id.is_in(ids))
            .filter(ik::Column::CreatedAt.lt(cutoff))
            .exec(db.write())
            .await?;
        total += res.rows_affected;
    }
    Ok(total)
}

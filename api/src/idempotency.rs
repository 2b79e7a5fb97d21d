//! `Idempotency-Key` for every POST: the first response (anything but a 5xx) is stored for 24 hours
//! per caller and key; a repeat with the same body gets it again, another body gets 422, and a repeat
//! while the first is still running gets 409.
use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use entity::idempotency_key as ik;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result, http::Method};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use crate::{domain::identity::sha256_hex, error::ApiError, state::AppState};

/// Keys live this long.
const TTL_HOURS: i64 = 24;
/// A key still `in_progress` after this long belongs to a request that died; it may be retried.
const ABANDONED_SECS: i64 = 120;
const REPLAYED: [&str; 4] = ["content-type", "etag", "location", "set-cookie"];

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

impl<E: Endpoint> Endpoint for IdempotencyEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let key = req
            .headers()
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        // Tokens are never stored: the identity operations are left alone.
        let path = req.original_uri().path();
        let identity = path.contains("/auth/") || path.contains("/oauth/");
        let (Some(key), true) = (key, req.method() == Method::POST && !identity) else {
            return self.inner.call(req).await.map(IntoResponse::into_response);
        };
        if key.is_empty() || key.len() > 255 {
            return Ok(ApiError::field(
                "Idempotency-Key",
                "invalid_value",
                "must be 1–255 characters",
            )
            .into_response());
        }
        let Some(state) = req.data::<AppState>().cloned() else {
            return self.inner.call(req).await.map(IntoResponse::into_response);
        };
        // Keys are per caller; without a valid token the operation answers 401 itself.
        let token = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_string);
        let Some(claims) = (match token {
            Some(t) => state.keys.verify(&state.db, &t).await,
            None => None,
        }) else {
            return self.inner.call(req).await.map(IntoResponse::into_response);
        };
        let body = req.take_body().into_bytes().await.unwrap_or_default();
        let mut material = format!("{} {}\n", req.method(), req.uri().path()).into_bytes();
        material.extend_from_slice(&body);
        let request_hash = sha256_hex(&material);
        req.set_body(body);

        match claim(&state, claims.sub, &key, &request_hash).await {
            Ok(Claim::Fresh(id)) => {
                let resp = self.inner.call(req).await.map(IntoResponse::into_response);
                let resp = match resp {
                    Ok(r) => r,
                    Err(e) if e.is_from_response() => e.into_response(),
                    Err(e) => crate::error::from_poem_error(&e).into_response(),
                };
                store(&state, id, resp).await
            }
            Ok(Claim::Replay(resp)) => Ok(resp),
            Err(e) => Ok(e.into_response()),
        }
    }
}

enum Claim {
    Fresh(Uuid),
    Replay(Response),
}

async fn claim(
    state: &AppState,
    principal: Uuid,
    key: &str,
    request_hash: &str,
) -> Result<Claim, ApiError> {
    let db = &state.db;
    let now = Utc::now();
    ik::Entity::delete_many()
        .filter(ik::Column::PrincipalId.eq(principal))
        .filter(ik::Column::Key.eq(key))
        .filter(
            ik::Column::CreatedAt
                .lt(now - Duration::hours(TTL_HOURS))
                .or(ik::Column::State
                    .eq("in_progress")
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
        state: Set("in_progress".into()),
        status_code: Set(None),
        response_headers: Set(None),
        response_body: Set(None),
        created_at: Set(now),
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
            if existing.state != "done" {
                return Err(ApiError::conflict(
                    "The first request with this Idempotency-Key is still being processed.",
                ));
            }
            Ok(Claim::Replay(replay(existing)))
        }
        Err(e) => Err(e.into()),
    }
}

fn replay(row: ik::Model) -> Response {
    let mut builder = Response::builder()
        .status(
            poem::http::StatusCode::from_u16(row.status_code.unwrap_or(200) as u16)
                .unwrap_or_default(),
        )
        .header("idempotent-replayed", "true");
    let headers: BTreeMap<String, String> = row
        .response_headers
        .as_deref()
        .and_then(|h| serde_json::from_str(h).ok())
        .unwrap_or_default();
    for (k, v) in headers {
        builder = builder.header(k, v);
    }
    builder.body(row.response_body.unwrap_or_default())
}

async fn store(state: &AppState, id: Uuid, resp: Response) -> Result<Response> {
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
        .collect();
    let _ = ik::Entity::update_many()
        .col_expr(ik::Column::State, Expr::value("done"))
        .col_expr(ik::Column::StatusCode, Expr::value(status.as_u16() as i32))
        .col_expr(
            ik::Column::ResponseHeaders,
            Expr::value(serde_json::to_string(&headers).unwrap_or_default()),
        )
        .col_expr(ik::Column::ResponseBody, Expr::value(bytes.clone()))
        .filter(ik::Column::Id.eq(id))
        .exec(state.db.write())
        .await;
    let mut resp = Response::from_parts(parts, bytes.into());
    resp.headers_mut().remove("content-length");
    Ok(resp)
}

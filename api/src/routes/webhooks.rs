//! `/webhooks`: a municipal system subscribes a URL to events and reads how their delivery went.
use chrono::{DateTime, Utc};
use entity::{
    ids::WebhookId,
    types::{DeliveryOutcome, EventType},
    webhook, webhook_delivery,
};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use uuid::Uuid;

use super::{
    Tag,
    common::{Cursor, Limit, Page, page},
};
use crate::{
    auth::{BearerAuth, Scope},
    body::Body,
    domain::{
        DomainError,
        webhooks::{self, NewWebhook},
    },
    error::ApiResult,
    state::AppState,
};

/// A new webhook subscription.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct WebhookCreate {
    /// Where to POST the events: an `https://` URL whose host is, and resolves to, public addresses
    /// only (loopback, private, link-local and other non-public addresses, `localhost` included, are
    /// refused). At most 2,000 characters.
    #[oai(validator(min_length = 1, max_length = 2000))]
    pub url: String,
    /// The event types to send, as `GET /events` names them in `type` (e.g.
    /// `enrollment.status_changed`), or `"*"` for every type, including types added later. 1–50 items.
    #[oai(validator(min_items = 1, max_items = 50, max_length = 64, min_length = 1))]
    pub events: Vec<String>,
    /// What the subscription is for, for the people who look after it (at most 500 characters).
    #[oai(validator(max_length = 500))]
    pub description: Option<String>,
}

/// A webhook subscription. Its secret is never shown again after creation.
#[derive(Object, Debug)]
pub struct Webhook {
    /// Id.
    pub id: WebhookId,
    /// Where the events are POSTed.
    pub url: String,
    /// The event types it gets, or `["*"]` for every type.
    pub events: Vec<String>,
    /// What it is for.
    #[oai(nullable)]
    pub description: Option<String>,
    /// `false` once it was disabled after 24 hours of failed deliveries (a coordinator's inbox then
    /// has a `webhook_disabled` item); make a new subscription to start again.
    pub active: bool,
    /// When it was disabled; `null` while active.
    #[oai(nullable)]
    pub disabled_at: Option<DateTime<Utc>>,
    /// The `seq` of the last event handled (delivered, or skipped by the filter).
    pub delivered_seq: i64,
    /// When the next attempt is due while the current event is failing; `null` when all is well.
    #[oai(nullable)]
    pub next_retry_at: Option<DateTime<Utc>>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

impl From<webhook::Model> for Webhook {
    fn from(w: webhook::Model) -> Self {
        let events = serde_json::from_str(&w.events).unwrap_or_default();
        Self {
            id: w.id,
            url: w.url,
            events,
            description: w.description,
            active: w.disabled_at.is_none(),
            disabled_at: w.disabled_at,
            delivered_seq: w.delivered_seq,
            next_retry_at: (w.attempts > 0 && w.disabled_at.is_none()).then_some(w.next_attempt_at),
            created_at: w.created_at,
        }
    }
}

/// The new subscription with its signing secret, shown once.
#[derive(Object, Debug)]
pub struct WebhookCreated {
    /// Id.
    pub id: WebhookId,
    /// The secret each delivery is signed with: `X-IPS-Signature: t=<unix seconds>,v1=<hex
    /// HMAC-SHA256(secret, "<t>.<body>")>`. Store it now: it is not shown again.
    pub secret: String,
    /// The subscription.
    pub webhook: Webhook,
}

/// One attempt to deliver an event.
#[derive(Object, Debug)]
pub struct WebhookDelivery {
    /// Id of the attempt.
    pub id: Uuid,
    /// When it was made.
    pub attempted_at: DateTime<Utc>,
    /// The event's `id` (also sent as `X-IPS-Event-Id`: the same for every attempt at one event, so
    /// a receiver can drop repeats).
    pub event_id: Uuid,
    /// The event's `seq` in the feed.
    pub event_seq: i64,
    /// The event's type.
    pub event_type: EventType,
    /// 1 for the first attempt at this event, 2 for the first retry, …
    pub attempt: i32,
    /// `delivered` (a 2xx answer), `retrying` (failed; see `next_retry_at`) or `failed` (failed after
    /// 24 hours of attempts; the subscription was disabled).
    pub outcome: DeliveryOutcome,
    /// The receiver's HTTP status; `null` when it did not answer.
    #[oai(nullable)]
    pub status_code: Option<i32>,
    /// Why it failed (e.g. `the receiver answered 500`, `timed out`, `could not connect: …`, a refused
    /// address); `null` when delivered.
    #[oai(nullable)]
    pub error: Option<String>,
    /// How long the attempt took, in milliseconds.
    pub duration_ms: i64,
    /// When the next attempt is due; `null` unless `retrying`.
    #[oai(nullable)]
    pub next_retry_at: Option<DateTime<Utc>>,
}

impl From<webhook_delivery::Model> for WebhookDelivery {
    fn from(d: webhook_delivery::Model) -> Self {
        Self {
            id: d.id,
            attempted_at: d.attempted_at,
            event_id: d.event_id,
            event_seq: d.event_seq,
            event_type: d.event_type,
            attempt: d.attempt,
            outcome: d.outcome,
            status_code: d.status_code,
            error: d.error,
            duration_ms: d.duration_ms,
            next_retry_at: d.next_retry_at,
        }
    }
}

#[derive(ApiResponse, Debug)]
pub enum WebhookCreatedResponse {
    /// Created; `secret` is shown only now.
    #[oai(status = 201)]
    Created(Json<WebhookCreated>, #[oai(header = "Location")] String),
}

#[derive(ApiResponse, Debug)]
pub enum WebhookDeleted {
    /// Deleted; nothing more is sent (an attempt already under way may still arrive).
    #[oai(status = 204)]
    Done,
}

pub struct WebhooksApi;

#[OpenApi(tag = "Tag::Events")]
impl WebhooksApi {
    /// List webhooks
    ///
    /// The municipality's subscriptions, oldest first, disabled ones included. Secrets are never
    /// listed. Coordinators and service accounts with `events:read`.
    #[oai(path = "/webhooks", method = "get", operation_id = "listWebhooks")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<Limit>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<Webhook>>> {
        let municipality = auth.0.municipality_reader(Scope::EventsRead)?;
        let (items, next_cursor) =
            webhooks::list(&state.db, municipality, page(limit.0, cursor.0)).await?;
        Ok(Json(Page::of(items, next_cursor, Into::into)))
    }

    /// Subscribe to events
    ///
    /// From now on every event of the municipality whose type is in `events` is POSTed to `url` as the
    /// same JSON document `GET /events` lists, one event per request, in `seq` order, at least once
    /// (drop repeats by `X-IPS-Event-Id`). Each request carries `X-IPS-Signature: t=<unix
    /// seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`; verify it and reject old timestamps. Any
    /// 2xx answer counts as delivered; anything else, or no answer within 10 seconds, is retried with
    /// exponential backoff for 24 hours, after which the subscription is disabled and the coordinators'
    /// inbox says so. Redirects are not followed. The answer carries the `secret` once. Coordinators
    /// and service accounts with `events:read`.
    #[oai(path = "/webhooks", method = "post", operation_id = "createWebhook")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Body<WebhookCreate>,
    ) -> ApiResult<WebhookCreatedResponse> {
        let municipality = auth.0.municipality_reader(Scope::EventsRead)?;
        let b = body.0;
        let (w, secret) = webhooks::create(
            &state.db,
            &state.kek,
            municipality,
            auth.0.id,
            NewWebhook {
                url: b.url,
                events: b.events,
                description: b.description,
            },
            state.config.webhook_allow_private,
        )
        .await
        .map_err(|e| match e {
            // The municipality's counter row always exists; its absence is not the caller's 404.
            DomainError::NotFound => {
                DomainError::Internal(format!("no event counter for {municipality}"))
            }
            other => other,
        })?;
        let location = format!("/api/v1/webhooks/{}", w.id);
        Ok(WebhookCreatedResponse::Created(
            Json(WebhookCreated {
                id: w.id,
                secret,
                webhook: w.into(),
            }),
            location,
        ))
    }

    /// Delete a webhook
    ///
    /// Stops the subscription; nothing more is sent. Coordinators and service accounts with
    /// `events:read`, of the same municipality.
    #[oai(
        path = "/webhooks/:id",
        method = "delete",
        operation_id = "deleteWebhook"
    )]
    async fn delete(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The webhook's id.
        id: Path<WebhookId>,
    ) -> ApiResult<WebhookDeleted> {
        let municipality = auth.0.municipality_reader(Scope::EventsRead)?;
        webhooks::delete(&state.db, municipality, id.0).await?;
        Ok(WebhookDeleted::Done)
    }

    /// A webhook's deliveries
    ///
    /// Every attempt to deliver an event to this subscription, newest first: when, which event, the
    /// receiver's status or the error, how long it took and when the next attempt is due.
    /// Coordinators and service accounts with `events:read`, of the same municipality.
    #[oai(
        path = "/webhooks/:id/deliveries",
        method = "get",
        operation_id = "listWebhookDeliveries"
    )]
    async fn deliveries(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The webhook's id.
        id: Path<WebhookId>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<Limit>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<WebhookDelivery>>> {
        let municipality = auth.0.municipality_reader(Scope::EventsRead)?;
        let (items, next_cursor) =
            webhooks::deliveries(&state.db, municipality, id.0, page(limit.0, cursor.0)).await?;
        Ok(Json(Page::of(items, next_cursor, Into::into)))
    }
}

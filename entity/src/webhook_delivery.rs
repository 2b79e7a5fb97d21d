//! One attempt to deliver an event to a webhook.
use sea_orm::entity::prelude::*;

use crate::{
    ids::WebhookId,
    types::{DeliveryOutcome, EventType},
};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub webhook_id: WebhookId,
    pub event_id: Uuid,
    pub event_seq: i64,
    pub event_type: EventType,
    pub attempted_at: DateTimeUtc,
    /// 1 for the first attempt at this event.
    pub attempt: i32,
    pub outcome: DeliveryOutcome,
    /// The receiver's HTTP status, when it answered.
    pub status_code: Option<i32>,
    /// Why no 2xx came back (connection refused, timeout, refused address, …).
    pub error: Option<String>,
    pub duration_ms: i64,
    /// When the next attempt is due (`retrying` only).
    pub next_retry_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

//! A webhook subscription of a municipality: where to POST which events, its place in the change feed,
//! and the lease an instance holds while it sends.
use sea_orm::entity::prelude::*;

use crate::ids::{MunicipalityId, WebhookId};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhooks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: WebhookId,
    pub municipality_id: MunicipalityId,
    pub url: String,
    /// JSON array of event type names, or `["*"]`.
    pub events: String,
    pub description: Option<String>,
    /// The signing secret, sealed with the key-encryption key (`Purpose::WebhookSecret`).
    pub secret: String,
    /// The coordinator or service account that made it.
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
    /// Set after 24 hours of failed deliveries; nothing more is sent.
    pub disabled_at: Option<DateTimeUtc>,
    /// The feed position handled last (delivered, or given up on).
    pub delivered_seq: i64,
    /// Attempts made at the next event so far.
    pub attempts: i32,
    /// When the current run of failures began.
    pub failing_since: Option<DateTimeUtc>,
    pub next_attempt_at: DateTimeUtc,
    pub lease_token: Option<Uuid>,
    pub lease_until: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

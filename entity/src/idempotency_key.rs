//! A remembered response to a POST with an `Idempotency-Key`, kept 24 hours.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub principal_id: Uuid,
    pub key: String,
    /// SHA-256 of method, path and body.
    pub request_hash: String,
    /// `in_progress` or `done`.
    pub state: String,
    pub status_code: Option<i32>,
    /// JSON object of the replayed headers.
    pub response_headers: Option<String>,
    pub response_body: Option<Vec<u8>>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

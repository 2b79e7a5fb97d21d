//! A remembered response to a POST with an `Idempotency-Key`, kept 24 hours.
use sea_orm::entity::prelude::*;

use crate::types::IdempotencyState;

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
    pub state: IdempotencyState,
    pub status_code: Option<i32>,
    /// JSON object of the replayed headers.
    pub response_headers: Option<String>,
    /// The answer's body, sealed with the key-encryption key; `None` while in progress, and when the
    /// answer held a secret (see `secret_withheld`).
    pub response_body: Option<Vec<u8>>,
    pub created_at: DateTimeUtc,
    /// JSON list of the access checks the first request passed; a replay passes them again.
    pub access_checks: Option<String>,
    /// The answer carried a secret (an invitation code, a client secret, a feed address), so its body
    /// was not kept and a replay is refused.
    pub secret_withheld: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

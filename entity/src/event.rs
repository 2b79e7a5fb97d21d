//! The change feed: one row per change, numbered per municipality. Payloads carry ids and statuses only.
use sea_orm::entity::prelude::*;

use crate::{ids::MunicipalityId, types::EventType};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub municipality_id: MunicipalityId,
    pub seq: i64,
    pub event_type: EventType,
    /// JSON object.
    pub payload: String,
    pub occurred_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

//! The last event sequence number handed out per municipality. Updating this row inside the writing
//! transaction serialises writers per municipality, so commit order and sequence order agree.
use sea_orm::entity::prelude::*;

use crate::ids::MunicipalityId;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "event_counters")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub municipality_id: MunicipalityId,
    pub last_seq: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

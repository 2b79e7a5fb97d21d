//! One weekly meeting of a network group, made by the jobs tick as time passes.
use sea_orm::entity::prelude::*;

use crate::ids::{MunicipalityId, NetworkGroupId, NetworkGroupSessionId};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "network_group_sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: NetworkGroupSessionId,
    pub group_id: NetworkGroupId,
    pub municipality_id: MunicipalityId,
    /// The instant it starts (the group's Copenhagen wall-clock time on that day).
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    /// What the session is about, set by staff (often from the participants' suggestions).
    pub topic: Option<String>,
    pub cancelled: bool,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

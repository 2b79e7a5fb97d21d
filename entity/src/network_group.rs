//! A network group (netværksgruppe): a weekly group of young people in the programme, run by IPS
//! consultants of one municipality. Joining is always the candidate's own choice.
use sea_orm::entity::prelude::*;

use crate::ids::{MunicipalityId, NetworkGroupId};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "network_groups")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: NetworkGroupId,
    pub municipality_id: MunicipalityId,
    pub name: String,
    /// ISO weekday: 1 (Monday) to 7 (Sunday).
    pub weekday: i32,
    /// "HH:MM", wall-clock time in Europe/Copenhagen.
    pub starts_at: String,
    pub duration_minutes: i32,
    pub location: Option<String>,
    pub online_url: Option<String>,
    /// Sessions are made only for active groups, and candidates see only those.
    pub active: bool,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

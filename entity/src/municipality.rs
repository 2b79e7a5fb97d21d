//! A municipality: the tenant. Every non-admin principal and every candidate belongs to exactly one.
use sea_orm::entity::prelude::*;

use crate::ids::MunicipalityId;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "municipalities")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: MunicipalityId,
    pub name: String,
    /// The 3-digit municipality number.
    #[sea_orm(unique)]
    pub code: String,
    /// JSON object with the municipality's settings (age range, caseload limit, retention).
    pub settings: String,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

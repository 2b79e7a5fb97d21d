//! Staff members (consultants, coordinators) and installation admins (no municipality).
use sea_orm::entity::prelude::*;

use crate::{
    ids::{MunicipalityId, StaffId},
    types::Role,
};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "staff")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: StaffId,
    pub municipality_id: Option<MunicipalityId>,
    /// `consultant`, `coordinator` or `admin`.
    pub role: Role,
    pub display_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

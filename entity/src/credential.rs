//! A login: username and argon2id hash for a candidate, staff member or admin.
use sea_orm::entity::prelude::*;

use crate::{ids::MunicipalityId, types::Role};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "credentials")]
pub struct Model {
    /// The principal: a candidate's or a staff member's id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub principal_id: Uuid,
    /// Lower-cased; unique across the installation.
    #[sea_orm(unique)]
    pub username: String,
    pub password_hash: String,
    pub role: Role,
    pub municipality_id: Option<MunicipalityId>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

//! A machine client of a municipality, authenticated with client credentials.
use sea_orm::entity::prelude::*;

use crate::{
    ids::{MunicipalityId, ServiceAccountId},
    types::Scopes,
};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "service_accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: ServiceAccountId,
    pub municipality_id: MunicipalityId,
    pub name: String,
    #[sea_orm(unique)]
    pub client_id: String,
    pub secret_hash: String,
    /// Space-separated scopes.
    pub scopes: Scopes,
    pub created_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

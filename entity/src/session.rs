//! A login session; access tokens carry its id, so revoking it ends them too.
use sea_orm::entity::prelude::*;

use crate::{
    ids::MunicipalityId,
    types::{Role, SessionEnd},
};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub principal_id: Uuid,
    pub role: Role,
    pub municipality_id: Option<MunicipalityId>,
    pub created_at: DateTimeUtc,
    /// Absolute end of the session.
    pub expires_at: DateTimeUtc,
    /// End of the session if it is not refreshed before then.
    pub idle_expires_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
    pub revoked_reason: Option<SessionEnd>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

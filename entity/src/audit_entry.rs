//! Who read or changed what about a candidate, and when.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub municipality_id: Option<Uuid>,
    pub candidate_id: Option<Uuid>,
    pub actor_id: Uuid,
    pub actor_role: String,
    /// `read`, `create`, `update`, `delete`.
    pub action: String,
    /// What was touched, e.g. `candidate`, `enrollment`.
    pub resource: String,
    pub resource_id: Option<Uuid>,
    pub request_id: Option<String>,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

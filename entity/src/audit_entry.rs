//! Who read or changed what about a candidate, and when.
use sea_orm::entity::prelude::*;

use crate::{
    ids::{CandidateId, MunicipalityId},
    types::{AuditAction, AuditResource, Role},
};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub municipality_id: Option<MunicipalityId>,
    pub candidate_id: Option<CandidateId>,
    pub actor_id: Uuid,
    pub actor_role: Role,
    /// `read`, `create`, `update`, `delete`.
    pub action: AuditAction,
    /// What was touched, e.g. `candidate`, `enrollment`.
    pub resource: AuditResource,
    pub resource_id: Option<Uuid>,
    pub request_id: Option<String>,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

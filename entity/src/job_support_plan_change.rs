//! One change to a job support plan: who (role and id), when, which fields — never the texts.
use sea_orm::entity::prelude::*;

use crate::{
    ids::{CandidateId, JobSupportPlanId, MunicipalityId},
    types::{JobSupportPlanStatus, Role},
};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "job_support_plan_changes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub plan_id: JobSupportPlanId,
    pub candidate_id: CandidateId,
    pub municipality_id: MunicipalityId,
    pub actor_id: Uuid,
    pub actor_role: Role,
    /// The names of the changed fields, comma-separated (e.g. `placement,contacts`).
    pub fields: String,
    /// The plan's status after the change.
    pub status: JobSupportPlanStatus,
    /// The plan's version after the change.
    pub version: i32,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

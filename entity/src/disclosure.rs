//! One choice of how much the consultant may tell an employer or school; the latest row is in force.
use sea_orm::entity::prelude::*;

use crate::{ids::CandidateId, types::DisclosureLevel};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "disclosures")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub candidate_id: CandidateId,
    /// `none`, `participation`, `support_needs` or `health_details`.
    pub level: DisclosureLevel,
    pub note: Option<String>,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

//! A candidate's goal. Candidates write their own; staff may propose one, which waits as `proposed`
//! until the candidate accepts it.
use sea_orm::entity::prelude::*;

use crate::{
    ids::{CandidateId, GoalId, MunicipalityId},
    types::{Author, GoalCategory, GoalStatus},
};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "goals")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: GoalId,
    pub candidate_id: CandidateId,
    pub municipality_id: MunicipalityId,
    pub title: String,
    pub description: Option<String>,
    pub category: GoalCategory,
    /// `proposed`, `active`, `achieved` or `abandoned`.
    pub status: GoalStatus,
    /// `candidate` or `staff`.
    pub created_by: Author,
    pub target_date: Option<Date>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

//! One change of a career profile: who made it, when, and the names of the fields it changed (never
//! the text itself).
use sea_orm::entity::prelude::*;

use crate::{
    ids::{CandidateId, CareerProfileId},
    types::Role,
};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "career_profile_changes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub profile_id: CareerProfileId,
    pub candidate_id: CandidateId,
    pub actor_id: Uuid,
    pub actor_role: Role,
    pub at: DateTimeUtc,
    /// Field names, space-separated.
    pub fields: String,
    /// The profile's version after the change.
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

//! A young person in the programme. No national identity number is ever stored.
use sea_orm::entity::prelude::*;

use crate::{
    ids::{CandidateId, MunicipalityId, StaffId},
    types::{CourseStatus, Language, Readiness, TargetGroup},
};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "candidates")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: CandidateId,
    pub municipality_id: MunicipalityId,
    pub given_name: String,
    pub family_name: String,
    pub preferred_name: Option<String>,
    pub birth_year: i32,
    /// `da` or `en`.
    pub language: Language,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub target_group: TargetGroup,
    pub readiness: Readiness,
    pub consultant_id: Option<StaffId>,
    /// Opaque id in the municipality's own system; unique per municipality.
    pub external_ref: Option<String>,
    /// Status of the candidate's latest course (kept in step by every transition, for list filters).
    pub status: CourseStatus,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// When the candidate's personal data was erased; an erased candidate is an anonymous row kept for
    /// the statistics, reached by no one.
    pub erased_at: Option<DateTimeUtc>,
    /// Why: the coordinator's reason, or the retention period.
    pub erasure_reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

//! A course ("forløb"): one open at a time per candidate; ended ones remain as history.
use sea_orm::entity::prelude::*;

use crate::{
    ids::{CandidateId, EnrollmentId, MunicipalityId},
    types::{CourseOutcome, CoursePhase, CourseStatus},
};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "enrollments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: EnrollmentId,
    pub candidate_id: CandidateId,
    pub municipality_id: MunicipalityId,
    pub status: CourseStatus,
    pub phase: Option<CoursePhase>,
    pub referred_on: Date,
    pub started_on: Option<Date>,
    pub ended_on: Option<Date>,
    pub first_employer_contact_on: Option<Date>,
    pub outcome: Option<CourseOutcome>,
    pub resume_on: Option<Date>,
    /// `effective_on` of the latest status change; a new change may not be dated before it.
    pub last_effective_on: Date,
    /// The `resume_on` date for which staff were already told that it has passed.
    pub resume_notified_on: Option<Date>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

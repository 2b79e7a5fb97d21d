//! A course's career profile (karriereprofil): the candidate's own words about work, strengths and what
//! gets in the way, written together with their consultant. One per course.
use sea_orm::entity::prelude::*;

use crate::ids::{CandidateId, CareerProfileId, EnrollmentId, MunicipalityId};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "career_profiles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: CareerProfileId,
    #[sea_orm(unique)]
    pub enrollment_id: EnrollmentId,
    pub candidate_id: CandidateId,
    pub municipality_id: MunicipalityId,
    pub work_wishes: Option<String>,
    pub strengths: Option<String>,
    pub interests: Option<String>,
    pub support_needs: Option<String>,
    pub barriers: Option<String>,
    pub disclosure_wishes: Option<String>,
    pub education: Option<String>,
    /// The experience entries as a JSON array.
    pub experience: String,
    /// The day the candidate marked it done (cleared when staff change the text before completion).
    pub candidate_done_on: Option<Date>,
    /// The day staff marked it done (cleared when the candidate changes the text before completion).
    pub staff_done_on: Option<Date>,
    /// The day both had marked it done; stays once set.
    pub completed_on: Option<Date>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

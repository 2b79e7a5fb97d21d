//! A candidate's answers to one questionnaire version, with the scores the server computed.
//! Append-only.
use sea_orm::entity::prelude::*;

use crate::{
    ids::{AssignmentId, CandidateId, MunicipalityId, ResponseId},
    types::{QuestionnaireKey, WellbeingBand},
};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "questionnaire_responses")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: ResponseId,
    pub municipality_id: MunicipalityId,
    pub candidate_id: CandidateId,
    pub questionnaire_key: QuestionnaireKey,
    pub version: i32,
    /// The assignment it completed, if any.
    pub assignment_id: Option<AssignmentId>,
    pub raw_score: i32,
    pub score: i32,
    /// The band key, for questionnaires with bands.
    pub band: Option<WellbeingBand>,
    /// Whether it raised a wellbeing alert for the consultant.
    pub alert: bool,
    pub submitted_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

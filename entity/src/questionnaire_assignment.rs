//! One occurrence of a questionnaire a candidate is asked to answer. A repeating assignment is a
//! series of occurrences sharing `series_id`; the next one is made when the current one closes.
use sea_orm::entity::prelude::*;

use crate::{
    ids::{AssignmentId, CandidateId, MunicipalityId, ResponseId, StaffId},
    types::{AssignmentState, QuestionnaireKey},
};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "questionnaire_assignments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: AssignmentId,
    pub municipality_id: MunicipalityId,
    pub candidate_id: CandidateId,
    pub questionnaire_key: QuestionnaireKey,
    /// The first occurrence's id, shared by every occurrence of a repeating assignment.
    pub series_id: AssignmentId,
    pub due_at: DateTimeUtc,
    /// `due_at` + 4 days: unanswered by then, it is missed.
    pub closes_at: DateTimeUtc,
    pub repeat_every_days: Option<i32>,
    /// `open`, `completed`, `expired`, `skipped` or `cancelled`.
    pub status: AssignmentState,
    pub response_id: Option<ResponseId>,
    /// When the candidate was told it is due (claimed by one background tick).
    pub notified_at: Option<DateTimeUtc>,
    /// When the day-2 reminder was sent (claimed by one background tick).
    pub reminded_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    /// The staff member who assigned the series.
    pub created_by: StaffId,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::candidate::Entity",
        from = "Column::CandidateId",
        to = "super::candidate::Column::Id"
    )]
    Candidate,
}

impl Related<super::candidate::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Candidate.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

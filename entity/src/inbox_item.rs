//! Something a consultant (or coordinator) should look at: an open pause or stop request, a wellbeing
//! alert, missed questionnaires, a planned resume date that has passed, an overdue request.
use sea_orm::entity::prelude::*;

use crate::{
    ids::{CandidateId, MunicipalityId},
    types::{InboxAudience, InboxKind},
};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "inbox_items")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub municipality_id: MunicipalityId,
    /// `None` for items about no candidate (`webhook_disabled`).
    pub candidate_id: Option<CandidateId>,
    /// `request`, `request_overdue`, `resume_due`, `wellbeing_alert`, `missed_questionnaires`,
    /// `webhook_disabled`.
    pub kind: InboxKind,
    /// The request, response, assignment or webhook the item is about.
    pub ref_id: Option<Uuid>,
    /// `consultant` (the candidate's consultant and coordinators) or `coordinator` (coordinators only).
    pub audience: InboxAudience,
    pub created_at: DateTimeUtc,
    pub resolved_at: Option<DateTimeUtc>,
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

//! A topic a member suggests for their network group (the candidate's own words, up to 500
//! characters). Never in events, never to service accounts.
use sea_orm::entity::prelude::*;

use crate::ids::{CandidateId, NetworkGroupId};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "network_group_topic_suggestions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub group_id: NetworkGroupId,
    pub candidate_id: CandidateId,
    pub text: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

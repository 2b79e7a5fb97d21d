//! One stretch of a candidate's membership of a network group: from joining to leaving. A candidate
//! who leaves and joins again gets a new row, so attendance can be counted against who was a member
//! when.
use sea_orm::entity::prelude::*;

use crate::ids::{CandidateId, NetworkGroupId};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "network_group_members")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub group_id: NetworkGroupId,
    pub candidate_id: CandidateId,
    pub joined_at: DateTimeUtc,
    pub left_at: Option<DateTimeUtc>,
    /// `Some(true)` while the membership runs, `None` once left (a unique index allows one running
    /// membership per candidate and group).
    pub current: Option<bool>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

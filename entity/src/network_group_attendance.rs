//! Whether a member came to a session, as staff recorded it.
use sea_orm::entity::prelude::*;

use crate::ids::{CandidateId, NetworkGroupId, NetworkGroupSessionId};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "network_group_attendance")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub session_id: NetworkGroupSessionId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub candidate_id: CandidateId,
    pub group_id: NetworkGroupId,
    pub attended: bool,
    /// The staff member who recorded it.
    pub recorded_by: Uuid,
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

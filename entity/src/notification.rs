//! An in-app notification for a candidate. It carries a kind and ids; the portal words it.
use sea_orm::entity::prelude::*;

use crate::{
    ids::{CandidateId, NotificationId},
    types::NotificationKind,
};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: NotificationId,
    pub candidate_id: CandidateId,
    pub kind: NotificationKind,
    /// JSON object of ids and dates.
    pub data: String,
    pub created_at: DateTimeUtc,
    pub read_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

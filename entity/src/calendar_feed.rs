//! A candidate's calendar settings: the hashed secret of their subscription URL (none until they ask
//! for one) and whether the feed may show real titles and notes.
use sea_orm::entity::prelude::*;

use crate::ids::CandidateId;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "calendar_feeds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub candidate_id: CandidateId,
    /// SHA-256 (hex) of the secret in the feed URL; `None` when the secret feed is off.
    pub secret_hash: Option<String>,
    /// The candidate opted in to real titles and notes (default: "Møde" and the place only).
    pub show_details: bool,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// When the current secret was made.
    pub rotated_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

//! A candidate's goal. Candidates write their own; staff may propose one, which waits as `proposed`
//! until the candidate accepts it.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "goals")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub candidate_id: Uuid,
    pub municipality_id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub category: String,
    /// `proposed`, `active`, `achieved` or `abandoned`.
    pub status: String,
    /// `candidate` or `staff`.
    pub created_by: String,
    pub target_date: Option<Date>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

//! A young person in the programme. No national identity number is ever stored.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "candidates")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub municipality_id: Uuid,
    pub given_name: String,
    pub family_name: String,
    pub preferred_name: Option<String>,
    pub birth_year: i32,
    /// `da` or `en`.
    pub language: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub target_group: String,
    pub readiness: String,
    pub consultant_id: Option<Uuid>,
    /// Opaque id in the municipality's own system; unique per municipality.
    pub external_ref: Option<String>,
    /// Status of the candidate's latest course (kept in step by every transition, for list filters).
    pub status: String,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

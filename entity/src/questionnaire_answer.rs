//! The answer to one item of a response.
use sea_orm::entity::prelude::*;

use crate::ids::ResponseId;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "questionnaire_answers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub response_id: ResponseId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub item_key: String,
    /// The item's place in the questionnaire.
    pub position: i32,
    pub value: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

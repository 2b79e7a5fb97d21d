//! One item (question or statement) of a questionnaire version, in Danish and English.
use sea_orm::entity::prelude::*;

use crate::types::QuestionnaireKey;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "questionnaire_items")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub questionnaire_key: QuestionnaireKey,
    #[sea_orm(primary_key, auto_increment = false)]
    pub version: i32,
    /// The item's id within the questionnaire, e.g. `cheerful`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub item_key: String,
    pub position: i32,
    pub text_da: String,
    pub text_en: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

//! One answer every item of a questionnaire version takes: its value and its words.
use sea_orm::entity::prelude::*;

use crate::types::QuestionnaireKey;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "questionnaire_options")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub questionnaire_key: QuestionnaireKey,
    #[sea_orm(primary_key, auto_increment = false)]
    pub version: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub value: i32,
    /// Place in the list of answers as shown.
    pub position: i32,
    pub label_da: String,
    pub label_en: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

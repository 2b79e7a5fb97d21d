//! One version of a questionnaire's wording. A new wording is a new version; responses keep pointing
//! to the version they answered.
use sea_orm::entity::prelude::*;

use crate::types::QuestionnaireKey;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "questionnaire_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub questionnaire_key: QuestionnaireKey,
    #[sea_orm(primary_key, auto_increment = false)]
    pub version: i32,
    pub name_da: String,
    pub name_en: String,
    pub instruction_da: String,
    pub instruction_en: String,
    pub recall_period_da: Option<String>,
    pub recall_period_en: Option<String>,
    /// JSON array of `{system, code, display}`.
    pub codes: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

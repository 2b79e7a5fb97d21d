//! A score band of a questionnaire version (WHO-5: `very_low`, `at_risk`, `good`), inclusive bounds.
use sea_orm::entity::prelude::*;

use crate::types::{QuestionnaireKey, WellbeingBand};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "questionnaire_bands")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub questionnaire_key: QuestionnaireKey,
    #[sea_orm(primary_key, auto_increment = false)]
    pub version: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub band_key: WellbeingBand,
    pub position: i32,
    pub min_score: i32,
    pub max_score: i32,
    pub label_da: String,
    pub label_en: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

//! A built-in questionnaire (instrument), e.g. `who5`. Its wording lives in its versions.
use sea_orm::entity::prelude::*;

use crate::types::{QuestionnaireKey, QuestionnaireScoring};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "questionnaires")]
pub struct Model {
    /// `who5`, `motivation`, `energy`, `self_efficacy`, `loneliness`, `burden`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: QuestionnaireKey,
    /// How it is scored: `who5`, `sum_scale` or `single_item`.
    pub kind: QuestionnaireScoring,
    /// Place in listings.
    pub position: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

//! One step of a goal, in an explicit order.
use sea_orm::entity::prelude::*;

use crate::ids::{GoalId, StepId};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "goal_steps")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: StepId,
    pub goal_id: GoalId,
    pub title: String,
    pub done: bool,
    pub done_at: Option<DateTimeUtc>,
    /// 0-based place in the goal's list.
    pub position: i32,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

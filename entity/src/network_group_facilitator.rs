//! A staff member who runs a network group (and may record its attendance).
use sea_orm::entity::prelude::*;

use crate::ids::{NetworkGroupId, StaffId};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "network_group_facilitators")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub group_id: NetworkGroupId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub staff_id: StaffId,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

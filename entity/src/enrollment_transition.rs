//! One entry of a course's status history; the first is the referral (`from_status` empty).
use sea_orm::entity::prelude::*;

use crate::{
    ids::{EnrollmentId, RequestId},
    types::{CourseStatus, Role},
};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "enrollment_transitions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub enrollment_id: EnrollmentId,
    pub from_status: Option<CourseStatus>,
    pub to_status: CourseStatus,
    pub effective_on: Date,
    pub recorded_at: DateTimeUtc,
    pub by_id: Option<Uuid>,
    pub by_role: Role,
    pub reason: Option<String>,
    pub request_id: Option<RequestId>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

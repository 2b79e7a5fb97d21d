//! A candidate's request to pause or stop their course. Staff never reject it: they acknowledge it and
//! carry it out, or the candidate withdraws it.
use sea_orm::entity::prelude::*;

use crate::{
    ids::{CandidateId, EnrollmentId, MunicipalityId, RequestId, StaffId},
    types::{RequestKind, RequestStatus},
};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: RequestId,
    pub candidate_id: CandidateId,
    pub municipality_id: MunicipalityId,
    pub enrollment_id: EnrollmentId,
    /// `pause` or `stop`.
    pub kind: RequestKind,
    /// `open`, `acknowledged`, `carried_out` or `withdrawn`.
    pub status: RequestStatus,
    pub reason: Option<String>,
    pub resume_on: Option<Date>,
    /// Staff's note when acknowledging.
    pub note: Option<String>,
    pub created_at: DateTimeUtc,
    pub acknowledged_at: Option<DateTimeUtc>,
    pub acknowledged_by: Option<StaffId>,
    pub closed_at: Option<DateTimeUtc>,
    pub closed_by: Option<Uuid>,
    /// When the overdue warning went out (at most once).
    pub overdue_at: Option<DateTimeUtc>,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

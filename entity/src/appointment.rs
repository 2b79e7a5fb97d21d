//! An appointment between a candidate and their consultant (or an employer, a school, a network group).
//! Staff create and change it; the candidate answers it. `sequence` is the iCalendar `SEQUENCE`.
use sea_orm::entity::prelude::*;

use crate::{
    ids::{AppointmentId, CandidateId, MunicipalityId, StaffId},
    types::{AppointmentKind, AppointmentReply, AppointmentStatus},
};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "appointments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: AppointmentId,
    pub candidate_id: CandidateId,
    pub municipality_id: MunicipalityId,
    /// `consultant_meeting`, `employer`, `education`, `network_group`, `treatment` or `other`.
    pub kind: AppointmentKind,
    pub title: String,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    pub location: Option<String>,
    pub online_url: Option<String>,
    pub note_for_candidate: Option<String>,
    /// `scheduled`, `cancelled`, `completed` or `no_show`.
    pub status: AppointmentStatus,
    pub cancel_reason: Option<String>,
    /// `none`, `accepted`, `declined` or `reschedule_requested`.
    pub candidate_response: AppointmentReply,
    pub response_message: Option<String>,
    pub responded_at: Option<DateTimeUtc>,
    /// The iCalendar `SEQUENCE`: bumped by every change staff make.
    pub sequence: i32,
    /// When the reminder for the current start time was claimed and sent; cleared when the start moves.
    pub reminded_at: Option<DateTimeUtc>,
    /// The staff member who booked it.
    pub created_by: StaffId,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

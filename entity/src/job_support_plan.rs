//! A job support plan (jobstøtteplan): the support around a candidate's job, flex job, internship or
//! education place. Staff write it and it waits as `proposed` until the candidate accepts it; the
//! candidate writes their own `early_signs` and `what_helps`.
use sea_orm::entity::prelude::*;

use crate::{
    ids::{CandidateId, JobSupportPlanId, MunicipalityId},
    types::{JobSupportPlanStatus, PlacementKind},
};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "job_support_plans")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: JobSupportPlanId,
    pub candidate_id: CandidateId,
    pub municipality_id: MunicipalityId,
    /// `proposed`, `active` or `ended`.
    pub status: JobSupportPlanStatus,
    pub placement_kind: PlacementKind,
    pub workplace: String,
    pub role: String,
    pub starts_on: Date,
    pub hours_per_week: Option<i32>,
    /// The contacts as a JSON array (`domain::job_support_plans::Contact`), at most 10.
    pub contacts: String,
    /// The supports as a JSON array (`domain::job_support_plans::Support`), at most 30.
    pub supports: String,
    pub early_signs: Option<String>,
    pub what_helps: Option<String>,
    pub check_in_every_days: i32,
    /// When the candidate last accepted it (the check-in cadence counts from here at the earliest).
    pub accepted_at: Option<DateTimeUtc>,
    pub ended_at: Option<DateTimeUtc>,
    /// The `check_in_due` item for the period up to this date was claimed (by one instance).
    pub check_in_claimed_until: Option<Date>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

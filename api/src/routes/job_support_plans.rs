//! Job support plans (jobstøtteplan, SPEC §4.12): staff write them under
//! `/candidates/{id}/job-support-plans…`; the candidate reads them, writes their own parts and accepts
//! them under `/me/job-support-plans…`. Free text: never to service accounts, never in events.
use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    ids::{CandidateId, JobSupportPlanId},
    types::Role,
};
use poem::web::Data;
use poem_openapi::{
    Enum, Object, OpenApi,
    param::{Header, Path, Query},
    payload::Json,
    types::MaybeUndefined,
};
use uuid::Uuid;

use super::{
    Tag,
    common::{Cursor, IfMatch, Limit, Page, etag, expected, page, versioned_response},
};
use crate::{
    auth::{BearerAuth, Caller, Reach},
    body::Body,
    domain::job_support_plans::{
        self as plans, ContactRole, HistoryEntry, NewPlan, OwnChange, PlacementKind, PlanView,
        StaffChange, Status, SupportBy,
    },
    error::ApiResult,
    state::AppState,
};

/// The place a job support plan supports.
#[derive(Object, Debug)]
pub struct Placement {
    /// Job, flex job, internship or education place.
    pub kind: PlacementKind,
    /// The workplace or school, e.g. "Netto, Vesterbrogade".
    pub workplace: String,
    /// The candidate's job or line of study there, e.g. "Butiksmedhjælper".
    pub role: String,
    /// The first day.
    pub starts_on: NaiveDate,
    /// Agreed hours a week, 1–60; `null` when not agreed.
    #[oai(nullable)]
    pub hours_per_week: Option<i32>,
}

/// The place a job support plan supports, as staff write it.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct PlacementInput {
    /// Job, flex job, internship or education place.
    pub kind: PlacementKind,
    /// The workplace or school, 1–200 characters.
    #[oai(validator(min_length = 1, max_length = 200))]
    pub workplace: String,
    /// The candidate's job or line of study there, 1–200 characters.
    #[oai(validator(min_length = 1, max_length = 200))]
    pub role: String,
    /// The first day.
    pub starts_on: NaiveDate,
    /// Agreed hours a week, 1–60.
    #[oai(validator(minimum(value = "1"), maximum(value = "60")))]
    pub hours_per_week: Option<i32>,
}

/// A person at the workplace or school the candidate and the consultant can turn to.
#[derive(Object, Debug)]
pub struct Contact {
    /// Employer, mentor, teacher or someone else.
    pub role: ContactRole,
    /// Their name.
    pub name: String,
    /// Their phone number.
    #[oai(nullable)]
    pub phone: Option<String>,
    /// Their e-mail address.
    #[oai(nullable)]
    pub email: Option<String>,
}

/// A contact, as staff write it.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct ContactInput {
    /// Employer, mentor, teacher or someone else.
    pub role: ContactRole,
    /// Their name, 1–200 characters.
    #[oai(validator(min_length = 1, max_length = 200))]
    pub name: String,
    /// Their phone number: digits, spaces and `+ - ( )`, 3–32 characters.
    #[oai(validator(max_length = 32))]
    pub phone: Option<String>,
    /// Their e-mail address.
    #[oai(validator(max_length = 254))]
    pub email: Option<String>,
}

/// One agreed support: what, by whom, how often.
#[derive(Object, Debug)]
pub struct Support {
    /// What the support is, e.g. "Fast mentor den første måned".
    pub what: String,
    /// Who gives it.
    pub who: SupportBy,
    /// How often, in words, e.g. "hver mandag"; `null` when not agreed.
    #[oai(nullable)]
    pub how_often: Option<String>,
}

/// A support, as staff write it.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct SupportInput {
    /// What the support is, 1–500 characters.
    #[oai(validator(min_length = 1, max_length = 500))]
    pub what: String,
    /// Who gives it.
    pub who: SupportBy,
    /// How often, in words, up to 200 characters.
    #[oai(validator(max_length = 200))]
    pub how_often: Option<String>,
}

/// A job support plan (jobstøtteplan): the support around a candidate's job, flex job, internship or
/// education place, written together with the candidate.
#[derive(Object, Debug)]
pub struct JobSupportPlan {
    /// Id.
    pub id: JobSupportPlanId,
    /// The candidate whose plan it is.
    pub candidate_id: CandidateId,
    /// `proposed` (written or changed by staff, waiting for the candidate), `active` (accepted) or
    /// `ended`.
    pub status: Status,
    /// The place the plan supports.
    pub placement: Placement,
    /// People at the workplace or school (at most 10).
    pub contacts: Vec<Contact>,
    /// Agreed supports (at most 30).
    pub supports: Vec<Support>,
    /// The candidate's own words: the first signs that things are getting hard.
    #[oai(nullable)]
    pub early_signs: Option<String>,
    /// The candidate's own words: what helps then.
    #[oai(nullable)]
    pub what_helps: Option<String>,
    /// Check in at least every this many days (1–90); without a completed meeting in that time the
    /// consultant's inbox gets a `check_in_due` item.
    pub check_in_every_days: i32,
    /// When the candidate last accepted it.
    #[oai(nullable)]
    pub accepted_at: Option<DateTime<Utc>>,
    /// When staff ended it.
    #[oai(nullable)]
    pub ended_at: Option<DateTime<Utc>>,
    /// Version, for `If-Match`.
    pub version: i32,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<PlanView> for JobSupportPlan {
    fn from(v: PlanView) -> Self {
        let placement = v.placement();
        let p = v.plan;
        Self {
            id: p.id,
            candidate_id: p.candidate_id,
            status: p.status,
            placement: Placement {
                kind: placement.kind,
                workplace: placement.workplace,
                role: placement.role,
                starts_on: placement.starts_on,
                hours_per_week: placement.hours_per_week,
            },
            contacts: v
                .contacts
                .into_iter()
                .map(|c| Contact {
                    role: c.role,
                    name: c.name,
                    phone: c.phone,
                    email: c.email,
                })
                .collect(),
            supports: v
                .supports
                .into_iter()
                .map(|s| Support {
                    what: s.what,
                    who: s.who,
                    how_often: s.how_often,
                })
                .collect(),
            early_signs: p.early_signs,
            what_helps: p.what_helps,
            check_in_every_days: p.check_in_every_days,
            accepted_at: p.accepted_at,
            ended_at: p.ended_at,
            version: p.version,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// A new job support plan, written by staff; it is `proposed` until the candidate accepts it.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct JobSupportPlanCreate {
    /// The place the plan supports.
    pub placement: PlacementInput,
    /// People at the workplace or school, at most 10.
    #[oai(validator(max_items = 10))]
    pub contacts: Option<Vec<ContactInput>>,
    /// Agreed supports, at most 30.
    #[oai(validator(max_items = 30))]
    pub supports: Option<Vec<SupportInput>>,
    /// Check in at least every this many days, 1–90.
    #[oai(validator(minimum(value = "1"), maximum(value = "90")))]
    pub check_in_every_days: i32,
}

/// Staff's change to a plan; absent fields stay as they are. Any change to the placement, contacts,
/// supports or cadence makes the plan `proposed` again until the candidate accepts it.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct JobSupportPlanPatch {
    /// The place the plan supports (the whole placement).
    pub placement: Option<PlacementInput>,
    /// People at the workplace or school (the whole list), at most 10.
    #[oai(validator(max_items = 10))]
    pub contacts: Option<Vec<ContactInput>>,
    /// Agreed supports (the whole list), at most 30.
    #[oai(validator(max_items = 30))]
    pub supports: Option<Vec<SupportInput>>,
    /// Check in at least every this many days, 1–90.
    #[oai(validator(minimum(value = "1"), maximum(value = "90")))]
    pub check_in_every_days: Option<i32>,
    /// `ended` ends the plan (it is kept as history). A plan becomes `active` only when the candidate
    /// accepts it; any other value than the current status or `ended` is 409.
    pub status: Option<Status>,
}

/// The candidate's change to their own parts; absent fields stay as they are, `null` clears one.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct MyJobSupportPlanPatch {
    /// The first signs that things are getting hard, in my own words (up to 2,000 characters).
    #[oai(nullable, validator(max_length = 2000))]
    pub early_signs: MaybeUndefined<String>,
    /// What helps then, in my own words (up to 2,000 characters).
    #[oai(nullable, validator(max_length = 2000))]
    pub what_helps: MaybeUndefined<String>,
}

/// A part of a job support plan, as named in its history.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum JobSupportPlanField {
    /// The placement.
    Placement,
    /// The contacts.
    Contacts,
    /// The supports.
    Supports,
    /// The candidate's early signs.
    EarlySigns,
    /// What helps the candidate.
    WhatHelps,
    /// The check-in cadence.
    CheckInEveryDays,
    /// The status.
    Status,
}

impl JobSupportPlanField {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "placement" => Self::Placement,
            "contacts" => Self::Contacts,
            "supports" => Self::Supports,
            "early_signs" => Self::EarlySigns,
            "what_helps" => Self::WhatHelps,
            "check_in_every_days" => Self::CheckInEveryDays,
            "status" => Self::Status,
            _ => return None,
        })
    }
}

/// One change to a job support plan: who, when and which parts (never the texts).
#[derive(Object, Debug)]
pub struct JobSupportPlanChange {
    /// Id.
    pub id: Uuid,
    /// When.
    pub at: DateTime<Utc>,
    /// The role of whoever made the change.
    pub by_role: Role,
    /// Their id (the candidate's, or the staff member's).
    pub by_id: Uuid,
    /// Which parts changed.
    pub fields: Vec<JobSupportPlanField>,
    /// The plan's status after the change.
    pub status: Status,
    /// The plan's version after the change.
    pub version: i32,
}

impl From<HistoryEntry> for JobSupportPlanChange {
    fn from(h: HistoryEntry) -> Self {
        Self {
            id: h.id,
            at: h.at,
            by_role: h.actor_role,
            by_id: h.actor_id,
            fields: plans::fields_of(&h)
                .iter()
                .filter_map(|f| JobSupportPlanField::parse(f))
                .collect(),
            status: h.status,
            version: h.version,
        }
    }
}

versioned_response!(JobSupportPlanResponse, JobSupportPlan, "job support plan");

fn respond(v: PlanView, path: Option<String>) -> JobSupportPlanResponse {
    let p: JobSupportPlan = v.into();
    let tag = etag(p.version);
    match path {
        Some(path) => JobSupportPlanResponse::Created(Json(p), tag, path),
        None => JobSupportPlanResponse::Ok(Json(p), tag),
    }
}

/// The candidate reaching their own plans, and their id.
fn me(c: &Caller) -> ApiResult<(Reach, CandidateId)> {
    let me = c.candidate_self()?;
    Ok((Reach::Own(me), me.id))
}

fn placement(p: PlacementInput) -> plans::Placement {
    plans::Placement {
        kind: p.kind,
        workplace: p.workplace,
        role: p.role,
        starts_on: p.starts_on,
        hours_per_week: p.hours_per_week,
    }
}

fn contacts(list: Vec<ContactInput>) -> ApiResult<Vec<plans::Contact>> {
    list.into_iter()
        .enumerate()
        .map(|(i, c)| plans::Contact::parse(i, c.role, c.name, c.phone, c.email))
        .collect::<Result<_, _>>()
        .map_err(Into::into)
}

fn supports(list: Vec<SupportInput>) -> Vec<plans::Support> {
    list.into_iter()
        .map(|s| plans::Support {
            what: s.what.trim().to_string(),
            who: s.who,
            how_often: s
                .how_often
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty()),
        })
        .collect()
}

pub struct JobSupportPlansApi;

#[OpenApi(tag = "Tag::JobSupportPlans")]
impl JobSupportPlansApi {
    /// List a candidate's job support plans
    ///
    /// Staff of the candidate (the consultant of the caseload, a coordinator of the municipality),
    /// newest first. Service accounts never see them (403). The read is written to the audit log.
    #[oai(
        path = "/candidates/:id/job-support-plans",
        method = "get",
        operation_id = "listCandidateJobSupportPlans"
    )]
    async fn staff_list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<CandidateId>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<Limit>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<JobSupportPlan>>> {
        let who = auth.0.staff_reach()?;
        let page = page(limit.0, cursor.0);
        let (items, next_cursor) = plans::list(&state.db, &who, id.0, page).await?;
        Ok(Json(Page::of(items, next_cursor, Into::into)))
    }

    /// Propose a job support plan
    ///
    /// Staff write a plan once the candidate has a job, flex job, internship or education place. It is
    /// allowed while the course is `active` or in `aftercare` (409 otherwise, e.g. `referred` or
    /// `paused`), and it is `proposed` until the candidate accepts it. At most 10 open plans.
    #[oai(
        path = "/candidates/:id/job-support-plans",
        method = "post",
        operation_id = "proposeCandidateJobSupportPlan"
    )]
    async fn staff_create(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<CandidateId>,
        body: Body<JobSupportPlanCreate>,
    ) -> ApiResult<JobSupportPlanResponse> {
        let who = auth.0.staff_reach()?;
        let b = body.0;
        let new = NewPlan {
            placement: placement(b.placement),
            contacts: contacts(b.contacts.unwrap_or_default())?,
            supports: supports(b.supports.unwrap_or_default()),
            check_in_every_days: b.check_in_every_days,
        };
        let v = plans::create(&state.db, &who, id.0, new).await?;
        let path = format!(
            "/api/v1/candidates/{}/job-support-plans/{}",
            id.0, v.plan.id
        );
        Ok(respond(v, Some(path)))
    }

    /// Get a candidate's job support plan
    ///
    /// Staff of the candidate. `ETag` for later changes. The read is written to the audit log.
    #[oai(
        path = "/candidates/:id/job-support-plans/:plan_id",
        method = "get",
        operation_id = "getCandidateJobSupportPlan"
    )]
    async fn staff_get(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<CandidateId>,
        plan_id: Path<JobSupportPlanId>,
    ) -> ApiResult<JobSupportPlanResponse> {
        let who = auth.0.staff_reach()?;
        Ok(respond(
            plans::get(&state.db, &who, id.0, plan_id.0).await?,
            None,
        ))
    }

    /// Change or end a candidate's job support plan
    ///
    /// Staff change the placement, contacts, supports or check-in cadence — the plan is then
    /// `proposed` again until the candidate accepts the change — or end it with `status: ended`. The
    /// candidate's own `early_signs` and `what_helps` are theirs alone (400 here). Changes need the
    /// course `active` or in `aftercare` (409); ending does not. An ended plan cannot change (409).
    /// Send `If-Match`: a stale version is 412.
    #[oai(
        path = "/candidates/:id/job-support-plans/:plan_id",
        method = "patch",
        operation_id = "updateCandidateJobSupportPlan"
    )]
    async fn staff_update(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<CandidateId>,
        plan_id: Path<JobSupportPlanId>,
        /// The ETag you read; a stale one is refused with 412.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<IfMatch>>,
        body: Body<JobSupportPlanPatch>,
    ) -> ApiResult<JobSupportPlanResponse> {
        let who = auth.0.staff_reach()?;
        let expected = expected(if_match_header.0);
        let b = body.0;
        let change = StaffChange {
            placement: b.placement.map(placement),
            contacts: b.contacts.map(contacts).transpose()?,
            supports: b.supports.map(supports),
            check_in_every_days: b.check_in_every_days,
            status: b.status,
        };
        Ok(respond(
            plans::update_by_staff(&state.db, &who, id.0, plan_id.0, expected, change).await?,
            None,
        ))
    }

    /// List the changes to a candidate's job support plan
    ///
    /// Who (role and id), when and which parts changed — never the texts — newest first.
    #[oai(
        path = "/candidates/:id/job-support-plans/:plan_id/history",
        method = "get",
        operation_id = "listCandidateJobSupportPlanHistory"
    )]
    async fn staff_history(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<CandidateId>,
        plan_id: Path<JobSupportPlanId>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<Limit>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<JobSupportPlanChange>>> {
        let who = auth.0.staff_reach()?;
        let page = page(limit.0, cursor.0);
        let (items, next_cursor) = plans::history(&state.db, &who, id.0, plan_id.0, page).await?;
        Ok(Json(Page::of(items, next_cursor, Into::into)))
    }

    /// List my job support plans
    ///
    /// The candidate's own plans, newest first, including those waiting for them to accept.
    #[oai(
        path = "/me/job-support-plans",
        method = "get",
        operation_id = "listMyJobSupportPlans"
    )]
    async fn my_list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<Limit>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<JobSupportPlan>>> {
        let (who, id) = me(&auth.0)?;
        let page = page(limit.0, cursor.0);
        let (items, next_cursor) = plans::list(&state.db, &who, id, page).await?;
        Ok(Json(Page::of(items, next_cursor, Into::into)))
    }

    /// Get one of my job support plans
    ///
    /// `ETag` for later changes.
    #[oai(
        path = "/me/job-support-plans/:plan_id",
        method = "get",
        operation_id = "getMyJobSupportPlan"
    )]
    async fn my_get(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        plan_id: Path<JobSupportPlanId>,
    ) -> ApiResult<JobSupportPlanResponse> {
        let (who, id) = me(&auth.0)?;
        Ok(respond(
            plans::get(&state.db, &who, id, plan_id.0).await?,
            None,
        ))
    }

    /// Write my own parts of a job support plan
    ///
    /// The candidate writes `early_signs` and `what_helps` in their own words; everything else is
    /// written by staff (another field is 400). The status stays as it is. Needs the course `active` or
    /// in `aftercare`, and a plan that has not ended (409). Send `If-Match`: if the plan changed
    /// meanwhile, the answer is 412.
    #[oai(
        path = "/me/job-support-plans/:plan_id",
        method = "patch",
        operation_id = "updateMyJobSupportPlan"
    )]
    async fn my_update(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        plan_id: Path<JobSupportPlanId>,
        /// The ETag you read; a stale one is refused with 412.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<IfMatch>>,
        body: Body<MyJobSupportPlanPatch>,
    ) -> ApiResult<JobSupportPlanResponse> {
        let (who, id) = me(&auth.0)?;
        let expected = expected(if_match_header.0);
        let change = OwnChange {
            early_signs: Option::from(body.0.early_signs),
            what_helps: Option::from(body.0.what_helps),
        };
        Ok(respond(
            plans::update_own(&state.db, &who, id, plan_id.0, expected, change).await?,
            None,
        ))
    }

    /// Accept a proposed job support plan
    ///
    /// The candidate agrees to the plan (or to staff's change of it); it becomes `active` and the
    /// check-ins count from now. Only a `proposed` plan, while the course is `active` or in
    /// `aftercare` (409 otherwise).
    #[oai(
        path = "/me/job-support-plans/:plan_id/accept",
        method = "post",
        operation_id = "acceptMyJobSupportPlan"
    )]
    async fn my_accept(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        plan_id: Path<JobSupportPlanId>,
        /// The ETag you read; a stale one is refused with 412.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<IfMatch>>,
    ) -> ApiResult<JobSupportPlanResponse> {
        let (who, id) = me(&auth.0)?;
        let expected = expected(if_match_header.0);
        Ok(respond(
            plans::accept(&state.db, &who, id, plan_id.0, expected).await?,
            None,
        ))
    }

    /// List the changes to my job support plan
    ///
    /// Who (role and id), when and which parts changed, newest first.
    #[oai(
        path = "/me/job-support-plans/:plan_id/history",
        method = "get",
        operation_id = "listMyJobSupportPlanHistory"
    )]
    async fn my_history(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        plan_id: Path<JobSupportPlanId>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<Limit>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<JobSupportPlanChange>>> {
        let (who, id) = me(&auth.0)?;
        let page = page(limit.0, cursor.0);
        let (items, next_cursor) = plans::history(&state.db, &who, id, plan_id.0, page).await?;
        Ok(Json(Page::of(items, next_cursor, Into::into)))
    }
}

//! Goals: the candidate's own under `/me/goals…`, and the same for their staff under
//! `/candidates/{id}/goals…`.
use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    goal_step,
    ids::{CandidateId, GoalId, StepId},
    types::Author,
};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Header, Path, Query},
    payload::Json,
    types::MaybeUndefined,
};

use super::{
    Tag,
    common::{Cursor, IfMatch, Limit, Page, etag, expected, page, versioned_response},
};
use crate::{
    auth::{BearerAuth, Caller, Reach},
    body::Body,
    domain::goals::{self, Category, GoalChange, GoalStatus, GoalView, NewGoal, StepChange},
    error::ApiResult,
    state::AppState,
};

/// One step towards a goal.
#[derive(Object, Debug)]
pub struct Step {
    /// Id.
    pub id: StepId,
    /// What to do.
    pub title: String,
    /// Ticked off.
    pub done: bool,
    /// When it was ticked off.
    #[oai(nullable)]
    pub done_at: Option<DateTime<Utc>>,
    /// Place in the list, from 0.
    pub position: i32,
}

impl From<goal_step::Model> for Step {
    fn from(s: goal_step::Model) -> Self {
        Self {
            id: s.id,
            title: s.title,
            done: s.done,
            done_at: s.done_at,
            position: s.position,
        }
    }
}

/// A goal with its steps.
#[derive(Object, Debug)]
pub struct Goal {
    /// Id.
    pub id: GoalId,
    /// The candidate whose goal it is.
    pub candidate_id: CandidateId,
    /// The goal, in the candidate's (or the proposer's) words.
    pub title: String,
    /// More about it.
    #[oai(nullable)]
    pub description: Option<String>,
    /// What it is about.
    pub category: Category,
    /// Where it stands; a staff proposal is `proposed` until the candidate accepts it.
    pub status: GoalStatus,
    /// Who wrote it: the candidate, or staff (a proposal until the candidate accepts it).
    pub created_by: Author,
    /// When the candidate hopes to reach it.
    #[oai(nullable)]
    pub target_date: Option<NaiveDate>,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// 0–100: done steps / steps, rounded down; 100 when achieved; 0 without steps.
    pub progress: i32,
    /// Version, for `If-Match` (changes with every change to the goal or its steps).
    pub version: i32,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<GoalView> for Goal {
    fn from(v: GoalView) -> Self {
        let progress = v.progress();
        let g = v.goal;
        Self {
            id: g.id,
            candidate_id: g.candidate_id,
            title: g.title,
            description: g.description,
            category: g.category,
            status: g.status,
            created_by: g.created_by,
            target_date: g.target_date,
            steps: v.steps.into_iter().map(Into::into).collect(),
            progress,
            version: g.version,
            created_at: g.created_at,
            updated_at: g.updated_at,
        }
    }
}

/// A new goal. A candidate's goal starts `active`; a goal staff write starts `proposed`.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct GoalCreate {
    /// The goal, 1–200 characters.
    #[oai(validator(min_length = 1, max_length = 200))]
    pub title: String,
    /// More about it, up to 2000 characters.
    #[oai(validator(max_length = 2000))]
    pub description: Option<String>,
    /// What it is about.
    pub category: Category,
    /// When the candidate hopes to reach it.
    pub target_date: Option<NaiveDate>,
    /// First steps, in order (at most 30; each 1–200 characters).
    #[oai(validator(max_items = 30, max_length = 200, min_length = 1))]
    pub steps: Option<Vec<String>>,
}

/// A change to a goal; absent fields stay as they are, `null` clears an optional one.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct GoalPatch {
    /// The goal.
    #[oai(validator(min_length = 1, max_length = 200))]
    pub title: Option<String>,
    /// More about it; `null` clears it.
    #[oai(nullable, validator(max_length = 2000))]
    pub description: MaybeUndefined<String>,
    /// What it is about.
    pub category: Option<Category>,
    /// Target date; `null` clears it.
    #[oai(nullable)]
    pub target_date: MaybeUndefined<NaiveDate>,
    /// New status: `active` → `achieved`/`abandoned`, back to `active`, or `proposed` → `abandoned`
    /// (declining or withdrawing a proposal). A proposal becomes active only through `accept`.
    pub status: Option<GoalStatus>,
}

/// A new step.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct StepCreate {
    /// What to do, 1–200 characters.
    #[oai(validator(min_length = 1, max_length = 200))]
    pub title: String,
    /// Where to put it (0 = first); default last.
    #[oai(validator(minimum(value = "0"), maximum(value = "29")))]
    pub position: Option<i32>,
}

/// A change to a step.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct StepPatch {
    /// What to do.
    #[oai(validator(min_length = 1, max_length = 200))]
    pub title: Option<String>,
    /// Tick off (`true`) or untick.
    pub done: Option<bool>,
    /// Move the step to this place (0 = first); the others shift.
    #[oai(validator(minimum(value = "0"), maximum(value = "29")))]
    pub position: Option<i32>,
}

versioned_response!(GoalResponse, Goal, "goal");

#[derive(ApiResponse, Debug)]
pub enum GoalDeleted {
    /// Deleted, with its steps.
    #[oai(status = 204)]
    Done,
}

fn respond(v: GoalView, created: bool, path: String) -> GoalResponse {
    let g: Goal = v.into();
    let tag = etag(g.version);
    if created {
        GoalResponse::Created(Json(g), tag, path)
    } else {
        GoalResponse::Ok(Json(g), tag)
    }
}

/// The candidate reaching their own goals, and their id.
fn me(c: &Caller) -> ApiResult<(Reach, CandidateId)> {
    let me = c.candidate_self()?;
    Ok((Reach::Own(me), me.id))
}

fn new_goal(b: GoalCreate) -> NewGoal {
    NewGoal {
        title: b.title,
        description: b.description,
        category: b.category,
        target_date: b.target_date,
        steps: b.steps.unwrap_or_default(),
    }
}

fn change(b: GoalPatch) -> GoalChange {
    GoalChange {
        title: b.title,
        description: Option::from(b.description),
        category: b.category,
        target_date: Option::from(b.target_date),
        status: b.status,
    }
}

fn step_change(b: StepPatch) -> StepChange {
    StepChange {
        title: b.title,
        done: b.done,
        position: b.position,
    }
}

pub struct GoalsApi;

#[OpenApi(tag = "Tag::Goals")]
impl GoalsApi {
    /// List my goals
    ///
    /// The candidate's own goals with steps and progress, including proposals from staff.
    #[oai(path = "/me/goals", method = "get", operation_id = "listMyGoals")]
    async fn my_list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// Only goals with this status.
        status: Query<Option<GoalStatus>>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<Limit>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<Goal>>> {
        let (who, id) = me(&auth.0)?;
        let page = page(limit.0, cursor.0);
        let (items, next_cursor) = goals::list(&state.db, &who, id, status.0, page).await?;
        Ok(Json(Page::of(items, next_cursor, Into::into)))
    }

    /// Add a goal
    ///
    /// The candidate writes a goal of their own (`active`), optionally with first steps. At most 50
    /// open goals (409 beyond).
    #[oai(path = "/me/goals", method = "post", operation_id = "createMyGoal")]
    async fn my_create(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Body<GoalCreate>,
    ) -> ApiResult<GoalResponse> {
        let (who, id) = me(&auth.0)?;
        let v = goals::create(&state.db, &who, id, new_goal(body.0)).await?;
        let path = format!("/api/v1/me/goals/{}", v.goal.id);
        Ok(respond(v, true, path))
    }

    /// Get one of my goals
    ///
    /// One of the candidate's goals with its steps and progress; `ETag` for later changes.
    #[oai(
        path = "/me/goals/:goal_id",
        method = "get",
        operation_id = "getMyGoal"
    )]
    async fn my_get(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        goal_id: Path<GoalId>,
    ) -> ApiResult<GoalResponse> {
        let (who, id) = me(&auth.0)?;
        Ok(respond(
            goals::get(&state.db, &who, id, goal_id.0).await?,
            false,
            String::new(),
        ))
    }

    /// Change one of my goals
    ///
    /// Words, category, target date or status. Send `If-Match` with the ETag you read: if the goal
    /// changed meanwhile (for example your consultant edited it), the answer is 412.
    #[oai(
        path = "/me/goals/:goal_id",
        method = "patch",
        operation_id = "updateMyGoal"
    )]
    async fn my_update(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        goal_id: Path<GoalId>,
        /// The ETag you read; a stale one is refused with 412.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<IfMatch>>,
        body: Body<GoalPatch>,
    ) -> ApiResult<GoalResponse> {
        let (who, id) = me(&auth.0)?;
        let expected = expected(if_match_header.0);
        Ok(respond(
            goals::update(&state.db, &who, id, goal_id.0, expected, change(body.0)).await?,
            false,
            String::new(),
        ))
    }

    /// Delete one of my goals
    ///
    /// Only goals the candidate wrote, while `proposed` or `active`. A goal staff proposed is declined by
    /// setting it to `abandoned` instead (409 here).
    #[oai(
        path = "/me/goals/:goal_id",
        method = "delete",
        operation_id = "deleteMyGoal"
    )]
    async fn my_delete(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        goal_id: Path<GoalId>,
        /// The ETag you read; a stale one is refused with 412.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<IfMatch>>,
    ) -> ApiResult<GoalDeleted> {
        let (who, id) = me(&auth.0)?;
        let expected = expected(if_match_header.0);
        goals::delete(&state.db, &who, id, goal_id.0, expected).await?;
        Ok(GoalDeleted::Done)
    }

    /// Accept a proposed goal
    ///
    /// The candidate takes a goal their consultant proposed; it becomes `active`.
    #[oai(
        path = "/me/goals/:goal_id/accept",
        method = "post",
        operation_id = "acceptMyGoal"
    )]
    async fn my_accept(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        goal_id: Path<GoalId>,
        /// The ETag you read; a stale one is refused with 412.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<IfMatch>>,
    ) -> ApiResult<GoalResponse> {
        let (who, id) = me(&auth.0)?;
        let expected = expected(if_match_header.0);
        Ok(respond(
            goals::accept(&state.db, &who, id, goal_id.0, expected).await?,
            false,
            String::new(),
        ))
    }

    /// Add a step to my goal
    ///
    /// At most 30 steps (409 beyond). Answers with the whole goal.
    #[oai(
        path = "/me/goals/:goal_id/steps",
        method = "post",
        operation_id = "addMyGoalStep"
    )]
    async fn my_add_step(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        goal_id: Path<GoalId>,
        /// The goal's ETag; a stale one is refused with 412.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<IfMatch>>,
        body: Body<StepCreate>,
    ) -> ApiResult<GoalResponse> {
        let (who, id) = me(&auth.0)?;
        let expected = expected(if_match_header.0);
        let v = goals::add_step(
            &state.db,
            &who,
            id,
            goal_id.0,
            expected,
            body.0.title,
            body.0.position,
        )
        .await?;
        let path = format!("/api/v1/me/goals/{}", v.goal.id);
        Ok(respond(v, true, path))
    }

    /// Change a step of my goal
    ///
    /// Tick it off (`done: true`), untick, rename or move it. Answers with the whole goal.
    #[oai(
        path = "/me/goals/:goal_id/steps/:step_id",
        method = "patch",
        operation_id = "updateMyGoalStep"
    )]
    async fn my_update_step(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        goal_id: Path<GoalId>,
        step_id: Path<StepId>,
        /// The goal's ETag; a stale one is refused with 412.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<IfMatch>>,
        body: Body<StepPatch>,
    ) -> ApiResult<GoalResponse> {
        let (who, id) = me(&auth.0)?;
        let expected = expected(if_match_header.0);
        let v = goals::update_step(
            &state.db,
            &who,
            id,
            goal_id.0,
            step_id.0,
            expected,
            step_change(body.0),
        )
        .await?;
        Ok(respond(v, false, String::new()))
    }

    /// Remove a step from my goal
    ///
    /// Answers with the whole goal.
    #[oai(
        path = "/me/goals/:goal_id/steps/:step_id",
        method = "delete",
        operation_id = "deleteMyGoalStep"
    )]
    async fn my_delete_step(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        goal_id: Path<GoalId>,
        step_id: Path<StepId>,
        /// The goal's ETag; a stale one is refused with 412.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<IfMatch>>,
    ) -> ApiResult<GoalResponse> {
        let (who, id) = me(&auth.0)?;
        let expected = expected(if_match_header.0);
        Ok(respond(
            goals::delete_step(&state.db, &who, id, goal_id.0, step_id.0, expected).await?,
            false,
            String::new(),
        ))
    }

    /// List a candidate's goals
    ///
    /// Staff of the candidate. The read is written to the audit log.
    #[oai(
        path = "/candidates/:id/goals",
        method = "get",
        operation_id = "listCandidateGoals"
    )]
    async fn staff_list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<CandidateId>,
        /// Only goals with this status.
        status: Query<Option<GoalStatus>>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<Limit>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<Goal>>> {
        let who = auth.0.staff_reach()?;
        let page = page(limit.0, cursor.0);
        let (items, next_cursor) = goals::list(&state.db, &who, id.0, status.0, page).await?;
        Ok(Json(Page::of(items, next_cursor, Into::into)))
    }

    /// Propose a goal
    ///
    /// Staff write a goal for the candidate; it is `proposed` until the candidate accepts it.
    #[oai(
        path = "/candidates/:id/goals",
        method = "post",
        operation_id = "proposeCandidateGoal"
    )]
    async fn staff_create(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<CandidateId>,
        body: Body<GoalCreate>,
    ) -> ApiResult<GoalResponse> {
        let who = auth.0.staff_reach()?;
        let v = goals::create(&state.db, &who, id.0, new_goal(body.0)).await?;
        let path = format!("/api/v1/candidates/{}/goals/{}", id.0, v.goal.id);
        Ok(respond(v, true, path))
    }

    /// Get a candidate's goal
    ///
    /// Staff of the candidate. The read is written to the audit log.
    #[oai(
        path = "/candidates/:id/goals/:goal_id",
        method = "get",
        operation_id = "getCandidateGoal"
    )]
    async fn staff_get(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<CandidateId>,
        goal_id: Path<GoalId>,
    ) -> ApiResult<GoalResponse> {
        let who = auth.0.staff_reach()?;
        Ok(respond(
            goals::get(&state.db, &who, id.0, goal_id.0).await?,
            false,
            String::new(),
        ))
    }

    /// Change a goal staff wrote
    ///
    /// Staff change only goals staff wrote (the candidate's own goals are theirs: 409). `If-Match`
    /// guards against overwriting the candidate's changes (412).
    #[oai(
        path = "/candidates/:id/goals/:goal_id",
        method = "patch",
        operation_id = "updateCandidateGoal"
    )]
    async fn staff_update(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<CandidateId>,
        goal_id: Path<GoalId>,
        /// The ETag you read; a stale one is refused with 412.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<IfMatch>>,
        body: Body<GoalPatch>,
    ) -> ApiResult<GoalResponse> {
        let who = auth.0.staff_reach()?;
        let expected = expected(if_match_header.0);
        Ok(respond(
            goals::update(&state.db, &who, id.0, goal_id.0, expected, change(body.0)).await?,
            false,
            String::new(),
        ))
    }

    /// Delete a goal staff wrote
    ///
    /// The candidate's own goals cannot be deleted by staff (409).
    #[oai(
        path = "/candidates/:id/goals/:goal_id",
        method = "delete",
        operation_id = "deleteCandidateGoal"
    )]
    async fn staff_delete(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<CandidateId>,
        goal_id: Path<GoalId>,
        /// The ETag you read; a stale one is refused with 412.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<IfMatch>>,
    ) -> ApiResult<GoalDeleted> {
        let who = auth.0.staff_reach()?;
        let expected = expected(if_match_header.0);
        goals::delete(&state.db, &who, id.0, goal_id.0, expected).await?;
        Ok(GoalDeleted::Done)
    }

    /// Add a step to a goal staff wrote
    ///
    /// Only on goals staff wrote (409 on the candidate's own). At most 30 steps. Answers with the whole goal.
    #[oai(
        path = "/candidates/:id/goals/:goal_id/steps",
        method = "post",
        operation_id = "addCandidateGoalStep"
    )]
    async fn staff_add_step(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<CandidateId>,
        goal_id: Path<GoalId>,
        /// The goal's ETag; a stale one is refused with 412.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<IfMatch>>,
        body: Body<StepCreate>,
    ) -> ApiResult<GoalResponse> {
        let who = auth.0.staff_reach()?;
        let expected = expected(if_match_header.0);
        let v = goals::add_step(
            &state.db,
            &who,
            id.0,
            goal_id.0,
            expected,
            body.0.title,
            body.0.position,
        )
        .await?;
        let path = format!("/api/v1/candidates/{}/goals/{}", id.0, v.goal.id);
        Ok(respond(v, true, path))
    }

    /// Change a step of a goal staff wrote
    ///
    /// Rename, tick off or move a step of a goal staff wrote (409 on the candidate's own goals).
    #[oai(
        path = "/candidates/:id/goals/:goal_id/steps/:step_id",
        method = "patch",
        operation_id = "updateCandidateGoalStep"
    )]
    async fn staff_update_step(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<CandidateId>,
        goal_id: Path<GoalId>,
        step_id: Path<StepId>,
        /// The goal's ETag; a stale one is refused with 412.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<IfMatch>>,
        body: Body<StepPatch>,
    ) -> ApiResult<GoalResponse> {
        let who = auth.0.staff_reach()?;
        let expected = expected(if_match_header.0);
        let v = goals::update_step(
            &state.db,
            &who,
            id.0,
            goal_id.0,
            step_id.0,
            expected,
            step_change(body.0),
        )
        .await?;
        Ok(respond(v, false, String::new()))
    }

    /// Remove a step from a goal staff wrote
    ///
    /// Only on goals staff wrote (409 on the candidate's own). Answers with the whole goal.
    #[oai(
        path = "/candidates/:id/goals/:goal_id/steps/:step_id",
        method = "delete",
        operation_id = "deleteCandidateGoalStep"
    )]
    async fn staff_delete_step(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<CandidateId>,
        goal_id: Path<GoalId>,
        step_id: Path<StepId>,
        /// The goal's ETag; a stale one is refused with 412.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<IfMatch>>,
    ) -> ApiResult<GoalResponse> {
        let who = auth.0.staff_reach()?;
        let expected = expected(if_match_header.0);
        Ok(respond(
            goals::delete_step(&state.db, &who, id.0, goal_id.0, step_id.0, expected).await?,
            false,
            String::new(),
        ))
    }
}

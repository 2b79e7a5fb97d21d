//! Goals and their steps, for the candidate (their own) and their staff. The candidate's wishes steer:
//! staff-written goals wait as `proposed` until the candidate accepts them, and staff edit only the
//! goals they wrote. Every change bumps the goal's version, so a phone and a desk editing the same goal
//! cannot silently overwrite each other.
use chrono::{NaiveDate, Utc};
use entity::{candidate, goal, goal_step};
use poem_openapi::Enum;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use super::{DomainError, DomainResult, audit, candidates, events, pagination::PageRequest};
use crate::{
    auth::{Actor, CandidateScope},
    db::Db,
};

/// At most this many steps per goal.
pub const MAX_STEPS: u64 = 30;
/// At most this many open (`proposed` or `active`) goals per candidate.
pub const MAX_OPEN_GOALS: u64 = 50;

/// Where a goal stands.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum GoalStatus {
    /// Proposed by staff; waits for the candidate to accept it.
    Proposed,
    /// Being worked on.
    Active,
    /// Reached.
    Achieved,
    /// Let go (or, for a proposal, declined or withdrawn).
    Abandoned,
}

impl GoalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Proposed => "proposed",
            Self::Active => "active",
            Self::Achieved => "achieved",
            Self::Abandoned => "abandoned",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "proposed" => Self::Proposed,
            "achieved" => Self::Achieved,
            "abandoned" => Self::Abandoned,
            _ => Self::Active,
        }
    }
}

/// What a goal is about.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum Category {
    /// A job.
    Job,
    /// Education.
    Education,
    /// Everyday life.
    EverydayLife,
    /// Friends, family, community.
    Social,
    /// Health.
    Health,
    /// Something else.
    Other,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Job => "job",
            Self::Education => "education",
            Self::EverydayLife => "everyday_life",
            Self::Social => "social",
            Self::Health => "health",
            Self::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Self {
        [
            Self::Job,
            Self::Education,
            Self::EverydayLife,
            Self::Social,
            Self::Health,
            Self::Other,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
        .unwrap_or(Self::Other)
    }
}

/// Who acts on goals: the candidate themselves, or staff reaching the candidate through their scope.
#[derive(Clone, Copy, Debug)]
pub enum Who {
    Candidate(Actor),
    Staff(Actor, CandidateScope),
}

impl Who {
    fn actor(&self) -> Actor {
        match self {
            Who::Candidate(a) | Who::Staff(a, _) => *a,
        }
    }

    fn is_staff(&self) -> bool {
        matches!(self, Who::Staff(..))
    }

    fn side(&self) -> &'static str {
        if self.is_staff() {
            "staff"
        } else {
            "candidate"
        }
    }
}

/// A goal with its steps in order.
#[derive(Clone, Debug)]
pub struct GoalView {
    pub goal: goal::Model,
    pub steps: Vec<goal_step::Model>,
}

impl GoalView {
    /// Done steps / steps, rounded down; 100 when achieved; 0 without steps.
    pub fn progress(&self) -> i32 {
        progress(GoalStatus::parse(&self.goal.status), &self.steps)
    }
}

pub fn progress(status: GoalStatus, steps: &[goal_step::Model]) -> i32 {
    if status == GoalStatus::Achieved {
        return 100;
    }
    if steps.is_empty() {
        return 0;
    }
    let done = steps.iter().filter(|s| s.done).count();
    (done * 100 / steps.len()) as i32
}

/// The candidate the caller reaches (404 otherwise).
async fn reach<C: ConnectionTrait>(
    db: &C,
    who: &Who,
    candidate_id: Uuid,
) -> DomainResult<candidate::Model> {
    match who {
        Who::Candidate(a) if a.id == candidate_id => candidate::Entity::find_by_id(candidate_id)
            .one(db)
            .await?
            .ok_or(DomainError::NotFound),
        Who::Candidate(_) => Err(DomainError::NotFound),
        Who::Staff(_, scope) => candidates::find_in_scope(db, scope, candidate_id).await,
    }
}

async fn find_goal<C: ConnectionTrait>(
    db: &C,
    candidate_id: Uuid,
    goal_id: Uuid,
) -> DomainResult<goal::Model> {
    goal::Entity::find_by_id(goal_id)
        .filter(goal::Column::CandidateId.eq(candidate_id))
        .one(db)
        .await?
        .ok_or(DomainError::NotFound)
}

async fn steps_of<C: ConnectionTrait>(
    db: &C,
    goal_ids: &[Uuid],
) -> DomainResult<Vec<goal_step::Model>> {
    if goal_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(goal_step::Entity::find()
        .filter(goal_step::Column::GoalId.is_in(goal_ids.iter().copied()))
        .order_by_asc(goal_step::Column::GoalId)
        .order_by_asc(goal_step::Column::Position)
        .all(db)
        .await?)
}

/// Joins goals with their steps (two queries whatever the number of goals).
pub async fn with_steps<C: ConnectionTrait>(
    db: &C,
    goals: Vec<goal::Model>,
) -> DomainResult<Vec<GoalView>> {
    let ids: Vec<Uuid> = goals.iter().map(|g| g.id).collect();
    let mut steps = steps_of(db, &ids).await?;
    Ok(goals
        .into_iter()
        .map(|g| {
            let (mine, rest): (Vec<_>, Vec<_>) = steps.drain(..).partition(|s| s.goal_id == g.id);
            steps = rest;
            GoalView {
                goal: g,
                steps: mine,
            }
        })
        .collect())
}

async fn audit_read(
    db: &Db,
    who: &Who,
    c: &candidate::Model,
    goal_id: Option<Uuid>,
) -> DomainResult<()> {
    if who.is_staff() {
        audit::record(
            db.write(),
            who.actor(),
            Some(c.municipality_id),
            Some(c.id),
            audit::Action::Read,
            "goal",
            goal_id,
        )
        .await?;
    }
    Ok(())
}

/// The candidate's goals, oldest first, a page at a time; optionally only one status.
pub async fn list(
    db: &Db,
    who: &Who,
    candidate_id: Uuid,
    status: Option<GoalStatus>,
    page: PageRequest,
) -> DomainResult<(Vec<GoalView>, Option<String>)> {
    let c = reach(db.read(), who, candidate_id).await?;
    let mut q = goal::Entity::find()
        .filter(goal::Column::CandidateId.eq(c.id))
        .order_by_asc(goal::Column::Id)
        .limit(page.fetch());
    if let Some(s) = status {
        q = q.filter(goal::Column::Status.eq(s.as_str()));
    }
    if let Some(after) = page.after {
        q = q.filter(goal::Column::Id.gt(after));
    }
    let (rows, next) = page.finish(q.all(db.read()).await?, |g| g.id);
    let views = with_steps(db.read(), rows).await?;
    audit_read(db, who, &c, None).await?;
    Ok((views, next))
}

pub async fn get(db: &Db, who: &Who, candidate_id: Uuid, goal_id: Uuid) -> DomainResult<GoalView> {
    let c = reach(db.read(), who, candidate_id).await?;
    let g = find_goal(db.read(), c.id, goal_id).await?;
    let steps = steps_of(db.read(), &[g.id]).await?;
    audit_read(db, who, &c, Some(g.id)).await?;
    Ok(GoalView { goal: g, steps })
}

/// A new goal.
pub struct NewGoal {
    pub title: String,
    pub description: Option<String>,
    pub category: Category,
    pub target_date: Option<NaiveDate>,
    pub steps: Vec<String>,
}

async fn count_open<C: ConnectionTrait>(db: &C, candidate_id: Uuid) -> DomainResult<u64> {
    Ok(goal::Entity::find()
        .filter(goal::Column::CandidateId.eq(candidate_id))
        .filter(goal::Column::Status.is_in(["proposed", "active"]))
        .count(db)
        .await?)
}

fn payload(g: &goal::Model, step: Option<Uuid>) -> serde_json::Value {
    json!({"candidate_id": g.candidate_id, "goal_id": g.id, "status": g.status, "step_id": step})
}

async fn record<C: ConnectionTrait>(
    txn: &C,
    who: &Who,
    g: &goal::Model,
    event: &str,
    step: Option<Uuid>,
    action: audit::Action,
) -> DomainResult<()> {
    events::append(txn, g.municipality_id, event, payload(g, step)).await?;
    audit::record(
        txn,
        who.actor(),
        Some(g.municipality_id),
        Some(g.candidate_id),
        action,
        "goal",
        Some(g.id),
    )
    .await?;
    Ok(())
}

/// Creates a goal: `active` when the candidate writes it, `proposed` when staff do.
pub async fn create(
    db: &Db,
    who: &Who,
    candidate_id: Uuid,
    new: NewGoal,
) -> DomainResult<GoalView> {
    if new.steps.len() as u64 > MAX_STEPS {
        return Err(DomainError::field(
            "steps",
            "max_items",
            format!("a goal has at most {MAX_STEPS} steps"),
        ));
    }
    let txn = db.begin().await?;
    let c = reach(&txn, who, candidate_id).await?;
    if count_open(&txn, c.id).await? >= MAX_OPEN_GOALS {
        return Err(DomainError::Conflict(format!(
            "There are already {MAX_OPEN_GOALS} open goals. Finish or let go of one first."
        )));
    }
    let now = Utc::now();
    let status = if who.is_staff() {
        GoalStatus::Proposed
    } else {
        GoalStatus::Active
    };
    let g = goal::ActiveModel {
        id: Set(Uuid::now_v7()),
        candidate_id: Set(c.id),
        municipality_id: Set(c.municipality_id),
        title: Set(new.title.trim().to_string()),
        description: Set(new.description),
        category: Set(new.category.as_str().into()),
        status: Set(status.as_str().into()),
        created_by: Set(who.side().into()),
        target_date: Set(new.target_date),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let mut steps = Vec::new();
    for (i, title) in new.steps.into_iter().enumerate() {
        steps.push(insert_step(&txn, g.id, title, i as i32).await?);
    }
    record(&txn, who, &g, "goal.created", None, audit::Action::Create).await?;
    txn.commit().await?;
    Ok(GoalView { goal: g, steps })
}

async fn insert_step<C: ConnectionTrait>(
    txn: &C,
    goal_id: Uuid,
    title: String,
    position: i32,
) -> DomainResult<goal_step::Model> {
    Ok(goal_step::ActiveModel {
        id: Set(Uuid::now_v7()),
        goal_id: Set(goal_id),
        title: Set(title.trim().to_string()),
        done: Set(false),
        done_at: Set(None),
        position: Set(position),
        created_at: Set(Utc::now()),
    }
    .insert(txn)
    .await?)
}

/// A change to a goal; `Some(None)` clears an optional field.
#[derive(Default)]
pub struct GoalChange {
    pub title: Option<String>,
    pub description: Option<Option<String>>,
    pub category: Option<Category>,
    pub target_date: Option<Option<NaiveDate>>,
    pub status: Option<GoalStatus>,
}

/// The status changes each side may make.
fn status_allowed(who: &Who, from: GoalStatus, to: GoalStatus) -> bool {
    use GoalStatus::*;
    if from == to {
        return true;
    }
    match (from, to) {
        // A proposal becomes active only by the candidate's `accept`; either side may set it aside.
        (Proposed, Abandoned) => true,
        (Active, Achieved | Abandoned) => true,
        (Achieved | Abandoned, Active) => !who.is_staff() || from == Achieved,
        _ => false,
    }
}

/// Bumps the goal's version if it is still `expected` (or any, when `None`); `Stale` otherwise.
async fn bump(
    txn: &DatabaseTransaction,
    g: &goal::Model,
    expected: Option<i32>,
    mut am: goal::ActiveModel,
) -> DomainResult<goal::Model> {
    if expected.is_some_and(|v| v != g.version) {
        return Err(DomainError::Stale);
    }
    am.version = Set(g.version + 1);
    am.updated_at = Set(Utc::now());
    goal::Entity::update_many()
        .set(am)
        .filter(goal::Column::Id.eq(g.id))
        .filter(goal::Column::Version.eq(g.version))
        .exec_with_returning(txn)
        .await?
        .into_iter()
        .next()
        .ok_or(DomainError::Stale)
}

pub async fn update(
    db: &Db,
    who: &Who,
    candidate_id: Uuid,
    goal_id: Uuid,
    expected: Option<i32>,
    change: GoalChange,
) -> DomainResult<GoalView> {
    let txn = db.begin().await?;
    let c = reach(&txn, who, candidate_id).await?;
    let g = find_goal(&txn, c.id, goal_id).await?;
    can_touch(who, &g)?;
    let from = GoalStatus::parse(&g.status);
    if let Some(to) = change.status {
        if !status_allowed(who, from, to) {
            let hint = if from == GoalStatus::Proposed && to == GoalStatus::Active {
                "A proposed goal becomes active when the candidate accepts it (POST …/accept)."
            } else {
                "That status change is not possible."
            };
            return Err(DomainError::Conflict(format!(
                "A goal that is `{}` cannot become `{}`. {hint}",
                from.as_str(),
                to.as_str()
            )));
        }
        if to == GoalStatus::Active
            && from != GoalStatus::Active
            && count_open(&txn, c.id).await? >= MAX_OPEN_GOALS
        {
            return Err(DomainError::Conflict(format!(
                "There are already {MAX_OPEN_GOALS} open goals."
            )));
        }
    }
    let mut am = g.clone().into_active_model();
    if let Some(v) = change.title {
        am.title = Set(v.trim().to_string());
    }
    if let Some(v) = change.description {
        am.description = Set(v);
    }
    if let Some(v) = change.category {
        am.category = Set(v.as_str().into());
    }
    if let Some(v) = change.target_date {
        am.target_date = Set(v);
    }
    if let Some(v) = change.status {
        am.status = Set(v.as_str().into());
    }
    let updated = bump(&txn, &g, expected, am).await?;
    record(
        &txn,
        who,
        &updated,
        "goal.updated",
        None,
        audit::Action::Update,
    )
    .await?;
    let steps = steps_of(&txn, &[g.id]).await?;
    txn.commit().await?;
    Ok(GoalView {
        goal: updated,
        steps,
    })
}

/// Deletes a goal: the candidate their own `proposed` or `active` goals, staff the goals staff wrote.
pub async fn delete(
    db: &Db,
    who: &Who,
    candidate_id: Uuid,
    goal_id: Uuid,
    expected: Option<i32>,
) -> DomainResult<()> {
    let txn = db.begin().await?;
    let c = reach(&txn, who, candidate_id).await?;
    let g = find_goal(&txn, c.id, goal_id).await?;
    if expected.is_some_and(|v| v != g.version) {
        return Err(DomainError::Stale);
    }
    if g.created_by != who.side() {
        return Err(DomainError::Conflict(if who.is_staff() {
            "This goal is the candidate's own; staff cannot delete it.".into()
        } else {
            "Your consultant wrote this goal. You can say no to it (set it to `abandoned`) instead of deleting it.".into()
        }));
    }
    if !who.is_staff()
        && !matches!(
            GoalStatus::parse(&g.status),
            GoalStatus::Proposed | GoalStatus::Active
        )
    {
        return Err(DomainError::Conflict(
            "Only goals that are still open can be deleted.".into(),
        ));
    }
    goal_step::Entity::delete_many()
        .filter(goal_step::Column::GoalId.eq(g.id))
        .exec(&txn)
        .await?;
    goal::Entity::delete_by_id(g.id).exec(&txn).await?;
    record(&txn, who, &g, "goal.deleted", None, audit::Action::Delete).await?;
    txn.commit().await?;
    Ok(())
}

/// The candidate accepts a goal their consultant proposed.
pub async fn accept(
    db: &Db,
    who: &Who,
    candidate_id: Uuid,
    goal_id: Uuid,
    expected: Option<i32>,
) -> DomainResult<GoalView> {
    let txn = db.begin().await?;
    let c = reach(&txn, who, candidate_id).await?;
    let g = find_goal(&txn, c.id, goal_id).await?;
    if g.status != GoalStatus::Proposed.as_str() {
        return Err(DomainError::Conflict(format!(
            "Only a proposed goal can be accepted; this one is `{}`.",
            g.status
        )));
    }
    let mut am = g.clone().into_active_model();
    am.status = Set(GoalStatus::Active.as_str().into());
    let updated = bump(&txn, &g, expected, am).await?;
    record(
        &txn,
        who,
        &updated,
        "goal.accepted",
        None,
        audit::Action::Update,
    )
    .await?;
    let steps = steps_of(&txn, &[g.id]).await?;
    txn.commit().await?;
    Ok(GoalView {
        goal: updated,
        steps,
    })
}

/// Rewrites the positions 0..n in the given order, touching only rows that moved.
async fn renumber(txn: &DatabaseTransaction, steps: &[goal_step::Model]) -> DomainResult<()> {
    for (i, s) in steps.iter().enumerate() {
        if s.position != i as i32 {
            goal_step::Entity::update_many()
                .col_expr(goal_step::Column::Position, Expr::value(i as i32))
                .filter(goal_step::Column::Id.eq(s.id))
                .exec(txn)
                .await?;
        }
    }
    Ok(())
}

/// Staff change only the goals staff wrote; the candidate's own goals are theirs alone.
fn can_touch(who: &Who, g: &goal::Model) -> DomainResult<()> {
    if who.is_staff() && g.created_by != "staff" {
        return Err(DomainError::Conflict(
            "This goal is the candidate's own; only they can change it.".into(),
        ));
    }
    Ok(())
}

/// Adds a step at `position` (default: last).
pub async fn add_step(
    db: &Db,
    who: &Who,
    candidate_id: Uuid,
    goal_id: Uuid,
    expected: Option<i32>,
    title: String,
    position: Option<i32>,
) -> DomainResult<GoalView> {
    let txn = db.begin().await?;
    let c = reach(&txn, who, candidate_id).await?;
    let g = find_goal(&txn, c.id, goal_id).await?;
    can_touch(who, &g)?;
    let mut steps = steps_of(&txn, &[g.id]).await?;
    if steps.len() as u64 >= MAX_STEPS {
        return Err(DomainError::Conflict(format!(
            "A goal has at most {MAX_STEPS} steps."
        )));
    }
    let at = position
        .map(|p| p.clamp(0, steps.len() as i32) as usize)
        .unwrap_or(steps.len());
    let updated = bump(&txn, &g, expected, g.clone().into_active_model()).await?;
    let step = insert_step(&txn, g.id, title, at as i32).await?;
    // The new row already has its place; renumbering moves the ones after it.
    steps.insert(at, step.clone());
    renumber(&txn, &steps).await?;
    record(
        &txn,
        who,
        &updated,
        "goal.step_added",
        Some(step.id),
        audit::Action::Update,
    )
    .await?;
    let steps = steps_of(&txn, &[g.id]).await?;
    txn.commit().await?;
    Ok(GoalView {
        goal: updated,
        steps,
    })
}

/// A change to a step.
#[derive(Default)]
pub struct StepChange {
    pub title: Option<String>,
    pub done: Option<bool>,
    pub position: Option<i32>,
}

pub async fn update_step(
    db: &Db,
    who: &Who,
    candidate_id: Uuid,
    goal_id: Uuid,
    step_id: Uuid,
    expected: Option<i32>,
    change: StepChange,
) -> DomainResult<GoalView> {
    let txn = db.begin().await?;
    let c = reach(&txn, who, candidate_id).await?;
    let g = find_goal(&txn, c.id, goal_id).await?;
    let mut steps = steps_of(&txn, &[g.id]).await?;
    let Some(idx) = steps.iter().position(|s| s.id == step_id) else {
        return Err(DomainError::NotFound);
    };
    can_touch(who, &g)?;
    let updated = bump(&txn, &g, expected, g.clone().into_active_model()).await?;
    let step = steps[idx].clone();
    let mut am = step.clone().into_active_model();
    if let Some(t) = change.title {
        am.title = Set(t.trim().to_string());
    }
    let newly_done = change.done == Some(true) && !step.done;
    if let Some(done) = change.done
        && done != step.done
    {
        am.done = Set(done);
        am.done_at = Set(done.then(Utc::now));
    }
    am.update(&txn).await?;
    if let Some(p) = change.position {
        let moved = steps.remove(idx);
        let to = p.clamp(0, steps.len() as i32) as usize;
        steps.insert(to, moved);
        renumber(&txn, &steps).await?;
    }
    let event = if newly_done {
        "goal.step_done"
    } else {
        "goal.step_updated"
    };
    record(
        &txn,
        who,
        &updated,
        event,
        Some(step_id),
        audit::Action::Update,
    )
    .await?;
    let steps = steps_of(&txn, &[g.id]).await?;
    txn.commit().await?;
    Ok(GoalView {
        goal: updated,
        steps,
    })
}

pub async fn delete_step(
    db: &Db,
    who: &Who,
    candidate_id: Uuid,
    goal_id: Uuid,
    step_id: Uuid,
    expected: Option<i32>,
) -> DomainResult<GoalView> {
    let txn = db.begin().await?;
    let c = reach(&txn, who, candidate_id).await?;
    let g = find_goal(&txn, c.id, goal_id).await?;
    let mut steps = steps_of(&txn, &[g.id]).await?;
    let Some(idx) = steps.iter().position(|s| s.id == step_id) else {
        return Err(DomainError::NotFound);
    };
    can_touch(who, &g)?;
    let updated = bump(&txn, &g, expected, g.clone().into_active_model()).await?;
    goal_step::Entity::delete_by_id(step_id).exec(&txn).await?;
    steps.remove(idx);
    renumber(&txn, &steps).await?;
    record(
        &txn,
        who,
        &updated,
        "goal.step_removed",
        Some(step_id),
        audit::Action::Update,
    )
    .await?;
    let steps = steps_of(&txn, &[g.id]).await?;
    txn.commit().await?;
    Ok(GoalView {
        goal: updated,
        steps,
    })
}

//! Goals and their steps, for the candidate (their own) and their staff. The candidate's wishes steer:
//! staff-written goals wait as `proposed` until the candidate accepts them, and staff edit only the
//! goals they wrote. Every change bumps the goal's version, so a phone and a desk editing the same goal
//! cannot silently overwrite each other.
use chrono::{NaiveDate, SubsecRound, Utc};
pub use entity::types::{GoalCategory as Category, GoalStatus};
use entity::{
    goal, goal_step,
    ids::{CandidateId, GoalId, StepId},
    scoped::CandidateOwned,
    types::{AuditAction, AuditResource, Author, EventType},
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    FromQueryResult, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait, Select, Set,
    sea_query::{Expr, ExprTrait as _},
};
use serde_json::json;

use super::{
    DomainError, DomainResult,
    access::{Reach, Reached},
    journal::{self, Subject, Writes},
    pagination::PageRequest,
};
use crate::db::Db;

/// At most this many steps per goal.
pub const MAX_STEPS: u64 = 30;
/// At most this many open (`proposed` or `active`) goals per candidate.
pub const MAX_OPEN_GOALS: u64 = 50;

/// A goal with its steps in order.
#[derive(Clone, Debug)]
pub struct GoalView {
    pub goal: goal::Model,
    pub steps: Vec<goal_step::Model>,
}

impl GoalView {
    /// Done steps / steps, rounded down; 100 when achieved; 0 without steps.
    pub fn progress(&self) -> i32 {
        progress(self.goal.status, &self.steps)
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

async fn steps_of<C: ConnectionTrait>(
    db: &C,
    goal_ids: &[GoalId],
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
    let ids: Vec<GoalId> = goals.iter().map(|g| g.id).collect();
    let steps = steps_of(db, &ids).await?;
    Ok(join_steps(goals, steps))
}

/// Gives each goal its steps; `steps` in (goal, position) order.
pub fn join_steps(goals: Vec<goal::Model>, mut steps: Vec<goal_step::Model>) -> Vec<GoalView> {
    goals
        .into_iter()
        .map(|g| {
            let (mine, rest): (Vec<_>, Vec<_>) = steps.drain(..).partition(|s| s.goal_id == g.id);
            steps = rest;
            GoalView {
                goal: g,
                steps: mine,
            }
        })
        .collect()
}

/// Staff reads are audited (the candidate reading their own are not).
async fn audit_read(db: &Db, c: &Reached, goal_id: Option<GoalId>) -> DomainResult<()> {
    if c.through_scope() {
        let subject = Subject::candidate(
            c.municipality_id(),
            c.id(),
            AuditResource::Goal,
            goal_id.map(|g| g.0),
        );
        journal::read(db.write(), c.actor(), &subject).await?;
    }
    Ok(())
}

/// The candidate's goals, oldest first, a page at a time; optionally only one status.
pub async fn list(
    db: &Db,
    reach: &Reach,
    candidate_id: CandidateId,
    status: Option<GoalStatus>,
    page: PageRequest,
) -> DomainResult<(Vec<GoalView>, Option<String>)> {
    let c = reach.candidate(db.read(), candidate_id).await?;
    let mut q = c.rows::<goal::Entity>().order_by_asc(goal::Column::Id);
    if let Some(s) = status {
        q = q.filter(goal::Column::Status.eq(s));
    }
    if let Some(after) = page.after {
        q = q.filter(goal::Column::Id.gt(after));
    }
    let (rows, next) = page.read(q, db.read(), |g| g.id.0).await?;
    let views = with_steps(db.read(), rows).await?;
    audit_read(db, &c, None).await?;
    Ok((views, next))
}

pub async fn get(
    db: &Db,
    reach: &Reach,
    candidate_id: CandidateId,
    goal_id: GoalId,
) -> DomainResult<GoalView> {
    let c = reach.candidate(db.read(), candidate_id).await?;
    let g = c.find::<goal::Entity, _>(db.read(), goal_id).await?;
    let steps = steps_of(db.read(), &[g.id]).await?;
    audit_read(db, &c, Some(g.id)).await?;
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

/// The candidate's open (`proposed` or `active`) goals.
fn open_goals(candidate_id: CandidateId) -> Select<goal::Entity> {
    goal::Entity::secure_find(candidate_id).filter(goal::Column::Status.is_in(GoalStatus::OPEN))
}

async fn count_open<C: ConnectionTrait>(db: &C, c: &Reached) -> DomainResult<u64> {
    Ok(open_goals(c.id()).count(db).await?)
}

/// What a new goal reads with its candidate, in the same statement.
#[derive(FromQueryResult)]
struct Open {
    open_goals: i64,
}

fn payload(g: &goal::Model, step: Option<StepId>) -> serde_json::Value {
    json!({"candidate_id": g.candidate_id, "goal_id": g.id, "status": g.status, "step_id": step})
}

/// Records a change of `g` by whoever reached its candidate: the event (ids and status) and the audit.
async fn record<C: ConnectionTrait>(
    txn: &C,
    c: &Reached,
    g: &goal::Model,
    event: EventType,
    step: Option<StepId>,
    action: AuditAction,
) -> DomainResult<()> {
    let writes = Writes::new(txn.get_database_backend());
    record_with(txn, writes, c, g, event, step, action).await
}

/// `record`, sent with the change's own statements as one request (`journal::record_with`).
async fn record_with<C: ConnectionTrait>(
    txn: &C,
    writes: Writes,
    c: &Reached,
    g: &goal::Model,
    event: EventType,
    step: Option<StepId>,
    action: AuditAction,
) -> DomainResult<()> {
    journal::record_reached(
        txn,
        writes,
        c,
        AuditResource::Goal,
        g.id,
        event,
        payload(g, step),
        action,
    )
    .await
}

/// Creates a goal: `active` when the candidate writes it, `proposed` when staff do.
pub async fn create(
    db: &Db,
    reach: &Reach,
    candidate_id: CandidateId,
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
    let count = open_goals(candidate_id)
        .select_only()
        .expr(Expr::col(goal::Column::Id).count())
        .into_query();
    let (c, open): (_, Open) = reach
        .candidate_with(&txn, candidate_id, [("open_goals", count.into())])
        .await?;
    if open.open_goals >= MAX_OPEN_GOALS as i64 {
        return Err(DomainError::Conflict(format!(
            "There are already {MAX_OPEN_GOALS} open goals. Finish or let go of one first."
        )));
    }
    // Microseconds, as the database keeps it: the answer shows what a later read will.
    let now = Utc::now().trunc_subsecs(6);
    let status = match c.author() {
        Author::Staff => GoalStatus::Proposed,
        Author::Candidate => GoalStatus::Active,
    };
    let g = goal::Model {
        id: GoalId::generate(),
        candidate_id: c.id(),
        municipality_id: c.municipality_id(),
        title: new.title.trim().to_string(),
        description: new.description,
        category: new.category,
        status,
        created_by: c.author(),
        target_date: new.target_date,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let steps: Vec<goal_step::Model> = new
        .steps
        .iter()
        .enumerate()
        .map(|(i, title)| goal_step::Model {
            id: StepId::generate(),
            goal_id: g.id,
            title: title.trim().to_string(),
            done: false,
            done_at: None,
            position: i as i32,
            created_at: now,
        })
        .collect();
    // The goal, its steps (one statement), the audit entry and the event: one request.
    let mut writes = Writes::new(txn.get_database_backend());
    writes.push(goal::Entity::insert(goal::ActiveModel::from(g.clone())).as_query());
    if !steps.is_empty() {
        writes.push(
            goal_step::Entity::insert_many(
                steps
                    .iter()
                    .map(|st| goal_step::ActiveModel::from(st.clone())),
            )
            .as_query(),
        );
    }
    record_with(
        &txn,
        writes,
        &c,
        &g,
        EventType::GoalCreated,
        None,
        AuditAction::Create,
    )
    .await?;
    txn.commit().await?;
    Ok(GoalView { goal: g, steps })
}

async fn insert_step<C: ConnectionTrait>(
    txn: &C,
    goal_id: GoalId,
    title: String,
    position: i32,
) -> DomainResult<goal_step::Model> {
    Ok(goal_step::ActiveModel {
        id: Set(StepId::generate()),
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
fn status_allowed(by: Author, from: GoalStatus, to: GoalStatus) -> bool {
    use GoalStatus::*;
    if from == to {
        return true;
    }
    match (from, to) {
        // A proposal becomes active only by the candidate's `accept`; either side may set it aside.
        (Proposed, Abandoned) => true,
        (Active, Achieved | Abandoned) => true,
        (Achieved | Abandoned, Active) => by == Author::Candidate || from == Achieved,
        _ => false,
    }
}

/// Bumps the goal's version if it is still `expected` (or any, when `None`); `Stale` otherwise.
async fn bump(
    txn: &DatabaseTransaction,
    g: &goal::Model,
    expected: Option<i32>,
    am: goal::ActiveModel,
) -> DomainResult<goal::Model> {
    journal::versioned_update::<goal::Entity, _>(txn, g.id, g.version, expected, am).await
}

pub async fn update(
    db: &Db,
    reach: &Reach,
    candidate_id: CandidateId,
    goal_id: GoalId,
    expected: Option<i32>,
    change: GoalChange,
) -> DomainResult<GoalView> {
    let txn = db.begin().await?;
    let c = reach.candidate(&txn, candidate_id).await?;
    let g = c.find::<goal::Entity, _>(&txn, goal_id).await?;
    can_touch(&c, &g)?;
    let from = g.status;
    if let Some(to) = change.status {
        if !status_allowed(c.author(), from, to) {
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
            && count_open(&txn, &c).await? >= MAX_OPEN_GOALS
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
        am.category = Set(v);
    }
    if let Some(v) = change.target_date {
        am.target_date = Set(v);
    }
    if let Some(v) = change.status {
        am.status = Set(v);
    }
    let updated = bump(&txn, &g, expected, am).await?;
    record(
        &txn,
        &c,
        &updated,
        EventType::GoalUpdated,
        None,
        AuditAction::Update,
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
    reach: &Reach,
    candidate_id: CandidateId,
    goal_id: GoalId,
    expected: Option<i32>,
) -> DomainResult<()> {
    let txn = db.begin().await?;
    let c = reach.candidate(&txn, candidate_id).await?;
    let g = c.find::<goal::Entity, _>(&txn, goal_id).await?;
    if expected.is_some_and(|v| v != g.version) {
        return Err(DomainError::Stale);
    }
    if g.created_by != c.author() {
        return Err(DomainError::Conflict(if c.through_scope() {
            "This goal is the candidate's own; staff cannot delete it.".into()
        } else {
            "Your consultant wrote this goal. You can say no to it (set it to `abandoned`) instead of deleting it.".into()
        }));
    }
    if !c.through_scope() && !GoalStatus::OPEN.contains(&g.status) {
        return Err(DomainError::Conflict(
            "Only goals that are still open can be deleted.".into(),
        ));
    }
    goal_step::Entity::delete_many()
        .filter(goal_step::Column::GoalId.eq(g.id))
        .exec(&txn)
        .await?;
    goal::Entity::delete_by_id(g.id).exec(&txn).await?;
    record(
        &txn,
        &c,
        &g,
        EventType::GoalDeleted,
        None,
        AuditAction::Delete,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// The candidate accepts a goal their consultant proposed.
pub async fn accept(
    db: &Db,
    reach: &Reach,
    candidate_id: CandidateId,
    goal_id: GoalId,
    expected: Option<i32>,
) -> DomainResult<GoalView> {
    let txn = db.begin().await?;
    let c = reach.candidate(&txn, candidate_id).await?;
    let g = c.find::<goal::Entity, _>(&txn, goal_id).await?;
    if g.status != GoalStatus::Proposed {
        return Err(DomainError::Conflict(format!(
            "Only a proposed goal can be accepted; this one is `{}`.",
            g.status
        )));
    }
    let mut am = g.clone().into_active_model();
    am.status = Set(GoalStatus::Active);
    let updated = bump(&txn, &g, expected, am).await?;
    record(
        &txn,
        &c,
        &updated,
        EventType::GoalAccepted,
        None,
        AuditAction::Update,
    )
    .await?;
    let steps = steps_of(&txn, &[g.id]).await?;
    txn.commit().await?;
    Ok(GoalView {
        goal: updated,
        steps,
    })
}

/// Puts each step at its index: an `UPDATE` of the position, sent with the change's other statements,
/// for each step that is elsewhere, and the same position in `steps`.
fn renumber_with(writes: &mut Writes, steps: &mut [goal_step::Model]) {
    for (i, s) in steps.iter_mut().enumerate() {
        let position = i as i32;
        if s.position != position {
            s.position = position;
            writes.push(
                goal_step::Entity::update_many()
                    .col_expr(goal_step::Column::Position, Expr::value(position))
                    .filter(goal_step::Column::Id.eq(s.id))
                    .as_query(),
            );
        }
    }
}

/// Staff change only the goals staff wrote; the candidate's own goals are theirs alone.
fn can_touch(c: &Reached, g: &goal::Model) -> DomainResult<()> {
    if c.through_scope() && g.created_by != Author::Staff {
        return Err(DomainError::Conflict(
            "This goal is the candidate's own; only they can change it.".into(),
        ));
    }
    Ok(())
}

/// Adds a step at `position` (default: last).
pub async fn add_step(
    db: &Db,
    reach: &Reach,
    candidate_id: CandidateId,
    goal_id: GoalId,
    expected: Option<i32>,
    title: String,
    position: Option<i32>,
) -> DomainResult<GoalView> {
    let txn = db.begin().await?;
    let c = reach.candidate(&txn, candidate_id).await?;
    let g = c.find::<goal::Entity, _>(&txn, goal_id).await?;
    can_touch(&c, &g)?;
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
    let step_id = step.id;
    steps.insert(at, step);
    let mut writes = Writes::new(txn.get_database_backend());
    renumber_with(&mut writes, &mut steps);
    record_with(
        &txn,
        writes,
        &c,
        &updated,
        EventType::GoalStepAdded,
        Some(step_id),
        AuditAction::Update,
    )
    .await?;
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
    reach: &Reach,
    candidate_id: CandidateId,
    goal_id: GoalId,
    step_id: StepId,
    expected: Option<i32>,
    change: StepChange,
) -> DomainResult<GoalView> {
    let txn = db.begin().await?;
    let c = reach.candidate(&txn, candidate_id).await?;
    let g = c.find::<goal::Entity, _>(&txn, goal_id).await?;
    let mut steps = steps_of(&txn, &[g.id]).await?;
    let Some(idx) = steps.iter().position(|s| s.id == step_id) else {
        return Err(DomainError::NotFound);
    };
    can_touch(&c, &g)?;
    let updated = bump(&txn, &g, expected, g.clone().into_active_model()).await?;
    // The step as it will be, built here (its time in microseconds, as the database keeps it), so
    // the answer needs no read after the writes.
    let was_done = steps[idx].done;
    let step = &mut steps[idx];
    if let Some(t) = change.title {
        step.title = t.trim().to_string();
    }
    let newly_done = change.done == Some(true) && !was_done;
    if let Some(done) = change.done
        && done != was_done
    {
        step.done = done;
        step.done_at = done.then(|| Utc::now().trunc_subsecs(6));
    }
    let at = match change.position {
        Some(p) => {
            let moved = steps.remove(idx);
            let to = p.clamp(0, steps.len() as i32) as usize;
            steps.insert(to, moved);
            to
        }
        None => idx,
    };
    // The step's own change with its new position, then every other position that moved: one
    // `UPDATE` per row (on PostgreSQL two `UPDATE`s of one row in one statement would not both
    // apply), sent with the audit entry and the event as one request.
    use goal_step::Column as S;
    let step = &mut steps[at];
    step.position = at as i32;
    let mut writes = Writes::new(txn.get_database_backend());
    writes.push(
        goal_step::Entity::update_many()
            .col_expr(S::Title, Expr::value(step.title.clone()))
            .col_expr(S::Done, Expr::value(step.done))
            .col_expr(S::DoneAt, Expr::value(step.done_at))
            .col_expr(S::Position, Expr::value(step.position))
            .filter(S::Id.eq(step.id))
            .as_query(),
    );
    renumber_with(&mut writes, &mut steps);
    let event = if newly_done {
        EventType::GoalStepDone
    } else {
        EventType::GoalStepUpdated
    };
    record_with(
        &txn,
        writes,
        &c,
        &updated,
        event,
        Some(step_id),
        AuditAction::Update,
    )
    .await?;
    txn.commit().await?;
    Ok(GoalView {
        goal: updated,
        steps,
    })
}

pub async fn delete_step(
    db: &Db,
    reach: &Reach,
    candidate_id: CandidateId,
    goal_id: GoalId,
    step_id: StepId,
    expected: Option<i32>,
) -> DomainResult<GoalView> {
    let txn = db.begin().await?;
    let c = reach.candidate(&txn, candidate_id).await?;
    let g = c.find::<goal::Entity, _>(&txn, goal_id).await?;
    let mut steps = steps_of(&txn, &[g.id]).await?;
    let Some(idx) = steps.iter().position(|s| s.id == step_id) else {
        return Err(DomainError::NotFound);
    };
    can_touch(&c, &g)?;
    let updated = bump(&txn, &g, expected, g.clone().into_active_model()).await?;
    goal_step::Entity::delete_by_id(step_id).exec(&txn).await?;
    steps.remove(idx);
    let mut writes = Writes::new(txn.get_database_backend());
    renumber_with(&mut writes, &mut steps);
    record_with(
        &txn,
        writes,
        &c,
        &updated,
        EventType::GoalStepRemoved,
        Some(step_id),
        AuditAction::Update,
    )
    .await?;
    txn.commit().await?;
    Ok(GoalView {
        goal: updated,
        steps,
    })
}

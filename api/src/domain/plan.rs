//! `GET /me/plan`: everything the portal's home screen needs, in a fixed, small number of indexed
//! queries whatever the size of the candidate's history.
use entity::{candidate, enrollment, goal, staff, types::GoalStatus};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::{DomainError, DomainResult, access::Reach, goals};
use crate::db::Db;

/// The parts of the plan; the parts later features fill are empty until their tables exist.
pub struct Plan {
    pub candidate: candidate::Model,
    pub consultant: Option<staff::Model>,
    pub enrollment: enrollment::Model,
    pub goals: Vec<goals::GoalView>,
    pub proposed_goals: Vec<goals::GoalView>,
    pub open_requests: Vec<entity::request::Model>,
    /// The next (at most 5) scheduled appointments that have not ended.
    pub next_appointments: Vec<entity::appointment::Model>,
    /// Questionnaires due now (none while the course is paused or has ended).
    pub due_questionnaires: Vec<entity::questionnaire_assignment::Model>,
    /// The latest WHO-5 response.
    pub latest_wellbeing: Option<entity::questionnaire_response::Model>,
    /// The next session of a network group I am in (one query).
    pub next_network_group_session: Option<super::network_groups::MySession>,
}

pub async fn load(db: &Db, reach: &Reach) -> DomainResult<Plan> {
    let Reach::Own(me) = reach else {
        return Err(DomainError::Forbidden);
    };
    let conn = db.read();
    let reached = reach.candidate(conn, me.id).await?;
    let candidate_id = reached.id();
    let consultant = match reached.candidate().consultant_id {
        Some(id) => staff::Entity::find_by_id(id).one(conn).await?,
        None => None,
    };
    let enrollment = super::enrollment::current(conn, candidate_id).await?;
    let open = reached
        .rows::<goal::Entity>()
        .filter(goal::Column::Status.is_in(GoalStatus::OPEN))
        .order_by_asc(goal::Column::Id)
        .all(conn)
        .await?;
    let (proposed_goals, goals): (Vec<_>, Vec<_>) = goals::with_steps(conn, open)
        .await?
        .into_iter()
        .partition(|g| g.goal.status == GoalStatus::Proposed);
    let open_requests = super::requests::open_for(conn, candidate_id).await?;
    let next_appointments =
        super::appointments::upcoming(conn, candidate_id, chrono::Utc::now(), 5).await?;
    let due_questionnaires = if super::questionnaires::assignments::runs(enrollment.status) {
        super::questionnaires::assignments::due_for(conn, candidate_id, chrono::Utc::now()).await?
    } else {
        Vec::new()
    };
    let latest_wellbeing = super::questionnaires::latest_who5(conn, candidate_id).await?;
    let next_network_group_session =
        super::network_groups::my_sessions(conn, candidate_id, chrono::Utc::now(), 1)
            .await?
            .pop();
    let candidate = reached.into_candidate();
    Ok(Plan {
        next_network_group_session,
        due_questionnaires,
        latest_wellbeing,
        next_appointments,
        open_requests,
        candidate,
        consultant,
        enrollment,
        goals,
        proposed_goals,
    })
}

//! `GET /me/plan`: the candidate's home screen in one request.
use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    ids::{
        AppointmentId, AssignmentId, CandidateId, NetworkGroupId, NetworkGroupSessionId, RequestId,
        StaffId,
    },
    types::{
        AppointmentKind, AppointmentReply, QuestionnaireKey, RequestKind, RequestStatus,
        WellbeingBand,
    },
};
use poem::web::Data;
use poem_openapi::{Object, OpenApi, payload::Json};

use super::{Tag, goals::Goal};
use crate::{
    auth::BearerAuth,
    domain::{
        enrollment::{Phase, Status},
        plan,
    },
    error::ApiResult,
    state::AppState,
};

/// The candidate's names.
#[derive(Object, Debug)]
pub struct PlanCandidate {
    /// Id.
    pub id: CandidateId,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// The name to greet them with (the preferred name, or the given name).
    pub display_name: String,
}

/// The candidate's IPS consultant and how to reach them.
#[derive(Object, Debug)]
pub struct PlanConsultant {
    /// Id.
    pub id: StaffId,
    /// Name.
    pub display_name: String,
    /// Work e-mail.
    #[oai(nullable)]
    pub email: Option<String>,
    /// Work phone.
    #[oai(nullable)]
    pub phone: Option<String>,
}

/// Where the course stands.
#[derive(Object, Debug)]
pub struct PlanCourse {
    /// Status.
    pub status: Status,
    /// Phase while active.
    #[oai(nullable)]
    pub phase: Option<Phase>,
    /// The day the course started.
    #[oai(nullable)]
    pub started_on: Option<NaiveDate>,
    /// While paused: the planned day to resume.
    #[oai(nullable)]
    pub resume_on: Option<NaiveDate>,
}

/// An upcoming appointment.
#[derive(Object, Debug)]
pub struct PlanAppointment {
    /// Id.
    pub id: AppointmentId,
    /// `consultant_meeting`, `employer`, `education`, `network_group`, `treatment` or `other`.
    pub kind: AppointmentKind,
    /// Title.
    pub title: String,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End.
    pub ends_at: DateTime<Utc>,
    /// Where.
    #[oai(nullable)]
    pub location: Option<String>,
    /// Online meeting link.
    #[oai(nullable)]
    pub online_url: Option<String>,
    /// The candidate's answer: `none`, `accepted`, `declined` or `reschedule_requested`.
    pub candidate_response: AppointmentReply,
}

/// A questionnaire waiting to be answered.
#[derive(Object, Debug)]
pub struct PlanQuestionnaire {
    /// The assignment to answer.
    pub assignment_id: AssignmentId,
    /// The questionnaire's key, e.g. `who5`.
    pub questionnaire: QuestionnaireKey,
    /// When it fell due.
    pub due_at: DateTime<Utc>,
    /// When it closes unanswered.
    pub closes_at: DateTime<Utc>,
}

/// The latest WHO-5 well-being score.
#[derive(Object, Debug)]
pub struct PlanWellbeing {
    /// 0–100.
    pub score: i32,
    /// `very_low`, `at_risk` or `good`.
    pub band: WellbeingBand,
    /// When it was answered.
    pub answered_at: DateTime<Utc>,
}

/// An open pause or stop request.
#[derive(Object, Debug)]
pub struct PlanRequest {
    /// Id.
    pub id: RequestId,
    /// `pause` or `stop`.
    pub kind: RequestKind,
    /// `open` or `acknowledged`.
    pub status: RequestStatus,
    /// When it was asked.
    pub created_at: DateTime<Utc>,
}

/// The next session of a network group I am in.
#[derive(Object, Debug)]
pub struct PlanNetworkGroupSession {
    /// The session.
    pub id: NetworkGroupSessionId,
    /// The group (see `GET /me/network-groups`).
    pub network_group_id: NetworkGroupId,
    /// The group's name.
    pub name: String,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End.
    pub ends_at: DateTime<Utc>,
    /// Where the group meets.
    #[oai(nullable)]
    pub location: Option<String>,
    /// The group's online meeting link.
    #[oai(nullable)]
    pub online_url: Option<String>,
}

/// Everything the portal's home screen shows.
#[derive(Object, Debug)]
pub struct Plan {
    /// The candidate.
    pub candidate: PlanCandidate,
    /// Their consultant, if one is assigned.
    #[oai(nullable)]
    pub consultant: Option<PlanConsultant>,
    /// The current course.
    pub course: PlanCourse,
    /// Active goals with steps and progress.
    pub goals: Vec<Goal>,
    /// Goals staff proposed, waiting for the candidate to accept them.
    pub proposed_goals: Vec<Goal>,
    /// The next (at most 5) scheduled appointments from now.
    pub next_appointments: Vec<PlanAppointment>,
    /// Questionnaires due and not yet answered or closed.
    pub due_questionnaires: Vec<PlanQuestionnaire>,
    /// The latest WHO-5 score and band, if any.
    #[oai(nullable)]
    pub latest_wellbeing: Option<PlanWellbeing>,
    /// Pause or stop requests that are `open` or `acknowledged`.
    pub open_requests: Vec<PlanRequest>,
    /// The next session (not cancelled, not yet ended) of a network group I am in; `null` when I am in
    /// none or none is planned.
    #[oai(nullable)]
    pub next_network_group_session: Option<PlanNetworkGroupSession>,
}

pub struct PlanApi;

#[OpenApi(tag = "Tag::Plan")]
impl PlanApi {
    /// My plan
    ///
    /// The candidate's home screen in one request: names, consultant, course, active and proposed goals,
    /// the next appointments, due questionnaires, the latest WHO-5 and open requests. Candidates only.
    #[oai(path = "/me/plan", method = "get", operation_id = "getMyPlan")]
    async fn plan(&self, state: Data<&AppState>, auth: BearerAuth) -> ApiResult<Json<Plan>> {
        let p = plan::load(&state.db, &auth.0.candidate_reach()?).await?;
        let c = p.candidate;
        let e = p.course;
        Ok(Json(Plan {
            candidate: PlanCandidate {
                id: c.id,
                display_name: c.preferred_name.unwrap_or_else(|| c.given_name.clone()),
                given_name: c.given_name,
                family_name: c.family_name,
            },
            consultant: p.consultant.map(|s| PlanConsultant {
                id: s.id,
                display_name: s.display_name,
                email: s.email,
                phone: s.phone,
            }),
            course: PlanCourse {
                status: e.status,
                phase: e.phase,
                started_on: e.started_on,
                resume_on: e.resume_on,
            },
            goals: p.goals.into_iter().map(Into::into).collect(),
            proposed_goals: p.proposed_goals.into_iter().map(Into::into).collect(),
            next_appointments: p
                .next_appointments
                .into_iter()
                .map(|a| PlanAppointment {
                    id: a.id,
                    kind: a.kind,
                    title: a.title,
                    starts_at: a.starts_at,
                    ends_at: a.ends_at,
                    location: a.location,
                    online_url: a.online_url,
                    candidate_response: a.candidate_response,
                })
                .collect(),
            due_questionnaires: p
                .due_questionnaires
                .into_iter()
                .map(|d| PlanQuestionnaire {
                    assignment_id: d.assignment_id,
                    questionnaire: d.questionnaire,
                    due_at: d.due_at,
                    closes_at: d.closes_at,
                })
                .collect(),
            latest_wellbeing: p.latest_wellbeing.map(|w| PlanWellbeing {
                score: w.score,
                band: w.band,
                answered_at: w.answered_at,
            }),
            next_network_group_session: p.next_network_group_session.map(|s| {
                PlanNetworkGroupSession {
                    id: s.id,
                    network_group_id: s.group_id,
                    name: s.name,
                    starts_at: s.starts_at,
                    ends_at: s.ends_at,
                    location: s.location,
                    online_url: s.online_url,
                }
            }),
            open_requests: p
                .open_requests
                .into_iter()
                .map(|r| PlanRequest {
                    id: r.id,
                    kind: r.kind,
                    status: r.status,
                    created_at: r.created_at,
                })
                .collect(),
        }))
    }
}

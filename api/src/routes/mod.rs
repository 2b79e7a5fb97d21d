//! The API's operations, one module per resource, and the plain endpoints around them.
pub mod accounts;
pub mod appointments;
pub mod auth;
pub mod candidates;
pub mod career_profiles;
pub mod common;
pub mod disclosure;
pub mod events;
pub mod goals;
pub mod inbox;
pub mod job_support_plans;
pub mod network_groups;
pub mod notifications;
pub mod ops;
pub mod plan;
pub mod privacy;
pub mod questionnaires;
pub mod reports;
pub mod requests;
pub mod webhooks;

use poem_openapi::Tags;

/// Groups of operations in the spec.
#[derive(Tags)]
pub enum Tag {
    /// Logging in, tokens, invitations.
    Auth,
    /// The caller, municipalities, staff and service accounts.
    Accounts,
    /// Candidates and their courses.
    Candidates,
    /// Goals and their steps: the candidate's own, and staff proposals.
    Goals,
    /// The career profile (karriereprofil): one per course, written by the candidate and staff
    /// together, with the list of its changes. Never for service accounts.
    CareerProfiles,
    /// Job support plans (jobstøtteplan): staff propose, the candidate accepts and writes their own
    /// early signs and what helps.
    JobSupportPlans,
    /// Network groups (netværksgrupper): weekly groups run by staff; candidates see them, join, leave
    /// and suggest topics; staff record attendance.
    NetworkGroups,
    /// The candidate's home screen.
    Plan,
    /// The candidate's own data: export and access log; the coordinator's audit log.
    Privacy,
    /// Pause and stop requests, the staff inbox, disclosure and the candidate's notifications.
    Requests,
    /// Appointments, the candidate's calendar feed and appointment reminders.
    Appointments,
    /// Questionnaires (WHO-5 and the IPS Ung scales): definitions, assignments, answers and history.
    Questionnaires,
    /// The change feed for municipal systems, and webhooks that push it.
    Events,
    /// Reports for municipal systems and coordinators: outcomes, wellbeing, questionnaires at start,
    /// durations and fidelity, as JSON or CSV.
    Reports,
}

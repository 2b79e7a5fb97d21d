//! The API's operations, one module per resource, and the plain endpoints around them.
pub mod accounts;
pub mod appointments;
pub mod auth;
pub mod candidates;
pub mod common;
pub mod events;
pub mod goals;
pub mod ops;
pub mod plan;
pub mod privacy;
pub mod questionnaires;
pub mod requests;

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
    /// The change feed for municipal systems.
    Events,
}

//! The API's operations, one module per resource, and the plain endpoints around them.
pub mod accounts;
pub mod auth;
pub mod candidates;
pub mod common;
pub mod events;
pub mod goals;
pub mod ops;
pub mod plan;

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
    /// The change feed for municipal systems.
    Events,
}

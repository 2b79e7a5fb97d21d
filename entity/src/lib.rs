//! sea-orm entities of IPS Ung, one module per table. Enumerations are stored as their snake_case
//! names; the API crate owns the typed enums and the rules.
pub mod audit_entry;
pub mod candidate;
pub mod credential;
pub mod disclosure;
pub mod enrollment;
pub mod enrollment_transition;
pub mod event;
pub mod event_counter;
pub mod goal;
pub mod goal_step;
pub mod idempotency_key;
pub mod inbox_item;
pub mod invitation;
pub mod login_failure;
pub mod municipality;
pub mod notification;
pub mod refresh_token;
pub mod request;
pub mod service_account;
pub mod session;
pub mod signing_key;
pub mod staff;

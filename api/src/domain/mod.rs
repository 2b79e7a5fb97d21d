//! The rules. Functions take a connection and the caller's scope; handlers only parse, authorise,
//! call these and map the result.
pub mod accounts;
pub mod appointments;
pub mod audit;
pub mod calendar;
pub mod candidates;
pub mod enrollment;
pub mod events;
pub mod goals;
pub mod identity;
pub mod inbox;
pub mod notifications;
pub mod pagination;
pub mod plan;
pub mod privacy;
pub mod questionnaires;
pub mod requests;

use crate::error::FieldError;

/// What the rules can answer besides success.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    #[error("conflict: {0}")]
    Conflict(String),
    /// A conflict with one existing resource, named in the problem (e.g. the open request of that kind).
    #[error("conflict: {detail}")]
    ConflictWith {
        detail: String,
        existing_id: uuid::Uuid,
    },
    #[error("illegal transition from {from} to {to}")]
    IllegalTransition {
        from: String,
        to: String,
        allowed: Vec<String>,
    },
    #[error("stale version")]
    Stale,
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    #[error("too many attempts")]
    TooMany(u64),
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("internal: {0}")]
    Internal(String),
}

impl DomainError {
    pub fn field(field: &str, code: &str, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, code, message)])
    }
}

pub type DomainResult<T> = Result<T, DomainError>;

/// Maps a unique-constraint violation to a 409 naming what clashed; other errors pass through.
pub fn on_unique(err: sea_orm::DbErr, detail: &str) -> DomainError {
    match err.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            DomainError::Conflict(detail.to_string())
        }
        Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_)) => DomainError::field(
            "body",
            "invalid_value",
            "refers to something that does not exist",
        ),
        _ => DomainError::Db(err),
    }
}

/// Today's date where the people are: Europe/Copenhagen.
pub fn today() -> chrono::NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Copenhagen)
        .date_naive()
}

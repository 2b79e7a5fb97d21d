//! The rules. Functions take a connection and the caller's scope; handlers only parse, authorise,
//! call these and map the result.
pub mod access;
pub mod accounts;
pub mod appointments;
pub mod calendar;
pub mod candidates;
pub mod career_profiles;
pub mod disclosure;
pub mod enrollment;
pub mod erasure;
pub mod events;
pub mod goals;
pub mod identity;
pub mod inbox;
pub mod job_support_plans;
pub mod journal;
pub mod network_groups;
pub mod notifications;
pub mod pagination;
pub mod passwords;
pub mod plan;
pub mod privacy;
pub mod questionnaires;
pub mod reports;
pub mod requests;
pub mod sessions;
pub mod tokens;
pub mod values;
pub mod webhooks;

use poem_openapi::Object;
use sha2::{Digest, Sha256};

/// One invalid field of a request.
#[derive(Object, Clone, Debug, PartialEq)]
pub struct FieldError {
    /// The field, as a JSON path into the body (`steps[2].title`) or the name of the parameter.
    #[oai(validator(max_length = 200))]
    pub field: String,
    /// A stable, machine-readable code: `required`, `unknown_field`, `invalid_type`, `invalid_value`,
    /// `max_length`, `min_length`, `maximum`, `minimum`, `max_items`, `min_items`, `invalid_format`, `malformed`.
    #[oai(validator(max_length = 40))]
    pub code: String,
    /// A human-readable explanation, in English.
    #[oai(validator(max_length = 1000))]
    pub message: String,
}

impl FieldError {
    /// Long field names (an unknown key can be anything) and messages are cut to the documented limits.
    pub fn new(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        let cut = |s: String, max: usize| {
            if s.chars().count() > max {
                s.chars().take(max).collect()
            } else {
                s
            }
        };
        Self {
            field: cut(field.into(), 200),
            code: code.to_string(),
            message: cut(message.into(), 1000),
        }
    }
}

/// SHA-256, hex: how secrets that are only ever compared are stored (refresh tokens, invitation codes,
/// client secrets, feed addresses) and how idempotent requests are fingerprinted.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

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

/// Whether `err` is a database error from a unique constraint.
pub fn is_unique_violation(err: &DomainError) -> bool {
    matches!(err, DomainError::Db(e)
        if matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))))
}

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

/// The first character of `text` that no input may carry: a control character other than tab, line
/// feed and carriage return (U+0000–U+001F, U+007F–U+009F). PostgreSQL text cannot hold U+0000, and
/// none of them belongs in a name, a note or a key. Every string that comes in (bodies, query and
/// path parameters, the headers that reach the database) is checked with this one rule.
pub fn forbidden_character(text: &str) -> Option<char> {
    text.chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// The message for a field that carries a forbidden character.
pub fn forbidden_character_message(c: char) -> String {
    format!(
        "must not contain control characters (found U+{:04X})",
        c as u32
    )
}

/// Today's date where the people are: Europe/Copenhagen.
pub fn today() -> chrono::NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Copenhagen)
        .date_naive()
}

//! One error type at the edge: every failure becomes an RFC 9457 `application/problem+json` body.
use poem_openapi::{ApiResponse, Object, payload::Json};

use crate::domain::DomainError;
pub use crate::domain::FieldError;

/// An RFC 9457 problem: what went wrong, for people and for programs.
#[derive(Object, Clone, Debug)]
pub struct Problem {
    /// A URI naming the kind of problem; stable, so clients may branch on it.
    #[oai(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// An explanation of this occurrence.
    pub detail: String,
    /// The invalid fields, for validation problems.
    #[oai(default, skip_serializing_if_is_empty)]
    pub errors: Vec<FieldError>,
    /// For a refused course transition: the statuses the course may move to from where it is.
    #[oai(skip_serializing_if_is_none)]
    pub allowed_transitions: Option<Vec<String>>,
    /// For a conflict with one existing resource: its id (e.g. the open request of the same kind).
    #[oai(skip_serializing_if_is_none)]
    pub existing_id: Option<uuid::Uuid>,
    /// The request id of this request, to quote when asking for help.
    #[oai(skip_serializing_if_is_none)]
    pub request_id: Option<String>,
}

/// Every kind of problem the API answers, as the slug of its `type` URI
/// (`urn:ips-ung:problem:<slug>`). The spec lists them as the enum of `Problem.type`; a new kind is
/// added here first (`Problem::new` refuses an unlisted one in debug builds, and a test reads the
/// sources for slugs missing here).
pub const PROBLEM_TYPES: &[&str] = &[
    "validation",
    "unauthorized",
    "forbidden",
    "not-found",
    "method-not-allowed",
    "conflict",
    "illegal-transition",
    "idempotent-answer-withheld",
    "stale-version",
    "payload-too-large",
    "unsupported-media-type",
    "unprocessable",
    "too-many-attempts",
    "internal",
    "shutting-down",
    "database-unavailable",
];

/// The `type` URI of a problem slug.
pub fn problem_type(slug: &str) -> String {
    format!("urn:ips-ung:problem:{slug}")
}

impl Problem {
    pub fn new(status: u16, slug: &str, title: &str, detail: impl Into<String>) -> Self {
        debug_assert!(
            PROBLEM_TYPES.contains(&slug),
            "problem type `{slug}` is not listed in error::PROBLEM_TYPES"
        );
        Self {
            kind: problem_type(slug),
            title: title.to_string(),
            status,
            detail: detail.into(),
            errors: Vec::new(),
            allowed_transitions: None,
            existing_id: None,
            request_id: crate::request_id::current(),
        }
    }
}

/// Every error response of the API.
#[derive(ApiResponse, Debug, Clone)]
#[oai(bad_request_handler = "bad_request")]
pub enum ApiError {
    /// The request is malformed or a field is invalid; `errors` names each field.
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// No valid access token (or client credentials) was presented.
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Problem>, #[oai(header = "WWW-Authenticate")] String),
    /// The caller's role or scopes can never use this operation.
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
    /// The resource does not exist or is outside the caller's reach.
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
    /// The path does not take this method; `Allow` lists the ones it takes.
    #[oai(status = 405, content_type = "application/problem+json")]
    MethodNotAllowed(Json<Problem>),
    /// The request conflicts with the current state (a duplicate, an illegal transition, a request in flight).
    #[oai(status = 409, content_type = "application/problem+json")]
    Conflict(Json<Problem>),
    /// `If-Match` named another version than the current one; fetch the resource again.
    #[oai(status = 412, content_type = "application/problem+json")]
    PreconditionFailed(Json<Problem>),
    /// The body is larger than 64 KiB.
    #[oai(status = 413, content_type = "application/problem+json")]
    PayloadTooLarge(Json<Problem>),
    /// The body's content type is not the one this operation takes.
    #[oai(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(Json<Problem>),
    /// The request is well-formed but cannot be processed (e.g. an `Idempotency-Key` reused with another body).
    #[oai(status = 422, content_type = "application/problem+json")]
    Unprocessable(Json<Problem>),
    /// Too many failed attempts; retry after `Retry-After` seconds.
    #[oai(status = 429, content_type = "application/problem+json")]
    TooManyRequests(Json<Problem>, #[oai(header = "Retry-After")] u64),
    /// An unexpected error; nothing was changed. Quote the request id when asking for help.
    #[oai(status = 500, content_type = "application/problem+json")]
    Internal(Json<Problem>),
    /// The instance is shutting down, or its connection to the database was lost (a database
    /// restart or failover); the `type` says which. Send the request again after `Retry-After`
    /// seconds (for a change, with the same `Idempotency-Key`).
    #[oai(status = 503, content_type = "application/problem+json")]
    Unavailable(Json<Problem>, #[oai(header = "Retry-After")] u64),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn problem(&self) -> &Problem {
        match self {
            Self::BadRequest(p)
            | Self::Unauthorized(p, _)
            | Self::Forbidden(p)
            | Self::NotFound(p)
            | Self::MethodNotAllowed(p)
            | Self::Conflict(p)
            | Self::PreconditionFailed(p)
            | Self::PayloadTooLarge(p)
            | Self::UnsupportedMediaType(p)
            | Self::Unprocessable(p)
            | Self::TooManyRequests(p, _)
            | Self::Internal(p)
            | Self::Unavailable(p, _) => &p.0,
        }
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("`{}`: {}", one.field, one.message),
            _ => format!("{} fields are invalid.", errors.len()),
        };
        let mut p = Problem::new(400, "validation", "Invalid request", detail);
        p.errors = errors;
        Self::BadRequest(Json(p))
    }

    pub fn field(field: &str, code: &str, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::new(field, code, message)])
    }

    pub fn unauthorized(detail: &str) -> Self {
        Self::Unauthorized(
            Json(Problem::new(
                401,
                "unauthorized",
                "Not authenticated",
                detail,
            )),
            "Bearer".to_string(),
        )
    }

    pub fn forbidden() -> Self {
        Self::Forbidden(Json(Problem::new(
            403,
            "forbidden",
            "Not allowed",
            "Your role or scopes do not allow this operation.",
        )))
    }

    pub fn not_found() -> Self {
        Self::NotFound(Json(Problem::new(
            404,
            "not-found",
            "Not found",
            "There is nothing here you can reach.",
        )))
    }

    /// A known path with a method it does not have; the middleware adds `Allow`.
    pub fn method_not_allowed() -> Self {
        Self::MethodNotAllowed(Json(Problem::new(
            405,
            "method-not-allowed",
            "Method not allowed",
            "This path does not take this method; `Allow` lists the ones it takes.",
        )))
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::Conflict(Json(Problem::new(409, "conflict", "Conflict", detail)))
    }

    pub fn precondition_failed() -> Self {
        Self::PreconditionFailed(Json(Problem::new(
            412,
            "stale-version",
            "Changed meanwhile",
            "The resource has changed since you read it (If-Match does not match its ETag). Read it again.",
        )))
    }

    pub fn payload_too_large() -> Self {
        Self::PayloadTooLarge(Json(Problem::new(
            413,
            "payload-too-large",
            "Body too large",
            "Request bodies may be at most 64 KiB.",
        )))
    }

    pub fn unprocessable(detail: impl Into<String>) -> Self {
        Self::Unprocessable(Json(Problem::new(
            422,
            "unprocessable",
            "Cannot process",
            detail,
        )))
    }

    pub fn too_many(retry_after: u64) -> Self {
        Self::TooManyRequests(
            Json(Problem::new(
                429,
                "too-many-attempts",
                "Too many attempts",
                "Too many failed attempts. Wait a while and try again.",
            )),
            retry_after.max(1),
        )
    }

    pub fn unavailable() -> Self {
        Self::Unavailable(
            Json(Problem::new(
                503,
                "shutting-down",
                "Shutting down",
                "This instance is shutting down and did not read your request. Send it again.",
            )),
            1,
        )
    }

    /// The database connection a request used was lost (the database restarted, failed over or
    /// closed it). The pool has let that connection go, so a retry gets a new one.
    pub fn database_unavailable() -> Self {
        Self::Unavailable(
            Json(Problem::new(
                503,
                "database-unavailable",
                "Database unavailable",
                "The connection to the database was lost while answering. Send the request again; \
                 for a change, send the same Idempotency-Key so it is made once.",
            )),
            1,
        )
    }

    pub fn internal() -> Self {
        Self::Internal(Json(Problem::new(
            500,
            "internal",
            "Something went wrong",
            "An unexpected error occurred and nothing was changed.",
        )))
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::NotFound => Self::not_found(),
            DomainError::Forbidden => Self::forbidden(),
            DomainError::Invalid(errors) => Self::validation(errors),
            DomainError::Conflict(detail) => Self::conflict(detail),
            DomainError::ConflictWith {
                detail,
                existing_id,
            } => {
                let mut p = Problem::new(409, "conflict", "Conflict", detail);
                p.existing_id = Some(existing_id);
                Self::Conflict(Json(p))
            }
            DomainError::IllegalTransition { from, to, allowed } => {
                let mut p = Problem::new(
                    409,
                    "illegal-transition",
                    "Transition not allowed",
                    format!(
                        "A course that is `{from}` cannot become `{to}`. Allowed: {}.",
                        if allowed.is_empty() {
                            "none (the course has ended)".to_string()
                        } else {
                            allowed.join(", ")
                        }
                    ),
                );
                p.allowed_transitions = Some(allowed);
                Self::Conflict(Json(p))
            }
            DomainError::Stale => Self::precondition_failed(),
            DomainError::Unauthorized(detail) => Self::unauthorized(detail),
            DomainError::TooMany(after) => Self::too_many(after),
            DomainError::Db(err) if crate::db::connection_lost(&err) => {
                tracing::warn!(error = %err, "database connection lost");
                Self::database_unavailable()
            }
            DomainError::Db(err) => {
                tracing::error!(error = %err, "database error");
                Self::internal()
            }
            DomainError::Internal(msg) => {
                tracing::error!(error = %msg, "internal error");
                Self::internal()
            }
        }
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        DomainError::from(e).into()
    }
}

/// Turns poem's own failures (parameters, content type, authorization, bodies) into problems.
pub fn bad_request(err: poem::Error) -> ApiError {
    from_poem_error(&err)
}

/// Maps any poem error to the problem the API documents for its status.
pub fn from_poem_error(err: &poem::Error) -> ApiError {
    if let Some(e) = err.downcast_ref::<poem_openapi::error::ParseParamError>() {
        // poem-openapi's words for a required parameter that was not sent.
        if e.reason.ends_with("expects an input value.") {
            return ApiError::field(e.name, "required", "is required");
        }
        return ApiError::field(e.name, "invalid_value", plain_reason(&e.reason));
    }
    if let Some(e) = err.downcast_ref::<poem_openapi::error::ParsePathError>() {
        // poem-openapi names path parameters `param0`, `param1`, … by their place in the path; the
        // caller knows them by the spec's names.
        let name = e
            .name
            .strip_prefix("param")
            .and_then(|n| n.parse().ok())
            .and_then(crate::middleware::path_parameter_name);
        return ApiError::field(
            name.as_deref().unwrap_or(e.name),
            "invalid_value",
            plain_reason(&e.reason),
        );
    }
    if let Some(e) = err.downcast_ref::<ApiErrorWrapper>() {
        return e.0.clone();
    }
    let status = err.status().as_u16();
    match status {
        401 => ApiError::unauthorized("A valid bearer token is required."),
        403 => ApiError::forbidden(),
        404 => ApiError::not_found(),
        405 => ApiError::method_not_allowed(),
        413 => ApiError::payload_too_large(),
        415 => ApiError::UnsupportedMediaType(Json(Problem::new(
            415,
            "unsupported-media-type",
            "Unsupported content type",
            "This operation takes `application/json` bodies (see the spec for the exceptions).",
        ))),
        400..=499 => ApiError::field("body", "malformed", err.to_string()),
        _ => {
            tracing::error!(error = %err, "unhandled error");
            ApiError::internal()
        }
    }
}

/// poem-openapi's reason for a parameter that does not parse, said the way the spec says the type.
fn plain_reason(reason: &str) -> String {
    if reason.starts_with("failed to parse \"string_uuid\"") {
        "must be a UUID, e.g. 0193a1b2-7c3d-7e4f-8a5b-6c7d8e9f0a1b".to_string()
    } else {
        reason.to_string()
    }
}

/// Carries an `ApiError` through poem's error channel (e.g. from the security scheme's checker).
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.problem().detail)]
pub struct ApiErrorWrapper(pub ApiError);

impl ApiError {
    /// Carries this error through poem's error channel, keeping its problem body.
    pub fn into_poem(self) -> poem::Error {
        let e = self;
        let status = poem::http::StatusCode::from_u16(e.problem().status)
            .unwrap_or(poem::http::StatusCode::INTERNAL_SERVER_ERROR);
        poem::Error::new(ApiErrorWrapper(e), status)
    }
}

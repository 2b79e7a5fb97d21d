//! Pieces every resource uses: versions and ETags, list parameters, the client address.
use poem::Request;

use crate::error::{ApiError, ApiResult};

/// The strong ETag of a resource version.
pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// Parses `If-Match`: `None` when absent or `*`, the version otherwise; anything else is 400.
pub fn if_match(header: Option<&str>) -> ApiResult<Option<i32>> {
    let Some(raw) = header.map(str::trim) else {
        return Ok(None);
    };
    if raw == "*" {
        return Ok(None);
    }
    let raw = raw.strip_prefix("W/").unwrap_or(raw);
    raw.trim_matches('"').parse::<i32>().map(Some).map_err(|_| {
        ApiError::field(
            "If-Match",
            "invalid_value",
            "must be an ETag this API returned, e.g. \"3\"",
        )
    })
}

/// The client address for rate limits: the peer, or the first `X-Forwarded-For` hop when trusted.
pub fn client_address(req: &Request, trust_forwarded_for: bool) -> String {
    if trust_forwarded_for
        && let Some(first) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty() && v.len() <= 64)
    {
        return first.to_string();
    }
    match req.remote_addr().as_socket_addr() {
        Some(addr) => addr.ip().to_string(),
        None => "unknown".to_string(),
    }
}

/// Defines a response with the resource's `ETag` (200 for reads and changes, 201 with `Location` for creation).
#[macro_export]
macro_rules! versioned_response {
    ($name:ident, $ty:ty, $what:literal) => {
        #[derive(poem_openapi::ApiResponse, Debug)]
        pub enum $name {
            #[doc = concat!("The ", $what, "; `ETag` carries its version for `If-Match`.")]
            #[oai(status = 200)]
            Ok(
                poem_openapi::payload::Json<$ty>,
                #[oai(header = "ETag")] String,
            ),
            #[doc = concat!("The ", $what, " was created; `Location` names it.")]
            #[oai(status = 201)]
            Created(
                poem_openapi::payload::Json<$ty>,
                #[oai(header = "ETag")] String,
                #[oai(header = "Location")] String,
            ),
        }
    };
}

/// An e-mail address, checked with `validator`'s rules; the error names `field`.
pub fn check_email(field: &str, value: String) -> ApiResult<String> {
    let value = value.trim().to_string();
    if validator::ValidateEmail::validate_email(&value) {
        Ok(value)
    } else {
        Err(ApiError::field(
            field,
            "invalid_format",
            "must be an e-mail address",
        ))
    }
}

/// A phone number: digits, spaces and `+ - ( )`, 3–32 characters.
pub fn check_phone(field: &str, value: String) -> ApiResult<String> {
    let value = value.trim().to_string();
    let ok = (3..=32).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')'))
        && value.chars().any(|c| c.is_ascii_digit());
    if ok {
        Ok(value)
    } else {
        Err(ApiError::field(
            field,
            "invalid_format",
            "must be a phone number",
        ))
    }
}

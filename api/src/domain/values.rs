//! Values checked once, where they come in, and carried as their own types from then on: an `Email`
//! or a `Phone` in a domain function has already been validated.
use super::{DomainError, DomainResult};

/// An e-mail address (checked with `validator`'s rules, the spec's `format: email`; no space at either
/// end, as the spec's pattern says).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Parses `raw`; the error names `field`.
    pub fn parse(field: &str, raw: &str) -> DomainResult<Self> {
        let value = raw;
        if value.trim() == value
            && value.chars().count() <= 254
            && validator::ValidateEmail::validate_email(&value)
        {
            Ok(Self(value.to_string()))
        } else {
            Err(DomainError::field(
                field,
                "invalid_format",
                "must be an e-mail address",
            ))
        }
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A phone number: digits, spaces and `+ - ( )`, 3–32 characters, at least one digit, no space at
/// either end (the spec's `spec::PHONE_PATTERN`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// Parses `raw`; the error names `field`.
    pub fn parse(field: &str, raw: &str) -> DomainResult<Self> {
        let value = raw;
        let ok = (3..=32).contains(&value.len())
            && value.trim() == value
            && value
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')'))
            && value.chars().any(|c| c.is_ascii_digit());
        if ok {
            Ok(Self(value.to_string()))
        } else {
            Err(DomainError::field(
                field,
                "invalid_format",
                "must be a phone number",
            ))
        }
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A Danish municipality number: exactly three digits (e.g. `101` for Copenhagen).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MunicipalityCode(String);

impl MunicipalityCode {
    /// Parses `raw`; the error names `field`.
    pub fn parse(field: &str, raw: &str) -> DomainResult<Self> {
        if raw.len() == 3 && raw.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(raw.to_string()))
        } else {
            Err(DomainError::field(
                field,
                "invalid_format",
                "must be three digits, e.g. 101",
            ))
        }
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

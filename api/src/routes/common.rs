//! Pieces every resource uses: the page of a list, the list parameters, `If-Match` and `ETag`, and the
//! client address.
use std::borrow::Cow;

use poem::Request;
use poem_openapi::{
    Object,
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type},
};

use crate::domain::pagination::{self, PageRequest};

/// One page of a list. Pass `next_cursor` as `cursor` to get the next page.
#[derive(Object, Debug)]
pub struct Page<T: ParseFromJSON + ToJSON + Send + Sync> {
    /// The items of this page, in the order the operation documents.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

impl<T: ParseFromJSON + ToJSON + Send + Sync> Page<T> {
    /// A page of `rows`, each shown as `T`.
    pub fn of<R>(rows: Vec<R>, next_cursor: Option<String>, f: impl FnMut(R) -> T) -> Self {
        Self {
            items: rows.into_iter().map(f).collect(),
            next_cursor,
        }
    }
}

/// Implements a query or header parameter type that is a string on the wire.
macro_rules! string_parameter {
    ($ty:ident, $name:literal, $description:literal, $pattern:expr) => {
        impl Type for $ty {
            const IS_REQUIRED: bool = true;
            type RawValueType = Self;
            type RawElementValueType = Self;

            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }

            fn schema_ref() -> MetaSchemaRef {
                MetaSchemaRef::Inline(Box::new(MetaSchema {
                    description: Some($description),
                    pattern: $pattern,
                    ..MetaSchema::new("string")
                }))
            }

            fn as_raw_value(&self) -> Option<&Self::RawValueType> {
                Some(self)
            }

            fn raw_element_iter<'a>(
                &'a self,
            ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
                Box::new(self.as_raw_value().into_iter())
            }
        }
    };
}

/// The `cursor` of a list: the `next_cursor` of the previous page; empty is the first page, as
/// leaving it out is (the published pattern allows it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor(Option<uuid::Uuid>);

string_parameter!(
    Cursor,
    "cursor",
    "The `next_cursor` of the previous page.",
    Some("^[A-Za-z0-9_-]{22}$".to_string())
);

impl ParseFromParameter for Cursor {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        if value.is_empty() {
            return Ok(Cursor(None));
        }
        pagination::decode(value)
            .map(|after| Cursor(Some(after)))
            .ok_or_else(|| ParseError::custom("is not a cursor this API issued"))
    }
}

/// The `limit` of a list: 1–200 items (default 50).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit(u32);

impl Type for Limit {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        Cow::Borrowed("limit")
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            description: Some("Page size, 1–200 (default 50)."),
            format: Some("int32"),
            minimum: Some(1.0),
            maximum: Some(200.0),
            ..MetaSchema::new("integer")
        }))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ParseFromParameter for Limit {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        match value.parse::<u32>() {
            Ok(n) if (1..=200).contains(&n) => Ok(Limit(n)),
            _ => Err(ParseError::custom("must be a whole number from 1 to 200")),
        }
    }
}

/// The page a list operation was asked for.
pub fn page(limit: Option<Limit>, cursor: Option<Cursor>) -> PageRequest {
    PageRequest {
        limit: limit.map_or(pagination::DEFAULT_LIMIT, |l| u64::from(l.0)),
        after: cursor.and_then(|c| c.0),
    }
}

/// An `If-Match` header: `*` or empty (no precondition), or an `ETag` this API returned (`"3"`, weak
/// `W/"3"` accepted); anything else is 400.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IfMatch(Option<i32>);

string_parameter!(
    IfMatch,
    "IfMatch",
    "The `ETag` you read, e.g. `\"3\"` (or `*`). A stale one is refused with 412.",
    Some(r#"^(\*|(W/)?"[0-9]{1,9}")?$"#.to_string())
);

impl ParseFromParameter for IfMatch {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        let raw = value.trim();
        if raw.is_empty() || raw == "*" {
            return Ok(IfMatch(None));
        }
        let raw = raw.strip_prefix("W/").unwrap_or(raw);
        raw.strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .filter(|d| (1..=9).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|r| r.parse::<i32>().ok())
            .map(|v| IfMatch(Some(v)))
            .ok_or_else(|| ParseError::custom("must be an ETag this API returned, e.g. \"3\""))
    }
}

/// The version an `If-Match` header asks for; `None` when absent or `*`.
pub fn expected(header: Option<IfMatch>) -> Option<i32> {
    header.and_then(|h| h.0)
}

/// The strong ETag of a resource version.
pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
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
pub(crate) use versioned_response;

//! Cursor pagination: the cursor is the last item's id (UUIDv7, so id order is creation order), and
//! pages are keyset queries — no OFFSET.
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use uuid::Uuid;

use super::{DomainError, DomainResult};

pub const DEFAULT_LIMIT: u64 = 50;

/// A page request: at most `limit` items after `after`.
#[derive(Clone, Copy, Debug)]
pub struct PageRequest {
    pub limit: u64,
    pub after: Option<Uuid>,
}

impl PageRequest {
    pub fn parse(limit: Option<u32>, cursor: Option<&str>) -> DomainResult<Self> {
        let limit = limit.map(u64::from).unwrap_or(DEFAULT_LIMIT);
        let after = match cursor {
            None | Some("") => None,
            Some(c) => Some(decode(c).ok_or_else(|| {
                DomainError::field("cursor", "invalid_value", "is not a cursor this API issued")
            })?),
        };
        Ok(Self { limit, after })
    }

    /// Fetch one more than the limit, to know whether there is a next page.
    pub fn fetch(&self) -> u64 {
        self.limit + 1
    }

    /// Cuts the extra row off and returns the cursor of the next page, if any.
    pub fn finish<T>(&self, mut rows: Vec<T>, id: impl Fn(&T) -> Uuid) -> (Vec<T>, Option<String>) {
        if rows.len() as u64 > self.limit {
            rows.truncate(self.limit as usize);
            let next = rows.last().map(|r| encode(id(r)));
            (rows, next)
        } else {
            (rows, None)
        }
    }
}

pub fn encode(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

pub fn decode(cursor: &str) -> Option<Uuid> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    Uuid::from_slice(&bytes).ok()
}

//! Cursor pagination: the cursor is the last item's id (UUIDv7, so id order is creation order), and
//! pages are keyset queries — no OFFSET.
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sea_orm::{
    ConnectionTrait, DbErr, EntityTrait, QueryTrait, Select, SelectModel, SelectTwo,
    SelectTwoModel, SelectorTrait,
};
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
    fn fetch(&self) -> u64 {
        self.limit + 1
    }

    /// Reads the page `select` describes (filtered, after the cursor and ordered, with no limit of its
    /// own) and returns it with the cursor of the next page, if any.
    ///
    /// The statement's `LIMIT` (one more than the page size) is written into its text, not bound as a
    /// parameter. PostgreSQL plans a prepared statement again on every execution for as long as its
    /// generic plan (one for any parameters) looks dearer than a plan for the values at hand, and with
    /// the limit a parameter the generic plan expects a tenth of the table: a candidates page was
    /// planned afresh each time. With the number in the text the two plans cost the same, and from the
    /// sixth execution on a connection PostgreSQL reuses the generic one. Each page size is then a
    /// statement of its own in the connection's statement cache.
    pub async fn read<E: EntityTrait, C: ConnectionTrait>(
        &self,
        select: Select<E>,
        db: &C,
        id: impl Fn(&E::Model) -> Uuid,
    ) -> Result<(Vec<E::Model>, Option<String>), DbErr> {
        let rows = self.rows::<SelectModel<E::Model>, _>(&select, db).await?;
        Ok(self.finish(rows, id))
    }

    /// `read` for rows with a related row each (`find_also_related`).
    pub async fn read_two<E: EntityTrait, F: EntityTrait, C: ConnectionTrait>(
        &self,
        select: SelectTwo<E, F>,
        db: &C,
        id: impl Fn(&(E::Model, Option<F::Model>)) -> Uuid,
    ) -> Result<(Vec<(E::Model, Option<F::Model>)>, Option<String>), DbErr> {
        let rows = self
            .rows::<SelectTwoModel<E::Model, F::Model>, _>(&select, db)
            .await?;
        Ok(self.finish(rows, id))
    }

    /// The rows of `query` with the page's limit written in, read as `S` reads them.
    async fn rows<S: SelectorTrait, C: ConnectionTrait>(
        &self,
        query: &impl QueryTrait,
        db: &C,
    ) -> Result<Vec<S::Item>, DbErr> {
        let mut stmt = query.build(db.get_database_backend());
        stmt.sql.push_str(&format!(" LIMIT {}", self.fetch()));
        db.query_all_raw(stmt)
            .await?
            .into_iter()
            .map(S::from_raw_query_result)
            .collect()
    }

    /// Cuts the extra row off and returns the cursor of the next page, if any.
    fn finish<T>(&self, mut rows: Vec<T>, id: impl Fn(&T) -> Uuid) -> (Vec<T>, Option<String>) {
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

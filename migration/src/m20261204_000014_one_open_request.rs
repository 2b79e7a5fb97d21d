//! "One open request per kind" held by the database: a partial unique index on a candidate's pause or
//! stop requests that are not finished (`open` or `acknowledged`). The check before the insert reads
//! under read committed on PostgreSQL, so two requests sent at the same moment could both pass it;
//! with the index the second insert fails and is answered 409, and nothing of it is written.
//!
//! A duplicate that such a race already made is closed first, so that the index can be built: the
//! newer of two unfinished requests of one kind is set `withdrawn`, closed at its own creation time
//! (it never stood on its own), and its inbox items are resolved. The oldest one stays as it was.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// An unfinished request `r` that has an older unfinished one of the same kind.
const DUPLICATE: &str = "r.status IN ('open', 'acknowledged') AND EXISTS (\
    SELECT 1 FROM requests o WHERE o.candidate_id = r.candidate_id AND o.kind = r.kind \
    AND o.status IN ('open', 'acknowledged') AND o.id < r.id)";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared(&format!(
            "UPDATE inbox_items SET resolved_at = created_at \
             WHERE resolved_at IS NULL AND kind IN ('request', 'request_overdue') \
             AND ref_id IN (SELECT r.id FROM requests r WHERE {DUPLICATE})"
        ))
        .await?;
        db.execute_unprepared(&format!(
            "UPDATE requests SET status = 'withdrawn', closed_at = created_at, \
             version = version + 1 \
             WHERE id IN (SELECT r.id FROM requests r WHERE {DUPLICATE})"
        ))
        .await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX requests_one_open_per_kind ON requests (candidate_id, kind) \
             WHERE status IN ('open', 'acknowledged')",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("requests_one_open_per_kind")
                .table("requests")
                .to_owned(),
        )
        .await
    }
}

//! Webhooks (SPEC §4.10): subscriptions, each with its place in the municipality's change feed and a
//! lease that one instance at a time wins, and the log of every delivery attempt. The staff inbox also
//! learns to hold items about no candidate (a webhook that was disabled), so `inbox_items.candidate_id`
//! becomes nullable: PostgreSQL drops the constraint, SQLite (which cannot alter a column) rebuilds the
//! table with the same columns and indexes.
use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn ts(name: &'static str) -> ColumnDef {
    timestamp_with_time_zone(name)
}

fn ts_null(name: &'static str) -> ColumnDef {
    timestamp_with_time_zone_null(name)
}

/// The inbox table as 000003 made it, with `candidate_id` nullable or not.
fn inbox_table(name: &str, candidate_nullable: bool) -> TableCreateStatement {
    Table::create()
        .table(name.to_string())
        .col(pk_uuid("id"))
        .col(uuid("municipality_id"))
        .col(if candidate_nullable {
            uuid_null("candidate_id")
        } else {
            uuid("candidate_id")
        })
        .col(string_len("kind", 40))
        .col(uuid_null("ref_id"))
        .col(string_len("audience", 20))
        .col(ts("created_at"))
        .col(ts_null("resolved_at"))
        .take()
}

const INBOX_INDEXES: [(&str, &[&str]); 2] = [
    (
        "inbox_items_open",
        &["municipality_id", "resolved_at", "created_at"],
    ),
    ("inbox_items_ref", &["kind", "ref_id"]),
];

const INBOX_COLUMNS: &str =
    "id, municipality_id, candidate_id, kind, ref_id, audience, created_at, resolved_at";

/// SQLite: a new table with the wanted columns, the rows copied, the old one replaced.
async fn rebuild_inbox(m: &SchemaManager<'_>, candidate_nullable: bool) -> Result<(), DbErr> {
    let db = m.get_connection();
    m.create_table(inbox_table("inbox_items_rebuilt", candidate_nullable))
        .await?;
    db.execute_unprepared(&format!(
        "INSERT INTO inbox_items_rebuilt ({INBOX_COLUMNS}) SELECT {INBOX_COLUMNS} FROM inbox_items{}",
        if candidate_nullable {
            ""
        } else {
            " WHERE candidate_id IS NOT NULL"
        }
    ))
    .await?;
    m.drop_table(Table::drop().table("inbox_items").take())
        .await?;
    m.rename_table(
        Table::rename()
            .table("inbox_items_rebuilt", "inbox_items")
            .take(),
    )
    .await?;
    for (name, cols) in INBOX_INDEXES {
        let mut idx = Index::create();
        idx.name(name).table("inbox_items");
        for c in cols {
            idx.col(*c);
        }
        m.create_index(idx.take()).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("webhooks")
                .col(pk_uuid("id"))
                .col(uuid("municipality_id"))
                .col(string_len("url", 2000))
                // JSON array of event types, or `["*"]`.
                .col(text("events"))
                .col(string_len_null("description", 500))
                // Sealed with the key-encryption key; never stored in clear.
                .col(text("secret"))
                .col(uuid("created_by"))
                .col(ts("created_at"))
                .col(ts_null("deleted_at"))
                .col(ts_null("disabled_at"))
                // The feed position handled last (delivered, or given up on).
                .col(big_integer("delivered_seq"))
                // Attempts made at the event after `delivered_seq`, and since when they fail.
                .col(integer("attempts"))
                .col(ts_null("failing_since"))
                .col(ts("next_attempt_at"))
                // The instance sending now, until when.
                .col(uuid_null("lease_token"))
                .col(ts_null("lease_until"))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("webhook_deliveries")
                .col(pk_uuid("id"))
                .col(uuid("webhook_id"))
                .col(uuid("event_id"))
                .col(big_integer("event_seq"))
                .col(string_len("event_type", 60))
                .col(ts("attempted_at"))
                .col(integer("attempt"))
                .col(string_len("outcome", 20))
                .col(integer_null("status_code"))
                .col(string_len_null("error", 500))
                .col(big_integer("duration_ms"))
                .col(ts_null("next_retry_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("webhook_deliveries", "webhook_id")
                        .to("webhooks", "id"),
                )
                .take(),
        )
        .await?;
        for (table, name, cols) in [
            // The delivery pass: live subscriptions whose next attempt is due.
            (
                "webhooks",
                "webhooks_due",
                &["deleted_at", "disabled_at", "next_attempt_at"][..],
            ),
            (
                "webhooks",
                "webhooks_municipality",
                &["municipality_id", "id"][..],
            ),
            (
                "webhook_deliveries",
                "webhook_deliveries_webhook",
                &["webhook_id", "id"][..],
            ),
        ] {
            let mut idx = Index::create();
            idx.name(name).table(table);
            for c in cols {
                idx.col(*c);
            }
            m.create_index(idx.take()).await?;
        }
        match m.get_database_backend() {
            DatabaseBackend::Sqlite => rebuild_inbox(m, true).await?,
            _ => {
                m.get_connection()
                    .execute_unprepared(
                        "ALTER TABLE inbox_items ALTER COLUMN candidate_id DROP NOT NULL",
                    )
                    .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Items about no candidate cannot go back into the old table.
        m.get_connection()
            .execute_unprepared("DELETE FROM inbox_items WHERE candidate_id IS NULL")
            .await?;
        match m.get_database_backend() {
            DatabaseBackend::Sqlite => rebuild_inbox(m, false).await?,
            _ => {
                m.get_connection()
                    .execute_unprepared(
                        "ALTER TABLE inbox_items ALTER COLUMN candidate_id SET NOT NULL",
                    )
                    .await?;
            }
        }
        for t in ["webhook_deliveries", "webhooks"] {
            m.drop_table(Table::drop().table(t).take()).await?;
        }
        Ok(())
    }
}

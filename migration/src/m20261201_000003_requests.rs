//! Pause and stop requests, the staff inbox, disclosure choices and in-app notifications.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn ts(name: &'static str) -> ColumnDef {
    timestamp_with_time_zone(name)
}

fn ts_null(name: &'static str) -> ColumnDef {
    timestamp_with_time_zone_null(name)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("requests")
                .col(pk_uuid("id"))
                .col(uuid("candidate_id"))
                .col(uuid("municipality_id"))
                .col(uuid("enrollment_id"))
                .col(string_len("kind", 10))
                .col(string_len("status", 20))
                .col(string_len_null("reason", 1000))
                .col(date_null("resume_on"))
                .col(string_len_null("note", 1000))
                .col(ts("created_at"))
                .col(ts_null("acknowledged_at"))
                .col(uuid_null("acknowledged_by"))
                .col(ts_null("closed_at"))
                .col(uuid_null("closed_by"))
                .col(ts_null("overdue_at"))
                .col(integer("version"))
                .foreign_key(
                    ForeignKey::create()
                        .from("requests", "candidate_id")
                        .to("candidates", "id"),
                )
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("inbox_items")
                .col(pk_uuid("id"))
                .col(uuid("municipality_id"))
                .col(uuid("candidate_id"))
                .col(string_len("kind", 40))
                .col(uuid_null("ref_id"))
                .col(string_len("audience", 20))
                .col(ts("created_at"))
                .col(ts_null("resolved_at"))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("disclosures")
                .col(pk_uuid("id"))
                .col(uuid("candidate_id"))
                .col(string_len("level", 20))
                .col(string_len_null("note", 1000))
                .col(ts("at"))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("notifications")
                .col(pk_uuid("id"))
                .col(uuid("candidate_id"))
                .col(string_len("kind", 40))
                .col(text("data"))
                .col(ts("created_at"))
                .col(ts_null("read_at"))
                .take(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("enrollments")
                .add_column(date_null("resume_notified_on"))
                .take(),
        )
        .await?;
        for (table, name, cols) in [
            (
                "requests",
                "requests_candidate_status",
                &["candidate_id", "status"][..],
            ),
            (
                "requests",
                "requests_status_created",
                &["status", "created_at"][..],
            ),
            (
                "inbox_items",
                "inbox_items_open",
                &["municipality_id", "resolved_at", "created_at"][..],
            ),
            ("inbox_items", "inbox_items_ref", &["kind", "ref_id"][..]),
            (
                "disclosures",
                "disclosures_candidate",
                &["candidate_id", "at"][..],
            ),
            (
                "notifications",
                "notifications_candidate",
                &["candidate_id", "id"][..],
            ),
        ] {
            let mut idx = Index::create();
            idx.name(name).table(table);
            for c in cols {
                idx.col(*c);
            }
            m.create_index(idx.take()).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("enrollments")
                .drop_column("resume_notified_on")
                .take(),
        )
        .await?;
        for t in ["notifications", "disclosures", "inbox_items", "requests"] {
            m.drop_table(Table::drop().table(t).take()).await?;
        }
        Ok(())
    }
}

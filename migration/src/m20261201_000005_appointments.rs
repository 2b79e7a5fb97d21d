//! Appointments (with their reminder bookkeeping) and the candidates' calendar feeds.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("appointments")
                .col(pk_uuid("id"))
                .col(uuid("candidate_id"))
                .col(uuid("municipality_id"))
                .col(string_len("kind", 30))
                .col(string_len("title", 200))
                .col(timestamp_with_time_zone("starts_at"))
                .col(timestamp_with_time_zone("ends_at"))
                .col(string_len_null("location", 200))
                .col(string_len_null("online_url", 500))
                .col(string_len_null("note_for_candidate", 2000))
                .col(string_len("status", 20))
                .col(string_len_null("cancel_reason", 1000))
                .col(string_len("candidate_response", 30))
                .col(string_len_null("response_message", 1000))
                .col(timestamp_with_time_zone_null("responded_at"))
                .col(integer("sequence"))
                .col(timestamp_with_time_zone_null("reminded_at"))
                .col(uuid("created_by"))
                .col(integer("version"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("appointments", "candidate_id")
                        .to("candidates", "id"),
                )
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("calendar_feeds")
                .col(pk_uuid("candidate_id"))
                .col(string_len_null("secret_hash", 64))
                .col(boolean("show_details"))
                .col(integer("version"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .col(timestamp_with_time_zone_null("rotated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("calendar_feeds", "candidate_id")
                        .to("candidates", "id"),
                )
                .take(),
        )
        .await?;
        // A candidate's appointments by time (lists, the plan, the feed).
        m.create_index(
            Index::create()
                .name("appointments_candidate_starts")
                .table("appointments")
                .col("candidate_id")
                .col("starts_at")
                .take(),
        )
        .await?;
        // The reminder scheduler: scheduled, not yet reminded, starting soon.
        m.create_index(
            Index::create()
                .name("appointments_reminder_due")
                .table("appointments")
                .col("status")
                .col("reminded_at")
                .col("starts_at")
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("calendar_feeds_secret")
                .table("calendar_feeds")
                .col("secret_hash")
                .unique()
                .take(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("calendar_feeds").take())
            .await?;
        m.drop_table(Table::drop().table("appointments").take())
            .await?;
        Ok(())
    }
}

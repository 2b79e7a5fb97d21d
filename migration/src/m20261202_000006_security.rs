//! Security fixes: failed-attempt counters that are checked and counted in one statement, idempotency
//! records that remember which access checks the first request passed (and lose what they stored in
//! clear before), and a hard cap on attempts per invitation.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One row per limited key (account, client address, invitation) and hourly window: an
        // upsert increments and returns the count at once, so parallel attempts cannot all pass.
        m.create_table(
            Table::create()
                .table("login_attempts")
                .col(string_len("key", 120).primary_key())
                .col(timestamp_with_time_zone("window_started_at"))
                .col(integer("count"))
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("login_attempts_window")
                .table("login_attempts")
                .col("window_started_at")
                .take(),
        )
        .await?;
        m.drop_table(Table::drop().table("login_failures").take())
            .await?;

        // Stored answers made before this change kept secrets and personal data in clear: drop them
        // (they are only useful for 24 hours anyway).
        m.get_connection()
            .execute_unprepared("DELETE FROM idempotency_keys")
            .await?;
        m.alter_table(
            Table::alter()
                .table("idempotency_keys")
                .add_column(text_null("access_checks"))
                .take(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("idempotency_keys")
                .add_column(boolean("secret_withheld").default(false))
                .take(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("idempotency_keys")
                .drop_column("secret_withheld")
                .take(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("idempotency_keys")
                .drop_column("access_checks")
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("login_failures")
                .col(pk_uuid("id"))
                .col(string_len("key", 120))
                .col(timestamp_with_time_zone("at"))
                .take(),
        )
        .await?;
        m.drop_table(Table::drop().table("login_attempts").take())
            .await?;
        Ok(())
    }
}

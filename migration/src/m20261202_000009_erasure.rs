//! Erasure (SPEC §4.11): a candidate whose personal data was removed keeps an anonymous row for the
//! statistics, marked with when and why it was erased; and an index for purging old audit entries by
//! municipality and age.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one column per ALTER TABLE.
        m.alter_table(
            Table::alter()
                .table("candidates")
                .add_column(timestamp_with_time_zone_null("erased_at"))
                .take(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("candidates")
                .add_column(text_null("erasure_reason"))
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("audit_log_purge")
                .table("audit_log")
                .col("municipality_id")
                .col("at")
                .take(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("audit_log_purge")
                .table("audit_log")
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("candidates")
                .drop_column("erasure_reason")
                .take(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("candidates")
                .drop_column("erased_at")
                .take(),
        )
        .await?;
        Ok(())
    }
}

//! An index the benchmark's query plans asked for (tests/bench/README.md): a candidate's open inbox
//! items of one kind are resolved inside the WHO-5 submit transaction, and no index started with
//! `candidate_id`, so SQLite walked every item of that kind in the installation and PostgreSQL
//! scanned the table.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name("inbox_items_candidate")
                .table("inbox_items")
                .col("candidate_id")
                .col("kind")
                .col("resolved_at")
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("inbox_items_candidate")
                .table("inbox_items")
                .to_owned(),
        )
        .await
    }
}

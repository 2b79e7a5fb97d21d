//! Goals and their steps.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("goals")
                .col(pk_uuid("id"))
                .col(uuid("candidate_id"))
                .col(uuid("municipality_id"))
                .col(string_len("title", 200))
                .col(string_len_null("description", 2000))
                .col(string_len("category", 20))
                .col(string_len("status", 20))
                .col(string_len("created_by", 20))
                .col(date_null("target_date"))
                .col(integer("version"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("goals", "candidate_id")
                        .to("candidates", "id"),
                )
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("goal_steps")
                .col(pk_uuid("id"))
                .col(uuid("goal_id"))
                .col(string_len("title", 200))
                .col(boolean("done"))
                .col(timestamp_with_time_zone_null("done_at"))
                .col(integer("position"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("goal_steps", "goal_id")
                        .to("goals", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("goals_candidate_status")
                .table("goals")
                .col("candidate_id")
                .col("status")
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("goal_steps_goal_position")
                .table("goal_steps")
                .col("goal_id")
                .col("position")
                .take(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("goal_steps").take())
            .await?;
        m.drop_table(Table::drop().table("goals").take()).await?;
        Ok(())
    }
}

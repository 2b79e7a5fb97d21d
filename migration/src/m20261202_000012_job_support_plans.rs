//! Job support plans (SPEC §4.12) and the history of their changes.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("job_support_plans")
                .col(pk_uuid("id"))
                .col(uuid("candidate_id"))
                .col(uuid("municipality_id"))
                .col(string_len("status", 20))
                .col(string_len("placement_kind", 20))
                .col(string_len("workplace", 200))
                .col(string_len("role", 200))
                .col(date("starts_on"))
                .col(integer_null("hours_per_week"))
                // JSON arrays: they are always read and written with their plan.
                .col(text("contacts"))
                .col(text("supports"))
                .col(string_len_null("early_signs", 2000))
                .col(string_len_null("what_helps", 2000))
                .col(integer("check_in_every_days"))
                .col(timestamp_with_time_zone_null("accepted_at"))
                .col(timestamp_with_time_zone_null("ended_at"))
                .col(date_null("check_in_claimed_until"))
                .col(integer("version"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("job_support_plans", "candidate_id")
                        .to("candidates", "id"),
                )
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("job_support_plan_changes")
                .col(pk_uuid("id"))
                .col(uuid("plan_id"))
                .col(uuid("candidate_id"))
                .col(uuid("municipality_id"))
                .col(uuid("actor_id"))
                .col(string_len("actor_role", 20))
                .col(string_len("fields", 200))
                .col(string_len("status", 20))
                .col(integer("version"))
                .col(timestamp_with_time_zone("at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("job_support_plan_changes", "plan_id")
                        .to("job_support_plans", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("job_support_plans_candidate")
                .table("job_support_plans")
                .col("candidate_id")
                .col("id")
                .take(),
        )
        .await?;
        // The check-in job reads the active plans.
        m.create_index(
            Index::create()
                .name("job_support_plans_status")
                .table("job_support_plans")
                .col("status")
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("job_support_plan_changes_plan")
                .table("job_support_plan_changes")
                .col("plan_id")
                .col("id")
                .take(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("job_support_plan_changes").take())
            .await?;
        m.drop_table(Table::drop().table("job_support_plans").take())
            .await?;
        Ok(())
    }
}

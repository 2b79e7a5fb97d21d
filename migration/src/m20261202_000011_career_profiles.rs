//! The career profile (SPEC §4.12): one per course, written by the candidate and their staff together,
//! and the list of its changes (who, when, which fields — never the text).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("career_profiles")
                .col(pk_uuid("id"))
                .col(uuid_uniq("enrollment_id"))
                .col(uuid("candidate_id"))
                .col(uuid("municipality_id"))
                .col(text_null("work_wishes"))
                .col(text_null("strengths"))
                .col(text_null("interests"))
                .col(text_null("support_needs"))
                .col(text_null("barriers"))
                .col(text_null("disclosure_wishes"))
                .col(text_null("education"))
                // A JSON array of entries (at most 30, checked by the API).
                .col(text("experience"))
                .col(date_null("candidate_done_on"))
                .col(date_null("staff_done_on"))
                .col(date_null("completed_on"))
                .col(integer("version"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("career_profiles", "enrollment_id")
                        .to("enrollments", "id"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("career_profiles", "candidate_id")
                        .to("candidates", "id"),
                )
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("career_profiles_candidate")
                .table("career_profiles")
                .col("candidate_id")
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("career_profile_changes")
                .col(pk_uuid("id"))
                .col(uuid("profile_id"))
                .col(uuid("candidate_id"))
                .col(uuid("actor_id"))
                .col(string_len("actor_role", 20))
                .col(timestamp_with_time_zone("at"))
                // The names of the fields that changed, space-separated.
                .col(string_len("fields", 400))
                .col(integer("version"))
                .foreign_key(
                    ForeignKey::create()
                        .from("career_profile_changes", "profile_id")
                        .to("career_profiles", "id"),
                )
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("career_profile_changes_profile")
                .table("career_profile_changes")
                .col("profile_id")
                .col("id")
                .take(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("career_profile_changes").take())
            .await?;
        m.drop_table(Table::drop().table("career_profiles").take())
            .await?;
        Ok(())
    }
}

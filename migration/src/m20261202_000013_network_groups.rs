//! Network groups (netværksgrupper, SPEC §4.12): the groups, their facilitators and members, the weekly
//! sessions made as time passes, attendance, and the participants' topic suggestions.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("network_groups")
                .col(pk_uuid("id"))
                .col(uuid("municipality_id"))
                .col(string_len("name", 200))
                // ISO weekday, 1 (Monday) to 7 (Sunday).
                .col(integer("weekday"))
                // "HH:MM", wall-clock time in Europe/Copenhagen.
                .col(string_len("starts_at", 5))
                .col(integer("duration_minutes"))
                .col(string_len_null("location", 200))
                .col(string_len_null("online_url", 500))
                .col(boolean("active"))
                .col(integer("version"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("network_groups", "municipality_id")
                        .to("municipalities", "id"),
                )
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("network_group_facilitators")
                .col(uuid("group_id"))
                .col(uuid("staff_id"))
                .primary_key(Index::create().col("group_id").col("staff_id"))
                .foreign_key(
                    ForeignKey::create()
                        .from("network_group_facilitators", "group_id")
                        .to("network_groups", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("network_group_facilitators", "staff_id")
                        .to("staff", "id"),
                )
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("network_group_members")
                .col(pk_uuid("id"))
                .col(uuid("group_id"))
                .col(uuid("candidate_id"))
                .col(timestamp_with_time_zone("joined_at"))
                .col(timestamp_with_time_zone_null("left_at"))
                // TRUE while the membership runs, NULL once left: with the unique index below, at
                // most one running membership per candidate and group on both backends (NULLs never
                // clash), however many times they leave and rejoin.
                .col(boolean_null("current"))
                .foreign_key(
                    ForeignKey::create()
                        .from("network_group_members", "group_id")
                        .to("network_groups", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("network_group_members", "candidate_id")
                        .to("candidates", "id"),
                )
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("network_group_members_current")
                .table("network_group_members")
                .col("group_id")
                .col("candidate_id")
                .col("current")
                .unique()
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("network_group_members_candidate")
                .table("network_group_members")
                .col("candidate_id")
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("network_group_sessions")
                .col(pk_uuid("id"))
                .col(uuid("group_id"))
                .col(uuid("municipality_id"))
                .col(timestamp_with_time_zone("starts_at"))
                .col(timestamp_with_time_zone("ends_at"))
                .col(string_len_null("topic", 200))
                .col(boolean("cancelled"))
                .col(integer("version"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("network_group_sessions", "group_id")
                        .to("network_groups", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await?;
        // Several instances make the same sessions: the second insert does nothing.
        m.create_index(
            Index::create()
                .name("network_group_sessions_slot")
                .table("network_group_sessions")
                .col("group_id")
                .col("starts_at")
                .unique()
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("network_group_sessions_municipality")
                .table("network_group_sessions")
                .col("municipality_id")
                .col("starts_at")
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("network_group_attendance")
                .col(uuid("session_id"))
                .col(uuid("candidate_id"))
                .col(uuid("group_id"))
                .col(boolean("attended"))
                .col(uuid("recorded_by"))
                .col(timestamp_with_time_zone("recorded_at"))
                .primary_key(Index::create().col("session_id").col("candidate_id"))
                .foreign_key(
                    ForeignKey::create()
                        .from("network_group_attendance", "session_id")
                        .to("network_group_sessions", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("network_group_attendance", "candidate_id")
                        .to("candidates", "id"),
                )
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("network_group_attendance_candidate")
                .table("network_group_attendance")
                .col("candidate_id")
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("network_group_topic_suggestions")
                .col(pk_uuid("id"))
                .col(uuid("group_id"))
                .col(uuid("candidate_id"))
                .col(string_len("text", 500))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("network_group_topic_suggestions", "group_id")
                        .to("network_groups", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("network_group_topic_suggestions", "candidate_id")
                        .to("candidates", "id"),
                )
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("network_group_topic_suggestions_group")
                .table("network_group_topic_suggestions")
                .col("group_id")
                .col("id")
                .take(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "network_group_topic_suggestions",
            "network_group_attendance",
            "network_group_sessions",
            "network_group_members",
            "network_group_facilitators",
            "network_groups",
        ] {
            m.drop_table(Table::drop().table(table).take()).await?;
        }
        Ok(())
    }
}

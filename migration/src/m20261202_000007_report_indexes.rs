//! Indexes for the reports (SPEC §4.10): each report reads one municipality's courses by the day they
//! ended or started, or its responses to one questionnaire candidate by candidate in time order.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (table, index, columns)
const INDEXES: [(&str, &str, &[&str]); 3] = [
    // Outcomes and durations: courses that ended in the window.
    (
        "enrollments",
        "enrollments_ended",
        &["municipality_id", "ended_on"],
    ),
    // Fidelity: courses that started in the window.
    (
        "enrollments",
        "enrollments_started",
        &["municipality_id", "started_on"],
    ),
    // Wellbeing and the questionnaire reports: a candidate's first or latest response to one
    // questionnaire (in a window) is one seek.
    (
        "questionnaire_responses",
        "questionnaire_responses_report",
        &[
            "municipality_id",
            "questionnaire_key",
            "candidate_id",
            "submitted_at",
            "id",
        ],
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (table, name, cols) in INDEXES {
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
        for (table, name, _) in INDEXES {
            m.drop_index(Index::drop().name(name).table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

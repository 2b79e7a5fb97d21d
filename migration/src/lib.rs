//! Database migrations, identical on SQLite and PostgreSQL. One file per change; a file is never
//! edited after it has landed.
pub use sea_orm_migration::prelude::*;

mod m20261201_000001_foundation;
mod m20261201_000002_goals;
mod m20261201_000003_requests;
mod m20261201_000004_questionnaires;
mod m20261201_000005_appointments;
mod m20261202_000006_security;
mod m20261202_000007_report_indexes;
mod m20261202_000008_webhooks;
mod m20261202_000009_erasure;
mod m20261202_000010_hot_path_indexes;
mod m20261202_000011_career_profiles;
mod m20261202_000012_job_support_plans;
mod m20261202_000013_network_groups;
mod m20261204_000014_one_open_request;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261201_000001_foundation::Migration),
            Box::new(m20261201_000002_goals::Migration),
            Box::new(m20261201_000003_requests::Migration),
            Box::new(m20261201_000004_questionnaires::Migration),
            Box::new(m20261201_000005_appointments::Migration),
            Box::new(m20261202_000006_security::Migration),
            Box::new(m20261202_000007_report_indexes::Migration),
            Box::new(m20261202_000008_webhooks::Migration),
            Box::new(m20261202_000009_erasure::Migration),
            Box::new(m20261202_000010_hot_path_indexes::Migration),
            Box::new(m20261202_000011_career_profiles::Migration),
            Box::new(m20261202_000012_job_support_plans::Migration),
            Box::new(m20261202_000013_network_groups::Migration),
            Box::new(m20261204_000014_one_open_request::Migration),
        ]
    }
}

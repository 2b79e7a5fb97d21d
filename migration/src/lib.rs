//! Database migrations, identical on SQLite and PostgreSQL. One file per change; a file is never
//! edited after it has landed.
pub use sea_orm_migration::prelude::*;

mod m20261201_000001_foundation;
mod m20261201_000002_goals;
mod m20261201_000003_requests;
mod m20261201_000004_questionnaires;
mod m20261201_000005_appointments;

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
        ]
    }
}

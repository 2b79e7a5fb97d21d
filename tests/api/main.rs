//! The integration tests: one binary, a module per area. Each test starts the real app on its own
//! fresh database: SQLite by default, PostgreSQL when `TEST_DATABASE_URL` is set.
mod access;
mod appointments;
mod candidates;
mod common;
mod concurrency;
mod goals;
mod identity;
mod privacy;
mod questionnaires;
mod requests;
mod smoke;
mod spec;

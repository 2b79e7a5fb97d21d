//! One write path. A change to a candidate's data is written with its event (the change feed, and the
//! list webhooks filter on) and its audit entry in the same transaction, by `record`; a staff read is
//! audited by `read`; a versioned row changes only through `versioned_update`. Adding an event type is
//! adding a variant to `EventType`.
use chrono::Utc;
use entity::{
    audit_entry,
    ids::{CandidateId, MunicipalityId},
    scoped::Versioned,
    types::{AuditAction, AuditResource, EventType},
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryTrait, Set, Statement, Value,
    sea_query::{
        PostgresQueryBuilder, QueryStatementBuilder, SqlWriter, SqlWriterValues,
        SqliteQueryBuilder, Write,
    },
};
use serde_json::Value as Json;
use uuid::Uuid;

use super::{
    DomainError, DomainResult,
    access::{Actor, Reached},
    events,
};

/// What a change or read is about: whose data, in which municipality, and which resource.
#[derive(Clone, Copy, Debug)]
pub struct Subject {
    pub municipality_id: MunicipalityId,
    pub candidate_id: Option<CandidateId>,
    pub resource: AuditResource,
    pub resource_id: Option<Uuid>,
}

impl Subject {
    /// A resource of a reached candidate.
    pub fn of(reached: &Reached, resource: AuditResource, id: impl Into<Uuid>) -> Self {
        Self::candidate(
            reached.municipality_id(),
            reached.id(),
            resource,
            Some(id.into()),
        )
    }

    /// A resource of a candidate, by ids (background jobs, rows found with their candidate).
    pub fn candidate(
        municipality_id: MunicipalityId,
        candidate_id: CandidateId,
        resource: AuditResource,
        id: Option<Uuid>,
    ) -> Self {
        Self {
            municipality_id,
            candidate_id: Some(candidate_id),
            resource,
            resource_id: id,
        }
    }

    /// A resource of the municipality itself (staff, settings).
    pub fn municipal(
        municipality_id: MunicipalityId,
        resource: AuditResource,
        id: Option<Uuid>,
    ) -> Self {
        Self {
            municipality_id,
            candidate_id: None,
            resource,
            resource_id: id,
        }
    }
}

/// The statements that make one change, sent to the database together with the change's audit entry
/// and event, as one request (`record_with`).
///
/// Each request to the database is a round trip (PostgreSQL) or a hand-off to the connection's
/// thread and back (SQLite), most of a small statement's cost. On PostgreSQL the statements become
/// data-modifying `WITH`s of one statement (PostgreSQL runs each once and to the end, read or not, on
/// one snapshot: a statement here sees none of the others' rows, and foreign keys are checked when the
/// whole statement ends). On SQLite they are statements sent together, which its driver runs in order.
/// Either way the placeholders are numbered across all of them as they are written.
pub struct Writes {
    backend: DbBackend,
    sql: SqlWriterValues,
    statements: usize,
}

impl Writes {
    pub fn new(backend: DbBackend) -> Self {
        let (placeholder, numbered) = match backend {
            DbBackend::Postgres => ("$", true),
            _ => ("?", false),
        };
        Self {
            backend,
            sql: SqlWriterValues::new(placeholder, numbered),
            statements: 0,
        }
    }

    /// Adds an `INSERT`, `UPDATE` or `DELETE` without results (`Entity::insert(…).as_query()`).
    pub fn push(&mut self, statement: &impl QueryStatementBuilder) {
        if self.is_postgres() {
            let _ = write!(
                self.sql,
                "{}w{} AS (",
                if self.statements == 0 { "WITH " } else { ", " },
                self.statements
            );
            statement.build_collect_any_into(&PostgresQueryBuilder, &mut self.sql);
            self.sql(")");
        } else {
            statement.build_collect_any_into(&SqliteQueryBuilder, &mut self.sql);
            self.sql("; ");
        }
        self.statements += 1;
    }

    pub fn is_postgres(&self) -> bool {
        self.backend == DbBackend::Postgres
    }

    /// How many statements were pushed.
    pub fn len(&self) -> usize {
        self.statements
    }

    pub fn is_empty(&self) -> bool {
        self.statements == 0
    }

    /// Writes SQL text after the pushed statements (for the statement that ends them).
    pub fn sql(&mut self, text: &str) {
        // Writing to a `String` does not fail.
        let _ = self.sql.write_str(text);
    }

    /// Writes a placeholder (`$n` or `?`) and binds `value` to it.
    pub fn param(&mut self, value: impl Into<Value>) {
        // The writer numbers the placeholder itself; the query builder is not consulted.
        self.sql.push_param(value.into(), &PostgresQueryBuilder);
    }

    /// The request, ready to send.
    pub fn into_statement(self) -> Statement {
        let (sql, values) = self.sql.into_parts();
        Statement::from_sql_and_values(self.backend, sql, values)
    }

    /// Sends the pushed statements as one request.
    pub async fn execute<C: ConnectionTrait>(mut self, txn: &C) -> DomainResult<()> {
        if self.is_empty() {
            return Ok(());
        }
        if self.is_postgres() {
            // The `WITH`s need a statement to belong to; this one reads nothing.
            self.sql(" SELECT 1");
        }
        txn.execute_raw(self.into_statement()).await?;
        Ok(())
    }

    /// Sends the pushed statements as one change of their own, outside any transaction: on
    /// PostgreSQL one statement (atomic by itself, no `BEGIN` or `COMMIT` to send); on SQLite the
    /// statements inside one writing transaction.
    pub async fn execute_alone(self, db: &crate::db::Db) -> DomainResult<()> {
        if self.is_postgres() {
            return self.execute(db.write()).await;
        }
        let txn = db.begin().await?;
        self.execute(&txn).await?;
        txn.commit().await?;
        Ok(())
    }
}

/// Records a change: its event (when it has one) and its audit entry. Call inside the transaction that
/// makes the change, so all three commit or none does. The audit entry and the event go to the
/// database as one request.
pub async fn record<C: ConnectionTrait>(
    txn: &C,
    actor: Actor,
    subject: &Subject,
    event: Option<(EventType, Json)>,
    action: AuditAction,
) -> DomainResult<()> {
    let writes = Writes::new(txn.get_database_backend());
    record_with(txn, writes, actor, subject, event, action).await
}

/// `record`, sending the change's own `writes` in the same request as its audit entry and event.
pub async fn record_with<C: ConnectionTrait>(
    txn: &C,
    mut writes: Writes,
    actor: Actor,
    subject: &Subject,
    event: Option<(EventType, Json)>,
    action: AuditAction,
) -> DomainResult<()> {
    writes.push(audit_entry::Entity::insert(entry(actor, subject, action)).as_query());
    match event {
        Some((event_type, payload)) => {
            events::append_after(txn, writes, subject.municipality_id, event_type, payload).await?;
        }
        None => writes.execute(txn).await?,
    }
    Ok(())
}

/// `record_with` for the usual change: a resource of the candidate `c`, made by whoever reached them,
/// with its event.
pub async fn record_reached<C: ConnectionTrait>(
    txn: &C,
    writes: Writes,
    c: &Reached,
    resource: AuditResource,
    id: impl Into<Uuid>,
    event: EventType,
    payload: Json,
    action: AuditAction,
) -> DomainResult<()> {
    let subject = Subject::of(c, resource, id);
    record_with(
        txn,
        writes,
        c.actor(),
        &subject,
        Some((event, payload)),
        action,
    )
    .await
}

/// Records that staff read a candidate's data (after the read).
pub async fn read<C: ConnectionTrait>(db: &C, actor: Actor, subject: &Subject) -> DomainResult<()> {
    audit_entry::Entity::insert(entry(actor, subject, AuditAction::Read))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The audit entry for `actor` doing `action` to `subject`, now.
fn entry(actor: Actor, subject: &Subject, action: AuditAction) -> audit_entry::ActiveModel {
    audit_entry::ActiveModel {
        id: Set(Uuid::now_v7()),
        municipality_id: Set(Some(subject.municipality_id)),
        candidate_id: Set(subject.candidate_id),
        actor_id: Set(actor.id),
        actor_role: Set(actor.role),
        action: Set(action),
        resource: Set(subject.resource),
        resource_id: Set(subject.resource_id),
        request_id: Set(crate::request_id::current()),
        at: Set(Utc::now()),
    }
}

/// Writes `am` as the next version of a row read at `current` version, if that is still the version
/// in the database and the caller's `expected` one (`If-Match`; `None` accepts any). `Stale` (412)
/// otherwise: a phone and a desk editing the same thing never overwrite each other unseen.
pub async fn versioned_update<E, C>(
    txn: &C,
    id: impl Into<Value>,
    current: i32,
    expected: Option<i32>,
    mut am: E::ActiveModel,
) -> DomainResult<E::Model>
where
    E: Versioned,
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
    E::Model: Sync,
    C: ConnectionTrait,
{
    if expected.is_some_and(|v| v != current) {
        return Err(DomainError::Stale);
    }
    am.set(E::VERSION, (current + 1).into());
    if let Some(updated_at) = E::UPDATED_AT {
        am.set(updated_at, Utc::now().into());
    }
    E::update_many()
        .set(am)
        .filter(E::ID.eq(id))
        .filter(E::VERSION.eq(current))
        .exec_with_returning(txn)
        .await?
        .into_iter()
        .next()
        .ok_or(DomainError::Stale)
}

//! The change feed. Each event takes the next number from its municipality's counter row inside the
//! writing transaction; the row lock makes other writers of that municipality wait until this one
//! commits, so sequence order is commit order and a reader paging with `after` never skips an event.
use chrono::Utc;
use entity::{event, event_counter, ids::MunicipalityId, types::EventType};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, Statement,
};
use serde_json::Value;
use uuid::Uuid;

use super::{DomainError, DomainResult};

/// Appends one event; call inside the transaction that makes the change.
pub async fn append<C: ConnectionTrait>(
    txn: &C,
    municipality_id: MunicipalityId,
    event_type: EventType,
    payload: Value,
) -> DomainResult<i64> {
    append_after(txn, None, municipality_id, event_type, payload).await
}

/// Runs `first` (a statement without results, for the same transaction: the change's audit entry,
/// built by the backend's query builder, so with `?` placeholders on SQLite and `$n` on PostgreSQL),
/// then appends one event, all in one request to the database; returns the event's number.
///
/// Each request to the database is a round trip (PostgreSQL) or a hand-off to the connection's
/// thread and back (SQLite), most of a small statement's cost. On PostgreSQL everything is one
/// statement: `first` and the counter's step are data-modifying `WITH`s of the event's `INSERT`
/// (PostgreSQL runs each `WITH` once and to the end, read or not). SQLite has no `UPDATE` in a
/// `WITH`, so there they are statements sent together, which its driver runs in order in the one
/// request; the `INSERT` reads the counter the `UPDATE` just stepped, in the same transaction.
pub async fn append_after<C: ConnectionTrait>(
    txn: &C,
    first: Option<Statement>,
    municipality_id: MunicipalityId,
    event_type: EventType,
    payload: Value,
) -> DomainResult<i64> {
    let backend = txn.get_database_backend();
    let (first_sql, mut values) = match first {
        Some(st) => (Some(st.sql), st.values.map(|v| v.0).unwrap_or_default()),
        None => (None, Vec::new()),
    };
    let m: sea_orm::Value = municipality_id.into();
    let (id, kind, body, at): (sea_orm::Value, _, _, _) = (
        Uuid::now_v7().into(),
        event_type.to_value().into(),
        payload.to_string().into(),
        Utc::now().into(),
    );
    let sql = if backend == DbBackend::Postgres {
        // This statement's parameters are numbered after `first`'s.
        let p = |n: usize| values.len() + n;
        let (pm, pid, pkind, pbody, pat) = (p(1), p(2), p(3), p(4), p(5));
        let first = first_sql
            .map(|f| format!("first AS ({f}), "))
            .unwrap_or_default();
        let sql = format!(
            "WITH {first}counter AS (UPDATE event_counters SET last_seq = last_seq + 1 \
                 WHERE municipality_id = ${pm} RETURNING last_seq) \
             INSERT INTO events (id, municipality_id, seq, event_type, payload, occurred_at) \
             SELECT ${pid}, ${pm}, last_seq, ${pkind}, ${pbody}, ${pat} FROM counter RETURNING seq"
        );
        values.extend([m, id, kind, body, at]);
        sql
    } else {
        // Only `?` placeholders, the values in the order they appear over all the statements: the
        // driver binds each `?` to the next value and carries the count over to the next statement,
        // while a numbered `?N` in a later statement would not line up with `first`'s.
        let first = first_sql.map(|f| format!("{f}; ")).unwrap_or_default();
        let sql = format!(
            "{first}UPDATE event_counters SET last_seq = last_seq + 1 WHERE municipality_id = ?; \
             INSERT INTO events (id, municipality_id, seq, event_type, payload, occurred_at) \
             SELECT ?, ?, last_seq, ?, ?, ? FROM event_counters WHERE municipality_id = ? \
             RETURNING seq"
        );
        values.extend([m.clone(), id, m.clone(), kind, body, at, m]);
        sql
    };
    let statement = Statement::from_sql_and_values(backend, sql, values);
    // No row: the municipality has no counter (the `UPDATE` changed nothing, and the `INSERT`
    // selected nothing). The caller's transaction is then rolled back, `first` with it.
    let row = txn.query_one_raw(statement).await?.ok_or_else(|| {
        DomainError::Internal(format!(
            "no event counter for municipality {municipality_id}"
        ))
    })?;
    Ok(row.try_get_by_index::<i64>(0)?)
}

/// Creates the counter row of a new municipality; call in the transaction that creates it.
pub async fn init_counter<C: ConnectionTrait>(
    txn: &C,
    municipality_id: MunicipalityId,
) -> DomainResult<()> {
    event_counter::ActiveModel {
        municipality_id: Set(municipality_id),
        last_seq: Set(0),
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// Events of a municipality after `after`, oldest first.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    municipality_id: MunicipalityId,
    after: i64,
    limit: u64,
) -> DomainResult<Vec<event::Model>> {
    Ok(event::Entity::find()
        .filter(event::Column::MunicipalityId.eq(municipality_id))
        .filter(event::Column::Seq.gt(after))
        .order_by_asc(event::Column::Seq)
        .limit(limit)
        .all(db)
        .await?)
}

/// The JSON document of one event, exactly as `GET /events` lists it and webhooks deliver it.
pub fn document(e: &event::Model) -> Value {
    let mut doc = serde_json::Map::new();
    doc.insert("seq".into(), Value::from(e.seq));
    doc.insert("id".into(), Value::String(e.id.to_string()));
    doc.insert(
        "type".into(),
        Value::String(e.event_type.as_str().to_string()),
    );
    doc.insert(
        "occurred_at".into(),
        Value::String(e.occurred_at.to_rfc3339()),
    );
    doc.insert(
        "payload".into(),
        serde_json::from_str(&e.payload).unwrap_or_default(),
    );
    Value::Object(doc)
}

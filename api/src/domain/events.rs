//! The change feed. Each event takes the next number from its municipality's counter row inside the
//! writing transaction; the row lock makes other writers of that municipality wait until this one
//! commits, so sequence order is commit order and a reader paging with `after` never skips an event.
use chrono::Utc;
use entity::{event, event_counter, ids::MunicipalityId, types::EventType};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde_json::Value;
use uuid::Uuid;

use super::{DomainError, DomainResult, journal::Writes};

/// Appends one event; call inside the transaction that makes the change.
pub async fn append<C: ConnectionTrait>(
    txn: &C,
    municipality_id: MunicipalityId,
    event_type: EventType,
    payload: Value,
) -> DomainResult<i64> {
    let writes = Writes::new(txn.get_database_backend());
    append_after(txn, writes, municipality_id, event_type, payload).await
}

/// Runs `writes` (the change's statements and its audit entry), then appends one event, all in one
/// request to the database; returns the event's number.
///
/// On PostgreSQL everything is one statement: the writes and the counter's step are data-modifying
/// `WITH`s of the event's `INSERT`. SQLite has no `UPDATE` in a `WITH`, so there they are statements
/// sent together, which its driver runs in order in the one request; the `INSERT` reads the counter
/// the `UPDATE` just stepped, in the same transaction.
pub async fn append_after<C: ConnectionTrait>(
    txn: &C,
    mut writes: Writes,
    municipality_id: MunicipalityId,
    event_type: EventType,
    payload: Value,
) -> DomainResult<i64> {
    let m: sea_orm::Value = municipality_id.into();
    let id = Uuid::now_v7();
    let (kind, body, at) = (event_type.to_value(), payload.to_string(), Utc::now());
    if writes.is_postgres() {
        writes.sql(if writes.is_empty() { "WITH " } else { ", " });
        writes.sql("counter AS (UPDATE event_counters SET last_seq = last_seq + 1 WHERE municipality_id = ");
        writes.param(m.clone());
        writes.sql(
            " RETURNING last_seq) \
             INSERT INTO events (id, municipality_id, seq, event_type, payload, occurred_at) SELECT ",
        );
    } else {
        writes.sql("UPDATE event_counters SET last_seq = last_seq + 1 WHERE municipality_id = ");
        writes.param(m.clone());
        writes.sql(
            "; INSERT INTO events (id, municipality_id, seq, event_type, payload, occurred_at) SELECT ",
        );
    }
    writes.param(id);
    writes.sql(", ");
    writes.param(m.clone());
    writes.sql(", last_seq, ");
    writes.param(kind);
    writes.sql(", ");
    writes.param(body);
    writes.sql(", ");
    writes.param(at);
    if writes.is_postgres() {
        writes.sql(" FROM counter RETURNING seq");
    } else {
        writes.sql(" FROM event_counters WHERE municipality_id = ");
        writes.param(m);
        writes.sql(" RETURNING seq");
    }
    // No row: the municipality has no counter (the `UPDATE` changed nothing, and the `INSERT`
    // selected nothing). The caller's transaction is then rolled back, the writes with it.
    let row = txn
        .query_one_raw(writes.into_statement())
        .await?
        .ok_or_else(|| {
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

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
///
/// The counter's step and the event's row go to the database as one request. On PostgreSQL they are
/// one statement (a data-modifying `WITH`); SQLite has no `UPDATE` in a `WITH`, so there they are two
/// statements sent together, which its driver runs in order in one hand-off to the connection's
/// thread (each hand-off is a thread switch each way, most of a small statement's cost). The
/// `INSERT` reads the counter the `UPDATE` just stepped, inside the same transaction.
pub async fn append<C: ConnectionTrait>(
    txn: &C,
    municipality_id: MunicipalityId,
    event_type: EventType,
    payload: Value,
) -> DomainResult<i64> {
    const POSTGRES: &str = "WITH counter AS (UPDATE event_counters SET last_seq = last_seq + 1 \
             WHERE municipality_id = $1 RETURNING last_seq) \
         INSERT INTO events (id, municipality_id, seq, event_type, payload, occurred_at) \
         SELECT $2, $1, last_seq, $3, $4, $5 FROM counter RETURNING seq";
    const SQLITE: &str = "UPDATE event_counters SET last_seq = last_seq + 1 \
             WHERE municipality_id = ?1; \
         INSERT INTO events (id, municipality_id, seq, event_type, payload, occurred_at) \
         SELECT ?2, ?1, last_seq, ?3, ?4, ?5 FROM event_counters \
          WHERE municipality_id = ?1 RETURNING seq";
    let backend = txn.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => POSTGRES,
        _ => SQLITE,
    };
    let statement = Statement::from_sql_and_values(
        backend,
        sql,
        [
            municipality_id.into(),
            Uuid::now_v7().into(),
            event_type.to_value().into(),
            payload.to_string().into(),
            Utc::now().into(),
        ],
    );
    // No row: the municipality has no counter (the `UPDATE` changed nothing, and the `INSERT`
    // selected nothing).
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

//! The change feed. Each event takes the next number from its municipality's counter row inside the
//! writing transaction; the row lock makes other writers of that municipality wait until this one
//! commits, so sequence order is commit order and a reader paging with `after` never skips an event.
use chrono::Utc;
use entity::{event, event_counter, ids::MunicipalityId, types::EventType};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, Statement,
    sea_query::{Expr, ExprTrait},
};
use serde_json::Value;
use uuid::Uuid;

use super::{DomainError, DomainResult};

/// Appends one event; call inside the transaction that makes the change.
///
/// On PostgreSQL the counter's step and the event's row are one statement (a data-modifying `WITH`),
/// one round trip less for every change; SQLite has no `UPDATE` in a `WITH`, and its one writer
/// connection makes the two statements cheap.
pub async fn append<C: ConnectionTrait>(
    txn: &C,
    municipality_id: MunicipalityId,
    event_type: EventType,
    payload: Value,
) -> DomainResult<i64> {
    let id = Uuid::now_v7();
    let occurred_at = Utc::now();
    let no_counter = || {
        DomainError::Internal(format!(
            "no event counter for municipality {municipality_id}"
        ))
    };
    if txn.get_database_backend() == DbBackend::Postgres {
        let statement = Statement::from_sql_and_values(
            DbBackend::Postgres,
            "WITH counter AS (UPDATE event_counters SET last_seq = last_seq + 1 \
                 WHERE municipality_id = $1 RETURNING last_seq) \
             INSERT INTO events (id, municipality_id, seq, event_type, payload, occurred_at) \
             SELECT $2, $1, last_seq, $3, $4, $5 FROM counter RETURNING seq",
            [
                municipality_id.into(),
                id.into(),
                event_type.to_value().into(),
                payload.to_string().into(),
                occurred_at.into(),
            ],
        );
        let row = txn.query_one_raw(statement).await?.ok_or_else(no_counter)?;
        return Ok(row.try_get_by_index::<i64>(0)?);
    }
    let seq = event_counter::Entity::update_many()
        .col_expr(
            event_counter::Column::LastSeq,
            Expr::col(event_counter::Column::LastSeq).add(1),
        )
        .filter(event_counter::Column::MunicipalityId.eq(municipality_id))
        .exec_with_returning(txn)
        .await?
        .first()
        .map(|r| r.last_seq)
        .ok_or_else(no_counter)?;
    event::ActiveModel {
        id: Set(id),
        municipality_id: Set(municipality_id),
        seq: Set(seq),
        event_type: Set(event_type),
        payload: Set(payload.to_string()),
        occurred_at: Set(occurred_at),
    }
    .insert(txn)
    .await?;
    Ok(seq)
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

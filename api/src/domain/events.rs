//! The change feed. Each event takes the next number from its municipality's counter row inside the
//! writing transaction; the row lock makes other writers of that municipality wait until this one
//! commits, so sequence order is commit order and a reader paging with `after` never skips an event.
use chrono::Utc;
use entity::{event, event_counter, ids::MunicipalityId, types::EventType};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
    sea_query::{Expr, ExprTrait},
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
    let rows = event_counter::Entity::update_many()
        .col_expr(
            event_counter::Column::LastSeq,
            Expr::col(event_counter::Column::LastSeq).add(1),
        )
        .filter(event_counter::Column::MunicipalityId.eq(municipality_id))
        .exec_with_returning(txn)
        .await?;
    let seq = rows.first().map(|r| r.last_seq).ok_or_else(|| {
        DomainError::Internal(format!(
            "no event counter for municipality {municipality_id}"
        ))
    })?;
    event::ActiveModel {
        id: Set(Uuid::now_v7()),
        municipality_id: Set(municipality_id),
        seq: Set(seq),
        event_type: Set(event_type),
        payload: Set(payload.to_string()),
        occurred_at: Set(Utc::now()),
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

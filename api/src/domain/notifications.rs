//! In-app notifications for candidates. Each carries a kind and ids; the portal words it in the
//! candidate's language. The same happenings are events, so a municipality's SMS or Digital Post
//! gateway can deliver them too.
use chrono::Utc;
use entity::{
    ids::{CandidateId, NotificationId},
    notification,
    types::NotificationKind,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    sea_query::Expr,
};
use serde_json::Value;

use super::{DomainError, DomainResult, pagination::PageRequest};
use crate::db::Db;

/// Adds a notification; call inside the transaction of the change it tells about.
pub async fn add<C: ConnectionTrait>(
    txn: &C,
    candidate_id: CandidateId,
    kind: NotificationKind,
    data: Value,
) -> DomainResult<NotificationId> {
    let id = NotificationId::generate();
    notification::ActiveModel {
        id: Set(id),
        candidate_id: Set(candidate_id),
        kind: Set(kind),
        data: Set(data.to_string()),
        created_at: Set(Utc::now()),
        read_at: Set(None),
    }
    .insert(txn)
    .await?;
    Ok(id)
}

/// The candidate's notifications, newest first.
pub async fn list(
    db: &Db,
    candidate_id: CandidateId,
    unread_only: bool,
    page: PageRequest,
) -> DomainResult<(Vec<notification::Model>, Option<String>)> {
    let mut q = notification::Entity::find()
        .filter(notification::Column::CandidateId.eq(candidate_id))
        .order_by_desc(notification::Column::Id);
    if unread_only {
        q = q.filter(notification::Column::ReadAt.is_null());
    }
    if let Some(before) = page.after {
        q = q.filter(notification::Column::Id.lt(before));
    }
    Ok(page.read(q, db.read(), |n| n.id.0).await?)
}

/// Marks one notification read (idempotent).
pub async fn mark_read(
    db: &Db,
    candidate_id: CandidateId,
    id: NotificationId,
) -> DomainResult<notification::Model> {
    let n = notification::Entity::find_by_id(id)
        .filter(notification::Column::CandidateId.eq(candidate_id))
        .one(db.read())
        .await?
        .ok_or(DomainError::NotFound)?;
    if n.read_at.is_some() {
        return Ok(n);
    }
    let mut am: notification::ActiveModel = n.into();
    am.read_at = Set(Some(Utc::now()));
    Ok(am.update(db.write()).await?)
}

/// Marks every notification read; returns how many changed.
pub async fn mark_all_read(db: &Db, candidate_id: CandidateId) -> DomainResult<u64> {
    let res = notification::Entity::update_many()
        .col_expr(notification::Column::ReadAt, Expr::value(Utc::now()))
        .filter(notification::Column::CandidateId.eq(candidate_id))
        .filter(notification::Column::ReadAt.is_null())
        .exec(db.write())
        .await?;
    Ok(res.rows_affected)
}

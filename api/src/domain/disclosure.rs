//! Disclosure: how much the consultant may tell an employer or school. The candidate's choice alone,
//! kept as a history (each choice a row), readable by their staff.
use chrono::Utc;
pub use entity::types::DisclosureLevel;
use entity::{
    disclosure,
    ids::CandidateId,
    types::{AuditAction, AuditResource, EventType},
};
use sea_orm::{ActiveModelTrait, ConnectionTrait, QueryOrder, Set};
use serde_json::json;
use uuid::Uuid;

use super::{
    DomainError, DomainResult,
    access::{Reach, Reached},
    journal::{self, Subject},
};
use crate::db::Db;

/// The disclosure history, oldest first (empty: the default `none`).
pub async fn history<C: ConnectionTrait>(
    db: &C,
    c: &Reached,
) -> DomainResult<Vec<disclosure::Model>> {
    Ok(c.rows::<disclosure::Entity>()
        .order_by_asc(disclosure::Column::Id)
        .all(db)
        .await?)
}

/// The history of a candidate found by id (the candidate's own export).
pub async fn history_of<C: ConnectionTrait>(
    db: &C,
    candidate_id: CandidateId,
) -> DomainResult<Vec<disclosure::Model>> {
    use entity::scoped::CandidateOwned;
    Ok(disclosure::Entity::secure_find(candidate_id)
        .order_by_asc(disclosure::Column::Id)
        .all(db)
        .await?)
}

/// The candidate sets their disclosure level. `expected` is the number of earlier choices (the ETag).
pub async fn set(
    db: &Db,
    reach: &Reach,
    expected: Option<i32>,
    level: DisclosureLevel,
    note: Option<String>,
) -> DomainResult<Vec<disclosure::Model>> {
    let Reach::Own(me) = reach else {
        return Err(DomainError::Forbidden);
    };
    let txn = db.begin().await?;
    let c = reach.candidate(&txn, me.id).await?;
    let earlier = history(&txn, &c).await?;
    if expected.is_some_and(|v| v != earlier.len() as i32) {
        return Err(DomainError::Stale);
    }
    disclosure::ActiveModel {
        id: Set(Uuid::now_v7()),
        candidate_id: Set(c.id()),
        level: Set(level),
        note: Set(note),
        at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    let subject = Subject::candidate(c.municipality_id(), c.id(), AuditResource::Disclosure, None);
    journal::record(
        &txn,
        c.actor(),
        &subject,
        Some((
            EventType::DisclosureChanged,
            json!({"candidate_id": c.id(), "level": level}),
        )),
        AuditAction::Update,
    )
    .await?;
    let all = history(&txn, &c).await?;
    txn.commit().await?;
    Ok(all)
}

/// Staff read a candidate's disclosure (audited).
pub async fn for_staff(
    db: &Db,
    reach: &Reach,
    candidate_id: CandidateId,
) -> DomainResult<Vec<disclosure::Model>> {
    let c = reach.candidate(db.read(), candidate_id).await?;
    let all = history(db.read(), &c).await?;
    let subject = Subject::candidate(c.municipality_id(), c.id(), AuditResource::Disclosure, None);
    journal::read(db.write(), c.actor(), &subject).await?;
    Ok(all)
}

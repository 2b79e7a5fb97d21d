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
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryTrait, Set,
    Value,
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

/// Records a change: its event (when it has one) and its audit entry. Call inside the transaction that
/// makes the change, so all three commit or none does. With an event, the audit entry and the event
/// go to the database as one request.
pub async fn record<C: ConnectionTrait>(
    txn: &C,
    actor: Actor,
    subject: &Subject,
    event: Option<(EventType, Json)>,
    action: AuditAction,
) -> DomainResult<()> {
    let entry = entry(actor, subject, action);
    match event {
        Some((event_type, payload)) => {
            let audit = audit_entry::Entity::insert(entry).build(txn.get_database_backend());
            events::append_after(
                txn,
                Some(audit),
                subject.municipality_id,
                event_type,
                payload,
            )
            .await?;
        }
        None => {
            audit_entry::Entity::insert(entry)
                .exec_without_returning(txn)
                .await?;
        }
    }
    Ok(())
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

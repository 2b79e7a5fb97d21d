//! The audit log: staff reads of a candidate's data and every change, written in the same
//! transaction as the change (reads: right after the read).
use chrono::Utc;
use entity::audit_entry;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use uuid::Uuid;

use super::DomainResult;
use crate::auth::Actor;

/// What happened.
#[derive(Clone, Copy, Debug)]
pub enum Action {
    Read,
    Create,
    Update,
    Delete,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }
}

/// Records one entry.
pub async fn record<C: ConnectionTrait>(
    db: &C,
    actor: Actor,
    municipality_id: Option<Uuid>,
    candidate_id: Option<Uuid>,
    action: Action,
    resource: &str,
    resource_id: Option<Uuid>,
) -> DomainResult<()> {
    audit_entry::ActiveModel {
        id: Set(Uuid::now_v7()),
        municipality_id: Set(municipality_id),
        candidate_id: Set(candidate_id),
        actor_id: Set(actor.id),
        actor_role: Set(actor.role.as_str().to_string()),
        action: Set(action.as_str().to_string()),
        resource: Set(resource.to_string()),
        resource_id: Set(resource_id),
        request_id: Set(crate::middleware::current_request_id()),
        at: Set(Utc::now()),
    }
    .insert(db)
    .await?;
    Ok(())
}

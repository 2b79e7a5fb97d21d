//! The staff inbox: what a consultant (and the coordinators) should look at, oldest first. Items are
//! added and resolved in the same transaction as the change they are about.
use chrono::Utc;
pub use entity::types::{InboxAudience as Audience, InboxKind as Kind};
use entity::{
    candidate,
    ids::{CandidateId, MunicipalityId},
    inbox_item,
    types::AuditResource,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QueryTrait, Set, UpdateMany, sea_query::Expr,
};
use uuid::Uuid;

use super::{
    DomainResult,
    journal::{self, Subject, Writes},
    pagination::PageRequest,
};
use crate::{
    auth::{Actor, CandidateScope},
    db::Db,
};

/// Adds an item; call inside the transaction of the change it is about.
pub async fn add<C: ConnectionTrait>(
    txn: &C,
    municipality_id: MunicipalityId,
    candidate_id: CandidateId,
    kind: Kind,
    ref_id: Option<Uuid>,
    audience: Audience,
) -> DomainResult<Uuid> {
    let (id, item) = new_item(municipality_id, candidate_id, kind, ref_id, audience);
    item.insert(txn).await?;
    Ok(id)
}

/// `add`, as one of the change's statements (`journal::record_with` sends them together).
pub fn add_with(
    writes: &mut Writes,
    municipality_id: MunicipalityId,
    candidate_id: CandidateId,
    kind: Kind,
    ref_id: Option<Uuid>,
    audience: Audience,
) {
    let (_, item) = new_item(municipality_id, candidate_id, kind, ref_id, audience);
    writes.push(inbox_item::Entity::insert(item).as_query());
}

/// An open item about a candidate, and its id.
fn new_item(
    municipality_id: MunicipalityId,
    candidate_id: CandidateId,
    kind: Kind,
    ref_id: Option<Uuid>,
    audience: Audience,
) -> (Uuid, inbox_item::ActiveModel) {
    let id = Uuid::now_v7();
    let item = inbox_item::ActiveModel {
        id: Set(id),
        municipality_id: Set(municipality_id),
        candidate_id: Set(Some(candidate_id)),
        kind: Set(kind),
        ref_id: Set(ref_id),
        audience: Set(audience),
        created_at: Set(Utc::now()),
        resolved_at: Set(None),
    };
    (id, item)
}

/// Adds an item about no candidate for the municipality's coordinators (e.g. a disabled webhook).
pub async fn add_for_coordinators<C: ConnectionTrait>(
    txn: &C,
    municipality_id: MunicipalityId,
    kind: Kind,
    ref_id: Option<Uuid>,
) -> DomainResult<Uuid> {
    let id = Uuid::now_v7();
    inbox_item::ActiveModel {
        id: Set(id),
        municipality_id: Set(municipality_id),
        candidate_id: Set(None),
        kind: Set(kind),
        ref_id: Set(ref_id),
        audience: Set(Audience::Coordinator),
        created_at: Set(Utc::now()),
        resolved_at: Set(None),
    }
    .insert(txn)
    .await?;
    Ok(id)
}

/// Resolves the open items of these kinds about `ref_id` (e.g. a request that was carried out).
pub async fn resolve<C: ConnectionTrait>(
    txn: &C,
    kinds: &[Kind],
    ref_id: Uuid,
) -> DomainResult<()> {
    inbox_item::Entity::update_many()
        .col_expr(inbox_item::Column::ResolvedAt, Expr::value(Utc::now()))
        .filter(inbox_item::Column::Kind.is_in(kinds.iter().copied()))
        .filter(inbox_item::Column::RefId.eq(ref_id))
        .filter(inbox_item::Column::ResolvedAt.is_null())
        .exec(txn)
        .await?;
    Ok(())
}

/// Resolves every open item of a kind for a candidate (e.g. the course resumed).
pub async fn resolve_for_candidate<C: ConnectionTrait>(
    txn: &C,
    kind: Kind,
    candidate_id: CandidateId,
) -> DomainResult<()> {
    resolving(kind, candidate_id).exec(txn).await?;
    Ok(())
}

/// `resolve_for_candidate`, sent with the change's other `writes`.
pub fn resolve_for_candidate_with(writes: &mut Writes, kind: Kind, candidate_id: CandidateId) {
    writes.push(resolving(kind, candidate_id).as_query());
}

fn resolving(kind: Kind, candidate_id: CandidateId) -> UpdateMany<inbox_item::Entity> {
    inbox_item::Entity::update_many()
        .col_expr(inbox_item::Column::ResolvedAt, Expr::value(Utc::now()))
        .filter(inbox_item::Column::Kind.eq(kind))
        .filter(inbox_item::Column::CandidateId.eq(candidate_id))
        .filter(inbox_item::Column::ResolvedAt.is_null())
}

/// One item with the candidate (none for items about no candidate, such as a disabled webhook) and,
/// for a request, the request itself.
pub struct Item {
    pub item: inbox_item::Model,
    pub candidate: Option<candidate::Model>,
    pub request: Option<entity::request::Model>,
}

/// The open items the caller should see, oldest first. Every candidate shown is audited as a read.
pub async fn list(
    db: &Db,
    scope: &CandidateScope,
    actor: Actor,
    page: PageRequest,
) -> DomainResult<(Vec<Item>, Option<String>)> {
    let mut q = inbox_item::Entity::find()
        .find_also_related(candidate::Entity)
        .filter(inbox_item::Column::MunicipalityId.eq(scope.municipality_id()))
        .filter(inbox_item::Column::ResolvedAt.is_null())
        .order_by_asc(inbox_item::Column::Id);
    if let CandidateScope::Caseload { consultant_id, .. } = *scope {
        q = q.filter(
            Condition::all()
                .add(candidate::Column::ConsultantId.eq(consultant_id))
                .add(inbox_item::Column::Audience.eq(Audience::Consultant)),
        );
    }
    if let Some(after) = page.after {
        q = q.filter(inbox_item::Column::Id.gt(after));
    }
    let (rows, next) = page.read_two(q, db.read(), |(i, _)| i.id).await?;
    let request_ids: Vec<entity::ids::RequestId> = rows
        .iter()
        .filter(|(i, _)| matches!(i.kind, Kind::Request | Kind::RequestOverdue))
        .filter_map(|(i, _)| i.ref_id.map(entity::ids::RequestId))
        .collect();
    let requests: std::collections::HashMap<entity::ids::RequestId, entity::request::Model> =
        if request_ids.is_empty() {
            Default::default()
        } else {
            entity::request::Entity::find()
                .filter(entity::request::Column::Id.is_in(request_ids))
                .all(db.read())
                .await?
                .into_iter()
                .map(|r| (r.id, r))
                .collect()
        };
    let mut seen = std::collections::BTreeSet::new();
    let mut items = Vec::new();
    for (item, c) in rows {
        let c = match (item.candidate_id, c) {
            (None, _) => {
                items.push(Item {
                    item,
                    candidate: None,
                    request: None,
                });
                continue;
            }
            (Some(_), None) => continue,
            (Some(_), Some(c)) => c,
        };
        let request = item
            .ref_id
            .and_then(|id| requests.get(&entity::ids::RequestId(id)).cloned());
        if seen.insert(c.id) {
            let subject =
                Subject::candidate(c.municipality_id, c.id, AuditResource::Inbox, Some(item.id));
            journal::read(db.write(), actor, &subject).await?;
        }
        items.push(Item {
            item,
            candidate: Some(c),
            request,
        });
    }
    Ok((items, next))
}

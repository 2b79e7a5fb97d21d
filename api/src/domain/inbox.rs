//! The staff inbox: what a consultant (and the coordinators) should look at, oldest first. Items are
//! added and resolved in the same transaction as the change they are about.
use chrono::Utc;
use entity::{candidate, inbox_item};
use poem_openapi::Enum;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, sea_query::Expr,
};
use uuid::Uuid;

use super::{DomainResult, audit, pagination::PageRequest};
use crate::{
    auth::{Actor, CandidateScope},
    db::Db,
};

/// What an inbox item is about.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename = "InboxKind", rename_all = "snake_case")]
pub enum Kind {
    /// A pause or stop request that is `open` or `acknowledged`.
    Request,
    /// A request nobody acknowledged within 2 working days (coordinators).
    RequestOverdue,
    /// A paused course's planned resume date has passed; talk with the candidate.
    ResumeDue,
    /// A low WHO-5 score, or a fall of 10 points or more.
    WellbeingAlert,
    /// Two questionnaires in a row were not answered.
    MissedQuestionnaires,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Request => "request",
            Kind::RequestOverdue => "request_overdue",
            Kind::ResumeDue => "resume_due",
            Kind::WellbeingAlert => "wellbeing_alert",
            Kind::MissedQuestionnaires => "missed_questionnaires",
        }
    }

    pub fn parse(s: &str) -> Self {
        [
            Kind::Request,
            Kind::RequestOverdue,
            Kind::ResumeDue,
            Kind::WellbeingAlert,
            Kind::MissedQuestionnaires,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
        .unwrap_or(Kind::Request)
    }
}

/// Who should see an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// The candidate's consultant (and every coordinator of the municipality).
    Consultant,
    /// Coordinators only.
    Coordinator,
}

/// Adds an item; call inside the transaction of the change it is about.
pub async fn add<C: ConnectionTrait>(
    txn: &C,
    municipality_id: Uuid,
    candidate_id: Uuid,
    kind: Kind,
    ref_id: Option<Uuid>,
    audience: Audience,
) -> DomainResult<Uuid> {
    let id = Uuid::now_v7();
    inbox_item::ActiveModel {
        id: Set(id),
        municipality_id: Set(municipality_id),
        candidate_id: Set(candidate_id),
        kind: Set(kind.as_str().into()),
        ref_id: Set(ref_id),
        audience: Set(match audience {
            Audience::Consultant => "consultant",
            Audience::Coordinator => "coordinator",
        }
        .into()),
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
        .filter(inbox_item::Column::Kind.is_in(kinds.iter().map(|k| k.as_str())))
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
    candidate_id: Uuid,
) -> DomainResult<()> {
    inbox_item::Entity::update_many()
        .col_expr(inbox_item::Column::ResolvedAt, Expr::value(Utc::now()))
        .filter(inbox_item::Column::Kind.eq(kind.as_str()))
        .filter(inbox_item::Column::CandidateId.eq(candidate_id))
        .filter(inbox_item::Column::ResolvedAt.is_null())
        .exec(txn)
        .await?;
    Ok(())
}

/// One item with the candidate's name and, for a request, the request itself.
pub struct Item {
    pub item: inbox_item::Model,
    pub candidate: candidate::Model,
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
        .order_by_asc(inbox_item::Column::Id)
        .limit(page.fetch());
    if let CandidateScope::Caseload { consultant_id, .. } = *scope {
        q = q.filter(
            Condition::all()
                .add(candidate::Column::ConsultantId.eq(consultant_id))
                .add(inbox_item::Column::Audience.eq("consultant")),
        );
    }
    if let Some(after) = page.after {
        q = q.filter(inbox_item::Column::Id.gt(after));
    }
    let rows = q.all(db.read()).await?;
    let (rows, next) = page.finish(rows, |(i, _)| i.id);
    let request_ids: Vec<Uuid> = rows
        .iter()
        .filter(|(i, _)| matches!(Kind::parse(&i.kind), Kind::Request | Kind::RequestOverdue))
        .filter_map(|(i, _)| i.ref_id)
        .collect();
    let requests: std::collections::HashMap<Uuid, entity::request::Model> =
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
        let Some(c) = c else { continue };
        let request = item.ref_id.and_then(|id| requests.get(&id).cloned());
        if seen.insert(c.id) {
            audit::record(
                db.write(),
                actor,
                Some(c.municipality_id),
                Some(c.id),
                audit::Action::Read,
                "inbox",
                Some(item.id),
            )
            .await?;
        }
        items.push(Item {
            item,
            candidate: c,
            request,
        });
    }
    Ok((items, next))
}

//! Data protection (SPEC §4.11): the candidate's export of everything stored about them, their view of
//! who looked at or changed their data, and the coordinator's audit view.
use entity::{
    audit_entry, candidate,
    ids::{CandidateId, EnrollmentId, GoalId},
    scoped::CandidateOwned,
    types::AuditResource,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::{
    DomainError, DomainResult,
    access::Reach,
    journal::{self, Subject},
    pagination::PageRequest,
};
use crate::db::Db;

/// The audit entries about a candidate, newest first.
async fn entries<C: ConnectionTrait>(
    db: &C,
    candidate_id: CandidateId,
    page: PageRequest,
) -> DomainResult<(Vec<audit_entry::Model>, Option<String>)> {
    let mut q = audit_entry::Entity::find()
        .filter(audit_entry::Column::CandidateId.eq(candidate_id))
        .order_by_desc(audit_entry::Column::Id);
    if let Some(before) = page.after {
        q = q.filter(audit_entry::Column::Id.lt(before));
    }
    Ok(page.read(q, db, |a| a.id).await?)
}

/// The candidate's own access log (GDPR art. 15), or the coordinator's audit view of one candidate
/// (reading it is itself audited).
pub async fn audit_log(
    db: &Db,
    reach: &Reach,
    candidate_id: CandidateId,
    page: PageRequest,
) -> DomainResult<(Vec<audit_entry::Model>, Option<String>)> {
    let c = reach.candidate(db.read(), candidate_id).await?;
    let out = entries(db.read(), c.id(), page).await?;
    if c.through_scope() {
        let subject = Subject::candidate(c.municipality_id(), c.id(), AuditResource::Audit, None);
        journal::read(db.write(), c.actor(), &subject).await?;
    }
    Ok(out)
}

/// Everything stored about the caller (a candidate), as one JSON document: each table's rows as stored.
pub async fn export(db: &Db, reach: &Reach) -> DomainResult<serde_json::Value> {
    use entity::*;
    let Reach::Own(me) = reach else {
        return Err(DomainError::Forbidden);
    };
    let conn = db.read();
    let c = reach.candidate(conn, me.id).await?.into_candidate();
    let courses = enrollment::Entity::secure_find(c.id)
        .order_by_asc(enrollment::Column::Id)
        .all(conn)
        .await?;
    let course_ids: Vec<EnrollmentId> = courses.iter().map(|e| e.id).collect();
    let history = enrollment_transition::Entity::find()
        .filter(enrollment_transition::Column::EnrollmentId.is_in(course_ids))
        .order_by_asc(enrollment_transition::Column::Id)
        .all(conn)
        .await?;
    let goals = goal::Entity::secure_find(c.id)
        .order_by_asc(goal::Column::Id)
        .all(conn)
        .await?;
    let goal_ids: Vec<GoalId> = goals.iter().map(|g| g.id).collect();
    let steps = goal_step::Entity::find()
        .filter(goal_step::Column::GoalId.is_in(goal_ids))
        .order_by_asc(goal_step::Column::Id)
        .all(conn)
        .await?;
    let requests = request::Entity::secure_find(c.id)
        .order_by_asc(request::Column::Id)
        .all(conn)
        .await?;
    let disclosures = super::disclosure::history_of(conn, c.id).await?;
    let notifications = notification::Entity::secure_find(c.id)
        .order_by_asc(notification::Column::Id)
        .all(conn)
        .await?;
    let login = credential::Entity::find_by_id(c.id.0)
        .one(conn)
        .await?
        .map(|l| l.username);
    let access = audit_entry::Entity::find()
        .filter(audit_entry::Column::CandidateId.eq(c.id))
        .order_by_asc(audit_entry::Column::Id)
        .all(conn)
        .await?;
    let mut doc = serde_json::json!({
        "exported_at": chrono::Utc::now(),
        "candidate": candidate_json(&c),
        "username": login,
        "courses": courses.iter().map(|e| serde_json::json!({
            "id": e.id, "status": e.status, "phase": e.phase, "referred_on": e.referred_on,
            "started_on": e.started_on, "ended_on": e.ended_on, "outcome": e.outcome, "resume_on": e.resume_on,
            "first_employer_contact_on": e.first_employer_contact_on,
            "history": history.iter().filter(|h| h.enrollment_id == e.id).map(|h| serde_json::json!({
                "from": h.from_status, "to": h.to_status, "effective_on": h.effective_on,
                "recorded_at": h.recorded_at, "by_role": h.by_role, "reason": h.reason, "request_id": h.request_id,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "goals": goals.iter().map(|g| serde_json::json!({
            "id": g.id, "title": g.title, "description": g.description, "category": g.category,
            "status": g.status, "created_by": g.created_by, "target_date": g.target_date, "created_at": g.created_at,
            "steps": steps.iter().filter(|s| s.goal_id == g.id).map(|s| serde_json::json!({
                "title": s.title, "done": s.done, "done_at": s.done_at, "position": s.position,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "requests": requests.iter().map(|r| serde_json::json!({
            "id": r.id, "kind": r.kind, "status": r.status, "reason": r.reason, "resume_on": r.resume_on,
            "note": r.note, "created_at": r.created_at, "acknowledged_at": r.acknowledged_at, "closed_at": r.closed_at,
        })).collect::<Vec<_>>(),
        "disclosure": disclosures.iter().map(|d| serde_json::json!({"level": d.level, "note": d.note, "at": d.at})).collect::<Vec<_>>(),
        "notifications": notifications.iter().map(|n| serde_json::json!({
            "kind": n.kind, "data": serde_json::from_str::<serde_json::Value>(&n.data).unwrap_or_default(),
            "created_at": n.created_at, "read_at": n.read_at,
        })).collect::<Vec<_>>(),
        "access_log": access.iter().map(|a| serde_json::json!({
            "at": a.at, "role": a.actor_role, "action": a.action, "resource": a.resource,
        })).collect::<Vec<_>>(),
    });
    export_more(conn, c.id, &mut doc).await?;
    Ok(doc)
}

/// The features' own tables: questionnaires, career profiles and appointments.
async fn export_more<C: ConnectionTrait>(
    db: &C,
    candidate_id: CandidateId,
    doc: &mut serde_json::Value,
) -> DomainResult<()> {
    use entity::appointment as ap;
    if let (Some(obj), serde_json::Value::Object(more)) = (
        doc.as_object_mut(),
        super::questionnaires::export(db, candidate_id).await?,
    ) {
        obj.extend(more);
    }
    doc["career_profiles"] = super::career_profiles::export(db, candidate_id).await?;
    let appointments = ap::Entity::secure_find(candidate_id)
        .order_by_asc(ap::Column::Id)
        .all(db)
        .await?;
    doc["appointments"] = appointments
        .iter()
        .map(|a| {
            serde_json::json!({
                "id": a.id, "kind": a.kind, "title": a.title, "starts_at": a.starts_at, "ends_at": a.ends_at,
                "location": a.location, "online_url": a.online_url, "note_for_candidate": a.note_for_candidate,
                "status": a.status, "cancel_reason": a.cancel_reason, "candidate_response": a.candidate_response,
                "response_message": a.response_message,
            })
        })
        .collect();
    doc["job_support_plans"] = super::job_support_plans::export(db, candidate_id).await?;
    doc["network_groups"] = super::network_groups::export(db, candidate_id).await?;
    Ok(())
}

fn candidate_json(c: &candidate::Model) -> serde_json::Value {
    serde_json::json!({
        "id": c.id, "given_name": c.given_name, "family_name": c.family_name, "preferred_name": c.preferred_name,
        "birth_year": c.birth_year, "language": c.language, "email": c.email, "phone": c.phone,
        "target_group": c.target_group, "readiness": c.readiness, "external_ref": c.external_ref,
        "created_at": c.created_at,
    })
}

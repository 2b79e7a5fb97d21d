//! Municipalities, staff and service accounts: the operator's and coordinators' side.
use chrono::Utc;
use entity::{
    ids::{MunicipalityId, ServiceAccountId, StaffId},
    municipality, service_account, staff,
    types::{AuditAction, AuditResource, Role, Scope, Scopes, SessionEnd},
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    DomainError, DomainResult,
    access::Actor,
    events,
    identity::{self, NewInvitation},
    journal::{self, Subject},
    on_unique,
    pagination::PageRequest,
    values::{Email, MunicipalityCode, Phone},
};
use crate::db::Db;

/// A municipality's settings, stored as JSON.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Settings {
    pub min_age: i32,
    pub max_age: i32,
    /// Open courses a consultant may carry; `None` means no hard limit (a warning from 21 on).
    pub caseload_hard_limit: Option<i32>,
    /// Years after a candidate's last course ended before their personal data is erased.
    pub retention_years: i32,
    /// Months the audit log is kept (never fewer than 6). Settings stored before it existed read as 24.
    #[serde(default = "default_audit_retention_months")]
    pub audit_retention_months: i32,
}

fn default_audit_retention_months() -> i32 {
    24
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            min_age: 15,
            max_age: 29,
            caseload_hard_limit: None,
            retention_years: 5,
            audit_retention_months: default_audit_retention_months(),
        }
    }
}

impl Settings {
    pub fn of(m: &municipality::Model) -> Self {
        serde_json::from_str(&m.settings).unwrap_or_default()
    }
}

pub async fn create_municipality(
    db: &Db,
    name: &str,
    code: MunicipalityCode,
    settings: Settings,
) -> DomainResult<municipality::Model> {
    let now = Utc::now();
    let txn = db.begin().await?;
    let m = municipality::ActiveModel {
        id: Set(MunicipalityId::generate()),
        name: Set(name.trim().to_string()),
        code: Set(code.into_inner()),
        settings: Set(
            serde_json::to_string(&settings).map_err(|e| DomainError::Internal(e.to_string()))?
        ),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(|e| on_unique(e, "A municipality with this code exists already."))?;
    events::init_counter(&txn, m.id).await?;
    txn.commit().await?;
    Ok(m)
}

pub async fn list_municipalities(
    db: &Db,
    page: PageRequest,
) -> DomainResult<(Vec<municipality::Model>, Option<String>)> {
    let mut q = municipality::Entity::find().order_by_asc(municipality::Column::Id);
    if let Some(after) = page.after {
        q = q.filter(municipality::Column::Id.gt(after));
    }
    Ok(page.read(q, db.read(), |m| m.id.0).await?)
}

pub async fn get_municipality(db: &Db, id: MunicipalityId) -> DomainResult<municipality::Model> {
    municipality::Entity::find_by_id(id)
        .one(db.read())
        .await?
        .ok_or(DomainError::NotFound)
}

/// A change to a municipality; `None` leaves a field as it is.
pub struct MunicipalityChange {
    pub name: Option<String>,
    pub code: Option<MunicipalityCode>,
    pub settings: Option<Settings>,
}

pub async fn update_municipality(
    db: &Db,
    id: MunicipalityId,
    expected: Option<i32>,
    change: MunicipalityChange,
) -> DomainResult<municipality::Model> {
    let current = get_municipality(db, id).await?;
    let version = current.version;
    let mut am = current.into_active_model();
    if let Some(name) = change.name {
        am.name = Set(name.trim().to_string());
    }
    if let Some(code) = change.code {
        am.code = Set(code.into_inner());
    }
    if let Some(settings) = change.settings {
        am.settings =
            Set(serde_json::to_string(&settings)
                .map_err(|e| DomainError::Internal(e.to_string()))?);
    }
    journal::versioned_update::<municipality::Entity, _>(db.write(), id, version, expected, am)
        .await
        .map_err(|e| match e {
            DomainError::Db(e) => on_unique(e, "A municipality with this code exists already."),
            other => other,
        })
}

/// A new staff member.
pub struct NewStaff {
    pub municipality_id: MunicipalityId,
    pub display_name: String,
    pub email: Email,
    pub phone: Option<Phone>,
    pub role: Role,
}

/// Creates a staff member and their invitation. `within` limits a coordinator to their municipality.
pub async fn create_staff(
    db: &Db,
    within: Option<MunicipalityId>,
    new: NewStaff,
) -> DomainResult<(staff::Model, NewInvitation)> {
    // Another municipality than the coordinator's own, or none at all: out of reach, so 404 (§4.1).
    if within.is_some_and(|m| m != new.municipality_id)
        || municipality::Entity::find_by_id(new.municipality_id)
            .one(db.read())
            .await?
            .is_none()
    {
        return Err(DomainError::NotFound);
    }
    let now = Utc::now();
    let txn = db.begin().await?;
    let s = staff::ActiveModel {
        id: Set(StaffId::generate()),
        municipality_id: Set(Some(new.municipality_id)),
        role: Set(new.role),
        display_name: Set(new.display_name.trim().to_string()),
        email: Set(Some(new.email.into_inner())),
        phone: Set(new.phone.map(Phone::into_inner)),
        active: Set(true),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let invitation = identity::invite(&txn, s.id.0, new.role, Some(new.municipality_id)).await?;
    txn.commit().await?;
    Ok((s, invitation))
}

/// Staff reachable by a manager: an admin sees all non-admin staff, a coordinator their municipality's.
fn staff_scope(within: Option<MunicipalityId>) -> Condition {
    let base = Condition::all().add(staff::Column::Role.ne(Role::Admin));
    match within {
        Some(m) => base.add(staff::Column::MunicipalityId.eq(m)),
        None => base,
    }
}

pub async fn list_staff(
    db: &Db,
    within: Option<MunicipalityId>,
    municipality_id: Option<MunicipalityId>,
    page: PageRequest,
) -> DomainResult<(Vec<staff::Model>, Option<String>)> {
    let mut q = staff::Entity::find()
        .filter(staff_scope(within))
        .order_by_asc(staff::Column::Id);
    if let Some(m) = municipality_id {
        q = q.filter(staff::Column::MunicipalityId.eq(m));
    }
    if let Some(after) = page.after {
        q = q.filter(staff::Column::Id.gt(after));
    }
    Ok(page.read(q, db.read(), |s| s.id.0).await?)
}

pub async fn get_staff(
    db: &Db,
    within: Option<MunicipalityId>,
    id: StaffId,
) -> DomainResult<staff::Model> {
    staff::Entity::find_by_id(id)
        .filter(staff_scope(within))
        .one(db.read())
        .await?
        .ok_or(DomainError::NotFound)
}

/// A change to a staff member; `phone: Some(None)` clears it.
pub struct StaffChange {
    pub display_name: Option<String>,
    pub email: Option<Email>,
    pub phone: Option<Option<Phone>>,
    pub role: Option<Role>,
    pub active: Option<bool>,
}

/// Changes a staff member. A role change voids any invitation not yet accepted (the role a login gets
/// comes from the record anyway) and, like a deactivation, ends the member's sessions; both are audited.
pub async fn update_staff(
    db: &Db,
    within: Option<MunicipalityId>,
    actor: Actor,
    id: StaffId,
    expected: Option<i32>,
    change: StaffChange,
) -> DomainResult<staff::Model> {
    let current = get_staff(db, within, id).await?;
    let version = current.version;
    let deactivating = change.active == Some(false) && current.active;
    let activity_change = change.active.filter(|a| *a != current.active);
    let role_change = change.role.filter(|r| *r != current.role);
    let mut am = current.into_active_model();
    if let Some(v) = change.display_name {
        am.display_name = Set(v.trim().to_string());
    }
    if let Some(v) = change.email {
        am.email = Set(Some(v.into_inner()));
    }
    if let Some(v) = change.phone {
        am.phone = Set(v.map(Phone::into_inner));
    }
    if let Some(r) = change.role {
        am.role = Set(r);
    }
    if let Some(a) = change.active {
        am.active = Set(a);
    }
    let txn = db.begin().await?;
    let updated =
        journal::versioned_update::<staff::Entity, _>(&txn, id, version, expected, am).await?;
    if let Some(role) = role_change {
        use entity::{credential, invitation};
        credential::Entity::update_many()
            .col_expr(
                credential::Column::Role,
                sea_orm::sea_query::Expr::value(role),
            )
            .filter(credential::Column::PrincipalId.eq(id.0))
            .exec(&txn)
            .await?;
        invitation::Entity::update_many()
            .col_expr(
                invitation::Column::UsedAt,
                sea_orm::sea_query::Expr::value(Utc::now()),
            )
            .filter(invitation::Column::PrincipalId.eq(id.0))
            .filter(invitation::Column::UsedAt.is_null())
            .exec(&txn)
            .await?;
        let subject = staff_subject(&updated, AuditResource::StaffRole)?;
        journal::record(&txn, actor, &subject, None, AuditAction::Update).await?;
    }
    if activity_change.is_some() {
        let subject = staff_subject(&updated, AuditResource::StaffActive)?;
        journal::record(&txn, actor, &subject, None, AuditAction::Update).await?;
    }
    if deactivating || role_change.is_some() {
        // Tokens carry the role; a changed or deactivated account must log in again.
        identity::revoke_all(
            &txn,
            id.0,
            if deactivating {
                SessionEnd::Deactivated
            } else {
                SessionEnd::RoleChanged
            },
        )
        .await?;
    }
    txn.commit().await?;
    Ok(updated)
}

/// A new invitation for a staff member (a lost login, or one voided by a role change): the old
/// invitation and login stop working, and their sessions end.
pub async fn reinvite_staff(
    db: &Db,
    within: Option<MunicipalityId>,
    actor: Actor,
    id: StaffId,
) -> DomainResult<NewInvitation> {
    let member = get_staff(db, within, id).await?;
    if !member.active {
        return Err(DomainError::Conflict(
            "This staff member is deactivated. Activate them first (`active: true`).".into(),
        ));
    }
    let txn = db.begin().await?;
    let invitation = identity::invite(&txn, id.0, member.role, member.municipality_id).await?;
    let subject = staff_subject(&member, AuditResource::StaffInvitation)?;
    journal::record(&txn, actor, &subject, None, AuditAction::Create).await?;
    txn.commit().await?;
    Ok(invitation)
}

/// A staff member as the subject of an audit entry (staff reachable by managers always belong to a
/// municipality).
fn staff_subject(member: &staff::Model, resource: AuditResource) -> DomainResult<Subject> {
    let municipality_id = member
        .municipality_id
        .ok_or_else(|| DomainError::Internal(format!("staff {} has no municipality", member.id)))?;
    Ok(Subject::municipal(
        municipality_id,
        resource,
        Some(member.id.0),
    ))
}

pub async fn create_service_account(
    db: &Db,
    municipality_id: MunicipalityId,
    name: &str,
    scopes: &[Scope],
) -> DomainResult<(service_account::Model, String)> {
    if municipality::Entity::find_by_id(municipality_id)
        .one(db.read())
        .await?
        .is_none()
    {
        return Err(DomainError::NotFound);
    }
    let (secret, hash) = identity::new_client_secret();
    let sa = service_account::ActiveModel {
        id: Set(ServiceAccountId::generate()),
        municipality_id: Set(municipality_id),
        name: Set(name.trim().to_string()),
        client_id: Set(format!("ips_{}", Uuid::now_v7().simple())),
        secret_hash: Set(hash),
        scopes: Set(Scopes::new(scopes.to_vec())),
        created_at: Set(Utc::now()),
        deleted_at: Set(None),
    }
    .insert(db.write())
    .await?;
    Ok((sa, secret))
}

fn service_scope(within: Option<MunicipalityId>) -> Condition {
    let base = Condition::all().add(service_account::Column::DeletedAt.is_null());
    match within {
        Some(m) => base.add(service_account::Column::MunicipalityId.eq(m)),
        None => base,
    }
}

pub async fn list_service_accounts(
    db: &Db,
    within: Option<MunicipalityId>,
    page: PageRequest,
) -> DomainResult<(Vec<service_account::Model>, Option<String>)> {
    let mut q = service_account::Entity::find()
        .filter(service_scope(within))
        .order_by_asc(service_account::Column::Id);
    if let Some(after) = page.after {
        q = q.filter(service_account::Column::Id.gt(after));
    }
    Ok(page.read(q, db.read(), |s| s.id.0).await?)
}

pub async fn delete_service_account(
    db: &Db,
    within: Option<MunicipalityId>,
    id: ServiceAccountId,
) -> DomainResult<()> {
    let res = service_account::Entity::update_many()
        .col_expr(
            service_account::Column::DeletedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(service_account::Column::Id.eq(id))
        .filter(service_scope(within))
        .exec(db.write())
        .await?;
    if res.rows_affected == 0 {
        return Err(DomainError::NotFound);
    }
    Ok(())
}

/// What `/me` tells a principal about themselves beside their token's claims.
pub struct Profile {
    /// The name to greet them with.
    pub display_name: String,
    /// A candidate's language (`da` or `en`); `None` for everyone else.
    pub language: Option<entity::types::Language>,
}

/// The profile of a principal for `/me`.
pub async fn profile(db: &Db, id: Uuid, role: Role) -> DomainResult<Profile> {
    match role {
        Role::Candidate => {
            let c = entity::candidate::Entity::find_by_id(entity::ids::CandidateId(id))
                .filter(entity::candidate::Column::ErasedAt.is_null())
                .one(db.read())
                .await?
                .ok_or(DomainError::NotFound)?;
            Ok(Profile {
                display_name: c.preferred_name.unwrap_or(c.given_name),
                language: Some(c.language),
            })
        }
        Role::Service => {
            let s = service_account::Entity::find_by_id(ServiceAccountId(id))
                .one(db.read())
                .await?
                .ok_or(DomainError::NotFound)?;
            Ok(Profile {
                display_name: s.name,
                language: None,
            })
        }
        _ => Ok(Profile {
            display_name: staff::Entity::find_by_id(StaffId(id))
                .one(db.read())
                .await?
                .ok_or(DomainError::NotFound)?
                .display_name,
            language: None,
        }),
    }
}

/// Creates an admin with a login (the CLI's `create-admin`).
pub async fn create_admin(
    db: &Db,
    hashed: String,
    username: &str,
    email: Option<String>,
) -> DomainResult<StaffId> {
    let now = Utc::now();
    let id = StaffId::generate();
    let txn = db.begin().await?;
    staff::ActiveModel {
        id: Set(id),
        municipality_id: Set(None),
        role: Set(Role::Admin),
        display_name: Set(username.to_string()),
        email: Set(email),
        phone: Set(None),
        active: Set(true),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    identity::set_login(&txn, hashed, id.0, username, Role::Admin, None).await?;
    txn.commit().await?;
    Ok(id)
}

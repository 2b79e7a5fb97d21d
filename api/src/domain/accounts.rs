//! Municipalities, staff and service accounts: the operator's and coordinators' side.
use chrono::Utc;
use entity::{municipality, service_account, staff};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    DomainError, DomainResult, events,
    identity::{self, NewInvitation},
    on_unique,
    pagination::PageRequest,
};
use crate::{auth::Role, db::Db};

/// A municipality's settings, stored as JSON.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Settings {
    pub min_age: i32,
    pub max_age: i32,
    /// Open courses a consultant may carry; `None` means no hard limit (a warning from 21 on).
    pub caseload_hard_limit: Option<i32>,
    pub retention_years: i32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            min_age: 15,
            max_age: 29,
            caseload_hard_limit: None,
            retention_years: 5,
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
    code: &str,
    settings: Settings,
) -> DomainResult<municipality::Model> {
    let now = Utc::now();
    let txn = db.begin().await?;
    let m = municipality::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name.trim().to_string()),
        code: Set(code.to_string()),
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
    let mut q = municipality::Entity::find()
        .order_by_asc(municipality::Column::Id)
        .limit(page.fetch());
    if let Some(after) = page.after {
        q = q.filter(municipality::Column::Id.gt(after));
    }
    Ok(page.finish(q.all(db.read()).await?, |m| m.id))
}

pub async fn get_municipality(db: &Db, id: Uuid) -> DomainResult<municipality::Model> {
    municipality::Entity::find_by_id(id)
        .one(db.read())
        .await?
        .ok_or(DomainError::NotFound)
}

/// A change to a municipality; `None` leaves a field as it is.
pub struct MunicipalityChange {
    pub name: Option<String>,
    pub code: Option<String>,
    pub settings: Option<Settings>,
}

pub async fn update_municipality(
    db: &Db,
    id: Uuid,
    expected: Option<i32>,
    change: MunicipalityChange,
) -> DomainResult<municipality::Model> {
    let current = get_municipality(db, id).await?;
    if expected.is_some_and(|v| v != current.version) {
        return Err(DomainError::Stale);
    }
    let version = current.version;
    let mut am = current.into_active_model();
    if let Some(name) = change.name {
        am.name = Set(name.trim().to_string());
    }
    if let Some(code) = change.code {
        am.code = Set(code);
    }
    if let Some(settings) = change.settings {
        am.settings =
            Set(serde_json::to_string(&settings)
                .map_err(|e| DomainError::Internal(e.to_string()))?);
    }
    am.version = Set(version + 1);
    am.updated_at = Set(Utc::now());
    let res = municipality::Entity::update_many()
        .set(am)
        .filter(municipality::Column::Id.eq(id))
        .filter(municipality::Column::Version.eq(version))
        .exec_with_returning(db.write())
        .await
        .map_err(|e| on_unique(e, "A municipality with this code exists already."))?;
    res.into_iter().next().ok_or(DomainError::Stale)
}

/// A new staff member.
pub struct NewStaff {
    pub municipality_id: Uuid,
    pub display_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub role: Role,
}

/// Creates a staff member and their invitation. `within` limits a coordinator to their municipality.
pub async fn create_staff(
    db: &Db,
    within: Option<Uuid>,
    new: NewStaff,
) -> DomainResult<(staff::Model, NewInvitation)> {
    if within.is_some_and(|m| m != new.municipality_id) {
        return Err(DomainError::field(
            "municipality_id",
            "invalid_value",
            "must be your own municipality",
        ));
    }
    if municipality::Entity::find_by_id(new.municipality_id)
        .one(db.read())
        .await?
        .is_none()
    {
        return Err(DomainError::field(
            "municipality_id",
            "invalid_value",
            "no such municipality",
        ));
    }
    let now = Utc::now();
    let txn = db.begin().await?;
    let s = staff::ActiveModel {
        id: Set(Uuid::now_v7()),
        municipality_id: Set(Some(new.municipality_id)),
        role: Set(new.role.as_str().to_string()),
        display_name: Set(new.display_name.trim().to_string()),
        email: Set(Some(new.email.trim().to_string())),
        phone: Set(new.phone),
        active: Set(true),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let invitation = identity::invite(&txn, s.id, new.role, Some(new.municipality_id)).await?;
    txn.commit().await?;
    Ok((s, invitation))
}

/// Staff reachable by a manager: an admin sees all non-admin staff, a coordinator their municipality's.
fn staff_scope(within: Option<Uuid>) -> Condition {
    let base = Condition::all().add(staff::Column::Role.ne("admin"));
    match within {
        Some(m) => base.add(staff::Column::MunicipalityId.eq(m)),
        None => base,
    }
}

pub async fn list_staff(
    db: &Db,
    within: Option<Uuid>,
    municipality_id: Option<Uuid>,
    page: PageRequest,
) -> DomainResult<(Vec<staff::Model>, Option<String>)> {
    let mut q = staff::Entity::find()
        .filter(staff_scope(within))
        .order_by_asc(staff::Column::Id)
        .limit(page.fetch());
    if let Some(m) = municipality_id {
        q = q.filter(staff::Column::MunicipalityId.eq(m));
    }
    if let Some(after) = page.after {
        q = q.filter(staff::Column::Id.gt(after));
    }
    Ok(page.finish(q.all(db.read()).await?, |s| s.id))
}

pub async fn get_staff(db: &Db, within: Option<Uuid>, id: Uuid) -> DomainResult<staff::Model> {
    staff::Entity::find_by_id(id)
        .filter(staff_scope(within))
        .one(db.read())
        .await?
        .ok_or(DomainError::NotFound)
}

/// A change to a staff member; `phone: Some(None)` clears it.
pub struct StaffChange {
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<Option<String>>,
    pub role: Option<Role>,
    pub active: Option<bool>,
}

pub async fn update_staff(
    db: &Db,
    within: Option<Uuid>,
    id: Uuid,
    expected: Option<i32>,
    change: StaffChange,
) -> DomainResult<staff::Model> {
    let current = get_staff(db, within, id).await?;
    if expected.is_some_and(|v| v != current.version) {
        return Err(DomainError::Stale);
    }
    let version = current.version;
    let deactivating = change.active == Some(false) && current.active;
    let role_change = change.role.filter(|r| r.as_str() != current.role);
    let mut am = current.into_active_model();
    if let Some(v) = change.display_name {
        am.display_name = Set(v.trim().to_string());
    }
    if let Some(v) = change.email {
        am.email = Set(Some(v.trim().to_string()));
    }
    if let Some(v) = change.phone {
        am.phone = Set(v);
    }
    if let Some(r) = change.role {
        am.role = Set(r.as_str().to_string());
    }
    if let Some(a) = change.active {
        am.active = Set(a);
    }
    am.version = Set(version + 1);
    am.updated_at = Set(Utc::now());
    let txn = db.begin().await?;
    let updated = staff::Entity::update_many()
        .set(am)
        .filter(staff::Column::Id.eq(id))
        .filter(staff::Column::Version.eq(version))
        .exec_with_returning(&txn)
        .await?
        .into_iter()
        .next()
        .ok_or(DomainError::Stale)?;
    if let Some(role) = role_change {
        use entity::credential;
        credential::Entity::update_many()
            .col_expr(
                credential::Column::Role,
                sea_orm::sea_query::Expr::value(role.as_str()),
            )
            .filter(credential::Column::PrincipalId.eq(id))
            .exec(&txn)
            .await?;
    }
    if deactivating || role_change.is_some() {
        // Tokens carry the role; a changed or deactivated account must log in again.
        identity::revoke_all(
            &txn,
            id,
            if deactivating {
                "deactivated"
            } else {
                "role_changed"
            },
        )
        .await?;
    }
    txn.commit().await?;
    Ok(updated)
}

pub async fn create_service_account(
    db: &Db,
    municipality_id: Uuid,
    name: &str,
    scopes: &[crate::auth::Scope],
) -> DomainResult<(service_account::Model, String)> {
    if municipality::Entity::find_by_id(municipality_id)
        .one(db.read())
        .await?
        .is_none()
    {
        return Err(DomainError::field(
            "municipality_id",
            "invalid_value",
            "no such municipality",
        ));
    }
    let (secret, hash) = identity::new_client_secret();
    let mut scope_names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    scope_names.sort_unstable();
    scope_names.dedup();
    let sa = service_account::ActiveModel {
        id: Set(Uuid::now_v7()),
        municipality_id: Set(municipality_id),
        name: Set(name.trim().to_string()),
        client_id: Set(format!("ips_{}", Uuid::now_v7().simple())),
        secret_hash: Set(hash),
        scopes: Set(scope_names.join(" ")),
        created_at: Set(Utc::now()),
        deleted_at: Set(None),
    }
    .insert(db.write())
    .await?;
    Ok((sa, secret))
}

fn service_scope(within: Option<Uuid>) -> Condition {
    let base = Condition::all().add(service_account::Column::DeletedAt.is_null());
    match within {
        Some(m) => base.add(service_account::Column::MunicipalityId.eq(m)),
        None => base,
    }
}

pub async fn list_service_accounts(
    db: &Db,
    within: Option<Uuid>,
    page: PageRequest,
) -> DomainResult<(Vec<service_account::Model>, Option<String>)> {
    let mut q = service_account::Entity::find()
        .filter(service_scope(within))
        .order_by_asc(service_account::Column::Id)
        .limit(page.fetch());
    if let Some(after) = page.after {
        q = q.filter(service_account::Column::Id.gt(after));
    }
    Ok(page.finish(q.all(db.read()).await?, |s| s.id))
}

pub async fn delete_service_account(db: &Db, within: Option<Uuid>, id: Uuid) -> DomainResult<()> {
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

/// The display name of a principal for `/me`.
pub async fn display_name(db: &Db, id: Uuid, role: Role) -> DomainResult<String> {
    match role {
        Role::Candidate => {
            let c = entity::candidate::Entity::find_by_id(id)
                .one(db.read())
                .await?
                .ok_or(DomainError::NotFound)?;
            Ok(c.preferred_name.unwrap_or(c.given_name))
        }
        Role::Service => {
            let s = service_account::Entity::find_by_id(id)
                .one(db.read())
                .await?
                .ok_or(DomainError::NotFound)?;
            Ok(s.name)
        }
        _ => Ok(staff::Entity::find_by_id(id)
            .one(db.read())
            .await?
            .ok_or(DomainError::NotFound)?
            .display_name),
    }
}

/// Creates an admin with a login (the CLI's `create-admin`).
pub async fn create_admin(
    db: &Db,
    hashed: String,
    username: &str,
    email: Option<String>,
) -> DomainResult<Uuid> {
    let now = Utc::now();
    let id = Uuid::now_v7();
    let txn = db.begin().await?;
    staff::ActiveModel {
        id: Set(id),
        municipality_id: Set(None),
        role: Set("admin".into()),
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
    identity::set_login(&txn, hashed, id, username, Role::Admin, None).await?;
    txn.commit().await?;
    Ok(id)
}

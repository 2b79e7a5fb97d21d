//! `/me`, `/municipalities`, `/staff`, `/service-accounts`.
use chrono::{DateTime, Utc};
use entity::{municipality, service_account, staff};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Header, Path, Query},
    payload::Json,
    types::MaybeUndefined,
};
use uuid::Uuid;

use super::{
    Tag,
    common::{check_email, check_phone, etag, if_match},
};
use crate::{
    auth::{BearerAuth, Role, Scope},
    body::Body,
    domain::{
        accounts::{self, MunicipalityChange, NewStaff, Settings, StaffChange},
        pagination::PageRequest,
    },
    error::{ApiError, ApiResult},
    state::AppState,
    versioned_response,
};

/// The caller.
#[derive(Object, Debug)]
pub struct Me {
    /// The principal's id; for a candidate, the candidate's id.
    pub id: Uuid,
    /// The caller's role.
    pub role: Role,
    /// The caller's municipality; absent for admins.
    #[oai(skip_serializing_if_is_none)]
    pub municipality_id: Option<Uuid>,
    /// The name to greet the caller with.
    pub display_name: String,
    /// The scopes of a service account's token.
    #[oai(default, skip_serializing_if_is_empty)]
    pub scopes: Vec<Scope>,
}

/// A municipality's settings.
#[derive(Object, Debug, Clone)]
#[oai(deny_unknown_fields)]
pub struct MunicipalitySettings {
    /// Youngest age at the start of a course.
    #[oai(validator(minimum(value = "0"), maximum(value = "120")))]
    pub min_age: i32,
    /// Oldest age at the start of a course.
    #[oai(validator(minimum(value = "0"), maximum(value = "120")))]
    pub max_age: i32,
    /// Open courses a consultant may carry; `null` or absent means no hard limit (a warning from the 21st on).
    #[oai(nullable, validator(minimum(value = "1"), maximum(value = "1000")))]
    pub caseload_hard_limit: Option<i32>,
    /// Years after a course ended before its personal data is erased.
    #[oai(validator(minimum(value = "1"), maximum(value = "50")))]
    pub retention_years: i32,
}

impl From<Settings> for MunicipalitySettings {
    fn from(s: Settings) -> Self {
        Self {
            min_age: s.min_age,
            max_age: s.max_age,
            caseload_hard_limit: s.caseload_hard_limit,
            retention_years: s.retention_years,
        }
    }
}

impl MunicipalitySettings {
    fn into_domain(self) -> ApiResult<Settings> {
        if self.min_age > self.max_age {
            return Err(ApiError::field(
                "settings.min_age",
                "invalid_value",
                "must not be above max_age",
            ));
        }
        Ok(Settings {
            min_age: self.min_age,
            max_age: self.max_age,
            caseload_hard_limit: self.caseload_hard_limit,
            retention_years: self.retention_years,
        })
    }
}

/// A municipality: the tenant.
#[derive(Object, Debug)]
pub struct Municipality {
    /// Id.
    pub id: Uuid,
    /// Name, e.g. "Aarhus Kommune".
    pub name: String,
    /// The 3-digit municipality number.
    pub code: String,
    /// Settings.
    pub settings: MunicipalitySettings,
    /// Version, for `If-Match`.
    pub version: i32,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<municipality::Model> for Municipality {
    fn from(m: municipality::Model) -> Self {
        let settings = Settings::of(&m).into();
        Self {
            id: m.id,
            name: m.name,
            code: m.code,
            settings,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// A new municipality.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct MunicipalityCreate {
    /// Name.
    #[oai(validator(min_length = 1, max_length = 200))]
    pub name: String,
    /// The 3-digit municipality number; unique.
    #[oai(validator(pattern = "^[0-9]{3}$"))]
    pub code: String,
    /// Settings; defaults: ages 15–29, no hard caseload limit, 5 years retention.
    pub settings: Option<MunicipalitySettings>,
}

/// A change to a municipality; absent fields stay as they are.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct MunicipalityPatch {
    /// Name.
    #[oai(validator(min_length = 1, max_length = 200))]
    pub name: Option<String>,
    /// The 3-digit municipality number.
    #[oai(validator(pattern = "^[0-9]{3}$"))]
    pub code: Option<String>,
    /// All settings at once.
    pub settings: Option<MunicipalitySettings>,
}

/// A page of municipalities.
#[derive(Object, Debug)]
pub struct MunicipalityList {
    /// The municipalities, oldest first.
    pub items: Vec<Municipality>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

/// A staff role.
#[derive(poem_openapi::Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum StaffRole {
    /// An IPS consultant with a caseload.
    Consultant,
    /// A team lead: the whole municipality.
    Coordinator,
}

impl From<StaffRole> for Role {
    fn from(r: StaffRole) -> Self {
        match r {
            StaffRole::Consultant => Role::Consultant,
            StaffRole::Coordinator => Role::Coordinator,
        }
    }
}

/// A staff member.
#[derive(Object, Debug)]
pub struct StaffMember {
    /// Id.
    pub id: Uuid,
    /// Municipality.
    pub municipality_id: Uuid,
    /// Name shown to candidates and colleagues.
    pub display_name: String,
    /// Work e-mail.
    #[oai(nullable)]
    pub email: Option<String>,
    /// Work phone.
    #[oai(nullable)]
    pub phone: Option<String>,
    /// Role.
    pub role: StaffRole,
    /// False when deactivated: cannot log in, sessions ended.
    pub active: bool,
    /// Version, for `If-Match`.
    pub version: i32,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<staff::Model> for StaffMember {
    fn from(s: staff::Model) -> Self {
        Self {
            id: s.id,
            municipality_id: s.municipality_id.unwrap_or_default(),
            display_name: s.display_name,
            email: s.email,
            phone: s.phone,
            role: if s.role == "coordinator" {
                StaffRole::Coordinator
            } else {
                StaffRole::Consultant
            },
            active: s.active,
            version: s.version,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// A one-time invitation code with which a person chooses their username and password.
#[derive(Object, Debug)]
pub struct Invitation {
    /// The code; give it to the person. It is shown only now.
    pub code: String,
    /// When it stops working (7 days).
    pub expires_at: DateTime<Utc>,
}

impl From<crate::domain::identity::NewInvitation> for Invitation {
    fn from(i: crate::domain::identity::NewInvitation) -> Self {
        Self {
            code: i.code,
            expires_at: i.expires_at,
        }
    }
}

/// A new staff member.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct StaffCreate {
    /// Municipality; a coordinator can only give their own.
    pub municipality_id: Uuid,
    /// Name shown to candidates and colleagues.
    #[oai(validator(min_length = 1, max_length = 200))]
    pub display_name: String,
    /// Work e-mail.
    #[oai(validator(max_length = 254))]
    pub email: String,
    /// Work phone.
    #[oai(validator(min_length = 3, max_length = 32))]
    pub phone: Option<String>,
    /// Role.
    pub role: StaffRole,
}

/// The new staff member and their invitation.
#[derive(Object, Debug)]
pub struct StaffCreated {
    /// The staff member.
    pub staff: StaffMember,
    /// Their invitation.
    pub invitation: Invitation,
}

/// A change to a staff member; absent fields stay as they are, `phone: null` clears it.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct StaffPatch {
    /// Name.
    #[oai(validator(min_length = 1, max_length = 200))]
    pub display_name: Option<String>,
    /// Work e-mail.
    #[oai(validator(max_length = 254))]
    pub email: Option<String>,
    /// Work phone; `null` clears it.
    #[oai(nullable, validator(min_length = 3, max_length = 32))]
    pub phone: MaybeUndefined<String>,
    /// Role; a change ends the member's sessions.
    pub role: Option<StaffRole>,
    /// `false` deactivates: no login, every session ended.
    pub active: Option<bool>,
}

/// A page of staff.
#[derive(Object, Debug)]
pub struct StaffList {
    /// Staff, oldest first.
    pub items: Vec<StaffMember>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

/// A service account (a municipal system). The secret is never shown again after creation.
#[derive(Object, Debug)]
pub struct ServiceAccount {
    /// Id.
    pub id: Uuid,
    /// Municipality.
    pub municipality_id: Uuid,
    /// What it is for.
    pub name: String,
    /// The client id for `POST /oauth/token`.
    pub client_id: String,
    /// Scopes it holds.
    pub scopes: Vec<Scope>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl From<service_account::Model> for ServiceAccount {
    fn from(s: service_account::Model) -> Self {
        Self {
            id: s.id,
            municipality_id: s.municipality_id,
            name: s.name,
            client_id: s.client_id,
            scopes: s
                .scopes
                .split_whitespace()
                .filter_map(Scope::parse)
                .collect(),
            created_at: s.created_at,
        }
    }
}

/// A new service account.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct ServiceAccountCreate {
    /// What it is for.
    #[oai(validator(min_length = 1, max_length = 200))]
    pub name: String,
    /// Scopes to grant.
    #[oai(validator(min_items = 1, max_items = 4))]
    pub scopes: Vec<Scope>,
    /// Municipality; required for an admin, a coordinator's own otherwise.
    pub municipality_id: Option<Uuid>,
}

/// The new service account with its secret, shown once.
#[derive(Object, Debug)]
pub struct ServiceAccountCreated {
    /// Id.
    pub id: Uuid,
    /// The client id (HTTP Basic username at `POST /oauth/token`).
    pub client_id: String,
    /// The client secret (HTTP Basic password). Store it now: it is not shown again.
    pub client_secret: String,
    /// The account.
    pub account: ServiceAccount,
}

/// A page of service accounts.
#[derive(Object, Debug)]
pub struct ServiceAccountList {
    /// Accounts, oldest first.
    pub items: Vec<ServiceAccount>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

versioned_response!(MunicipalityResponse, Municipality, "municipality");
versioned_response!(StaffResponse, StaffMember, "staff member");

#[derive(ApiResponse, Debug)]
pub enum StaffCreatedResponse {
    /// Created; `invitation.code` is shown only now.
    #[oai(status = 201)]
    Created(
        Json<StaffCreated>,
        #[oai(header = "ETag")] String,
        #[oai(header = "Location")] String,
    ),
}

#[derive(ApiResponse, Debug)]
pub enum ServiceAccountCreatedResponse {
    /// Created; `client_secret` is shown only now.
    #[oai(status = 201)]
    Created(
        Json<ServiceAccountCreated>,
        #[oai(header = "Location")] String,
    ),
}

#[derive(ApiResponse, Debug)]
pub enum Deleted {
    /// Deleted; its tokens stop working within seconds.
    #[oai(status = 204)]
    Done,
}

pub struct AccountsApi;

#[OpenApi(tag = "Tag::Accounts")]
impl AccountsApi {
    /// Who am I
    ///
    /// The caller's id, role, municipality and name. Any principal.
    #[oai(path = "/me", method = "get", operation_id = "getMe")]
    async fn me(&self, state: Data<&AppState>, auth: BearerAuth) -> ApiResult<Json<Me>> {
        let c = auth.0;
        let display_name = accounts::display_name(&state.db, c.id, c.role).await?;
        Ok(Json(Me {
            id: c.id,
            role: c.role,
            municipality_id: c.municipality_id,
            display_name,
            scopes: c.scopes,
        }))
    }

    /// List municipalities
    ///
    /// Admin only.
    #[oai(
        path = "/municipalities",
        method = "get",
        operation_id = "listMunicipalities"
    )]
    async fn list_municipalities(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// Page size, 1–200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        #[oai(validator(max_length = 100))]
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<MunicipalityList>> {
        auth.0.admin()?;
        let page = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let (items, next_cursor) = accounts::list_municipalities(&state.db, page).await?;
        Ok(Json(MunicipalityList {
            items: items.into_iter().map(Into::into).collect(),
            next_cursor,
        }))
    }

    /// Create a municipality
    ///
    /// Admin only. `code` is the 3-digit municipality number and must be unique.
    #[oai(
        path = "/municipalities",
        method = "post",
        operation_id = "createMunicipality"
    )]
    async fn create_municipality(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Body<MunicipalityCreate>,
    ) -> ApiResult<MunicipalityResponse> {
        auth.0.admin()?;
        let b = body.0;
        let settings = b
            .settings
            .map(MunicipalitySettings::into_domain)
            .transpose()?
            .unwrap_or_default();
        let m = accounts::create_municipality(&state.db, &b.name, &b.code, settings).await?;
        let (tag, location) = (etag(m.version), format!("/api/v1/municipalities/{}", m.id));
        Ok(MunicipalityResponse::Created(Json(m.into()), tag, location))
    }

    /// Get a municipality
    ///
    /// Admin only.
    #[oai(
        path = "/municipalities/:id",
        method = "get",
        operation_id = "getMunicipality"
    )]
    async fn get_municipality(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> ApiResult<MunicipalityResponse> {
        auth.0.admin()?;
        let m = accounts::get_municipality(&state.db, id.0).await?;
        let tag = etag(m.version);
        Ok(MunicipalityResponse::Ok(Json(m.into()), tag))
    }

    /// Change a municipality
    ///
    /// Admin only. Absent fields stay as they are; `If-Match` with the ETag guards against lost updates.
    #[oai(
        path = "/municipalities/:id",
        method = "patch",
        operation_id = "updateMunicipality"
    )]
    async fn update_municipality(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        /// The ETag you read; a stale one is refused with 412.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<String>>,
        body: Body<MunicipalityPatch>,
    ) -> ApiResult<MunicipalityResponse> {
        auth.0.admin()?;
        let expected = if_match(if_match_header.0.as_deref())?;
        let b = body.0;
        let change = MunicipalityChange {
            name: b.name,
            code: b.code,
            settings: b
                .settings
                .map(MunicipalitySettings::into_domain)
                .transpose()?,
        };
        let m = accounts::update_municipality(&state.db, id.0, expected, change).await?;
        let tag = etag(m.version);
        Ok(MunicipalityResponse::Ok(Json(m.into()), tag))
    }

    /// List staff
    ///
    /// Admin (every municipality; filter with `municipality_id`) or coordinator (their own).
    #[oai(path = "/staff", method = "get", operation_id = "listStaff")]
    async fn list_staff(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// Only staff of this municipality.
        municipality_id: Query<Option<Uuid>>,
        /// Page size, 1–200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        #[oai(validator(max_length = 100))]
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<StaffList>> {
        let within = auth.0.staff_manager()?;
        let page = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let (items, next_cursor) =
            accounts::list_staff(&state.db, within, municipality_id.0, page).await?;
        Ok(Json(StaffList {
            items: items.into_iter().map(Into::into).collect(),
            next_cursor,
        }))
    }

    /// Create a staff member
    ///
    /// Admin or coordinator (own municipality). Returns a one-time invitation like a candidate's: the
    /// person chooses their username and password with it at `POST /auth/invitations/{code}/accept`.
    #[oai(path = "/staff", method = "post", operation_id = "createStaff")]
    async fn create_staff(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Body<StaffCreate>,
    ) -> ApiResult<StaffCreatedResponse> {
        let within = auth.0.staff_manager()?;
        let b = body.0;
        let new = NewStaff {
            municipality_id: b.municipality_id,
            display_name: b.display_name,
            email: check_email("email", b.email)?,
            phone: b.phone.map(|p| check_phone("phone", p)).transpose()?,
            role: b.role.into(),
        };
        let (s, inv) = accounts::create_staff(&state.db, within, new).await?;
        let (tag, location) = (etag(s.version), format!("/api/v1/staff/{}", s.id));
        Ok(StaffCreatedResponse::Created(
            Json(StaffCreated {
                staff: s.into(),
                invitation: inv.into(),
            }),
            tag,
            location,
        ))
    }

    /// Get a staff member
    ///
    /// Admin or coordinator (own municipality).
    #[oai(path = "/staff/:id", method = "get", operation_id = "getStaff")]
    async fn get_staff(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> ApiResult<StaffResponse> {
        let within = auth.0.staff_manager()?;
        let s = accounts::get_staff(&state.db, within, id.0).await?;
        let tag = etag(s.version);
        Ok(StaffResponse::Ok(Json(s.into()), tag))
    }

    /// Change a staff member
    ///
    /// Admin or coordinator (own municipality). Deactivating (`active: false`) or changing the role ends
    /// the member's sessions everywhere within seconds.
    #[oai(path = "/staff/:id", method = "patch", operation_id = "updateStaff")]
    async fn update_staff(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        /// The ETag you read; a stale one is refused with 412.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<String>>,
        body: Body<StaffPatch>,
    ) -> ApiResult<StaffResponse> {
        let within = auth.0.staff_manager()?;
        let expected = if_match(if_match_header.0.as_deref())?;
        let b = body.0;
        let change = StaffChange {
            display_name: b.display_name,
            email: b.email.map(|e| check_email("email", e)).transpose()?,
            phone: b
                .phone
                .map_value(|v| check_phone("phone", v))
                .transpose()?
                .into(),
            role: b.role.map(Into::into),
            active: b.active,
        };
        if id.0 == auth.0.id && (change.active == Some(false) || change.role.is_some()) {
            return Err(ApiError::conflict(
                "You cannot deactivate yourself or change your own role.",
            ));
        }
        let s = accounts::update_staff(&state.db, within, id.0, expected, change).await?;
        state.sessions.forget_all();
        let tag = etag(s.version);
        Ok(StaffResponse::Ok(Json(s.into()), tag))
    }

    /// List service accounts
    ///
    /// Admin (all) or coordinator (own municipality). Secrets are never listed.
    #[oai(
        path = "/service-accounts",
        method = "get",
        operation_id = "listServiceAccounts"
    )]
    async fn list_service_accounts(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// Page size, 1–200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        #[oai(validator(max_length = 100))]
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<ServiceAccountList>> {
        let within = auth.0.staff_manager()?;
        let page = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let (items, next_cursor) = accounts::list_service_accounts(&state.db, within, page).await?;
        Ok(Json(ServiceAccountList {
            items: items.into_iter().map(Into::into).collect(),
            next_cursor,
        }))
    }

    /// Create a service account
    ///
    /// Admin (give `municipality_id`) or coordinator (own municipality). The answer carries the client
    /// secret once; exchange id and secret at `POST /oauth/token`.
    #[oai(
        path = "/service-accounts",
        method = "post",
        operation_id = "createServiceAccount"
    )]
    async fn create_service_account(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Body<ServiceAccountCreate>,
    ) -> ApiResult<ServiceAccountCreatedResponse> {
        let within = auth.0.staff_manager()?;
        let b = body.0;
        let municipality_id = match (within, b.municipality_id) {
            (Some(own), None) => own,
            (Some(own), Some(m)) if m == own => own,
            (Some(_), Some(_)) => {
                return Err(ApiError::field(
                    "municipality_id",
                    "invalid_value",
                    "must be your own municipality",
                ));
            }
            (None, Some(m)) => m,
            (None, None) => {
                return Err(ApiError::field(
                    "municipality_id",
                    "required",
                    "is required for an admin",
                ));
            }
        };
        let (sa, secret) =
            accounts::create_service_account(&state.db, municipality_id, &b.name, &b.scopes)
                .await?;
        let location = format!("/api/v1/service-accounts/{}", sa.id);
        Ok(ServiceAccountCreatedResponse::Created(
            Json(ServiceAccountCreated {
                id: sa.id,
                client_id: sa.client_id.clone(),
                client_secret: secret,
                account: sa.into(),
            }),
            location,
        ))
    }

    /// Delete a service account
    ///
    /// Admin or coordinator (own municipality). Its tokens stop working within seconds.
    #[oai(
        path = "/service-accounts/:id",
        method = "delete",
        operation_id = "deleteServiceAccount"
    )]
    async fn delete_service_account(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Deleted> {
        let within = auth.0.staff_manager()?;
        accounts::delete_service_account(&state.db, within, id.0).await?;
        state.sessions.forget(id.0);
        Ok(Deleted::Done)
    }
}

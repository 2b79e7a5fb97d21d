//! `/me`, `/municipalities`, `/staff`, `/service-accounts`.
use chrono::{DateTime, Utc};
use entity::{
    ids::{MunicipalityId, ServiceAccountId, StaffId},
    municipality, service_account, staff,
    types::Language,
};
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
    common::{Cursor, IfMatch, Limit, Page, etag, expected, page, versioned_response},
};
use crate::{
    auth::{BearerAuth, Role, Scope},
    body::Body,
    domain::{
        DomainError,
        accounts::{self, MunicipalityChange, NewStaff, Settings, StaffChange},
        candidates,
        values::{Email, MunicipalityCode, Phone},
    },
    error::{ApiError, ApiResult},
    state::AppState,
};

/// The caller.
#[derive(Object, Debug)]
pub struct Me {
    /// The principal's id; for a candidate, the candidate's id.
    pub id: Uuid,
    /// The caller's role.
    pub role: Role,
    /// The caller's municipality; `null` for admins (the installation's operator belongs to none).
    #[oai(nullable)]
    pub municipality_id: Option<MunicipalityId>,
    /// The name to greet the caller with.
    pub display_name: String,
    /// The scopes of a service account's token; empty for people.
    pub scopes: Vec<Scope>,
    /// A candidate's language, which the portal, reminders and the calendar feed use; `null` for
    /// everyone else. A candidate changes it with `PATCH /me`.
    #[oai(nullable)]
    pub language: Option<Language>,
}

/// A change to the caller's own account; absent fields stay as they are.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct MePatch {
    /// The candidate's language.
    pub language: Option<Language>,
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
    /// Years after a candidate's last course ended before the service erases their personal data
    /// automatically (1–50). Erasure keeps the anonymous course and questionnaire rows the reports count;
    /// see `POST /candidates/{id}/erase`.
    #[oai(validator(minimum(value = "1"), maximum(value = "50")))]
    pub retention_years: i32,
    /// Months the audit log (`GET /audit`) is kept before old entries are deleted (6–120, default 24
    /// when absent). Entries are always kept at least 6 months.
    #[oai(
        default = "default_audit_retention_months",
        validator(minimum(value = "6"), maximum(value = "120"))
    )]
    pub audit_retention_months: i32,
}

fn default_audit_retention_months() -> i32 {
    Settings::default().audit_retention_months
}

impl From<Settings> for MunicipalitySettings {
    fn from(s: Settings) -> Self {
        Self {
            min_age: s.min_age,
            max_age: s.max_age,
            caseload_hard_limit: s.caseload_hard_limit,
            retention_years: s.retention_years,
            audit_retention_months: s.audit_retention_months,
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
            audit_retention_months: self.audit_retention_months,
        })
    }
}

/// A municipality: the tenant.
#[derive(Object, Debug)]
pub struct Municipality {
    /// Id.
    pub id: MunicipalityId,
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
    /// Settings; defaults: ages 15–29, no hard caseload limit, 5 years retention, 24 months of audit log.
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

impl TryFrom<Role> for StaffRole {
    type Error = DomainError;

    fn try_from(r: Role) -> Result<Self, Self::Error> {
        match r {
            Role::Consultant => Ok(StaffRole::Consultant),
            Role::Coordinator => Ok(StaffRole::Coordinator),
            other => Err(DomainError::Internal(format!(
                "a staff record with role `{other}` was listed as staff"
            ))),
        }
    }
}

/// A staff member.
#[derive(Object, Debug)]
pub struct StaffMember {
    /// Id.
    pub id: StaffId,
    /// Municipality.
    pub municipality_id: MunicipalityId,
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

impl TryFrom<staff::Model> for StaffMember {
    type Error = DomainError;

    fn try_from(s: staff::Model) -> Result<Self, Self::Error> {
        let municipality_id = s.municipality_id.ok_or_else(|| {
            DomainError::Internal(format!("staff {} without a municipality was listed", s.id))
        })?;
        Ok(Self {
            id: s.id,
            municipality_id,
            display_name: s.display_name,
            email: s.email,
            phone: s.phone,
            role: s.role.try_into()?,
            active: s.active,
            version: s.version,
            created_at: s.created_at,
            updated_at: s.updated_at,
        })
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
    pub municipality_id: MunicipalityId,
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

/// A service account (a municipal system). The secret is never shown again after creation.
#[derive(Object, Debug)]
pub struct ServiceAccount {
    /// Id.
    pub id: ServiceAccountId,
    /// Municipality.
    pub municipality_id: MunicipalityId,
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
            scopes: s.scopes.0,
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
    pub municipality_id: Option<MunicipalityId>,
}

/// The new service account with its secret, shown once.
#[derive(Object, Debug)]
pub struct ServiceAccountCreated {
    /// Id.
    pub id: ServiceAccountId,
    /// The client id (HTTP Basic username at `POST /oauth/token`).
    pub client_id: String,
    /// The client secret (HTTP Basic password). Store it now: it is not shown again.
    pub client_secret: String,
    /// The account.
    pub account: ServiceAccount,
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
pub enum StaffInvitationResponse {
    /// A new invitation; the old one no longer works and the member's login was reset.
    #[oai(status = 201)]
    Created(Json<Invitation>),
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

async fn me(state: &AppState, c: crate::auth::Caller) -> ApiResult<Me> {
    let profile = accounts::profile(&state.db, c.id, c.role).await?;
    Ok(Me {
        id: c.id,
        role: c.role,
        municipality_id: c.municipality_id,
        display_name: profile.display_name,
        scopes: c.scopes,
        language: profile.language,
    })
}

#[OpenApi(tag = "Tag::Accounts")]
impl AccountsApi {
    /// Who am I
    ///
    /// The caller's id, role, municipality and name, and a candidate's language. Any principal.
    #[oai(path = "/me", method = "get", operation_id = "getMe")]
    async fn me(&self, state: Data<&AppState>, auth: BearerAuth) -> ApiResult<Json<Me>> {
        me(&state, auth.0).await.map(Json)
    }

    /// Change my account
    ///
    /// A candidate chooses their language (`da` or `en`); the portal, reminders and the calendar feed
    /// follow it. Answers the same as `GET /me`. Candidates only: staff and service accounts get 403.
    #[oai(path = "/me", method = "patch", operation_id = "updateMe")]
    async fn update_me(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Body<MePatch>,
    ) -> ApiResult<Json<Me>> {
        let me_self = auth.0.candidate_self()?;
        if let Some(language) = body.0.language {
            candidates::set_own_language(&state.db, me_self, language).await?;
        }
        me(&state, auth.0).await.map(Json)
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
        limit: Query<Option<Limit>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<Municipality>>> {
        auth.0.admin()?;
        let page = page(limit.0, cursor.0);
        let (items, next_cursor) = accounts::list_municipalities(&state.db, page).await?;
        Ok(Json(Page::of(items, next_cursor, Into::into)))
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
        let code = MunicipalityCode::parse("code", &b.code)?;
        let m = accounts::create_municipality(&state.db, &b.name, code, settings).await?;
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
        id: Path<MunicipalityId>,
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
        id: Path<MunicipalityId>,
        /// The ETag you read; a stale one is refused with 412.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<IfMatch>>,
        body: Body<MunicipalityPatch>,
    ) -> ApiResult<MunicipalityResponse> {
        auth.0.admin()?;
        let expected = expected(if_match_header.0);
        let b = body.0;
        let change = MunicipalityChange {
            name: b.name,
            code: b
                .code
                .map(|c| MunicipalityCode::parse("code", &c))
                .transpose()?,
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
        municipality_id: Query<Option<MunicipalityId>>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<Limit>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<StaffMember>>> {
        let within = auth.0.staff_manager()?;
        let page = page(limit.0, cursor.0);
        let (items, next_cursor) =
            accounts::list_staff(&state.db, within, municipality_id.0, page).await?;
        let items = items
            .into_iter()
            .map(StaffMember::try_from)
            .collect::<Result<_, _>>()?;
        Ok(Json(Page { items, next_cursor }))
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
            email: Email::parse("email", &b.email)?,
            phone: b.phone.map(|p| Phone::parse("phone", &p)).transpose()?,
            role: b.role.into(),
        };
        let (s, inv) = accounts::create_staff(&state.db, within, new).await?;
        let (tag, location) = (etag(s.version), format!("/api/v1/staff/{}", s.id));
        Ok(StaffCreatedResponse::Created(
            Json(StaffCreated {
                staff: s.try_into()?,
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
        id: Path<StaffId>,
    ) -> ApiResult<StaffResponse> {
        let within = auth.0.staff_manager()?;
        let s = accounts::get_staff(&state.db, within, id.0).await?;
        let tag = etag(s.version);
        Ok(StaffResponse::Ok(Json(s.try_into()?), tag))
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
        id: Path<StaffId>,
        /// The ETag you read; a stale one is refused with 412.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<IfMatch>>,
        body: Body<StaffPatch>,
    ) -> ApiResult<StaffResponse> {
        let within = auth.0.staff_manager()?;
        let expected = expected(if_match_header.0);
        let b = body.0;
        let change = StaffChange {
            display_name: b.display_name,
            email: b.email.map(|e| Email::parse("email", &e)).transpose()?,
            phone: b
                .phone
                .map_value(|v| Phone::parse("phone", &v))
                .transpose()?
                .into(),
            role: b.role.map(Into::into),
            active: b.active,
        };
        if id.0.0 == auth.0.id && (change.active == Some(false) || change.role.is_some()) {
            return Err(ApiError::conflict(
                "You cannot deactivate yourself or change your own role.",
            ));
        }
        let s = accounts::update_staff(&state.db, within, auth.0.actor(), id.0, expected, change)
            .await?;
        state.sessions.forget_all();
        let tag = etag(s.version);
        Ok(StaffResponse::Ok(Json(s.try_into()?), tag))
    }

    /// Issue a new invitation to a staff member
    ///
    /// Admin or coordinator (own municipality). For a lost login, or after a role change voided the
    /// invitation not yet accepted. The old invitation and login stop working at once and the member's
    /// sessions end. The code is shown only in this answer.
    #[oai(
        path = "/staff/:id/invitation",
        method = "post",
        operation_id = "createStaffInvitation"
    )]
    async fn create_staff_invitation(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<StaffId>,
    ) -> ApiResult<StaffInvitationResponse> {
        let within = auth.0.staff_manager()?;
        let inv = accounts::reinvite_staff(&state.db, within, auth.0.actor(), id.0).await?;
        state.sessions.forget_all();
        Ok(StaffInvitationResponse::Created(Json(inv.into())))
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
        limit: Query<Option<Limit>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<ServiceAccount>>> {
        let within = auth.0.staff_manager()?;
        let page = page(limit.0, cursor.0);
        let (items, next_cursor) = accounts::list_service_accounts(&state.db, within, page).await?;
        Ok(Json(Page::of(items, next_cursor, Into::into)))
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
            // Another municipality is out of a coordinator's reach (§4.1).
            (Some(_), Some(_)) => return Err(ApiError::not_found()),
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
        id: Path<ServiceAccountId>,
    ) -> ApiResult<Deleted> {
        let within = auth.0.staff_manager()?;
        accounts::delete_service_account(&state.db, within, id.0).await?;
        state.sessions.forget(id.0.0);
        Ok(Deleted::Done)
    }
}

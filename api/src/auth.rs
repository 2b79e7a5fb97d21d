//! The bearer security scheme and the capabilities a checked token hands out. Handlers ask for a
//! capability (`caller.staff()?`, `caller.candidate_self()?`) instead of comparing roles; each granted
//! capability is noted in the request's access trail (`domain::access`).
use entity::ids::{CandidateId, MunicipalityId, StaffId};
use poem::Request;
use poem_openapi::{SecurityScheme, auth::Bearer};
use uuid::Uuid;

pub use crate::domain::access::{Actor, CandidateScope, CandidateSelf, Reach, Role, Scope};
use crate::{
    domain::{
        self,
        access::{self, Capability, Check},
        sessions::Session,
    },
    error::{ApiError, ApiResult},
    state::AppState,
};

/// Who is calling, from a verified access token whose session is still alive.
#[derive(Clone, Debug)]
pub struct Caller {
    pub id: Uuid,
    pub role: Role,
    pub municipality_id: Option<MunicipalityId>,
    pub scopes: Vec<Scope>,
    pub session_id: Uuid,
}

impl Caller {
    pub fn actor(&self) -> Actor {
        Actor {
            id: self.id,
            role: self.role,
        }
    }

    /// Grants `capability` when `granted`, noting it in the request's access trail.
    fn grant<T>(&self, capability: Capability, granted: Option<T>) -> ApiResult<T> {
        let value = granted.ok_or_else(ApiError::forbidden)?;
        access::note(Check::Capability { capability });
        Ok(value)
    }

    /// The candidate acting on their own data.
    pub fn candidate_self(&self) -> ApiResult<CandidateSelf> {
        let granted = match (self.role, self.municipality_id) {
            (Role::Candidate, Some(municipality_id)) => Some(CandidateSelf {
                id: CandidateId(self.id),
                municipality_id,
            }),
            _ => None,
        };
        self.grant(Capability::CandidateSelf, granted)
    }

    /// The candidate reaching their own data (for operations shared with staff).
    pub fn candidate_reach(&self) -> ApiResult<Reach> {
        self.candidate_self().map(Reach::Own)
    }

    /// Staff reaching candidates through their scope, health data and free text included.
    pub fn staff_reach(&self) -> ApiResult<Reach> {
        Ok(Reach::Scoped(self.actor(), self.staff()?))
    }

    /// Staff or a service account (`candidates:read`) reaching candidates' identity and course.
    pub fn reader_reach(&self) -> ApiResult<Reach> {
        Ok(Reach::Scoped(self.actor(), self.candidates_reader()?))
    }

    /// Staff or a service account (`candidates:write`) changing candidates and courses.
    pub fn writer_reach(&self) -> ApiResult<Reach> {
        Ok(Reach::Scoped(self.actor(), self.candidates_writer()?))
    }

    /// Staff or a service account reading candidates (identity, course; never health data).
    pub fn candidates_reader(&self) -> ApiResult<CandidateScope> {
        self.grant(
            Capability::CandidatesReader,
            self.candidate_scope(Scope::CandidatesRead),
        )
    }

    /// Staff or a service account changing candidates and courses.
    pub fn candidates_writer(&self) -> ApiResult<CandidateScope> {
        self.grant(
            Capability::CandidatesWriter,
            self.candidate_scope(Scope::CandidatesWrite),
        )
    }

    fn candidate_scope(&self, needed: Scope) -> Option<CandidateScope> {
        match self.role {
            Role::Service if self.scopes.contains(&needed) => Some(CandidateScope::Municipality {
                municipality_id: self.municipality_id?,
            }),
            _ => self.staff_scope(),
        }
    }

    fn staff_scope(&self) -> Option<CandidateScope> {
        let municipality_id = self.municipality_id?;
        match self.role {
            Role::Consultant => Some(CandidateScope::Caseload {
                municipality_id,
                consultant_id: StaffId(self.id),
            }),
            Role::Coordinator => Some(CandidateScope::Municipality { municipality_id }),
            _ => None,
        }
    }

    /// Whether this caller may see health data and free text about the candidates it reaches (staff);
    /// service accounts get the same resources without them.
    pub fn sees_health_data(&self) -> bool {
        self.staff_scope().is_some()
    }

    /// Staff only (consultant or coordinator): health data, free text.
    pub fn staff(&self) -> ApiResult<CandidateScope> {
        self.grant(Capability::Staff, self.staff_scope())
    }

    /// A coordinator: every candidate of the municipality, and what only coordinators see (the audit log).
    pub fn coordinator(&self) -> ApiResult<CandidateScope> {
        let granted = self
            .staff_scope()
            .filter(|_| self.role == Role::Coordinator);
        self.grant(Capability::Coordinator, granted)
    }

    /// The installation's operator.
    pub fn admin(&self) -> ApiResult<()> {
        self.grant(Capability::Admin, (self.role == Role::Admin).then_some(()))
    }

    /// Who may manage staff and service accounts: an admin (any municipality: `None`) or a coordinator
    /// (their own: `Some`).
    pub fn staff_manager(&self) -> ApiResult<Option<MunicipalityId>> {
        let granted = match (self.role, self.municipality_id) {
            (Role::Admin, _) => Some(None),
            (Role::Coordinator, Some(m)) => Some(Some(m)),
            _ => None,
        };
        self.grant(Capability::StaffManager, granted)
    }

    /// A coordinator, or a service account with `scope`, reading municipality-wide data.
    pub fn municipality_reader(&self, scope: Scope) -> ApiResult<MunicipalityId> {
        let granted = match self.role {
            Role::Coordinator => self.municipality_id,
            Role::Service if self.scopes.contains(&scope) => self.municipality_id,
            _ => None,
        };
        self.grant(Capability::MunicipalityReader(scope), granted)
    }

    /// Passes `check` again for this caller, against the data as it is now (for idempotent replays).
    pub async fn recheck(&self, state: &AppState, check: &Check) -> ApiResult<()> {
        match check {
            Check::Capability { capability } => match capability {
                Capability::CandidateSelf => {
                    let me = self.candidate_self()?;
                    domain::candidates::own(&state.db, me.id).await?;
                }
                Capability::Coordinator => {
                    self.coordinator()?;
                }
                Capability::CandidatesReader => {
                    self.candidates_reader()?;
                }
                Capability::CandidatesWriter => {
                    self.candidates_writer()?;
                }
                Capability::Staff => {
                    self.staff()?;
                }
                Capability::Admin => self.admin()?,
                Capability::StaffManager => {
                    self.staff_manager()?;
                }
                Capability::MunicipalityReader(scope) => {
                    self.municipality_reader(*scope)?;
                }
            },
            Check::Candidate { id, scope } => {
                // The scope was this caller's when it was recorded; a changed role ends the session,
                // so what can change is whether the candidate is still in it.
                Reach::Scoped(self.actor(), *scope)
                    .candidate(state.db.read(), *id)
                    .await?;
            }
        }
        Ok(())
    }
}

/// A bearer access token (JWT, EdDSA) from `POST /auth/login`, `/auth/refresh` or `/oauth/token`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT", checker = "check_bearer")]
pub struct BearerAuth(pub Caller);

async fn check_bearer(req: &Request, bearer: Bearer) -> poem::Result<Caller> {
    let state = req.data::<AppState>().ok_or_else(|| {
        ApiError::unauthorized("The access token is missing, invalid or expired.").into_poem()
    })?;
    authenticate(state, &bearer.token)
        .await
        .map_err(ApiError::into_poem)
}

/// Every check a bearer token must pass: signature, algorithm, issuer, audience and times; a session
/// that is still alive; and a principal whose role, municipality and active flag are still those the
/// token names. Used by every operation and by idempotent replays.
pub async fn authenticate(state: &AppState, token: &str) -> ApiResult<Caller> {
    let unauthorized =
        || ApiError::unauthorized("The access token is missing, invalid or expired.");
    if token.len() > 4096 {
        return Err(unauthorized());
    }
    let claims = state
        .keys
        .verify(&state.db, token)
        .await?
        .ok_or_else(unauthorized)?;
    let role = Role::parse(&claims.role).ok_or_else(unauthorized)?;
    let municipality_id = claims.mun.map(MunicipalityId);
    let session = Session {
        id: claims.sid,
        principal_id: claims.sub,
        role,
        municipality_id,
    };
    if !state.sessions.is_alive(&state.db, &session).await? {
        return Err(ApiError::unauthorized(
            "The session has ended. Log in again.",
        ));
    }
    let scopes = claims
        .scope
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .filter_map(Scope::parse)
        .collect();
    Ok(Caller {
        id: claims.sub,
        role,
        municipality_id,
        scopes,
        session_id: claims.sid,
    })
}

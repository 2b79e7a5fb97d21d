//! The bearer security scheme and the capabilities a checked token hands out. Handlers ask for a
//! capability (`caller.staff()?`, `caller.candidate_self()?`) instead of comparing roles.
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chrono::Utc;
use poem::Request;
use poem_openapi::{Enum, SecurityScheme, auth::Bearer};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::{
    error::{ApiError, ApiResult},
    state::AppState,
};

/// The role of a principal.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[oai(rename_all = "snake_case")]
pub enum Role {
    Candidate,
    Consultant,
    Coordinator,
    Admin,
    Service,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Candidate => "candidate",
            Role::Consultant => "consultant",
            Role::Coordinator => "coordinator",
            Role::Admin => "admin",
            Role::Service => "service",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "candidate" => Role::Candidate,
            "consultant" => Role::Consultant,
            "coordinator" => Role::Coordinator,
            "admin" => Role::Admin,
            "service" => Role::Service,
            _ => return None,
        })
    }
}

/// A scope a service account may hold.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Identity, consultant, course status, dates and outcome of the municipality's candidates.
    #[oai(rename = "candidates:read")]
    CandidatesRead,
    /// Create and change candidates and their courses.
    #[oai(rename = "candidates:write")]
    CandidatesWrite,
    /// Read the change feed.
    #[oai(rename = "events:read")]
    EventsRead,
    /// Read the reports.
    #[oai(rename = "reports:read")]
    ReportsRead,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::CandidatesRead => "candidates:read",
            Scope::CandidatesWrite => "candidates:write",
            Scope::EventsRead => "events:read",
            Scope::ReportsRead => "reports:read",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "candidates:read" => Scope::CandidatesRead,
            "candidates:write" => Scope::CandidatesWrite,
            "events:read" => Scope::EventsRead,
            "reports:read" => Scope::ReportsRead,
            _ => return None,
        })
    }
}

/// Who is calling, from a verified access token whose session is still alive.
#[derive(Clone, Debug)]
pub struct Caller {
    pub id: Uuid,
    pub role: Role,
    pub municipality_id: Option<Uuid>,
    pub scopes: Vec<Scope>,
    pub session_id: Uuid,
}

/// Which candidates a staff member or service account reaches.
#[derive(Clone, Copy, Debug)]
pub enum CandidateScope {
    /// A consultant: the candidates whose consultant they are, in their municipality.
    Caseload {
        municipality_id: Uuid,
        consultant_id: Uuid,
    },
    /// A coordinator or a service account: every candidate of the municipality.
    Municipality { municipality_id: Uuid },
}

impl CandidateScope {
    pub fn municipality_id(&self) -> Uuid {
        match *self {
            CandidateScope::Caseload {
                municipality_id, ..
            }
            | CandidateScope::Municipality { municipality_id } => municipality_id,
        }
    }
}

/// The actor recorded in history, audit and events.
#[derive(Clone, Copy, Debug)]
pub struct Actor {
    pub id: Uuid,
    pub role: Role,
}

impl Caller {
    pub fn actor(&self) -> Actor {
        Actor {
            id: self.id,
            role: self.role,
        }
    }

    fn municipality(&self) -> ApiResult<Uuid> {
        self.municipality_id.ok_or_else(ApiError::forbidden)
    }

    /// The candidate acting on their own data.
    pub fn candidate_self(&self) -> ApiResult<(Uuid, Uuid)> {
        match self.role {
            Role::Candidate => Ok((self.id, self.municipality()?)),
            _ => Err(ApiError::forbidden()),
        }
    }

    /// Staff or a service account reading candidates (identity, course; never health data).
    pub fn candidates_reader(&self) -> ApiResult<CandidateScope> {
        self.candidate_scope(Scope::CandidatesRead)
    }

    /// Staff or a service account changing candidates and courses.
    pub fn candidates_writer(&self) -> ApiResult<CandidateScope> {
        self.candidate_scope(Scope::CandidatesWrite)
    }

    fn candidate_scope(&self, needed: Scope) -> ApiResult<CandidateScope> {
        let municipality_id = self.municipality()?;
        match self.role {
            Role::Consultant => Ok(CandidateScope::Caseload {
                municipality_id,
                consultant_id: self.id,
            }),
            Role::Coordinator => Ok(CandidateScope::Municipality { municipality_id }),
            Role::Service if self.scopes.contains(&needed) => {
                Ok(CandidateScope::Municipality { municipality_id })
            }
            _ => Err(ApiError::forbidden()),
        }
    }

    /// Staff only (consultant or coordinator): health data, free text.
    pub fn staff(&self) -> ApiResult<CandidateScope> {
        let municipality_id = self.municipality()?;
        match self.role {
            Role::Consultant => Ok(CandidateScope::Caseload {
                municipality_id,
                consultant_id: self.id,
            }),
            Role::Coordinator => Ok(CandidateScope::Municipality { municipality_id }),
            _ => Err(ApiError::forbidden()),
        }
    }

    /// The installation's operator.
    pub fn admin(&self) -> ApiResult<()> {
        if self.role == Role::Admin {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }

    /// Who may manage staff and service accounts: an admin (any municipality: `None`) or a coordinator
    /// (their own: `Some`).
    pub fn staff_manager(&self) -> ApiResult<Option<Uuid>> {
        match self.role {
            Role::Admin => Ok(None),
            Role::Coordinator => Ok(Some(self.municipality()?)),
            _ => Err(ApiError::forbidden()),
        }
    }

    /// A coordinator, or a service account with `scope`, reading municipality-wide data.
    pub fn municipality_reader(&self, scope: Scope) -> ApiResult<Uuid> {
        match self.role {
            Role::Coordinator => self.municipality(),
            Role::Service if self.scopes.contains(&scope) => self.municipality(),
            _ => Err(ApiError::forbidden()),
        }
    }
}

/// A bearer access token (JWT, EdDSA) from `POST /auth/login`, `/auth/refresh` or `/oauth/token`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT", checker = "check_bearer")]
pub struct BearerAuth(pub Caller);

async fn check_bearer(req: &Request, bearer: Bearer) -> poem::Result<Caller> {
    let unauthorized =
        || ApiError::unauthorized("The access token is missing, invalid or expired.").into_poem();
    let state = req.data::<AppState>().ok_or_else(unauthorized)?;
    if bearer.token.len() > 4096 {
        return Err(unauthorized());
    }
    let claims = state
        .keys
        .verify(&state.db, &bearer.token)
        .await
        .ok_or_else(unauthorized)?;
    let role = Role::parse(&claims.role).ok_or_else(unauthorized)?;
    if !state.sessions.is_alive(state, claims.sid, role).await {
        return Err(ApiError::unauthorized("The session has ended. Log in again.").into_poem());
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
        municipality_id: claims.mun,
        scopes,
        session_id: claims.sid,
    })
}

/// Remembers for a few seconds that a session is alive, so revocation reaches every instance within
/// `IPS_SESSION_CHECK_SECS` without a database read on every request.
#[derive(Clone)]
pub struct SessionCache {
    ttl: Duration,
    alive: Arc<Mutex<HashMap<Uuid, Instant>>>,
}

impl SessionCache {
    pub fn new(ttl_secs: u64) -> Self {
        Self {
            ttl: Duration::from_secs(ttl_secs),
            alive: Default::default(),
        }
    }

    pub fn forget(&self, sid: Uuid) {
        self.alive.lock().expect("session cache").remove(&sid);
    }

    pub fn forget_all(&self) {
        self.alive.lock().expect("session cache").clear();
    }

    async fn is_alive(&self, state: &AppState, sid: Uuid, role: Role) -> bool {
        if let Some(at) = self.alive.lock().expect("session cache").get(&sid)
            && at.elapsed() < self.ttl
        {
            return true;
        }
        let now = Utc::now();
        let alive = if role == Role::Service {
            use entity::service_account as sa;
            sa::Entity::find_by_id(sid)
                .filter(sa::Column::DeletedAt.is_null())
                .select_only()
                .column(sa::Column::Id)
                .into_tuple::<Uuid>()
                .one(state.db.read())
                .await
                .ok()
                .flatten()
                .is_some()
        } else {
            use entity::session as s;
            s::Entity::find_by_id(sid)
                .filter(s::Column::RevokedAt.is_null())
                .filter(s::Column::ExpiresAt.gt(now))
                .select_only()
                .column(s::Column::Id)
                .into_tuple::<Uuid>()
                .one(state.db.read())
                .await
                .ok()
                .flatten()
                .is_some()
        };
        let mut cache = self.alive.lock().expect("session cache");
        if alive {
            if cache.len() > 100_000 {
                cache.clear();
            }
            cache.insert(sid, Instant::now());
        } else {
            cache.remove(&sid);
        }
        alive
    }
}

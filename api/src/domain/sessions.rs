//! Which sessions are alive. Every request checks its token's session; an instance trusts its own
//! "still alive" answer for `IPS_SESSION_CHECK_SECS`, so logout, a reused refresh token, deactivation
//! or a role change reach every instance within that time without a database read per request.
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chrono::Utc;
use entity::ids::MunicipalityId;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::{DomainError, DomainResult, access::Role, identity};
use crate::db::Db;

/// What a token says about its session.
pub struct Session {
    pub id: Uuid,
    pub principal_id: Uuid,
    pub role: Role,
    pub municipality_id: Option<MunicipalityId>,
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

    /// `Err` only when the database connection was lost (`db::connection_lost`): the session may
    /// well be alive, and the caller answers 503 rather than log anyone out. Any other failure to
    /// read the session counts as ended.
    pub async fn is_alive(&self, db: &Db, session: &Session) -> DomainResult<bool> {
        let sid = session.id;
        if let Some(at) = self.alive.lock().expect("session cache").get(&sid)
            && at.elapsed() < self.ttl
        {
            return Ok(true);
        }
        let alive = match check_session(db, session).await {
            Ok(alive) => alive,
            Err(DomainError::Db(e)) if crate::db::connection_lost(&e) => {
                return Err(DomainError::Db(e));
            }
            Err(e) => {
                tracing::error!(error = %e, "session check failed");
                false
            }
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
        Ok(alive)
    }
}

/// Reads whether a session is alive and its principal is still what the token says.
async fn check_session(db: &Db, session: &Session) -> DomainResult<bool> {
    let db = db.read();
    if session.role == Role::Service {
        use entity::service_account as sa;
        let found = sa::Entity::find_by_id(entity::ids::ServiceAccountId(session.id))
            .filter(sa::Column::DeletedAt.is_null())
            .select_only()
            .column(sa::Column::MunicipalityId)
            .into_tuple::<MunicipalityId>()
            .one(db)
            .await?;
        return Ok(found.is_some() && found == session.municipality_id);
    }
    use entity::session as s;
    let open = s::Entity::find_by_id(session.id)
        .filter(s::Column::PrincipalId.eq(session.principal_id))
        .filter(s::Column::RevokedAt.is_null())
        .filter(s::Column::ExpiresAt.gt(Utc::now()))
        .select_only()
        .column(s::Column::Id)
        .into_tuple::<Uuid>()
        .one(db)
        .await?
        .is_some();
    if !open {
        return Ok(false);
    }
    let record = identity::principal(db, session.principal_id, session.role).await?;
    Ok(record.is_some_and(|p| {
        p.active && p.role == session.role && p.municipality_id == session.municipality_id
    }))
}

//! Who may reach what: roles, scopes, the actor recorded in history, and the candidate scope every
//! tenant-scoped finder takes.
//!
//! It also keeps the request's *access trail*: each capability a request was granted and each
//! candidate it reached is noted here as it happens. An idempotent replay (`idempotency.rs`) answers
//! without running the operation, so it runs these same checks again, against the caller and the
//! data as they are now, before it hands back a stored answer.
use std::cell::RefCell;

pub use entity::types::{Role, Scope};
use entity::{
    candidate,
    ids::{CandidateId, MunicipalityId, StaffId},
    scoped::CandidateOwned,
    types::Author,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, PrimaryKeyTrait,
    QueryFilter, QuerySelect, QueryTrait, Select, sea_query::Expr,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{DomainError, DomainResult};

/// Which candidates a staff member or service account reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CandidateScope {
    /// A consultant: the candidates whose consultant they are, in their municipality.
    Caseload {
        municipality_id: MunicipalityId,
        consultant_id: StaffId,
    },
    /// A coordinator or a service account: every candidate of the municipality.
    Municipality { municipality_id: MunicipalityId },
}

impl CandidateScope {
    pub fn municipality_id(&self) -> MunicipalityId {
        match *self {
            CandidateScope::Caseload {
                municipality_id, ..
            }
            | CandidateScope::Municipality { municipality_id } => municipality_id,
        }
    }

    /// The candidates this scope reaches, as a query condition. An erased candidate is reached by
    /// no one: its anonymous row is only there for the statistics.
    pub fn condition(&self) -> Condition {
        let reached = match *self {
            CandidateScope::Caseload {
                municipality_id,
                consultant_id,
            } => Condition::all()
                .add(candidate::Column::MunicipalityId.eq(municipality_id))
                .add(candidate::Column::ConsultantId.eq(consultant_id)),
            CandidateScope::Municipality { municipality_id } => {
                Condition::all().add(candidate::Column::MunicipalityId.eq(municipality_id))
            }
        };
        reached.add(candidate::Column::ErasedAt.is_null())
    }

    /// A consultant's caseload (not the whole municipality).
    pub fn is_caseload(&self) -> bool {
        matches!(self, CandidateScope::Caseload { .. })
    }
}

/// A candidate acting on their own data (what `Caller::candidate_self` hands out).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CandidateSelf {
    pub id: CandidateId,
    pub municipality_id: MunicipalityId,
}

impl CandidateSelf {
    pub fn actor(&self) -> Actor {
        Actor {
            id: self.id.0,
            role: Role::Candidate,
        }
    }
}

/// How a caller reaches candidates: a candidate only themselves, staff through their scope.
#[derive(Clone, Copy, Debug)]
pub enum Reach {
    Own(CandidateSelf),
    Scoped(Actor, CandidateScope),
}

impl Reach {
    pub fn actor(&self) -> Actor {
        match self {
            Reach::Own(me) => me.actor(),
            Reach::Scoped(actor, _) => *actor,
        }
    }

    /// Who writes through this reach: the candidate, or staff (whose goals and plans wait to be
    /// accepted).
    pub fn author(&self) -> Author {
        match self {
            Reach::Own(_) => Author::Candidate,
            Reach::Scoped(..) => Author::Staff,
        }
    }

    /// The candidate, if this reach includes them; `NotFound` otherwise, so existence never leaks.
    /// Staff reaches are noted in the request's access trail.
    pub async fn candidate<C: ConnectionTrait>(
        &self,
        db: &C,
        id: CandidateId,
    ) -> DomainResult<Reached> {
        let Some(query) = self.candidate_query(id) else {
            return Err(DomainError::NotFound);
        };
        let found = query.one(db).await?.ok_or(DomainError::NotFound)?;
        Ok(self.reached(found))
    }

    /// `candidate`, with more values read in the same statement: each `(alias, expression)` becomes
    /// a column of the candidate's row (a subquery on their rows, say), and `T` reads them back by
    /// alias. One request to the database instead of one per value.
    pub async fn candidate_with<T, C>(
        &self,
        db: &C,
        id: CandidateId,
        extra: impl IntoIterator<Item = (&'static str, Expr)>,
    ) -> DomainResult<(Reached, T)>
    where
        T: FromQueryResult,
        C: ConnectionTrait,
    {
        let Some(mut query) = self.candidate_query(id) else {
            return Err(DomainError::NotFound);
        };
        for (alias, expr) in extra {
            query = query.expr_as(expr, alias);
        }
        let row = db
            .query_one_raw(query.build(db.get_database_backend()))
            .await?
            .ok_or(DomainError::NotFound)?;
        let candidate = candidate::Model::from_query_result(&row, "")?;
        let values = T::from_query_result(&row, "")?;
        Ok((self.reached(candidate), values))
    }

    /// The query that finds candidate `id` through this reach; `None` if it never can.
    fn candidate_query(&self, id: CandidateId) -> Option<Select<candidate::Entity>> {
        let found = candidate::Entity::find_by_id(id);
        match self {
            Reach::Own(me) if me.id == id => {
                Some(found.filter(candidate::Column::ErasedAt.is_null()))
            }
            Reach::Own(_) => None,
            Reach::Scoped(_, scope) => Some(found.filter(scope.condition())),
        }
    }

    /// The proof for a candidate this reach's query found, noted in the access trail for staff.
    fn reached(&self, candidate: candidate::Model) -> Reached {
        if let Reach::Scoped(_, scope) = self {
            note(Check::Candidate {
                id: candidate.id,
                scope: *scope,
            });
        }
        Reached {
            candidate,
            reach: *self,
        }
    }

    /// A candidate-owned row by its own id, with its candidate, when this reach includes the owner
    /// (e.g. staff acting on a request by the request's id).
    pub async fn owner_of<E, C>(
        &self,
        db: &C,
        id: <E::PrimaryKey as PrimaryKeyTrait>::ValueType,
        owner: impl Fn(&E::Model) -> CandidateId,
    ) -> DomainResult<(Reached, E::Model)>
    where
        E: CandidateOwned,
        C: ConnectionTrait,
    {
        let row = E::find_by_id(id)
            .one(db)
            .await?
            .ok_or(DomainError::NotFound)?;
        let reached = self.candidate(db, owner(&row)).await?;
        Ok((reached, row))
    }
}

/// Proof that the caller reaches a candidate: made only by `Reach::candidate`, so every finder of a
/// candidate's goals, appointments, requests and other rows, which takes it, is tenant-scoped.
///
/// A child row is found through the proof:
///
/// ```no_run
/// # use ips_api::domain::{DomainResult, access::{CandidateSelf, Reach}};
/// # async fn goal(db: &ips_api::db::Db, me: CandidateSelf, id: entity::ids::GoalId)
/// #     -> DomainResult<entity::goal::Model> {
/// let reached = Reach::Own(me).candidate(db.read(), me.id).await?;
/// reached.find::<entity::goal::Entity, _>(db.read(), id).await
/// # }
/// ```
///
/// and a proof cannot be made up from a candidate row found some other way, so an unscoped lookup of a
/// candidate's goal does not compile:
///
/// ```compile_fail,E0451
/// # use ips_api::domain::access::{Reach, Reached};
/// fn forge(candidate: entity::candidate::Model, reach: Reach) -> Reached {
///     Reached { candidate, reach }
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Reached {
    candidate: candidate::Model,
    reach: Reach,
}

impl Reached {
    pub fn id(&self) -> CandidateId {
        self.candidate.id
    }

    pub fn municipality_id(&self) -> MunicipalityId {
        self.candidate.municipality_id
    }

    pub fn candidate(&self) -> &candidate::Model {
        &self.candidate
    }

    pub fn into_candidate(self) -> candidate::Model {
        self.candidate
    }

    pub fn reach(&self) -> &Reach {
        &self.reach
    }

    pub fn actor(&self) -> Actor {
        self.reach.actor()
    }

    pub fn author(&self) -> Author {
        self.reach.author()
    }

    pub fn through_scope(&self) -> bool {
        matches!(self.reach, Reach::Scoped(..))
    }

    /// This candidate's rows of `E`.
    pub fn rows<E: CandidateOwned>(&self) -> Select<E> {
        E::secure_find(self.candidate.id)
    }

    /// This candidate's row of `E` with this id; `NotFound` if it is someone else's.
    pub async fn find<E, C>(
        &self,
        db: &C,
        id: <E::PrimaryKey as PrimaryKeyTrait>::ValueType,
    ) -> DomainResult<E::Model>
    where
        E: CandidateOwned,
        C: ConnectionTrait,
    {
        E::find_by_id(id)
            .filter(E::CANDIDATE.eq(self.candidate.id))
            .one(db)
            .await?
            .ok_or(DomainError::NotFound)
    }
}

/// The actor recorded in history, audit and events.
#[derive(Clone, Copy, Debug)]
pub struct Actor {
    pub id: Uuid,
    pub role: Role,
}

/// A capability handed out by the checked token (see `auth::Caller`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    CandidateSelf,
    CandidatesReader,
    CandidatesWriter,
    Staff,
    Coordinator,
    Admin,
    StaffManager,
    MunicipalityReader(Scope),
}

/// One access check a request passed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "check", rename_all = "snake_case")]
pub enum Check {
    /// The caller's role or scopes granted this capability.
    Capability { capability: Capability },
    /// The caller reached this candidate through this scope.
    Candidate {
        id: CandidateId,
        scope: CandidateScope,
    },
}

/// What a request did that matters to anything answering for it later.
#[derive(Clone, Debug, Default)]
pub struct Trail {
    /// The checks passed, in order, without repeats.
    pub checks: Vec<Check>,
    /// The answer carries a secret made by this request (an invitation code, a client secret, a
    /// calendar-feed address): it must not be stored.
    pub secret: bool,
}

tokio::task_local! {
    static TRAIL: RefCell<Trail>;
}

/// Runs `fut` with a fresh trail and hands back what it noted.
pub async fn with_trail<F: Future>(fut: F) -> (F::Output, Trail) {
    TRAIL
        .scope(RefCell::new(Trail::default()), async {
            let out = fut.await;
            let trail = TRAIL.with(|t| t.take());
            (out, trail)
        })
        .await
}

/// Notes a passed check (a no-op outside `with_trail`, e.g. in background jobs).
pub fn note(check: Check) {
    let _ = TRAIL.try_with(|t| {
        let mut t = t.borrow_mut();
        if !t.checks.contains(&check) {
            t.checks.push(check);
        }
    });
}

/// Notes that the answer being made carries a new secret.
pub fn note_secret() {
    let _ = TRAIL.try_with(|t| t.borrow_mut().secret = true);
}

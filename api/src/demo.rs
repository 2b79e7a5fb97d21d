//! Demo data: a municipality with a coordinator, a consultant and candidates in several course statuses,
//! all with known logins. For trying the service out, never for production.
use chrono::Duration;
use entity::municipality;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::{
    auth::{Actor, CandidateScope, Role},
    domain::{
        DomainResult,
        accounts::{self, NewStaff, Settings},
        candidates::{self, NewCandidate},
        enrollment::{self, Outcome, Status, Transition},
        identity, today,
    },
    state::AppState,
};

/// One demo login.
pub struct Login {
    pub role: &'static str,
    pub username: &'static str,
    pub password: &'static str,
}

pub const LOGINS: [Login; 4] = [
    Login {
        role: "coordinator",
        username: "demo.koordinator",
        password: "demo-koordinator-2026",
    },
    Login {
        role: "consultant",
        username: "demo.konsulent",
        password: "demo-konsulent-2026",
    },
    Login {
        role: "candidate (active course)",
        username: "demo.kandidat",
        password: "demo-kandidat-2026",
    },
    Login {
        role: "candidate (paused course)",
        username: "demo.kandidat2",
        password: "demo-kandidat-2026",
    },
];

const DEMO_CODE: &str = "999";

/// Creates the demo data unless it exists; returns the logins either way.
pub async fn seed(state: &AppState) -> DomainResult<&'static [Login]> {
    let db = &state.db;
    let exists = municipality::Entity::find()
        .filter(municipality::Column::Code.eq(DEMO_CODE))
        .one(db.read())
        .await?;
    if exists.is_some() {
        return Ok(&LOGINS);
    }
    let m =
        accounts::create_municipality(db, "Demo Kommune", DEMO_CODE, Settings::default()).await?;
    let mut staff_ids = Vec::new();
    for (login, role, name) in [
        (&LOGINS[0], Role::Coordinator, "Mette Koordinator"),
        (&LOGINS[1], Role::Consultant, "Jonas Konsulent"),
    ] {
        let new = NewStaff {
            municipality_id: m.id,
            display_name: name.into(),
            email: format!("{}@demo.invalid", login.username),
            phone: Some("+45 12 34 56 78".into()),
            role,
        };
        let (s, _) = accounts::create_staff(db, None, new).await?;
        let hash = state.hasher.hash(login.password).await?;
        identity::set_login(db.write(), hash, s.id, login.username, role, Some(m.id)).await?;
        staff_ids.push(s.id);
    }
    let coordinator = Actor {
        id: staff_ids[0],
        role: Role::Coordinator,
    };
    let consultant_id = staff_ids[1];
    let scope = CandidateScope::Municipality {
        municipality_id: m.id,
    };
    let start = today() - Duration::days(60);
    let people: [(&str, &str, Option<&Login>, &[Status]); 5] = [
        ("Sara", "Nielsen", Some(&LOGINS[2]), &[Status::Active]),
        (
            "Ali",
            "Hansen",
            Some(&LOGINS[3]),
            &[Status::Active, Status::Paused],
        ),
        ("Emma", "Jensen", None, &[]),
        (
            "Noah",
            "Pedersen",
            None,
            &[Status::Active, Status::Aftercare],
        ),
        (
            "Freja",
            "Larsen",
            None,
            &[Status::Active, Status::Completed],
        ),
    ];
    for (i, (given, family, login, path)) in people.into_iter().enumerate() {
        let new = NewCandidate {
            given_name: given.into(),
            family_name: family.into(),
            preferred_name: None,
            birth_year: today()
                .format("%Y")
                .to_string()
                .parse::<i32>()
                .unwrap_or(2026)
                - 20
                - i as i32,
            language: "da".into(),
            email: None,
            phone: None,
            target_group: "mental_distress".into(),
            readiness: "activity_ready".into(),
            consultant_id: Some(consultant_id),
            external_ref: Some(format!("DEMO-{}", i + 1)),
            referred_on: Some(start),
        };
        let created = candidates::create(db, &scope, coordinator, new).await?;
        for (step, to) in path.iter().enumerate() {
            let t = Transition {
                to: *to,
                reason: None,
                outcome: (*to == Status::Completed).then_some(Outcome::Job),
                resume_on: None,
                effective_on: Some(start + Duration::days(7 + 14 * step as i64)),
                request_id: None,
            };
            enrollment::transition(db, &scope, coordinator, created.candidate.id, None, t).await?;
        }
        if let Some(login) = login {
            let hash = state.hasher.hash(login.password).await?;
            identity::set_login(
                db.write(),
                hash,
                created.candidate.id,
                login.username,
                Role::Candidate,
                Some(m.id),
            )
            .await?;
        }
    }
    Ok(&LOGINS)
}

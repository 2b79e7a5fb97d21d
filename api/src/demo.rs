//! Demo data: a municipality with a coordinator, a consultant and candidates in several course statuses,
//! all with known logins. For trying the service out, never for production.
use chrono::Duration;
use entity::{
    ids::{CandidateId, StaffId},
    municipality,
    types::{Language, Readiness, TargetGroup},
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::{
    domain::{
        DomainResult,
        access::{Actor, CandidateScope, CandidateSelf, Reach, Role},
        accounts::{self, NewStaff, Settings},
        candidates::{self, NewCandidate},
        enrollment::{self, Outcome, Status, Transition},
        identity,
        network_groups::{self, NewGroup},
        today,
        values::{Email, MunicipalityCode, Phone},
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
    let code = MunicipalityCode::parse("code", DEMO_CODE)?;
    let m = accounts::create_municipality(db, "Demo Kommune", code, Settings::default()).await?;
    let mut staff_ids = Vec::new();
    for (login, role, name) in [
        (&LOGINS[0], Role::Coordinator, "Mette Koordinator"),
        (&LOGINS[1], Role::Consultant, "Jonas Konsulent"),
    ] {
        let new = NewStaff {
            municipality_id: m.id,
            display_name: name.into(),
            email: Email::parse("email", &format!("{}@demo.invalid", login.username))?,
            phone: Some(Phone::parse("phone", "+45 12 34 56 78")?),
            role,
        };
        let (s, _) = accounts::create_staff(db, None, new).await?;
        let hash = state.hasher.hash(login.password).await?;
        identity::set_login(db.write(), hash, s.id.0, login.username, role, Some(m.id)).await?;
        staff_ids.push(s.id);
    }
    let coordinator = Actor {
        id: staff_ids[0].0,
        role: Role::Coordinator,
    };
    let consultant_id = staff_ids[1];
    let scope = CandidateScope::Municipality {
        municipality_id: m.id,
    };
    let as_coordinator = Reach::Scoped(coordinator, scope);
    // A network group the demo candidates can join in the portal.
    network_groups::create(
        db,
        coordinator,
        scope,
        NewGroup {
            name: "Torsdagsgruppen".into(),
            weekday: 4,
            starts_at: "16:00".into(),
            duration_minutes: 90,
            location: Some("Jobcentret, mødelokale 2".into()),
            online_url: None,
            facilitator_ids: vec![consultant_id],
        },
    )
    .await?;
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
            language: Language::Da,
            email: None,
            phone: None,
            target_group: TargetGroup::MentalDistress,
            readiness: Readiness::ActivityReady,
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
            enrollment::transition(db, &as_coordinator, created.candidate.id, None, t).await?;
        }
        if let Some(login) = login {
            let hash = state.hasher.hash(login.password).await?;
            identity::set_login(
                db.write(),
                hash,
                created.candidate.id.0,
                login.username,
                Role::Candidate,
                Some(m.id),
            )
            .await?;
        }
        if i == 0 {
            let me = CandidateSelf {
                id: created.candidate.id,
                municipality_id: m.id,
            };
            plan_for(state, &scope, consultant_id, me).await?;
        }
    }
    Ok(&LOGINS)
}

/// A lived-in plan for the first demo candidate: their own goal with a ticked step, a proposal from the
/// consultant, two appointments and a WHO-5 that is due.
async fn plan_for(
    state: &AppState,
    scope: &CandidateScope,
    consultant_id: StaffId,
    candidate: CandidateSelf,
) -> DomainResult<()> {
    use crate::domain::{
        appointments::{self, Kind, NewAppointment},
        goals::{self, Category, NewGoal, StepChange},
        questionnaires::{QuestionnaireKey, assignments},
    };
    let db = &state.db;
    let candidate_id: CandidateId = candidate.id;
    let me = Reach::Own(candidate);
    let consultant = Reach::Scoped(
        Actor {
            id: consultant_id.0,
            role: Role::Consultant,
        },
        *scope,
    );
    let own = goals::create(
        db,
        &me,
        candidate_id,
        NewGoal {
            title: "Finde et deltidsjob i en butik".into(),
            description: Some("Gerne tæt på hvor jeg bor.".into()),
            category: Category::Job,
            target_date: None,
            steps: vec![
                "Skrive mit CV".into(),
                "Besøge to butikker".into(),
                "Søge ét job".into(),
            ],
        },
    )
    .await?;
    let done = StepChange {
        done: Some(true),
        ..Default::default()
    };
    goals::update_step(
        db,
        &me,
        candidate_id,
        own.goal.id,
        own.steps[0].id,
        None,
        done,
    )
    .await?;
    let proposal = NewGoal {
        title: "Prøve netværksgruppen om torsdagen".into(),
        description: None,
        category: Category::Social,
        target_date: None,
        steps: Vec::new(),
    };
    goals::create(db, &consultant, candidate_id, proposal).await?;
    let tomorrow_ten = (today() + Duration::days(1))
        .and_hms_opt(10, 0, 0)
        .and_then(|t| t.and_local_timezone(chrono_tz::Europe::Copenhagen).single())
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_else(|| chrono::Utc::now() + Duration::days(1));
    for (kind, title, start, location) in [
        (
            Kind::ConsultantMeeting,
            "Snak om CV",
            tomorrow_ten,
            "Jobcenteret, lokale 2",
        ),
        (
            Kind::Employer,
            "Besøg hos Netto",
            tomorrow_ten + Duration::days(7),
            "Netto, Hovedgaden 1",
        ),
    ] {
        let new = NewAppointment {
            kind,
            title: title.into(),
            starts_at: start,
            ends_at: None,
            location: Some(location.into()),
            online_url: None,
            note_for_candidate: None,
        };
        appointments::create(db, &consultant, candidate_id, new).await?;
    }
    let who5 = assignments::NewAssignment {
        questionnaire: QuestionnaireKey::Who5,
        due_at: chrono::Utc::now() - Duration::minutes(5),
        repeat_every_days: Some(14),
    };
    assignments::create(db, &consultant, candidate_id, who5).await?;
    crate::domain::questionnaires::tick(db).await?;
    Ok(())
}

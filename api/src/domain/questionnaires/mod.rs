//! Questionnaires and wellbeing: the built-in instrument definitions (seeded by a migration from
//! `api/instruments/`), the candidates' responses with the scores the server computes, and the
//! wellbeing alert that tells the consultant to get in touch. Assignments and their due dates are in
//! `assignments`; scoring, one pure module per kind of instrument, in `scoring`.
pub mod assignments;
pub mod scoring;

pub use assignments::tick;

use chrono::Utc;
use entity::{
    candidate, questionnaire, questionnaire_answer, questionnaire_band, questionnaire_item,
    questionnaire_option, questionnaire_response, questionnaire_version,
};
use poem_openapi::Enum;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use self::scoring::{Band, Scored, ScoringKind, who5};
use super::{
    DomainError, DomainResult, audit, candidates, events,
    inbox::{self, Audience, Kind},
    pagination::PageRequest,
};
use crate::{
    auth::{Actor, CandidateScope},
    db::Db,
    error::FieldError,
};

/// The built-in questionnaires.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QuestionnaireKey {
    /// WHO-5 Well-Being Index (5 items, 0–5; score 0–100).
    #[oai(rename = "who5")]
    Who5,
    /// Motivation for the programme (3 statements, 0–3; score 0–9).
    #[oai(rename = "motivation")]
    Motivation,
    /// Energy in everyday life to focus on a job or education (1 item, 1–5).
    #[oai(rename = "energy")]
    Energy,
    /// Belief in being able to manage a job (1 item, 1–5).
    #[oai(rename = "self_efficacy")]
    SelfEfficacy,
    /// How often the candidate feels lonely (1 item, 1–5).
    #[oai(rename = "loneliness")]
    Loneliness,
    /// How much mental vulnerability weighed on everyday life, last four weeks (1 item, 1–5).
    #[oai(rename = "burden")]
    Burden,
}

impl QuestionnaireKey {
    pub const ALL: [Self; 6] = [
        Self::Who5,
        Self::Motivation,
        Self::Energy,
        Self::SelfEfficacy,
        Self::Loneliness,
        Self::Burden,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Who5 => "who5",
            Self::Motivation => "motivation",
            Self::Energy => "energy",
            Self::SelfEfficacy => "self_efficacy",
            Self::Loneliness => "loneliness",
            Self::Burden => "burden",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The language questionnaire texts are served in.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename = "QuestionnaireLanguage", rename_all = "snake_case")]
pub enum Language {
    /// Danish (the default).
    Da,
    /// English.
    En,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Da => "da",
            Self::En => "en",
        }
    }

    /// The best of Danish and English by `Accept-Language` (RFC 9110 §12.5.4: the highest `q` wins,
    /// the earlier tag on a tie); Danish when neither is asked for.
    pub fn negotiate(header: Option<&str>) -> Self {
        let mut best: Option<(f32, Self)> = None;
        for part in header.unwrap_or_default().split(',').take(32) {
            let mut bits = part.split(';');
            let tag = bits.next().unwrap_or_default().trim().to_ascii_lowercase();
            let lang = match tag.split('-').next().unwrap_or_default() {
                "da" => Self::Da,
                "en" => Self::En,
                _ => continue,
            };
            let q = bits
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l).unwrap_or(Self::Da)
    }

    /// Picks the text in this language.
    pub fn pick<'a>(self, da: &'a str, en: &'a str) -> &'a str {
        match self {
            Self::Da => da,
            Self::En => en,
        }
    }
}

/// One version of a questionnaire with its items, answers and bands, in order.
#[derive(Clone, Debug)]
pub struct Definition {
    pub kind: ScoringKind,
    pub version: questionnaire_version::Model,
    /// Every version of the questionnaire, oldest first.
    pub versions: Vec<i32>,
    pub items: Vec<questionnaire_item::Model>,
    pub options: Vec<questionnaire_option::Model>,
    pub bands: Vec<questionnaire_band::Model>,
}

impl Definition {
    pub fn key(&self) -> &str {
        &self.version.questionnaire_key
    }

    pub fn bands(&self) -> Vec<Band> {
        self.bands
            .iter()
            .map(|b| Band {
                key: b.band_key.clone(),
                min: b.min_score,
                max: b.max_score,
            })
            .collect()
    }

    fn values(&self) -> Vec<i32> {
        self.options.iter().map(|o| o.value).collect()
    }

    /// The lowest and highest score.
    pub fn score_range(&self) -> (i32, i32) {
        scoring::range(self.kind, self.items.len(), &self.values())
    }
}

/// Loads the definitions of the given questionnaires (all, when `key` is `None`): every version is
/// listed, and `pick` chooses the one to load in full. Five small queries whatever the number.
async fn load<C: ConnectionTrait>(
    db: &C,
    key: Option<&str>,
    pick: impl Fn(&[i32]) -> Option<i32>,
) -> DomainResult<Vec<Definition>> {
    let mut q = questionnaire::Entity::find().order_by_asc(questionnaire::Column::Position);
    let mut v = questionnaire_version::Entity::find()
        .order_by_asc(questionnaire_version::Column::QuestionnaireKey)
        .order_by_asc(questionnaire_version::Column::Version);
    let mut items =
        questionnaire_item::Entity::find().order_by_asc(questionnaire_item::Column::Position);
    let mut options =
        questionnaire_option::Entity::find().order_by_asc(questionnaire_option::Column::Position);
    let mut bands =
        questionnaire_band::Entity::find().order_by_asc(questionnaire_band::Column::Position);
    if let Some(k) = key {
        q = q.filter(questionnaire::Column::Key.eq(k));
        v = v.filter(questionnaire_version::Column::QuestionnaireKey.eq(k));
        items = items.filter(questionnaire_item::Column::QuestionnaireKey.eq(k));
        options = options.filter(questionnaire_option::Column::QuestionnaireKey.eq(k));
        bands = bands.filter(questionnaire_band::Column::QuestionnaireKey.eq(k));
    }
    let questionnaires = q.all(db).await?;
    if questionnaires.is_empty() {
        return Ok(Vec::new());
    }
    let versions = v.all(db).await?;
    let (items, options, bands) = (
        items.all(db).await?,
        options.all(db).await?,
        bands.all(db).await?,
    );
    let mut out = Vec::new();
    for q in questionnaires {
        let mine: Vec<&questionnaire_version::Model> = versions
            .iter()
            .filter(|v| v.questionnaire_key == q.key)
            .collect();
        let numbers: Vec<i32> = mine.iter().map(|v| v.version).collect();
        let Some(chosen) = pick(&numbers) else {
            continue;
        };
        let Some(version) = mine.into_iter().find(|v| v.version == chosen).cloned() else {
            continue;
        };
        let of = |k: &str, n: i32| k == q.key && n == chosen;
        out.push(Definition {
            kind: ScoringKind::parse(&q.kind),
            version,
            versions: numbers,
            items: items
                .iter()
                .filter(|i| of(&i.questionnaire_key, i.version))
                .cloned()
                .collect(),
            options: options
                .iter()
                .filter(|o| of(&o.questionnaire_key, o.version))
                .cloned()
                .collect(),
            bands: bands
                .iter()
                .filter(|b| of(&b.questionnaire_key, b.version))
                .cloned()
                .collect(),
        });
    }
    Ok(out)
}

/// The latest version of every questionnaire, in listing order.
pub async fn definitions<C: ConnectionTrait>(db: &C) -> DomainResult<Vec<Definition>> {
    load(db, None, |v| v.last().copied()).await
}

/// One questionnaire: `version`, or the latest. `NotFound` when either does not exist.
pub async fn definition<C: ConnectionTrait>(
    db: &C,
    key: &str,
    version: Option<i32>,
) -> DomainResult<Definition> {
    load(db, Some(key), |v| match version {
        Some(n) => v.contains(&n).then_some(n),
        None => v.last().copied(),
    })
    .await?
    .into_iter()
    .next()
    .ok_or(DomainError::NotFound)
}

/// Every version of a questionnaire, oldest first.
async fn versions_of<C: ConnectionTrait>(db: &C, key: &str) -> DomainResult<Vec<i32>> {
    Ok(questionnaire_version::Entity::find()
        .filter(questionnaire_version::Column::QuestionnaireKey.eq(key))
        .order_by_asc(questionnaire_version::Column::Version)
        .all(db)
        .await?
        .into_iter()
        .map(|v| v.version)
        .collect())
}

/// Checks the answers against the definition: every item exactly once, each with one of the allowed
/// values. Returns the values in item order, or one error per problem, each naming the item.
pub fn check_answers(
    def: &Definition,
    answers: &[(String, i32)],
) -> Result<Vec<i32>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut values: Vec<Option<i32>> = vec![None; def.items.len()];
    let allowed = def.values();
    let listed = |v: &[i32]| {
        let mut v = v.to_vec();
        v.sort_unstable();
        v.iter().map(i32::to_string).collect::<Vec<_>>().join(", ")
    };
    let key = def.key();
    for (i, (item, value)) in answers.iter().enumerate() {
        let Some(pos) = def.items.iter().position(|it| &it.item_key == item) else {
            let items: Vec<&str> = def.items.iter().map(|it| it.item_key.as_str()).collect();
            errors.push(FieldError::new(
                format!("answers[{i}].item"),
                "invalid_value",
                format!(
                    "`{item}` is not an item of `{key}` version {}; its items are: {}",
                    def.version.version,
                    items.join(", ")
                ),
            ));
            continue;
        };
        if values[pos].is_some() {
            errors.push(FieldError::new(
                format!("answers[{i}].item"),
                "invalid_value",
                format!("`{item}` is answered more than once; answer every item exactly once"),
            ));
            continue;
        }
        if !allowed.contains(value) {
            errors.push(FieldError::new(
                format!("answers[{i}].value"),
                "invalid_value",
                format!("`{item}` takes one of: {}", listed(&allowed)),
            ));
            // Counted as answered, so it is not also reported missing.
            values[pos] = Some(*value);
            continue;
        }
        values[pos] = Some(*value);
    }
    for (it, v) in def.items.iter().zip(&values) {
        if v.is_none() {
            errors.push(FieldError::new(
                "answers",
                "required",
                format!(
                    "item `{}` is not answered; answer every item exactly once",
                    it.item_key
                ),
            ));
        }
    }
    if errors.is_empty() {
        Ok(values.into_iter().flatten().collect())
    } else {
        Err(errors)
    }
}

/// A response with its answers in item order.
#[derive(Clone, Debug)]
pub struct ResponseView {
    pub response: questionnaire_response::Model,
    pub answers: Vec<questionnaire_answer::Model>,
}

/// What the candidate sent.
pub struct NewResponse {
    pub questionnaire: QuestionnaireKey,
    pub version: i32,
    pub answers: Vec<(String, i32)>,
    pub assignment_id: Option<Uuid>,
}

/// A stored response, and whether the candidate should be told, kindly, that their consultant will
/// get in touch.
pub struct Submitted {
    pub view: ResponseView,
    pub follow_up: bool,
}

/// Joins responses with their answers (one query whatever the number).
async fn with_answers<C: ConnectionTrait>(
    db: &C,
    responses: Vec<questionnaire_response::Model>,
) -> DomainResult<Vec<ResponseView>> {
    if responses.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = responses.iter().map(|r| r.id).collect();
    let mut answers = questionnaire_answer::Entity::find()
        .filter(questionnaire_answer::Column::ResponseId.is_in(ids))
        .order_by_asc(questionnaire_answer::Column::ResponseId)
        .order_by_asc(questionnaire_answer::Column::Position)
        .all(db)
        .await?;
    Ok(responses
        .into_iter()
        .map(|r| {
            let (mine, rest): (Vec<_>, Vec<_>) =
                answers.drain(..).partition(|a| a.response_id == r.id);
            answers = rest;
            ResponseView {
                response: r,
                answers: mine,
            }
        })
        .collect())
}

/// The candidate's latest WHO-5 response (for the plan and the fall alert).
pub async fn latest_who5<C: ConnectionTrait>(
    db: &C,
    candidate_id: Uuid,
) -> DomainResult<Option<questionnaire_response::Model>> {
    Ok(questionnaire_response::Entity::find()
        .filter(questionnaire_response::Column::CandidateId.eq(candidate_id))
        .filter(
            questionnaire_response::Column::QuestionnaireKey.eq(QuestionnaireKey::Who5.as_str()),
        )
        .order_by_desc(questionnaire_response::Column::Id)
        .limit(1)
        .one(db)
        .await?)
}

/// The candidate answers a questionnaire. The response completes `assignment_id`, or else the oldest
/// due assignment of that questionnaire, or stands alone. A low WHO-5 (or a fall of 10 or more) raises
/// a `wellbeing.alert` and an inbox item for the consultant, in the same transaction.
pub async fn submit(db: &Db, actor: Actor, new: NewResponse) -> DomainResult<Submitted> {
    let key = new.questionnaire.as_str();
    let def = match definition(db.read(), key, Some(new.version)).await {
        Ok(def) => def,
        Err(DomainError::NotFound) => {
            let versions = versions_of(db.read(), key).await?;
            let listed: Vec<String> = versions.iter().map(i32::to_string).collect();
            return Err(DomainError::field(
                "version",
                "invalid_value",
                format!(
                    "`{key}` has no version {}; its versions are: {}",
                    new.version,
                    listed.join(", ")
                ),
            ));
        }
        Err(e) => return Err(e),
    };
    let values = check_answers(&def, &new.answers).map_err(DomainError::Invalid)?;
    let scored: Scored = scoring::score(def.kind, &values, &def.bands());
    let now = Utc::now();

    let txn = db.begin().await?;
    let c = candidate::Entity::find_by_id(actor.id)
        .one(&txn)
        .await?
        .ok_or(DomainError::NotFound)?;
    let response_id = Uuid::now_v7();
    let assignment =
        assignments::complete(&txn, &c, key, new.assignment_id, response_id, now).await?;
    let alert = if def.kind == ScoringKind::Who5 {
        let previous = latest_who5(&txn, c.id).await?.map(|r| r.score);
        who5::alert(scored.score, previous)
    } else {
        None
    };
    let response = questionnaire_response::ActiveModel {
        id: Set(response_id),
        municipality_id: Set(c.municipality_id),
        candidate_id: Set(c.id),
        questionnaire_key: Set(key.to_string()),
        version: Set(def.version.version),
        assignment_id: Set(assignment.as_ref().map(|a| a.id)),
        raw_score: Set(scored.raw),
        score: Set(scored.score),
        band: Set(scored.band.clone()),
        alert: Set(alert.is_some()),
        submitted_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let mut answers = Vec::new();
    for (position, (item, value)) in def.items.iter().zip(&values).enumerate() {
        answers.push(
            questionnaire_answer::ActiveModel {
                response_id: Set(response_id),
                item_key: Set(item.item_key.clone()),
                position: Set(position as i32),
                value: Set(*value),
            }
            .insert(&txn)
            .await?,
        );
    }
    events::append(
        &txn,
        c.municipality_id,
        "questionnaire_response.submitted",
        json!({
            "candidate_id": c.id, "response_id": response_id, "questionnaire": key,
            "assignment_id": response.assignment_id,
        }),
    )
    .await?;
    if alert.is_some() {
        events::append(
            &txn,
            c.municipality_id,
            "wellbeing.alert",
            json!({"candidate_id": c.id, "response_id": response_id}),
        )
        .await?;
        inbox::add(
            &txn,
            c.municipality_id,
            c.id,
            Kind::WellbeingAlert,
            Some(response_id),
            Audience::Consultant,
        )
        .await?;
    }
    // The candidate is answering again: a "missed two in a row" item has done its job.
    inbox::resolve_for_candidate(&txn, Kind::MissedQuestionnaires, c.id).await?;
    audit::record(
        &txn,
        actor,
        Some(c.municipality_id),
        Some(c.id),
        audit::Action::Create,
        "questionnaire_response",
        Some(response_id),
    )
    .await?;
    txn.commit().await?;
    Ok(Submitted {
        view: ResponseView { response, answers },
        follow_up: alert.is_some(),
    })
}

async fn history<C: ConnectionTrait>(
    db: &C,
    candidate_id: Uuid,
    key: Option<QuestionnaireKey>,
    page: PageRequest,
) -> DomainResult<(Vec<ResponseView>, Option<String>)> {
    let mut q = questionnaire_response::Entity::find()
        .filter(questionnaire_response::Column::CandidateId.eq(candidate_id))
        .order_by_asc(questionnaire_response::Column::Id)
        .limit(page.fetch());
    if let Some(k) = key {
        q = q.filter(questionnaire_response::Column::QuestionnaireKey.eq(k.as_str()));
    }
    if let Some(after) = page.after {
        q = q.filter(questionnaire_response::Column::Id.gt(after));
    }
    let (rows, next) = page.finish(q.all(db).await?, |r| r.id);
    Ok((with_answers(db, rows).await?, next))
}

/// The candidate's own responses, oldest first; optionally one questionnaire.
pub async fn my_history(
    db: &Db,
    candidate_id: Uuid,
    key: Option<QuestionnaireKey>,
    page: PageRequest,
) -> DomainResult<(Vec<ResponseView>, Option<String>)> {
    history(db.read(), candidate_id, key, page).await
}

/// A candidate's responses for their staff, oldest first; the read is audited.
pub async fn history_for_staff(
    db: &Db,
    scope: &CandidateScope,
    actor: Actor,
    candidate_id: Uuid,
    key: Option<QuestionnaireKey>,
    page: PageRequest,
) -> DomainResult<(Vec<ResponseView>, Option<String>)> {
    let c = candidates::find_in_scope(db.read(), scope, candidate_id).await?;
    let out = history(db.read(), c.id, key, page).await?;
    audit::record(
        db.write(),
        actor,
        Some(c.municipality_id),
        Some(c.id),
        audit::Action::Read,
        "questionnaire_response",
        None,
    )
    .await?;
    Ok(out)
}

/// The candidate's questionnaire data for `GET /me/export`: every assignment and every response with
/// its answers and scores.
pub async fn export<C: ConnectionTrait>(
    db: &C,
    candidate_id: Uuid,
) -> DomainResult<serde_json::Value> {
    use entity::questionnaire_assignment as qa;
    let assignments = qa::Entity::find()
        .filter(qa::Column::CandidateId.eq(candidate_id))
        .order_by_asc(qa::Column::Id)
        .all(db)
        .await?;
    let responses = questionnaire_response::Entity::find()
        .filter(questionnaire_response::Column::CandidateId.eq(candidate_id))
        .order_by_asc(questionnaire_response::Column::Id)
        .all(db)
        .await?;
    let responses = with_answers(db, responses).await?;
    Ok(json!({
        "questionnaire_assignments": assignments.iter().map(|a| json!({
            "id": a.id, "questionnaire": a.questionnaire_key, "series_id": a.series_id, "due_at": a.due_at,
            "closes_at": a.closes_at, "repeat_every_days": a.repeat_every_days, "status": a.status,
            "response_id": a.response_id, "created_at": a.created_at, "closed_at": a.closed_at,
        })).collect::<Vec<_>>(),
        "questionnaire_responses": responses.iter().map(|v| json!({
            "id": v.response.id, "questionnaire": v.response.questionnaire_key, "version": v.response.version,
            "assignment_id": v.response.assignment_id, "raw_score": v.response.raw_score,
            "score": v.response.score, "band": v.response.band, "submitted_at": v.response.submitted_at,
            "answers": v.answers.iter().map(|a| json!({"item": a.item_key, "value": a.value})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    }))
}

//! Questionnaires and wellbeing: the built-in instrument definitions (seeded by a migration from
//! `api/instruments/`), the candidates' responses with the scores the server computes, and the
//! wellbeing alert that tells the consultant to get in touch. Assignments and their due dates are in
//! `assignments`; scoring, one pure module per kind of instrument, in `scoring`.
pub mod assignments;
pub mod scoring;

pub use assignments::tick;

use chrono::{SubsecRound, Utc};
pub use entity::types::QuestionnaireKey;
use entity::{
    ids::{AssignmentId, CandidateId, ResponseId},
    questionnaire, questionnaire_answer, questionnaire_band, questionnaire_item,
    questionnaire_option, questionnaire_response, questionnaire_version,
    scoped::CandidateOwned,
    types::{AuditAction, AuditResource, EventType, Language},
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, sea_query::Expr,
};
use serde_json::json;

use self::scoring::{Band, Scored, ScoringKind, who5};
use super::{
    DomainError, DomainResult, FieldError,
    access::{Reach, Reached},
    events,
    inbox::{self, Audience, Kind},
    journal::{self, Subject, Writes},
    pagination::PageRequest,
};
use crate::db::Db;

/// The best of Danish and English by `Accept-Language` (RFC 9110 §12.5.4: the highest `q` wins,
/// the earlier tag on a tie); Danish when neither is asked for.
pub fn negotiate(header: Option<&str>) -> Language {
    let mut best: Option<(f32, Language)> = None;
    for part in header.unwrap_or_default().split(',').take(32) {
        let mut bits = part.split(';');
        let tag = bits.next().unwrap_or_default().trim().to_ascii_lowercase();
        let lang = match tag.split('-').next().unwrap_or_default() {
            "da" => Language::Da,
            "en" => Language::En,
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
    best.map(|(_, l)| l).unwrap_or(Language::Da)
}

/// Picks the text in `lang`.
pub fn pick<'a>(lang: Language, da: &'a str, en: &'a str) -> &'a str {
    match lang {
        Language::Da => da,
        Language::En => en,
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
    pub fn key(&self) -> QuestionnaireKey {
        self.version.questionnaire_key
    }

    pub fn bands(&self) -> Vec<Band> {
        self.bands
            .iter()
            .map(|b| Band {
                key: b.band_key,
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

/// Every row of the instrument tables. Only a migration writes them (they are seeded from
/// `api/instruments/`), so each process reads them once, on first use, instead of five queries per
/// request.
#[derive(Debug, Default)]
pub struct Catalog {
    questionnaires: Vec<questionnaire::Model>,
    versions: Vec<questionnaire_version::Model>,
    items: Vec<questionnaire_item::Model>,
    options: Vec<questionnaire_option::Model>,
    bands: Vec<questionnaire_band::Model>,
}

/// The catalog, read from the database the first time it is needed.
async fn catalog(db: &Db) -> DomainResult<std::sync::Arc<Catalog>> {
    let cached = db
        .instruments()
        .get_or_try_init(|| async {
            let r = db.read();
            let catalog = Catalog {
                questionnaires: questionnaire::Entity::find()
                    .order_by_asc(questionnaire::Column::Position)
                    .all(r)
                    .await?,
                versions: questionnaire_version::Entity::find()
                    .order_by_asc(questionnaire_version::Column::QuestionnaireKey)
                    .order_by_asc(questionnaire_version::Column::Version)
                    .all(r)
                    .await?,
                items: questionnaire_item::Entity::find()
                    .order_by_asc(questionnaire_item::Column::Position)
                    .all(r)
                    .await?,
                options: questionnaire_option::Entity::find()
                    .order_by_asc(questionnaire_option::Column::Position)
                    .all(r)
                    .await?,
                bands: questionnaire_band::Entity::find()
                    .order_by_asc(questionnaire_band::Column::Position)
                    .all(r)
                    .await?,
            };
            Ok::<_, DomainError>(std::sync::Arc::new(catalog))
        })
        .await?;
    Ok(std::sync::Arc::clone(cached))
}

/// Assembles the definitions of the given questionnaires (all, when `key` is `None`): every version
/// is listed, and `pick` chooses the one to assemble in full.
async fn load(
    db: &Db,
    key: Option<QuestionnaireKey>,
    pick: impl Fn(&[i32]) -> Option<i32>,
) -> DomainResult<Vec<Definition>> {
    let catalog = catalog(db).await?;
    let mut out = Vec::new();
    for q in catalog
        .questionnaires
        .iter()
        .filter(|q| key.is_none_or(|k| q.key == k))
    {
        let mine: Vec<&questionnaire_version::Model> = catalog
            .versions
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
        let of = |k: QuestionnaireKey, n: i32| k == q.key && n == chosen;
        out.push(Definition {
            kind: q.kind,
            version,
            versions: numbers,
            items: catalog
                .items
                .iter()
                .filter(|i| of(i.questionnaire_key, i.version))
                .cloned()
                .collect(),
            options: catalog
                .options
                .iter()
                .filter(|o| of(o.questionnaire_key, o.version))
                .cloned()
                .collect(),
            bands: catalog
                .bands
                .iter()
                .filter(|b| of(b.questionnaire_key, b.version))
                .cloned()
                .collect(),
        });
    }
    Ok(out)
}

/// The latest version of every questionnaire, in listing order.
pub async fn definitions(db: &Db) -> DomainResult<Vec<Definition>> {
    load(db, None, |v| v.last().copied()).await
}

/// One questionnaire: `version`, or the latest. `NotFound` when either does not exist.
pub async fn definition(
    db: &Db,
    key: QuestionnaireKey,
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
async fn versions_of(db: &Db, key: QuestionnaireKey) -> DomainResult<Vec<i32>> {
    Ok(catalog(db)
        .await?
        .versions
        .iter()
        .filter(|v| v.questionnaire_key == key)
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
    pub assignment_id: Option<AssignmentId>,
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
    let ids: Vec<ResponseId> = responses.iter().map(|r| r.id).collect();
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

/// The score of the candidate's latest WHO-5 response (the plan's "latest WHO-5", and what the fall
/// alert compares with), as a subquery for `Reach::candidate_with`.
pub fn latest_who5_score(candidate_id: CandidateId) -> Expr {
    questionnaire_response::Entity::secure_find(candidate_id)
        .filter(questionnaire_response::Column::QuestionnaireKey.eq(QuestionnaireKey::Who5))
        .order_by_desc(questionnaire_response::Column::Id)
        .select_only()
        .column(questionnaire_response::Column::Score)
        .limit(1)
        .into_query()
        .into()
}

/// What a submit reads with the candidate, in the same statement.
#[derive(FromQueryResult)]
struct Before {
    /// The oldest due assignment of the questionnaire.
    oldest_due: Option<AssignmentId>,
    /// The latest WHO-5 score.
    previous_who5: Option<i32>,
}

/// The candidate answers a questionnaire. The response completes `assignment_id`, or else the oldest
/// due assignment of that questionnaire, or stands alone. A low WHO-5 (or a fall of 10 or more) raises
/// a `wellbeing.alert` and an inbox item for the consultant, in the same transaction.
pub async fn submit(db: &Db, reach: &Reach, new: NewResponse) -> DomainResult<Submitted> {
    let Reach::Own(me) = reach else {
        return Err(DomainError::Forbidden);
    };
    let key = new.questionnaire;
    let def = match definition(db, key, Some(new.version)).await {
        Ok(def) => def,
        Err(DomainError::NotFound) => {
            let versions = versions_of(db, key).await?;
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
    // Microseconds, as the database keeps it: the response shows what a later read will.
    let now = Utc::now().trunc_subsecs(6);

    let txn = db.begin().await?;
    // The candidate, the assignment this response would complete and the score a WHO-5 is compared
    // with: one request.
    let (c, before): (_, Before) = reach
        .candidate_with(
            &txn,
            me.id,
            [
                ("oldest_due", assignments::oldest_due(me.id, key, now)),
                ("previous_who5", latest_who5_score(me.id)),
            ],
        )
        .await?;
    let response_id = ResponseId::generate();
    let assignment = assignments::complete(
        &txn,
        &c,
        key,
        new.assignment_id,
        before.oldest_due,
        response_id,
        now,
    )
    .await?;
    let alert = if def.kind == ScoringKind::Who5 {
        who5::alert(scored.score, before.previous_who5)
    } else {
        None
    };
    let response = questionnaire_response::Model {
        id: response_id,
        municipality_id: c.municipality_id(),
        candidate_id: c.id(),
        questionnaire_key: key,
        version: def.version.version,
        assignment_id: assignment.as_ref().map(|a| a.id),
        raw_score: scored.raw,
        score: scored.score,
        band: scored.band,
        alert: alert.is_some(),
        submitted_at: now,
    };
    let answers: Vec<questionnaire_answer::Model> = def
        .items
        .iter()
        .zip(&values)
        .enumerate()
        .map(|(position, (item, value))| questionnaire_answer::Model {
            response_id,
            item_key: item.item_key.clone(),
            position: position as i32,
            value: *value,
        })
        .collect();
    // The response, its answers (in one statement), the audit entry and the event go to the
    // database as one request; so does resolving a "missed two in a row" item: the candidate is
    // answering again, so it has done its job.
    let mut writes = Writes::new(txn.get_database_backend());
    writes.push(
        questionnaire_response::Entity::insert(questionnaire_response::ActiveModel::from(
            response.clone(),
        ))
        .as_query(),
    );
    writes.push(
        questionnaire_answer::Entity::insert_many(
            answers
                .iter()
                .map(|a| questionnaire_answer::ActiveModel::from(a.clone())),
        )
        .as_query(),
    );
    inbox::resolve_for_candidate_with(&mut writes, Kind::MissedQuestionnaires, c.id());
    journal::record_with(
        &txn,
        writes,
        c.actor(),
        &Subject::of(&c, AuditResource::QuestionnaireResponse, response_id),
        Some((
            EventType::QuestionnaireResponseSubmitted,
            json!({
                "candidate_id": c.id(), "response_id": response_id, "questionnaire": key,
                "assignment_id": response.assignment_id,
            }),
        )),
        AuditAction::Create,
    )
    .await?;
    if alert.is_some() {
        events::append(
            &txn,
            c.municipality_id(),
            EventType::WellbeingAlert,
            json!({"candidate_id": c.id(), "response_id": response_id}),
        )
        .await?;
        inbox::add(
            &txn,
            c.municipality_id(),
            c.id(),
            Kind::WellbeingAlert,
            Some(response_id.0),
            Audience::Consultant,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(Submitted {
        view: ResponseView { response, answers },
        follow_up: alert.is_some(),
    })
}

/// A candidate's responses, oldest first; optionally one questionnaire. Staff reads are audited.
pub async fn history(
    db: &Db,
    reach: &Reach,
    candidate_id: CandidateId,
    key: Option<QuestionnaireKey>,
    page: PageRequest,
) -> DomainResult<(Vec<ResponseView>, Option<String>)> {
    let c: Reached = reach.candidate(db.read(), candidate_id).await?;
    let mut q = c
        .rows::<questionnaire_response::Entity>()
        .order_by_asc(questionnaire_response::Column::Id);
    if let Some(k) = key {
        q = q.filter(questionnaire_response::Column::QuestionnaireKey.eq(k));
    }
    if let Some(after) = page.after {
        q = q.filter(questionnaire_response::Column::Id.gt(after));
    }
    let (rows, next) = page.read(q, db.read(), |r| r.id.0).await?;
    let out = (with_answers(db.read(), rows).await?, next);
    if c.through_scope() {
        let subject = Subject::candidate(
            c.municipality_id(),
            c.id(),
            AuditResource::QuestionnaireResponse,
            None,
        );
        journal::read(db.write(), c.actor(), &subject).await?;
    }
    Ok(out)
}

/// The candidate's questionnaire data for `GET /me/export`: every assignment and every response with
/// its answers and scores.
pub async fn export<C: ConnectionTrait>(
    db: &C,
    candidate_id: CandidateId,
) -> DomainResult<serde_json::Value> {
    use entity::questionnaire_assignment as qa;
    let assignments = qa::Entity::secure_find(candidate_id)
        .order_by_asc(qa::Column::Id)
        .all(db)
        .await?;
    let responses = questionnaire_response::Entity::secure_find(candidate_id)
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

//! Questionnaires: the public definitions, staff assignments, the candidate's answers and history,
//! and the staff view of a candidate's responses.
use chrono::{DateTime, Utc};
use entity::{
    ids::{AssignmentId, CandidateId, ResponseId, StaffId},
    questionnaire_assignment,
    types::{CourseStatus, Language, WellbeingBand},
};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Header, Path, Query},
    payload::Json,
};

use super::{
    Tag,
    common::{Cursor, IfMatch, Limit, Page, etag, expected, page, versioned_response},
};
use crate::{
    auth::BearerAuth,
    body::Body,
    domain::{
        DomainError,
        questionnaires::{
            self, Definition, NewResponse, QuestionnaireKey, ResponseView,
            assignments::{self, AssignmentStatus, NewAssignment},
            negotiate, pick,
            scoring::ScoringKind,
        },
    },
    error::ApiResult,
    state::AppState,
};

/// An interoperable code of a questionnaire (e.g. SNOMED CT for WHO-5) or a local one.
#[derive(Object, Debug)]
pub struct QuestionnaireCode {
    /// The code system, e.g. `http://snomed.info/sct`, or `urn:ips-ung:questionnaire` for local codes.
    pub system: String,
    /// The code within the system.
    pub code: String,
    /// What the code means.
    pub display: String,
}

/// One item (question or statement).
#[derive(Object, Debug)]
pub struct QuestionnaireItem {
    /// The item's id, used in answers (e.g. `cheerful`).
    pub id: String,
    /// The wording, exactly as in the instrument.
    pub text: String,
}

/// One answer every item takes.
#[derive(Object, Debug)]
pub struct QuestionnaireOption {
    /// The value sent in answers.
    pub value: i32,
    /// The wording, exactly as in the instrument.
    pub label: String,
}

/// A score band (WHO-5: `very_low` under 36, `at_risk` 36–50, `good` over 50).
#[derive(Object, Debug)]
pub struct QuestionnaireBand {
    /// The band's key, as in a response's `band`.
    pub key: WellbeingBand,
    /// The lowest score in the band.
    pub min_score: i32,
    /// The highest score in the band.
    pub max_score: i32,
    /// The instrument's name for the band (staff wording; not meant to be shown to the candidate as a verdict).
    pub label: String,
}

/// A questionnaire definition (one version) in one language.
#[derive(Object, Debug)]
pub struct Questionnaire {
    /// The questionnaire's key.
    pub key: QuestionnaireKey,
    /// This version. A new wording is a new version; responses keep the version they answered.
    pub version: i32,
    /// Every version that exists, oldest first.
    pub versions: Vec<i32>,
    /// How it is scored.
    pub kind: ScoringKind,
    /// The language of the texts below.
    pub language: Language,
    /// The questionnaire's name.
    pub name: String,
    /// What to tell the person before the items.
    pub instruction: String,
    /// The period the items ask about (e.g. the last two weeks), if any.
    #[oai(nullable)]
    pub recall_period: Option<String>,
    /// Interoperable codes (WHO-5: SNOMED CT 1144665009), or a local code where none exists.
    pub codes: Vec<QuestionnaireCode>,
    /// The items in order; every one is answered exactly once.
    pub items: Vec<QuestionnaireItem>,
    /// The answers every item takes, in the order to show them.
    pub options: Vec<QuestionnaireOption>,
    /// The lowest possible score.
    pub score_min: i32,
    /// The highest possible score.
    pub score_max: i32,
    /// Score bands (empty when the questionnaire has none).
    pub bands: Vec<QuestionnaireBand>,
}

fn definition(d: Definition, lang: Language) -> Questionnaire {
    let (score_min, score_max) = d.score_range();
    let v = &d.version;
    let codes: Vec<serde_json::Value> = serde_json::from_str(&v.codes).unwrap_or_default();
    let text = |c: &serde_json::Value, k: &str| c[k].as_str().unwrap_or_default().to_string();
    Questionnaire {
        key: v.questionnaire_key,
        version: v.version,
        versions: d.versions.clone(),
        kind: d.kind,
        language: lang,
        name: pick(lang, &v.name_da, &v.name_en).to_string(),
        instruction: pick(lang, &v.instruction_da, &v.instruction_en).to_string(),
        recall_period: match (&v.recall_period_da, &v.recall_period_en) {
            (Some(da), Some(en)) => Some(pick(lang, da, en).to_string()),
            _ => None,
        },
        codes: codes
            .iter()
            .map(|c| QuestionnaireCode {
                system: text(c, "system"),
                code: text(c, "code"),
                display: text(c, "display"),
            })
            .collect(),
        items: d
            .items
            .iter()
            .map(|i| QuestionnaireItem {
                id: i.item_key.clone(),
                text: pick(lang, &i.text_da, &i.text_en).to_string(),
            })
            .collect(),
        options: d
            .options
            .iter()
            .map(|o| QuestionnaireOption {
                value: o.value,
                label: pick(lang, &o.label_da, &o.label_en).to_string(),
            })
            .collect(),
        score_min,
        score_max,
        bands: d
            .bands
            .iter()
            .map(|b| QuestionnaireBand {
                key: b.band_key,
                min_score: b.min_score,
                max_score: b.max_score,
                label: pick(lang, &b.label_da, &b.label_en).to_string(),
            })
            .collect(),
    }
}

/// Every questionnaire (latest versions).
#[derive(Object, Debug)]
pub struct QuestionnaireList {
    /// The questionnaires, in a stable order (WHO-5 first).
    pub items: Vec<Questionnaire>,
}

#[derive(ApiResponse, Debug)]
pub enum QuestionnaireListResponse {
    /// The questionnaires; `Content-Language` says which language the texts are in.
    #[oai(status = 200)]
    Ok(
        Json<QuestionnaireList>,
        #[oai(header = "Content-Language")] String,
        #[oai(header = "Vary")] String,
    ),
}

#[derive(ApiResponse, Debug)]
pub enum QuestionnaireResponse {
    /// The questionnaire; `Content-Language` says which language the texts are in.
    #[oai(status = 200)]
    Ok(
        Json<Questionnaire>,
        #[oai(header = "Content-Language")] String,
        #[oai(header = "Vary")] String,
    ),
}

/// A questionnaire assigned to a candidate: one occurrence (a repeating assignment is a series of them).
#[derive(Object, Debug)]
pub struct QuestionnaireAssignment {
    /// Id.
    pub id: AssignmentId,
    /// The candidate.
    pub candidate_id: CandidateId,
    /// The questionnaire to answer.
    pub questionnaire: QuestionnaireKey,
    /// The series this occurrence belongs to (the first occurrence's id).
    pub series_id: AssignmentId,
    /// When it falls due.
    pub due_at: DateTime<Utc>,
    /// When it closes unanswered: 4 days after `due_at`.
    pub closes_at: DateTime<Utc>,
    /// For a repeating assignment: the days between due dates.
    #[oai(nullable)]
    pub repeat_every_days: Option<i32>,
    /// Where it stands now.
    pub status: AssignmentStatus,
    /// The response that completed it.
    #[oai(nullable)]
    pub response_id: Option<ResponseId>,
    /// When the candidate was told it is due.
    #[oai(nullable)]
    pub notified_at: Option<DateTime<Utc>>,
    /// When the day-2 reminder was sent.
    #[oai(nullable)]
    pub reminded_at: Option<DateTime<Utc>>,
    /// When it was completed, missed, skipped or cancelled.
    #[oai(nullable)]
    pub closed_at: Option<DateTime<Utc>>,
    /// The staff member who assigned it.
    pub created_by: StaffId,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// Version, for `If-Match`.
    pub version: i32,
}

fn assignment(a: questionnaire_assignment::Model, course: CourseStatus) -> QuestionnaireAssignment {
    QuestionnaireAssignment {
        status: AssignmentStatus::of(&a, course, Utc::now()),
        id: a.id,
        candidate_id: a.candidate_id,
        questionnaire: a.questionnaire_key,
        series_id: a.series_id,
        due_at: a.due_at,
        closes_at: a.closes_at,
        repeat_every_days: a.repeat_every_days,
        response_id: a.response_id,
        notified_at: a.notified_at,
        reminded_at: a.reminded_at,
        closed_at: a.closed_at,
        created_by: a.created_by,
        created_at: a.created_at,
        version: a.version,
    }
}

/// A new assignment.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct QuestionnaireAssignmentCreate {
    /// The questionnaire to answer.
    pub questionnaire: QuestionnaireKey,
    /// When it falls due (at most 366 days ahead; in the past only while it would still be open).
    pub due_at: DateTime<Utc>,
    /// Repeat every so many days (7–365), e.g. 14 for WHO-5 every other week; absent: once.
    #[oai(validator(minimum(value = "7"), maximum(value = "365")))]
    pub repeat_every_days: Option<i32>,
}

versioned_response!(AssignmentResponse, QuestionnaireAssignment, "assignment");

/// A questionnaire the candidate is asked to answer now.
#[derive(Object, Debug)]
pub struct DueQuestionnaire {
    /// The assignment; send it as `assignment_id` with the answers.
    pub assignment_id: AssignmentId,
    /// The questionnaire.
    pub questionnaire: QuestionnaireKey,
    /// The version to answer (the latest).
    pub version: i32,
    /// The questionnaire's name in the requested language.
    pub name: String,
    /// When it fell due.
    pub due_at: DateTime<Utc>,
    /// The last moment to answer it.
    pub closes_at: DateTime<Utc>,
}

/// The questionnaires the candidate is asked to answer now.
#[derive(Object, Debug)]
pub struct DueQuestionnaireList {
    /// Due questionnaires, the one due longest first. Empty while the course is paused.
    pub items: Vec<DueQuestionnaire>,
}

/// One answer in a submission.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct QuestionnaireAnswerCreate {
    /// The item's id (see the questionnaire's `items`).
    #[oai(validator(min_length = 1, max_length = 40))]
    pub item: String,
    /// The chosen answer's `value` (see the questionnaire's `options`). A value the item does not
    /// offer is refused naming the item.
    pub value: i32,
}

/// The candidate's answers to a questionnaire.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct QuestionnaireResponseCreate {
    /// The questionnaire.
    pub questionnaire: QuestionnaireKey,
    /// The version answered (it must exist).
    #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
    pub version: i32,
    /// Every item answered exactly once, with one of the questionnaire's values.
    #[oai(validator(min_items = 1, max_items = 50))]
    pub answers: Vec<QuestionnaireAnswerCreate>,
    /// The assignment this answers (it must be due); absent: the oldest due assignment of the
    /// questionnaire, if any.
    pub assignment_id: Option<AssignmentId>,
}

/// One answer of a response.
#[derive(Object, Debug)]
pub struct QuestionnaireAnswer {
    /// The item's id.
    pub item: String,
    /// The value chosen.
    pub value: i32,
}

/// A short, kind message for the candidate, in both languages.
#[derive(Object, Debug)]
pub struct QuestionnaireFollowUp {
    /// In Danish.
    pub da: String,
    /// In English.
    pub en: String,
}

/// The candidate's own response.
#[derive(Object, Debug)]
pub struct MyQuestionnaireResponse {
    /// Id.
    pub id: ResponseId,
    /// The questionnaire.
    pub questionnaire: QuestionnaireKey,
    /// The version answered.
    pub version: i32,
    /// The assignment it completed, if any.
    #[oai(nullable)]
    pub assignment_id: Option<AssignmentId>,
    /// The answers, in item order.
    pub answers: Vec<QuestionnaireAnswer>,
    /// The raw score (WHO-5: the sum, 0–25).
    pub raw_score: i32,
    /// The score (WHO-5: raw × 4, 0–100; motivation 0–9; single items 1–5).
    pub score: i32,
    /// The score band's key (WHO-5: `very_low`, `at_risk`, `good`); `null` without bands.
    #[oai(nullable)]
    pub band: Option<WellbeingBand>,
    /// When it was answered.
    pub submitted_at: DateTime<Utc>,
    /// Only in the answer to a submission, when the consultant will get in touch: a short, kind message
    /// for the portal to show. `null` otherwise.
    #[oai(nullable)]
    pub follow_up: Option<QuestionnaireFollowUp>,
}

fn answers(v: &ResponseView) -> Vec<QuestionnaireAnswer> {
    v.answers
        .iter()
        .map(|a| QuestionnaireAnswer {
            item: a.item_key.clone(),
            value: a.value,
        })
        .collect()
}

fn mine(v: ResponseView, follow_up: bool) -> MyQuestionnaireResponse {
    let list = answers(&v);
    let r = v.response;
    MyQuestionnaireResponse {
        id: r.id,
        questionnaire: r.questionnaire_key,
        version: r.version,
        assignment_id: r.assignment_id,
        answers: list,
        raw_score: r.raw_score,
        score: r.score,
        band: r.band,
        submitted_at: r.submitted_at,
        follow_up: follow_up.then(|| QuestionnaireFollowUp {
            da: "Tak for dine svar. Din konsulent kontakter dig snart for at høre, hvordan du har det."
                .into(),
            en: "Thank you for your answers. Your consultant will get in touch soon to hear how you are doing."
                .into(),
        }),
    }
}

#[derive(ApiResponse, Debug)]
pub enum SubmitResponse {
    /// Stored, with the scores the server computed.
    #[oai(status = 201)]
    Created(Json<MyQuestionnaireResponse>),
}

/// A candidate's response, for their staff.
#[derive(Object, Debug)]
pub struct QuestionnaireResponseRecord {
    /// Id.
    pub id: ResponseId,
    /// The candidate.
    pub candidate_id: CandidateId,
    /// The questionnaire.
    pub questionnaire: QuestionnaireKey,
    /// The version answered.
    pub version: i32,
    /// The assignment it completed, if any.
    #[oai(nullable)]
    pub assignment_id: Option<AssignmentId>,
    /// The answers, in item order.
    pub answers: Vec<QuestionnaireAnswer>,
    /// The raw score (WHO-5: the sum, 0–25).
    pub raw_score: i32,
    /// The score (WHO-5: raw × 4, 0–100; motivation 0–9; single items 1–5).
    pub score: i32,
    /// The score band's key (WHO-5: `very_low`, `at_risk`, `good`); `null` without bands.
    #[oai(nullable)]
    pub band: Option<WellbeingBand>,
    /// Whether it raised a wellbeing alert (WHO-5 ≤ 28, or a fall of 10 or more).
    pub alert: bool,
    /// When it was answered.
    pub submitted_at: DateTime<Utc>,
}

fn record(v: ResponseView) -> QuestionnaireResponseRecord {
    let list = answers(&v);
    let r = v.response;
    QuestionnaireResponseRecord {
        id: r.id,
        candidate_id: r.candidate_id,
        questionnaire: r.questionnaire_key,
        version: r.version,
        assignment_id: r.assignment_id,
        answers: list,
        raw_score: r.raw_score,
        score: r.score,
        band: r.band,
        alert: r.alert,
        submitted_at: r.submitted_at,
    }
}

pub struct QuestionnairesApi;

#[OpenApi(tag = "Tag::Questionnaires")]
impl QuestionnairesApi {
    /// List the questionnaires
    ///
    /// The built-in questionnaires (latest versions) with items, answers, codes and bands, in Danish
    /// (default) or English by `Accept-Language`. Public: no token needed.
    #[oai(
        path = "/questionnaires",
        method = "get",
        operation_id = "listQuestionnaires"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        /// `da` (the default) or `en`, e.g. `en;q=0.9, da;q=0.5`.
        #[oai(name = "Accept-Language", validator(max_length = 200))]
        accept_language: Header<Option<String>>,
    ) -> ApiResult<QuestionnaireListResponse> {
        let lang = negotiate(accept_language.0.as_deref());
        let defs = questionnaires::definitions(&state.db).await?;
        Ok(QuestionnaireListResponse::Ok(
            Json(QuestionnaireList {
                items: defs.into_iter().map(|d| definition(d, lang)).collect(),
            }),
            lang.as_str().into(),
            "Accept-Language".into(),
        ))
    }

    /// Get a questionnaire
    ///
    /// One questionnaire: the latest version, or `version`. Item and answer wording is exactly the
    /// instrument's (WHO-5: the official Danish and English wording). Public: no token needed.
    #[oai(
        path = "/questionnaires/:key",
        method = "get",
        operation_id = "getQuestionnaire"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        /// The questionnaire's key, e.g. `who5`.
        #[oai(validator(max_length = 40))]
        key: Path<String>,
        /// An older version; default the latest.
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        version: Query<Option<i32>>,
        /// `da` (the default) or `en`, e.g. `en;q=0.9, da;q=0.5`.
        #[oai(name = "Accept-Language", validator(max_length = 200))]
        accept_language: Header<Option<String>>,
    ) -> ApiResult<QuestionnaireResponse> {
        let lang = negotiate(accept_language.0.as_deref());
        let key = QuestionnaireKey::parse(&key.0).ok_or(DomainError::NotFound)?;
        let d = questionnaires::definition(&state.db, key, version.0).await?;
        Ok(QuestionnaireResponse::Ok(
            Json(definition(d, lang)),
            lang.as_str().into(),
            "Accept-Language".into(),
        ))
    }

    /// List a candidate's questionnaire assignments
    ///
    /// Staff of the candidate: every occurrence, newest first, with where it stands. The read is written
    /// to the audit log.
    #[oai(
        path = "/candidates/:id/questionnaire-assignments",
        method = "get",
        operation_id = "listCandidateQuestionnaireAssignments"
    )]
    async fn list_assignments(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<CandidateId>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<Limit>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<QuestionnaireAssignment>>> {
        let page = page(limit.0, cursor.0);
        let (rows, c, next_cursor) =
            assignments::list(&state.db, &auth.0.staff_reach()?, id.0, page).await?;
        Ok(Json(Page::of(rows, next_cursor, |a| {
            assignment(a, c.status)
        })))
    }

    /// Assign a questionnaire
    ///
    /// Staff ask the candidate to answer a questionnaire from `due_at`, once or every
    /// `repeat_every_days`. It stays open 4 days, with a reminder on day 2; nothing falls due while the
    /// course is paused. One open assignment per questionnaire (409 names it).
    #[oai(
        path = "/candidates/:id/questionnaire-assignments",
        method = "post",
        operation_id = "createCandidateQuestionnaireAssignment"
    )]
    async fn create_assignment(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<CandidateId>,
        body: Body<QuestionnaireAssignmentCreate>,
    ) -> ApiResult<AssignmentResponse> {
        let new = NewAssignment {
            questionnaire: body.0.questionnaire,
            due_at: body.0.due_at,
            repeat_every_days: body.0.repeat_every_days,
        };
        let (a, c) = assignments::create(&state.db, &auth.0.staff_reach()?, id.0, new).await?;
        let path = format!(
            "/api/v1/candidates/{}/questionnaire-assignments/{}",
            c.id, a.id
        );
        let a = assignment(a, c.status);
        let tag = etag(a.version);
        Ok(AssignmentResponse::Created(Json(a), tag, path))
    }

    /// Get a questionnaire assignment
    ///
    /// Staff of the candidate. The read is written to the audit log.
    #[oai(
        path = "/candidates/:id/questionnaire-assignments/:assignment_id",
        method = "get",
        operation_id = "getCandidateQuestionnaireAssignment"
    )]
    async fn get_assignment(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<CandidateId>,
        assignment_id: Path<AssignmentId>,
    ) -> ApiResult<AssignmentResponse> {
        let (a, c) =
            assignments::get(&state.db, &auth.0.staff_reach()?, id.0, assignment_id.0).await?;
        let a = assignment(a, c.status);
        let tag = etag(a.version);
        Ok(AssignmentResponse::Ok(Json(a), tag))
    }

    /// Cancel a questionnaire assignment
    ///
    /// Staff cancel an open assignment; a repeating one stops. A closed one is 409.
    #[oai(
        path = "/candidates/:id/questionnaire-assignments/:assignment_id/cancel",
        method = "post",
        operation_id = "cancelCandidateQuestionnaireAssignment"
    )]
    async fn cancel_assignment(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<CandidateId>,
        assignment_id: Path<AssignmentId>,
        /// The ETag you read; a stale one is refused with 412.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<IfMatch>>,
    ) -> ApiResult<AssignmentResponse> {
        let reach = auth.0.staff_reach()?;
        let expected = expected(if_match_header.0);
        let (a, c) =
            assignments::cancel(&state.db, &reach, id.0, assignment_id.0, expected).await?;
        let a = assignment(a, c.status);
        let tag = etag(a.version);
        Ok(AssignmentResponse::Ok(Json(a), tag))
    }

    /// My due questionnaires
    ///
    /// The questionnaires the candidate is asked to answer now (due and not yet answered or closed),
    /// with names in Danish (default) or English by `Accept-Language`. Empty while the course is paused.
    #[oai(
        path = "/me/questionnaires",
        method = "get",
        operation_id = "listMyDueQuestionnaires"
    )]
    async fn my_due(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// `da` (the default) or `en`, e.g. `en;q=0.9, da;q=0.5`.
        #[oai(name = "Accept-Language", validator(max_length = 200))]
        accept_language: Header<Option<String>>,
    ) -> ApiResult<Json<DueQuestionnaireList>> {
        let lang = negotiate(accept_language.0.as_deref());
        let due = assignments::my_due(&state.db, &auth.0.candidate_reach()?).await?;
        let defs = if due.is_empty() {
            Vec::new()
        } else {
            questionnaires::definitions(&state.db).await?
        };
        let items = due
            .into_iter()
            .filter_map(|a| {
                let d = defs.iter().find(|d| d.key() == a.questionnaire_key)?;
                Some(DueQuestionnaire {
                    assignment_id: a.id,
                    questionnaire: a.questionnaire_key,
                    version: d.version.version,
                    name: pick(lang, &d.version.name_da, &d.version.name_en).to_string(),
                    due_at: a.due_at,
                    closes_at: a.closes_at,
                })
            })
            .collect();
        Ok(Json(DueQuestionnaireList { items }))
    }

    /// QuestionnaireAnswer a questionnaire
    ///
    /// The candidate sends every item's answer exactly once; a missing, repeated or unknown item, a value
    /// the questionnaire does not offer, or a version that does not exist is 400 naming the item
    /// (`answers[2].value`) or field. The server computes `raw_score`, `score` and `band`. The response
    /// completes `assignment_id` (or the oldest due assignment of the questionnaire) and is never
    /// changed afterwards. When the consultant will get in touch, `follow_up` says so kindly.
    #[oai(
        path = "/me/questionnaire-responses",
        method = "post",
        operation_id = "createMyQuestionnaireResponse"
    )]
    async fn submit(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Body<QuestionnaireResponseCreate>,
    ) -> ApiResult<SubmitResponse> {
        let reach = auth.0.candidate_reach()?;
        let b = body.0;
        let new = NewResponse {
            questionnaire: b.questionnaire,
            version: b.version,
            answers: b.answers.into_iter().map(|a| (a.item, a.value)).collect(),
            assignment_id: b.assignment_id,
        };
        let s = questionnaires::submit(&state.db, &reach, new).await?;
        Ok(SubmitResponse::Created(Json(mine(s.view, s.follow_up))))
    }

    /// My questionnaire history
    ///
    /// The candidate's own responses, oldest first (e.g. WHO-5 over time); optionally one questionnaire.
    #[oai(
        path = "/me/questionnaire-responses",
        method = "get",
        operation_id = "listMyQuestionnaireResponses"
    )]
    async fn my_history(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// Only responses to this questionnaire.
        questionnaire: Query<Option<QuestionnaireKey>>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<Limit>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<MyQuestionnaireResponse>>> {
        let me = auth.0.candidate_self()?;
        let page = page(limit.0, cursor.0);
        let reach = auth.0.candidate_reach()?;
        let (rows, next_cursor) =
            questionnaires::history(&state.db, &reach, me.id, questionnaire.0, page).await?;
        Ok(Json(Page::of(rows, next_cursor, |v| mine(v, false))))
    }

    /// List a candidate's questionnaire responses
    ///
    /// Staff of the candidate: answers, scores and bands, oldest first; optionally one questionnaire.
    /// Never for service accounts. The read is written to the audit log.
    #[oai(
        path = "/candidates/:id/questionnaire-responses",
        method = "get",
        operation_id = "listCandidateQuestionnaireResponses"
    )]
    async fn staff_history(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<CandidateId>,
        /// Only responses to this questionnaire.
        questionnaire: Query<Option<QuestionnaireKey>>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<Limit>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<QuestionnaireResponseRecord>>> {
        let page = page(limit.0, cursor.0);
        let reach = auth.0.staff_reach()?;
        let (rows, next_cursor) =
            questionnaires::history(&state.db, &reach, id.0, questionnaire.0, page).await?;
        Ok(Json(Page::of(rows, next_cursor, record)))
    }
}

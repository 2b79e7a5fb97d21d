//! Disclosure: how much the consultant may tell an employer or school, the candidate's choice.
use chrono::{DateTime, Utc};
use entity::{disclosure as row, ids::CandidateId};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Header, Path},
    payload::Json,
};

use super::{
    Tag,
    common::{IfMatch, etag, expected},
};
use crate::{
    auth::BearerAuth,
    body::Body,
    domain::disclosure::{self, DisclosureLevel},
    error::ApiResult,
    state::AppState,
};

/// One disclosure choice.
#[derive(Object, Debug)]
pub struct DisclosureEntry {
    /// The level chosen.
    pub level: DisclosureLevel,
    /// The candidate's note, e.g. what not to mention.
    #[oai(nullable)]
    pub note: Option<String>,
    /// When it was chosen.
    pub at: DateTime<Utc>,
}

/// How much the consultant may tell an employer or school: the candidate's choice.
#[derive(Object, Debug)]
pub struct Disclosure {
    /// The level in force; `none` until the candidate chooses.
    pub level: DisclosureLevel,
    /// The note with the level in force.
    #[oai(nullable)]
    pub note: Option<String>,
    /// When the level in force was chosen.
    #[oai(nullable)]
    pub updated_at: Option<DateTime<Utc>>,
    /// Version (the number of choices made), for `If-Match`.
    pub version: i32,
    /// Every choice, oldest first.
    pub history: Vec<DisclosureEntry>,
}

fn disclosure_of(history: Vec<row::Model>) -> Disclosure {
    let last = history.last().cloned();
    Disclosure {
        level: last.as_ref().map_or(DisclosureLevel::None, |d| d.level),
        note: last.as_ref().and_then(|d| d.note.clone()),
        updated_at: last.map(|d| d.at),
        version: history.len() as i32,
        history: history
            .into_iter()
            .map(|d| DisclosureEntry {
                level: d.level,
                note: d.note,
                at: d.at,
            })
            .collect(),
    }
}

/// The candidate's disclosure choice.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct DisclosurePut {
    /// `none`, `participation`, `support_needs` or `health_details`.
    pub level: DisclosureLevel,
    /// A note, e.g. what not to mention (up to 1000 characters).
    #[oai(validator(min_length = 1, max_length = 1000))]
    pub note: Option<String>,
}

#[derive(ApiResponse, Debug)]
pub enum DisclosureResponse {
    /// The disclosure choice; `ETag` carries its version for `If-Match`.
    #[oai(status = 200)]
    Ok(Json<Disclosure>, #[oai(header = "ETag")] String),
}

fn disclosure_response(history: Vec<row::Model>) -> DisclosureResponse {
    let d = disclosure_of(history);
    let tag = etag(d.version);
    DisclosureResponse::Ok(Json(d), tag)
}

pub struct DisclosureApi;

#[OpenApi(tag = "Tag::Requests")]
impl DisclosureApi {
    /// My disclosure choice
    ///
    /// How much the consultant may tell an employer or school, with every earlier choice. `none` until
    /// the candidate chooses.
    #[oai(
        path = "/me/disclosure",
        method = "get",
        operation_id = "getMyDisclosure"
    )]
    async fn my_disclosure(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> ApiResult<DisclosureResponse> {
        let me = auth.0.candidate_self()?;
        Ok(disclosure_response(
            disclosure::history_of(state.db.read(), me.id).await?,
        ))
    }

    /// Choose what may be disclosed
    ///
    /// The candidate sets the level (`none`, `participation`, `support_needs`, `health_details`) and
    /// can change it at any time. `If-Match` with the ETag guards against a stale screen (412).
    #[oai(
        path = "/me/disclosure",
        method = "put",
        operation_id = "setMyDisclosure"
    )]
    async fn set_disclosure(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The ETag you read; a stale one is refused with 412.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<IfMatch>>,
        body: Body<DisclosurePut>,
    ) -> ApiResult<DisclosureResponse> {
        let reach = auth.0.candidate_reach()?;
        let expected = expected(if_match_header.0);
        let history =
            disclosure::set(&state.db, &reach, expected, body.0.level, body.0.note).await?;
        Ok(disclosure_response(history))
    }

    /// A candidate's disclosure choice
    ///
    /// Staff of the candidate read what they may tell an employer or school. Audited.
    #[oai(
        path = "/candidates/:id/disclosure",
        method = "get",
        operation_id = "getCandidateDisclosure"
    )]
    async fn candidate_disclosure(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<CandidateId>,
    ) -> ApiResult<DisclosureResponse> {
        Ok(disclosure_response(
            disclosure::for_staff(&state.db, &auth.0.staff_reach()?, id.0).await?,
        ))
    }
}

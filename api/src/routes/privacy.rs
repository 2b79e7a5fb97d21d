//! `GET /me/export`, `GET /me/access-log` and the coordinator's `GET /audit`.
use chrono::{DateTime, Utc};
use entity::{
    audit_entry,
    ids::CandidateId,
    types::{AuditAction, AuditResource},
};
use poem::web::Data;
use poem_openapi::{ApiResponse, Object, OpenApi, param::Query, payload::Json, types::Any};
use uuid::Uuid;

use super::{
    Tag,
    common::{Cursor, Limit, Page, page},
};
use crate::{
    auth::{BearerAuth, Reach, Role},
    domain::privacy,
    error::{ApiError, ApiResult},
    state::AppState,
};

/// One look at, or change of, the candidate's data.
#[derive(Object, Debug)]
pub struct AccessEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// The role of who did it (the candidate sees roles, not names).
    pub role: Role,
    /// `read`, `create`, `update` or `delete`.
    pub action: AuditAction,
    /// What was looked at or changed, e.g. `candidate`, `goal`, `request`, `disclosure`.
    pub resource: AuditResource,
}

/// One audit entry.
#[derive(Object, Debug)]
pub struct AuditEntry {
    /// Id.
    pub id: Uuid,
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub actor_id: Uuid,
    /// Their role.
    pub actor_role: Role,
    /// `read`, `create`, `update` or `delete`.
    pub action: AuditAction,
    /// What kind of data.
    pub resource: AuditResource,
    /// Which item, where there is one.
    #[oai(nullable)]
    pub resource_id: Option<Uuid>,
    /// The request id of the HTTP request that did it.
    #[oai(nullable)]
    pub request_id: Option<String>,
}

impl From<audit_entry::Model> for AuditEntry {
    fn from(a: audit_entry::Model) -> Self {
        Self {
            id: a.id,
            at: a.at,
            actor_id: a.actor_id,
            actor_role: a.actor_role,
            action: a.action,
            resource: a.resource,
            resource_id: a.resource_id,
            request_id: a.request_id,
        }
    }
}

#[derive(ApiResponse, Debug)]
pub enum ExportResponse {
    /// Everything stored about the candidate, as one JSON document (offered as a download).
    #[oai(status = 200)]
    Ok(
        Json<Any<serde_json::Value>>,
        #[oai(header = "Content-Disposition")] String,
    ),
}

pub struct PrivacyApi;

#[OpenApi(tag = "Tag::Privacy")]
impl PrivacyApi {
    /// Export my data
    ///
    /// Everything stored about the candidate — profile, courses and their history, goals, requests,
    /// disclosure choices, notifications, who looked at the data, and the features' own data — as one
    /// JSON document. Candidates only.
    #[oai(path = "/me/export", method = "get", operation_id = "exportMyData")]
    async fn export(&self, state: Data<&AppState>, auth: BearerAuth) -> ApiResult<ExportResponse> {
        let doc = privacy::export(&state.db, &auth.0.candidate_reach()?).await?;
        Ok(ExportResponse::Ok(
            Json(Any(doc)),
            "attachment; filename=\"ips-ung-mine-data.json\"".into(),
        ))
    }

    /// Who has looked at my data
    ///
    /// When the candidate's data was looked at or changed, by which role and what kind of data, newest
    /// first (GDPR art. 15).
    #[oai(
        path = "/me/access-log",
        method = "get",
        operation_id = "getMyAccessLog"
    )]
    async fn access_log(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<Limit>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<AccessEntry>>> {
        let me = auth.0.candidate_self()?;
        let page = page(limit.0, cursor.0);
        let (items, next_cursor) =
            privacy::audit_log(&state.db, &Reach::Own(me), me.id, page).await?;
        let items = items
            .into_iter()
            .map(|a| AccessEntry {
                at: a.at,
                role: a.actor_role,
                action: a.action,
                resource: a.resource,
            })
            .collect();
        Ok(Json(Page { items, next_cursor }))
    }

    /// The audit log of a candidate
    ///
    /// Coordinators: who read or changed what about the candidate, and when, newest first. Reading it is
    /// audited too.
    #[oai(path = "/audit", method = "get", operation_id = "getAudit")]
    async fn audit(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The candidate (required).
        candidate_id: Query<Option<CandidateId>>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<Limit>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<AuditEntry>>> {
        let scope = auth.0.coordinator()?;
        let candidate_id = candidate_id
            .0
            .ok_or_else(|| ApiError::field("candidate_id", "required", "is required"))?;
        let page = page(limit.0, cursor.0);
        let reach = Reach::Scoped(auth.0.actor(), scope);
        let (items, next_cursor) =
            privacy::audit_log(&state.db, &reach, candidate_id, page).await?;
        Ok(Json(Page::of(items, next_cursor, Into::into)))
    }
}

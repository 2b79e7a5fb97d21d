//! `GET /me/export`, `GET /me/access-log` and the coordinator's `GET /audit`.
use chrono::{DateTime, Utc};
use entity::audit_entry;
use poem::web::Data;
use poem_openapi::{ApiResponse, Object, OpenApi, param::Query, payload::Json, types::Any};
use uuid::Uuid;

use super::Tag;
use crate::{
    auth::{BearerAuth, Role},
    domain::{pagination::PageRequest, privacy},
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
    pub action: String,
    /// What was looked at or changed, e.g. `candidate`, `goal`, `request`, `disclosure`.
    pub resource: String,
}

/// A page of the candidate's access log.
#[derive(Object, Debug)]
pub struct AccessLog {
    /// Entries, newest first.
    pub items: Vec<AccessEntry>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
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
    pub action: String,
    /// What kind of data.
    pub resource: String,
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
            actor_role: Role::parse(&a.actor_role).unwrap_or(Role::Coordinator),
            action: a.action,
            resource: a.resource,
            resource_id: a.resource_id,
            request_id: a.request_id,
        }
    }
}

/// A page of the audit log.
#[derive(Object, Debug)]
pub struct AuditList {
    /// Entries, newest first.
    pub items: Vec<AuditEntry>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
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
        let (id, _) = auth.0.candidate_self()?;
        let doc = privacy::export(&state.db, id).await?;
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
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        #[oai(validator(max_length = 100))]
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<AccessLog>> {
        let (id, _) = auth.0.candidate_self()?;
        let page = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let (items, next_cursor) = privacy::access_log(&state.db, id, page).await?;
        let items = items
            .into_iter()
            .map(|a| AccessEntry {
                at: a.at,
                role: Role::parse(&a.actor_role).unwrap_or(Role::Coordinator),
                action: a.action,
                resource: a.resource,
            })
            .collect();
        Ok(Json(AccessLog { items, next_cursor }))
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
        candidate_id: Query<Option<Uuid>>,
        /// Page size, 1–200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        #[oai(validator(max_length = 100))]
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<AuditList>> {
        if auth.0.role != Role::Coordinator {
            return Err(ApiError::forbidden());
        }
        let scope = auth.0.staff()?;
        let candidate_id = candidate_id
            .0
            .ok_or_else(|| ApiError::field("candidate_id", "required", "is required"))?;
        let page = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let (items, next_cursor) =
            privacy::audit_for(&state.db, &scope, auth.0.actor(), candidate_id, page).await?;
        Ok(Json(AuditList {
            items: items.into_iter().map(Into::into).collect(),
            next_cursor,
        }))
    }
}

//! The staff inbox: what a consultant (and the coordinators) should look at, oldest first.
use chrono::{DateTime, Utc};
use entity::ids::CandidateId;
use poem::web::Data;
use poem_openapi::{Object, OpenApi, param::Query, payload::Json};
use uuid::Uuid;

use super::{
    Tag,
    common::{Cursor, Limit, Page, page},
};
use crate::{
    auth::BearerAuth,
    domain::{
        inbox::{self, Kind},
        requests::{RequestKind, RequestStatus},
    },
    error::ApiResult,
    state::AppState,
};

/// Something to look at in the staff inbox.
#[derive(Object, Debug)]
pub struct InboxItem {
    /// Id.
    pub id: Uuid,
    /// What it is about.
    pub kind: Kind,
    /// The candidate; `null` for an item about no candidate (`webhook_disabled`).
    #[oai(nullable)]
    pub candidate_id: Option<CandidateId>,
    /// The candidate's name; `null` when `candidate_id` is.
    #[oai(nullable)]
    pub candidate_name: Option<String>,
    /// The request, enrollment, response, assignment or webhook it is about; for `check_in_due`, the
    /// job support plan.
    #[oai(nullable)]
    pub ref_id: Option<Uuid>,
    /// Since when it has waited.
    pub created_at: DateTime<Utc>,
    /// How long it has waited, in seconds.
    pub waiting_seconds: i64,
    /// For `request` and `request_overdue`: the request's kind.
    #[oai(nullable)]
    pub request_kind: Option<RequestKind>,
    /// For `request` and `request_overdue`: where the request stands now (`open` or `acknowledged`).
    #[oai(nullable)]
    pub request_status: Option<RequestStatus>,
}

pub struct InboxApi;

#[OpenApi(tag = "Tag::Requests")]
impl InboxApi {
    /// The inbox
    ///
    /// Open pause and stop requests, planned resume dates that have passed and (with questionnaires)
    /// wellbeing alerts and missed questionnaires, job support plans due a check-in
    /// (`check_in_due`, `ref_id` the plan), oldest first, with how long each has waited. A
    /// consultant sees their own caseload; a coordinator the whole municipality, including requests
    /// nobody acknowledged within 2 working days and webhooks disabled after 24 hours of failed
    /// deliveries (`webhook_disabled`, with the webhook's id as `ref_id` and no candidate). Each candidate shown is written to the audit log.
    #[oai(path = "/inbox", method = "get", operation_id = "getInbox")]
    async fn inbox(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<Limit>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<InboxItem>>> {
        let scope = auth.0.staff()?;
        let page = page(limit.0, cursor.0);
        let (items, next_cursor) = inbox::list(&state.db, &scope, auth.0.actor(), page).await?;
        let now = Utc::now();
        let items = items
            .into_iter()
            .map(|i| InboxItem {
                id: i.item.id,
                kind: i.item.kind,
                candidate_id: i.candidate.as_ref().map(|c| c.id),
                candidate_name: i.candidate.map(|c| {
                    format!(
                        "{} {}",
                        c.preferred_name.unwrap_or(c.given_name),
                        c.family_name
                    )
                }),
                ref_id: i.item.ref_id,
                created_at: i.item.created_at,
                waiting_seconds: (now - i.item.created_at).num_seconds().max(0),
                request_kind: i.request.as_ref().map(|r| r.kind),
                request_status: i.request.as_ref().map(|r| r.status),
            })
            .collect();
        Ok(Json(Page { items, next_cursor }))
    }
}

//! `GET /events`: the change feed for municipal systems.
use chrono::{DateTime, Utc};
use entity::types::EventType;
use poem::web::Data;
use poem_openapi::{Object, OpenApi, param::Query, payload::Json, types::Any};
use uuid::Uuid;

use super::{
    Tag,
    common::{Limit, page},
};
use crate::{
    auth::{BearerAuth, Scope},
    domain::events,
    error::ApiResult,
    state::AppState,
};

/// One change. Payloads carry ids and statuses, never answers or free text.
#[derive(Object, Debug)]
pub struct Event {
    /// Position in the municipality's feed; strictly increasing, without gaps in commit order.
    pub seq: i64,
    /// Id of the event.
    pub id: Uuid,
    /// What happened.
    #[oai(rename = "type")]
    pub event_type: EventType,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Ids and statuses of what changed.
    pub payload: Any<serde_json::Value>,
}

/// A page of the feed.
#[derive(Object, Debug)]
pub struct EventList {
    /// Events in `seq` order.
    pub items: Vec<Event>,
    /// Pass as `after` for the next page (the last `seq` here, or your `after` when empty).
    pub next_after: i64,
}

pub struct EventsApi;

#[OpenApi(tag = "Tag::Events")]
impl EventsApi {
    /// Read the change feed
    ///
    /// Events of the caller's municipality with `seq` greater than `after`, oldest first. A reader that
    /// pages with `after` never misses an event, even with several instances writing. Coordinators and
    /// service accounts with `events:read`.
    #[oai(path = "/events", method = "get", operation_id = "listEvents")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// Return events after this `seq` (default 0: from the start).
        #[oai(validator(minimum(value = "0")))]
        after: Query<Option<i64>>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<Limit>>,
    ) -> ApiResult<Json<EventList>> {
        let municipality = auth.0.municipality_reader(Scope::EventsRead)?;
        let after = after.0.unwrap_or(0);
        let rows = events::list(
            state.db.read(),
            municipality,
            after,
            page(limit.0, None).limit,
        )
        .await?;
        let next_after = rows.last().map(|e| e.seq).unwrap_or(after);
        let items = rows
            .into_iter()
            .map(|e| Event {
                seq: e.seq,
                id: e.id,
                event_type: e.event_type,
                occurred_at: e.occurred_at,
                payload: Any(serde_json::from_str(&e.payload).unwrap_or_default()),
            })
            .collect();
        Ok(Json(EventList { items, next_after }))
    }
}

//! The candidate's in-app notifications.
use chrono::{DateTime, Utc};
use entity::{ids::NotificationId, notification, types::NotificationKind};
use poem::web::Data;
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
    types::Any,
};

use super::{
    Tag,
    common::{Cursor, Limit, Page, page},
};
use crate::{auth::BearerAuth, domain::notifications, error::ApiResult, state::AppState};

/// An in-app notification. The portal words it from `kind` and `data`.
#[derive(Object, Debug)]
pub struct Notification {
    /// Id.
    pub id: NotificationId,
    /// What happened.
    pub kind: NotificationKind,
    /// Ids and dates of what it is about.
    pub data: Any<serde_json::Value>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When the candidate read it.
    #[oai(nullable)]
    pub read_at: Option<DateTime<Utc>>,
}

impl From<notification::Model> for Notification {
    fn from(n: notification::Model) -> Self {
        Self {
            id: n.id,
            kind: n.kind,
            data: Any(serde_json::from_str(&n.data).unwrap_or_default()),
            created_at: n.created_at,
            read_at: n.read_at,
        }
    }
}

/// How many notifications were marked read.
#[derive(Object, Debug)]
pub struct ReadAll {
    /// The number that changed.
    pub updated: u64,
}

pub struct NotificationsApi;

#[OpenApi(tag = "Tag::Requests")]
impl NotificationsApi {
    /// My notifications
    ///
    /// Newest first: appointment reminders and changes, questionnaires due, answers to requests.
    #[oai(
        path = "/me/notifications",
        method = "get",
        operation_id = "listMyNotifications"
    )]
    async fn notifications(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// Only unread ones.
        unread: Query<Option<bool>>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<Limit>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<Page<Notification>>> {
        let me = auth.0.candidate_self()?;
        let page = page(limit.0, cursor.0);
        let (items, next_cursor) =
            notifications::list(&state.db, me.id, unread.0.unwrap_or(false), page).await?;
        Ok(Json(Page::of(items, next_cursor, Into::into)))
    }

    /// Mark a notification read
    ///
    /// Marking one that is already read changes nothing.
    #[oai(
        path = "/me/notifications/:notification_id/read",
        method = "post",
        operation_id = "readMyNotification"
    )]
    async fn read_one(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        notification_id: Path<NotificationId>,
    ) -> ApiResult<Json<Notification>> {
        let me = auth.0.candidate_self()?;
        Ok(Json(
            notifications::mark_read(&state.db, me.id, notification_id.0)
                .await?
                .into(),
        ))
    }

    /// Mark every notification read
    ///
    /// Answers with how many changed.
    #[oai(
        path = "/me/notifications/read-all",
        method = "post",
        operation_id = "readAllMyNotifications"
    )]
    async fn read_all(&self, state: Data<&AppState>, auth: BearerAuth) -> ApiResult<Json<ReadAll>> {
        let me = auth.0.candidate_self()?;
        Ok(Json(ReadAll {
            updated: notifications::mark_all_read(&state.db, me.id).await?,
        }))
    }
}

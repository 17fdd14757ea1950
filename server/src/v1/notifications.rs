//! Notifications: what the key's member reads in the app (budget alerts and other news of the
//! org), newest first.

use app::model::alerts::NotificationView;
use app::model::api_keys::Scope;
use app::ssr::notifications;
use axum::response::Response;
use http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::{json, Caller, Problem};

#[derive(Serialize, ToSchema)]
pub struct Notification {
    id: i64,
    title: String,
    /// Plain text; line breaks are part of it.
    body: String,
    /// A path of the web app to open about it (e.g. `/o/acme/admin/budgets`), if any.
    link: Option<String>,
    /// RFC 3339.
    created_at: String,
    /// Marked read (in the app).
    read: bool,
}

impl From<NotificationView> for Notification {
    fn from(n: NotificationView) -> Notification {
        Notification {
            id: n.id,
            title: n.title,
            body: n.body,
            link: n.link,
            created_at: n.created_iso,
            read: !n.unread,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct NotificationList {
    /// The newest 100, newest first.
    data: Vec<Notification>,
}

/// The key's member's newest notifications in the org.
#[utoipa::path(
    get, path = "/v1/notifications", tag = "Notifications", operation_id = "listNotifications",
    responses(
        (status = 200, body = NotificationList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn list(caller: Caller) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Alerts)?;
    let data = notifications::list(&c.ctx)
        .await?
        .into_iter()
        .map(Notification::from)
        .collect();
    Ok(json(StatusCode::OK, &NotificationList { data }))
}

//! Notifications: everyone in the org reads their own; marking them read is theirs to do
//! (support staff, who only look, have none to mark).

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::alerts::NotificationsPage;

#[cfg(feature = "ssr")]
use crate::ssr::{notifications, require, respond, Permission};

#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "load_notifications")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn load_notifications(org: String) -> Result<NotificationsPage, AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Read).await?;
            notifications::page(&ctx).await
        }
        .await,
    )
}

/// Marks every unread notification of the viewer in the org read.
#[server(prefix = "/api", endpoint = "mark_all_notifications_read")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn mark_all_notifications_read(org: String) -> Result<(), AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Use).await?;
            notifications::mark_all_read(&ctx).await?;
            leptos_axum::redirect(&format!(
                "/o/{}/notifications?notice=notifications-read",
                ctx.slug
            ));
            Ok(())
        }
        .await,
    )
}

/// Marks one notification of the viewer in the org read.
#[server(prefix = "/api", endpoint = "mark_notification_read")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org, notification = id), err(level = "debug")))]
pub async fn mark_notification_read(org: String, id: i64) -> Result<(), AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Use).await?;
            notifications::mark_read(&ctx, id).await?;
            leptos_axum::redirect(&format!(
                "/o/{}/notifications?notice=notification-read",
                ctx.slug
            ));
            Ok(())
        }
        .await,
    )
}

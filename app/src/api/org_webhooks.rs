//! Webhooks: the org's owners and admins add endpoints (each one's signing secret is shown
//! once), turn them on or off and delete them; support staff read them and their delivery logs.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::alerts::{NewWebhook, WebhookLogPage, WebhooksPage};

#[cfg(feature = "ssr")]
use crate::ssr::{org_webhooks, require, respond, Permission};

#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "load_webhooks")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn load_webhooks(org: String) -> Result<WebhooksPage, AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Read).await?;
            org_webhooks::page(&ctx).await
        }
        .await,
    )
}

#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "load_webhook_log")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org, webhook = id), err(level = "debug")))]
pub async fn load_webhook_log(org: String, id: i64) -> Result<WebhookLogPage, AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Read).await?;
            org_webhooks::log_page(&ctx, id).await
        }
        .await,
    )
}

/// Adds an endpoint at `url`. The answer holds its signing secret: the only time anyone sees it.
#[server(prefix = "/api", endpoint = "create_webhook")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn create_webhook(org: String, url: String) -> Result<NewWebhook, AppError> {
    respond(
        async {
            // Who may add comes before what was typed: support gets 403, not field errors.
            let ctx = require(&org, Permission::Manage).await?;
            let made = org_webhooks::create(&ctx, &url).await?;
            crate::api::api_keys::show_once();
            Ok(made)
        }
        .await,
    )
}

/// Turns the endpoint `id` on (`active` = `true`) or off (`false`).
#[server(prefix = "/api", endpoint = "set_webhook_active")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org, webhook = id), err(level = "debug")))]
pub async fn set_webhook_active(org: String, id: i64, active: String) -> Result<(), AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Manage).await?;
            let on = match active.as_str() {
                "true" => true,
                "false" => false,
                _ => return Err(AppError::BadRequest("`active` is true or false.".into())),
            };
            org_webhooks::set_active(&ctx, id, on).await?;
            let notice = if on {
                "webhook-enabled"
            } else {
                "webhook-disabled"
            };
            leptos_axum::redirect(&format!("/o/{}/admin/webhooks?notice={notice}", ctx.slug));
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "delete_webhook")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org, webhook = id), err(level = "debug")))]
pub async fn delete_webhook(org: String, id: i64) -> Result<(), AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Manage).await?;
            org_webhooks::delete(&ctx, id).await?;
            leptos_axum::redirect(&format!(
                "/o/{}/admin/webhooks?notice=webhook-deleted",
                ctx.slug
            ));
            Ok(())
        }
        .await,
    )
}

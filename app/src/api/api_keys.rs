//! API keys: the org's owners and admins create them (the secret is shown once) and revoke them;
//! support staff see that they exist.

// A form's fields are a server function's arguments: one checkbox per scope.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::api_keys::{ApiKeysPage, NewKey};

#[cfg(feature = "ssr")]
use crate::ssr::{api_keys, require, respond, Permission};

/// Response header asking the no-JS form handler to render the form's page with this answer
/// instead of redirecting: what it carries is shown once and never stored.
pub const SHOW_ONCE_HEADER: &str = "x-phonehub-show-once";

#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "load_api_keys")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn load_api_keys(org: String) -> Result<ApiKeysPage, AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Read).await?;
            api_keys::page(&ctx).await
        }
        .await,
    )
}

/// Creates a key acting as `acting_as` (a member's user id; the creator when left out) with the
/// ticked scopes. The answer holds the key: the only time anyone sees it.
#[server(prefix = "/api", endpoint = "create_api_key")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn create_api_key(
    org: String,
    name: String,
    acting_as: Option<String>,
    scope_lookups: Option<String>,
    scope_numbers: Option<String>,
    scope_calls: Option<String>,
    scope_messages: Option<String>,
    scope_usage: Option<String>,
    scope_budgets: Option<String>,
    scope_alerts: Option<String>,
) -> Result<NewKey, AppError> {
    let ticked = [
        scope_lookups,
        scope_numbers,
        scope_calls,
        scope_messages,
        scope_usage,
        scope_budgets,
        scope_alerts,
    ]
    .map(|v| v.is_some_and(|v| !v.is_empty()));
    respond(create_inner(org, name, acting_as, ticked).await)
}

#[cfg(feature = "ssr")]
async fn create_inner(
    org: String,
    name: String,
    acting_as: Option<String>,
    ticked: [bool; crate::model::api_keys::Scope::ALL.len()],
) -> Result<NewKey, AppError> {
    let ctx = require(&org, Permission::Manage).await?;
    let request = api_keys::KeyRequest {
        name: &name,
        acting_as: acting_as.as_deref(),
        ticked,
    };
    let key = api_keys::create(&ctx, request).await?;
    show_once();
    Ok(key)
}

/// Marks this answer as one shown once: never cached, and a plain (no-JS) form post renders its
/// page with it instead of redirecting (see `SHOW_ONCE_HEADER`).
#[cfg(feature = "ssr")]
pub(crate) fn show_once() {
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.insert_header(
            http::HeaderName::from_static(SHOW_ONCE_HEADER),
            http::HeaderValue::from_static("1"),
        );
        res.insert_header(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static("no-store"),
        );
    }
}

#[server(prefix = "/api", endpoint = "revoke_api_key")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn revoke_api_key(org: String, id: i64) -> Result<(), AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Manage).await?;
            api_keys::revoke(&ctx, id).await?;
            leptos_axum::redirect(&format!(
                "/o/{}/admin/api-keys?notice=key-revoked",
                ctx.slug
            ));
            Ok(())
        }
        .await,
    )
}

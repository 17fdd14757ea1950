//! API keys: the org's owners and admins create them (the secret is shown once) and revoke them;
//! support staff see that they exist.

// A form's fields are a server function's arguments: one checkbox per scope.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::api_keys::{ApiKeysPage, NewKey};

#[cfg(feature = "ssr")]
use crate::ssr::{db, require, respond, Permission};

/// Response header asking the no-JS form handler to render the form's page with this answer
/// instead of redirecting: what it carries is shown once and never stored.
pub const SHOW_ONCE_HEADER: &str = "x-phonehub-show-once";

/// Active keys an org may hold at once (each has its own request budget).
#[cfg(feature = "ssr")]
const MAX_LIVE_KEYS: i64 = 25;

#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "load_api_keys")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn load_api_keys(org: String) -> Result<ApiKeysPage, AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Read).await?;
            if !ctx.access.oversees() {
                return Err(AppError::Forbidden(
                    "Only the org's owners and admins manage API keys.".into(),
                ));
            }
            let pool = &ctx.state.pool;
            let members = if ctx.access.can_manage() {
                db::orgs::members(pool, ctx.org_id).await?
            } else {
                Vec::new()
            };
            Ok(ApiKeysPage {
                keys: db::api_keys::list(pool, ctx.org_id).await?,
                members,
                me: ctx.user.id,
                org: ctx.view(),
            })
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
) -> Result<NewKey, AppError> {
    let ticked = [
        scope_lookups,
        scope_numbers,
        scope_calls,
        scope_messages,
        scope_usage,
    ]
    .map(|v| v.is_some_and(|v| !v.is_empty()));
    respond(create_inner(org, name, acting_as, ticked).await)
}

#[cfg(feature = "ssr")]
async fn create_inner(
    org: String,
    name: String,
    acting_as: Option<String>,
    ticked: [bool; 5],
) -> Result<NewKey, AppError> {
    use crate::model::api_keys::Scope;
    use crate::model::{parse_name, Access, Role};

    let ctx = require(&org, Permission::Manage).await?;
    let name = parse_name("name", &name, true)?;
    let scopes: Vec<String> = Scope::ALL
        .iter()
        .zip(ticked)
        .filter(|(_, on)| *on)
        .map(|(s, _)| s.as_str().to_string())
        .collect();
    if scopes.is_empty() {
        return Err(AppError::validation(
            "scopes",
            "Tick at least one thing the key may do.",
        ));
    }
    let acting: i64 = match acting_as
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => ctx.user.id,
        Some(a) => a
            .parse()
            .map_err(|_| AppError::validation("acting_as", "Choose the member the key acts as."))?,
    };
    let pool = &ctx.state.pool;
    let Some(role) = db::orgs::role_of(pool, ctx.org_id, acting).await? else {
        return Err(AppError::validation(
            "acting_as",
            "Choose a member of this org.",
        ));
    };
    // A key never does more than its creator could: only owners make keys that act as an owner.
    if role == Role::Owner
        && !matches!(ctx.access, Access::Member(Role::Owner) | Access::Superadmin)
    {
        return Err(AppError::validation(
            "acting_as",
            "Only owners can create a key that acts as an owner.",
        ));
    }
    if db::api_keys::live_count(pool, ctx.org_id).await? >= MAX_LIVE_KEYS {
        return Err(AppError::Conflict(format!(
            "An org can have at most {MAX_LIVE_KEYS} active API keys: revoke one first."
        )));
    }
    let minted = crate::ssr::api_keys::mint();
    let mut tx = pool.begin().await?;
    let id = db::api_keys::create(
        &mut *tx,
        db::api_keys::NewKeyRow {
            org_id: ctx.org_id,
            public_id: &minted.public_id,
            key_sha256: &minted.sha256,
            name: &name,
            scopes: &scopes,
            acting_user_id: acting,
            created_by: ctx.user.id,
        },
    )
    .await?;
    ctx.audit(
        &mut *tx,
        "api_key.created",
        &format!("phk_{}", minted.public_id),
        serde_json::json!({ "name": name, "scopes": scopes, "acting_as": acting }),
    )
    .await?;
    tx.commit().await?;
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
    Ok(NewKey {
        id,
        name,
        key: minted.key,
    })
}

#[server(prefix = "/api", endpoint = "revoke_api_key")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn revoke_api_key(org: String, id: i64) -> Result<(), AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Manage).await?;
            let mut tx = ctx.state.pool.begin().await?;
            let Some(name) = db::api_keys::revoke(&mut *tx, ctx.org_id, id, ctx.user.id).await?
            else {
                return Err(AppError::NotFound);
            };
            ctx.audit(
                &mut *tx,
                "api_key.revoked",
                &id.to_string(),
                serde_json::json!({ "name": name }),
            )
            .await?;
            tx.commit().await?;
            leptos_axum::redirect(&format!(
                "/o/{}/admin/api-keys?notice=key-revoked",
                ctx.slug
            ));
            Ok(())
        }
        .await,
    )
}

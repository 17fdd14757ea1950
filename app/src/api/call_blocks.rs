//! Call blocking: everyone in the org reads the lists (support staff too); owners and admins add
//! and remove entries, block hidden numbers, and block a caller from the call history.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::call_blocks::CallBlockingPage;

#[cfg(feature = "ssr")]
use crate::ssr::{call_blocks, require, respond, Permission};

/// The call-blocking page.
#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "load_call_blocking")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn load_call_blocking(org: String) -> Result<CallBlockingPage, AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Read).await?;
            call_blocks::page(&ctx).await
        }
        .await,
    )
}

/// Adds `number` (a number, or a prefix such as "+1900*") to `list` ("blocked" or
/// "do_not_call"), with an optional note.
#[server(prefix = "/api", endpoint = "add_call_block")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn add_call_block(
    org: String,
    list: String,
    number: String,
    note: Option<String>,
) -> Result<(), AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Manage).await?;
            let list = crate::model::call_blocks::BlockList::parse(&list)
                .ok_or_else(|| AppError::validation("list", "Choose a list."))?;
            call_blocks::add(&ctx, list, &number, note.as_deref().unwrap_or("")).await?;
            leptos_axum::redirect(&format!(
                "/o/{}/admin/call-blocking?notice=call-block-added",
                ctx.slug
            ));
            Ok(())
        }
        .await,
    )
}

/// Removes entry `id` from its list.
#[server(prefix = "/api", endpoint = "remove_call_block")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn remove_call_block(org: String, id: i64) -> Result<(), AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Manage).await?;
            call_blocks::remove(&ctx, id).await?;
            leptos_axum::redirect(&format!(
                "/o/{}/admin/call-blocking?notice=call-block-removed",
                ctx.slug
            ));
            Ok(())
        }
        .await,
    )
}

/// Turns blocking of callers who hide their number on (`block` sent as "on") or off.
#[server(prefix = "/api", endpoint = "set_block_anonymous")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn set_block_anonymous(org: String, block: Option<String>) -> Result<(), AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Manage).await?;
            call_blocks::set_block_anonymous(&ctx, block.as_deref() == Some("on")).await?;
            leptos_axum::redirect(&format!(
                "/o/{}/admin/call-blocking?notice=call-blocking-saved",
                ctx.slug
            ));
            Ok(())
        }
        .await,
    )
}

/// Blocks the caller of inbound call `call` (the call history's Block button), then goes back
/// to the history.
#[server(prefix = "/api", endpoint = "block_caller")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn block_caller(org: String, call: i64) -> Result<(), AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Manage).await?;
            call_blocks::block_caller(&ctx, call).await?;
            leptos_axum::redirect(&format!("/o/{}/calls?notice=caller-blocked", ctx.slug));
            Ok(())
        }
        .await,
    )
}

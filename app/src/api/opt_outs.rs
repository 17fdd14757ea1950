//! The opt-out ledger: everyone in the org reads who is opted out of its texts and why (support
//! staff too); owners and admins add and lift entries they add, import the provider's list and
//! set the STOP, START and HELP replies. CSV import and export are plain routes of the server
//! crate (`/o/{org}/admin/opt-outs/import`, `/o/{org}/admin/opt-outs.csv`).

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::opt_outs::OptOutsPage;

#[cfg(feature = "ssr")]
use crate::ssr::{opt_out_list as opt_outs, require, respond, Permission};

/// The opt-outs page; `search` narrows the entries to numbers containing its digits (and, when
/// it is a whole number, shows that number's history).
#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "load_opt_outs")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn load_opt_outs(org: String, search: Option<String>) -> Result<OptOutsPage, AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Read).await?;
            opt_outs::page(&ctx, search.filter(|s| !s.trim().is_empty())).await
        }
        .await,
    )
}

/// Puts `number` on the org's opt-out list by hand, saying why (`reason`).
#[server(prefix = "/api", endpoint = "add_opt_out")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn add_opt_out(org: String, number: String, reason: String) -> Result<(), AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Manage).await?;
            opt_outs::add(&ctx, &number, &reason).await?;
            leptos_axum::redirect(&format!(
                "/o/{}/admin/opt-outs?notice=opt-out-added",
                ctx.slug
            ));
            Ok(())
        }
        .await,
    )
}

/// Lifts an entry an admin added or imported, saying why (`reason`).
#[server(prefix = "/api", endpoint = "remove_opt_out")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn remove_opt_out(org: String, number: String, reason: String) -> Result<(), AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Manage).await?;
            opt_outs::remove(&ctx, &number, &reason).await?;
            leptos_axum::redirect(&format!(
                "/o/{}/admin/opt-outs?notice=opt-out-removed",
                ctx.slug
            ));
            Ok(())
        }
        .await,
    )
}

/// Saves what the org answers to STOP, START and HELP (empty: the default wording) and the
/// contact its help text names.
#[server(prefix = "/api", endpoint = "save_opt_out_replies")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn save_opt_out_replies(
    org: String,
    help_contact: String,
    stop_reply: String,
    start_reply: String,
    help_reply: String,
) -> Result<(), AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Manage).await?;
            let input = opt_outs::RepliesInput {
                help_contact,
                stop_reply,
                start_reply,
                help_reply,
            };
            opt_outs::save_replies(&ctx, input).await?;
            leptos_axum::redirect(&format!(
                "/o/{}/admin/opt-outs?notice=opt-out-replies-saved",
                ctx.slug
            ));
            Ok(())
        }
        .await,
    )
}

/// Imports the provider's own opt-out list (Amazon SNS) into the org's.
#[server(prefix = "/api", endpoint = "import_provider_opt_outs")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn import_provider_opt_outs(org: String) -> Result<(), AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Manage).await?;
            let done = opt_outs::import_from_provider(&ctx).await?;
            leptos_axum::redirect(&format!(
                "/o/{}/admin/opt-outs?notice=opt-outs-imported&added={}&already={}",
                ctx.slug, done.added, done.already
            ));
            Ok(())
        }
        .await,
    )
}

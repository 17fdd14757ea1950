//! Destinations: everyone in the org reads where calls and texts may go, what was refused and
//! what is paused; owners and admins save the rules and resume paused destinations; support
//! staff read.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::destinations::DestinationsPage;

#[cfg(feature = "ssr")]
use crate::ssr::{destinations, require, respond, Permission};

#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "load_destinations")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn load_destinations(org: String) -> Result<DestinationsPage, AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Read).await?;
            destinations::page(&ctx).await
        }
        .await,
    )
}

/// Saves the org's destination rules: the other `countries` calls and texts may go to (ISO codes
/// separated by commas or spaces; empty: the org's own only), the most a text (`max_sms`) and a
/// call minute (`max_call_minute`) may cost in dollars (empty: no maximum), and how many sends to
/// one destination an hour pause it (`velocity_per_hour`).
#[server(prefix = "/api", endpoint = "save_destination_rules")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn save_destination_rules(
    org: String,
    countries: String,
    max_sms: Option<String>,
    max_call_minute: Option<String>,
    velocity_per_hour: String,
) -> Result<(), AppError> {
    respond(
        async {
            // Who may save comes before what was typed: support gets 403, not field errors.
            let ctx = require(&org, Permission::Manage).await?;
            let input = destinations::RulesInput {
                countries,
                max_sms,
                max_call_minute,
                velocity_per_hour,
            };
            destinations::save_rules(&ctx, input).await?;
            leptos_axum::redirect(&format!(
                "/o/{}/admin/destinations?notice=destinations-saved",
                ctx.slug
            ));
            Ok(())
        }
        .await,
    )
}

/// Resumes sends to the paused destination `id`: its hour starts again and the texts it held are
/// sent.
#[server(prefix = "/api", endpoint = "resume_destination")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org, pause = id), err(level = "debug")))]
pub async fn resume_destination(org: String, id: i64) -> Result<(), AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Manage).await?;
            destinations::resume(&ctx, id).await?;
            leptos_axum::redirect(&format!(
                "/o/{}/admin/destinations?notice=destination-resumed",
                ctx.slug
            ));
            Ok(())
        }
        .await,
    )
}

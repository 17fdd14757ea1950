//! Compliance settings: what callers hear before a call is recorded and how long the org keeps
//! what it holds. Everyone in the org reads them (support staff too); owners and admins change
//! them. The announcement's audio upload is a plain route of the server crate
//! (`/o/{org}/admin/compliance/audio`).

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::compliance::CompliancePage;

#[cfg(feature = "ssr")]
use crate::ssr::{consent, require, respond, retention, Permission};

/// The compliance page.
#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "load_compliance")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn load_compliance(org: String) -> Result<CompliancePage, AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Read).await?;
            consent::page(&ctx).await
        }
        .await,
    )
}

/// Saves the recording consent announcement: on (`announce` = "on") or off with a reason, the
/// org's wording (empty: the default) and its language.
#[server(prefix = "/api", endpoint = "save_recording_consent")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn save_recording_consent(
    org: String,
    announce: Option<String>,
    message: String,
    language: String,
    off_reason: String,
) -> Result<(), AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Manage).await?;
            let input = consent::ConsentInput {
                announce: announce.as_deref() == Some("on"),
                message,
                language,
                off_reason,
            };
            consent::save(&ctx, input).await?;
            leptos_axum::redirect(&format!(
                "/o/{}/admin/compliance?notice=consent-saved",
                ctx.slug
            ));
            Ok(())
        }
        .await,
    )
}

/// Removes the uploaded announcement (calls speak the text again).
#[server(prefix = "/api", endpoint = "remove_consent_audio")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn remove_consent_audio(org: String) -> Result<(), AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Manage).await?;
            consent::remove_audio(&ctx).await?;
            leptos_axum::redirect(&format!(
                "/o/{}/admin/compliance?notice=consent-audio-removed",
                ctx.slug
            ));
            Ok(())
        }
        .await,
    )
}

/// Saves the retention periods, in days (empty: kept).
#[server(prefix = "/api", endpoint = "save_retention")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn save_retention(
    org: String,
    recordings_days: String,
    bodies_days: String,
    records_days: String,
    lookups_days: String,
) -> Result<(), AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Manage).await?;
            let v = crate::model::compliance::RetentionView {
                recordings_days: retention::parse_days("recordings_days", &recordings_days)?,
                bodies_days: retention::parse_days("bodies_days", &bodies_days)?,
                records_days: retention::parse_days("records_days", &records_days)?,
                lookups_days: retention::parse_days("lookups_days", &lookups_days)?,
            };
            retention::save(&ctx, v).await?;
            leptos_axum::redirect(&format!(
                "/o/{}/admin/compliance?notice=retention-saved",
                ctx.slug
            ));
            Ok(())
        }
        .await,
    )
}

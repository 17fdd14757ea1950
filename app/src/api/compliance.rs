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

/// Saves the org's quiet hours: on (`enabled` = "on") or off, and the window (a preset, or
/// "custom" with `start` and `end` as HH:MM) in each recipient's local time.
#[server(prefix = "/api", endpoint = "save_quiet_hours")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn save_quiet_hours(
    org: String,
    enabled: Option<String>,
    preset: String,
    start: String,
    end: String,
) -> Result<(), AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Manage).await?;
            let enabled = enabled.as_deref() == Some("on");
            crate::ssr::quiet_hours::save(&ctx, enabled, &preset, &start, &end).await?;
            leptos_axum::redirect(&format!(
                "/o/{}/admin/compliance?notice=quiet-hours-saved",
                ctx.slug
            ));
            Ok(())
        }
        .await,
    )
}

/// Lets member `user_id` send urgent texts in quiet hours (`allowed` = "on"), or not.
#[server(prefix = "/api", endpoint = "set_urgent_allowed")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn set_urgent_allowed(
    org: String,
    user_id: i64,
    allowed: Option<String>,
) -> Result<(), AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Manage).await?;
            let allowed = allowed.as_deref() == Some("on");
            crate::ssr::quiet_hours::set_urgent_allowed(&ctx, user_id, allowed).await?;
            leptos_axum::redirect(&format!("/o/{}/members?notice=urgent-saved", ctx.slug));
            Ok(())
        }
        .await,
    )
}

//! An org's dashboard and its members.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{Dashboard, MembersPage};

#[cfg(feature = "ssr")]
use crate::ssr::{members, orgs, require, respond, Permission};

#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "org_dashboard")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn org_dashboard(org: String) -> Result<Dashboard, AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Read).await?;
            orgs::dashboard(&ctx).await
        }
        .await,
    )
}

/// Sets the country national numbers are read in (owners only: it changes how every member's
/// typing is read).
#[server(prefix = "/api", endpoint = "set_org_country")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn set_org_country(org: String, country: String) -> Result<(), AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Manage).await?;
            orgs::set_country(&ctx, &country).await?;
            leptos_axum::redirect(&format!("/o/{}?notice=country-saved", ctx.slug));
            Ok(())
        }
        .await,
    )
}

/// Sets the time zone the org's days and months follow (owners only: it moves every member's
/// budget periods and the monthly statements).
#[server(prefix = "/api", endpoint = "set_org_time_zone")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn set_org_time_zone(org: String, time_zone: String) -> Result<(), AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Manage).await?;
            orgs::set_time_zone(&ctx, &time_zone).await?;
            leptos_axum::redirect(&format!("/o/{}?notice=time-zone-saved", ctx.slug));
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "list_members")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn list_members(org: String) -> Result<MembersPage, AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Read).await?;
            members::page(&ctx).await
        }
        .await,
    )
}

/// Invites an e-mail to the org with a role; they become a member once they accept. An e-mail
/// with no account gets one, with the initial password given (the invitation then waits for them
/// at their first sign-in).
#[server(prefix = "/api", endpoint = "add_member")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn add_member(
    org: String,
    email: String,
    role: String,
    name: Option<String>,
    password: Option<String>,
) -> Result<(), AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Manage).await?;
            let name = name.as_deref().unwrap_or("");
            members::invite(&ctx, &email, &role, name, password).await?;
            leptos_axum::redirect(&format!("/o/{}/members?notice=invitation-sent", ctx.slug));
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "change_role")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn change_role(org: String, user_id: i64, role: String) -> Result<(), AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Manage).await?;
            let role: crate::model::Role = role.parse()?;
            // A role they have already changes nothing, and is answered without a notice.
            if members::change_role(&ctx, user_id, role).await? {
                leptos_axum::redirect(&format!("/o/{}/members?notice=role-changed", ctx.slug));
            }
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "remove_member")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn remove_member(org: String, user_id: i64) -> Result<(), AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Manage).await?;
            members::remove(&ctx, user_id).await?;
            leptos_axum::redirect(&format!("/o/{}/members?notice=member-removed", ctx.slug));
            Ok(())
        }
        .await,
    )
}

/// A member leaves an org (a membership someone else added them to is theirs to end), unless
/// they are its last owner.
#[server(prefix = "/api", endpoint = "leave_org")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn leave_org(org: String) -> Result<(), AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Read).await?;
            members::leave(&ctx).await?;
            leptos_axum::redirect("/?notice=org-left");
            Ok(())
        }
        .await,
    )
}

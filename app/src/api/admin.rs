//! Superadmin: orgs, users and staff flags.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{AdminOrgRow, AdminUserRow};

#[cfg(feature = "ssr")]
use crate::ssr::{admin, client_ip, require_superadmin, respond};

#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "admin_orgs")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn admin_orgs() -> Result<Vec<AdminOrgRow>, AppError> {
    respond(
        async {
            let (_, state) = require_superadmin().await?;
            admin::all_orgs(&state).await
        }
        .await,
    )
}

#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "admin_users")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn admin_users() -> Result<Vec<AdminUserRow>, AppError> {
    respond(
        async {
            let (_, state) = require_superadmin().await?;
            admin::all_users(&state).await
        }
        .await,
    )
}

/// Creates an org with an existing user as its first owner.
#[server(prefix = "/api", endpoint = "admin_create_org")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn admin_create_org(
    name: String,
    slug: String,
    owner_email: String,
) -> Result<(), AppError> {
    respond(
        async {
            let (actor, state) = require_superadmin().await?;
            admin::create_org(&actor, &state, client_ip(), &name, &slug, &owner_email).await?;
            leptos_axum::redirect("/admin/orgs?notice=org-created");
            Ok(())
        }
        .await,
    )
}

/// Creates a user account (no org yet) with an initial password.
#[server(prefix = "/api", endpoint = "admin_create_user")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn admin_create_user(
    email: String,
    name: Option<String>,
    password: String,
) -> Result<(), AppError> {
    respond(
        async {
            let (actor, state) = require_superadmin().await?;
            let name = name.as_deref().unwrap_or("");
            admin::create_user(&actor, &state, client_ip(), &email, name, password).await?;
            leptos_axum::redirect("/admin/users?notice=user-created");
            Ok(())
        }
        .await,
    )
}

/// Sets the support-staff and superadmin flags (unchecked boxes are absent from the form).
#[server(prefix = "/api", endpoint = "admin_set_flags")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn admin_set_flags(
    user_id: i64,
    is_support: Option<String>,
    is_superadmin: Option<String>,
) -> Result<(), AppError> {
    respond(
        async {
            let (actor, state) = require_superadmin().await?;
            let (support, superadmin) = (is_support.is_some(), is_superadmin.is_some());
            admin::set_flags(&actor, &state, client_ip(), user_id, support, superadmin).await?;
            leptos_axum::redirect("/admin/users?notice=flags-changed");
            Ok(())
        }
        .await,
    )
}

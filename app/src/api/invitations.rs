//! Invitations: the invitee lists, accepts and declines theirs; the org's admins revoke them.
//! (The org sends them with `orgs::add_member`.)

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::invitations::MyInvitation;

#[cfg(feature = "ssr")]
use crate::ssr::{self, members, require, respond, Permission};

/// The invitations the signed-in user can still accept; none when nobody is signed in (the home
/// page then sends them to the login page).
#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "my_invitations")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn my_invitations() -> Result<Vec<MyInvitation>, AppError> {
    respond(
        async {
            let Some(user) = ssr::guard::auth_session().await?.user else {
                return Ok(Vec::new());
            };
            let state = ssr::AppState::from_context()?;
            members::open_invitations(&state, &user).await
        }
        .await,
    )
}

/// Accepts an invitation addressed to the signed-in user: they become a member with its role.
#[server(prefix = "/api", endpoint = "accept_invitation")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn accept_invitation(id: i64) -> Result<(), AppError> {
    respond(
        async {
            let user = ssr::current_user().await?;
            let state = ssr::AppState::from_context()?;
            let slug = members::accept_invitation(&state, &user, id, ssr::client_ip()).await?;
            leptos_axum::redirect(&format!("/o/{slug}?notice=invitation-accepted"));
            Ok(())
        }
        .await,
    )
}

/// Declines an invitation addressed to the signed-in user.
#[server(prefix = "/api", endpoint = "decline_invitation")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn decline_invitation(id: i64) -> Result<(), AppError> {
    respond(
        async {
            let user = ssr::current_user().await?;
            let state = ssr::AppState::from_context()?;
            members::decline_invitation(&state, &user, id, ssr::client_ip()).await?;
            leptos_axum::redirect("/?notice=invitation-declined");
            Ok(())
        }
        .await,
    )
}

/// Withdraws one of the org's open invitations (owners and admins).
#[server(prefix = "/api", endpoint = "revoke_invitation")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn revoke_invitation(org: String, id: i64) -> Result<(), AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Manage).await?;
            members::revoke_invitation(&ctx, id).await?;
            leptos_axum::redirect(&format!(
                "/o/{}/members?notice=invitation-revoked",
                ctx.slug
            ));
            Ok(())
        }
        .await,
    )
}

//! Invitations: the invitee lists, accepts and declines theirs; the org's admins revoke them.
//! (The org sends them with `orgs::add_member`.)

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::invitations::MyInvitation;

#[cfg(feature = "ssr")]
use crate::ssr::{self, db, require, respond, Permission};

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
            Ok(db::invitations::open_for_email(&state.pool, &user.email).await?)
        }
        .await,
    )
}

/// Accepts an invitation addressed to the signed-in user: they become a member with its role.
#[server(prefix = "/api", endpoint = "accept_invitation")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn accept_invitation(id: i64) -> Result<(), AppError> {
    respond(accept_inner(id).await)
}

#[cfg(feature = "ssr")]
#[tracing::instrument(err(level = "debug"))]
async fn accept_inner(id: i64) -> Result<(), AppError> {
    let user = ssr::current_user().await?;
    refuse_staff(&user)?;
    let state = ssr::AppState::from_context()?;
    // Addressed to this user, open and not lapsed, and the membership, in one transaction.
    let mut tx = state.pool.begin().await?;
    let accepted = db::invitations::accept(&mut *tx, id, &user.email).await?;
    let Some(inv) = accepted else {
        if db::invitations::lapsed(&mut *tx, id, &user.email).await? {
            return Err(AppError::Conflict(
                "This invitation has expired: ask the org for a new one.".into(),
            ));
        }
        // Someone else's invitations do not exist for this user.
        return Err(AppError::NotFound);
    };
    // Already a member (added another way meanwhile): the role they have stays.
    let joined = db::orgs::add_member(&mut *tx, inv.org_id, user.id, inv.role).await?;
    db::audit::record(
        &mut *tx,
        db::audit::Entry {
            actor_id: Some(user.id),
            org_id: Some(inv.org_id),
            action: "invitation.accepted",
            target: &inv.email,
            details: serde_json::json!({
                "role": inv.role.as_str(),
                "already_member": !joined,
            }),
            ip: ssr::client_ip(),
        },
    )
    .await?;
    tx.commit().await?;
    leptos_axum::redirect(&format!("/o/{}?notice=invitation-accepted", inv.slug));
    Ok(())
}

/// Support staff read everything and write nothing: they neither join nor turn down orgs.
#[cfg(feature = "ssr")]
fn refuse_staff(user: &ssr::auth::User) -> Result<(), AppError> {
    if user.is_support {
        return Err(AppError::Forbidden(
            "Support staff cannot join orgs: they read every org as staff.".into(),
        ));
    }
    Ok(())
}

/// Declines an invitation addressed to the signed-in user.
#[server(prefix = "/api", endpoint = "decline_invitation")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn decline_invitation(id: i64) -> Result<(), AppError> {
    respond(decline_inner(id).await)
}

#[cfg(feature = "ssr")]
#[tracing::instrument(err(level = "debug"))]
async fn decline_inner(id: i64) -> Result<(), AppError> {
    let user = ssr::current_user().await?;
    refuse_staff(&user)?;
    let state = ssr::AppState::from_context()?;
    let mut tx = state.pool.begin().await?;
    let inv = db::invitations::decline(&mut *tx, id, &user.email)
        .await?
        .ok_or(AppError::NotFound)?;
    db::audit::record(
        &mut *tx,
        db::audit::Entry {
            actor_id: Some(user.id),
            org_id: Some(inv.org_id),
            action: "invitation.declined",
            target: &inv.email,
            details: serde_json::json!({ "role": inv.role.as_str() }),
            ip: ssr::client_ip(),
        },
    )
    .await?;
    tx.commit().await?;
    leptos_axum::redirect("/?notice=invitation-declined");
    Ok(())
}

/// Withdraws one of the org's open invitations (owners and admins).
#[server(prefix = "/api", endpoint = "revoke_invitation")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn revoke_invitation(org: String, id: i64) -> Result<(), AppError> {
    respond(revoke_inner(org, id).await)
}

#[cfg(feature = "ssr")]
#[tracing::instrument(err(level = "debug"))]
async fn revoke_inner(org: String, id: i64) -> Result<(), AppError> {
    let ctx = require(&org, Permission::Manage).await?;
    let mut tx = ctx.state.pool.begin().await?;
    let inv = db::invitations::revoke(&mut *tx, ctx.org_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    ctx.audit(
        &mut *tx,
        "invitation.revoked",
        &inv.email,
        serde_json::json!({ "role": inv.role.as_str() }),
    )
    .await?;
    tx.commit().await?;
    leptos_axum::redirect(&format!(
        "/o/{}/members?notice=invitation-revoked",
        ctx.slug
    ));
    Ok(())
}

//! An org's dashboard and its members.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{Dashboard, MembersPage};

#[cfg(feature = "ssr")]
use crate::ssr::{db, require, respond, Permission};

#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "org_dashboard")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn org_dashboard(org: String) -> Result<Dashboard, AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Read).await?;
            let c = db::orgs::role_counts(&ctx.state.pool, ctx.org_id).await?;
            Ok(Dashboard {
                org: ctx.view(),
                members: c.owners + c.admins + c.members,
                owners: c.owners,
                admins: c.admins,
                plain_members: c.members,
                created: c.created,
            })
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
            if !ctx.access.is_owner() {
                return Err(AppError::Forbidden(
                    "Only the org's owners can change its country.".into(),
                ));
            }
            let code = country.trim().to_ascii_uppercase();
            if crate::model::countries::country_name(&code).is_none()
                || !telephony::e164::is_known_region(&code)
            {
                return Err(AppError::validation(
                    "country",
                    "Choose a country from the list.",
                ));
            }
            let mut tx = ctx.state.pool.begin().await?;
            db::orgs::set_country(&mut *tx, ctx.org_id, &code).await?;
            ctx.audit(
                &mut *tx,
                "org.country_changed",
                &format!("org:{}", ctx.slug),
                serde_json::json!({ "from": ctx.country, "to": code }),
            )
            .await?;
            tx.commit().await?;
            leptos_axum::redirect(&format!("/o/{}?notice=country-saved", ctx.slug));
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
            let members = db::orgs::members(&ctx.state.pool, ctx.org_id).await?;
            let invitations = db::invitations::open_for_org(&ctx.state.pool, ctx.org_id).await?;
            Ok(MembersPage {
                org: ctx.view(),
                me: ctx.user.id,
                members,
                invitations,
            })
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
    respond(add_member_inner(org, email, role, name, password).await)
}

/// Invitations one admin may send an org per hour.
#[cfg(feature = "ssr")]
const INVITATIONS_PER_HOUR: i64 = 50;

#[cfg(feature = "ssr")]
#[tracing::instrument(skip(password), err(level = "debug"))]
async fn add_member_inner(
    org: String,
    email: String,
    role: String,
    name: Option<String>,
    password: Option<String>,
) -> Result<(), AppError> {
    use crate::model::{check_new_password, parse_email, parse_name, Access, Role};
    use crate::ssr::auth::hash_password;

    let ctx = require(&org, Permission::Manage).await?;
    let email = parse_email("email", &email)?;
    let role: Role = role.parse()?;
    let name = parse_name("name", name.as_deref().unwrap_or(""), false)?;
    if role == Role::Owner
        && !matches!(ctx.access, Access::Member(Role::Owner) | Access::Superadmin)
    {
        return Err(AppError::validation(
            "role",
            "Only owners can add another owner.",
        ));
    }
    // The same form, the same work and the same answers whether or not the e-mail has an account
    // already, so an org admin cannot probe who uses PhoneHub: the initial password is always
    // asked for (and always hashed: only the hashing takes long enough to time), used only for a
    // new account; either way the org gets an invitation it sees by e-mail alone, and a
    // membership only when the person behind the e-mail accepts it.
    let Some(password) = password.filter(|p| !p.is_empty()) else {
        return Err(AppError::validation(
            "password",
            "Set an initial password (used only if this e-mail has no account yet).",
        ));
    };
    check_new_password("password", &password)?;
    let pool = &ctx.state.pool;
    // Everything that can refuse the invitation is checked before the password is hashed, and
    // an admin sends at most so many an hour: hashing is the one expensive step, and its gate is
    // shared with everyone's logins.
    if db::invitations::sent_last_hour(pool, ctx.org_id, ctx.user.id).await? >= INVITATIONS_PER_HOUR
    {
        return Err(AppError::TooManyRequests(format!(
            "You have sent {INVITATIONS_PER_HOUR} invitations in the last hour: try again later."
        )));
    }
    let existing = db::users::by_email(pool, &email).await?;
    if let Some(u) = &existing {
        if db::orgs::role_of(pool, ctx.org_id, u.id).await?.is_some() {
            return Err(AppError::validation(
                "email",
                format!("{email} is already a member of {}.", ctx.name),
            ));
        }
    }
    if db::invitations::open_exists(pool, ctx.org_id, &email).await? {
        return Err(AppError::validation(
            "email",
            format!(
                "{email} has been invited to {} already: revoke that invitation to send another.",
                ctx.name
            ),
        ));
    }
    let hash = hash_password(password).await?;
    let mut tx = pool.begin().await?;
    let user_id = match existing {
        Some(u) => u.id,
        None => match db::users::create(&mut *tx, &email, &name, &hash, true).await {
            Ok(id) => id,
            Err(sqlx::Error::Database(d)) if d.constraint() == Some("users_email_key") => {
                return Err(AppError::Conflict(
                    "That e-mail was registered a moment ago; submit the form again.".into(),
                ))
            }
            Err(e) => return Err(e.into()),
        },
    };
    // Members are listed by e-mail on the members page already: saying so reveals nothing.
    if db::orgs::role_of(&mut *tx, ctx.org_id, user_id)
        .await?
        .is_some()
    {
        return Err(AppError::validation(
            "email",
            format!("{email} is already a member of {}.", ctx.name),
        ));
    }
    db::invitations::expire_lapsed(&mut *tx, ctx.org_id, &email).await?;
    match db::invitations::create(&mut *tx, ctx.org_id, &email, role, ctx.user.id).await {
        Ok(_) => {}
        Err(sqlx::Error::Database(d)) if d.constraint() == Some("invitations_pending_key") => {
            return Err(AppError::validation(
                "email",
                format!(
                    "{email} has been invited to {} already: revoke that invitation to send another.",
                    ctx.name
                ),
            ))
        }
        Err(e) => return Err(e.into()),
    }
    // Whether an account was created is not the org's to know, nor its audit log's.
    ctx.audit(
        &mut *tx,
        "invitation.created",
        &email,
        serde_json::json!({ "role": role.as_str() }),
    )
    .await?;
    tx.commit().await?;
    leptos_axum::redirect(&format!("/o/{}/members?notice=invitation-sent", ctx.slug));
    Ok(())
}

#[server(prefix = "/api", endpoint = "change_role")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn change_role(org: String, user_id: i64, role: String) -> Result<(), AppError> {
    respond(change_role_inner(org, user_id, role).await)
}

#[cfg(feature = "ssr")]
#[tracing::instrument(err(level = "debug"))]
async fn change_role_inner(org: String, user_id: i64, role: String) -> Result<(), AppError> {
    use crate::model::{Access, Role};

    let ctx = require(&org, Permission::Manage).await?;
    let role: Role = role.parse()?;
    let is_owner = matches!(ctx.access, Access::Member(Role::Owner) | Access::Superadmin);
    let mut tx = ctx.state.pool.begin().await?;
    let owners = db::orgs::lock_owners(&mut tx, ctx.org_id).await?;
    let current = db::orgs::role_of(&mut *tx, ctx.org_id, user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if (current == Role::Owner || role == Role::Owner) && !is_owner {
        return Err(AppError::Forbidden(
            "Only owners can grant or take away the owner role.".into(),
        ));
    }
    if current == Role::Owner && role != Role::Owner && owners.len() <= 1 {
        return Err(AppError::validation(
            "role",
            "This is the org's last owner: make someone else an owner first.",
        ));
    }
    if current == role {
        return Ok(());
    }
    db::orgs::set_role(&mut *tx, ctx.org_id, user_id, role).await?;
    ctx.audit(
        &mut *tx,
        "member.role_changed",
        &user_id.to_string(),
        serde_json::json!({ "from": current.as_str(), "to": role.as_str() }),
    )
    .await?;
    tx.commit().await?;
    ctx.state.known.forget_user(user_id);
    leptos_axum::redirect(&format!("/o/{}/members?notice=role-changed", ctx.slug));
    Ok(())
}

#[server(prefix = "/api", endpoint = "remove_member")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn remove_member(org: String, user_id: i64) -> Result<(), AppError> {
    respond(remove_member_inner(org, user_id).await)
}

#[cfg(feature = "ssr")]
#[tracing::instrument(err(level = "debug"))]
async fn remove_member_inner(org: String, user_id: i64) -> Result<(), AppError> {
    use crate::model::{Access, Role};

    let ctx = require(&org, Permission::Manage).await?;
    let is_owner = matches!(ctx.access, Access::Member(Role::Owner) | Access::Superadmin);
    let mut tx = ctx.state.pool.begin().await?;
    let owners = db::orgs::lock_owners(&mut tx, ctx.org_id).await?;
    let current = db::orgs::role_of(&mut *tx, ctx.org_id, user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if current == Role::Owner && !is_owner {
        return Err(AppError::Forbidden(
            "Only owners can remove an owner.".into(),
        ));
    }
    if current == Role::Owner && owners.len() <= 1 {
        return Err(AppError::Conflict(
            "This is the org's last owner and cannot be removed.".into(),
        ));
    }
    db::orgs::remove_member(&mut *tx, ctx.org_id, user_id).await?;
    // Their API keys, and keys they made, end with their membership.
    let keys = db::api_keys::revoke_for_member(&mut *tx, ctx.org_id, user_id, ctx.user.id).await?;
    ctx.audit(
        &mut *tx,
        "member.removed",
        &user_id.to_string(),
        serde_json::json!({ "role": current.as_str(), "api_keys_revoked": keys }),
    )
    .await?;
    tx.commit().await?;
    ctx.state.known.forget_user(user_id);
    leptos_axum::redirect(&format!("/o/{}/members?notice=member-removed", ctx.slug));
    Ok(())
}

/// A member leaves an org (a membership someone else added them to is theirs to end), unless
/// they are its last owner.
#[server(prefix = "/api", endpoint = "leave_org")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn leave_org(org: String) -> Result<(), AppError> {
    respond(leave_org_inner(org).await)
}

#[cfg(feature = "ssr")]
#[tracing::instrument(err(level = "debug"))]
async fn leave_org_inner(org: String) -> Result<(), AppError> {
    use crate::model::{Access, Role};

    let ctx = require(&org, Permission::Read).await?;
    let Access::Member(role) = ctx.access else {
        return Err(AppError::Conflict(
            "You are not a member of this org, so there is nothing to leave.".into(),
        ));
    };
    let mut tx = ctx.state.pool.begin().await?;
    let owners = db::orgs::lock_owners(&mut tx, ctx.org_id).await?;
    if role == Role::Owner && owners.len() <= 1 {
        return Err(AppError::Conflict(
            "You are this org's last owner: make someone else an owner first.".into(),
        ));
    }
    db::orgs::remove_member(&mut *tx, ctx.org_id, ctx.user.id).await?;
    let keys =
        db::api_keys::revoke_for_member(&mut *tx, ctx.org_id, ctx.user.id, ctx.user.id).await?;
    ctx.audit(
        &mut *tx,
        "member.left",
        &ctx.user.email,
        serde_json::json!({ "role": role.as_str(), "api_keys_revoked": keys }),
    )
    .await?;
    tx.commit().await?;
    leptos_axum::redirect("/?notice=org-left");
    Ok(())
}

//! Superadmin: orgs, users and staff flags.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{AdminOrgRow, AdminUserRow};

#[cfg(feature = "ssr")]
use crate::ssr::{db, require_superadmin, respond};

#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "admin_orgs")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn admin_orgs() -> Result<Vec<AdminOrgRow>, AppError> {
    respond(
        async {
            let (_, state) = require_superadmin().await?;
            Ok(db::orgs::list(&state.pool).await?)
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
            Ok(db::users::list(&state.pool).await?)
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
    respond(create_org_inner(name, slug, owner_email).await)
}

#[cfg(feature = "ssr")]
#[tracing::instrument(err(level = "debug"))]
async fn create_org_inner(name: String, slug: String, owner_email: String) -> Result<(), AppError> {
    use crate::model::{parse_email, parse_name, parse_slug, Role};

    let (actor, state) = require_superadmin().await?;
    let name = parse_name("name", &name, true)?;
    let slug = parse_slug("slug", &slug)?;
    let owner_email = parse_email("owner_email", &owner_email)?;
    let owner = db::users::by_email(&state.pool, &owner_email)
        .await?
        .ok_or_else(|| {
            AppError::validation(
                "owner_email",
                "No user has this e-mail; create the user first.",
            )
        })?;
    let mut tx = state.pool.begin().await?;
    let org_id = match db::orgs::create(&mut *tx, &slug, &name).await {
        Ok(id) => id,
        Err(sqlx::Error::Database(d)) if d.constraint() == Some("orgs_slug_key") => {
            return Err(AppError::validation(
                "slug",
                "Another org already uses this URL name.",
            ))
        }
        Err(e) => return Err(e.into()),
    };
    db::orgs::add_member(&mut *tx, org_id, owner.id, Role::Owner).await?;
    db::audit::record(
        &mut *tx,
        db::audit::Entry {
            actor_id: Some(actor.id),
            org_id: Some(org_id),
            action: "org.created",
            target: &slug,
            details: serde_json::json!({ "name": name, "owner": owner_email }),
            ip: crate::ssr::client_ip(),
        },
    )
    .await?;
    tx.commit().await?;
    leptos_axum::redirect("/admin/orgs?notice=org-created");
    Ok(())
}

/// Creates a user account (no org yet) with an initial password.
#[server(prefix = "/api", endpoint = "admin_create_user")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn admin_create_user(
    email: String,
    name: Option<String>,
    password: String,
) -> Result<(), AppError> {
    respond(create_user_inner(email, name, password).await)
}

#[cfg(feature = "ssr")]
#[tracing::instrument(skip(password), err(level = "debug"))]
async fn create_user_inner(
    email: String,
    name: Option<String>,
    password: String,
) -> Result<(), AppError> {
    use crate::model::{check_new_password, parse_email, parse_name};

    let (actor, state) = require_superadmin().await?;
    let email = parse_email("email", &email)?;
    let name = parse_name("name", name.as_deref().unwrap_or(""), false)?;
    check_new_password("password", &password)?;
    let hash = crate::ssr::auth::hash_password(password).await?;
    let mut tx = state.pool.begin().await?;
    match db::users::create(&mut *tx, &email, &name, &hash, true).await {
        Ok(_) => {}
        Err(sqlx::Error::Database(d)) if d.constraint() == Some("users_email_key") => {
            return Err(AppError::validation(
                "email",
                "A user with this e-mail already exists.",
            ))
        }
        Err(e) => return Err(e.into()),
    }
    db::audit::record(
        &mut *tx,
        db::audit::Entry {
            actor_id: Some(actor.id),
            org_id: None,
            action: "user.created",
            target: &email,
            details: serde_json::json!({}),
            ip: crate::ssr::client_ip(),
        },
    )
    .await?;
    tx.commit().await?;
    leptos_axum::redirect("/admin/users?notice=user-created");
    Ok(())
}

/// Sets the support-staff and superadmin flags (unchecked boxes are absent from the form).
#[server(prefix = "/api", endpoint = "admin_set_flags")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn admin_set_flags(
    user_id: i64,
    is_support: Option<String>,
    is_superadmin: Option<String>,
) -> Result<(), AppError> {
    respond(set_flags_inner(user_id, is_support.is_some(), is_superadmin.is_some()).await)
}

#[cfg(feature = "ssr")]
#[tracing::instrument(err(level = "debug"))]
async fn set_flags_inner(user_id: i64, support: bool, superadmin: bool) -> Result<(), AppError> {
    let (actor, state) = require_superadmin().await?;
    let mut tx = state.pool.begin().await?;
    let target = db::users::by_id(&mut *tx, user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if target.is_superadmin && !superadmin && db::users::count_superadmins(&mut *tx).await? <= 1 {
        return Err(AppError::Conflict(
            "This is the last superadmin: make someone else superadmin first.".into(),
        ));
    }
    db::users::set_flags(&mut *tx, user_id, support, superadmin).await?;
    db::audit::record(
        &mut *tx,
        db::audit::Entry {
            actor_id: Some(actor.id),
            org_id: None,
            action: "user.flags_changed",
            target: &target.email,
            details: serde_json::json!({
                "is_support": support, "is_superadmin": superadmin,
                "was_support": target.is_support, "was_superadmin": target.is_superadmin,
            }),
            ip: crate::ssr::client_ip(),
        },
    )
    .await?;
    tx.commit().await?;
    state.known.forget_user(user_id);
    leptos_axum::redirect("/admin/users?notice=flags-changed");
    Ok(())
}

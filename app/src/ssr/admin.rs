//! The superadmin's use cases, one function each: every org and every user, creating orgs and
//! accounts, and the support-staff and superadmin flags. The caller is the superadmin (the
//! server functions' guard makes sure of it) acting from `ip`; the input rules and the audit
//! entry are decided here, and the server functions parse and present.

use crate::error::AppError;
use crate::model::{
    check_new_password, parse_email, parse_name, parse_slug, AdminOrgRow, AdminUserRow, Role,
};
use crate::ssr::auth::{hash_password, User};
use crate::ssr::db;
use crate::ssr::format;
use crate::ssr::AppState;

/// Every org, for the superadmin's list.
pub async fn all_orgs(state: &AppState) -> Result<Vec<AdminOrgRow>, AppError> {
    let orgs = db::orgs::list(&state.pool).await?;
    Ok(orgs
        .into_iter()
        .map(|o| AdminOrgRow {
            slug: o.slug,
            name: o.name,
            members: o.members,
            created: format::utc_date(o.created_at),
        })
        .collect())
}

/// Every user, for the superadmin's list.
pub async fn all_users(state: &AppState) -> Result<Vec<AdminUserRow>, AppError> {
    Ok(db::users::list(&state.pool).await?)
}

/// Creates an org named `name` at `slug` (both as typed) with the existing user `owner_email`
/// as its first owner; `actor` (the superadmin, from `ip`) is on the record for it.
#[tracing::instrument(skip(actor, state, ip), err(level = "debug"))]
pub async fn create_org(
    actor: &User,
    state: &AppState,
    ip: Option<String>,
    name: &str,
    slug: &str,
    owner_email: &str,
) -> Result<(), AppError> {
    let name = parse_name("name", name, true)?;
    let slug = parse_slug("slug", slug)?;
    let owner_email = parse_email("owner_email", owner_email)?;
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
            ip,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Creates a user account (no org yet) for `email` with the initial password `password`, which
/// they must change at their first sign-in; `actor` (the superadmin, from `ip`) is on the record.
#[tracing::instrument(skip(actor, state, ip, password), err(level = "debug"))]
pub async fn create_user(
    actor: &User,
    state: &AppState,
    ip: Option<String>,
    email: &str,
    name: &str,
    password: String,
) -> Result<(), AppError> {
    let email = parse_email("email", email)?;
    let name = parse_name("name", name, false)?;
    check_new_password("password", &password)?;
    let hash = hash_password(password).await?;
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
            ip,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Sets user `user_id`'s support-staff and superadmin flags; the last superadmin stays one.
/// `actor` (the superadmin, from `ip`) is on the record, with the flags before and after.
#[tracing::instrument(skip(actor, state, ip), err(level = "debug"))]
pub async fn set_flags(
    actor: &User,
    state: &AppState,
    ip: Option<String>,
    user_id: i64,
    support: bool,
    superadmin: bool,
) -> Result<(), AppError> {
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
            ip,
        },
    )
    .await?;
    tx.commit().await?;
    state.known.forget_user(user_id);
    Ok(())
}

/// The command line's first superadmin (`phonehub create-superadmin`): an account with the
/// password its operator typed (`hash`), flagged superadmin, on the record; false, changing
/// nothing, when the e-mail has an account already.
pub async fn create_superadmin_by_command(
    pool: &sqlx::PgPool,
    email: &str,
    name: &str,
    hash: &str,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    if db::users::by_email(&mut *tx, email).await?.is_some() {
        return Ok(false);
    }
    // The operator chose this password: nothing to change at the first sign-in.
    let id = db::users::create(&mut *tx, email, name, hash, false).await?;
    db::users::set_flags(&mut *tx, id, false, true).await?;
    db::audit::record(
        &mut *tx,
        db::audit::Entry {
            actor_id: None,
            org_id: None,
            action: "user.superadmin_created",
            target: email,
            details: serde_json::json!({ "via": "command line" }),
            ip: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

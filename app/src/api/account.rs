//! The signed-in user's own account.

use leptos::prelude::*;

use crate::error::AppError;

#[cfg(feature = "ssr")]
use crate::ssr::{self, db, respond};

/// Changes the password; every other session of this user ends (the session hash changes).
#[server(prefix = "/api", endpoint = "change_password")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn change_password(
    current: String,
    new_password: String,
    confirm: String,
) -> Result<(), AppError> {
    respond(change_password_inner(current, new_password, confirm).await)
}

#[cfg(feature = "ssr")]
#[tracing::instrument(skip_all, err(level = "debug"))]
async fn change_password_inner(
    current: String,
    new_password: String,
    confirm: String,
) -> Result<(), AppError> {
    use crate::model::check_new_password;
    use crate::ssr::auth::{hash_password, verify_password};

    let mut auth = ssr::guard::auth_session().await?;
    let user = auth.user.clone().ok_or(AppError::Unauthenticated)?;
    if current.is_empty() {
        return Err(AppError::validation(
            "current",
            "Enter your current password.",
        ));
    }
    check_new_password("new_password", &new_password)?;
    if new_password != confirm {
        return Err(AppError::validation(
            "confirm",
            "The two new passwords differ.",
        ));
    }
    if current.chars().count() > crate::model::MAX_PASSWORD
        || !verify_password(current, user.password_hash.clone()).await?
    {
        return Err(AppError::validation(
            "current",
            "That is not your current password.",
        ));
    }
    let state = ssr::AppState::from_context()?;
    let hash = hash_password(new_password).await?;
    let mut tx = state.pool.begin().await?;
    db::users::set_password(&mut *tx, user.id, &hash).await?;
    db::audit::record(
        &mut *tx,
        db::audit::Entry {
            actor_id: Some(user.id),
            org_id: None,
            action: "account.password_changed",
            target: &user.email,
            details: serde_json::json!({}),
            ip: ssr::client_ip(),
        },
    )
    .await?;
    tx.commit().await?;
    // Keep this session: store the new hash in it; the others no longer match and end.
    let updated = db::users::by_id(&state.pool, user.id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    auth.login(&updated).await.map_err(|e| {
        tracing::error!(error = %e, "could not refresh the session");
        AppError::Unavailable
    })?;
    leptos_axum::redirect("/account?notice=password-changed");
    Ok(())
}

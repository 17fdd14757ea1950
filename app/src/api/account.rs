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
    use crate::ssr::auth::verify_then_hash;
    use crate::ssr::db::logins::{self, Reservation};

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
    let wrong = || AppError::validation("current", "That is not your current password.");
    // Longer than any password can be: wrong without hashing, and no guess worth counting.
    if current.chars().count() > crate::model::MAX_PASSWORD {
        return Err(wrong());
    }
    let state = ssr::AppState::from_context()?;
    let ip = ssr::client_ip();
    // Counted per user before argon2 runs, as logins are: a stolen session gets a handful of
    // guesses at the password, and a flood of them costs a database row each, not 19 MiB.
    let check = match logins::reserve_password_check(&state.pool, user.id, ip.as_deref()).await? {
        Reservation::Granted(id) => id,
        Reservation::Refused { wait_secs, .. } => {
            return Err(AppError::TooManyRequests(format!(
                "Too many wrong current passwords. Try again in {}.",
                ssr::auth::wait_text(wait_secs)
            )));
        }
    };
    let hash = match verify_then_hash(current, user.password_hash.clone(), new_password).await {
        Ok(hash) => hash,
        Err(e) => {
            // Never checked (every hashing slot was taken, or the task failed): not a guess.
            logins::release_password_check(&state.pool, check).await?;
            return Err(e.into());
        }
    };
    logins::settle_password_check(&state.pool, check, hash.is_some()).await?;
    let Some(hash) = hash else {
        db::audit::record(
            &state.pool,
            db::audit::Entry {
                actor_id: Some(user.id),
                org_id: None,
                action: "account.password_wrong",
                target: &user.email,
                details: serde_json::json!({}),
                ip,
            },
        )
        .await?;
        return Err(wrong());
    };
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
            ip,
        },
    )
    .await?;
    tx.commit().await?;
    state.known.forget_user(user.id);
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

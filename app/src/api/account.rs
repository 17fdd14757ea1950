//! The signed-in user's own account.

use leptos::prelude::*;

use crate::error::AppError;

#[cfg(feature = "ssr")]
use crate::ssr::{self, respond};

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
    let mut auth = ssr::guard::auth_session().await?;
    let user = auth.user.clone().ok_or(AppError::Unauthenticated)?;
    let state = ssr::AppState::from_context()?;
    let change = ssr::account::PasswordChange {
        current,
        new_password,
        confirm,
    };
    let updated = ssr::account::change_password(&state, &user, change, ssr::client_ip()).await?;
    // Keep this session: store the new hash in it; the others no longer match and end.
    auth.login(&updated).await.map_err(|e| {
        tracing::error!(error = %e, "could not refresh the session");
        AppError::Unavailable
    })?;
    leptos_axum::redirect("/account?notice=password-changed");
    Ok(())
}

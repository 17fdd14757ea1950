//! The signed-in person's own account, one use case each: who they are (the nav bar), signing in,
//! and changing their password. The transport keeps the session, the cookies and the redirects;
//! it hands these plain values (the client's address among them) and they decide the rest: the
//! input rules, the login throttle, the password checks and the audit entries.

use std::future::Future;

use axum_login::AuthnBackend;
use serde_json::json;

use super::auth::{verify_then_hash, wait_text, AuthError, Backend, Credentials, User};
use super::db;
use super::db::logins::{self, Limit, Reservation};
use super::AppState;
use crate::error::AppError;
use crate::model::{check_new_password, parse_email, Me, MAX_PASSWORD};

/// Who `user` is and the orgs they can open (every org, for support staff and the superadmin),
/// for the nav bar; while the database cannot be reached, the orgs as last read. For the nav
/// (`nav_path`: the page it is on), the bell of the org it shows: the one in the path when it is
/// one of theirs, else their first.
pub async fn me(state: &AppState, user: User, nav_path: Option<&str>) -> Result<Me, AppError> {
    let all = user.is_support || user.is_superadmin;
    let orgs = state
        .known
        .links
        .read(user.id, async {
            if all {
                db::orgs::all_links(&state.pool).await
            } else {
                db::orgs::links_for_user(&state.pool, user.id).await
            }
        })
        .await?;
    let shown = nav_path.and_then(|p| {
        let in_path = crate::model::org_in_path(p);
        in_path
            .filter(|s| orgs.iter().any(|o| &o.slug == s))
            .or_else(|| orgs.first().map(|o| o.slug.clone()))
    });
    let bell = match shown {
        Some(slug) => super::notifications::bell(state, user.id, &slug).await,
        None => None,
    };
    Ok(Me {
        id: user.id,
        email: user.email,
        name: user.name,
        is_support: user.is_support,
        is_superadmin: user.is_superadmin,
        must_change_password: user.must_change_password,
        orgs,
        bell,
    })
}

/// A sign-in as typed, and where it comes from: the client's address, and the user and issue
/// time (Unix seconds) that the browser's valid device cookie names, if it has one.
pub struct Login {
    pub email: String,
    pub password: String,
    pub ip: Option<String>,
    pub device: Option<(i64, i64)>,
}

/// The sign-in form's own checks, before anything is counted or hashed: a well-formed e-mail
/// address (returned as parsed), a password at all, and one no longer than any password can be.
fn check_form(email: &str, password: &str) -> Result<String, AppError> {
    let email = parse_email("email", email)?;
    if password.is_empty() {
        return Err(AppError::validation("password", "Enter your password."));
    }
    if password.chars().count() > MAX_PASSWORD {
        return Err(AppError::validation(
            "password",
            "Wrong e-mail or password.",
        ));
    }
    Ok(email)
}

/// What a refused sign-in is told: which limit it ran into and how long to wait (`wait`, as
/// `wait_text` words it).
fn refusal_message(limit: Limit, wait: &str) -> String {
    match limit {
        Limit::EmailFromAddress | Limit::User => format!(
            "Too many failed logins for this e-mail from this address. Try again in {wait}."
        ),
        Limit::Address => {
            format!("Too many failed logins from this address. Try again in {wait}.")
        }
        Limit::Email => format!(
            "Too many failed logins for this e-mail. Try again in {wait}, or sign in \
             from a browser you have signed in with before."
        ),
        Limit::Delay => format!(
            "Many logins for this e-mail have failed: wait {wait} before the next try, \
             or sign in from a browser you have signed in with before."
        ),
    }
}

/// Takes a place for one password check for `email` from `ip` under the login limits, before
/// any hashing. Returns the attempt's id, to settle or release afterwards, or refuses with a
/// too-many-requests error that says which limit and how long to wait.
async fn reserve_attempt(
    state: &AppState,
    email: &str,
    ip: Option<&str>,
    device: Option<(i64, i64)>,
) -> Result<i64, AppError> {
    // Counted by address group (an IPv6 host holds a whole /64 and could pick any address in it).
    // A browser that signed in before (`device`) is exempt, for its user, from the limits
    // strangers can run up (see `db::logins`).
    let group = ip.map(super::address_group);
    match logins::reserve(
        &state.pool,
        email,
        group.as_deref(),
        device.map(|d| d.0),
        device.map(|d| d.1),
    )
    .await?
    {
        Reservation::Granted(id) => Ok(id),
        Reservation::Refused { wait_secs, limit } => {
            let wait = wait_text(wait_secs);
            Err(AppError::TooManyRequests(refusal_message(limit, &wait)))
        }
    }
}

/// Signs someone in: checks the form, takes a place under the login limits before any hashing,
/// checks the password with `backend` (the session's), and puts the outcome on the record. Once
/// the password is right, `start` starts the transport's session for the user (and says so to the
/// browser) before the login is recorded. Returns the user now signed in.
pub async fn login<F, Fut>(
    state: &AppState,
    backend: &Backend,
    form: Login,
    start: F,
) -> Result<User, AppError>
where
    F: FnOnce(User) -> Fut,
    Fut: Future<Output = Result<(), AppError>>,
{
    let Login {
        email,
        password,
        ip,
        device,
    } = form;
    let email = check_form(&email, &password)?;
    let attempt = reserve_attempt(state, &email, ip.as_deref(), device).await?;

    let user = match backend
        .authenticate(Credentials {
            email: email.clone(),
            password,
        })
        .await
    {
        Ok(user) => user,
        Err(AuthError::Busy) => {
            // Never checked: the attempt must count against nobody.
            logins::release(&state.pool, attempt).await?;
            return Err(AuthError::Busy.into());
        }
        Err(e) => {
            tracing::error!(error = %e, "authentication backend failed");
            return Err(AppError::Unavailable);
        }
    };
    logins::settle(&state.pool, attempt, user.is_some()).await?;
    let Some(user) = user else {
        db::audit::record(
            &state.pool,
            db::audit::Entry {
                actor_id: None,
                org_id: None,
                action: "login.failed",
                target: &email,
                details: json!({}),
                ip,
            },
        )
        .await?;
        return Err(AppError::validation(
            "password",
            "Wrong e-mail or password.",
        ));
    };
    start(user.clone()).await?;
    let details = if device.map(|d| d.0) == Some(user.id) {
        json!({ "trusted_device": true })
    } else {
        json!({})
    };
    db::audit::record(
        &state.pool,
        db::audit::Entry {
            actor_id: Some(user.id),
            org_id: None,
            action: "login",
            target: &email,
            details,
            ip,
        },
    )
    .await?;
    Ok(user)
}

/// A password change as typed: the current password, the new one and its repetition.
pub struct PasswordChange {
    pub current: String,
    pub new_password: String,
    pub confirm: String,
}

/// Changes `user`'s password (asked from `ip`): checks the form, takes a place under the
/// per-user limit before any hashing, checks the current password and stores the new one, on the
/// record either way. Returns the user as stored now (with the new hash), for the caller's session.
pub async fn change_password(
    state: &AppState,
    user: &User,
    change: PasswordChange,
    ip: Option<String>,
) -> Result<User, AppError> {
    check_password_change(&change)?;
    let PasswordChange {
        current,
        new_password,
        ..
    } = change;
    let check = reserve_password_check(state, user.id, ip.as_deref()).await?;
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
                details: json!({}),
                ip,
            },
        )
        .await?;
        return Err(wrong_current_password());
    };
    store_new_password(state, user, &hash, ip).await?;
    // The session that asked keeps going with the new hash; the others no longer match and end.
    let updated = db::users::by_id(&state.pool, user.id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    Ok(updated)
}

/// The form's own rules, before anything is counted or hashed: a current password, an acceptable
/// new one typed the same twice, and a current password no longer than any password can be.
fn check_password_change(change: &PasswordChange) -> Result<(), AppError> {
    if change.current.is_empty() {
        return Err(AppError::validation(
            "current",
            "Enter your current password.",
        ));
    }
    check_new_password("new_password", &change.new_password)?;
    if change.new_password != change.confirm {
        return Err(AppError::validation(
            "confirm",
            "The two new passwords differ.",
        ));
    }
    // Longer than any password can be: wrong without hashing, and no guess worth counting.
    if change.current.chars().count() > MAX_PASSWORD {
        return Err(wrong_current_password());
    }
    Ok(())
}

/// The answer to a wrong current password.
fn wrong_current_password() -> AppError {
    AppError::validation("current", "That is not your current password.")
}

/// Takes a place under the per-user limit on current-password checks, or says how long to wait.
/// Counted per user before argon2 runs, as logins are: a stolen session gets a handful of guesses
/// at the password, and a flood of them costs a database row each, not 19 MiB.
async fn reserve_password_check(
    state: &AppState,
    user_id: i64,
    ip: Option<&str>,
) -> Result<i64, AppError> {
    match logins::reserve_password_check(&state.pool, user_id, ip).await? {
        Reservation::Granted(id) => Ok(id),
        Reservation::Refused { wait_secs, .. } => Err(AppError::TooManyRequests(format!(
            "Too many wrong current passwords. Try again in {}.",
            wait_text(wait_secs)
        ))),
    }
}

/// Stores the new password's hash and its audit entry in one transaction, then forgets what was
/// read about the user (the old hash among it).
async fn store_new_password(
    state: &AppState,
    user: &User,
    hash: &str,
    ip: Option<String>,
) -> Result<(), AppError> {
    let mut tx = state.pool.begin().await?;
    db::users::set_password(&mut *tx, user.id, hash).await?;
    db::audit::record(
        &mut *tx,
        db::audit::Entry {
            actor_id: Some(user.id),
            org_id: None,
            action: "account.password_changed",
            target: &user.email,
            details: json!({}),
            ip,
        },
    )
    .await?;
    tx.commit().await?;
    state.known.forget_user(user.id);
    Ok(())
}

//! Who is signed in, login and logout.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::Me;

#[cfg(feature = "ssr")]
use crate::ssr::{self, db, respond};

/// The signed-in user and their orgs for the nav bar; `None` when nobody is signed in.
#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "me")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn get_me() -> Result<Option<Me>, AppError> {
    respond(me_inner().await)
}

#[cfg(feature = "ssr")]
async fn me_inner() -> Result<Option<Me>, AppError> {
    let auth = ssr::guard::auth_session().await?;
    let Some(user) = auth.user else {
        return Ok(None);
    };
    let state = ssr::AppState::from_context()?;
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
    Ok(Some(Me {
        id: user.id,
        email: user.email,
        name: user.name,
        is_support: user.is_support,
        is_superadmin: user.is_superadmin,
        must_change_password: user.must_change_password,
        orgs,
    }))
}

/// Only same-site paths are followed after login (no open redirect).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        // A local path: one leading slash (not `//host`), no backslash (browsers read it as a
        // slash), no control character (a header cannot carry it: the redirect would fail), no
        // scheme.
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control)
                && !n.contains("://")
                && n.len() < 512 =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

#[server(prefix = "/api", endpoint = "login")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    respond(login_inner(email, password, next).await)
}

#[cfg(feature = "ssr")]
#[tracing::instrument(skip(password), err(level = "debug"))]
async fn login_inner(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<(), AppError> {
    use crate::model::{parse_email, MAX_PASSWORD};
    use crate::ssr::auth::Credentials;
    use serde_json::json;

    let email = parse_email("email", &email)?;
    if password.is_empty() {
        return Err(AppError::validation("password", "Enter your password."));
    }
    if password.chars().count() > MAX_PASSWORD {
        return Err(AppError::validation(
            "password",
            "Wrong e-mail or password.",
        ));
    }
    let state = ssr::AppState::from_context()?;
    let ip = ssr::client_ip();
    // A browser that signed in before names its user in a signed cookie: for that user it is
    // exempt from the limits strangers can run up (see `db::logins`).
    let device = leptos::prelude::use_context::<http::request::Parts>()
        .and_then(|parts| state.passwords.device(&parts.headers));

    // Counted by address group (an IPv6 host holds a whole /64 and could pick any address in it).
    let group = ip.as_deref().map(ssr::address_group);
    let attempt = match db::logins::reserve(
        &state.pool,
        &email,
        group.as_deref(),
        device.map(|d| d.0),
        device.map(|d| d.1),
    )
    .await?
    {
        db::logins::Reservation::Granted(id) => id,
        db::logins::Reservation::Refused { wait_secs, limit } => {
            use crate::ssr::db::logins::Limit;
            let wait = ssr::auth::wait_text(wait_secs);
            let message = match limit {
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
            };
            return Err(AppError::TooManyRequests(message));
        }
    };

    let mut auth = ssr::guard::auth_session().await?;
    let user = match auth
        .authenticate(Credentials {
            email: email.clone(),
            password,
        })
        .await
    {
        Ok(user) => user,
        Err(axum_login::Error::Backend(ssr::auth::AuthError::Busy)) => {
            // Never checked: the attempt must count against nobody.
            db::logins::release(&state.pool, attempt).await?;
            return Err(ssr::auth::AuthError::Busy.into());
        }
        Err(e) => {
            tracing::error!(error = %e, "authentication backend failed");
            return Err(AppError::Unavailable);
        }
    };
    db::logins::settle(&state.pool, attempt, user.is_some()).await?;
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
    auth.login(&user).await.map_err(|e| {
        tracing::error!(error = %e, "could not store the session");
        AppError::Unavailable
    })?;
    // Renewed on every login, so a browser in use keeps vouching for its user.
    let cookie = state
        .passwords
        .device_cookie(user.id, state.public_url.scheme() == "https");
    if let (Some(opts), Ok(value)) = (
        leptos::prelude::use_context::<leptos_axum::ResponseOptions>(),
        http::HeaderValue::from_str(&cookie),
    ) {
        opts.append_header(http::header::SET_COOKIE, value);
    }
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
    // Someone else chose this password: choosing their own comes first (the hydrated app moves
    // in the browser, past the server's redirect to the account page).
    if user.must_change_password {
        leptos_axum::redirect("/account");
    } else {
        leptos_axum::redirect(&safe_next(next.as_deref()));
    }
    Ok(())
}

#[server(prefix = "/api", endpoint = "logout")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn logout() -> Result<(), AppError> {
    respond(logout_inner().await)
}

#[cfg(feature = "ssr")]
async fn logout_inner() -> Result<(), AppError> {
    let mut auth = ssr::guard::auth_session().await?;
    auth.logout().await.map_err(|e| {
        tracing::error!(error = %e, "could not end the session");
        AppError::Unavailable
    })?;
    leptos_axum::redirect("/login");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_only_follows_local_paths() {
        assert_eq!(safe_next(Some("/o/acme")), "/o/acme");
        assert_eq!(safe_next(Some("//evil.test/x")), "/");
        assert_eq!(safe_next(Some("https://evil.test")), "/");
        assert_eq!(safe_next(Some("/\\evil.test")), "/");
        assert_eq!(safe_next(Some("/x\r\nSet-Cookie: a=b")), "/");
        assert_eq!(safe_next(Some("/x\u{7f}")), "/");
        assert_eq!(safe_next(Some("/\tx")), "/");
        assert_eq!(safe_next(Some("/redirect?to=https://evil.test")), "/");
        assert_eq!(safe_next(Some("evil.test")), "/");
        assert_eq!(safe_next(Some("")), "/");
        assert_eq!(
            safe_next(Some("/o/acme/calls?status=completed")),
            "/o/acme/calls?status=completed"
        );
        assert_eq!(safe_next(Some("/o/café")), "/o/café");
        // Every result is a valid header value (the redirect cannot fail on it).
        #[cfg(feature = "ssr")]
        for n in ["/a\u{0}b", "/\u{85}", "/ok", "/\u{2028}"] {
            assert!(
                http::HeaderValue::from_str(&safe_next(Some(n))).is_ok(),
                "{n:?}"
            );
        }
        assert_eq!(safe_next(None), "/");
    }
}

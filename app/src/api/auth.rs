//! Who is signed in, login and logout.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::Me;

#[cfg(feature = "ssr")]
use crate::ssr::{self, respond};

/// The signed-in user and their orgs for the nav bar; `None` when nobody is signed in. The nav
/// sends the `path` it is on, and gets the bell of the org it shows with it.
#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "me")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn get_me(path: Option<String>) -> Result<Option<Me>, AppError> {
    respond(me_inner(path).await)
}

#[cfg(feature = "ssr")]
async fn me_inner(path: Option<String>) -> Result<Option<Me>, AppError> {
    let auth = ssr::guard::auth_session().await?;
    let Some(user) = auth.user else {
        return Ok(None);
    };
    let state = ssr::AppState::from_context()?;
    // A path is at most what a URL holds; a longer one names no org of theirs.
    let path = path.filter(|p| p.len() <= 2048);
    Ok(Some(ssr::account::me(&state, user, path.as_deref()).await?))
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
    let state = ssr::AppState::from_context()?;
    let mut auth = ssr::guard::auth_session().await?;
    // A browser that signed in before names its user in a signed cookie: for that user it is
    // exempt from the limits strangers can run up (see `ssr::account::login`).
    let device = leptos::prelude::use_context::<http::request::Parts>()
        .and_then(|parts| state.passwords.device(&parts.headers));
    let form = ssr::account::Login {
        email,
        password,
        ip: ssr::client_ip(),
        device,
    };
    let backend = auth.backend.clone();
    let passwords = &state.passwords;
    let secure = state.public_url.scheme() == "https";
    let start = move |user: ssr::auth::User| async move {
        auth.login(&user).await.map_err(|e| {
            tracing::error!(error = %e, "could not store the session");
            AppError::Unavailable
        })?;
        // Renewed on every login, so a browser in use keeps vouching for its user.
        let cookie = passwords.device_cookie(user.id, secure);
        if let (Some(opts), Ok(value)) = (
            leptos::prelude::use_context::<leptos_axum::ResponseOptions>(),
            http::HeaderValue::from_str(&cookie),
        ) {
            opts.append_header(http::header::SET_COOKIE, value);
        }
        Ok::<(), AppError>(())
    };
    let user = ssr::account::login(&state, &backend, form, start).await?;
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

//! What the plain HTTP routes (the uploads and downloads that are not pages) share: the org a
//! signed-in member opens, and the error page they answer with.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;

use app::error::AppError;
use app::ssr::auth::AuthSession;
use app::ssr::guard::{check_from, OrgCtx};
use app::ssr::{AppState, Permission};

use crate::middleware::{escape, page, redirect_303};

/// The signed-in member's context in `org` with `perm`, or the answer that refuses it: a redirect
/// to the login page, or the error page.
pub(crate) async fn org_ctx(
    state: AppState,
    auth: &AuthSession,
    ClientIp(ip): ClientIp,
    org: &str,
    perm: Permission,
) -> Result<OrgCtx, Response> {
    let Some(user) = auth.user.clone() else {
        return Err(redirect_303("/login"));
    };
    check_from(state, user, org, perm, ip)
        .await
        .map_err(error_page)
}

/// The client's address as the pages read it (`PHONEHUB_TRUST_PROXY` decides whether
/// `X-Forwarded-For` is believed), for the audit rows a plain route's use case writes.
pub(crate) struct ClientIp(pub Option<String>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<ClientIp, Self::Rejection> {
        Ok(ClientIp(app::ssr::client_ip_of(parts, state.trust_proxy)))
    }
}

/// A plain HTML page that says what went wrong, with the error's status.
pub(crate) fn error_page(e: AppError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let title = match e {
        AppError::NotFound => "Not found",
        AppError::Forbidden(_) => "Not allowed",
        _ => "Something went wrong",
    };
    page(status, title, &escape(&e.to_string()))
}

//! What every request passes first: the sandbox's Basic credentials and, on the API, faults.

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;

use super::rest::twilio_error;
use super::{Sandbox, Shared};

/// Whether the request carries the sandbox's Basic credentials (account SID : auth token).
fn authorized(sb: &Sandbox, req: &Request) -> bool {
    use subtle::ConstantTimeEq;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", sb.cfg.account_sid, sb.cfg.auth_token))
    );
    req.headers()
        .get(header::AUTHORIZATION)
        .is_some_and(|v| bool::from(v.as_bytes().ct_eq(expected.as_bytes())))
}

/// Twilio's 401 (20003) with the Basic challenge.
fn unauthorized(sb: &Sandbox) -> Response {
    sb.count("auth_failures");
    let mut r = twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        axum::http::HeaderValue::from_static("Basic realm=\"Twilio API\""),
    );
    r
}

/// Basic auth for the control endpoints, without the API's fault injection.
pub(super) async fn control_auth(State(sb): State<Shared>, req: Request, next: Next) -> Response {
    if !authorized(&sb, &req) {
        return unauthorized(&sb);
    }
    next.run(req).await
}

/// Basic auth (20003), the account in the path, then any injected latency, errors or hangs.
pub(super) async fn faults_and_auth(
    State(sb): State<Shared>,
    req: Request,
    next: Next,
) -> Response {
    let authed = authorized(&sb, &req);
    let path = req.uri().path().to_string();
    let wrong_account =
        path.contains("/Accounts/") && !path.contains(&format!("/Accounts/{}", sb.cfg.account_sid));
    if !authed || wrong_account {
        return unauthorized(&sb);
    }
    if sb.injected_error().await {
        return twilio_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            20500,
            "Internal Server Error (injected by the sandbox)",
        );
    }
    next.run(req).await
}

//! Plain HTTP routes of recording consent: the announcement's audio upload (a multipart form, the
//! same with JavaScript on or off) and the file itself, which the telephony provider fetches
//! without a session to play it to callers.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use app::error::AppError;
use app::pages::COMPLIANCE_AUDIO_ENDPOINT;
use app::ssr::auth::AuthSession;
use app::ssr::{consent, AppState, Permission};

use crate::bulk::{form_error, read_form};
use crate::middleware::{redirect_303, RenderPage};
use crate::plain_routes::{error_page, org_ctx, ClientIp};

/// The upload, behind the browser session like the pages.
pub fn routes(render: RenderPage) -> Router<AppState> {
    Router::new().route(
        "/o/{org}/admin/compliance/audio",
        post(move |state, auth, ip, path, req| upload(state, auth, ip, path, req, render.clone())),
    )
}

/// The files, outside the browser-session layers: the provider fetches them without cookies, and
/// a response cached publicly must never carry a session cookie a signed-in browser would get.
pub fn media_routes() -> Router<AppState> {
    Router::new().route(&format!("{}/{{token}}", consent::AUDIO_PATH), get(audio))
}

async fn upload(
    State(state): State<AppState>,
    auth: AuthSession,
    ip: ClientIp,
    Path(org): Path<String>,
    req: Request,
    render: RenderPage,
) -> Response {
    let ctx = match org_ctx(state.clone(), &auth, ip, &org, Permission::Manage).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let page_path = format!("/o/{}/admin/compliance", ctx.slug);
    let (parts, body) = req.into_parts();
    let headers = parts.clone();
    let done = match read_form(Request::from_parts(parts, body), &state).await {
        Ok(up) => consent::upload_audio(&ctx, &up.file_name, &up.file).await,
        Err(e) => Err(e),
    };
    match done {
        Ok(()) => redirect_303(&format!("{page_path}?notice=consent-audio-uploaded")),
        Err(e @ AppError::Validation { .. }) => {
            form_error(&render, headers, (COMPLIANCE_AUDIO_ENDPOINT, &page_path), e).await
        }
        Err(e) => error_page(e),
    }
}

/// `/media/consent/{token}`: an org's uploaded announcement, for the provider to play to callers.
/// No session: the unguessable token is the key (a new one with every upload, so a short cache
/// is safe).
async fn audio(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match consent::audio_file(&state, &token).await {
        Ok(Some(file)) => audio_response(&file.content_type, file.bytes),
        Ok(None) => (StatusCode::NOT_FOUND, "No such announcement.").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "reading a consent announcement failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable, try again shortly.",
            )
                .into_response()
        }
    }
}

/// The file as the provider (or a browser) gets it: only the audio types the upload recognised
/// are sent as such, never rendered as a page, and named for what it is.
fn audio_response(content_type: &str, bytes: Vec<u8>) -> Response {
    let (kind, disposition) = match content_type {
        "audio/mpeg" => ("audio/mpeg", "inline; filename=\"announcement.mp3\""),
        "audio/wav" => ("audio/wav", "inline; filename=\"announcement.wav\""),
        other => {
            tracing::error!(
                content_type = other,
                "a consent announcement of an unknown type"
            );
            return (StatusCode::NOT_FOUND, "No such announcement.").into_response();
        }
    };
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, kind),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (
                header::CONTENT_SECURITY_POLICY,
                "sandbox; default-src 'none'",
            ),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        Body::from(bytes),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_are_served_as_audio_and_never_as_a_page() {
        let res = audio_response("audio/wav", b"RIFF\0\0\0\0WAVE".to_vec());
        assert_eq!(res.status(), StatusCode::OK);
        let h = res.headers();
        assert_eq!(h[header::CONTENT_TYPE], "audio/wav");
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(
            h[header::CONTENT_SECURITY_POLICY],
            "sandbox; default-src 'none'"
        );
        assert_eq!(
            h[header::CONTENT_DISPOSITION],
            "inline; filename=\"announcement.wav\""
        );
        let res = audio_response("text/html", b"<script>".to_vec());
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    }
}

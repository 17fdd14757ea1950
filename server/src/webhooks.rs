//! Twilio's webhooks, mounted from the one route table (`Hook`); every handler takes `Twilio`, which only a signature checked against the owning configuration produces.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;

use app::ssr::webhooks::{verify, Hook, Refused, Unverified, Verified};
use app::ssr::{calls, sms, AppState};

/// Every webhook of the table, each with its handler (a new `Hook` does not compile until it has one).
pub fn routes() -> Router<AppState> {
    Hook::ALL.into_iter().fold(Router::new(), |router, hook| {
        let handler = match hook {
            Hook::Voice => post(voice),
            Hook::Connect => post(connect),
            Hook::Status => post(status),
            Hook::Recording => post(recording),
            Hook::Announce => post(announce),
            Hook::Sms => post(inbound_sms),
            Hook::SmsStatus => post(sms_status),
        };
        router.route(hook.path(), handler)
    })
}

/// A webhook request whose signature checked out (an unknown number or call and a bad signature
/// get the same 403 and body, so nobody learns which numbers PhoneHub holds; the handler never
/// runs).
pub struct Twilio(Verified);

impl FromRequest<AppState> for Twilio {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(hook) = Hook::from_path(req.uri().path()) else {
            return Err(refused(Refused::Unknown));
        };
        let path = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let signature = header(&req, "x-twilio-signature");
        let settings = header(&req, telephony::signature::SETTINGS_HEADER);
        let body = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let url = telephony::signature::public_url(state.public_url.as_str(), &path);
        verify(
            state,
            hook,
            Unverified::new(url, &body, signature, settings),
        )
        .await
        .map(Twilio)
        .map_err(refused)
    }
}

fn header(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn refused(r: Refused) -> Response {
    let (status, text) = match r {
        // One answer for both: a 404 for an unknown number told anyone which numbers we hold.
        Refused::Unknown | Refused::BadSignature => (StatusCode::FORBIDDEN, "invalid signature"),
        Refused::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "try again"),
    };
    (status, text).into_response()
}

fn twiml(result: Result<String, Refused>) -> Response {
    match result {
        Ok(xml) => ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], xml).into_response(),
        Err(r) => refused(r),
    }
}

fn ack(result: Result<(), Refused>) -> Response {
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(r) => refused(r),
    }
}

#[tracing::instrument(skip_all)]
async fn voice(State(state): State<AppState>, Twilio(hook): Twilio) -> Response {
    twiml(calls::inbound_voice(&state, &hook).await)
}

#[tracing::instrument(skip_all)]
async fn connect(State(state): State<AppState>, Twilio(hook): Twilio) -> Response {
    twiml(calls::connect_twiml(&state, &hook).await)
}

#[tracing::instrument(skip_all)]
async fn status(State(state): State<AppState>, Twilio(hook): Twilio) -> Response {
    ack(calls::status_callback(&state, &hook).await)
}

#[tracing::instrument(skip_all)]
async fn recording(State(state): State<AppState>, Twilio(hook): Twilio) -> Response {
    ack(calls::recording_callback(&state, &hook).await)
}

#[tracing::instrument(skip_all)]
async fn announce(State(state): State<AppState>, Twilio(hook): Twilio) -> Response {
    twiml(calls::announce_twiml(&state, &hook).await)
}

#[tracing::instrument(skip_all)]
async fn inbound_sms(State(state): State<AppState>, Twilio(hook): Twilio) -> Response {
    twiml(sms::inbound(&state, &hook).await)
}

#[tracing::instrument(skip_all)]
async fn sms_status(State(state): State<AppState>, Twilio(hook): Twilio) -> Response {
    ack(sms::status_callback(&state, &hook).await)
}

//! Twilio's webhooks: inbound voice, the click-to-call connect TwiML, call status and recording
//! callbacks, inbound SMS and SMS delivery status. Each is checked against the signature of the configuration that owns the number or
//! call (an unknown one answers 404, a bad signature 403, and nothing is written).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;

use app::ssr::calls::{self, Refused, Webhook};
use app::ssr::sms;
use app::ssr::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks/twilio/voice", post(voice))
        .route("/webhooks/twilio/connect", post(connect))
        .route("/webhooks/twilio/status", post(status))
        .route("/webhooks/twilio/recording", post(recording))
        .route("/webhooks/twilio/sms", post(sms))
        .route("/webhooks/twilio/sms-status", post(sms_status))
}

struct Request {
    url: String,
    params: Vec<(String, String)>,
    signature: Option<String>,
}

impl Request {
    fn new(state: &AppState, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Request {
        let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        Request {
            url: telephony::signature::public_url(state.public_url.as_str(), path),
            params: url::form_urlencoded::parse(body).into_owned().collect(),
            signature: headers
                .get("x-twilio-signature")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        }
    }

    fn hook(&self) -> Webhook<'_> {
        Webhook {
            url: &self.url,
            params: &self.params,
            signature: self.signature.as_deref(),
        }
    }
}

fn refused(r: Refused) -> Response {
    let (status, text) = match r {
        Refused::Unknown => (StatusCode::NOT_FOUND, "unknown number or call"),
        Refused::BadSignature => (StatusCode::FORBIDDEN, "invalid signature"),
        Refused::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "try again"),
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

async fn voice(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = Request::new(&state, &uri, &headers, &body);
    twiml(calls::inbound_voice(&state, &req.hook()).await)
}

async fn connect(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = Request::new(&state, &uri, &headers, &body);
    twiml(calls::connect_twiml(&state, &req.hook()).await)
}

async fn status(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = Request::new(&state, &uri, &headers, &body);
    ack(calls::status_callback(&state, &req.hook()).await)
}

async fn recording(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = Request::new(&state, &uri, &headers, &body);
    ack(calls::recording_callback(&state, &req.hook()).await)
}

async fn sms(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let req = Request::new(&state, &uri, &headers, &body);
    twiml(sms::inbound(&state, &req.hook()).await)
}

async fn sms_status(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = Request::new(&state, &uri, &headers, &body);
    ack(sms::status_callback(&state, &req.hook()).await)
}

//! Simulated inbound calls and texts (`_simulate/…`), answered by the number's webhooks.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::calls::{call_params, set_call_price, talk_seconds};
use super::messages::segments;
use super::recordings::record;
use super::rest::{new_sid, now, pairs, twilio_error, ApiError};
use super::state::{CallRec, OwnedNumber};
use super::{Sandbox, Shared};

/// Someone outside calling or texting one of the account's numbers (`POST …/_simulate/…`).
#[derive(Debug, Clone, Deserialize)]
pub struct Incoming {
    pub to: String,
    pub from: String,
    #[serde(default)]
    pub body: String,
}

/// An attribute's value in TwiML (`name="…"`), unescaped.
fn twiml_attr(twiml: &str, name: &str) -> Option<String> {
    let key = format!("{name}=\"");
    let start = twiml.find(&key)? + key.len();
    let end = twiml[start..].find('"')? + start;
    Some(
        twiml[start..end]
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// The account's number that `req` is for, or Twilio's 404.
fn called_number(sb: &Sandbox, req: &Incoming) -> Result<OwnedNumber, ApiError> {
    sb.lock()
        .numbers
        .iter()
        .find(|n| n.phone_number == req.to)
        .cloned()
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                20404,
                format!("{} is not a number of this account", req.to),
            )
        })
}

/// An inbound call: asks the number's voice URL for TwiML, then (when it dials or records) the
/// call completes after its talk time, with a recording if the TwiML asked for one and the
/// number's status callback.
pub(super) async fn simulate_incoming_call(
    State(sb): State<Shared>,
    Json(req): Json<Incoming>,
) -> Response {
    sb.count("SimulateIncomingCall");
    let n = match called_number(&sb, &req) {
        Ok(n) => n,
        Err(e) => return e.into_response(),
    };
    let Some(voice_url) = n.voice_url.clone().filter(|u| !u.is_empty()) else {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21627,
            "The number has no voice URL",
        );
    };
    let sid = new_sid("CA");
    let ringing = pairs(&[
        ("AccountSid", &sb.cfg.account_sid),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", &sid),
        ("CallStatus", "ringing"),
        ("Called", &req.to),
        ("Caller", &req.from),
        ("Direction", "inbound"),
        ("From", &req.from),
        ("To", &req.to),
    ]);
    let Some(twiml) = sb.fetch_twiml(&voice_url, &ringing).await else {
        return twilio_error(
            StatusCode::BAD_GATEWAY,
            11200,
            "The voice URL did not answer with TwiML",
        );
    };
    let t = now();
    let answered = twiml.contains("<Dial") || twiml.contains("<Record");
    let mut c = CallRec {
        sid: sid.clone(),
        from: req.from.clone(),
        to: req.to.clone(),
        status: if answered { "in-progress" } else { "completed" }.into(),
        recording_status_callback: twiml_attr(&twiml, "recordingStatusCallback"),
        talk_seconds: talk_seconds(&sid),
        date_created: t.clone(),
        date_updated: t.clone(),
        start_time: answered.then(|| t.clone()),
        ..Default::default()
    };
    c.record = c.recording_status_callback.is_some();
    sb.lock().calls.push(c.clone());
    let status_url = n.status_callback.clone().filter(|u| !u.is_empty());
    let started = sb.sim_now();
    let secs = if answered { c.talk_seconds } else { 0 };
    tokio::spawn(end_incoming_call(
        sb.clone(),
        c.sid,
        started + secs as f64,
        secs,
        status_url,
    ));
    Json(json!({ "sid": sid, "twiml": twiml })).into_response()
}

/// Ends an inbound call at simulated time `at` after `secs` of talk, then records it if asked
/// and sends the number's status callback.
async fn end_incoming_call(
    sb: Shared,
    sid: String,
    at: f64,
    secs: u32,
    status_url: Option<String>,
) {
    sb.sleep_until_sim(at).await;
    let done = {
        let mut d = sb.lock();
        let Some(call) = d.calls.iter_mut().find(|x| x.sid == sid) else {
            return;
        };
        call.status = "completed".into();
        call.duration = Some(secs);
        call.end_time = Some(now());
        let billed = set_call_price(call, secs);
        let snapshot = call.clone();
        if let Some((minutes, price)) = billed {
            d.bill("calls", 1, minutes, price);
        }
        sb.save(&d);
        snapshot
    };
    if done.record {
        record(&sb, &done).await;
    }
    if let Some(url) = status_url {
        let mut p = call_params(&sb, &done, Some(0));
        for (k, v) in p.iter_mut() {
            if k == "Direction" {
                *v = "inbound".into();
            }
        }
        sb.callback(&url, p).await;
    }
}

/// An inbound SMS: posted to the number's SMS URL.
pub(super) async fn simulate_incoming_sms(
    State(sb): State<Shared>,
    Json(req): Json<Incoming>,
) -> Response {
    sb.count("SimulateIncomingSms");
    let n = match called_number(&sb, &req) {
        Ok(n) => n,
        Err(e) => return e.into_response(),
    };
    let Some(url) = n.sms_url.clone().filter(|u| !u.is_empty()) else {
        return twilio_error(StatusCode::BAD_REQUEST, 21627, "The number has no SMS URL");
    };
    let sid = new_sid("SM");
    let segments = segments(&req.body).to_string();
    let params = pairs(&[
        ("AccountSid", &sb.cfg.account_sid),
        ("ApiVersion", "2010-04-01"),
        ("MessageSid", &sid),
        ("SmsSid", &sid),
        ("SmsMessageSid", &sid),
        ("SmsStatus", "received"),
        ("From", &req.from),
        ("To", &req.to),
        ("Body", &req.body),
        ("NumSegments", &segments),
        ("NumMedia", "0"),
    ]);
    match sb.fetch_twiml(&url, &params).await {
        Some(_) => Json(json!({ "sid": sid })).into_response(),
        None => twilio_error(
            StatusCode::BAD_GATEWAY,
            11200,
            "The SMS URL did not accept the message",
        ),
    }
}

//! Outbound calls: the Call resource, and each call's progress with its status callbacks. An
//! answered call runs its TwiML as far as the sandbox follows it: a `<Dial>` that records makes the
//! call recorded, and the `<Number url>` it dials is asked for what its party hears first.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::data::{stable_hash, MAGIC_BUSY, MAGIC_FAILED, MAGIC_INVALID, MAGIC_NO_ANSWER};
use super::recordings::record;
use super::rest::{
    field, form, new_sid, not_found, now, page_json, price, strip_json, twilio_error,
};
use super::state::{CallRec, Data};
use super::twiml::{read_voice, Dial};
use super::{Sandbox, Shared};
use crate::e164::E164;

/// The statuses of Twilio's Call resource (`call_enum_status` in its API spec).
pub const CALL_RESOURCE_STATUSES: [&str; 8] = [
    "queued",
    "ringing",
    "in-progress",
    "completed",
    "busy",
    "failed",
    "no-answer",
    "canceled",
];

/// Statuses after which a call does not change.
pub(super) const FINAL_CALL: [&str; 5] = ["completed", "busy", "no-answer", "failed", "canceled"];

/// Simulated seconds of conversation, from 5 to 89, the same for the same SID.
pub(super) fn talk_seconds(sid: &str) -> u32 {
    5 + (stable_hash(sid) % 85) as u32
}

/// Micro-dollars for a call of `secs`, billed per started minute.
pub(super) fn call_price_micros(secs: u32) -> i64 {
    secs.div_ceil(60) as i64 * 8_500
}

/// A call's status as the Call resource shows it. The sandbox keeps `initiated` as a step of the
/// call (its status callback says `CallStatus=initiated`), but that is only a callback event:
/// Twilio's resource has no such status and shows `queued` until the call rings.
fn call_resource_status(status: &str) -> &str {
    match status {
        "initiated" => "queued",
        s => s,
    }
}

/// `d` is the locked state (for the number's SID).
fn call_json(sb: &Sandbox, d: &Data, c: &CallRec) -> Value {
    let fmt = |n: &str| {
        E164::parse(n, None)
            .map(|e| e.national())
            .unwrap_or_else(|_| n.to_string())
    };
    let phone_sid = d
        .numbers
        .iter()
        .find(|n| n.phone_number == c.from)
        .map(|n| n.sid.clone());
    json!({
        "sid": c.sid, "date_created": c.date_created, "date_updated": c.date_updated,
        "parent_call_sid": null, "account_sid": sb.cfg.account_sid, "to": c.to,
        "to_formatted": fmt(&c.to), "from": c.from, "from_formatted": fmt(&c.from),
        "phone_number_sid": phone_sid, "status": call_resource_status(&c.status), "start_time": c.start_time,
        "end_time": c.end_time, "duration": c.duration.map(|d| d.to_string()),
        "price": c.price_micros.map(price), "price_unit": "USD", "direction": "outbound-api",
        "answered_by": null, "api_version": "2010-04-01", "forwarded_from": null,
        "group_sid": null, "caller_name": null, "queue_time": "0", "trunk_sid": null,
        "uri": sb.account_uri(&format!("/Calls/{}.json", c.sid)),
        "subresource_uris": {
            "recordings": sb.account_uri(&format!("/Calls/{}/Recordings.json", c.sid)),
        },
    })
}

pub(super) async fn create_call(State(sb): State<Shared>, body: String) -> Response {
    sb.count("CreateCall");
    let f = form(&body);
    let (Some(to), Some(from)) = (field(&f, "To"), field(&f, "From")) else {
        return twilio_error(StatusCode::BAD_REQUEST, 21201, "To and From are required");
    };
    let to = match E164::parse(&to, None) {
        Ok(e) if e.as_str() != MAGIC_INVALID => e.to_string(),
        _ => {
            return twilio_error(
                StatusCode::BAD_REQUEST,
                21211,
                format!("Invalid 'To' Phone Number: {to}"),
            )
        }
    };
    if field(&f, "Url").is_none()
        && field(&f, "Twiml").is_none()
        && field(&f, "ApplicationSid").is_none()
    {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21205,
            "Url, Twiml or ApplicationSid is required",
        );
    }
    let mut d = sb.lock();
    if !d.numbers.iter().any(|n| n.phone_number == from && n.voice) {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21210,
            format!(
                "The source phone number provided, {from}, is not yet verified for your account."
            ),
        );
    }
    // Twilio accepts 1 to 14400 seconds (four hours).
    let time_limit = match field(&f, "TimeLimit").map(|t| t.parse::<u32>()) {
        None => None,
        Some(Ok(t)) if (1..=14_400).contains(&t) => Some(t),
        Some(_) => {
            return twilio_error(
                StatusCode::BAD_REQUEST,
                21216,
                "TimeLimit must be a whole number of seconds from 1 to 14400",
            )
        }
    };
    let sid = new_sid("CA");
    let t = now();
    let c = CallRec {
        sid: sid.clone(),
        from,
        to,
        status: "queued".into(),
        url: field(&f, "Url"),
        status_callback: field(&f, "StatusCallback"),
        status_callback_events: f
            .iter()
            .filter(|(k, _)| k == "StatusCallbackEvent")
            .flat_map(|(_, v)| v.split_whitespace().map(str::to_string).collect::<Vec<_>>())
            .collect(),
        record: field(&f, "Record").is_some_and(|r| r == "true"),
        recording_status_callback: field(&f, "RecordingStatusCallback"),
        talk_seconds: talk_seconds(&sid).min(time_limit.unwrap_or(u32::MAX)),
        time_limit,
        date_created: t.clone(),
        date_updated: t,
        ..Default::default()
    };
    d.calls.push(c.clone());
    sb.save(&d);
    let body = call_json(&sb, &d, &c);
    drop(d);
    // The timeline starts now, not whenever the task first runs: a manual clock advanced right
    // after this answer must count from the creation.
    let created = sb.sim_now();
    tokio::spawn(progress_call(sb.clone(), sid, created));
    (StatusCode::CREATED, Json(body)).into_response()
}

/// The statuses an outbound call moves through after `queued`, each with its wait in simulated
/// seconds; the magic numbers decide how it ends.
fn call_steps(to: &str, talk_seconds: u32) -> Vec<(&'static str, f64)> {
    match to {
        MAGIC_FAILED => vec![("initiated", 0.2), ("failed", 0.5)],
        MAGIC_BUSY => vec![("initiated", 0.2), ("ringing", 1.0), ("busy", 2.0)],
        MAGIC_NO_ANSWER => vec![("initiated", 0.2), ("ringing", 1.0), ("no-answer", 15.0)],
        _ => vec![
            ("initiated", 0.2),
            ("ringing", 1.0),
            ("in-progress", 3.0),
            ("completed", talk_seconds as f64),
        ],
    }
}

/// Moves a call through its statuses and sends the requested callbacks.
pub(super) async fn progress_call(sb: Shared, sid: String, created: f64) {
    let Some(c) = sb.lock().calls.iter().find(|c| c.sid == sid).cloned() else {
        return;
    };
    // Resume after a restart: skip what already happened.
    let steps = super::clock::after(call_steps(&c.to, c.talk_seconds), &c.status);
    let mut at = created;
    for (status, wait) in steps {
        at += wait;
        sb.sleep_until_sim(at).await;
        let Some(updated) = set_call_status(&sb, &sid, status) else {
            return;
        };
        if status == "in-progress" {
            connect(&sb, &updated).await;
        }
        send_status_callback(&sb, &sid, status).await;
        if status == "completed" && updated.record {
            record(&sb, &updated).await;
        }
    }
}

/// Runs an answered call's TwiML (from its `Url`) as Twilio would for what the sandbox follows: a
/// `<Dial record="record-from-…" recordingStatusCallback="…">` makes the call recorded, reported
/// there (a call created with `Record=true` records as it was asked, taking the callback only if it
/// had none); the `<Number url="…">` it dials is asked (POST, signed) for the TwiML its party hears
/// before being connected, kept in the call's `heard`.
async fn connect(sb: &Shared, c: &CallRec) {
    let Some(url) = &c.url else {
        return;
    };
    let params = call_params(sb, c, None);
    let Some(twiml) = sb.fetch_twiml(url, &params).await else {
        return;
    };
    let Some(dial) = read_voice(&twiml).dial else {
        return;
    };
    let heard = match &dial.number_url {
        Some(number_url) => {
            let params = dialed_params(c, &dial, params);
            match sb.fetch_twiml(number_url, &params).await {
                Some(answer) => sb.played(read_voice(&answer).heard).await,
                None => Vec::new(),
            }
        }
        None => Vec::new(),
    };
    let records = dial.record && dial.recording_status_callback.is_some();
    if !records && heard.is_empty() {
        return;
    }
    let mut d = sb.lock();
    let Some(call) = d.calls.iter_mut().find(|x| x.sid == c.sid) else {
        return;
    };
    if records {
        if !call.record {
            call.record = true;
            call.recording_status_callback = dial.recording_status_callback;
        } else if call.recording_status_callback.is_none() {
            call.recording_status_callback = dial.recording_status_callback;
        }
    }
    call.heard = heard;
    sb.save(&d);
}

/// The parameters of the request to a `<Number url>`, as Twilio sends them for the dialed call (a
/// child of the answered one): the answered call's, with the dialed call's own `CallSid`, its
/// parent's as `ParentCallSid`, the number dialed as `To` and `Called`, and `outbound-dial`.
fn dialed_params(
    parent: &CallRec,
    dial: &Dial,
    mut params: Vec<(String, String)>,
) -> Vec<(String, String)> {
    let child = new_sid("CA");
    for (k, v) in params.iter_mut() {
        match k.as_str() {
            "CallSid" => *v = child.clone(),
            "Direction" => *v = "outbound-dial".into(),
            "To" | "Called" => {
                if let Some(n) = &dial.number {
                    *v = n.clone();
                }
            }
            _ => {}
        }
    }
    params.push(("ParentCallSid".into(), parent.sid.clone()));
    params
}

/// Records a call's new status (with its times, duration and price once final, billed once) and
/// returns the call as saved; `None` when the call is gone.
fn set_call_status(sb: &Sandbox, sid: &str, status: &str) -> Option<CallRec> {
    let mut d = sb.lock();
    let call = d.calls.iter_mut().find(|c| c.sid == sid)?;
    call.status = status.to_string();
    call.date_updated = now();
    if status == "in-progress" {
        call.start_time = Some(now());
    }
    let mut billed = None;
    if FINAL_CALL.contains(&status) {
        call.end_time = Some(now());
        let secs = if status == "completed" {
            call.talk_seconds
        } else {
            0
        };
        call.duration = Some(secs);
        billed = set_call_price(call, secs);
    }
    let snapshot = call.clone();
    if let Some((minutes, price)) = billed {
        d.bill("calls", 1, minutes, price);
    }
    sb.save(&d);
    Some(snapshot)
}

/// Fixes the price of a call that lasted `secs`; the first time only, answering what to bill
/// (started minutes, price), so that a call is never billed twice.
pub(super) fn set_call_price(call: &mut CallRec, secs: u32) -> Option<(u64, i64)> {
    if call.price_micros.is_some() {
        return None;
    }
    let price = call_price_micros(secs);
    call.price_micros = Some(price);
    Some((u64::from(secs.div_ceil(60)), price))
}

/// The form parameters of a call's webhooks; `seq` adds those of a status callback.
pub(super) fn call_params(sb: &Sandbox, c: &CallRec, seq: Option<u32>) -> Vec<(String, String)> {
    let mut p: Vec<(String, String)> = [
        ("AccountSid", sb.cfg.account_sid.as_str()),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", c.sid.as_str()),
        ("CallStatus", c.status.as_str()),
        ("Called", c.to.as_str()),
        ("Caller", c.from.as_str()),
        ("Direction", "outbound-api"),
        ("From", c.from.as_str()),
        ("To", c.to.as_str()),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    if let Some(seq) = seq {
        p.push(("SequenceNumber".into(), seq.to_string()));
        p.push(("CallbackSource".into(), "call-progress-events".into()));
        p.push(("Timestamp".into(), now()));
    }
    if let Some(d) = c.duration {
        p.push(("CallDuration".into(), d.to_string()));
        p.push(("Duration".into(), d.div_ceil(60).to_string()));
    }
    p
}

async fn send_status_callback(sb: &Shared, sid: &str, status: &str) {
    let event = match status {
        "initiated" => "initiated",
        "ringing" => "ringing",
        "in-progress" => "answered",
        _ => "completed",
    };
    let (url, params) = {
        let mut d = sb.lock();
        let Some(c) = d.calls.iter_mut().find(|c| c.sid == sid) else {
            return;
        };
        let wanted = if c.status_callback_events.is_empty() {
            event == "completed"
        } else {
            c.status_callback_events.iter().any(|e| e == event)
        };
        let Some(url) = c.status_callback.clone().filter(|_| wanted) else {
            return;
        };
        let seq = c.sequence;
        c.sequence += 1;
        let params = call_params(sb, c, Some(seq));
        sb.save(&d);
        (url, params)
    };
    sb.callback(&url, params).await;
}

pub(super) async fn fetch_call(
    State(sb): State<Shared>,
    Path((_, sid)): Path<(String, String)>,
) -> Response {
    sb.count("FetchCall");
    let Some(sid) = strip_json(&sid) else {
        return not_found();
    };
    let body = {
        let d = sb.lock();
        d.calls
            .iter()
            .find(|c| c.sid == sid)
            .map(|c| call_json(&sb, &d, c))
    };
    match body {
        Some(b) => Json(b).into_response(),
        None => not_found(),
    }
}

pub(super) async fn list_calls(
    State(sb): State<Shared>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    sb.count("ListCall");
    let items = {
        let d = sb.lock();
        d.calls
            .iter()
            .rev()
            .map(|c| call_json(&sb, &d, c))
            .collect()
    };
    Json(page_json(&sb, "calls", "/Calls.json", items, &q)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_call_resource_only_shows_statuses_of_twilios_enum() {
        for to in ["+14155550111", MAGIC_BUSY, MAGIC_NO_ANSWER, MAGIC_FAILED] {
            for (status, _) in call_steps(to, 30) {
                let shown = call_resource_status(status);
                assert!(
                    CALL_RESOURCE_STATUSES.contains(&shown),
                    "{to}: {status} shows as {shown}"
                );
            }
        }
        assert_eq!(call_resource_status("initiated"), "queued");
    }
}

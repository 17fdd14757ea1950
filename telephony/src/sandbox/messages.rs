//! Outbound SMS: the Message resource, each message's progress with its status callbacks, and the
//! redaction of its body.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::data::{MAGIC_INVALID, MAGIC_UNDELIVERED};
use super::rest::{
    field, form, new_sid, not_found, now, page_json, price, strip_json, twilio_error,
};
use super::state::MessageRec;
use super::{Sandbox, Shared};
use crate::e164::E164;

/// The statuses of Twilio's Message resource the sandbox uses (all in `message_enum_status`).
pub const MESSAGE_RESOURCE_STATUSES: [&str; 4] = ["queued", "sent", "delivered", "undelivered"];

/// The segments a message takes on the wire: at least one, even with no text (an inbound message
/// can be empty).
pub fn segments(body: &str) -> u32 {
    sms_segments::segments(body).count.max(1)
}

fn message_json(sb: &Sandbox, m: &MessageRec) -> Value {
    json!({
        "body": m.body, "num_segments": m.num_segments.to_string(),
        "direction": m.direction.as_deref().unwrap_or("outbound-api"),
        "from": m.from, "to": m.to, "date_updated": m.date_updated, "price": m.price_micros.map(price),
        "error_message": m.error_code.map(|_| "Unreachable destination handset"), "uri": sb.account_uri(&format!("/Messages/{}.json", m.sid)),
        "account_sid": sb.cfg.account_sid, "num_media": "0", "status": m.status,
        "messaging_service_sid": null, "sid": m.sid, "date_sent": m.date_sent,
        "date_created": m.date_created, "error_code": m.error_code, "price_unit": "USD",
        "api_version": "2010-04-01",
        "subresource_uris": {"media": sb.account_uri(&format!("/Messages/{}/Media.json", m.sid))},
    })
}

pub(super) async fn send_message(State(sb): State<Shared>, body: String) -> Response {
    sb.count("CreateMessage");
    let f = form(&body);
    let (Some(to), Some(from)) = (field(&f, "To"), field(&f, "From")) else {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21604,
            "'To' and 'From' are required",
        );
    };
    let text = field(&f, "Body").unwrap_or_default();
    if text.is_empty() {
        return twilio_error(StatusCode::BAD_REQUEST, 21602, "Message body is required.");
    }
    if text.chars().count() > 1600 {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21617,
            "The concatenated message body exceeds the 1600 character limit.",
        );
    }
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
    let mut d = sb.lock();
    if !d.numbers.iter().any(|n| n.phone_number == from && n.sms) {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21606,
            format!("The From phone number {from} is not a valid, SMS-capable inbound phone number or short code for your account."),
        );
    }
    // The person texted STOP (or another opt-out keyword) to this number.
    if d.is_opted_out(&from, &to) {
        drop(d);
        sb.count("CreateMessageUnsubscribed");
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21610,
            "Attempt to send to unsubscribed recipient",
        );
    }
    let t = now();
    let m = MessageRec {
        sid: new_sid("SM"),
        from,
        to,
        num_segments: segments(&text),
        body: text,
        status: "queued".into(),
        status_callback: field(&f, "StatusCallback"),
        date_created: t.clone(),
        date_updated: t,
        ..Default::default()
    };
    d.messages.push(m.clone());
    sb.save(&d);
    drop(d);
    // Timed from the creation, like calls (see `calls::create_call`).
    let created = sb.sim_now();
    tokio::spawn(progress_message(sb.clone(), m.sid.clone(), created));
    (StatusCode::CREATED, Json(message_json(&sb, &m))).into_response()
}

/// Records a reply that a webhook's TwiML answer sent with `<Message>` (Twilio's
/// `outbound-reply`): `sent` at once, priced and billed as any sent message, then `delivered` (or
/// `undelivered`) on the clock like the others, reported to the `statusCallback` the `<Message>`
/// named (if any). Its SID.
pub(super) fn record_reply(
    sb: &Shared,
    (from, to): (&str, &str),
    body: &str,
    status_callback: Option<String>,
) -> String {
    let t = now();
    let m = MessageRec {
        sid: new_sid("SM"),
        from: from.to_string(),
        to: to.to_string(),
        num_segments: segments(body),
        body: body.to_string(),
        status: "queued".into(),
        status_callback,
        date_created: t.clone(),
        date_updated: t,
        direction: Some("outbound-reply".into()),
        ..Default::default()
    };
    let sid = m.sid.clone();
    sb.lock().messages.push(m);
    // Saves the state with the message in it.
    set_message_status(sb, &sid, "sent");
    let sent = sb.sim_now();
    tokio::spawn(progress_message(sb.clone(), sid.clone(), sent));
    sid
}

/// The statuses an outbound message moves through after `queued`, with their waits.
fn message_steps(to: &str) -> Vec<(&'static str, f64)> {
    let last = if to == MAGIC_UNDELIVERED {
        "undelivered"
    } else {
        "delivered"
    };
    vec![("sent", 0.5), (last, 2.0)]
}

/// Moves a message through its statuses and sends its status callbacks.
pub(super) async fn progress_message(sb: Shared, sid: String, created: f64) {
    let Some(m) = sb.lock().messages.iter().find(|m| m.sid == sid).cloned() else {
        return;
    };
    let steps = super::clock::after(message_steps(&m.to), &m.status);
    let mut at = created;
    for (status, wait) in steps {
        at += wait;
        sb.sleep_until_sim(at).await;
        let Some(msg) = set_message_status(&sb, &sid, status) else {
            return;
        };
        if let Some(url) = &msg.status_callback {
            sb.callback(url, status_params(&sb, &msg)).await;
        }
    }
}

/// Records a message's new status (with its price once sent, billed once) and returns the
/// message as saved; `None` when the message is gone.
fn set_message_status(sb: &Sandbox, sid: &str, status: &str) -> Option<MessageRec> {
    let mut d = sb.lock();
    let msg = d.messages.iter_mut().find(|m| m.sid == sid)?;
    msg.status = status.into();
    msg.date_updated = now();
    let mut billed = None;
    if status == "sent" {
        msg.date_sent = Some(now());
        if msg.price_micros.is_none() {
            let price = msg.num_segments as i64 * 7_900;
            msg.price_micros = Some(price);
            billed = Some((u64::from(msg.num_segments), price));
        }
    }
    if status == "undelivered" {
        msg.error_code = Some(30003);
    }
    let snapshot = msg.clone();
    if let Some((segments, price)) = billed {
        d.bill("sms", 1, segments, price);
    }
    sb.save(&d);
    Some(snapshot)
}

/// The form parameters of a message's status callback.
fn status_params(sb: &Sandbox, msg: &MessageRec) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = [
        ("AccountSid", sb.cfg.account_sid.clone()),
        ("ApiVersion", "2010-04-01".into()),
        ("From", msg.from.clone()),
        ("To", msg.to.clone()),
        ("MessageSid", msg.sid.clone()),
        ("SmsSid", msg.sid.clone()),
        ("MessageStatus", msg.status.clone()),
        ("SmsStatus", msg.status.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if let Some(code) = msg.error_code {
        params.push(("ErrorCode".into(), code.to_string()));
    }
    params
}

pub(super) async fn fetch_message(
    State(sb): State<Shared>,
    Path((_, sid)): Path<(String, String)>,
) -> Response {
    sb.count("FetchMessage");
    let Some(sid) = strip_json(&sid) else {
        return not_found();
    };
    let msg = sb.lock().messages.iter().find(|m| m.sid == sid).cloned();
    match msg {
        Some(m) => Json(message_json(&sb, &m)).into_response(),
        None => not_found(),
    }
}

/// `POST …/Messages/{Sid}.json` (Twilio's `UpdateMessage`), as far as redacting goes: an empty
/// `Body` erases the message's text (the rest of it is kept, and it still progresses) and answers
/// the message. Twilio accepts no other body on an update: a non-empty one is refused (400, 21619),
/// and so is an update without `Body` (the sandbox does not cancel messages). An unknown SID is
/// Twilio's 404 (20404).
pub(super) async fn update_message(
    State(sb): State<Shared>,
    Path((_, sid)): Path<(String, String)>,
    body: String,
) -> Response {
    sb.count("RedactMessage");
    let Some(sid) = strip_json(&sid) else {
        return not_found();
    };
    let f = form(&body);
    let redacted = {
        let mut d = sb.lock();
        let Some(m) = d.messages.iter_mut().find(|m| m.sid == sid) else {
            return not_found();
        };
        match field(&f, "Body") {
            Some(text) if text.is_empty() => {}
            Some(_) => {
                return twilio_error(
                    StatusCode::BAD_REQUEST,
                    21619,
                    "A message's Body can only be updated to an empty string, to redact it.",
                )
            }
            None => {
                return twilio_error(
                    StatusCode::BAD_REQUEST,
                    21619,
                    "Body (empty, to redact the message) is required.",
                )
            }
        }
        m.body.clear();
        m.date_updated = now();
        let snapshot = m.clone();
        sb.save(&d);
        snapshot
    };
    Json(message_json(&sb, &redacted)).into_response()
}

pub(super) async fn list_messages(
    State(sb): State<Shared>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    sb.count("ListMessage");
    let msgs: Vec<MessageRec> = sb.lock().messages.iter().rev().cloned().collect();
    let items = msgs.iter().map(|m| message_json(&sb, m)).collect();
    Json(page_json(&sb, "messages", "/Messages.json", items, &q)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_resource_only_shows_statuses_of_twilios_enum() {
        for to in ["+14155550111", MAGIC_UNDELIVERED] {
            for (status, _) in message_steps(to) {
                assert!(
                    MESSAGE_RESOURCE_STATUSES.contains(&status),
                    "{to}: {status}"
                );
            }
        }
    }

    #[test]
    fn an_empty_message_still_takes_one_segment() {
        assert_eq!(segments(""), 1);
        assert_eq!(segments("hello"), 1);
        assert_eq!(segments(&"a".repeat(161)), 2);
    }
}

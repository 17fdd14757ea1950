//! Simulated inbound calls and texts (`_simulate/…`), answered by the number's webhooks.
//!
//! An inbound text gets Twilio's default opt-out handling: a body that is one of Twilio's opt-out
//! keywords (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, OPTOUT, REVOKE) opts the sender out of
//! that number's texts before the webhook is called, so that the Messages resource then refuses to
//! text them from it (21610); START, YES or UNSTOP opts them back in. The `<Message>` verbs of the
//! webhook's TwiML answer are sent as replies, as with Twilio's Advanced Opt-Out: the account's own
//! answer to an opt-out keyword is delivered (in place of Twilio's default confirmation), while a
//! reply to someone opted out who texted anything else is refused.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::calls::{call_params, set_call_price, talk_seconds};
use super::messages::{record_reply, segments};
use super::recordings::record;
use super::rest::{new_sid, now, pairs, twilio_error, ApiError};
use super::state::{CallRec, OwnedNumber};
use super::twiml::{read_voice, rejected};
use super::{Sandbox, Shared};
use crate::e164::E164;

/// Twilio's default opt-out keywords.
const OPT_OUT_KEYWORDS: [&str; 8] = [
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "OPTOUT",
    "REVOKE",
];
/// Twilio's default opt-in keywords.
const OPT_IN_KEYWORDS: [&str; 3] = ["START", "YES", "UNSTOP"];
/// The most `<Message>` replies one TwiML answer sends.
const MAX_TWIML_REPLIES: usize = 10;
/// The longest reply sent (the Messages resource's limit).
const MAX_REPLY_CHARS: usize = 1600;

/// Whether an inbound text is one of Twilio's opt-out keywords (`Some(true)`) or opt-in keywords
/// (`Some(false)`): the whole body, trimmed, in any case, with trailing punctuation ignored
/// ("Stop.", " stop! "). `None` for any other text.
pub(super) fn twilio_keyword(body: &str) -> Option<bool> {
    let word = body
        .trim()
        .trim_end_matches(|c: char| c.is_ascii_punctuation())
        .trim_end()
        .to_uppercase();
    if OPT_OUT_KEYWORDS.contains(&word.as_str()) {
        Some(true)
    } else if OPT_IN_KEYWORDS.contains(&word.as_str()) {
        Some(false)
    } else {
        None
    }
}

/// The texts of the `<Message>` verbs of a TwiML answer (directly under `<Response>`), in order:
/// each one's text, or its `<Body>` noun's (other nouns such as `<Media>` are left out), entities
/// decoded and trimmed. Empty messages are skipped; at most [`MAX_TWIML_REPLIES`]. Reading stops at
/// the first XML error, keeping the messages read before it.
#[cfg(test)]
pub(super) fn twiml_messages(twiml: &str) -> Vec<String> {
    twiml_replies(twiml).into_iter().map(|r| r.text).collect()
}

/// A `<Message>` of a TwiML answer: its text and the `statusCallback` it names, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TwimlReply {
    pub text: String,
    pub status_callback: Option<String>,
}

/// As [`twiml_messages`], with each message's `statusCallback` attribute.
pub(super) fn twiml_replies(twiml: &str) -> Vec<TwimlReply> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(twiml);
    let mut path: Vec<String> = Vec::new();
    // The raw text (entities still escaped) of the `<Message>` being read, if one is open.
    let mut current: Option<String> = None;
    let mut callback: Option<String> = None;
    let mut out = Vec::new();
    while out.len() < MAX_TWIML_REPLIES {
        let Ok(event) = reader.read_event() else {
            break;
        };
        // Whether text here belongs to the open message: in it, or in its `<Body>`.
        let in_message_text =
            path.len() == 2 || (path.len() == 3 && path.last().is_some_and(|n| n == "Body"));
        match event {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if path.len() == 1 && path[0] == "Response" && name == "Message" {
                    current = Some(String::new());
                    callback = e
                        .try_get_attribute("statusCallback")
                        .ok()
                        .flatten()
                        .and_then(|a| {
                            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .ok()
                                .map(|v| v.into_owned())
                        })
                        .filter(|u| !u.is_empty());
                }
                path.push(name);
                if path.len() > 16 {
                    break;
                }
            }
            Event::End(_) => {
                if path.len() == 2 {
                    if let Some(raw) = current.take() {
                        let text = quick_xml::escape::unescape(&raw)
                            .map(|t| t.into_owned())
                            .unwrap_or_else(|_| raw.clone());
                        let text = text.trim();
                        if !text.is_empty() {
                            out.push(TwimlReply {
                                text: text.to_string(),
                                status_callback: callback.take(),
                            });
                        }
                    }
                }
                path.pop();
            }
            Event::Text(t) => {
                if let (Some(raw), true) = (current.as_mut(), in_message_text) {
                    match t.decode() {
                        Ok(text) => raw.push_str(&text),
                        Err(_) => break,
                    }
                }
            }
            Event::CData(c) => {
                if let (Some(raw), true) = (current.as_mut(), in_message_text) {
                    // Escaped so that the unescaping at the message's end gives it back as it was.
                    match c.decode() {
                        Ok(text) => raw.push_str(&quick_xml::escape::escape(text.as_ref())),
                        Err(_) => break,
                    }
                }
            }
            Event::GeneralRef(r) => {
                if let (Some(raw), true) = (current.as_mut(), in_message_text) {
                    match r.decode() {
                        Ok(name) => {
                            raw.push('&');
                            raw.push_str(&name);
                            raw.push(';');
                        }
                        Err(_) => break,
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

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
/// number's status callback. What the TwiML plays before its `<Dial>` is kept as what the caller
/// heard (the call's `heard`).
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
    let refused = rejected(&twiml);
    if refused.is_some() {
        sb.count("RejectedCall");
    }
    let heard = match refused {
        Some(_) => Vec::new(),
        None => sb.played(read_voice(&twiml).heard).await,
    };
    let t = now();
    let answered = refused.is_none() && (twiml.contains("<Dial") || twiml.contains("<Record"));
    let ends = refused.unwrap_or("completed");
    let mut c = CallRec {
        sid: sid.clone(),
        from: req.from.clone(),
        to: req.to.clone(),
        status: if answered { "in-progress" } else { ends }.into(),
        recording_status_callback: twiml_attr(&twiml, "recordingStatusCallback"),
        talk_seconds: talk_seconds(&sid),
        date_created: t.clone(),
        date_updated: t.clone(),
        start_time: answered.then(|| t.clone()),
        heard,
        ..Default::default()
    };
    c.record = refused.is_none() && c.recording_status_callback.is_some();
    sb.lock().calls.push(c.clone());
    let status_url = n.status_callback.clone().filter(|u| !u.is_empty());
    let started = sb.sim_now();
    let secs = if answered { c.talk_seconds } else { 0 };
    tokio::spawn(end_incoming_call(
        sb.clone(),
        (c.sid, ends),
        started + secs as f64,
        secs,
        status_url,
    ));
    Json(json!({ "sid": sid, "twiml": twiml })).into_response()
}

/// Ends an inbound call (`sid`, with its final status) at simulated time `at` after `secs` of
/// talk, then records it if asked and sends the number's status callback. A call never answered
/// (rejected) is not billed.
async fn end_incoming_call(
    sb: Shared,
    (sid, ends): (String, &'static str),
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
        call.status = ends.into();
        call.duration = Some(secs);
        call.end_time = Some(now());
        let billed = match ends {
            "completed" => set_call_price(call, secs),
            _ => None,
        };
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

/// An inbound SMS: an opt-out or opt-in keyword is recorded first (see the module's notes), then
/// the text is posted to the number's SMS URL and the `<Message>`s of its TwiML answer are sent as
/// replies. Answers the inbound message's `sid` and the replies' SIDs (`replies`).
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
    // The sender as the Messages resource writes a `To` (E.164), so that a refusal finds them.
    let person = E164::parse(&req.from, None)
        .map(|e| e.to_string())
        .unwrap_or_else(|_| req.from.clone());
    let keyword = twilio_keyword(&req.body);
    // Twilio records the opt-out (or opt-in) before it calls the webhook.
    let opted_out = {
        let mut d = sb.lock();
        if let Some(out) = keyword {
            d.set_opted_out(&n.phone_number, &person, out);
            sb.save(&d);
        }
        d.is_opted_out(&n.phone_number, &person)
    };
    match keyword {
        Some(true) => sb.count("SmsOptOut"),
        Some(false) => sb.count("SmsOptIn"),
        None => {}
    }
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
    let Some(twiml) = sb.fetch_twiml(&url, &params).await else {
        return twilio_error(
            StatusCode::BAD_GATEWAY,
            11200,
            "The SMS URL did not accept the message",
        );
    };
    let texts = twiml_replies(&twiml);
    // Someone opted out gets no reply, except the answer to the opt-out keyword itself: as
    // Twilio does, the reply fails with 21610 (reported to its status callback).
    if opted_out && keyword != Some(true) {
        for r in &texts {
            sb.count("TwimlReplyUnsubscribed");
            if let Some(url) = &r.status_callback {
                let params = pairs(&[
                    ("AccountSid", &sb.cfg.account_sid),
                    ("ApiVersion", "2010-04-01"),
                    ("MessageSid", &new_sid("SM")),
                    ("From", &n.phone_number),
                    ("To", &person),
                    ("MessageStatus", "failed"),
                    ("SmsStatus", "failed"),
                    ("ErrorCode", "21610"),
                ]);
                sb.callback(url, params).await;
            }
        }
        return Json(json!({ "sid": sid, "replies": [] })).into_response();
    }
    let mut replies = Vec::new();
    for r in texts {
        if r.text.chars().count() > MAX_REPLY_CHARS {
            tracing::info!("a TwiML <Message> longer than 1600 characters was not sent");
            sb.count("TwimlReplyTooLong");
            continue;
        }
        sb.count("TwimlReply");
        let to = (n.phone_number.as_str(), person.as_str());
        replies.push(record_reply(&sb, to, &r.text, r.status_callback.clone()));
    }
    Json(json!({ "sid": sid, "replies": replies })).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twilios_keywords_are_whole_bodies_in_any_case_with_trailing_punctuation() {
        for out in [
            "STOP",
            "stop",
            " Stop. ",
            "stop!!",
            "STOPALL",
            "unsubscribe",
            "Cancel",
            "end",
            "QUIT?",
            "optout",
            "Revoke.",
            "\n\tstop \n",
        ] {
            assert_eq!(twilio_keyword(out), Some(true), "{out:?}");
        }
        for back in ["START", "start", "Yes!", "unstop", " yes. "] {
            assert_eq!(twilio_keyword(back), Some(false), "{back:?}");
        }
        for other in [
            "",
            "please stop",
            "stop it",
            "STOP STOP",
            "s.t.o.p",
            "¡stop",
            "stopp",
            "help",
            "INFO",
            "yes please",
            "opt out",
        ] {
            assert_eq!(twilio_keyword(other), None, "{other:?}");
        }
    }

    #[test]
    fn the_messages_of_a_twiml_answer() {
        assert_eq!(
            twiml_messages(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response>\n  <Message>You are unsubscribed &amp; will get no more texts. Reply START to resume.</Message>\n</Response>\n"
            ),
            ["You are unsubscribed & will get no more texts. Reply START to resume."]
        );
        assert_eq!(
            twiml_messages(
                "<Response><Message>&lt;one&gt; &quot;a&quot; &apos;b&apos;</Message><Say>not a text</Say><Message to=\"+14155550100\"><Body>two</Body><Media>https://example.com/a.png</Media></Message><Message><![CDATA[x < y]]></Message></Response>"
            ),
            ["<one> \"a\" 'b'", "two", "x < y"]
        );
        // Nothing to send: an empty answer, other verbs, empty messages, or not TwiML.
        for none in [
            "",
            "<Response/>",
            "<Response></Response>",
            "<Response><Say>hello</Say></Response>",
            "<Response><Message/><Message>  </Message></Response>",
            "<Message>not under Response</Message>",
            "<Response><Gather><Message>nested</Message></Gather></Response>",
            "OK",
            "{\"message\":\"json\"}",
        ] {
            assert!(twiml_messages(none).is_empty(), "{none}");
        }
        // At most ten; and what was read before broken XML is kept.
        let many = format!(
            "<Response>{}</Response>",
            "<Message>hi</Message>".repeat(12)
        );
        assert_eq!(twiml_messages(&many).len(), MAX_TWIML_REPLIES);
        assert_eq!(
            twiml_messages("<Response><Message>first</Message><Message>second</Response>"),
            ["first"]
        );
    }
}

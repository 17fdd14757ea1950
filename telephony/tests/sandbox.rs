//! The sandbox: the contract pass through Prism as a validating proxy (every sandbox answer checked
//! against Twilio's official response schemas), then its Twilio behaviours: auth and error codes,
//! calls and messages progressing with signed callbacks, recordings with real audio, lookups,
//! injected faults, request statistics, and state that survives a restart.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::routing::post;
use axum::Router;
use futures::TryStreamExt;
use reqwest::Method;
use telephony::provider::{
    Lookups, Messaging, NewCall, NewMessage, Numbers, Provider, ProviderError, Voice,
};
use telephony::sandbox::{self, Faults, Sandbox, SandboxConfig};
use telephony::twilio::{TwilioClient, TwilioConfig};

/// A callback Twilio (here the sandbox) sent us.
#[derive(Debug, Clone)]
struct Hook {
    path: String,
    params: Vec<(String, String)>,
    signed: bool,
}

impl Hook {
    fn get(&self, k: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
}

type Hooks = Arc<Mutex<Vec<Hook>>>;

/// Receives callbacks and checks each signature as PhoneHub's webhooks will.
async fn receiver() -> (String, Hooks) {
    let hooks: Hooks = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let b = base.clone();
    let router = Router::new()
        .route(
            "/{*path}",
            post(move |State(h): State<Hooks>, req: Request| {
                let base = b.clone();
                async move {
                    let path = req.uri().path().to_string();
                    let sig = req
                        .headers()
                        .get("x-twilio-signature")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    let body = axum::body::to_bytes(req.into_body(), 1 << 20)
                        .await
                        .unwrap();
                    let params: Vec<(String, String)> =
                        url::form_urlencoded::parse(&body).into_owned().collect();
                    let signed = telephony::signature::validate(
                        sandbox::DEV_AUTH_TOKEN,
                        &format!("{base}{path}"),
                        telephony::signature::Payload::Form(&params),
                        &sig,
                    );
                    h.lock().unwrap().push(Hook {
                        path,
                        params,
                        signed,
                    });
                    "<Response/>"
                }
            }),
        )
        .with_state(hooks.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (base, hooks)
}

/// How the sandbox's simulated time moves in a test.
#[derive(Clone, Copy, PartialEq)]
enum Clock {
    /// 60 simulated seconds per real second: for tests that only wait for outcomes.
    Fast,
    /// Frozen until the test calls `Sandbox::advance`: for tests that look at a given status.
    Manual,
}

async fn start_sandbox(state_file: std::path::PathBuf) -> (String, Arc<Sandbox>) {
    start_sandbox_with(state_file, Clock::Fast).await
}

async fn start_sandbox_with(
    state_file: std::path::PathBuf,
    clock: Clock,
) -> (String, Arc<Sandbox>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/sandbox/twilio", listener.local_addr().unwrap());
    let mut cfg = SandboxConfig::dev(&base, Some(state_file));
    cfg.time_scale = 60.0;
    cfg.manual_clock = clock == Clock::Manual;
    let sb = Sandbox::start(cfg);
    let app = Router::new().nest("/sandbox/twilio", sandbox::router(sb.clone()));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, sb)
}

/// A request to one of the sandbox's control endpoints, with its credentials.
fn control(
    http: &reqwest::Client,
    method: Method,
    base: &str,
    path: &str,
) -> reqwest::RequestBuilder {
    http.request(method, format!("{base}/{path}"))
        .basic_auth(sandbox::DEV_ACCOUNT_SID, Some(sandbox::DEV_AUTH_TOKEN))
}

fn client(api: &str, lookups: &str) -> TwilioClient {
    let mut cfg = TwilioConfig::new(sandbox::DEV_ACCOUNT_SID, sandbox::DEV_AUTH_TOKEN);
    cfg.allow_private_networks = true; // the sandbox listens on loopback
    cfg.api_base = api.to_string();
    cfg.lookups_base = lookups.to_string();
    cfg.max_retries = 0;
    cfg.timeout = Duration::from_secs(5);
    TwilioClient::new(cfg).unwrap()
}

/// Polls until `done` holds for the received hooks (at most 20 s).
async fn wait_for(hooks: &Hooks, what: &str, done: impl Fn(&[Hook]) -> bool) -> Vec<Hook> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let seen = hooks.lock().unwrap().clone();
        if done(&seen) {
            return seen;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; got {seen:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn state_file(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("phonehub-sandbox-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir.join("state.json")
}

/// The values of one of the spec's string enums (`components.schemas.<name>.enum`).
fn spec_enum(spec: &serde_json::Value, name: &str) -> Vec<String> {
    spec["components"]["schemas"][name]["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("{name} is not an enum in the spec"))
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// GET through the validating proxy (for resources the client has no method for); a schema
/// violation comes back as Prism's own 500.
async fn get_json(url: &str) -> serde_json::Value {
    let res = reqwest::Client::new()
        .get(url)
        .basic_auth(sandbox::DEV_ACCOUNT_SID, Some(sandbox::DEV_AUTH_TOKEN))
        .send()
        .await
        .unwrap();
    let status = res.status();
    let body = res.text().await.unwrap();
    assert_eq!(status, 200, "{url}: {body}");
    serde_json::from_str(&body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sandbox_answer_validates_against_twilios_response_schemas() {
    // The statuses the sandbox's resources can show are all in the spec's enums.
    let spec: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            common::root()
                .join("node_modules/@twilio-alpha/mcp/twilio-oai/spec/json/twilio_api_v2010.json"),
        )
        .expect("the Twilio specs are installed (`make deps`)"),
    )
    .unwrap();
    let call_enum = spec_enum(&spec, "call_enum_status");
    for s in sandbox::CALL_RESOURCE_STATUSES {
        assert!(call_enum.iter().any(|e| e == s), "call status {s}");
    }
    assert!(!call_enum.iter().any(|e| e == "initiated"));
    let message_enum = spec_enum(&spec, "message_enum_status");
    for s in sandbox::MESSAGE_RESOURCE_STATUSES {
        assert!(message_enum.iter().any(|e| e == s), "message status {s}");
    }

    // Simulated time stands still, so every fetch below sees the status the test chose.
    let (base, sb) = start_sandbox_with(state_file("contract"), Clock::Manual).await;
    let (hooks_base, hooks) = receiver().await;
    let (up_api, up_lookups) = (format!("{base}/api"), format!("{base}/lookups"));
    let ((_a, api), (_l, lookups)) = tokio::join!(
        common::prism("twilio_api_v2010.json", Some(&up_api)),
        common::prism("twilio_lookups_v2.json", Some(&up_lookups))
    );
    let c = client(&api, &lookups);
    common::exercise_every_operation(&c, "+14155550100", &hooks_base).await;

    // A recorded call and two messages, each fetched through the proxy at every status they go
    // through. The direct client creates them: Prism cannot pass repeated StatusCallbackEvent.
    let direct = client(&format!("{base}/api"), &format!("{base}/lookups"));
    let bought = direct
        .buy_number("+14155550123", &Default::default())
        .await
        .unwrap();
    let call = direct
        .create_call(&NewCall {
            to: "+14155550111".into(),
            from: bought.phone_number.clone(),
            url: format!("{hooks_base}/twiml"),
            status_callback: Some(format!("{hooks_base}/status")),
            status_callback_events: vec![
                "initiated".into(),
                "ringing".into(),
                "answered".into(),
                "completed".into(),
            ],
            record: true,
            recording_status_callback: Some(format!("{hooks_base}/recording")),
            time_limit_secs: None,
        })
        .await
        .unwrap();
    let mut messages = Vec::new();
    for (to, last) in [
        ("+14155550111", "delivered"),
        (sandbox::data::MAGIC_UNDELIVERED, "undelivered"),
    ] {
        let m = direct
            .send_message(&NewMessage {
                to: to.into(),
                from: bought.phone_number.clone(),
                body: "walked through every status".into(),
                status_callback: Some(format!("{hooks_base}/sms")),
            })
            .await
            .unwrap();
        messages.push((m.sid, last));
    }
    let fetch_message = |sid: &str| {
        get_json_owned(format!(
            "{api}/2010-04-01/Accounts/{}/Messages/{sid}.json",
            sandbox::DEV_ACCOUNT_SID
        ))
    };
    let shown = c
        .fetch_call(&call.sid)
        .await
        .expect("a queued call validates");
    assert_eq!(shown.status.as_deref(), Some("queued"));
    for (sid, _) in &messages {
        assert_eq!(fetch_message(sid).await["status"], "queued");
    }

    // (simulated seconds to advance, the callback that shows the step happened, the resource's
    // status then). `initiated` is a callback event only: the resource still says `queued`.
    // The last step waits for the talk time, at most 90 s.
    let steps = [
        (0.2, "initiated", "queued"),
        (1.0, "ringing", "ringing"),
        (3.0, "in-progress", "in-progress"),
        (90.0, "completed", "completed"),
    ];
    for (secs, event, status) in steps {
        assert!(sb.advance(secs));
        wait_for(&hooks, &format!("the {event} callback"), |h| {
            h.iter().any(|x| {
                x.path == "/status"
                    && x.get("CallSid") == Some(call.sid.as_str())
                    && x.get("CallStatus") == Some(event)
            })
        })
        .await;
        let shown = c
            .fetch_call(&call.sid)
            .await
            .unwrap_or_else(|e| panic!("the call validates after {event}: {e}"));
        assert_eq!(shown.status.as_deref(), Some(status), "after {event}");
    }
    // By now (95.2 s) both messages have passed `sent` (0.5 s) and their last status (2.5 s).
    for (sid, last) in &messages {
        wait_for(&hooks, &format!("{sid} {last}"), |h| {
            h.iter().any(|x| {
                x.get("MessageSid") == Some(sid.as_str()) && x.get("MessageStatus") == Some(last)
            })
        })
        .await;
        assert_eq!(fetch_message(sid).await["status"], *last);
    }

    // The recording exists once its callback has been sent.
    let seen = wait_for(&hooks, "the recording callback", |h| {
        h.iter().any(|x| x.path == "/recording")
    })
    .await;
    assert!(seen.iter().all(|h| h.signed));
    let recs = c
        .list_recordings(Some(&call.sid))
        .await
        .expect("ListCallRecording validates");
    assert_eq!(recs.len(), 1);
    c.fetch_recording(&recs[0].sid)
        .await
        .expect("FetchRecording validates");
    c.list_recordings(None)
        .await
        .expect("ListRecording validates");
    // Error answers pass the proxy too (a schema violation would come back as Prism's own 500).
    assert_eq!(
        c.fetch_call("CA00000000000000000000000000000000")
            .await
            .unwrap_err()
            .code(),
        Some(20404)
    );
    let bad_to = NewCall {
        to: "12".into(),
        from: "+14155550123".into(),
        url: format!("{hooks_base}/t"),
        ..Default::default()
    };
    assert_eq!(
        c.create_call(&bad_to).await.unwrap_err().code(),
        Some(21211)
    );
    // Lookups of an invalid number, and with caller name outside the US.
    c.lookup("+12", false)
        .await
        .expect("invalid-number lookup validates");
    c.lookup("+442079460958", true)
        .await
        .expect("non-US lookup validates");
}

async fn get_json_owned(url: String) -> serde_json::Value {
    get_json(&url).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_progress_with_signed_ordered_callbacks_and_recordings_play() {
    let (base, _sb) = start_sandbox(state_file("calls")).await;
    let (hooks_base, hooks) = receiver().await;
    let c = client(&format!("{base}/api"), &format!("{base}/lookups"));
    let from = c
        .buy_number("+14155550100", &Default::default())
        .await
        .unwrap()
        .phone_number;
    let call = c
        .create_call(&NewCall {
            to: "+14155550111".into(),
            from: from.clone(),
            url: format!("{hooks_base}/twiml"),
            status_callback: Some(format!("{hooks_base}/status")),
            status_callback_events: vec![
                "initiated".into(),
                "ringing".into(),
                "answered".into(),
                "completed".into(),
            ],
            record: true,
            recording_status_callback: Some(format!("{hooks_base}/recording")),
            time_limit_secs: None,
        })
        .await
        .unwrap();
    assert_eq!(call.status.as_deref(), Some("queued"));
    let seen = wait_for(&hooks, "the recording callback", |h| {
        h.iter().any(|x| x.path == "/recording")
    })
    .await;
    assert!(
        seen.iter().all(|h| h.signed),
        "every callback is signed: {seen:#?}"
    );
    let status: Vec<&Hook> = seen.iter().filter(|h| h.path == "/status").collect();
    let statuses: Vec<&str> = status
        .iter()
        .map(|h| h.get("CallStatus").unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["initiated", "ringing", "in-progress", "completed"]
    );
    let seqs: Vec<&str> = status
        .iter()
        .map(|h| h.get("SequenceNumber").unwrap())
        .collect();
    assert_eq!(seqs, ["0", "1", "2", "3"]);
    let duration: u32 = status[3].get("CallDuration").unwrap().parse().unwrap();
    assert!(duration >= 5);
    assert!(
        seen.iter()
            .any(|h| h.path == "/twiml" && h.get("CallSid") == Some(call.sid.as_str())),
        "TwiML fetched on answer"
    );
    let rec = seen.iter().find(|h| h.path == "/recording").unwrap();
    assert_eq!(rec.get("RecordingStatus"), Some("completed"));
    assert_eq!(
        rec.get("RecordingDuration"),
        Some(duration.to_string().as_str())
    );
    let fetched = c.fetch_call(&call.sid).await.unwrap();
    assert_eq!(fetched.status.as_deref(), Some("completed"));
    assert_eq!(fetched.duration, Some(duration as i64));
    assert!(fetched.price.is_some());
    let media = c
        .recording_media(rec.get("RecordingSid").unwrap(), "wav", None)
        .await
        .unwrap();
    let announced = media.content_length;
    let audio: Vec<u8> = media.body.try_collect::<Vec<_>>().await.unwrap().concat();
    assert_eq!(announced, Some(audio.len() as u64));
    assert_eq!(&audio[..4], b"RIFF");
    assert!(audio.len() > 8000, "real audio, {} bytes", audio.len());

    // Without StatusCallbackEvent only the final status is sent; magic numbers end otherwise.
    for (to, outcome) in [
        (sandbox::data::MAGIC_BUSY, "busy"),
        (sandbox::data::MAGIC_NO_ANSWER, "no-answer"),
        (sandbox::data::MAGIC_FAILED, "failed"),
    ] {
        let path = format!("/final-{outcome}");
        c.create_call(&NewCall {
            to: to.into(),
            from: from.clone(),
            url: format!("{hooks_base}/twiml"),
            status_callback: Some(format!("{hooks_base}{path}")),
            ..Default::default()
        })
        .await
        .unwrap();
        let seen = wait_for(&hooks, outcome, |h| h.iter().any(|x| x.path == path)).await;
        let finals: Vec<&Hook> = seen.iter().filter(|h| h.path == path).collect();
        assert_eq!(finals.len(), 1);
        assert_eq!(finals[0].get("CallStatus"), Some(outcome));
    }
}

#[tokio::test]
async fn twilio_error_codes_for_bad_requests() {
    let (base, _sb) = start_sandbox(state_file("errors")).await;
    let c = client(&format!("{base}/api"), &format!("{base}/lookups"));
    let mut bad = TwilioConfig::new(sandbox::DEV_ACCOUNT_SID, "wrong-token");
    bad.allow_private_networks = true; // the sandbox listens on loopback
    bad.api_base = format!("{base}/api");
    let e = TwilioClient::new(bad)
        .unwrap()
        .test_connection()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(20003));
    assert!(matches!(e, ProviderError::Auth { .. }));

    let raw = reqwest::Client::new()
        .post(format!(
            "{base}/api/2010-04-01/Accounts/{}/IncomingPhoneNumbers.json",
            sandbox::DEV_ACCOUNT_SID
        ))
        .basic_auth(sandbox::DEV_ACCOUNT_SID, Some(sandbox::DEV_AUTH_TOKEN))
        .form(&[("AreaCode", "533")])
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    let body: serde_json::Value = raw.json().await.unwrap();
    assert_eq!(body["code"], 21452);
    let q = telephony::provider::NumberSearch {
        country: "US".into(),
        area_code: Some("533".into()),
        ..Default::default()
    };
    assert!(
        c.search_numbers(&q).await.unwrap().is_empty(),
        "area code 533 has no numbers"
    );

    assert_eq!(
        c.buy_number("not a number", &Default::default())
            .await
            .unwrap_err()
            .code(),
        Some(21421)
    );
    let from = c
        .buy_number("+14155550100", &Default::default())
        .await
        .unwrap();
    assert_eq!(
        c.buy_number("+14155550100", &Default::default())
            .await
            .unwrap_err()
            .code(),
        Some(21422)
    );
    let call = |to: &str, from: &str| NewCall {
        to: to.into(),
        from: from.into(),
        url: "http://127.0.0.1:9/t".into(),
        ..Default::default()
    };
    assert_eq!(
        c.create_call(&call("12", &from.phone_number))
            .await
            .unwrap_err()
            .code(),
        Some(21211)
    );
    assert_eq!(
        c.create_call(&call(sandbox::data::MAGIC_INVALID, &from.phone_number))
            .await
            .unwrap_err()
            .code(),
        Some(21211)
    );
    assert_eq!(
        c.create_call(&call("+14155550111", "+14155559999"))
            .await
            .unwrap_err()
            .code(),
        Some(21210)
    );
    let msg = |to: &str, from: &str| NewMessage {
        to: to.into(),
        from: from.into(),
        body: "hi".into(),
        status_callback: None,
    };
    assert_eq!(
        c.send_message(&msg("+14155550111", "+14155559999"))
            .await
            .unwrap_err()
            .code(),
        Some(21606)
    );
    assert_eq!(
        c.send_message(&msg("nope", &from.phone_number))
            .await
            .unwrap_err()
            .code(),
        Some(21211)
    );
    assert_eq!(
        c.fetch_call("CA00000000000000000000000000000000")
            .await
            .unwrap_err()
            .code(),
        Some(20404)
    );
    c.release_number(&from.sid).await.unwrap();
    assert_eq!(
        c.release_number(&from.sid).await.unwrap_err().code(),
        Some(20404)
    );
}

#[tokio::test]
async fn messages_are_delivered_or_not_with_signed_status_callbacks() {
    let (base, _sb) = start_sandbox(state_file("sms")).await;
    let (hooks_base, hooks) = receiver().await;
    let c = client(&format!("{base}/api"), &format!("{base}/lookups"));
    let from = c
        .buy_number("+14155550100", &Default::default())
        .await
        .unwrap()
        .phone_number;
    let long = "x".repeat(200);
    for (to, path, body) in [
        ("+14155550111", "/ok", "hello"),
        (sandbox::data::MAGIC_UNDELIVERED, "/bad", long.as_str()),
    ] {
        let m = c
            .send_message(&NewMessage {
                to: to.into(),
                from: from.clone(),
                body: body.into(),
                status_callback: Some(format!("{hooks_base}{path}")),
            })
            .await
            .unwrap();
        assert_eq!(m.status.as_deref(), Some("queued"));
        assert_eq!(m.num_segments, Some(if body.len() > 160 { 2 } else { 1 }));
    }
    let seen = wait_for(&hooks, "final message statuses", |h| {
        h.iter()
            .any(|x| x.get("MessageStatus") == Some("delivered"))
            && h.iter()
                .any(|x| x.get("MessageStatus") == Some("undelivered"))
    })
    .await;
    assert!(seen.iter().all(|h| h.signed));
    let ok: Vec<&str> = seen
        .iter()
        .filter(|h| h.path == "/ok")
        .map(|h| h.get("MessageStatus").unwrap())
        .collect();
    assert_eq!(ok, ["sent", "delivered"]);
    let bad = seen
        .iter()
        .find(|h| h.get("MessageStatus") == Some("undelivered"))
        .unwrap();
    assert_eq!(bad.get("ErrorCode"), Some("30003"));
}

/// What an SMS webhook saw of each inbound text: its body, and the Twilio error code (if any) of a
/// text it tried to send back to the sender through the API while it was being called.
type Probes = Arc<Mutex<Vec<(String, Option<u32>)>>>;

/// An SMS webhook that answers every text with `twiml` after texting the sender back through
/// `api` (so the test sees what the sandbox had recorded before calling it). Its URL.
async fn probing_sms_webhook(api: TwilioClient, twiml: &'static str) -> (String, Probes) {
    let probes: Probes = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sms", listener.local_addr().unwrap());
    let router = Router::new()
        .route(
            "/sms",
            post(move |State(p): State<Probes>, body: String| {
                let api = api.clone();
                async move {
                    let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
                        .into_owned()
                        .collect();
                    let get = |k: &str| {
                        form.iter()
                            .find(|(n, _)| n == k)
                            .map(|(_, v)| v.clone())
                            .unwrap_or_default()
                    };
                    let sent = api
                        .send_message(&NewMessage {
                            to: get("From"),
                            from: get("To"),
                            body: "probe".into(),
                            status_callback: None,
                        })
                        .await;
                    let code = sent.err().and_then(|e| e.code());
                    p.lock().unwrap().push((get("Body"), code));
                    twiml
                }
            }),
        )
        .with_state(probes.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, probes)
}

#[tokio::test]
async fn stop_opts_the_sender_out_before_the_webhook_and_twiml_messages_are_replies() {
    let file = state_file("stop");
    // Frozen: replies stay `sent`.
    let (base, sb) = start_sandbox_with(file.clone(), Clock::Manual).await;
    let c = client(&format!("{base}/api"), &format!("{base}/lookups"));
    let (sms_url, probes) = probing_sms_webhook(
        c.clone(),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>Noted &amp; thanks.</Message></Response>",
    )
    .await;
    let number = c
        .buy_number(
            "+14155550100",
            &telephony::provider::NumberUpdate {
                sms_url: Some(sms_url),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .phone_number;
    let person = "+14155550111";
    let http = reqwest::Client::new();
    let incoming = |body: &str| {
        let rb = control(&http, Method::POST, &base, "_simulate/incoming-sms")
            .json(&serde_json::json!({"to": number, "from": person, "body": body}));
        async move {
            let res = rb.send().await.unwrap();
            assert_eq!(res.status(), 200);
            res.json::<serde_json::Value>().await.unwrap()
        }
    };
    let text = NewMessage {
        to: person.into(),
        from: number.clone(),
        body: "hello".into(),
        status_callback: None,
    };

    // Before any keyword: the webhook's probe is sent, and so is its reply.
    let hello = incoming("hello").await;
    assert_eq!(hello["replies"].as_array().unwrap().len(), 1, "{hello}");
    // STOP: opted out before the webhook is called (its probe is refused); the account's own
    // answer to it is sent (Advanced Opt-Out).
    let stop = incoming(" Stop. ").await;
    let stop_replies = stop["replies"].as_array().unwrap().clone();
    assert_eq!(stop_replies.len(), 1, "{stop}");
    let e = c.send_message(&text).await.unwrap_err();
    assert_eq!(e.code(), Some(21610));
    assert!(
        matches!(&e, ProviderError::Rejected { status: 400, message, .. } if message == "Attempt to send to unsubscribed recipient"),
        "{e:?}"
    );
    // Kept across a restart.
    let (base2, _sb2) = start_sandbox_with(file, Clock::Manual).await;
    let c2 = client(&format!("{base2}/api"), &format!("{base2}/lookups"));
    assert_eq!(
        c2.send_message(&text).await.unwrap_err().code(),
        Some(21610)
    );
    // Anything else from them gets no reply.
    let again = incoming("hello again").await;
    assert_eq!(again["replies"], serde_json::json!([]), "{again}");
    // START opts them back in.
    let start = incoming("start").await;
    assert_eq!(start["replies"].as_array().unwrap().len(), 1, "{start}");
    c.send_message(&text).await.unwrap();

    let seen: Vec<(String, Option<u32>)> = probes.lock().unwrap().clone();
    let expected: Vec<(String, Option<u32>)> = vec![
        ("hello".into(), None),
        (" Stop. ".into(), Some(21610)),
        ("hello again".into(), Some(21610)),
        ("start".into(), None),
    ];
    assert_eq!(seen, expected);

    // The replies are messages of the account like the others, from the number to the person.
    let list: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{base}/api/2010-04-01/Accounts/{}/Messages.json",
            sandbox::DEV_ACCOUNT_SID
        ))
        .basic_auth(sandbox::DEV_ACCOUNT_SID, Some(sandbox::DEV_AUTH_TOKEN))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let messages = list["messages"].as_array().unwrap();
    let replies: Vec<&serde_json::Value> = messages
        .iter()
        .filter(|m| m["direction"] == "outbound-reply")
        .collect();
    assert_eq!(replies.len(), 3, "{list}");
    for r in &replies {
        assert_eq!(r["body"], "Noted & thanks.");
        assert_eq!(r["from"], number.as_str());
        assert_eq!(r["to"], person);
        assert_eq!(r["status"], "sent");
    }
    assert!(replies.iter().any(|r| r["sid"] == stop_replies[0]));
    // Two probes and the last text were sent through the API; the refused ones are not recorded.
    assert_eq!(
        messages
            .iter()
            .filter(|m| m["direction"] == "outbound-api")
            .count(),
        3
    );
    let stats = sb.stats();
    for (key, n) in [
        ("SmsOptOut", 1),
        ("SmsOptIn", 1),
        ("TwimlReply", 3),
        ("TwimlReplyUnsubscribed", 1),
        ("CreateMessageUnsubscribed", 3),
    ] {
        assert_eq!(stats.get(key), Some(&n), "{key}: {stats:?}");
    }
}

#[tokio::test]
async fn lookups_are_deterministic_cover_every_line_type_and_are_counted() {
    let (base, sb) = start_sandbox(state_file("lookups")).await;
    let c = client(&format!("{base}/api"), &format!("{base}/lookups"));
    let mut types = std::collections::BTreeSet::new();
    for i in 0..12 {
        let n = format!("+1415555{:04}", 2600 + i);
        let a = c.lookup(&n, i % 2 == 0).await.unwrap();
        let b = c.lookup(&n, i % 2 == 0).await.unwrap();
        assert_eq!(
            a.line_type_intelligence, b.line_type_intelligence,
            "deterministic"
        );
        types.insert(a.line_type_intelligence.unwrap().line_type.unwrap());
        assert_eq!(a.caller_name.is_some(), i % 2 == 0);
    }
    assert_eq!(types.len(), 12, "{types:?}");
    assert!(types.contains("fixedVoip") && types.contains("nonFixedVoip"));
    let invalid = c.lookup("+1415", false).await.unwrap();
    assert_eq!(invalid.valid, Some(false));
    let stats = sb.stats();
    assert_eq!(stats["billed_lookups"], 24);
    assert_eq!(stats["billed_caller_name"], 12);
    assert_eq!(stats["FetchPhoneNumber"], 25);
    let served: serde_json::Value = control(&reqwest::Client::new(), Method::GET, &base, "_stats")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(served["billed_lookups"], 24);
}

#[tokio::test]
async fn injected_faults_reach_the_client_and_can_be_turned_off() {
    let (base, _sb) = start_sandbox(state_file("faults")).await;
    let c = client(&format!("{base}/api"), &format!("{base}/lookups"));
    let http = reqwest::Client::new();
    let set = |f: Faults| {
        control(&http, Method::POST, &base, "_faults")
            .json(&f)
            .send()
    };
    assert_eq!(
        set(Faults {
            error_rate: 1.0,
            ..Default::default()
        })
        .await
        .unwrap()
        .status(),
        200
    );
    assert!(matches!(
        c.test_connection().await.unwrap_err(),
        ProviderError::Server { status: 500, .. }
    ));
    assert_eq!(
        set(Faults {
            error_rate: 2.0,
            ..Default::default()
        })
        .await
        .unwrap()
        .status(),
        422
    );
    set(Faults {
        latency_ms: 300,
        ..Default::default()
    })
    .await
    .unwrap();
    let t = Instant::now();
    c.test_connection().await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(300));
    set(Faults {
        timeout_rate: 1.0,
        ..Default::default()
    })
    .await
    .unwrap();
    let mut quick = TwilioConfig::new(sandbox::DEV_ACCOUNT_SID, sandbox::DEV_AUTH_TOKEN);
    quick.allow_private_networks = true; // the sandbox listens on loopback
    quick.api_base = format!("{base}/api");
    quick.timeout = Duration::from_millis(300);
    quick.max_retries = 0;
    assert_eq!(
        TwilioClient::new(quick)
            .unwrap()
            .test_connection()
            .await
            .unwrap_err(),
        ProviderError::Timeout
    );
    set(Faults::default()).await.unwrap();
    c.test_connection().await.unwrap();
}

#[tokio::test]
async fn state_survives_a_restart() {
    let file = state_file("restart");
    // Frozen: the message is still queued when the second sandbox loads the file.
    let (base, _sb) = start_sandbox_with(file.clone(), Clock::Manual).await;
    let c = client(&format!("{base}/api"), &format!("{base}/lookups"));
    let bought = c
        .buy_number("+14155550100", &Default::default())
        .await
        .unwrap();
    let m = c
        .send_message(&NewMessage {
            to: "+14155550111".into(),
            from: bought.phone_number.clone(),
            body: "kept".into(),
            status_callback: None,
        })
        .await
        .unwrap();
    // A second sandbox on the same state file (a restart).
    let (base2, sb2) = start_sandbox_with(file, Clock::Manual).await;
    let c2 = client(&format!("{base2}/api"), &format!("{base2}/lookups"));
    let numbers = c2.list_numbers(None).await.unwrap();
    assert_eq!(numbers.len(), 1);
    assert_eq!(numbers[0].sid, bought.sid);
    let fetch = || async {
        let res = reqwest::Client::new()
            .get(format!(
                "{base2}/api/2010-04-01/Accounts/{}/Messages/{}.json",
                sandbox::DEV_ACCOUNT_SID,
                m.sid
            ))
            .basic_auth(sandbox::DEV_ACCOUNT_SID, Some(sandbox::DEV_AUTH_TOKEN))
            .send()
            .await
            .unwrap();
        res.json::<serde_json::Value>().await.unwrap()
    };
    let v = fetch().await;
    assert_eq!(v["body"], "kept");
    assert_eq!(v["status"], "queued", "resumed from the saved status");
    // Past both steps (sent after 0.5 s, delivered 2 s later): the resumed message finishes.
    assert!(sb2.advance(3.0));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let v = fetch().await;
        if v["status"] == "delivered" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "message never delivered after restart: {v}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn control_endpoints_need_the_sandbox_credentials() {
    let (base, sb) = start_sandbox(state_file("control")).await;
    let (hooks_base, hooks) = receiver().await;
    let c = client(&format!("{base}/api"), &format!("{base}/lookups"));
    let number = c
        .buy_number(
            "+14155550100",
            &telephony::provider::NumberUpdate {
                voice_url: Some(format!("{hooks_base}/voice")),
                sms_url: Some(format!("{hooks_base}/sms")),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .phone_number;
    let http = reqwest::Client::new();
    let incoming = serde_json::json!({"to": number, "from": "+14155550111", "body": "hi"});
    let breaking = Faults {
        error_rate: 1.0,
        ..Default::default()
    };
    let endpoints = [
        (Method::GET, "_stats", None),
        (Method::GET, "_faults", None),
        (
            Method::POST,
            "_faults",
            Some(serde_json::to_value(breaking).unwrap()),
        ),
        (
            Method::POST,
            "_simulate/incoming-call",
            Some(incoming.clone()),
        ),
        (
            Method::POST,
            "_simulate/incoming-sms",
            Some(incoming.clone()),
        ),
    ];
    // Without credentials, or with the wrong ones: 401 and nothing happens.
    for (method, path, body) in &endpoints {
        for auth in [None, Some("wrong-token")] {
            let mut rb = http.request(method.clone(), format!("{base}/{path}"));
            if let Some(token) = auth {
                rb = rb.basic_auth(sandbox::DEV_ACCOUNT_SID, Some(token));
            }
            if let Some(b) = body {
                rb = rb.json(b);
            }
            let res = rb.send().await.unwrap();
            assert_eq!(res.status(), 401, "{method} {path} with {auth:?}");
            assert!(res.headers().contains_key("www-authenticate"));
        }
    }
    let faults: Faults = control(&http, Method::GET, &base, "_faults")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(faults, Faults::default(), "faults unchanged");
    c.test_connection().await.expect("no fault was injected");
    let stats = sb.stats();
    assert!(!stats.contains_key("SimulateIncomingCall"), "{stats:?}");
    assert!(!stats.contains_key("SimulateIncomingSms"), "{stats:?}");
    assert!(hooks.lock().unwrap().is_empty(), "no webhook was called");

    // With them: each works, and none is subject to the faults it injects.
    for (method, path, body) in &endpoints {
        let mut rb = control(&http, method.clone(), &base, path);
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let res = rb.send().await.unwrap();
        assert_eq!(res.status(), 200, "{method} {path}");
    }
    let faults: Faults = control(&http, Method::GET, &base, "_faults")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(faults, breaking);
    assert!(matches!(
        c.test_connection().await.unwrap_err(),
        ProviderError::Server { status: 500, .. }
    ));
    let stats = sb.stats();
    assert_eq!(stats.get("SimulateIncomingCall"), Some(&1));
    assert_eq!(stats.get("SimulateIncomingSms"), Some(&1));
    wait_for(&hooks, "the voice and SMS webhooks", |h| {
        h.iter().any(|x| x.path == "/voice") && h.iter().any(|x| x.path == "/sms")
    })
    .await;
}

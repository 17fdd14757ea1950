//! The sandbox: the contract pass through Prism as a validating proxy (every sandbox answer checked
//! against Twilio's official response schemas), then its Twilio behaviours: auth and error codes,
//! calls and messages progressing with signed callbacks, recordings with real audio, lookups,
//! injected faults, request statistics, state that survives a restart (`sandbox/operations.rs`),
//! texts and opt-outs (`sandbox/messages.rs`), and deleting recordings, redacting texts and what a
//! call's TwiML played (`sandbox/retention.rs`).

mod common;
#[path = "sandbox/messages.rs"]
mod messages;
#[path = "sandbox/operations.rs"]
mod operations;
#[path = "sandbox/retention.rs"]
mod retention;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::routing::post;
use axum::Router;
use futures::TryStreamExt;
use reqwest::Method;
use telephony::provider::{Lookups, Messaging, NewCall, NewMessage, Numbers, Voice};
use telephony::sandbox::{self, Sandbox, SandboxConfig};
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
    receiver_answering(|_, _| "<Response/>".to_string(), Router::new()).await
}

/// As [`receiver`], answering each POST with `answer(base, path)` (a voice app's TwiML), and
/// serving `extra`'s routes besides.
async fn receiver_answering(
    answer: fn(&str, &str) -> String,
    extra: Router<Hooks>,
) -> (String, Hooks) {
    let hooks: Hooks = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let b = base.clone();
    let router = extra
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
                    let answer = answer(&base, &path);
                    h.lock().unwrap().push(Hook {
                        path,
                        params,
                        signed,
                    });
                    answer
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
    eventually(what, || hooks.lock().unwrap().clone(), |seen| done(seen)).await
}

/// Reads until what `read` gives satisfies `done` (at most 20 s), and returns it; a timeout shows
/// the last value read.
async fn eventually<T: std::fmt::Debug>(
    what: &str,
    read: impl Fn() -> T,
    done: impl Fn(&T) -> bool,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let seen = read();
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
    // Retention: deleting the recording (204) and redacting a text (200, the message) validate.
    c.delete_recording(&recs[0].sid)
        .await
        .expect("DeleteRecording validates");
    assert_eq!(
        c.redact_message(&messages[0].0).await,
        Ok(true),
        "UpdateMessage validates"
    );
    assert_eq!(fetch_message(&messages[0].0).await["body"], "");
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

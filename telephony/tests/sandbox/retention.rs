//! Consent and retention through the sandbox: deleting recordings and redacting texts with the
//! Twilio client, a `<Dial>` that records, and what a call's TwiML played to the other party
//! (`heard`) before connecting them.

use axum::routing::get;
use axum::Router;
use reqwest::Method;
use telephony::provider::{
    Messaging, NewCall, NewMessage, NumberUpdate, Numbers, ProviderError, Voice,
};
use telephony::sandbox;

use super::{
    client, control, eventually, receiver, receiver_answering, start_sandbox_with, state_file,
    wait_for, Clock, Hooks,
};

/// The number a `<Dial>` of the voice app calls.
const DIALED: &str = "+14155550122";
/// The size of the voice app's consent announcement (`/consent.wav`).
const CONSENT_BYTES: usize = 4321;

/// A voice app on 127.0.0.1 that keeps every POST it gets (signatures checked, as `receiver`
/// does). `/connect` (an outbound call's TwiML) dials [`DIALED`] through a `<Dial>` that records
/// and a `<Number url>` (`/whisper`) that announces the recording and plays `/consent.wav`;
/// `/voice` (an inbound call's) announces the same before its `<Dial>`; anything else answers an
/// empty `<Response/>`.
async fn voice_app() -> (String, Hooks) {
    let consent = Router::new().route("/consent.wav", get(|| async { vec![0u8; CONSENT_BYTES] }));
    receiver_answering(voice_answer, consent).await
}

/// What the voice app answers a POST to `path` with (see [`voice_app`]).
fn voice_answer(base: &str, path: &str) -> String {
    match path {
        "/connect" => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Dial record=\"record-from-answer\" recordingStatusCallback=\"{base}/recording\"><Number url=\"{base}/whisper\">{DIALED}</Number></Dial></Response>"
        ),
        "/whisper" => format!(
            "<Response><Say>This call is recorded &amp; kept for 30 days.</Say><Play>{base}/consent.wav</Play></Response>"
        ),
        "/voice" => format!(
            "<Response><Say voice=\"alice\">This call is recorded.</Say><Play>{base}/consent.wav</Play><Dial>{DIALED}</Dial><Say>Goodbye.</Say></Response>"
        ),
        _ => "<Response/>".to_string(),
    }
}

/// `POST …/Messages/{sid}.json` with `form`, as Twilio's `UpdateMessage`.
async fn update_message(base: &str, sid: &str, form: &[(&str, &str)]) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!(
            "{base}/api/2010-04-01/Accounts/{}/Messages/{sid}.json",
            sandbox::DEV_ACCOUNT_SID
        ))
        .basic_auth(sandbox::DEV_ACCOUNT_SID, Some(sandbox::DEV_AUTH_TOKEN))
        .form(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_deleted_recording_is_gone_and_deleting_it_again_succeeds() {
    let file = state_file("delete-recording");
    // Frozen until advanced past the whole call.
    let (base, sb) = start_sandbox_with(file.clone(), Clock::Manual).await;
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
            from,
            url: format!("{hooks_base}/twiml"),
            record: true,
            recording_status_callback: Some(format!("{hooks_base}/recording")),
            ..Default::default()
        })
        .await
        .unwrap();
    // Past the answer (4.2 s) and the longest talk time (89 s).
    assert!(sb.advance(100.0));
    let seen = wait_for(&hooks, "the recording callback", |h| {
        h.iter().any(|x| x.path == "/recording")
    })
    .await;
    let sid = seen
        .iter()
        .find(|h| h.path == "/recording")
        .and_then(|h| h.get("RecordingSid"))
        .unwrap()
        .to_string();
    assert_eq!(c.fetch_recording(&sid).await.unwrap().sid, sid);
    assert_eq!(sb.recordings().len(), 1);

    c.delete_recording(&sid).await.expect("deleted");
    assert!(sb.recordings().is_empty());
    let e = c.fetch_recording(&sid).await.unwrap_err();
    assert!(
        matches!(
            e,
            ProviderError::NotFound {
                code: Some(20404),
                ..
            }
        ),
        "{e:?}"
    );
    let e = c.recording_media(&sid, "wav", None).await.unwrap_err();
    assert!(matches!(e, ProviderError::NotFound { .. }), "{e:?}");
    assert!(c.list_recordings(Some(&call.sid)).await.unwrap().is_empty());

    // Deleting again: the sandbox answers Twilio's 404, which the client counts as deleted.
    c.delete_recording(&sid)
        .await
        .expect("a second deletion succeeds");
    let again = reqwest::Client::new()
        .delete(format!(
            "{base}/api/2010-04-01/Accounts/{}/Recordings/{sid}.json",
            sandbox::DEV_ACCOUNT_SID
        ))
        .basic_auth(sandbox::DEV_ACCOUNT_SID, Some(sandbox::DEV_AUTH_TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
    let body: serde_json::Value = again.json().await.unwrap();
    assert_eq!(body["code"], 20404);

    // A SID that cannot be a recording's is refused before anything is sent.
    let before = sb.stats();
    let e = c.delete_recording(&call.sid).await.unwrap_err();
    assert!(
        matches!(
            e,
            ProviderError::Rejected {
                status: 400,
                code: None,
                ..
            }
        ),
        "{e:?}"
    );
    let stats = sb.stats();
    assert_eq!(stats, before, "nothing reached the sandbox");
    assert_eq!(stats.get("DeleteRecording"), Some(&3), "{stats:?}");

    // The deletion was saved: a restarted sandbox has the call but not its recording.
    let (_base2, sb2) = start_sandbox_with(file, Clock::Manual).await;
    assert!(sb2.recordings().is_empty());
    assert!(sb2.calls().iter().any(|x| x.sid == call.sid));
}

#[tokio::test]
async fn redacting_a_text_empties_its_body_and_only_an_empty_body_is_accepted() {
    let (base, sb) = start_sandbox_with(state_file("redact"), Clock::Manual).await;
    let c = client(&format!("{base}/api"), &format!("{base}/lookups"));
    let from = c
        .buy_number("+14155550100", &Default::default())
        .await
        .unwrap()
        .phone_number;
    let text = |body: &str| NewMessage {
        to: "+14155550111".into(),
        from: from.clone(),
        body: body.into(),
        status_callback: None,
    };
    let m = c.send_message(&text("Your code is 123456")).await.unwrap();
    let kept = c.send_message(&text("Keep me")).await.unwrap();
    let stored = |sid: &str| {
        sb.messages()
            .into_iter()
            .find(|x| x.sid == sid)
            .expect("the message is kept")
    };

    assert_eq!(c.redact_message(&m.sid).await, Ok(true));
    let redacted = stored(&m.sid);
    assert_eq!(redacted.body, "");
    assert_eq!(
        redacted.to, "+14155550111",
        "the rest of the message is kept"
    );
    assert_eq!(stored(&kept.sid).body, "Keep me");
    // It still goes on to be delivered, without its text (sent after 0.5 s, delivered 2 s later).
    assert!(sb.advance(3.0));
    eventually(
        "the redacted message delivered",
        || stored(&m.sid).status,
        |status| status == "delivered",
    )
    .await;
    assert_eq!(stored(&m.sid).body, "");

    // Redacting again, or a message that is gone, leaves no text either.
    assert_eq!(c.redact_message(&m.sid).await, Ok(true));
    assert_eq!(
        c.redact_message("SM00000000000000000000000000000000").await,
        Ok(true)
    );

    // Twilio accepts only an empty Body on an update: anything else is refused, unchanged.
    let refused = update_message(&base, &kept.sid, &[("Body", "Changed")]).await;
    assert_eq!(refused.status(), 400);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["code"], 21619, "{body}");
    let without = update_message(&base, &kept.sid, &[]).await;
    assert_eq!(without.status(), 400);
    assert_eq!(stored(&kept.sid).body, "Keep me");
    let unknown =
        update_message(&base, "SM00000000000000000000000000000000", &[("Body", "")]).await;
    assert_eq!(unknown.status(), 404);
    let body: serde_json::Value = unknown.json().await.unwrap();
    assert_eq!(body["code"], 20404);
    // The update answers the message, as Twilio does.
    let answered = update_message(&base, &kept.sid, &[("Body", "")]).await;
    assert_eq!(answered.status(), 200);
    let body: serde_json::Value = answered.json().await.unwrap();
    assert_eq!(body["sid"], kept.sid.as_str());
    assert_eq!(body["body"], "");
    assert_eq!(stored(&kept.sid).body, "");

    // A SID that cannot be a message's is refused before anything is sent.
    let before = sb.stats();
    assert!(matches!(
        c.redact_message("RE00000000000000000000000000000000").await,
        Err(ProviderError::Rejected { status: 400, .. })
    ));
    let stats = sb.stats();
    assert_eq!(stats, before, "nothing reached the sandbox");
    assert_eq!(stats.get("RedactMessage"), Some(&7), "{stats:?}");
}

#[tokio::test]
async fn a_dial_that_records_makes_the_call_recorded_and_its_party_hears_the_announcement() {
    let (base, sb) = start_sandbox_with(state_file("consent"), Clock::Manual).await;
    let (app, hooks) = voice_app().await;
    let c = client(&format!("{base}/api"), &format!("{base}/lookups"));
    let from = c
        .buy_number("+14155550100", &Default::default())
        .await
        .unwrap()
        .phone_number;
    // Not created with Record=true: the <Dial> of its TwiML asks for the recording.
    let call = c
        .create_call(&NewCall {
            to: "+14155550111".into(),
            from,
            url: format!("{app}/connect"),
            status_callback: Some(format!("{app}/status")),
            ..Default::default()
        })
        .await
        .unwrap();
    // Past the answer (4.2 s) and the longest talk time (89 s).
    assert!(sb.advance(100.0));
    let seen = wait_for(&hooks, "the recording callback", |h| {
        h.iter().any(|x| x.path == "/recording")
    })
    .await;
    assert!(seen.iter().all(|h| h.signed), "{seen:#?}");
    let paths: Vec<&str> = seen.iter().map(|h| h.path.as_str()).collect();
    assert_eq!(paths, ["/connect", "/whisper", "/status", "/recording"]);

    // The <Number url> is asked for the dialed call, a child of the answered one.
    let whisper = seen.iter().find(|h| h.path == "/whisper").unwrap();
    assert_eq!(whisper.get("ParentCallSid"), Some(call.sid.as_str()));
    assert_eq!(whisper.get("To"), Some(DIALED));
    assert_eq!(whisper.get("Called"), Some(DIALED));
    assert_eq!(whisper.get("Direction"), Some("outbound-dial"));
    let child = whisper.get("CallSid").unwrap();
    assert!(child.starts_with("CA") && child != call.sid, "{child}");

    let rec = seen.iter().find(|h| h.path == "/recording").unwrap();
    assert_eq!(rec.get("CallSid"), Some(call.sid.as_str()));
    let recs = c.list_recordings(Some(&call.sid)).await.unwrap();
    assert_eq!(recs.len(), 1);
    assert_eq!(rec.get("RecordingSid"), Some(recs[0].sid.as_str()));

    let kept = sb.calls().into_iter().find(|x| x.sid == call.sid).unwrap();
    assert!(kept.record);
    assert_eq!(
        kept.recording_status_callback,
        Some(format!("{app}/recording"))
    );
    assert_eq!(
        kept.heard,
        [
            "This call is recorded & kept for 30 days.".to_string(),
            format!("play:{app}/consent.wav"),
            format!("play-bytes:{CONSENT_BYTES}"),
        ]
    );
}

#[tokio::test]
async fn an_inbound_caller_hears_what_the_twiml_plays_before_the_dial() {
    let (base, sb) = start_sandbox_with(state_file("inbound-heard"), Clock::Manual).await;
    let (app, _hooks) = voice_app().await;
    let c = client(&format!("{base}/api"), &format!("{base}/lookups"));
    let number = c
        .buy_number(
            "+14155550100",
            &NumberUpdate {
                voice_url: Some(format!("{app}/voice")),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .phone_number;
    let res = control(
        &reqwest::Client::new(),
        Method::POST,
        &base,
        "_simulate/incoming-call",
    )
    .json(&serde_json::json!({"to": number, "from": "+14155550111"}))
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    let answer: serde_json::Value = res.json().await.unwrap();
    let sid = answer["sid"].as_str().unwrap();
    let kept = sb.calls().into_iter().find(|x| x.sid == sid).unwrap();
    // What follows the <Dial> is not heard before it.
    assert_eq!(
        kept.heard,
        [
            "This call is recorded.".to_string(),
            format!("play:{app}/consent.wav"),
            format!("play-bytes:{CONSENT_BYTES}"),
        ]
    );
}

//! Texts through the sandbox: delivery (or not) with signed status callbacks, and Twilio's opt-out
//! keywords with the replies of a webhook's TwiML answer.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::routing::post;
use axum::Router;
use reqwest::Method;
use telephony::provider::{Messaging, NewMessage, Numbers, ProviderError};
use telephony::sandbox;
use telephony::twilio::TwilioClient;

use super::{
    client, control, receiver, start_sandbox, start_sandbox_with, state_file, wait_for, Clock,
};

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

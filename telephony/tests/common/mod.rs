//! Shared by the contract tests: starting Prism, and one pass over every operation PhoneHub uses.

#![allow(dead_code)]

pub mod moto;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use telephony::provider::{
    Lookups, Messaging, NewCall, NewMessage, NumberSearch, NumberType, NumberUpdate, Numbers,
    Provider, Usage, Voice,
};
use telephony::twilio::TwilioClient;
use tokio::process::{Child, Command};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts Prism (`mock`, or `proxy` to `upstream` with response validation as errors) for one of
/// Twilio's specs and waits, bounded, until it answers.
pub async fn prism(spec: &str, upstream: Option<&str>) -> (Child, String) {
    let bin = root().join("node_modules/.bin/prism");
    let spec = root()
        .join("node_modules/@twilio-alpha/mcp/twilio-oai/spec/json")
        .join(spec);
    assert!(
        bin.exists() && spec.exists(),
        "Prism or the Twilio specs are missing: run `make deps` (npm packages from package-lock.json)"
    );
    let port = free_port();
    let mut cmd = Command::new(bin);
    match upstream {
        None => cmd.arg("mock").arg(&spec),
        Some(up) => cmd.arg("proxy").arg(&spec).arg(up).arg("--errors"),
    };
    let child = cmd
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start prism");
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(90);
    while Instant::now() < deadline {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return (child, base);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("prism did not start within 90 s for {}", spec.display());
}

/// Every operation PhoneHub uses, in an order a real account allows (buy, use, then release).
pub async fn exercise_every_operation(c: &TwilioClient, buy: &str, callback_base: &str) {
    let account = c.test_connection().await.expect("FetchAccount");
    assert!(account.sid.starts_with("AC"));

    let lookup = c
        .lookup("+14159929960", true)
        .await
        .expect("FetchPhoneNumber");
    assert!(lookup.phone_number.starts_with('+'));

    for kind in [NumberType::Local, NumberType::Mobile, NumberType::TollFree] {
        let q = NumberSearch {
            country: "US".into(),
            number_type: Some(kind),
            area_code: (kind != NumberType::TollFree).then(|| "415".into()),
            contains: Some("2".into()),
            voice: true,
            sms: true,
            mms: false,
            region: None,
            locality: None,
            page_size: Some(10),
        };
        let found = c
            .search_numbers(&q)
            .await
            .unwrap_or_else(|e| panic!("search {kind:?}: {e}"));
        assert!(!found.is_empty(), "{kind:?}");
    }

    let setup = NumberUpdate {
        friendly_name: Some("Sales line".into()),
        voice_url: Some(format!("{callback_base}/webhooks/voice")),
        sms_url: Some(format!("{callback_base}/webhooks/sms")),
        status_callback: Some(format!("{callback_base}/webhooks/status")),
    };
    let bought = c
        .buy_number(buy, &setup)
        .await
        .expect("CreateIncomingPhoneNumber");
    assert!(bought.sid.starts_with("PN"));
    c.update_number(&bought.sid, &setup)
        .await
        .expect("UpdateIncomingPhoneNumber");
    let owned = c
        .list_numbers(Some(buy))
        .await
        .expect("ListIncomingPhoneNumber");
    assert!(!owned.is_empty());

    let call = c
        .create_call(&NewCall {
            to: "+14155550111".into(),
            from: bought.phone_number.clone(),
            url: format!("{callback_base}/twiml/connect"),
            status_callback: Some(format!("{callback_base}/webhooks/call-status")),
            // Twilio (and its helper libraries) send repeated `StatusCallbackEvent=…` fields;
            // Prism's form parser cannot read a repeated field as the spec's array ("must be
            // array"), so events are left out here; the client tests check that encoding.
            status_callback_events: vec![],
            record: true,
            recording_status_callback: Some(format!("{callback_base}/webhooks/recording")),
            time_limit_secs: None,
        })
        .await
        .expect("CreateCall");
    assert!(call.sid.starts_with("CA"));
    c.fetch_call(&call.sid).await.expect("FetchCall");
    c.list_recordings(Some(&call.sid))
        .await
        .expect("ListCallRecording");
    c.list_recordings(None).await.expect("ListRecording");

    let msg = c
        .send_message(&NewMessage {
            to: "+14155550111".into(),
            from: bought.phone_number.clone(),
            body: "Hello from PhoneHub".into(),
            status_callback: Some(format!("{callback_base}/webhooks/sms-status")),
        })
        .await
        .expect("CreateMessage");
    assert!(msg.sid.starts_with("SM") || msg.sid.starts_with("MM"));

    c.release_number(&bought.sid)
        .await
        .expect("DeleteIncomingPhoneNumber");

    // A statement's month of usage records (the comparison with monthly statements).
    let month = time::Date::from_calendar_date(2026, time::Month::December, 1).unwrap();
    let end = time::Date::from_calendar_date(2026, time::Month::December, 31).unwrap();
    c.usage_records(month, end).await.expect("ListUsageRecord");
}

//! The sandbox's Twilio behaviours besides calls and texts: auth and error codes, lookups, injected
//! faults, request statistics, state that survives a restart, and the control endpoints.

use std::time::{Duration, Instant};

use reqwest::Method;
use telephony::provider::{
    Lookups, Messaging, NewCall, NewMessage, Numbers, Provider, ProviderError, Voice,
};
use telephony::sandbox::{self, Faults};
use telephony::twilio::{TwilioClient, TwilioConfig};

use super::{
    client, control, receiver, start_sandbox, start_sandbox_with, state_file, wait_for, Clock,
};

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

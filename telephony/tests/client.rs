//! The Twilio client against a fake Twilio: parsing, auth, errors, retries, timeouts, pagination.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use telephony::provider::{Lookups, Messaging, NewCall, Numbers, Provider, ProviderError, Voice};
use telephony::twilio::{Credentials, TwilioClient, TwilioConfig};

const SID: &str = "AC00000000000000000000000000000001";
const TOKEN: &str = "secret-token-123";

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

fn config(base: &str) -> TwilioConfig {
    let mut cfg = TwilioConfig::new(SID, TOKEN);
    // The fake provider listens on loopback.
    cfg.allow_private_networks = true;
    cfg.api_base = base.to_string();
    cfg.lookups_base = base.to_string();
    cfg.timeout = Duration::from_millis(500);
    cfg.backoff = Duration::from_millis(5);
    cfg.max_retries = 2;
    cfg
}

fn client(base: &str) -> TwilioClient {
    TwilioClient::new(config(base)).unwrap()
}

type Hits = Arc<AtomicUsize>;

#[tokio::test]
async fn lookups_send_basic_auth_and_the_fields_and_tolerate_extra_fields() {
    async fn handler(
        Path(n): Path<String>,
        Query(q): Query<std::collections::HashMap<String, String>>,
        headers: HeaderMap,
    ) -> impl IntoResponse {
        use base64::Engine;
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{SID}:{TOKEN}"))
        );
        if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
            return (
                StatusCode::UNAUTHORIZED,
                Json(json!({"code": 20003, "message": "Authenticate", "status": 401})),
            )
                .into_response();
        }
        Json(json!({
            "phone_number": n, "national_format": "(415) 555-2671", "country_code": "US",
            "calling_country_code": "1", "valid": true, "validation_errors": [],
            "line_type_intelligence": {"carrier_name": "Acme Wireless", "type": "nonFixedVoip",
                "mobile_country_code": "310", "mobile_network_code": 456, "error_code": null},
            "caller_name": if q.get("Fields").is_some_and(|f| f.contains("caller_name")) {
                json!({"caller_name": "ACME CORP", "caller_type": "BUSINESS", "error_code": null})
            } else { json!(null) },
            "sms_pumping_risk": null, "url": "https://lookups.twilio.com/v2/PhoneNumbers/x",
        }))
        .into_response()
    }
    let base = serve(Router::new().route("/v2/PhoneNumbers/{n}", get(handler))).await;
    let r = client(&base).lookup("+14155552671", true).await.unwrap();
    assert_eq!(r.phone_number, "+14155552671");
    let lti = r.line_type_intelligence.clone().unwrap();
    assert_eq!(lti.line_type.as_deref(), Some("nonFixedVoip"));
    assert_eq!(
        lti.mobile_network_code.as_deref(),
        Some("456"),
        "numbers read as strings"
    );
    assert_eq!(
        r.caller_name.unwrap().caller_type.as_deref(),
        Some("BUSINESS")
    );
    assert_eq!(
        r.raw["sms_pumping_risk"],
        serde_json::Value::Null,
        "raw payload kept"
    );
    let without = client(&base).lookup("+14155552671", false).await.unwrap();
    assert!(without.caller_name.is_none());

    let mut wrong = config(&base);
    wrong.credentials = Credentials::AuthToken("wrong".to_string().into());
    let e = TwilioClient::new(wrong)
        .unwrap()
        .lookup("+14155552671", false)
        .await
        .unwrap_err();
    assert_eq!(
        e,
        ProviderError::Auth {
            code: Some(20003),
            message: "Authenticate".into()
        }
    );
}

#[tokio::test]
async fn api_keys_authenticate_with_the_key_sid() {
    async fn handler(headers: HeaderMap) -> impl IntoResponse {
        use base64::Engine;
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("SK123:keysecret")
        );
        if headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str()) {
            Json(json!({"sid": SID, "friendly_name": "Main", "status": "active"})).into_response()
        } else {
            StatusCode::UNAUTHORIZED.into_response()
        }
    }
    let base =
        serve(Router::new().route(&format!("/2010-04-01/Accounts/{SID}.json"), get(handler))).await;
    let mut cfg = config(&base);
    cfg.credentials = Credentials::ApiKey {
        sid: "SK123".into(),
        secret: "keysecret".to_string().into(),
    };
    assert!(
        !format!("{cfg:?}").contains("keysecret"),
        "no secret in Debug"
    );
    let acct = TwilioClient::new(cfg)
        .unwrap()
        .test_connection()
        .await
        .unwrap();
    assert_eq!(acct.friendly_name.as_deref(), Some("Main"));
}

#[tokio::test]
async fn error_bodies_of_both_shapes_become_typed_errors() {
    let router = Router::new()
        .route(
            &format!("/2010-04-01/Accounts/{SID}/Calls.json"),
            post(|| async {
                (StatusCode::BAD_REQUEST, Json(json!({"code": 21211, "message": "The 'To' number 123 is not a valid phone number.",
                    "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400})))
            }),
        )
        .route(
            &format!("/2010-04-01/Accounts/{SID}/Calls/CA404.json"),
            get(|| async { (StatusCode::NOT_FOUND, Json(json!({"code": 20404, "message": "The requested resource was not found", "status": 404}))) }),
        )
        .route(
            &format!("/2010-04-01/Accounts/{SID}/Calls/CA422.json"),
            get(|| async {
                (StatusCode::UNPROCESSABLE_ENTITY, [("content-type", "application/problem+json")],
                 Json(json!({"type": "https://www.twilio.com/docs/errors/21610", "title": "Unsubscribed recipient",
                     "status": 422, "detail": "The recipient has opted out.", "code": 21610})))
            }),
        );
    let base = serve(router).await;
    let c = client(&base);
    let call = NewCall {
        to: "123".into(),
        from: "+14155550100".into(),
        url: "https://x.test/t".into(),
        ..Default::default()
    };
    match c.create_call(&call).await.unwrap_err() {
        ProviderError::Rejected {
            status,
            code,
            message,
            more_info,
        } => {
            assert_eq!((status, code), (400, Some(21211)));
            assert!(message.contains("not a valid phone number"));
            assert_eq!(
                more_info.as_deref(),
                Some("https://www.twilio.com/docs/errors/21211")
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(c.fetch_call("CA404").await.unwrap_err().code(), Some(20404));
    assert!(matches!(
        c.fetch_call("CA404").await.unwrap_err(),
        ProviderError::NotFound { .. }
    ));
    match c.fetch_call("CA422").await.unwrap_err() {
        ProviderError::Rejected {
            status,
            code,
            message,
            ..
        } => {
            assert_eq!((status, code), (422, Some(21610)));
            assert_eq!(message, "The recipient has opted out.");
        }
        other => panic!("{other:?}"),
    }
}

fn counting(hits: &Hits) -> Hits {
    hits.clone()
}

#[tokio::test]
async fn safe_reads_are_retried_after_5xx_and_429_but_creates_never() {
    let hits: Hits = Arc::default();
    let flaky = Router::new()
        .route(
            &format!("/2010-04-01/Accounts/{SID}/Calls/CA1.json"),
            get(|State(h): State<Hits>| async move {
                // Fails twice, then answers.
                if h.fetch_add(1, Ordering::SeqCst) < 2 {
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        Json(json!({"code": 20500, "message": "busy"})),
                    )
                        .into_response()
                } else {
                    Json(json!({"sid": "CA1", "status": "completed", "duration": "42"}))
                        .into_response()
                }
            }),
        )
        .with_state(counting(&hits));
    let base = serve(flaky).await;
    let call = client(&base).fetch_call("CA1").await.unwrap();
    assert_eq!(call.duration, Some(42));
    assert_eq!(hits.load(Ordering::SeqCst), 3);

    let limited: Hits = Arc::default();
    let router = Router::new()
        .route(
            &format!("/2010-04-01/Accounts/{SID}/Recordings/RE1.json"),
            get(|State(h): State<Hits>| async move {
                h.fetch_add(1, Ordering::SeqCst);
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [("retry-after", "0")],
                    Json(json!({"code": 20429, "message": "Too many requests"})),
                )
            }),
        )
        .with_state(counting(&limited));
    let base = serve(router).await;
    let e = client(&base).fetch_recording("RE1").await.unwrap_err();
    assert_eq!(
        e,
        ProviderError::RateLimited {
            retry_after_secs: Some(0)
        }
    );
    assert_eq!(limited.load(Ordering::SeqCst), 3, "one try and two retries");

    let posts: Hits = Arc::default();
    let router = Router::new()
        .route(
            &format!("/2010-04-01/Accounts/{SID}/IncomingPhoneNumbers.json"),
            post(|State(h): State<Hits>| async move {
                h.fetch_add(1, Ordering::SeqCst);
                (StatusCode::INTERNAL_SERVER_ERROR, "oops")
            }),
        )
        .with_state(counting(&posts));
    let base = serve(router).await;
    let e = client(&base)
        .buy_number("+14155550100", &Default::default())
        .await
        .unwrap_err();
    assert!(
        matches!(e, ProviderError::Server { status: 500, .. }),
        "{e:?}"
    );
    assert_eq!(
        posts.load(Ordering::SeqCst),
        1,
        "a purchase is never retried"
    );
}

#[tokio::test]
async fn a_slow_provider_times_out() {
    // The provider never answers; counting requests (not measuring time) shows the send was not
    // repeated, whatever the machine's load.
    let hits: Hits = Arc::default();
    let router = Router::new()
        .route(
            &format!("/2010-04-01/Accounts/{SID}/Messages.json"),
            post(|State(h): State<Hits>| async move {
                h.fetch_add(1, Ordering::SeqCst);
                std::future::pending::<()>().await;
            }),
        )
        .with_state(counting(&hits));
    let base = serve(router).await;
    let msg = telephony::provider::NewMessage {
        to: "+14155550100".into(),
        from: "+14155550101".into(),
        body: "hi".into(),
        status_callback: None,
    };
    let e = client(&base).send_message(&msg).await.unwrap_err();
    assert_eq!(e, ProviderError::Timeout);
    assert!(hits.load(Ordering::SeqCst) <= 1, "no retry of a send");
}

#[tokio::test]
async fn lists_follow_next_page_uri_to_the_end() {
    async fn page(
        Query(q): Query<std::collections::HashMap<String, String>>,
    ) -> Json<serde_json::Value> {
        let n: usize = q.get("Page").and_then(|p| p.parse().ok()).unwrap_or(0);
        let next = if n < 2 {
            json!(format!(
                "/2010-04-01/Accounts/{SID}/IncomingPhoneNumbers.json?PageSize=2&Page={}",
                n + 1
            ))
        } else {
            json!(null)
        };
        Json(json!({
            "incoming_phone_numbers": [
                {"sid": format!("PN{n}a"), "phone_number": "+14155550100", "capabilities": {"voice": true, "sms": true, "mms": false}},
                {"sid": format!("PN{n}b"), "phone_number": "+14155550101"}
            ],
            "next_page_uri": next, "page": n, "page_size": 2
        }))
    }
    let base = serve(Router::new().route(
        &format!("/2010-04-01/Accounts/{SID}/IncomingPhoneNumbers.json"),
        get(page),
    ))
    .await;
    let numbers = client(&base).list_numbers(None).await.unwrap();
    let sids: Vec<_> = numbers.iter().map(|n| n.sid.as_str()).collect();
    assert_eq!(sids, ["PN0a", "PN0b", "PN1a", "PN1b", "PN2a", "PN2b"]);
    assert!(numbers[0].capabilities.voice);
}

#[tokio::test]
async fn an_unreachable_provider_is_a_network_error() {
    // Nothing listens on port 1.
    let e = client("http://127.0.0.1:1")
        .fetch_call("CA1")
        .await
        .unwrap_err();
    assert!(matches!(e, ProviderError::Network(_)), "{e:?}");
}

#[tokio::test]
async fn calls_send_twilios_form_fields_with_repeated_status_events() {
    let seen: Arc<std::sync::Mutex<String>> = Arc::default();
    let router = Router::new()
        .route(
            &format!("/2010-04-01/Accounts/{SID}/Calls.json"),
            post(
                |State(s): State<Arc<std::sync::Mutex<String>>>, body: String| async move {
                    *s.lock().unwrap() = body;
                    Json(json!({"sid": "CA9", "status": "queued"}))
                },
            ),
        )
        .with_state(seen.clone());
    let base = serve(router).await;
    let call = NewCall {
        to: "+14155550111".into(),
        from: "+14155550100".into(),
        url: "https://phonehub.example.com/twiml".into(),
        status_callback: Some("https://phonehub.example.com/cb".into()),
        status_callback_events: vec![
            "initiated".into(),
            "ringing".into(),
            "answered".into(),
            "completed".into(),
        ],
        record: true,
        recording_status_callback: Some("https://phonehub.example.com/rec".into()),
        time_limit_secs: Some(300),
    };
    assert_eq!(client(&base).create_call(&call).await.unwrap().sid, "CA9");
    let body = seen.lock().unwrap().clone();
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let events: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "StatusCallbackEvent")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(events, ["initiated", "ringing", "answered", "completed"]);
    for (k, v) in [
        ("To", "+14155550111"),
        ("From", "+14155550100"),
        ("Record", "true"),
        ("TimeLimit", "300"),
        (
            "RecordingStatusCallback",
            "https://phonehub.example.com/rec",
        ),
    ] {
        assert!(
            pairs.contains(&(k.to_string(), v.to_string())),
            "{k} missing from {body}"
        );
    }
}

/// A router counting every request it receives, answering `ok` (for "was it reached at all").
async fn counted_server() -> (String, Hits) {
    let hits: Hits = Arc::default();
    let router = Router::new()
        .fallback(|State(h): State<Hits>| async move {
            h.fetch_add(1, Ordering::SeqCst);
            Json(json!({"sid": "CA1", "status": "completed"}))
        })
        .with_state(hits.clone());
    (serve(router).await, hits)
}

fn too_large() -> ProviderError {
    ProviderError::Decode(telephony::http::TOO_LARGE.into())
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let (elsewhere, hits) = counted_server().await;
    let target = format!("{elsewhere}/2010-04-01/Accounts/{SID}/Calls/CA1.json");
    let router = Router::new().route(
        &format!("/2010-04-01/Accounts/{SID}/Calls/CA1.json"),
        get(move || {
            let target = target.clone();
            async move { (StatusCode::FOUND, [("location", target)]) }
        }),
    );
    let base = serve(router).await;
    let e = client(&base).fetch_call("CA1").await.unwrap_err();
    assert!(
        matches!(e, ProviderError::Rejected { status: 302, .. }),
        "{e:?}"
    );
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "the redirect target is never asked"
    );
}

#[tokio::test]
async fn answers_over_their_cap_are_refused() {
    let big = vec![b' '; 2 * 1024 * 1024];
    let chunked = || {
        // No Content-Length: the cap must hold on what arrives.
        let chunks = (0..32).map(|_| Ok::<_, std::io::Error>(vec![b' '; 64 * 1024]));
        axum::body::Body::from_stream(futures::stream::iter(chunks))
    };
    let mut padded_error = json!({"code": 21211, "message": "The 'To' number is not valid."});
    padded_error["pad"] = json!("x".repeat(100 * 1024));
    let router = Router::new()
        .route(
            &format!("/2010-04-01/Accounts/{SID}/Calls/CA1.json"),
            get(move || {
                let big = big.clone();
                async move { ([("content-type", "application/json")], big) }
            }),
        )
        .route(
            &format!("/2010-04-01/Accounts/{SID}/Calls/CA2.json"),
            get(move || async move { chunked() }),
        )
        .route(
            &format!("/2010-04-01/Accounts/{SID}/Calls/CA3.json"),
            get(move || {
                let body = padded_error.clone();
                async move { (StatusCode::BAD_REQUEST, Json(body)) }
            }),
        );
    let base = serve(router).await;
    let c = client(&base);
    assert_eq!(c.fetch_call("CA1").await.unwrap_err(), too_large());
    assert_eq!(c.fetch_call("CA2").await.unwrap_err(), too_large());
    // An error body over 64 KiB is ignored: the status remains, its details do not.
    match c.fetch_call("CA3").await.unwrap_err() {
        ProviderError::Rejected {
            status,
            code,
            message,
            ..
        } => {
            assert_eq!((status, code), (400, None));
            assert_eq!(message, "Bad Request");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn recording_media_is_streamed_within_its_cap() {
    use futures::TryStreamExt;
    let router = Router::new().route(
        &format!("/2010-04-01/Accounts/{SID}/Recordings/{{file}}"),
        get(|Path(file): Path<String>| async move {
            match file.as_str() {
                // Says up front it is too large.
                "RE1.wav" => axum::body::Body::from(vec![0u8; 2000]).into_response(),
                // Says nothing, then sends too much.
                "RE2.wav" => {
                    let chunks = (0..4).map(|_| Ok::<_, std::io::Error>(vec![0u8; 500]));
                    axum::body::Body::from_stream(futures::stream::iter(chunks)).into_response()
                }
                // Within the cap, under a content type we must not pass on.
                _ => ([("content-type", "text/html")], vec![7u8; 800]).into_response(),
            }
        }),
    );
    let base = serve(router).await;
    let mut cfg = config(&base);
    cfg.max_media_bytes = 1000;
    let c = TwilioClient::new(cfg).unwrap();
    assert_eq!(
        c.recording_media("RE1", "wav", None).await.unwrap_err(),
        too_large()
    );
    let streamed = c.recording_media("RE2", "wav", None).await.unwrap();
    assert_eq!(streamed.content_length, None);
    let e = streamed.body.try_collect::<Vec<_>>().await.unwrap_err();
    assert_eq!(e, too_large());
    let ok = c.recording_media("RE3", "wav", None).await.unwrap();
    assert_eq!(ok.content_length, Some(800));
    let bytes = ok.body.try_collect::<Vec<_>>().await.unwrap().concat();
    assert_eq!(bytes, vec![7u8; 800]);
}

#[tokio::test]
async fn a_seek_asks_the_provider_for_its_bytes_and_checks_what_comes_back() {
    use futures::TryStreamExt;
    let router = Router::new().route(
        &format!("/2010-04-01/Accounts/{SID}/Recordings/{{file}}"),
        get(
            |Path(file): Path<String>, headers: axum::http::HeaderMap| async move {
                let asked = headers
                    .get("range")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                match (file.as_str(), asked.as_str()) {
                    // Serves what was asked.
                    ("RE1.wav", "bytes=10-19") => (
                        axum::http::StatusCode::PARTIAL_CONTENT,
                        [("content-range", "bytes 10-19/100")],
                        vec![1u8; 10],
                    )
                        .into_response(),
                    // Claims other bytes than were asked for.
                    ("RE2.wav", _) => (
                        axum::http::StatusCode::PARTIAL_CONTENT,
                        [("content-range", "bytes 0-9/100")],
                        vec![2u8; 10],
                    )
                        .into_response(),
                    // Ignores the range: the whole recording.
                    _ => vec![3u8; 100].into_response(),
                }
            },
        ),
    );
    let base = serve(router).await;
    let c = TwilioClient::new(config(&base)).unwrap();
    let seek = telephony::ByteRange {
        start: 10,
        end: Some(19),
    };
    let part = c.recording_media("RE1", "wav", Some(seek)).await.unwrap();
    assert_eq!(
        part.range,
        Some(telephony::ContentRange {
            start: 10,
            end: 19,
            total: 100
        })
    );
    assert_eq!(
        part.body.try_collect::<Vec<_>>().await.unwrap().concat(),
        vec![1u8; 10]
    );
    assert!(matches!(
        c.recording_media("RE2", "wav", Some(seek))
            .await
            .unwrap_err(),
        ProviderError::Decode(_)
    ));
    let whole = c.recording_media("RE3", "wav", Some(seek)).await.unwrap();
    assert_eq!((whole.range, whole.content_length), (None, Some(100)));
}

#[tokio::test]
async fn a_huge_retry_after_is_capped_at_an_hour() {
    let router = Router::new().route(
        &format!("/2010-04-01/Accounts/{SID}/Calls/CA1.json"),
        get(|| async {
            (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "3000000000")],
                Json(json!({"code": 20429, "message": "Too many requests"})),
            )
        }),
    );
    let base = serve(router).await;
    let mut cfg = config(&base);
    // No retry: it would wait the (30 s capped) delay.
    cfg.max_retries = 0;
    let e = TwilioClient::new(cfg)
        .unwrap()
        .fetch_call("CA1")
        .await
        .unwrap_err();
    assert_eq!(
        e,
        ProviderError::RateLimited {
            retry_after_secs: Some(3600)
        }
    );
}

#[tokio::test]
async fn next_page_uri_cannot_send_us_to_another_host() {
    let (elsewhere, hits) = counted_server().await;
    for next in [
        format!("{elsewhere}/2010-04-01/Accounts/{SID}/IncomingPhoneNumbers.json?Page=1"),
        format!(
            "//{}/2010-04-01/Accounts/{SID}/IncomingPhoneNumbers.json?Page=1",
            elsewhere.trim_start_matches("http://")
        ),
    ] {
        let router = Router::new().route(
            &format!("/2010-04-01/Accounts/{SID}/IncomingPhoneNumbers.json"),
            get(move || {
                let next = next.clone();
                async move {
                    Json(json!({
                        "incoming_phone_numbers": [{"sid": "PN1", "phone_number": "+14155550100"}],
                        "next_page_uri": next,
                    }))
                }
            }),
        );
        let base = serve(router).await;
        let e = client(&base).list_numbers(None).await.unwrap_err();
        assert!(matches!(e, ProviderError::Decode(_)), "{e:?}");
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "the other host is never asked"
    );
}

#[tokio::test]
async fn private_addresses_are_refused_before_any_connection() {
    let (base, hits) = counted_server().await;
    let port = base.rsplit(':').next().unwrap().to_string();
    // The same server is reachable when private networks are allowed (the fake is on loopback).
    client(&base).fetch_call("CA1").await.unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    for target in [
        format!("http://127.0.0.1:{port}"),
        format!("http://localhost:{port}"),
        format!("http://[::ffff:127.0.0.1]:{port}"),
    ] {
        let mut cfg = config(&target);
        cfg.allow_private_networks = false;
        let e = TwilioClient::new(cfg)
            .unwrap()
            .fetch_call("CA1")
            .await
            .unwrap_err();
        assert_eq!(
            e,
            ProviderError::Network(telephony::http::NOT_ALLOWED.into()),
            "{target}"
        );
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "no refused request reached the server"
    );
}

//! Measures the telephony layer: webhook signature checks per second, and lookups per second from
//! the Twilio client against the sandbox compared with the same client against a bare axum handler
//! returning a fixed lookup answer (the sandbox's own overhead, as a ratio in one run).

use std::sync::Arc;
use std::time::{Duration, Instant};

use telephony::provider::Lookups;
use telephony::sandbox::{self, Sandbox, SandboxConfig};
use telephony::twilio::{TwilioClient, TwilioConfig};

const CONCURRENCY: usize = 16;
const REQUESTS: usize = 4000;

async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

async fn lookups_per_second(lookups_base: &str) -> f64 {
    let mut cfg = TwilioConfig::new(sandbox::DEV_ACCOUNT_SID, sandbox::DEV_AUTH_TOKEN);
    // The fake provider listens on loopback.
    cfg.allow_private_networks = true;
    cfg.lookups_base = lookups_base.to_string();
    cfg.timeout = Duration::from_secs(10);
    let client = Arc::new(TwilioClient::new(cfg).unwrap());
    // Warm up connections.
    for i in 0..CONCURRENCY {
        client
            .lookup(&format!("+1415555{:04}", 1000 + i), true)
            .await
            .unwrap();
    }
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..CONCURRENCY {
        let c = client.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..REQUESTS / CONCURRENCY {
                let n = format!("+1415555{:04}", 2000 + (w * 97 + i) % 7000);
                c.lookup(&n, true).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    REQUESTS as f64 / start.elapsed().as_secs_f64()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // Signatures.
    let params: Vec<(String, String)> = (0..12)
        .map(|i| (format!("Param{i}"), format!("value-{i}")))
        .collect();
    let url = "https://phonehub.example.com/webhooks/call-status?org=acme";
    let sig = telephony::signature::compute("token", url, &params);
    let n = 50_000;
    let start = Instant::now();
    for _ in 0..n {
        assert!(telephony::signature::validate(
            "token",
            url,
            telephony::signature::Payload::Form(&params),
            &sig
        ));
    }
    let per_sec = n as f64 / start.elapsed().as_secs_f64();
    println!("signature validations/s (12 params, both port forms): {per_sec:.0}");

    // Lookups: sandbox vs a bare handler with a fixed answer.
    let sb = Sandbox::start(SandboxConfig::dev("http://127.0.0.1/sandbox/twilio", None));
    let sandbox_base =
        serve(axum::Router::new().nest("/sandbox/twilio", sandbox::router(sb))).await;
    let fixed = serde_json::json!({
        "phone_number": "+14155552000", "national_format": "(415) 555-2000", "valid": true,
        "calling_country_code": "1", "country_code": "US", "validation_errors": [],
        "line_type_intelligence": {"type": "mobile", "carrier_name": "X", "error_code": null},
        "caller_name": {"caller_name": "X", "caller_type": "BUSINESS", "error_code": null},
    });
    let bare = serve(axum::Router::new().route(
        "/v2/PhoneNumbers/{n}",
        axum::routing::get(move || {
            let v = fixed.clone();
            async move { axum::Json(v) }
        }),
    ))
    .await;
    let bare_rate = lookups_per_second(&bare).await;
    let sandbox_rate = lookups_per_second(&format!("{sandbox_base}/sandbox/twilio/lookups")).await;
    println!("lookups/s, client → bare axum handler ({CONCURRENCY} concurrent): {bare_rate:.0}");
    println!("lookups/s, client → sandbox ({CONCURRENCY} concurrent):           {sandbox_rate:.0}");
    println!("sandbox / bare ratio: {:.2}", sandbox_rate / bare_rate);
}

//! The Twilio sandbox on its own: `twilio-sandbox [addr]` serves it at `/sandbox/twilio`.
//! Environment: SANDBOX_ACCOUNT_SID, SANDBOX_AUTH_TOKEN, SANDBOX_STATE_FILE, SANDBOX_PUBLIC_URL,
//! SANDBOX_TIME_SCALE.

use telephony::sandbox::{router, Sandbox, SandboxConfig};

#[tokio::main]
async fn main() {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .try_init();
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3100".into());
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("twilio-sandbox: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    let local = listener.local_addr().map(|a| a.to_string()).unwrap_or(addr);
    let env = |k: &str| std::env::var(k).ok();
    let public = env("SANDBOX_PUBLIC_URL").unwrap_or_else(|| format!("http://{local}"));
    let mut cfg = SandboxConfig::dev(
        &format!("{}/sandbox/twilio", public.trim_end_matches('/')),
        Some(
            env("SANDBOX_STATE_FILE")
                .unwrap_or_else(|| ".data/twilio-sandbox.json".into())
                .into(),
        ),
    );
    if let Some(sid) = env("SANDBOX_ACCOUNT_SID") {
        cfg.account_sid = sid;
    }
    if let Some(token) = env("SANDBOX_AUTH_TOKEN") {
        cfg.auth_token = token;
    }
    if let Some(scale) = env("SANDBOX_TIME_SCALE").and_then(|s| s.parse().ok()) {
        cfg.time_scale = scale;
    }
    let app = axum::Router::new().nest("/sandbox/twilio", router(Sandbox::start(cfg)));
    eprintln!("twilio-sandbox listening on http://{local}/sandbox/twilio");
    if let Err(e) = axum::serve(listener, app).await {
        eprintln!("twilio-sandbox: {e}");
        std::process::exit(1);
    }
}

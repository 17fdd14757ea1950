//! A Twilio-compatible simulator: Twilio's paths, form parameters, JSON fields, Basic auth and error
//! codes, with calls and messages that progress on an accelerated clock and send signed callbacks.
//! Mounted by the server at `/sandbox/twilio` and runnable alone (`twilio-sandbox`).

pub mod audio;
pub mod data;
pub mod state;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::e164::E164;
use data::*;
use state::{CallRec, Data, MessageRec, OwnedNumber, RecordingRec};

pub const DEV_ACCOUNT_SID: &str = "AC00000000000000000000000000000001";
pub const DEV_AUTH_TOKEN: &str = "sandbox-auth-token-0001";

/// Injected faults, changeable at run time through `POST …/_faults`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Faults {
    /// Added to every API request.
    #[serde(default)]
    pub latency_ms: u64,
    /// Share of API requests answered with a 500 (0.0–1.0).
    #[serde(default)]
    pub error_rate: f64,
    /// Share of API requests that hang for 30 s (clients time out).
    #[serde(default)]
    pub timeout_rate: f64,
}

#[derive(Clone)]
pub struct SandboxConfig {
    pub account_sid: String,
    pub auth_token: String,
    /// Public URL of the mount point (e.g. `http://127.0.0.1:3000/sandbox/twilio`), for `uri` and
    /// recording URLs in answers.
    pub public_base: String,
    /// Where state is saved; `None` keeps it in memory only.
    pub state_file: Option<PathBuf>,
    /// Simulated seconds per real second (calls of a minute finish in ~2 s at 30).
    pub time_scale: f64,
    /// Simulated time stands still until [`Sandbox::advance`] moves it (`time_scale` is then
    /// unused). Tests use it to look at a call or message at a chosen point of its life instead of
    /// wherever an accelerated clock happens to be when their request lands.
    pub manual_clock: bool,
    pub faults: Faults,
}

impl std::fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxConfig")
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"[redacted]")
            .field("public_base", &self.public_base)
            .field("state_file", &self.state_file)
            .field("time_scale", &self.time_scale)
            .field("manual_clock", &self.manual_clock)
            .finish()
    }
}

impl SandboxConfig {
    pub fn dev(public_base: &str, state_file: Option<PathBuf>) -> SandboxConfig {
        SandboxConfig {
            account_sid: DEV_ACCOUNT_SID.into(),
            auth_token: DEV_AUTH_TOKEN.into(),
            public_base: public_base.trim_end_matches('/').to_string(),
            state_file,
            time_scale: 30.0,
            manual_clock: false,
            faults: Faults::default(),
        }
    }
}

/// The sandbox's simulated time, in simulated seconds since the sandbox started.
enum Clock {
    /// Real time multiplied by `scale`.
    Scaled {
        scale: f64,
        start: tokio::time::Instant,
    },
    /// Moved only by [`Sandbox::advance`]; waiters are woken through the watch channel.
    Manual(tokio::sync::watch::Sender<f64>),
}

pub struct Sandbox {
    cfg: SandboxConfig,
    clock: Clock,
    data: Mutex<Data>,
    stats: Mutex<BTreeMap<String, u64>>,
    faults: RwLock<Faults>,
    http: reqwest::Client,
}

pub type Shared = Arc<Sandbox>;

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc2822)
        .unwrap_or_default()
}

fn new_sid(prefix: &str) -> String {
    format!("{prefix}{:032x}", rand::random::<u128>())
}

/// Micro-dollars to Twilio's price string ("-0.00850").
fn price(micros: i64) -> String {
    format!("-{}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

const FINAL_CALL: [&str; 5] = ["completed", "busy", "no-answer", "failed", "canceled"];

impl Sandbox {
    /// Loads saved state and resumes calls and messages that were in progress.
    pub fn start(cfg: SandboxConfig) -> Shared {
        let data = Data::load(&cfg.state_file);
        let faults = cfg.faults;
        let clock = if cfg.manual_clock {
            Clock::Manual(tokio::sync::watch::Sender::new(0.0))
        } else {
            Clock::Scaled {
                scale: cfg.time_scale.max(0.001),
                start: tokio::time::Instant::now(),
            }
        };
        let sb = Arc::new(Sandbox {
            cfg,
            clock,
            data: Mutex::new(data),
            stats: Mutex::new(BTreeMap::new()),
            faults: RwLock::new(faults),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
        });
        let (calls, messages): (Vec<String>, Vec<String>) = {
            let d = sb.lock();
            (
                d.calls
                    .iter()
                    .filter(|c| !FINAL_CALL.contains(&c.status.as_str()))
                    .map(|c| c.sid.clone())
                    .collect(),
                d.messages
                    .iter()
                    .filter(|m| matches!(m.status.as_str(), "queued" | "sending" | "sent"))
                    .map(|m| m.sid.clone())
                    .collect(),
            )
        };
        // Resumed steps are timed from now (the saved state has no simulated times).
        let resumed = sb.sim_now();
        for sid in calls {
            tokio::spawn(progress_call(sb.clone(), sid, resumed));
        }
        for sid in messages {
            tokio::spawn(progress_message(sb.clone(), sid, resumed));
        }
        sb
    }

    pub fn config(&self) -> &SandboxConfig {
        &self.cfg
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn save(&self, d: &Data) {
        d.save(&self.cfg.state_file);
    }

    fn count(&self, op: &str) {
        let mut s = self.stats.lock().unwrap_or_else(|p| p.into_inner());
        *s.entry(op.to_string()).or_default() += 1;
    }

    /// Request counts per operation (and billed lookups), as served at `/_stats`.
    pub fn stats(&self) -> BTreeMap<String, u64> {
        self.stats.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// A path under the API as an absolute URL at this sandbox.
    fn absolute(&self, api_path: &str) -> String {
        format!("{}/api{api_path}", self.cfg.public_base)
    }

    fn account_uri(&self, rest: &str) -> String {
        format!("/2010-04-01/Accounts/{}{rest}", self.cfg.account_sid)
    }

    /// Simulated seconds since the sandbox started.
    fn sim_now(&self) -> f64 {
        match &self.clock {
            Clock::Scaled { scale, start } => start.elapsed().as_secs_f64() * scale,
            Clock::Manual(t) => *t.borrow(),
        }
    }

    /// Moves a manual clock forward by `sim_seconds` and wakes what was waiting for that time.
    /// Returns false (and does nothing) when the sandbox runs on the scaled real-time clock.
    pub fn advance(&self, sim_seconds: f64) -> bool {
        match &self.clock {
            Clock::Manual(t) => {
                t.send_modify(|now| *now += sim_seconds.max(0.0));
                true
            }
            Clock::Scaled { .. } => false,
        }
    }

    /// Waits until simulated time `at`. Steps of a call or message are scheduled on one timeline
    /// (each `at` is the previous one plus the step's wait), so a manual clock advanced past
    /// several steps runs them all.
    async fn sleep_until_sim(&self, at: f64) {
        match &self.clock {
            Clock::Scaled { scale, .. } => {
                let real = (at - self.sim_now()) / scale;
                // A very slow scale must not hold a task for hours.
                tokio::time::sleep(Duration::from_secs_f64(real.clamp(0.0, 60.0))).await;
            }
            Clock::Manual(t) => {
                let mut rx = t.subscribe();
                // The sender lives in `self`, which outlives this wait; an error cannot happen.
                let _ = rx.wait_for(|now| *now >= at).await;
            }
        }
    }

    /// POSTs a signed form callback and returns the answer's body (TwiML) when it succeeded.
    async fn fetch_twiml(&self, url: &str, params: &[(String, String)]) -> Option<String> {
        let signature = crate::signature::compute(&self.cfg.auth_token, url, params);
        let r = self
            .http
            .post(url)
            .header("X-Twilio-Signature", signature)
            .header(header::USER_AGENT, "TwilioProxy/1.1")
            .form(params)
            .send()
            .await
            .ok()?;
        if !r.status().is_success() {
            tracing::info!(url, status = %r.status(), "sandbox webhook answered with an error");
            return None;
        }
        r.text().await.ok()
    }

    /// POSTs a form callback signed like Twilio's (X-Twilio-Signature with the auth token).
    async fn callback(&self, url: &str, params: Vec<(String, String)>) {
        let signature = crate::signature::compute(&self.cfg.auth_token, url, &params);
        let result = self
            .http
            .post(url)
            .header("X-Twilio-Signature", signature)
            .header(header::USER_AGENT, "TwilioProxy/1.1")
            .form(&params)
            .send()
            .await;
        match result {
            Ok(r) if !r.status().is_success() => {
                tracing::info!(url, status = %r.status(), "sandbox callback answered with an error")
            }
            Err(e) => tracing::info!(url, error = %e.without_url(), "sandbox callback failed"),
            _ => {}
        }
    }
}

/// A Twilio error answer: `{code, message, more_info, status}`.
fn twilio_error(status: StatusCode, code: u32, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({
            "code": code,
            "message": message.into(),
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status.as_u16(),
        })),
    )
        .into_response()
}

fn not_found() -> Response {
    twilio_error(
        StatusCode::NOT_FOUND,
        20404,
        "The requested resource was not found",
    )
}

/// The router, to be nested at the mount point (`/sandbox/twilio`).
pub fn router(sb: Shared) -> Router {
    let acct = "/api/2010-04-01/Accounts/{account}";
    let api = Router::new()
        .route("/api/2010-04-01/Accounts/{account}", get(fetch_account))
        .route(
            &format!("{acct}/AvailablePhoneNumbers/{{country}}/{{kind}}"),
            get(search_numbers),
        )
        .route(
            &format!("{acct}/IncomingPhoneNumbers.json"),
            get(list_numbers).post(buy_number),
        )
        .route(
            &format!("{acct}/IncomingPhoneNumbers/{{sid}}"),
            get(fetch_number).post(update_number).delete(release_number),
        )
        .route(
            &format!("{acct}/Calls.json"),
            get(list_calls).post(create_call),
        )
        .route(&format!("{acct}/Calls/{{sid}}"), get(fetch_call))
        .route(
            &format!("{acct}/Calls/{{sid}}/Recordings.json"),
            get(list_call_recordings),
        )
        .route(&format!("{acct}/Recordings.json"), get(list_recordings))
        .route(&format!("{acct}/Recordings/{{file}}"), get(fetch_recording))
        .route(
            &format!("{acct}/Messages.json"),
            get(list_messages).post(send_message),
        )
        .route(&format!("{acct}/Messages/{{sid}}"), get(fetch_message))
        .route("/lookups/v2/PhoneNumbers/{number}", get(lookup))
        .layer(axum::middleware::from_fn_with_state(
            sb.clone(),
            faults_and_auth,
        ));
    // The control endpoints change what the API answers (faults) or act as the outside world
    // (simulated calls and texts): the same credentials as the API, but no injected faults, so
    // faults can always be turned off again.
    let control = Router::new()
        .route("/_stats", get(stats))
        .route("/_faults", get(get_faults).post(set_faults))
        .route(
            "/_simulate/incoming-call",
            axum::routing::post(simulate_incoming_call),
        )
        .route(
            "/_simulate/incoming-sms",
            axum::routing::post(simulate_incoming_sms),
        )
        .layer(axum::middleware::from_fn_with_state(
            sb.clone(),
            control_auth,
        ));
    Router::new().merge(api).merge(control).with_state(sb)
}

/// Whether the request carries the sandbox's Basic credentials (account SID : auth token).
fn authorized(sb: &Sandbox, req: &Request) -> bool {
    use subtle::ConstantTimeEq;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", sb.cfg.account_sid, sb.cfg.auth_token))
    );
    req.headers()
        .get(header::AUTHORIZATION)
        .is_some_and(|v| bool::from(v.as_bytes().ct_eq(expected.as_bytes())))
}

/// Twilio's 401 (20003) with the Basic challenge.
fn unauthorized(sb: &Sandbox) -> Response {
    sb.count("auth_failures");
    let mut r = twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        axum::http::HeaderValue::from_static("Basic realm=\"Twilio API\""),
    );
    r
}

/// Basic auth for the control endpoints, without the API's fault injection.
async fn control_auth(State(sb): State<Shared>, req: Request, next: Next) -> Response {
    if !authorized(&sb, &req) {
        return unauthorized(&sb);
    }
    next.run(req).await
}

/// Basic auth (20003), the account in the path, then any injected latency, errors or hangs.
async fn faults_and_auth(State(sb): State<Shared>, req: Request, next: Next) -> Response {
    let authed = authorized(&sb, &req);
    let path = req.uri().path().to_string();
    let wrong_account =
        path.contains("/Accounts/") && !path.contains(&format!("/Accounts/{}", sb.cfg.account_sid));
    if !authed || wrong_account {
        return unauthorized(&sb);
    }
    let f = *sb.faults.read().unwrap_or_else(|p| p.into_inner());
    if f.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(f.latency_ms.min(30_000))).await;
    }
    let roll: f64 = rand::random();
    if roll < f.timeout_rate {
        sb.count("faults_timeout");
        tokio::time::sleep(Duration::from_secs(30)).await;
    } else if roll < f.timeout_rate + f.error_rate {
        sb.count("faults_error");
        return twilio_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            20500,
            "Internal Server Error (injected by the sandbox)",
        );
    }
    next.run(req).await
}

async fn stats(State(sb): State<Shared>) -> Json<BTreeMap<String, u64>> {
    Json(sb.stats())
}

async fn get_faults(State(sb): State<Shared>) -> Json<Faults> {
    Json(*sb.faults.read().unwrap_or_else(|p| p.into_inner()))
}

async fn set_faults(State(sb): State<Shared>, Json(f): Json<Faults>) -> Response {
    let valid = |r: f64| (0.0..=1.0).contains(&r);
    if !valid(f.error_rate) || !valid(f.timeout_rate) || f.error_rate + f.timeout_rate > 1.0 {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            "rates must be between 0 and 1 and add up to at most 1",
        )
            .into_response();
    }
    *sb.faults.write().unwrap_or_else(|p| p.into_inner()) = f;
    Json(f).into_response()
}

/// Reads a form body keeping repeated fields (StatusCallbackEvent).
fn form(body: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

fn field(form: &[(String, String)], name: &str) -> Option<String> {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

fn strip_json(s: &str) -> Option<&str> {
    s.strip_suffix(".json")
}

async fn fetch_account(State(sb): State<Shared>, Path(account): Path<String>) -> Response {
    sb.count("FetchAccount");
    if strip_json(&account) != Some(sb.cfg.account_sid.as_str()) {
        return not_found();
    }
    let d = now();
    Json(json!({
        "auth_token": null, "date_created": d, "date_updated": d,
        "friendly_name": "PhoneHub sandbox", "owner_account_sid": sb.cfg.account_sid,
        "sid": sb.cfg.account_sid, "status": "active", "type": "Full",
        "subresource_uris": {}, "uri": sb.account_uri(".json"),
    }))
    .into_response()
}

fn available_json(n: &str, country: &str) -> Value {
    let e = E164::parse(n, None).ok();
    let area = if country == "US" || country == "CA" {
        &n[2..5]
    } else {
        ""
    };
    let (locality, region, postal) = place(area);
    let national = e
        .as_ref()
        .map(|e| e.national())
        .unwrap_or_else(|| n.to_string());
    json!({
        "friendly_name": national, "phone_number": n, "lata": "722", "locality": locality,
        "rate_center": locality.to_uppercase(), "latitude": 37.78, "longitude": -122.4,
        "region": region, "postal_code": postal, "iso_country": country,
        "address_requirements": "none", "beta": false,
        "capabilities": {"voice": true, "SMS": true, "MMS": true, "fax": false},
    })
}

async fn search_numbers(
    State(sb): State<Shared>,
    Path((_, country, kind)): Path<(String, String, String)>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let Some(kind) = strip_json(&kind) else {
        return not_found();
    };
    if !matches!(kind, "Local" | "Mobile" | "TollFree") {
        return not_found();
    }
    sb.count(&format!("ListAvailablePhoneNumber{kind}"));
    let get = |k: &str| field(&q, k);
    let area = get("AreaCode");
    if area
        .as_deref()
        .is_some_and(|a| a.len() != 3 || !a.chars().all(|c| c.is_ascii_digit()))
    {
        return twilio_error(StatusCode::BAD_REQUEST, 21216, "AreaCode must be 3 digits");
    }
    let owned: Vec<String> = sb
        .lock()
        .numbers
        .iter()
        .map(|n| n.phone_number.clone())
        .collect();
    let page_size: usize = get("PageSize")
        .and_then(|p| p.parse().ok())
        .unwrap_or(50)
        .clamp(1, 1000);
    let mut found: Vec<Value> = inventory(&country, kind, area.as_deref())
        .into_iter()
        .filter(|n| !owned.contains(n))
        .filter(|n| get("Contains").is_none_or(|p| matches_pattern(n, &p)))
        .map(|n| available_json(&n, &country))
        .filter(|v| {
            get("InRegion").is_none_or(|r| {
                v["region"]
                    .as_str()
                    .is_some_and(|x| x.eq_ignore_ascii_case(&r))
            })
        })
        .filter(|v| {
            get("InLocality").is_none_or(|l| {
                v["locality"]
                    .as_str()
                    .is_some_and(|x| x.eq_ignore_ascii_case(&l))
            })
        })
        .collect();
    found.truncate(page_size);
    Json(json!({
        "available_phone_numbers": found,
        "uri": sb.absolute(&sb.account_uri(&format!("/AvailablePhoneNumbers/{country}/{kind}.json"))),
    }))
    .into_response()
}

fn number_json(sb: &Sandbox, n: &OwnedNumber) -> Value {
    json!({
        "account_sid": sb.cfg.account_sid, "address_sid": null, "address_requirements": "none",
        "api_version": "2010-04-01", "beta": false,
        "capabilities": {"voice": n.voice, "sms": n.sms, "mms": n.mms, "fax": false},
        "date_created": n.date_created, "date_updated": n.date_updated,
        "friendly_name": n.friendly_name, "identity_sid": null, "phone_number": n.phone_number,
        "origin": "twilio", "sid": n.sid, "sms_application_sid": null, "sms_fallback_method": "POST",
        "sms_fallback_url": null, "sms_method": "POST", "sms_url": n.sms_url,
        "status_callback": n.status_callback, "status_callback_method": "POST", "trunk_sid": null,
        "uri": sb.account_uri(&format!("/IncomingPhoneNumbers/{}.json", n.sid)),
        "voice_receive_mode": "voice", "voice_application_sid": null, "voice_caller_id_lookup": false,
        "voice_fallback_method": "POST", "voice_fallback_url": null, "voice_method": "POST",
        "voice_url": n.voice_url, "emergency_status": "Inactive", "emergency_address_sid": null,
        "emergency_address_status": "unregistered", "bundle_sid": null, "status": "in-use",
    })
}

fn page_json(
    sb: &Sandbox,
    key: &str,
    path: &str,
    items: Vec<Value>,
    q: &[(String, String)],
) -> Value {
    let size: usize = field(q, "PageSize")
        .and_then(|p| p.parse().ok())
        .unwrap_or(50)
        .clamp(1, 1000);
    let page: usize = field(q, "Page").and_then(|p| p.parse().ok()).unwrap_or(0);
    let total = items.len();
    let start = (page * size).min(total);
    let slice: Vec<Value> = items.into_iter().skip(start).take(size).collect();
    // Absolute: the spec declares these `format: uri` (Twilio itself sends paths).
    let uri = |p: usize| sb.absolute(&sb.account_uri(&format!("{path}?PageSize={size}&Page={p}")));
    let next = (start + size < total).then(|| uri(page + 1));
    json!({
        key: slice, "end": start + size.min(total - start).max(1) - 1, "first_page_uri": uri(0),
        "next_page_uri": next, "page": page, "page_size": size,
        "previous_page_uri": (page > 0).then(|| uri(page - 1)), "start": start, "uri": uri(page),
    })
}

async fn list_numbers(
    State(sb): State<Shared>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    sb.count("ListIncomingPhoneNumber");
    let filter = field(&q, "PhoneNumber");
    let items: Vec<Value> = sb
        .lock()
        .numbers
        .iter()
        .filter(|n| filter.as_deref().is_none_or(|f| n.phone_number == f))
        .map(|n| number_json(&sb, n))
        .collect();
    Json(page_json(
        &sb,
        "incoming_phone_numbers",
        "/IncomingPhoneNumbers.json",
        items,
        &q,
    ))
    .into_response()
}

fn apply_update(n: &mut OwnedNumber, f: &[(String, String)]) {
    if let Some(v) = field(f, "FriendlyName") {
        n.friendly_name = v.chars().take(64).collect();
    }
    for (key, slot) in [
        ("VoiceUrl", &mut n.voice_url),
        ("SmsUrl", &mut n.sms_url),
        ("StatusCallback", &mut n.status_callback),
    ] {
        if let Some(v) = field(f, key) {
            *slot = (!v.is_empty()).then_some(v);
        }
    }
    n.date_updated = now();
}

async fn buy_number(State(sb): State<Shared>, body: String) -> Response {
    sb.count("CreateIncomingPhoneNumber");
    let f = form(&body);
    let wanted = match (field(&f, "PhoneNumber"), field(&f, "AreaCode")) {
        (Some(p), _) => match E164::parse(&p, None) {
            Ok(e) => e.to_string(),
            Err(_) => {
                return twilio_error(
                    StatusCode::BAD_REQUEST,
                    21421,
                    format!("PhoneNumber {p} is invalid"),
                )
            }
        },
        (None, Some(area)) => {
            let owned: Vec<String> = sb
                .lock()
                .numbers
                .iter()
                .map(|n| n.phone_number.clone())
                .collect();
            match inventory("US", "Local", Some(&area))
                .into_iter()
                .find(|n| !owned.contains(n))
            {
                Some(n) => n,
                None => {
                    return twilio_error(
                        StatusCode::BAD_REQUEST,
                        21452,
                        format!("No phone numbers found in area code {area}"),
                    )
                }
            }
        }
        (None, None) => {
            return twilio_error(
                StatusCode::BAD_REQUEST,
                21421,
                "PhoneNumber or AreaCode is required",
            )
        }
    };
    let mut d = sb.lock();
    if d.numbers.iter().any(|n| n.phone_number == wanted) {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21422,
            format!("PhoneNumber {wanted} is not available"),
        );
    }
    let area = wanted.get(2..5).unwrap_or_default();
    if wanted.starts_with("+1") && area == EMPTY_AREA_CODE {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21452,
            format!("No phone numbers found in area code {area}"),
        );
    }
    let t = now();
    let mut n = OwnedNumber {
        sid: new_sid("PN"),
        phone_number: wanted.clone(),
        friendly_name: E164::parse(&wanted, None)
            .map(|e| e.national())
            .unwrap_or(wanted),
        voice: true,
        sms: true,
        mms: true,
        date_created: t.clone(),
        date_updated: t,
        ..Default::default()
    };
    apply_update(&mut n, &f);
    d.numbers.push(n.clone());
    sb.save(&d);
    (StatusCode::CREATED, Json(number_json(&sb, &n))).into_response()
}

async fn fetch_number(
    State(sb): State<Shared>,
    Path((_, sid)): Path<(String, String)>,
) -> Response {
    sb.count("FetchIncomingPhoneNumber");
    let Some(sid) = strip_json(&sid) else {
        return not_found();
    };
    match sb.lock().numbers.iter().find(|n| n.sid == sid) {
        Some(n) => Json(number_json(&sb, n)).into_response(),
        None => not_found(),
    }
}

async fn update_number(
    State(sb): State<Shared>,
    Path((_, sid)): Path<(String, String)>,
    body: String,
) -> Response {
    sb.count("UpdateIncomingPhoneNumber");
    let Some(sid) = strip_json(&sid) else {
        return not_found();
    };
    let f = form(&body);
    let mut d = sb.lock();
    let Some(n) = d.numbers.iter_mut().find(|n| n.sid == sid) else {
        return not_found();
    };
    apply_update(n, &f);
    let out = number_json(&sb, n);
    sb.save(&d);
    Json(out).into_response()
}

async fn release_number(
    State(sb): State<Shared>,
    Path((_, sid)): Path<(String, String)>,
) -> Response {
    sb.count("DeleteIncomingPhoneNumber");
    let Some(sid) = strip_json(&sid) else {
        return not_found();
    };
    let mut d = sb.lock();
    let before = d.numbers.len();
    d.numbers.retain(|n| n.sid != sid);
    if d.numbers.len() == before {
        return not_found();
    }
    sb.save(&d);
    StatusCode::NO_CONTENT.into_response()
}

/// The statuses of Twilio's Call resource (`call_enum_status` in its API spec).
pub const CALL_RESOURCE_STATUSES: [&str; 8] = [
    "queued",
    "ringing",
    "in-progress",
    "completed",
    "busy",
    "failed",
    "no-answer",
    "canceled",
];

/// The statuses of Twilio's Message resource the sandbox uses (all in `message_enum_status`).
pub const MESSAGE_RESOURCE_STATUSES: [&str; 4] = ["queued", "sent", "delivered", "undelivered"];

/// A call's status as the Call resource shows it. The sandbox keeps `initiated` as a step of the
/// call (its status callback says `CallStatus=initiated`), but that is only a callback event:
/// Twilio's resource has no such status and shows `queued` until the call rings.
fn call_resource_status(status: &str) -> &str {
    match status {
        "initiated" => "queued",
        s => s,
    }
}

/// `d` is the locked state (for the number's SID).
fn call_json(sb: &Sandbox, d: &Data, c: &CallRec) -> Value {
    let fmt = |n: &str| {
        E164::parse(n, None)
            .map(|e| e.national())
            .unwrap_or_else(|_| n.to_string())
    };
    let phone_sid = d
        .numbers
        .iter()
        .find(|n| n.phone_number == c.from)
        .map(|n| n.sid.clone());
    json!({
        "sid": c.sid, "date_created": c.date_created, "date_updated": c.date_updated,
        "parent_call_sid": null, "account_sid": sb.cfg.account_sid, "to": c.to,
        "to_formatted": fmt(&c.to), "from": c.from, "from_formatted": fmt(&c.from),
        "phone_number_sid": phone_sid, "status": call_resource_status(&c.status), "start_time": c.start_time,
        "end_time": c.end_time, "duration": c.duration.map(|d| d.to_string()),
        "price": c.price_micros.map(price), "price_unit": "USD", "direction": "outbound-api",
        "answered_by": null, "api_version": "2010-04-01", "forwarded_from": null,
        "group_sid": null, "caller_name": null, "queue_time": "0", "trunk_sid": null,
        "uri": sb.account_uri(&format!("/Calls/{}.json", c.sid)),
        "subresource_uris": {
            "recordings": sb.account_uri(&format!("/Calls/{}/Recordings.json", c.sid)),
        },
    })
}

async fn create_call(State(sb): State<Shared>, body: String) -> Response {
    sb.count("CreateCall");
    let f = form(&body);
    let (Some(to), Some(from)) = (field(&f, "To"), field(&f, "From")) else {
        return twilio_error(StatusCode::BAD_REQUEST, 21201, "To and From are required");
    };
    let to = match E164::parse(&to, None) {
        Ok(e) if e.as_str() != MAGIC_INVALID => e.to_string(),
        _ => {
            return twilio_error(
                StatusCode::BAD_REQUEST,
                21211,
                format!("Invalid 'To' Phone Number: {to}"),
            )
        }
    };
    if field(&f, "Url").is_none()
        && field(&f, "Twiml").is_none()
        && field(&f, "ApplicationSid").is_none()
    {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21205,
            "Url, Twiml or ApplicationSid is required",
        );
    }
    let mut d = sb.lock();
    if !d.numbers.iter().any(|n| n.phone_number == from && n.voice) {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21210,
            format!(
                "The source phone number provided, {from}, is not yet verified for your account."
            ),
        );
    }
    let sid = new_sid("CA");
    let t = now();
    let talk = 5 + (stable_hash(&sid) % 85) as u32;
    let c = CallRec {
        sid: sid.clone(),
        from,
        to,
        status: "queued".into(),
        url: field(&f, "Url"),
        status_callback: field(&f, "StatusCallback"),
        status_callback_events: f
            .iter()
            .filter(|(k, _)| k == "StatusCallbackEvent")
            .flat_map(|(_, v)| v.split_whitespace().map(str::to_string).collect::<Vec<_>>())
            .collect(),
        record: field(&f, "Record").is_some_and(|r| r == "true"),
        recording_status_callback: field(&f, "RecordingStatusCallback"),
        talk_seconds: talk,
        date_created: t.clone(),
        date_updated: t,
        ..Default::default()
    };
    d.calls.push(c.clone());
    sb.save(&d);
    let body = call_json(&sb, &d, &c);
    drop(d);
    // The timeline starts now, not whenever the task first runs: a manual clock advanced right
    // after this answer must count from the creation.
    let created = sb.sim_now();
    tokio::spawn(progress_call(sb.clone(), sid, created));
    (StatusCode::CREATED, Json(body)).into_response()
}

/// The statuses an outbound call moves through after `queued`, each with its wait in simulated
/// seconds; the magic numbers decide how it ends.
fn call_steps(to: &str, talk_seconds: u32) -> Vec<(&'static str, f64)> {
    match to {
        MAGIC_FAILED => vec![("initiated", 0.2), ("failed", 0.5)],
        MAGIC_BUSY => vec![("initiated", 0.2), ("ringing", 1.0), ("busy", 2.0)],
        MAGIC_NO_ANSWER => vec![("initiated", 0.2), ("ringing", 1.0), ("no-answer", 15.0)],
        _ => vec![
            ("initiated", 0.2),
            ("ringing", 1.0),
            ("in-progress", 3.0),
            ("completed", talk_seconds as f64),
        ],
    }
}

/// Moves a call through its statuses and sends the requested callbacks.
async fn progress_call(sb: Shared, sid: String, created: f64) {
    let Some(c) = sb.lock().calls.iter().find(|c| c.sid == sid).cloned() else {
        return;
    };
    let mut steps = call_steps(&c.to, c.talk_seconds);
    // Resume after a restart: skip what already happened.
    if let Some(pos) = steps.iter().position(|(s, _)| *s == c.status) {
        steps.drain(..=pos);
    }
    let mut at = created;
    for (status, wait) in steps {
        at += wait;
        sb.sleep_until_sim(at).await;
        let updated = {
            let mut d = sb.lock();
            let Some(call) = d.calls.iter_mut().find(|c| c.sid == sid) else {
                return;
            };
            call.status = status.to_string();
            call.date_updated = now();
            if status == "in-progress" {
                call.start_time = Some(now());
            }
            if FINAL_CALL.contains(&status) {
                call.end_time = Some(now());
                let secs = if status == "completed" {
                    call.talk_seconds
                } else {
                    0
                };
                call.duration = Some(secs);
                // Billed per started minute.
                call.price_micros = Some(secs.div_ceil(60) as i64 * 8_500);
            }
            let snapshot = call.clone();
            sb.save(&d);
            snapshot
        };
        if status == "in-progress" {
            if let Some(url) = &updated.url {
                let params = call_params(&sb, &updated, None);
                sb.callback(url, params).await;
            }
        }
        send_status_callback(&sb, &sid, status).await;
        if status == "completed" && updated.record {
            record(&sb, &updated).await;
        }
    }
}

fn call_params(sb: &Sandbox, c: &CallRec, seq: Option<u32>) -> Vec<(String, String)> {
    let mut p: Vec<(String, String)> = [
        ("AccountSid", sb.cfg.account_sid.as_str()),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", c.sid.as_str()),
        ("CallStatus", c.status.as_str()),
        ("Called", c.to.as_str()),
        ("Caller", c.from.as_str()),
        ("Direction", "outbound-api"),
        ("From", c.from.as_str()),
        ("To", c.to.as_str()),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    if let Some(seq) = seq {
        p.push(("SequenceNumber".into(), seq.to_string()));
        p.push(("CallbackSource".into(), "call-progress-events".into()));
        p.push(("Timestamp".into(), now()));
    }
    if let Some(d) = c.duration {
        p.push(("CallDuration".into(), d.to_string()));
        p.push(("Duration".into(), d.div_ceil(60).to_string()));
    }
    p
}

async fn send_status_callback(sb: &Shared, sid: &str, status: &str) {
    let event = match status {
        "initiated" => "initiated",
        "ringing" => "ringing",
        "in-progress" => "answered",
        _ => "completed",
    };
    let (url, params) = {
        let mut d = sb.lock();
        let Some(c) = d.calls.iter_mut().find(|c| c.sid == sid) else {
            return;
        };
        let wanted = if c.status_callback_events.is_empty() {
            event == "completed"
        } else {
            c.status_callback_events.iter().any(|e| e == event)
        };
        let Some(url) = c.status_callback.clone().filter(|_| wanted) else {
            return;
        };
        let seq = c.sequence;
        c.sequence += 1;
        let params = call_params(sb, c, Some(seq));
        sb.save(&d);
        (url, params)
    };
    sb.callback(&url, params).await;
}

async fn record(sb: &Shared, c: &CallRec) {
    let duration = c.talk_seconds;
    let rec = RecordingRec {
        sid: new_sid("RE"),
        call_sid: c.sid.clone(),
        duration,
        price_micros: duration.div_ceil(60) as i64 * 2_500,
        date_created: now(),
    };
    {
        let mut d = sb.lock();
        d.recordings.push(rec.clone());
        sb.save(&d);
    }
    if let Some(url) = &c.recording_status_callback {
        let media = format!(
            "{}/api{}",
            sb.cfg.public_base,
            sb.account_uri(&format!("/Recordings/{}", rec.sid))
        );
        let params: Vec<(String, String)> = [
            ("AccountSid", sb.cfg.account_sid.clone()),
            ("CallSid", c.sid.clone()),
            ("RecordingSid", rec.sid.clone()),
            ("RecordingUrl", media),
            ("RecordingStatus", "completed".into()),
            ("RecordingDuration", duration.to_string()),
            ("RecordingChannels", "1".into()),
            ("RecordingSource", "OutboundAPI".into()),
            (
                "RecordingStartTime",
                c.start_time.clone().unwrap_or_default(),
            ),
            ("ErrorCode", "0".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        sb.callback(url, params).await;
    }
}

async fn fetch_call(State(sb): State<Shared>, Path((_, sid)): Path<(String, String)>) -> Response {
    sb.count("FetchCall");
    let Some(sid) = strip_json(&sid) else {
        return not_found();
    };
    let body = {
        let d = sb.lock();
        d.calls
            .iter()
            .find(|c| c.sid == sid)
            .map(|c| call_json(&sb, &d, c))
    };
    match body {
        Some(b) => Json(b).into_response(),
        None => not_found(),
    }
}

async fn list_calls(State(sb): State<Shared>, Query(q): Query<Vec<(String, String)>>) -> Response {
    sb.count("ListCall");
    let items = {
        let d = sb.lock();
        d.calls
            .iter()
            .rev()
            .map(|c| call_json(&sb, &d, c))
            .collect()
    };
    Json(page_json(&sb, "calls", "/Calls.json", items, &q)).into_response()
}

fn recording_json(sb: &Sandbox, r: &RecordingRec) -> Value {
    json!({
        "account_sid": sb.cfg.account_sid, "api_version": "2010-04-01", "call_sid": r.call_sid,
        "conference_sid": null, "date_created": r.date_created, "date_updated": r.date_created,
        "start_time": r.date_created, "duration": r.duration.to_string(), "sid": r.sid,
        "price": price(r.price_micros), "price_unit": "USD", "status": "completed", "channels": 1,
        "source": "OutboundAPI", "error_code": null,
        "uri": sb.account_uri(&format!("/Recordings/{}.json", r.sid)),
        "encryption_details": null, "subresource_uris": {},
        "media_url": format!("{}/api{}", sb.cfg.public_base, sb.account_uri(&format!("/Recordings/{}", r.sid))),
    })
}

async fn list_recordings(
    State(sb): State<Shared>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    sb.count("ListRecording");
    let filter = field(&q, "CallSid");
    let recs: Vec<RecordingRec> = sb
        .lock()
        .recordings
        .iter()
        .rev()
        .filter(|r| filter.as_deref().is_none_or(|c| r.call_sid == c))
        .cloned()
        .collect();
    let items = recs.iter().map(|r| recording_json(&sb, r)).collect();
    Json(page_json(&sb, "recordings", "/Recordings.json", items, &q)).into_response()
}

async fn list_call_recordings(
    State(sb): State<Shared>,
    Path((_, call)): Path<(String, String)>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    sb.count("ListCallRecording");
    let recs: Vec<RecordingRec> = sb
        .lock()
        .recordings
        .iter()
        .filter(|r| r.call_sid == call)
        .cloned()
        .collect();
    let items = recs.iter().map(|r| recording_json(&sb, r)).collect();
    Json(page_json(
        &sb,
        "recordings",
        &format!("/Calls/{call}/Recordings.json"),
        items,
        &q,
    ))
    .into_response()
}

async fn fetch_recording(
    State(sb): State<Shared>,
    Path((_, file)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
) -> Response {
    let (sid, ext) = file.rsplit_once('.').unwrap_or((file.as_str(), ""));
    let rec = sb.lock().recordings.iter().find(|r| r.sid == sid).cloned();
    let Some(rec) = rec else {
        sb.count("FetchRecording");
        return not_found();
    };
    match ext {
        "json" => {
            sb.count("FetchRecording");
            Json(recording_json(&sb, &rec)).into_response()
        }
        "wav" | "" => {
            sb.count("FetchRecordingMedia");
            let wav = audio::wav(rec.duration);
            // `Range: bytes=a-` or `a-b`, as the media host Twilio serves recordings from does.
            let range = headers
                .get(header::RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("bytes="))
                .and_then(|v| v.split_once('-'))
                .and_then(|(a, b)| {
                    let start: usize = a.parse().ok()?;
                    let end = if b.is_empty() {
                        wav.len().checked_sub(1)?
                    } else {
                        b.parse::<usize>().ok()?.min(wav.len().checked_sub(1)?)
                    };
                    (start <= end).then_some((start, end))
                });
            let built = match range {
                Some((start, end)) => {
                    sb.count("FetchRecordingMediaRange");
                    Response::builder()
                        .status(StatusCode::PARTIAL_CONTENT)
                        .header(header::CONTENT_TYPE, "audio/x-wav")
                        .header(
                            header::CONTENT_RANGE,
                            format!("bytes {start}-{end}/{}", wav.len()),
                        )
                        .body(Body::from(wav[start..=end].to_vec()))
                }
                None => Response::builder()
                    .header(header::CONTENT_TYPE, "audio/x-wav")
                    .body(Body::from(wav)),
            };
            built.unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
        _ => twilio_error(
            StatusCode::NOT_FOUND,
            20404,
            "The sandbox serves recordings as .wav",
        ),
    }
}

/// GSM-7 characters (basic set); anything else makes a message UCS-2.
const GSM7: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXT: &str = "^{}\\[~]|€\x0c";

/// SMS segments: 160/153 GSM-7 septets (extension characters count twice) or 70/67 UCS-2 units.
pub fn segments(body: &str) -> u32 {
    let gsm = body
        .chars()
        .all(|c| GSM7.contains(c) || GSM7_EXT.contains(c));
    let (units, single, multi) = if gsm {
        let septets: usize = body
            .chars()
            .map(|c| if GSM7_EXT.contains(c) { 2 } else { 1 })
            .sum();
        (septets, 160, 153)
    } else {
        (body.encode_utf16().count(), 70, 67)
    };
    if units <= single {
        1
    } else {
        units.div_ceil(multi) as u32
    }
}

fn message_json(sb: &Sandbox, m: &MessageRec) -> Value {
    json!({
        "body": m.body, "num_segments": m.num_segments.to_string(), "direction": "outbound-api",
        "from": m.from, "to": m.to, "date_updated": m.date_updated, "price": m.price_micros.map(price),
        "error_message": m.error_code.map(|_| "Unreachable destination handset"), "uri": sb.account_uri(&format!("/Messages/{}.json", m.sid)),
        "account_sid": sb.cfg.account_sid, "num_media": "0", "status": m.status,
        "messaging_service_sid": null, "sid": m.sid, "date_sent": m.date_sent,
        "date_created": m.date_created, "error_code": m.error_code, "price_unit": "USD",
        "api_version": "2010-04-01",
        "subresource_uris": {"media": sb.account_uri(&format!("/Messages/{}/Media.json", m.sid))},
    })
}

async fn send_message(State(sb): State<Shared>, body: String) -> Response {
    sb.count("CreateMessage");
    let f = form(&body);
    let (Some(to), Some(from)) = (field(&f, "To"), field(&f, "From")) else {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21604,
            "'To' and 'From' are required",
        );
    };
    let text = field(&f, "Body").unwrap_or_default();
    if text.is_empty() {
        return twilio_error(StatusCode::BAD_REQUEST, 21602, "Message body is required.");
    }
    if text.chars().count() > 1600 {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21617,
            "The concatenated message body exceeds the 1600 character limit.",
        );
    }
    let to = match E164::parse(&to, None) {
        Ok(e) if e.as_str() != MAGIC_INVALID => e.to_string(),
        _ => {
            return twilio_error(
                StatusCode::BAD_REQUEST,
                21211,
                format!("Invalid 'To' Phone Number: {to}"),
            )
        }
    };
    let mut d = sb.lock();
    if !d.numbers.iter().any(|n| n.phone_number == from && n.sms) {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21606,
            format!("The From phone number {from} is not a valid, SMS-capable inbound phone number or short code for your account."),
        );
    }
    let t = now();
    let m = MessageRec {
        sid: new_sid("SM"),
        from,
        to,
        num_segments: segments(&text),
        body: text,
        status: "queued".into(),
        status_callback: field(&f, "StatusCallback"),
        date_created: t.clone(),
        date_updated: t,
        ..Default::default()
    };
    d.messages.push(m.clone());
    sb.save(&d);
    drop(d);
    // Timed from the creation, like calls (see `create_call`).
    let created = sb.sim_now();
    tokio::spawn(progress_message(sb.clone(), m.sid.clone(), created));
    (StatusCode::CREATED, Json(message_json(&sb, &m))).into_response()
}

/// The statuses an outbound message moves through after `queued`, with their waits.
fn message_steps(to: &str) -> Vec<(&'static str, f64)> {
    let last = if to == MAGIC_UNDELIVERED {
        "undelivered"
    } else {
        "delivered"
    };
    vec![("sent", 0.5), (last, 2.0)]
}

async fn progress_message(sb: Shared, sid: String, created: f64) {
    let Some(m) = sb.lock().messages.iter().find(|m| m.sid == sid).cloned() else {
        return;
    };
    let mut steps = message_steps(&m.to);
    if let Some(pos) = steps.iter().position(|(s, _)| *s == m.status) {
        steps.drain(..=pos);
    }
    let mut at = created;
    for (status, wait) in steps {
        at += wait;
        sb.sleep_until_sim(at).await;
        let (url, params) = {
            let mut d = sb.lock();
            let Some(msg) = d.messages.iter_mut().find(|m| m.sid == sid) else {
                return;
            };
            msg.status = status.into();
            msg.date_updated = now();
            if status == "sent" {
                msg.date_sent = Some(now());
                msg.price_micros = Some(msg.num_segments as i64 * 7_900);
            }
            if status == "undelivered" {
                msg.error_code = Some(30003);
            }
            let mut params: Vec<(String, String)> = [
                ("AccountSid", sb.cfg.account_sid.clone()),
                ("ApiVersion", "2010-04-01".into()),
                ("From", msg.from.clone()),
                ("To", msg.to.clone()),
                ("MessageSid", msg.sid.clone()),
                ("SmsSid", msg.sid.clone()),
                ("MessageStatus", status.into()),
                ("SmsStatus", status.into()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
            if let Some(code) = msg.error_code {
                params.push(("ErrorCode".into(), code.to_string()));
            }
            let url = msg.status_callback.clone();
            sb.save(&d);
            (url, params)
        };
        if let Some(url) = url {
            sb.callback(&url, params).await;
        }
    }
}

async fn fetch_message(
    State(sb): State<Shared>,
    Path((_, sid)): Path<(String, String)>,
) -> Response {
    sb.count("FetchMessage");
    let Some(sid) = strip_json(&sid) else {
        return not_found();
    };
    let msg = sb.lock().messages.iter().find(|m| m.sid == sid).cloned();
    match msg {
        Some(m) => Json(message_json(&sb, &m)).into_response(),
        None => not_found(),
    }
}

async fn list_messages(
    State(sb): State<Shared>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    sb.count("ListMessage");
    let msgs: Vec<MessageRec> = sb.lock().messages.iter().rev().cloned().collect();
    let items = msgs.iter().map(|m| message_json(&sb, m)).collect();
    Json(page_json(&sb, "messages", "/Messages.json", items, &q)).into_response()
}

async fn lookup(
    State(sb): State<Shared>,
    Path(number): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
    _headers: HeaderMap,
) -> Response {
    sb.count("FetchPhoneNumber");
    let fields = field(&q, "Fields").unwrap_or_default();
    let want_lti = fields
        .split(',')
        .any(|f| f.trim() == "line_type_intelligence");
    let want_cnam = fields.split(',').any(|f| f.trim() == "caller_name");
    let region = field(&q, "CountryCode");
    let url = format!("https://lookups.twilio.com/v2/PhoneNumbers/{number}");
    let parsed = E164::parse(&number, region.as_deref());
    let Ok(e) = parsed else {
        let reason = match parsed {
            Err(crate::PhoneError::TooShort { .. }) => "TOO_SHORT",
            Err(crate::PhoneError::TooLong { .. }) => "TOO_LONG",
            Err(crate::PhoneError::InvalidCountryCode) => "INVALID_COUNTRY_CODE",
            _ => "NOT_A_NUMBER",
        };
        return Json(json!({
            "calling_country_code": null, "country_code": null, "phone_number": number,
            "national_format": null, "valid": false, "validation_errors": [reason],
            "caller_name": null, "sim_swap": null, "call_forwarding": null, "line_status": null,
            "line_type_intelligence": null, "identity_match": null, "reassigned_number": null,
            "sms_pumping_risk": null, "phone_number_quality_score": null, "pre_fill": null, "url": url,
        }))
        .into_response();
    };
    if want_lti {
        sb.count("billed_line_type_intelligence");
    }
    if want_cnam {
        sb.count("billed_caller_name");
    }
    if want_lti || want_cnam {
        sb.count("billed_lookups");
    }
    let facts = lookup_facts(e.as_str());
    let us = e.country_code() == 1;
    Json(json!({
        "calling_country_code": e.country_code().to_string(), "country_code": e.region(),
        "phone_number": e.as_str(), "national_format": e.national(), "valid": true,
        "validation_errors": [],
        "caller_name": want_cnam.then(|| if us {
            json!({"caller_name": facts.caller_name, "caller_type": facts.caller_type, "error_code": null})
        } else {
            // Caller name is a US-only product.
            json!({"caller_name": null, "caller_type": null, "error_code": 60600})
        }),
        "sim_swap": null, "call_forwarding": null, "line_status": null,
        "line_type_intelligence": want_lti.then(|| json!({
            "carrier_name": facts.carrier, "type": facts.line_type, "error_code": null,
            "mobile_country_code": if us { "310" } else { "234" }, "mobile_network_code": "456",
        })),
        "identity_match": null, "reassigned_number": null, "sms_pumping_risk": null,
        "phone_number_quality_score": null, "pre_fill": null, "url": url,
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_only_show_statuses_of_twilios_enums() {
        for to in ["+14155550111", MAGIC_BUSY, MAGIC_NO_ANSWER, MAGIC_FAILED] {
            for (status, _) in call_steps(to, 30) {
                let shown = call_resource_status(status);
                assert!(
                    CALL_RESOURCE_STATUSES.contains(&shown),
                    "{to}: {status} shows as {shown}"
                );
            }
        }
        assert_eq!(call_resource_status("initiated"), "queued");
        for to in ["+14155550111", MAGIC_UNDELIVERED] {
            for (status, _) in message_steps(to) {
                assert!(
                    MESSAGE_RESOURCE_STATUSES.contains(&status),
                    "{to}: {status}"
                );
            }
        }
    }

    #[tokio::test]
    async fn a_manual_clock_stands_still_until_advanced_past_each_step() {
        let mut cfg = SandboxConfig::dev("http://127.0.0.1:9/sandbox/twilio", None);
        cfg.manual_clock = true;
        let sb = Sandbox::start(cfg);
        let waiter = {
            let sb = sb.clone();
            tokio::spawn(async move { sb.sleep_until_sim(5.0).await })
        };
        sb.advance(4.0);
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "4 s of 5 have passed");
        assert!(sb.advance(1.0));
        tokio::time::timeout(Duration::from_secs(10), waiter)
            .await
            .expect("woken when the clock reaches 5 s")
            .expect("no panic");
        assert_eq!(sb.sim_now(), 5.0);
        let mut scaled = SandboxConfig::dev("http://127.0.0.1:9/sandbox/twilio", None);
        scaled.manual_clock = false;
        assert!(
            !Sandbox::start(scaled).advance(1.0),
            "only a manual clock moves"
        );
    }

    #[test]
    fn sms_segments_follow_gsm7_and_ucs2_rules() {
        let cases: &[(&str, u32)] = &[
            ("", 1),
            ("hello", 1),
            (&"a".repeat(160), 1),
            (&"a".repeat(161), 2),
            (&"a".repeat(306), 2),
            (&"a".repeat(307), 3),
            // Extension characters take two septets: 80 euro signs fill one segment.
            (&"€".repeat(80), 1),
            (&"€".repeat(81), 2),
            // One emoji switches the whole message to UCS-2 (and is two UTF-16 units).
            (&format!("{}😀", "a".repeat(68)), 1),
            (&format!("{}😀", "a".repeat(69)), 2),
            (&"é".repeat(160), 1),
            (&"ç".repeat(70), 1),
            (&"ç".repeat(71), 2),
        ];
        for (body, want) in cases {
            assert_eq!(
                segments(body),
                *want,
                "{} chars: {:?}",
                body.chars().count(),
                body.chars().next()
            );
        }
    }
}

/// Someone outside calling or texting one of the account's numbers (`POST …/_simulate/…`).
#[derive(Debug, Clone, Deserialize)]
pub struct Incoming {
    pub to: String,
    pub from: String,
    #[serde(default)]
    pub body: String,
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
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

/// An inbound call: asks the number's voice URL for TwiML, then (when it dials or records) the
/// call completes after its talk time, with a recording if the TwiML asked for one and the
/// number's status callback.
async fn simulate_incoming_call(State(sb): State<Shared>, Json(req): Json<Incoming>) -> Response {
    sb.count("SimulateIncomingCall");
    let Some(n) = sb
        .lock()
        .numbers
        .iter()
        .find(|n| n.phone_number == req.to)
        .cloned()
    else {
        return twilio_error(
            StatusCode::NOT_FOUND,
            20404,
            format!("{} is not a number of this account", req.to),
        );
    };
    let Some(voice_url) = n.voice_url.clone().filter(|u| !u.is_empty()) else {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21627,
            "The number has no voice URL",
        );
    };
    let sid = new_sid("CA");
    let account = sb.cfg.account_sid.clone();
    let base = |status: &str| {
        pairs(&[
            ("AccountSid", &account),
            ("ApiVersion", "2010-04-01"),
            ("CallSid", &sid),
            ("CallStatus", status),
            ("Called", &req.to),
            ("Caller", &req.from),
            ("Direction", "inbound"),
            ("From", &req.from),
            ("To", &req.to),
        ])
    };
    let Some(twiml) = sb.fetch_twiml(&voice_url, &base("ringing")).await else {
        return twilio_error(
            StatusCode::BAD_GATEWAY,
            11200,
            "The voice URL did not answer with TwiML",
        );
    };
    let talk = 5 + (stable_hash(&sid) % 85) as u32;
    let t = now();
    let answered = twiml.contains("<Dial") || twiml.contains("<Record");
    let mut c = CallRec {
        sid: sid.clone(),
        from: req.from.clone(),
        to: req.to.clone(),
        status: if answered { "in-progress" } else { "completed" }.into(),
        recording_status_callback: twiml_attr(&twiml, "recordingStatusCallback"),
        talk_seconds: talk,
        date_created: t.clone(),
        date_updated: t.clone(),
        start_time: answered.then(|| t.clone()),
        ..Default::default()
    };
    c.record = c.recording_status_callback.is_some();
    sb.lock().calls.push(c.clone());
    let status_url = n.status_callback.clone().filter(|u| !u.is_empty());
    let sb2 = sb.clone();
    let started = sb.sim_now();
    tokio::spawn(async move {
        let secs = if answered { talk } else { 0 };
        sb2.sleep_until_sim(started + secs as f64).await;
        let done = {
            let mut d = sb2.lock();
            let Some(call) = d.calls.iter_mut().find(|x| x.sid == c.sid) else {
                return;
            };
            call.status = "completed".into();
            call.duration = Some(secs);
            call.end_time = Some(now());
            call.price_micros = Some(secs.div_ceil(60) as i64 * 8_500);
            let snapshot = call.clone();
            sb2.save(&d);
            snapshot
        };
        if done.record {
            record(&sb2, &done).await;
        }
        if let Some(url) = status_url {
            let mut p = call_params(&sb2, &done, Some(0));
            for (k, v) in p.iter_mut() {
                if k == "Direction" {
                    *v = "inbound".into();
                }
            }
            sb2.callback(&url, p).await;
        }
    });
    Json(json!({ "sid": sid, "twiml": twiml })).into_response()
}

/// An inbound SMS: posted to the number's SMS URL.
async fn simulate_incoming_sms(State(sb): State<Shared>, Json(req): Json<Incoming>) -> Response {
    sb.count("SimulateIncomingSms");
    let Some(n) = sb
        .lock()
        .numbers
        .iter()
        .find(|n| n.phone_number == req.to)
        .cloned()
    else {
        return twilio_error(
            StatusCode::NOT_FOUND,
            20404,
            format!("{} is not a number of this account", req.to),
        );
    };
    let Some(url) = n.sms_url.clone().filter(|u| !u.is_empty()) else {
        return twilio_error(StatusCode::BAD_REQUEST, 21627, "The number has no SMS URL");
    };
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
    match sb.fetch_twiml(&url, &params).await {
        Some(_) => Json(json!({ "sid": sid })).into_response(),
        None => twilio_error(
            StatusCode::BAD_GATEWAY,
            11200,
            "The SMS URL did not accept the message",
        ),
    }
}

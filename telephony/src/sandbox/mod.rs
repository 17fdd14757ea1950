//! A Twilio-compatible simulator: Twilio's API as PhoneHub uses it, on an accelerated clock; and
//! Amazon SNS and Pinpoint as the AWS client uses them (see [`aws`]).

pub mod audio;
pub mod aws;
pub mod data;
pub mod state;

mod account;
mod aws_auth;
mod callbacks;
mod calls;
mod clock;
mod control;
mod gate;
mod inbound;
mod lookups;
mod messages;
mod numbers;
mod recordings;
mod rest;
mod twiml;
mod usage;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;

use clock::Clock;
use state::Data;

pub use aws::{
    AwsMessage, DEV_AWS_ACCESS_KEY_ID, DEV_AWS_REGION, DEV_AWS_SECRET_ACCESS_KEY,
    MAGIC_AWS_SERVER_ERROR, MAGIC_AWS_THROTTLED, SNS_OPTED_OUT_AT_START,
};
pub use calls::CALL_RESOURCE_STATUSES;
pub use control::Faults;
pub use inbound::Incoming;
pub use messages::{segments, MESSAGE_RESOURCE_STATUSES};
pub use numbers::NUMBER_MONTHLY_MICROS;

pub const DEV_ACCOUNT_SID: &str = "AC00000000000000000000000000000001";
pub const DEV_AUTH_TOKEN: &str = "sandbox-auth-token-0001";

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
    /// A shared key (id, secret) to sign webhooks with, HMAC-SHA256 with
    /// `X-Twilio-Webhooks-Signature-Settings`, as Twilio does once one is configured; `None`
    /// signs with the auth token (HMAC-SHA1).
    pub shared_key: Option<(String, String)>,
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
            .field("shared_key", &self.shared_key.as_ref().map(|(id, _)| id))
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
            shared_key: None,
        }
    }
}

/// The running sandbox: Twilio's paths, form parameters, JSON fields, Basic auth and error codes,
/// with calls and messages that progress on its clock and send signed callbacks. Mounted by the
/// server at `/sandbox/twilio` in development and runnable alone (`twilio-sandbox`).
pub struct Sandbox {
    cfg: SandboxConfig,
    clock: Clock,
    data: Mutex<Data>,
    stats: Mutex<BTreeMap<String, u64>>,
    faults: RwLock<Faults>,
    http: reqwest::Client,
    /// Texts published through the AWS endpoints (in memory only, not in the saved state).
    aws_messages: Mutex<Vec<AwsMessage>>,
    /// The numbers SNS holds as opted out besides those ending in `99` (in memory only; see
    /// [`aws`]).
    sns_opted_out: Mutex<Vec<String>>,
}

pub type Shared = Arc<Sandbox>;

impl Sandbox {
    /// Loads saved state and resumes calls and messages that were in progress.
    pub fn start(cfg: SandboxConfig) -> Shared {
        let data = Data::load(&cfg.state_file);
        let faults = cfg.faults;
        let clock = Clock::new(&cfg);
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
            aws_messages: Mutex::new(Vec::new()),
            sns_opted_out: Mutex::new(
                SNS_OPTED_OUT_AT_START
                    .iter()
                    .map(|n| n.to_string())
                    .collect(),
            ),
        });
        let (calls, messages): (Vec<String>, Vec<String>) = {
            let d = sb.lock();
            (
                d.calls
                    .iter()
                    .filter(|c| !calls::FINAL_CALL.contains(&c.status.as_str()))
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
            tokio::spawn(calls::progress_call(sb.clone(), sid, resumed));
        }
        for sid in messages {
            tokio::spawn(messages::progress_message(sb.clone(), sid, resumed));
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

    /// The texts published through the sandbox's SNS (`Publish`), oldest first.
    pub fn aws_messages(&self) -> Vec<AwsMessage> {
        self.aws_messages
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Puts `number` (E.164) on the sandbox's SNS opted-out list, as if it had replied STOP to a
    /// text from the AWS account: `CheckIfPhoneNumberIsOptedOut` answers true for it and
    /// `ListPhoneNumbersOptedOut` lists it (last). Once only.
    pub fn aws_opt_out(&self, number: &str) {
        let mut list = self.sns_opted_out.lock().unwrap_or_else(|p| p.into_inner());
        if !list.iter().any(|n| n == number) {
            list.push(number.to_string());
        }
    }

    /// Records that `person` texted STOP to the account's `number` (as Twilio would): texts from
    /// that number to them are refused with 21610 until they text START.
    pub fn opt_out(&self, number: &str, person: &str) {
        let mut d = self.lock();
        d.set_opted_out(number, person, true);
        self.save(&d);
    }

    /// The texts the account sent (through the API, and the replies of TwiML answers), oldest
    /// first.
    pub fn messages(&self) -> Vec<state::MessageRec> {
        self.lock().messages.clone()
    }

    /// The account's calls (created through the API, and simulated inbound ones), oldest first,
    /// with what each one's TwiML played to the other party (`heard`).
    pub fn calls(&self) -> Vec<state::CallRec> {
        self.lock().calls.clone()
    }

    /// The recordings the account holds (those deleted through the API are gone), oldest first.
    pub fn recordings(&self) -> Vec<state::RecordingRec> {
        self.lock().recordings.clone()
    }

    /// The sandbox's SNS opted-out list, in the order numbers were put on it.
    fn sns_opted_out_list(&self) -> Vec<String> {
        self.sns_opted_out
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A path under the API as an absolute URL at this sandbox.
    fn absolute(&self, api_path: &str) -> String {
        format!("{}/api{api_path}", self.cfg.public_base)
    }

    fn account_uri(&self, rest: &str) -> String {
        format!("/2010-04-01/Accounts/{}{rest}", self.cfg.account_sid)
    }
}

/// The router, to be nested at the mount point (`/sandbox/twilio`). The AWS endpoints are under
/// `aws/` (`aws/sns/`, `aws/pinpoint/…`), checked by their own Signature Version 4 credentials.
pub fn router(sb: Shared) -> Router {
    Router::new()
        .merge(api_routes(&sb))
        .merge(control_routes(&sb))
        .merge(aws_routes())
        .with_state(sb)
}

/// Twilio's API (api v2010 and Lookup v2) as PhoneHub uses it, behind Basic auth and the
/// injected faults.
fn api_routes(sb: &Shared) -> Router<Shared> {
    let acct = "/api/2010-04-01/Accounts/{account}";
    Router::new()
        .route(
            "/api/2010-04-01/Accounts/{account}",
            get(account::fetch_account),
        )
        .route(
            &format!("{acct}/AvailablePhoneNumbers/{{country}}/{{kind}}"),
            get(numbers::search_numbers),
        )
        .route(
            &format!("{acct}/IncomingPhoneNumbers.json"),
            get(numbers::list_numbers).post(numbers::buy_number),
        )
        .route(
            &format!("{acct}/IncomingPhoneNumbers/{{sid}}"),
            get(numbers::fetch_number)
                .post(numbers::update_number)
                .delete(numbers::release_number),
        )
        .route(
            &format!("{acct}/Calls.json"),
            get(calls::list_calls).post(calls::create_call),
        )
        .route(&format!("{acct}/Calls/{{sid}}"), get(calls::fetch_call))
        .route(
            &format!("{acct}/Calls/{{sid}}/Recordings.json"),
            get(recordings::list_call_recordings),
        )
        .route(
            &format!("{acct}/Recordings.json"),
            get(recordings::list_recordings),
        )
        .route(
            &format!("{acct}/Recordings/{{file}}"),
            get(recordings::fetch_recording).delete(recordings::delete_recording),
        )
        .route(
            &format!("{acct}/Messages.json"),
            get(messages::list_messages).post(messages::send_message),
        )
        .route(
            &format!("{acct}/Messages/{{sid}}"),
            get(messages::fetch_message).post(messages::update_message),
        )
        .route(
            &format!("{acct}/Usage/Records.json"),
            get(usage::list_records),
        )
        .route(
            &format!("{acct}/Usage/Records/LastMonth.json"),
            get(usage::last_month),
        )
        .route(
            &format!("{acct}/Usage/Records/ThisMonth.json"),
            get(usage::this_month),
        )
        .route("/lookups/v2/PhoneNumbers/{number}", get(lookups::lookup))
        .layer(axum::middleware::from_fn_with_state(
            sb.clone(),
            gate::faults_and_auth,
        ))
}

/// The control endpoints change what the API answers (faults) or act as the outside world
/// (simulated calls and texts): the same credentials as the API, but no injected faults, so
/// faults can always be turned off again.
fn control_routes(sb: &Shared) -> Router<Shared> {
    Router::new()
        .route("/_stats", get(control::stats))
        .route("/_calls", get(control::calls))
        .route("/_aws/messages", get(aws::list_messages))
        .route(
            "/_faults",
            get(control::get_faults).post(control::set_faults),
        )
        .route(
            "/_simulate/incoming-call",
            post(inbound::simulate_incoming_call),
        )
        .route(
            "/_simulate/incoming-sms",
            post(inbound::simulate_incoming_sms),
        )
        .layer(axum::middleware::from_fn_with_state(
            sb.clone(),
            gate::control_auth,
        ))
}

/// AWS's endpoints authenticate each request by its signature (see `aws_auth::verify`) and inject
/// the same faults as the API, in AWS's error shapes.
fn aws_routes() -> Router<Shared> {
    Router::new()
        .route("/aws/sns", post(aws::sns))
        .route("/aws/sns/", post(aws::sns))
        .route(
            &format!("/aws/pinpoint{}", crate::aws::VALIDATE_PATH),
            post(aws::phone_number_validate),
        )
}

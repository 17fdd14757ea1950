//! The shared lookup cache: one provider call per number however many requests, processes or orgs
//! ask at once (a lease row in Postgres), negative caching with exponential backoff, and a lookup
//! event for every request (written in batches by `EventSink`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::PgPool;
use telephony::models::LookupResult;
use telephony::{Provider, ProviderError, TwilioClient, TwilioConfig};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

use super::crypto::Keyring;
use super::db::phone_config::ConfigRow;
use crate::model::lookup::classify_line_type;

/// How long a leader may hold a number before others may take over (covers the client's
/// timeout and retries).
const LEASE_SECS: f64 = 45.0;
/// The most a leader spends on the provider (its retries and waits included), well inside the
/// lease, so no other request can take the lease while the leader may still be paying for a call.
const LEADER_BUDGET: Duration = Duration::from_secs(35);
/// How long a request waits for another request's lookup of the same number.
const WAIT_LIMIT: Duration = Duration::from_secs(50);
const FIRST_BACKOFF_SECS: i64 = 60;
const MAX_BACKOFF_SECS: i64 = 24 * 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Hit,
    Miss,
    Refresh,
    Error,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Hit => "hit",
            Outcome::Miss => "miss",
            Outcome::Refresh => "refresh",
            Outcome::Error => "error",
        }
    }
}

/// Why a lookup gave no answer, in words for the person who asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("No phone provider is configured for this org. An org admin can set one up under Phone config.")]
    NoConfig,
    #[error("Lookups are turned off in this org's phone config.")]
    Disabled,
    #[error("The phone provider rejected this org's credentials. An org admin should check Phone config.")]
    Credentials,
    #[error("{0}")]
    Provider(String),
    #[error("The provider is still looking this number up. Try again in a minute.")]
    Busy,
    /// The leader's lease ran out before it stored the answer (internal: the request waits
    /// for the new leader instead).
    #[error("The provider is still looking this number up. Try again in a minute.")]
    LostLease,
    #[error(transparent)]
    Db(#[from] DbError),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("database error: {0}")]
pub struct DbError(pub String);

impl From<sqlx::Error> for LookupError {
    fn from(e: sqlx::Error) -> Self {
        LookupError::Db(DbError(e.to_string()))
    }
}

/// One row of the cache.
#[derive(Debug, Clone, Default)]
pub struct Cached {
    pub e164: String,
    pub country_code: Option<String>,
    pub calling_country_code: Option<String>,
    pub national_format: Option<String>,
    pub valid: Option<bool>,
    pub line_type: Option<String>,
    pub carrier_name: Option<String>,
    pub mobile_country_code: Option<String>,
    pub mobile_network_code: Option<String>,
    pub is_mobile: Option<bool>,
    pub is_voip: Option<bool>,
    pub caller_name_checked: bool,
    pub caller_name: Option<String>,
    pub caller_type: Option<String>,
    pub address_street: Option<String>,
    pub address_city: Option<String>,
    pub address_region: Option<String>,
    pub address_postal_code: Option<String>,
    pub lookup_count: i64,
    pub last_lookup_at: Option<OffsetDateTime>,
    pub lookup_expires_at: Option<OffsetDateTime>,
    pub error_message: Option<String>,
    pub retry_after: Option<OffsetDateTime>,
    pub lease_until: Option<OffsetDateTime>,
}

impl Cached {
    fn fresh(&self, now: OffsetDateTime, need_caller_name: bool) -> bool {
        self.lookup_expires_at.is_some_and(|e| e > now)
            && (self.caller_name_checked || !need_caller_name)
    }
    fn backing_off(&self, now: OffsetDateTime) -> bool {
        self.retry_after.is_some_and(|r| r > now)
    }
}

pub async fn cached(pool: &PgPool, e164: &str) -> Result<Option<Cached>, sqlx::Error> {
    sqlx::query_as!(
        Cached,
        r#"SELECT e164, country_code, calling_country_code, national_format, valid, line_type,
                  carrier_name, mobile_country_code, mobile_network_code, is_mobile, is_voip,
                  caller_name_checked, caller_name, caller_type, address_street, address_city,
                  address_region, address_postal_code, lookup_count, last_lookup_at,
                  lookup_expires_at, error_message, retry_after, lease_until
           FROM phone_numbers WHERE e164 = $1"#,
        e164
    )
    .fetch_optional(pool)
    .await
}

/// The effective configuration and the prices, as one lookup needs them.
#[derive(Clone)]
pub struct Effective {
    pub config: Option<ConfigRow>,
    pub base_price: i64,
    pub caller_name_price: i64,
}

async fn load_effective(pool: &PgPool, org_id: i64) -> Result<Effective, sqlx::Error> {
    let config = super::db::phone_config::effective(pool, org_id).await?;
    let prices = sqlx::query!(
        r#"SELECT (SELECT micros FROM prices WHERE item = 'lookup.line_type') AS base,
                  (SELECT micros FROM prices WHERE item = 'lookup.caller_name') AS caller_name"#
    )
    .fetch_one(pool)
    .await?;
    Ok(Effective {
        config,
        base_price: prices.base.unwrap_or(0),
        caller_name_price: prices.caller_name.unwrap_or(0),
    })
}

/// How long a process reuses an org's effective configuration before reading it again. A change
/// saved in this process applies at once (`Providers::forget_configs`); other processes see it
/// within this time.
const CONFIG_TTL: Duration = Duration::from_secs(2);

/// An org's effective configuration and when it was read.
type TimedEffective = (std::time::Instant, Arc<Effective>);

/// A client and the configuration version it was built from.
type VersionedClient = (i64, Arc<dyn Provider>);

/// Provider clients built from configurations, reused while the configuration is unchanged, and
/// each org's effective configuration for a short while.
#[derive(Clone, Default)]
pub struct Providers {
    inner: Arc<Mutex<HashMap<i64, VersionedClient>>>,
    effective: Arc<Mutex<HashMap<i64, TimedEffective>>>,
    /// The provider request timeout (None: the client's default, 10 s).
    timeout: Option<Duration>,
    /// Development only: providers on loopback and private networks (the sandbox) may be reached.
    allow_private_networks: bool,
    /// Where the development sandbox is when not mounted in this server (`PHONEHUB_SANDBOX_URL`,
    /// a system setting: several servers sharing one sandbox).
    sandbox_url: Option<String>,
}

impl std::fmt::Debug for Providers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Providers")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error("This configuration has no auth token yet. Enter one and save.")]
    NoToken,
    #[error("The stored auth token cannot be read ({0}). Enter it again.")]
    Unreadable(String),
    #[error("The configuration is unusable: {0}")]
    Invalid(String),
    /// The stored token was saved for another destination; it is never sent to this one.
    #[error("The auth token was saved for another provider, region, account or address. Enter it again under Phone config.")]
    TokenElsewhere,
    #[error("The development sandbox is not available on this server.")]
    NoSandbox,
}

impl Providers {
    pub fn new(
        timeout: Option<Duration>,
        allow_private_networks: bool,
        sandbox_url: Option<String>,
    ) -> Providers {
        Providers {
            timeout,
            allow_private_networks,
            sandbox_url,
            ..Providers::default()
        }
    }

    /// The development sandbox's root: the configured one, else the one mounted in this server.
    pub fn sandbox_root(&self, public_url: &url::Url) -> String {
        match &self.sandbox_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => format!(
                "{}/sandbox/twilio",
                public_url.as_str().trim_end_matches('/')
            ),
        }
    }

    /// A client for `cfg`, not cached (for the connection test).
    pub fn build(
        &self,
        cfg: &ConfigRow,
        keyring: &Keyring,
        public_url: &url::Url,
    ) -> Result<Arc<dyn Provider>, BuildError> {
        build_provider(cfg, keyring, public_url, self)
    }

    pub async fn effective(
        &self,
        pool: &PgPool,
        org_id: i64,
    ) -> Result<Arc<Effective>, sqlx::Error> {
        if let Ok(map) = self.effective.lock() {
            if let Some((at, e)) = map.get(&org_id) {
                if at.elapsed() < CONFIG_TTL {
                    return Ok(e.clone());
                }
            }
        }
        let e = Arc::new(load_effective(pool, org_id).await?);
        if let Ok(mut map) = self.effective.lock() {
            map.insert(org_id, (std::time::Instant::now(), e.clone()));
        }
        Ok(e)
    }

    /// After a configuration changes: the next lookup of every org reads it again.
    pub fn forget_configs(&self) {
        if let Ok(mut map) = self.effective.lock() {
            map.clear();
        }
    }

    /// A client for `cfg` (cached by config id and version).
    pub fn for_config(
        &self,
        cfg: &ConfigRow,
        keyring: &Keyring,
        public_url: &url::Url,
    ) -> Result<Arc<dyn Provider>, BuildError> {
        if let Ok(map) = self.inner.lock() {
            if let Some((v, p)) = map.get(&cfg.id) {
                if *v == cfg.version {
                    return Ok(p.clone());
                }
            }
        }
        let p = build_provider(cfg, keyring, public_url, self)?;
        if let Ok(mut map) = self.inner.lock() {
            map.insert(cfg.id, (cfg.version, p.clone()));
        }
        Ok(p)
    }
}

pub fn build_provider(
    cfg: &ConfigRow,
    keyring: &Keyring,
    public_url: &url::Url,
    opts: &Providers,
) -> Result<Arc<dyn Provider>, BuildError> {
    let sealed = cfg.sealed_token().ok_or(BuildError::NoToken)?;
    if !cfg.token_matches_destination() {
        return Err(BuildError::TokenElsewhere);
    }
    if cfg.provider == "sandbox" && !opts.allow_private_networks {
        return Err(BuildError::NoSandbox);
    }
    let (api, lookups) = bases(cfg, &opts.sandbox_root(public_url))?;
    let token = keyring
        .decrypt(&sealed)
        .map_err(|e| BuildError::Unreadable(e.to_string()))?;
    let mut tc = TwilioConfig::new(&cfg.account_sid, &token);
    if let Some(t) = opts.timeout {
        tc.timeout = t;
    }
    tc.allow_private_networks = opts.allow_private_networks;
    tc.api_base = api;
    tc.lookups_base = lookups;
    let client = TwilioClient::new(tc).map_err(|e| BuildError::Invalid(e.to_string()))?;
    Ok(Arc::new(client))
}

/// Where a configuration's requests go: the development sandbox (the server's own setting), the system default's
/// own base URLs (set by the superadmin, for a proxy), or Twilio's hosts for the chosen region.
/// An org's row never carries base URLs (a database constraint), so no tenant chooses a host.
pub fn bases(cfg: &ConfigRow, sandbox_root: &str) -> Result<(String, String), BuildError> {
    if cfg.provider == "sandbox" {
        return Ok((
            format!("{sandbox_root}/api"),
            format!("{sandbox_root}/lookups"),
        ));
    }
    let region = crate::model::lookup::TwilioRegion::from_code(cfg.region.as_deref())
        .ok_or_else(|| BuildError::Invalid("unknown region".into()))?;
    let (api, lookups) = region.bases();
    let system = cfg.org_id.is_none();
    let pick = |own: &Option<String>, official: &str| match own {
        Some(b) if system => b.clone(),
        _ => official.to_string(),
    };
    Ok((pick(&cfg.api_base, api), pick(&cfg.lookups_base, lookups)))
}

/// What a lookup request needs from the app.
pub struct Deps<'a> {
    pub pool: &'a PgPool,
    pub keyring: &'a Keyring,
    pub providers: &'a Providers,
    pub events: &'a EventSink,
    pub public_url: &'a url::Url,
}

/// Looks `e164` (already valid E.164) up for `org_id`/`user_id`, through the cache.
pub async fn lookup(
    deps: &Deps<'_>,
    org_id: i64,
    user_id: Option<i64>,
    e164: &str,
    force_refresh: bool,
) -> Result<(Outcome, Cached), LookupError> {
    let started = OffsetDateTime::now_utc();
    let deadline = tokio::time::Instant::now() + WAIT_LIMIT;
    let mut poll = Duration::from_millis(10);
    // After losing a lease this request only waits: it never pays for the number a second time.
    let mut may_lead = true;
    loop {
        let snap = deps.providers.effective(deps.pool, org_id).await?;
        let row = cached(deps.pool, e164).await?;
        let cfg = snap.config.as_ref().ok_or(LookupError::NoConfig)?;
        if !cfg.lookup_enabled {
            return Err(LookupError::Disabled);
        }
        let caller_name = cfg.caller_name_enabled;
        let price = snap.base_price
            + if caller_name {
                snap.caller_name_price
            } else {
                0
            };
        let now = OffsetDateTime::now_utc();
        let event = |outcome: Outcome, cost: i64, saved: i64, line_type: Option<String>| Event {
            org_id,
            user_id,
            e164: e164.to_string(),
            outcome,
            cost_micros: cost,
            saved_micros: saved,
            line_type,
            at: OffsetDateTime::now_utc(),
        };
        if let Some(row) = row {
            // A refresh someone finished after we were asked counts as our refresh's answer.
            let refreshed_since = row.last_lookup_at.is_some_and(|t| t >= started);
            if (!force_refresh && row.fresh(now, caller_name))
                || (force_refresh && refreshed_since && row.fresh(now, caller_name))
            {
                deps.events
                    .record(event(Outcome::Hit, 0, price, row.line_type.clone()))
                    .await;
                return Ok((Outcome::Hit, row));
            }
            if row.backing_off(now) {
                deps.events.record(event(Outcome::Error, 0, 0, None)).await;
                let msg = row
                    .error_message
                    .clone()
                    .unwrap_or_else(|| "The provider could not look this number up.".into());
                return Err(LookupError::Provider(format!(
                    "{msg} PhoneHub will not ask the provider about this number again until {}.",
                    fmt_utc(row.retry_after.unwrap_or(now))
                )));
            }
        }
        let lease = if may_lead {
            take_lease(deps.pool, e164, force_refresh, started, caller_name).await?
        } else {
            None
        };
        if let Some(token) = lease {
            let res = lead(deps, cfg, &token, e164, caller_name).await;
            return match res {
                Ok(row) => {
                    let outcome = if force_refresh {
                        Outcome::Refresh
                    } else {
                        Outcome::Miss
                    };
                    deps.events
                        .record(event(outcome, price, 0, row.line_type.clone()))
                        .await;
                    Ok((outcome, row))
                }
                // No paid miss for a leader that lost its lease: wait for the new leader.
                Err(LookupError::LostLease) => {
                    tracing::warn!(e164, "a lookup leader lost its lease");
                    may_lead = false;
                    continue;
                }
                Err(e) => {
                    deps.events.record(event(Outcome::Error, 0, 0, None)).await;
                    Err(e)
                }
            };
        }
        // Someone else holds the lease: wait for their answer.
        if tokio::time::Instant::now() >= deadline {
            return Err(LookupError::Busy);
        }
        tokio::time::sleep(poll).await;
        poll = (poll * 2).min(Duration::from_millis(100));
    }
}

/// Takes the number's lease if nobody holds it and it still needs a provider call. Returns the
/// lease token.
async fn take_lease(
    pool: &PgPool,
    e164: &str,
    force_refresh: bool,
    started: OffsetDateTime,
    caller_name: bool,
) -> Result<Option<String>, sqlx::Error> {
    let token = format!("{:032x}", rand::random::<u128>());
    let got = sqlx::query_scalar!(
        r#"INSERT INTO phone_numbers (e164, lease_token, lease_until)
           VALUES ($1, $2, now() + make_interval(secs => $3))
           ON CONFLICT (e164) DO UPDATE
               SET lease_token = EXCLUDED.lease_token, lease_until = EXCLUDED.lease_until
               WHERE (phone_numbers.lease_until IS NULL OR phone_numbers.lease_until < now())
                 AND (phone_numbers.retry_after IS NULL OR phone_numbers.retry_after <= now())
                 AND (CASE WHEN $4 THEN phone_numbers.last_lookup_at IS NULL
                                     OR phone_numbers.last_lookup_at < $5
                           ELSE phone_numbers.lookup_expires_at IS NULL
                                OR phone_numbers.lookup_expires_at <= now()
                                OR ($6 AND NOT phone_numbers.caller_name_checked) END)
           RETURNING lease_token AS "t!""#,
        e164,
        token,
        LEASE_SECS,
        force_refresh,
        started,
        caller_name
    )
    .fetch_optional(pool)
    .await?;
    Ok(got)
}

/// Holds the lease: asks the provider once and stores the answer (or the error, with backoff).
async fn lead(
    deps: &Deps<'_>,
    cfg: &ConfigRow,
    token: &str,
    e164: &str,
    caller_name: bool,
) -> Result<Cached, LookupError> {
    let provider = match deps
        .providers
        .for_config(cfg, deps.keyring, deps.public_url)
    {
        Ok(p) => p,
        Err(e) => {
            release(deps.pool, e164, token).await?;
            return Err(LookupError::Provider(e.to_string()));
        }
    };
    let answer = tokio::time::timeout(LEADER_BUDGET, provider.lookup(e164, caller_name))
        .await
        .unwrap_or(Err(ProviderError::Timeout));
    match answer {
        Ok(res) => store(
            deps.pool,
            e164,
            token,
            &res,
            caller_name,
            cfg.lookup_cache_days,
        )
        .await?
        .ok_or(LookupError::LostLease),
        // Refusals that depend on the asking account (its credentials, its rate limit, its
        // region or permissions, an address it may not reach) belong to the configuration, not
        // to the number: stored on the shared row, one org's account would block the number for
        // every org.
        Err(e) if is_config_error(&e) => {
            tracing::warn!(error = %e, e164, "lookup refused for this configuration");
            release(deps.pool, e164, token).await?;
            Err(match e {
                ProviderError::Auth { .. } => LookupError::Credentials,
                other => LookupError::Provider(error_message(&other)),
            })
        }
        Err(e) => {
            // The provider's own words stay in the log: the row is shown to every org.
            tracing::warn!(error = %e, e164, "lookup failed at the provider");
            let msg = error_message(&e);
            let code = e.code().map(|c| c as i32);
            store_error(deps.pool, e164, token, code, &msg).await?;
            Err(LookupError::Provider(msg))
        }
    }
}

/// Whether a failure says something about the asking configuration rather than the number.
fn is_config_error(e: &ProviderError) -> bool {
    matches!(
        e,
        ProviderError::Auth { .. }
            | ProviderError::RateLimited { .. }
            | ProviderError::Rejected { .. }
    ) || telephony::http::is_refusal(e)
}

fn error_message(e: &ProviderError) -> String {
    match e {
        ProviderError::NotFound { .. } => {
            "The provider has no information about this number.".into()
        }
        ProviderError::Rejected { code, .. } => match code {
            Some(c) => format!("The provider refused to look this number up (error {c})."),
            None => "The provider refused to look this number up.".into(),
        },
        ProviderError::RateLimited { .. } => {
            "The provider is rate limiting lookups right now.".into()
        }
        ProviderError::Timeout => "The provider did not answer in time.".into(),
        ProviderError::Server { status, .. } => {
            format!("The provider failed (HTTP {status}).")
        }
        ProviderError::Network(_) => "PhoneHub could not reach the provider.".into(),
        ProviderError::Decode(_) => "The provider sent an answer PhoneHub could not read.".into(),
        ProviderError::Auth { .. } => "The provider rejected the credentials.".into(),
    }
}

async fn release(pool: &PgPool, e164: &str, token: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE phone_numbers SET lease_token = NULL, lease_until = NULL
         WHERE e164 = $1 AND lease_token = $2",
        e164,
        token
    )
    .execute(pool)
    .await?;
    Ok(())
}

async fn store(
    pool: &PgPool,
    e164: &str,
    token: &str,
    res: &LookupResult,
    caller_name: bool,
    cache_days: i32,
) -> Result<Option<Cached>, sqlx::Error> {
    let lti = res.line_type_intelligence.clone().unwrap_or_default();
    let cn = res.caller_name.clone().unwrap_or_default();
    let (is_mobile, is_voip) = classify_line_type(lti.line_type.as_deref());
    let stored = sqlx::query!(
        r#"UPDATE phone_numbers SET
               country_code = $3, calling_country_code = $4, national_format = $5, valid = $6,
               line_type = $7, carrier_name = $8, mobile_country_code = $9,
               mobile_network_code = $10, is_mobile = $11, is_voip = $12,
               caller_name_checked = $13, caller_name = $14, caller_type = $15, raw = $16,
               lookup_count = lookup_count + 1,
               first_lookup_at = coalesce(first_lookup_at, now()), last_lookup_at = now(),
               lookup_expires_at = now() + make_interval(days => $17),
               error_code = NULL, error_message = NULL, error_count = 0, retry_after = NULL,
               lease_token = NULL, lease_until = NULL, updated_at = now()
           WHERE e164 = $1 AND lease_token = $2"#,
        e164,
        token,
        res.country_code,
        res.calling_country_code,
        res.national_format,
        res.valid,
        lti.line_type,
        lti.carrier_name,
        lti.mobile_country_code,
        lti.mobile_network_code,
        is_mobile,
        is_voip,
        caller_name,
        cn.caller_name,
        cn.caller_type,
        res.raw,
        cache_days,
    )
    .execute(pool)
    .await?;
    if stored.rows_affected() == 0 {
        // Our lease ran out and someone else holds the number now: their answer counts.
        return Ok(None);
    }
    Ok(Some(cached(pool, e164).await?.unwrap_or_default()))
}

async fn store_error(
    pool: &PgPool,
    e164: &str,
    token: &str,
    code: Option<i32>,
    message: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE phone_numbers SET
               error_code = $3, error_message = $4, error_count = error_count + 1,
               retry_after = now() + make_interval(secs =>
                   least($5::float8, $6::float8 * power(2, error_count))),
               lease_token = NULL, lease_until = NULL, updated_at = now()
           WHERE e164 = $1 AND lease_token = $2"#,
        e164,
        token,
        code,
        message,
        MAX_BACKOFF_SECS as f64,
        FIRST_BACKOFF_SECS as f64,
    )
    .execute(pool)
    .await?;
    Ok(())
}

pub fn fmt_utc(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    t.to_offset(time::UtcOffset::UTC)
        .format(&f)
        .unwrap_or_default()
}

/// A lookup request, as recorded for attribution.
#[derive(Debug, Clone)]
pub struct Event {
    pub org_id: i64,
    pub user_id: Option<i64>,
    pub e164: String,
    pub outcome: Outcome,
    pub cost_micros: i64,
    pub saved_micros: i64,
    pub line_type: Option<String>,
    pub at: OffsetDateTime,
}

enum Msg {
    Event(Event),
    Flush(oneshot::Sender<()>),
}

/// Writes lookup events in batches (one statement inserts the events and updates the daily and
/// monthly rollups). `flush` waits until everything recorded so far is in the database.
#[derive(Clone)]
pub struct EventSink {
    tx: mpsc::Sender<Msg>,
}

impl std::fmt::Debug for EventSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EventSink")
    }
}

const BATCH: usize = 1000;
const BATCH_WINDOW: Duration = Duration::from_millis(50);

impl EventSink {
    /// Starts the writer task (needs a Tokio runtime).
    pub fn start(pool: PgPool) -> EventSink {
        let (tx, rx) = mpsc::channel(20_000);
        tokio::spawn(writer(pool, rx));
        EventSink { tx }
    }

    pub async fn record(&self, e: Event) {
        if self.tx.send(Msg::Event(e)).await.is_err() {
            tracing::error!("lookup event writer stopped; event not recorded");
        }
    }

    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

async fn writer(pool: PgPool, mut rx: mpsc::Receiver<Msg>) {
    let mut batch: Vec<Event> = Vec::with_capacity(BATCH);
    let mut waiters: Vec<oneshot::Sender<()>> = Vec::new();
    while let Some(first) = rx.recv().await {
        fn push(m: Msg, batch: &mut Vec<Event>, waiters: &mut Vec<oneshot::Sender<()>>) {
            match m {
                Msg::Event(e) => batch.push(e),
                Msg::Flush(w) => waiters.push(w),
            }
        }
        push(first, &mut batch, &mut waiters);
        // Gather what else arrives for a moment: under load a batch holds hundreds of events, so
        // attribution costs the database one statement every BATCH_WINDOW, not one per request.
        // `flush` cuts the wait short (pages that show figures call it first).
        let until = tokio::time::Instant::now() + BATCH_WINDOW;
        while batch.len() < BATCH && waiters.is_empty() {
            match tokio::time::timeout_at(until, rx.recv()).await {
                Ok(Some(m)) => push(m, &mut batch, &mut waiters),
                _ => break,
            }
        }
        if !batch.is_empty() {
            write_with_retries(&pool, &batch).await;
            batch.clear();
        }
        for w in waiters.drain(..) {
            let _ = w.send(());
        }
    }
}

async fn write_with_retries(pool: &PgPool, batch: &[Event]) {
    let mut delay = Duration::from_millis(100);
    for attempt in 1..=8 {
        match write_batch(pool, batch).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(error = %e, attempt, n = batch.len(), "writing lookup events failed");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
    // One bad event (say its org was deleted meanwhile) must not sink the others.
    for e in batch {
        if let Err(err) = write_batch(pool, std::slice::from_ref(e)).await {
            tracing::error!(error = %err, org = e.org_id, "lookup event dropped");
        }
    }
}

pub async fn write_batch(pool: &PgPool, batch: &[Event]) -> Result<(), sqlx::Error> {
    let n = batch.len();
    let mut org = Vec::with_capacity(n);
    let mut user = Vec::with_capacity(n);
    let mut e164 = Vec::with_capacity(n);
    let mut outcome = Vec::with_capacity(n);
    let mut cost = Vec::with_capacity(n);
    let mut saved = Vec::with_capacity(n);
    let mut line = Vec::with_capacity(n);
    let mut at = Vec::with_capacity(n);
    for e in batch {
        org.push(e.org_id);
        user.push(e.user_id);
        e164.push(e.e164.clone());
        outcome.push(e.outcome.as_str().to_string());
        cost.push(e.cost_micros);
        saved.push(e.saved_micros);
        line.push(e.line_type.clone());
        at.push(e.at);
    }
    sqlx::query!(
        r#"WITH ev AS (
               INSERT INTO lookup_events (org_id, user_id, e164, outcome, cost_micros, saved_micros,
                                          line_type, created_at)
               SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::text[], $4::text[], $5::int8[],
                                    $6::int8[], $7::text[], $8::timestamptz[])
               RETURNING org_id, e164, outcome, cost_micros, saved_micros, line_type, created_at),
           daily AS (
               INSERT INTO lookup_daily AS d (org_id, day, line_type, requests, hits, misses,
                                              refreshes, errors, cost_micros, saved_micros)
               SELECT org_id, (created_at AT TIME ZONE 'UTC')::date, coalesce(line_type, ''),
                      count(*), count(*) FILTER (WHERE outcome = 'hit'),
                      count(*) FILTER (WHERE outcome = 'miss'),
                      count(*) FILTER (WHERE outcome = 'refresh'),
                      count(*) FILTER (WHERE outcome = 'error'),
                      sum(cost_micros), sum(saved_micros)
               FROM ev GROUP BY 1, 2, 3
               ON CONFLICT (org_id, day, line_type) DO UPDATE SET
                   requests = d.requests + EXCLUDED.requests, hits = d.hits + EXCLUDED.hits,
                   misses = d.misses + EXCLUDED.misses,
                   refreshes = d.refreshes + EXCLUDED.refreshes,
                   errors = d.errors + EXCLUDED.errors,
                   cost_micros = d.cost_micros + EXCLUDED.cost_micros,
                   saved_micros = d.saved_micros + EXCLUDED.saved_micros)
           INSERT INTO lookup_monthly_numbers AS m (org_id, month, e164, requests, last_at)
           SELECT org_id, date_trunc('month', created_at AT TIME ZONE 'UTC')::date, e164, count(*),
                  max(created_at)
           FROM ev GROUP BY 1, 2, 3
           ON CONFLICT (org_id, month, e164) DO UPDATE SET
               requests = m.requests + EXCLUDED.requests,
               last_at = greatest(m.last_at, EXCLUDED.last_at)"#,
        &org,
        &user as &[Option<i64>],
        &e164,
        &outcome,
        &cost,
        &saved,
        &line as &[Option<String>],
        &at,
    )
    .execute(pool)
    .await?;
    Ok(())
}

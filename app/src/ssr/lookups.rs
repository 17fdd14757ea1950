//! Lookups through the shared cache: one provider call per number however many requests,
//! processes or orgs ask at once (a lease row in Postgres), negative caching with exponential
//! backoff (for the system default's failures only), and an attribution event for every request.
//! A row belongs to no org: its freshness is judged by the asking org's own cache days, and a
//! failure of an org's own configuration is stored nowhere the other orgs would see it.

use std::time::Duration;

use sqlx::PgPool;
use telephony::{ProviderError, E164};
use time::OffsetDateTime;

use super::crypto::Keyring;
use super::db::lookup_cache::{self as cache, Cached};
use super::db::phone_config::ConfigRow;
use super::hot_cache::HotCache;
use super::lookup_events::{Event, EventSink};
use super::providers::{BuildError, Providers};

/// How long a leader may hold a number before others may take over (covers the client's
/// timeout and retries).
const LEASE_SECS: f64 = 45.0;
/// The most a leader spends on the provider (its retries and waits included), well inside the
/// lease, so no other request can take the lease while the leader may still be paying for a call.
const LEADER_BUDGET: Duration = Duration::from_secs(35);
/// How long a request waits for another request's lookup of the same number.
const WAIT_LIMIT: Duration = Duration::from_secs(50);
/// How often storing a paid answer is tried again when no connection was free in time.
const STORE_RETRIES: u32 = 8;
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

/// Why a lookup gave no answer (the words are chosen in `ssr::words::lookup`).
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("the org has no phone configuration")]
    NoConfig,
    #[error("lookups are off in the org's configuration")]
    Disabled,
    #[error("caller-name lookups are off in the org's configuration")]
    CallerNameOff,
    #[error("the provider rejected the org's credentials")]
    Credentials,
    #[error("no provider client for the configuration")]
    Unusable(#[source] BuildError),
    /// A failure that belongs to the asking configuration (a refusal of its account, or any
    /// failure of an org's own configuration): not stored on the shared row.
    #[error("the provider refused this configuration's lookup")]
    Refused(#[source] ProviderError),
    /// A failure about the number, stored on the shared row with a retry time.
    #[error("the provider failed to look the number up")]
    Failed(#[source] ProviderError),
    /// An earlier failure about the number, not asked again until `until`.
    #[error("backing off after a failure: {message}")]
    BackingOff {
        message: String,
        until: OffsetDateTime,
    },
    /// A stored number that no longer parses (bulk jobs).
    #[error("the number does not parse")]
    BadNumber(#[source] telephony::PhoneError),
    /// Waited for another request's lookup of the number for too long.
    #[error("another request is still looking the number up")]
    Busy,
    /// The leader's lease ran out before it stored the answer (internal: the request waits
    /// for the new leader instead).
    #[error("the lookup's lease ran out")]
    LostLease,
    #[error("database error")]
    Db(#[from] sqlx::Error),
}

/// What a lookup request needs from the app.
pub struct Deps<'a> {
    pub pool: &'a PgPool,
    pub keyring: &'a Keyring,
    pub providers: &'a Providers,
    pub events: &'a EventSink,
    pub hot: &'a HotCache,
    pub public_url: &'a url::Url,
    /// Whether the database was just found unreachable (reads then skip it).
    pub outage: &'a super::outage::Outage,
}

/// Looks `e164` (already valid E.164) up for `org_id`/`user_id`, through the cache. The caller
/// name is asked for as the org's configuration says, unless `caller_name` says otherwise: `false`
/// leaves it out (the line-type price only), `true` needs the configuration to allow it.
pub async fn lookup(
    deps: &Deps<'_>,
    org_id: i64,
    user_id: Option<i64>,
    e164: &E164,
    force_refresh: bool,
    caller_name: Option<bool>,
) -> Result<(Outcome, Cached), LookupError> {
    let wanted = caller_name;
    let started = OffsetDateTime::now_utc();
    let deadline = tokio::time::Instant::now() + WAIT_LIMIT;
    let mut poll = Duration::from_millis(10);
    // After losing a lease this request only waits: it never pays for the number a second time.
    let mut may_lead = true;
    let mut waited = false;
    loop {
        // With the database away, the configuration last read may still answer from the hot
        // cache (`unreachable` keeps the error for everything else).
        let read = deps
            .outage
            .unless_ongoing(deps.providers.effective(deps.pool, org_id));
        let (snap, unreachable) = match read.await {
            Ok(s) => (s, None),
            Err(e) => match deps.providers.last_known(org_id) {
                Some(s) if !force_refresh => (s, Some(e)),
                _ => return Err(e.into()),
            },
        };
        let cfg = snap.config.as_ref().ok_or(LookupError::NoConfig)?;
        if !cfg.lookup_enabled {
            return Err(LookupError::Disabled);
        }
        let caller_name = match wanted {
            None => cfg.caller_name_enabled,
            Some(false) => false,
            Some(true) if cfg.caller_name_enabled => true,
            Some(true) => return Err(LookupError::CallerNameOff),
        };
        let price = snap.base_price + snap.caller_name_price * i64::from(caller_name);
        // Freshness is this org's: an answer fetched for an org keeping answers a year is not
        // fresh for one that keeps them a day.
        let days = cfg.lookup_cache_days;
        let now = OffsetDateTime::now_utc();
        let event = |outcome: Outcome, cost: i64, saved: i64, line_type: Option<String>| Event {
            org_id,
            user_id,
            e164: e164.as_str().to_string(),
            outcome,
            cost_micros: cost,
            saved_micros: saved,
            line_type,
            at: OffsetDateTime::now_utc(),
        };
        // This process's copy first: a hit then needs no database at all.
        let held = (!force_refresh)
            .then(|| deps.hot.get_for(e164, now, caller_name, days))
            .flatten();
        if let Some(row) = held {
            deps.events
                .record(event(Outcome::Hit, 0, price, row.line_type.clone()))
                .await;
            metrics::counter!("phonehub_lookups_total", "outcome" => "hit", "from" => "memory")
                .increment(1);
            return Ok((Outcome::Hit, Cached::clone(&row).seen_by(days)));
        }
        if let Some(e) = unreachable {
            return Err(e.into());
        }
        let generation = deps.hot.generation();
        let row = deps.outage.read(cache::get(deps.pool, e164)).await?;
        if let Some(row) = row {
            let hit = row.fresh_for(now, caller_name, days)
                // A refresh someone finished after we were asked counts as our refresh's answer.
                && (!force_refresh || row.last_lookup_at.is_some_and(|t| t >= started));
            if hit {
                deps.hot.keep(&row, generation);
                let line_type = row.line_type.clone();
                deps.events
                    .record(event(Outcome::Hit, 0, price, line_type))
                    .await;
                count("hit");
                return Ok((Outcome::Hit, row.seen_by(days)));
            }
            if row.backing_off(now) {
                deps.events.record(event(Outcome::Error, 0, 0, None)).await;
                count("backing_off");
                return Err(backing_off(&row, now));
            }
        }
        let token = format!("{:032x}", rand::random::<u128>());
        let leading = may_lead
            && cache::take_lease(
                deps.pool,
                e164,
                &token,
                LEASE_SECS,
                force_refresh,
                started,
                caller_name,
                days,
            )
            .await?;
        if leading {
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
                    count(outcome.as_str());
                    Ok((outcome, row))
                }
                // No paid miss for a leader that lost its lease: wait for the new leader.
                Err(LookupError::LostLease) => {
                    tracing::warn!(%e164, "a lookup leader lost its lease");
                    may_lead = false;
                    continue;
                }
                Err(e) => {
                    deps.events.record(event(Outcome::Error, 0, 0, None)).await;
                    count("error");
                    Err(e)
                }
            };
        }
        // Someone else holds the lease: wait for their answer.
        if !waited {
            waited = true;
            metrics::counter!("phonehub_lookup_single_flight_waits_total").increment(1);
        }
        if tokio::time::Instant::now() >= deadline {
            count("busy");
            return Err(LookupError::Busy);
        }
        tokio::time::sleep(poll).await;
        poll = (poll * 2).min(Duration::from_millis(100));
    }
}

/// `phonehub_lookups_total` by outcome, for answers that came through the database.
fn count(outcome: &'static str) {
    metrics::counter!("phonehub_lookups_total", "outcome" => outcome, "from" => "database")
        .increment(1);
}

/// The failure a number's row is backing off from, and until when.
fn backing_off(row: &Cached, now: OffsetDateTime) -> LookupError {
    LookupError::BackingOff {
        message: row
            .error_message
            .clone()
            .unwrap_or_else(|| "The provider could not look this number up.".into()),
        until: row.retry_after.unwrap_or(now),
    }
}

/// Holds the lease: asks the provider once and stores the answer (or the error, with backoff).
async fn lead(
    deps: &Deps<'_>,
    cfg: &ConfigRow,
    token: &str,
    e164: &E164,
    caller_name: bool,
) -> Result<Cached, LookupError> {
    let provider = match deps
        .providers
        .for_config(cfg, deps.keyring, deps.public_url)
    {
        Ok(p) => p,
        Err(e) => {
            cache::release(deps.pool, e164, token).await?;
            return Err(LookupError::Unusable(e));
        }
    };
    let answer = tokio::time::timeout(LEADER_BUDGET, provider.lookup(e164.as_str(), caller_name))
        .await
        .unwrap_or(Err(ProviderError::Timeout));
    match answer {
        Ok(res) => {
            let days = cfg.lookup_cache_days;
            // A paid answer is worth waiting for a connection a little longer than a page is.
            let mut attempt = 0;
            let stored = loop {
                let store = cache::store(
                    deps.pool,
                    e164,
                    token,
                    &res,
                    caller_name,
                    days,
                    &cfg.provider,
                );
                match store.await {
                    Err(sqlx::Error::PoolTimedOut) if attempt < STORE_RETRIES => {
                        attempt += 1;
                        tokio::time::sleep(Duration::from_millis(250)).await;
                    }
                    other => break other?,
                }
            };
            if !stored {
                return Err(LookupError::LostLease);
            }
            Ok(cache::get(deps.pool, e164).await?.unwrap_or_default())
        }
        // Refusals that depend on the asking account (its credentials, its rate limit, its
        // region or permissions, an address it may not reach) belong to the configuration, not
        // to the number: stored on the shared row, one org's account would block the number for
        // every org.
        Err(e) if is_config_error(&e) => {
            tracing::warn!(error = %e, %e164, "lookup refused for this configuration");
            cache::release(deps.pool, e164, token).await?;
            Err(match e {
                ProviderError::Auth { .. } => LookupError::Credentials,
                other => LookupError::Refused(other),
            })
        }
        // Any failure with an org's own configuration (its region, the endpoints it chose, its
        // account: network, timeout, 5xx, an unreadable answer) says nothing certain about the
        // number: stored on the shared row it would block the number for every org. The lease is
        // given up and nothing else is written; only the system default backs a number off.
        Err(e) if cfg.org_id.is_some() => {
            tracing::warn!(error = %e, %e164, "lookup failed with the org's own configuration");
            cache::release(deps.pool, e164, token).await?;
            Err(LookupError::Refused(e))
        }
        Err(e) => {
            // The provider's own words stay in the log: the row is shown to every org.
            tracing::warn!(error = %e, %e164, "lookup failed at the provider");
            // Shown to every org that asks about the number until the retry time.
            let msg = crate::ssr::words::lookup_failure(&e);
            let code = e.code().map(|c| c as i32);
            let backoff = (FIRST_BACKOFF_SECS as f64, MAX_BACKOFF_SECS as f64);
            cache::store_error(deps.pool, e164, token, code, &msg, backoff).await?;
            Err(LookupError::Failed(e))
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

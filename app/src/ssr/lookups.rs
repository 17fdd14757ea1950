//! Lookups through the shared cache: one provider call per number however many requests,
//! processes or orgs ask at once (a lease row in Postgres), negative caching with exponential
//! backoff (for the system default's failures only), and an attribution event for every request.
//! A row belongs to no org: its freshness is judged by the asking org's own cache days, and a
//! failure of an org's own configuration is stored nowhere the other orgs would see it.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use telephony::models::LookupResult;
use telephony::{ProviderError, E164};
use time::OffsetDateTime;

use super::crypto::Keyring;
use super::db::lookup_cache::{self as cache, Cached};
use super::db::lookups::Event;
use super::db::phone_config::ConfigRow;
use super::errors::LookupError;
use super::hot_cache::HotCache;
use super::lookup_events::EventSink;
use super::money_guard::{self, Spend};
use super::providers::{Effective, Providers};

pub use super::db::lookups::Outcome;

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
    /// The clock budgets and events read.
    pub clock: &'a super::clock::Clock,
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
        let (snap, unreachable) = read_config(deps, org_id, force_refresh).await?;
        let (cfg, ask) = terms(&snap, (org_id, user_id), e164, wanted, deps.clock.now())?;
        let now = OffsetDateTime::now_utc();
        // This process's copy first: a hit then needs no database at all.
        if let Some(answer) = from_memory(deps, &ask, now, force_refresh).await {
            return Ok(answer);
        }
        if let Some(e) = unreachable {
            return Err(e.into());
        }
        if let Some(answer) = from_database(deps, &ask, now, started, force_refresh).await? {
            return Ok(answer);
        }
        let token = format!("{:032x}", rand::random::<u128>());
        if may_lead && take_lease(deps, &ask, &token, force_refresh, started).await? {
            match answer_as_leader(deps, &ask, cfg, &token, force_refresh).await {
                // No paid miss for a leader that lost its lease: wait for the new leader.
                Err(LookupError::LostLease) => {
                    tracing::warn!(%e164, "a lookup leader lost its lease");
                    may_lead = false;
                    continue;
                }
                other => return other,
            }
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

/// One attempt's question: the number, who asks, and on the asking org's terms.
struct Ask<'e> {
    org_id: i64,
    user_id: Option<i64>,
    e164: &'e E164,
    /// Whether the caller name is asked for.
    caller_name: bool,
    /// What the answer costs the org: paid on a miss, saved on a hit.
    price: i64,
    /// How many days the org keeps an answer.
    days: i32,
    /// When it was asked, by the app's clock.
    at: OffsetDateTime,
}

impl Ask<'_> {
    /// The attribution event of this request, at the current time.
    fn event(&self, outcome: Outcome, cost: i64, saved: i64, line_type: Option<String>) -> Event {
        Event {
            org_id: self.org_id,
            user_id: self.user_id,
            e164: self.e164.as_str().to_string(),
            outcome,
            cost_micros: cost,
            saved_micros: saved,
            line_type,
            at: self.at,
            hold_id: None,
        }
    }
}

/// Reads the org's effective configuration. With the database away, the configuration last read
/// may still answer from the hot cache: it is returned with the error, which `lookup` keeps for
/// everything else.
async fn read_config(
    deps: &Deps<'_>,
    org_id: i64,
    force_refresh: bool,
) -> Result<(Arc<Effective>, Option<sqlx::Error>), LookupError> {
    let read = deps
        .outage
        .unless_ongoing(deps.providers.effective(deps.pool, org_id));
    match read.await {
        Ok(s) => Ok((s, None)),
        Err(e) => match deps.providers.last_known(org_id) {
            Some(s) if !force_refresh => Ok((s, Some(e))),
            _ => Err(e.into()),
        },
    }
}

/// The asking org's terms: its configuration (none, or lookups off, is an error), whether the
/// caller name is asked for (`wanted` as `lookup` takes it), the price and the org's cache days.
fn terms<'s, 'e>(
    snap: &'s Effective,
    (org_id, user_id): (i64, Option<i64>),
    e164: &'e E164,
    wanted: Option<bool>,
    at: OffsetDateTime,
) -> Result<(&'s ConfigRow, Ask<'e>), LookupError> {
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
    let ask = Ask {
        org_id,
        user_id,
        e164,
        caller_name,
        price,
        days,
        at,
    };
    Ok((cfg, ask))
}

/// This process's copy of the answer, if fresh for the org (and no refresh was asked for): a hit
/// then needs no database at all. Records the hit.
async fn from_memory(
    deps: &Deps<'_>,
    ask: &Ask<'_>,
    now: OffsetDateTime,
    force_refresh: bool,
) -> Option<(Outcome, Cached)> {
    let held = (!force_refresh)
        .then(|| deps.hot.get_for(ask.e164, now, ask.caller_name, ask.days))
        .flatten();
    let row = held?;
    deps.events
        .record(ask.event(Outcome::Hit, 0, ask.price, row.line_type.clone()))
        .await;
    metrics::counter!("phonehub_lookups_total", "outcome" => "hit", "from" => "memory")
        .increment(1);
    Some((Outcome::Hit, Cached::clone(&row).seen_by(ask.days)))
}

/// The shared row's answer, if fresh for the org (a refresh someone finished after this request
/// was asked counts as its refresh's answer), recorded as a hit; or the failure the row is backing
/// off from, recorded as an error. `None`: the number needs asking.
async fn from_database(
    deps: &Deps<'_>,
    ask: &Ask<'_>,
    now: OffsetDateTime,
    started: OffsetDateTime,
    force_refresh: bool,
) -> Result<Option<(Outcome, Cached)>, LookupError> {
    let generation = deps.hot.generation();
    let row = deps.outage.read(cache::get(deps.pool, ask.e164)).await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let hit = row.fresh_for(now, ask.caller_name, ask.days)
        // A refresh someone finished after we were asked counts as our refresh's answer.
        && (!force_refresh || row.last_lookup_at.is_some_and(|t| t >= started));
    if hit {
        deps.hot.keep(&row, generation);
        let line_type = row.line_type.clone();
        deps.events
            .record(ask.event(Outcome::Hit, 0, ask.price, line_type))
            .await;
        count("hit");
        return Ok(Some((Outcome::Hit, row.seen_by(ask.days))));
    }
    if row.backing_off(now) {
        deps.events
            .record(ask.event(Outcome::Error, 0, 0, None))
            .await;
        count("backing_off");
        return Err(backing_off(&row, now));
    }
    Ok(None)
}

/// Tries to become the number's leader (the one request that asks the provider), with `token`.
async fn take_lease(
    deps: &Deps<'_>,
    ask: &Ask<'_>,
    token: &str,
    force_refresh: bool,
    started: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    cache::take_lease(
        deps.pool,
        ask.e164,
        token,
        LEASE_SECS,
        force_refresh,
        started,
        ask.caller_name,
        ask.days,
    )
    .await
}

/// As the leader: asks the provider and records the paid miss (or refresh), or the error. A lost
/// lease is returned unrecorded (`lookup` then waits for the new leader).
async fn answer_as_leader(
    deps: &Deps<'_>,
    ask: &Ask<'_>,
    cfg: &ConfigRow,
    token: &str,
    force_refresh: bool,
) -> Result<(Outcome, Cached), LookupError> {
    // A paid lookup reserves its price before the provider is asked; at a hard cap the lease
    // goes to whoever asks next and nothing is paid.
    let hold = match reserve_lookup(deps, ask).await {
        Ok(h) => h,
        Err(e) => {
            cache::release(deps.pool, ask.e164, token).await?;
            return Err(e);
        }
    };
    match lead(deps, cfg, token, ask.e164, ask.caller_name).await {
        Ok(row) => {
            let outcome = if force_refresh {
                Outcome::Refresh
            } else {
                Outcome::Miss
            };
            let mut event = ask.event(outcome, ask.price, 0, row.line_type.clone());
            // Settled when the event (and so its cost) is written.
            event.hold_id = hold;
            deps.events.record(event).await;
            count(outcome.as_str());
            Ok((outcome, row))
        }
        Err(e) => {
            money_guard::end(deps.pool, hold, false).await?;
            answer_failed(deps, ask, e).await
        }
    }
}

/// Reserves a paid lookup's price against the hard caps covering its org and member.
async fn reserve_lookup(deps: &Deps<'_>, ask: &Ask<'_>) -> Result<Option<i64>, LookupError> {
    if ask.price <= 0 {
        return Ok(None);
    }
    let mut tx = deps.pool.begin().await?;
    let hold = money_guard::reserve(
        &mut tx,
        (ask.org_id, ask.user_id),
        Spend::Lookups,
        ask.price,
        ask.at,
    )
    .await?;
    tx.commit().await?;
    Ok(hold.id)
}

/// A lookup the leader could not answer: recorded (free) unless its lease was lost.
async fn answer_failed(
    deps: &Deps<'_>,
    ask: &Ask<'_>,
    e: LookupError,
) -> Result<(Outcome, Cached), LookupError> {
    match e {
        LookupError::LostLease => Err(LookupError::LostLease),
        e => {
            deps.events
                .record(ask.event(Outcome::Error, 0, 0, None))
                .await;
            count("error");
            Err(e)
        }
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
    let asked = async { provider.lookups()?.lookup(e164.as_str(), caller_name).await };
    let answer = tokio::time::timeout(LEADER_BUDGET, asked)
        .await
        .unwrap_or(Err(ProviderError::Timeout));
    match answer {
        Ok(res) => {
            if !store_answer(deps, cfg, token, e164, &res, caller_name).await? {
                return Err(LookupError::LostLease);
            }
            Ok(cache::get(deps.pool, e164).await?.unwrap_or_default())
        }
        Err(e) => Err(settle_failure(deps, cfg, token, e164, e).await?),
    }
}

/// Stores a paid answer on the number's row; false if the lease was lost meanwhile. A paid answer
/// is worth waiting for a connection a little longer than a page is: storing is tried again when
/// no connection was free in time.
async fn store_answer(
    deps: &Deps<'_>,
    cfg: &ConfigRow,
    token: &str,
    e164: &E164,
    res: &LookupResult,
    caller_name: bool,
) -> Result<bool, sqlx::Error> {
    let days = cfg.lookup_cache_days;
    let mut attempt = 0;
    loop {
        let store = cache::store(
            deps.pool,
            e164,
            token,
            res,
            caller_name,
            days,
            cfg.provider.as_str(),
        );
        match store.await {
            Err(sqlx::Error::PoolTimedOut) if attempt < STORE_RETRIES => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            other => return other,
        }
    }
}

/// After the provider failed: gives up the lease, or stores the failure with backoff, as the
/// failure says, and returns the lookup's error (or the database's, if that fails first).
async fn settle_failure(
    deps: &Deps<'_>,
    cfg: &ConfigRow,
    token: &str,
    e164: &E164,
    e: ProviderError,
) -> Result<LookupError, sqlx::Error> {
    match e {
        // Refusals that depend on the asking account (its credentials, its rate limit, its
        // region or permissions, an address it may not reach) belong to the configuration, not
        // to the number: stored on the shared row, one org's account would block the number for
        // every org.
        e if is_config_error(&e) => {
            tracing::warn!(error = %e, %e164, "lookup refused for this configuration");
            cache::release(deps.pool, e164, token).await?;
            Ok(match e {
                ProviderError::Auth { .. } => LookupError::Credentials,
                other => LookupError::Refused(other),
            })
        }
        // Any failure with an org's own configuration (its region, the endpoints it chose, its
        // account: network, timeout, 5xx, an unreadable answer) says nothing certain about the
        // number: stored on the shared row it would block the number for every org. The lease is
        // given up and nothing else is written; only the system default backs a number off.
        e if cfg.org_id.is_some() => {
            tracing::warn!(error = %e, %e164, "lookup failed with the org's own configuration");
            cache::release(deps.pool, e164, token).await?;
            Ok(LookupError::Refused(e))
        }
        e => {
            // The provider's own words stay in the log: the row is shown to every org.
            tracing::warn!(error = %e, %e164, "lookup failed at the provider");
            // Shown to every org that asks about the number until the retry time.
            let msg = crate::ssr::words::lookup_failure(&e);
            let code = e.code().map(|c| c as i32);
            let backoff = (FIRST_BACKOFF_SECS as f64, MAX_BACKOFF_SECS as f64);
            cache::store_error(deps.pool, e164, token, code, &msg, backoff).await?;
            Ok(LookupError::Failed(e))
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
            | ProviderError::Unsupported { .. }
    ) || telephony::http::is_refusal(e)
}

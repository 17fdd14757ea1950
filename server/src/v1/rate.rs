//! A request budget per API key: a fixed window of one minute, shared by the live servers. Every
//! answer carries `RateLimit-Policy` and `RateLimit` (IETF httpapi draft); over budget → 429 with
//! `Retry-After`. The per-user hourly limits of calls and messages still apply on top.
//!
//! Across servers: each server registers in `api_servers` and refreshes its row every few
//! seconds; a key's budget on one server is its share, the budget divided by the servers seen in
//! the last 30 seconds (read again whenever a key's window starts). A server that stops removes
//! its row; one that dies stops counting 30 seconds later, and until then the others give each key
//! a little less, never more.
//!
//! Before any database work: a key that authenticated lately on this server is remembered (its
//! SHA-256, dropped at once when it is revoked, through `LISTEN phonehub_api_keys`), so a key over
//! its budget is answered 429 from memory alone.
//!
//! Guessing keys costs a database read each, so refused keys are counted per client address (IPv6
//! by its /64) and per key id. Once an address has sent 60 refused keys in a minute, requests from
//! it whose key id is not one of a live key are turned away unheard; a key that exists (the list
//! of live key ids is kept in memory) is still heard unless its own id has been refused 60 times.
//! Requests without a key, or with one that is not even shaped like a key, need no database and
//! are always answered 401.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use app::ssr::AppState;
use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::HeaderValue;
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::time::Instant;

use super::{Caller, Problem};

const WINDOW: Duration = Duration::from_secs(60);

/// Refused keys a client address may send per minute before it is turned away unheard.
const REFUSALS_PER_MINUTE: u32 = 60;

/// How often a server says it is alive.
const HEARTBEAT: Duration = Duration::from_secs(5);

const CHANNEL: &str = "phonehub_api_keys";

pub struct RateLimiter {
    /// Each key's budget per minute, across all servers.
    budget: u32,
    /// Live servers as last read (this one included).
    servers: AtomicU32,
    /// This server's row in `api_servers`.
    server_id: String,
    per_key: Windows<i64>,
    refused_addresses: Windows<String>,
    refused_ids: Windows<String>,
    /// Keys that authenticated lately: public id → (SHA-256 of the whole key, key id).
    recent: moka::sync::Cache<String, ([u8; 32], i64)>,
    /// The public ids of every live key, while the listener keeps it current (`None` otherwise:
    /// then every key id is heard).
    live: RwLock<Option<HashSet<String>>>,
    listening: AtomicBool,
    /// Requests that went on to the database to check their key (for tests and metrics).
    db_checks: AtomicU64,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("budget", &self.budget)
            .field("servers", &self.servers.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> RateLimiter {
        use rand::RngCore;
        let mut id = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut id);
        RateLimiter {
            budget: per_minute.max(1),
            servers: AtomicU32::new(1),
            server_id: id.iter().map(|b| format!("{b:02x}")).collect(),
            per_key: Windows::new(),
            refused_addresses: Windows::new(),
            refused_ids: Windows::new(),
            recent: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(600))
                .build(),
            live: RwLock::new(None),
            listening: AtomicBool::new(false),
            db_checks: AtomicU64::new(0),
        }
    }

    /// This server's share of each key's budget.
    pub fn share(&self) -> u32 {
        self.budget
            .div_ceil(self.servers.load(Ordering::Acquire).max(1))
            .max(1)
    }

    /// Whether the list of live keys is current (the listener is connected).
    pub fn listening(&self) -> bool {
        self.listening.load(Ordering::Acquire)
    }

    /// Whether this server holds `public_id` as a live key or remembers it as authenticated.
    pub fn knows_key(&self, public_id: &str) -> bool {
        let live = self
            .live
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .is_some_and(|s| s.contains(public_id));
        live || self.recent.contains_key(public_id)
    }

    /// Requests that reached the database to check their key.
    pub fn db_checks(&self) -> u64 {
        self.db_checks.load(Ordering::Acquire)
    }

    /// Registers this server and reads how many are alive (awaited once before serving, so the
    /// first window already has the right share).
    pub async fn register(&self, pool: &PgPool) {
        self.refresh_servers(pool).await;
    }

    async fn refresh_servers(&self, pool: &PgPool) {
        match app::ssr::api_keys::server_alive(pool, &self.server_id).await {
            Ok(n) => self.servers.store(
                u32::try_from(n).unwrap_or(u32::MAX).max(1),
                Ordering::Release,
            ),
            Err(e) => {
                tracing::warn!(error = %e, "could not refresh the API servers' shares");
            }
        }
    }

    /// Removes this server, so the others take its share at once.
    pub async fn deregister(&self, pool: &PgPool) {
        if let Err(e) = app::ssr::api_keys::server_gone(pool, &self.server_id).await {
            tracing::warn!(error = %e, "could not deregister from the API servers");
        }
    }

    /// The heartbeat and the live-key listener, until the process ends.
    pub fn spawn(self: &Arc<Self>, pool: &PgPool) {
        let me = self.clone();
        let beat = pool.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(HEARTBEAT);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                me.refresh_servers(&beat).await;
            }
        });
        let (me, lost, reads) = (self.clone(), self.clone(), pool.clone());
        app::ssr::listen::forever(
            pool,
            "API key listener",
            move |own| {
                let (me, reads) = (me.clone(), reads.clone());
                async move { me.listen(&own, &reads).await }
            },
            move || lost.stop_listening(),
        );
    }

    fn stop_listening(&self) {
        self.listening.store(false, Ordering::Release);
        *self.live.write().unwrap_or_else(|p| p.into_inner()) = None;
        self.recent.invalidate_all();
    }

    /// Serves one listening connection (`own`, its pool of one); the reads go through `pool`.
    async fn listen(&self, own: &PgPool, pool: &PgPool) -> Result<(), sqlx::Error> {
        let mut listener = PgListener::connect_with(own).await?;
        listener.ignore_pool_close_event(false);
        listener.eager_reconnect(false);
        listener.listen(CHANNEL).await?;
        // Listening first, then reading: no change falls between the two.
        let ids = app::ssr::api_keys::live_public_ids(pool).await?;
        *self.live.write().unwrap_or_else(|p| p.into_inner()) = Some(ids.into_iter().collect());
        self.recent.invalidate_all();
        self.listening.store(true, Ordering::Release);
        loop {
            match listener.try_recv().await? {
                Some(n) => {
                    let id = n.payload().to_string();
                    self.recent.invalidate(&id);
                    let live = app::ssr::api_keys::is_live(pool, &id).await?;
                    let mut set = self.live.write().unwrap_or_else(|p| p.into_inner());
                    if let Some(set) = set.as_mut() {
                        if live {
                            set.insert(id);
                        } else {
                            set.remove(&id);
                        }
                    }
                }
                None => return Ok(()),
            }
        }
    }

    /// Whether a key id names a live key (unknown while not listening: then it is heard).
    fn exists(&self, id: &str) -> bool {
        match &*self.live.read().unwrap_or_else(|p| p.into_inner()) {
            Some(set) => set.contains(id),
            None => true,
        }
    }

    /// The key id of a key that authenticated lately here, if `key` is that whole key.
    fn recent_key(&self, id: &str, key: &str) -> Option<i64> {
        if !self.listening.load(Ordering::Acquire) {
            return None;
        }
        let (sha, key_id) = self.recent.get(id)?;
        (app::ssr::api_keys::digest(key) == sha).then_some(key_id)
    }

    /// Whether a request from `ip` (its group) with key id `id` is turned away unheard (seconds to
    /// wait). Only key ids are ever turned away: a request without one needs no database.
    fn turned_away(&self, ip: &str, id: Option<&str>, now: Instant) -> Option<u64> {
        let id = id?;
        let reset = self
            .refused_addresses
            .spent(&ip.to_string(), now, REFUSALS_PER_MINUTE)?;
        if self.exists(id) {
            self.refused_ids
                .spent(&id.to_string(), now, REFUSALS_PER_MINUTE)
        } else {
            Some(reset)
        }
    }

    fn refused(&self, ip: String, id: Option<&str>, now: Instant) {
        let _ = self.refused_addresses.take(ip, now, REFUSALS_PER_MINUTE);
        if let Some(id) = id {
            let _ = self
                .refused_ids
                .take(id.to_string(), now, REFUSALS_PER_MINUTE);
        }
    }
}

pub use app::ssr::address_group;

/// Fixed one-minute windows per key, bounded in memory.
struct Windows<K> {
    windows: moka::sync::Cache<K, Arc<std::sync::Mutex<(Instant, u32)>>>,
}

impl<K: std::hash::Hash + Eq + Send + Sync + 'static> Windows<K> {
    fn new() -> Windows<K> {
        Windows {
            windows: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(WINDOW * 2)
                .build(),
        }
    }

    /// Whether `key`'s budget of `limit` is spent (without taking from it), and the seconds until
    /// it resets.
    fn spent(&self, key: &K, now: Instant, limit: u32) -> Option<u64> {
        let w = self.windows.get(key)?;
        let w = w.lock().unwrap_or_else(|p| p.into_inner());
        let age = now.duration_since(w.0);
        (age < WINDOW && w.1 >= limit.max(1)).then(|| (WINDOW - age).as_secs().max(1))
    }

    /// Whether `key`'s next request starts a new window.
    fn starts_window(&self, key: &K, now: Instant) -> bool {
        match self.windows.get(key) {
            None => true,
            Some(w) => {
                let w = w.lock().unwrap_or_else(|p| p.into_inner());
                now.duration_since(w.0) >= WINDOW
            }
        }
    }

    /// Takes one request from `key`'s budget of `limit`: `Ok(remaining)` or `Err(())` when
    /// spent, and the seconds until the window resets.
    fn take(&self, key: K, now: Instant, limit: u32) -> (Result<u32, ()>, u64) {
        let limit = limit.max(1);
        let w = self
            .windows
            .get_with(key, || Arc::new(std::sync::Mutex::new((now, 0))));
        let mut w = w.lock().unwrap_or_else(|p| p.into_inner());
        if now.duration_since(w.0) >= WINDOW {
            *w = (now, 0);
        }
        let reset = (WINDOW - now.duration_since(w.0)).as_secs().max(1);
        if w.1 >= limit {
            return (Err(()), reset);
        }
        w.1 += 1;
        (Ok(limit - w.1), reset)
    }
}

fn over_budget(per_minute: u32, reset: u64) -> Response {
    Problem::too_many(
        format!(
            "This API key made {per_minute} requests in the last minute, its limit. Try again in {reset} s."
        ),
        reset,
    )
    .into_response()
}

pub async fn limit(
    State((state, limiter)): State<(AppState, Arc<RateLimiter>)>,
    req: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = req.into_parts();
    let ip = address_group(&app::ssr::client_ip_of(&parts, state.trust_proxy).unwrap_or_default());
    let token = super::bearer(&parts.headers);
    let key_id = token
        .as_deref()
        .and_then(app::ssr::api_keys::public_id)
        .map(str::to_string);
    let now = Instant::now();
    if let Some(reset) = limiter.turned_away(&ip, key_id.as_deref(), now) {
        return Problem::too_many(
            format!("Too many requests with a refused API key from this address. Try again in {reset} s."),
            reset,
        )
        .into_response();
    }
    // A key this server knows, over its budget: answered from memory, no database work.
    let share = limiter.share();
    if let (Some(token), Some(id)) = (token.as_deref(), key_id.as_deref()) {
        if let Some(k) = limiter.recent_key(id, token) {
            if let Some(reset) = limiter.per_key.spent(&k, now, share) {
                let mut res = over_budget(share, reset);
                rate_headers(&mut res, share, 0, reset);
                return res;
            }
        }
    }
    limiter.db_checks.fetch_add(1, Ordering::AcqRel);
    let caller = match Caller::from_request_parts(&mut parts, &state).await {
        Ok(c) => c,
        Err(p) => {
            if p.status == 401 {
                limiter.refused(ip, key_id.as_deref(), Instant::now());
            }
            return p.into_response();
        }
    };
    let key = caller.0.key_id;
    if let (Some(token), Some(id)) = (token.as_deref(), key_id) {
        limiter
            .recent
            .insert(id, (app::ssr::api_keys::digest(token), key));
    }
    // Each new window reads again how many servers share the budget.
    if limiter.per_key.starts_window(&key, Instant::now()) {
        limiter.refresh_servers(&state.pool).await;
    }
    let share = limiter.share();
    let (taken, reset) = limiter.per_key.take(key, Instant::now(), share);
    let remaining = taken.unwrap_or(0);
    let mut res = match taken {
        Ok(_) => next.run(Request::from_parts(parts, body)).await,
        Err(()) => over_budget(share, reset),
    };
    rate_headers(&mut res, share, remaining, reset);
    res
}

fn rate_headers(res: &mut Response, per_minute: u32, remaining: u32, reset: u64) {
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("\"per-key\";q={per_minute};w=60")) {
        h.insert("ratelimit-policy", v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("\"per-key\";r={remaining};t={reset}")) {
        h.insert("ratelimit", v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_its_budget_per_window_and_then_waits_for_the_next() {
        let l = Windows::new();
        let t0 = Instant::now();
        assert!(l.starts_window(&1, t0));
        assert_eq!(l.take(1, t0, 3).0, Ok(2));
        assert!(!l.starts_window(&1, t0));
        assert_eq!(l.take(1, t0, 3).0, Ok(1));
        assert_eq!(l.take(1, t0, 3).0, Ok(0));
        let (r, reset) = l.take(1, t0 + Duration::from_secs(20), 3);
        assert_eq!(r, Err(()));
        assert_eq!(reset, 40);
        // Another key has its own budget.
        assert_eq!(l.take(2, t0, 3).0, Ok(2));
        // A minute later the budget is whole again.
        assert!(l.starts_window(&1, t0 + WINDOW));
        assert_eq!(l.take(1, t0 + WINDOW, 3).0, Ok(2));
        assert_eq!(l.spent(&1, t0 + WINDOW, 3), None);
        assert_eq!(l.spent(&2, t0, 3), None);
        let _ = l.take(2, t0, 3);
        let _ = l.take(2, t0, 3);
        assert_eq!(l.spent(&2, t0 + Duration::from_secs(1), 3), Some(59));
    }

    #[test]
    fn an_address_that_guesses_is_turned_away_but_live_keys_behind_it_are_heard() {
        let l = RateLimiter::new(600);
        *l.live.write().unwrap() = Some(
            ["aaaaaaaaaaaa", "cccccccccccc"]
                .into_iter()
                .map(String::from)
                .collect(),
        );
        let t0 = Instant::now();
        for _ in 0..REFUSALS_PER_MINUTE {
            assert_eq!(l.turned_away("10.0.0.1", Some("aaaaaaaaaaaa"), t0), None);
            l.refused("10.0.0.1".into(), Some("aaaaaaaaaaaa"), t0);
        }
        // Spent: ids of no live key are turned away; another address is not; a request without
        // a key is heard (it needs no database).
        assert_eq!(
            l.turned_away("10.0.0.1", Some("bbbbbbbbbbbb"), t0),
            Some(60)
        );
        assert_eq!(l.turned_away("10.0.0.1", None, t0), None);
        assert_eq!(l.turned_away("10.0.0.2", Some("bbbbbbbbbbbb"), t0), None);
        // A live key is still heard from that address, even one never used here before...
        assert_eq!(l.turned_away("10.0.0.1", Some("cccccccccccc"), t0), None);
        // ...unless that key id is the one being guessed at.
        assert!(l
            .turned_away("10.0.0.1", Some("aaaaaaaaaaaa"), t0)
            .is_some());
        // A minute later the address is heard again.
        assert_eq!(
            l.turned_away("10.0.0.1", Some("bbbbbbbbbbbb"), t0 + WINDOW),
            None
        );
    }

    #[test]
    fn ipv6_addresses_count_by_their_64() {
        assert_eq!(
            address_group("2001:db8:1:2:aaaa::1"),
            address_group("2001:db8:1:2:ffff:eeee:dddd:cccc")
        );
        assert_ne!(
            address_group("2001:db8:1:2::1"),
            address_group("2001:db8:1:3::1")
        );
        assert_eq!(address_group("::ffff:10.0.0.1"), "10.0.0.1");
        assert_eq!(address_group("10.0.0.1"), "10.0.0.1");
    }

    #[test]
    fn the_budget_is_shared_by_the_live_servers() {
        let l = RateLimiter::new(600);
        assert_eq!(l.share(), 600);
        l.servers.store(2, Ordering::Release);
        assert_eq!(l.share(), 300);
        l.servers.store(7, Ordering::Release);
        assert_eq!(l.share(), 86);
    }
}

//! A request budget per API key: a fixed window of one minute, per server process. Every answer
//! carries `RateLimit-Policy` and `RateLimit` (IETF httpapi draft); over budget → 429 with
//! `Retry-After`. The per-user hourly limits of calls and messages still apply on top.
//!
//! Guessing keys costs a database read each, so refused keys are counted per client address and per
//! key id. Once an address has sent 60 refused keys in a minute, its requests are turned away
//! before any lookup, except those whose key id authenticated lately and has not itself been
//! refused 60 times (so others behind the same address, say a company's NAT, keep working).

use std::sync::Arc;
use std::time::Duration;

use app::ssr::AppState;
use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::HeaderValue;
use tokio::time::Instant;

use super::{Caller, Problem};

const WINDOW: Duration = Duration::from_secs(60);

/// Refused keys a client address may send per minute before it is turned away unheard.
const REFUSALS_PER_MINUTE: u32 = 60;

pub struct RateLimiter {
    per_key: Windows<i64>,
    refused_addresses: Windows<String>,
    refused_ids: Windows<String>,
    /// Key ids (the public part) that authenticated in the last ten minutes.
    known: moka::sync::Cache<String, ()>,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> RateLimiter {
        RateLimiter {
            per_key: Windows::new(per_minute),
            refused_addresses: Windows::new(REFUSALS_PER_MINUTE),
            refused_ids: Windows::new(REFUSALS_PER_MINUTE),
            known: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(600))
                .build(),
        }
    }

    /// Whether a request from `ip` with key id `id` is turned away unheard (seconds to wait).
    fn turned_away(&self, ip: &str, id: Option<&str>, now: Instant) -> Option<u64> {
        let reset = self.refused_addresses.spent(&ip.to_string(), now)?;
        match id {
            Some(id) if self.known.contains_key(id) => self.refused_ids.spent(&id.to_string(), now),
            _ => Some(reset),
        }
    }

    fn refused(&self, ip: String, id: Option<&str>, now: Instant) {
        let _ = self.refused_addresses.take(ip, now);
        if let Some(id) = id {
            let _ = self.refused_ids.take(id.to_string(), now);
        }
    }
}

/// Fixed one-minute windows per key, bounded in memory.
struct Windows<K> {
    per_minute: u32,
    windows: moka::sync::Cache<K, Arc<std::sync::Mutex<(Instant, u32)>>>,
}

impl<K: std::hash::Hash + Eq + Send + Sync + 'static> Windows<K> {
    fn new(per_minute: u32) -> Windows<K> {
        Windows {
            per_minute: per_minute.max(1),
            windows: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(WINDOW * 2)
                .build(),
        }
    }

    /// Whether `key`'s budget is spent (without taking from it), and the seconds until it resets.
    fn spent(&self, key: &K, now: Instant) -> Option<u64> {
        let w = self.windows.get(key)?;
        let w = w.lock().unwrap_or_else(|p| p.into_inner());
        let age = now.duration_since(w.0);
        (age < WINDOW && w.1 >= self.per_minute).then(|| (WINDOW - age).as_secs().max(1))
    }

    /// Takes one request from `key`'s budget: `Ok(remaining)` or `Err(())` when spent, and the
    /// seconds until the window resets.
    fn take(&self, key: K, now: Instant) -> (Result<u32, ()>, u64) {
        let w = self
            .windows
            .get_with(key, || Arc::new(std::sync::Mutex::new((now, 0))));
        let mut w = w.lock().unwrap_or_else(|p| p.into_inner());
        if now.duration_since(w.0) >= WINDOW {
            *w = (now, 0);
        }
        let reset = (WINDOW - now.duration_since(w.0)).as_secs().max(1);
        if w.1 >= self.per_minute {
            return (Err(()), reset);
        }
        w.1 += 1;
        (Ok(self.per_minute - w.1), reset)
    }
}

pub async fn limit(
    State((state, limiter)): State<(AppState, Arc<RateLimiter>)>,
    req: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = req.into_parts();
    let ip = app::ssr::client_ip_of(&parts, state.trust_proxy).unwrap_or_default();
    let key_id = super::bearer(&parts.headers)
        .as_deref()
        .and_then(app::ssr::api_keys::public_id)
        .map(str::to_string);
    if let Some(reset) = limiter.turned_away(&ip, key_id.as_deref(), Instant::now()) {
        return Problem::too_many(
            format!("Too many requests with a refused API key from this address. Try again in {reset} s."),
            reset,
        )
        .into_response();
    }
    let caller = match Caller::from_request_parts(&mut parts, &state).await {
        Ok(c) => c,
        Err(p) => {
            if p.status == 401 {
                limiter.refused(ip, key_id.as_deref(), Instant::now());
            }
            return p.into_response();
        }
    };
    if let Some(id) = key_id {
        limiter.known.insert(id, ());
    }
    let per_minute = limiter.per_key.per_minute;
    let (taken, reset) = limiter.per_key.take(caller.0.key_id, Instant::now());
    let remaining = taken.unwrap_or(0);
    let mut res = match taken {
        Ok(_) => next.run(Request::from_parts(parts, body)).await,
        Err(()) => Problem::too_many(
            format!(
                "This API key made {per_minute} requests in the last minute, its limit. Try again in {reset} s."
            ),
            reset,
        )
        .into_response(),
    };
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("\"per-key\";q={per_minute};w=60")) {
        h.insert("ratelimit-policy", v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("\"per-key\";r={remaining};t={reset}")) {
        h.insert("ratelimit", v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_its_budget_per_window_and_then_waits_for_the_next() {
        let l = Windows::new(3);
        let t0 = Instant::now();
        assert_eq!(l.take(1, t0).0, Ok(2));
        assert_eq!(l.take(1, t0).0, Ok(1));
        assert_eq!(l.take(1, t0).0, Ok(0));
        let (r, reset) = l.take(1, t0 + Duration::from_secs(20));
        assert_eq!(r, Err(()));
        assert_eq!(reset, 40);
        // Another key has its own budget.
        assert_eq!(l.take(2, t0).0, Ok(2));
        // A minute later the budget is whole again.
        assert_eq!(l.take(1, t0 + WINDOW).0, Ok(2));
        assert_eq!(l.spent(&1, t0 + WINDOW), None);
        assert_eq!(l.spent(&2, t0), None);
        let _ = l.take(2, t0);
        let _ = l.take(2, t0);
        assert_eq!(l.spent(&2, t0 + Duration::from_secs(1)), Some(59));
    }

    #[test]
    fn an_address_that_guesses_is_turned_away_but_known_keys_behind_it_are_heard() {
        let l = RateLimiter::new(600);
        let t0 = Instant::now();
        for _ in 0..REFUSALS_PER_MINUTE {
            assert_eq!(l.turned_away("10.0.0.1", Some("aaaaaaaaaaaa"), t0), None);
            l.refused("10.0.0.1".into(), Some("aaaaaaaaaaaa"), t0);
        }
        // Spent: unknown ids and no key are turned away; another address is not.
        assert_eq!(
            l.turned_away("10.0.0.1", Some("bbbbbbbbbbbb"), t0),
            Some(60)
        );
        assert_eq!(l.turned_away("10.0.0.1", None, t0), Some(60));
        assert_eq!(l.turned_away("10.0.0.2", None, t0), None);
        // A key that authenticated lately is still heard from that address...
        l.known.insert("cccccccccccc".into(), ());
        assert_eq!(l.turned_away("10.0.0.1", Some("cccccccccccc"), t0), None);
        // ...unless that key id is the one being guessed at.
        l.known.insert("aaaaaaaaaaaa".into(), ());
        assert!(l
            .turned_away("10.0.0.1", Some("aaaaaaaaaaaa"), t0)
            .is_some());
        // A minute later the address is heard again.
        assert_eq!(l.turned_away("10.0.0.1", None, t0 + WINDOW), None);
    }
}

//! A request budget per API key: a fixed window of one minute, per server process. Every answer
//! carries `RateLimit-Policy` and `RateLimit` (IETF httpapi draft); over budget → 429 with
//! `Retry-After`. The per-user hourly limits of calls and messages still apply on top.

use std::sync::Arc;
use std::time::Duration;

use app::ssr::AppState;
use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode};
use tokio::time::Instant;

use super::{Caller, Problem};

const WINDOW: Duration = Duration::from_secs(60);

pub struct RateLimiter {
    per_minute: u32,
    windows: moka::sync::Cache<i64, Arc<std::sync::Mutex<(Instant, u32)>>>,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> RateLimiter {
        RateLimiter {
            per_minute: per_minute.max(1),
            windows: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(WINDOW * 2)
                .build(),
        }
    }

    /// Takes one request from `key`'s budget: `Ok(remaining)` or `Err(seconds until reset)`, and
    /// the seconds until the window resets.
    fn take(&self, key: i64, now: Instant) -> (Result<u32, ()>, u64) {
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
    let caller = match Caller::from_request_parts(&mut parts, &state).await {
        Ok(c) => c,
        Err(p) => return p.into_response(),
    };
    let (taken, reset) = limiter.take(caller.0.key_id, Instant::now());
    let remaining = taken.unwrap_or(0);
    let mut res = match taken {
        Ok(_) => next.run(Request::from_parts(parts, body)).await,
        Err(()) => {
            let mut p = Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "This API key made {} requests in the last minute, its limit. Try again in {reset} s.",
                    limiter.per_minute
                ),
            );
            p.retry_after = Some(reset);
            p.into_response()
        }
    };
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("\"per-key\";q={};w=60", limiter.per_minute)) {
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
        let l = RateLimiter::new(3);
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
    }
}

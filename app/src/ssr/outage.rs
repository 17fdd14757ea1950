//! Whether the database is away: one detector shared by everything that falls back to what it
//! remembers (`last_known`, the hot cache) and by the middleware that answers 503 at once
//! meanwhile. An outage is declared only after several failed probes in a row.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::{Connection, PgConnection, PgPool};

/// The errors that mean "the database cannot be reached now", not "the query is wrong".
pub fn unreachable(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed
    ) || matches!(e, sqlx::Error::Database(d) if d.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P")))
}

/// How long a confirmed outage stands before the database is tried again (by one probe).
pub const RECHECK: Duration = Duration::from_secs(1);

/// How long a probe waits for a fresh connection.
const PROBE_TIMEOUT: Duration = Duration::from_millis(250);

/// Failed probes in a row that declare an outage: one slow connection fails a probe, not all.
pub const PROBES: u32 = 3;

/// The pause between two probes of one confirmation.
const PROBE_PAUSE: Duration = Duration::from_millis(100);

/// The longest a confirmation takes (every probe waiting its whole timeout).
pub const LONGEST_CONFIRM: Duration = Duration::from_millis(
    PROBES as u64 * PROBE_TIMEOUT.as_millis() as u64
        + (PROBES as u64 - 1) * PROBE_PAUSE.as_millis() as u64,
);

type Probe = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

/// Whether the database is away: shared by everything that falls back, and by the middleware that
/// answers 503 at once meanwhile.
///
/// A failed read alone proves nothing (`PoolTimedOut` also means a busy pool), so an outage is
/// only declared when probes, fresh connections outside the pool, cannot reach the database
/// either: `PROBES` in a row, `PROBE_PAUSE` apart, so that one slow connection is not an outage
/// (the first that reaches it ends the confirmation). One confirmation runs at a time; the others
/// wait for its answer. Once declared, reads skip the database for `RECHECK`; after that the next
/// read probes once first (at most `PROBE_TIMEOUT`): one failure keeps an outage that was already
/// confirmed.
#[derive(Clone)]
pub struct Outage {
    /// Set with `down_at`: the hot path (no outage) reads only this.
    maybe_down: Arc<AtomicBool>,
    state: Arc<Mutex<State>>,
    probing: Arc<tokio::sync::Mutex<()>>,
    probe: Probe,
}

#[derive(Default)]
struct State {
    /// When a probe last found the database away (cleared by any successful read).
    down_at: Option<Instant>,
    /// When a probe last reached it (a busy pool, not an outage).
    up_at: Option<Instant>,
}

impl Outage {
    /// Probes with a fresh connection made with `pool`'s options.
    pub fn new(pool: &PgPool) -> Self {
        let opts = (*pool.connect_options()).clone();
        Outage::with_probe(move || {
            let opts = opts.clone();
            Box::pin(async move {
                match tokio::time::timeout(PROBE_TIMEOUT, PgConnection::connect_with(&opts)).await {
                    Ok(Ok(conn)) => {
                        let _ = tokio::time::timeout(PROBE_TIMEOUT, conn.close()).await;
                        true
                    }
                    _ => false,
                }
            })
        })
    }

    /// `probe` answers whether the database can be reached now.
    pub fn with_probe<F>(probe: impl Fn() -> F + Send + Sync + 'static) -> Self
    where
        F: Future<Output = bool> + Send + 'static,
    {
        Outage {
            maybe_down: Arc::default(),
            state: Arc::default(),
            probing: Arc::default(),
            probe: Arc::new(move || Box::pin(probe())),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A probe found the database away within the last `RECHECK`.
    pub fn ongoing(&self) -> bool {
        if !self.maybe_down.load(Ordering::Acquire) {
            return false;
        }
        self.state().down_at.is_some_and(|t| t.elapsed() < RECHECK)
    }

    /// Whether to skip the database now: an outage within `RECHECK`, or one before that a probe
    /// now confirms.
    pub async fn down(&self) -> bool {
        if !self.maybe_down.load(Ordering::Acquire) {
            return false;
        }
        let since = self.state().down_at;
        match since {
            None => false,
            Some(t) if t.elapsed() < RECHECK => true,
            Some(_) => self.confirm().await,
        }
    }

    /// After a read failed as unreachable: whether the database is really away.
    pub async fn confirm(&self) -> bool {
        let _one = self.probing.lock().await;
        {
            let s = self.state();
            if s.down_at.is_some_and(|t| t.elapsed() < RECHECK) {
                return true;
            }
            if s.up_at.is_some_and(|t| t.elapsed() < RECHECK) {
                return false;
            }
        }
        let tries = if self.maybe_down.load(Ordering::Acquire) {
            1
        } else {
            PROBES
        };
        let mut up = false;
        for i in 0..tries {
            if i > 0 {
                tokio::time::sleep(PROBE_PAUSE).await;
            }
            if (self.probe)().await {
                up = true;
                break;
            }
        }
        let mut s = self.state();
        if up {
            s.down_at = None;
            s.up_at = Some(Instant::now());
            self.maybe_down.store(false, Ordering::Release);
        } else {
            if s.down_at.is_none() {
                tracing::warn!("database unreachable: answering what this server holds");
            }
            s.down_at = Some(Instant::now());
            self.maybe_down.store(true, Ordering::Release);
        }
        !up
    }

    /// A read reached the database: no outage (any declared one ends).
    pub(crate) fn cleared(&self) {
        if self.maybe_down.load(Ordering::Acquire) {
            self.state().down_at = None;
            self.maybe_down.store(false, Ordering::Release);
        }
    }

    /// Runs `fetch` unless an outage is confirmed (then fails at once), for a read that may answer
    /// without the database (a copy of its own): its success says nothing of the database, so it
    /// neither starts nor ends an outage.
    pub async fn unless_ongoing<T>(
        &self,
        fetch: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, sqlx::Error> {
        if self.ongoing() {
            return Err(sqlx::Error::PoolTimedOut);
        }
        fetch.await
    }

    /// Runs `fetch` (a read from the database), unless the database is away (then fails at once).
    pub async fn read<T>(
        &self,
        fetch: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, sqlx::Error> {
        if self.down().await {
            return Err(sqlx::Error::PoolTimedOut);
        }
        let r = fetch.await;
        match &r {
            Ok(_) => self.cleared(),
            Err(e) if unreachable(e) => {
                self.confirm().await;
            }
            Err(_) => {}
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    /// An outage whose probe answers as `up` says.
    fn outage(reachable: bool) -> (Outage, Arc<AtomicBool>) {
        let up = Arc::new(AtomicBool::new(reachable));
        let u = up.clone();
        let o = Outage::with_probe(move || {
            let up = u.load(Ordering::SeqCst);
            async move { up }
        });
        (o, up)
    }

    #[tokio::test]
    async fn one_slow_connection_is_not_an_outage_but_failed_probes_in_a_row_are() {
        // Probes answer in turn from the script (and then fail).
        let script = |answers: Vec<bool>| {
            let answers = Arc::new(Mutex::new(answers.into_iter()));
            let probes = Arc::new(AtomicUsize::new(0));
            let p = probes.clone();
            let o = Outage::with_probe(move || {
                p.fetch_add(1, Ordering::SeqCst);
                let up = answers.lock().unwrap().next().unwrap_or(false);
                async move { up }
            });
            (o, probes)
        };
        // A probe that timed out, then one that got through: no outage.
        let (o, probes) = script(vec![false, true]);
        assert!(!o.confirm().await);
        assert!(!o.ongoing());
        assert_eq!(probes.load(Ordering::SeqCst), 2);
        // All but the last failed: still none.
        let (o, probes) = script([vec![false; PROBES as usize - 1], vec![true]].concat());
        assert!(!o.confirm().await);
        assert!(!o.ongoing());
        assert_eq!(probes.load(Ordering::SeqCst), PROBES as usize);
        // Every one failed: an outage.
        let (o, probes) = script(vec![false; PROBES as usize]);
        assert!(o.confirm().await);
        assert!(o.ongoing());
        assert_eq!(probes.load(Ordering::SeqCst), PROBES as usize);
    }

    #[tokio::test]
    async fn a_read_that_succeeds_ends_the_outage() {
        let (o, up) = outage(false);
        assert!(o.confirm().await);
        assert!(o.ongoing());
        up.store(true, Ordering::SeqCst);
        o.cleared();
        assert!(!o.down().await);
        assert_eq!(o.read(async { Ok(1) }).await.unwrap(), 1);
        assert!(!o.ongoing());
    }
}

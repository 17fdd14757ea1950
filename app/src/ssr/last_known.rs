//! What this process last read from the database about who may do what, kept for a short while
//! so that, while the database cannot be reached, a signed-in member can still get answers the hot
//! cache holds. Only reads fall back: anything that writes or pays still needs the database.
//!
//! The price is a bounded window of staleness, and only during an outage: a session ended, a
//! member removed or a password changed on another server in the last `KEEP` before the database
//! went away is honoured here only once the database is back.

use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use moka::sync::Cache;
use sqlx::{Connection, PgConnection, PgPool};

use super::auth::User;
use super::db::orgs::OrgRow;
use crate::model::{OrgLink, Role};

/// How long an answer read from the database may stand in for it (as an org's configuration does,
/// see `providers::STALE_LIMIT`).
pub const KEEP: Duration = Duration::from_secs(15 * 60);

/// Entries per kind: far more signed-in people than one server sees in `KEEP`.
const CAPACITY: u64 = 100_000;

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

    fn cleared(&self) {
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

/// One kind of answer, by key, for `KEEP` after it was last read.
#[derive(Clone)]
pub struct Recall<K, V> {
    kept: Cache<K, V>,
    outage: Outage,
}

impl<K, V> Recall<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    pub fn new(outage: Outage) -> Self {
        Recall {
            kept: Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(KEEP)
                .build(),
            outage,
        }
    }

    /// Reads through `fetch`; when the database cannot be reached, answers what `fetch` last
    /// returned for `key` (within `KEEP`), else the error.
    pub async fn read(
        &self,
        key: K,
        fetch: impl Future<Output = Result<V, sqlx::Error>>,
    ) -> Result<V, sqlx::Error> {
        match self.outage.read(fetch).await {
            Ok(v) => {
                self.kept.insert(key, v.clone());
                Ok(v)
            }
            Err(e) => self.recall(&key, e),
        }
    }

    /// As `read`, for an answer that may be "none": only found ones are remembered (so unknown
    /// keys cost no memory), and a "none" forgets what was remembered.
    pub async fn read_found(
        &self,
        key: K,
        fetch: impl Future<Output = Result<Option<V>, sqlx::Error>>,
    ) -> Result<Option<V>, sqlx::Error> {
        match self.outage.read(fetch).await {
            Ok(Some(v)) => {
                self.kept.insert(key, v.clone());
                Ok(Some(v))
            }
            Ok(None) => {
                self.kept.invalidate(&key);
                Ok(None)
            }
            Err(e) => self.recall(&key, e).map(Some),
        }
    }

    /// After `fetch` failed with `e`: what was remembered for `key`, during a confirmed outage
    /// only; else `e`.
    fn recall(&self, key: &K, e: sqlx::Error) -> Result<V, sqlx::Error> {
        match self.kept.get(key) {
            Some(v) if self.outage.ongoing() => {
                metrics::counter!("phonehub_last_known_answers_total").increment(1);
                Ok(v)
            }
            _ => Err(e),
        }
    }

    /// What the database will say once a queued write lands (for reads during an outage).
    pub fn remember(&self, key: K, value: V) {
        self.kept.insert(key, value);
    }

    /// Whether an answer for `key` is remembered.
    pub fn holds(&self, key: &K) -> bool {
        self.kept.contains_key(key)
    }

    /// Stops standing in for `key`: what was read about it no longer holds.
    pub fn forget(&self, key: &K) {
        self.kept.invalidate(key);
    }

    pub fn forget_all(&self) {
        self.kept.invalidate_all();
    }
}

/// The access answers every signed-in request reads: the user, their orgs, an org by slug with
/// their role in it (only orgs that exist: an unknown slug is not remembered).
#[derive(Clone)]
pub struct LastKnown {
    pub outage: Outage,
    pub users: Recall<i64, Option<User>>,
    pub links: Recall<i64, Vec<OrgLink>>,
    pub access: Recall<(String, i64), (OrgRow, Option<Role>)>,
    /// Whether an org has asked for a number (and may see the shared cache's answer).
    pub asked: Recall<(i64, String), bool>,
}

impl LastKnown {
    pub fn new(outage: Outage) -> Self {
        LastKnown {
            users: Recall::new(outage.clone()),
            links: Recall::new(outage.clone()),
            access: Recall::new(outage.clone()),
            asked: Recall::new(outage.clone()),
            outage,
        }
    }

    /// Probing with fresh connections made with `pool`'s options.
    pub fn for_pool(pool: &PgPool) -> Self {
        LastKnown::new(Outage::new(pool))
    }

    /// Forgets what was read about `user_id`'s account and access: a member removed, a role, a
    /// password or staff flags changed. Called where this server makes such a change, and for
    /// every server through `LISTEN phonehub_access` (a trigger on `users` and `memberships`),
    /// so an outage that follows cannot bring the old answer back.
    pub fn forget_user(&self, user_id: i64) {
        self.users.forget(&user_id);
        self.links.forget(&user_id);
        // Keyed by (org, user): dropping all is cheap and only costs a read while the database is up.
        self.access.forget_all();
    }

    fn forget_everyone(&self) {
        self.users.forget_all();
        self.links.forget_all();
        self.access.forget_all();
    }

    /// Listens for changed accounts and memberships until the process ends, reconnecting after a
    /// lost connection (and then forgetting everything: a change may have been missed).
    pub fn spawn_listener(&self, pool: &PgPool) {
        let known = self.clone();
        super::listen::forever(
            pool,
            "access listener",
            move |own| {
                let known = known.clone();
                async move {
                    let mut listener = sqlx::postgres::PgListener::connect_with(&own).await?;
                    listener.ignore_pool_close_event(false);
                    listener.eager_reconnect(false);
                    listener.listen(ACCESS_CHANNEL).await?;
                    known.forget_everyone();
                    loop {
                        match listener.try_recv().await? {
                            Some(n) => match n.payload().parse::<i64>() {
                                Ok(id) => known.forget_user(id),
                                Err(_) => known.forget_everyone(),
                            },
                            None => return Ok(()),
                        }
                    }
                }
            },
            || {},
        );
    }
}

/// Changed accounts and memberships (the payload is the user's id).
const ACCESS_CHANNEL: &str = "phonehub_access";

impl std::fmt::Debug for LastKnown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LastKnown").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    fn down() -> sqlx::Error {
        sqlx::Error::PoolTimedOut
    }

    /// An outage whose probe answers `reachable`, counting probes.
    fn outage(reachable: bool) -> (Outage, Arc<AtomicBool>, Arc<AtomicUsize>) {
        let (up, probes) = (
            Arc::new(AtomicBool::new(reachable)),
            Arc::new(AtomicUsize::new(0)),
        );
        let (u, p) = (up.clone(), probes.clone());
        let o = Outage::with_probe(move || {
            p.fetch_add(1, Ordering::SeqCst);
            let up = u.load(Ordering::SeqCst);
            async move { up }
        });
        (o, up, probes)
    }

    #[tokio::test]
    async fn answers_the_last_read_only_while_the_database_is_away() {
        let (o, _, probes) = outage(false);
        let r: Recall<i64, i64> = Recall::new(o);
        // Nothing read yet: the outage is the answer.
        assert!(r.read(1, async { Err(down()) }).await.is_err());
        assert_eq!(
            probes.load(Ordering::SeqCst),
            PROBES as usize,
            "the failure was probed, several times"
        );
        // For a while after an outage is confirmed the database is not asked at all.
        assert!(r.outage.ongoing());
        assert!(r.read(1, async { Ok(10) }).await.is_err());
        r.outage.cleared();
        assert_eq!(r.read(1, async { Ok(10) }).await.unwrap(), 10);
        assert_eq!(r.read(1, async { Err(down()) }).await.unwrap(), 10);
        r.outage.cleared();
        // A newer read replaces it.
        assert_eq!(r.read(1, async { Ok(11) }).await.unwrap(), 11);
        assert_eq!(r.read(1, async { Err(down()) }).await.unwrap(), 11);
        r.outage.cleared();
        // Another key is not answered from this one.
        assert!(r.read(2, async { Err(down()) }).await.is_err());
        r.outage.cleared();
        // A query error is not an outage: it is never papered over, nor probed.
        let before = probes.load(Ordering::SeqCst);
        assert!(matches!(
            r.read(1, async { Err(sqlx::Error::RowNotFound) }).await,
            Err(sqlx::Error::RowNotFound)
        ));
        assert!(!r.outage.ongoing(), "a query error is not an outage");
        assert_eq!(probes.load(Ordering::SeqCst), before);
    }

    #[tokio::test]
    async fn a_busy_pool_is_not_an_outage_so_nothing_is_answered_from_memory() {
        // The attack: exhaust the pool (reads time out) while the database is up, hoping a
        // revoked session or a removed member is answered from memory.
        let (o, _, probes) = outage(true);
        let r: Recall<i64, i64> = Recall::new(o);
        assert_eq!(r.read(1, async { Ok(10) }).await.unwrap(), 10);
        for _ in 0..3 {
            assert!(r.read(1, async { Err(down()) }).await.is_err());
            assert!(!r.outage.ongoing());
        }
        // One probe answered for the next second: a timed-out pool does not cost a connection
        // per request.
        assert_eq!(probes.load(Ordering::SeqCst), 1);
        // The database still answers reads in the meantime.
        assert_eq!(r.read(1, async { Ok(12) }).await.unwrap(), 12);
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
        let (o, up, _) = outage(false);
        assert!(o.confirm().await);
        assert!(o.ongoing());
        up.store(true, Ordering::SeqCst);
        o.cleared();
        assert!(!o.down().await);
        assert_eq!(o.read(async { Ok(1) }).await.unwrap(), 1);
        assert!(!o.ongoing());
    }
}

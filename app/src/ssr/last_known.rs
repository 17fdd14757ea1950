//! What this process last read from the database about who may do what, kept for a short while
//! so that, while the database cannot be reached, a signed-in member can still get answers the hot
//! cache holds. Only reads fall back: anything that writes or pays still needs the database.
//!
//! The price is a bounded window of staleness, and only during an outage: a session ended, a
//! member removed or a password changed on another server in the last `KEEP` before the database
//! went away is honoured here only once the database is back.

use std::future::Future;
use std::hash::Hash;
use std::time::Duration;

use moka::sync::Cache;
use sqlx::PgPool;

use super::db::orgs::OrgRow;
use super::db::users::User;
pub use super::outage::Outage;
use crate::model::{OrgLink, Role};

/// How long an answer read from the database may stand in for it (as an org's configuration does,
/// see `providers::STALE_LIMIT`).
pub const KEEP: Duration = Duration::from_secs(15 * 60);

/// Entries per kind: far more signed-in people than one server sees in `KEEP`.
const CAPACITY: u64 = 100_000;

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
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::super::outage::PROBES;

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
}

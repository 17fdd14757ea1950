//! What this process last read from the database about who may do what, kept for a short while
//! so that, while the database cannot be reached, a signed-in member can still get answers the hot
//! cache holds. Only reads fall back: anything that writes or pays still needs the database.
//!
//! The price is a bounded window of staleness, and only during an outage: a session ended, a
//! member removed or a password changed on another server in the last `KEEP` before the database
//! went away is honoured here only once the database is back.

use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use moka::sync::Cache;

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

/// How long after finding the database unreachable reads skip it: each would only wait the
/// pool's acquire timeout to fail again. After this one request tries it again.
pub const RECHECK: Duration = Duration::from_secs(1);

/// Whether the database was just found unreachable (shared by everything that falls back).
#[derive(Clone, Default)]
pub struct Outage {
    since: Arc<Mutex<Option<Instant>>>,
}

impl Outage {
    /// The database failed to answer within the last `RECHECK`.
    pub fn ongoing(&self) -> bool {
        self.since
            .lock()
            .ok()
            .and_then(|s| *s)
            .is_some_and(|t| t.elapsed() < RECHECK)
    }

    pub fn noticed(&self) {
        if let Ok(mut s) = self.since.lock() {
            *s = Some(Instant::now());
        }
    }

    fn cleared(&self) {
        if let Ok(mut s) = self.since.lock() {
            *s = None;
        }
    }

    /// Runs `fetch`, unless the database was just found unreachable (then fails at once).
    pub async fn read<T>(
        &self,
        fetch: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, sqlx::Error> {
        if self.ongoing() {
            return Err(sqlx::Error::PoolTimedOut);
        }
        let r = fetch.await;
        match &r {
            Ok(_) => self.cleared(),
            Err(e) if unreachable(e) => self.noticed(),
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
            Err(e) if unreachable(&e) => match self.kept.get(&key) {
                Some(v) => {
                    metrics::counter!("phonehub_last_known_answers_total").increment(1);
                    Ok(v)
                }
                None => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    /// What the database will say once a queued write lands (for reads during an outage).
    pub fn remember(&self, key: K, value: V) {
        self.kept.insert(key, value);
    }

    pub fn forget(&self, key: &K) {
        self.kept.invalidate(key);
    }
}

/// The access answers every signed-in request reads: the user, their orgs, an org by slug with
/// their role in it.
#[derive(Clone)]
pub struct LastKnown {
    pub outage: Outage,
    pub users: Recall<i64, Option<User>>,
    pub links: Recall<i64, Vec<OrgLink>>,
    pub access: Recall<(String, i64), Option<(OrgRow, Option<Role>)>>,
    /// Whether an org has asked for a number (and may see the shared cache's answer).
    pub asked: Recall<(i64, String), bool>,
}

impl Default for LastKnown {
    fn default() -> Self {
        let outage = Outage::default();
        LastKnown {
            users: Recall::new(outage.clone()),
            links: Recall::new(outage.clone()),
            access: Recall::new(outage.clone()),
            asked: Recall::new(outage.clone()),
            outage,
        }
    }
}

impl std::fmt::Debug for LastKnown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LastKnown").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn down() -> sqlx::Error {
        sqlx::Error::PoolTimedOut
    }

    #[tokio::test]
    async fn answers_the_last_read_only_while_the_database_is_unreachable() {
        let r: Recall<i64, i64> = Recall::new(Outage::default());
        // Nothing read yet: the outage is the answer.
        assert!(r.read(1, async { Err(down()) }).await.is_err());
        // For a second after an outage is noticed the database is not asked at all.
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
        // A query error is not an outage: it is never papered over.
        assert!(matches!(
            r.read(1, async { Err(sqlx::Error::RowNotFound) }).await,
            Err(sqlx::Error::RowNotFound)
        ));
        assert!(!r.outage.ongoing(), "a query error is not an outage");
        r.forget(&1);
        assert!(r.read(1, async { Err(down()) }).await.is_err());
    }
}

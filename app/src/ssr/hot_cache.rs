//! The per-process hot cache of lookup answers: a cache hit needs no database read. Bounded in
//! memory, each entry expires with its row, and a row changed anywhere (a refresh in another
//! process, a failure, a purge) is dropped here when Postgres says so (`LISTEN/NOTIFY`, see the
//! `phone_numbers_changed` trigger). While the listener is disconnected (say the database is
//! down) the entries held still answer and nothing new is kept; when it listens again everything
//! held is dropped, since a change may have gone unheard in between.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::sync::Cache;
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use telephony::E164;
use time::OffsetDateTime;

use super::db::lookup_cache::Cached;

/// The channel the trigger notifies with the number whose row changed.
pub const CHANNEL: &str = "phonehub_lookup_rows";
/// The most memory the entries may take (estimated per entry).
const MAX_BYTES: u64 = 32 * 1024 * 1024;

#[derive(Clone)]
pub struct HotCache {
    rows: Cache<String, Arc<Cached>>,
    /// Bumped by every invalidation: a row read from the database before it may be stale, and
    /// is not kept (see `generation` and `keep`).
    generation: Arc<AtomicU64>,
    /// Whether the listener is connected and listening (entries are kept only while it is).
    listening: Arc<AtomicBool>,
}

impl std::fmt::Debug for HotCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HotCache")
            .field("entries", &self.rows.entry_count())
            .finish()
    }
}

/// Entries live until their row's answer expires.
struct UntilRowExpires;

impl moka::Expiry<String, Arc<Cached>> for UntilRowExpires {
    fn expire_after_create(
        &self,
        _key: &String,
        row: &Arc<Cached>,
        _created_at: Instant,
    ) -> Option<Duration> {
        let left = row.lookup_expires_at? - OffsetDateTime::now_utc();
        Some(Duration::try_from(left).unwrap_or(Duration::ZERO))
    }
}

/// A rough size of an entry: the strings it holds and the struct around them.
fn weight(key: &str, row: &Arc<Cached>) -> u32 {
    let strings = [
        &row.country_code,
        &row.calling_country_code,
        &row.national_format,
        &row.line_type,
        &row.carrier_name,
        &row.mobile_country_code,
        &row.mobile_network_code,
        &row.caller_name,
        &row.caller_type,
        &row.address_street,
        &row.address_city,
        &row.address_region,
        &row.address_postal_code,
        &row.error_message,
        &row.answered_by,
    ];
    let text: usize = strings
        .iter()
        .map(|s| s.as_ref().map_or(0, String::len))
        .sum();
    let bytes = 2 * key.len() + text + std::mem::size_of::<Cached>() + 64;
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

impl Default for HotCache {
    fn default() -> Self {
        HotCache::new(MAX_BYTES)
    }
}

impl HotCache {
    pub fn new(max_bytes: u64) -> HotCache {
        HotCache {
            rows: Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|k: &String, v: &Arc<Cached>| weight(k, v))
                .expire_after(UntilRowExpires)
                .build(),
            generation: Arc::new(AtomicU64::new(0)),
            listening: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The number's answer, if held here and still fresh for a request that needs (or not) the
    /// caller's name.
    pub fn get(&self, e164: &E164, now: OffsetDateTime, caller_name: bool) -> Option<Arc<Cached>> {
        self.rows
            .get(e164.as_str())
            .filter(|row| row.fresh(now, caller_name))
    }

    /// As `get`, for an org that keeps answers `cache_days` days: the answer must also be fresh
    /// by that org's own days (an entry is held no longer than its row's own expiry).
    pub fn get_for(
        &self,
        e164: &E164,
        now: OffsetDateTime,
        caller_name: bool,
        cache_days: i32,
    ) -> Option<Arc<Cached>> {
        self.get(e164, now, caller_name)
            .filter(|row| row.fresh_for(now, caller_name, cache_days))
    }

    /// Read before a database read: `keep` refuses the row if anything was invalidated since.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Whether changes made elsewhere reach this cache now.
    pub fn listening(&self) -> bool {
        self.listening.load(Ordering::Acquire)
    }

    /// Keeps a fresh row read from the database at `generation` (only while listening: without
    /// the listener nothing would drop it when another server refreshes the row).
    pub fn keep(&self, row: &Cached, generation: u64) {
        if row.fresh(OffsetDateTime::now_utc(), false)
            && self.listening()
            && self.generation() == generation
        {
            self.rows.insert(row.e164.clone(), Arc::new(row.clone()));
            // An invalidation that raced the insert wins.
            if self.generation() != generation {
                self.rows.invalidate(&row.e164);
            }
        }
    }

    pub fn forget(&self, e164: &str) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.rows.invalidate(e164);
    }

    pub fn forget_all(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.rows.invalidate_all();
    }

    pub fn entries(&self) -> u64 {
        self.rows.entry_count()
    }

    /// Listens for changed rows until the process ends, reconnecting after a lost connection.
    pub fn spawn_listener(&self, pool: &PgPool) {
        let (cache, lost) = (self.clone(), self.clone());
        super::listen::forever(
            pool,
            "hot cache listener",
            move |own| {
                let cache = cache.clone();
                async move { listen(&cache, &own).await }
            },
            // Nothing new is kept until the listener is back; what is held still answers (a
            // database outage changes no row) and is dropped once it listens again, since a
            // row may have changed between the database's return and that moment.
            move || lost.listening.store(false, Ordering::Release),
        );
    }
}

/// Serves one connection: everything held before it listened is dropped once it does.
async fn listen(cache: &HotCache, pool: &PgPool) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.ignore_pool_close_event(false);
    // A lost connection ends this call (the caller stops keeping rows at once), rather than
    // being reconnected inside `try_recv` while rows are still kept.
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    cache.forget_all();
    cache.listening.store(true, Ordering::Release);
    loop {
        // `None`: the connection dropped (the next call would reconnect, but messages may
        // have been lost in between, so start over).
        match listener.try_recv().await? {
            Some(n) if n.payload() == "*" => cache.forget_all(),
            Some(n) => cache.forget(n.payload()),
            None => return Ok(()),
        }
    }
}

//! Lookup attribution: every lookup request becomes an event, written in batches (one statement
//! inserts the events and updates the daily and per-number rollups).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot, watch};

use super::outage::unreachable;

pub use super::db::lookups::Event;

enum Msg {
    Event(Event),
    Flush(oneshot::Sender<()>),
}

/// Writes lookup events in batches (one statement inserts the events and updates the daily and
/// per-number rollups). `flush` waits until everything recorded so far is in the database.
#[derive(Clone)]
pub struct EventSink {
    tx: mpsc::Sender<Msg>,
    /// Events recorded and not yet written (or given up on).
    pending: Arc<AtomicUsize>,
    lost: Arc<AtomicU64>,
    /// The last write could not reach the database (pages then do not wait for a flush).
    stalled: Arc<watch::Sender<bool>>,
}

impl std::fmt::Debug for EventSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EventSink")
    }
}

const BATCH: usize = 1000;
const BATCH_WINDOW: Duration = Duration::from_millis(50);
/// Events waiting to be written at most (a database outage fills it). Then free events (hits,
/// errors) are counted in `phonehub_lookup_events_lost_total` rather than making requests wait;
/// a paid one (a miss or refresh, which has cost the org money) waits for room.
const BUFFER: usize = 100_000;

impl EventSink {
    /// Starts the writer task (needs a Tokio runtime).
    pub fn start(pool: PgPool) -> EventSink {
        let (tx, rx) = mpsc::channel(BUFFER);
        let pending = Arc::new(AtomicUsize::new(0));
        let stalled = Arc::new(watch::Sender::new(false));
        tokio::spawn(writer(pool, rx, pending.clone(), stalled.clone()));
        EventSink {
            tx,
            pending,
            lost: Arc::new(AtomicU64::new(0)),
            stalled,
        }
    }

    pub async fn record(&self, e: Event) {
        let paid = e.cost_micros > 0;
        self.pending.fetch_add(1, Ordering::AcqRel);
        let sent = if paid {
            self.tx.send(Msg::Event(e)).await.is_ok()
        } else {
            self.tx.try_send(Msg::Event(e)).is_ok()
        };
        if !sent {
            self.pending.fetch_sub(1, Ordering::AcqRel);
            metrics::counter!("phonehub_lookup_events_lost_total").increment(1);
            // One line per thousand, not one per event, while the buffer stays full.
            let n = self.lost.fetch_add(1, Ordering::AcqRel);
            if n.is_multiple_of(1000) {
                tracing::error!(
                    lost = n + 1,
                    "lookup event buffer full or writer stopped; events not recorded"
                );
            }
        }
    }

    /// Events recorded and not yet written.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::Acquire)
    }

    /// Before a page shows figures: waits for the events recorded so far, at most two seconds
    /// (behind a long backlog the page shows what is written). During a database outage it does
    /// not wait at all: the page cannot read the figures either.
    pub async fn flush_for_page(&self) {
        let mut stalled = self.stalled.subscribe();
        tokio::select! {
            _ = self.flush() => {}
            _ = stalled.wait_for(|s| *s) => {
                tracing::debug!("database unreachable: showing figures without waiting for events");
            }
            _ = tokio::time::sleep(Duration::from_secs(2)) => {
                tracing::debug!("showing figures before every recorded lookup is written");
            }
        }
    }

    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

async fn writer(
    pool: PgPool,
    mut rx: mpsc::Receiver<Msg>,
    pending: Arc<AtomicUsize>,
    stalled: Arc<watch::Sender<bool>>,
) {
    let mut batch: Vec<Event> = Vec::with_capacity(BATCH);
    let mut waiters: Vec<oneshot::Sender<()>> = Vec::new();
    while let Some(first) = rx.recv().await {
        fn push(m: Msg, batch: &mut Vec<Event>, waiters: &mut Vec<oneshot::Sender<()>>) {
            match m {
                Msg::Event(e) => batch.push(e),
                Msg::Flush(w) => waiters.push(w),
            }
        }
        push(first, &mut batch, &mut waiters);
        // Gather what else arrives for a moment: under load a batch holds hundreds of events, so
        // attribution costs the database one statement every BATCH_WINDOW, not one per request.
        // `flush` cuts the wait short (pages that show figures call it first).
        let until = tokio::time::Instant::now() + BATCH_WINDOW;
        while batch.len() < BATCH && waiters.is_empty() {
            match tokio::time::timeout_at(until, rx.recv()).await {
                Ok(Some(m)) => push(m, &mut batch, &mut waiters),
                _ => break,
            }
        }
        if !batch.is_empty() {
            metrics::histogram!("phonehub_lookup_event_batch_size").record(batch.len() as f64);
            if let Some(oldest) = batch.iter().map(|e| e.at).min() {
                let lag = (OffsetDateTime::now_utc() - oldest).as_seconds_f64();
                metrics::histogram!("phonehub_lookup_event_lag_seconds").record(lag.max(0.0));
            }
            write_with_retries(&pool, &batch, &stalled).await;
            pending.fetch_sub(batch.len(), Ordering::AcqRel);
            batch.clear();
        }
        for w in waiters.drain(..) {
            let _ = w.send(());
        }
    }
}

/// Writes the batch, waiting out a database outage (the buffer in front keeps requests from
/// waiting with it); rows the database refuses are tried one by one so one bad event (say its
/// org was deleted meanwhile) does not sink the others.
async fn write_with_retries(pool: &PgPool, batch: &[Event], stalled: &watch::Sender<bool>) {
    let mut delay = Duration::from_millis(100);
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        match super::db::lookups::record_events(pool, batch).await {
            Ok(()) => {
                stalled.send_replace(false);
                metrics::counter!("phonehub_lookup_events_written_total")
                    .increment(batch.len() as u64);
                return;
            }
            Err(e) if pool.is_closed() => {
                metrics::counter!("phonehub_lookup_events_lost_total")
                    .increment(batch.len() as u64);
                tracing::error!(error = %e, n = batch.len(), "pool closed; lookup events lost");
                return;
            }
            Err(e) if unreachable(&e) || attempt < 4 => {
                stalled.send_replace(unreachable(&e));
                tracing::warn!(error = %e, attempt, n = batch.len(), "writing lookup events failed");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(_) => break,
        }
    }
    for e in batch {
        match super::db::lookups::record_events(pool, std::slice::from_ref(e)).await {
            Ok(()) => metrics::counter!("phonehub_lookup_events_written_total").increment(1),
            Err(err) => {
                metrics::counter!("phonehub_lookup_events_lost_total").increment(1);
                tracing::error!(error = %err, org = e.org_id, "lookup event dropped");
            }
        }
    }
}

//! Lookup attribution: every lookup request becomes an event, written in batches (one statement
//! inserts the events and updates the daily and monthly rollups).

use std::time::Duration;

use sqlx::PgPool;
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

use super::lookups::Outcome;

/// A lookup request, as recorded for attribution.
#[derive(Debug, Clone)]
pub struct Event {
    pub org_id: i64,
    pub user_id: Option<i64>,
    pub e164: String,
    pub outcome: Outcome,
    pub cost_micros: i64,
    pub saved_micros: i64,
    pub line_type: Option<String>,
    pub at: OffsetDateTime,
}

enum Msg {
    Event(Event),
    Flush(oneshot::Sender<()>),
}

/// Writes lookup events in batches (one statement inserts the events and updates the daily and
/// monthly rollups). `flush` waits until everything recorded so far is in the database.
#[derive(Clone)]
pub struct EventSink {
    tx: mpsc::Sender<Msg>,
}

impl std::fmt::Debug for EventSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EventSink")
    }
}

const BATCH: usize = 1000;
const BATCH_WINDOW: Duration = Duration::from_millis(50);

impl EventSink {
    /// Starts the writer task (needs a Tokio runtime).
    pub fn start(pool: PgPool) -> EventSink {
        let (tx, rx) = mpsc::channel(20_000);
        tokio::spawn(writer(pool, rx));
        EventSink { tx }
    }

    pub async fn record(&self, e: Event) {
        if self.tx.send(Msg::Event(e)).await.is_err() {
            tracing::error!("lookup event writer stopped; event not recorded");
        }
    }

    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

async fn writer(pool: PgPool, mut rx: mpsc::Receiver<Msg>) {
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
            write_with_retries(&pool, &batch).await;
            batch.clear();
        }
        for w in waiters.drain(..) {
            let _ = w.send(());
        }
    }
}

async fn write_with_retries(pool: &PgPool, batch: &[Event]) {
    let mut delay = Duration::from_millis(100);
    for attempt in 1..=8 {
        match super::db::lookups::record_events(pool, batch).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(error = %e, attempt, n = batch.len(), "writing lookup events failed");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
    // One bad event (say its org was deleted meanwhile) must not sink the others.
    for e in batch {
        if let Err(err) = super::db::lookups::record_events(pool, std::slice::from_ref(e)).await {
            tracing::error!(error = %err, org = e.org_id, "lookup event dropped");
        }
    }
}

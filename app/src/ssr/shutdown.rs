//! Stopping background workers at a safe point: between two pieces of work, never in the middle
//! of one (a bulk job's chunk, a release, a purchase being settled).

use std::time::Duration;

use tokio::sync::watch;

/// Held by a worker: whether the server is stopping, and a pause that ends early when it does.
#[derive(Clone, Debug)]
pub struct StopSignal(watch::Receiver<bool>);

/// Held by the server: tells every worker to stop.
#[derive(Debug)]
pub struct StopSender(watch::Sender<bool>);

pub fn channel() -> (StopSender, StopSignal) {
    let (tx, rx) = watch::channel(false);
    (StopSender(tx), StopSignal(rx))
}

impl StopSender {
    pub fn stop(&self) {
        let _ = self.0.send(true);
    }
}

impl StopSignal {
    /// True once the server stops (or its sender is gone).
    pub fn stopping(&self) -> bool {
        *self.0.borrow() || self.0.has_changed().is_err()
    }

    /// Sleeps `d`, or less when the server starts stopping meanwhile.
    pub async fn pause(&mut self, d: Duration) {
        if self.stopping() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = self.0.changed() => {}
        }
    }
}

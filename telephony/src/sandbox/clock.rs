//! The sandbox's simulated time: real time sped up, or a manual clock that tests move.

use std::time::Duration;

use super::{Sandbox, SandboxConfig};

/// The sandbox's simulated time, in simulated seconds since the sandbox started.
pub(super) enum Clock {
    /// Real time multiplied by `scale`.
    Scaled {
        scale: f64,
        start: tokio::time::Instant,
    },
    /// Moved only by [`Sandbox::advance`]; waiters are woken through the watch channel.
    Manual(tokio::sync::watch::Sender<f64>),
}

impl Clock {
    pub(super) fn new(cfg: &SandboxConfig) -> Clock {
        if cfg.manual_clock {
            Clock::Manual(tokio::sync::watch::Sender::new(0.0))
        } else {
            Clock::Scaled {
                scale: cfg.time_scale.max(0.001),
                start: tokio::time::Instant::now(),
            }
        }
    }
}

impl Sandbox {
    /// Simulated seconds since the sandbox started.
    pub(super) fn sim_now(&self) -> f64 {
        match &self.clock {
            Clock::Scaled { scale, start } => start.elapsed().as_secs_f64() * scale,
            Clock::Manual(t) => *t.borrow(),
        }
    }

    /// Moves a manual clock forward by `sim_seconds` and wakes what was waiting for that time.
    /// Returns false (and does nothing) when the sandbox runs on the scaled real-time clock.
    pub fn advance(&self, sim_seconds: f64) -> bool {
        match &self.clock {
            Clock::Manual(t) => {
                t.send_modify(|now| *now += sim_seconds.max(0.0));
                true
            }
            Clock::Scaled { .. } => false,
        }
    }

    /// Waits until simulated time `at`. Steps of a call or message are scheduled on one timeline
    /// (each `at` is the previous one plus the step's wait), so a manual clock advanced past
    /// several steps runs them all.
    pub(super) async fn sleep_until_sim(&self, at: f64) {
        match &self.clock {
            Clock::Scaled { scale, .. } => {
                let real = (at - self.sim_now()) / scale;
                // A very slow scale must not hold a task for hours.
                tokio::time::sleep(Duration::from_secs_f64(real.clamp(0.0, 60.0))).await;
            }
            Clock::Manual(t) => {
                let mut rx = t.subscribe();
                // The sender lives in `self`, which outlives this wait; an error cannot happen.
                let _ = rx.wait_for(|now| *now >= at).await;
            }
        }
    }
}

/// The steps of a status walk still ahead of `current` (all of them when `current` is not one).
pub(super) fn after(
    mut steps: Vec<(&'static str, f64)>,
    current: &str,
) -> Vec<(&'static str, f64)> {
    if let Some(pos) = steps.iter().position(|(s, _)| *s == current) {
        steps.drain(..=pos);
    }
    steps
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::sandbox::{Sandbox, SandboxConfig};

    #[tokio::test]
    async fn a_manual_clock_stands_still_until_advanced_past_each_step() {
        let mut cfg = SandboxConfig::dev("http://127.0.0.1:9/sandbox/twilio", None);
        cfg.manual_clock = true;
        let sb = Sandbox::start(cfg);
        let waiter = {
            let sb = sb.clone();
            tokio::spawn(async move { sb.sleep_until_sim(5.0).await })
        };
        sb.advance(4.0);
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "4 s of 5 have passed");
        assert!(sb.advance(1.0));
        tokio::time::timeout(Duration::from_secs(10), waiter)
            .await
            .expect("woken when the clock reaches 5 s")
            .expect("no panic");
        assert_eq!(sb.sim_now(), 5.0);
        let mut scaled = SandboxConfig::dev("http://127.0.0.1:9/sandbox/twilio", None);
        scaled.manual_clock = false;
        assert!(
            !Sandbox::start(scaled).advance(1.0),
            "only a manual clock moves"
        );
    }
}

//! Background upkeep of owned numbers: monthly charges, release retries and purchases whose outcome was unknown.

use std::time::Duration;

use telephony::ProviderError;

use super::db;
use super::errors::NumberError;
use super::org_provider::provider_for_config;
use super::shutdown::StopSignal;
use super::AppState;

/// Charges every held number (active or releasing) its monthly price once for the current month
/// (of its org's time zone, by the app's clock).
pub async fn accrue_charges(state: &AppState) -> Result<u64, sqlx::Error> {
    db::numbers::accrue_charges(&state.pool, state.clock.now()).await
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Released {
    Done,
    /// The provider did not confirm; the number stays `releasing` and is retried.
    Pending(String),
}

/// Asks `provider` to release the number `sid` (one that sells no numbers cannot).
async fn release_at(provider: &dyn telephony::Provider, sid: &str) -> Result<(), ProviderError> {
    provider.numbers()?.release_number(sid).await
}

/// One release attempt: `released` when the provider confirms (or no longer has it), else the
/// error and the next attempt's time (1 min, doubling, at most an hour).
pub async fn attempt_release(state: &AppState, id: i64) -> Result<Released, NumberError> {
    let pool = &state.pool;
    let Some(n) = db::numbers::releasing(pool, id).await? else {
        return Ok(Released::Done);
    };
    let provider = provider_for_config(state, n.config_id, n.org_id)
        .await
        .map(|(_, p)| p);
    let outcome = match (provider, &n.provider_sid) {
        (Ok(p), Some(sid)) => match release_at(p.as_ref(), sid).await {
            Ok(()) | Err(ProviderError::NotFound { .. }) => Ok(()),
            Err(e) => Err(crate::ssr::words::release_unconfirmed(&e)),
        },
        (Ok(_), None) => Ok(()),
        (Err(e), _) => {
            tracing::warn!(number = id, error = ?e, "no provider to release a number with");
            Err(crate::ssr::words::no_provider(&e).to_string())
        }
    };
    match outcome {
        Ok(()) => {
            db::numbers::mark_released(pool, id).await?;
            Ok(Released::Done)
        }
        Err(msg) => {
            db::numbers::release_failed(pool, id, &msg).await?;
            tracing::warn!(number = %n.e164, error = %msg, "release not confirmed; will retry");
            Ok(Released::Pending(msg))
        }
    }
}

/// Every few seconds, in every server process: accrues the month's number charges (every
/// minute), releases expired budget holds, retries due releases and settles purchases whose
/// outcome was unknown (rows are claimed with `SKIP LOCKED` by pushing their next attempt
/// forward first).
pub fn spawn_number_upkeep(state: AppState, mut stop: StopSignal) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick: u64 = 0;
        loop {
            stop.pause(Duration::from_secs(5)).await;
            // Between pieces of work: a release or a purchase being settled is never cut in half
            // (what is left of the round waits for its next attempt time, in any server).
            if stop.stopping() {
                return;
            }
            if tick.is_multiple_of(12) {
                if let Err(e) = accrue_charges(&state).await {
                    tracing::warn!(error = %e, "accruing number charges failed");
                }
            }
            tick += 1;
            // Holds a stopped server left open stop holding budgets once they expire.
            if let Err(e) = super::money_guard::expire(&state.pool, state.clock.now()).await {
                tracing::warn!(error = %e, "expiring budget holds failed");
            }
            let due = db::numbers::claim_due_releases(&state.pool).await;
            settle_purchases(&state, &stop).await;
            let Ok(due) = due else { continue };
            for id in due {
                if stop.stopping() {
                    break;
                }
                if let Err(e) = attempt_release(&state, id).await {
                    tracing::warn!(id, error = %e, "release retry failed");
                }
            }
        }
    })
}

/// Purchases whose outcome was unknown (the provider timed out and could not be asked): after a
/// minute, ask the provider whether the account owns the number, and settle the row.
async fn settle_purchases(state: &AppState, stop: &StopSignal) {
    let Ok(open) = db::numbers::claim_open_purchases(&state.pool).await else {
        return;
    };
    for n in open {
        if stop.stopping() {
            return;
        }
        // The account the purchase was made with, not whatever the org uses now.
        let Ok((_, provider)) = provider_for_config(state, n.config_id, n.org_id).await else {
            continue;
        };
        let Ok(numbers) = provider.numbers() else {
            continue;
        };
        let Ok(found) = numbers.list_numbers(Some(&n.e164)).await else {
            continue;
        };
        let bought = found.into_iter().find(|x| x.phone_number == n.e164);
        let r = async {
            // The purchase's budget hold ends with it: settled once the month's charge is
            // written, or released.
            let hold = db::numbers::hold_of(&state.pool, n.id).await?;
            match &bought {
                Some(x) => {
                    db::numbers::settle_bought(&state.pool, n.id, &x.sid).await?;
                    // The month's charge is written (booked) before the hold ends.
                    db::numbers::accrue_charges(&state.pool, state.clock.now()).await?;
                }
                None => db::numbers::settle_not_bought(&state.pool, n.id).await?,
            }
            super::money_guard::end(&state.pool, hold, bought.is_some()).await
        }
        .await;
        if let Err(e) = r {
            tracing::warn!(error = %e, "settling a purchase failed");
        }
    }
}

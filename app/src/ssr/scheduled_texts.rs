//! The scheduler of texts written in their recipient's quiet hours: every second it sends those
//! whose window opened (`sms::send_held`, which takes each once, so several servers never send
//! one twice). They wait in the database, so a restart loses none.

use super::db;
use super::shutdown::StopSignal;
use super::AppState;

/// Texts the scheduler sends per round.
const PER_ROUND: i64 = 100;

/// Sends the scheduled texts whose window opened, every second until the server stops.
pub fn spawn_scheduler(state: AppState, mut stop: StopSignal) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            stop.pause(std::time::Duration::from_secs(1)).await;
            if stop.stopping() {
                return;
            }
            if let Err(e) = send_due(&state).await {
                tracing::warn!(error = %e, "sending scheduled texts failed");
            }
        }
    })
}

/// Sends the texts due now (each taken by one server only: `send_held` releases it once); how
/// many went.
pub async fn send_due(state: &AppState) -> Result<usize, sqlx::Error> {
    let due = db::quiet_hours::due(&state.pool, state.clock.now(), PER_ROUND).await?;
    let mut sent = 0;
    for id in due {
        match super::sms::send_held(state, id).await {
            Ok(true) => sent += 1,
            Ok(false) => {}
            // Refused (an opt-out, the provider): the text records why; one still scheduled (no
            // usable configuration now) is asked again in an hour, so texts that cannot go never
            // fill every round ahead of the others.
            Err(e) => {
                tracing::info!(message = id, error = %e, "a scheduled text was not sent");
                let again = state.clock.now() + time::Duration::hours(1);
                db::quiet_hours::postpone(&state.pool, id, again).await?;
            }
        }
    }
    Ok(sent)
}

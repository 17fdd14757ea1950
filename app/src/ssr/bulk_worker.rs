//! The bulk-lookup worker: in every server process it claims open jobs round-robin by org (`FOR
//! UPDATE SKIP LOCKED`, a heartbeat so a job of a stopped server is taken over) and looks each
//! distinct number up once, a few at a time (the jobs themselves are in `bulk_lookups`).

use std::time::Duration;

use futures::StreamExt;
use sqlx::PgPool;
use telephony::E164;

use super::db::bulk_lookups::{self as jobs, Claimed};
use super::errors::{GuardError, LookupError};
use super::lookups::{lookup, Outcome};
use super::shutdown::StopSignal;
use super::AppState;

/// Lookups one job runs at once (provider concurrency per server process).
pub const CONCURRENCY: usize = 4;
const CHUNK: i64 = 32;

async fn claim(pool: &PgPool, stale_after: Duration) -> Result<Option<Claimed>, sqlx::Error> {
    let token = format!("{:032x}", rand::random::<u128>());
    jobs::claim(pool, &token, stale_after).await
}

/// Claims and processes open jobs until the server stops; idles half a second when there are
/// none. A stopping server hands the job it holds back to the queue after the chunk in hand.
pub fn spawn_worker(state: AppState, mut stop: StopSignal) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while !stop.stopping() {
            match claim(&state.pool, state.job_timing.stale_after).await {
                Ok(Some(job)) => {
                    if let Err(e) = work_on(&state, &job, &stop).await {
                        tracing::warn!(job = job.id, error = %e, "bulk lookup job interrupted");
                        stop.pause(Duration::from_secs(1)).await;
                    }
                }
                Ok(None) => stop.pause(Duration::from_millis(500)).await,
                Err(e) => {
                    tracing::debug!(error = %e, "bulk lookup worker cannot reach the database");
                    stop.pause(Duration::from_secs(2)).await;
                }
            }
        }
    })
}

/// Works through a claimed job chunk by chunk; when `stop` fires, finishes the chunk in hand and
/// hands the job back to the queue.
pub async fn work_on(
    state: &AppState,
    job: &Claimed,
    stop: &StopSignal,
) -> Result<(), sqlx::Error> {
    let pool = &state.pool;
    loop {
        if stop.stopping() {
            tracing::info!(
                job = job.id,
                "stopping: bulk lookup job handed back to the queue"
            );
            return jobs::requeue(pool, job).await;
        }
        let numbers = jobs::pending_numbers(pool, job.id, CHUNK).await?;
        if numbers.is_empty() {
            return jobs::finish(pool, job).await;
        }
        let Some(results) = look_up_chunk(state, job, numbers).await? else {
            tracing::warn!(job = job.id, "bulk lookup job was taken over; stopping");
            return Ok(());
        };
        // At a hard cap the job pauses: what was answered is kept, the rest waits, marked.
        let capped = results.iter().find_map(|(_, r)| match r {
            Err(e @ LookupError::Guard(GuardError::Capped(_))) => {
                Some(crate::ssr::words::lookup_sentence(e))
            }
            _ => None,
        });
        for (n, r) in results {
            if matches!(r, Err(LookupError::Guard(GuardError::Capped(_)))) {
                continue;
            }
            if let Err(
                e @ (LookupError::NoConfig | LookupError::Disabled | LookupError::Credentials),
            ) = &r
            {
                // Nothing else in this job can succeed: stop instead of asking again per number.
                let mut tx = pool.begin().await?;
                jobs::fail(&mut tx, job.id, &crate::ssr::words::lookup_sentence(e)).await?;
                tx.commit().await?;
                return Ok(());
            }
            let (status, outcome, error) = match r {
                Ok(o) => ("done", Some(o.as_str()), None),
                Err(e) => {
                    if let LookupError::Db(source) = &e {
                        tracing::warn!(job = job.id, error = %source, "bulk lookup failed on the database");
                    }
                    (
                        "error",
                        Some("error"),
                        Some(crate::ssr::words::lookup_sentence(&e)),
                    )
                }
            };
            jobs::record_result(pool, job.id, &n, status, outcome, error.as_deref()).await?;
        }
        if let Some(sentence) = capped {
            tracing::info!(
                job = job.id,
                "bulk lookup job paused at a budget's hard cap"
            );
            return jobs::pause(pool, job, &sentence).await;
        }
    }
}

/// Looks a chunk of numbers up, a few at a time, beating the job's heartbeat on a timer of its
/// own meanwhile. None when another worker took the job over.
async fn look_up_chunk(
    state: &AppState,
    job: &Claimed,
    numbers: Vec<String>,
) -> Result<Option<Vec<(String, Result<Outcome, LookupError>)>>, sqlx::Error> {
    let pool = &state.pool;
    let deps = state.lookup_deps();
    let work = futures::stream::iter(numbers.into_iter().map(|n| {
        let deps = &deps;
        async move {
            // Stored by the parser in E.164 form.
            let r = match n.parse::<E164>() {
                Ok(e164) => lookup(deps, job.org_id, job.user_id, &e164, false, None)
                    .await
                    .map(|(o, _)| o),
                Err(e) => {
                    tracing::warn!(job = job.id, number = %n, error = %e, "a stored number no longer parses");
                    Err(LookupError::BadNumber(e))
                }
            };
            (n, r)
        }
    }))
    .buffer_unordered(CONCURRENCY)
    .collect::<Vec<(String, Result<Outcome, LookupError>)>>();
    tokio::pin!(work);
    let mut beat = tokio::time::interval(state.job_timing.heartbeat);
    let results = loop {
        tokio::select! {
            r = &mut work => break r,
            _ = beat.tick() => {
                if !jobs::heartbeat(pool, job).await? {
                    return Ok(None);
                }
            }
        }
    };
    if !jobs::heartbeat(pool, job).await? {
        return Ok(None);
    }
    Ok(Some(results))
}

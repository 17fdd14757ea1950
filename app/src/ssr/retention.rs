//! Retention: how long an org keeps recordings, message bodies, call and message records and
//! lookup events. A run per org each night (03:00 in its time zone, by the app's clock) deletes
//! what has expired: at the provider first (Twilio deletes the recording; a message's body is
//! redacted by the update that clears it), then here, and records what it did in counts. Usage
//! totals and statements keep their sums: they are kept apart from the detail, and a record goes
//! only once a statement has stated its cost.

use telephony::ProviderError;
use time::{Duration, OffsetDateTime};

use crate::error::AppError;
use crate::model::compliance::{RetentionRunView, RetentionView};

use super::db;
use super::db::compliance::{Periods, RunCounts};
use super::errors::NoProvider;
use super::format::{rfc3339, utc_minute};
use super::guard::OrgCtx;
use super::org_provider::provider_for_config;
use super::shutdown::StopSignal;
use super::AppState;

/// Items of one kind a run handles before it yields (the rest follow a minute later).
const BATCH: i64 = 200;
/// Orgs one worker round claims.
const ORGS_PER_ROUND: i64 = 20;
/// The longest period an org may set (ten years).
pub const MAX_DAYS: i32 = 3650;
/// The runs the page lists.
const RUNS_SHOWN: i64 = 30;

/// Looks for due orgs every two seconds (one indexed query) until the server stops.
pub fn spawn_retention_worker(
    state: AppState,
    mut stop: StopSignal,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            stop.pause(std::time::Duration::from_secs(2)).await;
            if stop.stopping() {
                return;
            }
            if let Err(e) = run_due(&state).await {
                tracing::warn!(error = %e, "the retention run failed");
            }
        }
    })
}

/// Claims the orgs whose run is due and runs each; returns how many ran.
pub async fn run_due(state: &AppState) -> Result<usize, sqlx::Error> {
    let now = state.clock.now();
    let due = db::compliance::claim_due(&state.pool, now, ORGS_PER_ROUND).await?;
    let mut ran = 0;
    for p in due {
        match run_org(state, p.org_id, p.periods(), now).await {
            Ok(counts) => {
                tracing::info!(org = p.org_id, ?counts, "retention run");
                ran += 1;
            }
            Err(e) => {
                tracing::error!(org = p.org_id, error = %e, "a retention run failed");
                let again = now + Duration::hours(1);
                if let Err(e) = db::compliance::run_again(&state.pool, p.org_id, again).await {
                    tracing::error!(org = p.org_id, error = %e, "rescheduling a retention run failed");
                }
            }
        }
    }
    Ok(ran)
}

/// The moment before which items with a period of `days` have expired.
fn cutoff(now: OffsetDateTime, days: Option<i32>) -> Option<OffsetDateTime> {
    days.map(|d| now - Duration::days(i64::from(d)))
}

/// The later of two cutoffs (the one that expires more): a record going takes its content first.
fn later(a: Option<OffsetDateTime>, b: Option<OffsetDateTime>) -> Option<OffsetDateTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// Whether a provider's answer to a deletion means the item is gone there (or there is nothing
/// to delete it at); Err: try again next run.
fn gone(r: Result<bool, ProviderError>) -> Result<bool, ProviderError> {
    match r {
        Ok(at_provider) => Ok(at_provider),
        Err(ProviderError::NotFound { .. }) | Err(ProviderError::Unsupported { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Without a provider to ask: the configuration that made the item was deleted (or the org has
/// none), so nothing can reach a provider's copy: deleted here only (`Ok(Ok(false))`). A database
/// failure or a configuration that cannot be used now keeps the item for the next run.
fn unreachable_provider(e: NoProvider) -> Result<Result<bool, ProviderError>, sqlx::Error> {
    match e {
        NoProvider::ConfigGone(_) | NoProvider::NotConfigured => Ok(Ok(false)),
        NoProvider::Db(e) => Err(e),
        NoProvider::Unusable(_) => Ok(Err(ProviderError::Network(
            "the phone configuration cannot be used now".into(),
        ))),
    }
}

/// Deletes recording `r` at the provider that holds it: Ok(true) deleted there, Ok(false)
/// nothing there to delete (gone already, or no configuration left to reach it), Err: the
/// provider could not now (keep it, try again).
pub async fn delete_at_provider(
    state: &AppState,
    org_id: i64,
    r: &db::compliance::ExpiredRecording,
) -> Result<Result<bool, ProviderError>, sqlx::Error> {
    Ok(
        match provider_for_config(state, r.config_id, org_id).await {
            Ok((_, provider)) => match provider.voice() {
                Ok(voice) => gone(voice.delete_recording(&r.provider_sid).await.map(|()| true)),
                Err(e) => gone(Err(e)),
            },
            Err(e) => unreachable_provider(e)?,
        },
    )
}

/// Redacts message `m`'s body at the provider that sent or received it, as
/// [`delete_at_provider`] answers (a test-mode text or one never sent: nothing there).
pub async fn redact_at_provider(
    state: &AppState,
    org_id: i64,
    m: &db::compliance::ExpiredBody,
) -> Result<Result<bool, ProviderError>, sqlx::Error> {
    Ok(match (&m.provider_sid, m.is_test) {
        (Some(sid), false) => match provider_for_config(state, m.config_id, org_id).await {
            Ok((_, provider)) => match provider.messaging() {
                Ok(messaging) => gone(messaging.redact_message(sid).await),
                Err(e) => gone(Err(e)),
            },
            Err(e) => unreachable_provider(e)?,
        },
        _ => Ok(false),
    })
}

/// One org's run: recordings, then bodies, then records, then lookup events; recorded as a run
/// (and audited) when it did anything, also when a step failed part way (what was done is said).
pub async fn run_org(
    state: &AppState,
    org_id: i64,
    p: Periods,
    now: OffsetDateTime,
) -> Result<RunCounts, sqlx::Error> {
    let mut c = RunCounts::default();
    let outcome = run_steps(state, org_id, p, now, &mut c).await;
    if c != RunCounts::default() {
        record_run(&state.pool, org_id, now, &c).await?;
    }
    if outcome? {
        db::compliance::run_again(&state.pool, org_id, now + Duration::minutes(1)).await?;
    }
    Ok(c)
}

/// The steps of a run, counting into `c`; true: a batch was full and made progress (more remain).
async fn run_steps(
    state: &AppState,
    org_id: i64,
    p: Periods,
    now: OffsetDateTime,
    c: &mut RunCounts,
) -> Result<bool, sqlx::Error> {
    let pool = &state.pool;
    let records = cutoff(now, p.records_days);
    let mut backlog = false;
    if let Some(cut) = later(cutoff(now, p.recordings_days), records) {
        backlog |= delete_recordings(state, org_id, cut, c).await?;
    }
    if let Some(cut) = later(cutoff(now, p.bodies_days), records) {
        backlog |= redact_bodies(state, org_id, (cut, now), c).await?;
    }
    if let Some(cut) = records {
        let calls = db::compliance::delete_calls(pool, org_id, cut, BATCH).await?;
        c.calls_deleted = calls as i32;
        let messages = db::compliance::delete_messages(pool, org_id, cut, BATCH).await?;
        c.messages_deleted = messages as i32;
        backlog |= calls as i64 == BATCH || messages as i64 == BATCH;
    }
    if let Some(cut) = cutoff(now, p.lookups_days) {
        let lookups = db::compliance::delete_lookups(pool, org_id, cut, BATCH).await?;
        c.lookups_deleted = lookups as i32;
        backlog |= lookups as i64 == BATCH;
    }
    Ok(backlog)
}

/// Deletes a batch of the org's recordings made before `cut`: at the provider, then here (one
/// the provider could not delete now stays for the next run). True: a full batch (more remain).
async fn delete_recordings(
    state: &AppState,
    org_id: i64,
    cut: OffsetDateTime,
    c: &mut RunCounts,
) -> Result<bool, sqlx::Error> {
    let expired = db::compliance::expired_recordings(&state.pool, org_id, cut, BATCH).await?;
    let full = expired.len() as i64 == BATCH;
    let before = c.recordings_deleted;
    for r in expired {
        match delete_at_provider(state, org_id, &r).await? {
            Ok(at_provider) => {
                db::compliance::delete_recording(&state.pool, r.id).await?;
                c.recordings_deleted += 1;
                c.provider_deleted += i32::from(at_provider);
            }
            Err(e) => {
                tracing::warn!(org = org_id, error = %e, "the provider did not delete a recording");
                c.failures += 1;
            }
        }
    }
    // Only a batch that made progress runs again soon: items the provider keeps refusing wait for
    // the next night rather than being asked every minute.
    Ok(full && c.recordings_deleted > before)
}

/// Redacts a batch of the org's message bodies from before `cut`: at the provider (a text it
/// sent or received), then here. True: a full batch (more remain).
async fn redact_bodies(
    state: &AppState,
    org_id: i64,
    (cut, now): (OffsetDateTime, OffsetDateTime),
    c: &mut RunCounts,
) -> Result<bool, sqlx::Error> {
    let expired = db::compliance::expired_bodies(&state.pool, org_id, cut, BATCH).await?;
    let full = expired.len() as i64 == BATCH;
    let before = c.bodies_redacted;
    for m in expired {
        match redact_at_provider(state, org_id, &m).await? {
            Ok(at_provider) => {
                db::compliance::redact_body(&state.pool, m.id, now).await?;
                c.bodies_redacted += 1;
                c.provider_redacted += i32::from(at_provider);
            }
            Err(e) => {
                tracing::warn!(org = org_id, error = %e, "the provider did not redact a message");
                c.failures += 1;
            }
        }
    }
    Ok(full && c.bodies_redacted > before)
}

/// Records what a run did (counts only) and audits it, in one transaction.
async fn record_run(
    pool: &sqlx::PgPool,
    org_id: i64,
    now: OffsetDateTime,
    c: &RunCounts,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    db::compliance::insert_run(&mut *tx, org_id, now, c).await?;
    let entry = db::audit::Entry {
        actor_id: None,
        org_id: Some(org_id),
        action: "retention.run",
        target: "retention",
        details: serde_json::to_value(c).unwrap_or_default(),
        ip: None,
    };
    db::audit::record(&mut *tx, entry).await?;
    tx.commit().await
}

fn view_of(p: Option<&db::compliance::PolicyRow>) -> RetentionView {
    p.map(|p| RetentionView {
        recordings_days: p.recordings_days,
        bodies_days: p.bodies_days,
        records_days: p.records_days,
        lookups_days: p.lookups_days,
    })
    .unwrap_or_default()
}

/// The org's periods, and when its next run is due (none: nothing expires).
pub async fn periods(ctx: &OrgCtx) -> Result<(RetentionView, Option<OffsetDateTime>), AppError> {
    let policy = db::compliance::policy(&ctx.state.pool, ctx.org_id).await?;
    let view = view_of(policy.as_ref());
    let next = policy
        .filter(|p| p.periods() != Periods::default())
        .map(|p| p.next_run_at);
    Ok((view, next))
}

/// The org's latest runs, newest first.
pub async fn runs(ctx: &OrgCtx) -> Result<Vec<RetentionRunView>, AppError> {
    Ok(
        db::compliance::runs(&ctx.state.pool, ctx.org_id, RUNS_SHOWN)
            .await?
            .into_iter()
            .map(|r| RetentionRunView {
                at: utc_minute(r.at),
                at_rfc3339: rfc3339(r.at),
                recordings_deleted: r.recordings_deleted,
                provider_deleted: r.provider_deleted,
                bodies_redacted: r.bodies_redacted,
                provider_redacted: r.provider_redacted,
                calls_deleted: r.calls_deleted,
                messages_deleted: r.messages_deleted,
                lookups_deleted: r.lookups_deleted,
                failures: r.failures,
            })
            .collect(),
    )
}

/// A period as typed: empty keeps the data; otherwise whole days from 1 to [`MAX_DAYS`].
pub fn parse_days(field: &str, text: &str) -> Result<Option<i32>, AppError> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    match t.parse::<i32>() {
        Ok(d) if (1..=MAX_DAYS).contains(&d) => Ok(Some(d)),
        _ => Err(AppError::validation(
            field,
            format!("Enter a number of days from 1 to {MAX_DAYS}, or leave it empty to keep."),
        )),
    }
}

/// Checks periods given as numbers (`/v1`).
pub fn check_days(field: &str, days: Option<i32>) -> Result<Option<i32>, AppError> {
    match days {
        Some(d) if !(1..=MAX_DAYS).contains(&d) => Err(AppError::validation(
            field,
            format!("Enter a number of days from 1 to {MAX_DAYS}, or null to keep."),
        )),
        d => Ok(d),
    }
}

/// Saves the org's periods (owners and admins), audited; the next run is at the org's next 03:00.
pub async fn save(ctx: &OrgCtx, v: RetentionView) -> Result<RetentionView, AppError> {
    ctx.must_manage()?;
    let p = Periods {
        recordings_days: check_days("recordings_days", v.recordings_days)?,
        bodies_days: check_days("bodies_days", v.bodies_days)?,
        records_days: check_days("records_days", v.records_days)?,
        lookups_days: check_days("lookups_days", v.lookups_days)?,
    };
    let mut tx = ctx.state.pool.begin().await?;
    let now = ctx.state.clock.now();
    db::compliance::save_policy(&mut *tx, ctx.org_id, &p, (ctx.user.id, now)).await?;
    let details = serde_json::json!({
        "recordings_days": p.recordings_days, "bodies_days": p.bodies_days,
        "records_days": p.records_days, "lookups_days": p.lookups_days,
    });
    ctx.audit(&mut *tx, "retention.saved", &ctx.slug, details)
        .await?;
    tx.commit().await?;
    Ok(periods(ctx).await?.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_whole_days_within_ten_years_or_kept() {
        assert_eq!(parse_days("x", " ").unwrap(), None);
        assert_eq!(parse_days("x", "30").unwrap(), Some(30));
        for bad in ["0", "-1", "3651", "1.5", "thirty", "99999999999"] {
            assert!(parse_days("x", bad).is_err(), "{bad}");
        }
        assert!(check_days("x", Some(0)).is_err());
        assert_eq!(check_days("x", None).unwrap(), None);
    }

    #[test]
    fn a_record_going_takes_its_content_with_it() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(1000);
        let rec = cutoff(now, Some(30));
        let body = cutoff(now, Some(90));
        assert_eq!(later(body, rec), rec);
        assert_eq!(later(None, rec), rec);
        assert_eq!(later(None, None), None);
    }
}

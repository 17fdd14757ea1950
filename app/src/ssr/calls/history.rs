//! The call history (keyset pages, newest first) and one call's page.

use sqlx::PgPool;

use crate::error::AppError;
use crate::model::call_blocks::{is_hidden, BlockReason};
use crate::model::calls::{
    CallEventView, CallPage, CallRow, NumberOption, RecordingView, ValidFilter,
};
use crate::model::cursor::Cursor;
use crate::model::money::Money;
use crate::ssr::guard::OrgCtx;
use crate::ssr::{db, format};

/// Numbers of the org the history can be filtered by (the user's own view: theirs and shared).
pub async fn filter_numbers(
    pool: &PgPool,
    org_id: i64,
    user_id: Option<i64>,
) -> Result<Vec<NumberOption>, sqlx::Error> {
    db::call_history::filter_numbers(pool, org_id, user_id).await
}

/// Whether the caller of a call can be blocked from its row: an inbound call, not blocked, from
/// a caller who showed their number (judged on the stored E.164, not the national form shown).
fn blockable(direction: &str, from_e164: &str, blocked: Option<&str>) -> bool {
    direction == "inbound" && blocked.is_none() && !is_hidden(from_e164)
}

/// One row of the history, with what the CSV export writes besides the page's columns.
pub struct HistoryRow {
    pub row: CallRow,
    pub cursor: Cursor,
    pub created_iso: String,
    pub cost: Money,
}

/// A page of call history, newest first, after the cursor; one more row than asked tells whether
/// there is a next page.
pub async fn history(
    pool: &PgPool,
    org_id: i64,
    user_id: Option<i64>,
    f: &ValidFilter,
    limit: i64,
) -> Result<Vec<HistoryRow>, sqlx::Error> {
    let mut tx = db::custom_plans(pool).await?;
    let q = db::call_history::HistoryQuery {
        org_id,
        user_id,
        status: f.status,
        direction: f.direction.as_deref(),
        number: f.number,
        from: f.from,
        to: f.to,
        recorded: f.recorded,
        q: f.q.as_deref(),
        before_micros: f.before.map(|c| c.micros),
        before_id: f.before.map(|c| c.id),
        limit,
    };
    let rows = db::call_history::history(&mut tx, &q).await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|r| HistoryRow {
            cursor: Cursor {
                micros: r.micros,
                id: r.id,
            },
            created_iso: format::rfc3339(r.created_at),
            cost: Money::from_micros(r.cost),
            row: CallRow {
                id: r.id,
                created: format::utc_minute(r.created_at),
                direction: r.direction.clone(),
                from: r.from_e164.clone(),
                to: r.to_e164,
                status: r.status,
                duration_secs: r.duration_secs,
                cost: Money::from_micros(r.cost).to_string(),
                recordings: r.recording_count,
                user: r.user,
                blockable: blockable(&r.direction, &r.from_e164, r.blocked.as_deref()),
                blocked: r.blocked.as_deref().and_then(BlockReason::parse),
            },
        })
        .collect())
}

/// One call as stored: its row, the statuses the provider reported, its recordings.
pub struct Call {
    pub detail: db::call_history::DetailRecord,
    pub events: Vec<db::call_history::EventRecord>,
    pub recordings: Vec<db::call_history::RecordingRecord>,
}

/// One call the caller may see (their own; owners, admins and staff: any of the org's), with its
/// timeline and recordings: the one read behind the call's page and `GET /v1/calls/{id}`.
pub async fn one(ctx: &OrgCtx, id: i64) -> Result<Call, AppError> {
    let pool = &ctx.state.pool;
    let detail = db::call_history::detail(pool, ctx.org_id, id, ctx.own_rows_only())
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Call {
        detail,
        events: db::call_history::events(pool, id).await?,
        recordings: db::call_history::recordings(pool, id).await?,
    })
}

/// The call's page: `one`, written as the pages write times, amounts and numbers.
pub async fn page(ctx: &OrgCtx, id: i64) -> Result<CallPage, AppError> {
    let Call {
        detail: r,
        events,
        recordings,
    } = one(ctx, id).await?;
    let recordings = recordings
        .into_iter()
        .map(|x| RecordingView {
            id: x.id,
            duration_secs: x.duration_secs,
            cost: Money::from_micros(x.cost_micros).to_string(),
            created: format::utc_minute(x.created),
        })
        .collect();
    let events = events
        .into_iter()
        .map(|e| CallEventView {
            status: e.status,
            at: format::clock(e.at),
        })
        .collect();
    let call_cost = Money::from_micros(r.cost_micros);
    let recording_cost = Money::from_micros(r.recording_cost_micros);
    let row = CallRow {
        id: r.id,
        created: format::utc_second(r.created),
        direction: r.direction.clone(),
        from: crate::ssr::shown(&r.from_e164, &ctx.country),
        to: crate::ssr::shown(&r.to_e164, &ctx.country),
        status: r.status,
        duration_secs: r.duration_secs,
        cost: (call_cost + recording_cost).to_string(),
        recordings: r.recording_count,
        user: r.user,
        blockable: blockable(&r.direction, &r.from_e164, r.blocked.as_deref()),
        blocked: r.blocked.as_deref().and_then(BlockReason::parse),
    };
    Ok(CallPage {
        org: ctx.view(),
        call: row,
        bridge: r.bridge_e164,
        number_id: r.number_id,
        error: r.error_message,
        started: r.started.map(format::utc_second),
        ended: r.ended.map(format::utc_second),
        live: r.live,
        call_cost: call_cost.to_string(),
        recording_cost: recording_cost.to_string(),
        events,
        recordings,
    })
}

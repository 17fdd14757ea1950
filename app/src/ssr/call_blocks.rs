//! Call blocking's use cases, for the call-blocking page, the call history's Block button and
//! `/v1/call-blocking`: the lists (callers refused, numbers not to call), the anonymous-caller
//! setting, the screen an inbound call passes before anything rings, and the do-not-call check
//! a call passes before the provider is asked. Changes are owners' and admins', on the record;
//! everyone in the org (and support staff) reads.

use sqlx::PgPool;
use telephony::E164;

use super::db::{self, call_blocks::EntryRow};
use super::format;
use super::guard::OrgCtx;
use crate::error::AppError;
use crate::model::call_blocks::*;
use crate::model::one_line;

/// The most blocked calls the page lists.
const PAGE_RECENT: i64 = 20;

fn entry_view(r: EntryRow) -> BlockEntry {
    BlockEntry {
        id: r.id,
        list: BlockList::from_stored(&r.list).unwrap_or(BlockList::Blocked),
        pattern: r.pattern,
        is_prefix: r.is_prefix,
        note: r.note,
        by: r.by,
        added: format::utc_minute(r.created_at),
        added_rfc3339: format::rfc3339(r.created_at),
    }
}

/// Why the org refuses an inbound call from `from` before it rings, if it does.
pub async fn screen(
    pool: &PgPool,
    org_id: i64,
    from: &str,
) -> Result<Option<BlockReason>, sqlx::Error> {
    if is_hidden(from) {
        let blocks = db::call_blocks::blocks_anonymous(pool, org_id).await?;
        return Ok(blocks.then_some(BlockReason::Anonymous));
    }
    // The raw "+digits" (shaped, not checked against numbering plans): a spoofed or
    // unallocated number is matched against the list as it was sent.
    let list = BlockList::Blocked.stored();
    let found = db::call_blocks::matching(pool, org_id, list, from.trim()).await?;
    Ok(found.map(|m| match m.is_prefix {
        true => BlockReason::Prefix,
        false => BlockReason::Number,
    }))
}

/// The do-not-call entry covering `to` (E.164) — "+14155550100", or "+1900…" for a prefix —
/// if any.
pub async fn do_not_call(
    pool: &PgPool,
    org_id: i64,
    to: &str,
) -> Result<Option<String>, sqlx::Error> {
    let list = BlockList::DoNotCall.stored();
    let found = db::call_blocks::matching(pool, org_id, list, to).await?;
    Ok(found.map(|m| match m.is_prefix {
        true => format!("{}…", m.pattern),
        false => m.pattern,
    }))
}

/// The page: both lists, the setting, the latest refused calls.
pub async fn page(ctx: &OrgCtx) -> Result<CallBlockingPage, AppError> {
    let pool = &ctx.state.pool;
    let since = ctx.state.clock.now() - time::Duration::days(30);
    // The refused calls are the org's calls: only those who see every call see them.
    let sees_calls = ctx.sees_all();
    let recent = match sees_calls {
        true => db::call_blocks::recent_blocked(pool, ctx.org_id, PAGE_RECENT).await?,
        false => Vec::new(),
    };
    let refused_30_days = match sees_calls {
        true => db::call_blocks::blocked_since(pool, ctx.org_id, since).await?,
        false => 0,
    };
    let recent = recent
        .into_iter()
        .map(|r| BlockedCall {
            id: r.id,
            from: r.from_e164,
            to: r.to_e164,
            reason: BlockReason::parse(&r.blocked).unwrap_or(BlockReason::Number),
            at: format::utc_minute(r.created_at),
        })
        .collect();
    Ok(CallBlockingPage {
        org: ctx.view(),
        can_manage: ctx.access.can_manage(),
        block_anonymous: db::call_blocks::blocks_anonymous(pool, ctx.org_id).await?,
        blocked: entries(ctx, BlockList::Blocked).await?,
        do_not_call: entries(ctx, BlockList::DoNotCall).await?,
        sees_calls,
        recent,
        refused_30_days,
    })
}

/// One list, newest first (all of it: a list holds at most [`MAX_ENTRIES`]).
pub async fn entries(ctx: &OrgCtx, list: BlockList) -> Result<Vec<BlockEntry>, AppError> {
    let rows =
        db::call_blocks::entries(&ctx.state.pool, ctx.org_id, list.stored(), MAX_ENTRIES).await?;
    Ok(rows.into_iter().map(entry_view).collect())
}

/// A pattern as typed in `field`: a prefix ("+1900*"), or a number (E.164, or national in the
/// org's country).
fn pattern(ctx: &OrgCtx, field: &str, raw: &str) -> Result<(String, bool), AppError> {
    if raw.trim().is_empty() {
        return Err(AppError::validation(
            field,
            "Enter a phone number, or a prefix such as +1900*.",
        ));
    }
    if let Some(p) = prefix_of(raw).map_err(|m| AppError::validation(field, m))? {
        return Ok((p, true));
    }
    let e = E164::parse(raw, Some(ctx.country.as_str()))
        .map_err(|e| AppError::validation(field, e.to_string()))?;
    Ok((e.as_str().to_string(), false))
}

/// An owner or admin adds a number or prefix to a list, with an optional note; on the record.
/// One already on it: 409, nothing changed.
pub async fn add(
    ctx: &OrgCtx,
    list: BlockList,
    raw: &str,
    note: &str,
) -> Result<BlockEntry, AppError> {
    ctx.must_manage()?;
    let (pattern, is_prefix) = pattern(ctx, "number", raw)?;
    let note = note.trim();
    one_line("note", note, MAX_NOTE, "the note")?;
    let mut tx = ctx.state.pool.begin().await?;
    db::call_blocks::lock_org(&mut tx, ctx.org_id).await?;
    if db::call_blocks::count(&mut *tx, ctx.org_id, list.stored()).await? >= MAX_ENTRIES {
        return Err(AppError::validation(
            "number",
            format!("A list holds at most {MAX_ENTRIES} entries: remove some, or use a prefix."),
        ));
    }
    let new = db::call_blocks::NewEntry {
        org_id: ctx.org_id,
        list: list.stored(),
        pattern: &pattern,
        is_prefix,
        note,
        by: ctx.user.id,
        at: ctx.state.clock.now(),
    };
    let Some(id) = db::call_blocks::insert(&mut *tx, &new).await? else {
        let shown = if is_prefix {
            format!("{pattern}…")
        } else {
            pattern
        };
        return Err(AppError::Conflict(format!(
            "{shown} is already on this list."
        )));
    };
    let details = serde_json::json!({ "list": list.as_str(), "prefix": is_prefix, "note": note });
    ctx.audit(&mut *tx, "call_block.added", &pattern, details)
        .await?;
    let row = db::call_blocks::entry(&mut *tx, ctx.org_id, id)
        .await?
        .ok_or(AppError::Internal)?;
    tx.commit().await?;
    Ok(entry_view(row))
}

/// An owner or admin removes an entry of the org's; on the record. Another org's: 404.
pub async fn remove(ctx: &OrgCtx, id: i64) -> Result<BlockEntry, AppError> {
    ctx.must_manage()?;
    let mut tx = ctx.state.pool.begin().await?;
    db::call_blocks::lock_org(&mut tx, ctx.org_id).await?;
    let row = db::call_blocks::entry(&mut *tx, ctx.org_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    db::call_blocks::delete(&mut *tx, ctx.org_id, id).await?;
    let e = entry_view(row);
    let details = serde_json::json!({ "list": e.list.as_str(), "prefix": e.is_prefix });
    ctx.audit(&mut *tx, "call_block.removed", &e.pattern, details)
        .await?;
    tx.commit().await?;
    Ok(e)
}

/// An owner or admin turns blocking of hidden numbers on or off; on the record.
pub async fn set_block_anonymous(ctx: &OrgCtx, on: bool) -> Result<(), AppError> {
    ctx.must_manage()?;
    let mut tx = ctx.state.pool.begin().await?;
    db::call_blocks::set_blocks_anonymous(&mut *tx, ctx.org_id, on).await?;
    let action = if on {
        "call_block.anonymous_on"
    } else {
        "call_block.anonymous_off"
    };
    ctx.audit(&mut *tx, action, &ctx.slug, serde_json::json!({}))
        .await?;
    tx.commit().await?;
    Ok(())
}

/// An owner or admin blocks the caller of one of the org's inbound calls (the history's Block
/// button). A hidden caller cannot be blocked by number (422: turn on blocking hidden numbers).
pub async fn block_caller(ctx: &OrgCtx, call_id: i64) -> Result<BlockEntry, AppError> {
    ctx.must_manage()?;
    let call = db::call_history::detail(&ctx.state.pool, ctx.org_id, call_id, None)
        .await?
        .ok_or(AppError::NotFound)?;
    if call.direction != "inbound" {
        return Err(AppError::validation(
            "call",
            "Only a caller can be blocked: this call was placed from the org.",
        ));
    }
    if is_hidden(&call.from_e164) {
        return Err(AppError::validation(
            "call",
            "This caller hid their number: turn on “Block callers who hide their number” instead.",
        ));
    }
    let note = format!("Blocked from call {call_id}");
    add(ctx, BlockList::Blocked, &call.from_e164, &note).await
}

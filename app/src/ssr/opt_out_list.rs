//! The opt-out list's use cases, for the opt-outs page and `/v1/opt-outs`: the page (entries,
//! events, replies), one number's history, entries added and lifted by hand with a reason, CSV
//! imports and the provider's list, the CSV export, and the STOP, START and HELP replies. Changes
//! are owners' and admins' and on the record; everyone in the org (and support staff) reads.
//! The ledger itself (keywords, the send check, the provider's refusals) is `opt_outs`.

use telephony::E164;
use time::OffsetDateTime;

use super::db::{self, opt_outs::EntryRow, opt_outs::EventRow};
use super::guard::OrgCtx;
use super::opt_outs::replies_view;
use super::{bulk_lookups, format};
use crate::error::AppError;
use crate::model::opt_outs::*;
use crate::model::{keywords, one_line};
/// The most entries the page lists at once (a search narrows them).
pub const PAGE_ENTRIES: i64 = 200;
/// The most events the page lists.
const PAGE_EVENTS: i64 = 50;
/// The most numbers an org's list takes from imports (a recipient's own opt-out is always
/// taken); the CSV download holds at most this many and the recipients' own.
pub const MAX_LEDGER: i64 = 100_000;
/// The most rows the CSV download holds.
const MAX_EXPORT: i64 = 250_000;

fn entry_view(r: EntryRow) -> OptOutView {
    let source = OptOutSource::parse(&r.source).unwrap_or(OptOutSource::Admin);
    OptOutView {
        since: format::utc_minute(r.since),
        since_rfc3339: format::rfc3339(r.since),
        since_micros: i64::try_from(r.since.unix_timestamp_nanos() / 1000).unwrap_or(0),
        removable: !source.by_recipient(),
        e164: r.e164,
        source,
        reason: r.reason,
        our_e164: r.our_e164,
        words: r.body,
        by: r.by,
    }
}

fn event_view(r: EventRow) -> OptOutEventView {
    OptOutEventView {
        id: r.id,
        action: OptOutAction::parse(&r.action).unwrap_or(OptOutAction::OptOut),
        source: OptOutSource::parse(&r.source).unwrap_or(OptOutSource::Admin),
        e164: r.e164,
        our_e164: r.our_e164,
        words: r.body,
        reason: r.reason,
        by: r.by,
        replied: r.replied,
        at: format::utc_minute(r.at),
        at_rfc3339: format::rfc3339(r.at),
    }
}

/// A number as typed in the org (E.164, or national in the org's country), or why not.
fn number(ctx: &OrgCtx, field: &str, raw: &str) -> Result<E164, AppError> {
    if raw.trim().is_empty() {
        return Err(AppError::validation(field, "Enter a phone number."));
    }
    E164::parse(raw, Some(ctx.country.as_str()))
        .map_err(|e| AppError::validation(field, e.to_string()))
}

/// A reason as typed: required, one line of at most 500 characters.
fn reason(raw: &str) -> Result<String, AppError> {
    let r = raw.trim();
    if r.is_empty() {
        return Err(AppError::validation(
            "reason",
            "Say why (for example: asked by phone on 3 March).",
        ));
    }
    one_line("reason", r, MAX_REASON, "the reason")?;
    Ok(r.to_string())
}

/// The opt-outs page: the entries (the newest, or those matching `search`), the latest events
/// (or the searched number's history), the replies.
pub async fn page(ctx: &OrgCtx, search: Option<String>) -> Result<OptOutsPage, AppError> {
    let pool = &ctx.state.pool;
    let digits: String = search
        .as_deref()
        .unwrap_or("")
        .chars()
        .filter(char::is_ascii_digit)
        .take(15)
        .collect();
    let exact = search
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| E164::parse(s, Some(ctx.country.as_str())).ok());
    let filter = (!digits.is_empty()).then_some(digits.as_str());
    let entries = db::opt_outs::entries(pool, ctx.org_id, filter, None, PAGE_ENTRIES)
        .await?
        .into_iter()
        .map(entry_view)
        .collect();
    let events = db::opt_outs::events(
        pool,
        ctx.org_id,
        exact.as_ref().map(E164::as_str),
        PAGE_EVENTS,
    )
    .await?
    .into_iter()
    .map(event_view)
    .collect();
    let eff = ctx.state.providers.effective(pool, ctx.org_id).await?;
    let provider_list = eff
        .config
        .as_ref()
        .is_some_and(|c| c.provider.keeps_opt_out_list());
    Ok(OptOutsPage {
        org: ctx.view(),
        can_manage: ctx.access.can_manage(),
        provider_list,
        count: db::opt_outs::count(pool, ctx.org_id).await?,
        search: search.unwrap_or_default(),
        entries,
        events,
        replies: replies(ctx).await?,
        opt_out_words: words_of(keywords::OPT_OUT_WORDS),
        opt_in_words: words_of(keywords::OPT_IN_WORDS),
        help_words: words_of(keywords::HELP_WORDS),
    })
}

fn words_of(list: &[&str]) -> Vec<String> {
    list.iter().map(|w| w.to_uppercase()).collect()
}

/// The org's replies in force.
pub async fn replies(ctx: &OrgCtx) -> Result<RepliesView, AppError> {
    let row = db::opt_outs::settings(&ctx.state.pool, ctx.org_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(replies_view(&row))
}

/// The org's entries for `/v1`: newest first, after the keyset position, at most `limit`.
pub async fn list(
    ctx: &OrgCtx,
    after: Option<(OffsetDateTime, String)>,
    limit: i64,
) -> Result<Vec<OptOutView>, AppError> {
    let after = after.as_ref().map(|(t, e)| (*t, e.as_str()));
    Ok(
        db::opt_outs::entries(&ctx.state.pool, ctx.org_id, None, after, limit)
            .await?
            .into_iter()
            .map(entry_view)
            .collect(),
    )
}

/// One number: its entry (None: not opted out) and its whole history (at most 500 events).
pub async fn number_history(
    ctx: &OrgCtx,
    raw: &str,
) -> Result<(E164, Option<OptOutView>, Vec<OptOutEventView>), AppError> {
    let e = number(ctx, "number", raw)?;
    let pool = &ctx.state.pool;
    let entry = db::opt_outs::entry(pool, ctx.org_id, e.as_str())
        .await?
        .map(entry_view);
    let events = db::opt_outs::events(pool, ctx.org_id, Some(e.as_str()), 500)
        .await?
        .into_iter()
        .map(event_view)
        .collect();
    Ok((e, entry, events))
}

/// An owner or admin puts a number in the ledger by hand, with a reason; on the record. Adding
/// one already there changes nothing (and says so: 409).
pub async fn add(ctx: &OrgCtx, raw_number: &str, raw_reason: &str) -> Result<OptOutView, AppError> {
    ctx.must_manage()?;
    let e = number(ctx, "number", raw_number)?;
    let why = reason(raw_reason)?;
    let now = ctx.state.clock.now();
    let mut tx = ctx.state.pool.begin().await?;
    db::opt_outs::lock_number(&mut tx, ctx.org_id, e.as_str()).await?;
    if db::opt_outs::source_of(&mut tx, ctx.org_id, e.as_str())
        .await?
        .is_some()
    {
        return Err(AppError::Conflict(format!(
            "{e} is already opted out of this org's texts."
        )));
    }
    let source = OptOutSource::Admin.as_str();
    let event = db::opt_outs::NewEvent {
        org_id: ctx.org_id,
        e164: e.as_str(),
        action: OptOutAction::OptOut.as_str(),
        source,
        our_e164: None,
        message_id: None,
        body: None,
        reason: &why,
        actor_id: Some(ctx.user.id),
        replied: false,
        at: now,
    };
    let id = db::opt_outs::insert_event(&mut tx, &event).await?;
    db::opt_outs::insert(&mut tx, ctx.org_id, e.as_str(), source, &why, (now, id)).await?;
    let details = serde_json::json!({ "reason": why });
    ctx.audit(&mut *tx, "opt_out.added", e.as_str(), details)
        .await?;
    let row = db::opt_outs::entry(&mut *tx, ctx.org_id, e.as_str())
        .await?
        .ok_or(AppError::Internal)?;
    tx.commit().await?;
    Ok(entry_view(row))
}

/// An owner or admin lifts an entry an admin added or imported, with a reason; on the record.
/// A recipient's own opt-out cannot be lifted here (403: only they can, by texting START).
pub async fn remove(ctx: &OrgCtx, raw_number: &str, raw_reason: &str) -> Result<(), AppError> {
    ctx.must_manage()?;
    let e = number(ctx, "number", raw_number)?;
    let why = reason(raw_reason)?;
    let now = ctx.state.clock.now();
    let mut tx = ctx.state.pool.begin().await?;
    db::opt_outs::lock_number(&mut tx, ctx.org_id, e.as_str()).await?;
    let Some(source) = db::opt_outs::source_of(&mut tx, ctx.org_id, e.as_str()).await? else {
        return Err(AppError::NotFound);
    };
    let source = OptOutSource::parse(&source).unwrap_or(OptOutSource::Keyword);
    if source.by_recipient() {
        return Err(AppError::Forbidden(format!(
            "{e} opted out themselves ({}): only they can opt back in, by texting START.",
            source.label().to_lowercase()
        )));
    }
    db::opt_outs::delete(&mut tx, ctx.org_id, e.as_str()).await?;
    let event = db::opt_outs::NewEvent {
        org_id: ctx.org_id,
        e164: e.as_str(),
        action: OptOutAction::OptIn.as_str(),
        source: OptOutSource::Admin.as_str(),
        our_e164: None,
        message_id: None,
        body: None,
        reason: &why,
        actor_id: Some(ctx.user.id),
        replied: false,
        at: now,
    };
    db::opt_outs::insert_event(&mut tx, &event).await?;
    let details = serde_json::json!({ "reason": why, "was": source.as_str() });
    ctx.audit(&mut *tx, "opt_out.removed", e.as_str(), details)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// An owner or admin imports a CSV file of numbers (the first column; a header row is skipped),
/// with a reason: every number valid or nothing written (the bad lines are named next to the
/// file field). Numbers already in the ledger keep their entry.
pub async fn import(
    ctx: &OrgCtx,
    bytes: &[u8],
    raw_reason: &str,
) -> Result<ImportOutcome, AppError> {
    ctx.must_manage()?;
    let why = reason(raw_reason)?;
    let rows = bulk_lookups::parse_csv(bytes, &ctx.country)?;
    let bad: Vec<String> = rows
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            r.e164.as_ref().err().map(|e| {
                let shown: String = r.input.chars().take(30).collect();
                format!("row {} ({shown}): {e}", i + 1)
            })
        })
        .take(5)
        .collect();
    if !bad.is_empty() {
        return Err(AppError::validation(
            "file",
            format!(
                "Nothing was imported: fix these rows and upload the file again — {}.",
                bad.join("; ")
            ),
        ));
    }
    let mut numbers: Vec<String> = rows.into_iter().filter_map(|r| r.e164.ok()).collect();
    numbers.sort();
    numbers.dedup();
    let outcome = import_numbers(ctx, &numbers, (OptOutSource::Import, &why)).await?;
    Ok(outcome)
}

/// An owner or admin imports the provider's own opt-out list (Amazon SNS
/// `ListPhoneNumbersOptedOut`): every number on it goes in the ledger as the provider's.
pub async fn import_from_provider(ctx: &OrgCtx) -> Result<ImportOutcome, AppError> {
    ctx.must_manage()?;
    let (_, provider) = super::org_provider::provider_for_org(&ctx.state, ctx.org_id).await?;
    let messaging = provider
        .messaging()
        .map_err(|e| super::words::provider(&e, None))?;
    let Some(list) = messaging
        .opted_out_numbers()
        .await
        .map_err(|e| super::words::provider(&e, None))?
    else {
        return Err(AppError::Conflict(
            "This org's provider keeps no opt-out list PhoneHub can import: opt-outs reach PhoneHub as replies and refused sends."
                .into(),
        ));
    };
    // Kept as the provider wrote them (+ and digits), even those outside any numbering plan
    // PhoneHub knows: an opt-out is never dropped.
    let mut numbers: Vec<String> = list
        .into_iter()
        .filter(|n| super::opt_outs::plain_e164(n))
        .collect();
    numbers.sort();
    numbers.dedup();
    let why = "On the provider's opt-out list.";
    import_numbers(ctx, &numbers, (OptOutSource::Provider, why)).await
}

async fn import_numbers(
    ctx: &OrgCtx,
    numbers: &[String],
    (source, why): (OptOutSource, &str),
) -> Result<ImportOutcome, AppError> {
    let now = ctx.state.clock.now();
    // All or nothing, with its audit entry.
    let mut tx = ctx.state.pool.begin().await?;
    let held = db::opt_outs::count(&mut *tx, ctx.org_id).await?;
    let room = usize::try_from(MAX_LEDGER.saturating_sub(held)).unwrap_or(0);
    if source == OptOutSource::Import && numbers.len() > room {
        return Err(AppError::validation(
            "file",
            format!(
                "Nothing was imported: the org's list holds {held} numbers and may hold at most {MAX_LEDGER}."
            ),
        ));
    }
    let who = (source.as_str(), why, Some(ctx.user.id));
    let added = db::opt_outs::insert_many(&mut tx, ctx.org_id, numbers, who, now).await?;
    let added = u32::try_from(added).unwrap_or(u32::MAX);
    let already = u32::try_from(numbers.len())
        .unwrap_or(u32::MAX)
        .saturating_sub(added);
    let details = serde_json::json!({ "source": source.as_str(), "reason": why, "added": added, "already": already });
    ctx.audit(&mut *tx, "opt_out.imported", &ctx.slug, details)
        .await?;
    tx.commit().await?;
    Ok(ImportOutcome { added, already })
}

/// The ledger as CSV (formula-safe): number, since, source, reason, the org's number and words
/// of a keyword, who added it.
pub async fn csv(ctx: &OrgCtx) -> Result<(String, Vec<u8>), AppError> {
    let rows = db::opt_outs::entries(&ctx.state.pool, ctx.org_id, None, None, MAX_EXPORT).await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = [
        "number",
        "since",
        "source",
        "reason",
        "our_number",
        "words",
        "added_by",
    ];
    w.write_record(header).map_err(|_| AppError::Internal)?;
    for r in rows {
        let cells = [
            r.e164.clone(),
            format::rfc3339(r.since),
            r.source.clone(),
            r.reason.clone(),
            r.our_e164.clone().unwrap_or_default(),
            r.body.clone().unwrap_or_default(),
            r.by.clone().unwrap_or_default(),
        ];
        w.write_record(cells.iter().map(|c| bulk_lookups::csv_safe(c)))
            .map_err(|_| AppError::Internal)?;
    }
    let bytes = w.into_inner().map_err(|_| AppError::Internal)?;
    Ok((format!("opt-outs-{}.csv", ctx.slug), bytes))
}

/// What an owner or admin types for the replies: the help contact, and each reply (empty: the
/// default wording).
pub struct RepliesInput {
    pub help_contact: String,
    pub stop_reply: String,
    pub start_reply: String,
    pub help_reply: String,
}

fn reply_text(field: &str, raw: &str) -> Result<Option<String>, AppError> {
    let t = raw.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if t.chars().count() > MAX_REPLY {
        return Err(AppError::validation(
            field,
            format!("Keep the reply to {MAX_REPLY} characters (two text segments)."),
        ));
    }
    if t.chars().any(|c| c.is_control() && c != '\n') {
        return Err(AppError::validation(
            field,
            "The reply may not hold control characters.",
        ));
    }
    Ok(Some(t.to_string()))
}

/// An owner or admin saves the replies; on the record.
pub async fn save_replies(ctx: &OrgCtx, input: RepliesInput) -> Result<RepliesView, AppError> {
    ctx.must_manage()?;
    let contact = input.help_contact.trim();
    one_line("help_contact", contact, MAX_CONTACT, "the contact")?;
    let stop = reply_text("stop_reply", &input.stop_reply)?;
    let start = reply_text("start_reply", &input.start_reply)?;
    let help = reply_text("help_reply", &input.help_reply)?;
    let s = db::opt_outs::NewSettings {
        help_contact: contact,
        stop_reply: stop.as_deref(),
        start_reply: start.as_deref(),
        help_reply: help.as_deref(),
    };
    let mut tx = ctx.state.pool.begin().await?;
    let now = ctx.state.clock.now();
    db::opt_outs::save_settings(&mut *tx, ctx.org_id, &s, (ctx.user.id, now)).await?;
    let details = serde_json::json!({
        "help_contact": contact,
        "stop_reply": stop, "start_reply": start, "help_reply": help,
    });
    ctx.audit(&mut *tx, "opt_out.replies_saved", &ctx.slug, details)
        .await?;
    tx.commit().await?;
    replies(ctx).await
}

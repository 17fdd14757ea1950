//! Requests by phone number: everything the org holds about one number (calls, messages,
//! recordings, lookup events, its opt-out entry), found, exported as a ZIP, or erased.
//!
//! Erasure cancels the texts still waiting to go to the number, goes to the providers (each
//! recording deleted, each body redacted, as the retention run does; one the provider cannot
//! delete now stops the erasure there, what was deleted staying deleted, to be asked again),
//! then replaces the number by its salted hash in every table of
//! the org in one transaction: costs, statements and the audit trail keep their rows and sums.
//! The opt-out entry stays (without its proof): the person is never texted again.

use futures::StreamExt;
use serde_json::json;
use telephony::E164;

use super::db;
use super::format::rfc3339;
use super::guard::OrgCtx;
use super::zip::ZipWriter;
use crate::error::AppError;
use crate::model::requests::*;

/// Every row of a kind an export holds (far beyond any one person's history).
const EXPORT_ROWS: i64 = 100_000;
/// The most audio bytes an export carries, and the most recordings; recordings past either are
/// listed, not included.
const EXPORT_AUDIO_BYTES: usize = 200 * 1024 * 1024;
const EXPORT_RECORDINGS: usize = 10_000;

/// `s` as a number of the org (E.164, or national in its country), for field `field`.
pub fn parse_number(ctx: &OrgCtx, field: &str, s: &str) -> Result<E164, AppError> {
    if s.trim().is_empty() {
        return Err(AppError::validation(field, "Enter a phone number."));
    }
    E164::parse(s, Some(ctx.country.as_str()))
        .map_err(|e| AppError::validation(field, e.to_string()))
}

/// Only owners, admins and support staff see what the org holds about a person.
pub fn must_oversee(ctx: &OrgCtx) -> Result<(), AppError> {
    if ctx.sees_all() {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "Only the org's owners and admins can look up what it holds about a number.".into(),
        ))
    }
}

/// The page: the form, and what the org holds about `number` once one is searched.
pub async fn page(ctx: &OrgCtx, number: &str) -> Result<RequestsPage, AppError> {
    must_oversee(ctx)?;
    let found = if number.trim().is_empty() {
        None
    } else {
        let n = parse_number(ctx, "number", number)?;
        Some(holdings(ctx, &n, SHOWN as i64).await?)
    };
    Ok(RequestsPage {
        org: ctx.view(),
        can_manage: ctx.access.can_manage() && !ctx.access.read_only(),
        found,
    })
}

/// What the org holds about `n`: the latest `limit` rows of each kind and the totals.
pub async fn holdings(ctx: &OrgCtx, n: &E164, limit: i64) -> Result<Holdings, AppError> {
    must_oversee(ctx)?;
    let (pool, org, n) = (&ctx.state.pool, ctx.org_id, n.as_str());
    let counts = db::requests::counts(pool, org, n).await?;
    let calls = db::requests::calls(pool, org, n, limit).await?;
    let messages = db::requests::messages(pool, org, n, limit).await?;
    let lookups = db::requests::lookups(pool, org, n, limit).await?;
    let opt_out = db::requests::opt_out(pool, org, n).await?;
    Ok(Holdings {
        number: n.to_string(),
        calls: calls
            .into_iter()
            .map(|c| HeldCall {
                id: c.id,
                direction: c.direction,
                from: c.from_e164,
                to: c.to_e164,
                status: c.status,
                duration_secs: c.duration_secs,
                recordings: c.recordings,
                at: rfc3339(c.created_at),
            })
            .collect(),
        calls_total: counts.calls,
        messages: messages
            .into_iter()
            .map(|m| HeldMessage {
                id: m.id,
                direction: m.direction,
                ours: m.our_e164,
                body: m.body,
                status: m.status,
                at: rfc3339(m.created_at),
            })
            .collect(),
        messages_total: counts.messages,
        recordings: counts.recordings,
        lookups: lookups
            .into_iter()
            .map(|l| HeldLookup {
                outcome: l.outcome,
                line_type: l.line_type,
                at: rfc3339(l.created_at),
            })
            .collect(),
        lookups_total: counts.lookups,
        opt_out: opt_out.map(|o| HeldOptOut {
            source: o.source,
            reason: o.reason,
            since: rfc3339(o.since),
            events: o.events,
        }),
    })
}

/// Erases `number` once `confirm` repeats it (owners and admins): its E.164 and what was done.
pub async fn erase_confirmed(
    ctx: &OrgCtx,
    number: &str,
    confirm: &str,
) -> Result<(String, Erased), AppError> {
    ctx.must_manage()?;
    let n = parse_number(ctx, "number", number)?;
    let same = parse_number(ctx, "confirm", confirm).is_ok_and(|c| c == n);
    if !same {
        return Err(AppError::validation(
            "confirm",
            "Type the same number again to confirm the erasure.",
        ));
    }
    let erased = erase(ctx, &n).await?;
    Ok((n.to_string(), erased))
}

/// Erases what the org holds about `n`: at the providers first, then here; audited with the
/// number's salted hash and the counts.
pub async fn erase(ctx: &OrgCtx, n: &E164) -> Result<Erased, AppError> {
    ctx.must_manage()?;
    let (state, org) = (&ctx.state, ctx.org_id);
    // Texts still waiting to go to them never will: canceled before anything else, so the
    // scheduler cannot send one meanwhile.
    let canceled = db::requests::cancel_waiting(&state.pool, org, n.as_str()).await? as i64;
    let mut e = Erased {
        canceled,
        ..Erased::default()
    };
    let provider_failed = || {
        AppError::Upstream(
            "The provider could not delete this number's data just now; nothing more was erased. Try again in a moment."
                .into(),
        )
    };
    for r in db::requests::recordings(&state.pool, org, n.as_str()).await? {
        let at_provider = super::retention::delete_at_provider(state, org, &r.source())
            .await?
            .map_err(|_| provider_failed())?;
        db::compliance::delete_recording(&state.pool, r.id).await?;
        e.recordings_deleted += 1;
        e.provider_recordings_deleted += i64::from(at_provider);
    }
    let now = state.clock.now();
    for m in db::requests::bodies(&state.pool, org, n.as_str()).await? {
        let at_provider = super::retention::redact_at_provider(state, org, &m)
            .await?
            .map_err(|_| provider_failed())?;
        db::compliance::redact_body(&state.pool, m.id, now).await?;
        e.bodies_redacted += 1;
        e.provider_bodies_redacted += i64::from(at_provider);
    }
    let mut tx = state.pool.begin().await?;
    let (hash, replaced) = db::requests::replace_number(&mut tx, org, n.as_str(), now).await?;
    e.calls = replaced.calls as i64;
    e.messages = replaced.messages as i64;
    e.lookups = replaced.lookups as i64;
    ctx.audit(&mut *tx, "privacy.erased", &hash, json!(e))
        .await?;
    tx.commit().await?;
    state.hot.forget(n.as_str());
    Ok(e)
}

/// Everything the org holds about `n` as a ZIP: `data.json`, a CSV per kind and the
/// recordings' audio (as the provider serves it; one it cannot is listed as missing). Audited
/// with the number's salted hash.
pub async fn export_zip(ctx: &OrgCtx, n: &E164) -> Result<Vec<u8>, AppError> {
    let h = holdings(ctx, n, EXPORT_ROWS).await?;
    let recordings = db::requests::recordings(&ctx.state.pool, ctx.org_id, n.as_str()).await?;
    let mut zip = ZipWriter::default();
    let mut audio = Vec::new();
    for r in &recordings {
        let name = format!("recordings/call-{}-recording-{}.wav", r.call_id, r.id);
        let room = EXPORT_AUDIO_BYTES.saturating_sub(zip.len());
        let included = if room > 0 && audio.len() < EXPORT_RECORDINGS {
            match recording_bytes(ctx, r.call_id, r.id, room).await {
                Some(bytes) => {
                    zip.add(&name, &bytes);
                    true
                }
                None => false,
            }
        } else {
            false
        };
        audio.push(json!({
            "recording_id": r.id,
            "call_id": r.call_id,
            "duration_secs": r.duration_secs,
            "file": included.then_some(name),
            "note": (!included).then_some("not included: the provider did not serve it, or the export reached its size limit"),
        }));
    }
    let data = json!({
        "number": h.number,
        "org": ctx.name,
        "exported_at": rfc3339(ctx.state.clock.now()),
        "calls": h.calls,
        "messages": h.messages,
        "recordings": audio,
        "lookups": h.lookups,
        "opt_out": h.opt_out,
    });
    zip.add(
        "data.json",
        serde_json::to_string_pretty(&data)
            .unwrap_or_default()
            .as_bytes(),
    );
    zip.add("calls.csv", &calls_csv(&h.calls));
    zip.add("messages.csv", &messages_csv(&h.messages));
    zip.add("lookups.csv", &lookups_csv(&h.lookups));
    let hash = db::requests::hash(&ctx.state.pool, ctx.org_id, n.as_str()).await?;
    ctx.audit(
        &ctx.state.pool,
        "privacy.exported",
        &hash,
        json!({ "calls": h.calls_total, "messages": h.messages_total, "recordings": recordings.len(), "lookups": h.lookups_total }),
    )
    .await?;
    Ok(zip.finish())
}

/// A recording's audio (WAV, the provider's own format) as the provider serves it, or None (also
/// when it passes `room` bytes).
async fn recording_bytes(ctx: &OrgCtx, call_id: i64, id: i64, room: usize) -> Option<Vec<u8>> {
    let media =
        super::calls::recording_media(&ctx.state, ctx.org_id, call_id, id, None, "wav", None)
            .await
            .ok()?;
    let mut body = media.body;
    let mut out = Vec::new();
    while let Some(chunk) = body.next().await {
        out.extend_from_slice(&chunk.ok()?);
        if out.len() > room {
            return None;
        }
    }
    Some(out)
}

fn csv_of(header: &[&str], rows: Vec<Vec<String>>) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(header);
    for r in rows {
        let safe: Vec<String> = r.iter().map(|s| super::bulk_lookups::csv_safe(s)).collect();
        let _ = w.write_record(&safe);
    }
    w.into_inner().unwrap_or_default()
}

fn calls_csv(calls: &[HeldCall]) -> Vec<u8> {
    let rows = calls
        .iter()
        .map(|c| {
            vec![
                c.id.to_string(),
                c.at.clone(),
                c.direction.clone(),
                c.from.clone(),
                c.to.clone(),
                c.status.clone(),
                c.duration_secs.map(|d| d.to_string()).unwrap_or_default(),
                c.recordings.to_string(),
            ]
        })
        .collect();
    csv_of(
        &[
            "id",
            "at",
            "direction",
            "from",
            "to",
            "status",
            "duration_secs",
            "recordings",
        ],
        rows,
    )
}

fn messages_csv(messages: &[HeldMessage]) -> Vec<u8> {
    let rows = messages
        .iter()
        .map(|m| {
            vec![
                m.id.to_string(),
                m.at.clone(),
                m.direction.clone(),
                m.ours.clone(),
                m.status.clone(),
                m.body.clone(),
            ]
        })
        .collect();
    csv_of(
        &["id", "at", "direction", "our_number", "status", "body"],
        rows,
    )
}

fn lookups_csv(lookups: &[HeldLookup]) -> Vec<u8> {
    let rows = lookups
        .iter()
        .map(|l| {
            vec![
                l.at.clone(),
                l.outcome.clone(),
                l.line_type.clone().unwrap_or_default(),
            ]
        })
        .collect();
    csv_of(&["at", "outcome", "line_type"], rows)
}

//! The provider's webhooks about calls: status (idempotent, never moving a call backwards),
//! recordings, the click-to-call connect TwiML and inbound calls.

use crate::model::calls::CallStatus;
use crate::model::money::Money;
use crate::ssr::db;
use crate::ssr::org_provider::provider_for_config;
use crate::ssr::prices::{minutes_cost, parse_price, price, Priced, MAX_DURATION_SECS};

use crate::ssr::errors::CallError;
use crate::ssr::twiml;
use crate::ssr::webhooks::{Hook, Owner, Refused, Verified};
use crate::ssr::AppState;
use crate::ssr::{call_blocks, consent};

/// The call a verified call webhook is about.
fn call_of(hook: &Verified) -> Result<&db::calls::CallRef, Refused> {
    match hook.owner() {
        Owner::Call(c) => Ok(c),
        _ => Err(Refused::Unknown),
    }
}

/// A call status callback. Written once per status; the call's status only moves forward (a
/// late "ringing" never overwrites "completed"), ordered by SequenceNumber.
#[tracing::instrument(skip_all, err)]
pub async fn status_callback(state: &AppState, hook: &Verified) -> Result<(), Refused> {
    let call = call_of(hook)?;
    let Some(status) = hook.param("CallStatus").and_then(CallStatus::parse) else {
        // Signed but not a status we know: acknowledged, nothing to record.
        return Ok(());
    };
    let seq: Option<i32> = hook.param("SequenceNumber").and_then(|s| s.parse().ok());
    let secs: Option<i32> = hook
        .param("CallDuration")
        .and_then(|s| s.parse().ok())
        .filter(|s| (0..=MAX_DURATION_SECS).contains(s));
    let sid = hook.param("CallSid").unwrap_or("").to_string();
    let rate = price(&state.pool, Priced::CallMinute).await?;
    let mut tx = state.pool.begin().await?;
    let cur = db::calls::lock_current(&mut tx, call.id).await?;
    db::calls::record_event(&mut tx, call.id, status, seq).await?;
    let newer_seq = match (seq, cur.last_sequence) {
        (Some(s), Some(last)) => s > last,
        _ => true,
    };
    let forward = status.rank() > cur.status.rank() && newer_seq;
    if forward {
        let fin = status.is_final();
        let secs = if status == CallStatus::Completed {
            secs.unwrap_or(0)
        } else {
            0
        };
        let cost = if fin {
            minutes_cost(secs as i64, rate)
        } else {
            Money::ZERO
        };
        let advance = db::calls::Advance {
            status,
            sequence: seq,
            sid: &sid,
            fin,
            secs,
            cost,
        };
        db::calls::advance(&mut tx, call.id, &advance).await?;
    } else if cur.provider_sid.is_none() {
        db::calls::set_sid_if_missing(&mut tx, call.id, &sid).await?;
    }
    tx.commit().await?;
    if forward && status.is_final() {
        // The provider prices a call shortly after it ends; use its figure when it reports one.
        let state = state.clone();
        let org_id = db::calls::org_of(&state.pool, call.id).await?;
        let (id, config_id) = (call.id, call.config_id);
        tokio::spawn(async move {
            if let Err(e) = fetch_price(&state, id, org_id, config_id, &sid).await {
                tracing::info!(call = id, error = %e, source = ?std::error::Error::source(&e), "provider price not available");
            }
        });
    }
    Ok(())
}

/// Asks the provider for the call's price a few times (it appears shortly after the call ends).
async fn fetch_price(
    state: &AppState,
    id: i64,
    org_id: i64,
    config_id: Option<i64>,
    sid: &str,
) -> Result<(), CallError> {
    let (_, provider) = provider_for_config(state, config_id, org_id).await?;
    for attempt in 0..5u32 {
        if attempt > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(500 * 2u64.pow(attempt))).await;
        }
        let fetched = match provider.voice() {
            Ok(voice) => voice.fetch_call(sid).await,
            Err(e) => Err(e),
        };
        let call = match fetched {
            Ok(c) => c,
            Err(e) if e.is_transient() => continue,
            Err(e) => return Err(CallError::Provider(e)),
        };
        if let Some(p) = call.price.as_deref().and_then(parse_price) {
            db::calls::set_provider_price(&state.pool, id, p).await?;
            return Ok(());
        }
    }
    Ok(())
}

/// A recording callback: the recording is attached to its call once, however often it is sent.
#[tracing::instrument(skip_all, err)]
pub async fn recording_callback(state: &AppState, hook: &Verified) -> Result<(), Refused> {
    let call = call_of(hook)?;
    if hook
        .param("RecordingStatus")
        .is_some_and(|s| s != "completed")
    {
        return Ok(());
    }
    let Some(rsid) = hook.param("RecordingSid").filter(|s| {
        s.len() <= 64 && s.starts_with("RE") && s.chars().all(|c| c.is_ascii_alphanumeric())
    }) else {
        return Ok(());
    };
    let secs: i32 = hook
        .param("RecordingDuration")
        .and_then(|s| s.parse().ok())
        .filter(|s: &i32| (0..=MAX_DURATION_SECS).contains(s))
        .unwrap_or(0);
    let rate = price(&state.pool, Priced::RecordingMinute).await?;
    let cost = minutes_cost(secs as i64, rate);
    db::calls::add_recording(&state.pool, call.id, rsid, secs, cost).await?;
    Ok(())
}

/// The TwiML that connects a click-to-call once the user answers: dial the destination with our
/// number as caller ID.
#[tracing::instrument(skip_all, err)]
pub async fn connect_twiml(state: &AppState, hook: &Verified) -> Result<String, Refused> {
    let call = call_of(hook)?;
    let c = db::calls::ends(&state.pool, call.id).await?;
    if c.status.is_final() {
        return Ok(twiml::hangup());
    }
    // Put on the do-not-call list while the user's phone rang: not dialled after all.
    if call_blocks::do_not_call(&state.pool, c.org_id, &c.to_e164)
        .await?
        .is_some()
    {
        return Ok(twiml::hangup());
    }
    if !c.records {
        return Ok(twiml::dial(&c.from_e164, &c.to_e164, None));
    }
    // Recorded from the called party's answer; the consent announcement is played to them
    // first (the `<Number url>` TwiML), before they are connected.
    let callback = Hook::Recording.url_for(&state.public_url, call.id);
    let announces = consent::announcement(state, c.org_id).await?.is_some();
    let whisper = Hook::Announce.url_for(&state.public_url, call.id);
    let recorded = twiml::Recorded {
        callback: &callback,
        before: None,
        whisper_url: announces.then_some(whisper.as_str()),
    };
    Ok(twiml::dial(&c.from_e164, &c.to_e164, Some(recorded)))
}

/// What the called party of a recorded click-to-call hears when they answer, before the parties
/// are connected: the org's consent announcement.
#[tracing::instrument(skip_all, err)]
pub async fn announce_twiml(state: &AppState, hook: &Verified) -> Result<String, Refused> {
    let call = call_of(hook)?;
    let c = db::calls::ends(&state.pool, call.id).await?;
    let spoken = consent::announcement(state, c.org_id).await?;
    Ok(twiml::announcement(spoken.as_ref()))
}

/// An inbound call to an owned number: logged, then forwarded to the owner's phone (recorded when
/// the number records calls) or sent to voicemail.
#[tracing::instrument(skip_all, err)]
pub async fn inbound_voice(state: &AppState, hook: &Verified) -> Result<String, Refused> {
    let Owner::VoiceNumber { e164, number: n } = hook.owner() else {
        return Err(Refused::Unknown);
    };
    let sid = hook.param("CallSid").unwrap_or("");
    if sid.is_empty() || sid.len() > 64 {
        return Err(Refused::Unknown);
    }
    let from = hook
        .param("From")
        .unwrap_or("")
        .chars()
        .take(32)
        .collect::<String>();
    let status = hook
        .param("CallStatus")
        .and_then(CallStatus::parse)
        .unwrap_or(CallStatus::Ringing);
    // A caller the org blocks is refused before anything rings (no answer, nothing billed), and
    // the call is kept with why.
    let blocked = call_blocks::screen(&state.pool, n.org_id, &from).await?;
    let mut forward = n
        .forward_to
        .clone()
        .filter(|f| !f.is_empty() && n.active && blocked.is_none());
    // A phone put on the do-not-call list after it was set to forward to: voicemail instead.
    if let Some(f) = forward.as_deref() {
        if call_blocks::do_not_call(&state.pool, n.org_id, f)
            .await?
            .is_some()
        {
            forward = None;
        }
    }
    let new = db::calls::NewInbound {
        from: &from,
        to: e164,
        forward: forward.as_deref(),
        sid,
        status,
        blocked: blocked.map(|b| b.as_str()),
    };
    // A retried webhook finds the row written the first time, and keeps its verdict.
    let (id, blocked) = db::calls::insert_inbound(&state.pool, n, &new).await?;
    db::calls::record_first_event(&state.pool, id, status).await?;
    if blocked.is_some() {
        return Ok(twiml::reject());
    }
    let recording_url = Hook::Recording.url_for(&state.public_url, id);
    if !n.active {
        return Ok(twiml::not_taking_calls());
    }
    // The caller hears the consent announcement before anything records: ahead of a recorded
    // forward, and before a voicemail's beep.
    let records = forward.is_none() || n.record_calls;
    let spoken = match records {
        true => consent::announcement(state, n.org_id).await?,
        false => None,
    };
    Ok(match forward {
        Some(f) if n.record_calls => {
            let recorded = twiml::Recorded {
                callback: &recording_url,
                before: spoken.as_ref(),
                whisper_url: None,
            };
            twiml::dial(&from, &f, Some(recorded))
        }
        Some(f) => twiml::dial(&from, &f, None),
        None => twiml::voicemail(&recording_url, spoken.as_ref()),
    })
}

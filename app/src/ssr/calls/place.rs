//! Click-to-call: the numbers a user may call from, and placing the call (through the
//! destination guard: a paused destination refuses it).

use sqlx::PgPool;
use telephony::provider::NewCall;
use telephony::{ProviderError, E164};

use crate::model::calls::NumberOption;
use crate::model::destinations::Channel;
use crate::model::numbers::NumberStatus;
use crate::ssr::destination_guard::{self, Velocity};
use crate::ssr::errors::{CallError, Limited};
use crate::ssr::limits::begin_limited;
use crate::ssr::money_guard::{reserve_units, Spend};
use crate::ssr::org_provider::provider_for_config;
use crate::ssr::prices::{price, Priced};
use crate::ssr::webhooks::Hook;
use crate::ssr::AppState;
use crate::ssr::{call_blocks, db};

/// Numbers the user may call from: active voice numbers they own, or team numbers of the org.
pub async fn usable_numbers(
    pool: &PgPool,
    org_id: i64,
    user_id: i64,
) -> Result<Vec<NumberOption>, sqlx::Error> {
    db::calls::usable_numbers(pool, org_id, user_id).await
}

/// The number to call from, if the user may: the org's, theirs or shared, active, voice, with a
/// phone to ring, to a destination not on the org's do-not-call list; and the phone it rings
/// (the bridge).
async fn calling_number(
    pool: &PgPool,
    org_id: i64,
    user_id: i64,
    number_id: i64,
    to: &E164,
) -> Result<(db::calls::CallingNumber, String), CallError> {
    let n = db::calls::calling_number(pool, number_id, org_id).await?;
    let Some(n) = n.filter(|n| n.user_id == Some(user_id) || n.shared) else {
        return Err(CallError::NotYours);
    };
    if n.status != NumberStatus::Active || !n.active {
        return Err(CallError::Inactive);
    }
    if !n.voice {
        return Err(CallError::NoVoice);
    }
    let Some(bridge) = n.forward_to.clone().filter(|f| !f.is_empty()) else {
        return Err(CallError::NoBridge);
    };
    if to.as_str() == n.e164 || to.as_str() == bridge {
        return Err(CallError::OwnNumber);
    }
    // The do-not-call list is the org's word: refused before the provider or any limit is asked,
    // for the person called and for the phone rung first (a member sets that one themself).
    if let Some(entry) = call_blocks::do_not_call(pool, org_id, to.as_str()).await? {
        return Err(CallError::DoNotCall { entry });
    }
    if let Some(entry) = call_blocks::do_not_call(pool, org_id, &bridge).await? {
        return Err(CallError::BridgeDoNotCall { entry });
    }
    Ok((n, bridge))
}

/// The caller places a call from their number `number_id` to `to` (E.164, or national in the
/// org's country): the one use case behind the call form and `POST /v1/calls`; the call's id.
pub async fn place_as(
    ctx: &crate::ssr::guard::OrgCtx,
    number_id: i64,
    to: &str,
) -> Result<i64, crate::error::AppError> {
    use crate::error::AppError;
    ctx.must_act()?;
    if to.trim().is_empty() {
        return Err(AppError::validation("to", "Enter the number to call."));
    }
    let to = E164::parse(to, Some(ctx.country.as_str()))
        .map_err(|e| AppError::validation("to", e.to_string()))?;
    Ok(place_call(&ctx.state, ctx.org_id, ctx.user.id, number_id, &to).await?)
}

/// What the provider is asked for call `id`: ring `bridge` from the number, then our hooks.
fn new_call(
    state: &AppState,
    n: &db::calls::CallingNumber,
    bridge: String,
    id: i64,
    time_limit_secs: Option<i32>,
) -> NewCall {
    NewCall {
        to: bridge,
        from: n.e164.clone(),
        url: Hook::Connect.url_for(&state.public_url, id),
        status_callback: Some(Hook::Status.url_for(&state.public_url, id)),
        status_callback_events: ["initiated", "ringing", "answered", "completed"]
            .map(String::from)
            .to_vec(),
        // A recorded call records from the called party's answer, after they heard the consent
        // announcement: the connect TwiML's `<Dial record>` asks for it, not the call itself.
        record: false,
        recording_status_callback: None,
        time_limit_secs: time_limit_secs.map(|s| s as u32),
    }
}

/// The longest call a reservation covers (Twilio's own maximum, four hours).
const MAX_CALL_MINUTES: i32 = 240;

/// Click-to-call: checks the number on the server, applies the hourly limit, writes the call,
/// then asks the provider to ring the user's phone; our connect TwiML then dials `to` with the
/// number as caller ID.
pub async fn place_call(
    state: &AppState,
    org_id: i64,
    user_id: i64,
    number_id: i64,
    to: &E164,
) -> Result<i64, CallError> {
    let pool = &state.pool;
    let (n, bridge) = calling_number(pool, org_id, user_id, number_id, to).await?;
    // Everything else from the pool first: the transaction below holds a connection while it
    // waits for the user's lock.
    let (cfg, provider) = provider_for_config(state, n.config_id, org_id).await?;
    // A provider that places no calls is refused before anything is written or counted.
    provider.voice().map_err(CallError::Provider)?;
    // A call's length is unknown: it reserves the minutes every covering cap has room for (up
    // to four hours) and is placed with that as its TimeLimit, so it cannot talk past a cap.
    let mut rate = price(pool, Priced::CallMinute).await?;
    // Where it may go, before anything is written: the org's maximum is the call's own minute.
    let verdict = destination_guard::check(state, org_id, Channel::Call, to, rate.micros()).await?;
    if n.record_calls {
        rate = rate + price(pool, Priced::RecordingMinute).await?;
    }
    let mut tx = begin_limited(pool, Limited::Call, org_id, user_id).await?;
    let now = state.clock.now();
    let velocity = destination_guard::velocity(&mut tx, state, user_id, &verdict, now).await?;
    if let Velocity::Paused { key, .. } = velocity {
        let refused = destination_guard::refuse_paused(&mut tx, &verdict, key, now).await?;
        // The pause (perhaps opened by this call, with its notices) stands; the call does not.
        tx.commit().await?;
        return Err(refused.into());
    }
    let hold = reserve_units(
        &mut tx,
        (org_id, Some(user_id)),
        Spend::Calls,
        (rate.micros(), MAX_CALL_MINUTES),
        now,
    )
    .await?;
    let time_limit_secs = hold.id.map(|_| hold.units * 60);
    let new = db::calls::NewOutbound {
        org_id,
        user_id,
        number_id: n.id,
        config_id: cfg.id,
        from: &n.e164,
        to,
        bridge: &bridge,
        hold_id: hold.id,
        time_limit_secs,
        at: now,
    };
    let id = db::calls::insert_outbound(&mut tx, &new).await?;
    tx.commit().await?;
    let call = new_call(state, &n, bridge, id, time_limit_secs);
    let placed = match provider.voice() {
        Ok(voice) => voice.create_call(&call).await,
        Err(e) => Err(e),
    };
    match placed {
        Ok(c) => {
            // A callback may have arrived first and set the SID already; it is the same SID.
            db::calls::set_provider_sid(pool, id, &c.sid).await?;
            Ok(id)
        }
        Err(e @ (ProviderError::Timeout | ProviderError::Network(_))) => {
            // The provider may or may not have placed it: the call stays queued, and its callbacks
            // (bound to this row by the URL) settle it if it happened.
            let note = crate::ssr::words::call_unconfirmed(&e);
            db::calls::set_error_message(pool, id, &note).await?;
            Ok(id)
        }
        Err(e) => {
            let err = CallError::Provider(e);
            let words = crate::ssr::words::call(&err).to_string();
            db::calls::mark_failed(pool, id, &words).await?;
            Err(err)
        }
    }
}

//! Click-to-call: the numbers a user may call from, and placing the call.

use sqlx::PgPool;
use telephony::provider::NewCall;
use telephony::{ProviderError, E164};

use crate::error::AppError;
use crate::model::calls::NumberOption;
use crate::model::numbers::NumberStatus;
use crate::ssr::db;
use crate::ssr::limits::{begin_limited, Limited};
use crate::ssr::providers::{provider_for_config, provider_message};
use crate::ssr::webhooks::Hook;
use crate::ssr::AppState;

/// Numbers the user may call from: active voice numbers they own, or team numbers of the org.
pub async fn usable_numbers(
    pool: &PgPool,
    org_id: i64,
    user_id: i64,
) -> Result<Vec<NumberOption>, sqlx::Error> {
    db::calls::usable_numbers(pool, org_id, user_id).await
}

/// The number to call from, if the user may: the org's, theirs or shared, active, voice, with a
/// phone to ring; and the phone it rings (the bridge).
async fn calling_number(
    pool: &PgPool,
    org_id: i64,
    user_id: i64,
    number_id: i64,
    to: &E164,
) -> Result<(db::calls::CallingNumber, String), AppError> {
    let n = db::calls::calling_number(pool, number_id, org_id).await?;
    let Some(n) = n.filter(|n| n.user_id == Some(user_id) || n.shared) else {
        return Err(AppError::validation(
            "number_id",
            "Choose one of your numbers or a team number.",
        ));
    };
    if n.status != NumberStatus::Active || !n.active {
        return Err(AppError::validation(
            "number_id",
            "This number is inactive. Turn it on in its settings to call from it.",
        ));
    }
    if !n.voice {
        return Err(AppError::validation(
            "number_id",
            "This number cannot make voice calls.",
        ));
    }
    let Some(bridge) = n.forward_to.clone().filter(|f| !f.is_empty()) else {
        return Err(AppError::validation(
            "number_id",
            "Set “Forward calls to” on this number first: PhoneHub rings that phone, then connects you.",
        ));
    };
    if to.as_str() == n.e164 || to.as_str() == bridge {
        return Err(AppError::validation(
            "to",
            "Call someone else: this is your own number.",
        ));
    }
    Ok((n, bridge))
}

/// Click-to-call: checks the number on the server, applies the hourly limit, writes the call,
/// then asks the provider to ring the user's phone; our connect TwiML then dials `to` with the
/// number as caller ID.
pub async fn place_call(
    state: &AppState,
    org_id: i64,
    user_id: i64,
    number_id: i64,
    to: &E164,
) -> Result<i64, AppError> {
    let pool = &state.pool;
    let (n, bridge) = calling_number(pool, org_id, user_id, number_id, to).await?;
    // Everything else from the pool first: the transaction below holds a connection while it
    // waits for the user's lock.
    let (cfg, provider) = provider_for_config(state, n.config_id, org_id).await?;
    let mut tx = begin_limited(pool, Limited::Call, user_id).await?;
    let new = db::calls::NewOutbound {
        org_id,
        user_id,
        number_id: n.id,
        config_id: cfg.id,
        from: &n.e164,
        to,
        bridge: &bridge,
    };
    let id = db::calls::insert_outbound(&mut tx, &new).await?;
    tx.commit().await?;
    let call = NewCall {
        to: bridge,
        from: n.e164.clone(),
        url: Hook::Connect.url_for(&state.public_url, id),
        status_callback: Some(Hook::Status.url_for(&state.public_url, id)),
        status_callback_events: ["initiated", "ringing", "answered", "completed"]
            .map(String::from)
            .to_vec(),
        record: n.record_calls,
        recording_status_callback: n
            .record_calls
            .then(|| Hook::Recording.url_for(&state.public_url, id)),
    };
    match provider.create_call(&call).await {
        Ok(c) => {
            // A callback may have arrived first and set the SID already; it is the same SID.
            db::calls::set_provider_sid(pool, id, &c.sid).await?;
            Ok(id)
        }
        Err(e @ (ProviderError::Timeout | ProviderError::Network(_))) => {
            // The provider may or may not have placed it: the call stays queued, and its callbacks
            // (bound to this row by the URL) settle it if it happened.
            let note = format!(
                "The provider did not confirm the call ({e}). If your phone rings, it went through."
            );
            db::calls::set_error_message(pool, id, &note).await?;
            Ok(id)
        }
        Err(e) => {
            let err = match &e {
                ProviderError::Rejected {
                    code: Some(21211 | 21214 | 21217),
                    ..
                } => AppError::validation("to", "The provider cannot call this number."),
                _ => provider_message(&e, None),
            };
            db::calls::mark_failed(pool, id, &err.to_string()).await?;
            Err(err)
        }
    }
}

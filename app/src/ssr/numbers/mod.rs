//! Owned numbers: search, buy (never twice for one click, never lost), settings, release and
//! reconciliation with the provider.

use std::time::Duration;

use sqlx::PgPool;
use telephony::provider::{NumberSearch, NumberType, NumberUpdate};
use telephony::{ProviderError, E164};

use super::db;
use super::errors::{Limited, NumberError};
use super::limits::begin_limited;
use super::money_guard::{self, reserve, Spend};
use super::number_upkeep::attempt_release;
use super::org_provider::{provider_for_config, provider_for_org};
use super::prices::{price, Priced};
use super::webhooks::Hook;
use super::AppState;
use crate::model::numbers::{Drift, NumberQuery, NumberStatus};

mod cases;
pub use cases::{
    available, buy, check_query, editable, every, one, release, update, visible, Changes, Purchase,
};

pub use super::db::numbers::{NumberRecord, NumberSettings};
pub use super::number_upkeep::Released;

/// Where the provider sends a number's traffic (served by the webhooks under the public URL).
pub fn webhook_urls(public_url: &url::Url) -> NumberUpdate {
    NumberUpdate {
        friendly_name: None,
        voice_url: Some(Hook::Voice.url(public_url)),
        sms_url: Some(Hook::Sms.url(public_url)),
        status_callback: Some(Hook::Status.url(public_url)),
    }
}

pub async fn search(
    state: &AppState,
    org_id: i64,
    q: &NumberQuery,
) -> Result<Vec<telephony::models::AvailableNumber>, NumberError> {
    let (_, provider) = provider_for_org(state, org_id).await?;
    let numbers = provider.numbers().map_err(NumberError::Provider)?;
    let number_type = match q.number_type.as_str() {
        "mobile" => NumberType::Mobile,
        "tollfree" => NumberType::TollFree,
        _ => NumberType::Local,
    };
    let opt = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
    let search = NumberSearch {
        country: q.country.clone(),
        number_type: Some(number_type),
        area_code: opt(&q.area_code),
        contains: opt(&q.contains),
        voice: q.voice,
        sms: q.sms,
        mms: q.mms,
        region: opt(&q.region),
        locality: opt(&q.locality),
        page_size: Some(20),
    };
    numbers
        .search_numbers(&search)
        .await
        .map_err(|source| NumberError::Search {
            source,
            area_code: q.area_code.clone(),
        })
}

/// What a purchase came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bought {
    /// Bought now, by this request.
    Now(i64),
    /// Bought by an earlier submission of the same form (or request with the same key).
    Earlier(i64),
}

impl Bought {
    pub fn id(self) -> i64 {
        match self {
            Bought::Now(id) | Bought::Earlier(id) => id,
        }
    }
}

/// Buys `e164` for the user (the use case is `cases::buy`). The row exists (state `purchasing`) before the provider is asked; a
/// repeated submission of the same form finds it instead of buying again; a timeout is settled by
/// asking the provider whether the account now owns the number.
async fn purchase(
    state: &AppState,
    org_id: i64,
    user_id: i64,
    e164: &E164,
    key: &str,
    friendly_name: &str,
) -> Result<Bought, NumberError> {
    let pool = &state.pool;
    if let Some(existing) = db::numbers::purchase_by_key(pool, org_id, key).await? {
        return match existing.status {
            NumberStatus::Purchasing => Err(NumberError::StillPurchasing),
            NumberStatus::Failed => Err(NumberError::FailedBefore(existing.last_error)),
            _ => Ok(Bought::Earlier(existing.id)),
        };
    }
    // Everything else from the pool first: the transaction below holds a connection while it
    // waits for the user's lock.
    let (cfg, provider) = provider_for_org(state, org_id).await?;
    // A provider that sells no numbers is refused before anything is written.
    let numbers = provider.numbers().map_err(NumberError::Provider)?;
    let monthly = price(pool, Priced::NumberMonthly).await?;
    let mut tx = begin_limited(pool, Limited::Purchase, org_id, user_id).await?;
    // The first month's rental is reserved; a renewal is booked, never refused.
    let hold = reserve(
        &mut tx,
        (org_id, Some(user_id)),
        Spend::Numbers,
        monthly.micros(),
        state.clock.now(),
    )
    .await?;
    let new = db::numbers::NewPurchase {
        org_id,
        user_id,
        config_id: cfg.id,
        e164,
        friendly_name,
        monthly,
        key,
        hold_id: hold.id,
    };
    let id = match db::numbers::insert_purchase(&mut tx, &new).await {
        Ok(Some(id)) => {
            tx.commit().await?;
            id
        }
        // The same form, submitted twice at once: the other submission is buying it.
        Ok(None) => return Err(NumberError::AlreadyBuying),
        Err(sqlx::Error::Database(d)) if d.constraint() == Some("owned_numbers_live_e164") => {
            return Err(NumberError::Taken)
        }
        Err(e) => return Err(e.into()),
    };
    let mut setup = webhook_urls(&state.public_url);
    setup.friendly_name = (!friendly_name.is_empty()).then(|| friendly_name.to_string());
    let result = match numbers.buy_number(e164.as_str(), &setup).await {
        Err(ProviderError::Timeout | ProviderError::Network(_) | ProviderError::Server { .. }) => {
            // The purchase may or may not have happened: ask.
            match numbers.list_numbers(Some(e164.as_str())).await {
                Ok(found) => found
                    .into_iter()
                    .find(|n| n.phone_number == e164.as_str())
                    .ok_or(ProviderError::Rejected {
                        status: 0,
                        code: None,
                        message: "the provider did not complete the purchase; nothing was bought"
                            .into(),
                        more_info: None,
                    }),
                Err(e) => {
                    // Still unknown: the row stays `purchasing` and the reconciler settles it.
                    tracing::warn!(error = %e, number = %e164, "purchase outcome unknown");
                    let note = crate::ssr::words::purchase_unknown_note();
                    db::numbers::set_last_error(pool, id, note).await?;
                    return Err(NumberError::OutcomeUnknown(e));
                }
            }
        }
        other => other,
    };
    settle_purchase(pool, id, result, state.clock.now()).await
}

/// Writes what the provider said about a purchase.
async fn settle_purchase(
    pool: &PgPool,
    id: i64,
    result: Result<telephony::models::IncomingNumber, ProviderError>,
    now: time::OffsetDateTime,
) -> Result<Bought, NumberError> {
    // The first month's charge is written (booked on the budgets) before its hold ends.
    let hold = db::numbers::hold_of(pool, id).await?;
    match result {
        Ok(n) => {
            db::numbers::mark_bought(pool, id, &n).await?;
            db::numbers::accrue_charges(pool, now).await?;
            money_guard::end(pool, hold, true).await?;
            Ok(Bought::Now(id))
        }
        Err(e) => {
            let err = NumberError::PurchaseRefused(e);
            let words = crate::ssr::words::number(&err).to_string();
            db::numbers::mark_purchase_failed(pool, id, &words).await?;
            money_guard::end(pool, hold, false).await?;
            Err(err)
        }
    }
}

/// Marks the number `releasing` (so it is never forgotten while billed), then asks the provider
/// (the use case is `cases::release`).
async fn release_held(state: &AppState, org_id: i64, id: i64) -> Result<Released, NumberError> {
    if !db::numbers::mark_releasing(&state.pool, org_id, id).await? {
        return Err(NumberError::NotReleasable);
    }
    attempt_release(state, id).await
}

/// Compares the provider's numbers (of the org's effective configuration) with ours.
pub async fn reconcile(state: &AppState, org_id: i64) -> Result<Drift, NumberError> {
    let (cfg, provider) = provider_for_org(state, org_id).await?;
    let theirs = provider
        .numbers()
        .map_err(NumberError::Provider)?
        .list_numbers(None)
        .await
        .map_err(NumberError::Provider)?;
    let ours = db::numbers::held_on_config(&state.pool, cfg.id, org_id).await?;
    // On a shared account (the system default) the provider's other numbers belong to other orgs
    // or to nobody in PhoneHub: none of them is this org's to see.
    let account_is_the_orgs = cfg.org_id == Some(org_id);
    let theirs_set: std::collections::HashSet<&str> =
        theirs.iter().map(|n| n.phone_number.as_str()).collect();
    let ours_set: std::collections::HashSet<&str> = ours.iter().map(|n| n.e164.as_str()).collect();
    let mut unknown_here: Vec<String> = theirs_set
        .iter()
        .filter(|n| account_is_the_orgs && !ours_set.contains(*n))
        .map(|n| n.to_string())
        .collect();
    let mut gone_there: Vec<String> = ours
        .iter()
        .filter(|n| n.status == NumberStatus::Active && !theirs_set.contains(n.e164.as_str()))
        .map(|n| n.e164.clone())
        .collect();
    unknown_here.sort();
    gone_there.sort();
    Ok(Drift {
        unknown_here,
        gone_there,
    })
}

/// What to simulate with the sandbox: someone calling or texting an owned number.
pub enum Simulate<'a> {
    Call { from: &'a str },
    Sms { from: &'a str, body: &'a str },
}

/// Asks the sandbox (only when the number's configuration is the sandbox) to simulate an
/// inbound call or SMS to the number, which then reaches our webhooks like Twilio's would.
pub async fn simulate_inbound(
    state: &AppState,
    org_id: i64,
    n: &NumberRecord,
    what: Simulate<'_>,
) -> Result<(), NumberError> {
    let (cfg, _) = provider_for_config(state, n.config_id, org_id).await?;
    if !cfg.provider.is_sandbox() {
        return Err(NumberError::NotSandbox);
    }
    if !state.dev_mode {
        return Err(NumberError::NoSandbox);
    }
    // The sandbox in this server, with its own credentials (the control endpoints require them).
    let root = state.providers.sandbox_root(&state.public_url);
    let token = cfg
        .sealed_token()
        .and_then(|s| state.keyring.decrypt(&s).ok())
        .ok_or(NumberError::SandboxNoToken)?;
    let (path, body) = match what {
        Simulate::Call { from } => (
            "incoming-call",
            serde_json::json!({ "to": n.e164, "from": from }),
        ),
        Simulate::Sms { from, body } => (
            "incoming-sms",
            serde_json::json!({ "to": n.e164, "from": from, "body": body }),
        ),
    };
    // The providers' client (no redirects; the sandbox is on this development server's own
    // network, which development allows).
    let r = telephony::http::client(Duration::from_secs(15), true)
        .map_err(NumberError::Client)?
        .post(format!("{root}/_simulate/{path}"))
        .basic_auth(&cfg.credential_id, Some(token.as_str()))
        .timeout(Duration::from_secs(15))
        .json(&body)
        .send()
        .await
        .map_err(|e| NumberError::SandboxUnreachable(e.without_url()))?;
    if r.status().is_success() {
        Ok(())
    } else {
        let v: serde_json::Value = r.json().await.unwrap_or_default();
        Err(NumberError::SandboxRefused(
            v["message"].as_str().unwrap_or("unknown error").to_string(),
        ))
    }
}

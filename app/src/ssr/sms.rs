//! SMS: send from an owned number or the org's sender (test mode records without sending),
//! through the destination guard (a paused destination holds the message; resuming it sends
//! it), conversations, delivery status callbacks and inbound messages (signed, idempotent, never
//! regressing a final status).

use telephony::provider::NewMessage;
use telephony::{Provider, E164};

use super::db;
pub use super::db::sms::MessageRecord;
use super::destination_guard::{self, Velocity};
use super::errors::{GuardError, Limited, SmsError};
use super::limits::begin_limited;
use super::money_guard::charge_message;
use super::opt_outs;
use super::org_provider::provider_for_config;
use super::prices::{price, Priced};
pub use super::sms_read::{conversations, messages, thread, MessageScope, Viewer};
use super::twiml;
use super::webhooks::{Hook, Owner, Refused, Verified};
use super::AppState;
use crate::model::destinations::Channel;
use crate::model::message_status::MessageStatus;
use crate::model::money::Money;
use crate::model::phone_config::Capability;
use crate::model::sms::*;

/// Numbers the user may send from (active, SMS-capable, theirs or shared), then the org's
/// configured sender.
pub async fn senders(
    state: &AppState,
    org_id: i64,
    user_id: i64,
) -> Result<Vec<Sender>, sqlx::Error> {
    let eff = state.providers.effective(&state.pool, org_id).await?;
    // A provider that sells no numbers (Amazon SNS) sends from the configuration's origination
    // number, never from a number bought through another provider.
    let own_sender_only = eff
        .config
        .as_ref()
        .is_some_and(|c| !c.provider.can(Capability::Numbers));
    let rows = if own_sender_only {
        Vec::new()
    } else {
        db::sms::sender_numbers(&state.pool, org_id, user_id).await?
    };
    let mut out: Vec<Sender> = rows
        .into_iter()
        .map(|r| Sender {
            label: if r.friendly_name.is_empty() {
                r.e164.clone()
            } else {
                format!("{} · {}", r.e164, r.friendly_name)
            },
            e164: r.e164,
        })
        .collect();
    if let Some(s) = eff
        .config
        .as_ref()
        .and_then(|c| c.default_sender.clone())
        .filter(|s| !s.is_empty() && !out.iter().any(|o| &o.e164 == s))
    {
        out.push(Sender {
            label: format!("{s} · the org's sender"),
            e164: s,
        });
    }
    Ok(out)
}

/// The sender `from` names, if the user may send from it.
async fn sender(state: &AppState, org_id: i64, user_id: i64, from: &str) -> Result<E164, SmsError> {
    if !senders(state, org_id, user_id)
        .await?
        .iter()
        .any(|s| s.e164 == from)
    {
        return Err(SmsError::NotASender);
    }
    E164::parse(from, None).map_err(|_| SmsError::NotASender)
}

/// What became of a message: sent (or recorded, in test mode), or held because sends to its
/// destination are paused (it goes out when an owner or admin resumes them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    pub id: i64,
    pub held: bool,
    /// Scheduled: it is quiet hours where the recipient is, and it goes then.
    pub send_after: Option<time::OffsetDateTime>,
}

/// Sends `body` as the caller from `from` (one of their senders) to `to` (E.164, or national in
/// the org's country), checking each field: what became of the message and where it went. The
/// one use case behind the send form and `POST /v1/messages`.
pub async fn send_as(
    ctx: &crate::ssr::guard::OrgCtx,
    from: &str,
    to: &str,
    body: &str,
    urgent: bool,
) -> Result<(Sent, E164), crate::error::AppError> {
    use crate::error::AppError;
    ctx.must_act()?;
    check_body(body)?;
    if urgent && !super::quiet_hours::may_send_urgent(ctx).await? {
        return Err(AppError::validation(
            "urgent",
            "Only owners, admins and members an admin allowed can send urgent texts in quiet hours.",
        ));
    }
    if to.trim().is_empty() {
        return Err(AppError::validation("to", "Enter the number to text."));
    }
    let to = E164::parse(to, Some(ctx.country.as_str()))
        .map_err(|e| AppError::validation("to", e.to_string()))?;
    let from = from.trim();
    if from.is_empty() {
        return Err(AppError::validation(
            "from",
            "Choose the number to send from.",
        ));
    }
    let sent = send(&ctx.state, ctx.org_id, ctx.user.id, from, &to, body, urgent).await?;
    if urgent {
        // Quiet hours did not hold it: on the record, whatever the hour it went at.
        ctx.audit(
            &ctx.state.pool,
            "sms.urgent",
            &sent.id.to_string(),
            serde_json::json!({ "to": to.as_str() }),
        )
        .await?;
    }
    Ok((sent, to))
}

/// Sends (or, in test mode, records) a message, or holds it when sends to its destination are
/// paused; what became of it.
pub async fn send(
    state: &AppState,
    org_id: i64,
    user_id: i64,
    from: &str,
    to: &E164,
    body: &str,
    urgent: bool,
) -> Result<Sent, SmsError> {
    let pool = &state.pool;
    let c = check(state, (org_id, user_id), from, to, body).await?;
    let (test_mode, estimate) = (c.test_mode, c.estimate);
    let seg = segments(body);
    // Quiet hours where the recipient is: written scheduled, sent when their window opens.
    let send_after = match urgent {
        true => None,
        false => super::quiet_hours::hold_until(state, org_id, to, state.clock.now()).await?,
    };
    let mut tx = begin_limited(pool, Limited::Sms, org_id, user_id).await?;
    let now = state.clock.now();
    // A destination paused (now, or by this very message) holds it: written, not sent, nothing
    // charged until it is resumed.
    let velocity = destination_guard::velocity(&mut tx, state, user_id, &c.verdict, now).await?;
    let pause_id = match velocity {
        Velocity::Go => None,
        Velocity::Paused { pause_id, .. } => Some(pause_id),
    };
    // Its price checked against the caps and charged as it is written, in the last statement
    // before the commit, so their rows stay locked only that long (a test-mode or held message
    // costs nothing yet).
    let cost_micros = if !test_mode && pause_id.is_none() && send_after.is_none() {
        estimate.micros()
    } else {
        0
    };
    let new = db::sms::NewOutbound {
        org_id,
        user_id,
        number_id: c.number.as_ref().map(|n| n.id),
        config_id: c.config_id,
        from: &c.from,
        to,
        body,
        segments: seg.count as i32,
        encoding: seg.encoding(),
        is_test: test_mode,
        at: now,
        pause_id,
        cost_micros,
        send_after,
        urgent,
    };
    let Some(id) = db::sms::insert_outbound(&mut tx, &new, cost_micros > 0).await? else {
        // Refused by a cap: which one, and what it has left (its row is still locked).
        let who = (org_id, Some(user_id));
        charge_message(&mut tx, who, estimate.micros(), now).await?;
        return Err(GuardError::Db(sqlx::Error::RowNotFound).into());
    };
    tx.commit().await?;
    let held = pause_id.is_some();
    if let (Some(provider), false, None) = (c.provider, held, send_after) {
        let (from, to) = (c.from.as_str(), to.as_str());
        let out = Outgoing {
            id,
            org_id,
            from,
            to,
            body,
            estimate,
        };
        dispatch(state, provider.as_ref(), &out).await?;
    }
    Ok(Sent {
        id,
        held,
        send_after,
    })
}

/// What a text passed before anything is written: its sender, its price, where it may go, the
/// provider that sends it (none in test mode), and the recipient's consent.
struct Checked {
    from: E164,
    number: Option<db::sms::FromNumber>,
    test_mode: bool,
    estimate: Money,
    config_id: Option<i64>,
    verdict: destination_guard::Verdict,
    provider: Option<std::sync::Arc<dyn Provider>>,
}

async fn check(
    state: &AppState,
    (org_id, user_id): (i64, i64),
    from: &str,
    to: &E164,
    body: &str,
) -> Result<Checked, SmsError> {
    let pool = &state.pool;
    let from = sender(state, org_id, user_id, from).await?;
    if to == &from {
        return Err(SmsError::TextsItself);
    }
    let number = db::sms::from_number(pool, org_id, &from).await?;
    let eff = state.providers.effective(pool, org_id).await?;
    let test_mode = eff.config.as_ref().is_some_and(|c| c.test_mode);
    let estimate = price(pool, Priced::SmsSegment)
        .await?
        .times(segments(body).count as i64);
    let config_id = number
        .as_ref()
        .and_then(|n| n.config_id)
        .or(eff.config.as_ref().map(|c| c.id));
    // Where it may go, before anything is written or any provider asked.
    let verdict =
        destination_guard::check(state, org_id, Channel::Sms, to, estimate.micros()).await?;
    // The provider before anything is written: a configuration that cannot send leaves no
    // message behind (and none counted against the limit).
    let provider = if test_mode {
        None
    } else {
        Some(provider_for_config(state, config_id, org_id).await?.1)
    };
    if let Some(p) = &provider {
        p.messaging().map_err(SmsError::Provider)?;
    }
    // Someone who opted out of the org's texts is refused before anything is written.
    opt_outs::check_send(state, org_id, to).await?;
    Ok(Checked {
        from,
        number,
        test_mode,
        estimate,
        config_id,
        verdict,
        provider,
    })
}

/// A message written (its price charged) and not yet asked of the provider.
struct Outgoing<'a> {
    id: i64,
    org_id: i64,
    from: &'a str,
    to: &'a str,
    body: &'a str,
    estimate: Money,
}

/// Asks the provider to send `m` and writes its answer: accepted (its cost stays the
/// estimate it was charged), or refused (failed, its charge taken back).
///
/// The recipient's opt-out is checked again under the fence (`opt_out_fence`), held until the
/// provider has answered and the answer is written: an opt-out recorded meanwhile waits for this
/// send, and one recorded before it refuses it here (failed, nothing charged, no request). A
/// provider that keeps its own opt-out list (Amazon SNS) is asked first; one that has them puts
/// them in the ledger too.
async fn dispatch(
    state: &AppState,
    provider: &dyn Provider,
    m: &Outgoing<'_>,
) -> Result<(), SmsError> {
    let _slot = state.dispatch.take().await;
    let mut fence = state.pool.begin().await?;
    let in_ledger = db::opt_outs::fence(&mut fence, m.org_id, m.to).await?;
    let messaging = match provider.messaging() {
        Ok(p) => p,
        Err(e) => return failed(state, fence, m, e).await,
    };
    let by_provider = if in_ledger {
        false
    } else {
        match messaging.opted_out(m.to).await {
            Ok(listed) => listed == Some(true),
            // Not knowing is not consent: the text is not sent.
            Err(e) => return failed(state, fence, m, e).await,
        }
    };
    if in_ledger || by_provider {
        let why = match db::opt_outs::entry(&mut *fence, m.org_id, m.to).await? {
            Some(row) => opt_outs::refusal(&row),
            None => format!(
                "{} opted out of this org's texts (the provider's opt-out list). Texts to them are not sent; only they can opt back in.",
                m.to
            ),
        };
        db::sms::refused(&mut *fence, m.id, None, &why).await?;
        fence.commit().await?;
        if by_provider {
            opt_outs::provider_opt_out(state, m.org_id, m.to, Some(m.id)).await?;
        }
        return Err(SmsError::OptedOut(why));
    }
    let msg = NewMessage {
        to: m.to.to_string(),
        from: m.from.to_string(),
        body: m.body.to_string(),
        status_callback: Some(Hook::SmsStatus.url_for(&state.public_url, m.id)),
    };
    match messaging.send_message(&msg).await {
        Ok(r) => {
            let status = r
                .status
                .as_deref()
                .and_then(MessageStatus::parse)
                .filter(|s| matches!(s.rank(), 1 | 2))
                .unwrap_or(MessageStatus::Queued);
            let written = db::sms::accepted(&mut *fence, m.id, &r.sid, m.estimate, status).await;
            if written.is_err() || fence.commit().await.is_err() {
                // The provider has it: its answer is written outside the fence rather than lost.
                db::sms::accepted(&state.pool, m.id, &r.sid, m.estimate, status).await?;
            }
            Ok(())
        }
        Err(e) => failed(state, fence, m, e).await,
    }
}

/// The provider refused `m` (or could not be asked): failed with the reason, its charge taken
/// back, the fence released.
async fn failed(
    state: &AppState,
    mut fence: sqlx::Transaction<'_, sqlx::Postgres>,
    m: &Outgoing<'_>,
    e: telephony::ProviderError,
) -> Result<(), SmsError> {
    let code = e.code().map(|c| c as i32);
    let err = SmsError::Provider(e);
    let words = crate::ssr::words::sms(&err).to_string();
    db::sms::refused(&mut *fence, m.id, code, &words).await?;
    fence.commit().await?;
    // The provider holds the recipient as opted out (Twilio 21610): so does the ledger, and the
    // next send is refused before asking.
    if code == Some(OPTED_OUT_CODE) {
        opt_outs::provider_opt_out(state, m.org_id, m.to, Some(m.id)).await?;
    }
    Err(err)
}

/// Twilio's error for a send to a recipient who opted out (replied STOP).
const OPTED_OUT_CODE: i32 = 21610;

/// Sends a message a paused destination held, now that an owner or admin resumed it: through
/// the budgets (a cap that refuses it keeps it held, saying why) and the provider. Whether it
/// went (false: kept held by a cap, or no longer held).
pub async fn send_held(state: &AppState, id: i64) -> Result<bool, SmsError> {
    let pool = &state.pool;
    let Some(m) = db::sms::held(pool, id).await? else {
        return Ok(false);
    };
    // Released in the recipient's quiet hours (a destination resumed at night): it waits for
    // their window instead.
    if !m.urgent {
        if let Ok(to) = E164::parse(&m.other_e164, None) {
            let now = state.clock.now();
            if let Some(at) = super::quiet_hours::hold_until(state, m.org_id, &to, now).await? {
                db::quiet_hours::reschedule(pool, id, at).await?;
                return Ok(false);
            }
        }
    }
    let estimate = price(pool, Priced::SmsSegment)
        .await?
        .times(i64::from(m.segments));
    let provider = if m.is_test {
        None
    } else {
        Some(provider_for_config(state, m.config_id, m.org_id).await?.1)
    };
    let mut tx = pool.begin().await?;
    let cost_micros = if m.is_test { 0 } else { estimate.micros() };
    if !m.is_test {
        let who = (m.org_id, m.user_id);
        match charge_message(&mut tx, who, cost_micros, state.clock.now()).await {
            Ok(()) => {}
            Err(GuardError::Capped(b)) => {
                tx.rollback().await?;
                let why = crate::ssr::words::guard(&GuardError::Capped(b)).to_string();
                // A scheduled text asks again in an hour (not every second of the scheduler).
                let again = state.clock.now() + time::Duration::hours(1);
                db::sms::keep_held(pool, id, &why, again).await?;
                return Ok(false);
            }
            Err(e) => return Err(e.into()),
        }
    }
    if !db::sms::release_held(&mut tx, id, (cost_micros, state.clock.now())).await? {
        return Ok(false);
    }
    tx.commit().await?;
    if let Some(provider) = provider {
        let out = Outgoing {
            id,
            org_id: m.org_id,
            from: &m.our_e164,
            to: &m.other_e164,
            body: &m.body,
            estimate,
        };
        dispatch(state, provider.as_ref(), &out).await?;
    }
    Ok(true)
}

/// A delivery status callback (`?msg=` binds it to its row): a final status is never replaced,
/// a message that failed to send costs nothing.
#[tracing::instrument(skip_all, err)]
pub async fn status_callback(state: &AppState, hook: &Verified) -> Result<(), Refused> {
    let Owner::Message { id, .. } = hook.owner() else {
        return Err(Refused::Unknown);
    };
    let sid = hook.param("MessageSid").unwrap_or("");
    let Some(status) = hook
        .param("MessageStatus")
        .or(hook.param("SmsStatus"))
        .and_then(MessageStatus::parse)
        // None is a delivery status of ours: a callback never moves a message to one (Twilio's
        // own `scheduled` and `canceled` are its scheduling feature, which PhoneHub does not use).
        .filter(|s| {
            !matches!(
                s,
                MessageStatus::Received
                    | MessageStatus::Held
                    | MessageStatus::Scheduled
                    | MessageStatus::Canceled
            )
        })
    else {
        return Ok(());
    };
    let code: Option<i32> = hook.param("ErrorCode").and_then(|c| c.parse().ok());
    let message = code.map(crate::ssr::words::carrier_error);
    let delivery = db::sms::Delivery {
        status,
        sid,
        error_code: code,
        error_message: message.as_deref(),
    };
    db::sms::delivered(&state.pool, *id, &delivery).await?;
    Ok(())
}

/// An inbound SMS to an owned number: stored once in its conversation. A compliance keyword
/// (STOP and its variants, START, HELP) is recorded in the org's opt-out ledger in the same
/// transaction, with the message as its proof, and answered once with the org's wording (the
/// reply is kept in the conversation); anything else is answered with empty TwiML. A retry of a
/// message already stored changes and answers nothing.
#[tracing::instrument(skip_all, err)]
pub async fn inbound(state: &AppState, hook: &Verified) -> Result<String, Refused> {
    let Owner::SmsNumber { e164, number: n } = hook.owner() else {
        return Err(Refused::Unknown);
    };
    let sid = hook
        .param("MessageSid")
        .or(hook.param("SmsSid"))
        .unwrap_or("");
    if sid.is_empty() || sid.len() > 64 {
        return Err(Refused::Unknown);
    }
    let from: String = hook.param("From").unwrap_or("").chars().take(32).collect();
    let text: String = hook
        .param("Body")
        .unwrap_or("")
        .chars()
        .take(MAX_BODY)
        .collect();
    let body = if text.is_empty() {
        "(empty message)".to_string()
    } else {
        text.clone()
    };
    let seg = segments(&body);
    let new = db::sms::NewInbound {
        to: e164,
        from: &from,
        body: &body,
        segments: seg.count as i32,
        encoding: seg.encoding(),
        sid,
    };
    let mut tx = state.pool.begin().await?;
    let Some(message_id) = db::sms::insert_inbound(&mut *tx, n, &new).await? else {
        // The provider sent it again: stored and answered the first time.
        return Ok(twiml::empty());
    };
    let keyword = opt_outs::classify(&text);
    let sender = opt_outs::ledger_number(&from);
    let (Some(kw), Some(sender)) = (keyword, sender) else {
        tx.commit().await?;
        return Ok(twiml::empty());
    };
    let (our, other) = (e164.as_str(), sender.as_str());
    let reply =
        opt_outs::keyword_received(&mut tx, state, n, (our, other), (message_id, &text), kw)
            .await?;
    let Some(reply) = reply else {
        tx.commit().await?;
        return Ok(twiml::empty());
    };
    let seg = segments(&reply);
    let cost = price(&mut *tx, Priced::SmsSegment)
        .await?
        .times(seg.count as i64);
    let r = db::sms::NewReply {
        our,
        other,
        body: &reply,
        segments: seg.count as i32,
        encoding: seg.encoding(),
        cost_micros: cost.micros(),
        at: state.clock.now(),
    };
    let id = db::sms::insert_reply(&mut *tx, n, &r).await?;
    tx.commit().await?;
    let callback = Hook::SmsStatus.url_for(&state.public_url, id);
    Ok(twiml::message(&reply, &callback))
}

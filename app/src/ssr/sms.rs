//! SMS: send from an owned number or the org's sender (test mode records without sending),
//! conversations, delivery status callbacks and inbound messages (signed, idempotent, never
//! regressing a final status).

use sqlx::PgPool;
use telephony::provider::NewMessage;
use telephony::ProviderError;

use super::calls::{Refused, Webhook};
use super::numbers::{begin_limited, price, provider_for_config, provider_message, Limited};
use super::AppState;
use crate::error::AppError;
use crate::model::lookup::money;
use crate::model::sms::*;

/// Who may see which messages: admins and support all of the org's; members their own and those
/// on team numbers.
#[derive(Debug, Clone, Copy)]
pub struct Scope {
    pub org_id: i64,
    /// None: everything in the org.
    pub user_id: Option<i64>,
}

/// Numbers the user may send from (active, SMS-capable, theirs or shared), then the org's
/// configured sender.
pub async fn senders(state: &AppState, org_id: i64, user_id: i64) -> Result<Vec<Sender>, AppError> {
    let rows = sqlx::query!(
        r#"SELECT e164, friendly_name FROM owned_numbers
           WHERE org_id = $1 AND status = 'active' AND active AND sms AND (user_id = $2 OR shared)
           ORDER BY e164"#,
        org_id,
        user_id
    )
    .fetch_all(&state.pool)
    .await?;
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
    let eff = state.providers.effective(&state.pool, org_id).await?;
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

pub fn check_body(body: &str) -> Result<(), AppError> {
    if body.trim().is_empty() {
        return Err(AppError::validation("body", "Write a message."));
    }
    let n = body.chars().count();
    if n > MAX_BODY {
        return Err(AppError::validation(
            "body",
            format!("A message can be at most {MAX_BODY} characters; this one has {n}."),
        ));
    }
    if body
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(AppError::validation(
            "body",
            "The message contains control characters; remove them.",
        ));
    }
    Ok(())
}

/// Sends (or, in test mode, records) a message; returns its id.
pub async fn send(
    state: &AppState,
    org_id: i64,
    user_id: i64,
    from: &str,
    to: &str,
    body: &str,
) -> Result<i64, AppError> {
    let pool = &state.pool;
    if !senders(state, org_id, user_id)
        .await?
        .iter()
        .any(|s| s.e164 == from)
    {
        return Err(AppError::validation(
            "from",
            "Choose one of your SMS numbers, a team number or the org's sender.",
        ));
    }
    if to == from {
        return Err(AppError::validation("to", "A number cannot text itself."));
    }
    let number = sqlx::query!(
        "SELECT id, config_id FROM owned_numbers WHERE org_id = $1 AND e164 = $2 AND status = 'active'",
        org_id,
        from
    )
    .fetch_optional(pool)
    .await?;
    let eff = state.providers.effective(pool, org_id).await?;
    let test_mode = eff.config.as_ref().is_some_and(|c| c.test_mode);
    let seg = segments(body);
    let estimate = seg.count as i64 * price(pool, "sms.segment").await?;
    let config_id = number
        .as_ref()
        .and_then(|n| n.config_id)
        .or(eff.config.as_ref().map(|c| c.id));
    // The provider before anything is written: a configuration that cannot send leaves no
    // message behind (and none counted against the limit).
    let provider = if test_mode {
        None
    } else {
        Some(provider_for_config(state, config_id, org_id).await?.1)
    };
    let mut tx = begin_limited(pool, Limited::Sms, user_id).await?;
    let id = sqlx::query_scalar!(
        r#"INSERT INTO messages (org_id, user_id, number_id, config_id, direction, our_e164, other_e164,
                                 body, segments, encoding, is_test)
           VALUES ($1, $2, $3, $4, 'outbound', $5, $6, $7, $8, $9, $10) RETURNING id"#,
        org_id,
        user_id,
        number.as_ref().map(|n| n.id),
        config_id,
        from,
        to,
        body,
        seg.count as i32,
        seg.encoding(),
        test_mode
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    let Some(provider) = provider else {
        return Ok(id);
    };
    let base = state.public_url.as_str().trim_end_matches('/');
    let msg = NewMessage {
        to: to.to_string(),
        from: from.to_string(),
        body: body.to_string(),
        status_callback: Some(format!("{base}/webhooks/twilio/sms-status?msg={id}")),
    };
    match provider.send_message(&msg).await {
        Ok(m) => {
            let status = m
                .status
                .filter(|s| rank(s) > 0 && rank(s) < 3)
                .unwrap_or_else(|| "queued".into());
            sqlx::query!(
                // A failure callback that beat this answer keeps the message free.
                r#"UPDATE messages SET provider_sid = $2,
                       cost_micros = CASE WHEN status = 'failed' THEN 0 ELSE $3::int8 END,
                       status = CASE WHEN status = 'queued' THEN $4 ELSE status END, updated_at = now()
                   WHERE id = $1"#,
                id,
                m.sid,
                estimate,
                status
            )
            .execute(pool)
            .await?;
            Ok(id)
        }
        Err(e) => {
            let err = match &e {
                ProviderError::Rejected {
                    code: Some(21211 | 21614),
                    ..
                } => AppError::validation("to", "The provider cannot text this number."),
                ProviderError::Rejected {
                    code: Some(21610), ..
                } => AppError::validation(
                    "to",
                    "This recipient has opted out of messages from this number.",
                ),
                ProviderError::Rejected {
                    code: Some(21606), ..
                } => AppError::validation("from", "The provider cannot send SMS from this number."),
                _ => provider_message(&e, None),
            };
            sqlx::query!(
                r#"UPDATE messages SET status = 'failed', error_code = $2, error_message = $3,
                       updated_at = now() WHERE id = $1"#,
                id,
                e.code().map(|c| c as i32),
                err.to_string()
            )
            .execute(pool)
            .await?;
            Err(err)
        }
    }
}

/// Conversations (our number, other party), newest first.
pub async fn conversations(pool: &PgPool, scope: Scope) -> Result<Vec<Conversation>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT our_e164, other_e164, body, direction, n AS "n!",
                  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS "at!"
           FROM (SELECT DISTINCT ON (m.our_e164, m.other_e164) m.our_e164, m.other_e164, m.body,
                        m.direction, m.created_at,
                        count(*) OVER (PARTITION BY m.our_e164, m.other_e164) AS n
                 FROM messages m
                 WHERE m.org_id = $1
                   AND ($2::int8 IS NULL OR m.user_id = $2
                        OR m.number_id IN (SELECT id FROM owned_numbers WHERE org_id = $1 AND shared))
                 ORDER BY m.our_e164, m.other_e164, m.created_at DESC, m.id DESC) c
           ORDER BY created_at DESC LIMIT 100"#,
        scope.org_id,
        scope.user_id
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Conversation {
            our: r.our_e164,
            other: r.other_e164,
            last_body: r.body.chars().take(120).collect(),
            last_at: format!("{} UTC", r.at),
            last_direction: r.direction,
            count: r.n,
        })
        .collect())
}

/// The last 200 messages of one conversation, oldest first.
pub async fn thread(
    pool: &PgPool,
    scope: Scope,
    our: &str,
    other: &str,
) -> Result<Vec<MessageView>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT * FROM (
               SELECT m.id, m.direction, m.body, m.status, m.is_test, m.segments, m.cost_micros,
                      m.error_message, m.created_at, coalesce(u.email, '—') AS "user!",
                      to_char(m.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS "at!"
               FROM messages m LEFT JOIN users u ON u.id = m.user_id
               WHERE m.org_id = $1 AND m.our_e164 = $3 AND m.other_e164 = $4
                 AND ($2::int8 IS NULL OR m.user_id = $2
                      OR m.number_id IN (SELECT id FROM owned_numbers WHERE org_id = $1 AND shared))
               ORDER BY m.created_at DESC, m.id DESC LIMIT 200) t
           ORDER BY created_at, id"#,
        scope.org_id,
        scope.user_id,
        our,
        other
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| MessageView {
            id: r.id,
            direction: r.direction,
            body: r.body,
            status: r.status,
            is_test: r.is_test,
            segments: r.segments,
            cost: money(r.cost_micros),
            at: format!("{} UTC", r.at),
            error: r.error_message,
            user: r.user,
        })
        .collect())
}

/// A delivery status callback (`?msg=` binds it to its row): a final status is never replaced,
/// a message that failed to send costs nothing.
pub async fn status_callback(state: &AppState, hook: &Webhook<'_>) -> Result<(), Refused> {
    let id: i64 = hook
        .query("msg")
        .and_then(|m| m.parse().ok())
        .ok_or(Refused::Unknown)?;
    let sid = hook.param("MessageSid").unwrap_or("");
    let m = sqlx::query!(
        "SELECT config_id, provider_sid FROM messages WHERE id = $1",
        id
    )
    .fetch_optional(&state.pool)
    .await?
    .ok_or(Refused::Unknown)?;
    if sid.is_empty() || m.provider_sid.as_deref().is_some_and(|s| s != sid) {
        return Err(Refused::Unknown);
    }
    hook.verify(state, m.config_id).await?;
    let status = hook
        .param("MessageStatus")
        .or(hook.param("SmsStatus"))
        .unwrap_or("");
    if !matches!(
        status,
        "queued" | "sending" | "sent" | "delivered" | "failed" | "undelivered"
    ) {
        return Ok(());
    }
    let code: Option<i32> = hook.param("ErrorCode").and_then(|c| c.parse().ok());
    let message = code.map(|c| match c {
        30003 => "The recipient's phone is unreachable.".to_string(),
        30005 => "The recipient's number does not exist.".to_string(),
        30006 => "The recipient cannot receive SMS (landline or unreachable carrier).".to_string(),
        30007 => "The carrier filtered this message.".to_string(),
        other => format!("The carrier reported error {other}."),
    });
    let ranks = [
        ("queued", 0),
        ("sending", 1),
        ("sent", 2),
        ("delivered", 3),
        ("undelivered", 3),
        ("failed", 3),
    ];
    let new_rank = ranks
        .iter()
        .find(|r| r.0 == status)
        .map(|r| r.1)
        .unwrap_or(0);
    sqlx::query!(
        r#"UPDATE messages SET status = $2,
               provider_sid = coalesce(provider_sid, $3),
               sent_at = CASE WHEN $2 IN ('sent', 'delivered', 'undelivered') THEN coalesce(sent_at, now()) ELSE sent_at END,
               delivered_at = CASE WHEN $2 = 'delivered' THEN now() ELSE delivered_at END,
               error_code = coalesce($4, error_code), error_message = coalesce($5, error_message),
               cost_micros = CASE WHEN $2 = 'failed' THEN 0 ELSE cost_micros END,
               updated_at = now()
           WHERE id = $1 AND NOT is_test
             AND (CASE status WHEN 'queued' THEN 0 WHEN 'sending' THEN 1 WHEN 'sent' THEN 2 ELSE 3 END) < $6"#,
        id,
        status,
        sid,
        code,
        message,
        new_rank
    )
    .execute(&state.pool)
    .await?;
    Ok(())
}

/// An inbound SMS to an owned number: stored once in its conversation; answered with empty TwiML.
pub async fn inbound(state: &AppState, hook: &Webhook<'_>) -> Result<String, Refused> {
    let to = hook.param("To").unwrap_or("");
    let n = sqlx::query!(
        "SELECT id, org_id, user_id, config_id FROM owned_numbers WHERE e164 = $1 AND status = 'active'",
        to
    )
    .fetch_optional(&state.pool)
    .await?
    .ok_or(Refused::Unknown)?;
    hook.verify(state, n.config_id).await?;
    let sid = hook
        .param("MessageSid")
        .or(hook.param("SmsSid"))
        .unwrap_or("");
    if sid.is_empty() || sid.len() > 64 {
        return Err(Refused::Unknown);
    }
    let from: String = hook.param("From").unwrap_or("").chars().take(32).collect();
    let body: String = hook
        .param("Body")
        .unwrap_or("")
        .chars()
        .take(MAX_BODY)
        .collect();
    let body = if body.is_empty() {
        "(empty message)".to_string()
    } else {
        body
    };
    let seg = segments(&body);
    sqlx::query!(
        r#"INSERT INTO messages (org_id, user_id, number_id, config_id, direction, our_e164, other_e164,
                                 body, segments, encoding, status, provider_sid)
           VALUES ($1, $2, $3, $4, 'inbound', $5, $6, $7, $8, $9, 'received', $10)
           ON CONFLICT (provider_sid) DO NOTHING"#,
        n.org_id,
        n.user_id,
        n.id,
        n.config_id,
        to,
        from,
        body,
        seg.count as i32,
        seg.encoding(),
        sid
    )
    .execute(&state.pool)
    .await?;
    Ok(r#"<?xml version="1.0" encoding="UTF-8"?><Response/>"#.to_string())
}

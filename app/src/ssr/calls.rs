//! Calls: click-to-call, inbound TwiML, the status and recording webhooks (signed, idempotent,
//! never moving a call backwards), costs, and the history's keyset-paginated query.

use sqlx::PgPool;
use telephony::provider::NewCall;
use telephony::{signature, ProviderError};

use super::numbers::{begin_limited, price, provider_for_config, provider_message, Limited};
use super::AppState;
use crate::error::AppError;
use crate::model::calls::*;
use crate::model::lookup::money;

/// The webhook URLs of one call (the call's id in the query binds each callback to its row and is
/// covered by the signature).
pub struct CallUrls {
    pub connect: String,
    pub status: String,
    pub recording: String,
}

pub fn call_urls(public_url: &url::Url, call_id: i64) -> CallUrls {
    let base = public_url.as_str().trim_end_matches('/');
    CallUrls {
        connect: format!("{base}/webhooks/twilio/connect?call={call_id}"),
        status: format!("{base}/webhooks/twilio/status?call={call_id}"),
        recording: format!("{base}/webhooks/twilio/recording?call={call_id}"),
    }
}

/// Started minutes × the per-minute rate (a call of 61 s is two minutes).
pub fn minutes_cost(secs: i64, rate_micros: i64) -> i64 {
    (secs.max(0) + 59) / 60 * rate_micros
}

/// Twilio's price string ("-0.00850", charges are negative) as positive micro-dollars.
pub fn parse_price(s: &str) -> Option<i64> {
    let s = s.trim().trim_start_matches(['-', '+']);
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    if !whole.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut micros = 0i64;
    for (i, c) in frac.chars().take(6).enumerate() {
        micros += (c as i64 - '0' as i64) * 10i64.pow(5 - i as u32);
    }
    whole
        .checked_mul(1_000_000)?
        .checked_add(micros)
        .filter(|m| *m <= MAX_PROVIDER_PRICE_MICROS)
}

/// A call or recording longer than this (Twilio ends calls after 24 hours) is not believed: the
/// minutes arithmetic must not overflow on a forged or broken callback.
pub const MAX_DURATION_SECS: i32 = 24 * 3600;

/// A provider price above this (for one call or one message) is not believed: it is untrusted
/// input, and the ledger's sums must stay far from overflowing.
pub const MAX_PROVIDER_PRICE_MICROS: i64 = 100_000_000;

pub fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

const XML_HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

/// Numbers the user may call from: active voice numbers they own, or team numbers of the org.
pub async fn usable_numbers(
    pool: &PgPool,
    org_id: i64,
    user_id: i64,
) -> Result<Vec<NumberOption>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id, e164, friendly_name, forward_to FROM owned_numbers
           WHERE org_id = $1 AND status = 'active' AND active AND voice
             AND (user_id = $2 OR shared)
           ORDER BY e164"#,
        org_id,
        user_id
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| NumberOption {
            id: r.id,
            e164: r.e164,
            friendly_name: r.friendly_name,
            forward_to: r.forward_to.unwrap_or_default(),
        })
        .collect())
}

/// Numbers of the org the history can be filtered by (the user's own view: theirs and shared).
pub async fn filter_numbers(
    pool: &PgPool,
    org_id: i64,
    user_id: Option<i64>,
) -> Result<Vec<NumberOption>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id, e164, friendly_name FROM owned_numbers
           WHERE org_id = $1 AND status <> 'failed' AND ($2::int8 IS NULL OR user_id = $2 OR shared)
           ORDER BY e164, id"#,
        org_id,
        user_id
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| NumberOption {
            id: r.id,
            e164: r.e164,
            friendly_name: r.friendly_name,
            forward_to: String::new(),
        })
        .collect())
}

/// Click-to-call: checks the number on the server (the org's, usable by this user, active, voice,
/// with a phone to ring), applies the hourly limit, writes the call, then asks the provider to
/// ring the user's phone; our connect TwiML then dials `to` with the number as caller ID.
pub async fn place_call(
    state: &AppState,
    org_id: i64,
    user_id: i64,
    number_id: i64,
    to: &str,
) -> Result<i64, AppError> {
    let pool = &state.pool;
    let n = sqlx::query!(
        r#"SELECT id, e164, user_id, shared, status, active, voice, forward_to, record_calls, config_id
           FROM owned_numbers WHERE id = $1 AND org_id = $2"#,
        number_id,
        org_id
    )
    .fetch_optional(pool)
    .await?;
    let Some(n) = n.filter(|n| n.user_id == Some(user_id) || n.shared) else {
        return Err(AppError::validation(
            "number_id",
            "Choose one of your numbers or a team number.",
        ));
    };
    if n.status != "active" || !n.active {
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
    if to == n.e164 || to == bridge {
        return Err(AppError::validation(
            "to",
            "Call someone else: this is your own number.",
        ));
    }
    // Everything else from the pool first: the transaction below holds a connection while it
    // waits for the user's lock.
    let (cfg, provider) = provider_for_config(state, n.config_id, org_id).await?;
    let mut tx = begin_limited(pool, Limited::Call, user_id).await?;
    let id = sqlx::query_scalar!(
        r#"INSERT INTO calls (org_id, user_id, number_id, config_id, direction, from_e164, to_e164,
                              bridge_e164)
           VALUES ($1, $2, $3, $4, 'outbound', $5, $6, $7) RETURNING id"#,
        org_id,
        user_id,
        n.id,
        cfg.id,
        n.e164,
        to,
        bridge
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    let urls = call_urls(&state.public_url, id);
    let call = NewCall {
        to: bridge,
        from: n.e164.clone(),
        url: urls.connect,
        status_callback: Some(urls.status),
        status_callback_events: ["initiated", "ringing", "answered", "completed"]
            .map(String::from)
            .to_vec(),
        record: n.record_calls,
        recording_status_callback: n.record_calls.then_some(urls.recording),
    };
    match provider.create_call(&call).await {
        Ok(c) => {
            // A callback may have arrived first and set the SID already; it is the same SID.
            sqlx::query!(
                "UPDATE calls SET provider_sid = $2, updated_at = now() WHERE id = $1",
                id,
                c.sid
            )
            .execute(pool)
            .await?;
            Ok(id)
        }
        Err(e @ (ProviderError::Timeout | ProviderError::Network(_))) => {
            // The provider may or may not have placed it: the call stays queued, and its callbacks
            // (bound to this row by the URL) settle it if it happened.
            sqlx::query!(
                "UPDATE calls SET error_message = $2, updated_at = now() WHERE id = $1",
                id,
                format!("The provider did not confirm the call ({e}). If your phone rings, it went through.")
            )
            .execute(pool)
            .await?;
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
            sqlx::query!(
                r#"UPDATE calls SET status = 'failed', error_message = $2, ended_at = now(),
                       updated_at = now() WHERE id = $1"#,
                id,
                err.to_string()
            )
            .execute(pool)
            .await?;
            Err(err)
        }
    }
}

/// Why a webhook was refused; nothing was written.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// Unknown number or call (404).
    Unknown,
    /// Missing or wrong signature (403).
    BadSignature,
    /// The database failed (503: the provider retries).
    Unavailable,
}

impl From<sqlx::Error> for Refused {
    fn from(e: sqlx::Error) -> Refused {
        tracing::error!(error = %e, "webhook database error");
        Refused::Unavailable
    }
}

/// One webhook request: its public URL (what was signed), form parameters and signature.
pub struct Webhook<'a> {
    pub url: &'a str,
    pub params: &'a [(String, String)],
    pub signature: Option<&'a str>,
}

impl Webhook<'_> {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn query(&self, name: &str) -> Option<String> {
        let q = self.url.split_once('?')?.1;
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// Checks the signature with the auth token of `config_id`.
    pub async fn verify(&self, state: &AppState, config_id: Option<i64>) -> Result<(), Refused> {
        let Some(id) = config_id else {
            return Err(Refused::Unknown);
        };
        let cfg = super::db::phone_config::by_id(&state.pool, id)
            .await?
            .ok_or(Refused::Unknown)?;
        let token = cfg
            .sealed_token()
            .and_then(|s| state.keyring.decrypt(&s).ok())
            .ok_or(Refused::BadSignature)?;
        let sig = self.signature.ok_or(Refused::BadSignature)?;
        if signature::validate(&token, self.url, signature::Payload::Form(self.params), sig) {
            Ok(())
        } else {
            Err(Refused::BadSignature)
        }
    }
}

struct CallRef {
    id: i64,
    config_id: Option<i64>,
    provider_sid: Option<String>,
}

/// The call a status or recording callback is about: by `?call=` (ours), else by CallSid.
async fn find_call(state: &AppState, hook: &Webhook<'_>) -> Result<CallRef, Refused> {
    let sid = hook.param("CallSid").unwrap_or("");
    let found = match hook.query("call") {
        Some(id) => {
            let id: i64 = id.parse().map_err(|_| Refused::Unknown)?;
            sqlx::query_as!(
                CallRef,
                "SELECT id, config_id, provider_sid FROM calls WHERE id = $1",
                id
            )
            .fetch_optional(&state.pool)
            .await?
        }
        None => {
            sqlx::query_as!(
                CallRef,
                "SELECT id, config_id, provider_sid FROM calls WHERE provider_sid = $1",
                sid
            )
            .fetch_optional(&state.pool)
            .await?
        }
    };
    let call = found.ok_or(Refused::Unknown)?;
    // A callback for another call (e.g. the dialled leg) is not this row's.
    if call.provider_sid.as_deref().is_some_and(|s| s != sid) || sid.is_empty() {
        return Err(Refused::Unknown);
    }
    Ok(call)
}

/// A call status callback. Written once per status; the call's status only moves forward (a
/// late "ringing" never overwrites "completed"), ordered by SequenceNumber.
pub async fn status_callback(state: &AppState, hook: &Webhook<'_>) -> Result<(), Refused> {
    let call = find_call(state, hook).await?;
    hook.verify(state, call.config_id).await?;
    let status = hook.param("CallStatus").unwrap_or("");
    if !STATUSES.contains(&status) {
        // Signed but not a status we know: acknowledged, nothing to record.
        return Ok(());
    }
    let seq: Option<i32> = hook.param("SequenceNumber").and_then(|s| s.parse().ok());
    let secs: Option<i32> = hook
        .param("CallDuration")
        .and_then(|s| s.parse().ok())
        .filter(|s| (0..=MAX_DURATION_SECS).contains(s));
    let sid = hook.param("CallSid").unwrap_or("").to_string();
    let rate = price(&state.pool, "call.minute").await?;
    let mut tx = state.pool.begin().await?;
    let cur = sqlx::query!(
        "SELECT status, last_sequence, provider_sid FROM calls WHERE id = $1 FOR UPDATE",
        call.id
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!(
        r#"INSERT INTO call_events (call_id, status, sequence) VALUES ($1, $2, $3)
           ON CONFLICT (call_id, status) DO NOTHING"#,
        call.id,
        status,
        seq
    )
    .execute(&mut *tx)
    .await?;
    let newer_seq = match (seq, cur.last_sequence) {
        (Some(s), Some(last)) => s > last,
        _ => true,
    };
    let forward = rank(status) > rank(&cur.status) && newer_seq;
    if forward {
        let fin = is_final(status);
        let secs = if status == "completed" {
            secs.unwrap_or(0)
        } else {
            0
        };
        let cost = if fin {
            minutes_cost(secs as i64, rate)
        } else {
            0
        };
        sqlx::query!(
            r#"UPDATE calls SET status = $2, last_sequence = greatest(last_sequence, $3),
                   provider_sid = coalesce(provider_sid, $4),
                   started_at = CASE WHEN $2 = 'in-progress' THEN now() ELSE started_at END,
                   ended_at = CASE WHEN $5 THEN now() ELSE ended_at END,
                   duration_secs = CASE WHEN $5 THEN $6 ELSE duration_secs END,
                   cost_micros = CASE WHEN $5 THEN coalesce(provider_price_micros, $7) ELSE cost_micros END,
                   updated_at = now()
               WHERE id = $1"#,
            call.id,
            status,
            seq,
            sid,
            fin,
            secs,
            cost
        )
        .execute(&mut *tx)
        .await?;
    } else if cur.provider_sid.is_none() {
        sqlx::query!(
            "UPDATE calls SET provider_sid = $2 WHERE id = $1 AND provider_sid IS NULL",
            call.id,
            sid
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    if forward && is_final(status) {
        // The provider prices a call shortly after it ends; use its figure when it reports one.
        let state = state.clone();
        let org_id = sqlx::query_scalar!("SELECT org_id FROM calls WHERE id = $1", call.id)
            .fetch_one(&state.pool)
            .await?;
        tokio::spawn(async move {
            if let Err(e) = fetch_price(&state, call.id, org_id, call.config_id, &sid).await {
                tracing::info!(call = call.id, error = %e, "provider price not available");
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
) -> Result<(), AppError> {
    let (_, provider) = provider_for_config(state, config_id, org_id).await?;
    for attempt in 0..5u32 {
        if attempt > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(500 * 2u64.pow(attempt))).await;
        }
        let call = match provider.fetch_call(sid).await {
            Ok(c) => c,
            Err(e) if e.is_transient() => continue,
            Err(e) => return Err(provider_message(&e, None)),
        };
        if let Some(p) = call.price.as_deref().and_then(parse_price) {
            sqlx::query!(
                r#"UPDATE calls SET provider_price_micros = $2, cost_micros = $2, updated_at = now()
                   WHERE id = $1"#,
                id,
                p
            )
            .execute(&state.pool)
            .await?;
            return Ok(());
        }
    }
    Ok(())
}

/// A recording callback: the recording is attached to its call once, however often it is sent.
pub async fn recording_callback(state: &AppState, hook: &Webhook<'_>) -> Result<(), Refused> {
    let call = find_call(state, hook).await?;
    hook.verify(state, call.config_id).await?;
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
    let cost = minutes_cost(secs as i64, price(&state.pool, "recording.minute").await?);
    sqlx::query!(
        r#"WITH added AS (
               INSERT INTO call_recordings (call_id, provider_sid, duration_secs, cost_micros)
               VALUES ($1, $2, $3, $4) ON CONFLICT (provider_sid) DO NOTHING RETURNING cost_micros)
           UPDATE calls SET recording_count = recording_count + (SELECT count(*) FROM added)::int4,
                  recording_minutes = recording_minutes
                      + (SELECT coalesce(sum(($3::int4 + 59) / 60), 0) FROM added)::int4,
                  recording_cost_micros = recording_cost_micros
                      + coalesce((SELECT sum(cost_micros) FROM added), 0)::int8,
                  updated_at = now()
           WHERE id = $1"#,
        call.id,
        rsid,
        secs,
        cost
    )
    .execute(&state.pool)
    .await?;
    Ok(())
}

/// The TwiML that connects a click-to-call once the user answers: dial the destination with our
/// number as caller ID.
pub async fn connect_twiml(state: &AppState, hook: &Webhook<'_>) -> Result<String, Refused> {
    let call = find_call(state, hook).await?;
    hook.verify(state, call.config_id).await?;
    let c = sqlx::query!(
        "SELECT from_e164, to_e164, status FROM calls WHERE id = $1",
        call.id
    )
    .fetch_one(&state.pool)
    .await?;
    if is_final(&c.status) {
        return Ok(format!("{XML_HEAD}<Response><Hangup/></Response>"));
    }
    Ok(format!(
        r#"{XML_HEAD}<Response><Dial callerId="{}"><Number>{}</Number></Dial></Response>"#,
        xml_escape(&c.from_e164),
        xml_escape(&c.to_e164)
    ))
}

/// An inbound call to an owned number: logged, then forwarded to the owner's phone (recorded when
/// the number records calls) or sent to voicemail.
pub async fn inbound_voice(state: &AppState, hook: &Webhook<'_>) -> Result<String, Refused> {
    let to = hook.param("To").unwrap_or("");
    let n = sqlx::query!(
        r#"SELECT id, org_id, user_id, config_id, active, forward_to, record_calls
           FROM owned_numbers WHERE e164 = $1 AND status = 'active'"#,
        to
    )
    .fetch_optional(&state.pool)
    .await?
    .ok_or(Refused::Unknown)?;
    hook.verify(state, n.config_id).await?;
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
        .filter(|s| STATUSES.contains(s))
        .unwrap_or("ringing");
    let forward = n.forward_to.clone().filter(|f| !f.is_empty() && n.active);
    let id = sqlx::query_scalar!(
        r#"INSERT INTO calls (org_id, user_id, number_id, config_id, direction, from_e164, to_e164,
                              bridge_e164, provider_sid, status)
           VALUES ($1, $2, $3, $4, 'inbound', $5, $6, $7, $8, $9)
           ON CONFLICT (provider_sid) DO UPDATE SET updated_at = calls.updated_at
           RETURNING id"#,
        n.org_id,
        n.user_id,
        n.id,
        n.config_id,
        from,
        to,
        forward,
        sid,
        status
    )
    .fetch_one(&state.pool)
    .await?;
    sqlx::query!(
        "INSERT INTO call_events (call_id, status) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        id,
        status
    )
    .execute(&state.pool)
    .await?;
    let rec_url = xml_escape(&call_urls(&state.public_url, id).recording);
    if !n.active {
        return Ok(format!(
            "{XML_HEAD}<Response><Say>This number is not taking calls right now. Goodbye.</Say><Hangup/></Response>"
        ));
    }
    Ok(match forward {
        Some(f) => {
            let record = if n.record_calls {
                format!(r#" record="record-from-answer" recordingStatusCallback="{rec_url}""#)
            } else {
                String::new()
            };
            format!(
                r#"{XML_HEAD}<Response><Dial callerId="{}"{record}><Number>{}</Number></Dial></Response>"#,
                xml_escape(&from),
                xml_escape(&f)
            )
        }
        None => format!(
            r#"{XML_HEAD}<Response><Say>Please leave a message after the tone.</Say><Record maxLength="120" playBeep="true" recordingStatusCallback="{rec_url}"/><Say>No message was recorded. Goodbye.</Say></Response>"#
        ),
    })
}

/// A page of call history, newest first, after the cursor; one more row than asked tells whether
/// there is a next page.
pub struct HistoryRow {
    pub row: CallRow,
    pub cursor: String,
    pub created_iso: String,
    pub cost_micros: i64,
}

pub async fn history(
    pool: &PgPool,
    org_id: i64,
    user_id: Option<i64>,
    f: &ValidFilter,
    limit: i64,
) -> Result<Vec<HistoryRow>, sqlx::Error> {
    let (before_t, before_id) = match f.before {
        Some((t, i)) => (Some(t), Some(i)),
        None => (None, None),
    };
    let mut tx = custom_plans(pool).await?;
    let rows = sqlx::query!(
        r#"SELECT c.id, c.direction, c.from_e164, c.to_e164, c.status, c.duration_secs,
                  c.cost_micros + c.recording_cost_micros AS "cost!", c.recording_count,
                  coalesce(u.email, '—') AS "user!",
                  to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS "created!",
                  to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS "iso!",
                  ((extract(epoch FROM c.created_at) * 1000000)::int8) AS "micros!"
           FROM calls c LEFT JOIN users u ON u.id = c.user_id
           WHERE c.org_id = $1
             AND ($2::int8 IS NULL OR c.user_id = $2)
             AND ($3::text IS NULL OR c.status = $3)
             AND ($4::text IS NULL OR c.direction = $4)
             AND ($5::int8 IS NULL OR c.number_id = $5)
             AND ($6::date IS NULL OR c.created_at >= ($6::date)::timestamp AT TIME ZONE 'UTC')
             AND ($7::date IS NULL OR c.created_at < ($7::date + 1)::timestamp AT TIME ZONE 'UTC')
             AND (NOT $8 OR c.recording_count > 0)
             AND ($9::text IS NULL OR c.from_e164 LIKE '%' || $9 || '%' OR c.to_e164 LIKE '%' || $9 || '%')
             AND ($10::int8 IS NULL OR (c.created_at, c.id) <
                  (timestamptz 'epoch' + $10 * interval '1 microsecond', $11::int8))
           ORDER BY c.created_at DESC, c.id DESC
           LIMIT $12"#,
        org_id,
        user_id,
        f.status,
        f.direction,
        f.number,
        f.from.as_deref().and_then(parse_date),
        f.to.as_deref().and_then(parse_date),
        f.recorded,
        f.q,
        before_t,
        before_id,
        limit
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|r| HistoryRow {
            cursor: format!("{}.{}", r.micros, r.id),
            created_iso: r.iso,
            cost_micros: r.cost,
            row: CallRow {
                id: r.id,
                created: format!("{} UTC", r.created),
                direction: r.direction,
                from: r.from_e164,
                to: r.to_e164,
                status: r.status,
                duration_secs: r.duration_secs,
                cost: money(r.cost),
                recordings: r.recording_count,
                user: r.user,
            },
        })
        .collect())
}

/// A transaction whose queries are planned for their actual parameters: the optional filters
/// (`$n IS NULL OR …`) then fold away and the matching index is used, however often the
/// prepared statement has run (a generic plan could not use it).
pub async fn custom_plans(
    pool: &PgPool,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET LOCAL plan_cache_mode = force_custom_plan")
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

fn parse_date(s: &str) -> Option<time::Date> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, &fmt).ok()
}

/// One call with its timeline and recordings, if the user may see it (its user, or an overseer).
pub async fn detail(
    pool: &PgPool,
    org: crate::model::OrgView,
    org_id: i64,
    id: i64,
    user_id: Option<i64>,
) -> Result<Option<CallPage>, sqlx::Error> {
    let Some(r) = sqlx::query!(
        r#"SELECT c.id, c.direction, c.from_e164, c.to_e164, c.status, c.duration_secs,
                  c.cost_micros, c.recording_cost_micros, c.recording_count, c.bridge_e164,
                  c.number_id, c.error_message, coalesce(u.email, '—') AS "user!",
                  to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS "created!",
                  to_char(c.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS started,
                  to_char(c.ended_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS ended,
                  ((c.ended_at IS NULL AND c.created_at > now() - interval '1 hour')
                   OR c.ended_at > now() - interval '20 seconds') AS "live!"
           FROM calls c LEFT JOIN users u ON u.id = c.user_id
           WHERE c.id = $1 AND c.org_id = $2 AND ($3::int8 IS NULL OR c.user_id = $3)"#,
        id,
        org_id,
        user_id
    )
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let events = sqlx::query!(
        r#"SELECT status, to_char(received_at AT TIME ZONE 'UTC', 'HH24:MI:SS') AS "at!"
           FROM call_events WHERE call_id = $1 ORDER BY received_at, id"#,
        id
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|e| CallEventView {
        status: e.status,
        at: e.at,
    })
    .collect();
    let recordings = sqlx::query!(
        r#"SELECT id, duration_secs, cost_micros,
                  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS "created!"
           FROM call_recordings WHERE call_id = $1 ORDER BY id"#,
        id
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|x| RecordingView {
        id: x.id,
        duration_secs: x.duration_secs,
        cost: money(x.cost_micros),
        created: format!("{} UTC", x.created),
    })
    .collect();
    let row = CallRow {
        id: r.id,
        created: format!("{} UTC", r.created),
        direction: r.direction,
        from: r.from_e164,
        to: r.to_e164,
        status: r.status,
        duration_secs: r.duration_secs,
        cost: money(r.cost_micros + r.recording_cost_micros),
        recordings: r.recording_count,
        user: r.user,
    };
    Ok(Some(CallPage {
        org,
        call: row,
        bridge: r.bridge_e164,
        number_id: r.number_id,
        error: r.error_message,
        started: r.started.map(|s| format!("{s} UTC")),
        ended: r.ended.map(|s| format!("{s} UTC")),
        live: r.live,
        call_cost: money(r.cost_micros),
        recording_cost: money(r.recording_cost_micros),
        events,
        recordings,
    }))
}

/// A recording's audio, streamed from the provider, for a user allowed to see its call.
pub async fn recording_media(
    state: &AppState,
    org_id: i64,
    call_id: i64,
    recording_id: i64,
    user_id: Option<i64>,
    format: &str,
    range: Option<telephony::ByteRange>,
) -> Result<telephony::provider::Media, AppError> {
    let r = sqlx::query!(
        r#"SELECT r.provider_sid, c.config_id FROM call_recordings r JOIN calls c ON c.id = r.call_id
           WHERE r.id = $1 AND c.id = $2 AND c.org_id = $3 AND ($4::int8 IS NULL OR c.user_id = $4)"#,
        recording_id,
        call_id,
        org_id,
        user_id
    )
    .fetch_optional(&state.pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let (_, provider) = provider_for_config(state, r.config_id, org_id).await?;
    provider
        .recording_media(&r.provider_sid, format, range)
        .await
        .map_err(|e| match e {
            ProviderError::NotFound { .. } => AppError::NotFound,
            other => {
                // The provider's words stay in the log; the page says ours.
                tracing::warn!(error = %other, "fetching a recording failed");
                AppError::Upstream(
                    "The provider could not send the recording. Try again later.".into(),
                )
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_and_minutes() {
        assert_eq!(parse_price("-0.00850"), Some(8_500));
        assert_eq!(parse_price("0.0085"), Some(8_500));
        assert_eq!(parse_price("-1.5"), Some(1_500_000));
        assert_eq!(parse_price(""), None);
        assert_eq!(parse_price("abc"), None);
        assert_eq!(parse_price("-100.00"), Some(100_000_000));
        assert_eq!(parse_price("-100.000001"), None, "over the sane range");
        assert_eq!(parse_price("-9223372036854775807"), None);
        assert_eq!(parse_price("99999999999999999999"), None);
        assert_eq!(minutes_cost(0, 8_500), 0);
        assert_eq!(minutes_cost(1, 8_500), 8_500);
        assert_eq!(minutes_cost(60, 8_500), 8_500);
        assert_eq!(minutes_cost(61, 8_500), 17_000);
    }

    #[test]
    fn twiml_values_are_escaped() {
        assert_eq!(
            xml_escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;"
        );
    }
}

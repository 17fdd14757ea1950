//! Calls as click-to-call and the provider's webhooks write them: placing, status, recordings.

use sqlx::{PgExecutor, Postgres, Transaction};

use telephony::E164;

use crate::model::calls::{CallStatus, NumberOption};
use crate::model::money::Money;
use crate::model::numbers::NumberStatus;

/// Numbers the user may call from: active voice numbers they own, or team numbers of the org.
pub async fn usable_numbers(
    db: impl PgExecutor<'_>,
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
    .fetch_all(db)
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

/// An owned number as click-to-call checks it.
pub struct CallingNumber {
    pub id: i64,
    pub e164: String,
    pub user_id: Option<i64>,
    pub shared: bool,
    pub status: NumberStatus,
    pub active: bool,
    pub voice: bool,
    pub forward_to: Option<String>,
    pub record_calls: bool,
    pub config_id: Option<i64>,
}

pub async fn calling_number(
    db: impl PgExecutor<'_>,
    number_id: i64,
    org_id: i64,
) -> Result<Option<CallingNumber>, sqlx::Error> {
    sqlx::query_as!(
        CallingNumber,
        r#"SELECT id, e164, user_id, shared, status AS "status: NumberStatus", active, voice, forward_to,
                  record_calls, config_id
           FROM owned_numbers WHERE id = $1 AND org_id = $2"#,
        number_id,
        org_id
    )
    .fetch_optional(db)
    .await
}

/// The row of a click-to-call, written before the provider is asked.
pub struct NewOutbound<'a> {
    pub org_id: i64,
    pub user_id: i64,
    pub number_id: i64,
    pub config_id: i64,
    pub from: &'a str,
    pub to: &'a E164,
    pub bridge: &'a str,
    /// The money guard's reservation (ended when the call ends or fails).
    pub hold_id: Option<i64>,
    /// The call's `TimeLimit` (a hard cap covers it).
    pub time_limit_secs: Option<i32>,
    /// When it was placed, by the app's clock.
    pub at: time::OffsetDateTime,
}

pub async fn insert_outbound(
    tx: &mut Transaction<'_, Postgres>,
    c: &NewOutbound<'_>,
) -> Result<i64, sqlx::Error> {
    // The destination's country, for the velocity rule's count.
    let country = c.to.region();
    sqlx::query_scalar!(
        r#"INSERT INTO calls (org_id, user_id, number_id, config_id, direction, from_e164, to_e164,
                              bridge_e164, hold_id, time_limit_secs, created_at, updated_at,
                              dest_country)
           VALUES ($1, $2, $3, $4, 'outbound', $5, $6, $7, $8, $9, $10, $10, $11) RETURNING id"#,
        c.org_id,
        c.user_id,
        c.number_id,
        c.config_id,
        c.from,
        c.to.as_str(),
        c.bridge,
        c.hold_id,
        c.time_limit_secs,
        c.at,
        country.as_deref()
    )
    .fetch_one(&mut **tx)
    .await
}

pub async fn set_provider_sid(
    db: impl PgExecutor<'_>,
    id: i64,
    sid: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE calls SET provider_sid = $2, updated_at = now() WHERE id = $1",
        id,
        sid
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn set_error_message(
    db: impl PgExecutor<'_>,
    id: i64,
    message: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE calls SET error_message = $2, updated_at = now() WHERE id = $1",
        id,
        message
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn mark_failed(
    db: impl PgExecutor<'_>,
    id: i64,
    message: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"WITH c AS (
               UPDATE calls SET status = 'failed', error_message = $2, ended_at = now(),
                       updated_at = now() WHERE id = $1 RETURNING hold_id)
           SELECT hold_end(hold_id, 'released') FROM c WHERE hold_id IS NOT NULL"#,
        id,
        message
    )
    .execute(db)
    .await?;
    Ok(())
}

/// What a webhook needs of its call: the row, the configuration that signs it and its SID.
pub struct CallRef {
    pub id: i64,
    pub config_id: Option<i64>,
    pub provider_sid: Option<String>,
}

pub async fn call_ref_by_id(
    db: impl PgExecutor<'_>,
    id: i64,
) -> Result<Option<CallRef>, sqlx::Error> {
    sqlx::query_as!(
        CallRef,
        "SELECT id, config_id, provider_sid FROM calls WHERE id = $1",
        id
    )
    .fetch_optional(db)
    .await
}

pub async fn call_ref_by_sid(
    db: impl PgExecutor<'_>,
    sid: &str,
) -> Result<Option<CallRef>, sqlx::Error> {
    sqlx::query_as!(
        CallRef,
        "SELECT id, config_id, provider_sid FROM calls WHERE provider_sid = $1",
        sid
    )
    .fetch_optional(db)
    .await
}

pub async fn org_of(db: impl PgExecutor<'_>, id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!("SELECT org_id FROM calls WHERE id = $1", id)
        .fetch_one(db)
        .await
}

/// The call's status as a status callback finds it (the row stays locked until the transaction ends).
pub struct Current {
    pub status: CallStatus,
    pub last_sequence: Option<i32>,
    pub provider_sid: Option<String>,
}

pub async fn lock_current(
    tx: &mut Transaction<'_, Postgres>,
    id: i64,
) -> Result<Current, sqlx::Error> {
    sqlx::query_as!(
        Current,
        r#"SELECT status AS "status: CallStatus", last_sequence, provider_sid
           FROM calls WHERE id = $1 FOR UPDATE"#,
        id
    )
    .fetch_one(&mut **tx)
    .await
}

pub async fn record_event(
    tx: &mut Transaction<'_, Postgres>,
    id: i64,
    status: CallStatus,
    sequence: Option<i32>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO call_events (call_id, status, sequence) VALUES ($1, $2, $3)
           ON CONFLICT (call_id, status) DO NOTHING"#,
        id,
        status as CallStatus,
        sequence
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A status that moves the call forward; `fin` ends it with its duration and cost.
pub struct Advance<'a> {
    pub status: CallStatus,
    pub sequence: Option<i32>,
    pub sid: &'a str,
    pub fin: bool,
    pub secs: i32,
    pub cost: Money,
}

pub async fn advance(
    tx: &mut Transaction<'_, Postgres>,
    id: i64,
    a: &Advance<'_>,
) -> Result<(), sqlx::Error> {
    let hold = sqlx::query_scalar!(
        r#"UPDATE calls SET status = $2, last_sequence = greatest(last_sequence, $3),
                   provider_sid = coalesce(provider_sid, $4),
                   started_at = CASE WHEN $2 = 'in-progress' THEN now() ELSE started_at END,
                   ended_at = CASE WHEN $5 THEN now() ELSE ended_at END,
                   duration_secs = CASE WHEN $5 THEN $6 ELSE duration_secs END,
                   cost_micros = CASE WHEN $5 THEN coalesce(provider_price_micros, $7) ELSE cost_micros END,
                   updated_at = now()
               WHERE id = $1 RETURNING hold_id"#,
        id,
        a.status as CallStatus,
        a.sequence,
        a.sid,
        a.fin,
        a.secs,
        a.cost.micros()
    )
    .fetch_optional(&mut **tx)
    .await?
    .flatten();
    // The call's end writes its cost (booked in budget id order), then settles its hold in the
    // same transaction.
    if let (true, Some(h)) = (a.fin, hold) {
        super::budgets::end_hold(&mut **tx, h, true).await?;
    }
    Ok(())
}

pub async fn set_sid_if_missing(
    tx: &mut Transaction<'_, Postgres>,
    id: i64,
    sid: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE calls SET provider_sid = $2 WHERE id = $1 AND provider_sid IS NULL",
        id,
        sid
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn set_provider_price(
    db: impl PgExecutor<'_>,
    id: i64,
    price: Money,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE calls SET provider_price_micros = $2, cost_micros = $2, updated_at = now()
                   WHERE id = $1"#,
        id,
        price.micros()
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Attaches a recording to its call once (the provider's SID is unique), adding to its totals.
pub async fn add_recording(
    db: impl PgExecutor<'_>,
    call_id: i64,
    recording_sid: &str,
    secs: i32,
    cost: Money,
) -> Result<(), sqlx::Error> {
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
        call_id,
        recording_sid,
        secs,
        cost.micros()
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The two ends of a click-to-call and where it stands.
pub struct Ends {
    pub org_id: i64,
    pub from_e164: String,
    pub to_e164: String,
    pub status: CallStatus,
    /// The number it is placed from records its calls.
    pub records: bool,
}

pub async fn ends(db: impl PgExecutor<'_>, id: i64) -> Result<Ends, sqlx::Error> {
    sqlx::query_as!(
        Ends,
        r#"SELECT c.org_id, c.from_e164, c.to_e164, c.status AS "status: CallStatus",
                  coalesce(n.record_calls, false) AS "records!"
           FROM calls c LEFT JOIN owned_numbers n ON n.id = c.number_id WHERE c.id = $1"#,
        id
    )
    .fetch_one(db)
    .await
}

/// An active owned number as an inbound call finds it.
pub struct InboundNumber {
    pub id: i64,
    pub org_id: i64,
    pub user_id: Option<i64>,
    pub config_id: Option<i64>,
    pub active: bool,
    pub forward_to: Option<String>,
    pub record_calls: bool,
}

pub async fn inbound_number(
    db: impl PgExecutor<'_>,
    e164: &E164,
) -> Result<Option<InboundNumber>, sqlx::Error> {
    sqlx::query_as!(
        InboundNumber,
        r#"SELECT id, org_id, user_id, config_id, active, forward_to, record_calls
           FROM owned_numbers WHERE e164 = $1 AND status = 'active'"#,
        e164.as_str()
    )
    .fetch_optional(db)
    .await
}

/// An inbound call as its first webhook describes it.
pub struct NewInbound<'a> {
    pub from: &'a str,
    pub to: &'a E164,
    pub forward: Option<&'a str>,
    pub sid: &'a str,
    pub status: CallStatus,
    /// Why the call is refused before it rings (`call_blocks`' reasons), if it is.
    pub blocked: Option<&'a str>,
}

/// Writes an inbound call once (a retried webhook finds the same row): its id, and why it was
/// blocked as first written.
pub async fn insert_inbound(
    db: impl PgExecutor<'_>,
    n: &InboundNumber,
    c: &NewInbound<'_>,
) -> Result<(i64, Option<String>), sqlx::Error> {
    let r = sqlx::query!(
        r#"INSERT INTO calls (org_id, user_id, number_id, config_id, direction, from_e164, to_e164,
                              bridge_e164, provider_sid, status, blocked)
           VALUES ($1, $2, $3, $4, 'inbound', $5, $6, $7, $8, $9, $10)
           ON CONFLICT (provider_sid) DO UPDATE SET updated_at = calls.updated_at
           RETURNING id, blocked"#,
        n.org_id,
        n.user_id,
        n.id,
        n.config_id,
        c.from,
        c.to.as_str(),
        c.forward,
        c.sid,
        c.status as CallStatus,
        c.blocked
    )
    .fetch_one(db)
    .await?;
    Ok((r.id, r.blocked))
}

pub async fn record_first_event(
    db: impl PgExecutor<'_>,
    call_id: i64,
    status: CallStatus,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO call_events (call_id, status) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        call_id,
        status as CallStatus
    )
    .execute(db)
    .await?;
    Ok(())
}

//! Messages: sending, delivery status, inbound, conversations and threads.

use sqlx::{PgExecutor, Postgres, Transaction};

use crate::model::message_status::MessageStatus;
use crate::model::money::Money;

/// An active SMS number the user may send from.
pub struct SenderNumber {
    pub e164: String,
    pub friendly_name: String,
}

pub async fn sender_numbers(
    db: impl PgExecutor<'_>,
    org_id: i64,
    user_id: i64,
) -> Result<Vec<SenderNumber>, sqlx::Error> {
    sqlx::query_as!(
        SenderNumber,
        r#"SELECT e164, friendly_name FROM owned_numbers
           WHERE org_id = $1 AND status = 'active' AND active AND sms AND (user_id = $2 OR shared)
           ORDER BY e164"#,
        org_id,
        user_id
    )
    .fetch_all(db)
    .await
}

/// The owned number a message is sent from (none for the org's sender).
pub struct FromNumber {
    pub id: i64,
    pub config_id: Option<i64>,
}

pub async fn from_number(
    db: impl PgExecutor<'_>,
    org_id: i64,
    e164: &telephony::E164,
) -> Result<Option<FromNumber>, sqlx::Error> {
    sqlx::query_as!(
        FromNumber,
        "SELECT id, config_id FROM owned_numbers WHERE org_id = $1 AND e164 = $2 AND status = 'active'",
        org_id,
        e164.as_str()
    )
    .fetch_optional(db)
    .await
}

/// An outbound message, written before the provider is asked.
pub struct NewOutbound<'a> {
    pub org_id: i64,
    pub user_id: i64,
    pub number_id: Option<i64>,
    pub config_id: Option<i64>,
    pub from: &'a telephony::E164,
    pub to: &'a telephony::E164,
    pub body: &'a str,
    pub segments: i32,
    pub encoding: &'a str,
    pub is_test: bool,
    /// When it was sent, by the app's clock.
    pub at: time::OffsetDateTime,
    /// The pause it is held under (its destination's sends are paused): written `held`, not
    /// sent. None: written `queued`, to send now.
    pub pause_id: Option<i64>,
    /// Its price, charged as it is written (0: held, scheduled, in test mode, or free).
    pub cost_micros: i64,
    /// Quiet hours where the recipient is: written `scheduled`, sent then (unless held).
    pub send_after: Option<time::OffsetDateTime>,
    /// Marked urgent by someone allowed to: quiet hours do not hold it.
    pub urgent: bool,
}

/// Writes an outbound message with its destination's country (for the velocity rule); its id.
/// With `charged`, its cost is first checked against the room of every hard cap covering it
/// (their rows locked until `tx` ends) in the same statement: None when one has too little (and
/// nothing is written).
pub async fn insert_outbound(
    tx: &mut Transaction<'_, Postgres>,
    m: &NewOutbound<'_>,
    charged: bool,
) -> Result<Option<i64>, sqlx::Error> {
    let country = m.to.region();
    sqlx::query_scalar!(
        r#"INSERT INTO messages (org_id, user_id, number_id, config_id, direction, our_e164, other_e164,
                                 body, segments, encoding, is_test, created_at, updated_at, status,
                                 pause_id, dest_country, cost_micros, charged_at, send_after, urgent)
           SELECT $1, $2, $3, $4, 'outbound', $5, $6, $7, $8, $9, $10, $11::timestamptz, $11,
                  CASE WHEN $12::int8 IS NOT NULL THEN 'held'
                       WHEN $16::timestamptz IS NOT NULL THEN 'scheduled' ELSE 'queued' END,
                  $12, $13, $14::int8, CASE WHEN $14 <> 0 THEN $11 END, $16, $17
           WHERE NOT $15::bool
              OR (SELECT coalesce(r.remaining >= $14, true)
                  FROM budget_room($1::int8, $2::int8, 'sms', $11) r)
           RETURNING id"#,
        m.org_id,
        m.user_id,
        m.number_id,
        m.config_id,
        m.from.as_str(),
        m.to.as_str(),
        m.body,
        m.segments,
        m.encoding,
        m.is_test,
        m.at,
        m.pause_id,
        country.as_deref(),
        m.cost_micros,
        charged,
        m.send_after,
        m.urgent
    )
    .fetch_optional(&mut **tx)
    .await
}

/// A held message, as sending it needs it.
pub struct HeldMessage {
    pub org_id: i64,
    pub user_id: Option<i64>,
    pub config_id: Option<i64>,
    pub our_e164: String,
    pub other_e164: String,
    pub body: String,
    pub segments: i32,
    pub is_test: bool,
    pub urgent: bool,
}

/// The message `id` if it is held (or scheduled for its recipient's window).
pub async fn held(db: impl PgExecutor<'_>, id: i64) -> Result<Option<HeldMessage>, sqlx::Error> {
    sqlx::query_as!(
        HeldMessage,
        r#"SELECT org_id, user_id, config_id, our_e164, other_e164, body, segments, is_test, urgent
           FROM messages WHERE id = $1 AND status IN ('held', 'scheduled')"#,
        id
    )
    .fetch_optional(db)
    .await
}

/// Takes a held (or scheduled) message to send (`queued` again, its last reason cleared); false
/// when it is no longer held (another server took it, or it was canceled).
pub async fn release_held(
    tx: &mut sqlx::PgConnection,
    id: i64,
    (cost_micros, now): (i64, time::OffsetDateTime),
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query!(
        r#"UPDATE messages SET status = 'queued', error_message = NULL, cost_micros = $2::int8,
                              charged_at = CASE WHEN $2 <> 0 THEN $3::timestamptz END,
                              updated_at = now()
           WHERE id = $1 AND status IN ('held', 'scheduled')"#,
        id,
        cost_micros,
        now
    )
    .execute(&mut *tx)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Writes back to 0 the price of one message charged before `cutoff` that no provider was ever
/// asked to send (a server stopped in between); whether there was one. One at a time, so its
/// booking locks its budgets in budget id order like every other; one being written elsewhere is
/// skipped, and the conditions hold for the row as it is when written.
pub async fn uncharge_unsent(
    db: impl PgExecutor<'_>,
    cutoff: time::OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query!(
        r#"UPDATE messages SET cost_micros = 0, updated_at = now()
           WHERE id = (SELECT id FROM messages
                       WHERE status = 'queued' AND provider_sid IS NULL AND cost_micros <> 0
                         AND charged_at < $1
                       ORDER BY charged_at LIMIT 1 FOR UPDATE SKIP LOCKED)
             AND status = 'queued' AND provider_sid IS NULL AND cost_micros <> 0"#,
        cutoff
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Keeps a message held, saying why it was not sent on resume (a budget's cap).
pub async fn keep_held(
    db: impl PgExecutor<'_>,
    id: i64,
    why: &str,
    retry_at: time::OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE messages SET error_message = $2, updated_at = now(),
                              send_after = CASE WHEN status = 'scheduled' THEN $3 ELSE send_after END
           WHERE id = $1 AND status IN ('held', 'scheduled')"#,
        id,
        why,
        retry_at
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The provider took the message: its SID, estimated cost and first status; its hold (if any)
/// settled after the cost is booked, in one round trip (`message_accepted` in the migration).
pub async fn accepted(
    db: impl PgExecutor<'_>,
    id: i64,
    sid: &str,
    estimate: Money,
    status: MessageStatus,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "SELECT message_accepted($1, $2, $3, $4)",
        id,
        sid,
        estimate.micros(),
        status.as_str()
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn refused(
    db: impl PgExecutor<'_>,
    id: i64,
    code: Option<i32>,
    message: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"WITH m AS (
               UPDATE messages SET status = 'failed', error_code = $2, error_message = $3,
                       cost_micros = 0, updated_at = now() WHERE id = $1 RETURNING hold_id)
           SELECT hold_end(hold_id, 'released') FROM m WHERE hold_id IS NOT NULL"#,
        id,
        code,
        message
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The latest message of one conversation (our number, other party), and how many it holds.
pub struct ConversationRecord {
    /// Our number.
    pub our_e164: String,
    /// The other party.
    pub other_e164: String,
    /// The latest message's text, whole.
    pub body: String,
    /// The latest message's direction: `outbound` or `inbound`.
    pub direction: String,
    /// How many messages the conversation holds.
    pub count: i64,
    /// When the latest message was written.
    pub at: time::OffsetDateTime,
}

/// Conversations (our number, other party), newest first.
pub async fn conversations(
    db: impl PgExecutor<'_>,
    org_id: i64,
    user_id: Option<i64>,
) -> Result<Vec<ConversationRecord>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT our_e164, other_e164, body, direction, n AS "n!", created_at AS "at!"
           FROM (SELECT DISTINCT ON (m.our_e164, m.other_e164) m.our_e164, m.other_e164, m.body,
                        m.direction, m.created_at,
                        count(*) OVER (PARTITION BY m.our_e164, m.other_e164) AS n
                 FROM messages m
                 WHERE m.org_id = $1
                   AND ($2::int8 IS NULL OR m.user_id = $2
                        OR m.number_id IN (SELECT id FROM owned_numbers WHERE org_id = $1 AND shared))
                 ORDER BY m.our_e164, m.other_e164, m.created_at DESC, m.id DESC) c
           ORDER BY created_at DESC LIMIT 100"#,
        org_id,
        user_id
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ConversationRecord {
            our_e164: r.our_e164,
            other_e164: r.other_e164,
            body: r.body,
            direction: r.direction,
            count: r.n,
            at: r.at,
        })
        .collect())
}

/// Which messages `messages` reads: those the scope may see, narrowed by the filters that are set.
pub struct MessageQuery<'a> {
    /// The org whose messages are read.
    pub org_id: i64,
    /// The member whose messages (and those of shared numbers) are read; `None`: all of the org's.
    pub user_id: Option<i64>,
    /// Only messages on this number of ours.
    pub our: Option<&'a str>,
    /// Only messages with this other party.
    pub other: Option<&'a str>,
    /// With `before_id`, the keyset position to read strictly before: its creation time in Unix
    /// microseconds.
    pub before_micros: Option<i64>,
    /// The keyset position's id.
    pub before_id: Option<i64>,
    /// Only this message.
    pub id: Option<i64>,
    /// At most this many rows.
    pub limit: i64,
}

/// One message as the pages and `/v1` read it; each formats it its own way.
pub struct MessageRecord {
    pub id: i64,
    /// `outbound` or `inbound`.
    pub direction: String,
    /// Our number.
    pub our_e164: String,
    /// The other party.
    pub other_e164: String,
    pub body: String,
    pub segments: i32,
    pub status: MessageStatus,
    /// Recorded under the configuration's test mode: never sent.
    pub is_test: bool,
    pub error_message: Option<String>,
    pub cost_micros: i64,
    /// The e-mail of the member who sent it or whose number received it ("—" for none).
    pub user: String,
    pub created_at: time::OffsetDateTime,
    /// `created_at` in Unix microseconds: the keyset cursor's time.
    pub micros: i64,
    /// A scheduled text: when its recipient's window opens.
    pub send_after: Option<time::OffsetDateTime>,
    /// Who sent it (None: inbound, or their account is gone).
    pub user_id: Option<i64>,
}

/// Messages of `q`, newest first (by creation time, then id): the one read behind the SMS
/// thread, `GET /v1/messages` and `GET /v1/messages/{id}`. Its filters are optional, so it runs
/// in a `custom_plans` transaction.
pub async fn messages(
    tx: &mut Transaction<'_, Postgres>,
    q: &MessageQuery<'_>,
) -> Result<Vec<MessageRecord>, sqlx::Error> {
    sqlx::query_as!(
        MessageRecord,
        r#"SELECT m.id, m.direction, m.our_e164, m.other_e164, m.body, m.segments,
                  m.status AS "status: MessageStatus", m.is_test, m.error_message, m.cost_micros,
                  coalesce(u.email, '—') AS "user!", m.created_at,
                  (extract(epoch FROM m.created_at) * 1000000)::int8 AS "micros!",
                  CASE WHEN m.status = 'scheduled' THEN m.send_after END AS send_after,
                  m.user_id
           FROM messages m LEFT JOIN users u ON u.id = m.user_id
           WHERE m.org_id = $1
             AND ($2::int8 IS NULL OR m.user_id = $2
                  OR m.number_id IN (SELECT id FROM owned_numbers WHERE org_id = $1 AND shared))
             AND ($3::text IS NULL OR m.our_e164 = $3)
             AND ($4::text IS NULL OR m.other_e164 = $4)
             AND ($5::int8 IS NULL
                  OR (m.created_at, m.id) <
                     (timestamptz 'epoch' + $5 * interval '1 microsecond', $6::int8))
             AND ($7::int8 IS NULL OR m.id = $7)
           ORDER BY m.created_at DESC, m.id DESC LIMIT $8"#,
        q.org_id,
        q.user_id,
        q.our,
        q.other,
        q.before_micros,
        q.before_id,
        q.id,
        q.limit
    )
    .fetch_all(&mut **tx)
    .await
}

/// What a delivery callback needs of its message.
pub struct MessageRef {
    pub config_id: Option<i64>,
    pub provider_sid: Option<String>,
}

pub async fn message_ref(
    db: impl PgExecutor<'_>,
    id: i64,
) -> Result<Option<MessageRef>, sqlx::Error> {
    sqlx::query_as!(
        MessageRef,
        "SELECT config_id, provider_sid FROM messages WHERE id = $1",
        id
    )
    .fetch_optional(db)
    .await
}

/// A delivery status from the provider.
pub struct Delivery<'a> {
    pub status: MessageStatus,
    pub sid: &'a str,
    pub error_code: Option<i32>,
    pub error_message: Option<&'a str>,
}

/// Applies a delivery status to a message still at a status before it (`MessageStatus::rank`
/// is the one order; a final status is never replaced; a message that failed costs nothing).
pub async fn delivered(
    db: impl PgExecutor<'_>,
    id: i64,
    d: &Delivery<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE messages SET status = $2,
               provider_sid = coalesce(provider_sid, $3),
               sent_at = CASE WHEN $2 IN ('sent', 'delivered', 'undelivered') THEN coalesce(sent_at, now()) ELSE sent_at END,
               delivered_at = CASE WHEN $2 = 'delivered' THEN now() ELSE delivered_at END,
               error_code = coalesce($4, error_code), error_message = coalesce($5, error_message),
               cost_micros = CASE WHEN $2 = 'failed' THEN 0 ELSE cost_micros END,
               updated_at = now()
           WHERE id = $1 AND NOT is_test AND status = ANY($6)"#,
        id,
        d.status as MessageStatus,
        d.sid,
        d.error_code,
        d.error_message,
        &d.status.earlier()[..] as &[MessageStatus]
    )
    .execute(db)
    .await?;
    Ok(())
}

/// An active owned number as an inbound message finds it.
pub struct InboundNumber {
    pub id: i64,
    pub org_id: i64,
    pub user_id: Option<i64>,
    pub config_id: Option<i64>,
}

pub async fn inbound_number(
    db: impl PgExecutor<'_>,
    e164: &telephony::E164,
) -> Result<Option<InboundNumber>, sqlx::Error> {
    sqlx::query_as!(
        InboundNumber,
        "SELECT id, org_id, user_id, config_id FROM owned_numbers WHERE e164 = $1 AND status = 'active'",
        e164.as_str()
    )
    .fetch_optional(db)
    .await
}

/// An inbound message as its webhook describes it.
pub struct NewInbound<'a> {
    pub to: &'a telephony::E164,
    pub from: &'a str,
    pub body: &'a str,
    pub segments: i32,
    pub encoding: &'a str,
    pub sid: &'a str,
}

/// Stores an inbound message once (its SID is unique).
pub async fn insert_inbound(
    db: impl PgExecutor<'_>,
    n: &InboundNumber,
    m: &NewInbound<'_>,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"INSERT INTO messages (org_id, user_id, number_id, config_id, direction, our_e164, other_e164,
                                 body, segments, encoding, status, provider_sid)
           VALUES ($1, $2, $3, $4, 'inbound', $5, $6, $7, $8, $9, 'received', $10)
           ON CONFLICT (provider_sid) DO NOTHING
           RETURNING id"#,
        n.org_id,
        n.user_id,
        n.id,
        n.config_id,
        m.to.as_str(),
        m.from,
        m.body,
        m.segments,
        m.encoding,
        m.sid
    )
    .fetch_optional(db)
    .await
}

/// A reply the provider sends from the webhook's answer (a STOP, START or HELP answered): kept in
/// the conversation, charged at its price like any text (never refused by a cap: the law asks for
/// it), `queued` until its status callback names it and says what became of it (a reply the
/// provider does not send fails and costs nothing).
pub struct NewReply<'a> {
    pub our: &'a str,
    pub other: &'a str,
    pub body: &'a str,
    pub segments: i32,
    pub encoding: &'a str,
    pub cost_micros: i64,
    pub at: time::OffsetDateTime,
}

pub async fn insert_reply(
    db: impl PgExecutor<'_>,
    n: &InboundNumber,
    m: &NewReply<'_>,
) -> Result<i64, sqlx::Error> {
    let country = telephony::E164::parse(m.other, None)
        .ok()
        .and_then(|e| e.region());
    sqlx::query_scalar!(
        r#"INSERT INTO messages (org_id, user_id, number_id, config_id, direction, our_e164, other_e164,
                                 body, segments, encoding, is_test, created_at, updated_at, status,
                                 dest_country, cost_micros, charged_at)
           VALUES ($1, NULL, $2, $3, 'outbound', $4, $5, $6, $7, $8, false, $9, $9, 'queued', $10,
                   $11, $9)
           RETURNING id"#,
        n.org_id,
        n.id,
        n.config_id,
        m.our,
        m.other,
        m.body,
        m.segments,
        m.encoding,
        m.at,
        country.as_deref(),
        m.cost_micros
    )
    .fetch_one(db)
    .await
}

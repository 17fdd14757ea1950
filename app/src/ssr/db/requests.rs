//! Requests by phone number: what the org holds about one number (its calls, messages,
//! recordings, lookup events and opt-out entry), and its erasure: the number replaced by its
//! salted hash (`number_hash` in the migration) wherever the org keeps it.

use sqlx::{PgExecutor, Postgres, Transaction};
use time::OffsetDateTime;

use super::compliance::{ExpiredBody, ExpiredRecording};

pub struct CallRow {
    pub id: i64,
    pub direction: String,
    pub from_e164: String,
    pub to_e164: String,
    pub status: String,
    pub duration_secs: Option<i32>,
    pub recordings: i64,
    pub created_at: OffsetDateTime,
}

/// The org's calls from, to or forwarded to `n`, newest first.
pub async fn calls(
    db: impl PgExecutor<'_>,
    org_id: i64,
    n: &str,
    limit: i64,
) -> Result<Vec<CallRow>, sqlx::Error> {
    sqlx::query_as!(
        CallRow,
        r#"SELECT c.id, c.direction, c.from_e164, c.to_e164, c.status, c.duration_secs,
                  (SELECT count(*) FROM call_recordings r WHERE r.call_id = c.id) AS "recordings!",
                  c.created_at
           FROM calls c
           WHERE c.org_id = $1 AND (c.from_e164 = $2 OR c.to_e164 = $2 OR c.bridge_e164 = $2)
           ORDER BY c.created_at DESC, c.id DESC LIMIT $3"#,
        org_id,
        n,
        limit
    )
    .fetch_all(db)
    .await
}

pub struct MessageRow {
    pub id: i64,
    pub direction: String,
    pub our_e164: String,
    pub body: String,
    pub status: String,
    pub created_at: OffsetDateTime,
}

/// The org's messages with `n`, newest first.
pub async fn messages(
    db: impl PgExecutor<'_>,
    org_id: i64,
    n: &str,
    limit: i64,
) -> Result<Vec<MessageRow>, sqlx::Error> {
    sqlx::query_as!(
        MessageRow,
        "SELECT id, direction, our_e164, body, status, created_at FROM messages
         WHERE org_id = $1 AND other_e164 = $2
         ORDER BY created_at DESC, id DESC LIMIT $3",
        org_id,
        n,
        limit
    )
    .fetch_all(db)
    .await
}

pub struct LookupRow {
    pub outcome: String,
    pub line_type: Option<String>,
    pub created_at: OffsetDateTime,
}

/// The org's own lookups of `n`, newest first.
pub async fn lookups(
    db: impl PgExecutor<'_>,
    org_id: i64,
    n: &str,
    limit: i64,
) -> Result<Vec<LookupRow>, sqlx::Error> {
    sqlx::query_as!(
        LookupRow,
        "SELECT outcome, line_type, created_at FROM lookup_events
         WHERE org_id = $1 AND e164 = $2
         ORDER BY created_at DESC, id DESC LIMIT $3",
        org_id,
        n,
        limit
    )
    .fetch_all(db)
    .await
}

pub struct Counts {
    pub calls: i64,
    pub messages: i64,
    pub recordings: i64,
    pub lookups: i64,
}

pub async fn counts(db: impl PgExecutor<'_>, org_id: i64, n: &str) -> Result<Counts, sqlx::Error> {
    sqlx::query_as!(
        Counts,
        r#"SELECT
             (SELECT count(*) FROM calls c WHERE c.org_id = $1
                AND (c.from_e164 = $2 OR c.to_e164 = $2 OR c.bridge_e164 = $2)) AS "calls!",
             (SELECT count(*) FROM messages m WHERE m.org_id = $1 AND m.other_e164 = $2) AS "messages!",
             (SELECT count(*) FROM call_recordings r JOIN calls c ON c.id = r.call_id
              WHERE c.org_id = $1
                AND (c.from_e164 = $2 OR c.to_e164 = $2 OR c.bridge_e164 = $2)) AS "recordings!",
             (SELECT count(*) FROM lookup_events l WHERE l.org_id = $1 AND l.e164 = $2) AS "lookups!""#,
        org_id,
        n
    )
    .fetch_one(db)
    .await
}

pub struct OptOutRow {
    pub source: String,
    pub reason: String,
    pub since: OffsetDateTime,
    pub events: i64,
}

/// The number's opt-out entry in the org's ledger, if it is opted out.
pub async fn opt_out(
    db: impl PgExecutor<'_>,
    org_id: i64,
    n: &str,
) -> Result<Option<OptOutRow>, sqlx::Error> {
    sqlx::query_as!(
        OptOutRow,
        r#"SELECT o.source, o.reason, o.since,
                  (SELECT count(*) FROM opt_out_events e
                   WHERE e.org_id = o.org_id AND e.e164 = o.e164) AS "events!"
           FROM opt_outs o WHERE o.org_id = $1 AND o.e164 = $2"#,
        org_id,
        n
    )
    .fetch_optional(db)
    .await
}

pub struct RecordingRow {
    pub id: i64,
    pub call_id: i64,
    pub provider_sid: String,
    pub config_id: Option<i64>,
    pub duration_secs: i32,
}

/// The recordings of the org's calls with `n`.
pub async fn recordings(
    db: impl PgExecutor<'_>,
    org_id: i64,
    n: &str,
) -> Result<Vec<RecordingRow>, sqlx::Error> {
    sqlx::query_as!(
        RecordingRow,
        "SELECT r.id, r.call_id, r.provider_sid, c.config_id, r.duration_secs
         FROM call_recordings r JOIN calls c ON c.id = r.call_id
         WHERE c.org_id = $1 AND (c.from_e164 = $2 OR c.to_e164 = $2 OR c.bridge_e164 = $2)
         ORDER BY r.id",
        org_id,
        n
    )
    .fetch_all(db)
    .await
}

impl RecordingRow {
    pub fn source(&self) -> ExpiredRecording {
        ExpiredRecording {
            id: self.id,
            provider_sid: self.provider_sid.clone(),
            config_id: self.config_id,
        }
    }
}

/// The org's messages with `n` whose body is still held (here, and at a provider if one sent
/// or received it).
pub async fn bodies(
    db: impl PgExecutor<'_>,
    org_id: i64,
    n: &str,
) -> Result<Vec<ExpiredBody>, sqlx::Error> {
    sqlx::query_as!(
        ExpiredBody,
        "SELECT id, provider_sid, config_id, is_test FROM messages
         WHERE org_id = $1 AND other_e164 = $2 AND redacted_at IS NULL
           AND status NOT IN ('queued', 'scheduled', 'held')
         ORDER BY id",
        org_id,
        n
    )
    .fetch_all(db)
    .await
}

/// Cancels the org's texts to `n` still waiting (scheduled, or held for review): never sent.
pub async fn cancel_waiting(
    db: impl PgExecutor<'_>,
    org_id: i64,
    n: &str,
) -> Result<u64, sqlx::Error> {
    let r = sqlx::query!(
        "UPDATE messages SET status = 'canceled', updated_at = now(),
                error_message = 'Canceled: the recipient''s data was erased.'
         WHERE org_id = $1 AND other_e164 = $2 AND status IN ('scheduled', 'held')",
        org_id,
        n
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected())
}

/// What the erasure replaced (rows).
#[derive(Debug)]
pub struct Replaced {
    pub calls: u64,
    pub messages: u64,
    pub lookups: u64,
}

/// Replaces `n` by its hash in every table of the org that keeps it (bodies emptied, the opt-out
/// proof dropped; the opt-out entry itself stays), clears the caller name the shared cache holds
/// for it when the org looked it up, and returns the hash.
pub async fn replace_number(
    tx: &mut Transaction<'_, Postgres>,
    org_id: i64,
    n: &str,
    now: OffsetDateTime,
) -> Result<(String, Replaced), sqlx::Error> {
    let hash = hash(&mut **tx, org_id, n).await?;
    let calls = sqlx::query!(
        "UPDATE calls SET from_e164 = CASE WHEN from_e164 = $2 THEN $3 ELSE from_e164 END,
                          to_e164 = CASE WHEN to_e164 = $2 THEN $3 ELSE to_e164 END,
                          bridge_e164 = CASE WHEN bridge_e164 = $2 THEN $3 ELSE bridge_e164 END
         WHERE org_id = $1 AND (from_e164 = $2 OR to_e164 = $2 OR bridge_e164 = $2)",
        org_id,
        n,
        hash
    )
    .execute(&mut **tx)
    .await?
    .rows_affected();
    let messages = sqlx::query!(
        "UPDATE messages SET other_e164 = $3, body = '', redacted_at = coalesce(redacted_at, $4)
         WHERE org_id = $1 AND other_e164 = $2",
        org_id,
        n,
        hash,
        now
    )
    .execute(&mut **tx)
    .await?
    .rows_affected();
    let lookups = sqlx::query!(
        "UPDATE lookup_events SET e164 = $3 WHERE org_id = $1 AND e164 = $2",
        org_id,
        n,
        hash
    )
    .execute(&mut **tx)
    .await?
    .rows_affected();
    scrub_traces(tx, org_id, n, &hash).await?;
    if lookups > 0 {
        forget_caller_name(tx, n).await?;
    }
    let out = Replaced {
        calls,
        messages,
        lookups,
    };
    Ok((hash, out))
}

/// The number's other traces in the org: bulk lookup rows, the yearly top-numbers counts, the
/// opt-out proof, then what the org was told or sent about it ([`scrub_messages`]).
async fn scrub_traces(
    tx: &mut Transaction<'_, Postgres>,
    org_id: i64,
    n: &str,
    hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE lookup_job_rows r SET e164 = CASE WHEN r.e164 = $2 THEN $3 ELSE r.e164 END,
                                      input = regexp_replace(r.input, $4, $3, 'g')
         FROM lookup_jobs j
         WHERE j.id = r.job_id AND j.org_id = $1 AND (r.e164 = $2 OR r.input ~ $4)",
        org_id,
        n,
        hash,
        pattern(n)
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "DELETE FROM lookup_number_years WHERE org_id = $1 AND e164 = $2",
        org_id,
        n
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "UPDATE opt_out_events SET body = NULL WHERE org_id = $1 AND e164 = $2",
        org_id,
        n
    )
    .execute(&mut **tx)
    .await?;
    scrub_messages(tx, org_id, n, hash).await
}

/// Error texts, mail, notifications, webhook payloads, stored API answers and the audit log name
/// the number's hash instead.
async fn scrub_messages(
    tx: &mut Transaction<'_, Postgres>,
    org_id: i64,
    n: &str,
    hash: &str,
) -> Result<(), sqlx::Error> {
    let pat = pattern(n);
    sqlx::query!(
        "UPDATE messages SET error_message = regexp_replace(error_message, $2, $3, 'g')
         WHERE org_id = $1 AND error_message ~ $2",
        org_id,
        pat,
        hash
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "UPDATE calls SET error_message = regexp_replace(error_message, $2, $3, 'g')
         WHERE org_id = $1 AND error_message ~ $2",
        org_id,
        pat,
        hash
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "UPDATE mail_outbox SET subject = left(regexp_replace(subject, $2, $3, 'g'), 200),
                                body = regexp_replace(body, $2, $3, 'g')
         WHERE org_id = $1 AND (subject ~ $2 OR body ~ $2)",
        org_id,
        pat,
        hash
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "UPDATE notifications SET body = regexp_replace(body, $2, $3, 'g'),
                                  title = left(regexp_replace(title, $2, $3, 'g'), 200)
         WHERE org_id = $1 AND (body ~ $2 OR title ~ $2)",
        org_id,
        pat,
        hash
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "UPDATE webhook_deliveries d SET payload = regexp_replace(d.payload::text, $2, $3, 'g')::jsonb
         FROM org_webhooks w
         WHERE w.id = d.webhook_id AND w.org_id = $1 AND d.payload::text ~ $2",
        org_id,
        pat,
        hash
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "UPDATE api_idempotency i SET body = regexp_replace(i.body::text, $2, $3, 'g')::jsonb
         FROM api_keys k
         WHERE k.id = i.api_key_id AND k.org_id = $1 AND i.body::text ~ $2",
        org_id,
        pat,
        hash
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "UPDATE audit_log SET target = regexp_replace(target, $2, $3, 'g'),
                              details = regexp_replace(details::text, $2, $3, 'g')::jsonb
         WHERE org_id = $1 AND (target ~ $2 OR details::text ~ $2)",
        org_id,
        pat,
        hash
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The shared cache is every org's: the caller name (and any address) the org looked up about
/// the person go, the carrier and line type stay. (An org that never looked the number up
/// changes nothing there.)
async fn forget_caller_name(
    tx: &mut Transaction<'_, Postgres>,
    n: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE phone_numbers SET caller_name = NULL, caller_type = NULL, caller_name_checked = false,
                address_street = NULL, address_city = NULL, address_region = NULL,
                address_postal_code = NULL, raw = raw - 'caller_name'
         WHERE e164 = $1",
        n
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The salted hash the org's records and audit log know `n` by once erased.
pub async fn hash(db: impl PgExecutor<'_>, org_id: i64, n: &str) -> Result<String, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT number_hash($1, $2) AS "h!""#, org_id, n)
        .fetch_one(db)
        .await
}

/// A regular expression for `n` as a whole number in free text: not the start of a longer one
/// (`+4930123456` inside `+49301234567`).
fn pattern(n: &str) -> String {
    format!(r"\{n}(?![0-9])")
}

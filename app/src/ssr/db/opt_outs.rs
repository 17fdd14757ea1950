//! The opt-out ledger: who is opted out of an org's texts, its events (with their proof), the
//! lock that fences sends from opt-outs, and the org's STOP, START and HELP replies.

use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;

/// The send's side of the fence: holds the number's lock shared until the transaction ends, and
/// says whether it is opted out now.
pub async fn fence(tx: &mut PgConnection, org_id: i64, e164: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT opt_out_fence($1, $2) AS "o!""#, org_id, e164)
        .fetch_one(&mut *tx)
        .await
}

/// The ledger's side: holds the number's lock exclusively until the transaction ends, after every
/// send already asking the provider has had its answer.
pub async fn lock_number(
    tx: &mut PgConnection,
    org_id: i64,
    e164: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended('optout:' || $1::int8 || ':' || $2::text, 0))",
        org_id,
        e164
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

pub struct NewEvent<'a> {
    pub org_id: i64,
    pub e164: &'a str,
    pub action: &'a str,
    pub source: &'a str,
    pub our_e164: Option<&'a str>,
    pub message_id: Option<i64>,
    pub body: Option<&'a str>,
    pub reason: &'a str,
    pub actor_id: Option<i64>,
    pub replied: bool,
    pub at: OffsetDateTime,
}

pub async fn insert_event(tx: &mut PgConnection, e: &NewEvent<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        "INSERT INTO opt_out_events (org_id, e164, action, source, our_e164, message_id, body,
                                     reason, actor_id, replied, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         RETURNING id",
        e.org_id,
        e.e164,
        e.action,
        e.source,
        e.our_e164,
        e.message_id,
        e.body,
        e.reason,
        e.actor_id,
        e.replied,
        e.at
    )
    .fetch_one(&mut *tx)
    .await
}

/// Puts `e164` in the ledger as `event_id` says (under its lock); false when it already was.
pub async fn insert(
    tx: &mut PgConnection,
    org_id: i64,
    e164: &str,
    source: &str,
    reason: &str,
    (since, event_id): (OffsetDateTime, i64),
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query!(
        "INSERT INTO opt_outs (org_id, e164, source, reason, since, event_id)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (org_id, e164) DO NOTHING",
        org_id,
        e164,
        source,
        reason,
        since,
        event_id
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Puts `e164` in the ledger as the recipient's own opt-out (`keyword` or `provider`, under its
/// lock): a new entry, or one whose source is among `over` taken over (an admin's entry becomes
/// the recipient's, whom only they can lift; a provider's gains the keyword as its proof). False
/// when the entry stays as it was.
pub async fn claim(
    tx: &mut PgConnection,
    org_id: i64,
    e164: &str,
    (source, reason, over): (&str, &str, &[&str]),
    (since, event_id): (OffsetDateTime, i64),
) -> Result<bool, sqlx::Error> {
    let over: Vec<String> = over.iter().map(|s| s.to_string()).collect();
    let n = sqlx::query!(
        "INSERT INTO opt_outs (org_id, e164, source, reason, since, event_id)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (org_id, e164) DO UPDATE
         SET source = EXCLUDED.source, reason = EXCLUDED.reason, since = EXCLUDED.since,
             event_id = EXCLUDED.event_id
         WHERE opt_outs.source = ANY($7::text[])",
        org_id,
        e164,
        source,
        reason,
        since,
        event_id,
        &over
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Whether `e164` was sent the help text since `since`.
pub async fn helped_since(
    tx: &mut PgConnection,
    org_id: i64,
    e164: &str,
    since: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM opt_out_events
                          WHERE org_id = $1 AND e164 = $2 AND action = 'help' AND replied
                            AND at >= $3) AS "h!""#,
        org_id,
        e164,
        since
    )
    .fetch_one(&mut *tx)
    .await
}

/// The source of `e164`'s entry, if it has one (under its lock).
pub async fn source_of(
    tx: &mut PgConnection,
    org_id: i64,
    e164: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT source FROM opt_outs WHERE org_id = $1 AND e164 = $2",
        org_id,
        e164
    )
    .fetch_optional(&mut *tx)
    .await
}

/// Takes `e164` out of the ledger (under its lock); whether it was there.
pub async fn delete(tx: &mut PgConnection, org_id: i64, e164: &str) -> Result<bool, sqlx::Error> {
    let n = sqlx::query!(
        "DELETE FROM opt_outs WHERE org_id = $1 AND e164 = $2",
        org_id,
        e164
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Puts each of `numbers` (each once) in the ledger from `source` (an import, or the provider's
/// list), with an event each; how many were added (the others already were). Without the
/// numbers' locks (thousands at once would fill the lock table): an import is an admin's
/// statement, not a recipient's STOP racing a send.
pub async fn insert_many(
    tx: &mut PgConnection,
    org_id: i64,
    numbers: &[String],
    (source, reason, actor_id): (&str, &str, Option<i64>),
    at: OffsetDateTime,
) -> Result<u64, sqlx::Error> {
    let n = sqlx::query!(
        "WITH new AS (
             SELECT n FROM unnest($2::text[]) n
             WHERE NOT EXISTS (SELECT 1 FROM opt_outs o WHERE o.org_id = $1 AND o.e164 = n)
         ), ev AS (
             INSERT INTO opt_out_events (org_id, e164, action, source, reason, actor_id, at)
             SELECT $1, n, 'opt_out', $3, $4, $5, $6 FROM new
             RETURNING id, e164
         )
         INSERT INTO opt_outs (org_id, e164, source, reason, since, event_id)
         SELECT $1, ev.e164, $3, $4, $6, ev.id FROM ev
         ON CONFLICT (org_id, e164) DO NOTHING",
        org_id,
        numbers,
        source,
        reason,
        actor_id,
        at
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    Ok(n)
}

pub async fn count(db: impl PgExecutor<'_>, org_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM opt_outs WHERE org_id = $1"#,
        org_id
    )
    .fetch_one(db)
    .await
}

pub struct EntryRow {
    pub e164: String,
    pub source: String,
    pub reason: String,
    pub since: OffsetDateTime,
    pub our_e164: Option<String>,
    pub body: Option<String>,
    pub by: Option<String>,
}

/// The org's entries, newest first, from the keyset position (`since`, `e164`) on (exclusive) and
/// those whose number contains `search` (digits) if given; at most `limit`.
pub async fn entries(
    db: impl PgExecutor<'_>,
    org_id: i64,
    search: Option<&str>,
    after: Option<(OffsetDateTime, &str)>,
    limit: i64,
) -> Result<Vec<EntryRow>, sqlx::Error> {
    sqlx::query_as!(
        EntryRow,
        r#"SELECT o.e164, o.source, o.reason, o.since, e.our_e164, e.body, u.email AS "by?"
           FROM opt_outs o
           JOIN opt_out_events e ON e.id = o.event_id
           LEFT JOIN users u ON u.id = e.actor_id
           WHERE o.org_id = $1
             AND ($2::text IS NULL OR strpos(o.e164, $2) > 0)
             AND ($3::timestamptz IS NULL OR (o.since, o.e164) < ($3, $4::text))
           ORDER BY o.since DESC, o.e164 DESC
           LIMIT $5"#,
        org_id,
        search,
        after.map(|a| a.0),
        after.map(|a| a.1),
        limit
    )
    .fetch_all(db)
    .await
}

/// One number's entry.
pub async fn entry(
    db: impl PgExecutor<'_>,
    org_id: i64,
    e164: &str,
) -> Result<Option<EntryRow>, sqlx::Error> {
    sqlx::query_as!(
        EntryRow,
        r#"SELECT o.e164, o.source, o.reason, o.since, e.our_e164, e.body, u.email AS "by?"
           FROM opt_outs o
           JOIN opt_out_events e ON e.id = o.event_id
           LEFT JOIN users u ON u.id = e.actor_id
           WHERE o.org_id = $1 AND o.e164 = $2"#,
        org_id,
        e164
    )
    .fetch_optional(db)
    .await
}

pub struct EventRow {
    pub id: i64,
    pub e164: String,
    pub action: String,
    pub source: String,
    pub our_e164: Option<String>,
    pub body: Option<String>,
    pub reason: String,
    pub by: Option<String>,
    pub replied: bool,
    pub at: OffsetDateTime,
}

/// The org's events (one number's, if given), newest first; at most `limit`.
pub async fn events(
    db: impl PgExecutor<'_>,
    org_id: i64,
    e164: Option<&str>,
    limit: i64,
) -> Result<Vec<EventRow>, sqlx::Error> {
    sqlx::query_as!(
        EventRow,
        r#"SELECT e.id, e.e164, e.action, e.source, e.our_e164, e.body, e.reason,
                  u.email AS "by?", e.replied, e.at
           FROM opt_out_events e
           LEFT JOIN users u ON u.id = e.actor_id
           WHERE e.org_id = $1 AND ($2::text IS NULL OR e.e164 = $2)
           ORDER BY e.id DESC
           LIMIT $3"#,
        org_id,
        e164,
        limit
    )
    .fetch_all(db)
    .await
}

pub struct SettingsRow {
    pub org_name: String,
    pub help_contact: Option<String>,
    pub stop_reply: Option<String>,
    pub start_reply: Option<String>,
    pub help_reply: Option<String>,
    pub updated_at: Option<OffsetDateTime>,
}

/// The org's name and its replies (None where it never set them).
pub async fn settings(
    db: impl PgExecutor<'_>,
    org_id: i64,
) -> Result<Option<SettingsRow>, sqlx::Error> {
    sqlx::query_as!(
        SettingsRow,
        r#"SELECT o.name AS org_name, s.help_contact AS "help_contact?", s.stop_reply,
                  s.start_reply, s.help_reply, s.updated_at AS "updated_at?"
           FROM orgs o LEFT JOIN opt_out_settings s ON s.org_id = o.id
           WHERE o.id = $1"#,
        org_id
    )
    .fetch_optional(db)
    .await
}

pub struct NewSettings<'a> {
    pub help_contact: &'a str,
    pub stop_reply: Option<&'a str>,
    pub start_reply: Option<&'a str>,
    pub help_reply: Option<&'a str>,
}

pub async fn save_settings(
    db: impl PgExecutor<'_>,
    org_id: i64,
    s: &NewSettings<'_>,
    (by, at): (i64, OffsetDateTime),
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO opt_out_settings (org_id, help_contact, stop_reply, start_reply, help_reply,
                                       updated_by, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (org_id) DO UPDATE
         SET help_contact = EXCLUDED.help_contact, stop_reply = EXCLUDED.stop_reply,
             start_reply = EXCLUDED.start_reply, help_reply = EXCLUDED.help_reply,
             updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at",
        org_id,
        s.help_contact,
        s.stop_reply,
        s.start_reply,
        s.help_reply,
        by,
        at
    )
    .execute(db)
    .await?;
    Ok(())
}

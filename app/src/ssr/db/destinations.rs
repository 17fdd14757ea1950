//! Destination rules, the velocity rule's locks, counts and pauses, and refused destinations
//! counted per day.

use sqlx::{PgConnection, PgExecutor};
use time::{Date, OffsetDateTime};

/// What a send needs of its org to decide where it may go (the rules' columns are None when the
/// org never saved any: the defaults apply).
pub struct SendRules {
    pub name: String,
    pub slug: String,
    pub country: String,
    pub allowed_countries: Option<Vec<String>>,
    pub max_sms_micros: Option<i64>,
    pub max_call_minute_micros: Option<i64>,
    pub velocity_per_hour: Option<i32>,
    /// Those of the keys asked about that are paused now.
    pub paused: Vec<String>,
}

pub async fn send_rules(
    db: impl PgExecutor<'_>,
    org_id: i64,
    keys: &[String],
) -> Result<Option<SendRules>, sqlx::Error> {
    sqlx::query_as!(
        SendRules,
        r#"SELECT o.name, o.slug, o.country,
                  r.allowed_countries AS "allowed_countries?",
                  r.max_sms_micros AS "max_sms_micros?",
                  r.max_call_minute_micros AS "max_call_minute_micros?",
                  r.velocity_per_hour AS "velocity_per_hour?",
                  ARRAY(SELECT p.dest_key FROM destination_pauses p
                        WHERE p.org_id = o.id AND p.resumed_at IS NULL
                          AND p.dest_key = ANY($2::text[])
                        ORDER BY p.dest_key) AS "paused!"
           FROM orgs o LEFT JOIN destination_rules r ON r.org_id = o.id
           WHERE o.id = $1"#,
        org_id,
        keys
    )
    .fetch_optional(db)
    .await
}

/// Takes the lock of one destination of the org until the transaction ends: counting its sends
/// and writing the next one (or opening its pause, or resuming it) are then one step, whichever
/// server and member send.
pub async fn lock_key(tx: &mut PgConnection, org_id: i64, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended('dest:' || $1::int8 || ':' || $2::text, 0))",
        org_id,
        key
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A pause open now.
pub struct OpenPause {
    pub id: i64,
    pub dest_key: String,
}

/// The first (by key) of the org's open pauses of `keys`, if any.
pub async fn open_pause(
    tx: &mut PgConnection,
    org_id: i64,
    keys: &[String],
) -> Result<Option<OpenPause>, sqlx::Error> {
    sqlx::query_as!(
        OpenPause,
        r#"SELECT id, dest_key FROM destination_pauses
           WHERE org_id = $1 AND dest_key = ANY($2::text[]) AND resumed_at IS NULL
           ORDER BY dest_key LIMIT 1"#,
        org_id,
        keys
    )
    .fetch_optional(&mut *tx)
    .await
}

/// Where the velocity rule's hour starts for a send counted under `keys`: an hour before `now`,
/// or the last resume of any of them if that is later (an owner or admin who resumed one of a
/// destination's keys approved what went there before).
pub async fn window_start(
    tx: &mut PgConnection,
    org_id: i64,
    keys: &[String],
    now: OffsetDateTime,
) -> Result<OffsetDateTime, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT greatest($3::timestamptz - interval '1 hour',
                           (SELECT max(resumed_at) FROM destination_pauses
                            WHERE org_id = $1 AND dest_key = ANY($2::text[])
                              AND resumed_at IS NOT NULL)) AS "since!""#,
        org_id,
        keys,
        now
    )
    .fetch_one(&mut *tx)
    .await
}

// The four counts of the velocity rule: an org's outbound texts or calls since `since`, to a
// number prefix (`left(…, 7)`: "+" and `model::destinations::PREFIX_DIGITS` digits, the indexed
// expression) or to a country; counted up to `cap` (the rule's figure: whether it is reached is
// all that matters), so a busy destination costs no more to count than a quiet one.

pub async fn messages_to_prefix(
    tx: &mut PgConnection,
    (org_id, prefix): (i64, &str),
    since: OffsetDateTime,
    cap: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM (
               SELECT 1 FROM messages
               WHERE org_id = $1 AND direction = 'outbound' AND left(other_e164, 7) = $2
                 AND created_at > $3
               LIMIT $4) s"#,
        org_id,
        prefix,
        since,
        cap
    )
    .fetch_one(&mut *tx)
    .await
}

pub async fn messages_to_country(
    tx: &mut PgConnection,
    (org_id, country): (i64, &str),
    since: OffsetDateTime,
    cap: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM (
               SELECT 1 FROM messages
               WHERE org_id = $1 AND direction = 'outbound' AND dest_country = $2
                 AND created_at > $3
               LIMIT $4) s"#,
        org_id,
        country,
        since,
        cap
    )
    .fetch_one(&mut *tx)
    .await
}

pub async fn calls_to_prefix(
    tx: &mut PgConnection,
    (org_id, prefix): (i64, &str),
    since: OffsetDateTime,
    cap: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM (
               SELECT 1 FROM calls
               WHERE org_id = $1 AND direction = 'outbound' AND left(to_e164, 7) = $2
                 AND created_at > $3
               LIMIT $4) s"#,
        org_id,
        prefix,
        since,
        cap
    )
    .fetch_one(&mut *tx)
    .await
}

pub async fn calls_to_country(
    tx: &mut PgConnection,
    (org_id, country): (i64, &str),
    since: OffsetDateTime,
    cap: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM (
               SELECT 1 FROM calls
               WHERE org_id = $1 AND direction = 'outbound' AND dest_country = $2
                 AND created_at > $3
               LIMIT $4) s"#,
        org_id,
        country,
        since,
        cap
    )
    .fetch_one(&mut *tx)
    .await
}

/// A pause the velocity rule opens.
pub struct NewPause<'a> {
    pub org_id: i64,
    pub key: &'a str,
    /// `sms` or `call`: what tripped it.
    pub kind: &'a str,
    pub sends: i64,
    pub per_hour: i32,
    pub at: OffsetDateTime,
}

/// Opens the pause (the caller holds the destination's lock, so none is open yet); its id.
pub async fn insert_pause(tx: &mut PgConnection, p: &NewPause<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"INSERT INTO destination_pauses (org_id, dest_key, kind, sends, per_hour, paused_at)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING id"#,
        p.org_id,
        p.key,
        p.kind,
        p.sends,
        p.per_hour,
        p.at
    )
    .fetch_one(&mut *tx)
    .await
}

/// A pause with who resumed it and the texts still held under it.
pub struct PauseRow {
    pub id: i64,
    pub dest_key: String,
    pub kind: String,
    pub sends: i64,
    pub per_hour: i32,
    pub paused_at: OffsetDateTime,
    pub resumed_at: Option<OffsetDateTime>,
    pub resumed_by: Option<String>,
    pub held: i64,
}

/// The org's open pauses, and those resumed after `since` or still holding texts: open first,
/// then newest first (at most 200).
pub async fn pauses(
    db: impl PgExecutor<'_>,
    org_id: i64,
    since: OffsetDateTime,
) -> Result<Vec<PauseRow>, sqlx::Error> {
    sqlx::query_as!(
        PauseRow,
        r#"SELECT p.id, p.dest_key, p.kind, p.sends, p.per_hour, p.paused_at, p.resumed_at,
                  u.email AS "resumed_by?",
                  (SELECT count(*) FROM messages m WHERE m.pause_id = p.id AND m.status = 'held')
                      AS "held!"
           FROM destination_pauses p LEFT JOIN users u ON u.id = p.resumed_by
           WHERE p.org_id = $1
             AND (p.resumed_at IS NULL OR p.resumed_at > $2
                  OR EXISTS (SELECT 1 FROM messages m WHERE m.pause_id = p.id AND m.status = 'held'))
           ORDER BY p.resumed_at IS NOT NULL, p.paused_at DESC, p.id DESC
           LIMIT 200"#,
        org_id,
        since
    )
    .fetch_all(db)
    .await
}

/// One of the org's pauses (another org's, or none: None).
pub async fn pause(
    db: impl PgExecutor<'_>,
    org_id: i64,
    id: i64,
) -> Result<Option<PauseRow>, sqlx::Error> {
    sqlx::query_as!(
        PauseRow,
        r#"SELECT p.id, p.dest_key, p.kind, p.sends, p.per_hour, p.paused_at, p.resumed_at,
                  u.email AS "resumed_by?",
                  (SELECT count(*) FROM messages m WHERE m.pause_id = p.id AND m.status = 'held')
                      AS "held!"
           FROM destination_pauses p LEFT JOIN users u ON u.id = p.resumed_by
           WHERE p.org_id = $1 AND p.id = $2"#,
        org_id,
        id
    )
    .fetch_optional(db)
    .await
}

/// Closes the org's open pause `id`, by `by` at `at`; whether it was open.
pub async fn resume(
    tx: &mut PgConnection,
    (org_id, id): (i64, i64),
    by: i64,
    at: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query!(
        r#"UPDATE destination_pauses SET resumed_at = $3, resumed_by = $4
           WHERE org_id = $1 AND id = $2 AND resumed_at IS NULL"#,
        org_id,
        id,
        at,
        by
    )
    .execute(&mut *tx)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// The texts held under a pause, oldest first, at most `limit`.
pub async fn held_ids(
    db: impl PgExecutor<'_>,
    pause_id: i64,
    limit: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM messages WHERE pause_id = $1 AND status = 'held' ORDER BY id LIMIT $2",
        pause_id,
        limit
    )
    .fetch_all(db)
    .await
}

/// Counts one refused destination on the org's local day of `at`.
pub async fn count_refusal(
    db: impl PgExecutor<'_>,
    org_id: i64,
    reason: &str,
    at: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO destination_refusals AS r (org_id, day, reason, n)
           SELECT o.id, ($3::timestamptz AT TIME ZONE o.time_zone)::date, $2, 1
           FROM orgs o WHERE o.id = $1
           ON CONFLICT (org_id, day, reason) DO UPDATE SET n = r.n + 1"#,
        org_id,
        reason,
        at
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The first local day of the org's month at `now` (its time zone).
pub async fn month_start(
    db: impl PgExecutor<'_>,
    org_id: i64,
    now: OffsetDateTime,
) -> Result<Option<Date>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT budget_period('month', $2, o.time_zone) AS "d!" FROM orgs o WHERE o.id = $1"#,
        org_id,
        now
    )
    .fetch_optional(db)
    .await
}

/// Refusals counted since the local day `from`, per reason.
pub struct RefusalRow {
    pub reason: String,
    pub n: i64,
}

pub async fn refusals(
    db: impl PgExecutor<'_>,
    org_id: i64,
    from: Date,
) -> Result<Vec<RefusalRow>, sqlx::Error> {
    sqlx::query_as!(
        RefusalRow,
        r#"SELECT reason, sum(n)::int8 AS "n!" FROM destination_refusals
           WHERE org_id = $1 AND day >= $2
           GROUP BY reason ORDER BY reason"#,
        org_id,
        from
    )
    .fetch_all(db)
    .await
}

/// An org's saved rules (the rules' columns None: never saved), with its own country.
pub struct RulesRow {
    pub country: String,
    pub allowed_countries: Option<Vec<String>>,
    pub max_sms_micros: Option<i64>,
    pub max_call_minute_micros: Option<i64>,
    pub velocity_per_hour: Option<i32>,
    pub updated_at: Option<OffsetDateTime>,
}

pub async fn rules(db: impl PgExecutor<'_>, org_id: i64) -> Result<Option<RulesRow>, sqlx::Error> {
    sqlx::query_as!(
        RulesRow,
        r#"SELECT o.country,
                  r.allowed_countries AS "allowed_countries?",
                  r.max_sms_micros AS "max_sms_micros?",
                  r.max_call_minute_micros AS "max_call_minute_micros?",
                  r.velocity_per_hour AS "velocity_per_hour?",
                  r.updated_at AS "updated_at?"
           FROM orgs o LEFT JOIN destination_rules r ON r.org_id = o.id
           WHERE o.id = $1"#,
        org_id
    )
    .fetch_optional(db)
    .await
}

/// Rules to save (replacing the org's).
pub struct NewRules<'a> {
    pub org_id: i64,
    pub allowed_countries: &'a [String],
    pub max_sms_micros: Option<i64>,
    pub max_call_minute_micros: Option<i64>,
    pub velocity_per_hour: i32,
    pub by: i64,
    pub at: OffsetDateTime,
}

pub async fn save_rules(tx: &mut PgConnection, r: &NewRules<'_>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO destination_rules (org_id, allowed_countries, max_sms_micros,
                                          max_call_minute_micros, velocity_per_hour, updated_by,
                                          updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (org_id) DO UPDATE
               SET allowed_countries = EXCLUDED.allowed_countries,
                   max_sms_micros = EXCLUDED.max_sms_micros,
                   max_call_minute_micros = EXCLUDED.max_call_minute_micros,
                   velocity_per_hour = EXCLUDED.velocity_per_hour,
                   updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at"#,
        r.org_id,
        r.allowed_countries,
        r.max_sms_micros,
        r.max_call_minute_micros,
        r.velocity_per_hour,
        r.by,
        r.at
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

//! Lookup figures for the pages: read from the daily and per-number rollups (kept in step with
//! `lookup_events` by the event writer), so they stay fast at millions of events.

use sqlx::PgExecutor;
use time::{Date, OffsetDateTime};

use crate::model::lookup::{line_type_label, money, Count, GlobalCacheStats, OrgCacheRow, Totals};

pub async fn totals(
    db: impl PgExecutor<'_>,
    org_id: i64,
    from: Date,
    to: Date,
) -> Result<Totals, sqlx::Error> {
    let r = sqlx::query!(
        r#"SELECT coalesce(sum(requests), 0)::int8 AS "requests!", coalesce(sum(hits), 0)::int8 AS "hits!",
                  coalesce(sum(misses), 0)::int8 AS "misses!",
                  coalesce(sum(refreshes), 0)::int8 AS "refreshes!",
                  coalesce(sum(errors), 0)::int8 AS "errors!",
                  coalesce(sum(cost_micros), 0)::int8 AS "cost!",
                  coalesce(sum(saved_micros), 0)::int8 AS "saved!"
           FROM lookup_daily WHERE org_id = $1 AND day BETWEEN $2 AND $3"#,
        org_id,
        from,
        to
    )
    .fetch_one(db)
    .await?;
    Ok(Totals {
        requests: r.requests,
        hits: r.hits,
        misses: r.misses,
        refreshes: r.refreshes,
        errors: r.errors,
        cost_micros: r.cost,
        saved_micros: r.saved,
    })
}

pub struct Day {
    pub day: Date,
    pub hits: i64,
    pub paid: i64,
    pub errors: i64,
}

pub async fn daily(
    db: impl PgExecutor<'_>,
    org_id: i64,
    from: Date,
    to: Date,
) -> Result<Vec<Day>, sqlx::Error> {
    sqlx::query_as!(
        Day,
        r#"SELECT day, sum(hits)::int8 AS "hits!", sum(misses + refreshes)::int8 AS "paid!",
                  sum(errors)::int8 AS "errors!"
           FROM lookup_daily WHERE org_id = $1 AND day BETWEEN $2 AND $3
           GROUP BY day ORDER BY day"#,
        org_id,
        from,
        to
    )
    .fetch_all(db)
    .await
}

/// Answered requests by line type.
pub async fn line_types(
    db: impl PgExecutor<'_>,
    org_id: i64,
    from: Date,
    to: Date,
) -> Result<Vec<Count>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT line_type, sum(requests - errors)::int8 AS "n!"
           FROM lookup_daily WHERE org_id = $1 AND day BETWEEN $2 AND $3
           GROUP BY line_type HAVING sum(requests - errors) > 0 ORDER BY 2 DESC"#,
        org_id,
        from,
        to
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Count {
            label: line_type_label(&r.line_type).to_string(),
            count: r.n,
        })
        .collect())
}

/// The most requested numbers in the months the range touches: one row per number and year
/// (running totals by month), so the cost follows the org's numbers, not its event volume.
pub async fn top_numbers(
    db: impl PgExecutor<'_>,
    org_id: i64,
    from: Date,
    to: Date,
) -> Result<Vec<Count>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT e164,
                  sum(cumulative[CASE WHEN year = $4 THEN $5 + 1 ELSE 13 END]
                      - cumulative[CASE WHEN year = $2 THEN $3 ELSE 1 END])::int8 AS "n!"
           FROM lookup_number_years
           WHERE org_id = $1 AND year BETWEEN $2 AND $4
           GROUP BY e164
           HAVING sum(cumulative[CASE WHEN year = $4 THEN $5 + 1 ELSE 13 END]
                      - cumulative[CASE WHEN year = $2 THEN $3 ELSE 1 END]) > 0
           ORDER BY 2 DESC, e164 LIMIT 10"#,
        org_id,
        from.year() as i16,
        i32::from(u8::from(from.month())),
        to.year() as i16,
        i32::from(u8::from(to.month())),
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Count {
            label: r.e164,
            count: r.n,
        })
        .collect())
}

/// A cache entry and when it expires.
pub struct ExpiringEntry {
    pub e164: String,
    pub expires_at: OffsetDateTime,
}

/// Cache entries this org has used that expire within a week.
pub async fn expiring(
    db: impl PgExecutor<'_>,
    org_id: i64,
) -> Result<Vec<ExpiringEntry>, sqlx::Error> {
    sqlx::query_as!(
        ExpiringEntry,
        r#"SELECT n.e164, n.lookup_expires_at AS "expires_at!"
           FROM phone_numbers n
           WHERE n.lookup_expires_at BETWEEN now() AND now() + interval '7 days'
             AND EXISTS (SELECT 1 FROM lookup_number_years m
                         WHERE m.org_id = $1 AND m.e164 = n.e164)
           ORDER BY n.lookup_expires_at LIMIT 10"#,
        org_id
    )
    .fetch_all(db)
    .await
}

/// One of an org's lookups: the number, how it was answered, what it cost, who asked and when.
pub struct RecentRow {
    pub e164: String,
    pub outcome: String,
    pub cost_micros: i64,
    pub user: String,
    pub at: OffsetDateTime,
}

/// The org's last 10 lookups, newest first.
pub async fn recent(db: impl PgExecutor<'_>, org_id: i64) -> Result<Vec<RecentRow>, sqlx::Error> {
    sqlx::query_as!(
        RecentRow,
        r#"SELECT e.e164, e.outcome, e.cost_micros, coalesce(u.email, 'deleted user') AS "user!",
                  e.created_at AS "at!"
           FROM lookup_events e LEFT JOIN users u ON u.id = e.user_id
           WHERE e.org_id = $1 ORDER BY e.created_at DESC, e.id DESC LIMIT 10"#,
        org_id
    )
    .fetch_all(db)
    .await
}

pub async fn global(
    pool: &sqlx::PgPool,
    from: Date,
    to: Date,
) -> Result<GlobalCacheStats, sqlx::Error> {
    let c = sqlx::query!(
        r#"SELECT count(*) FILTER (WHERE lookup_expires_at IS NOT NULL) AS "entries!",
                  count(*) FILTER (WHERE lookup_expires_at <= now()) AS "expired!",
                  count(*) FILTER (WHERE retry_after > now()) AS "failing!",
                  coalesce(sum(lookup_count), 0)::int8 AS "total!"
           FROM phone_numbers"#
    )
    .fetch_one(pool)
    .await?;
    let rows = sqlx::query!(
        r#"SELECT o.slug, o.name, coalesce(sum(d.requests), 0)::int8 AS "requests!",
                  coalesce(sum(d.misses + d.refreshes), 0)::int8 AS "paid!",
                  coalesce(sum(d.cost_micros), 0)::int8 AS "cost!",
                  coalesce(sum(d.saved_micros), 0)::int8 AS "saved!"
           FROM orgs o LEFT JOIN lookup_daily d ON d.org_id = o.id AND d.day BETWEEN $1 AND $2
           GROUP BY o.id ORDER BY 5 DESC, o.name"#,
        from,
        to
    )
    .fetch_all(pool)
    .await?;
    let spend: i64 = rows.iter().map(|r| r.cost).sum();
    let saved: i64 = rows.iter().map(|r| r.saved).sum();
    Ok(GlobalCacheStats {
        entries: c.entries,
        expired: c.expired,
        failing: c.failing,
        total_lookup_count: c.total,
        spend: money(spend),
        saved: money(saved),
        by_org: rows
            .into_iter()
            .map(|r| OrgCacheRow {
                slug: r.slug,
                name: r.name,
                requests: r.requests,
                paid: r.paid,
                spend: money(r.cost),
                saved: money(r.saved),
            })
            .collect(),
    })
}

/// Whether the org has asked for this number before (any lookup request, hit or miss): the lookup
/// page shows the shared cache's answer only then, so reading the cache is never a free lookup.
pub async fn org_has_looked_up(
    db: impl PgExecutor<'_>,
    org_id: i64,
    e164: &telephony::E164,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM lookup_number_years WHERE org_id = $1 AND e164 = $2)
           AS "seen!""#,
        org_id,
        e164.as_str()
    )
    .fetch_one(db)
    .await
}

/// The prices of a line-type lookup and of the caller-name add-on (0 when not set).
pub async fn lookup_prices(db: impl PgExecutor<'_>) -> Result<LookupPrices, sqlx::Error> {
    let prices = sqlx::query!(
        r#"SELECT (SELECT micros FROM prices WHERE item = 'lookup.line_type') AS base,
                  (SELECT micros FROM prices WHERE item = 'lookup.caller_name') AS caller_name,
                  (SELECT micros FROM prices WHERE item = 'lookup.aws_validate') AS aws"#
    )
    .fetch_one(db)
    .await?;
    Ok(LookupPrices {
        line_type: prices.base.unwrap_or(0),
        caller_name: prices.caller_name.unwrap_or(0),
        aws_validate: prices.aws.unwrap_or(0),
    })
}

/// What one lookup costs us, in micro-dollars: Twilio's line type and caller name, and Amazon
/// Pinpoint's phone number validation.
#[derive(Debug, Clone, Copy)]
pub struct LookupPrices {
    pub line_type: i64,
    pub caller_name: i64,
    pub aws_validate: i64,
}

/// What a lookup request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Hit,
    Miss,
    Refresh,
    Error,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Hit => "hit",
            Outcome::Miss => "miss",
            Outcome::Refresh => "refresh",
            Outcome::Error => "error",
        }
    }
}

/// A lookup request, as recorded for attribution.
#[derive(Debug, Clone)]
pub struct Event {
    pub org_id: i64,
    pub user_id: Option<i64>,
    pub e164: String,
    pub outcome: Outcome,
    pub cost_micros: i64,
    pub saved_micros: i64,
    pub line_type: Option<String>,
    pub at: OffsetDateTime,
    /// The money guard's reservation for a paid lookup (settled when the event is written).
    pub hold_id: Option<i64>,
}

/// Writes lookup events and adds them to the daily and per-number rollups, in one statement;
/// then, in the same transaction, settles the paid ones' budget holds (after their cost is
/// booked, which locks every budget it touches in budget id order first).
pub async fn record_events(pool: &sqlx::PgPool, batch: &[Event]) -> Result<(), sqlx::Error> {
    let n = batch.len();
    let mut org = Vec::with_capacity(n);
    let mut user = Vec::with_capacity(n);
    let mut e164 = Vec::with_capacity(n);
    let mut outcome = Vec::with_capacity(n);
    let mut cost = Vec::with_capacity(n);
    let mut saved = Vec::with_capacity(n);
    let mut line = Vec::with_capacity(n);
    let mut at = Vec::with_capacity(n);
    let holds: Vec<i64> = batch.iter().filter_map(|e| e.hold_id).collect();
    for e in batch {
        org.push(e.org_id);
        user.push(e.user_id);
        e164.push(e.e164.clone());
        outcome.push(e.outcome.as_str().to_string());
        cost.push(e.cost_micros);
        saved.push(e.saved_micros);
        line.push(e.line_type.clone());
        at.push(e.at);
    }
    let mut tx = pool.begin().await?;
    sqlx::query!(
        r#"WITH ev AS (
               INSERT INTO lookup_events (org_id, user_id, e164, outcome, cost_micros, saved_micros,
                                          line_type, created_at)
               SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::text[], $4::text[], $5::int8[],
                                    $6::int8[], $7::text[], $8::timestamptz[])
               RETURNING org_id, e164, outcome, cost_micros, saved_micros, line_type, created_at),
           daily AS (
               INSERT INTO lookup_daily AS d (org_id, day, line_type, requests, hits, misses,
                                              refreshes, errors, cost_micros, saved_micros)
               SELECT org_id, (created_at AT TIME ZONE 'UTC')::date, coalesce(line_type, ''),
                      count(*), count(*) FILTER (WHERE outcome = 'hit'),
                      count(*) FILTER (WHERE outcome = 'miss'),
                      count(*) FILTER (WHERE outcome = 'refresh'),
                      count(*) FILTER (WHERE outcome = 'error'),
                      sum(cost_micros), sum(saved_micros)
               FROM ev GROUP BY 1, 2, 3
               ON CONFLICT (org_id, day, line_type) DO UPDATE SET
                   requests = d.requests + EXCLUDED.requests, hits = d.hits + EXCLUDED.hits,
                   misses = d.misses + EXCLUDED.misses,
                   refreshes = d.refreshes + EXCLUDED.refreshes,
                   errors = d.errors + EXCLUDED.errors,
                   cost_micros = d.cost_micros + EXCLUDED.cost_micros,
                   saved_micros = d.saved_micros + EXCLUDED.saved_micros)
           INSERT INTO lookup_number_years AS n (org_id, e164, year, cumulative)
           SELECT org_id, e164, year,
                  ARRAY[0, count(*) FILTER (WHERE month <= 1), count(*) FILTER (WHERE month <= 2),
                        count(*) FILTER (WHERE month <= 3), count(*) FILTER (WHERE month <= 4), count(*) FILTER (WHERE month <= 5),
                        count(*) FILTER (WHERE month <= 6), count(*) FILTER (WHERE month <= 7), count(*) FILTER (WHERE month <= 8),
                        count(*) FILTER (WHERE month <= 9), count(*) FILTER (WHERE month <= 10), count(*) FILTER (WHERE month <= 11),
                        count(*)]
           FROM (SELECT org_id, e164,
                        extract(year FROM created_at AT TIME ZONE 'UTC')::int2 AS year,
                        extract(month FROM created_at AT TIME ZONE 'UTC')::int4 AS month
                 FROM ev) e
           GROUP BY 1, 2, 3
           ON CONFLICT (org_id, e164, year) DO UPDATE SET
               cumulative = ARRAY[n.cumulative[1] + EXCLUDED.cumulative[1], n.cumulative[2] + EXCLUDED.cumulative[2],
                                  n.cumulative[3] + EXCLUDED.cumulative[3], n.cumulative[4] + EXCLUDED.cumulative[4],
                                  n.cumulative[5] + EXCLUDED.cumulative[5], n.cumulative[6] + EXCLUDED.cumulative[6],
                                  n.cumulative[7] + EXCLUDED.cumulative[7], n.cumulative[8] + EXCLUDED.cumulative[8],
                                  n.cumulative[9] + EXCLUDED.cumulative[9], n.cumulative[10] + EXCLUDED.cumulative[10],
                                  n.cumulative[11] + EXCLUDED.cumulative[11], n.cumulative[12] + EXCLUDED.cumulative[12],
                                  n.cumulative[13] + EXCLUDED.cumulative[13]]"#,
        &org,
        &user as &[Option<i64>],
        &e164,
        &outcome,
        &cost,
        &saved,
        &line as &[Option<String>],
        &at,
    )
    .execute(&mut *tx)
    .await?;
    if !holds.is_empty() {
        sqlx::query!("SELECT hold_end_many($1::int8[], 'settled')", &holds)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

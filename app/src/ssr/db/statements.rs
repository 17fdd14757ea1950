//! Monthly statements: which org months are due to close, closing one (`statement_close`, in the
//! migration: one transaction that marks every row it states), reading statements back, and the
//! provider comparisons (claimed, recorded, retried).

use sqlx::{PgExecutor, Postgres, Transaction};
use time::{Date, OffsetDateTime};

/// An org month whose end has passed and that has no statement yet (the earliest such month of
/// each org, at most `limit` orgs, those due longest first).
pub struct Due {
    pub org_id: i64,
    pub month: Date,
}

pub async fn due(
    db: impl PgExecutor<'_>,
    now: OffsetDateTime,
    limit: i64,
) -> Result<Vec<Due>, sqlx::Error> {
    sqlx::query_as!(
        Due,
        r#"SELECT id AS org_id,
                  coalesce((closed_through + interval '1 month')::date,
                           date_trunc('month', created_at AT TIME ZONE time_zone)::date) AS "month!"
           FROM orgs WHERE next_close_at <= $1
           ORDER BY next_close_at LIMIT $2"#,
        now,
        limit
    )
    .fetch_all(db)
    .await
}

/// After a close failed: the org's month is tried again at `at` (others go first meanwhile).
pub async fn postpone_close(
    db: impl PgExecutor<'_>,
    org_id: i64,
    at: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE orgs SET next_close_at = $2 WHERE id = $1",
        org_id,
        at
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Closes the month; the org statement's id, or `None` when another server closed it first.
pub async fn close(
    tx: &mut Transaction<'_, Postgres>,
    org_id: i64,
    month: Date,
    now: OffsetDateTime,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT statement_close($1, $2, $3) AS "id""#,
        org_id,
        month,
        now
    )
    .fetch_one(&mut **tx)
    .await
}

/// Queues the comparison of org statement `statement_id` with the usage records of the
/// provider account of configuration `config_id`.
pub async fn queue_check(
    db: impl PgExecutor<'_>,
    statement_id: i64,
    config_id: i64,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO statement_checks (statement_id, config_id, next_at) VALUES ($1, $2, $3)
           ON CONFLICT DO NOTHING"#,
        statement_id,
        config_id,
        now
    )
    .execute(db)
    .await?;
    Ok(())
}

/// A comparison to try now.
pub struct Claimed {
    pub statement_id: i64,
    pub org_id: i64,
    pub config_id: Option<i64>,
    pub month: Date,
    pub attempts: i32,
}

/// Claims up to `limit` due comparisons for five minutes (another server tries them again only
/// after that), counting the attempt.
pub async fn claim_checks(
    db: impl PgExecutor<'_>,
    now: OffsetDateTime,
    limit: i64,
) -> Result<Vec<Claimed>, sqlx::Error> {
    sqlx::query_as!(
        Claimed,
        r#"WITH due AS (
               SELECT statement_id FROM statement_checks
               WHERE state = 'pending' AND next_at <= $1
               ORDER BY next_at LIMIT $2 FOR UPDATE SKIP LOCKED)
           UPDATE statement_checks c SET attempts = c.attempts + 1, next_at = $1 + interval '5 minutes'
           FROM due, statements s
           WHERE c.statement_id = due.statement_id AND s.id = c.statement_id
           RETURNING c.statement_id, s.org_id, c.config_id, s.month, c.attempts"#,
        now,
        limit
    )
    .fetch_all(db)
    .await
}

/// The provider's figures, by our categories (and `total`).
pub async fn record_check(
    tx: &mut Transaction<'_, Postgres>,
    statement_id: i64,
    lines: &[(String, i64, i64)],
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    let (cats, counts, micros): (Vec<String>, Vec<i64>, Vec<i64>) = lines.iter().fold(
        (Vec::new(), Vec::new(), Vec::new()),
        |(mut a, mut b, mut c), (cat, n, m)| {
            a.push(cat.clone());
            b.push(*n);
            c.push(*m);
            (a, b, c)
        },
    );
    sqlx::query!(
        r#"INSERT INTO statement_provider_lines (statement_id, category, item_count, micros)
           SELECT $1, * FROM UNNEST($2::text[], $3::int8[], $4::int8[])
           ON CONFLICT (statement_id, category) DO UPDATE
               SET item_count = EXCLUDED.item_count, micros = EXCLUDED.micros"#,
        statement_id,
        &cats,
        &counts,
        &micros
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        r#"UPDATE statement_checks SET state = 'done', checked_at = $2, error = NULL
           WHERE statement_id = $1"#,
        statement_id,
        now
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A try failed: tried again at `next_at`, or given up (`None`) with the reason.
pub async fn check_failed(
    db: impl PgExecutor<'_>,
    statement_id: i64,
    error: &str,
    next_at: Option<OffsetDateTime>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE statement_checks
           SET error = left($2, 300), state = CASE WHEN $3::timestamptz IS NULL THEN 'failed' ELSE 'pending' END,
               next_at = coalesce($3, next_at)
           WHERE statement_id = $1"#,
        statement_id,
        error,
        next_at
    )
    .execute(db)
    .await?;
    Ok(())
}

/// A statement's head.
pub struct StatementRow {
    pub id: i64,
    pub user_id: Option<i64>,
    pub member_email: Option<String>,
    pub month: Date,
    pub time_zone: String,
    pub period_start: OffsetDateTime,
    pub period_end: OffsetDateTime,
    pub closed_at: OffsetDateTime,
    pub usage_micros: i64,
    pub adjustments_micros: i64,
    /// `pending`, `done` or `failed`; `None`: no comparison.
    pub check_state: Option<String>,
    /// Whether the provider's total differs from the month's usage (a done comparison).
    pub check_differs: Option<bool>,
}

/// The org's statements (`members` false) or its members' (true; `user_id` Some: only that
/// member's own), newest month first; at most `limit`.
pub async fn list(
    db: impl PgExecutor<'_>,
    org_id: i64,
    members: bool,
    user_id: Option<i64>,
    limit: i64,
) -> Result<Vec<StatementRow>, sqlx::Error> {
    sqlx::query_as!(
        StatementRow,
        r#"SELECT s.id, s.user_id AS "user_id?", s.member_email AS "member_email?", s.month,
                  s.time_zone, s.period_start, s.period_end, s.closed_at,
                  coalesce((SELECT sum(micros) FROM statement_lines l WHERE l.statement_id = s.id), 0)::int8 AS "usage_micros!",
                  coalesce((SELECT sum(adjustment_micros) FROM statement_lines l WHERE l.statement_id = s.id), 0)::int8 AS "adjustments_micros!",
                  c.state AS "check_state?",
                  (SELECT p.micros <> coalesce((SELECT sum(micros) FROM statement_lines l WHERE l.statement_id = s.id), 0)
                   FROM statement_provider_lines p WHERE p.statement_id = s.id AND p.category = 'total') AS "check_differs?"
           FROM statements s LEFT JOIN statement_checks c ON c.statement_id = s.id
           WHERE s.org_id = $1 AND (s.user_id IS NOT NULL) = $2 AND ($3::int8 IS NULL OR s.user_id = $3)
           ORDER BY s.month DESC, s.member_email
           LIMIT $4"#,
        org_id,
        members,
        user_id,
        limit
    )
    .fetch_all(db)
    .await
}

/// Statement `id` of org `org_id` (`None` for another org's, or none).
pub async fn get(
    db: impl PgExecutor<'_>,
    org_id: i64,
    id: i64,
) -> Result<Option<StatementRow>, sqlx::Error> {
    sqlx::query_as!(
        StatementRow,
        r#"SELECT s.id, s.user_id AS "user_id?", s.member_email AS "member_email?", s.month,
                  s.time_zone, s.period_start, s.period_end, s.closed_at,
                  coalesce((SELECT sum(micros) FROM statement_lines l WHERE l.statement_id = s.id), 0)::int8 AS "usage_micros!",
                  coalesce((SELECT sum(adjustment_micros) FROM statement_lines l WHERE l.statement_id = s.id), 0)::int8 AS "adjustments_micros!",
                  c.state AS "check_state?",
                  (SELECT p.micros <> coalesce((SELECT sum(micros) FROM statement_lines l WHERE l.statement_id = s.id), 0)
                   FROM statement_provider_lines p WHERE p.statement_id = s.id AND p.category = 'total') AS "check_differs?"
           FROM statements s LEFT JOIN statement_checks c ON c.statement_id = s.id
           WHERE s.org_id = $1 AND s.id = $2"#,
        org_id,
        id
    )
    .fetch_optional(db)
    .await
}

pub struct LineRow {
    pub category: String,
    pub item_count: i64,
    pub usage: i64,
    pub micros: i64,
    pub adjustment_count: i64,
    pub adjustment_micros: i64,
    pub cache_hits: i64,
    pub saved_micros: i64,
}

/// The statement's lines, in the statements' category order.
pub async fn lines(db: impl PgExecutor<'_>, id: i64) -> Result<Vec<LineRow>, sqlx::Error> {
    sqlx::query_as!(
        LineRow,
        r#"SELECT category, item_count, usage, micros, adjustment_count, adjustment_micros,
                  cache_hits, saved_micros
           FROM statement_lines WHERE statement_id = $1
           ORDER BY array_position(ARRAY['numbers', 'calls', 'recordings', 'sms', 'lookups'], category)"#,
        id
    )
    .fetch_all(db)
    .await
}

pub struct AdjustmentRow {
    pub category: String,
    pub item: String,
    pub item_at: OffsetDateTime,
    pub was_micros: i64,
    pub micros: i64,
}

/// The statement's adjustments, oldest item first (at most `limit`).
pub async fn adjustments(
    db: impl PgExecutor<'_>,
    id: i64,
    limit: i64,
) -> Result<Vec<AdjustmentRow>, sqlx::Error> {
    sqlx::query_as!(
        AdjustmentRow,
        r#"SELECT category, item, item_at, was_micros, micros
           FROM statement_adjustments WHERE statement_id = $1 ORDER BY id LIMIT $2"#,
        id,
        limit
    )
    .fetch_all(db)
    .await
}

pub struct CheckRow {
    pub state: String,
    pub checked_at: Option<OffsetDateTime>,
    pub error: Option<String>,
}

pub async fn check(db: impl PgExecutor<'_>, id: i64) -> Result<Option<CheckRow>, sqlx::Error> {
    sqlx::query_as!(
        CheckRow,
        r#"SELECT state, checked_at, error FROM statement_checks WHERE statement_id = $1"#,
        id
    )
    .fetch_optional(db)
    .await
}

/// The provider's figures: (category, micros).
pub async fn provider_lines(
    db: impl PgExecutor<'_>,
    id: i64,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT category, micros FROM statement_provider_lines WHERE statement_id = $1"#,
        id
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.category, r.micros)).collect())
}

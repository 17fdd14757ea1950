//! The hourly limits: the configured limit, the (org, user) lock and the last hour's rows of a
//! user in one org.

use sqlx::{PgExecutor, Postgres, Transaction};

/// The `limits` table's per-hour figure for `item`, if one is set.
pub async fn per_hour(db: impl PgExecutor<'_>, item: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT per_hour::int8 AS \"n!\" FROM limits WHERE item = $1",
        item
    )
    .fetch_optional(db)
    .await
}

/// Takes the user's lock for `item` in the org until the transaction ends.
pub async fn lock_user(
    tx: &mut Transaction<'_, Postgres>,
    item: &str,
    org_id: i64,
    user_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended('limit:' || $1 || ':' || $2::int8 || ':' || $3::int8, 0))",
        item,
        org_id,
        user_id
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Numbers the user bought in the org in the last hour.
pub async fn purchases_last_hour(
    db: impl PgExecutor<'_>,
    (org_id, user_id): (i64, i64),
    limit: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM (
               SELECT 1 FROM owned_numbers
               WHERE org_id = $1 AND user_id = $2 AND created_at > now() - interval '1 hour'
               LIMIT $3) s"#,
        org_id,
        user_id,
        limit
    )
    .fetch_one(db)
    .await
}

/// Calls the user placed in the org in the last hour.
pub async fn calls_last_hour(
    db: impl PgExecutor<'_>,
    (org_id, user_id): (i64, i64),
    limit: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM (
               SELECT 1 FROM calls
               WHERE org_id = $1 AND user_id = $2 AND direction = 'outbound'
                                 AND created_at > now() - interval '1 hour'
               LIMIT $3) s"#,
        org_id,
        user_id,
        limit
    )
    .fetch_one(db)
    .await
}

/// Messages the user sent in the org in the last hour.
pub async fn messages_last_hour(
    db: impl PgExecutor<'_>,
    (org_id, user_id): (i64, i64),
    limit: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM (
               SELECT 1 FROM messages
               WHERE org_id = $1 AND user_id = $2 AND direction = 'outbound'
                                 AND created_at > now() - interval '1 hour'
               LIMIT $3) s"#,
        org_id,
        user_id,
        limit
    )
    .fetch_one(db)
    .await
}

/// Adds this send to the member's running figure for `item` (see `limit_windows`) when it is
/// still under `limit` and fresh: whether it was (false: count the hour's rows instead).
pub async fn bump_window(
    tx: &mut Transaction<'_, Postgres>,
    (item, org_id, user_id): (&str, i64, i64),
    limit: i64,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query!(
        r#"UPDATE limit_windows SET n = n + 1
           WHERE org_id = $1 AND user_id = $2 AND item = $3 AND n < $4
             AND since > now() - interval '2 hours'"#,
        org_id,
        user_id,
        item,
        limit
    )
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Starts the member's running figure for `item` over: `n` sends in the last hour, this one
/// among them.
pub async fn reset_window(
    tx: &mut Transaction<'_, Postgres>,
    (item, org_id, user_id): (&str, i64, i64),
    n: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO limit_windows (org_id, user_id, item, since, n)
           VALUES ($1, $2, $3, now() - interval '1 hour', $4)
           ON CONFLICT (org_id, user_id, item) DO UPDATE SET since = EXCLUDED.since, n = EXCLUDED.n"#,
        org_id,
        user_id,
        item,
        n
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

//! The hourly limits: the configured limit, the user's lock and the last hour's rows.

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

/// Takes the user's lock for `item` until the transaction ends.
pub async fn lock_user(
    tx: &mut Transaction<'_, Postgres>,
    item: &str,
    user_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended('limit:' || $1 || ':' || $2::int8, 0))",
        item,
        user_id
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Numbers the user bought in the last hour.
pub async fn purchases_last_hour(
    db: impl PgExecutor<'_>,
    user_id: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM owned_numbers
                       WHERE user_id = $1 AND created_at > now() - interval '1 hour'"#,
        user_id
    )
    .fetch_one(db)
    .await
}

/// Calls the user placed in the last hour.
pub async fn calls_last_hour(db: impl PgExecutor<'_>, user_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM calls
                       WHERE user_id = $1 AND direction = 'outbound' AND created_at > now() - interval '1 hour'"#,
        user_id
    )
    .fetch_one(db)
    .await
}

/// Messages the user sent in the last hour.
pub async fn messages_last_hour(db: impl PgExecutor<'_>, user_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM messages
                       WHERE user_id = $1 AND direction = 'outbound' AND created_at > now() - interval '1 hour'"#,
        user_id
    )
    .fetch_one(db)
    .await
}

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
    org_id: i64,
    user_id: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM owned_numbers
                       WHERE org_id = $1 AND user_id = $2 AND created_at > now() - interval '1 hour'"#,
        org_id,
        user_id
    )
    .fetch_one(db)
    .await
}

/// Calls the user placed in the org in the last hour.
pub async fn calls_last_hour(
    db: impl PgExecutor<'_>,
    org_id: i64,
    user_id: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM calls
                       WHERE org_id = $1 AND user_id = $2 AND direction = 'outbound'
                         AND created_at > now() - interval '1 hour'"#,
        org_id,
        user_id
    )
    .fetch_one(db)
    .await
}

/// Messages the user sent in the org in the last hour.
pub async fn messages_last_hour(
    db: impl PgExecutor<'_>,
    org_id: i64,
    user_id: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM messages
                       WHERE org_id = $1 AND user_id = $2 AND direction = 'outbound'
                         AND created_at > now() - interval '1 hour'"#,
        org_id,
        user_id
    )
    .fetch_one(db)
    .await
}

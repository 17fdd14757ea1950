//! The price list (`prices`: micro-dollars per item).

use sqlx::PgExecutor;

/// The price of `item`, if one is set.
pub async fn micros(db: impl PgExecutor<'_>, item: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!("SELECT micros FROM prices WHERE item = $1", item)
        .fetch_optional(db)
        .await
}

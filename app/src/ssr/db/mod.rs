//! Every SQL statement of the app, one module per feature, checked at compile time against the
//! migrated schema (`scripts/sql-layer.sh` fails on SQL outside this folder).

pub mod alerts;
pub mod api_keys;
pub mod audit;
pub mod budgets;
pub mod bulk_lookups;
pub mod call_blocks;
pub mod call_history;
pub mod calls;
pub mod compliance;
pub mod destinations;
pub mod invitations;
pub mod limits;
pub mod logins;
pub mod lookup_cache;
pub mod lookups;
pub mod notifications;
pub mod numbers;
pub mod opt_outs;
pub mod org_webhooks;
pub mod orgs;
pub mod phone_config;
pub mod prices;
pub mod quiet_hours;
pub mod requests;
pub mod sms;
pub mod staff;
pub mod statements;
pub mod usage;
pub mod users;

/// Whether the database answers (a trivial query).
pub async fn ping(db: impl sqlx::PgExecutor<'_>) -> Result<(), sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT 1 AS "one!""#)
        .fetch_one(db)
        .await
        .map(|_| ())
}

/// Serialises demo seeding across servers starting at once on one database (an advisory lock
/// held until the transaction ends).
pub async fn lock_for_seeding(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
) -> Result<(), sqlx::Error> {
    sqlx::query!("SELECT pg_advisory_xact_lock(727001)")
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// A transaction whose queries are planned for their actual parameters: the optional filters
/// (`$n IS NULL OR …`) then fold away and the matching index is used, however often the prepared
/// statement has run (a generic plan could not use it).
pub async fn custom_plans(
    pool: &sqlx::PgPool,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query!("SET LOCAL plan_cache_mode = force_custom_plan")
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

/// The newest migration applied to the database (None before any).
pub async fn latest_migration(db: impl sqlx::PgExecutor<'_>) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!("SELECT max(version) FROM _sqlx_migrations WHERE success")
        .fetch_one(db)
        .await
}

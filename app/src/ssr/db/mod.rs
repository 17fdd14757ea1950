//! Every SQL statement of the app, checked at compile time against the migrated schema.

pub mod audit;
pub mod cache;
pub mod call_history;
pub mod calls;
pub mod jobs;
pub mod limits;
pub mod logins;
pub mod lookups;
pub mod numbers;
pub mod orgs;
pub mod phone_config;
pub mod prices;
pub mod sms;
pub mod staff;
pub mod usage;
pub mod users;

/// Whether the database answers (a trivial query).
pub async fn ping(db: impl sqlx::PgExecutor<'_>) -> Result<(), sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT 1 AS "one!""#)
        .fetch_one(db)
        .await
        .map(|_| ())
}

//! An org's webhook endpoints (their secrets stay sealed: no statement here reads them) and the
//! delivery log of each. Every statement is scoped to the org.

use sqlx::PgExecutor;
use time::OffsetDateTime;

/// An endpoint as the pages and `/v1` list it.
pub struct WebhookRow {
    pub id: i64,
    pub url: String,
    pub active: bool,
    pub created_at: OffsetDateTime,
    pub created_by: Option<String>,
}

/// An endpoint to add, its secret sealed by the keyring.
pub struct NewWebhookRow<'a> {
    pub org_id: i64,
    pub url: &'a str,
    pub secret_key_id: &'a str,
    pub secret_nonce: &'a [u8],
    pub secret_ciphertext: &'a [u8],
    pub created_by: i64,
    pub at: OffsetDateTime,
}

/// Locks the org's row against another endpoint being added meanwhile (held until the
/// transaction ends) and counts its endpoints: the limit holds however many add at once.
pub async fn lock_and_count(tx: &mut sqlx::PgConnection, org_id: i64) -> Result<i64, sqlx::Error> {
    // NO KEY UPDATE: rows that reference the org (inserted elsewhere meanwhile) are not blocked.
    sqlx::query!(
        "SELECT id FROM orgs WHERE id = $1 FOR NO KEY UPDATE",
        org_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM org_webhooks WHERE org_id = $1"#,
        org_id
    )
    .fetch_one(&mut *tx)
    .await
}

pub async fn create(db: impl PgExecutor<'_>, w: &NewWebhookRow<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"INSERT INTO org_webhooks (org_id, url, secret_key_id, secret_nonce, secret_ciphertext,
                                     created_by, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id"#,
        w.org_id,
        w.url,
        w.secret_key_id,
        w.secret_nonce,
        w.secret_ciphertext,
        w.created_by,
        w.at
    )
    .fetch_one(db)
    .await
}

/// The org's endpoints, oldest first.
pub async fn list(db: impl PgExecutor<'_>, org_id: i64) -> Result<Vec<WebhookRow>, sqlx::Error> {
    sqlx::query_as!(
        WebhookRow,
        r#"SELECT w.id, w.url, w.active, w.created_at, u.email AS "created_by?"
           FROM org_webhooks w LEFT JOIN users u ON u.id = w.created_by
           WHERE w.org_id = $1
           ORDER BY w.id"#,
        org_id
    )
    .fetch_all(db)
    .await
}

/// One of the org's endpoints (another org's id: none).
pub async fn get(
    db: impl PgExecutor<'_>,
    org_id: i64,
    id: i64,
) -> Result<Option<WebhookRow>, sqlx::Error> {
    sqlx::query_as!(
        WebhookRow,
        r#"SELECT w.id, w.url, w.active, w.created_at, u.email AS "created_by?"
           FROM org_webhooks w LEFT JOIN users u ON u.id = w.created_by
           WHERE w.org_id = $1 AND w.id = $2"#,
        org_id,
        id
    )
    .fetch_optional(db)
    .await
}

/// Turns one of the org's endpoints on or off; whether it was found.
pub async fn set_active(
    db: impl PgExecutor<'_>,
    org_id: i64,
    id: i64,
    active: bool,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE org_webhooks SET active = $3 WHERE org_id = $1 AND id = $2",
        org_id,
        id,
        active
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes one of the org's endpoints (and its delivery log); its URL, if it was found.
pub async fn delete(
    db: impl PgExecutor<'_>,
    org_id: i64,
    id: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "DELETE FROM org_webhooks WHERE org_id = $1 AND id = $2 RETURNING url",
        org_id,
        id
    )
    .fetch_optional(db)
    .await
}

pub struct DeliveryRow {
    pub id: i64,
    pub event_id: String,
    pub event: String,
    pub state: String,
    pub attempts: i32,
    pub created_at: OffsetDateTime,
    pub last_status: Option<i32>,
    pub delivered_at: Option<OffsetDateTime>,
}

/// The newest `limit` deliveries to one of the org's endpoints, newest first.
pub async fn deliveries(
    db: impl PgExecutor<'_>,
    org_id: i64,
    webhook_id: i64,
    limit: i64,
) -> Result<Vec<DeliveryRow>, sqlx::Error> {
    sqlx::query_as!(
        DeliveryRow,
        r#"SELECT d.id, d.event_id, d.event, d.state, d.attempts, d.created_at, d.last_status,
                  d.delivered_at
           FROM webhook_deliveries d JOIN org_webhooks w ON w.id = d.webhook_id
           WHERE w.org_id = $1 AND d.webhook_id = $2
           ORDER BY d.id DESC
           LIMIT $3"#,
        org_id,
        webhook_id,
        limit
    )
    .fetch_all(db)
    .await
}

pub struct AttemptRow {
    pub delivery_id: i64,
    pub n: i32,
    pub at: OffsetDateTime,
    pub status: Option<i32>,
    pub error: Option<String>,
    pub body_excerpt: String,
}

/// The tries of these deliveries of one of the org's endpoints, in order.
pub async fn attempts(
    db: impl PgExecutor<'_>,
    org_id: i64,
    webhook_id: i64,
    delivery_ids: &[i64],
) -> Result<Vec<AttemptRow>, sqlx::Error> {
    sqlx::query_as!(
        AttemptRow,
        r#"SELECT a.delivery_id, a.n, a.at, a.status, a.error, a.body_excerpt
           FROM webhook_attempts a
           JOIN webhook_deliveries d ON d.id = a.delivery_id
           JOIN org_webhooks w ON w.id = d.webhook_id
           WHERE w.org_id = $1 AND d.webhook_id = $2 AND a.delivery_id = ANY($3::int8[])
           ORDER BY a.delivery_id, a.n"#,
        org_id,
        webhook_id,
        delivery_ids
    )
    .fetch_all(db)
    .await
}

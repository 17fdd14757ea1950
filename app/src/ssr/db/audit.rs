//! The audit log: logins, failed logins and every administrative change.

use serde_json::Value;
use sqlx::PgExecutor;

pub struct Entry<'a> {
    pub actor_id: Option<i64>,
    pub org_id: Option<i64>,
    pub action: &'a str,
    pub target: &'a str,
    pub details: Value,
    pub ip: Option<String>,
}

pub async fn record(db: impl PgExecutor<'_>, e: Entry<'_>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO audit_log (actor_id, org_id, action, target, details, ip)
         VALUES ($1, $2, $3, $4, $5, $6)",
        e.actor_id,
        e.org_id,
        e.action,
        e.target,
        e.details,
        e.ip
    )
    .execute(db)
    .await
    .map(|_| ())
}

/// A staff member looking at an org's page (`via`): one entry per page per 30 seconds, so a page
/// that refreshes itself while open does not flood the log.
pub async fn record_staff_view(
    db: impl PgExecutor<'_>,
    actor_id: i64,
    org_id: i64,
    target: &str,
    details: Value,
    ip: Option<String>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO audit_log (actor_id, org_id, action, target, details, ip)
           SELECT $1::int8, $2::int8, 'staff.viewed', $3::text, $4::jsonb, $5::text
           WHERE NOT EXISTS (
               SELECT 1 FROM audit_log
               WHERE org_id = $2 AND actor_id = $1 AND action = 'staff.viewed'
                 AND details->'via' IS NOT DISTINCT FROM $4::jsonb->'via'
                 AND created_at > now() - interval '30 seconds')"#,
        actor_id,
        org_id,
        target,
        details,
        ip
    )
    .execute(db)
    .await
    .map(|_| ())
}

/// Failed logins for one e-mail in the last 15 minutes, and seconds until the oldest leaves the window.
pub async fn recent_failed_logins(
    db: impl PgExecutor<'_>,
    email: &str,
) -> Result<(i64, i64), sqlx::Error> {
    let r = sqlx::query!(
        r#"SELECT count(*) AS "n!",
                  COALESCE(EXTRACT(EPOCH FROM (min(created_at) + interval '15 minutes' - now()))::bigint, 0) AS "wait!"
           FROM audit_log
           WHERE action = 'login.failed' AND target = $1 AND created_at > now() - interval '15 minutes'"#,
        email
    )
    .fetch_one(db)
    .await?;
    Ok((r.n, r.wait))
}

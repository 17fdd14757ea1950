//! The audit log: logins, failed logins and every administrative change.

use serde_json::Value;
use sqlx::PgExecutor;
use time::Date;

use crate::model::cursor::Cursor;

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

/// What the audit page filters by; `before`: the last entry already shown.
pub struct AuditQuery {
    pub org_id: Option<i64>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub from: Option<Date>,
    pub to: Option<Date>,
    pub before: Option<Cursor>,
}

pub struct ListRow {
    pub id: i64,
    pub action: String,
    pub target: String,
    pub details: Value,
    pub ip: String,
    pub actor: String,
    pub org: String,
    pub at: time::OffsetDateTime,
    pub micros: i64,
}

/// Entries newest first, after the keyset cursor.
pub async fn list(
    db: impl PgExecutor<'_>,
    q: &AuditQuery,
    limit: i64,
) -> Result<Vec<ListRow>, sqlx::Error> {
    let (bt, bi) = (q.before.map(|c| c.micros), q.before.map(|c| c.id));
    sqlx::query_as!(
        ListRow,
        r#"SELECT a.id, a.action, a.target, a.details, coalesce(a.ip, '') AS "ip!",
                  coalesce(u.email, 'system') AS "actor!", coalesce(o.name, '—') AS "org!",
                  a.created_at AS "at!",
                  ((extract(epoch FROM a.created_at) * 1000000)::int8) AS "micros!"
           FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id LEFT JOIN orgs o ON o.id = a.org_id
           WHERE ($1::int8 IS NULL OR a.org_id = $1)
             AND ($2::text IS NULL OR u.email LIKE '%' || $2 || '%')
             AND ($3::text IS NULL OR a.action = $3)
             AND ($4::date IS NULL OR a.created_at >= ($4::date)::timestamp AT TIME ZONE 'UTC')
             AND ($5::date IS NULL OR a.created_at < ($5::date + 1)::timestamp AT TIME ZONE 'UTC')
             AND ($6::int8 IS NULL OR (a.created_at, a.id) <
                  (timestamptz 'epoch' + $6 * interval '1 microsecond', $7::int8))
           ORDER BY a.created_at DESC, a.id DESC LIMIT $8"#,
        q.org_id,
        q.actor,
        q.action,
        q.from,
        q.to,
        bt,
        bi,
        limit
    )
    .fetch_all(db)
    .await
}

/// The actions that occur in the log (of one org, or all).
pub async fn actions(
    db: impl PgExecutor<'_>,
    org_id: Option<i64>,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT DISTINCT action FROM audit_log WHERE ($1::int8 IS NULL OR org_id = $1) ORDER BY action",
        org_id
    )
    .fetch_all(db)
    .await
}

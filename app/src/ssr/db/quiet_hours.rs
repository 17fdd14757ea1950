//! Quiet hours: the org's window, the moment a text to someone may go (`quiet_until` in the
//! migration), who may send urgent texts, and the scheduled texts (due, rescheduled, canceled).

use sqlx::PgExecutor;
use time::OffsetDateTime;

/// The org's saved window: (enabled, start minute, end minute); None: the default.
pub async fn settings(
    db: impl PgExecutor<'_>,
    org_id: i64,
) -> Result<Option<(bool, i32, i32)>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT enabled, start_minute, end_minute FROM quiet_hours WHERE org_id = $1",
        org_id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| (r.enabled, r.start_minute, r.end_minute)))
}

pub async fn save(
    db: impl PgExecutor<'_>,
    org_id: i64,
    (enabled, start, end): (bool, i32, i32),
    by: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO quiet_hours (org_id, enabled, start_minute, end_minute, updated_by, updated_at)
         VALUES ($1, $2, $3, $4, $5, now())
         ON CONFLICT (org_id) DO UPDATE SET enabled = EXCLUDED.enabled,
             start_minute = EXCLUDED.start_minute, end_minute = EXCLUDED.end_minute,
             updated_by = EXCLUDED.updated_by, updated_at = now()",
        org_id,
        enabled,
        start,
        end,
        by
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Texts of the org waiting for their recipient's window.
pub async fn scheduled_count(db: impl PgExecutor<'_>, org_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM messages WHERE org_id = $1 AND status = 'scheduled'"#,
        org_id
    )
    .fetch_one(db)
    .await
}

/// When a text to someone in `zones` (none: `country`'s zone, else the org's) may go: None at
/// `now`, else when their window opens.
pub async fn until(
    db: impl PgExecutor<'_>,
    org_id: i64,
    zones: &[&str],
    country: Option<&str>,
    now: OffsetDateTime,
) -> Result<Option<OffsetDateTime>, sqlx::Error> {
    let zones: Vec<String> = zones.iter().map(|z| z.to_string()).collect();
    sqlx::query_scalar!(
        "SELECT quiet_until($1, $2, $3, $4)",
        org_id,
        &zones,
        country,
        now
    )
    .fetch_one(db)
    .await
}

/// Whether an owner or admin let member `user_id` send urgent texts.
pub async fn urgent_allowed(
    db: impl PgExecutor<'_>,
    org_id: i64,
    user_id: i64,
) -> Result<bool, sqlx::Error> {
    let allowed = sqlx::query_scalar!(
        "SELECT may_send_urgent FROM memberships WHERE org_id = $1 AND user_id = $2",
        org_id,
        user_id
    )
    .fetch_optional(db)
    .await?;
    Ok(allowed.unwrap_or(false))
}

/// Sets member `user_id`'s permission; their e-mail, or None when they are not a member.
pub async fn set_urgent(
    db: impl PgExecutor<'_>,
    org_id: i64,
    user_id: i64,
    allowed: bool,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "UPDATE memberships m SET may_send_urgent = $3 FROM users u
         WHERE m.org_id = $1 AND m.user_id = $2 AND u.id = m.user_id
         RETURNING u.email",
        org_id,
        user_id,
        allowed
    )
    .fetch_optional(db)
    .await
}

/// Scheduled texts whose window has opened, earliest first.
pub async fn due(
    db: impl PgExecutor<'_>,
    now: OffsetDateTime,
    limit: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM messages WHERE status = 'scheduled' AND send_after <= $1
         ORDER BY send_after, id LIMIT $2",
        now,
        limit
    )
    .fetch_all(db)
    .await
}

/// Keeps text `id` (held or scheduled) for its recipient's window opening at `at`.
pub async fn reschedule(
    db: impl PgExecutor<'_>,
    id: i64,
    at: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE messages SET status = 'scheduled', send_after = $2, updated_at = now()
         WHERE id = $1 AND status IN ('held', 'scheduled')",
        id,
        at
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Cancels scheduled text `id` of the org (only `user_id`'s, when given): its conversation
/// (our number, the other party), or None when there is no such scheduled text.
pub async fn cancel(
    db: impl PgExecutor<'_>,
    org_id: i64,
    id: i64,
    user_id: Option<i64>,
    why: &str,
) -> Result<Option<(String, String)>, sqlx::Error> {
    let row = sqlx::query!(
        "UPDATE messages SET status = 'canceled', error_message = $4, updated_at = now()
         WHERE id = $2 AND org_id = $1 AND status = 'scheduled'
           AND ($3::int8 IS NULL OR user_id = $3)
         RETURNING our_e164, other_e164",
        org_id,
        id,
        user_id,
        why
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| (r.our_e164, r.other_e164)))
}

/// Asks scheduled text `id` again at `at` (it could not be sent now: no usable configuration).
pub async fn postpone(
    db: impl PgExecutor<'_>,
    id: i64,
    at: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE messages SET send_after = $2, updated_at = now()
         WHERE id = $1 AND status = 'scheduled'",
        id,
        at
    )
    .execute(db)
    .await?;
    Ok(())
}

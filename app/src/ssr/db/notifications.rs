//! Notifications as their reader sees them: every statement is scoped to one user in one org.

use sqlx::PgExecutor;
use time::OffsetDateTime;

pub struct NotificationRow {
    pub id: i64,
    pub title: String,
    pub body: String,
    pub link: String,
    pub created_at: OffsetDateTime,
    pub read_at: Option<OffsetDateTime>,
}

/// The user's newest `limit` notifications in the org, newest first.
pub async fn list(
    db: impl PgExecutor<'_>,
    user_id: i64,
    org_id: i64,
    limit: i64,
) -> Result<Vec<NotificationRow>, sqlx::Error> {
    sqlx::query_as!(
        NotificationRow,
        r#"SELECT id, title, body, link, created_at, read_at
           FROM notifications
           WHERE user_id = $1 AND org_id = $2
           ORDER BY created_at DESC, id DESC
           LIMIT $3"#,
        user_id,
        org_id,
        limit
    )
    .fetch_all(db)
    .await
}

/// How many of the user's notifications in the org are unread.
pub async fn unread_count(
    db: impl PgExecutor<'_>,
    user_id: i64,
    org_id: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM notifications
           WHERE user_id = $1 AND org_id = $2 AND read_at IS NULL"#,
        user_id,
        org_id
    )
    .fetch_one(db)
    .await
}

/// The nav's count: the user's unread notifications in the org with this slug, counted up to
/// `cap` (one read of the partial unread index, however many there are).
pub async fn unread_in_org(
    db: impl PgExecutor<'_>,
    user_id: i64,
    slug: &str,
    cap: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM (
               SELECT 1 FROM notifications
               WHERE user_id = $1 AND org_id = (SELECT id FROM orgs WHERE slug = $2)
                 AND read_at IS NULL
               LIMIT $3) unread"#,
        user_id,
        slug,
        cap
    )
    .fetch_one(db)
    .await
}

/// Marks every unread notification of the user in the org read at `now`; how many were.
pub async fn mark_all_read(
    db: impl PgExecutor<'_>,
    user_id: i64,
    org_id: i64,
    now: OffsetDateTime,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        r#"UPDATE notifications SET read_at = $3
           WHERE user_id = $1 AND org_id = $2 AND read_at IS NULL"#,
        user_id,
        org_id,
        now
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Marks one of the user's notifications in the org read at `now`: whether it was unread (false
/// also for one that is not theirs: see `exists`).
pub async fn mark_read(
    db: impl PgExecutor<'_>,
    user_id: i64,
    org_id: i64,
    id: i64,
    now: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"UPDATE notifications SET read_at = $4
           WHERE id = $3 AND user_id = $1 AND org_id = $2 AND read_at IS NULL"#,
        user_id,
        org_id,
        id,
        now
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether the notification `id` is the user's, in the org.
pub async fn exists(
    db: impl PgExecutor<'_>,
    user_id: i64,
    org_id: i64,
    id: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM notifications
                          WHERE id = $3 AND user_id = $1 AND org_id = $2) AS "found!""#,
        user_id,
        org_id,
        id
    )
    .fetch_one(db)
    .await
}

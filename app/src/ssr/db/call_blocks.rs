//! The call-blocking lists, the org's anonymous-caller setting, and the calls refused before
//! they rang.

use sqlx::{PgExecutor, Postgres, Transaction};
use time::OffsetDateTime;

/// An entry as stored, with who added it.
pub struct EntryRow {
    pub id: i64,
    pub list: String,
    pub pattern: String,
    pub is_prefix: bool,
    pub note: String,
    pub by: Option<String>,
    pub created_at: OffsetDateTime,
}

/// The list's entries, newest first, at most `limit`.
pub async fn entries(
    db: impl PgExecutor<'_>,
    org_id: i64,
    list: &str,
    limit: i64,
) -> Result<Vec<EntryRow>, sqlx::Error> {
    sqlx::query_as!(
        EntryRow,
        r#"SELECT b.id, b.list, b.pattern, b.is_prefix, b.note, u.email AS "by?", b.created_at
           FROM call_blocks b LEFT JOIN users u ON u.id = b.created_by
           WHERE b.org_id = $1 AND b.list = $2
           ORDER BY b.created_at DESC, b.id DESC
           LIMIT $3"#,
        org_id,
        list,
        limit
    )
    .fetch_all(db)
    .await
}

/// One entry of the org's.
pub async fn entry(
    db: impl PgExecutor<'_>,
    org_id: i64,
    id: i64,
) -> Result<Option<EntryRow>, sqlx::Error> {
    sqlx::query_as!(
        EntryRow,
        r#"SELECT b.id, b.list, b.pattern, b.is_prefix, b.note, u.email AS "by?", b.created_at
           FROM call_blocks b LEFT JOIN users u ON u.id = b.created_by
           WHERE b.org_id = $1 AND b.id = $2"#,
        org_id,
        id
    )
    .fetch_optional(db)
    .await
}

/// Serialises changes to one org's lists (the size check and the insert are one step).
pub async fn lock_org(tx: &mut Transaction<'_, Postgres>, org_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(727028, $1::int4)",
        org_id as i32
    )
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

pub async fn count(db: impl PgExecutor<'_>, org_id: i64, list: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM call_blocks WHERE org_id = $1 AND list = $2"#,
        org_id,
        list
    )
    .fetch_one(db)
    .await
}

/// An entry to add.
pub struct NewEntry<'a> {
    pub org_id: i64,
    pub list: &'a str,
    pub pattern: &'a str,
    pub is_prefix: bool,
    pub note: &'a str,
    pub by: i64,
    pub at: OffsetDateTime,
}

/// Adds the entry; `None` when the list already holds it.
pub async fn insert(db: impl PgExecutor<'_>, e: &NewEntry<'_>) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"INSERT INTO call_blocks (org_id, list, pattern, is_prefix, note, created_by, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT ON CONSTRAINT call_blocks_once DO NOTHING
           RETURNING id"#,
        e.org_id,
        e.list,
        e.pattern,
        e.is_prefix,
        e.note,
        e.by,
        e.at
    )
    .fetch_optional(db)
    .await
}

/// Removes the org's entry; whether there was one.
pub async fn delete(db: impl PgExecutor<'_>, org_id: i64, id: i64) -> Result<bool, sqlx::Error> {
    let r = sqlx::query!(
        "DELETE FROM call_blocks WHERE org_id = $1 AND id = $2",
        org_id,
        id
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected() > 0)
}

/// The entry of `list` that covers `e164`: the number itself before any prefix, then the longest
/// prefix.
pub struct Match {
    pub pattern: String,
    pub is_prefix: bool,
}

pub async fn matching(
    db: impl PgExecutor<'_>,
    org_id: i64,
    list: &str,
    e164: &str,
) -> Result<Option<Match>, sqlx::Error> {
    // Patterns are "+" and digits (a constraint), so LIKE sees no wildcard in them.
    sqlx::query_as!(
        Match,
        r#"SELECT pattern, is_prefix FROM call_blocks
           WHERE org_id = $1 AND list = $2
             AND ((NOT is_prefix AND pattern = $3) OR (is_prefix AND $3 LIKE pattern || '%'))
           ORDER BY is_prefix, length(pattern) DESC
           LIMIT 1"#,
        org_id,
        list,
        e164
    )
    .fetch_optional(db)
    .await
}

pub async fn blocks_anonymous(db: impl PgExecutor<'_>, org_id: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT block_anonymous_callers FROM orgs WHERE id = $1",
        org_id
    )
    .fetch_optional(db)
    .await
    .map(|b| b.unwrap_or(false))
}

pub async fn set_blocks_anonymous(
    db: impl PgExecutor<'_>,
    org_id: i64,
    on: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE orgs SET block_anonymous_callers = $2 WHERE id = $1",
        org_id,
        on
    )
    .execute(db)
    .await
    .map(|_| ())
}

/// A call refused before it rang.
pub struct BlockedRow {
    pub id: i64,
    pub from_e164: String,
    pub to_e164: String,
    pub blocked: String,
    pub created_at: OffsetDateTime,
}

/// The latest calls refused before they rang.
pub async fn recent_blocked(
    db: impl PgExecutor<'_>,
    org_id: i64,
    limit: i64,
) -> Result<Vec<BlockedRow>, sqlx::Error> {
    sqlx::query_as!(
        BlockedRow,
        r#"SELECT id, from_e164, to_e164, blocked AS "blocked!", created_at
           FROM calls WHERE org_id = $1 AND blocked IS NOT NULL
           ORDER BY created_at DESC LIMIT $2"#,
        org_id,
        limit
    )
    .fetch_all(db)
    .await
}

/// How many calls were refused since `since`.
pub async fn blocked_since(
    db: impl PgExecutor<'_>,
    org_id: i64,
    since: OffsetDateTime,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM calls
           WHERE org_id = $1 AND blocked IS NOT NULL AND created_at >= $2"#,
        org_id,
        since
    )
    .fetch_one(db)
    .await
}

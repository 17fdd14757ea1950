//! API keys: created, listed, found by their public id, revoked.

use sqlx::PgExecutor;
use time::OffsetDateTime;

pub struct NewKeyRow<'a> {
    pub org_id: i64,
    pub public_id: &'a str,
    pub key_sha256: &'a [u8],
    pub name: &'a str,
    pub scopes: &'a [String],
    pub acting_user_id: i64,
    pub created_by: i64,
}

pub async fn create(db: impl PgExecutor<'_>, k: NewKeyRow<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"INSERT INTO api_keys (org_id, public_id, key_sha256, name, scopes, acting_user_id, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id"#,
        k.org_id,
        k.public_id,
        k.key_sha256,
        k.name,
        k.scopes,
        k.acting_user_id,
        k.created_by
    )
    .fetch_one(db)
    .await
}

/// A key as the keys page lists it (never its secret).
pub struct ListedKey {
    pub id: i64,
    pub name: String,
    /// `phk_<public id>_…`.
    pub prefix: String,
    pub scopes: Vec<String>,
    pub acting_as: String,
    pub created_by: String,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}

pub async fn list(db: impl PgExecutor<'_>, org_id: i64) -> Result<Vec<ListedKey>, sqlx::Error> {
    sqlx::query_as!(
        ListedKey,
        r#"SELECT k.id, k.name, 'phk_' || k.public_id || '_…' AS "prefix!", k.scopes,
                  coalesce(a.email, 'deleted user') AS "acting_as!",
                  coalesce(c.email, 'deleted user') AS "created_by!",
                  k.created_at AS "created_at!", k.last_used_at AS "last_used_at?",
                  k.revoked_at AS "revoked_at?"
           FROM api_keys k
           LEFT JOIN users a ON a.id = k.acting_user_id
           LEFT JOIN users c ON c.id = k.created_by
           WHERE k.org_id = $1
           ORDER BY k.revoked_at IS NOT NULL, k.created_at DESC, k.id DESC"#,
        org_id
    )
    .fetch_all(db)
    .await
}

/// A key as `/v1` checks it.
pub struct StoredKey {
    pub id: i64,
    pub org_slug: String,
    pub key_sha256: Vec<u8>,
    pub scopes: Vec<String>,
    pub acting_user_id: i64,
    pub revoked: bool,
    /// The member it acts as still belongs to the org.
    pub member: bool,
    /// Whoever made it may still make it: it acts as them, or they still manage the org (or are
    /// a superadmin).
    pub creator_may: bool,
}

pub async fn by_public_id(
    db: impl PgExecutor<'_>,
    public_id: &str,
) -> Result<Option<StoredKey>, sqlx::Error> {
    sqlx::query_as!(
        StoredKey,
        r#"SELECT k.id, o.slug AS org_slug, k.key_sha256, k.scopes, k.acting_user_id,
                  k.revoked_at IS NOT NULL AS "revoked!",
                  EXISTS (SELECT 1 FROM memberships m
                          WHERE m.org_id = k.org_id AND m.user_id = k.acting_user_id) AS "member!",
                  (k.created_by = k.acting_user_id
                   OR EXISTS (SELECT 1 FROM users u WHERE u.id = k.created_by AND u.is_superadmin)
                   OR EXISTS (SELECT 1 FROM memberships m
                              WHERE m.org_id = k.org_id AND m.user_id = k.created_by
                                AND (m.role = 'owner'
                                     -- An admin's key for a member who has since become an
                                     -- owner is one the admin could not make today.
                                     OR (m.role = 'admin' AND NOT EXISTS (
                                           SELECT 1 FROM memberships a
                                           WHERE a.org_id = k.org_id
                                             AND a.user_id = k.acting_user_id
                                             AND a.role = 'owner')))))
                  IS TRUE AS "creator_may!"
           FROM api_keys k JOIN orgs o ON o.id = k.org_id
           WHERE k.public_id = $1"#,
        public_id
    )
    .fetch_optional(db)
    .await
}

/// Marks the key used; at most one write a minute per key.
pub async fn touch(db: impl PgExecutor<'_>, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE api_keys SET last_used_at = now()
           WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')"#,
        id
    )
    .execute(db)
    .await
    .map(|_| ())
}

/// Revokes the org's live keys that act as `user_id` or were made by them (they left the org or
/// were removed); the number revoked.
pub async fn revoke_for_member(
    db: impl PgExecutor<'_>,
    org_id: i64,
    user_id: i64,
    by: i64,
) -> Result<u64, sqlx::Error> {
    sqlx::query!(
        r#"UPDATE api_keys SET revoked_at = now(), revoked_by = $3
           WHERE org_id = $1 AND (acting_user_id = $2 OR created_by = $2) AND revoked_at IS NULL"#,
        org_id,
        user_id,
        by
    )
    .execute(db)
    .await
    .map(|r| r.rows_affected())
}

/// Live keys of the org (capped per org).
pub async fn live_count(db: impl PgExecutor<'_>, org_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM api_keys WHERE org_id = $1 AND revoked_at IS NULL"#,
        org_id
    )
    .fetch_one(db)
    .await
}

/// Revokes one of the org's keys; the key's name when it was live, `None` when there is no such
/// live key in this org.
pub async fn revoke(
    db: impl PgExecutor<'_>,
    org_id: i64,
    id: i64,
    by: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"UPDATE api_keys SET revoked_at = now(), revoked_by = $3
           WHERE org_id = $1 AND id = $2 AND revoked_at IS NULL RETURNING name"#,
        org_id,
        id,
        by
    )
    .fetch_optional(db)
    .await
}

/// The answer stored for a key's `Idempotency-Key`: the request's digest, status and body.
pub struct Stored {
    pub request_sha256: Vec<u8>,
    pub status: i16,
    pub body: serde_json::Value,
}

pub async fn idempotent_answer(
    db: impl PgExecutor<'_>,
    api_key_id: i64,
    idempotency_key: &str,
) -> Result<Option<Stored>, sqlx::Error> {
    sqlx::query_as!(
        Stored,
        r#"SELECT request_sha256, status, body FROM api_idempotency
           WHERE api_key_id = $1 AND idempotency_key = $2"#,
        api_key_id,
        idempotency_key
    )
    .fetch_optional(db)
    .await
}

/// Keeps the first answer given for the key (a concurrent duplicate's is dropped): `true` when
/// this one was kept.
pub async fn keep_answer(
    db: impl PgExecutor<'_>,
    api_key_id: i64,
    idempotency_key: &str,
    request_sha256: &[u8],
    status: i16,
    body: &serde_json::Value,
) -> Result<bool, sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO api_idempotency (api_key_id, idempotency_key, request_sha256, status, body)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING"#,
        api_key_id,
        idempotency_key,
        request_sha256,
        status,
        body
    )
    .execute(db)
    .await
    .map(|r| r.rows_affected() == 1)
}

/// The public ids of every live key (the rate limiter's list of keys that exist).
pub async fn live_public_ids(db: impl PgExecutor<'_>) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT public_id FROM api_keys WHERE revoked_at IS NULL"#)
        .fetch_all(db)
        .await
}

/// Whether the key with this public id exists and is not revoked.
pub async fn is_live(db: impl PgExecutor<'_>, public_id: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM api_keys WHERE public_id = $1 AND revoked_at IS NULL)
           AS "live!""#,
        public_id
    )
    .fetch_one(db)
    .await
}

/// Marks this server alive (registering it the first time) and answers how many servers are
/// alive, itself included; servers unseen for a day are forgotten.
pub async fn server_alive(db: impl PgExecutor<'_>, id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"WITH seen AS (
               INSERT INTO api_servers (id) VALUES ($1)
               ON CONFLICT (id) DO UPDATE SET seen_at = now()
               RETURNING id
           ), gone AS (
               DELETE FROM api_servers WHERE seen_at < now() - interval '1 day'
           )
           SELECT (SELECT count(*) FROM api_servers
                   WHERE seen_at > now() - interval '30 seconds' AND id <> $1) + 1 AS "n!""#,
        id
    )
    .fetch_one(db)
    .await
}

/// A server stopping takes its share back to the others at once.
pub async fn server_gone(db: impl PgExecutor<'_>, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(r#"DELETE FROM api_servers WHERE id = $1"#, id)
        .execute(db)
        .await
        .map(|_| ())
}

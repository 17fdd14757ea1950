//! Invitations to join an org. Expiry is judged against the database's `now()`.

use sqlx::PgExecutor;
use time::OffsetDateTime;

use crate::model::invitations::VALID_DAYS;
use crate::model::Role;

/// Marks the org's lapsed open invitation for `email` expired, so a new one can be made.
pub async fn expire_lapsed(
    db: impl PgExecutor<'_>,
    org_id: i64,
    email: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE invitations SET status = 'expired', decided_at = now()
         WHERE org_id = $1 AND email = $2 AND status = 'pending' AND expires_at <= now()",
        org_id,
        email
    )
    .execute(db)
    .await
    .map(|_| ())
}

/// Whether the org has an open, unexpired invitation for `email`.
pub async fn open_exists(
    db: impl PgExecutor<'_>,
    org_id: i64,
    email: &str,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM invitations
                          WHERE org_id = $1 AND email = $2 AND status = 'pending'
                            AND expires_at > now()) AS "open!""#,
        org_id,
        email
    )
    .fetch_one(db)
    .await
}

/// Invitations `user_id` sent for the org in the last hour.
pub async fn sent_last_hour(
    db: impl PgExecutor<'_>,
    org_id: i64,
    user_id: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM invitations
           WHERE org_id = $1 AND invited_by = $2 AND created_at > now() - interval '1 hour'"#,
        org_id,
        user_id
    )
    .fetch_one(db)
    .await
}

/// A new open invitation, valid for `VALID_DAYS`. Fails on `invitations_pending_key` when one is
/// open already.
pub async fn create(
    db: impl PgExecutor<'_>,
    org_id: i64,
    email: &str,
    role: Role,
    invited_by: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        "INSERT INTO invitations (org_id, email, role, invited_by, expires_at)
         VALUES ($1, $2, $3, $4, now() + make_interval(days => $5))
         RETURNING id",
        org_id,
        email,
        role.as_str(),
        invited_by,
        VALID_DAYS
    )
    .fetch_one(db)
    .await
}

/// An open invitation as the inviting org lists it.
pub struct OpenInvitation {
    pub id: i64,
    pub email: String,
    pub role: Role,
    pub expires_at: OffsetDateTime,
    /// Lapsed: it can no longer be accepted.
    pub expired: bool,
}

/// The org's open invitations (lapsed ones too, marked), oldest first.
pub async fn open_for_org(
    db: impl PgExecutor<'_>,
    org_id: i64,
) -> Result<Vec<OpenInvitation>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id, email, role, expires_at,
                  (expires_at <= now()) AS "expired!"
           FROM invitations
           WHERE org_id = $1 AND status = 'pending'
           ORDER BY created_at, id"#,
        org_id
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(OpenInvitation {
                id: r.id,
                email: r.email,
                role: r.role.parse().ok()?,
                expires_at: r.expires_at,
                expired: r.expired,
            })
        })
        .collect())
}

/// An invitation waiting for an address: the org's name and who sent it.
pub struct InvitationFor {
    pub id: i64,
    pub org_name: String,
    pub role: Role,
    /// The e-mail of whoever sent it (empty once their account is gone).
    pub invited_by: String,
    pub expires_at: OffsetDateTime,
}

/// The invitations `email` can still accept, oldest first.
pub async fn open_for_email(
    db: impl PgExecutor<'_>,
    email: &str,
) -> Result<Vec<InvitationFor>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT i.id, o.name AS "org_name!", i.role, coalesce(u.email, '') AS "invited_by!",
                  i.expires_at AS "expires_at!"
           FROM invitations i
           JOIN orgs o ON o.id = i.org_id
           LEFT JOIN users u ON u.id = i.invited_by
           WHERE i.email = $1 AND i.status = 'pending' AND i.expires_at > now()
           ORDER BY i.created_at, i.id"#,
        email
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(InvitationFor {
                id: r.id,
                org_name: r.org_name,
                role: r.role.parse().ok()?,
                invited_by: r.invited_by,
                expires_at: r.expires_at,
            })
        })
        .collect())
}

/// An invitation the invitee decided on, or an admin revoked.
pub struct Decided {
    pub org_id: i64,
    pub slug: String,
    pub email: String,
    pub role: Role,
}

fn decided(org_id: i64, slug: String, email: String, role: &str) -> Option<Decided> {
    Some(Decided {
        org_id,
        slug,
        email,
        role: role.parse().ok()?,
    })
}

/// Accepts invitation `id` if it is addressed to `email`, open and not lapsed (one statement:
/// two accepts at once cannot both pass). `None` otherwise.
pub async fn accept(
    db: impl PgExecutor<'_>,
    id: i64,
    email: &str,
) -> Result<Option<Decided>, sqlx::Error> {
    let r = sqlx::query!(
        r#"UPDATE invitations i SET status = 'accepted', decided_at = now()
           FROM orgs o
           WHERE i.id = $1 AND i.email = $2 AND i.status = 'pending' AND i.expires_at > now()
             AND o.id = i.org_id
             -- The inviter must still be able to invite with this role: an invitation sent by an
             -- admin who has since been removed or demoted is void.
             AND (EXISTS (SELECT 1 FROM users u WHERE u.id = i.invited_by AND u.is_superadmin)
                  OR EXISTS (SELECT 1 FROM memberships m
                             WHERE m.org_id = i.org_id AND m.user_id = i.invited_by
                               AND (m.role = 'owner'
                                    OR (m.role = 'admin' AND i.role <> 'owner'))))
           RETURNING i.org_id AS "org_id!", o.slug AS "slug!", i.email AS "email!", i.role AS "role!""#,
        id,
        email
    )
    .fetch_optional(db)
    .await?;
    Ok(r.and_then(|r| decided(r.org_id, r.slug, r.email, &r.role)))
}

/// Declines invitation `id` if it is addressed to `email` and open (lapsed or not).
pub async fn decline(
    db: impl PgExecutor<'_>,
    id: i64,
    email: &str,
) -> Result<Option<Decided>, sqlx::Error> {
    let r = sqlx::query!(
        r#"UPDATE invitations i SET status = 'declined', decided_at = now()
           FROM orgs o
           WHERE i.id = $1 AND i.email = $2 AND i.status = 'pending' AND o.id = i.org_id
           RETURNING i.org_id AS "org_id!", o.slug AS "slug!", i.email AS "email!", i.role AS "role!""#,
        id,
        email
    )
    .fetch_optional(db)
    .await?;
    Ok(r.and_then(|r| decided(r.org_id, r.slug, r.email, &r.role)))
}

/// Revokes the org's open invitation `id` (lapsed or not).
pub async fn revoke(
    db: impl PgExecutor<'_>,
    org_id: i64,
    id: i64,
) -> Result<Option<Decided>, sqlx::Error> {
    let r = sqlx::query!(
        r#"UPDATE invitations i SET status = 'revoked', decided_at = now()
           FROM orgs o
           WHERE i.id = $1 AND i.org_id = $2 AND i.status = 'pending' AND o.id = i.org_id
           RETURNING i.org_id AS "org_id!", o.slug AS "slug!", i.email AS "email!", i.role AS "role!""#,
        id,
        org_id
    )
    .fetch_optional(db)
    .await?;
    Ok(r.and_then(|r| decided(r.org_id, r.slug, r.email, &r.role)))
}

/// Whether invitation `id` to `email` is open but lapsed (why an accept found nothing to accept).
pub async fn lapsed(db: impl PgExecutor<'_>, id: i64, email: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM invitations
                          WHERE id = $1 AND email = $2 AND status = 'pending'
                            AND expires_at <= now()) AS "lapsed!""#,
        id,
        email
    )
    .fetch_one(db)
    .await
}

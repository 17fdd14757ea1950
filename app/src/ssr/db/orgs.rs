//! Orgs and memberships.

use sqlx::{PgExecutor, Postgres, Transaction};
use time::OffsetDateTime;

use crate::model::{OrgLink, Role};

#[derive(Debug, Clone)]
pub struct OrgRow {
    pub id: i64,
    pub slug: String,
    pub name: String,
    /// ISO 3166 alpha-2: the country national numbers typed in this org are read in.
    pub country: String,
}

pub async fn by_slug(db: impl PgExecutor<'_>, slug: &str) -> Result<Option<OrgRow>, sqlx::Error> {
    sqlx::query_as!(
        OrgRow,
        "SELECT id, slug, name, country FROM orgs WHERE slug = $1",
        slug
    )
    .fetch_optional(db)
    .await
}

pub async fn role_of(
    db: impl PgExecutor<'_>,
    org_id: i64,
    user_id: i64,
) -> Result<Option<Role>, sqlx::Error> {
    let role = sqlx::query_scalar!(
        "SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2",
        org_id,
        user_id
    )
    .fetch_optional(db)
    .await?;
    Ok(role.and_then(|r| r.parse().ok()))
}

pub async fn links_for_user(
    db: impl PgExecutor<'_>,
    user_id: i64,
) -> Result<Vec<OrgLink>, sqlx::Error> {
    sqlx::query_as!(
        OrgLink,
        "SELECT o.slug, o.name FROM orgs o JOIN memberships m ON m.org_id = o.id
         WHERE m.user_id = $1 ORDER BY o.name",
        user_id
    )
    .fetch_all(db)
    .await
}

pub async fn all_links(db: impl PgExecutor<'_>) -> Result<Vec<OrgLink>, sqlx::Error> {
    sqlx::query_as!(OrgLink, "SELECT slug, name FROM orgs ORDER BY name")
        .fetch_all(db)
        .await
}

/// An org as the superadmin's list shows it.
pub struct ListedOrg {
    pub slug: String,
    pub name: String,
    pub members: i64,
    pub created_at: OffsetDateTime,
}

pub async fn list(db: impl PgExecutor<'_>) -> Result<Vec<ListedOrg>, sqlx::Error> {
    sqlx::query_as!(
        ListedOrg,
        r#"SELECT o.slug, o.name,
                  (SELECT count(*) FROM memberships m WHERE m.org_id = o.id) AS "members!",
                  o.created_at AS "created_at!"
           FROM orgs o ORDER BY o.name"#
    )
    .fetch_all(db)
    .await
}

pub async fn create(db: impl PgExecutor<'_>, slug: &str, name: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        // A new org dials like the US (the column's default country) and keeps its periods in
        // that country's main time zone until its country changes.
        r#"INSERT INTO orgs (slug, name, time_zone)
           VALUES ($1, $2, coalesce((SELECT time_zone FROM country_time_zones WHERE country = 'US'), 'UTC'))
           RETURNING id"#,
        slug,
        name
    )
    .fetch_one(db)
    .await
}

pub struct RoleCounts {
    pub owners: i64,
    pub admins: i64,
    pub members: i64,
    pub created_at: OffsetDateTime,
}

pub async fn role_counts(db: impl PgExecutor<'_>, org_id: i64) -> Result<RoleCounts, sqlx::Error> {
    sqlx::query_as!(
        RoleCounts,
        r#"SELECT count(*) FILTER (WHERE m.role = 'owner') AS "owners!",
                  count(*) FILTER (WHERE m.role = 'admin') AS "admins!",
                  count(*) FILTER (WHERE m.role = 'member') AS "members!",
                  (SELECT created_at FROM orgs WHERE id = $1) AS "created_at!"
           FROM memberships m WHERE m.org_id = $1"#,
        org_id
    )
    .fetch_one(db)
    .await
}

/// A member of an org, with their role and since when.
pub struct Member {
    pub user_id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub joined_at: OffsetDateTime,
    pub may_send_urgent: bool,
}

pub async fn members(db: impl PgExecutor<'_>, org_id: i64) -> Result<Vec<Member>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT u.id, u.email, u.name, m.role, m.created_at AS "joined_at!", m.may_send_urgent
           FROM memberships m JOIN users u ON u.id = m.user_id
           WHERE m.org_id = $1
           ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END, u.email"#,
        org_id
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(Member {
                user_id: r.id,
                email: r.email,
                name: r.name,
                role: r.role.parse().ok()?,
                joined_at: r.joined_at,
                may_send_urgent: r.may_send_urgent,
            })
        })
        .collect())
}

/// Adds a membership; `false` when the user already belongs to the org.
pub async fn add_member(
    db: impl PgExecutor<'_>,
    org_id: i64,
    user_id: i64,
    role: Role,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query!(
        "INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, $3)
         ON CONFLICT (org_id, user_id) DO NOTHING",
        org_id,
        user_id,
        role.as_str()
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Locks the org's memberships for the rest of the transaction and returns the owners' ids,
/// so "the last owner stays" holds even when two admins act at once.
pub async fn lock_owners(
    tx: &mut Transaction<'_, Postgres>,
    org_id: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT user_id FROM memberships WHERE org_id = $1 AND role = 'owner' FOR UPDATE",
        org_id
    )
    .fetch_all(&mut **tx)
    .await
}

pub async fn set_role(
    db: impl PgExecutor<'_>,
    org_id: i64,
    user_id: i64,
    role: Role,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query!(
        "UPDATE memberships SET role = $3 WHERE org_id = $1 AND user_id = $2",
        org_id,
        user_id,
        role.as_str()
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn remove_member(
    db: impl PgExecutor<'_>,
    org_id: i64,
    user_id: i64,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query!(
        "DELETE FROM memberships WHERE org_id = $1 AND user_id = $2",
        org_id,
        user_id
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Sets the country the org's national numbers are read in.
pub async fn set_country(
    db: impl PgExecutor<'_>,
    org_id: i64,
    country: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        // The org's periods (budgets) follow its country's main time zone.
        r#"UPDATE orgs o SET country = $2,
                  time_zone = coalesce((SELECT time_zone FROM country_time_zones WHERE country = $2), o.time_zone)
           WHERE id = $1"#,
        org_id,
        country
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The time zones an org can be set to: every country's main zone, and UTC, sorted. The org form
/// offers these, and only these names are ever written to `orgs.time_zone` (every period query
/// reads it with `AT TIME ZONE`).
pub async fn time_zone_choices(db: impl PgExecutor<'_>) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT time_zone AS "time_zone!" FROM country_time_zones
           UNION SELECT 'UTC'
           ORDER BY 1"#
    )
    .fetch_all(db)
    .await
}

/// Sets the time zone the org's days and months follow (a name from `time_zone_choices`) and
/// answers the one it replaces; `None` when there is no such org.
pub async fn set_time_zone(
    db: impl PgExecutor<'_>,
    org_id: i64,
    time_zone: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        // Locked as it is read: the zone answered is the one this change replaces, even when two
        // owners change it at once.
        r#"WITH old AS (SELECT id, time_zone FROM orgs WHERE id = $1 FOR UPDATE)
           UPDATE orgs o SET time_zone = $2 FROM old WHERE o.id = old.id
           RETURNING old.time_zone AS "from!""#,
        org_id,
        time_zone
    )
    .fetch_optional(db)
    .await
}

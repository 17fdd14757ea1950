//! The support console's reads: every org with this month's figures, and users by name or email.

use sqlx::PgExecutor;

use crate::model::lookup::money;
use crate::model::usage::{StaffOrgRow, StaffUserRow};

/// Every org (or those matching `q`) with this month's figures, for the support console.
pub async fn orgs(db: impl PgExecutor<'_>, q: &str) -> Result<Vec<StaffOrgRow>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT o.slug, o.name,
                  (SELECT count(*) FROM memberships m WHERE m.org_id = o.id) AS "members!",
                  (SELECT count(*) FROM owned_numbers n WHERE n.org_id = o.id AND n.status IN ('active', 'releasing')) AS "numbers!",
                  (SELECT count(*) FROM calls c WHERE c.org_id = o.id AND c.created_at >= date_trunc('month', now())) AS "calls!",
                  (SELECT count(*) FROM messages s WHERE s.org_id = o.id AND s.created_at >= date_trunc('month', now())) AS "sms!",
                  (SELECT coalesce(sum(requests), 0)::int8 FROM lookup_daily l WHERE l.org_id = o.id
                      AND l.day >= date_trunc('month', now() AT TIME ZONE 'UTC')::date) AS "lookups!",
                  (SELECT coalesce(sum(micros), 0)::int8 FROM usage_daily d WHERE d.org_id = o.id
                      AND d.day >= date_trunc('month', now() AT TIME ZONE 'UTC')::date) AS "spend!"
           FROM orgs o
           WHERE $1 = '' OR o.name ILIKE '%' || $1 || '%' OR o.slug ILIKE '%' || $1 || '%'
           ORDER BY o.name LIMIT 200"#,
        q
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| StaffOrgRow {
            slug: r.slug,
            name: r.name,
            members: r.members,
            numbers: r.numbers,
            calls: r.calls,
            sms: r.sms,
            lookups: r.lookups,
            spend: money(r.spend),
        })
        .collect())
}

/// Users whose email or name contains `q` (none for an empty `q`).
pub async fn users(db: impl PgExecutor<'_>, q: &str) -> Result<Vec<StaffUserRow>, sqlx::Error> {
    if q.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query!(
        r#"SELECT u.email, u.name,
                  coalesce(string_agg(o.name || ' (' || m.role || ')', ', ' ORDER BY o.name), '') AS "orgs!"
           FROM users u LEFT JOIN memberships m ON m.user_id = u.id LEFT JOIN orgs o ON o.id = m.org_id
           WHERE u.email ILIKE '%' || $1 || '%' OR u.name ILIKE '%' || $1 || '%'
           GROUP BY u.id ORDER BY u.email LIMIT 100"#,
        q
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| StaffUserRow {
            email: r.email,
            name: r.name,
            orgs: r.orgs,
        })
        .collect())
}

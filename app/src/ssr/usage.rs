//! Spend from the usage ledger (`usage_daily`, kept by triggers on calls, messages, lookup events
//! and number charges), idle numbers, the audit log and the support console's figures.

use sqlx::PgPool;
use time::Date;

use crate::model::lookup::money;
use crate::model::usage::*;

pub async fn report(
    pool: &PgPool,
    org_id: i64,
    from: Date,
    to: Date,
) -> Result<UsageReport, sqlx::Error> {
    let cats = sqlx::query!(
        r#"SELECT category, sum(quantity)::int8 AS "q!", sum(micros)::int8 AS "m!"
           FROM usage_daily WHERE org_id = $1 AND day BETWEEN $2 AND $3 GROUP BY category"#,
        org_id,
        from,
        to
    )
    .fetch_all(pool)
    .await?;
    let categories: Vec<CategoryTotal> = CATEGORIES
        .iter()
        .map(|(c, _, _)| {
            let row = cats.iter().find(|r| r.category == *c);
            let (q, m) = row.map(|r| (r.q, r.m)).unwrap_or((0, 0));
            CategoryTotal {
                category: c.to_string(),
                quantity: q,
                micros: m,
                amount: money(m),
            }
        })
        .collect();
    let total_micros: i64 = categories.iter().map(|c| c.micros).sum();
    let by_user = sqlx::query!(
        r#"SELECT coalesce(u.email, 'No user') AS "label!", sum(d.micros)::int8 AS "m!"
           FROM usage_daily d LEFT JOIN users u ON u.id = d.user_id
           WHERE d.org_id = $1 AND d.day BETWEEN $2 AND $3
           GROUP BY 1 HAVING sum(d.micros) <> 0 ORDER BY 2 DESC LIMIT 50"#,
        org_id,
        from,
        to
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| SpendRow {
        label: r.label,
        amount: money(r.m),
        micros: r.m,
    })
    .collect();
    let by_number = sqlx::query!(
        r#"SELECT coalesce(n.e164, 'No number (lookups, org sender)') AS "label!", sum(d.micros)::int8 AS "m!"
           FROM usage_daily d LEFT JOIN owned_numbers n ON n.id = d.number_id
           WHERE d.org_id = $1 AND d.day BETWEEN $2 AND $3
           GROUP BY 1 HAVING sum(d.micros) <> 0 ORDER BY 2 DESC LIMIT 50"#,
        org_id,
        from,
        to
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| SpendRow { label: r.label, amount: money(r.m), micros: r.m })
    .collect();
    let daily = sqlx::query!(
        r#"SELECT day, category, sum(micros)::int8 AS "m!" FROM usage_daily
           WHERE org_id = $1 AND day BETWEEN $2 AND $3 GROUP BY 1, 2 ORDER BY 1"#,
        org_id,
        from,
        to
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| (r.day, r.category, r.m))
    .collect::<Vec<_>>();
    let f = time::macros::format_description!("[year]-[month]-[day]");
    Ok(UsageReport {
        from: from.format(&f).unwrap_or_default(),
        to: to.format(&f).unwrap_or_default(),
        total: money(total_micros),
        total_micros,
        categories,
        by_user,
        by_number,
        chart_svg: chart(from, to, &daily),
        idle: idle_numbers(pool, org_id).await?,
    })
}

/// Numbers paid for with no call or SMS in 30 days (and held at least that long).
pub async fn idle_numbers(pool: &PgPool, org_id: i64) -> Result<Vec<IdleNumber>, sqlx::Error> {
    Ok(sqlx::query!(
        r#"SELECT n.id, n.e164, coalesce(u.email, '—') AS "owner!", n.monthly_price_micros
           FROM owned_numbers n LEFT JOIN users u ON u.id = n.user_id
           WHERE n.org_id = $1 AND n.status = 'active'
             AND coalesce(n.purchased_at, n.created_at) < now() - interval '30 days'
             AND NOT EXISTS (SELECT 1 FROM calls c WHERE c.number_id = n.id AND c.created_at > now() - interval '30 days')
             AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.number_id = n.id AND m.created_at > now() - interval '30 days')
           ORDER BY n.e164"#,
        org_id
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| IdleNumber { id: r.id, e164: r.e164, owner: r.owner, monthly: money(r.monthly_price_micros) })
    .collect())
}

/// The ledger rows of a range as CSV: day, category, user, number, quantity, amount.
pub async fn csv(pool: &PgPool, org_id: i64, from: Date, to: Date) -> Result<String, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT to_char(d.day, 'YYYY-MM-DD') AS "day!", d.category, coalesce(u.email, '') AS "user!",
                  coalesce(n.e164, '') AS "number!", d.quantity, d.micros
           FROM usage_daily d LEFT JOIN users u ON u.id = d.user_id
                LEFT JOIN owned_numbers n ON n.id = d.number_id
           WHERE d.org_id = $1 AND d.day BETWEEN $2 AND $3 AND (d.micros <> 0 OR d.quantity <> 0)
           ORDER BY d.day, d.category, 3, 4"#,
        org_id,
        from,
        to
    )
    .fetch_all(pool)
    .await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "day",
        "category",
        "user",
        "number",
        "quantity",
        "amount_usd",
    ]);
    for r in rows {
        let amount = format!(
            "{}.{:06}",
            r.micros / 1_000_000,
            (r.micros % 1_000_000).abs()
        );
        let _ = w.write_record([
            r.day.as_str(),
            &r.category,
            &super::jobs::csv_safe(&r.user),
            &r.number,
            &r.quantity.to_string(),
            &amount,
        ]);
    }
    Ok(String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default())
}

/// Spend per day, stacked by category (each area is the running total up to its category).
fn chart(from: Date, to: Date, daily: &[(Date, String, i64)]) -> String {
    use charts_rs::{Box as Padding, LineChart, Series};
    let mut labels = Vec::new();
    let mut per_cat: Vec<Vec<f32>> = vec![Vec::new(); CATEGORIES.len()];
    let mut d = from;
    while d <= to {
        labels.push(format!("{}", d.day()));
        let mut running = 0f32;
        for (i, (c, _, _)) in CATEGORIES.iter().enumerate() {
            let m: i64 = daily
                .iter()
                .filter(|x| x.0 == d && x.1 == *c)
                .map(|x| x.2)
                .sum();
            running += m as f32 / 1_000_000.0;
            per_cat[i].push(running);
        }
        match d.next_day() {
            Some(n) => d = n,
            None => break,
        }
    }
    const SHORT: [&str; 5] = ["Numbers", "Calls", "Recordings", "Lookups", "SMS"];
    // Drawn top layer first so each lower band shows over it.
    let colors = ["#64748b", "#4f46e5", "#0d9488", "#d97706", "#db2777"];
    let mut series = Vec::new();
    let mut series_colors = Vec::new();
    for i in (0..CATEGORIES.len()).rev() {
        series.push(Series::new(SHORT[i].into(), per_cat[i].clone()));
        series_colors.push(colors[i].into());
    }
    let mut chart = LineChart::new(series, labels);
    chart.series_fill = true;
    chart.series_smooth = false;
    chart.series_symbol = None;
    chart.width = 900.0;
    chart.height = 320.0;
    chart.margin = Padding {
        left: 10.0,
        top: 10.0,
        right: 10.0,
        bottom: 10.0,
    };
    chart.series_colors = series_colors;
    chart.svg().unwrap_or_else(|e| {
        tracing::warn!(error = %e, "chart rendering failed");
        String::new()
    })
}

pub struct AuditQuery {
    pub org_id: Option<i64>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub from: Option<Date>,
    pub to: Option<Date>,
    pub before: Option<(i64, i64)>,
}

/// Audit entries, newest first, after the keyset cursor; returns rows and each row's cursor.
pub async fn audit(
    pool: &PgPool,
    q: &AuditQuery,
    limit: i64,
) -> Result<Vec<(AuditRow, String)>, sqlx::Error> {
    let (bt, bi) = match q.before {
        Some((t, i)) => (Some(t), Some(i)),
        None => (None, None),
    };
    let mut tx = super::calls::custom_plans(pool).await?;
    let rows = sqlx::query!(
        r#"SELECT a.id, a.action, a.target, a.details, coalesce(a.ip, '') AS "ip!",
                  coalesce(u.email, 'system') AS "actor!", coalesce(o.name, '—') AS "org!",
                  to_char(a.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS "at!",
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
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let details = match &r.details {
                serde_json::Value::Object(m) if m.is_empty() => String::new(),
                other => other.to_string(),
            };
            (
                AuditRow {
                    id: r.id,
                    at: format!("{} UTC", r.at),
                    actor: r.actor,
                    org: r.org,
                    action: r.action,
                    target: r.target,
                    details,
                    ip: r.ip,
                },
                format!("{}.{}", r.micros, r.id),
            )
        })
        .collect())
}

pub async fn audit_actions(pool: &PgPool, org_id: Option<i64>) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT DISTINCT action FROM audit_log WHERE ($1::int8 IS NULL OR org_id = $1) ORDER BY action",
        org_id
    )
    .fetch_all(pool)
    .await
}

/// Every org (or those matching `q`) with this month's figures, for the support console.
pub async fn staff_orgs(pool: &PgPool, q: &str) -> Result<Vec<StaffOrgRow>, sqlx::Error> {
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
    .fetch_all(pool)
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

pub async fn staff_users(pool: &PgPool, q: &str) -> Result<Vec<StaffUserRow>, sqlx::Error> {
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
    .fetch_all(pool)
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

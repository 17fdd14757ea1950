//! The usage ledger (`usage_daily`, kept by triggers on calls, messages, lookup events and number
//! charges): spend by category, user, number and day; idle numbers; the ledger as rows.

use sqlx::PgExecutor;
use time::Date;

use crate::model::lookup::money;
use crate::model::usage::{IdleNumber, SpendRow};

/// One category's totals over a range.
pub struct CategorySpend {
    /// The ledger's category (one of `model::usage::CATEGORIES`).
    pub category: String,
    /// How many units were charged (number-months, minutes, paid lookups or segments).
    pub quantity: i64,
    /// What they cost, in micro-dollars.
    pub micros: i64,
}

/// Quantity and micro-dollars per category in the range.
pub async fn by_category(
    db: impl PgExecutor<'_>,
    org_id: i64,
    from: Date,
    to: Date,
) -> Result<Vec<CategorySpend>, sqlx::Error> {
    sqlx::query!(
        r#"SELECT category, sum(quantity)::int8 AS "q!", sum(micros)::int8 AS "m!"
           FROM usage_daily WHERE org_id = $1 AND day BETWEEN $2 AND $3 GROUP BY category"#,
        org_id,
        from,
        to
    )
    .fetch_all(db)
    .await
    .map(|rows| {
        rows.into_iter()
            .map(|r| CategorySpend {
                category: r.category,
                quantity: r.q,
                micros: r.m,
            })
            .collect()
    })
}

/// The 50 biggest spenders in the range.
pub async fn by_user(
    db: impl PgExecutor<'_>,
    org_id: i64,
    from: Date,
    to: Date,
) -> Result<Vec<SpendRow>, sqlx::Error> {
    Ok(sqlx::query!(
        r#"SELECT coalesce(u.email, 'No user') AS "label!", sum(d.micros)::int8 AS "m!"
           FROM usage_daily d LEFT JOIN users u ON u.id = d.user_id
           WHERE d.org_id = $1 AND d.day BETWEEN $2 AND $3
           GROUP BY 1 HAVING sum(d.micros) <> 0 ORDER BY 2 DESC LIMIT 50"#,
        org_id,
        from,
        to
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|r| SpendRow {
        label: r.label,
        amount: money(r.m),
        micros: r.m,
    })
    .collect())
}

/// The 50 most expensive numbers in the range.
pub async fn by_number(
    db: impl PgExecutor<'_>,
    org_id: i64,
    from: Date,
    to: Date,
) -> Result<Vec<SpendRow>, sqlx::Error> {
    Ok(sqlx::query!(
        r#"SELECT coalesce(n.e164, 'No number (lookups, org sender)') AS "label!", sum(d.micros)::int8 AS "m!"
           FROM usage_daily d LEFT JOIN owned_numbers n ON n.id = d.number_id
           WHERE d.org_id = $1 AND d.day BETWEEN $2 AND $3
           GROUP BY 1 HAVING sum(d.micros) <> 0 ORDER BY 2 DESC LIMIT 50"#,
        org_id,
        from,
        to
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|r| SpendRow { label: r.label, amount: money(r.m), micros: r.m })
    .collect())
}

/// One category's spend on one day.
pub struct DaySpend {
    pub day: Date,
    /// The ledger's category (one of `model::usage::CATEGORIES`).
    pub category: String,
    /// What it cost, in micro-dollars.
    pub micros: i64,
}

/// Micro-dollars per day and category.
pub async fn daily(
    db: impl PgExecutor<'_>,
    org_id: i64,
    from: Date,
    to: Date,
) -> Result<Vec<DaySpend>, sqlx::Error> {
    Ok(sqlx::query!(
        r#"SELECT day, category, sum(micros)::int8 AS "m!" FROM usage_daily
           WHERE org_id = $1 AND day BETWEEN $2 AND $3 GROUP BY 1, 2 ORDER BY 1"#,
        org_id,
        from,
        to
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|r| DaySpend {
        day: r.day,
        category: r.category,
        micros: r.m,
    })
    .collect())
}

/// Numbers paid for with no call or SMS in 30 days (and held at least that long).
pub async fn idle_numbers(
    db: impl PgExecutor<'_>,
    org_id: i64,
) -> Result<Vec<IdleNumber>, sqlx::Error> {
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
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|r| IdleNumber { id: r.id, e164: r.e164, owner: r.owner, monthly: money(r.monthly_price_micros) })
    .collect())
}

/// One ledger row with its user's and number's names.
pub struct LedgerRow {
    pub day: Date,
    pub category: String,
    pub user: String,
    pub number: String,
    pub quantity: i64,
    pub micros: i64,
}

/// The ledger rows of a range with something in them, by day, category, user and number.
pub async fn ledger(
    db: impl PgExecutor<'_>,
    org_id: i64,
    from: Date,
    to: Date,
) -> Result<Vec<LedgerRow>, sqlx::Error> {
    sqlx::query_as!(
        LedgerRow,
        r#"SELECT d.day, d.category, coalesce(u.email, '') AS "user!",
                  coalesce(n.e164, '') AS "number!", d.quantity, d.micros
           FROM usage_daily d LEFT JOIN users u ON u.id = d.user_id
                LEFT JOIN owned_numbers n ON n.id = d.number_id
           WHERE d.org_id = $1 AND d.day BETWEEN $2 AND $3 AND (d.micros <> 0 OR d.quantity <> 0)
           ORDER BY d.day, d.category, 3, 4"#,
        org_id,
        from,
        to
    )
    .fetch_all(db)
    .await
}

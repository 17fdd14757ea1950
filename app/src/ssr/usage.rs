//! Spend from the usage ledger with its chart and CSV, and the audit log's pages.

use sqlx::PgPool;
use time::Date;

use super::db::{audit, usage};
use crate::model::cursor::Cursor;
use crate::model::lookup::money;
use crate::model::usage::*;
pub use audit::AuditQuery;

pub async fn report(
    pool: &PgPool,
    org_id: i64,
    from: Date,
    to: Date,
) -> Result<UsageReport, sqlx::Error> {
    let cats = usage::by_category(pool, org_id, from, to).await?;
    let categories: Vec<CategoryTotal> = CATEGORIES
        .iter()
        .map(|(c, _, _)| {
            let row = cats.iter().find(|r| r.0 == *c);
            let (q, m) = row.map(|r| (r.1, r.2)).unwrap_or((0, 0));
            CategoryTotal {
                category: c.to_string(),
                quantity: q,
                micros: m,
                amount: money(m),
            }
        })
        .collect();
    let total_micros: i64 = categories.iter().map(|c| c.micros).sum();
    let daily = usage::daily(pool, org_id, from, to).await?;
    let f = time::macros::format_description!("[year]-[month]-[day]");
    Ok(UsageReport {
        from: from.format(&f).unwrap_or_default(),
        to: to.format(&f).unwrap_or_default(),
        total: money(total_micros),
        total_micros,
        categories,
        by_user: usage::by_user(pool, org_id, from, to).await?,
        by_number: usage::by_number(pool, org_id, from, to).await?,
        chart_svg: super::charts::spend(from, to, &daily),
        idle: usage::idle_numbers(pool, org_id).await?,
    })
}

/// The ledger rows of a range as CSV: day, category, user, number, quantity, amount.
pub async fn csv(pool: &PgPool, org_id: i64, from: Date, to: Date) -> Result<String, sqlx::Error> {
    let rows = usage::ledger(pool, org_id, from, to).await?;
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

/// Audit entries, newest first, after the keyset cursor; returns rows and each row's cursor.
pub async fn audit(
    pool: &PgPool,
    q: &AuditQuery,
    limit: i64,
) -> Result<Vec<(AuditRow, Cursor)>, sqlx::Error> {
    let mut tx = super::db::custom_plans(pool).await?;
    let rows = audit::list(&mut *tx, q, limit).await?;
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
                Cursor {
                    micros: r.micros,
                    id: r.id,
                },
            )
        })
        .collect())
}

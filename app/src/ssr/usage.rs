//! Spend from the usage ledger with its chart and CSV, and the audit log's pages.

use sqlx::PgPool;
use time::Date;

use super::db::{audit, usage};
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
        chart_svg: chart(from, to, &daily),
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

/// Audit entries, newest first, after the keyset cursor; returns rows and each row's cursor.
pub async fn audit(
    pool: &PgPool,
    q: &AuditQuery,
    limit: i64,
) -> Result<Vec<(AuditRow, String)>, sqlx::Error> {
    let mut tx = super::calls::custom_plans(pool).await?;
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
                format!("{}.{}", r.micros, r.id),
            )
        })
        .collect())
}

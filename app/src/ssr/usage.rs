//! Spend from the usage ledger with its chart and CSV, and the audit log's pages.

use sqlx::PgPool;
use time::Date;

use super::db::{audit, usage};
use super::format;
use super::guard::OrgCtx;
use super::AppState;
use crate::error::AppError;
use crate::model::cursor::Cursor;
use crate::model::lookup::money;
use crate::model::usage::*;
pub use audit::AuditQuery;

/// The org's spend page from `from` to `to` (dates as typed; see `date_range` for the defaults).
/// The org's owners, admins and staff only.
pub async fn page(
    ctx: &OrgCtx,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<UsagePageData, AppError> {
    if !ctx.sees_all() {
        return Err(AppError::Forbidden(
            "Only the org's owners and admins can see its spend.".into(),
        ));
    }
    let (from, to) = crate::model::dates::date_range(from, to)?;
    // Figures pages read events the batching writer may still hold.
    ctx.state.events.flush_for_page().await;
    let report = report(&ctx.state.pool, ctx.org_id, from, to).await?;
    Ok(UsagePageData {
        org: ctx.view(),
        report,
    })
}

/// Whose audit log is read: one org's, by a caller of the org, or everyone's, by support staff or
/// the superadmin (the caller checked that).
pub enum AuditOf<'a> {
    Org(&'a OrgCtx),
    Everything(&'a AppState),
}

/// A page of the audit log (50 entries, newest first) as `params` (a URL query: actor, action,
/// from, to, before) filter it, with the cursor of the next page and the actions to filter by.
/// An org's log: its owners, admins and staff only.
pub async fn audit_page(of: AuditOf<'_>, params: &str) -> Result<AuditPageData, AppError> {
    let (org_view, org_id, state) = match of {
        AuditOf::Everything(state) => (None, None, state),
        AuditOf::Org(ctx) => {
            if !ctx.sees_all() {
                return Err(AppError::Forbidden(
                    "Only the org's owners and admins can read its audit log.".into(),
                ));
            }
            (Some(ctx.view()), Some(ctx.org_id), &ctx.state)
        }
    };
    let pairs = crate::model::query_pairs(params);
    let val = |k: &str| crate::model::query_value(&pairs, k);
    let date = |field: &str| crate::model::dates::parse_date(field, Some(&val(field)));
    let (actor, action) = (val("actor"), val("action"));
    if actor.chars().count() > 254 || action.chars().count() > 64 {
        return Err(AppError::validation("actor", "That filter is too long."));
    }
    let before = match val("before") {
        b if b.is_empty() => None,
        b => Some(b.parse::<Cursor>()?),
    };
    let q = AuditQuery {
        org_id,
        actor: (!actor.is_empty()).then(|| actor.to_lowercase()),
        action: (!action.is_empty()).then(|| action.clone()),
        from: date("from")?,
        to: date("to")?,
        before,
    };
    let mut rows = audit(&state.pool, &q, 51).await?;
    let next = (rows.len() > 50).then(|| {
        rows.truncate(50);
        rows.last().map(|r| r.1.to_string()).unwrap_or_default()
    });
    Ok(AuditPageData {
        org: org_view,
        from: val("from"),
        to: val("to"),
        actor,
        action,
        rows: rows.into_iter().map(|r| r.0).collect(),
        next,
        actions: audit::actions(&state.pool, org_id).await?,
    })
}

/// The org's spend from `from` to `to`: by category, by day (the chart), by member and by
/// number, and the numbers it pays for that went unused.
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
            let row = cats.iter().find(|r| r.category == *c);
            let (q, m) = row.map(|r| (r.quantity, r.micros)).unwrap_or((0, 0));
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
            format::date(r.day).as_str(),
            &r.category,
            &super::bulk_lookups::csv_safe(&r.user),
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
                    at: format::utc_second(r.at),
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

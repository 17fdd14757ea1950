//! Monthly statements: closed by the money worker once a month of the org's time zone is over (the
//! org's and one per member, in one transaction; never changed afterwards), compared with the
//! provider's usage records for orgs on their own Twilio account, and read by the statements
//! pages, their CSV and `/v1/statements`.
//!
//! Who sees what: owners, admins and support staff every statement of the org; a member only
//! their own.

use time::Date;

use super::db;
use super::db::statements::StatementRow;
use super::format;
use super::guard::OrgCtx;
use super::AppState;
use crate::error::AppError;
use crate::model::phone_config::ProviderKind;
use crate::model::statements::{
    category_label, usage_unit, CheckLine, Statement, StatementAdjustment, StatementCheck,
    StatementLine, StatementSummary, StatementsPage, CATEGORIES,
};

/// Org months closed per round of the worker.
const CLOSE_BATCH: i64 = 20;
/// Provider comparisons tried per round.
const CHECK_BATCH: i64 = 5;
/// Tries of a comparison before it is given up.
const CHECK_TRIES: i32 = 5;
/// The most org statements a list shows (20 years).
const ORG_LIST_LIMIT: i64 = 240;
/// The most members' statements a list shows (newest months first).
const LIST_LIMIT: i64 = 2000;
/// The most adjustments a statement page lists (the CSV and the totals have them all).
pub const PAGE_ADJUSTMENTS: i64 = 1000;

/// Closes statements and compares them with the provider every second until the server stops:
/// a task of its own, so a slow provider never delays alerts or mail.
pub fn spawn_statements_worker(
    state: AppState,
    mut stop: super::shutdown::StopSignal,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            stop.pause(std::time::Duration::from_secs(1)).await;
            if stop.stopping() {
                return;
            }
            if let Err(e) = close_due(&state).await {
                tracing::warn!(error = %e, "closing statements failed");
            }
            if let Err(e) = check_due(&state).await {
                tracing::warn!(error = %e, "comparing statements with usage records failed");
            }
        }
    })
}

/// Closes every org month that is over (a batch per call, those due longest first: an org behind
/// by several months catches up over a few rounds). One org's close that fails is logged and
/// tried again in an hour; the others go on. Returns how many org statements were closed.
pub async fn close_due(state: &AppState) -> Result<usize, sqlx::Error> {
    let now = state.clock.now();
    let due = db::statements::due(&state.pool, now, CLOSE_BATCH).await?;
    let mut closed = 0;
    for d in due {
        match close_one(state, &d, now).await {
            Ok(true) => {
                tracing::info!(org = d.org_id, month = %d.month, "statement closed");
                closed += 1;
            }
            Ok(false) => {}
            Err(e) => {
                tracing::error!(org = d.org_id, month = %d.month, error = %e, "closing a statement failed");
                db::statements::postpone_close(
                    &state.pool,
                    d.org_id,
                    now + time::Duration::hours(1),
                )
                .await?;
            }
        }
    }
    Ok(closed)
}

/// Closes one org month and queues its comparison; false when another server closed it first.
async fn close_one(
    state: &AppState,
    d: &db::statements::Due,
    now: time::OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let mut tx = state.pool.begin().await?;
    let Some(id) = db::statements::close(&mut tx, d.org_id, d.month, now).await? else {
        return Ok(false);
    };
    // Orgs on their own Twilio account are compared with its usage records.
    if let Some(cfg) = db::phone_config::effective(&mut *tx, d.org_id).await? {
        if cfg.org_id == Some(d.org_id)
            && matches!(cfg.provider, ProviderKind::Twilio | ProviderKind::Sandbox)
            && !cfg.test_mode
        {
            db::statements::queue_check(&mut *tx, id, cfg.id, now).await?;
        }
    }
    tx.commit().await?;
    Ok(true)
}

/// The last day of the month `month` starts.
fn month_end(month: Date) -> Date {
    let next = if month.month() == time::Month::December {
        Date::from_calendar_date(month.year() + 1, time::Month::January, 1)
    } else {
        Date::from_calendar_date(month.year(), month.month().next(), 1)
    };
    next.ok().and_then(Date::previous_day).unwrap_or(month)
}

/// Our category for a provider's usage category (Twilio's names); `None`: one we do not compare.
fn our_category(provider_category: &str) -> Option<&'static str> {
    match provider_category {
        "phonenumbers" => Some("numbers"),
        "calls" => Some("calls"),
        "recordings" => Some("recordings"),
        "sms" => Some("sms"),
        "lookups" => Some("lookups"),
        "totalprice" => Some("total"),
        _ => None,
    }
}

/// The wait before the try after `attempts` failed ones; `None`: give up.
fn check_backoff(attempts: i32) -> Option<time::Duration> {
    match attempts {
        ..=1 => Some(time::Duration::minutes(1)),
        2 => Some(time::Duration::minutes(5)),
        3 => Some(time::Duration::minutes(30)),
        a if a < CHECK_TRIES => Some(time::Duration::hours(2)),
        _ => None,
    }
}

/// Reads the provider's usage records of the due comparisons. Returns how many were recorded.
pub async fn check_due(state: &AppState) -> Result<usize, sqlx::Error> {
    let now = state.clock.now();
    let claimed = db::statements::claim_checks(&state.pool, now, CHECK_BATCH).await?;
    let mut done = 0;
    for c in claimed {
        let records =
            match super::org_provider::provider_for_config(state, c.config_id, c.org_id).await {
                Ok((_, p)) => match p.usage() {
                    Ok(u) => u
                        .usage_records(c.month, month_end(c.month))
                        .await
                        .map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                },
                Err(e) => Err(e.to_string()),
            };
        match records {
            Ok(records) => {
                let mut lines: Vec<(String, i64, i64)> = Vec::new();
                for r in records {
                    if let Some(cat) = our_category(&r.category) {
                        if let Some(l) = lines.iter_mut().find(|l| l.0 == cat) {
                            l.1 = l.1.saturating_add(r.count);
                            l.2 = l.2.saturating_add(r.price_micros);
                        } else {
                            lines.push((cat.to_string(), r.count, r.price_micros));
                        }
                    }
                }
                let mut tx = state.pool.begin().await?;
                db::statements::record_check(&mut tx, c.statement_id, &lines, now).await?;
                tx.commit().await?;
                done += 1;
            }
            Err(error) => {
                tracing::warn!(statement = c.statement_id, %error, "reading usage records failed");
                let next = check_backoff(c.attempts).map(|d| now + d);
                db::statements::check_failed(&state.pool, c.statement_id, &error, next).await?;
            }
        }
    }
    Ok(done)
}

/// "December 2026".
fn month_label(month: Date) -> String {
    format!("{} {}", month.month(), month.year())
}

/// A comparison's state for lists: `pending`, `matches`, `differs` or `failed`.
fn check_label(state: Option<&str>, differs: Option<bool>) -> Option<String> {
    Some(
        match (state?, differs) {
            // No total from the provider is not a match.
            ("done", Some(false)) => "matches",
            ("done", _) => "differs",
            ("failed", _) => "failed",
            _ => "pending",
        }
        .to_string(),
    )
}

fn summary(r: StatementRow) -> StatementSummary {
    StatementSummary {
        id: r.id,
        month: format::date(r.month),
        month_label: month_label(r.month),
        member: r.member_email,
        total_micros: r.usage_micros + r.adjustments_micros,
        adjustments_micros: r.adjustments_micros,
        check: check_label(r.check_state.as_deref(), r.check_differs),
    }
}

/// The statements the caller sees: the org's and every member's (owners, admins, support), else
/// their own; the org's and the members' each up to their own limit, so neither crowds out the
/// other.
pub async fn list(ctx: &OrgCtx) -> Result<Vec<StatementSummary>, AppError> {
    let pool = &ctx.state.pool;
    let mut rows = if ctx.sees_all() {
        db::statements::list(pool, ctx.org_id, false, None, ORG_LIST_LIMIT).await?
    } else {
        Vec::new()
    };
    rows.extend(
        db::statements::list(pool, ctx.org_id, true, ctx.own_rows_only(), LIST_LIMIT).await?,
    );
    Ok(rows.into_iter().map(summary).collect())
}

/// The statements page's data.
pub async fn page(ctx: &OrgCtx) -> Result<StatementsPage, AppError> {
    let all = list(ctx).await?;
    let (org_statements, member_statements) = all.into_iter().partition(|s| s.member.is_none());
    let time_zone = db::budgets::time_zone(&ctx.state.pool, ctx.org_id).await?;
    Ok(StatementsPage {
        org: ctx.view(),
        sees_all: ctx.sees_all(),
        org_statements,
        member_statements,
        time_zone,
    })
}

/// Statement `id`, when the caller may see it (another org's, or another member's for a member,
/// is not found: nothing tells them it exists).
pub async fn get(ctx: &OrgCtx, id: i64, adjustments_limit: i64) -> Result<Statement, AppError> {
    let pool = &ctx.state.pool;
    let row = db::statements::get(pool, ctx.org_id, id)
        .await?
        .filter(|r| ctx.sees_all() || r.user_id == Some(ctx.user.id))
        .ok_or(AppError::NotFound)?;
    let lines: Vec<StatementLine> = db::statements::lines(pool, id)
        .await?
        .into_iter()
        .map(|l| StatementLine {
            category: l.category,
            item_count: l.item_count,
            usage: l.usage,
            micros: l.micros,
            adjustment_count: l.adjustment_count,
            adjustment_micros: l.adjustment_micros,
            cache_hits: l.cache_hits,
            saved_micros: l.saved_micros,
        })
        .collect();
    let adjustments = db::statements::adjustments(pool, id, adjustments_limit)
        .await?
        .into_iter()
        .map(|a| StatementAdjustment {
            category: a.category,
            item: a.item,
            item_at: format::rfc3339(a.item_at),
            was_micros: a.was_micros,
            micros: a.micros,
        })
        .collect();
    let check = match db::statements::check(pool, id).await? {
        None => None,
        Some(c) => {
            let provider = db::statements::provider_lines(pool, id).await?;
            let theirs = |cat: &str| {
                provider
                    .iter()
                    .find(|(c, _)| c == cat)
                    .map_or(0, |(_, m)| *m)
            };
            let mut check_lines: Vec<CheckLine> = CATEGORIES
                .iter()
                .map(|cat| CheckLine {
                    category: (*cat).to_string(),
                    ours_micros: lines
                        .iter()
                        .find(|l| l.category == *cat)
                        .map_or(0, |l| l.micros),
                    provider_micros: theirs(cat),
                })
                .collect();
            check_lines.push(CheckLine {
                category: "total".into(),
                ours_micros: row.usage_micros,
                provider_micros: theirs("total"),
            });
            let state = match c.state.as_str() {
                "done" if check_lines.iter().any(|l| l.difference_micros() != 0) => "differs",
                "done" => "matches",
                s => s,
            };
            Some(StatementCheck {
                state: state.to_string(),
                checked_at: c.checked_at.map(format::rfc3339),
                error: c.error,
                lines: if c.state == "done" {
                    check_lines
                } else {
                    Vec::new()
                },
            })
        }
    };
    Ok(Statement {
        id: row.id,
        org_name: ctx.name.clone(),
        month: format::date(row.month),
        month_label: month_label(row.month),
        member: row.member_email,
        time_zone: row.time_zone,
        period_start: format::rfc3339(row.period_start),
        period_end: format::rfc3339(row.period_end),
        closed_at: format::rfc3339(row.closed_at),
        lines,
        adjustments,
        check,
    })
}

/// Micro-dollars as CSV writes them ("-0.008500").
fn decimal(micros: i64) -> String {
    crate::model::money::Money::from_micros(micros).decimal()
}

/// The statement as CSV: one row per category, the adjustments, the total, and the provider's
/// figures when compared; with the file name to save it under.
pub async fn csv(ctx: &OrgCtx, id: i64) -> Result<(String, String), AppError> {
    let s = get(ctx, id, i64::MAX).await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let safe = super::bulk_lookups::csv_safe;
    let who = s.member.clone().unwrap_or_else(|| "whole org".into());
    let mut rows: Vec<Vec<String>> = vec![vec![
        "section".into(),
        "category".into(),
        "item".into(),
        "when".into(),
        "count".into(),
        "usage".into(),
        "unit".into(),
        "amount_usd".into(),
    ]];
    for l in &s.lines {
        rows.push(vec![
            "usage".into(),
            l.category.clone(),
            category_label(&l.category).into(),
            s.month.clone(),
            l.item_count.to_string(),
            l.usage.to_string(),
            usage_unit(&l.category).into(),
            decimal(l.micros),
        ]);
        if l.category == "lookups" {
            rows.push(vec![
                "saved_by_cache".into(),
                l.category.clone(),
                "Answered from the cache".into(),
                s.month.clone(),
                l.cache_hits.to_string(),
                l.cache_hits.to_string(),
                "lookups".into(),
                decimal(l.saved_micros),
            ]);
        }
    }
    for a in &s.adjustments {
        rows.push(vec![
            "adjustment".into(),
            a.category.clone(),
            safe(&a.item),
            a.item_at.clone(),
            "1".into(),
            String::new(),
            String::new(),
            decimal(a.delta_micros()),
        ]);
    }
    rows.push(vec![
        "total".into(),
        String::new(),
        safe(&format!("{} – {}", s.month_label, who)),
        s.month.clone(),
        String::new(),
        String::new(),
        String::new(),
        decimal(s.total_micros()),
    ]);
    if let Some(c) = &s.check {
        for l in &c.lines {
            rows.push(vec![
                "provider".into(),
                l.category.clone(),
                category_label(&l.category).into(),
                s.month.clone(),
                String::new(),
                String::new(),
                String::new(),
                decimal(l.provider_micros),
            ]);
        }
    }
    for r in rows {
        w.write_record(&r).map_err(|_| AppError::Internal)?;
    }
    let body = String::from_utf8(w.into_inner().map_err(|_| AppError::Internal)?)
        .map_err(|_| AppError::Internal)?;
    let who_file = match &s.member {
        Some(_) => format!("member-{}", s.id),
        None => "org".into(),
    };
    Ok((
        format!("statement-{}-{}-{who_file}.csv", ctx.slug, &s.month[..7]),
        body,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_end_on_their_last_day() {
        let d = |y, m, day| Date::from_calendar_date(y, m, day).unwrap();
        assert_eq!(
            month_end(d(2026, time::Month::December, 1)),
            d(2026, time::Month::December, 31)
        );
        assert_eq!(
            month_end(d(2028, time::Month::February, 1)),
            d(2028, time::Month::February, 29)
        );
        assert_eq!(
            month_end(d(2026, time::Month::April, 1)),
            d(2026, time::Month::April, 30)
        );
    }

    #[test]
    fn comparisons_are_retried_then_given_up() {
        assert_eq!(check_backoff(1), Some(time::Duration::minutes(1)));
        assert_eq!(check_backoff(4), Some(time::Duration::hours(2)));
        assert_eq!(check_backoff(CHECK_TRIES), None);
    }

    #[test]
    fn provider_categories_map_to_ours() {
        assert_eq!(our_category("phonenumbers"), Some("numbers"));
        assert_eq!(our_category("totalprice"), Some("total"));
        assert_eq!(our_category("calls-inbound"), None);
    }
}

//! Budgets: the use cases of the budgets page and `/v1/budgets` (see them with this period's
//! figures, set one, delete one, grant one extra room for this period), on the record; and the
//! budgets that cover the viewer, for the dashboard. Periods are read at the app's clock.

use time::macros::format_description;
use time::Date;

use super::db::{self, budgets::BudgetRow};
use super::guard::OrgCtx;
use crate::error::AppError;
use crate::model::budgets::{
    parse_category, parse_period, parse_reason, percent_used, remaining, BudgetCategory,
    BudgetPeriod, BudgetView, BudgetsPage, OverrideView,
};
use crate::model::money::{parse_dollars, Money};
use crate::model::parse_email;

/// The budgets page: the budgets the caller sees (owners, admins and staff every one; a member
/// the org-wide ones and their own), and for those who set budgets the members to choose from.
pub async fn page(ctx: &OrgCtx) -> Result<BudgetsPage, AppError> {
    let pool = &ctx.state.pool;
    let budgets = list(ctx).await?;
    let can_manage = ctx.access.can_manage();
    let members = if can_manage {
        super::members::rows(pool, ctx.org_id)
            .await?
            .into_iter()
            .map(|m| (m.user_id, m.email))
            .collect()
    } else {
        Vec::new()
    };
    let time_zone = db::budgets::time_zone(pool, ctx.org_id).await?;
    let overrides = overrides(ctx, &budgets).await?;
    Ok(BudgetsPage {
        org: ctx.view(),
        budgets,
        can_manage,
        members,
        time_zone,
        overrides,
    })
}

/// The overrides granted in this period of the budgets in `shown` (those the caller sees),
/// newest first.
async fn overrides(ctx: &OrgCtx, shown: &[BudgetView]) -> Result<Vec<OverrideView>, AppError> {
    let now = ctx.state.clock.now();
    let rows = db::budgets::overrides(&ctx.state.pool, ctx.org_id, now).await?;
    Ok(rows
        .into_iter()
        .filter(|o| shown.iter().any(|b| b.id == o.budget_id))
        .map(|o| OverrideView {
            budget_id: o.budget_id,
            extra: Money::from_micros(o.extra_micros).to_string(),
            extra_micros: o.extra_micros,
            reason: o.reason,
            granted_by: o.granted_by,
            granted_at: super::format::utc_minute(o.granted_at),
        })
        .collect())
}

/// The budgets that cover what the viewer spends here, org-wide first: the org's own and theirs,
/// with the figures of the period now. Support staff spend nothing in an org: none.
pub async fn covering(ctx: &OrgCtx) -> Result<Vec<BudgetView>, AppError> {
    if ctx.access.read_only() {
        return Ok(Vec::new());
    }
    let now = ctx.state.clock.now();
    let rows = db::budgets::list(&ctx.state.pool, ctx.org_id, Some(ctx.user.id), now).await?;
    rows.into_iter().map(view).collect()
}

/// The budgets the caller sees, org-wide first, with the figures of the period now.
pub async fn list(ctx: &OrgCtx) -> Result<Vec<BudgetView>, AppError> {
    let now = ctx.state.clock.now();
    let rows = db::budgets::list(&ctx.state.pool, ctx.org_id, ctx.own_rows_only(), now).await?;
    rows.into_iter().map(view).collect()
}

/// One budget the caller sees; another member's (for a member), another org's or none: not found.
pub async fn get(ctx: &OrgCtx, id: i64) -> Result<BudgetView, AppError> {
    let now = ctx.state.clock.now();
    db::budgets::get(&ctx.state.pool, ctx.org_id, id, now)
        .await?
        .filter(|r| visible(ctx, r))
        .ok_or(AppError::NotFound)
        .and_then(view)
}

/// The visibility rule of every list: a member sees the org-wide budgets and their own.
fn visible(ctx: &OrgCtx, r: &BudgetRow) -> bool {
    match (ctx.own_rows_only(), r.user_id) {
        (Some(me), Some(whose)) => me == whose,
        _ => true,
    }
}

/// A budget as typed (the page's form, `/v1`'s body): the member (their e-mail, or user id;
/// absent or empty for the whole org), the category (absent or empty for everything), the period
/// (`day` or `month`), the amount in dollars and whether it is a hard cap.
#[derive(Debug, Clone, Default)]
pub struct BudgetInput {
    pub member: Option<String>,
    pub category: Option<String>,
    pub period: String,
    pub amount: String,
    pub hard_cap: bool,
}

/// Sets a budget (owners and admins): creates it, or changes the amount and kind of the one with
/// the same member, category and period; on the record. Returns it and whether it was created.
/// Bad input names its field and writes nothing.
pub async fn save(ctx: &OrgCtx, input: BudgetInput) -> Result<(BudgetView, bool), AppError> {
    ctx.must_manage()?;
    let category = parse_category("category", input.category.as_deref())?;
    let period = parse_period("period", &input.period)?;
    let amount = parse_dollars("amount", &input.amount)?;
    let member = member_of(ctx, input.member.as_deref()).await?;
    let now = ctx.state.clock.now();
    let mut tx = ctx.state.pool.begin().await?;
    let new = db::budgets::NewBudget {
        org_id: ctx.org_id,
        user_id: member.as_ref().map(|(id, _)| *id),
        category: category.map(BudgetCategory::as_str),
        period: period.as_str(),
        amount_micros: amount.micros(),
        hard_cap: input.hard_cap,
        by: ctx.user.id,
    };
    let (id, created) = db::budgets::save(&mut tx, &new, now).await?;
    let action = if created {
        "budget.created"
    } else {
        "budget.saved"
    };
    let details = serde_json::json!({
        "budget": id,
        "scope": {
            "member": member.as_ref().map(|(_, email)| email),
            "member_id": new.user_id,
            "category": new.category,
            "period": new.period,
        },
        "amount_micros": new.amount_micros,
        "hard_cap": new.hard_cap,
    });
    ctx.audit(&mut *tx, action, &id.to_string(), details)
        .await?;
    let row = db::budgets::get(&mut *tx, ctx.org_id, id, now)
        .await?
        .ok_or(AppError::Internal)?;
    tx.commit().await?;
    Ok((view(row)?, created))
}

/// Deletes one of the org's budgets (owners and admins), on the record; another org's id, or
/// none, is not found.
pub async fn delete(ctx: &OrgCtx, id: i64) -> Result<(), AppError> {
    ctx.must_manage()?;
    let now = ctx.state.clock.now();
    let mut tx = ctx.state.pool.begin().await?;
    let Some(row) = db::budgets::get(&mut *tx, ctx.org_id, id, now).await? else {
        return Err(AppError::NotFound);
    };
    if !db::budgets::delete(&mut *tx, ctx.org_id, id).await? {
        return Err(AppError::NotFound);
    }
    let details = serde_json::json!({
        "budget": id,
        "scope": {
            "member": row.user_email,
            "member_id": row.user_id,
            "category": row.category,
            "period": row.period,
        },
        "amount_micros": row.amount_micros,
        "hard_cap": row.hard_cap,
    });
    ctx.audit(&mut *tx, "budget.deleted", &id.to_string(), details)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Grants one of the org's budgets `amount` dollars of extra room in its current period (owners
/// and admins), saying why, on the record; returns the budget with its new figures. The amount is
/// more than $0 and at most $1,000,000, the reason 1 to 500 characters. Bad input names its field
/// and writes nothing; another org's budget, or none, is not found.
pub async fn grant_override(
    ctx: &OrgCtx,
    budget_id: i64,
    amount: &str,
    reason: &str,
) -> Result<BudgetView, AppError> {
    ctx.must_manage()?;
    let extra = parse_dollars("extra", amount)?;
    if extra.micros() <= 0 {
        return Err(AppError::validation(
            "extra",
            "Grant more than $0: type an amount like 5 or 12.50.",
        ));
    }
    let reason = parse_reason("reason", reason)?;
    let now = ctx.state.clock.now();
    let mut tx = ctx.state.pool.begin().await?;
    let grant = db::budgets::NewOverride {
        org_id: ctx.org_id,
        budget_id,
        extra_micros: extra.micros(),
        reason: &reason,
        by: ctx.user.id,
    };
    let Some(period_start) = db::budgets::grant_override(&mut tx, &grant, now).await? else {
        return Err(AppError::NotFound);
    };
    let details = serde_json::json!({
        "budget": budget_id,
        "extra_micros": grant.extra_micros,
        "reason": reason,
        "period_start": super::format::date(period_start),
    });
    ctx.audit(&mut *tx, "budget.override", &budget_id.to_string(), details)
        .await?;
    let row = db::budgets::get(&mut *tx, ctx.org_id, budget_id, now)
        .await?
        .ok_or(AppError::Internal)?;
    tx.commit().await?;
    view(row)
}

/// The member a budget is for, as typed (an e-mail or a user id): (user id, e-mail), None for
/// the whole org. Anyone who is not a member of this org is the same error, whether or not they
/// have an account.
async fn member_of(ctx: &OrgCtx, raw: Option<&str>) -> Result<Option<(i64, String)>, AppError> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let pool = &ctx.state.pool;
    let user = match raw.parse::<i64>() {
        Ok(id) => db::users::by_id(pool, id).await?,
        Err(_) => db::users::by_email(pool, &parse_email("member", raw)?).await?,
    };
    if let Some(u) = user {
        if db::orgs::role_of(pool, ctx.org_id, u.id).await?.is_some() {
            return Ok(Some((u.id, u.email)));
        }
    }
    Err(AppError::validation(
        "member",
        format!("Choose a member of {}, or the whole org.", ctx.name),
    ))
}

/// A budget's row as the pages and `/v1` show it.
pub(super) fn view(r: BudgetRow) -> Result<BudgetView, AppError> {
    let period = BudgetPeriod::parse(&r.period).ok_or_else(|| unknown("period", &r.period))?;
    let category = match r.category.as_deref() {
        None => None,
        Some(c) => Some(BudgetCategory::parse(c).ok_or_else(|| unknown("category", c))?),
    };
    let limit = r.amount_micros.saturating_add(r.extra_micros);
    let used = r.spent_micros.saturating_add(r.held_micros);
    let left = remaining(limit, used);
    let shown = |m: i64| Money::from_micros(m).to_string();
    Ok(BudgetView {
        id: r.id,
        member: r.user_email,
        category,
        period,
        hard_cap: r.hard_cap,
        amount: shown(r.amount_micros),
        spent: shown(r.spent_micros),
        held: shown(r.held_micros),
        remaining: shown(left),
        amount_micros: r.amount_micros,
        spent_micros: r.spent_micros,
        held_micros: r.held_micros,
        extra_micros: r.extra_micros,
        remaining_micros: left,
        percent_used: percent_used(limit, used),
        period_start: super::format::date(r.period_start),
        period_label: period_label(period, r.period_start),
    })
}

/// A stored value the table's checks should have refused.
fn unknown(what: &str, value: &str) -> AppError {
    tracing::error!(what, value, "budget row with an unknown value");
    AppError::Internal
}

/// The period starting on `start` as people name it: "December 2026", "7 Dec 2026".
pub fn period_label(period: BudgetPeriod, start: Date) -> String {
    let written = match period {
        BudgetPeriod::Month => start.format(format_description!("[month repr:long] [year]")),
        BudgetPeriod::Day => start.format(format_description!(
            "[day padding:none] [month repr:short] [year]"
        )),
    };
    written.unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_named_as_people_name_them() {
        let d = time::macros::date!(2026 - 12 - 07);
        assert_eq!(period_label(BudgetPeriod::Day, d), "7 Dec 2026");
        let m = time::macros::date!(2026 - 12 - 01);
        assert_eq!(period_label(BudgetPeriod::Month, m), "December 2026");
    }

    fn row() -> BudgetRow {
        BudgetRow {
            id: 7,
            user_id: None,
            user_email: None,
            category: Some("sms".into()),
            period: "month".into(),
            amount_micros: 50_000_000,
            hard_cap: true,
            period_start: time::macros::date!(2026 - 12 - 01),
            spent_micros: 20_000_000,
            held_micros: 5_000_000,
            extra_micros: 10_000_000,
        }
    }

    #[test]
    fn a_rows_figures_count_holds_and_extras() {
        let v = view(row()).unwrap();
        assert_eq!(v.category, Some(BudgetCategory::Sms));
        assert_eq!(v.period, BudgetPeriod::Month);
        assert_eq!(v.amount, "$50.00");
        assert_eq!(v.remaining_micros, 35_000_000);
        assert_eq!(v.remaining, "$35.00");
        assert_eq!(v.percent_used, 41);
        assert_eq!(v.period_start, "2026-12-01");
        assert_eq!(v.period_label, "December 2026");
    }

    #[test]
    fn a_row_the_checks_should_have_refused_is_an_internal_error() {
        let mut r = row();
        r.period = "week".into();
        assert_eq!(view(r).unwrap_err(), AppError::Internal);
        let mut r = row();
        r.category = Some("fax".into());
        assert_eq!(view(r).unwrap_err(), AppError::Internal);
    }
}

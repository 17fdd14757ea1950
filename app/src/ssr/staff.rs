//! The support console's use cases: every org and user at a glance, one org read-only, the shared
//! cache's figures, every org's budgets. Its guard (`require_staff`, and the org guard for one
//! org) is the caller's.

use super::guard::OrgCtx;
use super::{db, AppState};
use crate::error::AppError;
use crate::model::budgets::{StaffBudgetRow, StaffBudgetsPage};
use crate::model::calls::ValidFilter;
use crate::model::lookup::GlobalCacheStats;
use crate::model::usage::{ConfigSummary, StaffHome, StaffOrgPage};

/// The console's home: the orgs matching `q` (all when it is empty) with this month's figures,
/// and the users matching it. `q` is trimmed and cut to 100 characters.
pub async fn home(state: &AppState, q: &str) -> Result<StaffHome, AppError> {
    let q: String = q.trim().chars().take(100).collect();
    Ok(StaffHome {
        orgs: db::staff::orgs(&state.pool, &q).await?,
        users: db::staff::users(&state.pool, &q).await?,
        q,
    })
}

/// One org as support staff see it: this month's spend, numbers, recent calls and SMS, the masked
/// phone configuration and recent audit entries. (The org guard put the opening on the record.)
pub async fn org(ctx: &OrgCtx) -> Result<StaffOrgPage, AppError> {
    let pool = &ctx.state.pool;
    ctx.state.events.flush_for_page().await;
    let (from, to) = crate::model::dates::date_range(None, None)?;
    let report = super::usage::report(pool, ctx.org_id, from, to).await?;
    let numbers = super::numbers::every(ctx).await?;
    let calls = super::calls::history(pool, ctx.org_id, None, &ValidFilter::default(), 20)
        .await?
        .into_iter()
        .map(|r| r.row)
        .collect();
    let sms = super::sms::conversations(
        pool,
        super::sms::MessageScope {
            org_id: ctx.org_id,
            user_id: None,
        },
    )
    .await?
    .into_iter()
    .take(20)
    .collect();
    let config = db::phone_config::effective(pool, ctx.org_id)
        .await?
        .map(|c| ConfigSummary {
            own: c.org_id.is_some(),
            provider: c.provider,
            display_name: c.display_name,
            credential_id: c.credential_id,
            token: c.token_tail.map(|t| format!("…{t}")).unwrap_or_default(),
            test_mode: c.test_mode,
            lookups: c.lookup_enabled,
        });
    let audit = super::usage::audit(
        pool,
        &super::usage::AuditQuery {
            org_id: Some(ctx.org_id),
            actor: None,
            action: None,
            from: None,
            to: None,
            before: None,
        },
        20,
    )
    .await?
    .into_iter()
    .map(|r| r.0)
    .collect();
    Ok(StaffOrgPage {
        org: ctx.view(),
        report,
        numbers,
        calls,
        sms,
        config,
        audit,
    })
}

/// The shared cache's figures across all orgs this month.
pub async fn lookup_stats(state: &AppState) -> Result<GlobalCacheStats, AppError> {
    state.events.flush_for_page().await;
    let (from, to) = crate::model::dates::month_of(time::OffsetDateTime::now_utc().date());
    Ok(db::lookups::global(&state.pool, from, to).await?)
}

/// The most budgets `/staff/budgets` lists.
pub const BUDGETS_SHOWN: u32 = 200;

/// Every org's budgets with their current period's figures (each in its org's time zone, at the
/// app's clock), nearest their cap first, at most `BUDGETS_SHOWN`.
pub async fn budgets(state: &AppState) -> Result<StaffBudgetsPage, AppError> {
    let now = state.clock.now();
    let rows = db::budgets::staff_overview(&state.pool, now, i64::from(BUDGETS_SHOWN)).await?;
    let rows = rows
        .into_iter()
        .map(|r| -> Result<StaffBudgetRow, AppError> {
            Ok(StaffBudgetRow {
                org_slug: r.slug,
                org_name: r.org_name,
                time_zone: r.time_zone,
                budget: super::budgets::view(r.budget)?,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(StaffBudgetsPage {
        rows,
        limit: BUDGETS_SHOWN,
    })
}

//! Budgets: everyone in the org sees those that concern them (members: the org-wide ones and
//! their own); owners and admins set and delete them and grant one-off overrides; support staff
//! read.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::budgets::BudgetsPage;

#[cfg(feature = "ssr")]
use crate::ssr::{budgets, require, respond, Permission};

#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "load_budgets")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn load_budgets(org: String) -> Result<BudgetsPage, AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Read).await?;
            budgets::page(&ctx).await
        }
        .await,
    )
}

/// Sets a budget: for `member` (a member's user id; empty for the whole org), on `category`
/// (empty for everything), per `period` (`day` or `month`), of `amount` dollars; a hard cap when
/// `hard_cap` is ticked. The same member, category and period again changes that budget.
#[server(prefix = "/api", endpoint = "save_budget")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn save_budget(
    org: String,
    member: Option<String>,
    category: Option<String>,
    period: String,
    amount: String,
    hard_cap: Option<String>,
) -> Result<(), AppError> {
    respond(
        async {
            // Who may set budgets comes before what was typed: support gets 403, not field errors.
            let ctx = require(&org, Permission::Manage).await?;
            let input = budgets::BudgetInput {
                member,
                category,
                period,
                amount,
                // A form sends every field; an unticked box is absent.
                hard_cap: hard_cap.is_some_and(|v| !v.is_empty()),
            };
            budgets::save(&ctx, input).await?;
            leptos_axum::redirect(&format!(
                "/o/{}/admin/budgets?notice=budget-saved",
                ctx.slug
            ));
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "delete_budget")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn delete_budget(org: String, id: i64) -> Result<(), AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Manage).await?;
            budgets::delete(&ctx, id).await?;
            leptos_axum::redirect(&format!(
                "/o/{}/admin/budgets?notice=budget-deleted",
                ctx.slug
            ));
            Ok(())
        }
        .await,
    )
}

/// Grants the budget `id` `extra` dollars of room in its current period, saying why (`reason`):
/// for a one-off that would pass it. Owners and admins.
#[server(prefix = "/api", endpoint = "grant_budget_override")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org, budget = id), err(level = "debug")))]
pub async fn grant_budget_override(
    org: String,
    id: i64,
    extra: String,
    reason: String,
) -> Result<(), AppError> {
    respond(
        async {
            // Who may grant comes before what was typed: support gets 403, not field errors.
            let ctx = require(&org, Permission::Manage).await?;
            budgets::grant_override(&ctx, id, &extra, &reason).await?;
            leptos_axum::redirect(&format!(
                "/o/{}/admin/budgets?notice=budget-override",
                ctx.slug
            ));
            Ok(())
        }
        .await,
    )
}

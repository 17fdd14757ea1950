//! Budgets: read those the key's member sees (a member: the org-wide ones and their own) with
//! the current period's figures; set and delete them, and grant one extra room for its current
//! period, with a key acting as an owner or admin, as on the budgets page.

use app::model::api_keys::Scope;
use app::model::budgets::BudgetView;
use app::ssr::budgets::{self, BudgetInput};
use axum::extract::rejection::JsonRejection;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{json, json_body, private, ApiMoney, Caller, Problem};

#[derive(Serialize, ToSchema)]
pub struct Budget {
    id: i64,
    /// The member's e-mail; null: the whole org.
    member: Option<String>,
    /// `calls`, `sms`, `lookups` or `numbers`; null: everything.
    category: Option<String>,
    /// `day` or `month`, of the org's time zone.
    #[schema(value_type = String, example = "month")]
    period: &'static str,
    /// Refuses paid actions that would pass it; false: it only alerts.
    hard_cap: bool,
    amount: ApiMoney,
    /// The current period's first local day, YYYY-MM-DD.
    #[schema(format = Date)]
    period_start: String,
    /// Spent in the current period.
    spent: ApiMoney,
    /// Reserved by paid actions under way.
    held: ApiMoney,
    /// Granted on top of the amount for the current period only.
    extra: ApiMoney,
    /// amount + extra − spent − held, never below zero.
    remaining: ApiMoney,
    /// (spent + held) of (amount + extra), in whole percent: over 100 once passed, at most
    /// 1,000,000.
    #[schema(maximum = 1000000)]
    percent_used: u32,
}

impl From<BudgetView> for Budget {
    fn from(b: BudgetView) -> Budget {
        Budget {
            id: b.id,
            member: b.member,
            category: b.category.map(|c| c.as_str().to_string()),
            period: b.period.as_str(),
            hard_cap: b.hard_cap,
            amount: ApiMoney::micros(b.amount_micros),
            period_start: b.period_start,
            spent: ApiMoney::micros(b.spent_micros),
            held: ApiMoney::micros(b.held_micros),
            extra: ApiMoney::micros(b.extra_micros),
            remaining: ApiMoney::micros(b.remaining_micros),
            percent_used: b.percent_used,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct BudgetList {
    data: Vec<Budget>,
}

/// A budget to set. The same member, category and period as an existing budget changes that
/// one's amount and kind. Each field is read as the budgets page reads it (values outside those
/// named are a 422 on the field).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetBudget {
    /// A member's e-mail; left out, null or empty: the whole org.
    member: Option<String>,
    /// `calls`, `sms`, `lookups` or `numbers`; left out, null or empty: everything.
    #[schema(example = "sms")]
    category: Option<String>,
    /// `day` or `month`, of the org's time zone.
    #[schema(example = "month")]
    period: String,
    /// Dollars as a decimal string, up to six decimals, at most `"1000000"` (e.g. `"12.50"`).
    #[schema(example = "12.50")]
    amount: String,
    /// Refuse paid actions that would pass it (default false: only alert).
    #[serde(default)]
    hard_cap: bool,
}

/// The budgets the key's member sees, org-wide first.
#[utoipa::path(
    get, path = "/v1/budgets", tag = "Budgets", operation_id = "listBudgets",
    responses(
        (status = 200, body = BudgetList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn list(caller: Caller) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Budgets)?;
    let data = budgets::list(&c.ctx)
        .await?
        .into_iter()
        .map(Budget::from)
        .collect();
    Ok(json(StatusCode::OK, &BudgetList { data }))
}

/// Set a budget (keys acting as an owner or admin).
///
/// Creates the budget (201), or changes the one with the same member, category and period (200):
/// sending the same body again changes nothing.
#[utoipa::path(
    post, path = "/v1/budgets", tag = "Budgets", operation_id = "setBudget",
    request_body = SetBudget,
    responses(
        (status = 201, body = Budget, description = "Created", links(
            ("getBudget" = (operation_id = "getBudget", parameters(("id" = "$response.body#/id")))),
            ("deleteBudget" = (operation_id = "deleteBudget", parameters(("id" = "$response.body#/id")))),
        )),
        (status = 200, body = Budget, description = "Changed: a budget with this member, category and period existed"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn set(
    caller: Caller,
    body: Result<axum::Json<SetBudget>, JsonRejection>,
) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Budgets)?;
    // Who may set budgets comes before what the body says: a member's key gets 403.
    c.ctx.must_manage()?;
    let b = json_body(body)?;
    let input = BudgetInput {
        member: b.member,
        category: b.category,
        period: b.period,
        amount: b.amount,
        hard_cap: b.hard_cap,
    };
    let (view, created) = budgets::save(&c.ctx, input).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json(status, &Budget::from(view)))
}

/// One budget.
#[utoipa::path(
    get, path = "/v1/budgets/{id}", tag = "Budgets", operation_id = "getBudget",
    params(("id" = i64, Path)),
    responses(
        (status = 200, body = Budget),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn get_one(caller: Caller, Path(id): Path<String>) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Budgets)?;
    let view = budgets::get(&c.ctx, super::path_id(&id)?).await?;
    Ok(json(StatusCode::OK, &Budget::from(view)))
}

/// Delete a budget (keys acting as an owner or admin): it no longer limits or alerts.
#[utoipa::path(
    delete, path = "/v1/budgets/{id}", tag = "Budgets", operation_id = "deleteBudget",
    params(("id" = i64, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn delete(caller: Caller, Path(id): Path<String>) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Budgets)?;
    let id = super::path_id(&id)?;
    budgets::delete(&c.ctx, id).await?;
    Ok(private(StatusCode::NO_CONTENT.into_response()))
}

/// A one-off override: extra room in a budget's current period, and why.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantOverride {
    /// Dollars as a decimal string, up to six decimals, more than 0 and at most `"1000000"`.
    #[schema(example = "5.00")]
    extra: String,
    /// Why the budget is exceeded this time: 1 to 500 characters (trimmed); on the record.
    #[schema(example = "Year-end reminders to every customer")]
    reason: String,
}

/// Grant a budget extra room for its current period (keys acting as an owner or admin).
///
/// Adds `extra` to what the budget may spend in the period now running (a local day or month of
/// the org's time zone); the next period starts again from its amount. Answers the budget with
/// its new figures.
#[utoipa::path(
    post, path = "/v1/budgets/{id}/overrides", tag = "Budgets", operation_id = "grantBudgetOverride",
    params(("id" = i64, Path)),
    request_body = GrantOverride,
    responses(
        (status = 201, body = Budget, description = "Granted: the budget with its new figures"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn grant_override(
    caller: Caller,
    Path(id): Path<String>,
    body: Result<axum::Json<GrantOverride>, JsonRejection>,
) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Budgets)?;
    // Who may grant comes before what the body says: a member's key gets 403.
    c.ctx.must_manage()?;
    let id = super::path_id(&id)?;
    let b = json_body(body)?;
    let view = budgets::grant_override(&c.ctx, id, &b.extra, &b.reason).await?;
    Ok(json(StatusCode::CREATED, &Budget::from(view)))
}

//! `GET /v1/usage`: what the org spent, by category, member and number (the usage page's
//! figures; keys acting as an owner or admin only, as the page).

use app::model::api_keys::Scope;
use axum::extract::RawQuery;
use axum::response::Response;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{json, query, ApiMoney, Caller, Problem};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Range {
    /// YYYY-MM-DD, inclusive (default: the first of this month).
    #[param(format = Date)]
    from: Option<String>,
    /// YYYY-MM-DD, inclusive (default: today).
    #[param(format = Date)]
    to: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Category {
    /// `numbers`, `calls`, `recordings`, `lookups` or `sms`.
    category: String,
    /// Number-months, minutes, paid lookups or segments.
    quantity: i64,
    amount: ApiMoney,
}

#[derive(Serialize, ToSchema)]
pub struct Spend {
    /// A member's e-mail or a number.
    label: String,
    amount: ApiMoney,
}

#[derive(Serialize, ToSchema)]
pub struct Usage {
    from: String,
    to: String,
    total: ApiMoney,
    categories: Vec<Category>,
    by_user: Vec<Spend>,
    by_number: Vec<Spend>,
}

/// Spend for a date range.
#[utoipa::path(
    get, path = "/v1/usage", tag = "Usage", operation_id = "getUsage",
    params(Range),
    responses(
        (status = 200, body = Usage),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn get_usage(caller: Caller, RawQuery(raw): RawQuery) -> Result<Response, Problem> {
    let c = caller.needs(Scope::UsageRead)?;
    let ctx = &c.ctx;
    if !ctx.sees_all() {
        return Err(Problem::forbidden(
            "Only keys acting as an owner or admin can read the org's spend.".into(),
        ));
    }
    let range: Range = query(raw.as_deref())?;
    let from = super::present("from", range.from)?;
    let to = super::present("to", range.to)?;
    let r = app::ssr::usage::page(ctx, from.as_deref(), to.as_deref())
        .await?
        .report;
    let spend = |rows: Vec<app::model::usage::SpendRow>| {
        rows.into_iter()
            .map(|s| Spend {
                label: s.label,
                amount: ApiMoney::micros(s.micros),
            })
            .collect()
    };
    Ok(json(
        StatusCode::OK,
        &Usage {
            from: r.from,
            to: r.to,
            total: ApiMoney::micros(r.total_micros),
            categories: r
                .categories
                .into_iter()
                .map(|c| Category {
                    category: c.category,
                    quantity: c.quantity,
                    amount: ApiMoney::micros(c.micros),
                })
                .collect(),
            by_user: spend(r.by_user),
            by_number: spend(r.by_number),
        },
    ))
}

//! `GET /v1/usage?from=YYYY-MM-DD&to=YYYY-MM-DD`: what the org spent, by category, member and
//! number (the usage page's figures; owners' and admins' keys only, as the page).

use app::model::api_keys::Scope;
use app::ssr::AppState;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::{private, Caller, Money, Problem};

#[derive(Deserialize)]
pub struct Range {
    from: Option<String>,
    to: Option<String>,
}

#[derive(Serialize)]
struct Category {
    category: String,
    quantity: i64,
    amount: Money,
}

#[derive(Serialize)]
struct Spend {
    label: String,
    amount: Money,
}

#[derive(Serialize)]
struct Usage {
    from: String,
    to: String,
    total: Money,
    categories: Vec<Category>,
    by_user: Vec<Spend>,
    by_number: Vec<Spend>,
}

pub async fn get_usage(
    State(state): State<AppState>,
    caller: Caller,
    Query(range): Query<Range>,
) -> Result<Response, Problem> {
    let c = caller.needs(Scope::UsageRead)?;
    let ctx = &c.ctx;
    if !ctx.access.oversees() {
        return Err(Problem::forbidden(
            "Only keys acting as an owner or admin can read the org's spend.".into(),
        ));
    }
    let (from, to) = app::model::dates::date_range(range.from.as_deref(), range.to.as_deref())?;
    state.events.flush_for_page().await;
    let r = app::ssr::usage::report(&state.pool, ctx.org_id, from, to).await?;
    let spend = |rows: Vec<app::model::usage::SpendRow>| {
        rows.into_iter()
            .map(|s| Spend {
                label: s.label,
                amount: Money::micros(s.micros),
            })
            .collect()
    };
    Ok(private(
        axum::Json(Usage {
            from: r.from,
            to: r.to,
            total: Money::micros(r.total_micros),
            categories: r
                .categories
                .into_iter()
                .map(|c| Category {
                    category: c.category,
                    quantity: c.quantity,
                    amount: Money::micros(c.micros),
                })
                .collect(),
            by_user: spend(r.by_user),
            by_number: spend(r.by_number),
        })
        .into_response(),
    ))
}

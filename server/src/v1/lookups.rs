//! `GET /v1/lookups/{number}`: the lookup page's semantics (the shared cache, single-flight,
//! attribution to the key's org and member), with the cost and the saving in the answer.

use app::model::api_keys::Scope;
use app::ssr::lookups::{lookup, Outcome};
use app::ssr::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::{private, Caller, Money, Problem};

#[derive(Serialize)]
struct LookupAnswer {
    number: String,
    /// `hit` (from the cache, free), `miss` or `refresh` (paid).
    outcome: &'static str,
    valid: Option<bool>,
    national_format: Option<String>,
    country_code: Option<String>,
    line_type: Option<String>,
    carrier_name: Option<String>,
    caller_name: Option<String>,
    caller_type: Option<String>,
    looked_up_at: Option<String>,
    expires_at: Option<String>,
    cost: Money,
    saved: Money,
}

pub async fn get_lookup(
    State(state): State<AppState>,
    caller: Caller,
    Path(number): Path<String>,
) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Lookups)?;
    let ctx = &c.ctx;
    let e164 = telephony::E164::parse(&number, Some("US"))
        .map_err(|e| Problem::invalid("number", e.to_string()))?;
    let deps = state.lookup_deps();
    let (outcome, row) = lookup(&deps, ctx.org_id, Some(ctx.user.id), &e164, false)
        .await
        .map_err(|e| Problem::from(app::api::words::lookup(&e)))?;
    state
        .known
        .asked
        .remember((ctx.org_id, e164.as_str().to_string()), true);
    // The price this request was charged at: the configuration's, as the event recorded it.
    let snap = state.providers.effective(&state.pool, ctx.org_id).await?;
    let caller_name = snap.config.as_ref().is_some_and(|c| c.caller_name_enabled);
    let price = snap.base_price + snap.caller_name_price * i64::from(caller_name);
    let paid = matches!(outcome, Outcome::Miss | Outcome::Refresh);
    let info = app::api::lookups::server_side::number_info(&row, caller_name);
    Ok(private(
        axum::Json(LookupAnswer {
            number: info.e164,
            outcome: outcome.as_str(),
            valid: info.valid,
            national_format: info.national_format,
            country_code: info.country_code,
            line_type: info.line_type,
            carrier_name: info.carrier_name,
            caller_name: info.caller_name,
            caller_type: info.caller_type,
            looked_up_at: row.last_lookup_at.and_then(super::rfc3339),
            expires_at: row.lookup_expires_at.and_then(super::rfc3339),
            cost: Money::micros(if paid { price } else { 0 }),
            saved: Money::micros(if paid { 0 } else { price }),
        })
        .into_response(),
    ))
}

//! `GET /v1/lookups/{number}`: the lookup page's semantics (the shared cache, single-flight,
//! attribution to the key's org and member), with the cost and the saving in the answer.

use app::model::api_keys::Scope;
use app::ssr::format::rfc3339;
use app::ssr::lookup_pages;
use axum::extract::{Path, RawQuery};
use axum::response::Response;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{json, query, ApiMoney, Caller, Problem};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LookupQuery {
    /// Ask for the caller name too (`true`, only where the org's phone config allows it; it costs
    /// more) or not (`false`). Left out: as the org's phone config says.
    caller_name: Option<bool>,
}

/// What is known about a number, and what this request cost.
#[derive(Serialize, ToSchema)]
pub struct Lookup {
    /// E.164.
    number: String,
    /// `hit`: answered from the shared cache, free; `miss` or `refresh`: paid.
    #[schema(value_type = String, example = "miss")]
    outcome: &'static str,
    valid: Option<bool>,
    national_format: Option<String>,
    /// ISO 3166 alpha-2.
    country_code: Option<String>,
    /// The provider's line type (`mobile`, `landline`, `nonFixedVoip`, …).
    line_type: Option<String>,
    carrier_name: Option<String>,
    /// Only when the org's configuration has caller-name lookups on.
    caller_name: Option<String>,
    caller_type: Option<String>,
    /// RFC 3339.
    looked_up_at: Option<String>,
    /// RFC 3339: when the cached answer expires.
    expires_at: Option<String>,
    /// Which provider gave this answer (`twilio`, `aws`, `sandbox`): the shared cache may answer
    /// with another provider's data than the org's own. Absent for answers stored before it was
    /// recorded.
    answered_by: Option<String>,
    cost: ApiMoney,
    /// What a paid lookup would have cost, when this one was free.
    saved: ApiMoney,
}

/// Look a number up.
///
/// Through the shared cache: a number any org looked up recently is answered free; concurrent
/// requests for the same number pay once. Attributed to the key's org and member.
#[utoipa::path(
    get, path = "/v1/lookups/{number}", tag = "Lookups", operation_id = "lookup",
    params(("number" = String, Path, description = "E.164 (`+14155552671`), or a national number of the org's country"), LookupQuery),
    responses(
        (status = 200, body = Lookup),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 402, body = Problem, content_type = "application/problem+json", description = "A budget's hard cap refuses a paid lookup (a cached answer is never refused)"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "The org has no phone config, or lookups are off in it"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
        (status = 502, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn get_lookup(
    caller: Caller,
    Path(number): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Lookups)?;
    let q: LookupQuery = query(raw.as_deref())?;
    let a = lookup_pages::look_up_priced(&c.ctx, &number, false, q.caller_name).await?;
    let (outcome, row) = (a.outcome, a.row);
    let info = lookup_pages::number_info(&row, a.caller_name);
    Ok(json(
        StatusCode::OK,
        &Lookup {
            number: info.e164,
            outcome: outcome.as_str(),
            valid: info.valid,
            national_format: info.national_format,
            country_code: info.country_code,
            line_type: info.line_type,
            carrier_name: info.carrier_name,
            caller_name: info.caller_name,
            caller_type: info.caller_type,
            looked_up_at: row.last_lookup_at.map(rfc3339),
            expires_at: row.lookup_expires_at.map(rfc3339),
            answered_by: info.answered_by,
            cost: ApiMoney::micros(a.cost_micros),
            saved: ApiMoney::micros(a.saved_micros),
        },
    ))
}

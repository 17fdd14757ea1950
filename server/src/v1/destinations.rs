//! Destinations: read where the org's calls and texts may go and which destinations the velocity
//! rule paused (keys of any member); set the rules and resume a paused destination, which sends
//! the texts it held (keys acting as an owner or admin), as on the destinations page. They are
//! part of the money guard: scope `budgets`.

use app::model::api_keys::Scope;
use app::model::destinations::{PauseView, RulesView, DEFAULT_VELOCITY};
use app::ssr::destinations::{self, RulesInput};
use axum::extract::rejection::JsonRejection;
use axum::extract::Path;
use axum::response::Response;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{json, json_body, ApiMoney, Caller, Problem};

/// Where the org's calls and texts may go.
#[derive(Serialize, ToSchema)]
pub struct DestinationRules {
    /// The org's own country (ISO 3166 alpha-2): always allowed.
    own_country: String,
    /// The other countries calls and texts may go to (ISO 3166 alpha-2, sorted); empty: the
    /// org's own only.
    allowed_countries: Vec<String>,
    /// The most one text may cost; null: no maximum.
    max_sms: Option<ApiMoney>,
    /// The most a call may cost a minute; null: no maximum.
    max_call_minute: Option<ApiMoney>,
    /// Sends to one destination (a number prefix, or a country abroad) within an hour that
    /// pause it.
    #[schema(minimum = 1, maximum = 100000)]
    velocity_per_hour: i32,
    /// When the rules were last saved (RFC 3339); null: never, the defaults apply.
    updated_at: Option<String>,
}

impl From<RulesView> for DestinationRules {
    fn from(r: RulesView) -> DestinationRules {
        DestinationRules {
            own_country: r.own_country,
            allowed_countries: r.allowed_countries,
            max_sms: r.max_sms_micros.map(ApiMoney::micros),
            max_call_minute: r.max_call_minute_micros.map(ApiMoney::micros),
            velocity_per_hour: r.velocity_per_hour,
            updated_at: r.updated_rfc3339,
        }
    }
}

fn default_velocity() -> i32 {
    DEFAULT_VELOCITY
}

/// The rules to set, replacing the org's. Each field is read as the destinations page reads it
/// (values outside those named are a 422 on the field).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetDestinationRules {
    /// ISO 3166 alpha-2 codes of the other countries to allow (the org's own always is); empty:
    /// none.
    allowed_countries: Vec<String>,
    /// Dollars as a decimal string, up to six decimals, at most `"1000000"`; null or left out:
    /// no maximum.
    #[schema(example = "0.05")]
    max_sms: Option<String>,
    /// Dollars a minute, as `max_sms`; null or left out: no maximum.
    #[schema(example = "0.02")]
    max_call_minute: Option<String>,
    /// 1–100,000 (left out: 30).
    #[schema(minimum = 1, maximum = 100000)]
    #[serde(default = "default_velocity")]
    velocity_per_hour: i32,
}

/// A destination the velocity rule paused.
#[derive(Serialize, ToSchema)]
pub struct DestinationPause {
    id: i64,
    /// `cc:GB` (a country abroad) or `p:+447400` (a number prefix: + and six digits).
    destination: String,
    /// What tripped it: `sms` or `call` (a pause stops both: texts are held, calls refused).
    #[schema(value_type = String, example = "sms")]
    kind: &'static str,
    /// Sends counted in the hour when it tripped, and the rule's figure then.
    sends: i64,
    per_hour: i32,
    /// RFC 3339.
    paused_at: String,
    /// RFC 3339; null: still paused.
    resumed_at: Option<String>,
    /// The e-mail of who resumed it.
    resumed_by: Option<String>,
    /// Texts held under it, waiting to be sent.
    held: i64,
}

impl From<PauseView> for DestinationPause {
    fn from(p: PauseView) -> DestinationPause {
        DestinationPause {
            id: p.id,
            destination: p.key,
            kind: p.kind.as_str(),
            sends: p.sends,
            per_hour: p.per_hour,
            paused_at: p.paused_rfc3339,
            resumed_at: p.resumed_rfc3339,
            resumed_by: p.resumed_by,
            held: p.held,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DestinationPauseList {
    data: Vec<DestinationPause>,
}

/// The org's destination rules.
#[utoipa::path(
    get, path = "/v1/destinations", tag = "Destinations", operation_id = "getDestinationRules",
    responses(
        (status = 200, body = DestinationRules),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn get_rules(caller: Caller) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Budgets)?;
    let rules = destinations::rules(&c.ctx).await?;
    Ok(json(StatusCode::OK, &DestinationRules::from(rules)))
}

/// Set the org's destination rules (keys acting as an owner or admin).
///
/// Replaces them whole; they apply to the next call or text. Sending the same body again changes
/// nothing.
#[utoipa::path(
    put, path = "/v1/destinations", tag = "Destinations", operation_id = "setDestinationRules",
    request_body = SetDestinationRules,
    responses(
        (status = 200, body = DestinationRules, description = "Saved"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn set_rules(
    caller: Caller,
    body: Result<axum::Json<SetDestinationRules>, JsonRejection>,
) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Budgets)?;
    // Who may set them comes before what the body says: a member's key gets 403.
    c.ctx.must_manage()?;
    let b = json_body(body)?;
    let input = RulesInput {
        countries: b.allowed_countries.join(","),
        max_sms: b.max_sms,
        max_call_minute: b.max_call_minute,
        velocity_per_hour: b.velocity_per_hour.to_string(),
    };
    let rules = destinations::save_rules(&c.ctx, input).await?;
    Ok(json(StatusCode::OK, &DestinationRules::from(rules)))
}

/// The org's paused destinations: open ones first, then those resumed in the last 30 days or
/// still holding texts.
#[utoipa::path(
    get, path = "/v1/destinations/pauses", tag = "Destinations", operation_id = "listDestinationPauses",
    responses(
        (status = 200, body = DestinationPauseList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn list_pauses(caller: Caller) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Budgets)?;
    let data = destinations::pauses(&c.ctx)
        .await?
        .into_iter()
        .map(DestinationPause::from)
        .collect();
    Ok(json(StatusCode::OK, &DestinationPauseList { data }))
}

/// Resume a paused destination (keys acting as an owner or admin).
///
/// Its hour starts again now, and the texts it held are sent within seconds (at most 500 per
/// resume; each through the budgets, a capped one staying held with the reason). A pause resumed
/// before that still holds texts sends them again; one holding none is a 409.
#[utoipa::path(
    post, path = "/v1/destinations/pauses/{id}/resume", tag = "Destinations", operation_id = "resumeDestination",
    params(("id" = i64, Path)),
    responses(
        (status = 200, body = DestinationPause, description = "Resumed: `held` texts are being sent"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "Already resumed, and nothing held is waiting"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn resume(caller: Caller, Path(id): Path<String>) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Budgets)?;
    // Who may resume comes before which pause: a member's key gets 403.
    c.ctx.must_manage()?;
    let id = super::path_id(&id)?;
    let pause = destinations::resume(&c.ctx, id).await?;
    Ok(json(StatusCode::OK, &DestinationPause::from(pause)))
}

//! Numbers: search what can be bought, buy (idempotent), list, get, change settings, release.
//! A key sees and changes what its member may on the numbers pages: their own and shared
//! numbers (an owner's or admin's key: all of the org's).

use app::model::api_keys::Scope;
use app::model::numbers::{check_friendly_name, NumberQuery, NumberRow, NumberStatus};
use app::ssr::api_keys::{keep_answer, kept_answer, ApiCaller, KeptAnswer};
use app::ssr::numbers::{self, Released};
use app::ssr::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

use super::{json, json_body, query, Caller, Problem};

#[derive(Serialize, ToSchema)]
pub struct Number {
    id: i64,
    /// E.164.
    number: String,
    friendly_name: String,
    /// The member who owns it.
    owner: String,
    /// `purchasing`, `active`, `inactive`, `releasing` (still billed), `released` or `failed`.
    #[schema(value_type = String, example = "active")]
    status: &'static str,
    /// Where calls to it ring (E.164), empty if nowhere.
    forward_to: String,
    record_calls: bool,
    /// Usable by the whole org.
    shared: bool,
    voice: bool,
    sms: bool,
    /// Whether this key's member may change and release it.
    can_edit: bool,
}

impl From<NumberRow> for Number {
    fn from(n: NumberRow) -> Number {
        Number {
            status: match n.status {
                NumberStatus::Purchasing => "purchasing",
                NumberStatus::Active if n.active => "active",
                NumberStatus::Active => "inactive",
                NumberStatus::Releasing => "releasing",
                NumberStatus::Released => "released",
                NumberStatus::Failed => "failed",
            },
            id: n.id,
            number: n.e164,
            friendly_name: n.friendly_name,
            owner: n.owner,
            forward_to: n.forward_to,
            record_calls: n.record_calls,
            shared: n.shared,
            voice: n.voice,
            sms: n.sms,
            can_edit: n.can_edit,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct NumberList {
    data: Vec<Number>,
}

/// The org's numbers this key may see, newest first.
#[utoipa::path(
    get, path = "/v1/numbers", tag = "Numbers", operation_id = "listNumbers",
    responses(
        (status = 200, body = NumberList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn list(caller: Caller) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Numbers)?;
    let data = numbers::visible(&c.ctx)
        .await?
        .into_iter()
        .map(Number::from)
        .collect();
    Ok(json(StatusCode::OK, &NumberList { data }))
}

/// One number.
#[utoipa::path(
    get, path = "/v1/numbers/{id}", tag = "Numbers", operation_id = "getNumber",
    params(("id" = i64, Path)),
    responses(
        (status = 200, body = Number),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn get_one(caller: Caller, Path(id): Path<String>) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Numbers)?;
    let row = numbers::one(&c.ctx, super::path_id(&id)?).await?;
    Ok(json(StatusCode::OK, &Number::from(row)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Search {
    /// ISO 3166 alpha-2 (default US).
    #[param(pattern = "^[A-Z]{2}$")]
    country: Option<String>,
    /// `local` (default), `mobile` or `tollfree`.
    #[serde(rename = "type")]
    #[param(rename = "type", pattern = "^(local|mobile|tollfree)$")]
    kind: Option<String>,
    /// Three digits.
    #[param(pattern = "^[0-9]{3}$")]
    area_code: Option<String>,
    /// Digits (and `*`) the number must contain.
    contains: Option<String>,
    voice: Option<bool>,
    sms: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct Available {
    /// E.164.
    number: String,
    national_format: String,
    locality: String,
    region: String,
    voice: bool,
    sms: bool,
    mms: bool,
}

#[derive(Serialize, ToSchema)]
pub struct AvailableList {
    data: Vec<Available>,
    /// What a number costs a month, while held.
    monthly_price: super::ApiMoney,
}

/// Numbers the org's provider offers to buy.
#[utoipa::path(
    get, path = "/v1/numbers/available", tag = "Numbers", operation_id = "searchAvailableNumbers",
    params(Search),
    responses(
        (status = 200, body = AvailableList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "The org has no phone config, or its provider cannot sell numbers (AWS)"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
        (status = 502, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn available(caller: Caller, RawQuery(raw): RawQuery) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Numbers)?;
    let s: Search = query(raw.as_deref())?;
    let kind = super::present("type", s.kind)?.unwrap_or_default();
    if !matches!(kind.as_str(), "" | "local" | "mobile" | "tollfree") {
        return Err(Problem::invalid(
            "type",
            "Choose local, mobile or tollfree.",
        ));
    }
    let q = NumberQuery {
        country: super::present("country", s.country)?.unwrap_or_else(|| c.ctx.country.clone()),
        number_type: kind,
        area_code: super::present("area_code", s.area_code)?.unwrap_or_default(),
        contains: super::present("contains", s.contains)?.unwrap_or_default(),
        voice: s.voice.unwrap_or(false),
        sms: s.sms.unwrap_or(false),
        ..NumberQuery::default()
    };
    let (found, monthly) = numbers::available(&c.ctx, q).await?;
    let data = found
        .into_iter()
        .map(|n| Available {
            number: n.e164,
            national_format: n.national,
            locality: n.locality,
            region: n.region,
            voice: n.voice,
            sms: n.sms,
            mms: n.mms,
        })
        .collect();
    Ok(json(
        StatusCode::OK,
        &AvailableList {
            data,
            monthly_price: super::ApiMoney::micros(monthly.micros()),
        },
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Buy {
    /// E.164, one `GET /v1/numbers/available` offered.
    number: String,
    #[serde(default)]
    friendly_name: String,
}

/// Buy a number for the key's member.
///
/// Needs an `Idempotency-Key` header: a retry with the same key and body gets the same answer
/// and buys nothing more; the same key with another body is refused (422); while the first
/// request is still buying, a retry gets 409.
#[utoipa::path(
    post, path = "/v1/numbers", tag = "Numbers", operation_id = "buyNumber",
    params(("Idempotency-Key" = String, Header, pattern = "^[!-~]{1,255}$", description = "1–255 visible ASCII characters, unique per purchase")),
    request_body = Buy,
    responses(
        (status = 201, body = Number, links(
            ("getNumber" = (operation_id = "getNumber", parameters(("id" = "$response.body#/id")))),
            ("updateNumber" = (operation_id = "updateNumber", parameters(("id" = "$response.body#/id")))),
            ("releaseNumber" = (operation_id = "releaseNumber", parameters(("id" = "$response.body#/id")))),
        )),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 402, body = Problem, content_type = "application/problem+json", description = "A budget's hard cap refuses the month's rental (nothing bought)"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
        (status = 502, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn buy(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<axum::Json<Buy>, JsonRejection>,
) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Numbers)?;
    let idem = idempotency_key(&headers)?;
    let b = json_body(body)?;
    // The request as it will be bought: a retry must ask for the same thing.
    let e164 = super::phone("number", &b.number, &c.ctx.country)?;
    let name = check_friendly_name(&b.friendly_name)?;
    let request: [u8; 32] = Sha256::digest(format!("{}\n{name}", e164.as_str()).as_bytes()).into();
    if let Some(earlier) = kept_answer(&state.pool, c.key_id, idem).await? {
        return replay(c, earlier, &request).await;
    }
    // The purchase's own key (the buy form's machinery, which settles concurrent duplicates and
    // timeouts): per API key and Idempotency-Key. The `api:` prefix is one the buy form refuses
    // (its keys are letters and digits), so a form post can never take an API purchase's key.
    let digest = Sha256::digest(format!("api:{}:{idem}", c.key_id).as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    let key = format!("api:{hex}");
    let purchase = numbers::Purchase {
        number: e164.as_str(),
        friendly_name: &name,
        key: &key,
    };
    let id = numbers::buy(&c.ctx, purchase).await?;
    let row = numbers::one(&c.ctx, id).await?;
    // A concurrent request with the same Idempotency-Key and another number found this purchase.
    if row.e164 != e164.as_str() {
        return Err(reused_key());
    }
    let answer = serde_json::to_value(Number::from(row))
        .map_err(|_| Problem::from(app::error::AppError::Internal))?;
    keep_answer(&state.pool, c.key_id, idem, &request, 201, &answer).await?;
    Ok(json(StatusCode::CREATED, &answer))
}

/// The purchase's `Idempotency-Key` header, or 400.
fn idempotency_key(headers: &HeaderMap) -> Result<&str, Problem> {
    headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| (0x21..=0x7e).contains(&b)))
        .ok_or_else(|| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "Send an Idempotency-Key header (1–255 visible ASCII characters) with each purchase.",
            )
        })
}

fn reused_key() -> Problem {
    Problem::invalid(
        "Idempotency-Key",
        "This Idempotency-Key was used for another purchase; use a new key.",
    )
}

/// The earlier answer to this Idempotency-Key, while it is still true: a number released since is
/// not bought again under the old key, and another request under the key is refused.
async fn replay(c: &ApiCaller, earlier: KeptAnswer, request: &[u8]) -> Result<Response, Problem> {
    if earlier.request_sha256 != request {
        return Err(reused_key());
    }
    if let Some(id) = earlier.body.get("id").and_then(serde_json::Value::as_i64) {
        if numbers::one(&c.ctx, id).await.is_err() {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "This purchase was made earlier and the number has been released since. Use a new Idempotency-Key to buy it again.",
            ));
        }
    }
    let status = StatusCode::from_u16(earlier.status as u16).unwrap_or(StatusCode::CREATED);
    Ok(json(status, &earlier.body))
}

/// Settings to change; what is left out stays as it is.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Update {
    friendly_name: Option<String>,
    active: Option<bool>,
    /// E.164, or a national number of the org's country; `""` to ring nowhere.
    forward_to: Option<String>,
    record_calls: Option<bool>,
    shared: Option<bool>,
}

/// Change a number's settings.
#[utoipa::path(
    patch, path = "/v1/numbers/{id}", tag = "Numbers", operation_id = "updateNumber",
    params(("id" = i64, Path)),
    request_body = Update,
    responses(
        (status = 200, body = Number),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn update(
    caller: Caller,
    Path(id): Path<String>,
    body: Result<axum::Json<Update>, JsonRejection>,
) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Numbers)?;
    let id = super::path_id(&id)?;
    // Who may change it is checked before the body is read (a 404 hides another's number).
    numbers::editable(&c.ctx, id).await?;
    let u = json_body(body)?;
    let changes = numbers::Changes {
        friendly_name: u.friendly_name,
        active: u.active,
        forward_to: u.forward_to,
        record_calls: u.record_calls,
        shared: u.shared,
    };
    let row = numbers::update(&c.ctx, id, changes).await?;
    Ok(json(StatusCode::OK, &Number::from(row)))
}

#[derive(Serialize, ToSchema)]
pub struct Release {
    id: i64,
    /// `released`, or `releasing` while the provider has not confirmed (PhoneHub retries; the
    /// number is billed until then).
    #[schema(value_type = String)]
    status: &'static str,
    detail: Option<String>,
}

/// Release a number: billing stops when the provider confirms.
#[utoipa::path(
    delete, path = "/v1/numbers/{id}", tag = "Numbers", operation_id = "releaseNumber",
    params(("id" = i64, Path)),
    responses(
        (status = 200, body = Release, description = "Released"),
        (status = 202, body = Release, description = "Releasing: the provider has not confirmed yet"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn release(caller: Caller, Path(id): Path<String>) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Numbers)?;
    let id = super::path_id(&id)?;
    let outcome = numbers::release(&c.ctx, id).await?;
    Ok(match outcome {
        Released::Done => json(
            StatusCode::OK,
            &Release {
                id,
                status: "released",
                detail: None,
            },
        ),
        Released::Pending(why) => json(
            StatusCode::ACCEPTED,
            &Release {
                id,
                status: "releasing",
                detail: Some(why),
            },
        ),
    })
}

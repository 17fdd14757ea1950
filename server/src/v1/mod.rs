//! The public API under `/v1`: JSON, authenticated by an org's API key (`Authorization: Bearer`),
//! the same services and guards as the pages, errors as RFC 9457 `application/problem+json`, a
//! request budget per key (`RateLimit` headers, `429` with `Retry-After`), opaque cursors for
//! lists, RFC 3339 times and money as integer micro-dollars plus a decimal string. The OpenAPI
//! document is generated from these handlers (`doc.rs`).

mod budgets;
mod call_blocks;
mod calls;
mod compliance;
mod destinations;
mod doc;
mod lookups;
mod messages;
mod notifications;
mod numbers;
mod opt_outs;
mod problem;
mod rate;
mod requests;
mod statements;
mod usage;
mod webhooks;

use std::sync::Arc;

use app::model::api_keys::Scope;
use app::model::cursor::Cursor;
use app::ssr::api_keys::{authenticate, ApiCaller, KeyError};
use app::ssr::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::FromRequestParts;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;
use http::request::Parts;
use http::{header, HeaderValue, StatusCode};
use serde::Serialize;
use utoipa::ToSchema;

pub use doc::ApiDoc;
pub use problem::Problem;
pub use rate::RateLimiter;

/// The largest request body `/v1` reads (a message is at most 1,600 characters).
const MAX_BODY: usize = 16 * 1024;

/// Mounted at `/v1`: the document and its human page are public, the rest needs a key.
pub fn routes(state: AppState, limiter: Arc<RateLimiter>) -> Router<AppState> {
    let keyed = Router::new()
        .route("/lookups/{number}", get(lookups::get_lookup))
        .route("/numbers", get(numbers::list).post(numbers::buy))
        .route("/numbers/available", get(numbers::available))
        .route(
            "/numbers/{id}",
            get(numbers::get_one)
                .patch(numbers::update)
                .delete(numbers::release),
        )
        .route("/calls", get(calls::list).post(calls::place))
        .route("/calls/{id}", get(calls::get_one))
        .route("/calls/{id}/recordings/{rid}", get(calls::recording))
        .route("/messages", get(messages::list).post(messages::send))
        .route("/messages/{id}", get(messages::get_one))
        .route("/messages/{id}/cancel", post(messages::cancel))
        .route("/usage", get(usage::get_usage))
        .route("/statements", get(statements::list))
        .route("/statements/{id}", get(statements::get_one))
        .route("/budgets", get(budgets::list).post(budgets::set))
        .route(
            "/budgets/{id}",
            get(budgets::get_one).delete(budgets::delete),
        )
        .route("/budgets/{id}/overrides", post(budgets::grant_override))
        .route(
            "/destinations",
            get(destinations::get_rules).put(destinations::set_rules),
        )
        .route("/destinations/pauses", get(destinations::list_pauses))
        .route(
            "/destinations/pauses/{id}/resume",
            post(destinations::resume),
        )
        .route(
            "/recording-consent",
            get(compliance::get_consent).put(compliance::set_consent),
        )
        .route(
            "/retention",
            get(compliance::get_retention).put(compliance::set_retention),
        )
        .route("/retention/runs", get(compliance::list_runs))
        .route(
            "/data-requests/{number}",
            get(requests::get_one).delete(requests::erase),
        )
        .route("/data-requests/{number}/export", get(requests::export))
        .route(
            "/quiet-hours",
            get(compliance::get_quiet_hours).put(compliance::set_quiet_hours),
        )
        .route(
            "/call-blocking",
            get(call_blocks::get_blocking).put(call_blocks::set_blocking),
        )
        .route("/call-blocking/entries", post(call_blocks::add))
        .route(
            "/call-blocking/entries/{id}",
            axum::routing::delete(call_blocks::remove),
        )
        .route("/opt-outs", get(opt_outs::list).post(opt_outs::add))
        .route(
            "/opt-outs/{number}",
            get(opt_outs::get_one).delete(opt_outs::remove),
        )
        .route(
            "/opt-out-replies",
            get(opt_outs::get_replies).put(opt_outs::set_replies),
        )
        .route("/notifications", get(notifications::list))
        .route("/webhooks", get(webhooks::list).post(webhooks::add))
        .route(
            "/webhooks/{id}",
            get(webhooks::get_one).delete(webhooks::delete),
        )
        .route("/webhooks/{id}/deliveries", get(webhooks::deliveries))
        .route_layer(axum::middleware::from_fn(traced))
        .fallback(|| async { Problem::not_found() })
        .layer(axum::middleware::from_fn_with_state(
            (state, limiter),
            rate::limit,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY));
    Router::new()
        .route("/openapi.json", get(doc::openapi_json))
        .route("/docs", get(doc::docs_page))
        .merge(keyed)
        .layer(axum::middleware::map_response(problems_everywhere))
        .layer(crate::assets::compression())
}

/// Every `/v1` request in a span named by its route (as the pages' server functions are by their
/// name): its method, route and answer; server errors logged as errors, refusals at debug.
async fn traced(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    use tracing::Instrument;
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let span = tracing::info_span!("v1", method = %req.method(), route = %route);
    let res = next.run(req).instrument(span.clone()).await;
    let status = res.status().as_u16();
    let _in = span.enter();
    if res.status().is_server_error() {
        tracing::error!(status, "answered");
    } else {
        tracing::debug!(status, "answered");
    }
    res
}

/// The caller behind the request's key, checked once per request (the rate limiter reads it
/// first). Every refusal is a problem document.
#[derive(Clone)]
pub struct Caller(pub Arc<ApiCaller>);

impl Caller {
    /// The key's scope `scope`, or 403.
    pub fn needs(&self, scope: Scope) -> Result<&ApiCaller, Problem> {
        if self.0.has(scope) {
            Ok(&self.0)
        } else {
            Err(Problem::forbidden(format!(
                "This API key does not have the `{scope}` scope."
            )))
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        if let Some(c) = parts.extensions.get::<Caller>() {
            return Ok(c.clone());
        }
        let ip = app::ssr::client_ip_of(parts, state.trust_proxy);
        match authenticate(state, bearer(&parts.headers).as_deref(), ip).await {
            Ok(c) => {
                let c = Caller(Arc::new(c));
                parts.extensions.insert(c.clone());
                Ok(c)
            }
            Err(KeyError::Refused(r)) => Err(Problem::unauthorized(r.detail())),
            Err(KeyError::Failed(e)) => Err(Problem::from(e)),
        }
    }
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer(headers: &http::HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

/// A path id: one that is not a number names nothing, the same 404 as another org's id.
pub fn path_id(raw: &str) -> Result<i64, Problem> {
    raw.parse().map_err(|_| Problem::not_found())
}

/// A phone number typed in `field` (E.164, or national in the org's `country` as on the pages),
/// or a 422 on that field.
pub fn phone(field: &str, raw: &str, country: &str) -> Result<telephony::E164, Problem> {
    telephony::E164::parse(raw, Some(country)).map_err(|e| Problem::invalid(field, e.to_string()))
}

/// JSON answers are one key's view: never kept by a shared cache.
pub fn private(mut res: Response) -> Response {
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    res
}

/// A JSON answer with a status, private.
pub fn json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    use axum::response::IntoResponse;
    private((status, axum::Json(body)).into_response())
}

/// Money in the API (named `Money` in the document; `model::money::Money` is the amount itself):
/// integer micro-dollars and the same amount as a decimal string of dollars.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Money)]
pub struct ApiMoney {
    /// Micro-dollars (1,000,000 = $1).
    pub micros: i64,
    /// The same amount in dollars, six decimals, e.g. `"0.005000"`.
    pub decimal: String,
}

impl ApiMoney {
    pub fn micros(micros: i64) -> ApiMoney {
        let sign = if micros < 0 { "-" } else { "" };
        let m = micros.unsigned_abs();
        ApiMoney {
            micros,
            decimal: format!("{sign}{}.{:06}", m / 1_000_000, m % 1_000_000),
        }
    }
}

/// A JSON request body, or the problem saying what is wrong with it: a body that does not fit the
/// schema is a 422 naming the field (as the API's own checks do), one over the size limit 413.
pub fn json_body<T>(body: Result<axum::Json<T>, JsonRejection>) -> Result<T, Problem> {
    match body {
        Ok(axum::Json(t)) => Ok(t),
        Err(JsonRejection::JsonDataError(e)) => Err(schema_problem(&e, &e.body_text())),
        Err(JsonRejection::MissingJsonContentType(_)) => Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Send the body as JSON with `Content-Type: application/json`.",
        )),
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("The request body is larger than {MAX_BODY} bytes."),
        )),
        Err(e) => Err(Problem::new(StatusCode::BAD_REQUEST, e.body_text())),
    }
}

/// The 422 for a body or query that does not fit its type: the field the parser stopped at (its
/// path, or the name in "unknown field `x`" / "missing field `x`") and the parser's sentence.
fn schema_problem(err: &(dyn std::error::Error + 'static), fallback: &str) -> Problem {
    type JsonPathError = serde_path_to_error::Error<serde_json::Error>;
    type QueryPathError = serde_path_to_error::Error<serde_urlencoded::de::Error>;
    let mut source = Some(err);
    let mut found = None;
    while let Some(e) = source {
        if let Some(p) = e.downcast_ref::<JsonPathError>() {
            found = Some((p.path().to_string(), p.inner().to_string()));
            break;
        }
        if let Some(p) = e.downcast_ref::<QueryPathError>() {
            found = Some((p.path().to_string(), p.inner().to_string()));
            break;
        }
        source = e.source();
    }
    let (path, detail) = found.unwrap_or_else(|| (".".to_string(), fallback.to_string()));
    let detail = detail
        .split(" at line ")
        .next()
        .unwrap_or(&detail)
        .to_string();
    Problem::invalid(&field_of(&path, &detail), detail)
}

/// Which field a parser's error is about.
fn field_of(path: &str, detail: &str) -> String {
    let named = ["unknown field `", "missing field `"]
        .iter()
        .find_map(|p| detail.strip_prefix(p))
        .and_then(|rest| rest.split('`').next())
        .filter(|n| !n.is_empty());
    let prefix = path.trim_matches('.');
    match named {
        Some(n) if prefix.is_empty() || prefix == n => n.to_string(),
        Some(n) => format!("{prefix}.{n}"),
        None if prefix.is_empty() => "body".to_string(),
        None => prefix.to_string(),
    }
}

/// Every error answer under `/v1` is a problem document: those made outside the handlers (a
/// method the path does not support, a body over the limit) are rewritten here.
pub async fn problems_everywhere(res: Response) -> Response {
    use axum::response::IntoResponse;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if is_problem {
        return res;
    }
    let detail = match status {
        StatusCode::METHOD_NOT_ALLOWED => match res
            .headers()
            .get(header::ALLOW)
            .and_then(|v| v.to_str().ok())
            .filter(|a| !a.is_empty())
        {
            Some(allow) => format!("This path does not support that method; it supports {allow}."),
            None => "This path does not support that method (see the API document).".to_string(),
        },
        StatusCode::PAYLOAD_TOO_LARGE => {
            format!("The request body is larger than {MAX_BODY} bytes.")
        }
        s => s.canonical_reason().unwrap_or("Error").to_string(),
    };
    let allow = res.headers().get(header::ALLOW).cloned();
    let mut out = Problem::new(status, detail).into_response();
    if let Some(a) = allow {
        out.headers_mut().insert(header::ALLOW, a);
    }
    out
}

/// A query parameter given empty is refused (the document says what each one holds; absent and
/// empty are not the same).
pub fn present(field: &str, v: Option<String>) -> Result<Option<String>, Problem> {
    match v {
        Some(s) if s.trim().is_empty() => Err(Problem::invalid(
            field,
            format!("`{field}` is empty: leave it out or give a value."),
        )),
        v => Ok(v),
    }
}

/// The query string parsed into `T`, or a 422 naming the parameter that is wrong.
pub fn query<T: serde::de::DeserializeOwned>(raw: Option<&str>) -> Result<T, Problem> {
    let raw = raw.unwrap_or("");
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(raw.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let detail = format!("The query string is not valid: {}.", e.inner());
        Problem::invalid(
            &field_of(&e.path().to_string(), &e.inner().to_string()),
            detail,
        )
    })
}

/// One page of a list, newest first; `next_cursor` fetches the next one (absent on the last).
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Rows per page unless `limit` says otherwise (1–100).
const DEFAULT_LIMIT: i64 = 50;

pub fn limit(raw: Option<i64>) -> Result<i64, Problem> {
    match raw {
        None => Ok(DEFAULT_LIMIT),
        Some(n @ 1..=100) => Ok(n),
        Some(_) => Err(Problem::invalid("limit", "Ask for between 1 and 100 rows.")),
    }
}

/// Cursors are opaque: the keyset position, base64url. Anything else is a 422 on `cursor`.
pub fn encode_cursor(c: Cursor) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(c.to_string())
}

pub fn decode_cursor(raw: Option<&str>) -> Result<Option<Cursor>, Problem> {
    let Some(raw) = raw.filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let bad = || Problem::invalid("cursor", "This cursor is not one PhoneHub gave out.");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    text.parse().map(Some).map_err(|_| bad())
}

/// Splits one extra row off a page read with `limit + 1`: the rows and the next page's cursor.
pub fn paginate<R, T>(
    mut rows: Vec<R>,
    limit: i64,
    cursor_of: impl Fn(&R) -> Cursor,
    out: impl Fn(R) -> T,
) -> (Vec<T>, Option<String>) {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next = more
        .then(|| rows.last().map(|r| encode_cursor(cursor_of(r))))
        .flatten();
    (rows.into_iter().map(out).collect(), next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_micros_and_a_decimal_string() {
        assert_eq!(ApiMoney::micros(5000).decimal, "0.005000");
        assert_eq!(ApiMoney::micros(12_345_678).decimal, "12.345678");
        assert_eq!(ApiMoney::micros(-1).decimal, "-0.000001");
        assert_eq!(ApiMoney::micros(0).decimal, "0.000000");
    }

    #[test]
    fn cursors_read_back_and_anything_else_is_refused() {
        let c = Cursor {
            micros: 1_700_000_000_000_000,
            id: 42,
        };
        assert_eq!(decode_cursor(Some(&encode_cursor(c))).unwrap(), Some(c));
        assert_eq!(decode_cursor(None).unwrap(), None);
        for bad in ["x", "MTcwMA", "!!", &encode_cursor(c)[1..]] {
            let p = decode_cursor(Some(bad)).unwrap_err();
            assert_eq!(p.status, 422, "{bad}");
        }
    }
}

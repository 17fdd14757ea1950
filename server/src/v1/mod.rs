//! The public API under `/v1`: JSON, authenticated by an org's API key (`Authorization: Bearer`),
//! the same services and guards as the pages, errors as RFC 9457 `application/problem+json`, and
//! a request budget per key (`RateLimit` headers, `429` with `Retry-After`).

mod lookups;
mod messages;
mod numbers;
mod problem;
mod rate;
mod usage;

use std::sync::Arc;

use app::model::api_keys::Scope;
use app::ssr::api_keys::{authenticate, ApiCaller, AuthError};
use app::ssr::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::FromRequestParts;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use http::request::Parts;
use http::{header, HeaderValue};

pub use problem::Problem;
pub use rate::RateLimiter;

/// The largest request body `/v1` reads (a message is at most 1,600 characters).
const MAX_BODY: usize = 16 * 1024;

/// Mounted at `/v1`.
pub fn routes(state: AppState, limiter: Arc<RateLimiter>) -> Router<AppState> {
    Router::new()
        .route("/lookups/{number}", get(lookups::get_lookup))
        .route("/numbers", get(numbers::list))
        .route("/numbers/{id}", get(numbers::get_one))
        .route("/messages", post(messages::send))
        .route("/usage", get(usage::get_usage))
        .fallback(|| async { Problem::not_found() })
        .layer(axum::middleware::from_fn_with_state(
            (state, limiter),
            rate::limit,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .layer(crate::assets::compression())
}

/// The caller behind the request's key, checked once per request (the rate limiter also reads
/// it). Every refusal is a problem document.
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
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.trim().split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then(|| token.trim().to_string())
            });
        match authenticate(state, bearer.as_deref()).await {
            Ok(c) => {
                let c = Caller(Arc::new(c));
                parts.extensions.insert(c.clone());
                Ok(c)
            }
            Err(AuthError::Refused(r)) => Err(Problem::unauthorized(r.detail())),
            Err(AuthError::Failed(e)) => Err(Problem::from(e)),
        }
    }
}

/// JSON answers are never cached by a shared cache: they are one key's view.
pub fn private(mut res: Response) -> Response {
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    res
}

/// Money in the API: integer micro-dollars and the same amount as a decimal string.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Money {
    pub micros: i64,
    pub decimal: String,
}

impl Money {
    pub fn micros(micros: i64) -> Money {
        let sign = if micros < 0 { "-" } else { "" };
        let m = micros.unsigned_abs();
        Money {
            micros,
            decimal: format!("{sign}{}.{:06}", m / 1_000_000, m % 1_000_000),
        }
    }
}

pub fn rfc3339(t: time::OffsetDateTime) -> Option<String> {
    t.format(&time::format_description::well_known::Rfc3339)
        .ok()
}

/// A JSON request body, or the problem saying what is wrong with it.
pub fn json_body<T>(body: Result<axum::Json<T>, JsonRejection>) -> Result<T, Problem> {
    match body {
        Ok(axum::Json(t)) => Ok(t),
        Err(JsonRejection::JsonDataError(e)) => Err(Problem::new(
            http::StatusCode::UNPROCESSABLE_ENTITY,
            e.body_text(),
        )),
        Err(JsonRejection::MissingJsonContentType(_)) => Err(Problem::new(
            http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Send the body as JSON with `Content-Type: application/json`.",
        )),
        Err(e) => Err(Problem::new(http::StatusCode::BAD_REQUEST, e.body_text())),
    }
}

#[cfg(test)]
mod tests {
    use super::Money;

    #[test]
    fn money_is_micros_and_a_decimal_string() {
        assert_eq!(Money::micros(5000).decimal, "0.005000");
        assert_eq!(Money::micros(12_345_678).decimal, "12.345678");
        assert_eq!(Money::micros(-1).decimal, "-0.000001");
        assert_eq!(Money::micros(0).decimal, "0.000000");
    }
}

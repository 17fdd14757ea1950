//! RFC 9457 problem details: every `/v1` error, with the field for validation errors.

use app::error::AppError;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
use serde::Serialize;
use utoipa::ToSchema;

/// An RFC 9457 problem document (`application/problem+json`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub kind: &'static str,
    #[schema(value_type = String)]
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    /// For invalid input: which fields, and what is wrong with each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

/// One invalid field: its name as the request spells it (a JSON member or query parameter).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub detail: String,
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Problem {
        let (kind, title) = match status.as_u16() {
            400 => ("https://phonehub.dev/problems/bad-request", "Bad request"),
            401 => ("https://phonehub.dev/problems/unauthorized", "Unauthorized"),
            402 => ("https://phonehub.dev/problems/budget", "Budget reached"),
            403 => ("https://phonehub.dev/problems/forbidden", "Forbidden"),
            404 => ("https://phonehub.dev/problems/not-found", "Not found"),
            405 => (
                "https://phonehub.dev/problems/method-not-allowed",
                "Method not allowed",
            ),
            409 => ("https://phonehub.dev/problems/conflict", "Conflict"),
            413 => (
                "https://phonehub.dev/problems/too-large",
                "Request too large",
            ),
            415 => (
                "https://phonehub.dev/problems/media-type",
                "Unsupported media type",
            ),
            422 => ("https://phonehub.dev/problems/invalid", "Invalid request"),
            429 => (
                "https://phonehub.dev/problems/rate-limited",
                "Too many requests",
            ),
            502 => ("https://phonehub.dev/problems/provider", "Provider error"),
            503 => ("https://phonehub.dev/problems/unavailable", "Unavailable"),
            _ => ("about:blank", "Internal error"),
        };
        Problem {
            kind,
            title,
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    pub fn unauthorized(detail: &str) -> Problem {
        Problem::new(StatusCode::UNAUTHORIZED, detail)
    }

    pub fn forbidden(detail: String) -> Problem {
        Problem::new(StatusCode::FORBIDDEN, detail)
    }

    pub fn not_found() -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "There is nothing here.")
    }

    /// 429 with `Retry-After: reset` (seconds).
    pub fn too_many(detail: String, reset: u64) -> Problem {
        let mut p = Problem::new(StatusCode::TOO_MANY_REQUESTS, detail);
        p.retry_after = Some(reset);
        p
    }

    /// 403 for a call or text the org's destination rules refuse: its own type, so code can tell
    /// it from a key's missing scope or a member's missing rights.
    pub fn destination(detail: String) -> Problem {
        let mut p = Problem::new(StatusCode::FORBIDDEN, detail);
        p.kind = "https://phonehub.dev/problems/destination";
        p.title = "Destination refused";
        p
    }

    /// A text to someone opted out of the org's texts.
    pub fn opted_out(detail: String) -> Problem {
        let mut p = Problem::new(StatusCode::FORBIDDEN, detail);
        p.kind = "https://phonehub.dev/problems/opted-out";
        p.title = "Recipient opted out";
        p
    }

    pub fn invalid(field: &str, detail: impl Into<String>) -> Problem {
        let detail = detail.into();
        let mut p = Problem::new(StatusCode::UNPROCESSABLE_ENTITY, detail.clone());
        p.errors.push(FieldError {
            field: field.to_string(),
            detail,
        });
        p
    }
}

impl From<AppError> for Problem {
    fn from(e: AppError) -> Problem {
        match e {
            AppError::Validation { field, message } => Problem::invalid(&field, message),
            AppError::Unauthenticated => Problem::unauthorized("Send your API key."),
            AppError::NotFound => Problem::not_found(),
            AppError::DestinationRefused(detail) => Problem::destination(detail),
            AppError::OptedOut(detail) => Problem::opted_out(detail),
            e => {
                let status =
                    StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                Problem::new(status, e.to_string())
            }
        }
    }
}

impl From<sqlx::Error> for Problem {
    fn from(e: sqlx::Error) -> Problem {
        AppError::from(e).into()
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut res = (status, axum::Json(&self)).into_response();
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if status == StatusCode::UNAUTHORIZED {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"PhoneHub API\""),
            );
        }
        if let Some(s) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        res
    }
}

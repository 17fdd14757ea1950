//! Twilio's error answers, both shapes (api v2010's `{code, message, more_info, status}` and the
//! newer APIs' `{type, title, status, detail}`), read bounded into provider-neutral errors.

use reqwest::StatusCode;
use serde::Deserialize;

use crate::http;
use crate::provider::ProviderError;

/// Both error shapes Twilio uses: `{code, message, more_info, status}` and RFC 9457
/// (`{type, title, status, detail}`, sometimes with `code`).
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    code: Option<u32>,
    message: Option<String>,
    more_info: Option<String>,
    title: Option<String>,
    detail: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// The provider-neutral error for a failed answer: its status, Twilio's code and sentence, and
/// `Retry-After` when rate limited.
pub(super) async fn error_from(res: reqwest::Response) -> ProviderError {
    let status = res.status();
    let retry_after_secs = res
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(http::retry_after_secs);
    // An error body only adds detail: too large or unreadable, it counts as empty.
    let body: ErrorBody = http::read_capped(res, http::MAX_ERROR_BODY_BYTES)
        .await
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let message = body
        .message
        .or(body.detail)
        .or(body.title)
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
    let more_info = body.more_info.or(body.kind);
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
            if body.code.is_none_or(|c| c == 20003) =>
        {
            ProviderError::Auth {
                code: body.code,
                message,
            }
        }
        StatusCode::NOT_FOUND => ProviderError::NotFound {
            code: body.code,
            message,
        },
        StatusCode::TOO_MANY_REQUESTS => ProviderError::RateLimited { retry_after_secs },
        s if s.is_server_error() => ProviderError::Server {
            status: s.as_u16(),
            message,
        },
        s => ProviderError::Rejected {
            status: s.as_u16(),
            code: body.code,
            message,
            more_info,
        },
    }
}

//! Twilio's REST conventions that every resource shares: errors, form fields, pages, prices, SIDs.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::Sandbox;

/// The current time as Twilio's resources write it (RFC 2822).
pub(super) fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc2822)
        .unwrap_or_default()
}

/// A day as Twilio's usage records write it: `YYYY-MM-DD`.
pub(super) fn ymd(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Today (UTC, real wall-clock time like [`now`]) as `YYYY-MM-DD`: the day usage is billed on.
pub(super) fn today() -> String {
    ymd(time::OffsetDateTime::now_utc().date())
}

pub(super) fn new_sid(prefix: &str) -> String {
    format!("{prefix}{:032x}", rand::random::<u128>())
}

/// Micro-dollars to Twilio's price string ("-0.00850").
pub(super) fn price(micros: i64) -> String {
    format!("-{}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

/// A Twilio error answer: `{code, message, more_info, status}`.
pub(super) fn twilio_error(status: StatusCode, code: u32, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({
            "code": code,
            "message": message.into(),
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status.as_u16(),
        })),
    )
        .into_response()
}

/// A Twilio error answer to be sent (see [`twilio_error`]), for helpers that hand it back.
pub(super) struct ApiError {
    status: StatusCode,
    code: u32,
    message: String,
}

impl ApiError {
    pub(super) fn new(status: StatusCode, code: u32, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        twilio_error(self.status, self.code, self.message)
    }
}

pub(super) fn not_found() -> Response {
    twilio_error(
        StatusCode::NOT_FOUND,
        20404,
        "The requested resource was not found",
    )
}

/// Reads a form body keeping repeated fields (StatusCallbackEvent).
pub(super) fn form(body: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

pub(super) fn field(form: &[(String, String)], name: &str) -> Option<String> {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

pub(super) fn strip_json(s: &str) -> Option<&str> {
    s.strip_suffix(".json")
}

pub(super) fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// One page of a list resource (`PageSize`, `Page`), under `key`, with Twilio's paging fields.
pub(super) fn page_json(
    sb: &Sandbox,
    key: &str,
    path: &str,
    items: Vec<Value>,
    q: &[(String, String)],
) -> Value {
    page_json_keeping(sb, key, path, items, q, &[])
}

/// As [`page_json`], with the query parameters named in `keep` (the list's filters) carried into
/// the page URIs, so that the next page is of the same list.
pub(super) fn page_json_keeping(
    sb: &Sandbox,
    key: &str,
    path: &str,
    items: Vec<Value>,
    q: &[(String, String)],
    keep: &[&str],
) -> Value {
    let size: usize = field(q, "PageSize")
        .and_then(|p| p.parse().ok())
        .unwrap_or(50)
        .clamp(1, 1000);
    let page: usize = field(q, "Page").and_then(|p| p.parse().ok()).unwrap_or(0);
    let total = items.len();
    let start = page.saturating_mul(size).min(total);
    let slice: Vec<Value> = items.into_iter().skip(start).take(size).collect();
    let mut filters = url::form_urlencoded::Serializer::new(String::new());
    for k in keep {
        if let Some(v) = field(q, k) {
            filters.append_pair(k, &v);
        }
    }
    let mut filters = filters.finish();
    if !filters.is_empty() {
        filters.push('&');
    }
    // Absolute: the spec declares these `format: uri` (Twilio itself sends paths).
    let uri = |p: usize| {
        sb.absolute(&sb.account_uri(&format!("{path}?{filters}PageSize={size}&Page={p}")))
    };
    let next = (start + size < total).then(|| uri(page + 1));
    json!({
        key: slice, "end": start + size.min(total - start).max(1) - 1, "first_page_uri": uri(0),
        "next_page_uri": next, "page": page, "page_size": size,
        "previous_page_uri": (page > 0).then(|| uri(page - 1)), "start": start, "uri": uri(page),
    })
}

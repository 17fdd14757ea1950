//! The Account resource: the one account the sandbox has.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::rest::{not_found, now, strip_json};
use super::Shared;

pub(super) async fn fetch_account(
    State(sb): State<Shared>,
    Path(account): Path<String>,
) -> Response {
    sb.count("FetchAccount");
    if strip_json(&account) != Some(sb.cfg.account_sid.as_str()) {
        return not_found();
    }
    let d = now();
    Json(json!({
        "auth_token": null, "date_created": d, "date_updated": d,
        "friendly_name": "PhoneHub sandbox", "owner_account_sid": sb.cfg.account_sid,
        "sid": sb.cfg.account_sid, "status": "active", "type": "Full",
        "subresource_uris": {}, "uri": sb.account_uri(".json"),
    }))
    .into_response()
}

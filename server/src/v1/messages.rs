//! `POST /v1/messages`: sends an SMS as the key's member, exactly as the SMS page does (their
//! senders, the hourly limit, test mode recorded and not sent).

use app::model::api_keys::Scope;
use app::ssr::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde::{Deserialize, Serialize};

use super::{json_body, private, Caller, Problem};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendMessage {
    /// One of the member's SMS-capable numbers, or the org's configured sender.
    from: String,
    to: String,
    body: String,
}

#[derive(Serialize)]
struct Sent {
    id: i64,
    from: String,
    to: String,
}

pub async fn send(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<axum::Json<SendMessage>, JsonRejection>,
) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Messages)?;
    let ctx = &c.ctx;
    let m = json_body(body)?;
    app::api::sms::check_body(&m.body)?;
    let to = telephony::E164::parse(&m.to, Some("US"))
        .map_err(|e| Problem::invalid("to", e.to_string()))?;
    let from = m.from.trim();
    if from.is_empty() {
        return Err(Problem::invalid("from", "Name the number to send from."));
    }
    let id = app::ssr::sms::send(&state, ctx.org_id, ctx.user.id, from, &to, &m.body)
        .await
        .map_err(|e| Problem::from(app::api::words::sms(&e)))?;
    let sent = Sent {
        id,
        from: from.to_string(),
        to: to.as_str().to_string(),
    };
    Ok(private(
        (StatusCode::CREATED, axum::Json(sent)).into_response(),
    ))
}

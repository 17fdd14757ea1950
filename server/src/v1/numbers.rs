//! `GET /v1/numbers` and `GET /v1/numbers/{id}`: the numbers the key's member may see (theirs and
//! shared ones; an owner's or admin's key: all of the org's).

use app::model::api_keys::Scope;
use app::model::numbers::{NumberRow, NumberStatus};
use app::ssr::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::{private, Caller, Problem};

#[derive(Serialize)]
pub struct NumberOut {
    id: i64,
    number: String,
    friendly_name: String,
    owner: String,
    /// `purchasing`, `active`, `inactive`, `releasing`, `released` or `failed`.
    status: &'static str,
    forward_to: String,
    record_calls: bool,
    shared: bool,
    voice: bool,
    sms: bool,
    /// Whether this key's member may change and release it.
    can_edit: bool,
}

impl From<NumberRow> for NumberOut {
    fn from(n: NumberRow) -> NumberOut {
        NumberOut {
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

#[derive(Serialize)]
struct NumberList {
    data: Vec<NumberOut>,
}

pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Numbers)?;
    let ctx = &c.ctx;
    let rows = app::ssr::numbers::list(
        &state.pool,
        ctx.org_id,
        ctx.user.id,
        ctx.access.oversees(),
        None,
    )
    .await?;
    let data = rows.into_iter().map(NumberOut::from).collect();
    Ok(private(axum::Json(NumberList { data }).into_response()))
}

pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Numbers)?;
    let ctx = &c.ctx;
    // Not a number id, another org's number, one the member may not see: all 404.
    let id: i64 = id.parse().map_err(|_| Problem::not_found())?;
    let row = app::ssr::numbers::list(
        &state.pool,
        ctx.org_id,
        ctx.user.id,
        ctx.access.oversees(),
        Some(id),
    )
    .await?
    .into_iter()
    .next()
    .ok_or_else(Problem::not_found)?;
    Ok(private(axum::Json(NumberOut::from(row)).into_response()))
}

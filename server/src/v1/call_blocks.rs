//! Call blocking, as on the call-blocking page: callers refused before anything rings (numbers,
//! prefixes, hidden numbers) and the do-not-call list a call is checked against before the
//! provider is asked. Scope `calls`; changes need a key acting as an owner or admin.

use app::model::api_keys::Scope;
use app::model::call_blocks::{BlockEntry, BlockList};
use app::ssr::call_blocks;
use axum::extract::rejection::JsonRejection;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{json, json_body, private, Caller, Problem};

/// An entry of one of the lists.
#[derive(Serialize, ToSchema)]
pub struct CallBlock {
    id: i64,
    /// `blocked` (callers refused before their call rings) or `do_not_call` (numbers nobody in
    /// the org may call).
    #[schema(value_type = String, example = "blocked")]
    list: &'static str,
    /// E.164, or the start of one when `prefix` is true.
    number: String,
    prefix: bool,
    note: String,
    /// The e-mail of who added it.
    added_by: Option<String>,
    /// RFC 3339.
    added_at: String,
}

impl From<BlockEntry> for CallBlock {
    fn from(e: BlockEntry) -> CallBlock {
        CallBlock {
            id: e.id,
            list: e.list.as_str(),
            number: e.pattern,
            prefix: e.is_prefix,
            note: e.note,
            added_by: e.by,
            added_at: e.added_rfc3339,
        }
    }
}

/// The org's call blocking.
#[derive(Serialize, ToSchema)]
pub struct CallBlocking {
    /// Whether callers who hide their number are refused.
    block_anonymous: bool,
    blocked: Vec<CallBlock>,
    do_not_call: Vec<CallBlock>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetCallBlocking {
    block_anonymous: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddCallBlock {
    /// `blocked` or `do_not_call`.
    list: String,
    /// A number (E.164, or national in the org's country), or a prefix: "+" and its first
    /// digits followed by "*" ("+1900*").
    number: String,
    /// At most 200 characters, one line.
    #[serde(default)]
    note: Option<String>,
}

async fn blocking(ctx: &app::ssr::guard::OrgCtx) -> Result<CallBlocking, Problem> {
    let page = call_blocks::page(ctx).await?;
    Ok(CallBlocking {
        block_anonymous: page.block_anonymous,
        blocked: page.blocked.into_iter().map(CallBlock::from).collect(),
        do_not_call: page.do_not_call.into_iter().map(CallBlock::from).collect(),
    })
}

/// The lists and whether hidden numbers are refused.
#[utoipa::path(
    get, path = "/v1/call-blocking", tag = "Call blocking", operation_id = "getCallBlocking",
    responses(
        (status = 200, body = CallBlocking),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn get_blocking(caller: Caller) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Calls)?;
    Ok(json(StatusCode::OK, &blocking(&c.ctx).await?))
}

/// Turn refusing callers who hide their number on or off (keys acting as an owner or admin).
#[utoipa::path(
    put, path = "/v1/call-blocking", tag = "Call blocking", operation_id = "setCallBlocking",
    request_body = SetCallBlocking,
    responses(
        (status = 200, body = CallBlocking, description = "Saved"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn set_blocking(
    caller: Caller,
    body: Result<axum::Json<SetCallBlocking>, JsonRejection>,
) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Calls)?;
    c.ctx.must_manage()?;
    let b = json_body(body)?;
    call_blocks::set_block_anonymous(&c.ctx, b.block_anonymous).await?;
    Ok(json(StatusCode::OK, &blocking(&c.ctx).await?))
}

/// Add a number or prefix to a list (keys acting as an owner or admin).
#[utoipa::path(
    post, path = "/v1/call-blocking/entries", tag = "Call blocking", operation_id = "addCallBlock",
    request_body = AddCallBlock,
    responses(
        (status = 201, body = CallBlock, description = "Added"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "Already on the list"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn add(
    caller: Caller,
    body: Result<axum::Json<AddCallBlock>, JsonRejection>,
) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Calls)?;
    c.ctx.must_manage()?;
    let b = json_body(body)?;
    let list = BlockList::parse(&b.list).ok_or_else(|| {
        app::error::AppError::validation("list", "Use \"blocked\" or \"do_not_call\".")
    })?;
    let e = call_blocks::add(&c.ctx, list, &b.number, b.note.as_deref().unwrap_or("")).await?;
    Ok(json(StatusCode::CREATED, &CallBlock::from(e)))
}

/// Remove an entry (keys acting as an owner or admin).
#[utoipa::path(
    delete, path = "/v1/call-blocking/entries/{id}", tag = "Call blocking", operation_id = "removeCallBlock",
    params(("id" = i64, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn remove(caller: Caller, Path(id): Path<String>) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Calls)?;
    c.ctx.must_manage()?;
    call_blocks::remove(&c.ctx, super::path_id(&id)?).await?;
    Ok(private(StatusCode::NO_CONTENT.into_response()))
}

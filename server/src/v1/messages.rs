//! Messages: send an SMS as the key's member, exactly as the SMS page does (their senders, the
//! hourly limit, the destination rules, test mode recorded and not sent, held while its
//! destination is paused); list and read the messages they may see.

use app::model::api_keys::Scope;
use app::model::cursor::Cursor;
use app::ssr::format::rfc3339;
use app::ssr::sms::MessageRecord;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, RawQuery};
use axum::response::Response;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{json, json_body, paginate, query, ApiMoney, Caller, Page, Problem};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessage {
    /// One of the member's SMS-capable numbers (E.164), or the org's configured sender.
    from: String,
    /// E.164, or a national number of the org's country.
    to: String,
    /// 1–1,600 characters.
    #[schema(min_length = 1, max_length = 1600)]
    body: String,
    /// Send now even in the recipient's quiet hours (owners, admins, and members an admin
    /// allowed; audited). Otherwise a text written outside their window is `scheduled`.
    #[serde(default)]
    urgent: bool,
}

#[derive(Serialize, ToSchema)]
pub struct Message {
    id: i64,
    /// `outbound` or `inbound`.
    direction: String,
    /// Our number.
    ours: String,
    /// The other party.
    other: String,
    body: String,
    segments: i32,
    /// `queued`, `sending`, `sent`, `delivered`, `failed`, `undelivered`, `received`, `held`
    /// (not sent: its destination is paused by the velocity rule until an owner or admin resumes
    /// it, then it is sent), `scheduled` (written in the recipient's quiet hours: sent at
    /// `send_after`) or `canceled` (a scheduled text canceled before it went).
    status: String,
    /// A scheduled text: when the recipient's window opens (RFC 3339).
    send_after: Option<String>,
    /// Recorded under the configuration's test mode: never sent.
    test: bool,
    error: Option<String>,
    cost: ApiMoney,
    /// RFC 3339.
    created_at: String,
}

impl From<MessageRecord> for Message {
    fn from(m: MessageRecord) -> Message {
        Message {
            id: m.id,
            direction: m.direction,
            ours: m.our_e164,
            other: m.other_e164,
            body: m.body,
            segments: m.segments,
            status: m.status.as_str().to_string(),
            send_after: m.send_after.map(rfc3339),
            test: m.is_test,
            error: m.error_message,
            cost: ApiMoney::micros(m.cost_micros),
            created_at: rfc3339(m.created_at),
        }
    }
}

/// Send an SMS.
///
/// Before anything is sent, the org's destination rules apply: a premium-rate or special range,
/// a country the org does not allow, or a price over its maximum is a 403 of type
/// `https://phonehub.dev/problems/destination`. Too many texts to one destination within an hour
/// pause it: the message is kept with status `held` (202) and sent when an owner or admin resumes
/// the destination. A recipient who opted out of the org's texts (replied STOP, or is on the
/// org's opt-out list) is a 403 of type `https://phonehub.dev/problems/opted-out`, and nothing is
/// sent (a text found opted out only at the last check, on the provider's own list or after a
/// STOP that arrived meanwhile, is kept as `failed`, saying why, and costs nothing). A text
/// written outside the recipient's sending window (the org's quiet hours, in their local time) is
/// kept with status `scheduled` (202) and sent when the window opens, unless it is `urgent`.
#[utoipa::path(
    post, path = "/v1/messages", tag = "Messages", operation_id = "sendMessage",
    request_body = SendMessage,
    responses(
        (status = 201, body = Message, links(
            ("getMessage" = (operation_id = "getMessage", parameters(("id" = "$response.body#/id")))),
        )),
        (status = 202, body = Message, description = "Not sent yet: held while its destination is paused by the velocity rule (status `held`; sent when an owner or admin resumes it), or scheduled for the recipient's sending window (status `scheduled`, sent at `send_after`)"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "The key lacks the `messages` scope, or the destination is refused (type `https://phonehub.dev/problems/destination`: a blocked premium-rate or special range, a country the org does not allow, or over its maximum price per text), or the recipient opted out (type `https://phonehub.dev/problems/opted-out`)"),
        (status = 402, body = Problem, content_type = "application/problem+json", description = "A budget's hard cap refuses the message (nothing sent)"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "The org has no phone config that can send"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
        (status = 502, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn send(
    caller: Caller,
    body: Result<axum::Json<SendMessage>, JsonRejection>,
) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Messages)?;
    let m = json_body(body)?;
    let (sent, _) = app::ssr::sms::send_as(&c.ctx, &m.from, &m.to, &m.body, m.urgent).await?;
    let status = if sent.held || sent.send_after.is_some() {
        StatusCode::ACCEPTED
    } else {
        StatusCode::CREATED
    };
    Ok(json(status, &one(&caller, sent.id).await?))
}

/// The message `id`, if the key's member may see it.
async fn one(caller: &Caller, id: i64) -> Result<Message, Problem> {
    app::ssr::sms::messages(&caller.0.ctx, None, Some(id), 1)
        .await?
        .pop()
        .map(Message::from)
        .ok_or_else(Problem::not_found)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    cursor: Option<String>,
    /// Rows per page, 1–100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

/// Messages the key's member may see (theirs and shared numbers'), newest first.
#[utoipa::path(
    get, path = "/v1/messages", tag = "Messages", operation_id = "listMessages",
    params(ListQuery),
    responses(
        (status = 200, body = Page<Message>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn list(caller: Caller, RawQuery(raw): RawQuery) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Messages)?;
    let ctx = &c.ctx;
    let q: ListQuery = query(raw.as_deref())?;
    let limit = super::limit(q.limit)?;
    let before = super::decode_cursor(super::present("cursor", q.cursor)?.as_deref())?;
    let rows = app::ssr::sms::messages(ctx, before, None, limit + 1).await?;
    let (data, next_cursor) = paginate(
        rows,
        limit,
        |m| Cursor {
            micros: m.micros,
            id: m.id,
        },
        Message::from,
    );
    Ok(json(StatusCode::OK, &Page { data, next_cursor }))
}

/// One message.
#[utoipa::path(
    get, path = "/v1/messages/{id}", tag = "Messages", operation_id = "getMessage",
    params(("id" = i64, Path)),
    responses(
        (status = 200, body = Message),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn get_one(caller: Caller, Path(id): Path<String>) -> Result<Response, Problem> {
    caller.needs(Scope::Messages)?;
    let id = super::path_id(&id)?;
    Ok(json(StatusCode::OK, &one(&caller, id).await?))
}

/// Cancel a scheduled message.
///
/// A text scheduled for its recipient's sending window is never sent once canceled. Members
/// cancel their own; owners and admins any of the org's.
#[utoipa::path(
    post, path = "/v1/messages/{id}/cancel", tag = "Messages", operation_id = "cancelMessage",
    params(("id" = i64, Path)),
    responses(
        (status = 200, body = Message, description = "Canceled (status `canceled`)"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "No scheduled message of the key's member has this id"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn cancel(caller: Caller, Path(id): Path<String>) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Messages)?;
    let id = super::path_id(&id)?;
    app::ssr::quiet_hours::cancel(&c.ctx, id).await?;
    Ok(json(StatusCode::OK, &one(&caller, id).await?))
}

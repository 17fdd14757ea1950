//! Calls: place one (click-to-call: PhoneHub rings the member's phone, then connects `to`), the
//! history with the page's filters and cursor pages, one call's timeline and cost, and the audio
//! of its recordings.

use app::model::api_keys::Scope;
use app::model::call_blocks::BlockReason;
use app::model::calls::CallFilter;
use app::ssr::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{json, json_body, paginate, present, query, ApiMoney, Caller, Page, Problem};
use crate::downloads::{audio_response, forwardable_range, AudioFormat};
use app::ssr::format::rfc3339;

#[derive(Serialize, ToSchema)]
pub struct Call {
    id: i64,
    /// `outbound` or `inbound`.
    direction: String,
    from: String,
    to: String,
    /// `queued`, `initiated`, `ringing`, `in-progress`, `completed`, `busy`, `no-answer`,
    /// `failed` or `canceled`.
    #[schema(value_type = String, example = "completed")]
    status: &'static str,
    duration_secs: Option<i32>,
    /// The call and its recordings.
    cost: ApiMoney,
    recordings: i32,
    /// The member who placed or received it.
    user: String,
    /// RFC 3339.
    created_at: String,
    /// Why the org refused it before it rang (`number`, `prefix` or `anonymous`): a blocked
    /// caller, not a missed call.
    #[schema(value_type = Option<String>, example = "prefix")]
    blocked: Option<&'static str>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// A call status (see `Call.status`).
    #[param(
        pattern = "^(queued|initiated|ringing|in-progress|completed|busy|no-answer|failed|canceled)$"
    )]
    status: Option<String>,
    /// `outbound` or `inbound`.
    #[param(pattern = "^(outbound|inbound)$")]
    direction: Option<String>,
    /// An owned number's id.
    #[param(value_type = Option<i64>)]
    number: Option<String>,
    /// YYYY-MM-DD, inclusive (UTC).
    #[param(format = Date)]
    from: Option<String>,
    /// YYYY-MM-DD, inclusive (UTC).
    #[param(format = Date)]
    to: Option<String>,
    /// Only calls with a recording.
    recorded: Option<bool>,
    /// Digits to find in From or To.
    q: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    cursor: Option<String>,
    /// Rows per page, 1–100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

/// The call history the key's member may see, newest first.
#[utoipa::path(
    get, path = "/v1/calls", tag = "Calls", operation_id = "listCalls",
    params(ListQuery),
    responses(
        (status = 200, body = Page<Call>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Calls)?;
    let ctx = &c.ctx;
    let q: ListQuery = query(raw.as_deref())?;
    let limit = super::limit(q.limit)?;
    let before = super::decode_cursor(present("cursor", q.cursor)?.as_deref())?;
    let filter = CallFilter {
        status: present("status", q.status)?.unwrap_or_default(),
        direction: present("direction", q.direction)?.unwrap_or_default(),
        number: present("number", q.number)?.unwrap_or_default(),
        from: present("from", q.from)?.unwrap_or_default(),
        to: present("to", q.to)?.unwrap_or_default(),
        recorded: if q.recorded.unwrap_or(false) { "1" } else { "" }.into(),
        q: present("q", q.q)?.unwrap_or_default(),
        before: String::new(),
    };
    let mut valid = filter.validate()?;
    valid.before = before;
    let user = ctx.own_rows_only();
    let rows = app::ssr::calls::history(&state.pool, ctx.org_id, user, &valid, limit + 1).await?;
    let (data, next_cursor) = paginate(
        rows,
        limit,
        |r| r.cursor,
        |r| Call {
            id: r.row.id,
            direction: r.row.direction,
            from: r.row.from,
            to: r.row.to,
            status: r.row.status.as_str(),
            duration_secs: r.row.duration_secs,
            cost: ApiMoney::micros(r.cost.micros()),
            recordings: r.row.recordings,
            user: r.row.user,
            created_at: r.created_iso,
            blocked: r.row.blocked.map(|b| b.as_str()),
        },
    );
    Ok(json(StatusCode::OK, &Page { data, next_cursor }))
}

#[derive(Serialize, ToSchema)]
pub struct CallEvent {
    #[schema(value_type = String)]
    status: &'static str,
    /// RFC 3339.
    at: String,
}

#[derive(Serialize, ToSchema)]
pub struct Recording {
    id: i64,
    duration_secs: i32,
    cost: ApiMoney,
    /// RFC 3339.
    created_at: String,
    /// The audio (WAV; add `?format=mp3` for MP3), with this key.
    url: String,
}

#[derive(Serialize, ToSchema)]
pub struct CallDetail {
    id: i64,
    direction: String,
    from: String,
    to: String,
    #[schema(value_type = String)]
    status: &'static str,
    duration_secs: Option<i32>,
    /// The phone PhoneHub rang first (click-to-call).
    bridge: Option<String>,
    number_id: Option<i64>,
    error: Option<String>,
    user: String,
    /// Why the org refused it before it rang (`number`, `prefix` or `anonymous`).
    #[schema(value_type = Option<String>)]
    blocked: Option<&'static str>,
    created_at: String,
    started_at: Option<String>,
    ended_at: Option<String>,
    call_cost: ApiMoney,
    recording_cost: ApiMoney,
    timeline: Vec<CallEvent>,
    recordings: Vec<Recording>,
}

/// One call with its timeline, cost and recordings.
#[utoipa::path(
    get, path = "/v1/calls/{id}", tag = "Calls", operation_id = "getCall",
    params(("id" = i64, Path)),
    responses(
        (status = 200, body = CallDetail),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn get_one(caller: Caller, Path(id): Path<String>) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Calls)?;
    let id = super::path_id(&id)?;
    let app::ssr::calls::Call {
        detail: r,
        events,
        recordings,
    } = app::ssr::calls::one(&c.ctx, id).await?;
    let timeline = events
        .into_iter()
        .map(|e| CallEvent {
            status: e.status.as_str(),
            at: rfc3339(e.at),
        })
        .collect();
    let recordings = recordings
        .into_iter()
        .map(|x| Recording {
            id: x.id,
            duration_secs: x.duration_secs,
            cost: ApiMoney::micros(x.cost_micros),
            created_at: rfc3339(x.created),
            url: format!("/v1/calls/{id}/recordings/{}", x.id),
        })
        .collect();
    Ok(json(
        StatusCode::OK,
        &CallDetail {
            id: r.id,
            direction: r.direction,
            from: r.from_e164,
            to: r.to_e164,
            status: r.status.as_str(),
            duration_secs: r.duration_secs,
            bridge: r.bridge_e164,
            number_id: r.number_id,
            error: r.error_message,
            user: r.user,
            blocked: r
                .blocked
                .as_deref()
                .and_then(BlockReason::parse)
                .map(BlockReason::as_str),
            created_at: rfc3339(r.created),
            started_at: r.started.map(rfc3339),
            ended_at: r.ended.map(rfc3339),
            call_cost: ApiMoney::micros(r.cost_micros),
            recording_cost: ApiMoney::micros(r.recording_cost_micros),
            timeline,
            recordings,
        },
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AudioQuery {
    /// `wav` (default) or `mp3`.
    #[param(pattern = "^(wav|mp3)$")]
    format: Option<String>,
}

/// A recording's audio, streamed from the provider (`Range` requests work).
#[utoipa::path(
    get, path = "/v1/calls/{id}/recordings/{rid}", tag = "Calls", operation_id = "getRecording",
    params(("id" = i64, Path), ("rid" = i64, Path), AudioQuery),
    responses(
        (status = 200, description = "The audio", content_type = "audio/wav"),
        (status = 206, description = "Part of the audio"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 416, description = "The range cannot be served"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "The call's phone config can no longer be used"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
        (status = 502, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn recording(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, rid)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Calls)?;
    let ctx = &c.ctx;
    let (id, rid) = (super::path_id(&id)?, super::path_id(&rid)?);
    let q: AudioQuery = query(raw.as_deref())?;
    let format = match present("format", q.format)?.as_deref() {
        None | Some("wav") => AudioFormat::Wav,
        Some("mp3") => AudioFormat::Mp3,
        Some(_) => return Err(Problem::invalid("format", "Choose wav or mp3.")),
    };
    let user = ctx.own_rows_only();
    let range = headers.get(http::header::RANGE);
    let media = app::ssr::calls::recording_media(
        &state,
        ctx.org_id,
        id,
        rid,
        user,
        format.ext(),
        forwardable_range(range),
    )
    .await
    .map_err(|e| Problem::from(app::error::AppError::from(e)))?;
    let disposition = format!(
        "attachment; filename=\"call-{id}-recording-{rid}.{}\"",
        format.ext()
    );
    // One key's recording: never kept by a cache (the pages' player may cache it briefly).
    let mut res = audio_response(media, format, disposition, range);
    res.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("private, no-store"),
    );
    Ok(res)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceCall {
    /// The id of an active voice number the member may call from (theirs or shared).
    from_number_id: i64,
    /// E.164, or a national number of the org's country.
    to: String,
}

#[derive(Serialize, ToSchema)]
pub struct Placed {
    id: i64,
    /// Follow the call at `GET /v1/calls/{id}`.
    url: String,
}

/// Place a call: PhoneHub rings the number's forwarding phone, then connects `to`.
///
/// Before anything is placed, the org's destination rules apply: a premium-rate or special range,
/// a country the org does not allow, a price a minute over its maximum, or a destination paused
/// by the velocity rule (too many calls or texts there within an hour) is a 403 of type
/// `https://phonehub.dev/problems/destination`.
#[utoipa::path(
    post, path = "/v1/calls", tag = "Calls", operation_id = "placeCall",
    request_body = PlaceCall,
    responses(
        (status = 201, body = Placed, links(
            ("getCall" = (operation_id = "getCall", parameters(("id" = "$response.body#/id")))),
        )),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "The key lacks the `calls` scope, or the destination is refused (type `https://phonehub.dev/problems/destination`: a blocked premium-rate or special range, a country the org does not allow, over its maximum price a minute, or paused by the velocity rule)"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 402, body = Problem, content_type = "application/problem+json", description = "A budget's hard cap has no room for a minute of it (nothing placed)"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
        (status = 502, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn place(
    caller: Caller,
    body: Result<axum::Json<PlaceCall>, JsonRejection>,
) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Calls)?;
    let b = json_body(body)?;
    let id = app::ssr::calls::place_as(&c.ctx, b.from_number_id, &b.to).await?;
    Ok(json(
        StatusCode::CREATED,
        &Placed {
            id,
            url: format!("/v1/calls/{id}"),
        },
    ))
}

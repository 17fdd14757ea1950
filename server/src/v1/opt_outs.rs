//! The opt-out ledger: who is opted out of the org's texts, since when, how (a keyword the
//! recipient texted, the provider's list, an admin's entry, an import) and its proof; add and
//! lift entries by hand, read and set the STOP, START and HELP replies — as on the opt-outs page.
//! Scope `messages`.

use app::model::api_keys::Scope;
use app::model::cursor::Cursor;
use app::model::opt_outs::{OptOutEventView, OptOutView, RepliesView};
use app::ssr::opt_out_list::{self as opt_outs, RepliesInput};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, RawQuery};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use super::{json, json_body, paginate, private, query, Caller, Page, Problem};

/// A number opted out of the org's texts: every text to it is refused (403, type
/// `https://phonehub.dev/problems/opted-out`) before the provider is asked.
#[derive(Serialize, ToSchema)]
pub struct OptOut {
    /// E.164.
    number: String,
    /// `keyword` (the recipient texted STOP or a variant), `provider` (the provider refused a
    /// text as opted out, or its list says so), `admin` (added by hand), `import` (a CSV file).
    #[schema(value_type = String, example = "keyword")]
    source: &'static str,
    /// Why, for entries added by hand or imported.
    reason: String,
    /// RFC 3339.
    since: String,
    /// The org's number the keyword reached, and its words (the proof).
    our_number: Option<String>,
    words: Option<String>,
    /// The e-mail of who added it by hand or imported it.
    added_by: Option<String>,
    /// Whether an owner or admin may lift it: never one the recipient sent (only they can, by
    /// texting START).
    removable: bool,
}

impl From<OptOutView> for OptOut {
    fn from(v: OptOutView) -> OptOut {
        OptOut {
            number: v.e164,
            source: v.source.as_str(),
            reason: v.reason,
            since: v.since_rfc3339,
            our_number: v.our_e164,
            words: v.words,
            added_by: v.by,
            removable: v.removable,
        }
    }
}

/// One event of a number's history.
#[derive(Serialize, ToSchema)]
pub struct OptOutEvent {
    id: i64,
    /// `opt_out`, `opt_in` or `help`.
    #[schema(value_type = String, example = "opt_out")]
    action: &'static str,
    #[schema(value_type = String, example = "keyword")]
    source: &'static str,
    our_number: Option<String>,
    words: Option<String>,
    reason: String,
    by: Option<String>,
    /// A confirmation (or the help text) was sent in answer.
    replied: bool,
    /// RFC 3339.
    at: String,
}

impl From<OptOutEventView> for OptOutEvent {
    fn from(v: OptOutEventView) -> OptOutEvent {
        OptOutEvent {
            id: v.id,
            action: v.action.as_str(),
            source: v.source.as_str(),
            our_number: v.our_e164,
            words: v.words,
            reason: v.reason,
            by: v.by,
            replied: v.replied,
            at: v.at_rfc3339,
        }
    }
}

/// A number's standing and history.
#[derive(Serialize, ToSchema)]
pub struct OptOutHistory {
    number: String,
    /// Its entry; null: not opted out.
    opt_out: Option<OptOut>,
    /// Its events, newest first (at most 500).
    events: Vec<OptOutEvent>,
}

/// A number to add by hand.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddOptOut {
    /// E.164, or a national number of the org's country.
    number: String,
    /// Why (1–500 characters, one line).
    #[schema(min_length = 1, max_length = 500)]
    reason: String,
}

/// What the org answers to STOP, START and HELP.
#[derive(Serialize, ToSchema)]
pub struct OptOutReplies {
    /// The contact the default help reply names.
    help_contact: String,
    stop_reply: String,
    start_reply: String,
    help_reply: String,
    /// Which of the three are the org's own (the others are the default wording).
    stop_custom: bool,
    start_custom: bool,
    help_custom: bool,
    /// RFC 3339; null: never saved.
    updated_at: Option<String>,
}

impl From<RepliesView> for OptOutReplies {
    fn from(r: RepliesView) -> OptOutReplies {
        OptOutReplies {
            help_contact: r.help_contact,
            stop_reply: r.stop_reply,
            start_reply: r.start_reply,
            help_reply: r.help_reply,
            stop_custom: r.stop_custom,
            start_custom: r.start_custom,
            help_custom: r.help_custom,
            updated_at: r.updated_rfc3339,
        }
    }
}

/// The replies to set, replacing the org's; an empty or left-out reply is the default wording.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetOptOutReplies {
    /// At most 160 characters, one line.
    #[serde(default)]
    #[schema(max_length = 160)]
    help_contact: String,
    /// At most 320 characters each.
    #[serde(default)]
    #[schema(max_length = 320)]
    stop_reply: String,
    #[serde(default)]
    #[schema(max_length = 320)]
    start_reply: String,
    #[serde(default)]
    #[schema(max_length = 320)]
    help_reply: String,
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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RemoveQuery {
    /// Why (1–500 characters, one line).
    reason: Option<String>,
}

/// The numbers opted out of the org's texts, newest first.
#[utoipa::path(
    get, path = "/v1/opt-outs", tag = "Opt-outs", operation_id = "listOptOuts",
    params(ListQuery),
    responses(
        (status = 200, body = Page<OptOut>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn list(caller: Caller, RawQuery(raw): RawQuery) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Messages)?;
    let q: ListQuery = query(raw.as_deref())?;
    let limit = super::limit(q.limit)?;
    let after =
        super::decode_cursor(super::present("cursor", q.cursor)?.as_deref())?.and_then(|c| {
            let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(c.micros) * 1000).ok()?;
            Some((t, format!("+{}", c.id)))
        });
    let rows = opt_outs::list(&c.ctx, after, limit + 1).await?;
    let (data, next_cursor) = paginate(
        rows,
        limit,
        |v| Cursor {
            micros: v.since_micros,
            id: v.e164.trim_start_matches('+').parse().unwrap_or(0),
        },
        OptOut::from,
    );
    Ok(json(StatusCode::OK, &Page { data, next_cursor }))
}

/// Add a number to the org's opt-out list by hand, saying why (keys acting as an owner or
/// admin). Every text to it is refused from then on.
#[utoipa::path(
    post, path = "/v1/opt-outs", tag = "Opt-outs", operation_id = "addOptOut",
    request_body = AddOptOut,
    responses(
        (status = 201, body = OptOut, description = "Added"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "Already opted out"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn add(
    caller: Caller,
    body: Result<axum::Json<AddOptOut>, JsonRejection>,
) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Messages)?;
    // Who may add comes before what the body says: a member's key gets 403.
    c.ctx.must_manage()?;
    let b = json_body(body)?;
    let view = opt_outs::add(&c.ctx, &b.number, &b.reason).await?;
    Ok(json(StatusCode::CREATED, &OptOut::from(view)))
}

/// A number's standing (opted out or not) and its history.
#[utoipa::path(
    get, path = "/v1/opt-outs/{number}", tag = "Opt-outs", operation_id = "getOptOut",
    params(("number" = String, Path, description = "E.164, or a national number of the org's country")),
    responses(
        (status = 200, body = OptOutHistory),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn get_one(caller: Caller, Path(number): Path<String>) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Messages)?;
    let (e, entry, events) = opt_outs::number_history(&c.ctx, &number).await?;
    let out = OptOutHistory {
        number: e.as_str().to_string(),
        opt_out: entry.map(OptOut::from),
        events: events.into_iter().map(OptOutEvent::from).collect(),
    };
    Ok(json(StatusCode::OK, &out))
}

/// Lift an entry an admin added or imported, saying why in `reason` (keys acting as an owner or
/// admin). A recipient's own opt-out is a 403: only they can opt back in, by texting START.
#[utoipa::path(
    delete, path = "/v1/opt-outs/{number}", tag = "Opt-outs", operation_id = "removeOptOut",
    params(("number" = String, Path, description = "E.164, or a national number of the org's country"), RemoveQuery),
    responses(
        (status = 204, description = "Lifted: texts to the number are allowed again"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "Not opted out"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn remove(
    caller: Caller,
    Path(number): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Messages)?;
    c.ctx.must_manage()?;
    let q: RemoveQuery = query(raw.as_deref())?;
    opt_outs::remove(&c.ctx, &number, q.reason.as_deref().unwrap_or("")).await?;
    Ok(private(StatusCode::NO_CONTENT.into_response()))
}

/// What the org answers to STOP, START and HELP.
#[utoipa::path(
    get, path = "/v1/opt-out-replies", tag = "Opt-outs", operation_id = "getOptOutReplies",
    responses(
        (status = 200, body = OptOutReplies),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn get_replies(caller: Caller) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Messages)?;
    let r = opt_outs::replies(&c.ctx).await?;
    Ok(json(StatusCode::OK, &OptOutReplies::from(r)))
}

/// Set what the org answers to STOP, START and HELP (keys acting as an owner or admin).
#[utoipa::path(
    put, path = "/v1/opt-out-replies", tag = "Opt-outs", operation_id = "setOptOutReplies",
    request_body = SetOptOutReplies,
    responses(
        (status = 200, body = OptOutReplies, description = "Saved"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn set_replies(
    caller: Caller,
    body: Result<axum::Json<SetOptOutReplies>, JsonRejection>,
) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Messages)?;
    c.ctx.must_manage()?;
    let b = json_body(body)?;
    let input = RepliesInput {
        help_contact: b.help_contact,
        stop_reply: b.stop_reply,
        start_reply: b.start_reply,
        help_reply: b.help_reply,
    };
    let r = opt_outs::save_replies(&c.ctx, input).await?;
    Ok(json(StatusCode::OK, &OptOutReplies::from(r)))
}

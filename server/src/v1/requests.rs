//! Requests by phone number, as on the page: what the org holds about one number, its export
//! (a ZIP) and its erasure. Keys acting as an owner or admin, with the `calls`, `messages` and
//! `lookups` scopes (a person's data spans all three).

use app::model::requests::{Erased, HeldCall, HeldLookup, HeldMessage, Holdings};
use app::ssr::requests;
use axum::extract::Path;
use axum::response::Response;
use http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::compliance::needs_all;
use super::{json, Caller, Problem};

#[derive(Serialize, ToSchema)]
pub struct DataCall {
    id: i64,
    /// `outbound` or `inbound`.
    direction: String,
    from: String,
    to: String,
    status: String,
    duration_secs: Option<i32>,
    recordings: i64,
    /// RFC 3339.
    created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct DataMessage {
    id: i64,
    direction: String,
    /// The org's number.
    ours: String,
    /// Empty once redacted.
    body: String,
    status: String,
    created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct DataLookup {
    /// `hit`, `miss`, `refresh` or `error`.
    outcome: String,
    line_type: Option<String>,
    created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct DataOptOut {
    /// `keyword`, `provider`, `admin` or `import`.
    source: String,
    reason: String,
    since: String,
    events: i64,
}

/// Everything the org holds about one number (the latest 200 of each kind; the export has all).
#[derive(Serialize, ToSchema)]
pub struct HeldData {
    /// E.164.
    number: String,
    calls: Vec<DataCall>,
    calls_total: i64,
    messages: Vec<DataMessage>,
    messages_total: i64,
    recordings: i64,
    lookups: Vec<DataLookup>,
    lookups_total: i64,
    /// Set while the number is opted out of the org's texts.
    opt_out: Option<DataOptOut>,
}

impl From<Holdings> for HeldData {
    fn from(h: Holdings) -> HeldData {
        let call = |c: HeldCall| DataCall {
            id: c.id,
            direction: c.direction,
            from: c.from,
            to: c.to,
            status: c.status,
            duration_secs: c.duration_secs,
            recordings: c.recordings,
            created_at: c.at,
        };
        let message = |m: HeldMessage| DataMessage {
            id: m.id,
            direction: m.direction,
            ours: m.ours,
            body: m.body,
            status: m.status,
            created_at: m.at,
        };
        let lookup = |l: HeldLookup| DataLookup {
            outcome: l.outcome,
            line_type: l.line_type,
            created_at: l.at,
        };
        HeldData {
            number: h.number,
            calls: h.calls.into_iter().map(call).collect(),
            calls_total: h.calls_total,
            messages: h.messages.into_iter().map(message).collect(),
            messages_total: h.messages_total,
            recordings: h.recordings,
            lookups: h.lookups.into_iter().map(lookup).collect(),
            lookups_total: h.lookups_total,
            opt_out: h.opt_out.map(|o| DataOptOut {
                source: o.source,
                reason: o.reason,
                since: o.since,
                events: o.events,
            }),
        }
    }
}

/// What an erasure did: counts only.
#[derive(Serialize, ToSchema)]
pub struct Erasure {
    recordings_deleted: i64,
    /// Of those, deleted at the provider (the rest it no longer held).
    provider_recordings_deleted: i64,
    bodies_redacted: i64,
    provider_bodies_redacted: i64,
    /// Rows whose number was replaced by its salted hash.
    calls: i64,
    messages: i64,
    lookups: i64,
    /// Scheduled or held texts to the number, canceled.
    canceled: i64,
}

impl From<Erased> for Erasure {
    fn from(e: Erased) -> Erasure {
        Erasure {
            recordings_deleted: e.recordings_deleted,
            provider_recordings_deleted: e.provider_recordings_deleted,
            bodies_redacted: e.bodies_redacted,
            provider_bodies_redacted: e.provider_bodies_redacted,
            calls: e.calls,
            messages: e.messages,
            lookups: e.lookups,
            canceled: e.canceled,
        }
    }
}

/// What the org holds about a number.
#[utoipa::path(
    get, path = "/v1/data-requests/{number}", tag = "Compliance", operation_id = "getHeldData",
    params(("number" = String, Path, description = "E.164, or a national number of the org's country")),
    responses(
        (status = 200, body = HeldData),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn get_one(caller: Caller, Path(number): Path<String>) -> Result<Response, Problem> {
    let ctx = needs_all(&caller)?;
    let n = requests::parse_number(ctx, "number", &number)?;
    let h = requests::holdings(ctx, &n, app::model::requests::SHOWN as i64).await?;
    Ok(json(StatusCode::OK, &HeldData::from(h)))
}

/// Everything the org holds about a number, as a ZIP: `data.json`, `calls.csv`,
/// `messages.csv`, `lookups.csv` and the recordings' audio under `recordings/`.
#[utoipa::path(
    get, path = "/v1/data-requests/{number}/export", tag = "Compliance", operation_id = "exportHeldData",
    params(("number" = String, Path, description = "E.164, or a national number of the org's country")),
    responses(
        (status = 200, content_type = "application/zip", body = Vec<u8>, description = "The ZIP"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn export(caller: Caller, Path(number): Path<String>) -> Result<Response, Problem> {
    let ctx = needs_all(&caller)?;
    let n = requests::parse_number(ctx, "number", &number)?;
    let zip = requests::export_zip(ctx, &n).await?;
    let name = format!(
        "phonehub-{}-{}.zip",
        ctx.slug,
        n.as_str().trim_start_matches('+')
    );
    Ok(crate::data_requests::zip_download(&name, zip))
}

/// Erase what the org holds about a number (keys acting as an owner or admin): recordings are
/// deleted and bodies redacted at the provider first, then the number is replaced by a salted
/// hash in the org's calls, messages, lookups and audit log. Its opt-out entry stays (without
/// its proof), so it is never texted again. A provider that cannot delete now is a 502 and
/// nothing more is erased.
#[utoipa::path(
    delete, path = "/v1/data-requests/{number}", tag = "Compliance", operation_id = "eraseHeldData",
    params(("number" = String, Path, description = "E.164, or a national number of the org's country")),
    responses(
        (status = 200, body = Erasure, description = "Erased"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
        (status = 502, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn erase(caller: Caller, Path(number): Path<String>) -> Result<Response, Problem> {
    let ctx = needs_all(&caller)?;
    let n = requests::parse_number(ctx, "number", &number)?;
    let e = requests::erase(ctx, &n).await?;
    Ok(json(StatusCode::OK, &Erasure::from(e)))
}

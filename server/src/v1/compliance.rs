//! Recording consent and retention, as on the compliance page: what callers hear before a call is
//! recorded (scope `calls`), and how long the org keeps recordings, message bodies, call and
//! message records and lookup events, with what the nightly runs deleted (scopes `calls`,
//! `messages` and `lookups`: a policy deletes all three).

use app::model::api_keys::Scope;
use app::model::compliance::{ConsentView, RetentionRunView, RetentionView};
use app::ssr::{consent, retention};
use axum::extract::rejection::JsonRejection;
use axum::response::Response;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{json, json_body, Caller, Problem};

/// What the other party hears before a call is recorded (inbound forwarded calls, click-to-call
/// and voicemail).
#[derive(Serialize, ToSchema)]
pub struct RecordingConsent {
    /// Whether the announcement plays (on unless an owner or admin turned it off with a reason).
    announce: bool,
    /// The org's own wording (null: the default in `language`).
    message: Option<String>,
    /// What is said: the org's wording or the default.
    spoken: String,
    /// A Twilio `<Say>` language: en-US, en-GB, fr-FR, fr-CA, de-DE, es-ES, es-MX, it-IT.
    language: String,
    /// Why the announcement is off.
    off_reason: String,
    /// The uploaded announcement played instead of the spoken one (uploaded on the page).
    audio_file: Option<String>,
}

impl From<ConsentView> for RecordingConsent {
    fn from(v: ConsentView) -> RecordingConsent {
        RecordingConsent {
            announce: v.announce,
            message: v.message,
            spoken: v.spoken,
            language: v.language,
            off_reason: v.off_reason,
            audio_file: v.audio.map(|a| a.file_name),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRecordingConsent {
    announce: bool,
    /// Null or empty: the default wording. At most 500 characters, one line.
    #[serde(default)]
    message: Option<String>,
    language: String,
    /// Required (3 to 500 characters) when `announce` is false.
    #[serde(default)]
    off_reason: Option<String>,
}

/// The recording consent announcement.
#[utoipa::path(
    get, path = "/v1/recording-consent", tag = "Compliance", operation_id = "getRecordingConsent",
    responses(
        (status = 200, body = RecordingConsent),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn get_consent(caller: Caller) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Calls)?;
    let v = consent::view(&c.ctx).await?;
    Ok(json(StatusCode::OK, &RecordingConsent::from(v)))
}

/// Set the recording consent announcement (keys acting as an owner or admin); turning it off
/// needs a reason, and is audited.
#[utoipa::path(
    put, path = "/v1/recording-consent", tag = "Compliance", operation_id = "setRecordingConsent",
    request_body = SetRecordingConsent,
    responses(
        (status = 200, body = RecordingConsent, description = "Saved"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn set_consent(
    caller: Caller,
    body: Result<axum::Json<SetRecordingConsent>, JsonRejection>,
) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Calls)?;
    c.ctx.must_manage()?;
    let b = json_body(body)?;
    let input = consent::ConsentInput {
        announce: b.announce,
        message: b.message.unwrap_or_default(),
        language: b.language,
        off_reason: b.off_reason.unwrap_or_default(),
    };
    let v = consent::save(&c.ctx, input).await?;
    Ok(json(StatusCode::OK, &RecordingConsent::from(v)))
}

/// How long the org keeps each kind of data, in days (null: kept).
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// Call recordings: deleted here and at the provider.
    recordings_days: Option<i32>,
    /// Message bodies: removed here and redacted at the provider; the message stays.
    bodies_days: Option<i32>,
    /// Call and message records: deleted once a monthly statement has stated their cost (usage
    /// totals and statements keep their sums).
    records_days: Option<i32>,
    /// Lookup events (the shared cache is not the org's and stays).
    lookups_days: Option<i32>,
}

impl From<RetentionView> for Retention {
    fn from(v: RetentionView) -> Retention {
        Retention {
            recordings_days: v.recordings_days,
            bodies_days: v.bodies_days,
            records_days: v.records_days,
            lookups_days: v.lookups_days,
        }
    }
}

/// What one nightly run deleted (counts, never content).
#[derive(Serialize, ToSchema)]
pub struct RetentionRun {
    /// RFC 3339.
    at: String,
    recordings_deleted: i32,
    /// Of those, deleted at the provider too (the rest it no longer held).
    provider_deleted: i32,
    bodies_redacted: i32,
    provider_redacted: i32,
    calls_deleted: i32,
    messages_deleted: i32,
    lookups_deleted: i32,
    /// Items the provider could not delete this time: kept, tried again at the next run.
    failures: i32,
}

impl From<RetentionRunView> for RetentionRun {
    fn from(r: RetentionRunView) -> RetentionRun {
        RetentionRun {
            at: r.at_rfc3339,
            recordings_deleted: r.recordings_deleted,
            provider_deleted: r.provider_deleted,
            bodies_redacted: r.bodies_redacted,
            provider_redacted: r.provider_redacted,
            calls_deleted: r.calls_deleted,
            messages_deleted: r.messages_deleted,
            lookups_deleted: r.lookups_deleted,
            failures: r.failures,
        }
    }
}

/// A policy deletes recordings, texts and lookup events: a key needs all three scopes.
pub(super) fn needs_all(caller: &Caller) -> Result<&app::ssr::guard::OrgCtx, Problem> {
    caller.needs(Scope::Messages)?;
    caller.needs(Scope::Lookups)?;
    Ok(&caller.needs(Scope::Calls)?.ctx)
}

/// The org's retention periods.
#[utoipa::path(
    get, path = "/v1/retention", tag = "Compliance", operation_id = "getRetention",
    responses(
        (status = 200, body = Retention),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn get_retention(caller: Caller) -> Result<Response, Problem> {
    let ctx = needs_all(&caller)?;
    let (v, _) = retention::periods(ctx).await?;
    Ok(json(StatusCode::OK, &Retention::from(v)))
}

/// Set the org's retention periods (keys acting as an owner or admin): whole days from 1 to
/// 3650, or null to keep. The first run is at the org's next 03:00.
#[utoipa::path(
    put, path = "/v1/retention", tag = "Compliance", operation_id = "setRetention",
    request_body = Retention,
    responses(
        (status = 200, body = Retention, description = "Saved"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn set_retention(
    caller: Caller,
    body: Result<axum::Json<Retention>, JsonRejection>,
) -> Result<Response, Problem> {
    let ctx = needs_all(&caller)?;
    ctx.must_manage()?;
    let b = json_body(body)?;
    let v = RetentionView {
        recordings_days: b.recordings_days,
        bodies_days: b.bodies_days,
        records_days: b.records_days,
        lookups_days: b.lookups_days,
    };
    let saved = retention::save(ctx, v).await?;
    Ok(json(StatusCode::OK, &Retention::from(saved)))
}

/// The org's latest retention runs (newest first, at most 30).
#[utoipa::path(
    get, path = "/v1/retention/runs", tag = "Compliance", operation_id = "listRetentionRuns",
    responses(
        (status = 200, body = Vec<RetentionRun>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn list_runs(caller: Caller) -> Result<Response, Problem> {
    let ctx = needs_all(&caller)?;
    let runs: Vec<RetentionRun> = retention::runs(ctx)
        .await?
        .into_iter()
        .map(RetentionRun::from)
        .collect();
    Ok(json(StatusCode::OK, &runs))
}

/// The org's quiet hours: texts reach people only within this window of their own local day
/// (their area code's zone for North American numbers, otherwise their country's).
#[derive(Serialize, ToSchema)]
pub struct QuietHours {
    /// Whether texts written outside the window wait for it (on unless an owner or admin turned
    /// it off).
    enabled: bool,
    /// The window's start, HH:MM (recipient's local time).
    start: String,
    /// The window's end, HH:MM (24:00: midnight).
    end: String,
    /// `federal` (08:00–21:00), `strict` (08:00–20:00: Florida, Oklahoma, Maryland,
    /// Washington), `texas` (09:00–21:00) or `custom`.
    preset: String,
    /// Texts waiting for their recipient's window.
    scheduled: i64,
}

impl From<app::model::quiet_hours::QuietHoursView> for QuietHours {
    fn from(v: app::model::quiet_hours::QuietHoursView) -> QuietHours {
        QuietHours {
            enabled: v.enabled,
            start: v.start,
            end: v.end,
            preset: v.preset,
            scheduled: v.scheduled,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetQuietHours {
    enabled: bool,
    /// `federal`, `strict`, `texas`, or `custom` (then `start` and `end` apply).
    preset: String,
    /// HH:MM, with `custom`.
    #[serde(default)]
    start: Option<String>,
    /// HH:MM (24:00: midnight), at least three hours after `start`, with `custom`.
    #[serde(default)]
    end: Option<String>,
}

/// The org's quiet hours.
#[utoipa::path(
    get, path = "/v1/quiet-hours", tag = "Compliance", operation_id = "getQuietHours",
    responses(
        (status = 200, body = QuietHours),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn get_quiet_hours(caller: Caller) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Messages)?;
    let v = app::ssr::quiet_hours::view(&c.ctx).await?;
    Ok(json(StatusCode::OK, &QuietHours::from(v)))
}

/// Set the org's quiet hours (keys acting as an owner or admin; audited).
#[utoipa::path(
    put, path = "/v1/quiet-hours", tag = "Compliance", operation_id = "setQuietHours",
    request_body = SetQuietHours,
    responses(
        (status = 200, body = QuietHours, description = "Saved"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn set_quiet_hours(
    caller: Caller,
    body: Result<axum::Json<SetQuietHours>, JsonRejection>,
) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Messages)?;
    c.ctx.must_manage()?;
    let b = json_body(body)?;
    let v = app::ssr::quiet_hours::save(
        &c.ctx,
        b.enabled,
        &b.preset,
        b.start.as_deref().unwrap_or(""),
        b.end.as_deref().unwrap_or(""),
    )
    .await?;
    Ok(json(StatusCode::OK, &QuietHours::from(v)))
}

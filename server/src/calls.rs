//! Plain HTTP routes for calls and spend: recordings streamed from the provider (to the call's
//! user, org admins and support), the call history as CSV, streamed page by page in bounded
//! memory, and the usage ledger of a range as CSV.

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use app::error::AppError;
use app::model::calls::{duration_label, CallFilter, ValidFilter};
use app::ssr::auth::AuthSession;
use app::ssr::jobs::csv_safe;
use app::ssr::{calls, AppState, Permission};

use crate::bulk::{error_page, org_ctx};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/o/{org}/calls/export.csv", get(export))
        .route("/o/{org}/calls/{id}/recordings/{rid}", get(recording))
        .route("/o/{org}/admin/usage.csv", get(usage_csv))
}

/// Rows per database round trip of the export.
const EXPORT_BATCH: i64 = 2000;

async fn recording(
    State(state): State<AppState>,
    auth: AuthSession,
    Path((org, id, rid)): Path<(String, String, String)>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let ctx = match org_ctx(state.clone(), &auth, &org, Permission::Read).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (Ok(id), Ok(rid)) = (id.parse::<i64>(), rid.parse::<i64>()) else {
        return error_page(AppError::NotFound);
    };
    let user = (!ctx.access.oversees()).then_some(ctx.user.id);
    match calls::recording_media(&state, ctx.org_id, id, rid, user).await {
        Ok((ctype, bytes)) => {
            let download = q.iter().any(|(k, v)| k == "download" && v == "1");
            let disposition = format!(
                "{}; filename=\"call-{id}-recording-{rid}.wav\"",
                if download { "attachment" } else { "inline" }
            );
            (
                [
                    (header::CONTENT_TYPE, ctype),
                    (header::CONTENT_DISPOSITION, disposition),
                    (header::CACHE_CONTROL, "private, max-age=300".to_string()),
                ],
                bytes,
            )
                .into_response()
        }
        Err(e) => error_page(e),
    }
}

async fn export(
    State(state): State<AppState>,
    auth: AuthSession,
    Path(org): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let ctx = match org_ctx(state.clone(), &auth, &org, Permission::Read).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut filter = match CallFilter::from_pairs(&q).validate() {
        Ok(f) => f,
        Err(e) => return error_page(e),
    };
    filter.before = None;
    let user = (!ctx.access.oversees()).then_some(ctx.user.id);
    let pool = state.pool.clone();
    let org_id = ctx.org_id;
    let header_row = Some(Bytes::from_static(
        b"id,created_at,direction,from,to,status,duration_seconds,duration,cost_usd,recordings,user\n",
    ));
    struct Cursor {
        filter: ValidFilter,
        header: Option<Bytes>,
        done: bool,
    }
    let start = Cursor {
        filter,
        header: header_row,
        done: false,
    };
    let stream = futures::stream::unfold(start, move |mut c| {
        let pool = pool.clone();
        async move {
            if let Some(h) = c.header.take() {
                return Some((Ok::<Bytes, std::io::Error>(h), c));
            }
            if c.done {
                return None;
            }
            let rows = match calls::history(&pool, org_id, user, &c.filter, EXPORT_BATCH).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %e, "call export failed");
                    return Some((
                        Err(std::io::Error::other("export failed")),
                        Cursor { done: true, ..c },
                    ));
                }
            };
            if rows.is_empty() {
                return None;
            }
            c.done = (rows.len() as i64) < EXPORT_BATCH;
            let mut w = csv::Writer::from_writer(Vec::with_capacity(rows.len() * 120));
            for r in &rows {
                let cost = format!(
                    "{}.{:06}",
                    r.cost_micros / 1_000_000,
                    r.cost_micros % 1_000_000
                );
                let _ = w.write_record([
                    r.row.id.to_string().as_str(),
                    &r.created_iso,
                    &r.row.direction,
                    &csv_safe(&r.row.from),
                    &csv_safe(&r.row.to),
                    &r.row.status,
                    &r.row
                        .duration_secs
                        .map(|s| s.to_string())
                        .unwrap_or_default(),
                    &duration_label(r.row.duration_secs),
                    &cost,
                    &r.row.recordings.to_string(),
                    &csv_safe(&r.row.user),
                ]);
            }
            if let Some(last) = rows.last() {
                c.filter.before = last
                    .cursor
                    .split_once('.')
                    .and_then(|(t, i)| Some((t.parse().ok()?, i.parse().ok()?)));
            }
            let bytes = w.into_inner().unwrap_or_default();
            Some((Ok(Bytes::from(bytes)), c))
        }
    });
    csv_download(
        &format!("calls-{}.csv", ctx.slug),
        Body::from_stream(stream),
    )
}

async fn usage_csv(
    State(state): State<AppState>,
    auth: AuthSession,
    Path(org): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let ctx = match org_ctx(state.clone(), &auth, &org, Permission::Read).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if !ctx.access.oversees() {
        return error_page(AppError::Forbidden(
            "Only the org's owners and admins can see its spend.".into(),
        ));
    }
    let val = |k: &str| q.iter().find(|(a, _)| a == k).map(|(_, b)| b.clone());
    let (from, to) = match app::api::lookups::support::date_range(val("from"), val("to")) {
        Ok(r) => r,
        Err(e) => return error_page(e),
    };
    state.events.flush().await;
    match app::ssr::usage::csv(&state.pool, ctx.org_id, from, to).await {
        Ok(csv) => csv_download(
            &format!("usage-{}-{from}-{to}.csv", ctx.slug),
            Body::from(csv),
        ),
        Err(e) => {
            tracing::error!(error = %e, "usage export failed");
            error_page(AppError::Unavailable)
        }
    }
}

/// A CSV file the browser saves as `filename` (never cached: it holds the org's data).
pub(crate) fn csv_download(filename: &str, body: Body) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response()
}

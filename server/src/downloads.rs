//! Downloads that are not pages: a call's recording (streamed from the provider, seekable), the
//! call history as CSV (page by page, in bounded memory), the usage ledger of a range and a
//! monthly statement as CSV.

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use app::error::AppError;
use app::model::calls::{duration_label, CallFilter, ValidFilter};
use app::ssr::auth::AuthSession;
use app::ssr::bulk_lookups::csv_safe;
use app::ssr::{calls, AppState, Permission};

use crate::plain_routes::{error_page, org_ctx, ClientIp};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/o/{org}/calls/export.csv", get(export))
        .route("/o/{org}/calls/{id}/recordings/{rid}", get(recording))
        .route("/o/{org}/admin/usage.csv", get(usage_csv))
        .route("/o/{org}/statements/{id}/statement.csv", get(statement_csv))
}

/// Rows per database round trip of the export.
const EXPORT_BATCH: i64 = 2000;

async fn recording(
    State(state): State<AppState>,
    auth: AuthSession,
    ip: ClientIp,
    Path((org, id, rid)): Path<(String, String, String)>,
    Query(q): Query<Vec<(String, String)>>,
    headers: axum::http::HeaderMap,
) -> Response {
    let ctx = match org_ctx(state.clone(), &auth, ip, &org, Permission::Read).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (Ok(id), Ok(rid)) = (id.parse::<i64>(), rid.parse::<i64>()) else {
        return error_page(AppError::NotFound);
    };
    let format = match q
        .iter()
        .find(|(k, _)| k == "format")
        .map(|(_, v)| v.as_str())
    {
        None | Some("wav") => AudioFormat::Wav,
        Some("mp3") => AudioFormat::Mp3,
        Some(_) => return error_page(AppError::NotFound),
    };
    let user = ctx.own_rows_only();
    let range = headers.get(header::RANGE);
    // A seek is passed on to the provider, so a late part of a long recording is not read from
    // the start; if the provider ignores it, the bytes are skipped here instead.
    let asked = forwardable_range(range);
    let media = match calls::recording_media(&state, ctx.org_id, id, rid, user, format.ext(), asked)
        .await
    {
        Ok(m) => m,
        Err(e) => return error_page(e.into()),
    };
    let download = q.iter().any(|(k, v)| k == "download" && v == "1");
    let disposition = format!(
        "{}; filename=\"call-{id}-recording-{rid}.{}\"",
        if download { "attachment" } else { "inline" },
        format.ext()
    );
    audio_response(media, format, disposition, range)
}

/// The browser's `Range` when it is one we can ask the provider for as it is (`bytes=a-`,
/// `bytes=a-b`); suffix and multiple ranges are served from the whole body instead.
pub(crate) fn forwardable_range(
    header: Option<&axum::http::HeaderValue>,
) -> Option<telephony::ByteRange> {
    let (a, b) = range_spec(header)?;
    let start: u64 = a.parse().ok()?;
    let end = match b {
        "" => None,
        e => Some(e.parse::<u64>().ok().filter(|e| *e >= start)?),
    };
    Some(telephony::ByteRange { start, end })
}

/// The two sides of a single `Range: bytes=a-b` (either may be empty); `None` for several
/// ranges or another unit.
fn range_spec(header: Option<&axum::http::HeaderValue>) -> Option<(&str, &str)> {
    let spec = header?.to_str().ok()?.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    Some((a.trim(), b.trim()))
}

/// The audio formats a recording is served in; the content type comes from the format asked for,
/// never from the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AudioFormat {
    Wav,
    Mp3,
}

impl AudioFormat {
    pub(crate) fn ext(self) -> &'static str {
        match self {
            AudioFormat::Wav => "wav",
            AudioFormat::Mp3 => "mp3",
        }
    }
    fn content_type(self) -> &'static str {
        match self {
            AudioFormat::Wav => "audio/wav",
            AudioFormat::Mp3 => "audio/mpeg",
        }
    }
}

/// A byte range of a body of `len` bytes (`Range: bytes=a-b`, `a-`, `-n`), or why it cannot be
/// served. Several ranges, or a header we do not read, mean the whole body.
fn byte_range(
    header: Option<&axum::http::HeaderValue>,
    len: u64,
) -> Option<Result<(u64, u64), ()>> {
    let (a, b) = range_spec(header)?;
    let range = if a.is_empty() {
        let n: u64 = b.parse().ok()?;
        if n == 0 || len == 0 {
            return Some(Err(()));
        }
        (len.saturating_sub(n), len - 1)
    } else {
        let start: u64 = a.parse().ok()?;
        let end = if b.is_empty() {
            len.saturating_sub(1)
        } else {
            b.parse::<u64>().ok()?.min(len.saturating_sub(1))
        };
        if start >= len || end < start {
            return Some(Err(()));
        }
        (start, end)
    };
    Some(Ok(range))
}

/// Streams the provider's audio to the browser as audio only: a fixed content type, no sniffing,
/// a sandboxing CSP (so nothing in the bytes runs on our origin), chunk by chunk, with `Range`.
pub(crate) fn audio_response(
    media: telephony::provider::Media,
    format: AudioFormat,
    disposition: String,
    range: Option<&axum::http::HeaderValue>,
) -> Response {
    use futures::StreamExt;
    let common = [
        (header::CONTENT_TYPE, format.content_type().to_string()),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        (header::CONTENT_SECURITY_POLICY, "sandbox".to_string()),
        (header::CONTENT_DISPOSITION, disposition),
        (header::CACHE_CONTROL, "private, max-age=300".to_string()),
        (header::ACCEPT_RANGES, "bytes".to_string()),
    ];
    let body = media.body.map(|r| r.map_err(std::io::Error::other));
    if let Some(r) = media.range {
        // The provider served exactly the asked-for bytes (checked by the client).
        return (
            axum::http::StatusCode::PARTIAL_CONTENT,
            common,
            [
                (
                    header::CONTENT_RANGE,
                    format!("bytes {}-{}/{}", r.start, r.end, r.total),
                ),
                (header::CONTENT_LENGTH, r.byte_count().to_string()),
            ],
            stream_body(body),
        )
            .into_response();
    }
    let Some(len) = media.content_length else {
        return (common, stream_body(body)).into_response();
    };
    match byte_range(range, len) {
        None => (
            common,
            [(header::CONTENT_LENGTH, len.to_string())],
            stream_body(body),
        )
            .into_response(),
        Some(Err(())) => (
            axum::http::StatusCode::RANGE_NOT_SATISFIABLE,
            common,
            [(header::CONTENT_RANGE, format!("bytes */{len}"))],
        )
            .into_response(),
        Some(Ok((start, end))) => {
            let sliced = slice_stream(body, start, end);
            (
                axum::http::StatusCode::PARTIAL_CONTENT,
                common,
                [
                    (header::CONTENT_RANGE, format!("bytes {start}-{end}/{len}")),
                    (header::CONTENT_LENGTH, (end - start + 1).to_string()),
                ],
                stream_body(sliced),
            )
                .into_response()
        }
    }
}

/// A streamed response body that may be polled again after its end. A compression layer (the
/// browser's `Accept-Encoding: gzip, br`) polls the body once more after it returned its last
/// chunk; `futures::stream::unfold` panics when polled after its end, which cut the chunked
/// response short in every browser. `fuse` answers "ended" for ever instead.
pub(crate) fn stream_body<S>(stream: S) -> Body
where
    S: futures::TryStream + Send + 'static,
    S::Ok: Into<Bytes>,
    S::Error: Into<axum::BoxError>,
{
    use futures::{StreamExt, TryStreamExt};
    Body::from_stream(stream.into_stream().fuse())
}

/// The bytes `start..=end` of a stream, passing chunks on as they come (nothing buffered whole).
fn slice_stream<S>(
    body: S,
    start: u64,
    end: u64,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static
where
    S: futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + Unpin + 'static,
{
    use futures::StreamExt;
    futures::stream::unfold((body, 0u64), move |(mut body, mut pos)| async move {
        while pos <= end {
            let chunk = match body.next().await? {
                Ok(c) => c,
                // Passed on once; the position past the end stops the stream after it.
                Err(e) => return Some((Err(e), (body, u64::MAX))),
            };
            let from = pos;
            pos += chunk.len() as u64;
            if pos <= start {
                continue;
            }
            let lo = start.saturating_sub(from) as usize;
            let hi = ((end + 1).min(pos) - from) as usize;
            return Some((Ok(chunk.slice(lo..hi)), (body, pos)));
        }
        None
    })
}

/// `/o/{org}/calls/export.csv`: the call history with the page's filters, every page of it, as
/// CSV (only the member's own calls for those who see only theirs).
async fn export(
    State(state): State<AppState>,
    auth: AuthSession,
    ip: ClientIp,
    Path(org): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let ctx = match org_ctx(state.clone(), &auth, ip, &org, Permission::Read).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut filter = match CallFilter::from_pairs(&q).validate() {
        Ok(f) => f,
        Err(e) => return error_page(e),
    };
    filter.before = None;
    let user = ctx.own_rows_only();
    let stream = export_stream(state.pool.clone(), ctx.org_id, user, filter);
    csv_download(&format!("calls-{}.csv", ctx.slug), stream_body(stream))
}

/// How far an export has got: the filter (its cursor after the last page sent), the header row
/// while it is still to be sent, and whether the last page has been read.
struct Export {
    filter: ValidFilter,
    header: Option<Bytes>,
    done: bool,
}

/// The export's CSV: the header row, then the calls `EXPORT_BATCH` at a time, each page read only
/// when the download has taken the one before (bounded memory). A failed read ends the download
/// with an error.
fn export_stream(
    pool: sqlx::PgPool,
    org_id: i64,
    user: Option<i64>,
    filter: ValidFilter,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    let header_row = Some(Bytes::from_static(
        b"id,created_at,direction,from,to,status,duration_seconds,duration,cost_usd,recordings,user\n",
    ));
    let start = Export {
        filter,
        header: header_row,
        done: false,
    };
    futures::stream::unfold(start, move |mut c| {
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
                        Export { done: true, ..c },
                    ));
                }
            };
            if rows.is_empty() {
                return None;
            }
            c.done = (rows.len() as i64) < EXPORT_BATCH;
            let bytes = csv_rows(&rows);
            if let Some(last) = rows.last() {
                c.filter.before = Some(last.cursor);
            }
            Some((Ok(Bytes::from(bytes)), c))
        }
    })
}

/// One page of calls as CSV rows, in the header row's columns (numbers and names that a
/// spreadsheet could read as a formula are defused).
fn csv_rows(rows: &[calls::HistoryRow]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::with_capacity(rows.len() * 120));
    for r in rows {
        let cost = r.cost.decimal();
        let _ = w.write_record([
            r.row.id.to_string().as_str(),
            &r.created_iso,
            &r.row.direction,
            &csv_safe(&r.row.from),
            &csv_safe(&r.row.to),
            r.row.status.as_str(),
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
    w.into_inner().unwrap_or_default()
}

async fn usage_csv(
    State(state): State<AppState>,
    auth: AuthSession,
    ip: ClientIp,
    Path(org): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let ctx = match org_ctx(state.clone(), &auth, ip, &org, Permission::Read).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if !ctx.sees_all() {
        return error_page(AppError::Forbidden(
            "Only the org's owners and admins can see its spend.".into(),
        ));
    }
    let val = |k: &str| q.iter().find(|(a, _)| a == k).map(|(_, b)| b.as_str());
    let (from, to) = match app::model::dates::date_range(val("from"), val("to")) {
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

/// `/o/{org}/statements/{id}/statement.csv`: a statement with every adjustment, for those who
/// may see it (another org's, or another member's for a member, is not found).
async fn statement_csv(
    State(state): State<AppState>,
    auth: AuthSession,
    ip: ClientIp,
    Path((org, id)): Path<(String, String)>,
) -> Response {
    let ctx = match org_ctx(state.clone(), &auth, ip, &org, Permission::Read).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<i64>() else {
        return error_page(AppError::NotFound);
    };
    match app::ssr::statements::csv(&ctx, id).await {
        Ok((name, body)) => csv_download(&name, Body::from(body)),
        Err(e) => error_page(e),
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use futures::StreamExt;

    fn range(h: &str, len: u64) -> Option<Result<(u64, u64), ()>> {
        byte_range(Some(&HeaderValue::from_str(h).unwrap()), len)
    }

    #[test]
    fn only_plain_ranges_are_forwarded() {
        let fwd = |h: &str| forwardable_range(Some(&HeaderValue::from_str(h).unwrap()));
        assert_eq!(
            fwd("bytes=10-19"),
            Some(telephony::ByteRange {
                start: 10,
                end: Some(19)
            })
        );
        assert_eq!(
            fwd("bytes=500-"),
            Some(telephony::ByteRange {
                start: 500,
                end: None
            })
        );
        assert_eq!(fwd("bytes=-100"), None);
        assert_eq!(fwd("bytes=0-1,5-9"), None);
        assert_eq!(fwd("bytes=9-1"), None);
        assert_eq!(fwd("lines=1-2"), None);
    }

    #[test]
    fn ranges_follow_rfc_9110() {
        assert_eq!(range("bytes=0-99", 1000), Some(Ok((0, 99))));
        assert_eq!(range("bytes=500-", 1000), Some(Ok((500, 999))));
        assert_eq!(range("bytes=-100", 1000), Some(Ok((900, 999))));
        assert_eq!(range("bytes=900-5000", 1000), Some(Ok((900, 999))));
        assert_eq!(range("bytes=1000-", 1000), Some(Err(())));
        assert_eq!(range("bytes=5-1", 1000), Some(Err(())));
        assert_eq!(range("bytes=0-1,5-9", 1000), None);
        assert_eq!(range("items=0-1", 1000), None);
        assert_eq!(range("bytes=x-1", 1000), None);
        assert_eq!(byte_range(None, 1000), None);
    }

    #[tokio::test]
    async fn a_slice_spans_chunk_boundaries_without_collecting_the_body() {
        let chunks: Vec<Result<Bytes, std::io::Error>> =
            (0u8..10).map(|i| Ok(Bytes::from(vec![i; 10]))).collect();
        let polled = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let p = polled.clone();
        let body = futures::stream::iter(chunks).inspect(move |_| {
            p.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        });
        let out: Vec<u8> = slice_stream(body, 15, 34)
            .map(|c| c.unwrap().to_vec())
            .concat()
            .await;
        let want: Vec<u8> = (15..=34).map(|i| (i / 10) as u8).collect();
        assert_eq!(out, want);
        // Chunks past the range are never read.
        assert_eq!(polled.load(std::sync::atomic::Ordering::SeqCst), 4);
    }
}

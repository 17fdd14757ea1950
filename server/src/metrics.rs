//! Prometheus metrics, served on their own address (`PHONEHUB_METRICS_ADDR`), never on the public
//! one: HTTP requests by route and status, provider calls, lookups, the event writer, bulk jobs
//! and the database pool.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use http::{header, StatusCode};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

use app::ssr::AppState;

const SECONDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
const BATCH: &[f64] = &[1.0, 5.0, 10.0, 50.0, 100.0, 250.0, 500.0, 1000.0];

/// The process's recorder (installed once; every server in a test process shares it).
pub fn handle() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let built = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("seconds".into()), SECONDS)
                .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("batch_size".into()), BATCH))
                .and_then(|b| b.install_recorder());
            match built {
                Ok(h) => Some(h),
                Err(e) => {
                    tracing::warn!(error = %e, "metrics are off: could not install the recorder");
                    None
                }
            }
        })
        .clone()
}

/// Counts and times every request under its route's pattern (`/o/{org}/numbers`, not the path
/// itself, so an org's slug or a number never becomes a label).
pub async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = method_label(req.method());
    let started = Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::counter!("phonehub_http_requests_total", "method" => method, "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("phonehub_http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    res
}

/// A method as a label: the standard ones by name, anything else one label (any token is a valid
/// method, and a label per made-up method would grow the metrics without end).
fn method_label(m: &http::Method) -> &'static str {
    use http::Method;
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Binds the metrics address (before the app starts, so a taken port fails the start).
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serves `GET /metrics` on `listener` until `stop` resolves.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = Router::new()
        .route("/metrics", get(render))
        .with_state(state);
    axum::serve(listener, router)
        .with_graceful_shutdown(stop)
        .await
}

async fn render(State(state): State<AppState>) -> Response {
    let Some(handle) = handle() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "metrics are off").into_response();
    };
    sample_gauges(&state).await;
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
        .into_response()
}

/// Gauges read at scrape time: the pool, the event buffer, the hot cache, the bulk job queue.
async fn sample_gauges(state: &AppState) {
    let size = f64::from(state.pool.size());
    let idle = state.pool.num_idle() as f64;
    metrics::gauge!("phonehub_db_pool_connections", "state" => "in_use").set(size - idle);
    metrics::gauge!("phonehub_db_pool_connections", "state" => "idle").set(idle);
    metrics::gauge!("phonehub_lookup_events_pending").set(state.events.pending() as f64);
    metrics::gauge!("phonehub_hot_cache_entries").set(state.hot.entries() as f64);
    let stats = tokio::time::timeout(
        Duration::from_secs(1),
        app::ssr::bulk_lookups::queue_stats(&state.pool),
    )
    .await;
    match stats {
        Ok(Ok(q)) => {
            metrics::gauge!("phonehub_bulk_jobs", "status" => "queued").set(q.queued as f64);
            metrics::gauge!("phonehub_bulk_jobs", "status" => "running").set(q.running as f64);
            metrics::gauge!("phonehub_bulk_job_oldest_seconds", "status" => "queued")
                .set(q.oldest_queued_secs);
            metrics::gauge!("phonehub_bulk_job_oldest_seconds", "status" => "running")
                .set(q.oldest_running_secs);
            metrics::gauge!("phonehub_database_up").set(1.0);
        }
        _ => metrics::gauge!("phonehub_database_up").set(0.0),
    }
}

//! The browser bundle under `/pkg`: precompressed files when the browser accepts them, cached for
//! a year when their name carries a content hash, revalidated otherwise; and the compression of
//! everything else the server writes (pages, server function answers, CSV).

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use http::{header, HeaderValue};
use tower_http::compression::predicate::{NotForContentType, Predicate};
use tower_http::compression::{CompressionLayer, DefaultPredicate};
use tower_http::services::ServeDir;

/// `make dist` names the bundle `phonehub.<hash>`: a file of that name never changes.
pub fn is_hashed(output_name: &str) -> bool {
    output_name
        .rsplit_once('.')
        .is_some_and(|(_, hash)| hash.len() >= 8 && hash.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Serves `<site_root>/pkg`, preferring `<file>.br` or `<file>.gz` when they exist and are accepted.
pub fn routes<S: Clone + Send + Sync + 'static>(site_root: &str, output_name: &str) -> Router<S> {
    let files = ServeDir::new(format!("{site_root}/pkg"))
        .precompressed_br()
        .precompressed_gzip();
    let immutable = is_hashed(output_name).then(|| output_name.to_string());
    Router::new()
        .fallback_service(files)
        .layer(axum::middleware::from_fn_with_state(
            immutable,
            cache_control,
        ))
}

async fn cache_control(State(hashed): State<Option<String>>, req: Request, next: Next) -> Response {
    let name = req.uri().path().rsplit('/').next().unwrap_or_default();
    // `phonehub.<hash>.js`, `.css` and `phonehub.<hash>_bg.wasm`.
    let forever = hashed.as_deref().is_some_and(|h| {
        name.strip_prefix(h)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with("_bg."))
    });
    let mut res = next.run(req).await;
    if res.status().is_success() || res.status() == http::StatusCode::NOT_MODIFIED {
        let value = if forever {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
        // The same name is sent as brotli, gzip or raw: shared caches must key on the encoding.
        res.headers_mut()
            .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    res
}

/// Brotli or gzip for what the app writes; audio (recordings) and ZIP exports (mostly audio)
/// are compressed already.
pub fn compression() -> CompressionLayer<impl Predicate> {
    CompressionLayer::new().br(true).gzip(true).compress_when(
        DefaultPredicate::new()
            .and(NotForContentType::const_new("audio/"))
            .and(NotForContentType::const_new("application/zip")),
    )
}

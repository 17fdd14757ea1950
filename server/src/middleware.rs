//! Request guards around the app: same-origin checks, login redirects, plain (no-JS) form posts,
//! and the 503 page when the database is down.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use app::api::api_keys::SHOW_ONCE_HEADER;
use app::components::{FormOutcome, ShownOnce};
use app::error::AppError;
use app::ssr::auth::AuthSession;
use app::ssr::outage::Outage;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use leptos::server_fn::error::FromServerFnError;
use sqlx::PgPool;

/// Paths whose POSTs come from providers, not browsers (signed webhooks, the Twilio sandbox).
fn origin_exempt(path: &str) -> bool {
    path.starts_with(app::ssr::webhooks::Hook::PREFIX) || path.starts_with("/sandbox/")
}

fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether a header value (an Origin, or a Referer URL) has exactly the public origin.
pub fn same_origin(value: &str, public: &url::Url) -> bool {
    url::Url::parse(value)
        .map(|u| u.origin() == public.origin())
        .unwrap_or(false)
}

/// Rejects state-changing requests whose Origin (or, lacking it, Referer) is not `PHONEHUB_PUBLIC_URL`.
pub async fn check_origin(
    State(public): State<Arc<url::Url>>,
    req: Request,
    next: Next,
) -> Response {
    if !is_write(req.method()) || origin_exempt(req.uri().path()) {
        return next.run(req).await;
    }
    let headers = req.headers();
    let claimed = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    match claimed {
        Some(o) if same_origin(&o, &public) => next.run(req).await,
        other => {
            tracing::warn!(origin = ?other, path = %req.uri().path(), "cross-origin write rejected");
            let shown = other.unwrap_or_else(|| "an unknown page".into());
            page(
                StatusCode::FORBIDDEN,
                "Request rejected",
                &format!(
                    "This form was sent from {}, but PhoneHub only accepts changes made on {}. \
                     Open PhoneHub at that address and try again.",
                    escape(&shown),
                    escape(public.origin().ascii_serialization().as_str())
                ),
            )
        }
    }
}

fn protected(path: &str) -> bool {
    path == "/"
        || path == "/account"
        || path.starts_with("/o/")
        || path.starts_with("/admin/")
        || path.starts_with("/staff/")
}

/// Pages that need a signed-in user send anonymous visitors to the login page (and back after),
/// and someone whose password another person chose to the account page to choose their own.
pub async fn require_login(req: Request, next: Next) -> Response {
    let must_change = req
        .extensions()
        .get::<AuthSession>()
        .and_then(|a| a.user.as_ref())
        .is_some_and(|u| u.must_change_password);
    if must_change && !open_before_own_password(req.uri().path()) {
        return choose_password_first(&req);
    }
    if req.method() == Method::GET && protected(req.uri().path()) {
        let signed_in = req
            .extensions()
            .get::<AuthSession>()
            .is_some_and(|a| a.user.is_some());
        if !signed_in {
            let path = req
                .uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            let target = if path == "/" {
                "/login".to_string()
            } else {
                format!("/login?next={}", urlencode(path))
            };
            return redirect_303(&target);
        }
    }
    next.run(req).await
}

/// What a person whose password someone else chose may reach before choosing their own: the
/// account page and what it needs, signing out, and anything that is not the app's.
fn open_before_own_password(path: &str) -> bool {
    match path.strip_prefix("/api/") {
        Some(endpoint) => matches!(endpoint, "change_password" | "logout" | "login" | "me"),
        None => path == "/account" || !protected(path),
    }
}

/// The sentence everything else answers with until then.
pub const CHOOSE_PASSWORD_FIRST: &str = "This account was made for you with a password someone \
     else chose: choose your own on your account page before you go on.";

/// Pages (and forms sent without JavaScript) go to the account page, which says why; the hydrated
/// app's server functions get the sentence with a 403.
fn choose_password_first(req: &Request) -> Response {
    if req.uri().path().starts_with("/api/") && !accepts_html(req.headers()) {
        let mut res = (
            StatusCode::FORBIDDEN,
            AppError::Forbidden(CHOOSE_PASSWORD_FIRST.into()).ser(),
        )
            .into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        return res;
    }
    redirect_303("/account")
}

/// What a form's page is rendered again with: the failed post's errors and values, or a
/// success whose answer is shown once.
#[derive(Debug, Clone)]
pub enum Rerender {
    Failed(FormOutcome),
    ShownOnce(ShownOnce),
}

pub type RenderPage =
    Arc<dyn Fn(Request, Rerender) -> Pin<Box<dyn Future<Output = Response> + Send>> + Send + Sync>;

const SERVER_FN_ERROR_HEADER: &str = "serverfnerror";
const MAX_FORM_BYTES: usize = 256 * 1024;

/// Server functions answer with the error's own status (4xx for bad input), and a plain form post
/// (JavaScript off) gets a full page: a 303 back on success, or the form's page again with its
/// errors and the error's status.
pub async fn server_fn_forms(
    State((render, outage)): State<(RenderPage, Outage)>,
    req: Request,
    next: Next,
) -> Response {
    if !req.uri().path().starts_with("/api/") || req.method() != Method::POST {
        return next.run(req).await;
    }
    if !accepts_html(req.headers()) {
        return fix_error_status(next.run(req).await).await;
    }

    let (mut parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_FORM_BYTES).await {
        Ok(b) => b,
        Err(_) => return page(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Form too large",
            "The form you sent is larger than PhoneHub accepts. Shorten the fields and try again.",
        ),
    };
    let values: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    let return_path = return_path(&parts.headers, &values);
    let endpoint = parts.uri.path().to_string();
    // Without text/html the framework answers with data instead of redirecting: we decide below.
    parts
        .headers
        .insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    let original = parts.clone();
    let res = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;

    if res.headers().get(SERVER_FN_ERROR_HEADER).is_none() && res.status().is_success() {
        if res.headers().contains_key(SHOW_ONCE_HEADER) {
            return show_once(&render, original, endpoint, return_path, res).await;
        }
        return redirect_after_success(&res, return_path);
    }
    let (res_parts, res_body) = res.into_parts();
    let err_bytes = axum::body::to_bytes(res_body, MAX_FORM_BYTES)
        .await
        .unwrap_or_default();
    let error = decode_error(&res_parts, err_bytes);
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let Some(path) = return_path.filter(|p| p.starts_with('/')) else {
        return page(status, "Could not save", &escape(&error.to_string()));
    };
    // While the database is away only the pages served from memory are rendered (the form's
    // page is whatever the Referer says).
    let page_path = path.split(['?', '#']).next().unwrap_or_default();
    if outage.ongoing() && !served_from_memory(page_path) {
        return unavailable_html();
    }
    let outcome = FormOutcome {
        endpoint,
        page: path,
        error,
        values: values
            .into_iter()
            .filter(|(k, _)| !is_secret_field(k) && k != "_page")
            .collect(),
    };
    let mut rendered = render_form_page(&render, original, outcome, status).await;
    for cookie in res_parts.headers.get_all(header::SET_COOKIE) {
        rendered
            .headers_mut()
            .append(header::SET_COOKIE, cookie.clone());
    }
    rendered
}

/// The page a plain form came from (its referer), where it goes back to.
fn return_path(headers: &HeaderMap, values: &[(String, String)]) -> Option<String> {
    let referer_path = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| url::Url::parse(r).ok())
        .map(|u| match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        });
    // On a no-JS error page (shown at /api/…) the form names its real page in `_page`.
    match referer_path {
        Some(p) if p.starts_with("/api/") => values
            .iter()
            .find(|(k, _)| k == "_page")
            .map(|(_, v)| v.clone())
            .filter(|v| v.starts_with('/') && !v.starts_with("//")),
        other => other,
    }
}

/// A 303 to where the server function redirected, else back to the form's page; cookies kept.
fn redirect_after_success(res: &Response, return_path: Option<String>) -> Response {
    let target = res
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or(return_path)
        .unwrap_or_else(|| "/".into());
    let mut out = redirect_303(&target);
    for cookie in res.headers().get_all(header::SET_COOKIE) {
        out.headers_mut().append(header::SET_COOKIE, cookie.clone());
    }
    out
}

/// A success whose answer is shown once (a new API key): the form's page rendered with it, 200,
/// never cached. Its cookies are kept.
async fn show_once(
    render: &RenderPage,
    get: http::request::Parts,
    endpoint: String,
    return_path: Option<String>,
    res: Response,
) -> Response {
    let (res_parts, res_body) = res.into_parts();
    let body = axum::body::to_bytes(res_body, MAX_FORM_BYTES)
        .await
        .unwrap_or_default();
    let body = String::from_utf8_lossy(&body).into_owned();
    let Some(path) = return_path.filter(|p| p.starts_with('/')) else {
        // No page to go back to: the answer itself, as it is shown only this once.
        let mut out = page(
            StatusCode::OK,
            "Done",
            &format!(
                "Copy this now, it is not shown again:<pre>{}</pre>",
                escape(&body)
            ),
        );
        out.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return out;
    };
    let shown = ShownOnce { endpoint, body };
    let mut rendered = render_page_again(
        render,
        get,
        &path,
        Rerender::ShownOnce(shown),
        StatusCode::OK,
    )
    .await;
    rendered
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for cookie in res_parts.headers.get_all(header::SET_COOKIE) {
        rendered
            .headers_mut()
            .append(header::SET_COOKIE, cookie.clone());
    }
    rendered
}

/// The form's page rendered again (a GET) with the error next to its field and the values kept.
async fn render_form_page(
    render: &RenderPage,
    get: http::request::Parts,
    outcome: FormOutcome,
    status: StatusCode,
) -> Response {
    let path = outcome.page.clone();
    render_page_again(render, get, &path, Rerender::Failed(outcome), status).await
}

async fn render_page_again(
    render: &RenderPage,
    mut get: http::request::Parts,
    path: &str,
    with: Rerender,
    status: StatusCode,
) -> Response {
    get.method = Method::GET;
    get.uri = match path.parse() {
        Ok(u) => u,
        Err(_) => {
            let detail = match &with {
                Rerender::Failed(o) => o.error.to_string(),
                Rerender::ShownOnce(_) => "Saved.".to_string(),
            };
            return page(status, "Could not save", &escape(&detail));
        }
    };
    get.headers.remove(header::CONTENT_TYPE);
    get.headers.remove(header::CONTENT_LENGTH);
    get.headers
        .insert(header::ACCEPT, HeaderValue::from_static("text/html"));
    let mut rendered = render(Request::from_parts(get, Body::empty()), with).await;
    // The page's own status wins when it is an error (say the org is gone); else the form's.
    if rendered.status().is_success() {
        *rendered.status_mut() = status;
    }
    rendered
}

/// Fields never echoed back into a re-rendered form (nor into its hydration data).
fn is_secret_field(name: &str) -> bool {
    name.contains("password")
        || name.contains("token")
        || name.contains("secret")
        || name == "current"
        || name == "confirm"
}

fn decode_error(parts: &http::response::Parts, bytes: Bytes) -> AppError {
    if parts.headers.get(SERVER_FN_ERROR_HEADER).is_some() {
        AppError::de(bytes)
    } else if parts.status == StatusCode::SERVICE_UNAVAILABLE {
        AppError::Unavailable
    } else {
        AppError::Internal
    }
}

/// Errors raised before the function body ran (malformed arguments) come out as 500; give them
/// the status their `AppError` names.
async fn fix_error_status(res: Response) -> Response {
    if res.headers().get(SERVER_FN_ERROR_HEADER).is_none()
        || res.status() != StatusCode::INTERNAL_SERVER_ERROR
    {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .unwrap_or_default();
    let err = AppError::de(bytes.clone());
    if let Ok(s) = StatusCode::from_u16(err.status()) {
        parts.status = s;
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// A 500 while the database is unreachable is shown as "temporarily unavailable" (503).
pub async fn unavailable_page(
    State((pool, outage)): State<(PgPool, Outage)>,
    req: Request,
    next: Next,
) -> Response {
    let res = next.run(req).await;
    if res.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return res;
    }
    if !outage.ongoing() && db_healthy(&pool).await {
        return res;
    }
    unavailable_html()
}

fn unavailable_html() -> Response {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        "PhoneHub is temporarily unavailable",
        "We cannot reach our database right now. Nothing you did caused this; please try again in a moment.",
    )
}

/// What this server can answer from memory while the database is away (see
/// `app::ssr::last_known`): the lookup page and its lookups, and the nav bar's data.
fn served_from_memory(path: &str) -> bool {
    match path {
        "/api/lookup_number" | "/api/load_lookup_page" | "/api/me" => true,
        _ => path
            .strip_prefix("/o/")
            .and_then(|rest| rest.strip_suffix("/lookup"))
            .is_some_and(|slug| !slug.is_empty() && !slug.contains('/')),
    }
}

/// A browser's page or plain form (no JavaScript), rather than the hydrated app's fetch.
fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

/// While a read has just found the database unreachable, everything that needs it answers 503 at
/// once, instead of each request waiting out the pool's acquire timeout again. Runs after the
/// session and user are loaded (which is where an outage is first noticed).
pub async fn outage_gate(State(outage): State<Outage>, req: Request, next: Next) -> Response {
    if !outage.ongoing() || served_from_memory(req.uri().path()) {
        return next.run(req).await;
    }
    if req.uri().path().starts_with("/api/") && !accepts_html(req.headers()) {
        // As a server function answers the hydrated app (it shows the error's sentence).
        let mut res =
            (StatusCode::SERVICE_UNAVAILABLE, AppError::Unavailable.ser()).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        return res;
    }
    unavailable_html()
}

pub async fn db_healthy(pool: &PgPool) -> bool {
    matches!(
        tokio::time::timeout(Duration::from_millis(200), app::ssr::database_answers(pool)).await,
        Ok(Ok(()))
    )
}

pub fn redirect_303(target: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(target) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// The bundle's name (`phonehub`, or `phonehub.<hash>` from `make dist`), for standalone pages.
static BUNDLE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Called once at start (later calls, such as a second server in a test process, keep the first).
pub fn set_bundle_name(name: &str) {
    let _ = BUNDLE.set(name.to_string());
}

/// The stylesheet's URL, for standalone pages.
pub fn stylesheet_href() -> String {
    format!(
        "/pkg/{}.css",
        BUNDLE.get().map_or("phonehub", String::as_str)
    )
}

/// A minimal standalone page for answers produced outside the Leptos app.
pub fn page(status: StatusCode, title: &str, body_html: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t} · PhoneHub</title><link rel=\"stylesheet\" href=\"/pkg/{css}.css\"></head>\
         <body class=\"min-h-screen bg-slate-50 text-slate-900\"><main class=\"mx-auto max-w-xl px-4 py-16\">\
         <section class=\"card\" role=\"alert\"><h1 class=\"text-xl font-semibold\">{t}</h1>\
         <p class=\"mt-2\">{body_html}</p><p class=\"mt-4\"><a class=\"link\" href=\"/\">Back to PhoneHub</a></p>\
         </section></main></body></html>",
        t = escape(title),
        css = BUNDLE.get().map_or("phonehub", String::as_str)
    );
    (status, Html(html)).into_response()
}

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The policy for every response that does not set its own: our own scripts (and wasm), styles
/// and images only, never framed. Pages rendered by Leptos set the same policy with a per-response
/// nonce for their inline hydration scripts (`app::shell`).
pub const DEFAULT_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; media-src 'self'; \
    object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// Security headers on every response: CSP (unless the response set one), no sniffing, no
/// framing, a strict referrer policy, and HSTS when the public URL is https.
pub async fn security_headers(State(https): State<bool>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DEFAULT_CSP),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    if https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_must_match_scheme_host_and_port() {
        let public = url::Url::parse("https://phonehub.example.com").unwrap();
        assert!(same_origin("https://phonehub.example.com", &public));
        assert!(same_origin(
            "https://phonehub.example.com/o/acme?x=1",
            &public
        ));
        assert!(same_origin("https://phonehub.example.com:443", &public));
        assert!(!same_origin("http://phonehub.example.com", &public));
        assert!(!same_origin("https://evil.example.com", &public));
        assert!(!same_origin(
            "https://phonehub.example.com.evil.test",
            &public
        ));
        assert!(!same_origin("null", &public));
    }

    #[test]
    fn only_page_paths_need_login() {
        assert!(protected("/o/acme/members"));
        assert!(protected("/admin/orgs"));
        assert!(!protected("/login"));
        assert!(!protected("/healthz"));
        assert!(!protected("/readyz"));
        assert!(!protected("/pkg/phonehub.js"));
    }

    #[test]
    fn escaping_neutralises_markup() {
        assert_eq!(
            escape("<a href=\"x\">&"),
            "&lt;a href=&quot;x&quot;&gt;&amp;"
        );
    }
}

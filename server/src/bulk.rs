//! Plain HTTP routes for bulk lookups: the CSV upload (a multipart form, the same with JavaScript
//! on or off) and the results download.

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use app::components::FormOutcome;
use app::error::AppError;
use app::pages::BULK_UPLOAD_ENDPOINT;
use app::ssr::auth::AuthSession;
use app::ssr::{bulk_lookups as jobs, AppState, Permission};

use crate::middleware::{page, redirect_303, RenderPage};
use crate::plain_routes::{error_page, org_ctx, ClientIp};

pub fn routes(render: RenderPage) -> Router<AppState> {
    Router::new()
        .route(
            "/o/{org}/lookups/bulk/upload",
            post(move |state, auth, ip, path, req| {
                upload(state, auth, ip, path, req, render.clone())
            }),
        )
        .route("/o/{org}/lookups/bulk/{job}/results.csv", get(download))
}

async fn upload(
    State(state): State<AppState>,
    auth: AuthSession,
    ip: ClientIp,
    Path(org): Path<String>,
    req: Request,
    render: RenderPage,
) -> Response {
    let ctx = match org_ctx(state.clone(), &auth, ip, &org, Permission::Use).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let page_path = format!("/o/{}/lookups/bulk", ctx.slug);
    let (parts, body) = req.into_parts();
    let headers = parts.clone();
    let parsed = match read_file(Request::from_parts(parts, body), &state).await {
        // Up to 10,000 rows of parsing: kept off the async threads.
        Ok((name, bytes)) => {
            let country = ctx.country.clone();
            tokio::task::spawn_blocking(move || jobs::parse_csv(&bytes, &country)).await
        }
        .unwrap_or(Err(AppError::Internal))
        .map(|rows| (name, rows)),
        Err(e) => Err(e),
    };
    let (name, rows) = match parsed {
        Ok(p) => p,
        Err(e) => return form_error(&render, headers, (BULK_UPLOAD_ENDPOINT, &page_path), e).await,
    };
    match jobs::create_job(&state.pool, ctx.org_id, ctx.user.id, &name, &rows).await {
        Ok(id) => redirect_303(&format!("{page_path}?job={id}")),
        // The org's queue is full: said next to the file field, nothing written.
        Err(e @ AppError::Validation { .. }) => {
            form_error(&render, headers, (BULK_UPLOAD_ENDPOINT, &page_path), e).await
        }
        Err(e) => {
            tracing::error!(error = %e, "creating a bulk lookup job failed");
            error_page(AppError::Unavailable)
        }
    }
}

/// The uploaded `file` field: its name and bytes (empty when none was sent).
async fn read_file(req: Request, state: &AppState) -> Result<(String, Vec<u8>), AppError> {
    read_form(req, state).await.map(|f| (f.file_name, f.file))
}

/// A multipart form as sent: its `file` field (name and bytes, empty when none was sent) and its
/// short text fields (at most 20, each at most 2,000 characters).
pub(crate) struct Upload {
    pub file_name: String,
    pub file: Vec<u8>,
    pub fields: Vec<(String, String)>,
}

impl Upload {
    pub fn field(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

pub(crate) async fn read_form(req: Request, state: &AppState) -> Result<Upload, AppError> {
    let unreadable = |msg: &str| AppError::validation("file", msg);
    let mut form = Multipart::from_request(req, state)
        .await
        .map_err(|_| unreadable("Send the form with a file attached (multipart upload)."))?;
    let mut up = Upload {
        file_name: String::new(),
        file: Vec::new(),
        fields: Vec::new(),
    };
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|_| unreadable("The upload could not be read. Try again."))?
    {
        let name = field.name().unwrap_or("").to_string();
        if name != "file" {
            let text = field
                .text()
                .await
                .map_err(|_| unreadable("The upload could not be read. Try again."))?;
            if up.fields.len() < 20 {
                up.fields.push((name, text.chars().take(2000).collect()));
            }
            continue;
        }
        up.file_name = field.file_name().unwrap_or("").chars().take(200).collect();
        let bytes = field.bytes().await.map_err(|_| {
            unreadable("The file is larger than 1 MB. Split it into smaller files.")
        })?;
        up.file = bytes.to_vec();
    }
    Ok(up)
}

/// Renders the form's page again with the upload's error next to its field (`endpoint` names the
/// form).
pub(crate) async fn form_error(
    render: &RenderPage,
    headers: http::request::Parts,
    (endpoint, page_path): (&str, &str),
    error: AppError,
) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let outcome = FormOutcome {
        endpoint: endpoint.into(),
        page: page_path.into(),
        error,
        values: Vec::new(),
    };
    // The original request's parts keep the session (extensions) for the page render.
    let mut parts = headers;
    parts.method = Method::GET;
    parts.uri = match page_path.parse() {
        Ok(u) => u,
        Err(_) => {
            return page(
                status,
                "Upload failed",
                "The upload could not be processed.",
            )
        }
    };
    let mut req = Request::from_parts(parts, Body::empty());
    req.headers_mut().remove(header::CONTENT_TYPE);
    req.headers_mut().remove(header::CONTENT_LENGTH);
    req.headers_mut()
        .insert(header::ACCEPT, HeaderValue::from_static("text/html"));
    let mut res = render(req, crate::middleware::Rerender::Failed(outcome)).await;
    if res.status().is_success() {
        *res.status_mut() = status;
    }
    res
}

async fn download(
    State(state): State<AppState>,
    auth: AuthSession,
    ip: ClientIp,
    Path((org, job)): Path<(String, String)>,
) -> Response {
    let ctx = match org_ctx(state.clone(), &auth, ip, &org, Permission::Read).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Ok(job) = job.parse::<i64>() else {
        return error_page(AppError::NotFound);
    };
    match jobs::results_csv(&state.pool, ctx.org_id, job).await {
        Ok(Some(csv)) => crate::downloads::csv_download(
            &format!("lookups-{}-job-{job}.csv", ctx.slug),
            Body::from(csv),
        ),
        Ok(None) => error_page(AppError::NotFound),
        Err(e) => {
            tracing::error!(error = %e, "reading bulk lookup results failed");
            error_page(AppError::Unavailable)
        }
    }
}

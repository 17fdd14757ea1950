//! `/o/{org}/admin/requests/export.zip?number=…`: everything the org holds about one number, as
//! a ZIP download, for its owners, admins and support staff (the page links to it).

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use app::ssr::auth::AuthSession;
use app::ssr::{requests, AppState, Permission};

use crate::plain_routes::{error_page, org_ctx, ClientIp};

pub fn routes() -> Router<AppState> {
    Router::new().route("/o/{org}/admin/requests/export.zip", get(export))
}

async fn export(
    State(state): State<AppState>,
    auth: AuthSession,
    ip: ClientIp,
    Path(org): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let ctx = match org_ctx(state, &auth, ip, &org, Permission::Read).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let number = q
        .iter()
        .find(|(k, _)| k == "number")
        .map_or("", |(_, v)| v.as_str());
    let result = async {
        requests::must_oversee(&ctx)?;
        let n = requests::parse_number(&ctx, "number", number)?;
        let zip = requests::export_zip(&ctx, &n).await?;
        Ok::<_, app::error::AppError>((n, zip))
    }
    .await;
    match result {
        Ok((n, zip)) => zip_download(
            &format!(
                "phonehub-{}-{}.zip",
                ctx.slug,
                n.as_str().trim_start_matches('+')
            ),
            zip,
        ),
        Err(e) => error_page(e),
    }
}

/// A ZIP as an attachment, never cached.
pub(crate) fn zip_download(filename: &str, zip: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        zip,
    )
        .into_response()
}

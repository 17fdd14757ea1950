//! Plain HTTP routes of the opt-out ledger: the CSV import (a multipart form, the same with
//! JavaScript on or off) and the CSV download.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use app::error::AppError;
use app::pages::OPT_OUT_IMPORT_ENDPOINT;
use app::ssr::auth::AuthSession;
use app::ssr::{opt_out_list as opt_outs, AppState, Permission};

use crate::bulk::{form_error, read_form};
use crate::middleware::{redirect_303, RenderPage};
use crate::plain_routes::{error_page, org_ctx, ClientIp};

pub fn routes(render: RenderPage) -> Router<AppState> {
    Router::new()
        .route(
            "/o/{org}/admin/opt-outs/import",
            post(move |state, auth, ip, path, req| {
                import(state, auth, ip, path, req, render.clone())
            }),
        )
        .route("/o/{org}/admin/opt-outs.csv", get(download))
}

async fn import(
    State(state): State<AppState>,
    auth: AuthSession,
    ip: ClientIp,
    Path(org): Path<String>,
    req: Request,
    render: RenderPage,
) -> Response {
    let ctx = match org_ctx(state.clone(), &auth, ip, &org, Permission::Manage).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let page_path = format!("/o/{}/admin/opt-outs", ctx.slug);
    let (parts, body) = req.into_parts();
    let headers = parts.clone();
    let done = match read_form(Request::from_parts(parts, body), &state).await {
        Ok(up) => opt_outs::import(&ctx, &up.file, up.field("reason")).await,
        Err(e) => Err(e),
    };
    match done {
        Ok(_) => redirect_303(&format!("{page_path}?notice=opt-outs-imported")),
        Err(e @ AppError::Validation { .. }) => {
            form_error(&render, headers, (OPT_OUT_IMPORT_ENDPOINT, &page_path), e).await
        }
        Err(e) => error_page(e),
    }
}

/// `/o/{org}/admin/opt-outs.csv`: the org's opt-out list, for everyone who may see the page.
async fn download(
    State(state): State<AppState>,
    auth: AuthSession,
    ip: ClientIp,
    Path(org): Path<String>,
) -> Response {
    let ctx = match org_ctx(state.clone(), &auth, ip, &org, Permission::Read).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    match opt_outs::csv(&ctx).await {
        Ok((name, bytes)) => crate::downloads::csv_download(&name, Body::from(bytes)),
        Err(e) => error_page(e),
    }
}

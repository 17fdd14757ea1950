//! Requests by phone number: find what the org holds about a number, export it (a ZIP served by
//! the server crate at `/o/{org}/admin/requests/export.zip?number=…`) or erase it.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::requests::RequestsPage;

#[cfg(feature = "ssr")]
use crate::ssr::{require, respond, Permission};

/// The page; `number` (as typed: E.164, or national in the org's country) searches, empty shows
/// the form only. Owners, admins and support staff.
#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "load_requests")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn load_requests(org: String, number: String) -> Result<RequestsPage, AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Read).await?;
            crate::ssr::requests::page(&ctx, &number).await
        }
        .await,
    )
}

/// Erases what the org holds about `number` (provider deletions first); `confirm` must repeat
/// the number. Owners and admins.
#[server(prefix = "/api", endpoint = "erase_number")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn erase_number(org: String, number: String, confirm: String) -> Result<(), AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Manage).await?;
            let (e164, _) = crate::ssr::requests::erase_confirmed(&ctx, &number, &confirm).await?;
            let q = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("number", &e164)
                .append_pair("notice", "number-erased")
                .finish();
            leptos_axum::redirect(&format!("/o/{}/admin/requests?{q}", ctx.slug));
            Ok(())
        }
        .await,
    )
}

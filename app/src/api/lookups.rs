//! Lookups: look a number up through the shared cache, the cost figures and bulk jobs.

// A form's fields are a server function's arguments (plain HTML forms post them by name), and the
// phone configuration form has thirteen.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::lookup::{BulkPage, LookupPage, LookupStats};

#[cfg(feature = "ssr")]
use crate::ssr::{lookup_pages, require, respond, Permission};

/// The lookup page; `number` is the one whose answer it shows (the org must have asked for it).
#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "load_lookup_page")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn load_lookup_page(org: String, number: Option<String>) -> Result<LookupPage, AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Read).await?;
            lookup_pages::page(&ctx, number.as_deref()).await
        }
        .await,
    )
}

/// Looks a number up (through the cache) and shows the result page.
#[server(prefix = "/api", endpoint = "lookup_number")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn lookup_number(
    org: String,
    number: String,
    refresh: Option<String>,
) -> Result<(), AppError> {
    respond(
        async {
            let force = refresh.is_some_and(|r| !r.is_empty());
            let ctx = require(
                &org,
                if force {
                    Permission::Manage
                } else {
                    Permission::Use
                },
            )
            .await?;
            let (e164, outcome) = lookup_pages::look_up(&ctx, &number, force).await?;
            leptos_axum::redirect(&format!(
                "/o/{}/lookup?number={}&outcome={}",
                ctx.slug,
                server_side::urlencode(e164.as_str()),
                outcome.as_str()
            ));
            Ok(())
        }
        .await,
    )
}

/// The lookup costs page (owners, admins and staff); `from`/`to`: its dates as typed.
#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "load_lookup_stats")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn load_lookup_stats(
    org: String,
    from: Option<String>,
    to: Option<String>,
) -> Result<LookupStats, AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Read).await?;
            lookup_pages::stats(&ctx, from.as_deref(), to.as_deref()).await
        }
        .await,
    )
}

/// The bulk lookup page; `job` is the job it shows.
#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "load_bulk_page")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn load_bulk_page(org: String, job: Option<i64>) -> Result<BulkPage, AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Read).await?;
            lookup_pages::bulk_page(&ctx, job).await
        }
        .await,
    )
}

/// Resumes a bulk job paused at a budget's hard cap.
#[server(prefix = "/api", endpoint = "resume_bulk_job")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn resume_bulk_job(org: String, id: i64) -> Result<(), AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Use).await?;
            lookup_pages::resume_job(&ctx, id).await?;
            leptos_axum::redirect(&format!("/o/{}/lookups/bulk?job={id}", ctx.slug));
            Ok(())
        }
        .await,
    )
}

#[cfg(feature = "ssr")]
pub mod server_side {
    //! The server-only helpers of the server functions above (and of `/v1`).

    use crate::model::lookup::NumberInfo;
    use crate::ssr::lookup_pages::{self, Cached};

    /// `s` as one value of a URL's query.
    pub fn urlencode(s: &str) -> String {
        url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
    }

    /// A cached answer as the pages and `/v1` show it (see `ssr::lookup_pages::number_info`).
    /// `caller_name`: whether the org's configuration has caller-name lookups on (otherwise the
    /// cached caller name, paid for by another org, is not shown).
    pub fn number_info(c: &Cached, caller_name: bool) -> NumberInfo {
        lookup_pages::number_info(c, caller_name)
    }
}

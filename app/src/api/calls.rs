//! Calls: place one (click-to-call), the history with its filters, one call's page.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::calls::{CallPage, CallsPage, NewCallPage};

#[cfg(feature = "ssr")]
use crate::ssr::{require, respond, Permission};

/// The history; `params` is the page's URL query (filters and the `before` cursor).
#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "load_calls")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn load_calls(org: String, params: String) -> Result<CallsPage, AppError> {
    respond(
        async {
            use crate::model::calls::{CallFilter, PAGE_SIZE};
            let ctx = require(&org, Permission::Read).await?;
            let filter = CallFilter::from_pairs(&crate::model::query_pairs(&params));
            let valid = filter.validate()?;
            let all = ctx.sees_all();
            let user = (!all).then_some(ctx.user.id);
            let pool = &ctx.state.pool;
            let mut rows =
                crate::ssr::calls::history(pool, ctx.org_id, user, &valid, PAGE_SIZE + 1).await?;
            let next = if rows.len() as i64 > PAGE_SIZE {
                rows.truncate(PAGE_SIZE as usize);
                rows.last().map(|r| r.cursor)
            } else {
                None
            };
            Ok(CallsPage {
                all,
                can_call: !ctx.access.read_only(),
                numbers: crate::ssr::calls::filter_numbers(pool, ctx.org_id, user).await?,
                org: ctx.view(),
                filter,
                rows: rows
                    .into_iter()
                    .map(|r| {
                        let mut row = r.row;
                        row.from = crate::ssr::shown(&row.from, &ctx.country);
                        row.to = crate::ssr::shown(&row.to, &ctx.country);
                        row
                    })
                    .collect(),
                next,
            })
        }
        .await,
    )
}

#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "load_call")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn load_call(org: String, id: i64) -> Result<CallPage, AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Read).await?;
            crate::ssr::calls::page(&ctx, id).await
        }
        .await,
    )
}

#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "load_new_call")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn load_new_call(org: String) -> Result<NewCallPage, AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Read).await?;
            let numbers = if ctx.access.read_only() {
                Vec::new()
            } else {
                crate::ssr::calls::usable_numbers(&ctx.state.pool, ctx.org_id, ctx.user.id).await?
            };
            let unavailable = crate::ssr::org_provider::unavailable(
                &ctx.state,
                ctx.org_id,
                crate::model::phone_config::Capability::Voice,
                "placing calls",
            )
            .await?;
            Ok(NewCallPage {
                unavailable,
                can_call: !ctx.access.read_only(),
                org: ctx.view(),
                numbers,
            })
        }
        .await,
    )
}

/// Click-to-call from `number_id` to `to`; lands on the call's page.
#[server(prefix = "/api", endpoint = "place_call")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn place_call(org: String, number_id: String, to: String) -> Result<(), AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Use).await?;
            let number_id: i64 = number_id.trim().parse().map_err(|_| {
                AppError::validation("number_id", "Choose the number to call from.")
            })?;
            let id = crate::ssr::calls::place_as(&ctx, number_id, &to).await?;
            leptos_axum::redirect(&format!("/o/{}/calls/{id}?notice=call-placed", ctx.slug));
            Ok(())
        }
        .await,
    )
}

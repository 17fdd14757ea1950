//! Monthly statements: owners, admins and support staff read every one of the org's, a member
//! their own (the use cases decide). Statements are never changed, so there is nothing to write.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::statements::{Statement, StatementsPage};

#[cfg(feature = "ssr")]
use crate::ssr::statements::{self, PAGE_ADJUSTMENTS};
#[cfg(feature = "ssr")]
use crate::ssr::{require, respond, Permission};

// The generated argument structs are named `Load…`: by default they would take the names of the
// model types these functions answer.
#[server(
    name = LoadStatementsPage,
    prefix = "/api",
    output = leptos::server_fn::codec::Postcard,
    endpoint = "statements_page"
)]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn statements_page(org: String) -> Result<StatementsPage, AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Read).await?;
            statements::page(&ctx).await
        }
        .await,
    )
}

/// Statement `id`, with at most `PAGE_ADJUSTMENTS` of its adjustments listed (the CSV has all).
#[server(
    name = LoadStatement,
    prefix = "/api",
    output = leptos::server_fn::codec::Postcard,
    endpoint = "statement"
)]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org, statement = id), err(level = "debug")))]
pub async fn statement(org: String, id: i64) -> Result<Statement, AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Read).await?;
            statements::get(&ctx, id, PAGE_ADJUSTMENTS).await
        }
        .await,
    )
}

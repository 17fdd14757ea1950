//! Usage and spend (org admins, support) and the audit log pages.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::usage::{AuditPageData, UsagePageData};

#[cfg(feature = "ssr")]
use crate::ssr::usage::{self, AuditOf};
#[cfg(feature = "ssr")]
use crate::ssr::{require, require_staff, respond, Permission};

#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "load_usage")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn load_usage(
    org: String,
    from: Option<String>,
    to: Option<String>,
) -> Result<UsagePageData, AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Read).await?;
            usage::page(&ctx, from.as_deref(), to.as_deref()).await
        }
        .await,
    )
}

/// The audit log: an org's (`org` set; owners, admins, support) or everything (`org` empty;
/// support staff and the superadmin). `params`: actor, action, from, to, before.
#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "load_audit")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn load_audit(org: String, params: String) -> Result<AuditPageData, AppError> {
    respond(
        async {
            if org.is_empty() {
                let (_, state) = require_staff().await?;
                usage::audit_page(AuditOf::Everything(&state), &params).await
            } else {
                let ctx = require(&org, Permission::Read).await?;
                usage::audit_page(AuditOf::Org(&ctx), &params).await
            }
        }
        .await,
    )
}

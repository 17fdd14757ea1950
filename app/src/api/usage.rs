//! Usage and spend (org admins, support) and the audit log pages.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::usage::{AuditPageData, UsagePageData};

#[cfg(feature = "ssr")]
use crate::ssr::{require, respond, Permission};

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
            if !ctx.access.oversees() {
                return Err(AppError::Forbidden(
                    "Only the org's owners and admins can see its spend.".into(),
                ));
            }
            let (from, to) = crate::model::dates::date_range(from.as_deref(), to.as_deref())?;
            // Figures pages read events the batching writer may still hold.
            ctx.state.events.flush_for_page().await;
            let report = crate::ssr::usage::report(&ctx.state.pool, ctx.org_id, from, to).await?;
            Ok(UsagePageData {
                org: ctx.view(),
                report,
            })
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
            use crate::ssr::db::audit::actions as audit_actions;
            use crate::ssr::usage::{audit, AuditQuery};
            let (org_view, org_id, state) = if org.is_empty() {
                let (_, state) = crate::ssr::require_staff().await?;
                (None, None, state)
            } else {
                let ctx = require(&org, Permission::Read).await?;
                if !ctx.access.oversees() {
                    return Err(AppError::Forbidden(
                        "Only the org's owners and admins can read its audit log.".into(),
                    ));
                }
                (Some(ctx.view()), Some(ctx.org_id), ctx.state.clone())
            };
            let pairs = crate::model::query_pairs(&params);
            let val = |k: &str| crate::model::query_value(&pairs, k);
            let date = |field: &str| crate::model::dates::parse_date(field, Some(&val(field)));
            let (actor, action) = (val("actor"), val("action"));
            if actor.chars().count() > 254 || action.chars().count() > 64 {
                return Err(AppError::validation("actor", "That filter is too long."));
            }
            let before = match val("before") {
                b if b.is_empty() => None,
                b => Some(b.parse::<crate::model::cursor::Cursor>()?),
            };
            let q = AuditQuery {
                org_id,
                actor: (!actor.is_empty()).then(|| actor.to_lowercase()),
                action: (!action.is_empty()).then(|| action.clone()),
                from: date("from")?,
                to: date("to")?,
                before,
            };
            let mut rows = audit(&state.pool, &q, 51).await?;
            let next = (rows.len() > 50).then(|| {
                rows.truncate(50);
                rows.last().map(|r| r.1.to_string()).unwrap_or_default()
            });
            Ok(AuditPageData {
                org: org_view,
                from: val("from"),
                to: val("to"),
                actor,
                action,
                rows: rows.into_iter().map(|r| r.0).collect(),
                next,
                actions: audit_actions(&state.pool, org_id).await?,
            })
        }
        .await,
    )
}

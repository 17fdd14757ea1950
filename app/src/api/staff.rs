//! The support console: every org and user at a glance, one org read-only, the shared cache's
//! figures. Support staff and the superadmin only (`require_staff`); for anyone else these do not
//! exist.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::lookup::GlobalCacheStats;
use crate::model::usage::{StaffHome, StaffOrgPage};

#[cfg(feature = "ssr")]
use crate::ssr::{require, require_staff, respond, Permission};

/// The support console's home: every org with this month's figures; users matching `q`.
#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "load_staff_home")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn load_staff_home(q: Option<String>) -> Result<StaffHome, AppError> {
    respond(
        async {
            let (_, state) = require_staff().await?;
            let q: String = q.unwrap_or_default().trim().chars().take(100).collect();
            Ok(StaffHome {
                orgs: crate::ssr::db::staff::orgs(&state.pool, &q).await?,
                users: crate::ssr::db::staff::users(&state.pool, &q).await?,
                q,
            })
        }
        .await,
    )
}

/// One org as support staff see it: this month's spend, numbers, recent calls and SMS, the masked
/// phone configuration and recent audit entries. Opening it is itself audited.
#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "load_staff_org")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn load_staff_org(org: String) -> Result<StaffOrgPage, AppError> {
    respond(
        async {
            use crate::model::calls::ValidFilter;
            require_staff().await?;
            let ctx = require(&org, Permission::Read).await?;
            let pool = &ctx.state.pool;
            ctx.state.events.flush_for_page().await;
            let (from, to) = crate::model::dates::date_range(None, None)?;
            let report = crate::ssr::usage::report(pool, ctx.org_id, from, to).await?;
            let numbers = crate::ssr::numbers::visible(&ctx).await?;
            let calls =
                crate::ssr::calls::history(pool, ctx.org_id, None, &ValidFilter::default(), 20)
                    .await?
                    .into_iter()
                    .map(|r| r.row)
                    .collect();
            let sms = crate::ssr::sms::conversations(
                pool,
                crate::ssr::sms::Scope {
                    org_id: ctx.org_id,
                    user_id: None,
                },
            )
            .await?
            .into_iter()
            .take(20)
            .collect();
            let config = crate::ssr::db::phone_config::effective(pool, ctx.org_id)
                .await?
                .map(|c| crate::model::usage::ConfigSummary {
                    own: c.org_id.is_some(),
                    provider: c.provider,
                    display_name: c.display_name,
                    account_sid: c.account_sid,
                    token: c.token_tail.map(|t| format!("…{t}")).unwrap_or_default(),
                    test_mode: c.test_mode,
                    lookups: c.lookup_enabled,
                });
            let audit = crate::ssr::usage::audit(
                pool,
                &crate::ssr::usage::AuditQuery {
                    org_id: Some(ctx.org_id),
                    actor: None,
                    action: None,
                    from: None,
                    to: None,
                    before: None,
                },
                20,
            )
            .await?
            .into_iter()
            .map(|r| r.0)
            .collect();
            Ok(crate::model::usage::StaffOrgPage {
                org: ctx.view(),
                report,
                numbers,
                calls,
                sms,
                config,
                audit,
            })
        }
        .await,
    )
}

/// The shared cache across all orgs this month (support staff and the superadmin).
#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "load_global_lookup_stats")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn load_global_lookup_stats() -> Result<GlobalCacheStats, AppError> {
    respond(
        async {
            let (_, state) = require_staff().await?;
            state.events.flush_for_page().await;
            let (from, to) = crate::model::dates::month_of(time::OffsetDateTime::now_utc().date());
            Ok(crate::ssr::db::lookups::global(&state.pool, from, to).await?)
        }
        .await,
    )
}

//! The support console: every org and user at a glance, one org read-only, the shared cache's
//! figures, every org's budgets. Support staff and the superadmin only (`require_staff`); for
//! anyone else these do not exist.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::budgets::StaffBudgetsPage;
use crate::model::lookup::GlobalCacheStats;
use crate::model::usage::{StaffHome, StaffOrgPage};

#[cfg(feature = "ssr")]
use crate::ssr::{require, require_staff, respond, staff, Permission};

/// The support console's home: every org with this month's figures; users matching `q`.
#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "load_staff_home")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn load_staff_home(q: Option<String>) -> Result<StaffHome, AppError> {
    respond(
        async {
            let (_, state) = require_staff().await?;
            staff::home(&state, q.as_deref().unwrap_or_default()).await
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
            require_staff().await?;
            let ctx = require(&org, Permission::Read).await?;
            staff::org(&ctx).await
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
            staff::lookup_stats(&state).await
        }
        .await,
    )
}

/// Every org's budgets, nearest their cap first (support staff and the superadmin).
#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "load_staff_budgets")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn load_staff_budgets() -> Result<StaffBudgetsPage, AppError> {
    respond(
        async {
            let (_, state) = require_staff().await?;
            staff::budgets(&state).await
        }
        .await,
    )
}

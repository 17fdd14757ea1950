//! Usage and spend (org admins, support), the audit log pages and the support console.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::usage::{AuditPageData, StaffHome, UsagePageData};

#[cfg(feature = "ssr")]
use crate::ssr::{require, respond, Permission};

#[server(prefix = "/api", endpoint = "load_usage")]
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
            let (from, to) = crate::api::lookups::support::date_range(from, to)?;
            // Figures pages read events the batching writer may still hold.
            ctx.state.events.flush().await;
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
#[server(prefix = "/api", endpoint = "load_audit")]
pub async fn load_audit(org: String, params: String) -> Result<AuditPageData, AppError> {
    respond(
        async {
            use crate::ssr::db::audit::actions as audit_actions;
            use crate::ssr::usage::{audit, AuditQuery};
            let (org_view, org_id, state) = if org.is_empty() {
                let user = crate::ssr::current_user().await?;
                if !(user.is_support || user.is_superadmin) {
                    return Err(AppError::NotFound);
                }
                (None, None, crate::ssr::AppState::from_context()?)
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
            let date = |field: &str| -> Result<Option<time::Date>, AppError> {
                let v = val(field);
                if v.is_empty() {
                    return Ok(None);
                }
                let f = time::macros::format_description!("[year]-[month]-[day]");
                time::Date::parse(&v, &f)
                    .map(Some)
                    .map_err(|_| AppError::validation(field, "Enter a date as YYYY-MM-DD."))
            };
            let (actor, action) = (val("actor"), val("action"));
            if actor.chars().count() > 254 || action.chars().count() > 64 {
                return Err(AppError::validation("actor", "That filter is too long."));
            }
            let before = match val("before").split_once('.') {
                Some((t, i)) => Some(
                    t.parse::<i64>()
                        .ok()
                        .zip(i.parse::<i64>().ok())
                        .ok_or_else(|| AppError::BadRequest("This page link is broken.".into()))?,
                ),
                None if val("before").is_empty() => None,
                None => return Err(AppError::BadRequest("This page link is broken.".into())),
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
                rows.last().map(|r| r.1.clone()).unwrap_or_default()
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

/// The support console's home: every org with this month's figures; users matching `q`.
#[server(prefix = "/api", endpoint = "load_staff_home")]
pub async fn load_staff_home(q: Option<String>) -> Result<StaffHome, AppError> {
    respond(
        async {
            let user = crate::ssr::current_user().await?;
            if !(user.is_support || user.is_superadmin) {
                return Err(AppError::NotFound);
            }
            let state = crate::ssr::AppState::from_context()?;
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
#[server(prefix = "/api", endpoint = "load_staff_org")]
pub async fn load_staff_org(org: String) -> Result<crate::model::usage::StaffOrgPage, AppError> {
    respond(
        async {
            use crate::model::calls::ValidFilter;
            let user = crate::ssr::current_user().await?;
            if !(user.is_support || user.is_superadmin) {
                return Err(AppError::NotFound);
            }
            let ctx = require(&org, Permission::Read).await?;
            let pool = &ctx.state.pool;
            ctx.state.events.flush().await;
            let (from, to) = crate::api::lookups::support::date_range(None, None)?;
            let report = crate::ssr::usage::report(pool, ctx.org_id, from, to).await?;
            let numbers =
                crate::ssr::numbers::list(pool, ctx.org_id, ctx.user.id, true, None).await?;
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

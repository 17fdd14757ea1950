//! The org's own use cases, one function each: its dashboard and the country its national
//! numbers are read in. The caller is the org context; the rights beyond the guard, the input
//! rules and the audit entry are decided here, and the server functions parse and present.

use crate::error::AppError;
use crate::model::Dashboard;
use crate::ssr::db;
use crate::ssr::format;
use crate::ssr::guard::OrgCtx;

/// The org's dashboard: how many members it has, by role, and when it was created (and, for its
/// owners, the countries it can be set to), and what the budgets covering the viewer have left.
pub async fn dashboard(ctx: &OrgCtx) -> Result<Dashboard, AppError> {
    let c = db::orgs::role_counts(&ctx.state.pool, ctx.org_id).await?;
    let budgets = super::budgets::covering(ctx).await?;
    Ok(Dashboard {
        org: ctx.view(),
        members: c.owners + c.admins + c.members,
        owners: c.owners,
        admins: c.admins,
        plain_members: c.members,
        created: format::utc_date(c.created_at),
        // The form that changes it is the owners' alone: nobody else is sent the list.
        countries: if ctx.access.is_owner() {
            crate::model::countries::choices()
        } else {
            Vec::new()
        },
        budgets,
    })
}

/// Sets the country national numbers are read in to `country` (as typed: a code from the list).
/// Owners only: it changes how every member's typing is read.
pub async fn set_country(ctx: &OrgCtx, country: &str) -> Result<(), AppError> {
    if !ctx.access.is_owner() {
        return Err(AppError::Forbidden(
            "Only the org's owners can change its country.".into(),
        ));
    }
    let code = country.trim().to_ascii_uppercase();
    if crate::model::countries::country_name(&code).is_none()
        || !telephony::e164::is_known_region(&code)
    {
        return Err(AppError::validation(
            "country",
            "Choose a country from the list.",
        ));
    }
    let mut tx = ctx.state.pool.begin().await?;
    db::orgs::set_country(&mut *tx, ctx.org_id, &code).await?;
    ctx.audit(
        &mut *tx,
        "org.country_changed",
        &format!("org:{}", ctx.slug),
        serde_json::json!({ "from": ctx.country, "to": code }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

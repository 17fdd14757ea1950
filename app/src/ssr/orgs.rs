//! The org's own use cases, one function each: its dashboard, the country its national numbers
//! are read in and the time zone its days and months follow. The caller is the org context; the
//! rights beyond the guard, the input rules and the audit entry are decided here, and the server
//! functions parse and present.

use crate::error::AppError;
use crate::model::Dashboard;
use crate::ssr::db;
use crate::ssr::format;
use crate::ssr::guard::OrgCtx;

/// The org's dashboard: how many members it has, by role, when it was created, its time zone
/// (and, for its owners, the countries and time zones it can be set to), and what the budgets
/// covering the viewer have left.
pub async fn dashboard(ctx: &OrgCtx) -> Result<Dashboard, AppError> {
    let pool = &ctx.state.pool;
    let c = db::orgs::role_counts(pool, ctx.org_id).await?;
    let time_zone = db::budgets::time_zone(pool, ctx.org_id).await?;
    // The forms that change them are the owners' alone: nobody else is sent the lists.
    let owner = ctx.access.is_owner();
    let time_zones = if owner {
        db::orgs::time_zone_choices(pool).await?
    } else {
        Vec::new()
    };
    let budgets = super::budgets::covering(ctx).await?;
    Ok(Dashboard {
        org: ctx.view(),
        members: c.owners + c.admins + c.members,
        owners: c.owners,
        admins: c.admins,
        plain_members: c.members,
        created: format::utc_date(c.created_at),
        countries: if owner {
            crate::model::countries::choices()
        } else {
            Vec::new()
        },
        time_zone,
        time_zones,
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
    let zone_before = db::budgets::time_zone(&mut *tx, ctx.org_id).await?;
    db::orgs::set_country(&mut *tx, ctx.org_id, &code).await?;
    // The country's main zone replaces the org's: on the record with the country.
    let zone_after = db::budgets::time_zone(&mut *tx, ctx.org_id).await?;
    ctx.audit(
        &mut *tx,
        "org.country_changed",
        &format!("org:{}", ctx.slug),
        serde_json::json!({
            "from": ctx.country, "to": code,
            "time_zone": { "from": zone_before, "to": zone_after },
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The longest time zone name taken (the column's own bound): anything longer is refused before
/// any query.
const MAX_TIME_ZONE_LEN: usize = 64;

/// Sets the time zone the org's days and months (budgets, monthly statements) follow to
/// `time_zone` (as chosen: a name from the list). Owners only: it moves every member's periods.
/// Choosing the zone the org already has is no error.
pub async fn set_time_zone(ctx: &OrgCtx, time_zone: &str) -> Result<(), AppError> {
    if !ctx.access.is_owner() {
        return Err(AppError::Forbidden(
            "Only the org's owners can change its time zone.".into(),
        ));
    }
    let zone = time_zone.trim();
    let not_listed = || AppError::validation("time_zone", "Choose a time zone from the list.");
    if zone.is_empty() || zone.len() > MAX_TIME_ZONE_LEN {
        return Err(not_listed());
    }
    // Only a listed name is written: every period query reads the column with `AT TIME ZONE`,
    // and a name Postgres does not know would make each of them fail.
    let choices = db::orgs::time_zone_choices(&ctx.state.pool).await?;
    if !choices.iter().any(|c| c == zone) {
        return Err(not_listed());
    }
    let mut tx = ctx.state.pool.begin().await?;
    let from = db::orgs::set_time_zone(&mut *tx, ctx.org_id, zone)
        .await?
        .ok_or(AppError::NotFound)?;
    ctx.audit(
        &mut *tx,
        "org.time_zone_changed",
        &format!("org:{}", ctx.slug),
        serde_json::json!({ "from": from, "to": zone }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

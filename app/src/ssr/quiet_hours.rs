//! Quiet hours: a text reaches someone only within the org's sending window of their local day
//! (their area code's zone for North American numbers, else their country's, else the org's).
//! One written outside it is scheduled (kept, nothing charged, visible and cancellable) and the
//! scheduler sends it when the window opens, through the same checks as a held text; it lives
//! in the database, so a restart loses nothing. An urgent text (owners, admins, and members an
//! admin allowed) goes at once and is audited.

use time::OffsetDateTime;

use super::db;
use super::guard::OrgCtx;
use super::nanp_zones::zones_for;
use super::AppState;
use crate::error::AppError;
use crate::model::quiet_hours::{window, QuietHoursView, DEFAULT_END, DEFAULT_START};
use crate::model::{Access, Role};

/// The org's quiet hours.
pub async fn view(ctx: &OrgCtx) -> Result<QuietHoursView, sqlx::Error> {
    let pool = &ctx.state.pool;
    let (enabled, start, end) = db::quiet_hours::settings(pool, ctx.org_id)
        .await?
        .unwrap_or((true, DEFAULT_START, DEFAULT_END));
    let scheduled = db::quiet_hours::scheduled_count(pool, ctx.org_id).await?;
    Ok(QuietHoursView::new(enabled, start, end, scheduled))
}

/// Saves the window (a preset's, or the custom times), owners and admins only; on the record.
pub async fn save(
    ctx: &OrgCtx,
    enabled: bool,
    preset: &str,
    start: &str,
    end: &str,
) -> Result<QuietHoursView, AppError> {
    ctx.must_manage()?;
    let (s, e) = window(preset, start, end)?;
    let mut tx = ctx.state.pool.begin().await?;
    db::quiet_hours::save(&mut *tx, ctx.org_id, (enabled, s, e), ctx.user.id).await?;
    let v = QuietHoursView::new(enabled, s, e, 0);
    ctx.audit(
        &mut *tx,
        "quiet_hours.saved",
        "",
        serde_json::json!({ "enabled": enabled, "start": v.start, "end": v.end }),
    )
    .await?;
    tx.commit().await?;
    Ok(view(ctx).await?)
}

/// Whether the caller may mark a text urgent: owners and admins (and the superadmin) always, a
/// member when an owner or admin allowed it, support staff never (they send nothing).
pub async fn may_send_urgent(ctx: &OrgCtx) -> Result<bool, sqlx::Error> {
    match ctx.access {
        Access::Support => Ok(false),
        Access::Superadmin | Access::Member(Role::Owner | Role::Admin) => Ok(true),
        Access::Member(Role::Member) => {
            db::quiet_hours::urgent_allowed(&ctx.state.pool, ctx.org_id, ctx.user.id).await
        }
    }
}

/// Lets member `user_id` send urgent texts, or not (owners and admins only); on the record.
pub async fn set_urgent_allowed(ctx: &OrgCtx, user_id: i64, allowed: bool) -> Result<(), AppError> {
    ctx.must_manage()?;
    let mut tx = ctx.state.pool.begin().await?;
    let email = db::quiet_hours::set_urgent(&mut *tx, ctx.org_id, user_id, allowed)
        .await?
        .ok_or(AppError::NotFound)?;
    let action = if allowed {
        "member.urgent_allowed"
    } else {
        "member.urgent_revoked"
    };
    ctx.audit(&mut *tx, action, &email, serde_json::json!({}))
        .await?;
    tx.commit().await?;
    Ok(())
}

/// When a text from org `org_id` to `to` may go: None now, else when their window opens.
pub async fn hold_until(
    state: &AppState,
    org_id: i64,
    to: &telephony::E164,
    now: OffsetDateTime,
) -> Result<Option<OffsetDateTime>, sqlx::Error> {
    let zones = zones_for(to.as_str());
    let country = to.region();
    db::quiet_hours::until(&state.pool, org_id, zones, country.as_deref(), now).await
}

/// Cancels scheduled text `id`: its sender's, or any for owners and admins. Its conversation.
pub async fn cancel(ctx: &OrgCtx, id: i64) -> Result<(String, String), AppError> {
    ctx.must_act()?;
    let only = (!ctx.access.can_manage()).then_some(ctx.user.id);
    let who = if ctx.user.name.is_empty() {
        &ctx.user.email
    } else {
        &ctx.user.name
    };
    let why = format!("Canceled by {who} before its quiet hours ended.");
    let mut tx = ctx.state.pool.begin().await?;
    let conv = db::quiet_hours::cancel(&mut *tx, ctx.org_id, id, only, &why)
        .await?
        .ok_or(AppError::NotFound)?;
    ctx.audit(
        &mut *tx,
        "sms.canceled",
        &id.to_string(),
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(conv)
}

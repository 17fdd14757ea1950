//! The numbers use cases, one function each, under both ways in (the pages' server functions and
//! `/v1`): the caller is the org context (who acts, with what access, through a page or a key,
//! from which address); the rights beyond the org guard, the input rules, what the caller may
//! see and the audit entry are decided here once. The transports parse and present.

use telephony::E164;

use super::{purchase, release_held, Bought, NumberRecord, NumberSettings, Released};
use crate::error::AppError;
use crate::model::money::Money;
use crate::model::numbers::{
    check_area_code, check_contains, check_country, check_friendly_name, AvailableView,
    NumberQuery, NumberRow,
};
use crate::ssr::guard::OrgCtx;
use crate::ssr::prices::{price, Priced};
use crate::ssr::{call_blocks, db, format};

/// The numbers the caller may see (their own and shared ones; owners, admins and staff: all),
/// newest first, as written in the org's country; `can_edit` only where they may change it.
pub async fn visible(ctx: &OrgCtx) -> Result<Vec<NumberRow>, AppError> {
    read(ctx, None).await
}

/// Every number of the org, for the staff console (whose guard checked the caller is staff, who
/// see all of any org's numbers even where they are a plain member).
pub async fn every(ctx: &OrgCtx) -> Result<Vec<NumberRow>, AppError> {
    listed(ctx, true, None).await
}

/// One number the caller may see (a released one, or another org's, is not found).
pub async fn one(ctx: &OrgCtx, id: i64) -> Result<NumberRow, AppError> {
    read(ctx, Some(id)).await?.pop().ok_or(AppError::NotFound)
}

async fn read(ctx: &OrgCtx, id: Option<i64>) -> Result<Vec<NumberRow>, AppError> {
    let rows = listed(ctx, ctx.sees_all(), id).await?;
    Ok(rows
        .into_iter()
        .map(|mut n| {
            n.can_edit = n.can_edit && !ctx.access.read_only();
            n.shown = crate::ssr::shown(&n.e164, &ctx.country);
            n
        })
        .collect())
}

/// The org's numbers (`all`: every one, else the caller's own and shared ones; `id`: just that
/// one), newest first, as the pages write them; `can_edit` where the caller owns it or `all`.
async fn listed(ctx: &OrgCtx, all: bool, id: Option<i64>) -> Result<Vec<NumberRow>, AppError> {
    let user_id = ctx.user.id;
    let rows = db::numbers::list(&ctx.state.pool, ctx.org_id, user_id, all, id).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let mine = r.user_id == Some(user_id);
            NumberRow {
                id: r.id,
                shown: r.e164.clone(),
                e164: r.e164,
                friendly_name: r.friendly_name,
                owner: r.owner,
                mine,
                status: r.status,
                active: r.active,
                forward_to: r.forward_to.unwrap_or_default(),
                record_calls: r.record_calls,
                shared: r.shared,
                voice: r.voice,
                sms: r.sms,
                monthly: Money::from_micros(r.monthly_price_micros).to_string(),
                purchased: r.purchased_at.map(format::utc_date),
                last_error: r.last_error,
                can_edit: mine || all,
            }
        })
        .collect())
}

/// A live number of the org that the caller may change: its owner's, or any for an org admin.
/// Someone else's private number is not found; a shared one says who may change it.
pub async fn editable(ctx: &OrgCtx, id: i64) -> Result<NumberRecord, AppError> {
    ctx.must_act()?;
    let n = db::numbers::record(&ctx.state.pool, ctx.org_id, id)
        .await?
        .filter(|n| n.status.is_live())
        .ok_or(AppError::NotFound)?;
    if n.user_id != Some(ctx.user.id) && !ctx.access.can_manage() {
        return Err(if n.shared {
            AppError::Forbidden("Only the number's owner or an org admin can change it.".into())
        } else {
            AppError::NotFound
        });
    }
    Ok(n)
}

/// A search as typed, checked field by field (a 4xx naming the field), normalised.
pub fn check_query(mut q: NumberQuery) -> Result<NumberQuery, AppError> {
    q.country = check_country(&q.country)?;
    q.area_code = check_area_code(&q.area_code)?;
    q.contains = check_contains(&q.contains)?;
    if !matches!(q.number_type.as_str(), "" | "local" | "mobile" | "tollfree") {
        return Err(AppError::validation(
            "number_type",
            "Choose local, mobile or toll-free.",
        ));
    }
    Ok(q)
}

/// Numbers the org's provider offers for `q` (see `check_query`), as written in the org's
/// country, and what one costs a month.
pub async fn available(
    ctx: &OrgCtx,
    q: NumberQuery,
) -> Result<(Vec<AvailableView>, crate::model::money::Money), AppError> {
    let q = check_query(q)?;
    let found = super::search(&ctx.state, ctx.org_id, &q).await?;
    let monthly = price(&ctx.state.pool, Priced::NumberMonthly).await?;
    let views = found
        .into_iter()
        .map(|n| AvailableView {
            national: E164::parse(&n.phone_number, None)
                .map(|e| e.shown_in(&ctx.country))
                .unwrap_or_else(|_| n.phone_number.clone()),
            e164: n.phone_number,
            locality: n.locality.unwrap_or_default(),
            region: n.region.unwrap_or_default(),
            voice: n.capabilities.voice,
            sms: n.capabilities.sms,
            mms: n.capabilities.mms,
        })
        .collect();
    Ok((views, monthly))
}

/// A purchase as asked for: the number (E.164, or national in the org's country), its name, and
/// the key that makes a repeated request find this purchase instead of buying again.
pub struct Purchase<'a> {
    pub number: &'a str,
    pub friendly_name: &'a str,
    pub key: &'a str,
}

/// Buys a number for the caller; on the record once, by the request that bought it. The number's
/// id (bought now, or by an earlier request with the same key).
pub async fn buy(ctx: &OrgCtx, p: Purchase<'_>) -> Result<i64, AppError> {
    ctx.must_act()?;
    let e164 = E164::parse(p.number, Some(ctx.country.as_str()))
        .map_err(|e| AppError::validation("number", e.to_string()))?;
    let name = check_friendly_name(p.friendly_name)?;
    let bought = purchase(&ctx.state, ctx.org_id, ctx.user.id, &e164, p.key, &name).await?;
    if let Bought::Now(id) = bought {
        ctx.audit(
            &ctx.state.pool,
            "number.purchased",
            e164.as_str(),
            serde_json::json!({ "number_id": id }),
        )
        .await?;
    }
    Ok(bought.id())
}

/// NumberSettings to change; `None` keeps what is there. `forward_to: Some("")` rings nowhere.
#[derive(Debug, Default)]
pub struct Changes {
    pub friendly_name: Option<String>,
    pub active: Option<bool>,
    pub forward_to: Option<String>,
    pub record_calls: Option<bool>,
    pub shared: Option<bool>,
}

/// Changes a number's settings (see `editable` for who may).
pub async fn update(ctx: &OrgCtx, id: i64, c: Changes) -> Result<NumberRow, AppError> {
    let n = editable(ctx, id).await?;
    // As it is now (the caller may change it, so they may see it).
    let now = one(ctx, id).await?;
    let forward_to = match c.forward_to.as_deref().map(str::trim) {
        None => Some(now.forward_to.clone()).filter(|f| !f.is_empty()),
        Some("") => None,
        Some(f) => Some(
            E164::parse(f, Some(ctx.country.as_str()))
                .map_err(|e| AppError::validation("forward_to", e.to_string()))?
                .as_str()
                .to_string(),
        ),
    };
    if forward_to.as_deref() == Some(n.e164.as_str()) {
        return Err(AppError::validation(
            "forward_to",
            "A number cannot forward to itself.",
        ));
    }
    // Forwarding rings that phone, and click-to-call rings it first: never one the org said not
    // to call.
    if let Some(f) = forward_to.as_deref().filter(|f| *f != now.forward_to) {
        if let Some(entry) = call_blocks::do_not_call(&ctx.state.pool, ctx.org_id, f).await? {
            return Err(AppError::validation(
                "forward_to",
                format!(
                    "{entry} is on this org's do-not-call list: calls are never forwarded to it."
                ),
            ));
        }
    }
    let settings = NumberSettings {
        friendly_name: match &c.friendly_name {
            Some(f) => check_friendly_name(f)?,
            None => now.friendly_name.clone(),
        },
        active: c.active.unwrap_or(now.active),
        forward_to,
        record_calls: c.record_calls.unwrap_or(now.record_calls),
        shared: c.shared.unwrap_or(now.shared),
    };
    if !db::numbers::update(&ctx.state.pool, id, &settings).await? {
        return Err(AppError::Conflict(
            "Only active numbers can be changed.".into(),
        ));
    }
    one(ctx, id).await
}

/// Releases a number (see `editable` for who may): released, or releasing until the provider
/// confirms. On the record either way.
pub async fn release(ctx: &OrgCtx, id: i64) -> Result<Released, AppError> {
    let n = editable(ctx, id).await?;
    let outcome = release_held(&ctx.state, ctx.org_id, id).await?;
    ctx.audit(
        &ctx.state.pool,
        "number.released",
        &n.e164,
        serde_json::json!({ "number_id": id, "confirmed": outcome == Released::Done }),
    )
    .await?;
    Ok(outcome)
}

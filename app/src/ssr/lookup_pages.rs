//! The lookup pages' use cases, one function each: the lookup page (with what this server holds
//! while the database is away), a lookup asked for on it, the cost figures and the bulk jobs'
//! page. The caller is the org context; the transports parse and present.

use std::sync::Arc;

use telephony::E164;
use time::OffsetDateTime;

use super::db;
use super::db::phone_config::ConfigRow;
use super::errors::LookupError;
use super::format::{utc_minute, utc_second};
use super::guard::OrgCtx;
use super::lookups::{lookup, Outcome};
use super::outage::unreachable;
use super::providers::Effective;
use super::words;
use crate::error::AppError;
use crate::model::dates::{date_range, month_of};
use crate::model::lookup::{
    money, BulkJobView, BulkPage, Expiring, LookupPage, LookupStats, NumberInfo, RecentLookup,
};

pub use super::db::lookup_cache::Cached;

/// The lookup page: whether the caller may look up (and refresh), why lookups cannot run (if so),
/// the answer for `number` (only for a number the org has asked for) and the org's recent
/// lookups. While the database cannot be reached, it shows what this server holds.
pub async fn page(ctx: &OrgCtx, number: Option<&str>) -> Result<LookupPage, AppError> {
    let state = &ctx.state;
    // "Recent lookups" includes the one just made (unless the database is away: the
    // events wait, and so would the page).
    if !state.known.outage.ongoing() {
        state.events.flush_for_page().await;
    }
    // While the database cannot be reached, the page shows what this server holds: the
    // configuration last read and the answer in the hot cache (see `last_known`).
    let (effective, config_offline) = effective(ctx).await?;
    let cfg = effective.config.as_ref();
    let unavailable = match cfg {
        None => Some(words::lookup_sentence(&LookupError::NoConfig)),
        Some(c) if !c.lookup_enabled => Some(words::lookup_sentence(&LookupError::Disabled)),
        _ => None,
    };
    let (result, answer_offline) = match number.map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => answer(ctx, cfg, n).await?,
        None => (None, false),
    };
    // Shown as people in the org's country write it (the provider's national format is
    // its own country's).
    let result = result.map(|mut info| {
        info.national_format = Some(super::shown(&info.e164, &ctx.country));
        // An answer another provider gave says so.
        info.answered_by_note = crate::model::lookup::answered_by_note(
            info.answered_by.as_deref(),
            cfg.map(|c| c.provider.as_str()),
        );
        info
    });
    let (recent, recent_offline) = recent(ctx).await?;
    Ok(LookupPage {
        can_lookup: !ctx.access.read_only(),
        can_refresh: ctx.access.can_manage(),
        org: ctx.view(),
        unavailable,
        result,
        recent,
        offline: config_offline || answer_offline || recent_offline,
    })
}

/// The org's effective configuration; while the database cannot be reached (confirmed), the one
/// last read, and `true`.
async fn effective(ctx: &OrgCtx) -> Result<(Arc<Effective>, bool), AppError> {
    let state = &ctx.state;
    let outage = &state.known.outage;
    let read = outage.unless_ongoing(state.providers.effective(&state.pool, ctx.org_id));
    match read.await {
        Ok(e) => Ok((e, false)),
        Err(e) if unreachable(&e) && outage.confirm().await => {
            Ok((state.providers.last_known(ctx.org_id).ok_or(e)?, true))
        }
        Err(e) => Err(e.into()),
    }
}

/// The shared cache's answer for `number` as the org sees it (`cfg`: its configuration), only
/// for a number the org has asked for; while the database is away, the hot cache's, and `true`.
async fn answer(
    ctx: &OrgCtx,
    cfg: Option<&ConfigRow>,
    number: &str,
) -> Result<(Option<NumberInfo>, bool), AppError> {
    let caller_name = cfg.is_some_and(|c| c.caller_name_enabled);
    // The shared row as this org sees it: expiring after this org's own cache days.
    let days = cfg.map(|c| c.lookup_cache_days);
    let seen = |c: Cached| match days {
        Some(d) => c.seen_by(d),
        None => c,
    };
    let outage = &ctx.state.known.outage;
    Ok(match E164::parse(number, Some(ctx.country.as_str())) {
        // The shared cache's answer only for a number this org has asked for.
        Ok(e) if asked(ctx, &e).await? => {
            match outage
                .read(db::lookup_cache::get(&ctx.state.pool, &e))
                .await
            {
                Ok(row) => (
                    row.filter(|c| c.lookup_expires_at.is_some())
                        .map(|c| number_info(&seen(c), caller_name)),
                    false,
                ),
                Err(err) if unreachable(&err) && outage.ongoing() => {
                    let now = OffsetDateTime::now_utc();
                    let held = ctx
                        .state
                        .hot
                        .get(&e, now, caller_name)
                        .map(|c| number_info(&seen(Cached::clone(&c)), caller_name));
                    (held, true)
                }
                Err(err) => return Err(err.into()),
            }
        }
        _ => (None, false),
    })
}

/// The org's recent lookups; while the database is away, none, and `true`.
async fn recent(ctx: &OrgCtx) -> Result<(Vec<RecentLookup>, bool), AppError> {
    let outage = &ctx.state.known.outage;
    match outage
        .read(db::lookups::recent(&ctx.state.pool, ctx.org_id))
        .await
    {
        Ok(rows) => {
            let rows: Vec<RecentLookup> = rows
                .into_iter()
                .map(|r| RecentLookup {
                    e164: r.e164,
                    outcome: r.outcome,
                    cost: money(r.cost_micros),
                    user: r.user,
                    at: utc_second(r.at),
                })
                .collect();
            Ok((rows, false))
        }
        Err(e) if unreachable(&e) && outage.ongoing() => Ok((Vec::new(), true)),
        Err(e) => Err(e.into()),
    }
}

/// Whether this org has asked for `e164` (only then is the shared cache's answer shown to it).
pub async fn asked(ctx: &OrgCtx, e164: &E164) -> Result<bool, AppError> {
    let key = (ctx.org_id, e164.as_str().to_string());
    let fetch = db::lookups::org_has_looked_up(&ctx.state.pool, ctx.org_id, e164);
    Ok(ctx.state.known.asked.read(key, fetch).await?)
}

/// Looks `number` (E.164, or national in the org's country) up for the caller, through the cache;
/// `force` asks the provider again (the caller's guard lets only managers force). The number as
/// read and how the answer came.
pub async fn look_up(ctx: &OrgCtx, number: &str, force: bool) -> Result<(E164, Outcome), AppError> {
    let (e164, outcome, _) = look_up_cached(ctx, number, force, None).await?;
    Ok((e164, outcome))
}

/// The lookup itself: nothing but the cache (and the provider on a miss) is read, so a number held
/// in memory is answered while the database is away.
async fn look_up_cached(
    ctx: &OrgCtx,
    number: &str,
    force: bool,
    caller_name: Option<bool>,
) -> Result<(E164, Outcome, Cached), AppError> {
    if force {
        // Asking the provider again is paid: the org's owners and admins decide that.
        ctx.must_manage()?;
    }
    let e164 = E164::parse(number, Some(ctx.country.as_str()))
        .map_err(|e| AppError::validation("number", e.to_string()))?;
    let deps = ctx.state.lookup_deps();
    let (outcome, row) = lookup(
        &deps,
        ctx.org_id,
        Some(ctx.user.id),
        &e164,
        force,
        caller_name,
    )
    .await
    .map_err(|e| words::lookup(&e))?;
    // The answer page may be read while the database is away (its event still queued).
    ctx.state
        .known
        .asked
        .remember((ctx.org_id, e164.as_str().to_string()), true);
    Ok((e164, outcome, row))
}

/// A lookup as answered to the caller: the number, how the answer came, the cached row, whether
/// caller names were asked for, and what the lookup cost the org or saved it (in micro-dollars:
/// a paid lookup costs its price and saves nothing, a cache hit the other way round).
pub struct Answered {
    pub e164: E164,
    pub outcome: Outcome,
    pub row: Cached,
    pub caller_name: bool,
    pub cost_micros: i64,
    pub saved_micros: i64,
}

/// Looks `number` (E.164, or national in the org's country) up for the caller, through the cache;
/// `force` asks the provider again (the caller's guard lets only managers force); `caller_name`
/// overrides the configuration's caller-name setting. The one use case behind the lookup page and
/// `GET /v1/lookups/{number}`.
pub async fn look_up_priced(
    ctx: &OrgCtx,
    number: &str,
    force: bool,
    caller_name: Option<bool>,
) -> Result<Answered, AppError> {
    let (e164, outcome, row) = look_up_cached(ctx, number, force, caller_name).await?;
    // The price the request was charged at: the configuration's, as its event recorded it.
    let snap = ctx
        .state
        .providers
        .effective(&ctx.state.pool, ctx.org_id)
        .await?;
    let caller_name =
        caller_name.unwrap_or_else(|| snap.config.as_ref().is_some_and(|c| c.caller_name_enabled));
    let price = snap.base_price + snap.caller_name_price * i64::from(caller_name);
    let paid = matches!(outcome, Outcome::Miss | Outcome::Refresh);
    Ok(Answered {
        e164,
        outcome,
        row,
        caller_name,
        cost_micros: if paid { price } else { 0 },
        saved_micros: if paid { 0 } else { price },
    })
}

/// A cached answer as a page shows it. `caller_name`: whether the org's configuration has
/// caller-name lookups on (otherwise the cached caller name, paid for by another org, is not
/// shown).
pub fn number_info(c: &Cached, caller_name: bool) -> NumberInfo {
    let now = OffsetDateTime::now_utc();
    let address = [
        &c.address_street,
        &c.address_city,
        &c.address_region,
        &c.address_postal_code,
    ]
    .iter()
    .filter_map(|p| p.as_deref().filter(|s| !s.is_empty()))
    .collect::<Vec<_>>()
    .join(", ");
    NumberInfo {
        e164: c.e164.clone(),
        national_format: c.national_format.clone(),
        country_code: c.country_code.clone(),
        calling_country_code: c.calling_country_code.clone(),
        valid: c.valid,
        line_type: c.line_type.clone(),
        carrier_name: c.carrier_name.clone(),
        mobile_country_code: c.mobile_country_code.clone(),
        mobile_network_code: c.mobile_network_code.clone(),
        is_mobile: c.is_mobile,
        is_voip: c.is_voip,
        caller_name_checked: caller_name && c.caller_name_checked,
        caller_name: c.caller_name.clone().filter(|_| caller_name),
        caller_type: c.caller_type.clone().filter(|_| caller_name),
        address: (!address.is_empty()).then_some(address),
        last_lookup_at: c.last_lookup_at.map(utc_minute),
        expires_at: c.lookup_expires_at.map(utc_minute),
        // Rounded up: a 14-day entry looked up a moment ago "expires in 14 days".
        expires_in_days: c.lookup_expires_at.map(|e| {
            let secs = (e - now).whole_seconds();
            if secs > 0 {
                (secs + 86_399) / 86_400
            } else {
                secs / 86_400 - 1
            }
        }),
        error: c.error_message.clone(),
        answered_by: c.answered_by.clone(),
        answered_by_note: None,
    }
}

/// The org's lookup costs (owners, admins and staff only): this month's totals, and for the
/// dates `from`..`to` (this month when not given) the totals, a chart by day, the line types,
/// the most looked-up numbers, and the answers about to expire.
pub async fn stats(
    ctx: &OrgCtx,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<LookupStats, AppError> {
    if !ctx.sees_all() {
        return Err(AppError::Forbidden(
            "Only the org's owners and admins can see lookup costs.".into(),
        ));
    }
    let (from_d, to_d) = date_range(from, to)?;
    let (m_from, m_to) = month_of(OffsetDateTime::now_utc().date());
    ctx.state.events.flush_for_page().await;
    let pool = &ctx.state.pool;
    let month = db::lookups::totals(pool, ctx.org_id, m_from, m_to).await?;
    let range = db::lookups::totals(pool, ctx.org_id, from_d, to_d).await?;
    let days = db::lookups::daily(pool, ctx.org_id, from_d, to_d).await?;
    let chart_svg = super::charts::lookups(from_d, to_d, &days);
    let f = time::macros::format_description!("[year]-[month]-[day]");
    Ok(LookupStats {
        org: ctx.view(),
        from: from_d.format(&f).unwrap_or_default(),
        to: to_d.format(&f).unwrap_or_default(),
        month,
        range,
        chart_svg,
        line_types: db::lookups::line_types(pool, ctx.org_id, from_d, to_d).await?,
        top_numbers: db::lookups::top_numbers(pool, ctx.org_id, from_d, to_d).await?,
        expiring: db::lookups::expiring(pool, ctx.org_id)
            .await?
            .into_iter()
            .map(|e| Expiring {
                e164: e.e164,
                expires: utc_minute(e.expires_at),
            })
            .collect(),
    })
}

/// The bulk lookup page: the org's latest jobs, and the job `job` (one of the org's, else not
/// found).
pub async fn bulk_page(ctx: &OrgCtx, job: Option<i64>) -> Result<BulkPage, AppError> {
    let jobs: Vec<BulkJobView> = db::bulk_lookups::for_org(&ctx.state.pool, ctx.org_id, None)
        .await?
        .into_iter()
        .map(job_view)
        .collect();
    // The asked-for job is usually among the latest; read it separately only if not.
    let job = match job {
        Some(id) => match jobs.iter().find(|j| j.id == id) {
            Some(j) => Some(j.clone()),
            None => Some(
                db::bulk_lookups::for_org(&ctx.state.pool, ctx.org_id, Some(id))
                    .await?
                    .pop()
                    .map(job_view)
                    .ok_or(AppError::NotFound)?,
            ),
        },
        None => None,
    };
    Ok(BulkPage {
        can_upload: !ctx.access.read_only(),
        org: ctx.view(),
        jobs,
        job,
    })
}

/// A bulk job as its page shows it: its times as the pages write them.
fn job_view(j: db::bulk_lookups::JobRow) -> BulkJobView {
    BulkJobView {
        id: j.id,
        filename: j.filename,
        status: j.status,
        total: j.total,
        processed: j.processed,
        errors: j.errors,
        created: utc_minute(j.created_at),
        finished: j.finished_at.map(utc_minute),
        user: j.user,
        error: j.error,
    }
}

/// Puts a job paused at a budget's hard cap back in the queue (after the cap was raised, or in
/// its next period): whoever started it, or an owner or admin. Audited.
pub async fn resume_job(ctx: &OrgCtx, job_id: i64) -> Result<(), AppError> {
    ctx.must_act()?;
    let mut tx = ctx.state.pool.begin().await?;
    if !db::bulk_lookups::resume(&mut *tx, ctx.org_id, job_id, ctx.own_rows_only()).await? {
        return Err(AppError::Conflict(
            "That job is not paused, or it is not yours to resume.".into(),
        ));
    }
    ctx.audit(
        &mut *tx,
        "bulk_lookup.resumed",
        &format!("job:{job_id}"),
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

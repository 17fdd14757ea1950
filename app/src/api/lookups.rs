//! Lookups: look a number up through the shared cache, the cost figures and bulk jobs.

// A form's fields are a server function's arguments (plain HTML forms post them by name), and the
// phone configuration form has thirteen.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::lookup::{BulkPage, LookupPage, LookupStats};

#[cfg(feature = "ssr")]
use crate::ssr::{db, last_known::unreachable, require, respond, Permission};

#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "load_lookup_page")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn load_lookup_page(org: String, number: Option<String>) -> Result<LookupPage, AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Read).await?;
            let (state, pool) = (&ctx.state, &ctx.state.pool);
            // "Recent lookups" includes the one just made (unless the database is away: the
            // events wait, and so would the page).
            if !state.known.outage.ongoing() {
                state.events.flush_for_page().await;
            }
            // While the database cannot be reached, the page shows what this server holds: the
            // configuration last read and the answer in the hot cache (see `last_known`).
            let mut offline = false;
            let outage = &state.known.outage;
            let read = outage.unless_ongoing(state.providers.effective(pool, ctx.org_id));
            let effective = match read.await {
                Ok(e) => e,
                Err(e) if unreachable(&e) && outage.confirm().await => {
                    offline = true;
                    state.providers.last_known(ctx.org_id).ok_or(e)?
                }
                Err(e) => return Err(e.into()),
            };
            let cfg = effective.config.as_ref();
            let unavailable = match cfg {
                None => Some(crate::api::words::lookup_sentence(
                    &crate::ssr::lookups::LookupError::NoConfig,
                )),
                Some(c) if !c.lookup_enabled => Some(crate::api::words::lookup_sentence(
                    &crate::ssr::lookups::LookupError::Disabled,
                )),
                _ => None,
            };
            let caller_name = cfg.is_some_and(|c| c.caller_name_enabled);
            // The shared row as this org sees it: expiring after this org's own cache days.
            let days = cfg.map(|c| c.lookup_cache_days);
            let seen = |c: crate::ssr::db::cache::Cached| match days {
                Some(d) => c.seen_by(d),
                None => c,
            };
            let result = match number.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
                Some(n) => match telephony::E164::parse(n, Some(ctx.country.as_str())) {
                    // The shared cache's answer only for a number this org has asked for.
                    Ok(e) if server_side::asked(&ctx, &e).await? => {
                        match outage.read(db::cache::get(pool, &e)).await {
                            Ok(row) => row
                                .filter(|c| c.lookup_expires_at.is_some())
                                .map(|c| server_side::number_info(&seen(c), caller_name)),
                            Err(err) if unreachable(&err) && outage.ongoing() => {
                                offline = true;
                                let now = time::OffsetDateTime::now_utc();
                                state.hot.get(&e, now, caller_name).map(|c| {
                                    server_side::number_info(
                                        &seen(crate::ssr::db::cache::Cached::clone(&c)),
                                        caller_name,
                                    )
                                })
                            }
                            Err(err) => return Err(err.into()),
                        }
                    }
                    _ => None,
                },
                None => None,
            }
            // Shown as people in the org's country write it (the provider's national format is
            // its own country's).
            .map(|mut info| {
                info.national_format = Some(crate::ssr::shown(&info.e164, &ctx.country));
                // An answer another provider gave says so.
                info.answered_by_note = crate::model::lookup::answered_by_note(
                    info.answered_by.as_deref(),
                    cfg.map(|c| c.provider.as_str()),
                );
                info
            });
            let recent = match outage.read(db::lookups::recent(pool, ctx.org_id)).await {
                Ok(r) => r,
                Err(e) if unreachable(&e) && outage.ongoing() => {
                    offline = true;
                    Vec::new()
                }
                Err(e) => return Err(e.into()),
            };
            Ok(LookupPage {
                can_lookup: !ctx.access.read_only(),
                can_refresh: ctx.access.can_manage(),
                org: ctx.view(),
                unavailable,
                result,
                recent,
                offline,
            })
        }
        .await,
    )
}

/// Looks a number up (through the cache) and shows the result page.
#[server(prefix = "/api", endpoint = "lookup_number")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn lookup_number(
    org: String,
    number: String,
    refresh: Option<String>,
) -> Result<(), AppError> {
    respond(
        async {
            let force = refresh.is_some_and(|r| !r.is_empty());
            let ctx = require(
                &org,
                if force {
                    Permission::Manage
                } else {
                    Permission::Use
                },
            )
            .await?;
            let e164 = telephony::E164::parse(&number, Some(ctx.country.as_str()))
                .map_err(|e| AppError::validation("number", e.to_string()))?;
            let deps = ctx.state.lookup_deps();
            let (outcome, _) = crate::ssr::lookups::lookup(
                &deps,
                ctx.org_id,
                Some(ctx.user.id),
                &e164,
                force,
                None,
            )
            .await
            .map_err(|e| crate::api::words::lookup(&e))?;
            // The answer page may be read while the database is away (its event still queued).
            ctx.state
                .known
                .asked
                .remember((ctx.org_id, e164.as_str().to_string()), true);
            leptos_axum::redirect(&format!(
                "/o/{}/lookup?number={}&outcome={}",
                ctx.slug,
                server_side::urlencode(e164.as_str()),
                outcome.as_str()
            ));
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "load_lookup_stats")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn load_lookup_stats(
    org: String,
    from: Option<String>,
    to: Option<String>,
) -> Result<LookupStats, AppError> {
    respond(server_side::stats(org, from, to).await)
}

#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "load_bulk_page")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn load_bulk_page(org: String, job: Option<i64>) -> Result<BulkPage, AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Read).await?;
            let jobs = crate::ssr::db::jobs::for_org(&ctx.state.pool, ctx.org_id, None).await?;
            // The asked-for job is usually among the latest; read it separately only if not.
            let job = match job {
                Some(id) => match jobs.iter().find(|j| j.id == id) {
                    Some(j) => Some(j.clone()),
                    None => Some(
                        crate::ssr::db::jobs::for_org(&ctx.state.pool, ctx.org_id, Some(id))
                            .await?
                            .pop()
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
        .await,
    )
}

#[cfg(feature = "ssr")]
pub mod server_side {
    //! The server-only halves of the server functions above.

    use time::OffsetDateTime;

    use crate::error::AppError;
    use crate::model::dates::{date_range, month_of};
    use crate::model::lookup::*;
    use crate::ssr::db::cache::Cached;
    use crate::ssr::{db, require, Permission};

    /// Whether this org has asked for `e164` (only then is the shared cache's answer shown to it).
    pub async fn asked(
        ctx: &crate::ssr::guard::OrgCtx,
        e164: &telephony::E164,
    ) -> Result<bool, AppError> {
        let key = (ctx.org_id, e164.as_str().to_string());
        let fetch = db::lookups::org_has_looked_up(&ctx.state.pool, ctx.org_id, e164);
        Ok(ctx.state.known.asked.read(key, fetch).await?)
    }

    pub fn urlencode(s: &str) -> String {
        url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
    }

    /// `caller_name`: whether the org's configuration has caller-name lookups on (otherwise the
    /// cached caller name, paid for by another org, is not shown).
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
            last_lookup_at: c.last_lookup_at.map(crate::ssr::lookups::fmt_utc),
            expires_at: c.lookup_expires_at.map(crate::ssr::lookups::fmt_utc),
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

    pub async fn stats(
        org: String,
        from: Option<String>,
        to: Option<String>,
    ) -> Result<LookupStats, AppError> {
        let ctx = require(&org, Permission::Read).await?;
        if !ctx.access.oversees() {
            return Err(AppError::Forbidden(
                "Only the org's owners and admins can see lookup costs.".into(),
            ));
        }
        let (from_d, to_d) = date_range(from.as_deref(), to.as_deref())?;
        let (m_from, m_to) = month_of(OffsetDateTime::now_utc().date());
        ctx.state.events.flush_for_page().await;
        let pool = &ctx.state.pool;
        let month = db::lookups::totals(pool, ctx.org_id, m_from, m_to).await?;
        let range = db::lookups::totals(pool, ctx.org_id, from_d, to_d).await?;
        let days = db::lookups::daily(pool, ctx.org_id, from_d, to_d).await?;
        let chart_svg = crate::ssr::charts::lookups(from_d, to_d, &days);
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
            expiring: db::lookups::expiring(pool, ctx.org_id).await?,
        })
    }
}

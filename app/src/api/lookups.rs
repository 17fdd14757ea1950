//! Lookups: look a number up through the shared cache, the org's phone configuration, the cost
//! figures and bulk jobs.

// A form's fields are a server function's arguments (plain HTML forms post them by name), and the
// phone configuration form has thirteen.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::lookup::{
    BulkPage, ConnectionResult, GlobalCacheStats, LookupPage, LookupStats, PhoneConfigPage,
};

#[cfg(feature = "ssr")]
use crate::ssr::{db, require, respond, Permission};

#[server(prefix = "/api", endpoint = "load_lookup_page")]
pub async fn load_lookup_page(org: String, number: Option<String>) -> Result<LookupPage, AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Read).await?;
            let pool = &ctx.state.pool;
            // "Recent lookups" includes the one just made.
            ctx.state.events.flush().await;
            let cfg = db::phone_config::effective(pool, ctx.org_id).await?;
            let unavailable = match &cfg {
                None => Some(crate::ssr::lookups::LookupError::NoConfig.to_string()),
                Some(c) if !c.lookup_enabled => {
                    Some(crate::ssr::lookups::LookupError::Disabled.to_string())
                }
                _ => None,
            };
            let caller_name = cfg.as_ref().is_some_and(|c| c.caller_name_enabled);
            let result = match number.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
                Some(n) => match telephony::E164::parse(n, Some("US")) {
                    // The shared cache's answer only for a number this org has asked for.
                    Ok(e)
                        if db::lookups::org_has_looked_up(pool, ctx.org_id, e.as_str()).await? =>
                    {
                        crate::ssr::db::cache::get(pool, &e)
                            .await?
                            .filter(|c| c.lookup_expires_at.is_some())
                            .map(|c| support::number_info(&c, caller_name))
                    }
                    _ => None,
                },
                None => None,
            };
            Ok(LookupPage {
                can_lookup: !ctx.access.read_only(),
                can_refresh: ctx.access.can_manage(),
                org: ctx.view(),
                unavailable,
                result,
                recent: db::lookups::recent(pool, ctx.org_id).await?,
            })
        }
        .await,
    )
}

/// Looks a number up (through the cache) and shows the result page.
#[server(prefix = "/api", endpoint = "lookup_number")]
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
            let e164 = telephony::E164::parse(&number, Some("US"))
                .map_err(|e| AppError::validation("number", e.to_string()))?;
            let deps = ctx.state.lookup_deps();
            let (outcome, _) =
                crate::ssr::lookups::lookup(&deps, ctx.org_id, Some(ctx.user.id), &e164, force)
                    .await
                    .map_err(support::lookup_error)?;
            leptos_axum::redirect(&format!(
                "/o/{}/lookup?number={}&outcome={}",
                ctx.slug,
                support::urlencode(e164.as_str()),
                outcome.as_str()
            ));
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "load_phone_config")]
pub async fn load_phone_config(org: String) -> Result<PhoneConfigPage, AppError> {
    respond(support::config_page(org).await)
}

#[server(prefix = "/api", endpoint = "save_phone_config")]
pub async fn save_phone_config(
    org: String,
    provider: String,
    display_name: String,
    active: Option<String>,
    lookup_enabled: Option<String>,
    lookup_cache_days: String,
    caller_name_enabled: Option<String>,
    test_mode: Option<String>,
    default_sender: String,
    region: Option<String>,
    api_base: Option<String>,
    lookups_base: Option<String>,
    account_sid: String,
    auth_token: String,
) -> Result<(), AppError> {
    use crate::model::lookup::*;
    use crate::ssr::db::phone_config::ConfigInput;
    respond(
        async {
            // Who may save comes before what was typed: support gets 403, not field errors.
            if org.is_empty() {
                let u = crate::ssr::current_user().await?;
                if !u.is_superadmin {
                    return Err(if u.is_support {
                        AppError::Forbidden(
                            "Support access is read-only: nothing can be changed here.".into(),
                        )
                    } else {
                        AppError::NotFound
                    });
                }
            } else {
                require(&org, Permission::Manage).await?;
            }
            let on = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
            let provider = ProviderKind::parse("provider", &provider)?;
            let state = crate::ssr::AppState::from_context()?;
            if provider == ProviderKind::Sandbox && !state.dev_mode {
                return Err(AppError::validation(
                    "provider",
                    "The sandbox exists only in development. Choose Twilio.",
                ));
            }
            let region = match provider {
                ProviderKind::Twilio => {
                    TwilioRegion::parse("region", region.as_deref().unwrap_or(""))?.code()
                }
                ProviderKind::Sandbox => None,
            };
            // Where credentials go is not tenant input: base URLs are the system default's only.
            let base = |field: &str, raw: Option<String>| -> Result<Option<String>, AppError> {
                let raw = raw.unwrap_or_default();
                if org.is_empty() {
                    parse_base_url(field, &raw)
                } else if raw.trim().is_empty() {
                    Ok(None)
                } else {
                    Err(AppError::validation(
                        field,
                        "Base URLs are a system setting. Choose a region instead.",
                    ))
                }
            };
            let api_base = base("api_base", api_base)?;
            let lookups_base = base("lookups_base", lookups_base)?;
            let input = ConfigInput {
                provider: provider.as_str().to_string(),
                region: region.map(str::to_string),
                display_name: crate::model::parse_name("display_name", &display_name, false)?,
                active: on(&active),
                lookup_enabled: on(&lookup_enabled),
                lookup_cache_days: parse_cache_days("lookup_cache_days", &lookup_cache_days)?,
                caller_name_enabled: on(&caller_name_enabled),
                test_mode: on(&test_mode),
                default_sender: match default_sender.trim() {
                    "" => None,
                    s => Some(
                        telephony::E164::parse(s, Some("US"))
                            .map_err(|e| AppError::validation("default_sender", e.to_string()))?
                            .as_str()
                            .to_string(),
                    ),
                },
                api_base,
                lookups_base,
                account_sid: parse_account_sid("account_sid", &account_sid)?,
            };
            let token = match auth_token.trim() {
                "" => None,
                t => Some(check_auth_token("auth_token", t)?),
            };
            support::save_config(org, input, token).await
        }
        .await,
    )
}

/// Calls the provider with the saved configuration and reports what it said.
#[server(prefix = "/api", endpoint = "test_phone_connection")]
pub async fn test_phone_connection(org: String) -> Result<ConnectionResult, AppError> {
    respond(support::test_connection(org).await)
}

#[server(prefix = "/api", endpoint = "load_lookup_stats")]
pub async fn load_lookup_stats(
    org: String,
    from: Option<String>,
    to: Option<String>,
) -> Result<LookupStats, AppError> {
    respond(support::stats(org, from, to).await)
}

#[server(prefix = "/api", endpoint = "load_global_lookup_stats")]
pub async fn load_global_lookup_stats() -> Result<GlobalCacheStats, AppError> {
    respond(
        async {
            let user = crate::ssr::current_user().await?;
            if !(user.is_support || user.is_superadmin) {
                return Err(AppError::NotFound);
            }
            let state = crate::ssr::AppState::from_context()?;
            state.events.flush().await;
            let (from, to) = support::month_of(time::OffsetDateTime::now_utc().date());
            Ok(db::lookups::global(&state.pool, from, to).await?)
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "load_bulk_page")]
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
pub mod support {
    //! The server-side bodies of the functions above.

    use time::{Date, OffsetDateTime};

    use crate::error::AppError;
    use crate::model::lookup::*;
    use crate::model::OrgView;
    use crate::ssr::db::cache::Cached;
    use crate::ssr::db::phone_config::{ConfigInput, ConfigRow};
    use crate::ssr::lookups::LookupError;
    use crate::ssr::{db, require, AppState, Permission};

    pub fn lookup_error(e: LookupError) -> AppError {
        match e {
            LookupError::Db(d) => {
                tracing::error!(error = %d, "lookup failed on the database");
                AppError::Unavailable
            }
            LookupError::NoConfig | LookupError::Disabled => AppError::Conflict(e.to_string()),
            LookupError::Busy | LookupError::LostLease => AppError::TooManyRequests(e.to_string()),
            other => AppError::Upstream(other.to_string()),
        }
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
        }
    }

    /// Who may see which configuration: an org's by its owners/admins (support read-only), the
    /// system default by superadmins (support read-only).
    struct Scope {
        org_id: Option<i64>,
        org: Option<OrgView>,
        can_edit: bool,
        actor: i64,
        state: AppState,
        ctx: Option<crate::ssr::guard::OrgCtx>,
    }

    async fn scope(org: &str) -> Result<Scope, AppError> {
        if org.is_empty() {
            let user = crate::ssr::current_user().await?;
            if !(user.is_superadmin || user.is_support) {
                return Err(AppError::NotFound);
            }
            return Ok(Scope {
                org_id: None,
                org: None,
                can_edit: user.is_superadmin,
                actor: user.id,
                state: AppState::from_context()?,
                ctx: None,
            });
        }
        let ctx = require(org, Permission::Read).await?;
        if !ctx.access.oversees() {
            return Err(AppError::Forbidden(
                "Only the org's owners and admins can see the phone config.".into(),
            ));
        }
        Ok(Scope {
            org_id: Some(ctx.org_id),
            org: Some(ctx.view()),
            can_edit: ctx.access.can_manage(),
            actor: ctx.user.id,
            state: ctx.state.clone(),
            ctx: Some(ctx),
        })
    }

    fn view(c: Option<&ConfigRow>) -> PhoneConfigView {
        match c {
            Some(c) => PhoneConfigView {
                exists: true,
                provider: ProviderKind::parse("provider", &c.provider)
                    .unwrap_or(ProviderKind::Twilio),
                display_name: c.display_name.clone(),
                active: c.active,
                lookup_enabled: c.lookup_enabled,
                lookup_cache_days: c.lookup_cache_days,
                caller_name_enabled: c.caller_name_enabled,
                test_mode: c.test_mode,
                default_sender: c.default_sender.clone().unwrap_or_default(),
                api_base: c.api_base.clone().unwrap_or_default(),
                lookups_base: c.lookups_base.clone().unwrap_or_default(),
                region: TwilioRegion::from_code(c.region.as_deref()).unwrap_or(TwilioRegion::Us1),
                account_sid: c.account_sid.clone(),
                token_masked: c.token_tail.as_ref().map(|t| format!("…{t}")),
                key_id: c.token_key_id.clone(),
                token_needs_reentry: c.token_key_id.is_some() && !c.token_matches_destination(),
                updated: c.updated.clone(),
            },
            None => PhoneConfigView {
                exists: false,
                provider: ProviderKind::Twilio,
                display_name: String::new(),
                active: true,
                lookup_enabled: true,
                lookup_cache_days: 30,
                caller_name_enabled: false,
                test_mode: false,
                default_sender: String::new(),
                api_base: String::new(),
                lookups_base: String::new(),
                region: TwilioRegion::Us1,
                account_sid: String::new(),
                token_masked: None,
                key_id: None,
                token_needs_reentry: false,
                updated: String::new(),
            },
        }
    }

    pub async fn config_page(org: String) -> Result<PhoneConfigPage, AppError> {
        let s = scope(&org).await?;
        let pool = &s.state.pool;
        let own = db::phone_config::get(pool, s.org_id).await?;
        let effective = match s.org_id {
            None => "This is the system default: orgs without an active configuration of their own use it.".to_string(),
            Some(id) => match db::phone_config::effective(pool, id).await? {
                Some(c) if c.org_id.is_some() => "Lookups in this org use this configuration.".into(),
                Some(_) => "This org has no active configuration of its own: lookups use the system default.".into(),
                None => "Neither this org nor the system has an active configuration: lookups are unavailable.".into(),
            },
        };
        Ok(PhoneConfigPage {
            org: s.org,
            can_edit: s.can_edit,
            config: view(own.as_ref()),
            effective,
            sandbox_available: s.state.dev_mode,
        })
    }

    pub async fn save_config(
        org: String,
        input: ConfigInput,
        token: Option<String>,
    ) -> Result<(), AppError> {
        let s = scope(&org).await?;
        if !s.can_edit {
            return Err(AppError::Forbidden(if s.org_id.is_some() {
                "Support access is read-only: nothing can be changed here.".into()
            } else {
                "Only superadmins can change the system default.".into()
            }));
        }
        let pool = &s.state.pool;
        let mut tx = pool.begin().await?;
        let existing = db::phone_config::get(&mut *tx, s.org_id).await?;
        if token.is_none() {
            match &existing {
                Some(c) if c.token_key_id.is_some() => {
                    if c.token_scope.as_deref() != Some(input.token_scope().as_str()) {
                        return Err(AppError::validation(
                            "auth_token",
                            "Enter the auth token again: the provider, region, Account SID or base URL changed, and a stored token is only sent where it was saved for.",
                        ));
                    }
                }
                _ => {
                    return Err(AppError::validation(
                        "auth_token",
                        "Enter the auth token: this configuration has none yet.",
                    ))
                }
            }
        }
        let sealed = match &token {
            Some(t) => Some(s.state.keyring.encrypt(t).map_err(|e| {
                tracing::error!(error = %e, "encrypting a credential failed");
                AppError::Internal
            })?),
            None => None,
        };
        let tail = token.as_deref().map(crate::ssr::crypto::tail);
        let id = db::phone_config::save(
            &mut *tx,
            s.org_id,
            &input,
            sealed.as_ref().zip(tail.as_deref()),
        )
        .await?;
        let details = serde_json::json!({
            "config_id": id,
            "provider": input.provider,
            "active": input.active,
            "lookup_enabled": input.lookup_enabled,
            "lookup_cache_days": input.lookup_cache_days,
            "caller_name_enabled": input.caller_name_enabled,
            "test_mode": input.test_mode,
            "account_sid": input.account_sid,
            "region": input.region,
            "credentials_replaced": token.is_some(),
        });
        let action = if existing.is_some() {
            "phone_config.updated"
        } else {
            "phone_config.created"
        };
        match &s.ctx {
            Some(ctx) => ctx.audit(&mut *tx, action, "phone_config", details).await?,
            None => {
                db::audit::record(
                    &mut *tx,
                    db::audit::Entry {
                        actor_id: Some(s.actor),
                        org_id: None,
                        action,
                        target: "phone_config:default",
                        details,
                        ip: crate::ssr::client_ip(),
                    },
                )
                .await?
            }
        }
        tx.commit().await?;
        s.state.providers.forget_configs();
        let back = match &s.org {
            Some(o) => format!("/o/{}/admin/phone-config?notice=config-saved", o.slug),
            None => "/admin/phone-config?notice=config-saved".into(),
        };
        leptos_axum::redirect(&back);
        Ok(())
    }

    pub async fn test_connection(org: String) -> Result<ConnectionResult, AppError> {
        let s = scope(&org).await?;
        let cfg = db::phone_config::get(&s.state.pool, s.org_id)
            .await?
            .ok_or_else(|| {
                AppError::Conflict("Save a configuration first, then test it.".into())
            })?;
        let provider = s
            .state
            .providers
            .build(&cfg, &s.state.keyring, &s.state.public_url)
            .map_err(|e| AppError::Conflict(e.to_string()))?;
        match provider.test_connection().await {
            Ok(acct) => {
                // Without JavaScript the page comes back with a notice; with it, the message shows.
                let back = match &s.org {
                    Some(o) => format!("/o/{}/admin/phone-config?notice=connection-ok", o.slug),
                    None => "/admin/phone-config?notice=connection-ok".into(),
                };
                leptos_axum::redirect(&back);
                Ok(ConnectionResult {
                ok: true,
                message: format!(
                    "Connected: account “{}” ({}) is {}.",
                    acct.friendly_name.unwrap_or_default(),
                    acct.sid,
                    acct.status.unwrap_or_else(|| "reachable".into())
                ),
            })
            }
            Err(telephony::ProviderError::Auth { .. }) => Err(AppError::Upstream(
                "The provider rejected these credentials (authentication failed). Check the Account SID and auth token.".into(),
            )),
            Err(e) => Err(AppError::Upstream(format!("The connection test failed: {e}."))),
        }
    }

    pub fn month_of(d: Date) -> (Date, Date) {
        let first = d.replace_day(1).unwrap_or(d);
        let next = if first.month() == time::Month::December {
            Date::from_calendar_date(first.year() + 1, time::Month::January, 1)
        } else {
            Date::from_calendar_date(first.year(), first.month().next(), 1)
        };
        let last = next.ok().and_then(|n| n.previous_day()).unwrap_or(d);
        (first, last)
    }

    fn parse_date(field: &str, raw: Option<String>) -> Result<Option<Date>, AppError> {
        let f = time::macros::format_description!("[year]-[month]-[day]");
        match raw.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => Date::parse(s, &f)
                .map(Some)
                .map_err(|_| AppError::validation(field, "Enter a date as YYYY-MM-DD.")),
        }
    }

    /// The range a report covers: `from`/`to` (YYYY-MM-DD) or this month; at most a year.
    pub fn date_range(from: Option<String>, to: Option<String>) -> Result<(Date, Date), AppError> {
        let today = OffsetDateTime::now_utc().date();
        let (m_from, m_to) = month_of(today);
        let from_d = parse_date("from", from)?.unwrap_or(m_from);
        let to_d = parse_date("to", to)?.unwrap_or(m_to);
        if to_d < from_d {
            return Err(AppError::validation(
                "to",
                "The end date is before the start date.",
            ));
        }
        if (to_d - from_d).whole_days() > 366 {
            return Err(AppError::validation(
                "to",
                "Choose a range of at most a year.",
            ));
        }
        Ok((from_d, to_d))
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
        let (from_d, to_d) = date_range(from, to)?;
        let (m_from, m_to) = month_of(OffsetDateTime::now_utc().date());
        ctx.state.events.flush().await;
        let pool = &ctx.state.pool;
        let month = db::lookups::totals(pool, ctx.org_id, m_from, m_to).await?;
        let range = db::lookups::totals(pool, ctx.org_id, from_d, to_d).await?;
        let days = db::lookups::daily(pool, ctx.org_id, from_d, to_d).await?;
        let chart_svg = chart(from_d, to_d, &days);
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

    /// Requests per day, stacked: cache hits, paid lookups, errors.
    fn chart(from: Date, to: Date, days: &[db::lookups::Day]) -> String {
        use charts_rs::{BarChart, Box as Padding, Series};
        let mut labels = Vec::new();
        let (mut hits, mut paid, mut errors) = (Vec::new(), Vec::new(), Vec::new());
        let mut d = from;
        let mut it = days.iter().peekable();
        while d <= to {
            let (h, p, e) = match it.peek() {
                Some(x) if x.day == d => it
                    .next()
                    .map(|x| (x.hits, x.paid, x.errors))
                    .unwrap_or_default(),
                _ => (0, 0, 0),
            };
            labels.push(format!("{}", d.day()));
            hits.push(h as f32);
            paid.push(p as f32);
            errors.push(e as f32);
            match d.next_day() {
                Some(n) => d = n,
                None => break,
            }
        }
        let mut chart = BarChart::new(
            vec![
                Series::new("Cache hits".into(), hits),
                Series::new("Paid lookups".into(), paid),
                Series::new("Errors".into(), errors),
            ],
            labels,
        );
        chart.width = 900.0;
        chart.height = 320.0;
        chart.margin = Padding {
            left: 10.0,
            top: 10.0,
            right: 10.0,
            bottom: 10.0,
        };
        chart.series_colors = vec!["#0d9488".into(), "#4f46e5".into(), "#dc2626".into()];
        chart.svg().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "chart rendering failed");
            String::new()
        })
    }
}

//! Owned numbers: search and buy, list, change settings, release, reconcile.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::numbers::{BuyPage, NumberPage, NumbersPage};

#[cfg(feature = "ssr")]
use crate::ssr::{numbers, require, respond, Permission};

/// The buy page; `params` is its URL query (search filters, `confirm=+1…`).
#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "load_buy_page")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn load_buy_page(org: String, params: String) -> Result<BuyPage, AppError> {
    respond(server_side::buy_page(org, params).await)
}

#[server(prefix = "/api", endpoint = "buy_number")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn buy_number(
    org: String,
    number: String,
    key: String,
    friendly_name: String,
) -> Result<(), AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Use).await?;
            // The form's one-time key: letters and digits (API purchases' keys never are).
            let key = key.trim();
            if key.len() < 16 || key.len() > 64 || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(AppError::BadRequest(
                    "This form is out of date. Open the number again and confirm.".into(),
                ));
            }
            let purchase = numbers::Purchase {
                number: &number,
                friendly_name: &friendly_name,
                key,
            };
            numbers::buy(&ctx, purchase).await?;
            leptos_axum::redirect(&format!("/o/{}/numbers?notice=number-bought", ctx.slug));
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "load_numbers")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn load_numbers(org: String, check: Option<String>) -> Result<NumbersPage, AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Read).await?;
            let all = ctx.sees_all();
            let numbers = numbers::visible(&ctx).await?;
            let drift = if check.is_some_and(|c| !c.is_empty()) && all {
                Some(
                    numbers::reconcile(&ctx.state, ctx.org_id)
                        .await
                        .map_err(|e| AppError::from(e).to_string()),
                )
            } else {
                None
            };
            Ok(NumbersPage {
                can_buy: !ctx.access.read_only(),
                is_admin: all,
                org: ctx.view(),
                numbers,
                drift,
            })
        }
        .await,
    )
}

#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "load_number")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn load_number(org: String, id: i64) -> Result<NumberPage, AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Read).await?;
            let n = numbers::one(&ctx, id).await?;
            let eff = ctx
                .state
                .providers
                .effective(&ctx.state.pool, ctx.org_id)
                .await?;
            Ok(NumberPage {
                org: ctx.view(),
                sandbox: eff.config.as_ref().is_some_and(|c| c.provider.is_sandbox()),
                number: n,
            })
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "update_number")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn update_number(
    org: String,
    id: i64,
    friendly_name: String,
    active: Option<String>,
    forward_to: String,
    record_calls: Option<String>,
    shared: Option<String>,
) -> Result<(), AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Use).await?;
            // A form sends every field; an unticked box is absent.
            let on = |v: &Option<String>| Some(v.as_deref().is_some_and(|s| !s.is_empty()));
            let changes = numbers::Changes {
                friendly_name: Some(friendly_name),
                active: on(&active),
                forward_to: Some(forward_to),
                record_calls: on(&record_calls),
                shared: on(&shared),
            };
            numbers::update(&ctx, id, changes).await?;
            leptos_axum::redirect(&format!("/o/{}/numbers/{id}?notice=number-saved", ctx.slug));
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "release_number")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn release_number(org: String, id: i64, confirm: Option<String>) -> Result<(), AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Use).await?;
            // Checked first, as before: an unconfirmed form changes nothing, whoever sends it.
            numbers::editable(&ctx, id).await?;
            if confirm.as_deref() != Some("yes") {
                return Err(AppError::validation(
                    "confirm",
                    "Tick the box to confirm: a released number cannot be got back.",
                ));
            }
            let notice = match numbers::release(&ctx, id).await? {
                numbers::Released::Done => "number-released",
                numbers::Released::Pending(_) => "release-pending",
            };
            leptos_axum::redirect(&format!("/o/{}/numbers?notice={notice}", ctx.slug));
            Ok(())
        }
        .await,
    )
}

/// Sandbox numbers only: someone calls or texts the number (`kind` = call or sms).
#[server(prefix = "/api", endpoint = "simulate_inbound")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn simulate_inbound(
    org: String,
    id: i64,
    kind: String,
    from: String,
    body: Option<String>,
) -> Result<(), AppError> {
    use crate::ssr::numbers::Simulate;
    respond(
        async {
            let ctx = require(&org, Permission::Use).await?;
            let n = numbers::editable(&ctx, id).await?;
            // "anonymous" calls as someone who hid their number (Twilio's `From` for them).
            let hidden = kind == "call" && from.trim().eq_ignore_ascii_case("anonymous");
            let from = match hidden {
                true => None,
                false => Some(
                    telephony::E164::parse(&from, Some(ctx.country.as_str()))
                        .map_err(|e| AppError::validation("from", e.to_string()))?,
                ),
            };
            let caller = from.as_ref().map_or("anonymous", |f| f.as_str());
            let body = body.unwrap_or_default();
            let what = match kind.as_str() {
                "call" => Simulate::Call { from: caller },
                "sms" => {
                    crate::model::sms::check_body(&body)?;
                    Simulate::Sms {
                        from: caller,
                        body: &body,
                    }
                }
                _ => return Err(AppError::BadRequest("Choose a call or an SMS.".into())),
            };
            numbers::simulate_inbound(&ctx.state, ctx.org_id, &n, what).await?;
            let target = if kind == "call" {
                format!("/o/{}/calls?number={id}&notice=sim-call", ctx.slug)
            } else {
                let q = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("our", &n.e164)
                    .append_pair("with", caller)
                    .append_pair("notice", "sim-sms")
                    .finish();
                format!("/o/{}/sms?{q}", ctx.slug)
            };
            leptos_axum::redirect(&target);
            Ok(())
        }
        .await,
    )
}

/// Server-only helpers of the server functions above.
#[cfg(feature = "ssr")]
pub mod server_side {
    use crate::error::AppError;
    use crate::model::numbers::*;
    use crate::ssr::{require, Permission};

    fn flag(pairs: &[(String, String)], k: &str) -> bool {
        pairs.iter().any(|(a, b)| a == k && !b.is_empty())
    }

    fn val(pairs: &[(String, String)], k: &str) -> String {
        crate::model::query_value(pairs, k)
    }

    pub async fn buy_page(org: String, params: String) -> Result<BuyPage, AppError> {
        let ctx = require(&org, Permission::Read).await?;
        let pairs = crate::model::query_pairs(&params);
        let monthly =
            crate::ssr::prices::price(&ctx.state.pool, crate::ssr::prices::Priced::NumberMonthly)
                .await?;
        let query = NumberQuery {
            // The search starts in the org's country.
            country: match val(&pairs, "country") {
                c if c.trim().is_empty() => ctx.country.clone(),
                c => c,
            },
            number_type: val(&pairs, "number_type"),
            area_code: val(&pairs, "area_code"),
            contains: val(&pairs, "contains"),
            voice: flag(&pairs, "voice"),
            sms: flag(&pairs, "sms"),
            mms: flag(&pairs, "mms"),
            region: val(&pairs, "region"),
            locality: val(&pairs, "locality"),
        };
        let searched = flag(&pairs, "search");
        let unavailable = crate::ssr::org_provider::unavailable(
            &ctx.state,
            ctx.org_id,
            crate::model::phone_config::Capability::Numbers,
            "buying numbers",
        )
        .await?;
        let can_buy = !ctx.access.read_only() && unavailable.is_none();
        let mut page = BuyPage {
            org: ctx.view(),
            can_buy,
            query: query.clone(),
            searched,
            results: Vec::new(),
            message: None,
            monthly: monthly.to_string(),
            confirm: None,
            unavailable,
        };
        if page.unavailable.is_some() {
            return Ok(page);
        }
        let confirm = val(&pairs, "confirm");
        if !confirm.is_empty() && can_buy {
            let e = telephony::E164::parse(&confirm, Some(ctx.country.as_str()))
                .map_err(|e| AppError::validation("number", e.to_string()))?;
            page.confirm = Some(ConfirmView {
                e164: e.as_str().to_string(),
                national: e.shown_in(&ctx.country),
                monthly: monthly.to_string(),
                key: format!("{:032x}", rand::random::<u128>()),
            });
            return Ok(page);
        }
        if !searched {
            return Ok(page);
        }
        // Bad filters are field errors (4xx), like any form; what the provider says of a search
        // is said on the page.
        let query = crate::ssr::numbers::check_query(query)?;
        page.query = query.clone();
        match crate::ssr::numbers::available(&ctx, query.clone()).await {
            Ok((found, _)) => {
                if found.is_empty() {
                    page.message = Some(match query.area_code.as_str() {
                        "" => "No numbers match these filters — try fewer filters.".into(),
                        a => format!(
                            "No numbers available in area code {a} — try a nearby area code."
                        ),
                    });
                }
                page.results = found;
            }
            Err(AppError::Validation { message, .. }) => page.message = Some(message),
            Err(e) => return Err(e),
        }
        Ok(page)
    }
}

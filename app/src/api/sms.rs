//! SMS: conversations, one thread, send.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::sms::SmsPage;

#[cfg(feature = "ssr")]
use crate::ssr::{require, respond, Permission};

/// `params`: the page's query (`our=…&with=…` opens a conversation).
#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "load_sms")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn load_sms(org: String, params: String) -> Result<SmsPage, AppError> {
    respond(
        async {
            use crate::ssr::sms::{conversations, senders, thread, MessageScope};
            let ctx = require(&org, Permission::Read).await?;
            let pairs = crate::model::query_pairs(&params);
            let val =
                |k: &str| Some(crate::model::query_value(&pairs, k)).filter(|s| !s.is_empty());
            let scope = MessageScope {
                org_id: ctx.org_id,
                user_id: ctx.own_rows_only(),
            };
            let pool = &ctx.state.pool;
            let thread = match (val("our"), val("with")) {
                (Some(our), Some(with)) => {
                    let viewer = crate::ssr::sms::Viewer {
                        acts: !ctx.access.read_only(),
                        only_own: (!ctx.access.can_manage()).then_some(ctx.user.id),
                    };
                    let msgs = thread(pool, scope, viewer, &our, &with).await?;
                    Some((our, with, msgs))
                }
                _ => None,
            };
            let opted_out = match &thread {
                Some((_, with, _)) => {
                    crate::ssr::opt_outs::standing(pool, ctx.org_id, with).await?
                }
                None => None,
            };
            let can_send = !ctx.access.read_only();
            let eff = ctx.state.providers.effective(pool, ctx.org_id).await?;
            Ok(SmsPage {
                conversations: conversations(pool, scope)
                    .await?
                    .into_iter()
                    .map(|mut c| {
                        c.other_shown = crate::ssr::shown(&c.other, &ctx.country);
                        c
                    })
                    .collect(),
                thread,
                opted_out,
                senders: if can_send {
                    senders(&ctx.state, ctx.org_id, ctx.user.id).await?
                } else {
                    Vec::new()
                },
                segment_micros: crate::ssr::prices::price(
                    pool,
                    crate::ssr::prices::Priced::SmsSegment,
                )
                .await?
                .micros(),
                test_mode: eff.config.as_ref().is_some_and(|c| c.test_mode),
                may_send_urgent: can_send && crate::ssr::quiet_hours::may_send_urgent(&ctx).await?,
                quiet: crate::ssr::quiet_hours::view(&ctx).await?.summary(),
                can_send,
                org: ctx.view(),
            })
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "send_sms")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn send_sms(
    org: String,
    from: String,
    to: String,
    body: String,
    urgent: Option<String>,
) -> Result<(), AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Use).await?;
            let urgent = urgent.as_deref() == Some("on");
            let (sent, to) = crate::ssr::sms::send_as(&ctx, &from, &to, &body, urgent).await?;
            let from = from.trim();
            let notice = if sent.held {
                "sms-held"
            } else if sent.send_after.is_some() {
                "sms-scheduled"
            } else {
                "sms-sent"
            };
            let q = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("our", from)
                .append_pair("with", to.as_str())
                .append_pair("notice", notice)
                .finish();
            leptos_axum::redirect(&format!("/o/{}/sms?{q}", ctx.slug));
            Ok(())
        }
        .await,
    )
}

/// Cancels a text scheduled for its recipient's quiet hours (its sender, or an owner or admin):
/// it is never sent.
#[server(prefix = "/api", endpoint = "cancel_message")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%org), err(level = "debug")))]
pub async fn cancel_message(org: String, id: i64) -> Result<(), AppError> {
    respond(
        async {
            let ctx = require(&org, Permission::Use).await?;
            let (our, with) = crate::ssr::quiet_hours::cancel(&ctx, id).await?;
            let q = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("our", &our)
                .append_pair("with", &with)
                .append_pair("notice", "sms-canceled")
                .finish();
            leptos_axum::redirect(&format!("/o/{}/sms?{q}", ctx.slug));
            Ok(())
        }
        .await,
    )
}

pub use crate::model::sms::check_body;

//! The org's webhook endpoints: the use cases of the webhooks page and `/v1/webhooks` (list, add,
//! turn on or off, delete, read one's delivery log), on the record. Owners and admins manage
//! them, support staff read them, members do neither.
//!
//! Each endpoint gets its own signing secret (`whsec_` and 256 random bits), sealed with the
//! keyring before it is stored and answered once, to whoever added the endpoint; nothing reads it
//! back but the money worker signing a delivery (`ssr::alerts`).

use std::collections::HashMap;

use base64::Engine;
use rand::RngCore;

use super::db::{self, org_webhooks::WebhookRow};
use super::format;
use super::guard::OrgCtx;
use crate::error::AppError;
use crate::model::alerts::{
    AttemptView, DeliveryState, DeliveryView, NewWebhook, WebhookLogPage, WebhookView,
    WebhooksPage, MAX_URL_CHARS, MAX_WEBHOOKS,
};

/// Deliveries a log shows (the newest).
const MAX_DELIVERIES: i64 = 100;

/// The webhooks page: the org's endpoints, and whether the caller may change them.
pub async fn page(ctx: &OrgCtx) -> Result<WebhooksPage, AppError> {
    Ok(WebhooksPage {
        webhooks: list(ctx).await?,
        org: ctx.view(),
        can_manage: ctx.access.can_manage(),
        http_allowed: ctx.state.dev_mode,
    })
}

/// The org's endpoints, oldest first (owners, admins and support staff).
pub async fn list(ctx: &OrgCtx) -> Result<Vec<WebhookView>, AppError> {
    must_oversee(ctx)?;
    let rows = db::org_webhooks::list(&ctx.state.pool, ctx.org_id).await?;
    Ok(rows.into_iter().map(view).collect())
}

/// One of the org's endpoints; another org's id, or none, is not found.
pub async fn get(ctx: &OrgCtx, id: i64) -> Result<WebhookView, AppError> {
    must_oversee(ctx)?;
    db::org_webhooks::get(&ctx.state.pool, ctx.org_id, id)
        .await?
        .map(view)
        .ok_or(AppError::NotFound)
}

/// Adds an endpoint at `url` (owners and admins), on the record: answered with its signing
/// secret, the only time anyone sees it. A bad URL names the `url` field and writes nothing;
/// an org with `MAX_WEBHOOKS` endpoints already is a conflict.
pub async fn create(ctx: &OrgCtx, url: &str) -> Result<NewWebhook, AppError> {
    ctx.must_manage()?;
    let url = check_url(url, ctx.state.dev_mode)?;
    let now = ctx.state.clock.now();
    let mut tx = ctx.state.pool.begin().await?;
    if db::org_webhooks::lock_and_count(&mut tx, ctx.org_id).await? >= MAX_WEBHOOKS {
        return Err(AppError::Conflict(format!(
            "An org can have at most {MAX_WEBHOOKS} webhook endpoints: delete one first."
        )));
    }
    let secret = mint_secret();
    let sealed = ctx.state.keyring.encrypt(&secret).map_err(|e| {
        tracing::error!(error = %e, "a webhook secret could not be sealed");
        AppError::Internal
    })?;
    let new = db::org_webhooks::NewWebhookRow {
        org_id: ctx.org_id,
        url: &url,
        secret_key_id: &sealed.key_id,
        secret_nonce: &sealed.nonce,
        secret_ciphertext: &sealed.ciphertext,
        created_by: ctx.user.id,
        at: now,
    };
    let id = db::org_webhooks::create(&mut *tx, &new).await?;
    let details = serde_json::json!({ "webhook": id, "url": url });
    ctx.audit(&mut *tx, "webhook.created", &id.to_string(), details)
        .await?;
    let row = db::org_webhooks::get(&mut *tx, ctx.org_id, id)
        .await?
        .ok_or(AppError::Internal)?;
    tx.commit().await?;
    Ok(NewWebhook {
        webhook: view(row),
        secret,
    })
}

/// Turns one of the org's endpoints on or off (owners and admins), on the record: an endpoint
/// that is off is sent nothing, and its pending deliveries wait.
pub async fn set_active(ctx: &OrgCtx, id: i64, active: bool) -> Result<WebhookView, AppError> {
    ctx.must_manage()?;
    let mut tx = ctx.state.pool.begin().await?;
    if !db::org_webhooks::set_active(&mut *tx, ctx.org_id, id, active).await? {
        return Err(AppError::NotFound);
    }
    let action = if active {
        "webhook.enabled"
    } else {
        "webhook.disabled"
    };
    let details = serde_json::json!({ "webhook": id });
    ctx.audit(&mut *tx, action, &id.to_string(), details)
        .await?;
    let row = db::org_webhooks::get(&mut *tx, ctx.org_id, id)
        .await?
        .ok_or(AppError::Internal)?;
    tx.commit().await?;
    Ok(view(row))
}

/// Deletes one of the org's endpoints and its delivery log (owners and admins), on the record.
pub async fn delete(ctx: &OrgCtx, id: i64) -> Result<(), AppError> {
    ctx.must_manage()?;
    let mut tx = ctx.state.pool.begin().await?;
    let Some(url) = db::org_webhooks::delete(&mut *tx, ctx.org_id, id).await? else {
        return Err(AppError::NotFound);
    };
    let details = serde_json::json!({ "webhook": id, "url": url });
    ctx.audit(&mut *tx, "webhook.deleted", &id.to_string(), details)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The newest deliveries to one of the org's endpoints, newest first, each with its tries.
pub async fn deliveries(ctx: &OrgCtx, id: i64) -> Result<Vec<DeliveryView>, AppError> {
    get(ctx, id).await?;
    deliveries_of(ctx, id).await
}

/// The log of the endpoint `id`, which the caller has found to be one of the org's.
async fn deliveries_of(ctx: &OrgCtx, id: i64) -> Result<Vec<DeliveryView>, AppError> {
    let pool = &ctx.state.pool;
    let rows = db::org_webhooks::deliveries(pool, ctx.org_id, id, MAX_DELIVERIES).await?;
    let ids: Vec<i64> = rows.iter().map(|d| d.id).collect();
    let mut tries: HashMap<i64, Vec<AttemptView>> = HashMap::new();
    for a in db::org_webhooks::attempts(pool, ctx.org_id, id, &ids).await? {
        tries
            .entry(a.delivery_id)
            .or_default()
            .push(attempt_view(a));
    }
    rows.into_iter()
        .map(|d| {
            let mine = tries.remove(&d.id).unwrap_or_default();
            delivery_view(d, mine)
        })
        .collect()
}

/// The delivery log page of one of the org's endpoints.
pub async fn log_page(ctx: &OrgCtx, id: i64) -> Result<WebhookLogPage, AppError> {
    let webhook = get(ctx, id).await?;
    Ok(WebhookLogPage {
        deliveries: deliveries_of(ctx, id).await?,
        webhook,
        org: ctx.view(),
    })
}

/// Webhooks are the org's configuration: its owners and admins see them, and support staff.
fn must_oversee(ctx: &OrgCtx) -> Result<(), AppError> {
    if ctx.sees_all() {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "Only the org's owners and admins manage webhooks.".into(),
        ))
    }
}

/// An endpoint's URL as typed (the `url` field), as it will be requested: a web address of at
/// most `MAX_URL_CHARS` characters, https (http too in development), with no user name or
/// password, and (outside development) not an IP address outside the public internet. Names
/// that resolve to one are refused when a delivery connects (`telephony::http::client`).
pub fn check_url(raw: &str, dev_mode: bool) -> Result<String, AppError> {
    let bad = |m: &str| AppError::validation("url", m);
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(bad(
            "Enter the address PhoneHub should send events to, like https://example.com/phonehub.",
        ));
    }
    let too_long = "Use an address of at most 2,000 characters.";
    if raw.chars().count() > MAX_URL_CHARS {
        return Err(bad(too_long));
    }
    let url = url::Url::parse(raw).map_err(|_| {
        bad("That is not a web address: it should look like https://example.com/phonehub.")
    })?;
    match url.scheme() {
        "https" => {}
        "http" if dev_mode => {}
        _ => {
            return Err(bad(
                "Use an https:// address: events are only sent over HTTPS.",
            ))
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "Leave the user name and password out of the address: each event is signed instead.",
        ));
    }
    if url.host().is_none() || telephony::http::check_literal_host(url.as_str(), dev_mode).is_err()
    {
        return Err(bad(
            "That address is in a private or reserved network: events go to the public internet only.",
        ));
    }
    let url = url.to_string();
    if url.chars().count() > MAX_URL_CHARS {
        return Err(bad(too_long));
    }
    Ok(url)
}

/// A new signing secret: `whsec_` and 32 random bytes, base64url without padding.
fn mint_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

fn view(r: WebhookRow) -> WebhookView {
    WebhookView {
        id: r.id,
        url: r.url,
        active: r.active,
        created: format::utc_minute(r.created_at),
        created_iso: format::rfc3339(r.created_at),
        created_by: r.created_by,
    }
}

fn attempt_view(a: db::org_webhooks::AttemptRow) -> AttemptView {
    AttemptView {
        n: a.n,
        at: format::utc_second(a.at),
        at_iso: format::rfc3339(a.at),
        status: a.status,
        error: a.error,
        excerpt: a.body_excerpt,
    }
}

fn delivery_view(
    d: db::org_webhooks::DeliveryRow,
    tries: Vec<AttemptView>,
) -> Result<DeliveryView, AppError> {
    let state = DeliveryState::parse(&d.state).ok_or_else(|| {
        tracing::error!(state = %d.state, delivery = d.id, "a delivery in an unknown state");
        AppError::Internal
    })?;
    Ok(DeliveryView {
        id: d.id,
        event_id: d.event_id,
        event: d.event,
        state,
        attempts: d.attempts,
        created: format::utc_second(d.created_at),
        created_iso: format::rfc3339(d.created_at),
        last_status: d.last_status,
        delivered_iso: d.delivered_at.map(format::rfc3339),
        tries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(r: Result<String, AppError>) -> String {
        match r {
            Err(AppError::Validation { field, .. }) => field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn urls_are_https_public_and_without_credentials_outside_development() {
        assert_eq!(
            check_url("  https://hooks.example.com/phonehub ", false).unwrap(),
            "https://hooks.example.com/phonehub"
        );
        assert!(check_url("https://8.8.8.8/x", false).is_ok());
        for bad in [
            "",
            "hooks.example.com/x",
            "http://hooks.example.com/x",
            "ftp://hooks.example.com/x",
            "javascript:alert(1)",
            "https://user:pass@hooks.example.com/x",
            "https://user@hooks.example.com/x",
            "https://10.0.0.5/x",
            "https://127.0.0.1:8443/x",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/x",
            "https://[::ffff:192.168.0.1]/x",
        ] {
            assert_eq!(field_of(check_url(bad, false)), "url", "{bad:?}");
        }
        let long = format!("https://hooks.example.com/{}", "a".repeat(2000));
        assert_eq!(field_of(check_url(&long, false)), "url");
    }

    #[test]
    fn development_also_takes_http_and_local_addresses() {
        assert!(check_url("http://127.0.0.1:9/hook", true).is_ok());
        assert!(check_url("https://10.0.0.5/x", true).is_ok());
        assert_eq!(field_of(check_url("ftp://127.0.0.1/x", true)), "url");
        assert_eq!(field_of(check_url("http://u:p@127.0.0.1/x", true)), "url");
    }

    #[test]
    fn secrets_are_whsec_and_256_random_bits() {
        let a = mint_secret();
        let b = mint_secret();
        assert_ne!(a, b);
        assert!(a.starts_with("whsec_"));
        assert_eq!(a.len(), "whsec_".len() + 43);
        assert!(a["whsec_".len()..]
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    }
}

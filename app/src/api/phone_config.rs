//! The phone configuration of an org (owners and admins) and the system default (superadmin):
//! provider, region, credentials, lookup options, and the connection test.

// A form's fields are a server function's arguments (plain HTML forms post them by name), and the
// phone configuration form has thirteen.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::lookup::{ConnectionResult, PhoneConfigPage};

#[cfg(feature = "ssr")]
use crate::ssr::{require, respond, Permission};

#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "load_phone_config")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn load_phone_config(org: String) -> Result<PhoneConfigPage, AppError> {
    respond(server_side::config_page(org).await)
}

#[server(prefix = "/api", endpoint = "save_phone_config")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
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
            server_side::save_config(org, input, token).await
        }
        .await,
    )
}

/// Calls the provider with the saved configuration and reports what it said.
#[server(prefix = "/api", endpoint = "test_phone_connection")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn test_phone_connection(org: String) -> Result<ConnectionResult, AppError> {
    respond(server_side::test_connection(org).await)
}

#[cfg(feature = "ssr")]
pub mod server_side {
    //! The server-only halves of the server functions above.

    use crate::error::AppError;
    use crate::model::lookup::*;
    use crate::model::OrgView;
    use crate::ssr::db::phone_config::{ConfigInput, ConfigRow};
    use crate::ssr::{db, require, AppState, Permission};

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
            .map_err(|e| AppError::Conflict(crate::api::words::build(&e)))?;
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
}

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
    aws_region: Option<String>,
    sms_sender_id: Option<String>,
    sms_type: Option<String>,
) -> Result<(), AppError> {
    use crate::model::lookup::*;
    use crate::ssr::db::phone_config::ConfigInput;
    respond(
        async {
            // Who may save comes before what was typed: support gets 403, not field errors.
            // National numbers typed here are read in the org's country (the system default's: US).
            let country = if org.is_empty() {
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
                "US".to_string()
            } else {
                require(&org, Permission::Manage).await?.country
            };
            let on = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
            let provider = ProviderKind::parse("provider", &provider)?;
            let state = crate::ssr::AppState::from_context()?;
            if provider == ProviderKind::Sandbox && !state.dev_mode {
                return Err(AppError::validation(
                    "provider",
                    "The sandbox exists only in development. Choose Twilio.",
                ));
            }
            let aws = provider == ProviderKind::Aws;
            let region = match provider {
                ProviderKind::Twilio => TwilioRegion::parse("region", region.as_deref().unwrap_or(""))?
                    .code()
                    .map(str::to_string),
                ProviderKind::Aws => Some(parse_aws_region(
                    "aws_region",
                    aws_region.as_deref().unwrap_or(""),
                )?),
                ProviderKind::Sandbox => None,
            };
            if aws && on(&caller_name_enabled) {
                return Err(AppError::validation(
                    "caller_name_enabled",
                    "Amazon Pinpoint does not return caller names: turn caller-name lookups off for an AWS configuration.",
                ));
            }
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
                region,
                display_name: crate::model::parse_name("display_name", &display_name, false)?,
                active: on(&active),
                lookup_enabled: on(&lookup_enabled),
                lookup_cache_days: parse_cache_days("lookup_cache_days", &lookup_cache_days)?,
                caller_name_enabled: on(&caller_name_enabled),
                test_mode: on(&test_mode),
                default_sender: match default_sender.trim() {
                    "" => None,
                    s => Some(
                        telephony::E164::parse(s, Some(&country))
                            .map_err(|e| AppError::validation("default_sender", e.to_string()))?
                            .as_str()
                            .to_string(),
                    ),
                },
                api_base,
                lookups_base,
                account_sid: if aws {
                    parse_access_key_id("account_sid", &account_sid)?
                } else {
                    parse_account_sid("account_sid", &account_sid)?
                },
                sms_sender_id: if aws {
                    parse_sender_id("sms_sender_id", sms_sender_id.as_deref().unwrap_or(""))?
                } else {
                    None
                },
                sms_type: if aws {
                    parse_sms_type("sms_type", sms_type.as_deref().unwrap_or(""))?
                } else {
                    None
                },
            };
            let token = match auth_token.trim() {
                "" => None,
                t if aws => Some(check_aws_secret("auth_token", t)?),
                t => Some(check_auth_token("auth_token", t)?),
            };
            server_side::save_config(org, input, token).await
        }
        .await,
    )
}

/// Adds a key Twilio signs this configuration's webhooks with (`X-Twilio-Webhooks-Signature-Settings`).
#[server(prefix = "/api", endpoint = "add_signing_key")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn add_signing_key(org: String, key_id: String, secret: String) -> Result<(), AppError> {
    respond(server_side::add_signing_key(org, key_id, secret).await)
}

/// Removes a signing key: webhooks signed with it are refused from the next one on.
#[server(prefix = "/api", endpoint = "remove_signing_key")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn remove_signing_key(org: String, id: i64) -> Result<(), AppError> {
    respond(server_side::remove_signing_key(org, id).await)
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

    fn view(c: Option<&ConfigRow>, keys: Vec<SigningKeyView>) -> PhoneConfigView {
        let aws = c.is_some_and(|c| c.provider == "aws");
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
                region: if aws {
                    TwilioRegion::Us1
                } else {
                    TwilioRegion::from_code(c.region.as_deref()).unwrap_or(TwilioRegion::Us1)
                },
                aws_region: if aws {
                    c.region.clone().unwrap_or_default()
                } else {
                    String::new()
                },
                sms_sender_id: c.sms_sender_id.clone().unwrap_or_default(),
                sms_type: c.sms_type.clone().unwrap_or_default(),
                signing_keys: keys,
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
                aws_region: String::new(),
                sms_sender_id: String::new(),
                sms_type: String::new(),
                signing_keys: keys,
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
        let keys = match &own {
            Some(c) => db::phone_config::signing_keys(pool, c.id)
                .await?
                .into_iter()
                .map(|k| SigningKeyView {
                    id: k.id,
                    key_id: k.key_id,
                    secret_masked: format!("…{}", k.secret_tail),
                    created: k.created,
                    last_used: k.last_used,
                })
                .collect(),
            None => Vec::new(),
        };
        // An active AWS configuration that is not in use is waiting for its connection test.
        let untested = own
            .as_ref()
            .is_some_and(|c| c.provider == "aws" && c.active);
        let effective = match s.org_id {
            // Org 0 does not exist: only the system default can be effective for it.
            None if untested && db::phone_config::effective(pool, 0).await?.is_none() => {
                "Run “Test connection”: an Amazon Web Services configuration is used only after a connection test succeeds.".to_string()
            }
            None => "This is the system default: orgs without an active configuration of their own use it.".to_string(),
            Some(id) => match db::phone_config::effective(pool, id).await? {
                Some(c) if c.org_id.is_some() => "Lookups in this org use this configuration.".into(),
                Some(_) if untested => "Run “Test connection”: an Amazon Web Services configuration is used only after a connection test succeeds. Until then lookups use the system default.".into(),
                None if untested => "Run “Test connection”: an Amazon Web Services configuration is used only after a connection test succeeds. Until then lookups are unavailable.".into(),
                Some(_) => "This org has no active configuration of its own: lookups use the system default.".into(),
                None => "Neither this org nor the system has an active configuration: lookups are unavailable.".into(),
            },
        };
        Ok(PhoneConfigPage {
            org: s.org,
            can_edit: s.can_edit,
            config: view(own.as_ref(), keys),
            effective,
            sandbox_available: s.state.dev_mode,
        })
    }

    /// The scope, when it may change the configuration.
    async fn editable(org: &str) -> Result<Scope, AppError> {
        let s = scope(org).await?;
        if !s.can_edit {
            return Err(AppError::Forbidden(if s.org_id.is_some() {
                "Support access is read-only: nothing can be changed here.".into()
            } else {
                "Only superadmins can change the system default.".into()
            }));
        }
        Ok(s)
    }

    /// Records a change to the configuration: in the org's log, or the system's.
    async fn audit(
        s: &Scope,
        db: impl sqlx::PgExecutor<'_>,
        action: &str,
        details: serde_json::Value,
    ) -> Result<(), sqlx::Error> {
        match &s.ctx {
            Some(ctx) => ctx.audit(db, action, "phone_config", details).await,
            None => {
                db::audit::record(
                    db,
                    db::audit::Entry {
                        actor_id: Some(s.actor),
                        org_id: None,
                        action,
                        target: "phone_config:default",
                        details,
                        ip: crate::ssr::client_ip(),
                    },
                )
                .await
            }
        }
    }

    fn back(s: &Scope, notice: &str) -> String {
        match &s.org {
            Some(o) => format!("/o/{}/admin/phone-config?notice={notice}", o.slug),
            None => format!("/admin/phone-config?notice={notice}"),
        }
    }

    pub async fn add_signing_key(
        org: String,
        key_id: String,
        secret: String,
    ) -> Result<(), AppError> {
        let s = editable(&org).await?;
        let key_id = parse_signing_key_id("key_id", &key_id)?;
        let secret = check_signing_secret("secret", &secret)?;
        let pool = &s.state.pool;
        let cfg = db::phone_config::get(pool, s.org_id)
            .await?
            .ok_or_else(|| {
                AppError::Conflict("Save a configuration first, then add its signing keys.".into())
            })?;
        if cfg.provider == "aws" {
            return Err(AppError::Conflict(
                "An AWS configuration receives no webhooks, so it has no signing keys.".into(),
            ));
        }
        let sealed = s.state.keyring.encrypt(&secret).map_err(|e| {
            tracing::error!(error = %e, "encrypting a credential failed");
            AppError::Internal
        })?;
        let tail = crate::ssr::crypto::tail(&secret);
        let mut tx = pool.begin().await?;
        db::phone_config::lock(&mut *tx, cfg.id).await?;
        let held = db::phone_config::signing_keys(&mut *tx, cfg.id).await?;
        if held.iter().any(|k| k.key_id == key_id) {
            return Err(AppError::validation(
                "key_id",
                "This configuration already has a key with this id. Remove it first to replace its secret.",
            ));
        }
        let added = db::phone_config::add_signing_key(
            &mut *tx,
            cfg.id,
            &key_id,
            &sealed,
            &tail,
            s.actor,
            MAX_SIGNING_KEYS as i64,
        )
        .await?;
        if added.is_none() {
            return Err(AppError::validation(
                "key_id",
                format!("A configuration holds at most {MAX_SIGNING_KEYS} signing keys: remove one that Twilio no longer uses first."),
            ));
        }
        audit(
            &s,
            &mut *tx,
            "phone_config.signing_key_added",
            serde_json::json!({ "config_id": cfg.id, "key_id": key_id }),
        )
        .await?;
        tx.commit().await?;
        leptos_axum::redirect(&back(&s, "signing-key-added"));
        Ok(())
    }

    pub async fn remove_signing_key(org: String, id: i64) -> Result<(), AppError> {
        let s = editable(&org).await?;
        let pool = &s.state.pool;
        let cfg = db::phone_config::get(pool, s.org_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let mut tx = pool.begin().await?;
        let key_id = db::phone_config::remove_signing_key(&mut *tx, cfg.id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        audit(
            &s,
            &mut *tx,
            "phone_config.signing_key_removed",
            serde_json::json!({ "config_id": cfg.id, "key_id": key_id }),
        )
        .await?;
        tx.commit().await?;
        leptos_axum::redirect(&back(&s, "signing-key-removed"));
        Ok(())
    }

    pub async fn save_config(
        org: String,
        input: ConfigInput,
        token: Option<String>,
    ) -> Result<(), AppError> {
        let s = editable(&org).await?;
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
        if let Some(c) = &existing {
            // Numbers bought through Twilio are released through Twilio: a configuration that
            // still holds some cannot become AWS, which could not release them.
            if input.provider == "aws" && c.provider != "aws" {
                let n = db::phone_config::held_numbers(&mut *tx, c.id).await?;
                if n > 0 {
                    return Err(AppError::validation(
                        "provider",
                        format!("This configuration still holds {n} number{} bought through Twilio, which Amazon Web Services could not release. Release them first.", if n == 1 { "" } else { "s" }),
                    ));
                }
            }
            // Shared keys belong to the Twilio account: a new account (or provider) starts
            // without them.
            if c.token_scope.as_deref() != Some(input.token_scope().as_str()) {
                db::phone_config::remove_signing_keys(&mut *tx, c.id).await?;
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
        // A new key (which any new destination needs) has not been tested: an AWS configuration
        // is used again only after a successful connection test.
        if token.is_some() {
            db::phone_config::clear_verified(&mut *tx, id).await?;
        }
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
        audit(&s, &mut *tx, action, details).await?;
        tx.commit().await?;
        s.state.providers.forget_configs();
        leptos_axum::redirect(&back(&s, "config-saved"));
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
                // An AWS configuration is used from its first successful test on (a read-only
                // visitor's test changes nothing).
                let verified = s.can_edit
                    && db::phone_config::mark_verified(&s.state.pool, cfg.id, cfg.version).await?;
                if verified {
                    if cfg.provider == "aws" {
                        audit(
                            &s,
                            &s.state.pool,
                            "phone_config.connection_verified",
                            serde_json::json!({ "config_id": cfg.id, "region": cfg.region }),
                        )
                        .await?;
                    }
                    s.state.providers.forget_configs();
                }
                // Without JavaScript the page comes back with a notice; with it, the message shows.
                leptos_axum::redirect(&back(&s, "connection-ok"));
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

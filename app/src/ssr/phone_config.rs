//! The phone configuration use cases, one function each: an org's configuration (its owners and
//! admins change it, support staff read it) and the system default (superadmins change it,
//! support staff read it): the page, saving, the webhook signing keys and the connection test.
//! Credentials are sealed with the keyring before they are stored; they are never returned to
//! the browser (a masked tail only) and never logged. The transports parse and present.

use super::auth::User;
use super::db;
use super::db::phone_config::{ConfigInput, ConfigRow};
use super::format;
use super::guard::OrgCtx;
use super::AppState;
use crate::error::AppError;
use crate::model::phone_config::*;
use crate::model::OrgView;

/// Who acts on which configuration: an org's by its owners/admins (support read-only), the
/// system default by superadmins (support read-only). Made only through `system` and `org`.
pub struct ConfigScope {
    org_id: Option<i64>,
    org: Option<OrgView>,
    can_edit: bool,
    actor: i64,
    state: AppState,
    ctx: Option<OrgCtx>,
    /// The client's address (for the system default's audit entries; an org's come from `ctx`).
    ip: Option<String>,
}

impl ConfigScope {
    /// The system default, for `user` (from `ip`): superadmins may change it, support staff may
    /// see it; for anyone else it does not exist.
    pub fn system(
        user: &User,
        state: AppState,
        ip: Option<String>,
    ) -> Result<ConfigScope, AppError> {
        if !(user.is_superadmin || user.is_support) {
            return Err(AppError::NotFound);
        }
        Ok(ConfigScope {
            org_id: None,
            org: None,
            can_edit: user.is_superadmin,
            actor: user.id,
            state,
            ctx: None,
            ip,
        })
    }

    /// The org's configuration, for the caller: its owners and admins (support staff read-only).
    pub fn org(ctx: OrgCtx) -> Result<ConfigScope, AppError> {
        if !ctx.sees_all() {
            return Err(AppError::Forbidden(
                "Only the org's owners and admins can see the phone config.".into(),
            ));
        }
        Ok(ConfigScope {
            org_id: Some(ctx.org_id),
            org: Some(ctx.view()),
            can_edit: ctx.access.can_manage(),
            actor: ctx.user.id,
            state: ctx.state.clone(),
            ip: ctx.ip.clone(),
            ctx: Some(ctx),
        })
    }

    /// The org's slug; `None` for the system default.
    pub fn slug(&self) -> Option<&str> {
        self.org.as_ref().map(|o| o.slug.as_str())
    }

    /// Where national numbers typed in this configuration are read: the org's country (the
    /// system default's: US).
    fn country(&self) -> &str {
        self.ctx.as_ref().map_or("US", |c| c.country.as_str())
    }
}

/// The configuration as its page shows it (the secrets as masked tails only), and which
/// configuration lookups use.
pub async fn page(s: &ConfigScope) -> Result<PhoneConfigPage, AppError> {
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
                created: format::utc_minute(k.created_at),
                last_used: k.last_used_at.map(format::utc_minute),
            })
            .collect(),
        None => Vec::new(),
    };
    let effective = effective_note(s, own.as_ref()).await?;
    Ok(PhoneConfigPage {
        org: s.org.clone(),
        can_edit: s.can_edit,
        config: view(own.as_ref(), keys),
        effective,
        sandbox_available: s.state.dev_mode,
    })
}

/// Which configuration lookups use, in words (`own`: the scope's own configuration).
async fn effective_note(s: &ConfigScope, own: Option<&ConfigRow>) -> Result<String, AppError> {
    let pool = &s.state.pool;
    // An active AWS configuration that is not in use is waiting for its connection test.
    let untested = own.is_some_and(|c| c.provider == ProviderKind::Aws && c.active);
    Ok(match s.org_id {
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
    })
}

/// A configuration (or none yet: the form's defaults) as its page shows it: the token as a
/// masked tail only.
fn view(c: Option<&ConfigRow>, keys: Vec<SigningKeyView>) -> PhoneConfigView {
    let aws = c.is_some_and(|c| c.provider == ProviderKind::Aws);
    match c {
        Some(c) => PhoneConfigView {
            exists: true,
            provider: c.provider,
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
            credential_id: c.credential_id.clone(),
            token_masked: c.token_tail.as_ref().map(|t| format!("…{t}")),
            key_id: c.token_key_id.clone(),
            token_needs_reentry: c.token_key_id.is_some() && !c.token_matches_destination(),
            updated: format::utc_minute(c.updated_at),
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
            credential_id: String::new(),
            token_masked: None,
            key_id: None,
            token_needs_reentry: false,
            updated: String::new(),
        },
    }
}

/// The scope, when it may change the configuration.
fn editable(s: &ConfigScope) -> Result<&ConfigScope, AppError> {
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
    s: &ConfigScope,
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
                    ip: s.ip.clone(),
                },
            )
            .await
        }
    }
}

/// Seals a credential with the keyring (the error is logged without it).
fn seal(s: &ConfigScope, secret: &str) -> Result<super::crypto::Sealed, AppError> {
    s.state.keyring.encrypt(secret).map_err(|e| {
        tracing::error!(error = %e, "encrypting a credential failed");
        AppError::Internal
    })
}

/// Adds a key Twilio signs the configuration's webhooks with (its secret sealed; at most
/// `MAX_SIGNING_KEYS`, one per key id). On the record.
pub async fn add_signing_key(s: &ConfigScope, key_id: &str, secret: &str) -> Result<(), AppError> {
    let s = editable(s)?;
    let key_id = parse_signing_key_id("key_id", key_id)?;
    let secret = check_signing_secret("secret", secret)?;
    let pool = &s.state.pool;
    let cfg = db::phone_config::get(pool, s.org_id)
        .await?
        .ok_or_else(|| {
            AppError::Conflict("Save a configuration first, then add its signing keys.".into())
        })?;
    if !cfg.provider.speaks_twilio() {
        return Err(AppError::Conflict(
            "An AWS configuration receives no webhooks, so it has no signing keys.".into(),
        ));
    }
    let sealed = seal(s, &secret)?;
    let tail = super::crypto::tail(&secret);
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
        s,
        &mut *tx,
        "phone_config.signing_key_added",
        serde_json::json!({ "config_id": cfg.id, "key_id": key_id }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Removes a signing key (`id`): webhooks signed with it are refused from the next one on. On
/// the record.
pub async fn remove_signing_key(s: &ConfigScope, id: i64) -> Result<(), AppError> {
    let s = editable(s)?;
    let pool = &s.state.pool;
    let cfg = db::phone_config::get(pool, s.org_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut tx = pool.begin().await?;
    let key_id = db::phone_config::remove_signing_key(&mut *tx, cfg.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    audit(
        s,
        &mut *tx,
        "phone_config.signing_key_removed",
        serde_json::json!({ "config_id": cfg.id, "key_id": key_id }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A configuration as typed in its form: ticked boxes as `true`, fields the form did not send as
/// empty. `credential_secret` is empty unless a new one was typed. Its `Debug` leaves the token out.
pub struct ConfigForm {
    pub provider: String,
    pub display_name: String,
    pub active: bool,
    pub lookup_enabled: bool,
    pub lookup_cache_days: String,
    pub caller_name_enabled: bool,
    pub test_mode: bool,
    pub default_sender: String,
    pub region: String,
    pub api_base: String,
    pub lookups_base: String,
    pub credential_id: String,
    pub credential_secret: String,
    pub aws_region: String,
    pub sms_sender_id: String,
    pub sms_type: String,
}

impl std::fmt::Debug for ConfigForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigForm")
            .field("provider", &self.provider)
            .field("region", &self.region)
            .field("aws_region", &self.aws_region)
            .field("credential_id", &self.credential_id)
            .field(
                "credential_secret",
                &(!self.credential_secret.trim().is_empty()).then_some("[redacted]"),
            )
            .finish_non_exhaustive()
    }
}

/// Checks the form field by field (a 4xx naming the field) and saves it: the token, when a new
/// one was typed, sealed. On the record (without the token).
pub async fn save(s: &ConfigScope, form: ConfigForm) -> Result<(), AppError> {
    let (input, token) = check_form(s, form)?;
    store(s, input, token).await
}

/// The form's fields as a configuration, and the new token (if one was typed).
fn check_form(s: &ConfigScope, f: ConfigForm) -> Result<(ConfigInput, Option<String>), AppError> {
    let provider = ProviderKind::parse("provider", &f.provider)?;
    if provider == ProviderKind::Sandbox && !s.state.dev_mode {
        return Err(AppError::validation(
            "provider",
            "The sandbox exists only in development. Choose Twilio.",
        ));
    }
    let aws = provider == ProviderKind::Aws;
    let region = match provider {
        ProviderKind::Twilio => TwilioRegion::parse("region", &f.region)?
            .code()
            .map(str::to_string),
        ProviderKind::Aws => Some(parse_aws_region("aws_region", &f.aws_region)?),
        ProviderKind::Sandbox => None,
    };
    if aws && f.caller_name_enabled {
        return Err(AppError::validation(
            "caller_name_enabled",
            "Amazon Pinpoint does not return caller names: turn caller-name lookups off for an AWS configuration.",
        ));
    }
    // Where credentials go is not tenant input: base URLs are the system default's only.
    let base = |field: &str, raw: &str| -> Result<Option<String>, AppError> {
        if s.org_id.is_none() {
            parse_base_url(field, raw)
        } else if raw.trim().is_empty() {
            Ok(None)
        } else {
            Err(AppError::validation(
                field,
                "Base URLs are a system setting. Choose a region instead.",
            ))
        }
    };
    let api_base = base("api_base", &f.api_base)?;
    let lookups_base = base("lookups_base", &f.lookups_base)?;
    let input = ConfigInput {
        provider,
        region,
        display_name: crate::model::parse_name("display_name", &f.display_name, false)?,
        active: f.active,
        lookup_enabled: f.lookup_enabled,
        lookup_cache_days: parse_cache_days("lookup_cache_days", &f.lookup_cache_days)?,
        caller_name_enabled: f.caller_name_enabled,
        test_mode: f.test_mode,
        default_sender: match f.default_sender.trim() {
            "" => None,
            // National numbers typed here are read in the org's country (the system default's:
            // US).
            n => Some(
                telephony::E164::parse(n, Some(s.country()))
                    .map_err(|e| AppError::validation("default_sender", e.to_string()))?
                    .as_str()
                    .to_string(),
            ),
        },
        api_base,
        lookups_base,
        credential_id: if aws {
            parse_access_key_id("credential_id", &f.credential_id)?
        } else {
            parse_account_sid("credential_id", &f.credential_id)?
        },
        sms_sender_id: if aws {
            parse_sender_id("sms_sender_id", &f.sms_sender_id)?
        } else {
            None
        },
        sms_type: if aws {
            parse_sms_type("sms_type", &f.sms_type)?
        } else {
            None
        },
    };
    let token = match f.credential_secret.trim() {
        "" => None,
        t if aws => Some(check_aws_secret("credential_secret", t)?),
        t => Some(check_auth_token("credential_secret", t)?),
    };
    Ok((input, token))
}

/// Saves a checked configuration in one transaction: a stored token is kept only for where it
/// was saved for; a new one is sealed.
async fn store(s: &ConfigScope, input: ConfigInput, token: Option<String>) -> Result<(), AppError> {
    let s = editable(s)?;
    let pool = &s.state.pool;
    let mut tx = pool.begin().await?;
    let existing = db::phone_config::get(&mut *tx, s.org_id).await?;
    if token.is_none() {
        match &existing {
            Some(c) if c.token_key_id.is_some() => {
                if c.token_scope.as_deref() != Some(input.token_scope().as_str()) {
                    return Err(AppError::validation(
                        "credential_secret",
                        "Enter the auth token again: the provider, region, Account SID or base URL changed, and a stored token is only sent where it was saved for.",
                    ));
                }
            }
            _ => {
                return Err(AppError::validation(
                    "credential_secret",
                    "Enter the auth token: this configuration has none yet.",
                ))
            }
        }
    }
    if let Some(c) = &existing {
        // Numbers bought through Twilio are released through Twilio: a configuration that
        // still holds some cannot become AWS, which could not release them.
        if c.provider.can(Capability::Numbers) && !input.provider.can(Capability::Numbers) {
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
        Some(t) => Some(seal(s, t)?),
        None => None,
    };
    let tail = token.as_deref().map(super::crypto::tail);
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
        "credential_id": input.credential_id,
        "region": input.region,
        "credentials_replaced": token.is_some(),
    });
    let action = if existing.is_some() {
        "phone_config.updated"
    } else {
        "phone_config.created"
    };
    audit(s, &mut *tx, action, details).await?;
    tx.commit().await?;
    s.state.providers.forget_configs();
    Ok(())
}

/// Calls the provider with the saved configuration and says what it answered. A successful test
/// by someone who may change the configuration puts an AWS configuration in use (on the record).
pub async fn test_connection(s: &ConfigScope) -> Result<ConnectionResult, AppError> {
    let cfg = db::phone_config::get(&s.state.pool, s.org_id)
        .await?
        .ok_or_else(|| AppError::Conflict("Save a configuration first, then test it.".into()))?;
    let provider = s
        .state
        .providers
        .build(&cfg, &s.state.keyring, &s.state.public_url)
        .map_err(|e| AppError::Conflict(super::words::build(&e)))?;
    match provider.test_connection().await {
        Ok(acct) => {
            // An AWS configuration is used from its first successful test on (a read-only
            // visitor's test changes nothing).
            let verified = s.can_edit
                && db::phone_config::mark_verified(&s.state.pool, cfg.id, cfg.version).await?;
            if verified {
                if cfg.provider == ProviderKind::Aws {
                    audit(
                        s,
                        &s.state.pool,
                        "phone_config.connection_verified",
                        serde_json::json!({ "config_id": cfg.id, "region": cfg.region }),
                    )
                    .await?;
                }
                s.state.providers.forget_configs();
            }
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
        Err(telephony::ProviderError::Auth { .. }) => {
            let (id, secret) = cfg.provider.credential_labels();
            Err(AppError::Upstream(format!(
                "The provider rejected these credentials (authentication failed). Check the {id} and {}.",
                secret.to_lowercase()
            )))
        }
        Err(e) => Err(AppError::Upstream(format!(
            "The connection test failed: {e}."
        ))),
    }
}

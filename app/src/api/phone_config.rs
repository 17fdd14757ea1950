//! The phone configuration of an org (owners and admins) and the system default (superadmin):
//! provider, region, credentials, lookup options, and the connection test.

// A form's fields are a server function's arguments (plain HTML forms post them by name), and the
// phone configuration form has thirteen.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::phone_config::{ConnectionResult, PhoneConfigPage};

#[cfg(feature = "ssr")]
use crate::ssr::{phone_config, require, respond, Permission};

/// The phone configuration page: the org's (`org` its slug) or the system default's (`org` empty).
#[server(prefix = "/api", output = leptos::server_fn::codec::Postcard, endpoint = "load_phone_config")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn load_phone_config(org: String) -> Result<PhoneConfigPage, AppError> {
    respond(
        async {
            let s = server_side::scope(&org).await?;
            phone_config::page(&s).await
        }
        .await,
    )
}

/// Saves the phone configuration form (the auth token only when a new one was typed).
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
    credential_id: String,
    credential_secret: String,
    aws_region: Option<String>,
    sms_sender_id: Option<String>,
    sms_type: Option<String>,
) -> Result<(), AppError> {
    respond(
        async {
            // Who may save comes before what was typed: support gets 403, not field errors.
            let s = if org.is_empty() {
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
                let state = crate::ssr::AppState::from_context()?;
                phone_config::ConfigScope::system(&u, state, crate::ssr::client_ip())?
            } else {
                phone_config::ConfigScope::org(require(&org, Permission::Manage).await?)?
            };
            // A form sends every field; an unticked box is absent.
            let on = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
            let form = phone_config::ConfigForm {
                provider,
                display_name,
                active: on(&active),
                lookup_enabled: on(&lookup_enabled),
                lookup_cache_days,
                caller_name_enabled: on(&caller_name_enabled),
                test_mode: on(&test_mode),
                default_sender,
                region: region.unwrap_or_default(),
                api_base: api_base.unwrap_or_default(),
                lookups_base: lookups_base.unwrap_or_default(),
                credential_id,
                credential_secret,
                aws_region: aws_region.unwrap_or_default(),
                sms_sender_id: sms_sender_id.unwrap_or_default(),
                sms_type: sms_type.unwrap_or_default(),
            };
            phone_config::save(&s, form).await?;
            leptos_axum::redirect(&server_side::back(&s, "config-saved"));
            Ok(())
        }
        .await,
    )
}

/// Adds a key Twilio signs this configuration's webhooks with (`X-Twilio-Webhooks-Signature-Settings`).
#[server(prefix = "/api", endpoint = "add_signing_key")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn add_signing_key(org: String, key_id: String, secret: String) -> Result<(), AppError> {
    respond(
        async {
            let s = server_side::scope(&org).await?;
            phone_config::add_signing_key(&s, &key_id, &secret).await?;
            leptos_axum::redirect(&server_side::back(&s, "signing-key-added"));
            Ok(())
        }
        .await,
    )
}

/// Removes a signing key: webhooks signed with it are refused from the next one on.
#[server(prefix = "/api", endpoint = "remove_signing_key")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn remove_signing_key(org: String, id: i64) -> Result<(), AppError> {
    respond(
        async {
            let s = server_side::scope(&org).await?;
            phone_config::remove_signing_key(&s, id).await?;
            leptos_axum::redirect(&server_side::back(&s, "signing-key-removed"));
            Ok(())
        }
        .await,
    )
}

/// Calls the provider with the saved configuration and reports what it said.
#[server(prefix = "/api", endpoint = "test_phone_connection")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, err(level = "debug")))]
pub async fn test_phone_connection(org: String) -> Result<ConnectionResult, AppError> {
    respond(
        async {
            let s = server_side::scope(&org).await?;
            let result = phone_config::test_connection(&s).await?;
            // Without JavaScript the page comes back with a notice; with it, the message shows.
            leptos_axum::redirect(&server_side::back(&s, "connection-ok"));
            Ok(result)
        }
        .await,
    )
}

#[cfg(feature = "ssr")]
pub mod server_side {
    //! The server-only halves of the server functions above: who is asking (read from the
    //! request) and where the page goes back to.

    use crate::error::AppError;
    use crate::ssr::phone_config::ConfigScope;
    use crate::ssr::{client_ip, current_user, require, AppState, Permission};

    /// Who may see which configuration: an org's by its owners/admins (support read-only), the
    /// system default (`org` empty) by superadmins (support read-only).
    pub async fn scope(org: &str) -> Result<ConfigScope, AppError> {
        if org.is_empty() {
            let user = current_user().await?;
            return ConfigScope::system(&user, AppState::from_context()?, client_ip());
        }
        ConfigScope::org(require(org, Permission::Read).await?)
    }

    /// The configuration's page, with `notice` said on it.
    pub fn back(s: &ConfigScope, notice: &str) -> String {
        match s.slug() {
            Some(slug) => format!("/o/{slug}/admin/phone-config?notice={notice}"),
            None => format!("/admin/phone-config?notice={notice}"),
        }
    }
}

//! The system default phone configuration as the server first makes it (from `PHONEHUB_TWILIO_*`
//! or the development sandbox), and re-encrypting stored credentials under the keyring's current
//! key: what the server does at start, before anyone signs in.

use super::db;
use super::db::phone_config::ConfigInput;
use crate::model::phone_config::ProviderKind;

/// The Twilio account named in the server's settings (`PHONEHUB_TWILIO_*`). Its `Debug` leaves
/// the token out.
#[derive(Clone)]
pub struct TwilioSettings {
    pub account_sid: String,
    pub auth_token: String,
    pub api_base: String,
    pub lookups_base: String,
}

impl std::fmt::Debug for TwilioSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioSettings")
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"[redacted]")
            .field("api_base", &self.api_base)
            .field("lookups_base", &self.lookups_base)
            .finish()
    }
}

/// The system default phone configuration comes from `PHONEHUB_TWILIO_*` (or the sandbox in
/// development) the first time the server starts; afterwards superadmins manage it in the app.
pub async fn ensure_system_default(
    pool: &sqlx::PgPool,
    keyring: &crate::ssr::crypto::Keyring,
    twilio: Option<&TwilioSettings>,
    from_sandbox: bool,
) -> Result<(), String> {
    use super::db::phone_config::{get, save};
    let Some(t) = twilio else { return Ok(()) };
    if get(pool, None).await.map_err(|e| e.to_string())?.is_some() {
        return Ok(());
    }
    let sealed = keyring.encrypt(&t.auth_token).map_err(|e| e.to_string())?;
    let tail = super::crypto::tail(&t.auth_token);
    let official = |v: &str, d: &str| (v != d).then(|| v.to_string());
    let input = ConfigInput {
        provider: if from_sandbox {
            ProviderKind::Sandbox
        } else {
            ProviderKind::Twilio
        },
        display_name: if from_sandbox {
            "Development sandbox"
        } else {
            "Twilio (from environment)"
        }
        .into(),
        active: true,
        lookup_enabled: true,
        lookup_cache_days: 30,
        caller_name_enabled: false,
        test_mode: false,
        default_sender: None,
        region: None,
        sms_sender_id: None,
        sms_type: None,
        // The sandbox's URLs follow the public URL, so they are not stored.
        api_base: if from_sandbox {
            None
        } else {
            official(&t.api_base, telephony::twilio::TWILIO_API)
        },
        lookups_base: if from_sandbox {
            None
        } else {
            official(&t.lookups_base, telephony::twilio::TWILIO_LOOKUPS)
        },
        credential_id: t.account_sid.clone(),
    };
    save(pool, None, &input, Some((&sealed, &tail)))
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(provider = %input.provider, "created the system default phone config");
    Ok(())
}

/// Re-encrypts every stored credential sealed with an older key of `keyring` with its current
/// key: how many were.
pub async fn rotate_credentials(
    pool: &sqlx::PgPool,
    keyring: &super::crypto::Keyring,
) -> Result<usize, db::phone_config::RotateError> {
    db::phone_config::rotate(pool, keyring).await
}

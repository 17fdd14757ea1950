//! The provider client for an org, or for the configuration a number or call was made with, and
//! what an org's configuration cannot do: the `Providers` service read through the app's state.

use std::sync::Arc;

use telephony::Provider;

use super::db::phone_config::ConfigRow;
use super::errors::NoProvider;
use super::AppState;
use crate::model::phone_config::Capability;

/// The provider of the org's effective configuration.
pub async fn provider_for_org(
    state: &AppState,
    org_id: i64,
) -> Result<(ConfigRow, Arc<dyn Provider>), NoProvider> {
    let eff = state.providers.effective(&state.pool, org_id).await?;
    let cfg = eff.config.clone().ok_or(NoProvider::NotConfigured)?;
    let p = state
        .providers
        .for_config(&cfg, &state.keyring, &state.public_url)
        .map_err(NoProvider::Unusable)?;
    Ok((cfg, p))
}

/// The provider of the configuration a number (or call) belongs to; without one recorded, the
/// org's effective configuration.
pub async fn provider_for_config(
    state: &AppState,
    config_id: Option<i64>,
    org_id: i64,
) -> Result<(ConfigRow, Arc<dyn Provider>), NoProvider> {
    let Some(id) = config_id else {
        return provider_for_org(state, org_id).await;
    };
    let cfg = super::db::phone_config::by_id(&state.pool, id)
        .await?
        .ok_or(NoProvider::ConfigGone(id))?;
    let p = state
        .providers
        .for_config(&cfg, &state.keyring, &state.public_url)
        .map_err(NoProvider::Unusable)?;
    Ok((cfg, p))
}

/// Why `what` (buying numbers, placing calls) cannot be done with the org's configuration, in
/// words: its provider lacks `needs` (AWS configurations are for SMS and lookups only). `None`: it
/// can (or no configuration decides yet, which the action itself reports).
pub async fn unavailable(
    state: &AppState,
    org_id: i64,
    needs: Capability,
    what: &str,
) -> Result<Option<String>, sqlx::Error> {
    let eff = state.providers.effective(&state.pool, org_id).await?;
    Ok(eff
        .config
        .as_ref()
        .filter(|c| !c.provider.can(needs))
        .map(|_| crate::ssr::words::unsupported(what)))
}

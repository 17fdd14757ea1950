//! The provider client for an org or for the configuration a number or call was made with.

use std::sync::Arc;

use telephony::Provider;

use super::db::phone_config::ConfigRow;
use super::lookups::BuildError;
use super::AppState;

/// Why there is no provider client to use.
#[derive(Debug, thiserror::Error)]
pub enum NoProvider {
    #[error("the org has no active phone configuration")]
    NotConfigured,
    #[error("phone configuration {0} no longer exists")]
    ConfigGone(i64),
    #[error("the phone configuration cannot be used")]
    Unusable(#[source] BuildError),
    #[error("the database failed")]
    Db(#[from] sqlx::Error),
}

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

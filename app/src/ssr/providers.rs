//! The provider client for an org or for the configuration a number or call was made with.

use std::sync::Arc;

use telephony::{Provider, ProviderError};

use super::db::phone_config::ConfigRow;
use super::AppState;
use crate::error::AppError;
use crate::model::numbers::NumberQuery;

/// The provider of the org's effective configuration.
pub async fn provider_for_org(
    state: &AppState,
    org_id: i64,
) -> Result<(ConfigRow, Arc<dyn Provider>), AppError> {
    let eff = state.providers.effective(&state.pool, org_id).await?;
    let cfg = eff.config.clone().ok_or_else(|| {
        AppError::Conflict(
            "No phone provider is configured for this org. An org admin can set one up under Phone config."
                .into(),
        )
    })?;
    let p = state
        .providers
        .for_config(&cfg, &state.keyring, &state.public_url)
        .map_err(|e| AppError::Conflict(e.to_string()))?;
    Ok((cfg, p))
}

/// The provider of the configuration a number (or call) belongs to; without one recorded, the
/// org's effective configuration.
pub async fn provider_for_config(
    state: &AppState,
    config_id: Option<i64>,
    org_id: i64,
) -> Result<(ConfigRow, Arc<dyn Provider>), AppError> {
    let Some(id) = config_id else {
        return provider_for_org(state, org_id).await;
    };
    let cfg = super::db::phone_config::by_id(&state.pool, id)
        .await?
        .ok_or_else(|| {
            AppError::Conflict(
                "The phone configuration this number was bought with is gone.".into(),
            )
        })?;
    let p = state
        .providers
        .for_config(&cfg, &state.keyring, &state.public_url)
        .map_err(|e| AppError::Conflict(e.to_string()))?;
    Ok((cfg, p))
}

/// The provider's answer to a search or purchase, as a person would want to read it.
pub fn provider_message(e: &ProviderError, q: Option<&NumberQuery>) -> AppError {
    match e {
        ProviderError::Auth { .. } => AppError::Upstream(
            "The phone provider rejected this org's credentials. An org admin should check Phone config."
                .into(),
        ),
        ProviderError::Rejected { code: Some(21452), .. } => AppError::validation(
            "area_code",
            match q.map(|q| q.area_code.as_str()).filter(|a| !a.is_empty()) {
                Some(a) => format!("No numbers available in area code {a} — try a nearby area code."),
                None => "No numbers match these filters — try fewer filters.".into(),
            },
        ),
        ProviderError::Rejected { code: Some(21422), .. } => AppError::Conflict(
            "That number is no longer available — someone else bought it. Search again.".into(),
        ),
        ProviderError::Rejected { message, .. } => {
            AppError::Upstream(format!("The provider refused: {message}."))
        }
        ProviderError::RateLimited { .. } => AppError::TooManyRequests(
            "The provider is busy right now. Try again in a minute.".into(),
        ),
        ProviderError::NotFound { .. } => {
            AppError::Upstream("The provider does not know that number.".into())
        }
        other => AppError::Upstream(format!("The provider could not be reached: {other}.")),
    }
}

//! A call recording's audio, streamed from the provider that holds it.

use telephony::ProviderError;

use crate::error::AppError;
use crate::ssr::db;
use crate::ssr::providers::provider_for_config;
use crate::ssr::AppState;

/// A recording's audio, streamed from the provider, for a user allowed to see its call.
pub async fn recording_media(
    state: &AppState,
    org_id: i64,
    call_id: i64,
    recording_id: i64,
    user_id: Option<i64>,
    format: &str,
    range: Option<telephony::ByteRange>,
) -> Result<telephony::provider::Media, AppError> {
    let r = db::call_history::recording_source(&state.pool, org_id, call_id, recording_id, user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (_, provider) = provider_for_config(state, r.config_id, org_id).await?;
    provider
        .recording_media(&r.provider_sid, format, range)
        .await
        .map_err(|e| match e {
            ProviderError::NotFound { .. } => AppError::NotFound,
            other => {
                // The provider's words stay in the log; the page says ours.
                tracing::warn!(error = %other, "fetching a recording failed");
                AppError::Upstream(
                    "The provider could not send the recording. Try again later.".into(),
                )
            }
        })
}

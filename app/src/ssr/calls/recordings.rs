//! A call recording's audio, streamed from the provider that holds it.

use telephony::ProviderError;

use crate::ssr::db;
use crate::ssr::errors::RecordingError;
use crate::ssr::org_provider::provider_for_config;
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
) -> Result<telephony::provider::Media, RecordingError> {
    let r = db::call_history::recording_source(&state.pool, org_id, call_id, recording_id, user_id)
        .await?
        .ok_or(RecordingError::NotFound)?;
    let (_, provider) = provider_for_config(state, r.config_id, org_id).await?;
    let media = match provider.voice() {
        Ok(voice) => voice.recording_media(&r.provider_sid, format, range).await,
        Err(e) => Err(e),
    };
    media.map_err(|e| match e {
        ProviderError::NotFound { .. } => RecordingError::NotFound,
        other => {
            tracing::warn!(error = %other, "fetching a recording failed");
            RecordingError::Provider(other)
        }
    })
}

//! Recording consent: the announcement every recorded call plays to the other party before
//! recording starts (inbound: ahead of the `<Dial>`; outbound: to the called party on answer;
//! voicemail: before the beep). On by default, in the org's country's language; an owner or admin
//! may reword it, pick the language, upload an audio file instead, or turn it off with a reason.
//! Every change is audited.

use crate::error::AppError;
use crate::model::compliance::{
    default_language, default_message, ConsentAudioView, ConsentView, LANGUAGES,
};
use crate::model::one_line;

use super::db;
use super::format::utc_minute as datetime;
use super::guard::OrgCtx;
use super::twiml::Spoken;
use super::AppState;

/// The longest wording an org may set.
pub const MAX_MESSAGE: usize = 500;
/// The largest audio file an upload takes (1 MiB: a minute of 8 kHz WAV, several of MP3).
pub const MAX_AUDIO_BYTES: usize = 1024 * 1024;
/// Where the provider fetches an org's uploaded announcement (`/{token}` follows).
pub const AUDIO_PATH: &str = "/media/consent";

/// What a recorded call of `org_id` plays first, or None when the org turned it off.
pub async fn announcement(state: &AppState, org_id: i64) -> Result<Option<Spoken>, sqlx::Error> {
    let Some(a) = db::compliance::announcement(&state.pool, org_id).await? else {
        return Ok(None);
    };
    if a.announce == Some(false) {
        return Ok(None);
    }
    if let Some(token) = a.audio_token {
        return Ok(Some(Spoken::Play {
            url: audio_url(state, &token),
        }));
    }
    let language = a
        .language
        .unwrap_or_else(|| default_language(&a.country).to_string());
    let text = a
        .message
        .unwrap_or_else(|| default_message(&language).to_string());
    Ok(Some(Spoken::Say { text, language }))
}

fn audio_url(state: &AppState, token: &str) -> String {
    format!(
        "{}{AUDIO_PATH}/{token}",
        state.public_url.as_str().trim_end_matches('/')
    )
}

/// The org's settings as the page and `/v1` show them.
pub async fn view(ctx: &OrgCtx) -> Result<ConsentView, AppError> {
    let pool = &ctx.state.pool;
    let row = db::compliance::consent(pool, ctx.org_id).await?;
    let audio = db::compliance::audio_meta(pool, ctx.org_id)
        .await?
        .map(|a| ConsentAudioView {
            file_name: a.file_name,
            content_type: a.content_type,
            size_bytes: i64::from(a.size),
            uploaded_at: datetime(a.uploaded_at),
        });
    Ok(match row {
        Some(r) => ConsentView {
            spoken: r
                .message
                .clone()
                .unwrap_or_else(|| default_message(&r.language).to_string()),
            announce: r.announce,
            message: r.message,
            language: r.language,
            off_reason: r.off_reason,
            audio,
            updated_at: r.updated_at.map(datetime),
        },
        None => {
            let language = default_language(&ctx.country);
            ConsentView {
                announce: true,
                message: None,
                spoken: default_message(language).to_string(),
                language: language.to_string(),
                off_reason: String::new(),
                audio,
                updated_at: None,
            }
        }
    })
}

/// The org's compliance page: the announcement, the retention periods and the latest runs.
pub async fn page(ctx: &OrgCtx) -> Result<crate::model::compliance::CompliancePage, AppError> {
    let consent = view(ctx).await?;
    let (retention, next_run_at) = super::retention::periods(ctx).await?;
    let runs = super::retention::runs(ctx).await?;
    Ok(crate::model::compliance::CompliancePage {
        org: ctx.view(),
        can_manage: ctx.access.can_manage() && !ctx.access.read_only(),
        consent,
        retention,
        next_run_at: next_run_at.map(datetime),
        runs,
        max_audio_bytes: MAX_AUDIO_BYTES as i64,
        quiet: super::quiet_hours::view(ctx).await?,
    })
}

/// What an owner or admin sends to change the announcement.
#[derive(Debug, Clone, Default)]
pub struct ConsentInput {
    pub announce: bool,
    /// Empty: the default wording.
    pub message: String,
    pub language: String,
    /// Required (three characters or more) to turn the announcement off.
    pub off_reason: String,
}

/// Saves the announcement settings (owners and admins), audited with what changed.
pub async fn save(ctx: &OrgCtx, input: ConsentInput) -> Result<ConsentView, AppError> {
    ctx.must_manage()?;
    let language = input.language.trim();
    if !LANGUAGES.iter().any(|(code, _, _)| *code == language) {
        return Err(AppError::validation(
            "language",
            "Pick one of the languages in the list.",
        ));
    }
    let message = input.message.trim();
    one_line("message", message, MAX_MESSAGE, "the announcement")?;
    let reason = input.off_reason.trim();
    one_line("off_reason", reason, 500, "the reason")?;
    if !input.announce && reason.chars().count() < 3 {
        return Err(AppError::validation(
            "off_reason",
            "Say why callers will not be told that calls are recorded (for example, \"every \
             caller is told by the menu of our phone system\").",
        ));
    }
    let before = view(ctx).await?;
    let c = db::compliance::NewConsent {
        announce: input.announce,
        message: (!message.is_empty()).then_some(message),
        language,
        off_reason: if input.announce { "" } else { reason },
    };
    let mut tx = ctx.state.pool.begin().await?;
    let now = ctx.state.clock.now();
    db::compliance::save_consent(&mut *tx, ctx.org_id, &c, (ctx.user.id, now)).await?;
    let action = match (before.announce, input.announce) {
        (true, false) => "recording_consent.turned_off",
        (false, true) => "recording_consent.turned_on",
        _ => "recording_consent.saved",
    };
    let details = serde_json::json!({
        "announce": c.announce, "language": c.language, "message": c.message,
        "off_reason": c.off_reason,
    });
    ctx.audit(&mut *tx, action, &ctx.slug, details).await?;
    tx.commit().await?;
    view(ctx).await
}

/// What an uploaded file is: WAV (`RIFF….WAVE`) or MP3 (an ID3 tag or an MPEG audio frame),
/// read from its first bytes, never from its name or the type the browser claimed.
pub fn sniff_audio(bytes: &[u8]) -> Option<&'static str> {
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WAVE" {
        return Some("audio/wav");
    }
    if bytes.starts_with(b"ID3")
        || (bytes.len() >= 2 && bytes[0] == 0xFF && bytes[1] & 0xE0 == 0xE0)
    {
        return Some("audio/mpeg");
    }
    None
}

/// A file name as shown back: its last path part, printable characters only, at most 200.
fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = base
        .chars()
        .filter(|c| {
            !c.is_control() && !matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .take(200)
        .collect();
    if clean.trim().is_empty() {
        "announcement".into()
    } else {
        clean.trim().to_string()
    }
}

/// Stores an uploaded announcement (replacing the last), which calls then play instead of the
/// spoken text, under a new unguessable address.
pub async fn upload_audio(ctx: &OrgCtx, file_name: &str, bytes: &[u8]) -> Result<(), AppError> {
    ctx.must_manage()?;
    if bytes.is_empty() {
        return Err(AppError::validation("file", "Choose a WAV or MP3 file."));
    }
    if bytes.len() > MAX_AUDIO_BYTES {
        return Err(AppError::validation(
            "file",
            format!(
                "That file is larger than {} MB: record a shorter announcement.",
                MAX_AUDIO_BYTES / (1024 * 1024)
            ),
        ));
    }
    let Some(content_type) = sniff_audio(bytes) else {
        return Err(AppError::validation(
            "file",
            "That file is not a WAV or MP3 recording.",
        ));
    };
    let name = clean_name(file_name);
    let token = format!(
        "{:032x}{:032x}",
        rand::random::<u128>(),
        rand::random::<u128>()
    );
    let a = db::compliance::NewAudio {
        token: &token,
        content_type,
        file_name: &name,
        bytes,
    };
    let mut tx = ctx.state.pool.begin().await?;
    let now = ctx.state.clock.now();
    db::compliance::save_audio(&mut *tx, ctx.org_id, &a, (ctx.user.id, now)).await?;
    let details = serde_json::json!({
        "file_name": name, "content_type": content_type, "size_bytes": bytes.len(),
    });
    ctx.audit(
        &mut *tx,
        "recording_consent.audio_uploaded",
        &ctx.slug,
        details,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Removes the uploaded announcement: calls speak the text again.
pub async fn remove_audio(ctx: &OrgCtx) -> Result<(), AppError> {
    ctx.must_manage()?;
    let mut tx = ctx.state.pool.begin().await?;
    if !db::compliance::delete_audio(&mut *tx, ctx.org_id).await? {
        return Err(AppError::NotFound);
    }
    ctx.audit(
        &mut *tx,
        "recording_consent.audio_removed",
        &ctx.slug,
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The audio file behind `token` (the provider fetching it to play), None for anything else.
pub async fn audio_file(
    state: &AppState,
    token: &str,
) -> Result<Option<db::compliance::AudioFile>, sqlx::Error> {
    if token.len() != 64
        || !token
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Ok(None);
    }
    db::compliance::audio_by_token(&state.pool, token).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_is_recognised_by_its_bytes() {
        assert_eq!(sniff_audio(b"RIFF\x24\0\0\0WAVEfmt "), Some("audio/wav"));
        assert_eq!(sniff_audio(b"ID3\x04\0\0\0\0\0\0"), Some("audio/mpeg"));
        assert_eq!(sniff_audio(&[0xFF, 0xFB, 0x90, 0x44]), Some("audio/mpeg"));
        assert_eq!(sniff_audio(b"<svg onload=alert(1)>"), None);
        assert_eq!(sniff_audio(b"RIFF\0\0\0\0AVI LIST"), None);
        assert_eq!(sniff_audio(b""), None);
    }

    #[test]
    fn file_names_are_shown_without_paths_or_control_characters() {
        assert_eq!(clean_name("C:\\x\\hello.wav"), "hello.wav");
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("a\u{202e}\nb.mp3"), "ab.mp3");
        assert_eq!(clean_name("/"), "announcement");
    }
}

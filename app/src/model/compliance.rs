//! Recording consent and retention as they cross the wire: what callers hear before a call is
//! recorded, how long each kind of data is kept, and what the nightly runs deleted.

use serde::{Deserialize, Serialize};

use super::OrgView;

/// The languages the announcement can be spoken in (Twilio `<Say>` language codes), each with
/// its default wording.
pub const LANGUAGES: [(&str, &str, &str); 8] = [
    (
        "en-US",
        "English (US)",
        "This call may be recorded for quality and training purposes.",
    ),
    (
        "en-GB",
        "English (UK)",
        "This call may be recorded for quality and training purposes.",
    ),
    (
        "fr-FR",
        "Français",
        "Cet appel peut être enregistré à des fins de qualité et de formation.",
    ),
    (
        "fr-CA",
        "Français (Canada)",
        "Cet appel peut être enregistré à des fins de qualité et de formation.",
    ),
    (
        "de-DE",
        "Deutsch",
        "Dieses Gespräch kann zu Qualitäts- und Schulungszwecken aufgezeichnet werden.",
    ),
    (
        "es-ES",
        "Español",
        "Esta llamada puede ser grabada con fines de calidad y formación.",
    ),
    (
        "es-MX",
        "Español (México)",
        "Esta llamada puede ser grabada con fines de calidad y capacitación.",
    ),
    (
        "it-IT",
        "Italiano",
        "Questa chiamata potrebbe essere registrata per fini di qualità e formazione.",
    ),
];

/// The language an org's announcement is spoken in until an admin picks one: its country's.
pub fn default_language(country: &str) -> &'static str {
    match country {
        "GB" | "IE" => "en-GB",
        "FR" | "BE" | "LU" | "MC" => "fr-FR",
        "DE" | "AT" => "de-DE",
        "ES" => "es-ES",
        "MX" => "es-MX",
        "IT" => "it-IT",
        _ => "en-US",
    }
}

/// The default announcement in `language` (English for a code not in [`LANGUAGES`]).
pub fn default_message(language: &str) -> &'static str {
    LANGUAGES
        .iter()
        .find(|(code, _, _)| *code == language)
        .map_or(LANGUAGES[0].2, |(_, _, text)| *text)
}

/// The uploaded announcement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentAudioView {
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub uploaded_at: String,
}

/// What callers hear before a recorded call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentView {
    /// Played before every recorded call, inbound and outbound (on by default).
    pub announce: bool,
    /// The org's own wording (None: the default in `language`).
    pub message: Option<String>,
    /// What is said: the org's wording or the default.
    pub spoken: String,
    pub language: String,
    /// Why an owner or admin turned it off.
    pub off_reason: String,
    /// Played instead of the spoken text when present.
    pub audio: Option<ConsentAudioView>,
    pub updated_at: Option<String>,
}

/// How long the org keeps each kind of data, in days (None: kept).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionView {
    pub recordings_days: Option<i32>,
    pub bodies_days: Option<i32>,
    pub records_days: Option<i32>,
    pub lookups_days: Option<i32>,
}

/// What one nightly run deleted (counts, never content).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetentionRunView {
    pub at: String,
    pub at_rfc3339: String,
    pub recordings_deleted: i32,
    /// Of those, deleted at the provider too (the rest it no longer held).
    pub provider_deleted: i32,
    pub bodies_redacted: i32,
    pub provider_redacted: i32,
    pub calls_deleted: i32,
    pub messages_deleted: i32,
    pub lookups_deleted: i32,
    /// Items the provider could not delete this time: kept, and tried again next run.
    pub failures: i32,
}

/// The org's compliance page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompliancePage {
    pub org: OrgView,
    /// Owners and admins change things; everyone else (support staff too) reads.
    pub can_manage: bool,
    pub consent: ConsentView,
    pub retention: RetentionView,
    /// When the next run is due (none: nothing is set to expire).
    pub next_run_at: Option<String>,
    pub runs: Vec<RetentionRunView>,
    /// The largest audio file an upload takes, in bytes.
    pub max_audio_bytes: i64,
    pub quiet: crate::model::quiet_hours::QuietHoursView,
}

//! `/o/:org/admin/compliance`: what callers hear before a call is recorded (the spoken
//! announcement or an uploaded recording, or why it is off), the hours texts go out in, and how
//! long the org keeps its data; owners and admins change them, everyone else in the org reads
//! them (JavaScript on or off).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::compliance_quiet::QuietHoursSection;
use super::compliance_retention::{Retention, Runs};
use super::org_param;
use crate::api::compliance::{
    load_compliance, RemoveConsentAudio, SaveQuietHours, SaveRecordingConsent, SaveRetention,
};
use crate::components::{
    page_outcome, ActionForm, FormError, FormOutcome, FormState, Loaded, ReadOnlyBanner, Refresh,
};
use crate::model::compliance::{
    default_message, CompliancePage as Data, ConsentAudioView, ConsentView, LANGUAGES,
};

/// Where the announcement's upload form posts (a plain multipart form, handled by the server
/// crate).
pub const COMPLIANCE_AUDIO_ENDPOINT: &str = "consent-audio";

#[component]
pub fn CompliancePage() -> impl IntoView {
    let outcome = StoredValue::new(page_outcome());
    let refresh = Refresh::provide();
    let org = org_param();
    let data = crate::components::page_data(
        move || (org.get(), refresh.0.get()),
        |(o, _)| load_compliance(o),
    );
    // Made once, outside the data's `Suspense`: an error outlives the page's reload.
    let consent = ServerAction::<SaveRecordingConsent>::new();
    let consent_form = FormState::new(consent, &outcome.get_value(), None);
    let remove = ServerAction::<RemoveConsentAudio>::new();
    let remove_form = FormState::new(remove, &outcome.get_value(), None);
    let retention = ServerAction::<SaveRetention>::new();
    let retention_form = FormState::new(retention, &outcome.get_value(), None);
    let quiet = ServerAction::<SaveQuietHours>::new();
    let quiet_form = FormState::new(quiet, &outcome.get_value(), None);
    view! {
        <Loaded data show=move |d| view! {
            <ComplianceView d outcome=outcome.get_value() consent consent_form remove remove_form
                quiet quiet_form retention retention_form />
        } />
    }
}

#[component]
fn ComplianceView(
    d: Data,
    outcome: Option<FormOutcome>,
    consent: ServerAction<SaveRecordingConsent>,
    consent_form: FormState,
    remove: ServerAction<RemoveConsentAudio>,
    remove_form: FormState,
    quiet: ServerAction<SaveQuietHours>,
    quiet_form: FormState,
    retention: ServerAction<SaveRetention>,
    retention_form: FormState,
) -> impl IntoView {
    // Support staff get the read-only banner; plain members a line saying who can change this.
    let readers = (!d.can_manage && !d.org.access.read_only()).then(|| {
        view! {
            <p class="muted mt-4 text-sm" role="note">
                "Only the org's owners and admins can change these settings."
            </p>
        }
    });
    view! {
        <Title text=format!("Compliance · {}", d.org.name) />
        <h1 class="text-2xl font-semibold">"Compliance"</h1>
        <p class="muted mt-1 max-w-3xl text-sm">
            "What the other party hears before a call is recorded, when in the recipient's day texts go out, and how long the org keeps its recordings, messages and records."
        </p>
        <ComplianceNotice />
        {d.org.access.read_only().then(|| view! { <ReadOnlyBanner /> })}
        {readers}
        <Consent d=d.clone() save=consent form=consent_form />
        <Audio d=d.clone() outcome remove form=remove_form />
        <QuietHoursSection d=d.clone() save=quiet form=quiet_form />
        <Retention d=d.clone() save=retention form=retention_form />
        <Runs runs=d.runs.clone() />
    }
}

/// The sentence each change of this page redirects back with (`?notice=`).
fn notice_text(key: &str) -> Option<&'static str> {
    Some(match key {
        "consent-saved" => "Recording consent saved: the next recorded call follows it.",
        "consent-audio-uploaded" => {
            "Recording uploaded: recorded calls play it instead of the spoken wording."
        }
        "consent-audio-removed" => "Recording removed: recorded calls speak the wording again.",
        "quiet-hours-saved" => "Quiet hours saved.",
        "retention-saved" => {
            "Retention saved: from the next run on, what is older than these periods is deleted."
        }
        _ => return None,
    })
}

/// Shows the `?notice=` message a successful change redirected with (as `Notice` does for the
/// notices every page shares).
#[component]
fn ComplianceNotice() -> impl IntoView {
    let query = use_query_map();
    let text = move || query.with(|q| q.get("notice").and_then(|k| notice_text(&k)));
    view! {
        <p class="notice" role="status" class:hidden=move || text().is_none()>{text}</p>
    }
}

/// The language's name in the list (the code itself for one not in it).
fn language_label(code: &str) -> String {
    LANGUAGES
        .iter()
        .find(|(c, _, _)| *c == code)
        .map_or_else(|| code.to_string(), |(_, label, _)| label.to_string())
}

/// A file size as people read it.
fn size_label(bytes: i64) -> String {
    const KB: i64 = 1024;
    if bytes >= KB * KB {
        format!("{:.1} MB", bytes as f64 / (KB * KB) as f64)
    } else if bytes >= KB {
        format!("{} kB", (bytes + KB / 2) / KB)
    } else {
        format!("{bytes} bytes")
    }
}

/// The announcement: what it does, a warning when it is off, what callers hear now, and for
/// owners and admins the form that changes it.
#[component]
fn Consent(d: Data, save: ServerAction<SaveRecordingConsent>, form: FormState) -> impl IntoView {
    let c = d.consent.clone();
    let off = (!c.announce).then(|| {
        let reason = if c.off_reason.trim().is_empty() {
            "none given".to_string()
        } else {
            c.off_reason.clone()
        };
        view! {
            <div class="mt-4 rounded-md border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-900"
                role="note" data-testid="consent-off-warning">
                <p class="font-semibold">"The announcement is off: callers are not told that calls are recorded."</p>
                <p class="mt-1">"Recorded calls start recording without it. Reason given: " <span data-testid="consent-off-reason">{reason}</span></p>
            </div>
        }
    });
    let editor = d.can_manage.then(|| {
        view! { <ConsentForm slug=d.org.slug.clone() c=c.clone() save form /> }
    });
    view! {
        <section class="card mt-6 max-w-2xl" aria-labelledby="consent-heading">
            <h2 id="consent-heading" class="text-lg font-semibold">"Recording consent"</h2>
            <p class="muted mt-1 text-sm">
                "Before PhoneHub records a call, the other party hears an announcement that the call is recorded, and only then does recording start: "
                "a caller whose call to one of the org's numbers is forwarded to a phone, the person called with click-to-call, "
                "and a caller leaving a voicemail (before the beep). It is on unless an owner or admin turns it off and says why."
            </p>
            {off}
            <CurrentConsent c />
            {editor}
        </section>
    }
}

/// What a recorded call plays first right now.
#[component]
fn CurrentConsent(c: ConsentView) -> impl IntoView {
    let hears = if !c.announce {
        "Nothing: recording starts without an announcement.".to_string()
    } else if let Some(a) = &c.audio {
        format!(
            "The uploaded recording “{}”, instead of the wording.",
            a.file_name
        )
    } else {
        format!("“{}”", c.spoken)
    };
    let changed = c
        .updated_at
        .clone()
        .unwrap_or_else(|| "Never: the defaults apply.".to_string());
    view! {
        <dl class="mt-4 grid grid-cols-1 gap-2 text-sm sm:grid-cols-[10rem_1fr]" data-testid="consent-current">
            <dt class="font-medium">"Announcement"</dt>
            <dd data-testid="consent-state">{if c.announce { "On" } else { "Off" }}</dd>
            <dt class="font-medium">"Callers hear"</dt>
            <dd data-testid="consent-spoken">{hears}</dd>
            <dt class="font-medium">"Language"</dt>
            <dd>{language_label(&c.language)}</dd>
            <dt class="font-medium">"Last changed"</dt>
            <dd>{changed}</dd>
        </dl>
    }
}

/// Turning the announcement on or off (with a reason), its language and its wording.
#[component]
fn ConsentForm(
    slug: String,
    c: ConsentView,
    save: ServerAction<SaveRecordingConsent>,
    form: FormState,
) -> impl IntoView {
    // After a no-JavaScript error the form comes back as sent (the language is always sent, so
    // it says whether the form was); otherwise as saved.
    let sent = form.initial("language");
    let announce = match &sent {
        Some(_) => form.initial("announce").as_deref() == Some("on"),
        None => c.announce,
    };
    let selected = sent.unwrap_or_else(|| c.language.clone());
    // The placeholder follows the language picked (with JavaScript; without, the saved one's).
    let language = RwSignal::new(selected.clone());
    let message = form
        .initial("message")
        .unwrap_or_else(|| c.message.clone().unwrap_or_default());
    let reason = form
        .initial("off_reason")
        .unwrap_or_else(|| c.off_reason.clone());
    let options = LANGUAGES
        .iter()
        .map(|(code, label, _)| {
            let on = *code == selected;
            view! { <option value=*code selected=on>{*label}</option> }
        })
        .collect_view();
    let language_error = form.field_error("language");
    let message_error = form.field_error("message");
    let reason_error = form.field_error("off_reason");
    view! {
        <ActionForm action=save attr:data-testid="consent-form">
            <div class="mt-6 space-y-4 border-t border-slate-200 pt-4">
                <input type="hidden" name="org" value=slug />
                <div class="field">
                    <label for="consent-announce" class="flex items-center gap-2 text-sm font-medium">
                        <input id="consent-announce" type="checkbox" name="announce" value="on" checked=announce
                            aria-describedby="consent-announce-hint" />
                        "Announce recording"
                    </label>
                    <p id="consent-announce-hint" class="hint">"Untick it only when callers are told another way; then say how below."</p>
                </div>
                <div class="field">
                    <label for="consent-language" class="label">"Language"</label>
                    <select id="consent-language" name="language" class="input"
                        aria-describedby="consent-language-error"
                        aria-invalid=move || if language_error.with(|e| e.is_some()) { "true" } else { "false" }
                        on:change=move |ev| language.set(event_target_value(&ev))>
                        {options}
                    </select>
                    <p id="consent-language-error" class="field-error" role="alert">{move || language_error.get()}</p>
                </div>
                <div class="field">
                    <label for="consent-message" class="label">"Wording"</label>
                    <textarea id="consent-message" name="message" rows="3" class="input"
                        placeholder=move || language.with(|l| default_message(l.as_str()))
                        aria-describedby="consent-message-hint consent-message-error"
                        aria-invalid=move || if message_error.with(|e| e.is_some()) { "true" } else { "false" }>{message}</textarea>
                    <p id="consent-message-hint" class="hint">"One line. Empty: the default wording of the language, shown in grey. An uploaded recording plays instead of it."</p>
                    <p id="consent-message-error" class="field-error" role="alert">{move || message_error.get()}</p>
                </div>
                <div class="field">
                    <label for="consent-off-reason" class="label">"Why callers will not be told"</label>
                    <input id="consent-off-reason" name="off_reason" type="text" class="input" value=reason
                        aria-describedby="consent-off-reason-hint consent-off-reason-error"
                        aria-invalid=move || if reason_error.with(|e| e.is_some()) { "true" } else { "false" } />
                    <p id="consent-off-reason-hint" class="hint">"Needed to turn the announcement off, for the record: for example, our phone menu tells every caller first."</p>
                    <p id="consent-off-reason-error" class="field-error" role="alert">{move || reason_error.get()}</p>
                </div>
                <FormError form />
                <button type="submit" class="btn" disabled=move || form.pending.get()>"Save recording consent"</button>
            </div>
        </ActionForm>
    }
}

/// The uploaded announcement: the file in use, and for owners and admins removing it and
/// uploading another.
#[component]
fn Audio(
    d: Data,
    outcome: Option<FormOutcome>,
    remove: ServerAction<RemoveConsentAudio>,
    form: FormState,
) -> impl IntoView {
    let slug = d.org.slug.clone();
    let manage = d.can_manage;
    let replacing = d.consent.audio.is_some();
    let current = match d.consent.audio.clone() {
        Some(a) => view! { <AudioFile a manage slug=slug.clone() remove form /> }.into_any(),
        None => view! {
            <p class="mt-3 text-sm" data-testid="consent-audio-current">
                "No recording uploaded: calls speak the wording."
            </p>
        }
        .into_any(),
    };
    let upload = manage.then(|| {
        view! { <AudioUpload slug max=d.max_audio_bytes outcome replacing /> }
    });
    view! {
        <section class="card mt-6 max-w-2xl" aria-labelledby="consent-audio-heading">
            <h2 id="consent-audio-heading" class="text-lg font-semibold">"Recorded announcement"</h2>
            <p class="muted mt-1 text-sm">
                "Instead of the spoken wording, recorded calls can play a recording of your own, a WAV or MP3 file. It plays while the announcement is on."
            </p>
            {current}
            {upload}
        </section>
    }
}

/// The file in use, with its Remove button for owners and admins.
#[component]
fn AudioFile(
    a: ConsentAudioView,
    manage: bool,
    slug: String,
    remove: ServerAction<RemoveConsentAudio>,
    form: FormState,
) -> impl IntoView {
    let details = format!(
        " · {} · uploaded {}",
        size_label(a.size_bytes),
        a.uploaded_at
    );
    let button = manage.then(|| {
        view! {
            <ActionForm action=remove attr:class="mt-3">
                <input type="hidden" name="org" value=slug />
                <button type="submit" class="btn-danger" disabled=move || form.pending.get()>"Remove the recording"</button>
                <FormError form />
            </ActionForm>
        }
    });
    view! {
        <p class="mt-3 text-sm" data-testid="consent-audio-current">
            <span class="font-medium">{a.file_name.clone()}</span>
            <span class="muted">{details}</span>
        </p>
        {button}
    }
}

/// Uploading a recording (owners and admins): a plain multipart form posted to the server crate,
/// its error shown here when the page is rendered again with it.
#[component]
fn AudioUpload(
    slug: String,
    /// The largest file taken, in bytes.
    max: i64,
    outcome: Option<FormOutcome>,
    /// Whether a recording is in use already (the new one replaces it).
    replacing: bool,
) -> impl IntoView {
    let error = outcome
        .filter(|o| o.endpoint == COMPLIANCE_AUDIO_ENDPOINT)
        .map(|o| o.error.to_string());
    let invalid = if error.is_some() { "true" } else { "false" };
    let hint = format!(
        "A WAV or MP3 file of up to {}.{} Keep it short: the call waits for it.",
        size_label(max),
        if replacing {
            " It replaces the recording in use."
        } else {
            ""
        }
    );
    view! {
        <form method="post" enctype="multipart/form-data" action=format!("/o/{slug}/admin/compliance/audio")
            class="mt-4 space-y-4 border-t border-slate-200 pt-4" data-testid="consent-audio-form">
            <div class="field">
                <label class="label" for="consent-audio-file">"Audio file"</label>
                <input class="input" type="file" id="consent-audio-file" name="file" accept="audio/wav,audio/mpeg,.wav,.mp3"
                    required=true aria-invalid=invalid aria-describedby="consent-audio-file-hint consent-audio-file-error" />
                <p id="consent-audio-file-hint" class="hint">{hint}</p>
                <p id="consent-audio-file-error" class="field-error" role="alert">{error}</p>
            </div>
            <button type="submit" class="btn">"Upload recording"</button>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_bytes_kilobytes_and_megabytes() {
        assert_eq!(size_label(44), "44 bytes");
        assert_eq!(size_label(1644), "2 kB");
        assert_eq!(size_label(1024 * 1024), "1.0 MB");
    }

    #[test]
    fn every_compliance_notice_has_its_sentence() {
        for key in [
            "consent-saved",
            "consent-audio-uploaded",
            "consent-audio-removed",
            "quiet-hours-saved",
            "retention-saved",
        ] {
            assert!(notice_text(key).is_some(), "{key}");
        }
        assert_eq!(language_label("fr-FR"), "Français");
        assert_eq!(language_label("xx"), "xx");
    }
}

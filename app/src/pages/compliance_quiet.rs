//! The quiet-hours part of the compliance page: the window of the recipient's day in which the
//! org's texts go out, how many texts wait for it, and for owners and admins the form that sets it.

use leptos::prelude::*;

use crate::api::compliance::SaveQuietHours;
use crate::components::{ActionForm, FormError, FormState};
use crate::model::compliance::CompliancePage as Data;
use crate::model::quiet_hours::{QuietHoursView, PRESETS};

/// How many texts wait for their recipient's window (nothing when none does).
fn waiting(n: i64) -> Option<String> {
    match n {
        n if n <= 0 => None,
        1 => Some("1 text is scheduled for its recipient's window.".to_string()),
        n => Some(format!(
            "{n} texts are scheduled for their recipient's window."
        )),
    }
}

/// The window in a sentence, the texts waiting for it, and for owners and admins the form.
#[component]
pub fn QuietHoursSection(
    d: Data,
    save: ServerAction<SaveQuietHours>,
    form: FormState,
) -> impl IntoView {
    let q = d.quiet.clone();
    let queued = waiting(q.scheduled).map(|w| {
        view! { <p class="mt-1 text-sm" data-testid="quiet-hours-scheduled">{w}</p> }
    });
    let editor = d.can_manage.then(|| {
        view! { <QuietHoursForm slug=d.org.slug.clone() q=q.clone() save form /> }
    });
    view! {
        <section class="card mt-6 max-w-2xl" aria-labelledby="quiet-hours-heading">
            <h2 id="quiet-hours-heading" class="text-lg font-semibold">"Quiet hours"</h2>
            <p class="muted mt-1 text-sm">
                "Texts go out only within a window of the recipient's day. One written outside it is scheduled, and sent when their window opens; its sender or an owner or admin can cancel it until then. "
                "An urgent text goes at once: owners and admins may send one, and members they allow on the Members page."
            </p>
            <p class="mt-3 text-sm font-medium" data-testid="quiet-hours-summary">{q.summary()}</p>
            {queued}
            <p class="muted mt-1 text-xs">
                "The window is the recipient's local time: their area code's zone for North American numbers, otherwise their country's."
            </p>
            {editor}
        </section>
    }
}

/// Turning quiet hours on or off, and the window: a preset, or custom times.
#[component]
fn QuietHoursForm(
    slug: String,
    q: QuietHoursView,
    save: ServerAction<SaveQuietHours>,
    form: FormState,
) -> impl IntoView {
    // After a no-JavaScript error the form comes back as sent (the preset is always sent, so it
    // says whether the form was); otherwise as saved.
    let sent = form.initial("preset");
    let enabled = match &sent {
        Some(_) => form.initial("enabled").as_deref() == Some("on"),
        None => q.enabled,
    };
    let selected = sent.unwrap_or_else(|| q.preset.clone());
    let start = form.initial("start").unwrap_or_else(|| q.start.clone());
    let end = form.initial("end").unwrap_or_else(|| q.end.clone());
    let options = PRESETS
        .iter()
        .map(|p| (p.value, p.label))
        .chain([("custom", "Custom")])
        .map(|(value, label)| {
            let on = value == selected;
            view! { <option value=value selected=on>{label}</option> }
        })
        .collect_view();
    let preset_error = form.field_error("preset");
    view! {
        <ActionForm action=save attr:aria-label="Quiet hours" attr:data-testid="quiet-hours-form">
            <div class="mt-4 space-y-4 border-t border-slate-200 pt-4">
                <input type="hidden" name="org" value=slug />
                <div class="field">
                    <label for="quiet-enabled" class="flex items-center gap-2 text-sm font-medium">
                        <input id="quiet-enabled" type="checkbox" name="enabled" value="on" checked=enabled
                            aria-describedby="quiet-enabled-hint" />
                        "Hold texts outside the window"
                    </label>
                    <p id="quiet-enabled-hint" class="hint">"Unticked, texts go out at any hour."</p>
                </div>
                <div class="field">
                    <label for="quiet-preset" class="label">"Window"</label>
                    <select id="quiet-preset" name="preset" class="input"
                        aria-describedby="quiet-preset-error"
                        aria-invalid=move || if preset_error.with(|e| e.is_some()) { "true" } else { "false" }>
                        {options}
                    </select>
                    <p id="quiet-preset-error" class="field-error" role="alert">{move || preset_error.get()}</p>
                </div>
                <div class="grid gap-3 sm:grid-cols-2">
                    <TimeField form name="start" label="From" value=start />
                    <TimeField form name="end" label="Until" value=end />
                </div>
                <p class="hint">"From and Until count when the window is Custom (a preset brings its own times). 24:00 is the end of the day."</p>
                <FormError form />
                <button type="submit" class="btn" disabled=move || form.pending.get()>"Save quiet hours"</button>
            </div>
        </ActionForm>
    }
}

/// One end of a custom window, as typed.
#[component]
fn TimeField(
    form: FormState,
    name: &'static str,
    label: &'static str,
    value: String,
) -> impl IntoView {
    let id = format!("quiet-{name}");
    let err_id = format!("{id}-error");
    let error = form.field_error(name);
    view! {
        <div class="field">
            <label for=id.clone() class="label">{label}</label>
            // Text, not type=time: the server checks what was typed, the same with JavaScript or
            // without, and the browser's own time picker never decides for it.
            <input id=id name=name type="text" inputmode="numeric" placeholder="HH:MM" autocomplete="off"
                class="input w-32" value=value aria-describedby=err_id.clone()
                aria-invalid=move || if error.with(|e| e.is_some()) { "true" } else { "false" } />
            <p id=err_id class="field-error" role="alert">{move || error.get()}</p>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_texts_are_counted_only_when_there_are_some() {
        assert_eq!(waiting(0), None);
        assert_eq!(
            waiting(1).as_deref(),
            Some("1 text is scheduled for its recipient's window.")
        );
        assert_eq!(
            waiting(3).as_deref(),
            Some("3 texts are scheduled for their recipient's window.")
        );
    }
}

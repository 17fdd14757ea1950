//! `/o/:org/admin/destinations`: where the org's calls and texts may go (its allowed countries,
//! maximum prices and velocity rule, and for owners and admins the form that sets them), the
//! pauses of the velocity rule with the texts they hold and a Resume button, this month's refused
//! destinations, and the shipped blocked list (JavaScript on or off).

use leptos::prelude::*;
use leptos_meta::Title;

use super::org_param;
use crate::api::destinations::{load_destinations, ResumeDestination, SaveDestinationRules};
use crate::components::{
    page_outcome, ActionForm, Field, FormError, FormOutcome, FormState, Loaded, Notice,
    ReadOnlyBanner, Refresh,
};
use crate::model::destinations::{DestinationsPage as Data, PauseView, MAX_VELOCITY};
use crate::model::money::Money;

#[component]
pub fn DestinationsPage() -> impl IntoView {
    let outcome = StoredValue::new(page_outcome());
    let refresh = Refresh::provide();
    let org = org_param();
    let data = crate::components::page_data(
        move || (org.get(), refresh.0.get()),
        |(o, _)| load_destinations(o),
    );
    // One action and form state for the page, made once: a JavaScript error outlives the
    // page's reload.
    let save = ServerAction::<SaveDestinationRules>::new();
    let form = FormState::new(save, &outcome.get_value(), None);
    view! {
        <Loaded data show=move |d| view! {
            <DestinationsView d outcome=outcome.get_value() save form />
        } />
    }
}

#[component]
fn DestinationsView(
    d: Data,
    outcome: Option<FormOutcome>,
    save: ServerAction<SaveDestinationRules>,
    form: FormState,
) -> impl IntoView {
    let manage = d.can_manage;
    view! {
        <Title text=format!("Destinations · {}", d.org.name) />
        <h1 class="text-2xl font-semibold">"Destinations of " {d.org.name.clone()}</h1>
        <p class="muted mt-1 max-w-3xl text-sm">
            "Where the org's calls and texts may go, checked before any provider is asked: premium-rate and special ranges are refused for every org, other countries only when allowed here, and nothing over the maximum prices. "
            "Too many sends to one destination within an hour pause it: texts are held (not lost) and calls refused until an owner or admin resumes it."
        </p>
        <Notice />
        {d.org.access.read_only().then(|| view! { <ReadOnlyBanner /> })}
        <Rules d=d.clone() />
        <Pauses d=d.clone() outcome />
        <Refusals d=d.clone() />
        <Blocked d=d.clone() />
        {manage.then(|| view! { <RulesForm d=d.clone() save form /> })}
    }
}

/// The rules now, as sentences.
#[component]
fn Rules(d: Data) -> impl IntoView {
    let r = d.rules.clone();
    let own = d
        .org
        .country_name
        .clone()
        .unwrap_or_else(|| r.own_country.clone());
    let countries = if r.allowed_names.is_empty() {
        format!("{own} only (the org's own country).")
    } else {
        format!("{own} (the org's own) and {}.", r.allowed_names.join(", "))
    };
    let no_max = || "No maximum".to_string();
    let per_text = r.max_sms.clone().unwrap_or_else(no_max);
    let per_minute = r.max_call_minute.clone().unwrap_or_else(no_max);
    let velocity = format!(
        "{} sends to one number prefix (or to one country abroad) within an hour pause it.",
        r.velocity_per_hour
    );
    let saved = match &r.updated_at {
        Some(at) => format!("Saved {at}."),
        None => "Never saved: these are the defaults.".to_string(),
    };
    view! {
        <section class="card mt-4 max-w-3xl" aria-labelledby="rules-heading">
            <h2 id="rules-heading" class="text-lg font-semibold">"Rules"</h2>
            <dl class="mt-2 grid grid-cols-1 gap-2 text-sm sm:grid-cols-[12rem_1fr]">
                <dt class="font-medium">"Countries"</dt>
                <dd data-testid="allowed-countries">{countries}</dd>
                <dt class="font-medium">"Most per text"</dt>
                <dd class="tabular-nums">{per_text}</dd>
                <dt class="font-medium">"Most per call minute"</dt>
                <dd class="tabular-nums">{per_minute}</dd>
                <dt class="font-medium">"Velocity rule"</dt>
                <dd data-testid="velocity">{velocity}</dd>
            </dl>
            <p class="muted mt-2 text-xs">{saved}</p>
        </section>
    }
}

/// The pauses: open ones first, with what they hold and a Resume button for owners and admins.
#[component]
fn Pauses(d: Data, outcome: Option<FormOutcome>) -> impl IntoView {
    let slug = d.org.slug.clone();
    let manage = d.can_manage;
    let empty = d.pauses.is_empty();
    let rows = d
        .pauses
        .iter()
        .cloned()
        .map(|p| view! { <PauseRow p slug=slug.clone() manage outcome=outcome.clone() /> })
        .collect_view();
    view! {
        <section class="mt-6" aria-labelledby="pauses-heading">
            <h2 id="pauses-heading" class="text-lg font-semibold">"Paused destinations"</h2>
            <div class="card mt-2 overflow-x-auto p-0">
                <table class="table">
                    <caption class="sr-only">"Paused destinations"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Destination"</th>
                            <th scope="col">"Tripped by"</th>
                            <th scope="col">"Paused"</th>
                            <th scope="col">"Held texts"</th>
                            <th scope="col">"Status"</th>
                            {manage.then(|| view! { <th scope="col"><span class="sr-only">"Actions"</span></th> })}
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
                {empty.then(|| view! {
                    <p class="muted p-4">"Nothing is paused: no destination passed the velocity rule in the last 30 days."</p>
                })}
            </div>
        </section>
    }
}

#[component]
fn PauseRow(
    p: PauseView,
    slug: String,
    manage: bool,
    outcome: Option<FormOutcome>,
) -> impl IntoView {
    let open = p.is_open();
    let action = manage.then(|| {
        let button = (open || p.held > 0).then(|| {
            let resume = ServerAction::<ResumeDestination>::new();
            let id = p.id.to_string();
            let form = FormState::new(resume, &outcome, Some(("id", id.clone())));
            let (text, label) = if open {
                ("Resume", format!("Resume sends to {}", p.destination))
            } else {
                ("Send held texts", format!("Send the texts held for {}", p.destination))
            };
            view! {
                <ActionForm action=resume>
                    <input type="hidden" name="org" value=slug.clone() />
                    <input type="hidden" name="id" value=id />
                    <button type="submit" class="btn" aria-label=label disabled=move || form.pending.get()>{text}</button>
                    <FormError form />
                </ActionForm>
            }
        });
        view! { <td class="whitespace-nowrap">{button}</td> }
    });
    let status = match (&p.resumed_at, &p.resumed_by) {
        (None, _) => {
            view! { <span class="badge bg-red-50 text-red-800">"Paused"</span> }.into_any()
        }
        (Some(at), by) => {
            let who = by.clone().unwrap_or_else(|| "a deleted account".into());
            view! { <span class="text-sm">{format!("Resumed {at} by {who}")}</span> }.into_any()
        }
    };
    let tripped = format!(
        "{} ({} in an hour; the rule was {})",
        p.kind.plural(),
        p.sends,
        p.per_hour
    );
    view! {
        <tr data-testid="pause">
            <td class="font-mono">{p.destination.clone()}</td>
            <td>{tripped}</td>
            <td class="muted tabular-nums whitespace-nowrap">{p.paused_at.clone()}</td>
            <td class="tabular-nums" data-testid="held">{p.held}</td>
            <td>{status}</td>
            {action}
        </tr>
    }
}

/// What was refused this month, by reason.
#[component]
fn Refusals(d: Data) -> impl IntoView {
    let total: i64 = d.refusals.iter().map(|r| r.n).sum();
    let items = d
        .refusals
        .iter()
        .map(|r| {
            view! {
                <tr>
                    <td>{r.label.clone()}</td>
                    <td class="tabular-nums" data-testid=format!("refused-{}", r.reason)>{r.n}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="mt-6 max-w-xl" aria-labelledby="refusals-heading">
            <h2 id="refusals-heading" class="text-lg font-semibold">{format!("Refused in {}", d.month)}</h2>
            {if total == 0 {
                view! { <p class="muted text-sm">"Nothing was refused this month."</p> }.into_any()
            } else {
                view! {
                    <div class="card mt-2 overflow-x-auto p-0">
                        <table class="table">
                            <caption class="sr-only">"Refused destinations this month"</caption>
                            <thead><tr><th scope="col">"Why"</th><th scope="col">"Calls and texts"</th></tr></thead>
                            <tbody>{items}</tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
    }
}

/// The shipped blocked list: how many ranges and where they come from, and the list itself.
#[component]
fn Blocked(d: Data) -> impl IntoView {
    let rows = d
        .blocked
        .iter()
        .map(|b| {
            let exception = !b.blocks;
            view! {
                <tr class:muted=exception>
                    <td class="font-mono">{b.prefix.clone()}</td>
                    <td>{b.kind.clone()}</td>
                    <td>{b.source.clone()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="mt-6 max-w-3xl" aria-labelledby="blocked-heading">
            <h2 id="blocked-heading" class="text-lg font-semibold">"Blocked for every org"</h2>
            <p class="text-sm" data-testid="blocked-summary">
                {format!(
                    "PhoneHub refuses {} premium-rate and special ranges, whatever the rules above say. Sources: {}.",
                    d.blocked_count, d.blocked_sources
                )}
            </p>
            <details id="blocked-list" class="mt-2">
                <summary class="link cursor-pointer">"View the blocked list"</summary>
                <div class="card mt-2 overflow-x-auto p-0">
                    <table class="table">
                        <caption class="sr-only">"Blocked ranges"</caption>
                        <thead><tr><th scope="col">"Numbers starting"</th><th scope="col">"Kind"</th><th scope="col">"Source"</th></tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                </div>
            </details>
        </section>
    }
}

/// The rules form (owners and admins): every field filled with what is saved now.
#[component]
fn RulesForm(d: Data, save: ServerAction<SaveDestinationRules>, form: FormState) -> impl IntoView {
    let r = d.rules.clone();
    let dollars = |m: Option<i64>| {
        m.map(|m| Money::from_micros(m).decimal())
            .unwrap_or_default()
    };
    let own = d
        .org
        .country_name
        .clone()
        .unwrap_or_else(|| r.own_country.clone());
    let common = d
        .common
        .iter()
        .map(|(code, name)| view! { <li><span class="font-mono">{code.clone()}</span> " " {name.clone()}</li> })
        .collect_view();
    view! {
        <section class="card mt-6 max-w-xl" aria-labelledby="rules-form-heading">
            <h2 id="rules-form-heading" class="text-lg font-semibold">"Change the rules"</h2>
            <ActionForm action=save>
                <div class="mt-4 space-y-4">
                    <input type="hidden" name="org" value=d.org.slug.clone() />
                    <Field form label="Other countries allowed" name="countries" id={"rules-countries".to_string()}
                        value=r.allowed_countries.join(", ")
                        hint=format!("Two-letter codes separated by commas, such as GB, DE. Empty: {own} only; {own} is always allowed.") />
                    <details class="text-sm">
                        <summary class="link cursor-pointer">"Codes of common destinations"</summary>
                        <ul class="mt-2 grid grid-cols-2 gap-1 sm:grid-cols-3">{common}</ul>
                    </details>
                    <Field form label="Most a text may cost, in dollars" name="max_sms" id={"rules-max-sms".to_string()}
                        value=dollars(r.max_sms_micros) hint="Like 0.05. Empty: no maximum." />
                    <Field form label="Most a call may cost a minute, in dollars" name="max_call_minute" id={"rules-max-call".to_string()}
                        value=dollars(r.max_call_minute_micros) hint="Like 0.02. Empty: no maximum." />
                    <Field form label="Sends to one destination an hour that pause it" name="velocity_per_hour" id={"rules-velocity".to_string()}
                        kind="number" value=r.velocity_per_hour.to_string() required=true
                        hint=format!("A whole number from 1 to {MAX_VELOCITY}. Each number prefix counts, and each country abroad.") />
                    <FormError form />
                    <button type="submit" class="btn" disabled=move || form.pending.get()>"Save rules"</button>
                </div>
            </ActionForm>
        </section>
    }
}

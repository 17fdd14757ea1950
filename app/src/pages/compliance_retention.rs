//! The retention half of the compliance page: how long each kind of data is kept (the form for
//! owners and admins), when the next run is due, and what the latest runs deleted.

use leptos::prelude::*;

use crate::api::compliance::SaveRetention;
use crate::components::{ActionForm, FormError, FormState};
use crate::model::compliance::{CompliancePage as Data, RetentionRunView, RetentionView};

/// One period of the form: its field, its label, what happens to the data when it ends, and the
/// days set (None: kept forever).
struct Period {
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    days: Option<i32>,
}

fn periods(r: &RetentionView) -> [Period; 4] {
    [
        Period {
            name: "recordings_days",
            label: "Recordings",
            hint: "Older call recordings are deleted here and at the provider.",
            days: r.recordings_days,
        },
        Period {
            name: "bodies_days",
            label: "Message bodies",
            hint: "The text of older messages is removed here and redacted at Twilio; the message itself (who, when, cost) stays.",
            days: r.bodies_days,
        },
        Period {
            name: "records_days",
            label: "Call and message records",
            hint: "Older calls and messages are deleted, each once a monthly statement has stated it (their recordings and text go with them).",
            days: r.records_days,
        },
        Period {
            name: "lookups_days",
            label: "Lookup events",
            hint: "Older lookup events are deleted.",
            days: r.lookups_days,
        },
    ]
}

/// A period as it reads.
fn kept(days: Option<i32>) -> String {
    match days {
        None => "Kept forever".to_string(),
        Some(1) => "1 day".to_string(),
        Some(d) => format!("{d} days"),
    }
}

/// The periods, when the next run is due, and for owners and admins the form that sets them.
#[component]
pub fn Retention(d: Data, save: ServerAction<SaveRetention>, form: FormState) -> impl IntoView {
    let next = match d.next_run_at.clone() {
        Some(at) => format!("Next run: {at}."),
        None => "Nothing is set to expire.".to_string(),
    };
    let body = if d.can_manage {
        let fields = periods(&d.retention)
            .into_iter()
            .map(|period| view! { <DaysField form period /> })
            .collect_view();
        view! {
            <ActionForm action=save attr:data-testid="retention-form">
                <div class="mt-4 space-y-4">
                    <input type="hidden" name="org" value=d.org.slug.clone() />
                    {fields}
                    <FormError form />
                    <button type="submit" class="btn" disabled=move || form.pending.get()>"Save retention"</button>
                </div>
            </ActionForm>
        }
        .into_any()
    } else {
        let rows = periods(&d.retention)
            .into_iter()
            .map(|period| {
                view! {
                    <dt class="font-medium">{period.label}</dt>
                    <dd>{kept(period.days)}<span class="hint block">{period.hint}</span></dd>
                }
            })
            .collect_view();
        view! {
            <dl class="mt-4 grid grid-cols-1 gap-2 text-sm sm:grid-cols-[12rem_1fr]" data-testid="retention-current">
                {rows}
            </dl>
        }
        .into_any()
    };
    view! {
        <section class="card mt-6 max-w-2xl" aria-labelledby="retention-heading">
            <h2 id="retention-heading" class="text-lg font-semibold">"Retention"</h2>
            <p class="muted mt-1 text-sm">
                "How long the org keeps each kind of data, in days. Every night at 03:00 (the org's time zone) a run deletes what is older; an empty period keeps it forever. "
                "Usage totals and monthly statements keep their sums: deleting the detail never changes them."
            </p>
            <p class="mt-3 text-sm font-medium" data-testid="retention-next-run">{next}</p>
            {body}
        </section>
    }
}

/// One period's box: whole days, empty to keep; kept as typed after a no-JavaScript error.
#[component]
fn DaysField(form: FormState, period: Period) -> impl IntoView {
    let id = format!("retention-{}", period.name.replace('_', "-"));
    let hint_id = format!("{id}-hint");
    let err_id = format!("{id}-error");
    let described = format!("{hint_id} {err_id}");
    let error = form.field_error(period.name);
    let initial = form
        .initial(period.name)
        .or_else(|| period.days.map(|d| d.to_string()));
    view! {
        <div class="field">
            <label for=id.clone() class="label">{period.label}</label>
            <div class="mt-1 flex items-center gap-2">
                // No min or max: the server says what is allowed, the same with JavaScript or without.
                <input id=id name=period.name type="number" inputmode="numeric" step="1" class="input mt-0 w-32"
                    value=initial placeholder="Keep" aria-describedby=described
                    aria-invalid=move || if error.with(|e| e.is_some()) { "true" } else { "false" } />
                <span class="text-sm text-slate-600" aria-hidden="true">"days"</span>
            </div>
            <p id=hint_id class="hint">{period.hint}</p>
            <p id=err_id class="field-error" role="alert">{move || error.get()}</p>
        </div>
    }
}

/// The latest runs that deleted something, newest first.
#[component]
pub fn Runs(runs: Vec<RetentionRunView>) -> impl IntoView {
    let body = if runs.is_empty() {
        view! {
            <p class="card muted mt-2 text-sm">
                "No run has deleted anything yet. A run is listed here once it deletes or redacts something."
            </p>
        }
        .into_any()
    } else {
        let rows = runs
            .into_iter()
            .map(|r| view! { <RunRow r /> })
            .collect_view();
        view! {
            <div class="card mt-2 overflow-x-auto p-0">
                <table class="table">
                    <caption class="sr-only">"Recent retention runs"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"When"</th>
                            <th scope="col">"Recordings deleted"</th>
                            <th scope="col">"Bodies redacted"</th>
                            <th scope="col">"Calls deleted"</th>
                            <th scope="col">"Messages deleted"</th>
                            <th scope="col">"Lookup events deleted"</th>
                            <th scope="col">"Failures"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            <p class="muted mt-2 text-xs">
                "“At the provider”: deleted or redacted there too (the rest it no longer held). Failures are items the provider could not delete this time: they are kept and tried again at the next run."
            </p>
        }
        .into_any()
    };
    view! {
        <section class="mt-6" aria-labelledby="runs-heading" data-testid="retention-runs">
            <h2 id="runs-heading" class="text-lg font-semibold">"Recent runs"</h2>
            {body}
        </section>
    }
}

/// A count of items and how many of them the provider's copy went too.
fn with_provider(n: i32, at_provider: i32) -> String {
    if n == 0 {
        "0".to_string()
    } else {
        format!("{n} ({at_provider} at the provider)")
    }
}

#[component]
fn RunRow(r: RetentionRunView) -> impl IntoView {
    view! {
        <tr data-testid="retention-run">
            <td class="muted tabular-nums whitespace-nowrap">
                <time datetime=r.at_rfc3339.clone()>{r.at.clone()}</time>
            </td>
            <td class="tabular-nums">{with_provider(r.recordings_deleted, r.provider_deleted)}</td>
            <td class="tabular-nums">{with_provider(r.bodies_redacted, r.provider_redacted)}</td>
            <td class="tabular-nums">{r.calls_deleted}</td>
            <td class="tabular-nums">{r.messages_deleted}</td>
            <td class="tabular-nums">{r.lookups_deleted}</td>
            <td class="tabular-nums" class=("text-red-700", r.failures > 0)>{r.failures}</td>
        </tr>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_read_in_days_or_kept() {
        assert_eq!(kept(None), "Kept forever");
        assert_eq!(kept(Some(1)), "1 day");
        assert_eq!(kept(Some(30)), "30 days");
        assert_eq!(with_provider(0, 0), "0");
        assert_eq!(with_provider(5, 3), "5 (3 at the provider)");
    }
}

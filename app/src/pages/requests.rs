//! `/o/:org/admin/requests`: a request about one phone number (what the org holds about it, to
//! show, export as a ZIP or erase), for owners, admins and support staff; only owners and admins
//! erase (JavaScript on or off).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::org_param;
use crate::api::requests::{load_requests, EraseNumber};
use crate::components::{
    page_outcome, ActionForm, ErrorPanel, FormError, FormState, Loading, ReadOnlyBanner, Refresh,
};
use crate::error::AppError;
use crate::model::calls::{duration_label, CallStatus};
use crate::model::lookup::line_type_label;
use crate::model::message_status::MessageStatus;
use crate::model::opt_outs::OptOutSource;
use crate::model::requests::{
    HeldCall, HeldLookup, HeldMessage, HeldOptOut, Holdings, RequestsPage as Data,
};

#[component]
pub fn RequestsPage() -> impl IntoView {
    let outcome = StoredValue::new(page_outcome());
    let refresh = Refresh::provide();
    let org = org_param();
    let query = use_query_map();
    let number = Memo::new(move |_| query.with(|q| q.get("number").unwrap_or_default()));
    let data = crate::components::page_data(
        move || (org.get(), number.get(), refresh.0.get()),
        |(o, n, _)| load_requests(o, n),
    );
    // Made once, outside the data's `Suspense`: an error outlives the page's reload.
    let erase = ServerAction::<EraseNumber>::new();
    let erase_form = FormState::new(erase, &outcome.get_value(), None);
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! { <RequestsView d erase form=erase_form /> }.into_any(),
                    // A number that does not parse: the form again, with the reason next to it.
                    Err(AppError::Validation { field, message }) if field == "number" => view! {
                        <SearchFailed slug=org.get_untracked() typed=number.get_untracked() message />
                    }
                    .into_any(),
                    Err(e) => view! { <Title text="Error" /><ErrorPanel error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn RequestsView(d: Data, erase: ServerAction<EraseNumber>, form: FormState) -> impl IntoView {
    let slug = d.org.slug.clone();
    let typed = d
        .found
        .as_ref()
        .map(|h| h.number.clone())
        .unwrap_or_default();
    let found = d.found.clone().map(|h| {
        view! { <Found h org_name=d.org.name.clone() slug=slug.clone() manage=d.can_manage erase form /> }
    });
    view! {
        <Title text=format!("Requests by number · {}", d.org.name) />
        <Header />
        {d.org.access.read_only().then(|| view! { <ReadOnlyBanner /> })}
        <Search slug typed error=None />
        {found}
    }
}

/// The page after a search for something that is not a phone number: the form, its error next
/// to it.
#[component]
fn SearchFailed(slug: String, typed: String, message: String) -> impl IntoView {
    view! {
        <Title text="Requests by number" />
        <Header />
        <Search slug typed error=Some(message) />
    }
}

/// The heading, what the page is for, and the `?notice=` a change redirected with.
#[component]
fn Header() -> impl IntoView {
    view! {
        <h1 class="text-2xl font-semibold">"Requests by number"</h1>
        <p class="muted mt-1 max-w-3xl text-sm">
            "Find everything this org holds about one phone number — calls, messages, recordings, lookups and its opt-out entry — then export it or erase it. "
            "Use it when someone asks what you hold about them, or asks you to delete it."
        </p>
        <RequestsNotice />
    }
}

/// The sentence each change of this page redirects back with (`?notice=`).
fn notice_text(key: &str) -> Option<&'static str> {
    Some(match key {
        "number-erased" => "Erased: PhoneHub no longer holds this number's calls, messages, recordings or lookups in this org.",
        _ => return None,
    })
}

/// Shows the `?notice=` message a successful change redirected with (as `Notice` does for the
/// notices every page shares).
#[component]
fn RequestsNotice() -> impl IntoView {
    let query = use_query_map();
    let text = move || query.with(|q| q.get("notice").and_then(|k| notice_text(&k)));
    view! {
        <p class="notice" role="status" class:hidden=move || text().is_none()>{text}</p>
    }
}

/// Find a number: a plain GET form back to this page, the same with JavaScript on or off.
#[component]
fn Search(slug: String, typed: String, error: Option<String>) -> impl IntoView {
    let invalid = if error.is_some() { "true" } else { "false" };
    view! {
        <form method="get" action=format!("/o/{slug}/admin/requests") class="mt-4 max-w-xl" role="search"
            aria-label="Find a number">
            <div class="flex flex-wrap items-end gap-3">
                <div class="field grow">
                    <label class="label" for="find-number">"Phone number"</label>
                    <input class="input" id="find-number" name="number" type="text" value=typed
                        maxlength="32" inputmode="tel" autocomplete="off" required=true
                        aria-invalid=invalid aria-describedby="find-number-hint find-number-error" />
                </div>
                <button type="submit" class="btn">"Find"</button>
            </div>
            <p id="find-number-hint" class="hint">"E.164, such as +14155550100, or a national number in the org's country."</p>
            <p id="find-number-error" class="field-error" role="alert">{error}</p>
        </form>
    }
}

/// What a search found: the counts, the lists, then the export and (owners and admins) the
/// erasure; or the sentence saying there is nothing.
#[component]
fn Found(
    h: Holdings,
    org_name: String,
    slug: String,
    manage: bool,
    erase: ServerAction<EraseNumber>,
    form: FormState,
) -> impl IntoView {
    if h.is_empty() {
        let line = format!("PhoneHub holds nothing about {} in {org_name}.", h.number);
        return view! {
            <p class="card mt-6 max-w-2xl" data-testid="requests-nothing">{line}</p>
        }
        .into_any();
    }
    let number = h.number.clone();
    view! {
        <section class="mt-6" aria-labelledby="held-heading">
            <h2 id="held-heading" class="text-lg font-semibold">{format!("What this org holds about {number}")}</h2>
            <Summary h=h.clone() />
            <Calls calls=h.calls.clone() total=h.calls_total slug=slug.clone() />
            <Messages messages=h.messages.clone() total=h.messages_total />
            <Lookups lookups=h.lookups.clone() total=h.lookups_total />
        </section>
        <Export slug=slug.clone() number=number.clone() />
        {manage.then(|| view! { <Erase slug number erase form /> })}
    }
    .into_any()
}

/// "1 call", "3 calls".
fn counted(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The counts of each kind, and the opt-out entry.
#[component]
fn Summary(h: Holdings) -> impl IntoView {
    view! {
        <ul class="mt-2 flex flex-wrap gap-x-6 gap-y-1 text-sm" data-testid="requests-summary">
            <li data-testid="requests-calls">{counted(h.calls_total, "call", "calls")}</li>
            <li data-testid="requests-messages">{counted(h.messages_total, "message", "messages")}</li>
            <li data-testid="requests-recordings">{counted(h.recordings, "recording", "recordings")}</li>
            <li data-testid="requests-lookups">{counted(h.lookups_total, "lookup", "lookups")}</li>
            <li data-testid="requests-opt-out">{opt_out_line(h.opt_out)}</li>
        </ul>
    }
}

/// The opt-out entry: since when and how, with its reason when one was given.
fn opt_out_line(o: Option<HeldOptOut>) -> AnyView {
    match o {
        Some(o) => {
            let how = OptOutSource::parse(&o.source).map_or(o.source.clone(), |s| s.label().into());
            let reason = (!o.reason.is_empty())
                .then(|| view! { <span class="muted">{format!(" · {}", o.reason)}</span> });
            view! { <span>{format!("Opted out since {} ({how})", when(&o.since))}{reason}</span> }
                .into_any()
        }
        None => view! { <span>"Not on the opt-out list"</span> }.into_any(),
    }
}

/// "2026-03-04 12:34 UTC" for the RFC 3339 time "2026-03-04T12:34:56Z" the server sends
/// (anything else as it is).
fn when(at: &str) -> String {
    match (at.get(..10), at.get(10..11), at.get(11..16)) {
        (Some(day), Some("T"), Some(hm)) if at.ends_with('Z') => format!("{day} {hm} UTC"),
        _ => at.to_string(),
    }
}

fn direction_label(d: &str) -> &'static str {
    if d == "inbound" {
        "Inbound"
    } else {
        "Outbound"
    }
}

/// "Showing the latest 200 of 512" when the list is cut short (the export holds them all).
#[component]
fn More(shown: usize, total: i64) -> impl IntoView {
    let more = total > i64::try_from(shown).unwrap_or(i64::MAX);
    more.then(|| {
        view! {
            <p class="muted px-4 pb-3 text-sm">{format!("Showing the latest {shown} of {total}; the export holds them all.")}</p>
        }
    })
}

#[component]
fn Calls(calls: Vec<HeldCall>, total: i64, slug: String) -> impl IntoView {
    let shown = calls.len();
    let rows = calls
        .into_iter()
        .map(|c| {
            let status =
                CallStatus::parse(&c.status).map_or(c.status.clone(), |s| s.label().into());
            let href = format!("/o/{slug}/calls/{}", c.id);
            view! {
                <tr data-testid="requests-call">
                    <td class="whitespace-nowrap"><a class="link" href=href><time datetime=c.at.clone()>{when(&c.at)}</time></a></td>
                    <td>{direction_label(&c.direction)}</td>
                    <td class="font-mono whitespace-nowrap">{c.from.clone()}</td>
                    <td class="font-mono whitespace-nowrap">{c.to.clone()}</td>
                    <td>{status}</td>
                    <td class="tabular-nums">{duration_label(c.duration_secs)}</td>
                    <td class="tabular-nums">{c.recordings.to_string()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="card mt-4 overflow-x-auto p-0">
            <table class="table" data-testid="requests-calls-table">
                <caption class="px-4 pt-3 text-left font-semibold">{format!("Calls ({total})")}</caption>
                <thead>
                    <tr>
                        <th scope="col">"When"</th>
                        <th scope="col">"Direction"</th>
                        <th scope="col">"From"</th>
                        <th scope="col">"To"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Duration"</th>
                        <th scope="col">"Recordings"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            {(shown == 0).then(|| view! { <p class="muted p-4">"No calls."</p> })}
            <More shown total />
        </div>
    }
}

#[component]
fn Messages(messages: Vec<HeldMessage>, total: i64) -> impl IntoView {
    let shown = messages.len();
    let rows = messages
        .into_iter()
        .map(|m| {
            let status =
                MessageStatus::parse(&m.status).map_or(m.status.clone(), |s| s.label().into());
            let body = if m.body.is_empty() {
                view! { <span class="muted">"(redacted)"</span> }.into_any()
            } else {
                view! { <span class="whitespace-pre-wrap break-words">{m.body.clone()}</span> }
                    .into_any()
            };
            view! {
                <tr data-testid="requests-message">
                    <td class="muted tabular-nums whitespace-nowrap"><time datetime=m.at.clone()>{when(&m.at)}</time></td>
                    <td>{direction_label(&m.direction)}</td>
                    <td class="font-mono whitespace-nowrap">{m.ours.clone()}</td>
                    <td data-testid="requests-message-body">{body}</td>
                    <td>{status}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="card mt-4 overflow-x-auto p-0">
            <table class="table" data-testid="requests-messages-table">
                <caption class="px-4 pt-3 text-left font-semibold">{format!("Messages ({total})")}</caption>
                <thead>
                    <tr>
                        <th scope="col">"When"</th>
                        <th scope="col">"Direction"</th>
                        <th scope="col">"Our number"</th>
                        <th scope="col">"Message"</th>
                        <th scope="col">"Status"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            {(shown == 0).then(|| view! { <p class="muted p-4">"No messages."</p> })}
            <More shown total />
        </div>
    }
}

#[component]
fn Lookups(lookups: Vec<HeldLookup>, total: i64) -> impl IntoView {
    let shown = lookups.len();
    let rows = lookups
        .into_iter()
        .map(|l| {
            let line = l.line_type.as_deref().map_or("—", line_type_label).to_string();
            view! {
                <tr data-testid="requests-lookup">
                    <td class="muted tabular-nums whitespace-nowrap"><time datetime=l.at.clone()>{when(&l.at)}</time></td>
                    <td><span class=format!("badge outcome-{}", l.outcome)>{l.outcome.clone()}</span></td>
                    <td>{line}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="card mt-4 overflow-x-auto p-0">
            <table class="table" data-testid="requests-lookups-table">
                <caption class="px-4 pt-3 text-left font-semibold">{format!("Lookups ({total})")}</caption>
                <thead>
                    <tr>
                        <th scope="col">"When"</th>
                        <th scope="col">"Outcome"</th>
                        <th scope="col">"Line type"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            {(shown == 0).then(|| view! { <p class="muted p-4">"No lookups."</p> })}
            <More shown total />
        </div>
    }
}

/// The download of everything held (a ZIP the server crate streams), for whoever asked.
#[component]
fn Export(slug: String, number: String) -> impl IntoView {
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("number", &number)
        .finish();
    let href = format!("/o/{slug}/admin/requests/export.zip?{q}");
    view! {
        <section class="card mt-6 max-w-2xl" aria-labelledby="export-heading">
            <h2 id="export-heading" class="text-lg font-semibold">"Export"</h2>
            <p class="mt-3">
                <a class="btn" href=href rel="external" download="">"Download everything (ZIP)"</a>
            </p>
            <p class="muted mt-2 text-sm">"A ZIP with data.json, one CSV per kind and the recordings' audio."</p>
        </section>
    }
}

/// Erasing the number (owners and admins): it must be typed again.
#[component]
fn Erase(
    slug: String,
    number: String,
    erase: ServerAction<EraseNumber>,
    form: FormState,
) -> impl IntoView {
    let confirm_error = form.field_error("confirm");
    let number_error = form.field_error("number");
    let hint = format!("Type {number} to erase everything about it. It cannot be undone.");
    view! {
        <section class="card mt-6 max-w-2xl border-red-200" aria-label="Erase this number">
            <h2 class="text-lg font-semibold text-red-800">"Erase this number"</h2>
            <p class="mt-1 text-sm">
                "Recordings are deleted and message bodies redacted at the provider first, then the number is removed from this org's calls, messages and lookups. "
                "Costs and statements keep their sums. "
                "The opt-out entry stays (without the message that proves it) so the person is never texted again. "
                "The audit log records the erasure with a salted hash of the number, never the number."
            </p>
            <ActionForm action=erase>
                <div class="mt-4 space-y-4">
                    <input type="hidden" name="org" value=slug />
                    <input type="hidden" name="number" value=number />
                    <div class="field">
                        <label for="erase-confirm" class="label">"Type the number again to confirm"</label>
                        <input id="erase-confirm" name="confirm" type="text" class="input" required=true
                            maxlength="32" inputmode="tel" autocomplete="off"
                            aria-invalid=move || if confirm_error.with(|m| m.is_some()) { "true" } else { "false" }
                            aria-describedby="erase-confirm-hint erase-confirm-error" />
                        <p id="erase-confirm-hint" class="hint">{hint}</p>
                        <p id="erase-confirm-error" class="field-error" role="alert">{move || confirm_error.get()}</p>
                    </div>
                    <p id="erase-number-error" class="field-error" role="alert">{move || number_error.get()}</p>
                    <FormError form />
                    <button type="submit" class="btn-danger" disabled=move || form.pending.get()>"Erase everything about this number"</button>
                </div>
            </ActionForm>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_erasure_notice_has_its_sentence() {
        assert!(notice_text("number-erased").is_some_and(|t| t.starts_with("Erased:")));
        assert_eq!(notice_text("sms-sent"), None);
    }

    #[test]
    fn times_read_to_the_minute_in_utc() {
        assert_eq!(when("2026-03-04T12:34:56Z"), "2026-03-04 12:34 UTC");
        assert_eq!(when("yesterday"), "yesterday");
    }

    #[test]
    fn counts_read_in_the_singular_and_plural() {
        assert_eq!(counted(1, "call", "calls"), "1 call");
        assert_eq!(counted(0, "call", "calls"), "0 calls");
        assert_eq!(counted(3, "lookup", "lookups"), "3 lookups");
    }
}

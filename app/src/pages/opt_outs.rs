//! `/o/:org/admin/opt-outs`: who is opted out of the org's texts, how each got there (with its
//! proof) and a search; for owners and admins adding, removing and importing numbers and the
//! STOP, START and HELP replies; then the ledger's recent events (JavaScript on or off).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::org_param;
use crate::api::opt_outs::{
    load_opt_outs, AddOptOut, ImportProviderOptOuts, RemoveOptOut, SaveOptOutReplies,
};
use crate::components::{
    page_outcome, ActionForm, FormError, FormOutcome, FormState, Loaded, Notice, ReadOnlyBanner,
    Refresh,
};
use crate::model::opt_outs::{
    OptOutEventView, OptOutView, OptOutsPage as Data, MAX_CONTACT, MAX_REASON, MAX_REPLY,
};

/// Where the CSV import form posts (a plain multipart form, handled by the server crate).
pub const OPT_OUT_IMPORT_ENDPOINT: &str = "opt-out-import";

#[component]
pub fn OptOutsPage() -> impl IntoView {
    let outcome = StoredValue::new(page_outcome());
    let refresh = Refresh::provide();
    let org = org_param();
    let query = use_query_map();
    let search = Memo::new(move |_| query.with(|q| q.get("search")));
    let data = crate::components::page_data(
        move || (org.get(), search.get(), refresh.0.get()),
        |(o, s, _)| load_opt_outs(o, s),
    );
    // The page's own forms (not those of a row), made once: a JavaScript error outlives the
    // page's reload.
    let add = ServerAction::<AddOptOut>::new();
    let add_form = FormState::new(add, &outcome.get_value(), None);
    let replies = ServerAction::<SaveOptOutReplies>::new();
    let replies_form = FormState::new(replies, &outcome.get_value(), None);
    view! {
        <Loaded data show=move |d| view! {
            <OptOutsView d outcome=outcome.get_value() add add_form replies replies_form />
        } />
    }
}

#[component]
fn OptOutsView(
    d: Data,
    outcome: Option<FormOutcome>,
    add: ServerAction<AddOptOut>,
    add_form: FormState,
    replies: ServerAction<SaveOptOutReplies>,
    replies_form: FormState,
) -> impl IntoView {
    let manage = d.can_manage;
    view! {
        <Title text=format!("Opt-outs · {}", d.org.name) />
        <h1 class="text-2xl font-semibold">"Opt-outs"</h1>
        <Intro d=d.clone() />
        <Notice />
        {d.org.access.read_only().then(|| view! { <ReadOnlyBanner /> })}
        <Search d=d.clone() />
        <Entries d=d.clone() outcome=outcome.clone() />
        {manage.then(|| view! { <AddForm d=d.clone() add form=add_form /> })}
        {manage.then(|| view! { <ImportFile d=d.clone() outcome=outcome.clone() /> })}
        {(manage && d.provider_list).then(|| view! { <ImportProvider d=d.clone() outcome=outcome.clone() /> })}
        <Replies d=d.clone() save=replies form=replies_form />
        <Events d=d.clone() />
    }
}

/// What opting out does, in plain words, and the words that count.
#[component]
fn Intro(d: Data) -> impl IntoView {
    view! {
        <p class="muted mt-1 max-w-3xl text-sm">
            "Anyone who texts STOP (or a word like it) to one of the org's numbers is opted out at once and gets one text confirming it. "
            "From then on every text the org sends them, from these pages or the API, is refused before the provider is asked. "
            "They opt back in by texting START; HELP gets the help reply."
        </p>
        <details class="mt-2 max-w-3xl text-sm">
            <summary class="link cursor-pointer">"Which words count"</summary>
            <dl class="mt-2 grid grid-cols-1 gap-2 sm:grid-cols-[12rem_1fr]">
                <dt class="font-medium">"Opt out"</dt>
                <dd data-testid="opt-out-words">{d.opt_out_words.join(", ")}</dd>
                <dt class="font-medium">"Opt back in"</dt>
                <dd data-testid="opt-in-words">{d.opt_in_words.join(", ")}</dd>
                <dt class="font-medium">"Help"</dt>
                <dd data-testid="help-words">{d.help_words.join(", ")}</dd>
            </dl>
            <p class="muted mt-2 text-xs">
                "A word counts when it is the whole text, in any case. A short request to stop, such as “please remove me from your list”, opts out too; ordinary conversation does not."
            </p>
        </details>
    }
}

/// Find a number: a plain GET form, the same with JavaScript on or off.
#[component]
fn Search(d: Data) -> impl IntoView {
    let searching = !d.search.trim().is_empty();
    let all = format!("/o/{}/admin/opt-outs", d.org.slug);
    view! {
        <form method="get" class="mt-4 max-w-xl" role="search" aria-label="Find an opted-out number">
            <div class="flex flex-wrap items-end gap-3">
                <div class="field grow">
                    <label class="label" for="search">"Find a number"</label>
                    <input class="input" id="search" name="search" type="search" value=d.search.clone()
                        maxlength="32" inputmode="tel" aria-describedby="search-hint" />
                </div>
                <button type="submit" class="btn">"Find"</button>
                {searching.then(|| view! { <a class="link" href=all>"Show everyone"</a> })}
            </div>
            <p id="search-hint" class="hint">"Any part of the number, in digits. A whole number also shows its history below."</p>
        </form>
    }
}

/// The opted-out numbers: the newest, or those matching the search.
#[component]
fn Entries(d: Data, outcome: Option<FormOutcome>) -> impl IntoView {
    let slug = d.org.slug.clone();
    let manage = d.can_manage;
    let searching = !d.search.trim().is_empty();
    let shown = d.entries.len();
    let more = !searching && d.count > i64::try_from(shown).unwrap_or(i64::MAX);
    let csv = format!("/o/{slug}/admin/opt-outs.csv");
    let rows = d
        .entries
        .iter()
        .cloned()
        .map(|e| view! { <EntryRow e slug=slug.clone() manage outcome=outcome.clone() /> })
        .collect_view();
    let empty = if searching {
        "No opted-out number matches."
    } else {
        "Nobody has opted out."
    };
    view! {
        <div class="mt-6 flex flex-wrap items-center justify-between gap-2">
            <p class="muted text-sm" data-testid="opt-outs-more">
                {more.then(|| format!("Showing the newest {shown}; search to find others."))}
            </p>
            <a class="btn-secondary" href=csv rel="external" download="">"Download the list (CSV)"</a>
        </div>
        <div class="card mt-2 overflow-x-auto p-0">
            <table class="table" data-testid="opt-outs">
                <caption class="px-4 pt-3 text-left font-semibold">{format!("Opted-out numbers ({})", d.count)}</caption>
                <thead>
                    <tr>
                        <th scope="col">"Number"</th>
                        <th scope="col">"Since"</th>
                        <th scope="col">"How"</th>
                        <th scope="col">"Proof / reason"</th>
                        {manage.then(|| view! { <th scope="col">"Remove"</th> })}
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            {(shown == 0).then(|| view! { <p class="muted p-4">{empty}</p> })}
        </div>
    }
}

#[component]
fn EntryRow(
    e: OptOutView,
    slug: String,
    manage: bool,
    outcome: Option<FormOutcome>,
) -> impl IntoView {
    let action = manage.then(|| {
        let cell = if e.removable {
            view! { <RemoveForm number=e.e164.clone() slug outcome /> }.into_any()
        } else {
            view! { <span class="muted text-xs">"Only they can opt back in (START)"</span> }
                .into_any()
        };
        view! { <td>{cell}</td> }
    });
    let shown_proof = proof(
        e.words.clone(),
        e.our_e164.clone(),
        e.reason.clone(),
        e.by.clone(),
    );
    view! {
        <tr data-testid="opt-out">
            <td class="font-mono whitespace-nowrap" data-testid="opt-out-number">{e.e164.clone()}</td>
            <td class="muted tabular-nums whitespace-nowrap">
                <time datetime=e.since_rfc3339.clone()>{e.since.clone()}</time>
            </td>
            <td data-testid="opt-out-source">{e.source.label()}</td>
            <td>{shown_proof}</td>
            {action}
        </tr>
    }
}

/// Lifting an entry an admin added or imported: why, then Remove.
#[component]
fn RemoveForm(number: String, slug: String, outcome: Option<FormOutcome>) -> impl IntoView {
    let remove = ServerAction::<RemoveOptOut>::new();
    let form = FormState::new(remove, &outcome, Some(("number", number.clone())));
    let id = format!("remove-reason-{}", number.trim_start_matches('+'));
    let err_id = format!("{id}-error");
    let reason_error = form.field_error("reason");
    let number_error = form.field_error("number");
    let error = Signal::derive(move || reason_error.get().or_else(|| number_error.get()));
    let initial = form.initial("reason");
    let label = format!("Why remove {number}");
    let button = format!("Remove {number} from the list");
    view! {
        <ActionForm action=remove>
            <input type="hidden" name="org" value=slug />
            <input type="hidden" name="number" value=number />
            <div class="flex flex-wrap items-center gap-2">
                <label for=id.clone() class="sr-only">{label}</label>
                <input id=id name="reason" type="text" class="input w-40" required=true placeholder="Why"
                    maxlength=MAX_REASON.to_string() value=initial
                    aria-invalid=move || if error.with(|m| m.is_some()) { "true" } else { "false" }
                    aria-describedby=err_id.clone() />
                <button type="submit" class="btn-danger" aria-label=button disabled=move || form.pending.get()>"Remove"</button>
            </div>
            <p id=err_id class="field-error" role="alert">{move || error.get()}</p>
            <FormError form />
        </ActionForm>
    }
}

/// The proof of an entry or event: the words a recipient texted and the org's number they
/// reached, or else the reason given and who gave it.
fn proof(
    words: Option<String>,
    our: Option<String>,
    reason: String,
    by: Option<String>,
) -> AnyView {
    match words {
        Some(w) => {
            let to = our.map(|o| format!(" to {o}"));
            view! { <span>{format!("“{w}”")}<span class="muted">{to}</span></span> }.into_any()
        }
        None => {
            let reason = if reason.is_empty() {
                "—".to_string()
            } else {
                reason
            };
            let by = by.map(|b| view! { <span class="muted">{format!(" by {b}")}</span> });
            view! { <span>{reason}{by}</span> }.into_any()
        }
    }
}

/// A text input with its label, hint and error tied to it; kept as typed after a no-JavaScript
/// error.
#[component]
fn TextInput(
    form: FormState,
    label: &'static str,
    name: &'static str,
    /// Unique on the page.
    id: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional, into)] value: Option<String>,
    #[prop(optional, into)] hint: Option<String>,
    #[prop(optional)] required: bool,
    maxlength: usize,
) -> impl IntoView {
    let error = form.field_error(name);
    let hint_id = format!("{id}-hint");
    let err_id = format!("{id}-error");
    let described = if hint.is_some() {
        format!("{hint_id} {err_id}")
    } else {
        err_id.clone()
    };
    let initial = form.initial(name).or(value);
    view! {
        <div class="field">
            <label for=id class="label">{label}</label>
            <input id=id name=name type=kind value=initial required=required
                maxlength=maxlength.to_string() class="input"
                aria-invalid=move || if error.with(|m| m.is_some()) { "true" } else { "false" }
                aria-describedby=described />
            {hint.map(|h| view! { <p id=hint_id class="hint">{h}</p> })}
            <p id=err_id class="field-error" role="alert">{move || error.get()}</p>
        </div>
    }
}

/// Adding a number by hand (owners and admins), for someone who asked another way.
#[component]
fn AddForm(d: Data, add: ServerAction<AddOptOut>, form: FormState) -> impl IntoView {
    let country = d
        .org
        .country_name
        .clone()
        .unwrap_or_else(|| d.org.country.clone());
    view! {
        <section class="card mt-6 max-w-xl" aria-labelledby="add-heading">
            <h2 id="add-heading" class="text-lg font-semibold">"Add a number"</h2>
            <p class="muted mt-1 text-sm">"For someone who asked another way (by phone, by e-mail): texts to them are refused from now on. Only an owner or admin can take it off again."</p>
            <ActionForm action=add>
                <div class="mt-4 space-y-4">
                    <input type="hidden" name="org" value=d.org.slug.clone() />
                    <TextInput form label="Phone number" name="number" id="add-number" kind="tel" required=true
                        maxlength=32 hint=format!("E.164 (+14155550100) or a national number in {country}") />
                    <TextInput form label="Reason" name="reason" id="add-reason" required=true
                        maxlength=MAX_REASON hint="Why, for the record: for example, asked by phone on 3 March." />
                    <FormError form />
                    <button type="submit" class="btn" disabled=move || form.pending.get()>"Add to the list"</button>
                </div>
            </ActionForm>
        </section>
    }
}

/// Importing a CSV file (owners and admins): a plain multipart form posted to the server crate,
/// its error shown here when the page is rendered again with it.
#[component]
fn ImportFile(d: Data, outcome: Option<FormOutcome>) -> impl IntoView {
    let mine = outcome.filter(|o| o.endpoint == OPT_OUT_IMPORT_ENDPOINT);
    let reason_error = mine.as_ref().and_then(|o| o.error.field_message("reason"));
    // Anything not about the reason is said next to the file.
    let file_error = mine
        .as_ref()
        .filter(|_| reason_error.is_none())
        .map(|o| o.error.to_string());
    let reason_value = mine.as_ref().and_then(|o| o.value("reason"));
    let file_invalid = if file_error.is_some() {
        "true"
    } else {
        "false"
    };
    let reason_invalid = if reason_error.is_some() {
        "true"
    } else {
        "false"
    };
    view! {
        <section class="card mt-6 max-w-xl" aria-labelledby="import-heading">
            <h2 id="import-heading" class="text-lg font-semibold">"Import a CSV file"</h2>
            <form method="post" enctype="multipart/form-data" action=format!("/o/{}/admin/opt-outs/import", d.org.slug)
                class="mt-4 space-y-4">
                <div class="field">
                    <label class="label" for="import-file">"CSV file"</label>
                    <input class="input" type="file" id="import-file" name="file" accept=".csv,text/csv,text/plain" required=true
                        aria-invalid=file_invalid aria-describedby="import-file-hint import-file-error" />
                    <p id="import-file-hint" class="hint">"One phone number per row in the first column (a header row is fine), up to 10,000 rows. Every row must be a valid number, or nothing is imported."</p>
                    <p id="import-file-error" class="field-error" role="alert">{file_error}</p>
                </div>
                <div class="field">
                    <label class="label" for="import-reason">"Reason"</label>
                    <input class="input" type="text" id="import-reason" name="reason" required=true
                        maxlength=MAX_REASON.to_string() value=reason_value
                        aria-invalid=reason_invalid aria-describedby="import-reason-hint import-reason-error" />
                    <p id="import-reason-hint" class="hint">"Why, for the record: for example, the unsubscribe list of our old provider."</p>
                    <p id="import-reason-error" class="field-error" role="alert">{reason_error}</p>
                </div>
                <button type="submit" class="btn">"Import"</button>
            </form>
        </section>
    }
}

/// Copying the provider's own opt-out list (Amazon SNS) into the org's.
#[component]
fn ImportProvider(d: Data, outcome: Option<FormOutcome>) -> impl IntoView {
    let import = ServerAction::<ImportProviderOptOuts>::new();
    let form = FormState::new(import, &outcome, None);
    view! {
        <section class="card mt-6 max-w-xl" aria-labelledby="provider-import-heading">
            <h2 id="provider-import-heading" class="text-lg font-semibold">"The provider's list"</h2>
            <ActionForm action=import>
                <input type="hidden" name="org" value=d.org.slug.clone() />
                <p id="provider-import-hint" class="hint">"Amazon SNS keeps its own list of numbers that replied STOP; this copies it here."</p>
                <button type="submit" class="btn mt-2" aria-describedby="provider-import-hint"
                    disabled=move || form.pending.get()>"Import the provider's opt-out list"</button>
                <FormError form />
            </ActionForm>
        </section>
    }
}

/// What the org answers to STOP, START and HELP: the form for owners and admins, the texts in
/// force for everyone else.
#[component]
fn Replies(d: Data, save: ServerAction<SaveOptOutReplies>, form: FormState) -> impl IntoView {
    let r = d.replies.clone();
    let body = if d.can_manage {
        view! {
            <ActionForm action=save>
                <div class="mt-4 space-y-4">
                    <input type="hidden" name="org" value=d.org.slug.clone() />
                    <TextInput form label="Help contact" name="help_contact" id="help-contact"
                        maxlength=MAX_CONTACT value=r.help_contact.clone()
                        hint="Named in the help reply, e.g. 'call 0800 123 456' or 'write to help@example.com'" />
                    <ReplyArea form label="Reply to STOP" name="stop_reply" id="stop-reply"
                        text=r.stop_reply.clone() custom=r.stop_custom />
                    <ReplyArea form label="Reply to START" name="start_reply" id="start-reply"
                        text=r.start_reply.clone() custom=r.start_custom />
                    <ReplyArea form label="Reply to HELP" name="help_reply" id="help-reply"
                        text=r.help_reply.clone() custom=r.help_custom />
                    <FormError form />
                    <button type="submit" class="btn" disabled=move || form.pending.get()>"Save replies"</button>
                </div>
            </ActionForm>
        }
        .into_any()
    } else {
        let contact = if r.help_contact.is_empty() {
            "None".to_string()
        } else {
            r.help_contact.clone()
        };
        view! {
            <dl class="mt-2 grid grid-cols-1 gap-2 text-sm sm:grid-cols-[12rem_1fr]">
                <dt class="font-medium">"Reply to STOP"</dt>
                <dd data-testid="stop-reply">{r.stop_reply.clone()}</dd>
                <dt class="font-medium">"Reply to START"</dt>
                <dd data-testid="start-reply">{r.start_reply.clone()}</dd>
                <dt class="font-medium">"Reply to HELP"</dt>
                <dd data-testid="help-reply">{r.help_reply.clone()}</dd>
                <dt class="font-medium">"Help contact"</dt>
                <dd>{contact}</dd>
            </dl>
        }
        .into_any()
    };
    view! {
        <section class="card mt-6 max-w-xl" aria-labelledby="replies-heading">
            <h2 id="replies-heading" class="text-lg font-semibold">"Replies"</h2>
            <p class="muted mt-1 text-sm">"What a person gets back, once each time, when they text STOP, START or HELP to one of the org's numbers."</p>
            {body}
        </section>
    }
}

/// One reply: filled with the org's own text, or empty with the default shown in its place.
#[component]
fn ReplyArea(
    form: FormState,
    label: &'static str,
    name: &'static str,
    /// Unique on the page.
    id: &'static str,
    /// The reply in force.
    text: String,
    /// Whether it is the org's own (else the default wording).
    custom: bool,
) -> impl IntoView {
    let error = form.field_error(name);
    let hint_id = format!("{id}-hint");
    let err_id = format!("{id}-error");
    let described = format!("{hint_id} {err_id}");
    let placeholder = (!custom).then(|| text.clone());
    let initial = form
        .initial(name)
        .unwrap_or_else(|| if custom { text } else { String::new() });
    let hint = if custom {
        "Empty: back to the default wording."
    } else {
        "Empty: the default wording above"
    };
    view! {
        <div class="field">
            <label for=id class="label">{label}</label>
            <textarea id=id name=name rows="3" maxlength=MAX_REPLY.to_string() class="input" placeholder=placeholder
                aria-invalid=move || if error.with(|m| m.is_some()) { "true" } else { "false" }
                aria-describedby=described>{initial}</textarea>
            <p id=hint_id class="hint">{hint}</p>
            <p id=err_id class="field-error" role="alert">{move || error.get()}</p>
        </div>
    }
}

/// The ledger's latest events, or the searched number's whole history.
#[component]
fn Events(d: Data) -> impl IntoView {
    let search = d.search.trim().to_string();
    // A search that is a whole number brings its history; a part of one leaves the latest
    // events, of every number.
    let one_number = d
        .events
        .first()
        .is_none_or(|first| d.events.iter().all(|e| e.e164 == first.e164));
    let history = !search.is_empty() && one_number;
    let heading = if history {
        format!("History of {search}")
    } else {
        "Recent events".to_string()
    };
    let empty = if history {
        "Nothing recorded for this number: no opt-out, opt-in or help request."
    } else {
        "Nothing recorded yet: no opt-out, opt-in or help request."
    };
    let caption = heading.clone();
    let none = d.events.is_empty();
    let rows = d
        .events
        .iter()
        .cloned()
        .map(|e| view! { <EventRow e /> })
        .collect_view();
    view! {
        <section class="mt-6" aria-labelledby="events-heading">
            <h2 id="events-heading" class="text-lg font-semibold">{heading}</h2>
            <div class="card mt-2 overflow-x-auto p-0">
                <table class="table" data-testid="opt-out-events">
                    <caption class="sr-only">{caption}</caption>
                    <thead>
                        <tr>
                            <th scope="col">"When"</th>
                            <th scope="col">"Number"</th>
                            <th scope="col">"What"</th>
                            <th scope="col">"How"</th>
                            <th scope="col">"Proof / reason"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
                {none.then(|| view! { <p class="muted p-4">{empty}</p> })}
            </div>
        </section>
    }
}

#[component]
fn EventRow(e: OptOutEventView) -> impl IntoView {
    let what = if e.replied {
        format!("{} · answered", e.action.label())
    } else {
        e.action.label().to_string()
    };
    let shown_proof = proof(
        e.words.clone(),
        e.our_e164.clone(),
        e.reason.clone(),
        e.by.clone(),
    );
    view! {
        <tr data-testid="opt-out-event">
            <td class="muted tabular-nums whitespace-nowrap">
                <time datetime=e.at_rfc3339.clone()>{e.at.clone()}</time>
            </td>
            <td class="font-mono whitespace-nowrap">{e.e164.clone()}</td>
            <td data-testid="opt-out-event-action">{what}</td>
            <td>{e.source.label()}</td>
            <td>{shown_proof}</td>
        </tr>
    }
}

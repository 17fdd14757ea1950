//! `/o/:org/admin/call-blocking`: the callers the org refuses before anything rings (numbers,
//! prefixes, hidden numbers), the numbers nobody in it may call, and the calls refused lately;
//! owners and admins change the lists (JavaScript on or off), everyone else reads.

use leptos::prelude::*;
use leptos_meta::Title;

use super::org_param;
use crate::api::call_blocks::{
    load_call_blocking, AddCallBlock, RemoveCallBlock, SetBlockAnonymous,
};
use crate::components::{
    page_outcome, ActionForm, FormError, FormOutcome, FormState, Loaded, Notice, ReadOnlyBanner,
    Refresh,
};
use crate::model::call_blocks::{
    BlockEntry, BlockList, BlockedCall, CallBlockingPage as Data, MAX_NOTE,
};

#[component]
pub fn CallBlockingPage() -> impl IntoView {
    let outcome = StoredValue::new(page_outcome());
    let refresh = Refresh::provide();
    let org = org_param();
    let data = crate::components::page_data(
        move || (org.get(), refresh.0.get()),
        |(o, _)| load_call_blocking(o),
    );
    // Made once, outside the data's `Suspense`: an error outlives the page's reload. One add
    // action per list, so that an error shows under the form it came from.
    // Their form states too: one made inside would refresh the page again on every render
    // after a success.
    let add_blocked = ServerAction::<AddCallBlock>::new();
    let add_dnc = ServerAction::<AddCallBlock>::new();
    let anonymous = ServerAction::<SetBlockAnonymous>::new();
    let key = |l: BlockList| Some(("list", l.as_str().to_string()));
    let forms = Forms {
        blocked: (
            add_blocked,
            FormState::new(add_blocked, &outcome.get_value(), key(BlockList::Blocked)),
        ),
        dnc: (
            add_dnc,
            FormState::new(add_dnc, &outcome.get_value(), key(BlockList::DoNotCall)),
        ),
        anonymous: (
            anonymous,
            FormState::new(anonymous, &outcome.get_value(), None),
        ),
    };
    view! {
        <Loaded data show=move |d| view! { <CallBlockingView d outcome=outcome.get_value() forms /> } />
    }
}

/// The page's own forms (not a row's): each action with its state.
#[derive(Clone, Copy)]
struct Forms {
    blocked: (ServerAction<AddCallBlock>, FormState),
    dnc: (ServerAction<AddCallBlock>, FormState),
    anonymous: (ServerAction<SetBlockAnonymous>, FormState),
}

#[component]
fn CallBlockingView(d: Data, outcome: Option<FormOutcome>, forms: Forms) -> impl IntoView {
    let slug = d.org.slug.clone();
    let manage = d.can_manage;
    let blocked = d.blocked.clone();
    let dnc = d.do_not_call.clone();
    view! {
        <Title text=format!("Call blocking · {}", d.org.name) />
        <h1 class="text-2xl font-semibold">"Call blocking"</h1>
        <p class="muted mt-1 max-w-3xl text-sm">
            "Calls from a blocked number or prefix are refused before any phone rings: the caller hears that the number is not in service, nothing is billed, and the call is kept in the history as blocked. "
            "Numbers on the do-not-call list are refused before PhoneHub asks the provider, from the call page and the API."
        </p>
        <Notice />
        {d.org.access.read_only().then(|| view! { <ReadOnlyBanner /> })}
        <AnonymousSection slug=slug.clone() on=d.block_anonymous manage save=forms.anonymous.0 form=forms.anonymous.1 />
        <ListSection list=BlockList::Blocked entries=blocked slug=slug.clone() manage add=forms.blocked outcome=outcome.clone() />
        <ListSection list=BlockList::DoNotCall entries=dnc slug=slug.clone() manage add=forms.dnc outcome=outcome.clone() />
        {d.sees_calls.then(|| view! { <Recent calls=d.recent.clone() refused=d.refused_30_days slug /> })}
    }
}

/// Whether callers who hide their number are refused; the form for owners and admins.
#[component]
fn AnonymousSection(
    slug: String,
    on: bool,
    manage: bool,
    save: ServerAction<SetBlockAnonymous>,
    form: FormState,
) -> impl IntoView {
    let now = if on {
        "Callers who hide their number are refused."
    } else {
        "Callers who hide their number ring through like anyone else."
    };
    let editor = manage.then(|| {
        view! {
            <ActionForm action=save attr:aria-label="Hidden numbers" attr:class="mt-3 flex flex-wrap items-center gap-3">
                <input type="hidden" name="org" value=slug />
                <label class="flex items-center gap-2 text-sm font-medium">
                    <input type="checkbox" name="block" value="on" checked=on />
                    "Block callers who hide their number"
                </label>
                <button type="submit" class="btn-secondary" disabled=move || form.pending.get()>"Save"</button>
                <FormError form />
            </ActionForm>
        }
    });
    view! {
        <section class="card mt-6 max-w-3xl" aria-labelledby="anonymous-heading">
            <h2 id="anonymous-heading" class="text-lg font-semibold">"Hidden numbers"</h2>
            <p class="mt-1 text-sm" data-testid="block-anonymous">{now}</p>
            {editor}
        </section>
    }
}

/// What each list is called and says.
fn list_text(list: BlockList) -> (&'static str, &'static str, &'static str) {
    match list {
        BlockList::Blocked => (
            "Blocked callers",
            "Calls from these numbers, or from any number starting with a prefix, are refused before they ring.",
            "No caller is blocked.",
        ),
        BlockList::DoNotCall => (
            "Do not call",
            "Nobody in the org may call these numbers, or numbers starting with a prefix.",
            "The do-not-call list is empty.",
        ),
    }
}

/// One list: its entries and, for owners and admins, the form that adds one.
#[component]
fn ListSection(
    list: BlockList,
    entries: Vec<BlockEntry>,
    slug: String,
    manage: bool,
    add: (ServerAction<AddCallBlock>, FormState),
    outcome: Option<FormOutcome>,
) -> impl IntoView {
    let (add, form) = add;
    let (title, about, empty) = list_text(list);
    let heading = format!("{}-heading", list.as_str());
    let labelled_by = heading.clone();
    let none = entries.is_empty();
    let rows = entries
        .into_iter()
        .map(|e| view! { <EntryRow e slug=slug.clone() manage outcome=outcome.clone() /> })
        .collect_view();
    view! {
        <section class="card mt-6 max-w-3xl" aria-labelledby=labelled_by data-testid=format!("list-{}", list.as_str())>
            <h2 id=heading class="text-lg font-semibold">{title}</h2>
            <p class="muted mt-1 text-sm">{about}</p>
            <table class="table mt-3" class:hidden=none>
                <caption class="sr-only">{title}</caption>
                <thead><tr>
                    <th scope="col">"Number or prefix"</th><th scope="col">"Note"</th><th scope="col">"Added"</th>
                    {manage.then(|| view! { <th scope="col"><span class="sr-only">"Remove"</span></th> })}
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
            {none.then(|| view! { <p class="muted mt-2 text-sm">{empty}</p> })}
            {manage.then(|| view! { <AddForm list slug=slug.clone() add form /> })}
        </section>
    }
}

#[component]
fn EntryRow(
    e: BlockEntry,
    slug: String,
    manage: bool,
    outcome: Option<FormOutcome>,
) -> impl IntoView {
    let remove = manage.then(|| {
        let action = ServerAction::<RemoveCallBlock>::new();
        let form = FormState::new(action, &outcome, Some(("id", e.id.to_string())));
        let label = format!("Remove {}", e.shown());
        view! {
            <td>
                <ActionForm action>
                    <input type="hidden" name="org" value=slug />
                    <input type="hidden" name="id" value=e.id.to_string() />
                    <button type="submit" class="btn-danger" aria-label=label disabled=move || form.pending.get()>"Remove"</button>
                    <FormError form />
                </ActionForm>
            </td>
        }
    });
    let by = e.by.clone().map(|b| format!(" by {b}"));
    view! {
        <tr data-testid="call-block">
            <td class="font-mono whitespace-nowrap" data-testid="call-block-pattern">{e.shown()}</td>
            <td>{if e.note.is_empty() { "—".to_string() } else { e.note.clone() }}</td>
            <td class="muted text-sm"><time datetime=e.added_rfc3339.clone()>{e.added.clone()}</time>{by}</td>
            {remove}
        </tr>
    }
}

/// Adding a number or prefix to `list`, with an optional note.
#[component]
fn AddForm(
    list: BlockList,
    slug: String,
    add: ServerAction<AddCallBlock>,
    form: FormState,
) -> impl IntoView {
    let id = format!("{}-number", list.as_str());
    let note_id = format!("{}-note", list.as_str());
    let number_error = form.field_error("number");
    let note_error = form.field_error("note");
    let button = match list {
        BlockList::Blocked => "Block",
        BlockList::DoNotCall => "Add to do-not-call",
    };
    view! {
        <ActionForm action=add attr:class="mt-4 border-t border-slate-200 pt-4" attr:aria-label=format!("Add to {}", list_text(list).0)>
            <input type="hidden" name="org" value=slug />
            <input type="hidden" name="list" value=list.as_str() />
            <div class="grid gap-3 sm:grid-cols-2">
                <div class="field">
                    <label class="label" for=id.clone()>"Number or prefix"</label>
                    <input class="input" id=id.clone() name="number" type="text" inputmode="tel" maxlength="32" autocomplete="off"
                        required=true value=form.initial("number").unwrap_or_default()
                        aria-describedby=format!("{id}-hint {id}-error")
                        aria-invalid=move || if number_error.with(|e| e.is_some()) { "true" } else { "false" } />
                    <p id=format!("{id}-hint") class="hint">"A number, or a prefix ending in *, such as +1900*."</p>
                    <p id=format!("{id}-error") class="field-error" role="alert">{move || number_error.get()}</p>
                </div>
                <div class="field">
                    <label class="label" for=note_id.clone()>"Note (optional)"</label>
                    <input class="input" id=note_id.clone() name="note" type="text" maxlength=MAX_NOTE.to_string()
                        value=form.initial("note").unwrap_or_default() aria-describedby=format!("{note_id}-error")
                        aria-invalid=move || if note_error.with(|e| e.is_some()) { "true" } else { "false" } />
                    <p id=format!("{note_id}-error") class="field-error" role="alert">{move || note_error.get()}</p>
                </div>
            </div>
            <FormError form />
            <button type="submit" class="btn mt-2" disabled=move || form.pending.get()>{button}</button>
        </ActionForm>
    }
}

/// The latest calls refused before they rang.
#[component]
fn Recent(calls: Vec<BlockedCall>, refused: i64, slug: String) -> impl IntoView {
    let none = calls.is_empty();
    let rows = calls
        .into_iter()
        .map(|c| {
            let href = format!("/o/{slug}/calls/{}", c.id);
            view! {
                <tr data-testid="blocked-call">
                    <td class="tabular-nums whitespace-nowrap"><a class="link" href=href>{c.at}</a></td>
                    <td class="font-mono">{c.from}</td>
                    <td class="font-mono">{c.to}</td>
                    <td>{c.reason.label()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card mt-6 max-w-3xl" aria-labelledby="recent-heading">
            <h2 id="recent-heading" class="text-lg font-semibold">"Refused calls"</h2>
            <p class="muted mt-1 text-sm" data-testid="refused-count">{format!("{refused} in the last 30 days.")}</p>
            <table class="table mt-3" class:hidden=none>
                <caption class="sr-only">"The latest refused calls"</caption>
                <thead><tr><th scope="col">"When"</th><th scope="col">"From"</th><th scope="col">"To"</th><th scope="col">"Why"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
            {none.then(|| view! { <p class="muted mt-2 text-sm">"No call has been refused."</p> })}
        </section>
    }
}

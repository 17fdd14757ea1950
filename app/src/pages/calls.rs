//! Call pages: place a call, the history (filters in the URL, keyset pages, CSV), one call.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_location, use_params_map};

use super::org_param;
use crate::api::call_blocks::BlockCaller;
use crate::api::calls::{load_call, load_calls, load_new_call, PlaceCall};
use crate::components::{
    page_outcome, poll_while, ActionForm, ErrorPanel, Field, FormError, FormOutcome, FormState,
    Loaded, Loading, Notice, ReadOnlyBanner,
};
use crate::model::calls::*;

fn direction_label(d: &str) -> &'static str {
    if d == "inbound" {
        "Inbound"
    } else {
        "Outbound"
    }
}

#[component]
pub fn NewCallPage() -> impl IntoView {
    let outcome = StoredValue::new(page_outcome());
    let org = org_param();
    let data = crate::components::page_data(move || org.get(), load_new_call);
    view! {
        <Loaded data show=move |d| view! { <NewCallView d outcome=outcome.get_value() /> } />
    }
}

#[component]
fn NewCallView(d: NewCallPage, outcome: Option<FormOutcome>) -> impl IntoView {
    let place = ServerAction::<PlaceCall>::new();
    let form = FormState::new(place, &outcome, None);
    let slug = d.org.slug.clone();
    let number_error = form.field_error("number_id");
    let chosen = form.initial("number_id").unwrap_or_default();
    let options = d
        .numbers
        .iter()
        .map(|n| {
            let rings = if n.forward_to.is_empty() {
                " (no phone to ring: set “Forward calls to”)".to_string()
            } else {
                format!(" — rings {}", n.forward_to)
            };
            view! { <option value=n.id.to_string() selected=chosen == n.id.to_string()>{n.label()}{rings}</option> }
        })
        .collect_view();
    let none = d.numbers.is_empty();
    view! {
        <Title text=format!("New call · {}", d.org.name) />
        <p><a class="link" href=format!("/o/{slug}/calls")>"← Calls"</a></p>
        <h1 class="mt-2 text-2xl font-semibold">"Place a call"</h1>
        {d.org.access.read_only().then(|| view! { <ReadOnlyBanner /> })}
        <p class="muted mt-1 max-w-xl">"PhoneHub rings your own phone (the number's “Forward calls to”) first; when you answer, it dials the person you are calling, showing your PhoneHub number as the caller ID."</p>
        {d.unavailable.clone().map(|m| view! { <p class="readonly-banner" role="note" data-testid="voice-unavailable">{m}</p> })}
        {(none && d.can_call && d.unavailable.is_none()).then(|| view! {
            <p class="readonly-banner" role="note">"You have no active voice number to call from. "
                <a class="link" href=format!("/o/{slug}/numbers/buy")>"Buy a number"</a>" first."</p>
        })}
        {(!none && d.unavailable.is_none()).then(|| view! {
            <ActionForm action=place attr:class="card mt-4 max-w-xl space-y-3" attr:aria-label="Place a call">
                <input type="hidden" name="org" value=slug.clone() />
                <div class="field">
                    <label class="label" for="number_id">"Call from"</label>
                    <select class="input" id="number_id" name="number_id" aria-describedby="number_id-error">{options}</select>
                    <p id="number_id-error" class="field-error" role="alert">{move || number_error.get()}</p>
                </div>
                <Field form label="Number to call" name="to" kind="tel" autocomplete="off"
                    hint=crate::model::countries::phone_hint(&d.org) />
                <FormError form />
                <button type="submit" class="btn" disabled=move || form.pending.get()>"Call"</button>
            </ActionForm>
        })}
    }
}

#[component]
pub fn CallsPage() -> impl IntoView {
    let org = org_param();
    let loc = use_location();
    let params = Memo::new(move |_| loc.search.get());
    let data =
        crate::components::page_data(move || (org.get(), params.get()), |(o, p)| load_calls(o, p));
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! { <CallsView d /> }.into_any(),
                    // The filters again, with the message next to the field it is about.
                    Err(crate::error::AppError::Validation { field, message }) => {
                        let f = CallFilter::from_pairs(&crate::model::query_pairs(&params.get_untracked()));
                        view! {
                            <Title text="Calls" />
                            <h1 class="text-2xl font-semibold">"Calls"</h1>
                            <CallFilterForm f numbers=Vec::new() error=Some((field, message)) />
                            <p class="mt-2"><a class="link" href="?">"Clear the filters"</a></p>
                        }.into_any()
                    }
                    Err(e) => view! { <Title text="Error" /><ErrorPanel error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn CallsView(d: CallsPage) -> impl IntoView {
    let slug = d.org.slug.clone();
    let f = d.filter.clone();
    let qs = f.query_string();
    let export = if qs.is_empty() {
        format!("/o/{slug}/calls/export.csv")
    } else {
        format!("/o/{slug}/calls/export.csv?{qs}")
    };
    let next = d.next.map(|c| {
        let sep = if qs.is_empty() { "" } else { "&" };
        format!("?{qs}{sep}before={c}")
    });
    let first_page = (!f.before.is_empty()).then(|| format!("?{qs}"));
    let manage = d.org.access.can_manage();
    let rows = d
        .rows
        .iter()
        .map(|c| {
            let href = format!("/o/{slug}/calls/{}", c.id);
            let block = manage.then(|| {
                let button = c
                    .blockable
                    .then(|| view! { <BlockCallerForm slug=slug.clone() call=c.id from=c.from.clone() /> });
                view! { <td>{button}</td> }
            });
            let status = match c.blocked {
                Some(_) => format!("{} · Blocked", c.status.label()),
                None => c.status.label().to_string(),
            };
            view! {
                <tr data-testid=format!("call-{}", c.id)>
                    <td class="whitespace-nowrap tabular-nums"><a class="link" href=href>{c.created.clone()}</a></td>
                    <td>{direction_label(&c.direction)}</td>
                    <td class="tabular-nums">{c.from.clone()}</td>
                    <td class="tabular-nums">{c.to.clone()}</td>
                    <td data-testid="call-status" title=c.blocked.map(|b| b.label())>{status}</td>
                    <td class="tabular-nums">{duration_label(c.duration_secs)}</td>
                    <td class="tabular-nums">{c.cost.clone()}</td>
                    <td>{if c.recordings > 0 { "Yes" } else { "—" }}</td>
                    {d.all.then(|| view! { <td>{c.user.clone()}</td> })}
                    {block}
                </tr>
            }
        })
        .collect_view();
    let empty = d.rows.is_empty();
    view! {
        <Title text=format!("Calls · {}", d.org.name) />
        <div class="flex flex-wrap items-baseline justify-between gap-2">
            <h1 class="text-2xl font-semibold">{if d.all { "Calls in " } else { "My calls in " }}{d.org.name.clone()}</h1>
            <div class="flex gap-3">
                <a class="btn-secondary" href=export rel="external" download="">"Export CSV"</a>
                {d.can_call.then(|| view! { <a class="btn" href=format!("/o/{slug}/calls/new")>"Place a call"</a> })}
            </div>
        </div>
        <Notice />
        {d.org.access.read_only().then(|| view! { <ReadOnlyBanner /> })}
        <CallFilterForm f=f.clone() numbers=d.numbers.clone() error=None />
        <div class="card mt-4 overflow-x-auto p-0">
            <table class="table">
                <caption class="sr-only">"Calls, newest first"</caption>
                <thead><tr>
                    <th scope="col">"When"</th><th scope="col">"Direction"</th><th scope="col">"From"</th>
                    <th scope="col">"To"</th><th scope="col">"Status"</th><th scope="col">"Duration"</th>
                    <th scope="col">"Cost"</th><th scope="col">"Recording"</th>
                    {d.all.then(|| view! { <th scope="col">"User"</th> })}
                    {manage.then(|| view! { <th scope="col"><span class="sr-only">"Block the caller"</span></th> })}
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
            {empty.then(|| view! { <p class="muted p-4">"No calls match."</p> })}
        </div>
        <nav class="mt-4 flex gap-4" aria-label="Pages">
            {first_page.map(|h| view! { <a class="link" href=h>"← Newest"</a> })}
            {next.map(|h| view! { <a class="link" href=h rel="next">"Older calls →"</a> })}
        </nav>
    }
}

/// Blocks the caller of an inbound call (owners and admins): their next call is refused before
/// it rings.
#[component]
fn BlockCallerForm(slug: String, call: i64, from: String) -> impl IntoView {
    let block = ServerAction::<BlockCaller>::new();
    let outcome = page_outcome();
    let form = FormState::new(block, &outcome, Some(("call", call.to_string())));
    let label = format!("Block {from}");
    // Its refusals name a field (`call`: not a caller; `number`: the list is full), shown here.
    let call_error = form.field_error("call");
    let number_error = form.field_error("number");
    let error = move || call_error.get().or_else(|| number_error.get());
    view! {
        <ActionForm action=block>
            <input type="hidden" name="org" value=slug />
            <input type="hidden" name="call" value=call.to_string() />
            <button type="submit" class="btn-secondary text-xs" aria-label=label disabled=move || form.pending.get()>"Block"</button>
            <p class="field-error" role="alert">{error}</p>
            <FormError form />
        </ActionForm>
    }
}

/// The history's filters (a GET form: the URL keeps them); `error` is a bad filter's field and
/// message, shown next to that field.
#[component]
fn CallFilterForm(
    f: CallFilter,
    numbers: Vec<NumberOption>,
    error: Option<(String, String)>,
) -> impl IntoView {
    let numbers = numbers
        .iter()
        .map(|n| view! { <option value=n.id.to_string() selected=f.number == n.id.to_string()>{n.label()}</option> })
        .collect_view();
    let statuses = CallStatus::ALL
        .iter()
        .map(|s| view! { <option value=s.as_str() selected=f.status == s.as_str()>{s.label()}</option> })
        .collect_view();
    let message = |name: &'static str| {
        error
            .as_ref()
            .filter(|(field, _)| field == name)
            .map(|(_, m)| view! { <p id=format!("{name}-error") class="field-error" role="alert">{m.clone()}</p> })
    };
    let invalid = |name: &'static str| {
        error
            .as_ref()
            .is_some_and(|(field, _)| field == name)
            .then_some("true")
    };
    view! {
        <form method="get" class="card mt-4 grid gap-3 md:grid-cols-4" aria-label="Filter calls">
            <div class="field"><label class="label" for="status">"Status"</label>
                <select class="input" id="status" name="status" aria-invalid=invalid("status")><option value="">"Any"</option>{statuses}</select>{message("status")}</div>
            <div class="field"><label class="label" for="direction">"Direction"</label>
                <select class="input" id="direction" name="direction" aria-invalid=invalid("direction")>
                    <option value="">"Any"</option>
                    <option value="outbound" selected=f.direction == "outbound">"Outbound"</option>
                    <option value="inbound" selected=f.direction == "inbound">"Inbound"</option>
                </select>{message("direction")}</div>
            <div class="field"><label class="label" for="number">"Our number"</label>
                <select class="input" id="number" name="number" aria-invalid=invalid("number")><option value="">"Any"</option>{numbers}</select>{message("number")}</div>
            <div class="field"><label class="label" for="q">"From or to contains"</label>
                <input class="input" id="q" name="q" value=f.q.clone() inputmode="tel" maxlength="16" aria-invalid=invalid("q") />{message("q")}</div>
            <div class="field"><label class="label" for="from">"From date"</label>
                <input class="input" id="from" name="from" type="date" value=f.from.clone() aria-invalid=invalid("from") />{message("from")}</div>
            <div class="field"><label class="label" for="to">"To date"</label>
                <input class="input" id="to" name="to" type="date" value=f.to.clone() aria-invalid=invalid("to") />{message("to")}</div>
            <label class="flex items-center gap-2 self-end pb-2 text-sm">
                <input type="checkbox" name="recorded" value="1" checked=!f.recorded.is_empty() />"Has a recording"</label>
            <div class="flex items-end gap-3"><button type="submit" class="btn">"Filter"</button>
                <a class="link pb-2" href="?">"Clear"</a></div>
        </form>
    }
}

#[component]
pub fn CallDetailPage() -> impl IntoView {
    let org = org_param();
    let params = use_params_map();
    let id = Memo::new(move |_| {
        params.with(|p| p.get("id").and_then(|i| i.parse::<i64>().ok()).unwrap_or(0))
    });
    let tick = RwSignal::new(0u32);
    let data = crate::components::page_data(
        move || (org.get(), id.get(), tick.get()),
        |(o, i, _)| load_call(o, i),
    );
    // With JavaScript, poll while the call is live; without, the page refreshes itself.
    poll_while(
        data,
        |d| d.live,
        std::time::Duration::from_millis(1000),
        tick,
    );
    view! {
        <Loaded data show=|d| view! { <CallView d /> } />
    }
}

#[component]
fn CallView(d: CallPage) -> impl IntoView {
    let c = d.call.clone();
    let slug = d.org.slug.clone();
    let events = d
        .events
        .iter()
        .map(|e| view! { <li><span class="tabular-nums muted">{e.at.clone()}</span>" · "{e.status.label()}</li> })
        .collect_view();
    let recordings = d
        .recordings
        .iter()
        .map(|r| {
            let src = format!("/o/{slug}/calls/{}/recordings/{}", c.id, r.id);
            view! {
                <li class="space-y-1" data-testid="recording">
                    <audio controls preload="none" src=src.clone() class="w-full max-w-md"></audio>
                    <p class="text-sm muted">{duration_label(Some(r.duration_secs))}" · "{r.cost.clone()}" · "{r.created.clone()}" · "
                        <a class="link" href=format!("{src}?download=1") rel="external" download="">"Download"</a></p>
                </li>
            }
        })
        .collect_view();
    let no_recordings = d.recordings.is_empty();
    let who = if c.direction == "inbound" {
        format!("{} called {}", c.from, c.to)
    } else {
        format!("{} → {}", c.from, c.to)
    };
    view! {
        <Title text=format!("Call {} · {}", c.id, d.org.name) />
        {d.live.then(|| view! { <noscript inner_html=r#"<meta http-equiv="refresh" content="2">"#></noscript> })}
        <p><a class="link" href=format!("/o/{slug}/calls")>"← Calls"</a></p>
        <h1 class="mt-2 text-2xl font-semibold tabular-nums">{who}</h1>
        <Notice />
        <p class="mt-1 text-lg" role="status" aria-live="polite">"Status: " <strong data-testid="call-status">{c.status.label()}</strong></p>
        {c.blocked.map(|b| view! { <p class="readonly-banner" role="note" data-testid="call-blocked">{b.label()}" — refused before it rang; nothing was billed."</p> })}
        {d.error.clone().map(|e| view! { <p class="readonly-banner" role="note">{e}</p> })}
        <dl class="card mt-4 grid max-w-2xl grid-cols-2 gap-x-6 gap-y-2 text-sm">
            <dt class="muted">"Direction"</dt><dd>{direction_label(&c.direction)}</dd>
            <dt class="muted">{if c.direction == "inbound" { "Forwarded to" } else { "Your phone rung first" }}</dt>
            <dd class="tabular-nums">{d.bridge.clone().unwrap_or_else(|| "— (voicemail)".into())}</dd>
            <dt class="muted">"User"</dt><dd>{c.user.clone()}</dd>
            <dt class="muted">"Placed"</dt><dd class="tabular-nums">{c.created.clone()}</dd>
            <dt class="muted">"Answered"</dt><dd class="tabular-nums">{d.started.clone().unwrap_or_else(|| "—".into())}</dd>
            <dt class="muted">"Ended"</dt><dd class="tabular-nums">{d.ended.clone().unwrap_or_else(|| "—".into())}</dd>
            <dt class="muted">"Duration"</dt><dd class="tabular-nums" data-testid="call-duration">{duration_label(c.duration_secs)}</dd>
            <dt class="muted">"Call cost"</dt><dd class="tabular-nums" data-testid="call-cost">{d.call_cost.clone()}</dd>
            <dt class="muted">"Recording cost"</dt><dd class="tabular-nums">{d.recording_cost.clone()}</dd>
            <dt class="muted">"Total"</dt><dd class="tabular-nums font-semibold">{c.cost.clone()}</dd>
        </dl>
        <div class="mt-6 grid max-w-4xl gap-6 md:grid-cols-2">
            <section aria-label="Timeline">
                <h2 class="font-semibold">"Timeline"</h2>
                <ol class="mt-2 space-y-1 text-sm" data-testid="timeline">{events}</ol>
            </section>
            <section aria-label="Recordings">
                <h2 class="font-semibold">"Recordings"</h2>
                <ul class="mt-2 space-y-3">{recordings}</ul>
                {no_recordings.then(|| view! { <p class="muted text-sm mt-2">"No recording."</p> })}
            </section>
        </div>
    }
}

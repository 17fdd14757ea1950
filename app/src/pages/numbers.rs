//! Number pages: my (and the team's) numbers, search and buy, one number's settings and release.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_location, use_params_map};

use super::org_param;
use crate::api::numbers::{
    load_buy_page, load_number, load_numbers, BuyNumber, ReleaseNumber, SimulateInbound,
    UpdateNumber,
};
use crate::components::{
    page_outcome, ActionForm, ErrorPanel, Field, FormError, FormOutcome, FormState, Loaded,
    Loading, Notice, ReadOnlyBanner, Refresh,
};
use crate::model::numbers::*;

fn caps(voice: bool, sms: bool, mms: bool) -> String {
    let mut v = Vec::new();
    if voice {
        v.push("Voice");
    }
    if sms {
        v.push("SMS");
    }
    if mms {
        v.push("MMS");
    }
    if v.is_empty() {
        "—".into()
    } else {
        v.join(", ")
    }
}

#[component]
pub fn NumbersListPage() -> impl IntoView {
    let refresh = Refresh::provide();
    let org = org_param();
    let loc = use_location();
    let check = Memo::new(move |_| loc.query.with(|q| q.get("check")));
    let data = crate::components::page_data(
        move || (org.get(), check.get(), refresh.0.get()),
        |(o, c, _)| load_numbers(o, c),
    );
    view! {
        <Loaded data show=|d| view! { <NumbersView d /> } />
    }
}

#[component]
fn NumbersView(d: NumbersPage) -> impl IntoView {
    let slug = d.org.slug.clone();
    let rows = d
        .numbers
        .iter()
        .map(|n| {
            let href = format!("/o/{slug}/numbers/{}", n.id);
            view! {
                <tr data-testid=format!("number-{}", n.e164)>
                    <td class="tabular-nums"><a class="link" href=href>{n.shown.clone()}<span class="muted block text-xs">{n.e164.clone()}</span></a></td>
                    <td>{if n.friendly_name.is_empty() { "—".to_string() } else { n.friendly_name.clone() }}</td>
                    <td>{if n.mine { "You".to_string() } else { n.owner.clone() }}{n.shared.then_some(" · shared with the org")}</td>
                    <td data-testid="number-status">{n.status_label()}</td>
                    <td>{caps(n.voice, n.sms, false)}</td>
                    <td class="tabular-nums">{if n.forward_to.is_empty() { "Voicemail".to_string() } else { n.forward_to.clone() }}</td>
                    <td class="tabular-nums">{n.monthly.clone()}" / month"</td>
                </tr>
            }
        })
        .collect_view();
    let empty = d.numbers.is_empty();
    let drift = d.drift.clone().map(|r| match r {
        Ok(dr) => {
            let clean = dr.unknown_here.is_empty() && dr.gone_there.is_empty();
            view! {
                <section class="card mt-6" role="status" aria-label="Provider check">
                    <h2 class="font-semibold">"Checked against the provider"</h2>
                    {clean.then(|| view! { <p class="mt-1">"No drift: the provider bills exactly the numbers PhoneHub holds."</p> })}
                    {(!dr.unknown_here.is_empty()).then(|| view! {
                        <p class="mt-1">"Billed at the provider but unknown here: " {dr.unknown_here.join(", ")}</p>
                    })}
                    {(!dr.gone_there.is_empty()).then(|| view! {
                        <p class="mt-1">"Active here but gone at the provider: " {dr.gone_there.join(", ")}</p>
                    })}
                </section>
            }
            .into_any()
        }
        Err(m) => view! { <p class="form-error mt-6" role="alert">{m}</p> }.into_any(),
    });
    view! {
        <Title text=format!("Numbers · {}", d.org.name) />
        <div class="flex flex-wrap items-baseline justify-between gap-2">
            <h1 class="text-2xl font-semibold">{if d.is_admin { "Numbers of " } else { "My and team numbers in " }}{d.org.name.clone()}</h1>
            <div class="flex gap-3">
                {d.is_admin.then(|| view! { <a class="btn-secondary" href=format!("/o/{slug}/numbers?check=1")>"Check against provider"</a> })}
                {d.can_buy.then(|| view! { <a class="btn" href=format!("/o/{slug}/numbers/buy")>"Buy a number"</a> })}
            </div>
        </div>
        <Notice />
        {d.org.access.read_only().then(|| view! { <ReadOnlyBanner /> })}
        {drift}
        <div class="card mt-4 overflow-x-auto p-0">
            <table class="table">
                <caption class="sr-only">"Numbers"</caption>
                <thead><tr>
                    <th scope="col">"Number"</th><th scope="col">"Name"</th><th scope="col">"Owner"</th>
                    <th scope="col">"Status"</th><th scope="col">"Capabilities"</th><th scope="col">"Calls go to"</th>
                    <th scope="col">"Cost"</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
            {empty.then(|| view! { <p class="muted p-4">"No numbers yet."</p> })}
        </div>
    }
}

#[component]
pub fn BuyNumberPage() -> impl IntoView {
    let outcome = StoredValue::new(page_outcome());
    let org = org_param();
    let loc = use_location();
    let params = Memo::new(move |_| loc.search.get());
    let data = crate::components::page_data(
        move || (org.get(), params.get()),
        |(o, p)| load_buy_page(o, p),
    );
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! { <BuyView d outcome=outcome.get_value() /> }.into_any(),
                    Err(e) => view! { <Title text="Error" /><BuyError error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// A bad search filter: the message, and the way back to the form.
#[component]
fn BuyError(error: crate::error::AppError) -> impl IntoView {
    match error {
        crate::error::AppError::Validation { message, .. } => view! {
            <h1 class="text-2xl font-semibold">"Buy a number"</h1>
            <p class="form-error mt-4" role="alert">{message}</p>
            <p class="mt-2"><a class="link" href="?">"Start a new search"</a></p>
        }
        .into_any(),
        other => view! { <ErrorPanel error=other /> }.into_any(),
    }
}

#[component]
fn BuyView(d: BuyPage, outcome: Option<FormOutcome>) -> impl IntoView {
    let confirm = confirm_purchase(&d, &outcome);
    let results = result_rows(&d);
    let show_results = d.searched && d.confirm.is_none();
    view! {
        <Title text=format!("Buy a number · {}", d.org.name) />
        <h1 class="text-2xl font-semibold">"Buy a number"</h1>
        {d.org.access.read_only().then(|| view! { <ReadOnlyBanner /> })}
        {d.unavailable.clone().map(|m| view! { <p class="readonly-banner" role="note" data-testid="voice-unavailable">{m}</p> })}
        {confirm}
        {search_form(&d)}
        {d.message.clone().map(|m| view! { <p class="readonly-banner" role="status" data-testid="search-message">{m}</p> })}
        {(show_results && !d.results.is_empty()).then(|| view! {
            <div class="card mt-4 overflow-x-auto p-0">
                <table class="table">
                    <caption class="sr-only">"Available numbers"</caption>
                    <thead><tr><th scope="col">"Number"</th><th scope="col">"Location"</th><th scope="col">"Capabilities"</th><th scope="col">"Price"</th><th scope="col"><span class="sr-only">"Buy"</span></th></tr></thead>
                    <tbody>{results}</tbody>
                </table>
            </div>
        })}
    }
}

/// The purchase to confirm, when the page was opened with one: what it costs, and the form that
/// buys it.
fn confirm_purchase(d: &BuyPage, outcome: &Option<FormOutcome>) -> Option<impl IntoView> {
    let slug = d.org.slug.clone();
    d.confirm.clone().map(|c| {
        let buy = ServerAction::<BuyNumber>::new();
        let form = FormState::new(buy, outcome, None);
        view! {
            <section class="card mt-4 max-w-xl" aria-label="Confirm purchase">
                <h2 class="text-lg font-semibold">"Buy " {c.e164.clone()} "?"</h2>
                <p class="mt-1">{c.national.clone()} " costs " <strong>{c.monthly.clone()}" a month"</strong> " until you release it."</p>
                <ActionForm action=buy attr:class="mt-3 space-y-3">
                    <input type="hidden" name="org" value=slug.clone() />
                    <input type="hidden" name="number" value=c.e164.clone() />
                    <input type="hidden" name="key" value=c.key.clone() />
                    <Field form label="Name (optional)" name="friendly_name" hint="Shown in lists, e.g. “Sales line”." />
                    <FormError form />
                    <div class="flex gap-3">
                        <button type="submit" class="btn" disabled=move || form.pending.get()>"Buy for " {c.monthly.clone()} " / month"</button>
                        <a class="btn-secondary" href=format!("/o/{slug}/numbers/buy")>"Cancel"</a>
                    </div>
                </ActionForm>
            </section>
        }
    })
}

/// The numbers the search found, one table row each, with a link to buy each (for those who may).
fn result_rows(d: &BuyPage) -> impl IntoView {
    d.results
        .iter()
        .map(|n| {
            let href = format!("/o/{}/numbers/buy?confirm={}", d.org.slug, n.e164.replace('+', "%2B"));
            view! {
                <tr>
                    <td class="tabular-nums">{n.national.clone()}<span class="muted block text-xs">{n.e164.clone()}</span></td>
                    <td>{[n.locality.clone(), n.region.clone()].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(", ")}</td>
                    <td>{caps(n.voice, n.sms, n.mms)}</td>
                    <td class="tabular-nums">{d.monthly.clone()}" / month"</td>
                    <td>{d.can_buy.then(|| view! { <a class="btn-secondary" href=href aria-label=format!("Buy {}", n.e164)>"Buy…"</a> })}</td>
                </tr>
            }
        })
        .collect_view()
}

/// The search form, filled in with the last search (the org's country by default).
fn search_form(d: &BuyPage) -> impl IntoView {
    let q = &d.query;
    let types = [
        ("local", "Local"),
        ("mobile", "Mobile"),
        ("tollfree", "Toll-free"),
    ];
    view! {
        <form method="get" class="card mt-4 grid gap-3 md:grid-cols-4" aria-label="Search numbers" hidden=d.unavailable.is_some()>
            <input type="hidden" name="search" value="1" />
            <div class="field"><label class="label" for="country">"Country"</label>
                <input class="input" id="country" name="country" value=if q.country.is_empty() { d.org.country.clone() } else { q.country.clone() } maxlength="2" /></div>
            <div class="field"><label class="label" for="number_type">"Type"</label>
                <select class="input" id="number_type" name="number_type">
                    {types.into_iter().map(|(v, l)| view! { <option value=v selected=q.number_type == v>{l}</option> }).collect_view()}
                </select></div>
            <div class="field"><label class="label" for="area_code">"Area code"</label>
                <input class="input" id="area_code" name="area_code" value=q.area_code.clone() inputmode="numeric" maxlength="3" /></div>
            <div class="field"><label class="label" for="contains">"Contains"</label>
                <input class="input" id="contains" name="contains" value=q.contains.clone() maxlength="16" />
                <p class="hint">"Digits or letters; * is any digit."</p></div>
            <div class="field"><label class="label" for="region">"Region (state)"</label>
                <input class="input" id="region" name="region" value=q.region.clone() maxlength="40" /></div>
            <div class="field"><label class="label" for="locality">"City"</label>
                <input class="input" id="locality" name="locality" value=q.locality.clone() maxlength="60" /></div>
            <fieldset class="field md:col-span-2"><legend class="label">"Must support"</legend>
                <div class="mt-2 flex gap-4 text-sm">
                    <label class="flex items-center gap-1"><input type="checkbox" name="voice" value="1" checked=q.voice />"Voice"</label>
                    <label class="flex items-center gap-1"><input type="checkbox" name="sms" value="1" checked=q.sms />"SMS"</label>
                    <label class="flex items-center gap-1"><input type="checkbox" name="mms" value="1" checked=q.mms />"MMS"</label>
                </div></fieldset>
            <div class="md:col-span-4"><button type="submit" class="btn">"Search"</button></div>
        </form>
    }
}

#[component]
pub fn NumberDetailPage() -> impl IntoView {
    let outcome = StoredValue::new(page_outcome());
    let refresh = Refresh::provide();
    let org = org_param();
    let params = use_params_map();
    let id = Memo::new(move |_| {
        params.with(|p| p.get("id").and_then(|i| i.parse::<i64>().ok()).unwrap_or(0))
    });
    let data = crate::components::page_data(
        move || (org.get(), id.get(), refresh.0.get()),
        |(o, i, _)| load_number(o, i),
    );
    view! {
        <Loaded data show=move |d| view! { <NumberDetailView d outcome=outcome.get_value() /> } />
    }
}

#[component]
fn NumberDetailView(d: NumberPage, outcome: Option<FormOutcome>) -> impl IntoView {
    let n = d.number.clone();
    let save = ServerAction::<UpdateNumber>::new();
    let form = FormState::new(save, &outcome, None);
    let release = ServerAction::<ReleaseNumber>::new();
    let rform = FormState::new(release, &outcome, None);
    let slug = d.org.slug.clone();
    let editable = n.can_edit && n.status == NumberStatus::Active;
    let can_release =
        n.can_edit && matches!(n.status, NumberStatus::Active | NumberStatus::Releasing);
    view! {
        <Title text=format!("{} · Numbers", n.e164) />
        <p><a class="link" href=format!("/o/{slug}/numbers")>"← Numbers"</a></p>
        <h1 class="mt-2 text-2xl font-semibold tabular-nums">{n.shown.clone()}</h1>
        {(n.shown != n.e164).then(|| view! { <p class="muted text-sm tabular-nums">{n.e164.clone()}</p> })}
        <p class="muted">{n.status_label()} " · " {n.monthly.clone()} " a month · owner " {n.owner.clone()}
            {n.purchased.clone().map(|p| format!(" · bought {p}"))}</p>
        <p class="mt-1 flex gap-4 text-sm">
            <a class="link" href=format!("/o/{slug}/calls?number={}", n.id)>"Calls on this number"</a>
            {(editable && n.active).then(|| view! { <a class="link" href=format!("/o/{slug}/calls/new")>"Place a call"</a> })}
        </p>
        <Notice />
        {n.last_error.clone().map(|e| view! { <p class="readonly-banner" role="note">{e}</p> })}
        {d.org.access.read_only().then(|| view! { <ReadOnlyBanner /> })}
        {editable.then(|| settings_form(save, form, &d))}
        {(editable && d.sandbox).then(|| simulate_inbound_form(&d, &outcome))}
        {can_release.then(|| release_form(release, rform, &d))}
    }
}

/// The number's settings: its name, where its calls are forwarded, and its switches.
fn settings_form(
    save: ServerAction<UpdateNumber>,
    form: FormState,
    d: &NumberPage,
) -> impl IntoView {
    let n = d.number.clone();
    let slug = d.org.slug.clone();
    let forward_hint = format!(
        "Your own phone. Calls you place ring it first; empty takes voicemail. {}",
        crate::model::countries::phone_hint(&d.org)
    );
    let check = |name: &'static str, label: &'static str, on: bool| {
        view! {
            <label class="flex items-center gap-2 text-sm">
                <input type="checkbox" name=name value="on" checked=on />{label}
            </label>
        }
    };
    view! {
        <ActionForm action=save attr:class="card mt-4 max-w-xl space-y-3" attr:aria-label="Number settings">
            <input type="hidden" name="org" value=slug.clone() />
            <input type="hidden" name="id" value=n.id.to_string() />
            <Field form label="Name" name="friendly_name" value=n.friendly_name.clone() />
            <Field form label="Forward calls to" name="forward_to" value=n.forward_to.clone()
                hint=forward_hint />
            <div class="space-y-1">
                {check("active", "Active (can place and receive calls)", n.active)}
                {check("record_calls", "Record calls", n.record_calls)}
                {check("shared", "Share with the whole org (team number)", n.shared)}
            </div>
            <FormError form />
            <button type="submit" class="btn">"Save"</button>
        </ActionForm>
    }
}

/// The sandbox's form that plays someone calling or texting the number.
fn simulate_inbound_form(d: &NumberPage, outcome: &Option<FormOutcome>) -> impl IntoView {
    let sim = ServerAction::<SimulateInbound>::new();
    let sform = FormState::new(sim, outcome, None);
    let from_error = sform.field_error("from");
    let body_error = sform.field_error("body");
    let slug = d.org.slug.clone();
    let id = d.number.id;
    view! {
        <ActionForm action=sim attr:class="card mt-6 max-w-xl space-y-3" attr:aria-label="Simulate inbound">
            <h2 class="font-semibold">"Try it with the sandbox"</h2>
            <p class="text-sm muted">"The sandbox plays someone calling or texting this number: it reaches PhoneHub's webhooks exactly as Twilio would."</p>
            <input type="hidden" name="org" value=slug />
            <input type="hidden" name="id" value=id.to_string() />
            <div class="field"><label class="label" for="sim-from">"From"</label>
                <input class="input" id="sim-from" name="from" type="text" inputmode="tel" value="+12125550100" aria-describedby="sim-from-hint sim-from-error" />
                <p id="sim-from-hint" class="hint">"A number, or “anonymous” for a caller who hides theirs."</p>
                <p id="sim-from-error" class="field-error" role="alert">{move || from_error.get()}</p></div>
            <div class="field"><label class="label" for="sim-body">"SMS text"</label>
                <input class="input" id="sim-body" name="body" value="Hi, is this the front desk?" maxlength="1600" aria-describedby="sim-body-error" />
                <p id="sim-body-error" class="field-error" role="alert">{move || body_error.get()}</p></div>
            <FormError form=sform />
            <div class="flex gap-3">
                <button type="submit" class="btn-secondary" name="kind" value="call">"Simulate an incoming call"</button>
                <button type="submit" class="btn-secondary" name="kind" value="sms">"Simulate an incoming SMS"</button>
            </div>
        </ActionForm>
    }
}

/// The form that gives the number back to the provider, once its box is ticked.
fn release_form(
    release: ServerAction<ReleaseNumber>,
    rform: FormState,
    d: &NumberPage,
) -> impl IntoView {
    let confirm_error = rform.field_error("confirm");
    let slug = d.org.slug.clone();
    let id = d.number.id;
    let e164 = d.number.e164.clone();
    view! {
        <ActionForm action=release attr:class="card mt-6 max-w-xl space-y-3 border-red-200" attr:aria-label="Release number">
            <h2 class="font-semibold">"Release this number"</h2>
            <p class="text-sm">"The number goes back to the provider and billing stops. It cannot be got back."</p>
            <input type="hidden" name="org" value=slug.clone() />
            <input type="hidden" name="id" value=id.to_string() />
            <label class="flex items-center gap-2 text-sm">
                <input type="checkbox" name="confirm" value="yes" aria-describedby="confirm-error" />
                {format!("Yes, release {}", e164)}
            </label>
            <p id="confirm-error" class="field-error" role="alert">{move || confirm_error.get()}</p>
            <FormError form=rform />
            <button type="submit" class="btn-danger">"Release number"</button>
        </ActionForm>
    }
}

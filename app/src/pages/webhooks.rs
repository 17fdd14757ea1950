//! `/o/:org/admin/webhooks`: the org's webhook endpoints (a link to each one's delivery log), for
//! owners and admins the form that adds one (its signing secret shown once, JavaScript on or off)
//! and buttons that turn one off or on and delete it; and `/o/:org/admin/webhooks/:id`, the
//! delivery log of one.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::org_param;
use crate::api::org_webhooks::{
    load_webhook_log, load_webhooks, CreateWebhook, DeleteWebhook, SetWebhookActive,
};
use crate::components::{
    page_outcome, page_shown_once, ActionForm, Field, FormError, FormOutcome, FormState, Loaded,
    Notice, ReadOnlyBanner, Refresh,
};
use crate::model::alerts::{
    AttemptView, DeliveryState, DeliveryView, NewWebhook, WebhookLogPage as LogData, WebhookView,
    WebhooksPage as Data, MAX_WEBHOOKS,
};

#[component]
pub fn WebhooksPage() -> impl IntoView {
    let outcome = StoredValue::new(page_outcome());
    let shown = StoredValue::new(page_shown_once::<CreateWebhook>());
    let refresh = Refresh::provide();
    let org = org_param();
    let data = crate::components::page_data(
        move || (org.get(), refresh.0.get()),
        |(o, _)| load_webhooks(o),
    );
    // One action for the page, made once: its answer (the secret) outlives the list's reload.
    let create = ServerAction::<CreateWebhook>::new();
    let form = FormState::new(create, &outcome.get_value(), None);
    view! {
        <Loaded data show=move |d| view! {
            <WebhooksView d outcome=outcome.get_value() shown=shown.get_value() create form />
        } />
    }
}

#[component]
fn WebhooksView(
    d: Data,
    outcome: Option<FormOutcome>,
    shown: Option<NewWebhook>,
    create: ServerAction<CreateWebhook>,
    form: FormState,
) -> impl IntoView {
    let manage = d.can_manage;
    let slug = d.org.slug.clone();
    let rows = d
        .webhooks
        .iter()
        .cloned()
        .map(|w| view! { <WebhookRow w slug=slug.clone() manage outcome=outcome.clone() /> })
        .collect_view();
    let empty = d.webhooks.is_empty();
    let new_one = move || {
        create
            .value()
            .get()
            .and_then(|r| r.ok())
            .or_else(|| shown.clone())
    };
    let full = d.webhooks.len() as i64 >= MAX_WEBHOOKS;
    view! {
        <Title text=format!("Webhooks · {}", d.org.name) />
        <h1 class="text-2xl font-semibold">"Webhooks of " {d.org.name.clone()}</h1>
        <p class="muted mt-1 max-w-3xl text-sm">
            "PhoneHub POSTs each event (such as a budget passing one of its alert thresholds) as JSON to every active endpoint, signed with that endpoint's secret. "
            "A delivery that is not answered with a 2xx status is tried again for a day."
        </p>
        <Notice />
        {d.org.access.read_only().then(|| view! { <ReadOnlyBanner /> })}
        {move || new_one().map(|w| view! { <NewSecretPanel w /> })}
        <div class="card mt-4 overflow-x-auto p-0">
            <table class="table">
                <caption class="sr-only">"Webhook endpoints"</caption>
                <thead>
                    <tr>
                        <th scope="col">"URL"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Added"</th>
                        <th scope="col">"Deliveries"</th>
                        {manage.then(|| view! { <th scope="col"><span class="sr-only">"Actions"</span></th> })}
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            {empty.then(|| view! { <p class="muted p-4">"No webhooks yet: events reach people in the app and by e-mail only."</p> })}
        </div>
        {manage.then(|| view! { <AddForm d=d.clone() create form full /> })}
        <VerifyHelp />
    }
}

/// The secret of the endpoint just added: shown this once.
#[component]
fn NewSecretPanel(w: NewWebhook) -> impl IntoView {
    view! {
        <section class="card mt-4 border-emerald-300 bg-emerald-50" role="status" aria-labelledby="new-secret-heading">
            <h2 id="new-secret-heading" class="text-lg font-semibold">"Webhook added: " <span class="break-all">{w.webhook.url.clone()}</span></h2>
            <p class="mt-1 text-sm">"Copy its signing secret now: PhoneHub keeps it encrypted and cannot show it again. Your endpoint checks each delivery with it (see “How to verify” below)."</p>
            <label class="label mt-3" for="new-secret">"Signing secret"</label>
            <input id="new-secret" class="input font-mono" readonly value=w.secret.clone() />
        </section>
    }
}

/// How a receiver checks a delivery.
#[component]
fn VerifyHelp() -> impl IntoView {
    view! {
        <section class="card mt-6 max-w-3xl" aria-labelledby="verify-heading">
            <h2 id="verify-heading" class="text-lg font-semibold">"How to verify"</h2>
            <p class="mt-1 text-sm">
                "Each delivery carries the header " <code>"PhoneHub-Signature: t=<unix seconds>,v1=<hex>"</code>
                ", where " <code>"v1"</code> " is the HMAC-SHA256, keyed with the endpoint's secret, of "
                <code>"<t>.<raw body>"</code> " (the timestamp, a dot, and the body exactly as received)."
            </p>
            <ul class="mt-2 list-disc space-y-1 pl-5 text-sm">
                <li>"Compute the HMAC yourself and compare it with " <code>"v1"</code> " in constant time."</li>
                <li>"Reject the delivery if " <code>"t"</code> " is more than 300 seconds from your clock."</li>
                <li>"Reject it if you have seen its " <code>"PhoneHub-Event-Id"</code> " before (a retry of one you accepted)."</li>
            </ul>
        </section>
    }
}

#[component]
fn WebhookRow(
    w: WebhookView,
    slug: String,
    manage: bool,
    outcome: Option<FormOutcome>,
) -> impl IntoView {
    let id = w.id.to_string();
    let (slug_a, id_a, url) = (slug.clone(), id.clone(), w.url.clone());
    let actions = manage.then(move || {
        let (slug, id) = (slug_a, id_a);
        let toggle = ServerAction::<SetWebhookActive>::new();
        let toggle_form = FormState::new(toggle, &outcome, Some(("id", id.clone())));
        let delete = ServerAction::<DeleteWebhook>::new();
        let delete_form = FormState::new(delete, &outcome, Some(("id", id.clone())));
        let (next, verb) = if w.active { ("false", "Turn off") } else { ("true", "Turn on") };
        let (slug2, id2, url2) = (slug.clone(), id.clone(), url.clone());
        view! {
            <td class="whitespace-nowrap">
                <div class="flex flex-wrap gap-2">
                    <ActionForm action=toggle>
                        <input type="hidden" name="org" value=slug.clone() />
                        <input type="hidden" name="id" value=id.clone() />
                        <input type="hidden" name="active" value=next />
                        <button type="submit" class="btn-secondary" aria-label=format!("{verb} {url}")
                            disabled=move || toggle_form.pending.get()>{verb}</button>
                        <FormError form=toggle_form />
                    </ActionForm>
                    <ActionForm action=delete>
                        <input type="hidden" name="org" value=slug2.clone() />
                        <input type="hidden" name="id" value=id2.clone() />
                        <button type="submit" class="btn-danger" aria-label=format!("Delete {url2}")
                            disabled=move || delete_form.pending.get()>"Delete"</button>
                        <FormError form=delete_form />
                    </ActionForm>
                </div>
            </td>
        }
    });
    let status = if w.active {
        view! { <span class="badge bg-emerald-50 text-emerald-800">"Active"</span> }.into_any()
    } else {
        view! { <span class="badge">"Off"</span> }.into_any()
    };
    view! {
        <tr>
            <td class="break-all font-mono text-xs">{w.url.clone()}</td>
            <td>{status}</td>
            <td class="muted text-xs">{w.created.clone()} {w.created_by.clone().map(|b| format!(" by {b}"))}</td>
            <td><a class="link" href=format!("/o/{slug}/admin/webhooks/{id}")>"Delivery log"</a></td>
            {actions}
        </tr>
    }
}

#[component]
fn AddForm(
    d: Data,
    create: ServerAction<CreateWebhook>,
    form: FormState,
    full: bool,
) -> impl IntoView {
    let hint = if d.http_allowed {
        "The https:// address PhoneHub POSTs events to (http:// too, in development)."
    } else {
        "The https:// address PhoneHub POSTs events to, on the public internet."
    };
    view! {
        <section class="card mt-6 max-w-xl" aria-labelledby="add-webhook-heading">
            <h2 id="add-webhook-heading" class="text-lg font-semibold">"Add a webhook"</h2>
            <p class="muted mt-1 text-sm">{format!("An org can have up to {MAX_WEBHOOKS} endpoints.")}</p>
            {full.then(|| view! { <p class="form-error mt-2" role="note">"This org has as many endpoints as it can: delete one to add another."</p> })}
            <ActionForm action=create>
                <div class="mt-4 space-y-4">
                    <input type="hidden" name="org" value=d.org.slug.clone() />
                    <Field form label="Endpoint URL" name="url" id="webhook-url".to_string() kind="url" required=true hint=hint />
                    <FormError form />
                    <button type="submit" class="btn" disabled=move || form.pending.get()>"Add webhook"</button>
                </div>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn WebhookLogPage() -> impl IntoView {
    let org = org_param();
    let params = use_params_map();
    let id = Memo::new(move |_| {
        params.with(|p| p.get("id").and_then(|i| i.parse::<i64>().ok()).unwrap_or(0))
    });
    let data = crate::components::page_data(
        move || (org.get(), id.get()),
        |(o, i)| load_webhook_log(o, i),
    );
    view! { <Loaded data show=move |d| view! { <LogView d /> } /> }
}

#[component]
fn LogView(d: LogData) -> impl IntoView {
    let slug = d.org.slug.clone();
    let items = d
        .deliveries
        .iter()
        .cloned()
        .map(|x| view! { <DeliveryItem x /> })
        .collect_view();
    let empty = d.deliveries.is_empty();
    let state = if d.webhook.active { "Active" } else { "Off" };
    view! {
        <Title text=format!("Delivery log · Webhooks · {}", d.org.name) />
        <p><a class="link" href=format!("/o/{slug}/admin/webhooks")>"← Webhooks"</a></p>
        <h1 class="mt-2 text-2xl font-semibold">"Delivery log"</h1>
        <p class="mt-1 break-all font-mono text-sm">{d.webhook.url.clone()}</p>
        <p class="muted text-sm">{state} " · added " {d.webhook.created.clone()} " · the newest 100 deliveries, newest first"</p>
        {d.org.access.read_only().then(|| view! { <ReadOnlyBanner /> })}
        {empty.then(|| view! { <p class="card muted mt-4">"Nothing has been sent to this endpoint yet."</p> })}
        <ul class="mt-4 space-y-3" aria-label="Deliveries">{items}</ul>
    }
}

#[component]
fn DeliveryItem(x: DeliveryView) -> impl IntoView {
    let badge = match x.state {
        DeliveryState::Delivered => "badge bg-emerald-50 text-emerald-800",
        DeliveryState::Failed => "badge bg-red-50 text-red-800",
        DeliveryState::Pending => "badge bg-amber-50 text-amber-800",
    };
    let tries = x
        .tries
        .iter()
        .cloned()
        .map(|a| view! { <AttemptItem a /> })
        .collect_view();
    let count = match x.attempts {
        1 => "1 try".to_string(),
        n => format!("{n} tries"),
    };
    view! {
        <li class="card">
            <div class="flex flex-wrap items-baseline justify-between gap-2">
                <h2 class="font-semibold"><code>{x.event.clone()}</code> " " <span class=badge>{x.state.label()}</span></h2>
                <time class="muted text-xs tabular-nums" datetime=x.created_iso.clone()>{x.created.clone()}</time>
            </div>
            <p class="muted mt-1 text-xs">"Event id " <code>{x.event_id.clone()}</code> " · " {count}</p>
            <ol class="mt-2 space-y-2">{tries}</ol>
        </li>
    }
}

/// One try: when, the receiver's status or why there was none, and the start of its answer as
/// plain text (it is the receiver's, untrusted: escaped, never markup).
#[component]
fn AttemptItem(a: AttemptView) -> impl IntoView {
    let outcome = match (a.status, &a.error) {
        (Some(s), _) => format!("HTTP {s}"),
        (None, Some(e)) => e.clone(),
        (None, None) => "No answer".to_string(),
    };
    let excerpt = (!a.excerpt.is_empty()).then(|| {
        view! {
            <pre class="mt-1 max-h-40 overflow-auto whitespace-pre-wrap break-all rounded bg-slate-100 p-2 text-xs">{a.excerpt.clone()}</pre>
        }
    });
    view! {
        <li class="border-l-2 border-slate-200 pl-3 text-sm">
            <span class="tabular-nums">{format!("Try {} · ", a.n)}</span>
            <time class="tabular-nums" datetime=a.at_iso.clone()>{a.at.clone()}</time>
            " · " <span>{outcome}</span>
            {excerpt}
        </li>
    }
}

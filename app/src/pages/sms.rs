//! `/o/:org/sms`: conversations, one open thread (where a text scheduled for its recipient's
//! quiet hours can be canceled), and the send form with a live segment count.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_location;

use super::org_param;
use crate::api::sms::{load_sms, CancelMessage, SendSms};
use crate::components::{
    page_outcome, poll_while, ActionForm, FormError, FormOutcome, FormState, Loaded, Notice,
    ReadOnlyBanner,
};
use crate::model::message_status::MessageStatus;
use crate::model::money::Money;
use crate::model::sms::*;

#[component]
pub fn SmsPage() -> impl IntoView {
    let outcome = StoredValue::new(page_outcome());
    let org = org_param();
    let loc = use_location();
    let params = Memo::new(move |_| loc.search.get());
    let tick = RwSignal::new(0u32);
    let data = crate::components::page_data(
        move || (org.get(), params.get(), tick.get()),
        |(o, p, _)| load_sms(o, p),
    );
    // With JavaScript, an open thread refreshes its delivery statuses every few seconds.
    poll_while(
        data,
        |d| {
            d.thread
                .as_ref()
                .is_some_and(|(_, _, m)| m.iter().any(|m| !m.is_test && m.status.rank() < 3))
        },
        std::time::Duration::from_millis(1500),
        tick,
    );
    view! {
        <Loaded data show=move |d| view! { <SmsView d outcome=outcome.get_value() /> } />
    }
}

#[component]
fn SmsView(d: SmsPage, outcome: Option<FormOutcome>) -> impl IntoView {
    let slug = d.org.slug.clone();
    let (open_our, open_with) = d
        .thread
        .as_ref()
        .map(|(o, w, _)| (o.clone(), w.clone()))
        .unwrap_or_default();
    let no_senders = d.senders.is_empty();
    let thread = d.thread.clone().map(|(our, with, messages)| {
        view! { <Thread slug=slug.clone() our with messages outcome=outcome.clone() /> }
    });
    view! {
        <Title text=format!("SMS · {}", d.org.name) />
        <h1 class="text-2xl font-semibold">"SMS"</h1>
        <Notice />
        {d.org.access.read_only().then(|| view! { <ReadOnlyBanner /> })}
        {d.test_mode.then(|| view! {
            <p class="readonly-banner" role="note">"Test mode is on for this org's phone configuration: messages are recorded as tests and not sent."</p>
        })}
        <div class="mt-4 grid gap-6 md:grid-cols-[18rem_1fr]">
            <Conversations slug=slug.clone() conversations=d.conversations.clone()
                open_our=open_our.clone() open_with=open_with.clone() />
            <div>
                {thread}
                {d.opted_out.clone().map(|why| view! {
                    <p class="readonly-banner mt-3" role="note" data-testid="opted-out">{why}</p>
                })}
                <p class="muted mt-4 text-sm" data-testid="quiet-hours">{d.quiet.clone()}</p>
                {(d.can_send && no_senders).then(|| view! {
                    <p class="readonly-banner" role="note">"You have no SMS-capable number to send from. "
                        <a class="link" href=format!("/o/{slug}/numbers/buy?search=1&sms=1")>"Buy one"</a>
                        ", or ask an admin to set the org's sender in Phone config."</p>
                })}
                {(d.can_send && !no_senders).then(|| view! {
                    <SendForm slug=slug.clone() senders=d.senders.clone() segment=Money::from_micros(d.segment_micros)
                        outcome=outcome.clone() open_our=open_our.clone() open_with=open_with.clone()
                        may_send_urgent=d.may_send_urgent />
                })}
            </div>
        </div>
    }
}

/// The org's conversations the user may see, newest first; the open one is marked.
#[component]
fn Conversations(
    slug: String,
    conversations: Vec<Conversation>,
    open_our: String,
    open_with: String,
) -> impl IntoView {
    let none = conversations.is_empty();
    let items = conversations
        .iter()
        .map(|c| {
            let q = c.thread_query();
            let current = c.our == open_our && c.other == open_with;
            view! {
                <li>
                    <a class="block rounded-md px-3 py-2 hover:bg-slate-100" class=("bg-indigo-50", current)
                        href=format!("/o/{slug}/sms?{q}") aria-current=current.then_some("page")>
                        <span class="flex justify-between gap-2 text-sm">
                            <span class="font-medium tabular-nums">{c.other_shown.clone()}</span>
                            <span class="muted text-xs">{c.last_at.clone()}</span>
                        </span>
                        <span class="muted block text-xs">"via "{c.our.clone()}" · "{c.count}" message"{if c.count == 1 { "" } else { "s" }}</span>
                        <span class="block truncate text-sm">{if c.last_direction == "inbound" { "← " } else { "→ " }}{c.last_body.clone()}</span>
                    </a>
                </li>
            }
        })
        .collect_view();
    view! {
        <nav aria-label="Conversations" class="card p-2">
            <ul class="space-y-1">{items}</ul>
            {none.then(|| view! { <p class="muted p-2 text-sm">"No messages yet."</p> })}
        </nav>
    }
}

/// One conversation's messages, oldest first, with their delivery status and cost; a text
/// scheduled for its recipient's quiet hours says when it goes, and can be canceled until then.
#[component]
fn Thread(
    slug: String,
    our: String,
    with: String,
    messages: Vec<MessageView>,
    outcome: Option<FormOutcome>,
) -> impl IntoView {
    let items = messages
        .into_iter()
        .map(|m| {
            let out = m.direction == "outbound";
            let goes_at = m
                .send_after
                .clone()
                .filter(|_| m.status == MessageStatus::Scheduled)
                .map(|at| format!(" · goes at {at}"));
            let cancel = m.can_cancel.then(|| {
                view! { <CancelForm slug=slug.clone() id=m.id outcome=outcome.clone() /> }
            });
            view! {
                <li class="flex" class=("justify-end", out) data-testid="message">
                    <div class="max-w-md rounded-lg px-3 py-2 text-sm shadow-sm"
                        class=("bg-indigo-600", out) class=("text-white", out) class=("bg-white", !out)>
                        <p class="whitespace-pre-wrap break-words">{m.body.clone()}</p>
                        <p class="mt-1 text-xs opacity-80">
                            {m.at.clone()}" · "
                            <span data-testid="message-status">{status_label(m.status, m.is_test)}</span>
                            {goes_at}
                            {out.then(|| format!(" · {} segment{} · {}", m.segments, if m.segments == 1 { "" } else { "s" }, m.cost))}
                            {(out && !m.user.is_empty()).then(|| format!(" · {}", m.user))}
                        </p>
                        {m.error.clone().map(|e| view! { <p class="mt-1 text-xs font-medium">{e}</p> })}
                        {cancel}
                    </div>
                </li>
            }
        })
        .collect_view();
    view! {
        <section class="card mt-4" aria-label="Conversation">
            <h2 class="font-semibold tabular-nums">{with}<span class="muted font-normal">" · via "{our}</span></h2>
            <ol class="mt-3 space-y-2">{items}</ol>
        </section>
    }
}

/// Cancels a scheduled text before its recipient's window opens: it is never sent.
#[component]
fn CancelForm(slug: String, id: i64, outcome: Option<FormOutcome>) -> impl IntoView {
    let cancel = ServerAction::<CancelMessage>::new();
    let key = id.to_string();
    let form = FormState::new(cancel, &outcome, Some(("id", key.clone())));
    view! {
        <ActionForm action=cancel attr:class="mt-2" attr:aria-label="Cancel scheduled text">
            <input type="hidden" name="org" value=slug />
            <input type="hidden" name="id" value=key />
            <button type="submit" class="btn-secondary text-xs" disabled=move || form.pending.get()>"Cancel"</button>
            <FormError form />
        </ActionForm>
    }
}

/// The send form, with the live segment count and estimate (`segment`: the price of one), and
/// for those who may, marking the text urgent (it goes even in the recipient's quiet hours).
#[component]
fn SendForm(
    slug: String,
    senders: Vec<Sender>,
    segment: Money,
    outcome: Option<FormOutcome>,
    open_our: String,
    open_with: String,
    may_send_urgent: bool,
) -> impl IntoView {
    let send = ServerAction::<SendSms>::new();
    let form = FormState::new(send, &outcome, None);
    let body_initial = form.initial("body").unwrap_or_default();
    let body = RwSignal::new(body_initial.clone());
    let count = move || {
        let s = segments(&body.get());
        format!(
            "{} · estimated {}",
            s.describe(),
            segment.times(s.count as i64)
        )
    };
    let from_initial = form.initial("from").unwrap_or(open_our);
    let to_initial = form.initial("to").unwrap_or(open_with);
    let from_error = form.field_error("from");
    let to_error = form.field_error("to");
    let body_error = form.field_error("body");
    // Its error shows even without the box: permission can be taken away after the page loaded.
    let urgent_error = form.field_error("urgent");
    let urgent_initial = form.initial("urgent").as_deref() == Some("on");
    let urgent = may_send_urgent.then(|| {
        view! {
            <label for="urgent" class="flex items-center gap-2 text-sm font-medium">
                <input id="urgent" type="checkbox" name="urgent" value="on" checked=urgent_initial
                    aria-describedby="urgent-hint urgent-error" />
                "Urgent: send now even in their quiet hours"
            </label>
            <p id="urgent-hint" class="hint">"For what cannot wait. Urgent texts are noted in the audit log."</p>
        }
    });
    let senders = senders
        .iter()
        .map(|s| view! { <option value=s.e164.clone() selected=s.e164 == from_initial>{s.label.clone()}</option> })
        .collect_view();
    view! {
        <ActionForm action=send attr:class="card mt-4 space-y-3" attr:aria-label="Send SMS">
            <input type="hidden" name="org" value=slug />
            <div class="grid gap-3 md:grid-cols-2">
                <div class="field">
                    <label class="label" for="from">"From"</label>
                    <select class="input" id="from" name="from" aria-describedby="from-error">{senders}</select>
                    <p id="from-error" class="field-error" role="alert">{move || from_error.get()}</p>
                </div>
                <div class="field">
                    <label class="label" for="to">"To"</label>
                    <input class="input" id="to" name="to" type="tel" value=to_initial
                        aria-describedby="to-error" aria-invalid=move || if to_error.with(|e| e.is_some()) { "true" } else { "false" } />
                    <p id="to-error" class="field-error" role="alert">{move || to_error.get()}</p>
                </div>
            </div>
            <div class="field">
                <label class="label" for="body">"Message"</label>
                <textarea class="input min-h-24" id="body" name="body" maxlength="1600"
                    aria-describedby="body-count body-error"
                    aria-invalid=move || if body_error.with(|e| e.is_some()) { "true" } else { "false" }
                    prop:value=move || body.get()
                    on:input=move |ev| body.set(event_target_value(&ev))>{body_initial}</textarea>
                <p id="body-count" class="hint" data-testid="segments">{count}</p>
                <p class="hint">"160 characters per SMS (153 each when split); any character outside GSM-7, such as an emoji, makes it 70 (67)."</p>
                <p id="body-error" class="field-error" role="alert">{move || body_error.get()}</p>
            </div>
            <div class="field">
                {urgent}
                <p id="urgent-error" class="field-error" role="alert">{move || urgent_error.get()}</p>
            </div>
            <FormError form />
            <button type="submit" class="btn" disabled=move || form.pending.get()>"Send"</button>
        </ActionForm>
    }
}

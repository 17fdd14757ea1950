//! Small page panels: loading (and then the page or its error), errors, notices after a successful action, the read-only banner.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::error::AppError;

#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="muted">"Loading…"</p> }
}

/// A page's data while it loads, then `show` with it, or the error panel (titled "Error").
#[component]
pub fn Loaded<T, V, F>(data: crate::components::Data<Result<T, AppError>>, show: F) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    F: Fn(T) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    view! {
        <Suspense fallback=Loading>
            {move || {
                let show = show.clone();
                Suspend::new(async move {
                    match data.await {
                        Ok(d) => show(d).into_any(),
                        Err(e) => view! { <Title text="Error" /><ErrorPanel error=e /> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

#[component]
pub fn ErrorPanel(error: AppError) -> impl IntoView {
    let (title, body) = match &error {
        AppError::NotFound => (
            "Not found",
            "There is nothing here, or you do not have access to it.".to_string(),
        ),
        AppError::Unauthenticated => ("Please log in", error.to_string()),
        AppError::Forbidden(_) | AppError::DestinationRefused(_) | AppError::OptedOut(_) => {
            ("Not allowed", error.to_string())
        }
        AppError::Unavailable | AppError::Network => ("Temporarily unavailable", error.to_string()),
        _ => ("Something went wrong", error.to_string()),
    };
    let login = matches!(error, AppError::Unauthenticated);
    view! {
        <section class="card error-panel" role="alert">
            <h1 class="text-xl font-semibold">{title}</h1>
            <p class="mt-2">{body}</p>
            {login.then(|| view! { <p class="mt-3"><a class="link" href="/login">"Go to the login page"</a></p> })}
            {(!login).then(|| view! { <p class="mt-3"><a class="link" href="/">"Back to PhoneHub"</a></p> })}
        </section>
    }
}

fn notice_text(key: &str) -> Option<&'static str> {
    Some(match key {
        "member-added" => "Member added.",
        "invitation-sent" => "Invitation sent: they become a member once they accept it.",
        "invitation-revoked" => "Invitation revoked: it can no longer be accepted.",
        "invitation-accepted" => "Invitation accepted: welcome to the org.",
        "invitation-declined" => "Invitation declined.",
        "org-left" => "You left the org.",
        "role-changed" => "Role changed.",
        "urgent-saved" => "Urgent texting permission saved.",
        "member-removed" => "Member removed.",
        "password-changed" => "Password changed. Your other sessions have been signed out.",
        "org-created" => "Org created.",
        "user-created" => "User created.",
        "flags-changed" => "Staff flags saved.",
        "config-saved" => "Phone configuration saved.",
        "number-bought" => "Number bought. It is yours until you release it.",
        "number-saved" => "Number settings saved.",
        "number-released" => "Number released: the provider confirmed it and billing stopped.",
        "release-pending" => "Release requested, but the provider did not confirm it yet. The number is shown as releasing (still billed) and PhoneHub keeps retrying.",
        "call-placed" => "Call placed: PhoneHub rings your phone first; answer it to be connected.",
        "sms-sent" => "Message sent. Its delivery status updates below.",
        "sms-held" => "Message held, not sent: texts to this destination are paused after too many in an hour. It goes out when an owner or admin resumes them under Admin → Destinations.",
        "sms-scheduled" => "Scheduled: it is quiet hours where they are, so the text goes when their window opens. You can cancel it until then.",
        "sms-canceled" => "Text canceled: it will not be sent.",
        "destinations-saved" => "Destination rules saved: they apply to the next call or text.",
        "destination-resumed" => "Sends resumed: the held texts are going out now, and the hour starts again.",
        "call-block-added" => "Added: the list applies to the next call.",
        "call-block-removed" => "Removed from the list.",
        "call-blocking-saved" => "Saved: the next call from a hidden number is treated this way.",
        "caller-blocked" => "Caller blocked: their next call is refused before it rings.",
        "opt-out-added" => "Added to the opt-out list: texts to this number are refused from now on.",
        "opt-out-removed" => "Removed from the opt-out list: texts to this number are allowed again.",
        "opt-out-replies-saved" => "Replies saved: the next STOP, START or HELP is answered with them.",
        "opt-outs-imported" => "Import done: every number in it is on the opt-out list (numbers already on it kept their entry).",
        "sim-call" => "The sandbox is calling your number: the call appears below and finishes in a few seconds.",
        "sim-sms" => "The sandbox sent your number an SMS: it is in this conversation.",
        "connection-ok" => "Connection works: the provider accepted these credentials.",
        "country-saved" => "Country saved: national numbers typed in this org are read in it from now on.",
        "time-zone-saved" => "Time zone saved: budgets' days and months and monthly statements follow it from now on.",
        "signing-key-added" => "Signing key added: webhooks Twilio signs with it are accepted.",
        "signing-key-removed" => "Signing key removed: webhooks signed with it are refused from now on.",
        "key-revoked" => "API key revoked: requests with it are refused from now on.",
        "budget-saved" => "Budget saved: it counts what was spent since its current period began.",
        "budget-deleted" => "Budget deleted: it no longer limits or alerts.",
        "budget-override" => "Override granted: the budget has that much more room until its current period ends.",
        "notifications-read" => "All notifications marked as read.",
        "notification-read" => "Notification marked as read.",
        "webhook-enabled" => "Webhook turned on: new events are sent to it, and deliveries waiting for it resume.",
        "webhook-disabled" => "Webhook turned off: nothing is sent to it until it is turned on again.",
        "webhook-deleted" => "Webhook deleted, with its delivery log.",
        _ => return None,
    })
}

/// Shows the `?notice=` message a successful action redirected with.
#[component]
pub fn Notice() -> impl IntoView {
    let query = use_query_map();
    let text = move || query.with(|q| q.get("notice").and_then(|k| notice_text(&k)));
    view! {
        <p class="notice" role="status" class:hidden=move || text().is_none()>{text}</p>
    }
}

/// A figure on a card: its label and value (`large` for a page's headline figures).
#[component]
pub fn Stat(label: &'static str, value: String, #[prop(optional)] large: bool) -> impl IntoView {
    view! {
        <div class="card">
            <dt class="muted text-sm">{label}</dt>
            <dd class="mt-1 font-semibold tabular-nums" class=("text-3xl", large) class=("text-2xl", !large)>{value}</dd>
        </div>
    }
}

#[component]
pub fn ReadOnlyBanner() -> impl IntoView {
    view! {
        <p class="readonly-banner" role="note">
            "Support view: read-only. You can see this org but not change anything."
        </p>
    }
}

/// A page whose URL filters did not check out: the message and the way back.
#[component]
pub fn FilterError(title: &'static str, message: String, back: &'static str) -> impl IntoView {
    view! {
        <leptos_meta::Title text=title />
        <h1 class="text-2xl font-semibold">{title}</h1>
        <p class="form-error mt-4" role="alert">{message}</p>
        <p class="mt-2"><a class="link" href="?">{back}</a></p>
    }
}

//! `/o/:org/notifications`: the visitor's newest notifications in the org (unread ones marked),
//! each with a button that marks it read, and one that marks them all (JavaScript on or off).

use leptos::prelude::*;
use leptos_meta::Title;

use super::org_param;
use crate::api::notifications::{
    load_notifications, MarkAllNotificationsRead, MarkNotificationRead,
};
use crate::components::{
    page_outcome, ActionForm, FormError, FormOutcome, FormState, Loaded, Notice, ReadOnlyBanner,
    Refresh,
};
use crate::model::alerts::{NotificationView, NotificationsPage as Data};

#[component]
pub fn NotificationsPage() -> impl IntoView {
    let outcome = StoredValue::new(page_outcome());
    let refresh = Refresh::provide();
    let org = org_param();
    let data = crate::components::page_data(
        move || (org.get(), refresh.0.get()),
        |(o, _)| load_notifications(o),
    );
    let mark_all = ServerAction::<MarkAllNotificationsRead>::new();
    let form = FormState::new(mark_all, &outcome.get_value(), None);
    view! {
        <Loaded data show=move |d| view! {
            <NotificationsView d outcome=outcome.get_value() mark_all form />
        } />
    }
}

#[component]
fn NotificationsView(
    d: Data,
    outcome: Option<FormOutcome>,
    mark_all: ServerAction<MarkAllNotificationsRead>,
    form: FormState,
) -> impl IntoView {
    let read_only = d.org.access.read_only();
    let slug = d.org.slug.clone();
    let items = d
        .notifications
        .iter()
        .cloned()
        .map(|n| {
            view! { <NotificationItem n slug=slug.clone() can_mark=!read_only outcome=outcome.clone() /> }
        })
        .collect_view();
    let empty = d.notifications.is_empty();
    let summary = match d.unread {
        0 => "Nothing unread.".to_string(),
        1 => "1 unread.".to_string(),
        n => format!("{n} unread."),
    };
    view! {
        <Title text=format!("Notifications · {}", d.org.name) />
        <div class="flex flex-wrap items-baseline justify-between gap-2">
            <h1 class="text-2xl font-semibold">"Notifications in " {d.org.name.clone()}</h1>
            <p class="muted text-sm" data-testid="unread-summary">{summary}</p>
        </div>
        <p class="muted mt-1 max-w-3xl text-sm">
            "Yours alone: budget alerts and other news of this org, newest first (the last 100)."
        </p>
        <Notice />
        {read_only.then(|| view! { <ReadOnlyBanner /> })}
        {(!read_only && d.unread > 0).then(|| view! {
            <ActionForm action=mark_all attr:class="mt-4">
                <input type="hidden" name="org" value=d.org.slug.clone() />
                <button type="submit" class="btn-secondary" disabled=move || form.pending.get()>"Mark all as read"</button>
                <FormError form />
            </ActionForm>
        })}
        {empty.then(|| view! { <p class="card muted mt-4">"No notifications yet."</p> })}
        <ul class="mt-4 space-y-3" aria-label="Notifications">{items}</ul>
    }
}

#[component]
fn NotificationItem(
    n: NotificationView,
    slug: String,
    can_mark: bool,
    outcome: Option<FormOutcome>,
) -> impl IntoView {
    let unread = n.unread;
    let mark = (can_mark && unread).then(|| {
        let action = ServerAction::<MarkNotificationRead>::new();
        let id = n.id.to_string();
        let form = FormState::new(action, &outcome, Some(("id", id.clone())));
        let label = format!("Mark “{}” as read", n.title);
        view! {
            <ActionForm action>
                <input type="hidden" name="org" value=slug.clone() />
                <input type="hidden" name="id" value=id />
                <button type="submit" class="btn-secondary text-xs" aria-label=label disabled=move || form.pending.get()>"Mark as read"</button>
                <FormError form />
            </ActionForm>
        }
    });
    let link = n.link.clone().map(|href| {
        view! { <a class="link text-sm" href=href>"Open →"</a> }
    });
    let class = if unread {
        "card border-l-4 border-l-sky-500"
    } else {
        "card"
    };
    view! {
        <li class=class data-unread=if unread { "true" } else { "false" }>
            <div class="flex flex-wrap items-baseline justify-between gap-2">
                <h2 class="font-semibold">
                    {unread.then(|| view! { <span class="badge mr-2 bg-sky-50 text-sky-800">"Unread"</span> })}
                    {n.title.clone()}
                </h2>
                <time class="muted text-xs tabular-nums" datetime=n.created_iso.clone()>{n.created.clone()}</time>
            </div>
            <p class="mt-2 whitespace-pre-line text-sm">{n.body.clone()}</p>
            <div class="mt-2 flex flex-wrap items-center gap-4">{link} {mark}</div>
        </li>
    }
}

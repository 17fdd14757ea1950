//! The top bar: org switcher, role-aware links, the notifications bell, account and logout.

use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::api::auth::{get_me, Logout};
use crate::model::alerts::Bell;
use crate::model::{org_in_path, Me};

use super::form::ActionForm;

#[component]
pub fn Nav() -> impl IntoView {
    let location = use_location();
    let path = location.pathname;
    let search = location.search;
    // Keyed on the path so logging in or out (a navigation) refreshes the bar, and on the query
    // so an action's redirect back to its page (`?notice=…`) refreshes the bell.
    let me =
        crate::components::page_data(move || (path.get(), search.get()), |(p, _)| get_me(Some(p)));
    view! {
        <header class="topbar">
            <nav class="mx-auto flex max-w-6xl flex-wrap items-center gap-x-5 gap-y-2 px-4 py-3" aria-label="Main">
                <a href="/" class="brand">"PhoneHub"</a>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        match me.await {
                            Ok(Some(me)) => view! { <NavLinks me=me path=path.get_untracked() /> }.into_any(),
                            _ => view! { <a class="navlink ml-auto" href="/login">"Log in"</a> }.into_any(),
                        }
                    })}
                </Transition>
            </nav>
        </header>
    }
}

#[component]
fn NavLinks(me: Me, path: String) -> impl IntoView {
    let current = org_in_path(&path).or_else(|| me.orgs.first().map(|o| o.slug.clone()));
    let current_name = current
        .as_ref()
        .and_then(|s| me.orgs.iter().find(|o| &o.slug == s))
        .map(|o| o.name.clone());
    let logout = ServerAction::<Logout>::new();
    let bell = me
        .bell
        .clone()
        .filter(|b| current_name.is_some() && Some(&b.org) == current.as_ref())
        .map(|b| view! { <BellLink bell=b /> });
    let org_links = current
        .clone()
        .filter(|_| current_name.is_some())
        .map(|slug| {
            view! {
                <a class="navlink" href=format!("/o/{slug}")>"Dashboard"</a>
                <a class="navlink" href=format!("/o/{slug}/members")>"Members"</a>
                <a class="navlink" href=format!("/o/{slug}/numbers")>"Numbers"</a>
                <a class="navlink" href=format!("/o/{slug}/calls")>"Calls"</a>
                <a class="navlink" href=format!("/o/{slug}/sms")>"SMS"</a>
                <a class="navlink" href=format!("/o/{slug}/lookup")>"Lookup"</a>
                <a class="navlink" href=format!("/o/{slug}/statements")>"Statements"</a>
            }
        });
    let switcher = (!me.orgs.is_empty()).then(|| {
        let label = current_name
            .clone()
            .unwrap_or_else(|| "Choose an org".into());
        let items = me
            .orgs
            .iter()
            .map(|o| {
                let is_current = Some(&o.slug) == current.as_ref();
                view! {
                    <li>
                        <a
                            class="switcher-item"
                            href=format!("/o/{}", o.slug)
                            aria-current=if is_current { Some("page") } else { None }
                        >
                            {o.name.clone()}
                        </a>
                    </li>
                }
            })
            .collect_view();
        view! {
            <details class="switcher">
                <summary class="switcher-button" aria-label="Switch org">
                    <span class="sr-only">"Current org: "</span>
                    {label}
                    <span aria-hidden="true">" ▾"</span>
                </summary>
                <ul class="switcher-menu">{items}</ul>
            </details>
        }
    });
    view! {
        {switcher}
        {org_links}
        {me.is_superadmin.then(|| view! {
            <a class="navlink" href="/admin/orgs">"Orgs"</a>
            <a class="navlink" href="/admin/users">"Users"</a>
        })}
        {(me.is_support || me.is_superadmin).then(|| view! { <a class="navlink" href="/staff">"Staff"</a> })}
        {me.is_support.then(|| view! { <span class="badge">"Support"</span> })}
        <span class="ml-auto muted text-sm">{me.email.clone()}</span>
        {bell}
        <a class="navlink" href="/account">"Account"</a>
        <ActionForm action=logout>
            <button type="submit" class="btn-secondary">"Log out"</button>
        </ActionForm>
    }
}

/// The bell: a link to the org's notifications, with how many are unread.
#[component]
fn BellLink(bell: Bell) -> impl IntoView {
    let badge = (bell.unread > 0).then(|| {
        view! {
            <span class="ml-1 rounded-full bg-red-600 px-1.5 text-xs font-semibold text-white" aria-hidden="true">
                {bell.badge()}
            </span>
        }
    });
    view! {
        <a class="navlink inline-flex items-center" href=format!("/o/{}/notifications", bell.org)
            aria-label=bell.label() data-testid="bell">
            <span aria-hidden="true">"🔔"</span>
            {badge}
        </a>
    }
}

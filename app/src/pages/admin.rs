//! Superadmin pages: all orgs and all users.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::admin::{admin_orgs, admin_users, AdminCreateOrg, AdminCreateUser, AdminSetFlags};
use crate::components::{
    page_outcome, ActionForm, ErrorPanel, Field, FormError, FormOutcome, FormState, Loading,
    Notice, Refresh,
};
use crate::model::{AdminOrgRow, AdminUserRow};

#[component]
pub fn AdminOrgsPage() -> impl IntoView {
    let outcome = StoredValue::new(page_outcome());
    let refresh = Refresh::provide();
    let data = crate::components::page_data(move || refresh.0.get(), |_| admin_orgs());
    view! {
        <Title text="Orgs" />
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(rows) => view! { <OrgsView rows outcome=outcome.get_value() /> }.into_any(),
                    Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn OrgsView(rows: Vec<AdminOrgRow>, outcome: Option<FormOutcome>) -> impl IntoView {
    let create = ServerAction::<AdminCreateOrg>::new();
    let form = FormState::new(create, &outcome, None);
    view! {
        <h1 class="text-2xl font-semibold">"Orgs"</h1>
        <Notice />
        <div class="card mt-4 overflow-x-auto p-0">
            <table class="table">
                <thead><tr><th scope="col">"Name"</th><th scope="col">"URL name"</th><th scope="col">"Members"</th><th scope="col">"Created"</th></tr></thead>
                <tbody>
                    {rows.into_iter().map(|o| view! {
                        <tr>
                            <td><a class="link" href=format!("/o/{}", o.slug)>{o.name}</a></td>
                            <td class="font-mono text-sm">{o.slug}</td>
                            <td class="tabular-nums">{o.members}</td>
                            <td class="muted tabular-nums">{o.created}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        <section class="card mt-6 max-w-xl">
            <h2 class="text-lg font-semibold">"Create an org"</h2>
            <ActionForm action=create>
                <div class="mt-4 space-y-4">
                    <Field form label="Name" name="name" required=true />
                    <Field form label="URL name" name="slug" required=true hint="Lower-case letters, digits and dashes; used in /o/<name>." />
                    <Field form label="Owner's e-mail" name="owner_email" kind="email" required=true />
                    <FormError form />
                    <button type="submit" class="btn">"Create org"</button>
                </div>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn AdminUsersPage() -> impl IntoView {
    let outcome = StoredValue::new(page_outcome());
    let refresh = Refresh::provide();
    let data = crate::components::page_data(move || refresh.0.get(), |_| admin_users());
    view! {
        <Title text="Users" />
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(rows) => view! { <UsersView rows outcome=outcome.get_value() /> }.into_any(),
                    Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn UsersView(rows: Vec<AdminUserRow>, outcome: Option<FormOutcome>) -> impl IntoView {
    let create = ServerAction::<AdminCreateUser>::new();
    let form = FormState::new(create, &outcome, None);
    let rows = rows
        .into_iter()
        .map(|u| view! { <UserRowView u outcome=outcome.clone() /> })
        .collect_view();
    view! {
        <h1 class="text-2xl font-semibold">"Users"</h1>
        <Notice />
        <div class="card mt-4 overflow-x-auto p-0">
            <table class="table">
                <thead><tr><th scope="col">"E-mail"</th><th scope="col">"Name"</th><th scope="col">"Orgs"</th><th scope="col">"Staff flags"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        <section class="card mt-6 max-w-xl">
            <h2 class="text-lg font-semibold">"Create a user"</h2>
            <ActionForm action=create>
                <div class="mt-4 space-y-4">
                    <Field form label="E-mail" name="email" kind="email" required=true />
                    <Field form label="Name" name="name" />
                    <Field form label="Initial password" name="password" kind="password" autocomplete="new-password" required=true hint="At least 10 characters." />
                    <FormError form />
                    <button type="submit" class="btn">"Create user"</button>
                </div>
            </ActionForm>
        </section>
    }
}

#[component]
fn UserRowView(u: AdminUserRow, outcome: Option<FormOutcome>) -> impl IntoView {
    let set = ServerAction::<AdminSetFlags>::new();
    let form = FormState::new(set, &outcome, Some(("user_id", u.id.to_string())));
    let sid = format!("support-{}", u.id);
    let aid = format!("superadmin-{}", u.id);
    let (sid_for, aid_for) = (sid.clone(), aid.clone());
    let save_label = format!("Save flags of {}", u.email);
    let uid = u.id.to_string();
    view! {
        <tr>
            <td>{u.email.clone()}</td>
            <td>{if u.name.is_empty() { "—".to_string() } else { u.name.clone() }}</td>
            <td class="tabular-nums">{u.orgs}</td>
            <td>
                <ActionForm action=set>
                    <div class="flex flex-wrap items-center gap-3">
                        <input type="hidden" name="user_id" value=uid />
                        <label for=sid_for class="flex items-center gap-1 text-sm">
                            <input id=sid type="checkbox" name="is_support" value="on" checked=u.is_support />
                            "Support"
                        </label>
                        <label for=aid_for class="flex items-center gap-1 text-sm">
                            <input id=aid type="checkbox" name="is_superadmin" value="on" checked=u.is_superadmin />
                            "Superadmin"
                        </label>
                        <button type="submit" class="btn-secondary" aria-label=save_label>"Save"</button>
                    </div>
                    <FormError form />
                </ActionForm>
            </td>
        </tr>
    }
}

//! The login page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::auth::Login;
use crate::components::{page_outcome, ActionForm, Field, FormError, FormState};

#[component]
pub fn LoginPage() -> impl IntoView {
    let outcome = page_outcome();
    let login = ServerAction::<Login>::new();
    let form = FormState::new(login, &outcome, None);
    let query = use_query_map();
    let next = query
        .with_untracked(|q| q.get("next"))
        .or_else(|| form.initial("next"));
    view! {
        <Title text="Log in" />
        <section class="card mx-auto max-w-md">
            <h1 class="text-2xl font-semibold">"Log in to PhoneHub"</h1>
            <ActionForm action=login>
                <div class="mt-6 space-y-4">
                    <input type="hidden" name="next" value=next />
                    <Field form label="E-mail" name="email" kind="email" autocomplete="username" required=true />
                    <Field form label="Password" name="password" kind="password" autocomplete="current-password" required=true />
                    <FormError form />
                    <button type="submit" class="btn w-full" disabled=move || form.pending.get()>
                        "Log in"
                    </button>
                </div>
            </ActionForm>
        </section>
    }
}

//! The signed-in user's account: who they are and changing the password.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::account::ChangePassword;
use crate::api::auth::get_me;
use crate::components::{
    page_outcome, ActionForm, ErrorPanel, Field, FormError, FormState, Loading, Notice,
};
use crate::error::AppError;

#[component]
pub fn AccountPage() -> impl IntoView {
    let outcome = page_outcome();
    let change = ServerAction::<ChangePassword>::new();
    let form = FormState::new(change, &outcome, None);
    let me = crate::components::page_data(|| (), |_| get_me(None));
    view! {
        <Title text="Account" />
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(me)) => {
                        let forced = me.must_change_password;
                        // Hidden once the new password is saved (the hydrated app stays on the page).
                        let still_forced = move || {
                            forced && !change.value().with(|v| matches!(v, Some(Ok(()))))
                        };
                        view! {
                        <h1 class="text-2xl font-semibold">"Your account"</h1>
                        <Notice />
                        <Show when=still_forced>
                            <p class="readonly-banner" role="alert" data-testid="choose-password">
                                "This account was made for you with a password someone else chose. "
                                "Choose your own below: PhoneHub opens everything else once you have."
                            </p>
                        </Show>
                        <dl class="card mt-4 grid max-w-xl grid-cols-[8rem_1fr] gap-2">
                            <dt class="muted">"E-mail"</dt><dd>{me.email}</dd>
                            <dt class="muted">"Name"</dt><dd>{if me.name.is_empty() { "—".to_string() } else { me.name }}</dd>
                        </dl>
                        <section class="card mt-6 max-w-xl">
                            <h2 class="text-lg font-semibold">"Change password"</h2>
                            <p class="muted text-sm">"Changing it signs you out everywhere else."</p>
                            <ActionForm action=change>
                                <div class="mt-4 space-y-4">
                                    <Field form label=if forced { "The password you were given" } else { "Current password" } name="current" kind="password" autocomplete="current-password" required=true />
                                    <Field form label="New password" name="new_password" kind="password" autocomplete="new-password" required=true hint="At least 10 characters." />
                                    <Field form label="Repeat the new password" name="confirm" kind="password" autocomplete="new-password" required=true />
                                    <FormError form />
                                    <button type="submit" class="btn">"Change password"</button>
                                </div>
                            </ActionForm>
                        </section>
                    }.into_any()
                    }
                    Ok(None) => view! { <ErrorPanel error=AppError::Unauthenticated /> }.into_any(),
                    Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

//! `/` sends people where they belong, or first shows the invitations waiting for them; the 404 page.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::components::Redirect;

use crate::api::auth::get_me;
use crate::api::invitations::{my_invitations, AcceptInvitation, DeclineInvitation};
use crate::components::{
    page_outcome, ActionForm, ErrorPanel, FormError, FormOutcome, FormState, Loading, Notice,
    Refresh,
};
use crate::error::AppError;
use crate::model::invitations::MyInvitation;

#[component]
pub fn HomePage() -> impl IntoView {
    let outcome = StoredValue::new(page_outcome());
    let refresh = Refresh::provide();
    let me = crate::components::page_data(move || refresh.0.get(), |_| get_me(None));
    let invitations = crate::components::page_data(move || refresh.0.get(), |_| my_invitations());
    view! {
        <Title text="Home" />
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match (me.await, invitations.await) {
                    (Ok(None), _) => view! { <Redirect path="/login" /> }.into_any(),
                    (Ok(Some(me)), Ok(invitations)) => {
                        let outcome = outcome.get_value();
                        let stray = stray_error(&outcome, &invitations);
                        // Invitations wait here, so someone invited goes nowhere else until they
                        // decide (nor does the answer to one that is gone meanwhile).
                        if !invitations.is_empty() || stray.is_some() {
                            return view! {
                                <Notice />
                                {stray.map(|e| view! { <p class="form-error mb-4" role="alert">{e}</p> })}
                                {(!invitations.is_empty()).then(|| view! { <Invitations invitations outcome /> })}
                                <OrgPicker orgs=me.orgs is_support=me.is_support />
                            }
                                .into_any();
                        }
                        match (me.orgs.first(), me.is_superadmin) {
                            (Some(o), _) if !me.is_support && !me.is_superadmin => {
                                view! { <Redirect path=format!("/o/{}", o.slug) /> }.into_any()
                            }
                            (_, true) => view! { <Redirect path="/admin/orgs" /> }.into_any(),
                            _ => view! {
                                <Notice />
                                <OrgPicker orgs=me.orgs is_support=me.is_support />
                            }
                                .into_any(),
                        }
                    }
                    (Err(e), _) | (_, Err(e)) => view! { <ErrorPanel error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// A failed accept or decline (JavaScript off) of an invitation no longer listed (it lapsed or
/// was revoked meanwhile): its message, shown above the list as it has no row to sit in.
fn stray_error(outcome: &Option<FormOutcome>, listed: &[MyInvitation]) -> Option<String> {
    let o = outcome.as_ref()?;
    if o.endpoint != AcceptInvitation::url() && o.endpoint != DeclineInvitation::url() {
        return None;
    }
    let id = o.value("id");
    if listed.iter().any(|i| Some(i.id.to_string()) == id) {
        return None;
    }
    Some(o.error.to_string())
}

/// The signed-in user's open invitations, each with Accept and Decline.
#[component]
fn Invitations(invitations: Vec<MyInvitation>, outcome: Option<FormOutcome>) -> impl IntoView {
    let items = invitations
        .into_iter()
        .map(|i| view! { <InvitationItem i outcome=outcome.clone() /> })
        .collect_view();
    view! {
        <section class="card mb-6 max-w-xl" aria-labelledby="invitations-heading">
            <h2 id="invitations-heading" class="text-xl font-semibold">"Invitations"</h2>
            <p class="muted text-sm mt-1">
                "You become a member of an org only by accepting its invitation. Declining tells the org you said no."
            </p>
            <ul class="mt-4 divide-y divide-slate-200">{items}</ul>
        </section>
    }
}

#[component]
fn InvitationItem(i: MyInvitation, outcome: Option<FormOutcome>) -> impl IntoView {
    let key = i.id.to_string();
    let accept = ServerAction::<AcceptInvitation>::new();
    let decline = ServerAction::<DeclineInvitation>::new();
    let accept_form = FormState::new(accept, &outcome, Some(("id", key.clone())));
    let decline_form = FormState::new(decline, &outcome, Some(("id", key.clone())));
    let role = i.role.label().to_lowercase();
    let invited = if i.invited_by.is_empty() {
        format!("You are invited to {} as {role}.", i.org_name)
    } else {
        format!("{} invited you to {} as {role}.", i.invited_by, i.org_name)
    };
    let text = format!("{invited} The invitation expires {} UTC.", i.expires);
    let accept_label = format!("Accept the invitation to {}", i.org_name);
    let decline_label = format!("Decline the invitation to {}", i.org_name);
    let key2 = key.clone();
    view! {
        <li class="py-3">
            <p>{text}</p>
            <div class="mt-2 flex items-start gap-2">
                <ActionForm action=accept>
                    <input type="hidden" name="id" value=key />
                    <button type="submit" class="btn" aria-label=accept_label>"Accept"</button>
                    <FormError form=accept_form />
                </ActionForm>
                <ActionForm action=decline>
                    <input type="hidden" name="id" value=key2 />
                    <button type="submit" class="btn-secondary" aria-label=decline_label>"Decline"</button>
                    <FormError form=decline_form />
                </ActionForm>
            </div>
        </li>
    }
}

#[component]
fn OrgPicker(orgs: Vec<crate::model::OrgLink>, is_support: bool) -> impl IntoView {
    view! {
        <section class="card max-w-xl">
            <h1 class="text-2xl font-semibold">
                {if is_support { "Support: choose an org to inspect" } else { "Your orgs" }}
            </h1>
            {if orgs.is_empty() {
                view! {
                    <p class="mt-3 muted">
                        "You are not a member of any org yet. Ask an org owner or admin to invite you."
                    </p>
                }
                    .into_any()
            } else {
                view! {
                    <ul class="mt-4 divide-y divide-slate-200">
                        {orgs
                            .into_iter()
                            .map(|o| {
                                view! {
                                    <li class="py-2">
                                        <a class="link" href=format!("/o/{}", o.slug)>{o.name}</a>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
                    .into_any()
            }}
        </section>
    }
}

#[component]
pub fn NotFoundPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(opts) = use_context::<leptos_axum::ResponseOptions>() {
        opts.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found" />
        <ErrorPanel error=AppError::NotFound />
    }
}

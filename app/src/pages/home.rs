//! `/` sends people where they belong; the 404 page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

use crate::api::auth::get_me;
use crate::components::{ErrorPanel, Loading};
use crate::error::AppError;

#[component]
pub fn HomePage() -> impl IntoView {
    let me = crate::components::page_data(|| (), |_| get_me());
    view! {
        <Title text="Home" />
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(None) => view! { <Redirect path="/login" /> }.into_any(),
                    Ok(Some(me)) => match (me.orgs.first(), me.is_superadmin) {
                        (Some(o), _) if !me.is_support && !me.is_superadmin => {
                            view! { <Redirect path=format!("/o/{}", o.slug) /> }.into_any()
                        }
                        (_, true) => view! { <Redirect path="/admin/orgs" /> }.into_any(),
                        _ => view! { <OrgPicker orgs=me.orgs is_support=me.is_support /> }.into_any(),
                    },
                    Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                }
            })}
        </Suspense>
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
                        "You are not a member of any org yet. Ask an org owner to add you."
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

//! `/o/:org/admin/api-keys`: the org's API keys (prefix, scopes, who they act as, last use), a form
//! to create one (its key is shown once, JavaScript on or off) and a revoke button per key.

use leptos::prelude::*;
use leptos_meta::Title;

use super::org_param;
use crate::api::api_keys::{load_api_keys, CreateApiKey, RevokeApiKey};
use crate::components::{
    page_outcome, page_shown_once, ActionForm, Field, FormError, FormOutcome, FormState, Loaded,
    Notice, ReadOnlyBanner, Refresh,
};
use crate::model::api_keys::{ApiKeyRow, ApiKeysPage as Data, NewKey, Scope};
use crate::model::{Access, Role};

#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let outcome = StoredValue::new(page_outcome());
    let shown = StoredValue::new(page_shown_once::<CreateApiKey>());
    let refresh = Refresh::provide();
    let org = org_param();
    let data = crate::components::page_data(
        move || (org.get(), refresh.0.get()),
        |(o, _)| load_api_keys(o),
    );
    // One action and one form state for the page, made once: the answer (the new key) outlives
    // the list's reload, and a success reloads the list once.
    let create = ServerAction::<CreateApiKey>::new();
    let form = FormState::new(create, &outcome.get_value(), None);
    view! {
        <Loaded data show=move |d| view! {
            <KeysView d outcome=outcome.get_value() shown=shown.get_value() create form />
        } />
    }
}

#[component]
fn KeysView(
    d: Data,
    outcome: Option<FormOutcome>,
    shown: Option<NewKey>,
    create: ServerAction<CreateApiKey>,
    form: FormState,
) -> impl IntoView {
    let manage = d.org.access.can_manage();
    let slug = d.org.slug.clone();
    let rows = d
        .keys
        .iter()
        .cloned()
        .map(|k| view! { <KeyRow k slug=slug.clone() manage outcome=outcome.clone() /> })
        .collect_view();
    let empty = d.keys.is_empty();
    let new_key = move || {
        create
            .value()
            .get()
            .and_then(|r| r.ok())
            .or_else(|| shown.clone())
    };
    view! {
        <Title text=format!("API keys · {}", d.org.name) />
        <h1 class="text-2xl font-semibold">"API keys of " {d.org.name.clone()}</h1>
        <p class="muted mt-1 max-w-3xl text-sm">
            "Code calls PhoneHub's API at " <code>"/v1"</code> " with a key in the "
            <code>"Authorization: Bearer"</code> " header. A key acts as a member of the org: the member's rights apply, within the key's scopes. "
            <a class="link" href="/v1/docs">"API reference"</a>
        </p>
        <Notice />
        {d.org.access.read_only().then(|| view! { <ReadOnlyBanner /> })}
        {move || new_key().map(|k| view! { <NewKeyPanel k /> })}
        <div class="card mt-4 overflow-x-auto p-0">
            <table class="table">
                <caption class="sr-only">"API keys"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Key"</th>
                        <th scope="col">"Scopes"</th>
                        <th scope="col">"Acts as"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col">"Last used"</th>
                        <th scope="col">"Status"</th>
                        {manage.then(|| view! { <th scope="col"><span class="sr-only">"Actions"</span></th> })}
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            {empty.then(|| view! { <p class="muted p-4">"No API keys yet."</p> })}
        </div>
        {manage.then(|| view! { <CreateKeyForm d=d.clone() outcome=outcome.clone() create form /> })}
    }
}

#[component]
fn NewKeyPanel(k: NewKey) -> impl IntoView {
    view! {
        <section class="card mt-4 border-emerald-300 bg-emerald-50" role="status" aria-labelledby="new-key-heading">
            <h2 id="new-key-heading" class="text-lg font-semibold">"Key “" {k.name.clone()} "” created"</h2>
            <p class="mt-1 text-sm">"Copy it now: PhoneHub keeps only a hash of it and cannot show it again."</p>
            <label class="label mt-3" for="new-key">"Your API key"</label>
            <input id="new-key" class="input font-mono" readonly value=k.key.clone() />
        </section>
    }
}

#[component]
fn KeyRow(k: ApiKeyRow, slug: String, manage: bool, outcome: Option<FormOutcome>) -> impl IntoView {
    let id = k.id.to_string();
    let revoked = k.revoked.clone();
    let actions = manage.then(|| {
        let revoke = ServerAction::<RevokeApiKey>::new();
        let form = FormState::new(revoke, &outcome, Some(("id", id.clone())));
        let label = format!("Revoke {}", k.name);
        view! {
            <td class="whitespace-nowrap">
                {revoked.is_none().then(|| view! {
                    <ActionForm action=revoke>
                        <input type="hidden" name="org" value=slug.clone() />
                        <input type="hidden" name="id" value=id.clone() />
                        <button type="submit" class="btn-danger" aria-label=label.clone()>"Revoke"</button>
                        <FormError form />
                    </ActionForm>
                })}
            </td>
        }
    });
    let status = match &k.revoked {
        Some(at) => view! { <span class="badge">"Revoked " {at.clone()}</span> }.into_any(),
        None => view! { <span class="badge">"Active"</span> }.into_any(),
    };
    view! {
        <tr>
            <td>{k.name.clone()}</td>
            <td class="font-mono text-xs">{k.prefix.clone()}</td>
            <td class="text-xs">{k.scopes.join(", ")}</td>
            <td>{k.acting_as.clone()}</td>
            <td class="muted text-xs">{k.created.clone()} " by " {k.created_by.clone()}</td>
            <td class="muted text-xs">{k.last_used.clone().unwrap_or_else(|| "never".into())}</td>
            <td>{status}</td>
            {actions}
        </tr>
    }
}

#[component]
fn CreateKeyForm(
    d: Data,
    outcome: Option<FormOutcome>,
    create: ServerAction<CreateApiKey>,
    form: FormState,
) -> impl IntoView {
    let is_owner = matches!(
        d.org.access,
        Access::Member(Role::Owner) | Access::Superadmin
    );
    let chosen = form
        .initial("acting_as")
        .unwrap_or_else(|| d.me.to_string());
    let members = d
        .members
        .iter()
        .filter(|m| is_owner || m.role != Role::Owner)
        .map(|m| {
            let v = m.user_id.to_string();
            let selected = v == chosen;
            view! { <option value=v selected=selected>{format!("{} ({})", m.email, m.role.label())}</option> }
        })
        .collect_view();
    // After a no-JS error the ticks come back as sent; a fresh form starts with lookups only.
    let ticked = move |s: Scope| match &outcome {
        Some(_) if form.initial("name").is_some() => form.initial(s.field()).is_some(),
        _ => s == Scope::Lookups,
    };
    let boxes = Scope::ALL
        .into_iter()
        .map(|s| {
            let id = format!("new-{}", s.field());
            let for_id = id.clone();
            view! {
                <label for=for_id class="flex items-start gap-2 text-sm">
                    <input id=id type="checkbox" name=s.field() value="on" checked=ticked(s) />
                    <span><code>{s.as_str()}</code> ": " {s.describe()}</span>
                </label>
            }
        })
        .collect_view();
    let acting_error = form.field_error("acting_as");
    let scopes_error = form.field_error("scopes");
    view! {
        <section class="card mt-6 max-w-xl" aria-labelledby="new-key-form-heading">
            <h2 id="new-key-form-heading" class="text-lg font-semibold">"Create an API key"</h2>
            <ActionForm action=create>
                <div class="mt-4 space-y-4">
                    <input type="hidden" name="org" value=d.org.slug.clone() />
                    <Field form label="Name" name="name" id="new-key-name".to_string() required=true hint="What uses it, e.g. “CRM sync”." />
                    <div class="field">
                        <label for="new-key-acting" class="label">"Acts as"</label>
                        <select id="new-key-acting" name="acting_as" class="input" aria-describedby="new-key-acting-error"
                            aria-invalid=move || if acting_error.with(|e| e.is_some()) { "true" } else { "false" }>
                            {members}
                        </select>
                        <p class="hint">"The key can do what this member can do, and no more."</p>
                        <p id="new-key-acting-error" class="field-error" role="alert">{move || acting_error.get()}</p>
                    </div>
                    <fieldset class="field" aria-describedby="new-key-scopes-error">
                        <legend class="label">"Scopes"</legend>
                        <div class="mt-2 space-y-1">{boxes}</div>
                        <p id="new-key-scopes-error" class="field-error" role="alert">{move || scopes_error.get()}</p>
                    </fieldset>
                    <FormError form />
                    <button type="submit" class="btn" disabled=move || form.pending.get()>"Create key"</button>
                </div>
            </ActionForm>
        </section>
    }
}

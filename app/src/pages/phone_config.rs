//! The phone configuration page: an org's (owners and admins edit, support reads) or the system
//! default (the superadmin).

use leptos::prelude::*;
use leptos_meta::Title;

use super::org_param;
use crate::api::phone_config::{load_phone_config, SavePhoneConfig, TestPhoneConnection};
use crate::components::{
    page_outcome, Field, FormError, FormOutcome, FormState, Loaded, Notice, ReadOnlyBanner,
    Refresh, SelectField,
};
use crate::model::lookup::*;

fn checkbox(
    name: &'static str,
    label: &'static str,
    checked: bool,
    disabled: bool,
) -> impl IntoView {
    view! {
        <label class="flex items-center gap-2 text-sm">
            <input type="checkbox" name=name value="on" checked=checked disabled=disabled />
            {label}
        </label>
    }
}

/// `/o/:org/admin/phone-config`, and `/admin/phone-config` for the system default.
#[component]
pub fn PhoneConfigPage() -> impl IntoView {
    let outcome = StoredValue::new(page_outcome());
    let refresh = Refresh::provide();
    let org = org_param();
    let data = crate::components::page_data(
        move || (org.get(), refresh.0.get()),
        |(o, _)| load_phone_config(o),
    );
    view! {
        <Loaded data show=move |d| view! { <PhoneConfigView d outcome=outcome.get_value() /> } />
    }
}

#[component]
fn PhoneConfigView(d: PhoneConfigPage, outcome: Option<FormOutcome>) -> impl IntoView {
    let save = ServerAction::<SavePhoneConfig>::new();
    let form = FormState::new(save, &outcome, None);
    let test = ServerAction::<TestPhoneConnection>::new();
    let test_form = FormState::new(test, &outcome, None);
    let c = d.config.clone();
    let slug = d.org.as_ref().map(|o| o.slug.clone()).unwrap_or_default();
    let title = match &d.org {
        Some(o) => format!("Phone config · {}", o.name),
        None => "System default phone config".to_string(),
    };
    let ro = !d.can_edit;
    // Support looking at an org without a configuration of its own: a sentence, not an empty form.
    let hide_form = ro && !c.exists;
    let slug2 = slug.clone();
    let providers: Vec<(&'static str, &'static str)> = ProviderKind::ALL
        .iter()
        .filter(|p| d.sandbox_available || **p != ProviderKind::Sandbox || c.provider == **p)
        .map(|p| (p.as_str(), p.label()))
        .collect();
    let masked = c.token_masked.clone();
    let regions: Vec<(&'static str, &'static str)> = TwilioRegion::ALL
        .iter()
        .map(|r| (r.form_value(), r.label()))
        .collect();
    // Free-form base URLs are a system setting: only the system default's page has them.
    let system = d.org.is_none();
    let needs_reentry = c.token_needs_reentry;
    view! {
        <Title text=title.clone() />
        <h1 class="text-2xl font-semibold">{title}</h1>
        <Notice />
        {ro.then(|| view! { <ReadOnlyBanner /> })}
        <p class="muted mt-2" data-testid="effective">{d.effective.clone()}</p>
        {hide_form.then(|| view! {
            <p class="card mt-4 max-w-2xl" data-testid="no-own-config">"No configuration of its own has been saved here."</p>
        })}
        <ActionForm action=save attr:class="card mt-4 max-w-2xl space-y-3" attr:hidden=hide_form>
            <fieldset disabled=ro class="space-y-3">
                <legend class="sr-only">"Phone configuration"</legend>
                <input type="hidden" name="org" value=slug.clone() />
                <SelectField form label="Provider" name="provider" options=providers selected=c.provider.as_str() />
                <SelectField form label="Twilio region" name="region" options=regions selected=c.region.form_value() />
                <Field form label="Display name" name="display_name" value=c.display_name.clone() />
                <Field form label="Account SID" name="account_sid" value=c.account_sid.clone() hint="AC followed by 32 hexadecimal digits." />
                <div class="field">
                    <p class="label">"Auth token"</p>
                    <p class="text-sm" data-testid="token-masked">{match masked.clone() {
                        Some(m) => format!("Stored (encrypted), ends in {m}"),
                        None => "None stored yet".to_string(),
                    }}</p>
                    {needs_reentry.then(|| view! {
                        <p class="field-error" data-testid="token-reentry">"The stored token was saved for another provider, region, account or address, so it is not sent anywhere. Enter it again."</p>
                    })}
                </div>
                {(!ro).then(|| view! {
                    <Field form label=if masked.is_some() { "Replace auth token" } else { "Auth token" } name="auth_token" kind="password"
                        autocomplete="off" hint=if masked.is_some() { "Leave empty to keep the stored token. It is never shown again." } else { "Stored encrypted; never shown again." } />
                })}
                <Field form label="Lookup cache (days)" name="lookup_cache_days" kind="number" value=c.lookup_cache_days.to_string()
                    hint="How long a lookup answer is reused, 1 to 365 days." />
                <Field form label="Default sender number" name="default_sender" value=c.default_sender.clone() hint="Optional, E.164." />
                {system.then(|| view! {
                    <Field form label="API base URL" name="api_base" value=c.api_base.clone() hint="Optional, for a proxy in front of Twilio. Empty uses Twilio's host for the region. Changing it needs the auth token again." />
                    <Field form label="Lookups base URL" name="lookups_base" value=c.lookups_base.clone() hint="Optional, like the API base URL." />
                })}
                <div class="space-y-1">
                    {checkbox("active", "Active", c.active, ro)}
                    {checkbox("lookup_enabled", "Lookups enabled", c.lookup_enabled, ro)}
                    {checkbox("caller_name_enabled", "Caller-name lookups (extra cost per lookup)", c.caller_name_enabled, ro)}
                    {checkbox("test_mode", "Test mode (messages are recorded, not sent)", c.test_mode, ro)}
                </div>
                <FormError form />
                {(!ro).then(|| view! { <button type="submit" class="btn">"Save configuration"</button> })}
            </fieldset>
        </ActionForm>
        {c.exists.then(|| view! {
            <ActionForm action=test attr:class="card mt-4 max-w-2xl">
                <input type="hidden" name="org" value=slug2.clone() />
                <p class="text-sm">"Check the saved credentials against the provider."</p>
                <button type="submit" class="btn-secondary mt-2" disabled=move || test.pending().get()>"Test connection"</button>
                <FormError form=test_form />
            </ActionForm>
        })}
        <p class="muted mt-4 text-sm">
            {c.key_id.clone().map(|k| format!("Credentials encrypted with key {k}. "))}
            {(!c.updated.is_empty()).then(|| format!("Last changed {}.", c.updated))}
        </p>
    }
}

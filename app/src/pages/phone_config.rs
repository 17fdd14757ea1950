//! The phone configuration page: an org's (owners and admins edit, support reads) or the system
//! default (the superadmin).

use leptos::prelude::*;
use leptos_meta::Title;

use super::org_param;
use crate::api::phone_config::{
    load_phone_config, AddSigningKey, RemoveSigningKey, SavePhoneConfig, TestPhoneConnection,
};
use crate::components::{
    page_outcome, ActionForm, Field, FormError, FormOutcome, FormState, Loaded, Notice,
    ReadOnlyBanner, Refresh, SelectField,
};
use crate::model::phone_config::*;

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
    let aws = c.provider == ProviderKind::Aws;
    let can_key = c.exists && !aws;
    let effective = d.effective.clone();
    view! {
        <Title text=title.clone() />
        <h1 class="text-2xl font-semibold">{title}</h1>
        <Notice />
        {ro.then(|| view! { <ReadOnlyBanner /> })}
        <p class="muted mt-2" data-testid="effective">{effective}</p>
        {hide_form.then(|| view! {
            <p class="card mt-4 max-w-2xl" data-testid="no-own-config">"No configuration of its own has been saved here."</p>
        })}
        {config_form(d, save, form, slug.clone(), hide_form, aws)}
        {c.exists.then(|| test_connection_form(test, test_form, slug.clone()))}
        {can_key.then(|| view! { <SigningKeys keys=c.signing_keys.clone() slug=slug.clone() ro=ro outcome=outcome.clone() /> })}
        <p class="muted mt-4 text-sm">
            {c.key_id.clone().map(|k| format!("Credentials encrypted with key {k}. "))}
            {(!c.updated.is_empty()).then(|| format!("Last changed {}.", c.updated))}
        </p>
    }
}

/// The configuration's form (hidden by `hide_form`, disabled for those who only read): the
/// provider and its credentials, the AWS-only and system-only settings, and the switches. `aws`:
/// the saved provider is Amazon Web Services.
fn config_form(
    d: PhoneConfigPage,
    save: ServerAction<SavePhoneConfig>,
    form: FormState,
    slug: String,
    hide_form: bool,
    aws: bool,
) -> impl IntoView {
    let ro = !d.can_edit;
    // Free-form base URLs are a system setting: only the system default's page has them.
    let system = d.org.is_none();
    let sandbox_available = d.sandbox_available;
    let c = d.config;
    let providers: Vec<(&'static str, &'static str)> = ProviderKind::ALL
        .iter()
        .filter(|p| sandbox_available || **p != ProviderKind::Sandbox || c.provider == **p)
        .map(|p| (p.as_str(), p.label()))
        .collect();
    let regions: Vec<(&'static str, &'static str)> = TwilioRegion::ALL
        .iter()
        .map(|r| (r.form_value(), r.label()))
        .collect();
    view! {
        <ActionForm action=save attr:class="card mt-4 max-w-2xl space-y-3" attr:hidden=hide_form>
            <fieldset disabled=ro class="space-y-3">
                <legend class="sr-only">"Phone configuration"</legend>
                <input type="hidden" name="org" value=slug.clone() />
                <SelectField form label="Provider" name="provider" options=providers selected=c.provider.as_str() />
                <SelectField form label="Twilio region" name="region" options=regions selected=c.region.form_value() />
                <Field form label="Display name" name="display_name" value=c.display_name.clone() />
                {credential_fields(form, aws, c.credential_id.clone(), c.token_masked.clone(), c.token_needs_reentry, ro)}
                <Field form label="Lookup cache (days)" name="lookup_cache_days" kind="number" value=c.lookup_cache_days.to_string()
                    hint="How long a lookup answer is reused, 1 to 365 days." />
                <Field form label="Default sender number" name="default_sender" value=c.default_sender.clone() hint="Optional. For AWS: the origination number SMS are sent from." />
                {aws_fields(form, c.aws_region.clone(), c.sms_sender_id.clone(), c.sms_type.clone())}
                {system.then(|| view! {
                    <Field form label="API base URL" name="api_base" value=c.api_base.clone() hint="Optional, for a proxy in front of Twilio (for AWS: of Amazon SNS). Empty uses the provider's host for the region. Changing it needs the secret again." />
                    <Field form label="Lookups base URL" name="lookups_base" value=c.lookups_base.clone() hint="Optional, like the API base URL (for AWS: of Amazon Pinpoint)." />
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
    }
}

/// The account's credential fields: the account SID (or AWS access key ID), what is stored of the
/// secret (`masked`, and whether it must be entered again), and, for those who edit, a field for
/// a new secret. The saved provider names the fields; the hints say what each means for the other.
fn credential_fields(
    form: FormState,
    aws: bool,
    credential_id: String,
    masked: Option<String>,
    needs_reentry: bool,
    ro: bool,
) -> impl IntoView {
    let (sid_label, sid_hint) = if aws {
        ("Access key ID", "For AWS: the IAM access key ID (AKIA…). For Twilio: the Account SID, AC followed by 32 hexadecimal digits.")
    } else {
        ("Account SID", "AC followed by 32 hexadecimal digits. For Amazon Web Services: the IAM access key ID (AKIA…).")
    };
    view! {
        <Field form label=sid_label name="credential_id" value=credential_id hint=sid_hint />
        <div class="field">
            <p class="label">{if aws { "Stored secret access key" } else { "Stored auth token" }}</p>
            <p class="text-sm" data-testid="token-masked">{match masked.clone() {
                Some(m) => format!("Stored (encrypted), ends in {m}"),
                None => "None stored yet".to_string(),
            }}</p>
            {needs_reentry.then(|| view! {
                <p class="field-error" data-testid="token-reentry">"The stored token was saved for another provider, region, account or address, so it is not sent anywhere. Enter it again."</p>
            })}
        </div>
        {(!ro).then(|| view! {
            <Field form label=match (masked.is_some(), aws) {
                (true, true) => "Replace secret access key",
                (true, false) => "Replace auth token",
                (false, true) => "Secret access key",
                (false, false) => "Auth token",
            } name="credential_secret" kind="password"
                autocomplete="off" hint=if masked.is_some() { "Leave empty to keep the stored secret. It is never shown again." } else { "Stored encrypted; never shown again. For AWS: the secret access key." } />
        })}
    }
}

/// The settings only Amazon Web Services uses: its region, the SNS sender ID and SMS type.
fn aws_fields(
    form: FormState,
    aws_region: String,
    sms_sender_id: String,
    sms_type: String,
) -> impl IntoView {
    let sms_types: Vec<(&'static str, &'static str)> = vec![
        ("", "The AWS account's default"),
        ("Transactional", "Transactional (one-time codes, alerts)"),
        ("Promotional", "Promotional (marketing)"),
    ];
    view! {
        <fieldset class="space-y-3 rounded-md border border-slate-200 p-3">
            <legend class="px-1 text-sm font-medium">"Amazon Web Services only"</legend>
            <Field form label="AWS region" name="aws_region" value=aws_region
                hint="Such as us-east-1 or eu-west-2: SMS go through Amazon SNS and lookups through Amazon Pinpoint in this region. AWS cannot buy numbers, place calls or keep recordings here." />
            <Field form label="SMS sender ID" name="sms_sender_id" value=sms_sender_id hint="Optional, for Amazon SNS: 1 to 11 letters and digits shown as the sender where the destination country allows it. SMS are sent from the default sender number, so set that too." />
            <SelectField form label="SMS type" name="sms_type" options=sms_types selected=sms_type />
        </fieldset>
    }
}

/// The form that checks the saved credentials against the provider.
fn test_connection_form(
    test: ServerAction<TestPhoneConnection>,
    test_form: FormState,
    slug: String,
) -> impl IntoView {
    view! {
        <ActionForm action=test attr:class="card mt-4 max-w-2xl">
            <input type="hidden" name="org" value=slug />
            <p class="text-sm">"Check the saved credentials against the provider."</p>
            <button type="submit" class="btn-secondary mt-2" disabled=move || test_form.pending.get()>"Test connection"</button>
            <FormError form=test_form />
        </ActionForm>
    }
}

/// The keys Twilio may sign this configuration's webhooks with instead of the auth token.
#[component]
fn SigningKeys(
    keys: Vec<SigningKeyView>,
    slug: String,
    ro: bool,
    outcome: Option<FormOutcome>,
) -> impl IntoView {
    let add = ServerAction::<AddSigningKey>::new();
    let add_form = FormState::new(add, &outcome, None);
    let remove = ServerAction::<RemoveSigningKey>::new();
    let remove_form = FormState::new(remove, &outcome, None);
    let empty = keys.is_empty();
    let slug_add = slug.clone();
    view! {
        <section class="card mt-4 max-w-2xl" aria-labelledby="keys-h" data-testid="signing-keys">
            <h2 id="keys-h" class="font-semibold">"Webhook signing keys"</h2>
            <p class="text-sm mt-1">"Twilio can sign webhooks with a shared key instead of the auth token (its Webhooks configuration). A webhook naming one of these keys is checked with it; one naming any other key is refused. Keep the old key here until Twilio stops using it, then remove it."</p>
            {empty.then(|| view! { <p class="muted text-sm mt-2">"No signing keys: webhooks are checked with the auth token."</p> })}
            {(!empty).then(|| view! {
                <table class="table mt-3">
                    <thead><tr><th>"Key id"</th><th>"Secret"</th><th>"Added"</th><th>"Last used"</th><th></th></tr></thead>
                    <tbody>
                        {keys.into_iter().map(|k| {
                            let slug = slug.clone();
                            view! {
                                <tr>
                                    <td class="font-mono">{k.key_id.clone()}</td>
                                    <td>{k.secret_masked.clone()}</td>
                                    <td>{k.created.clone()}</td>
                                    <td>{k.last_used.clone().unwrap_or_else(|| "never".into())}</td>
                                    <td>{(!ro).then(|| view! {
                                        <ActionForm action=remove>
                                            <input type="hidden" name="org" value=slug />
                                            <input type="hidden" name="id" value=k.id.to_string() />
                                            <button type="submit" class="btn-danger">{format!("Remove {}", k.key_id)}</button>
                                        </ActionForm>
                                    })}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
                <FormError form=remove_form />
            })}
            {(!ro).then(|| view! {
                <ActionForm action=add attr:class="mt-3 space-y-2">
                    <input type="hidden" name="org" value=slug_add />
                    <Field form=add_form label="Key id" name="key_id" hint="As Twilio names the shared key." />
                    <Field form=add_form label="Key secret" name="secret" kind="password" autocomplete="off" hint="Stored encrypted; never shown again." />
                    <FormError form=add_form />
                    <button type="submit" class="btn-secondary">"Add signing key"</button>
                </ActionForm>
            })}
        </section>
    }
}

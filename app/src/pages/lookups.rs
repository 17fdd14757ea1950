//! Lookup pages: look a number up, bulk lookups, the org's cost page, the phone configuration and
//! the staff's global cache figures.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::org_param;
use crate::api::lookups::{
    load_bulk_page, load_global_lookup_stats, load_lookup_page, load_lookup_stats,
    load_phone_config, LookupNumber, SavePhoneConfig, TestPhoneConnection,
};
use crate::components::{
    page_outcome, poll_while, ErrorPanel, Field, FormError, FormOutcome, FormState, Loading,
    Notice, ReadOnlyBanner, Refresh, SelectField, Stat,
};
use crate::model::lookup::*;

fn yes_no(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "Yes",
        Some(false) => "No",
        None => "Not provided",
    }
}

fn or_not_provided(v: &Option<String>) -> String {
    v.clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "Not provided".into())
}

#[component]
pub fn LookupPage() -> impl IntoView {
    let outcome = StoredValue::new(page_outcome());
    let refresh = Refresh::provide();
    let org = org_param();
    let query = use_query_map();
    let number = Memo::new(move |_| query.with(|q| (q.get("number"), q.get("outcome"))));
    let data = Resource::new(
        move || (org.get(), number.get(), refresh.0.get()),
        |(o, (n, _), _)| load_lookup_page(o, n),
    );
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! { <LookupView d outcome=outcome.get_value() /> }.into_any(),
                    Err(e) => view! { <Title text="Error" /><ErrorPanel error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn LookupView(d: LookupPage, outcome: Option<FormOutcome>) -> impl IntoView {
    let action = ServerAction::<LookupNumber>::new();
    let form = FormState::new(action, &outcome, None);
    let query = use_query_map();
    let how = query.with_untracked(|q| q.get("outcome"));
    let slug = d.org.slug.clone();
    let result = d.result.clone().map(|r| {
        let e164 = r.e164.clone();
        let refresh = d.can_refresh.then(|| {
            let action = ServerAction::<LookupNumber>::new();
            let rform = FormState::new(action, &outcome, Some(("refresh", "1".into())));
            view! {
                <ActionForm action>
                    <input type="hidden" name="org" value=slug.clone() />
                    <input type="hidden" name="number" value=e164 />
                    <input type="hidden" name="refresh" value="1" />
                    <button type="submit" class="btn-secondary">"Refresh from provider"</button>
                    <FormError form=rform />
                </ActionForm>
            }
        });
        view! { <ResultCard r how=how.clone() refresh /> }
    });
    let recent = d
        .recent
        .iter()
        .map(|r| {
            view! {
                <tr>
                    <td class="tabular-nums">{r.e164.clone()}</td>
                    <td><span class=format!("badge outcome-{}", r.outcome)>{r.outcome.clone()}</span></td>
                    <td class="tabular-nums">{r.cost.clone()}</td>
                    <td>{r.user.clone()}</td>
                    <td class="muted tabular-nums">{r.at.clone()}</td>
                </tr>
            }
        })
        .collect_view();
    let empty = d.recent.is_empty();
    view! {
        <Title text=format!("Lookup · {}", d.org.name) />
        <div class="flex flex-wrap items-baseline justify-between gap-2">
            <h1 class="text-2xl font-semibold">"Look up a number"</h1>
            <a class="link" href=format!("/o/{}/lookups/bulk", d.org.slug)>"Many numbers? Bulk lookups →"</a>
        </div>
        <p class="muted mt-1">"Line type, carrier and (when enabled) caller name. Answers are cached for every org: a cached answer costs nothing."</p>
        {d.org.access.read_only().then(|| view! { <ReadOnlyBanner /> })}
        {d.unavailable.clone().map(|m| view! { <p class="readonly-banner" role="note">{m}</p> })}
        {(d.can_lookup && d.unavailable.is_none()).then(|| view! {
            <ActionForm action attr:class="card mt-4 max-w-xl">
                <input type="hidden" name="org" value=d.org.slug.clone() />
                <Field form label="Phone number" name="number" value=query.with_untracked(|q| q.get("number")).unwrap_or_default()
                    hint="E.164 (+14155550100) or a US number such as (415) 555-0100." required=true />
                <FormError form />
                <button type="submit" class="btn mt-2" disabled=move || form.pending.get()>"Look up"</button>
            </ActionForm>
        })}
        {result}
        <h2 class="mt-8 text-lg font-semibold">"Recent lookups in " {d.org.name.clone()}</h2>
        <div class="card mt-2 overflow-x-auto p-0">
            <table class="table">
                <caption class="sr-only">"Recent lookups"</caption>
                <thead><tr>
                    <th scope="col">"Number"</th><th scope="col">"Outcome"</th><th scope="col">"Cost"</th>
                    <th scope="col">"By"</th><th scope="col">"When"</th>
                </tr></thead>
                <tbody>{recent}</tbody>
            </table>
            {empty.then(|| view! { <p class="muted p-4">"No lookups yet."</p> })}
        </div>
    }
}

#[component]
fn ResultCard(
    r: NumberInfo,
    how: Option<String>,
    refresh: Option<impl IntoView + 'static>,
) -> impl IntoView {
    let freshness = match (how.as_deref(), r.expires_in_days) {
        (Some("miss"), _) => "Fresh lookup from the provider".to_string(),
        (Some("refresh"), _) => "Refreshed from the provider".to_string(),
        (_, Some(d)) if d <= 0 => "Cached answer, expired".to_string(),
        (_, Some(1)) => "Cached · expires in 1 day".to_string(),
        (_, Some(d)) => format!("Cached · expires in {d} days"),
        _ => "Cached".to_string(),
    };
    let caller = if r.caller_name_checked {
        or_not_provided(&r.caller_name)
    } else {
        "Not requested (caller-name lookups are off)".into()
    };
    let line_type = r
        .line_type
        .as_deref()
        .map(|t| line_type_label(t).to_string())
        .unwrap_or_else(|| "Not provided".into());
    let rows: Vec<(&str, String)> = vec![
        ("National format", or_not_provided(&r.national_format)),
        ("Country", or_not_provided(&r.country_code)),
        (
            "Calling code",
            or_not_provided(&r.calling_country_code).to_string(),
        ),
        ("Valid", yes_no(r.valid).into()),
        ("Line type", line_type),
        ("Mobile", yes_no(r.is_mobile).into()),
        ("VoIP", yes_no(r.is_voip).into()),
        ("Carrier", or_not_provided(&r.carrier_name)),
        (
            "Mobile country / network code",
            match (&r.mobile_country_code, &r.mobile_network_code) {
                (Some(a), Some(b)) => format!("{a} / {b}"),
                _ => "Not provided".into(),
            },
        ),
        ("Caller name", caller),
        (
            "Caller type",
            if r.caller_name_checked {
                or_not_provided(&r.caller_type)
            } else {
                "Not requested".into()
            },
        ),
        ("Address", or_not_provided(&r.address)),
        // When the answer was fetched (its freshness), not how often: the count would tell this
        // org how many other orgs have asked about the number.
        (
            "Answer fetched from the provider",
            r.last_lookup_at.clone().unwrap_or_default(),
        ),
        ("Cache expires", r.expires_at.clone().unwrap_or_default()),
    ];
    view! {
        <section class="card mt-6 max-w-3xl" aria-label="Lookup result" data-testid="lookup-result">
            <div class="flex flex-wrap items-center justify-between gap-2">
                <h2 class="text-xl font-semibold tabular-nums">{r.e164.clone()}</h2>
                <span class="badge" data-testid="freshness">{freshness}</span>
            </div>
            <dl class="mt-4 grid grid-cols-1 gap-x-6 gap-y-2 sm:grid-cols-2">
                {rows.into_iter().map(|(k, v)| view! {
                    <div><dt class="muted text-sm">{k}</dt><dd>{v}</dd></div>
                }).collect_view()}
            </dl>
            <div class="mt-4">{refresh}</div>
        </section>
    }
}

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
    let data = Resource::new(
        move || (org.get(), refresh.0.get()),
        |(o, _)| load_phone_config(o),
    );
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! { <PhoneConfigView d outcome=outcome.get_value() /> }.into_any(),
                    Err(e) => view! { <Title text="Error" /><ErrorPanel error=e /> }.into_any(),
                }
            })}
        </Suspense>
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

#[component]
fn TotalsView(t: Totals, #[prop(into)] label: String) -> impl IntoView {
    let heading = label.clone();
    view! {
        <section class="mt-6" aria-label=label.clone()>
            <h2 class="text-lg font-semibold">{heading}</h2>
            <dl class="mt-2 grid grid-cols-2 gap-3 md:grid-cols-4">
                <Stat label="Requests" value=t.requests.to_string() />
                <Stat label="Cache hits" value=t.hits.to_string() />
                <Stat label="Misses" value=(t.misses + t.refreshes).to_string() />
                <Stat label="Hit ratio" value=t.hit_ratio() />
                <Stat label="Paid lookups" value=t.paid().to_string() />
                <Stat label="Spend" value=money(t.cost_micros) />
                <Stat label="Saved by the cache" value=money(t.saved_micros) />
                <Stat label="Errors" value=t.errors.to_string() />
            </dl>
        </section>
    }
}

fn count_table(caption: &'static str, head: &'static str, rows: &[Count]) -> impl IntoView {
    let body = rows
        .iter()
        .map(|c| view! { <tr><td class="tabular-nums">{c.label.clone()}</td><td class="tabular-nums text-right">{c.count}</td></tr> })
        .collect_view();
    let empty = rows.is_empty();
    view! {
        <div class="card overflow-x-auto p-0">
            <table class="table">
                <caption class="px-4 pt-3 text-left font-semibold">{caption}</caption>
                <thead><tr><th scope="col">{head}</th><th scope="col" class="text-right">"Requests"</th></tr></thead>
                <tbody>{body}</tbody>
            </table>
            {empty.then(|| view! { <p class="muted p-4">"Nothing in this range."</p> })}
        </div>
    }
}

/// `/o/:org/admin/lookups`: what lookups cost and what the cache saved.
#[component]
pub fn LookupStatsPage() -> impl IntoView {
    let org = org_param();
    let query = use_query_map();
    let data = Resource::new(
        move || (org.get(), query.with(|q| (q.get("from"), q.get("to")))),
        |(o, (f, t))| load_lookup_stats(o, f, t),
    );
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! { <LookupStatsView d /> }.into_any(),
                    Err(e) => view! { <Title text="Error" /><ErrorPanel error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn LookupStatsView(d: LookupStats) -> impl IntoView {
    let expiring = d
        .expiring
        .iter()
        .map(|e| view! { <tr><td class="tabular-nums">{e.e164.clone()}</td><td class="tabular-nums">{e.expires.clone()}</td></tr> })
        .collect_view();
    let no_expiring = d.expiring.is_empty();
    view! {
        <Title text=format!("Lookup costs · {}", d.org.name) />
        <h1 class="text-2xl font-semibold">"Lookup costs and cache savings"</h1>
        {d.org.access.read_only().then(|| view! { <ReadOnlyBanner /> })}
        <TotalsView t=d.month.clone() label="This month" />
        <form method="get" class="card mt-6 flex flex-wrap items-end gap-3">
            <div class="field"><label class="label" for="from">"From"</label><input class="input" type="date" id="from" name="from" value=d.from.clone() /></div>
            <div class="field"><label class="label" for="to">"To"</label><input class="input" type="date" id="to" name="to" value=d.to.clone() /></div>
            <button type="submit" class="btn">"Show range"</button>
        </form>
        <TotalsView t=d.range.clone() label=format!("{} to {}", d.from, d.to) />
        <section class="card mt-6 overflow-x-auto" aria-label="Requests per day">
            <h2 class="text-lg font-semibold">"Requests per day"</h2>
            <div class="chart mt-2" inner_html=d.chart_svg.clone()></div>
        </section>
        <div class="mt-6 grid gap-4 md:grid-cols-3">
            {count_table("Line types", "Line type", &d.line_types)}
            {count_table("Most looked-up numbers", "Number", &d.top_numbers)}
            <div class="card overflow-x-auto p-0">
                <table class="table">
                    <caption class="px-4 pt-3 text-left font-semibold">"Cache entries expiring within 7 days"</caption>
                    <thead><tr><th scope="col">"Number"</th><th scope="col">"Expires"</th></tr></thead>
                    <tbody>{expiring}</tbody>
                </table>
                {no_expiring.then(|| view! { <p class="muted p-4">"None."</p> })}
            </div>
        </div>
    }
}

/// `/staff/lookups`: the shared cache across all orgs.
#[component]
pub fn StaffLookupsPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| load_global_lookup_stats());
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! { <StaffLookupsView d /> }.into_any(),
                    Err(e) => view! { <Title text="Error" /><ErrorPanel error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn StaffLookupsView(d: GlobalCacheStats) -> impl IntoView {
    let rows = d
        .by_org
        .iter()
        .map(|o| view! {
            <tr>
                <td><a class="link" href=format!("/o/{}/admin/lookups", o.slug)>{o.name.clone()}</a></td>
                <td class="tabular-nums text-right">{o.requests}</td>
                <td class="tabular-nums text-right">{o.paid}</td>
                <td class="tabular-nums text-right">{o.spend.clone()}</td>
                <td class="tabular-nums text-right">{o.saved.clone()}</td>
            </tr>
        })
        .collect_view();
    view! {
        <Title text="Lookup cache" />
        <h1 class="text-2xl font-semibold">"Lookup cache, all orgs"</h1>
        <dl class="mt-4 grid grid-cols-2 gap-3 md:grid-cols-3">
            <Stat label="Cached numbers" value=d.entries.to_string() />
            <Stat label="Expired entries" value=d.expired.to_string() />
            <Stat label="Numbers backing off after errors" value=d.failing.to_string() />
            <Stat label="Provider lookups (all time)" value=d.total_lookup_count.to_string() />
            <Stat label="Provider spend this month" value=d.spend.clone() />
            <Stat label="Saved this month" value=d.saved.clone() />
        </dl>
        <div class="card mt-6 overflow-x-auto p-0">
            <table class="table">
                <caption class="px-4 pt-3 text-left font-semibold">"This month by org"</caption>
                <thead><tr>
                    <th scope="col">"Org"</th><th scope="col" class="text-right">"Requests"</th>
                    <th scope="col" class="text-right">"Paid"</th><th scope="col" class="text-right">"Spend"</th>
                    <th scope="col" class="text-right">"Saved"</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        <p class="mt-4"><a class="link" href="/admin/phone-config">"System default phone config →"</a></p>
    }
}

/// `/o/:org/lookups/bulk`: upload a CSV, watch it run, download the results.
#[component]
pub fn BulkPage() -> impl IntoView {
    let outcome = StoredValue::new(page_outcome());
    let org = org_param();
    let query = use_query_map();
    let tick = RwSignal::new(0u32);
    let data = Resource::new(
        move || {
            (
                org.get(),
                query.with(|q| q.get("job").and_then(|j| j.parse::<i64>().ok())),
                tick.get(),
            )
        },
        |(o, j, _)| load_bulk_page(o, j),
    );
    // With JavaScript, poll while a job is open; without, the page refreshes itself (below).
    poll_while(
        data,
        |d| d.jobs.iter().any(|j| j.open()),
        std::time::Duration::from_millis(1000),
        tick,
    );
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! { <BulkView d outcome=outcome.get_value() /> }.into_any(),
                    Err(e) => view! { <Title text="Error" /><ErrorPanel error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn BulkView(d: BulkPage, outcome: Option<FormOutcome>) -> impl IntoView {
    let slug = d.org.slug.clone();
    let upload_error = outcome
        .filter(|o| o.endpoint == BULK_UPLOAD_ENDPOINT)
        .map(|o| o.error.to_string());
    let any_open = d.jobs.iter().any(|j| j.open());
    let jobs = d
        .jobs
        .iter()
        .map(|j| view! { <JobRow j=j.clone() slug=slug.clone() /> })
        .collect_view();
    let empty = d.jobs.is_empty();
    let err_id = "file-error";
    view! {
        <Title text=format!("Bulk lookups · {}", d.org.name) />
        // Without JavaScript the page reloads itself while a job runs (polling is cheap).
        {any_open.then(|| view! { <noscript inner_html=r#"<meta http-equiv="refresh" content="2">"#></noscript> })}
        <h1 class="text-2xl font-semibold">"Bulk lookups"</h1>
        {d.org.access.read_only().then(|| view! { <ReadOnlyBanner /> })}
        {d.job.clone().map(|j| view! {
            <section class="card mt-4 max-w-xl" role="status" aria-label="Selected job" data-testid="current-job">
                <h2 class="font-semibold">{format!("Job {} · {}", j.id, if j.filename.is_empty() { "upload.csv" } else { &j.filename })}</h2>
                <progress class="mt-2 w-full accent-indigo-600" max="100" value=j.percent()>{format!("{}%", j.percent())}</progress>
                <p class="text-sm tabular-nums" data-testid="current-job-progress">
                    {match j.status.as_str() {
                        "done" => format!("Done: {} of {} rows", j.processed, j.total),
                        "failed" => format!("Stopped: {}", j.error.clone().unwrap_or_default()),
                        _ => format!("Working: {} of {} rows", j.processed, j.total),
                    }}
                    {(j.errors > 0).then(|| format!(" · {} with errors (see the CSV)", j.errors))}
                </p>
                {(!j.open()).then(|| view! {
                    <p class="mt-2"><a class="link" href=format!("/o/{}/lookups/bulk/{}/results.csv", d.org.slug, j.id) download="">"Download results (CSV)"</a></p>
                })}
            </section>
        })}
        {d.can_upload.then(|| view! {
            <form method="post" enctype="multipart/form-data" action=format!("/o/{}/lookups/bulk/upload", d.org.slug) class="card mt-4 max-w-xl space-y-3">
                <div class="field">
                    <label class="label" for="file">"CSV file"</label>
                    <input class="input" type="file" id="file" name="file" accept=".csv,text/csv,text/plain" required=true
                        aria-invalid=if upload_error.is_some() { "true" } else { "false" } aria-describedby=err_id />
                    <p class="hint">"One phone number per row in the first column (a header row is fine), up to 10,000 rows. Repeated numbers and cached answers cost nothing."</p>
                    <p id=err_id class="field-error" role="alert">{upload_error.clone()}</p>
                </div>
                <button type="submit" class="btn">"Upload and start"</button>
            </form>
        })}
        <div class="card mt-6 overflow-x-auto p-0">
            <table class="table">
                <caption class="px-4 pt-3 text-left font-semibold">"Jobs"</caption>
                <thead><tr>
                    <th scope="col">"File"</th><th scope="col">"Status"</th><th scope="col">"Progress"</th>
                    <th scope="col">"By"</th><th scope="col">"Started"</th><th scope="col">"Results"</th>
                </tr></thead>
                <tbody>{jobs}</tbody>
            </table>
            {empty.then(|| view! { <p class="muted p-4">"No bulk lookups yet."</p> })}
        </div>
    }
}

/// Where the upload form posts (a plain multipart form, handled by the server crate).
pub const BULK_UPLOAD_ENDPOINT: &str = "bulk-upload";

#[component]
fn JobRow(j: BulkJobView, slug: String) -> impl IntoView {
    let pct = j.percent();
    let status = match j.status.as_str() {
        "queued" => "Queued".to_string(),
        "running" => "Running".to_string(),
        "done" => "Done".to_string(),
        _ => format!("Failed: {}", j.error.clone().unwrap_or_default()),
    };
    view! {
        <tr data-testid=format!("job-{}", j.id)>
            <td>{if j.filename.is_empty() { "upload.csv".to_string() } else { j.filename.clone() }}</td>
            <td data-testid="job-status">{status}</td>
            <td class="min-w-48">
                <progress class="w-full accent-indigo-600" max="100" value=pct aria-label=format!("Job {} progress", j.id)>{format!("{pct}%")}</progress>
                <p class="muted text-xs tabular-nums" data-testid="job-progress">
                    {format!("{} of {} rows", j.processed, j.total)}
                    {(j.errors > 0).then(|| format!(" · {} with errors", j.errors))}
                </p>
            </td>
            <td>{j.user.clone()}</td>
            <td class="muted tabular-nums">{j.created.clone()}</td>
            <td>
                <a class="link" href=format!("/o/{slug}/lookups/bulk/{}/results.csv", j.id) download="">
                    {if j.open() { "Download so far" } else { "Download CSV" }}
                </a>
            </td>
        </tr>
    }
}

//! Lookup pages: look a number up, bulk lookups, the org's cost page and the staff's global cache
//! figures.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::org_param;
use crate::api::lookups::{
    load_bulk_page, load_lookup_page, load_lookup_stats, LookupNumber, ResumeBulkJob,
};
use crate::components::{
    page_outcome, poll_while, ActionForm, Field, FormError, FormOutcome, FormState, Loaded,
    ReadOnlyBanner, Refresh, Stat,
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
    let data = crate::components::page_data(
        move || (org.get(), number.get(), refresh.0.get()),
        |(o, (n, _), _)| load_lookup_page(o, n),
    );
    view! {
        <Loaded data show=move |d| view! { <LookupView d outcome=outcome.get_value() /> } />
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
    let hint = crate::model::countries::phone_hint(&d.org);
    view! {
        <Title text=format!("Lookup · {}", d.org.name) />
        <div class="flex flex-wrap items-baseline justify-between gap-2">
            <h1 class="text-2xl font-semibold">"Look up a number"</h1>
            <a class="link" href=format!("/o/{}/lookups/bulk", d.org.slug)>"Many numbers? Bulk lookups →"</a>
        </div>
        <p class="muted mt-1">"Line type, carrier and (when enabled) caller name. Answers are cached for every org: a cached answer costs nothing."</p>
        {d.org.access.read_only().then(|| view! { <ReadOnlyBanner /> })}
        {d.unavailable.clone().map(|m| view! { <p class="readonly-banner" role="note">{m}</p> })}
        {d.offline.then(|| view! {
            <p class="readonly-banner" role="status">
                "PhoneHub's database cannot be reached right now. Numbers this server has looked up recently still answer; recent lookups and new numbers will be back when it is."
            </p>
        })}
        {(d.can_lookup && d.unavailable.is_none()).then(|| view! {
            <ActionForm action attr:class="card mt-4 max-w-xl">
                <input type="hidden" name="org" value=d.org.slug.clone() />
                <Field form label="Phone number" name="number" value=query.with_untracked(|q| q.get("number")).unwrap_or_default()
                    hint=hint required=true />
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
            {(empty && !d.offline).then(|| view! { <p class="muted p-4">"No lookups yet."</p> })}
            {d.offline.then(|| view! { <p class="muted p-4">"Not available until the database is back."</p> })}
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
        ("As written here", or_not_provided(&r.national_format)),
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
            {r.answered_by_note.clone().map(|note| view! {
                <p class="muted mt-1 text-sm" data-testid="answered-by">{note}</p>
            })}
            <dl class="mt-4 grid grid-cols-1 gap-x-6 gap-y-2 sm:grid-cols-2">
                {rows.into_iter().map(|(k, v)| view! {
                    <div><dt class="muted text-sm">{k}</dt><dd>{v}</dd></div>
                }).collect_view()}
            </dl>
            <div class="mt-4">{refresh}</div>
        </section>
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
    let data = crate::components::page_data(
        move || (org.get(), query.with(|q| (q.get("from"), q.get("to")))),
        |(o, (f, t))| load_lookup_stats(o, f, t),
    );
    view! {
        <Loaded data show=|d| view! { <LookupStatsView d /> } />
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
/// `/o/:org/lookups/bulk`: upload a CSV, watch it run, download the results.
#[component]
pub fn BulkPage() -> impl IntoView {
    let outcome = StoredValue::new(page_outcome());
    let org = org_param();
    let query = use_query_map();
    let tick = RwSignal::new(0u32);
    let data = crate::components::page_data(
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
        <Loaded data show=move |d| view! { <BulkView d outcome=outcome.get_value() /> } />
    }
}

#[component]
fn BulkView(d: BulkPage, outcome: Option<FormOutcome>) -> impl IntoView {
    let slug = d.org.slug.clone();
    let upload_error = outcome
        .clone()
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
                        "paused" => format!("Paused after {} of {} rows: {}", j.processed, j.total, j.error.clone().unwrap_or_default()),
                        _ => format!("Working: {} of {} rows", j.processed, j.total),
                    }}
                    {(j.errors > 0).then(|| format!(" · {} with errors (see the CSV)", j.errors))}
                </p>
                {(!j.open()).then(|| view! {
                    <p class="mt-2"><a class="link" href=format!("/o/{}/lookups/bulk/{}/results.csv", d.org.slug, j.id) download="">"Download results (CSV)"</a></p>
                })}
                {(j.status == "paused" && d.can_upload).then(|| view! { <ResumeJob slug=d.org.slug.clone() id=j.id outcome=outcome.clone() /> })}
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

/// The button that puts a job paused at a budget's hard cap back in the queue.
#[component]
fn ResumeJob(slug: String, id: i64, outcome: Option<FormOutcome>) -> impl IntoView {
    let resume = ServerAction::<ResumeBulkJob>::new();
    let form = FormState::new(resume, &outcome, Some(("id", id.to_string())));
    view! {
        <div class="mt-3">
            <ActionForm action=resume>
                <input type="hidden" name="org" value=slug />
                <input type="hidden" name="id" value=id.to_string() />
                <p class="hint">"The rows not yet looked up are kept. Resume once the budget is raised or its period has turned."</p>
                <button type="submit" class="btn mt-2">"Resume the job"</button>
                <FormError form />
            </ActionForm>
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
        "paused" => "Paused at a budget".to_string(),
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

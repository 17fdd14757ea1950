//! `/o/:org/admin/usage` (spend by category, user and number, per day, idle numbers, CSV) and the
//! audit log pages (`/o/:org/admin/audit`, and the staff's `/staff/audit` through `AuditView`).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_location;

use super::org_param;
use crate::api::usage::{load_audit, load_usage};
use crate::components::{ErrorPanel, FilterError, Loading, ReadOnlyBanner, Stat};
use crate::model::usage::*;

#[component]
pub fn UsagePage() -> impl IntoView {
    let org = org_param();
    let loc = use_location();
    let range = Memo::new(move |_| loc.query.with(|q| (q.get("from"), q.get("to"))));
    let data = crate::components::page_data(
        move || (org.get(), range.get()),
        |(o, (f, t))| load_usage(o, f, t),
    );
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! { <UsageView d /> }.into_any(),
                    Err(crate::error::AppError::Validation { message, .. }) => view! {
                        <FilterError title="Usage and spend" message back="Show this month" />
                    }.into_any(),
                    Err(e) => view! { <Title text="Error" /><ErrorPanel error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Spend tables and chart, shared with the staff's org page.
#[component]
pub fn SpendReport(r: UsageReport, slug: String) -> impl IntoView {
    let cards = r
        .categories
        .iter()
        .map(|c| {
            let unit = CATEGORIES
                .iter()
                .find(|x| x.0 == c.category)
                .map(|x| x.2)
                .unwrap_or("");
            view! {
                <div class="card" data-testid=format!("spend-{}", c.category)>
                    <dt class="muted text-sm">{category_label(&c.category)}</dt>
                    <dd class="mt-1 text-2xl font-semibold tabular-nums">{c.amount.clone()}</dd>
                    <dd class="muted text-xs">{format!("{} {}", c.quantity, if c.quantity == 1 { unit.trim_end_matches('s') } else { unit })}</dd>
                </div>
            }
        })
        .collect_view();
    let rows = |list: &[SpendRow]| {
        list.iter()
            .map(|x| view! { <tr><td>{x.label.clone()}</td><td class="tabular-nums text-right">{x.amount.clone()}</td></tr> })
            .collect_view()
    };
    let idle = r
        .idle
        .iter()
        .map(|n| {
            view! {
                <li><a class="link tabular-nums" href=format!("/o/{slug}/numbers/{}", n.id)>{n.e164.clone()}</a>
                    " · "{n.owner.clone()}" · "{n.monthly.clone()}" a month"</li>
            }
        })
        .collect_view();
    let no_idle = r.idle.is_empty();
    view! {
        <dl class="mt-4 grid gap-4 sm:grid-cols-3 lg:grid-cols-6">
            <Stat label="Total" value=r.total.clone() large=true />
            {cards}
        </dl>
        <section class="card mt-6" aria-label="Spend per day">
            <h2 class="font-semibold">"Spend per day (stacked by category, USD)"</h2>
            <div class="mt-2 overflow-x-auto" inner_html=r.chart_svg.clone()></div>
        </section>
        <div class="mt-6 grid gap-6 md:grid-cols-2">
            <section class="card p-0" aria-label="Spend by user">
                <h2 class="px-4 pt-4 font-semibold">"By user"</h2>
                <table class="table"><thead><tr><th scope="col">"User"</th><th scope="col" class="text-right">"Spend"</th></tr></thead>
                    <tbody>{rows(&r.by_user)}</tbody></table>
            </section>
            <section class="card p-0" aria-label="Spend by number">
                <h2 class="px-4 pt-4 font-semibold">"By number"</h2>
                <table class="table"><thead><tr><th scope="col">"Number"</th><th scope="col" class="text-right">"Spend"</th></tr></thead>
                    <tbody>{rows(&r.by_number)}</tbody></table>
            </section>
        </div>
        <section class="card mt-6" aria-label="Idle numbers">
            <h2 class="font-semibold">"Idle numbers"</h2>
            <p class="muted text-sm">"Paid for, with no calls or SMS in the last 30 days."</p>
            <ul class="mt-2 space-y-1 text-sm" data-testid="idle-numbers">{idle}</ul>
            {no_idle.then(|| view! { <p class="mt-2 text-sm">"None: every number was used in the last 30 days."</p> })}
        </section>
    }
}

#[component]
fn UsageView(d: UsagePageData) -> impl IntoView {
    let slug = d.org.slug.clone();
    let r = d.report.clone();
    let csv = format!("/o/{slug}/admin/usage.csv?from={}&to={}", r.from, r.to);
    let statements = format!("/o/{slug}/statements");
    view! {
        <Title text=format!("Usage and spend · {}", d.org.name) />
        <div class="flex flex-wrap items-baseline justify-between gap-2">
            <h1 class="text-2xl font-semibold">"Usage and spend"</h1>
            <div class="flex flex-wrap items-center gap-3">
                <a class="link text-sm" href=statements>"Monthly statements"</a>
                <a class="btn-secondary" href=csv rel="external" download="">"Export CSV"</a>
            </div>
        </div>
        {d.org.access.read_only().then(|| view! { <ReadOnlyBanner /> })}
        <form method="get" class="mt-4 flex flex-wrap items-end gap-3" aria-label="Date range">
            <div class="field"><label class="label" for="from">"From"</label>
                <input class="input" id="from" name="from" type="date" value=r.from.clone() /></div>
            <div class="field"><label class="label" for="to">"To"</label>
                <input class="input" id="to" name="to" type="date" value=r.to.clone() /></div>
            <button type="submit" class="btn">"Show"</button>
            <a class="link pb-2" href="?">"This month"</a>
        </form>
        <SpendReport r slug />
    }
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let org = org_param();
    view! { <AuditLoader org=Signal::derive(move || org.get()) /> }
}

#[component]
pub fn AuditLoader(org: Signal<String>) -> impl IntoView {
    let loc = use_location();
    let params = Memo::new(move |_| loc.search.get());
    let data =
        crate::components::page_data(move || (org.get(), params.get()), |(o, p)| load_audit(o, p));
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! { <AuditView d /> }.into_any(),
                    Err(crate::error::AppError::Validation { message, .. }) => view! {
                        <FilterError title="Audit log" message back="Clear the filters" />
                    }.into_any(),
                    Err(e) => view! { <Title text="Error" /><ErrorPanel error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn AuditView(d: AuditPageData) -> impl IntoView {
    let staff = d.org.is_none();
    let title = match &d.org {
        Some(o) => format!("Audit log · {}", o.name),
        None => "Audit log · all orgs".to_string(),
    };
    let qs = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(
            [
                ("actor", &d.actor),
                ("action", &d.action),
                ("from", &d.from),
                ("to", &d.to),
            ]
            .into_iter()
            .filter(|(_, v)| !v.is_empty()),
        )
        .finish();
    let next = d.next.clone().map(|c| {
        let sep = if qs.is_empty() { "" } else { "&" };
        format!("?{qs}{sep}before={c}")
    });
    let actions = d
        .actions
        .iter()
        .map(|a| view! { <option value=a.clone() selected=*a == d.action>{a.clone()}</option> })
        .collect_view();
    let rows = d
        .rows
        .iter()
        .map(|r| {
            view! {
                <tr>
                    <td class="whitespace-nowrap tabular-nums">{r.at.clone()}</td>
                    <td>{r.actor.clone()}</td>
                    {staff.then(|| view! { <td>{r.org.clone()}</td> })}
                    <td><code class="text-xs">{r.action.clone()}</code></td>
                    <td class="break-all">{r.target.clone()}</td>
                    <td class="break-all text-xs muted">{r.details.clone()}</td>
                    <td class="tabular-nums text-xs">{r.ip.clone()}</td>
                </tr>
            }
        })
        .collect_view();
    let empty = d.rows.is_empty();
    view! {
        <Title text=title.clone() />
        <h1 class="text-2xl font-semibold">{title}</h1>
        {d.org.as_ref().is_some_and(|o| o.access.read_only()).then(|| view! { <ReadOnlyBanner /> })}
        <form method="get" class="card mt-4 grid gap-3 md:grid-cols-5" aria-label="Filter the audit log">
            <div class="field"><label class="label" for="actor">"Actor e-mail contains"</label>
                <input class="input" id="actor" name="actor" value=d.actor.clone() maxlength="254" /></div>
            <div class="field"><label class="label" for="action">"Action"</label>
                <select class="input" id="action" name="action"><option value="">"Any"</option>{actions}</select></div>
            <div class="field"><label class="label" for="from">"From"</label>
                <input class="input" id="from" name="from" type="date" value=d.from.clone() /></div>
            <div class="field"><label class="label" for="to">"To"</label>
                <input class="input" id="to" name="to" type="date" value=d.to.clone() /></div>
            <div class="flex items-end gap-3"><button type="submit" class="btn">"Filter"</button>
                <a class="link pb-2" href="?">"Clear"</a></div>
        </form>
        <div class="card mt-4 overflow-x-auto p-0">
            <table class="table">
                <caption class="sr-only">"Audit entries, newest first"</caption>
                <thead><tr>
                    <th scope="col">"When"</th><th scope="col">"Who"</th>
                    {staff.then(|| view! { <th scope="col">"Org"</th> })}
                    <th scope="col">"Action"</th><th scope="col">"Target"</th><th scope="col">"Details"</th><th scope="col">"IP"</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
            {empty.then(|| view! { <p class="muted p-4">"No entries match."</p> })}
        </div>
        <nav class="mt-4 flex gap-4" aria-label="Pages">
            {(!qs.is_empty() || next.is_some()).then(|| view! { <a class="link" href=format!("?{qs}")>"← Newest"</a> })}
            {next.map(|h| view! { <a class="link" href=h rel="next">"Older entries →"</a> })}
        </nav>
    }
}

//! The support console (read-only): `/staff` (orgs and users), `/staff/orgs/:org` (one org's
//! usage, numbers, calls, SMS, configuration and audit log), `/staff/audit`, `/staff/lookups`
//! (the shared cache) and `/staff/budgets` (every org's budgets, nearest their cap first).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_location;

use super::budgets::UsedBar;
use super::org_param;
use super::usage::{AuditLoader, SpendReport};
use crate::api::staff::{
    load_global_lookup_stats, load_staff_budgets, load_staff_home, load_staff_org,
};
use crate::components::{Loaded, ReadOnlyBanner, Stat};
use crate::model::budgets::{BudgetCategory, StaffBudgetRow, StaffBudgetsPage as BudgetsData};
use crate::model::calls::duration_label;
use crate::model::lookup::GlobalCacheStats;
use crate::model::usage::*;

#[component]
pub fn StaffHomePage() -> impl IntoView {
    let loc = use_location();
    let q = Memo::new(move |_| loc.query.with(|q| q.get("q")));
    let data = crate::components::page_data(move || q.get(), load_staff_home);
    view! {
        <Loaded data show=|d| view! { <StaffHomeView d /> } />
    }
}

#[component]
fn StaffHomeView(d: StaffHome) -> impl IntoView {
    let orgs = d
        .orgs
        .iter()
        .map(|o| {
            view! {
                <tr data-testid=format!("staff-org-{}", o.slug)>
                    <td><a class="link" href=format!("/staff/orgs/{}", o.slug)>{o.name.clone()}</a></td>
                    <td class="tabular-nums">{o.members}</td><td class="tabular-nums">{o.numbers}</td>
                    <td class="tabular-nums">{o.calls}</td><td class="tabular-nums">{o.sms}</td>
                    <td class="tabular-nums">{o.lookups}</td><td class="tabular-nums">{o.spend.clone()}</td>
                </tr>
            }
        })
        .collect_view();
    let users = d
        .users
        .iter()
        .map(|u| view! { <tr><td>{u.email.clone()}</td><td>{u.name.clone()}</td><td>{u.orgs.clone()}</td></tr> })
        .collect_view();
    let searched = !d.q.is_empty();
    let no_users = d.users.is_empty();
    view! {
        <Title text="Support console" />
        <div class="flex flex-wrap items-baseline justify-between gap-2">
            <h1 class="text-2xl font-semibold">"Support console"</h1>
            <div class="flex gap-4"><a class="link" href="/staff/audit">"Audit log"</a><a class="link" href="/staff/lookups">"Lookup cache"</a><a class="link" href="/staff/budgets">"Budgets"</a></div>
        </div>
        <ReadOnlyBanner />
        <form method="get" class="mt-4 flex items-end gap-3" role="search" aria-label="Search orgs and users">
            <div class="field grow"><label class="label" for="q">"Search orgs and users"</label>
                <input class="input" id="q" name="q" type="search" value=d.q.clone() maxlength="100" /></div>
            <button type="submit" class="btn">"Search"</button>
        </form>
        <div class="card mt-4 overflow-x-auto p-0">
            <table class="table">
                <caption class="sr-only">"Orgs, with this month's figures"</caption>
                <thead><tr><th scope="col">"Org"</th><th scope="col">"Members"</th><th scope="col">"Numbers"</th>
                    <th scope="col">"Calls (month)"</th><th scope="col">"SMS (month)"</th><th scope="col">"Lookups (month)"</th><th scope="col">"Spend (month)"</th></tr></thead>
                <tbody>{orgs}</tbody>
            </table>
        </div>
        {searched.then(|| view! {
            <section class="card mt-6 overflow-x-auto p-0" aria-label="Users">
                <h2 class="px-4 pt-4 font-semibold">"Users"</h2>
                <table class="table"><thead><tr><th scope="col">"E-mail"</th><th scope="col">"Name"</th><th scope="col">"Orgs"</th></tr></thead>
                    <tbody>{users}</tbody></table>
                {no_users.then(|| view! { <p class="muted p-4">"No users match."</p> })}
            </section>
        })}
    }
}

#[component]
pub fn StaffOrgPage() -> impl IntoView {
    let org = org_param();
    let data = crate::components::page_data(move || org.get(), load_staff_org);
    view! {
        <Loaded data show=|d| view! { <StaffOrgView d /> } />
    }
}

#[component]
fn StaffOrgView(d: StaffOrgPage) -> impl IntoView {
    let slug = d.org.slug.clone();
    let numbers = number_rows(&d, &slug);
    let calls = call_rows(&d, &slug);
    let sms = conversation_items(&d, &slug);
    let audit = audit_items(&d);
    let config = config_summary(&d);
    view! {
        <Title text=format!("{} · Support console", d.org.name) />
        <p><a class="link" href="/staff">"← Support console"</a></p>
        <h1 class="mt-2 text-2xl font-semibold">{d.org.name.clone()}</h1>
        <ReadOnlyBanner />
        <p class="mt-2 flex flex-wrap gap-4 text-sm">
            <a class="link" href=format!("/o/{slug}/admin/usage")>"Usage"</a>
            <a class="link" href=format!("/o/{slug}/numbers")>"Numbers"</a>
            <a class="link" href=format!("/o/{slug}/calls")>"Calls"</a>
            <a class="link" href=format!("/o/{slug}/sms")>"SMS"</a>
            <a class="link" href=format!("/o/{slug}/admin/lookups")>"Lookups"</a>
            <a class="link" href=format!("/o/{slug}/admin/phone-config")>"Phone config"</a>
            <a class="link" href=format!("/o/{slug}/admin/audit")>"Audit log"</a>
            <a class="link" href=format!("/o/{slug}/admin/api-keys")>"API keys"</a>
            <a class="link" href=format!("/o/{slug}/admin/budgets")>"Budgets"</a>
            <a class="link" href=format!("/o/{slug}/admin/webhooks")>"Webhooks"</a>
        </p>
        <h2 class="mt-6 text-lg font-semibold">"This month"</h2>
        <SpendReport r=d.report.clone() slug=slug.clone() />
        <div class="mt-6 grid gap-6 lg:grid-cols-2">
            <section class="card overflow-x-auto p-0" aria-label="Numbers">
                <h2 class="px-4 pt-4 font-semibold">"Numbers"</h2>
                <table class="table"><thead><tr><th scope="col">"Number"</th><th scope="col">"Owner"</th><th scope="col">"Status"</th><th scope="col">"Cost"</th></tr></thead>
                    <tbody>{numbers}</tbody></table>
            </section>
            <section class="card" aria-label="Phone configuration">
                <h2 class="font-semibold">"Phone configuration (masked)"</h2>
                <div class="mt-2">{config}</div>
            </section>
        </div>
        <section class="card mt-6 overflow-x-auto p-0" aria-label="Recent calls">
            <h2 class="px-4 pt-4 font-semibold">"Recent calls"</h2>
            <table class="table"><thead><tr><th scope="col">"When"</th><th scope="col">"From → to"</th><th scope="col">"Status"</th><th scope="col">"Duration"</th><th scope="col">"Cost"</th><th scope="col">"Recording"</th></tr></thead>
                <tbody>{calls}</tbody></table>
        </section>
        <div class="mt-6 grid gap-6 lg:grid-cols-2">
            <section class="card" aria-label="SMS conversations">
                <h2 class="font-semibold">"SMS conversations"</h2>
                <ul class="mt-2 space-y-1 text-sm">{sms}</ul>
            </section>
            <section class="card" aria-label="Recent audit entries">
                <h2 class="font-semibold">"Recent audit entries"</h2>
                <ul class="mt-2 space-y-1">{audit}</ul>
            </section>
        </div>
    }
}

/// The org's numbers, one table row each, linked to the org's own number pages.
fn number_rows(d: &StaffOrgPage, slug: &str) -> impl IntoView {
    d.numbers
        .iter()
        .map(|n| {
            view! {
                <tr><td class="tabular-nums"><a class="link" href=format!("/o/{slug}/numbers/{}", n.id)>{n.e164.clone()}</a></td>
                    <td>{n.owner.clone()}</td><td>{n.status_label()}</td><td class="tabular-nums">{n.monthly.clone()}</td></tr>
            }
        })
        .collect_view()
}

/// The org's recent calls, one table row each, linked to the org's own call pages.
fn call_rows(d: &StaffOrgPage, slug: &str) -> impl IntoView {
    d.calls
        .iter()
        .map(|c| {
            view! {
                <tr><td class="tabular-nums whitespace-nowrap"><a class="link" href=format!("/o/{slug}/calls/{}", c.id)>{c.created.clone()}</a></td>
                    <td class="tabular-nums">{c.from.clone()}" → "{c.to.clone()}</td><td>{c.status.label()}</td>
                    <td class="tabular-nums">{duration_label(c.duration_secs)}</td><td class="tabular-nums">{c.cost.clone()}</td>
                    <td>{if c.recordings > 0 { "Yes" } else { "—" }}</td></tr>
            }
        })
        .collect_view()
}

/// The org's SMS conversations, one list item each, linked to the org's own threads.
fn conversation_items(d: &StaffOrgPage, slug: &str) -> impl IntoView {
    d.sms
        .iter()
        .map(|c| {
            let q = c.thread_query();
            view! {
                <li><a class="link tabular-nums" href=format!("/o/{slug}/sms?{q}")>{c.other.clone()}</a>
                    <span class="muted">" via "{c.our.clone()}" · "{c.count}{if c.count == 1 { " message" } else { " messages" }}" · "{c.last_at.clone()}</span></li>
            }
        })
        .collect_view()
}

/// The org's recent audit entries, one list item each.
fn audit_items(d: &StaffOrgPage) -> impl IntoView {
    d.audit
        .iter()
        .map(|a| view! { <li class="text-sm"><span class="muted tabular-nums">{a.at.clone()}</span>" · "{a.actor.clone()}" · "<code class="text-xs">{a.action.clone()}</code>" "{a.target.clone()}</li> })
        .collect_view()
}

/// The phone configuration that applies to the org, masked, or a sentence saying none does.
fn config_summary(d: &StaffOrgPage) -> AnyView {
    match d.config.clone() {
        Some(c) => {
            let (id_label, secret_label) = c.provider.credential_labels();
            view! {
            <dl class="grid grid-cols-2 gap-x-4 gap-y-1 text-sm">
                <dt class="muted">"Source"</dt><dd>{if c.own { "The org's own" } else { "System default" }}</dd>
                <dt class="muted">"Provider"</dt><dd>{c.provider.label()}" · "{c.display_name.clone()}</dd>
                <dt class="muted">{id_label}</dt><dd class="break-all">{c.credential_id.clone()}</dd>
                <dt class="muted">{secret_label}</dt><dd>{c.token.clone()}</dd>
                <dt class="muted">"Test mode"</dt><dd>{if c.test_mode { "On" } else { "Off" }}</dd>
                <dt class="muted">"Lookups"</dt><dd>{if c.lookups { "On" } else { "Off" }}</dd>
            </dl>
        }.into_any()
        }
        None => view! { <p class="text-sm">"No phone configuration applies to this org."</p> }
            .into_any(),
    }
}

#[component]
pub fn StaffAuditPage() -> impl IntoView {
    view! { <AuditLoader org=Signal::derive(String::new) /> }
}

#[component]
pub fn StaffLookupsPage() -> impl IntoView {
    let data = crate::components::page_data(|| (), |_| load_global_lookup_stats());
    view! {
        <Loaded data show=|d| view! { <StaffLookupsView d /> } />
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

#[component]
pub fn StaffBudgetsPage() -> impl IntoView {
    let data = crate::components::page_data(|| (), |_| load_staff_budgets());
    view! {
        <Loaded data show=|d| view! { <StaffBudgetsView d /> } />
    }
}

#[component]
fn StaffBudgetsView(d: BudgetsData) -> impl IntoView {
    let empty = d.rows.is_empty();
    let rows = d
        .rows
        .into_iter()
        .map(|r| view! { <StaffBudgetLine r /> })
        .collect_view();
    view! {
        <Title text="Budgets · Support console" />
        <p><a class="link" href="/staff">"← Support console"</a></p>
        <h1 class="mt-2 text-2xl font-semibold">"Budgets, all orgs"</h1>
        <p class="muted mt-1 text-sm">{format!(
            "The current period of each budget, in its org's time zone; nearest its cap first (at most {}).",
            d.limit
        )}</p>
        <div class="card mt-4 overflow-x-auto p-0">
            <table class="table">
                <caption class="sr-only">"Budgets of every org, nearest their cap first"</caption>
                <thead><tr>
                    <th scope="col">"Org"</th><th scope="col">"Scope"</th><th scope="col">"Category"</th>
                    <th scope="col">"Period"</th><th scope="col">"Amount"</th><th scope="col">"Spent"</th>
                    <th scope="col">"Held"</th><th scope="col">"Left"</th><th scope="col">"% used"</th>
                    <th scope="col">"Kind"</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
            {empty.then(|| view! { <p class="muted p-4">"No org has a budget."</p> })}
        </div>
    }
}

/// One budget of the staff's list: its org (linked to the org's budgets page) and its figures.
#[component]
fn StaffBudgetLine(r: StaffBudgetRow) -> impl IntoView {
    let b = r.budget;
    let extra = (b.extra_micros > 0).then(|| {
        let e = crate::model::money::Money::from_micros(b.extra_micros);
        view! { <span class="muted block text-xs">{format!("+ {e} extra this period")}</span> }
    });
    let kind = if b.hard_cap { "Hard cap" } else { "Alert only" };
    view! {
        <tr data-testid=format!("staff-budget-{}", b.id)>
            <td><a class="link" href=format!("/o/{}/admin/budgets", r.org_slug)>{r.org_name}</a></td>
            <td>{b.member.unwrap_or_else(|| "Whole org".into())}</td>
            <td>{b.category.map(BudgetCategory::label).unwrap_or("All")}</td>
            <td>{b.period.label()}
                <span class="muted block text-xs">{format!("{} · {}", b.period_label, r.time_zone)}</span></td>
            <td class="tabular-nums">{b.amount} {extra}</td>
            <td class="tabular-nums">{b.spent}</td>
            <td class="tabular-nums">{b.held}</td>
            <td class="tabular-nums">{b.remaining}</td>
            <td><UsedBar percent=b.percent_used /></td>
            <td>{kind}</td>
        </tr>
    }
}

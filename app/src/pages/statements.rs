//! `/o/:org/statements` (the monthly statements the visitor sees: the org's and every member's
//! for owners, admins and support, else their own) and `/o/:org/statements/:id` (one statement,
//! laid out to print, with its CSV).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::org_param;
use crate::api::statements::{statement, statements_page};
use crate::components::{Loaded, ReadOnlyBanner};
use crate::model::money::Money;
use crate::model::statements::{
    category_label, signed, usage_label, Statement, StatementCheck, StatementSummary,
    StatementsPage as Data,
};

const EMPTY: &str = "No statement yet: the first closes at the end of this month.";

#[component]
pub fn StatementsPage() -> impl IntoView {
    let org = org_param();
    let data = crate::components::page_data(move || org.get(), statements_page);
    view! {
        <Loaded data show=move |d| view! { <StatementsView d /> } />
    }
}

/// The comparison with Twilio's usage records as the list names it.
fn check_label(check: Option<&str>) -> &'static str {
    match check {
        Some("pending") => "Comparing…",
        Some("matches") => "Matches",
        Some("differs") => "Differs",
        Some("failed") => "Could not be read",
        _ => "—",
    }
}

#[component]
fn StatementsView(d: Data) -> impl IntoView {
    let href = format!("/o/{}/statements/", d.org.slug);
    let empty = d.org_statements.is_empty() && d.member_statements.is_empty();
    let org_table = (d.sees_all && !empty)
        .then(|| view! { <OrgStatements rows=d.org_statements.clone() href=href.clone() /> });
    let member_table = (!empty).then(|| {
        view! {
            <MemberStatements rows=d.member_statements.clone() sees_all=d.sees_all href=href.clone() />
        }
    });
    let zone = format!(
        "A statement is closed at the end of each month of the org's time zone ({}) and never changed; charges that arrive later appear on the next statement as adjustments.",
        d.time_zone
    );
    view! {
        <Title text=format!("Statements · {}", d.org.name) />
        <h1 class="text-2xl font-semibold">"Statements"</h1>
        <p class="muted mt-1 max-w-3xl text-sm" data-testid="time-zone">{zone}</p>
        {d.org.access.read_only().then(|| view! { <ReadOnlyBanner /> })}
        {empty.then(|| view! { <p class="card muted mt-4" data-testid="no-statements">{EMPTY}</p> })}
        {org_table}
        {member_table}
    }
}

/// The org's statements: month, total, adjustments and the comparison with Twilio.
#[component]
fn OrgStatements(rows: Vec<StatementSummary>, href: String) -> impl IntoView {
    let none = rows.is_empty();
    let rows = rows
        .iter()
        .map(|s| {
            let label = format!("View the statement for {}", s.month_label);
            view! {
                <tr data-testid=format!("statement-{}", s.id)>
                    <td>{s.month_label.clone()}</td>
                    <td class="tabular-nums text-right">{signed(s.total_micros)}</td>
                    <td class="tabular-nums text-right">{signed(s.adjustments_micros)}</td>
                    <td>{check_label(s.check.as_deref())}</td>
                    <td><a class="link" href=format!("{href}{}", s.id) aria-label=label>"View"</a></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="mt-6" aria-labelledby="org-statements-heading">
            <h2 id="org-statements-heading" class="text-lg font-semibold">"The org's statements"</h2>
            <div class="card mt-2 overflow-x-auto p-0">
                <table class="table">
                    <caption class="sr-only">"The org's statements, newest first"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Month"</th>
                            <th scope="col" class="text-right">"Total"</th>
                            <th scope="col" class="text-right">"Adjustments"</th>
                            <th scope="col">"Twilio usage"</th>
                            <th scope="col"><span class="sr-only">"Statement"</span></th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
                {none.then(|| view! { <p class="muted p-4">{EMPTY}</p> })}
            </div>
        </section>
    }
}

/// The members' statements (or, for a member, their own).
#[component]
fn MemberStatements(rows: Vec<StatementSummary>, sees_all: bool, href: String) -> impl IntoView {
    let none = rows.is_empty();
    let heading = if sees_all {
        "Members' statements"
    } else {
        "Your statements"
    };
    let rows = rows
        .iter()
        .map(|s| {
            let member = s.member.clone().unwrap_or_default();
            let label = format!("View the statement of {member} for {}", s.month_label);
            view! {
                <tr data-testid=format!("statement-{}", s.id)>
                    <td>{s.month_label.clone()}</td>
                    <td>{member}</td>
                    <td class="tabular-nums text-right">{signed(s.total_micros)}</td>
                    <td><a class="link" href=format!("{href}{}", s.id) aria-label=label>"View"</a></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="mt-6" aria-labelledby="member-statements-heading">
            <h2 id="member-statements-heading" class="text-lg font-semibold">{heading}</h2>
            <div class="card mt-2 overflow-x-auto p-0">
                <table class="table">
                    <caption class="sr-only">{format!("{heading}, newest first")}</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Month"</th>
                            <th scope="col">"Member"</th>
                            <th scope="col" class="text-right">"Total"</th>
                            <th scope="col"><span class="sr-only">"Statement"</span></th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
                {none.then(|| view! { <p class="muted p-4">{EMPTY}</p> })}
            </div>
        </section>
    }
}

#[component]
pub fn StatementPage() -> impl IntoView {
    let org = org_param();
    let params = use_params_map();
    // An id that is not a number names nothing: the server answers it as not found.
    let id = Memo::new(move |_| {
        params.with(|p| p.get("id").and_then(|i| i.parse::<i64>().ok()).unwrap_or(0))
    });
    let data =
        crate::components::page_data(move || (org.get(), id.get()), |(o, i)| statement(o, i));
    view! {
        <Loaded data show=move |s| view! { <StatementView s slug=org.get_untracked() /> } />
    }
}

/// "1 lookup", "3 lookups".
fn lookups(n: i64) -> String {
    if n == 1 {
        "1 lookup".to_string()
    } else {
        format!("{n} lookups")
    }
}

#[component]
fn StatementView(s: Statement, slug: String) -> impl IntoView {
    let heading = format!("{} — statement for {}", s.org_name, s.month_label);
    let who = match &s.member {
        Some(email) => format!("Member: {email}"),
        None => "Whole org".to_string(),
    };
    // "2026-12-01T05:00:00Z" as "2026-12-01 05:00 UTC".
    let closed = s.closed_at.get(..16).map_or_else(
        || s.closed_at.clone(),
        |t| format!("{} UTC", t.replace('T', " ")),
    );
    let period = format!(
        "{} in the org's time zone ({}), from the 1st at midnight to the 1st of the next month; closed {closed}.",
        s.month_label, s.time_zone
    );
    let csv = format!("/o/{slug}/statements/{}/statement.csv", s.id);
    let lines = s
        .lines
        .iter()
        .map(|l| {
            view! {
                <tr data-testid=format!("line-{}", l.category)>
                    <th scope="row" class="font-normal">{category_label(&l.category)}</th>
                    <td class="tabular-nums text-right">{l.item_count.to_string()}</td>
                    <td class="tabular-nums text-right">{usage_label(&l.category, l.usage)}</td>
                    <td class="tabular-nums text-right">{Money::from_micros(l.micros).to_string()}</td>
                    <td class="tabular-nums text-right">{signed(l.adjustment_micros)}</td>
                    <td class="tabular-nums text-right">{signed(l.total_micros())}</td>
                </tr>
            }
        })
        .collect_view();
    let cache = s.lines.iter().find(|l| l.category == "lookups").map(|l| {
        let text = format!(
            "Answered from the cache: {}, saving {}",
            lookups(l.cache_hits),
            Money::from_micros(l.saved_micros)
        );
        view! { <p class="muted mt-2 text-sm" data-testid="cache-savings">{text}</p> }
    });
    view! {
        <Title text=format!("Statement for {} · {}", s.month_label, s.org_name) />
        <div class="no-print flex flex-wrap items-baseline justify-between gap-2">
            <a class="link" href=format!("/o/{slug}/statements")>"← Statements"</a>
            <div class="flex flex-wrap items-center gap-3">
                <a class="btn-secondary" href=csv rel="external" download="">"Download CSV"</a>
                <span class="muted text-sm">"Use your browser's Print to print this statement."</span>
            </div>
        </div>
        <article class="statement mt-4" aria-labelledby="statement-heading">
            <h1 id="statement-heading" class="text-2xl font-semibold">{heading}</h1>
            <p class="mt-1 font-medium" data-testid="statement-who">{who}</p>
            <p class="muted mt-1 text-sm tabular-nums" data-testid="statement-period">{period}</p>
            <div class="card mt-4 overflow-x-auto p-0">
                <table class="table">
                    <caption class="sr-only">"Charges by category"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Category"</th>
                            <th scope="col" class="text-right">"Items"</th>
                            <th scope="col" class="text-right">"Usage"</th>
                            <th scope="col" class="text-right">"Amount"</th>
                            <th scope="col" class="text-right">"Adjustments"</th>
                            <th scope="col" class="text-right">"Total"</th>
                        </tr>
                    </thead>
                    <tbody>{lines}</tbody>
                    <tfoot>
                        <tr class="border-t border-slate-300 font-semibold" data-testid="line-total">
                            <th scope="row">"Total"</th>
                            <td></td>
                            <td></td>
                            <td class="tabular-nums text-right">{Money::from_micros(s.usage_micros()).to_string()}</td>
                            <td class="tabular-nums text-right">{signed(s.adjustments_micros())}</td>
                            <td class="tabular-nums text-right">{signed(s.total_micros())}</td>
                        </tr>
                    </tfoot>
                </table>
            </div>
            {cache}
            <AdjustmentsSection s=s.clone() />
            {s.check.clone().map(|c| view! { <CheckSection c /> })}
        </article>
    }
}

/// The statement's adjustments: what changed, since their statements closed, of earlier months.
#[component]
fn AdjustmentsSection(s: Statement) -> impl IntoView {
    // The page lists a bounded number; the totals and the CSV count them all.
    let counted: i64 = s.lines.iter().map(|l| l.adjustment_count).sum();
    let listed = s.adjustments.len() as i64;
    let rows = s
        .adjustments
        .iter()
        .map(|a| {
            view! {
                <tr>
                    <td class="whitespace-nowrap tabular-nums">{a.item_at.clone()}</td>
                    <td>
                        {a.item.clone()}
                        <span class="muted block text-xs">{category_label(&a.category)}</span>
                    </td>
                    <td class="tabular-nums text-right">{signed(a.was_micros)}</td>
                    <td class="tabular-nums text-right">{signed(a.micros)}</td>
                    <td class="tabular-nums text-right">{signed(a.delta_micros())}</td>
                </tr>
            }
        })
        .collect_view();
    let body = if s.adjustments.is_empty() {
        view! { <p class="muted mt-1 text-sm">"No adjustments."</p> }.into_any()
    } else {
        view! {
            <p class="muted mt-1 text-sm">"Items of earlier months whose price arrived or changed after their statement closed."</p>
            <div class="card mt-2 overflow-x-auto p-0">
                <table class="table">
                    <caption class="sr-only">"Adjustments"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"When"</th>
                            <th scope="col">"Item"</th>
                            <th scope="col" class="text-right">"Was"</th>
                            <th scope="col" class="text-right">"Now"</th>
                            <th scope="col" class="text-right">"Difference"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            {(counted > listed).then(|| view! {
                <p class="muted mt-2 text-sm">
                    {format!("The first {listed} of {counted} adjustments; the CSV lists them all.")}
                </p>
            })}
        }
        .into_any()
    };
    view! {
        <section class="mt-6" aria-labelledby="adjustments-heading">
            <h2 id="adjustments-heading" class="text-lg font-semibold">"Adjustments"</h2>
            {body}
        </section>
    }
}

/// The statement beside Twilio's usage records for the month (orgs on their own Twilio account).
#[component]
fn CheckSection(c: StatementCheck) -> impl IntoView {
    let body = match c.state.as_str() {
        "pending" => view! {
            <p class="mt-1 text-sm">"Twilio's usage records for the month have not been read yet."</p>
        }
        .into_any(),
        "failed" => {
            let text = format!(
                "Twilio's usage records could not be read: {}",
                c.error.clone().unwrap_or_default()
            );
            view! { <p class="mt-1 text-sm">{text}</p> }.into_any()
        }
        _ => {
            let rows = c
                .lines
                .iter()
                .map(|l| {
                    let total = l.category == "total";
                    view! {
                        <tr class=("font-semibold", total)>
                            <th scope="row" class=("font-normal", !total)>{category_label(&l.category)}</th>
                            <td class="tabular-nums text-right">{signed(l.ours_micros)}</td>
                            <td class="tabular-nums text-right">{signed(l.provider_micros)}</td>
                            <td class="tabular-nums text-right">{signed(l.difference_micros())}</td>
                        </tr>
                    }
                })
                .collect_view();
            let verdict = if c.state == "differs" {
                "Twilio's figures differ from PhoneHub's."
            } else {
                "Twilio's figures match PhoneHub's."
            };
            view! {
                <p class="mt-1 text-sm" data-testid="check-verdict">{verdict}</p>
                <div class="card mt-2 overflow-x-auto p-0">
                    <table class="table">
                        <caption class="sr-only">"PhoneHub's figures and Twilio's"</caption>
                        <thead>
                            <tr>
                                <th scope="col">"Category"</th>
                                <th scope="col" class="text-right">"PhoneHub"</th>
                                <th scope="col" class="text-right">"Twilio"</th>
                                <th scope="col" class="text-right">"Difference"</th>
                            </tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                </div>
                <p class="muted mt-2 text-sm">"Twilio counts by GMT days; an org in another time zone sees the hours at each end of the month differ."</p>
                {c.checked_at.clone().map(|t| view! { <p class="muted mt-1 text-xs">{format!("Read from Twilio {t}.")}</p> })}
            }
            .into_any()
        }
    };
    view! {
        <section class="mt-6" aria-labelledby="check-heading" data-testid="check">
            <h2 id="check-heading" class="text-lg font-semibold">"Compared with Twilio"</h2>
            {body}
        </section>
    }
}

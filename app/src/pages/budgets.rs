//! `/o/:org/admin/budgets`: the budgets the visitor sees with this period's spend and overrides,
//! and for owners and admins the form that sets one, a delete button per budget and the form that
//! grants one an override (JavaScript on or off).

use leptos::prelude::*;
use leptos_meta::Title;

use super::org_param;
use crate::api::budgets::{load_budgets, DeleteBudget, GrantBudgetOverride, SaveBudget};
use crate::components::{
    page_outcome, ActionForm, FormError, FormOutcome, FormState, Loaded, Notice, ReadOnlyBanner,
    Refresh,
};
use crate::model::budgets::{
    BudgetCategory, BudgetPeriod, BudgetView, BudgetsPage as Data, OverrideView, MAX_REASON_CHARS,
};
use crate::model::money::Money;

#[component]
pub fn BudgetsPage() -> impl IntoView {
    let outcome = StoredValue::new(page_outcome());
    let refresh = Refresh::provide();
    let org = org_param();
    let data = crate::components::page_data(
        move || (org.get(), refresh.0.get()),
        |(o, _)| load_budgets(o),
    );
    // One action and form state for the page, made once: a JavaScript error outlives the
    // list's reload.
    let save = ServerAction::<SaveBudget>::new();
    let form = FormState::new(save, &outcome.get_value(), None);
    let grant = ServerAction::<GrantBudgetOverride>::new();
    let grant_form = FormState::new(grant, &outcome.get_value(), None);
    view! {
        <Loaded data show=move |d| view! {
            <BudgetsView d outcome=outcome.get_value() save form grant grant_form />
        } />
    }
}

#[component]
fn BudgetsView(
    d: Data,
    outcome: Option<FormOutcome>,
    save: ServerAction<SaveBudget>,
    form: FormState,
    grant: ServerAction<GrantBudgetOverride>,
    grant_form: FormState,
) -> impl IntoView {
    let manage = d.can_manage;
    let slug = d.org.slug.clone();
    let rows = d
        .budgets
        .iter()
        .cloned()
        .map(|b| view! { <BudgetRow b slug=slug.clone() manage outcome=outcome.clone() /> })
        .collect_view();
    let empty = d.budgets.is_empty();
    let zone = format!("Periods follow the org's time zone, {}.", d.time_zone);
    view! {
        <Title text=format!("Budgets · {}", d.org.name) />
        <h1 class="text-2xl font-semibold">"Budgets of " {d.org.name.clone()}</h1>
        <p class="muted mt-1 max-w-3xl text-sm">
            "A budget limits what the org, or one member, spends per day or per month: on everything or on one kind of paid action. "
            "A hard cap refuses whatever would pass it; an alert-only budget lets it through. "
            <span data-testid="time-zone">{zone}</span>
        </p>
        <Notice />
        {d.org.access.read_only().then(|| view! { <ReadOnlyBanner /> })}
        <div class="card mt-4 overflow-x-auto p-0">
            <table class="table">
                <caption class="sr-only">"Budgets"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Scope"</th>
                        <th scope="col">"Category"</th>
                        <th scope="col">"Period"</th>
                        <th scope="col">"Amount"</th>
                        <th scope="col">"Spent this period"</th>
                        <th scope="col">"Held"</th>
                        <th scope="col">"Left"</th>
                        <th scope="col">"Used"</th>
                        <th scope="col">"Kind"</th>
                        {manage.then(|| view! { <th scope="col"><span class="sr-only">"Actions"</span></th> })}
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            {empty.then(|| view! {
                <p class="muted p-4">"No budgets yet: nothing limits what is spent here."</p>
            })}
        </div>
        <Overrides d=d.clone() />
        {(manage && !empty).then(|| view! { <OverrideForm d=d.clone() grant form=grant_form /> })}
        {manage.then(|| view! { <BudgetForm d=d.clone() save form /> })}
    }
}

/// A budget as a sentence names it: "Whole org · SMS · Per month".
fn budget_name(b: &BudgetView) -> String {
    format!(
        "{} · {} · {}",
        b.member.as_deref().unwrap_or("Whole org"),
        b.category.map(BudgetCategory::label).unwrap_or("All"),
        b.period.label()
    )
}

/// The overrides granted in the budgets' current periods, newest first (nothing when none).
#[component]
fn Overrides(d: Data) -> impl IntoView {
    let name = |o: &OverrideView| {
        d.budgets
            .iter()
            .find(|b| b.id == o.budget_id)
            .map(budget_name)
            .unwrap_or_default()
    };
    let rows = d
        .overrides
        .iter()
        .map(|o| {
            view! {
                <tr>
                    <td>{name(o)}</td>
                    <td class="tabular-nums">{format!("+ {}", o.extra)}</td>
                    <td class="whitespace-pre-line">{o.reason.clone()}</td>
                    <td>{o.granted_by.clone().unwrap_or_else(|| "A deleted account".into())}</td>
                    <td class="muted tabular-nums whitespace-nowrap">{o.granted_at.clone()}</td>
                </tr>
            }
        })
        .collect_view();
    (!d.overrides.is_empty()).then(|| view! {
        <section class="mt-6" aria-labelledby="overrides-heading">
            <h2 id="overrides-heading" class="text-lg font-semibold">"Overrides this period"</h2>
            <p class="muted text-sm">"Extra room granted for the current period only; each budget's next period starts again from its amount."</p>
            <div class="card mt-2 overflow-x-auto p-0">
                <table class="table">
                    <caption class="sr-only">"Overrides this period"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Budget"</th>
                            <th scope="col">"Extra"</th>
                            <th scope="col">"Reason"</th>
                            <th scope="col">"Granted by"</th>
                            <th scope="col">"When"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </section>
    })
}

/// Why an override is granted: a short text, kept as typed after a no-JavaScript error.
#[component]
fn ReasonField(form: FormState) -> impl IntoView {
    let error = form.field_error("reason");
    let initial = form.initial("reason").unwrap_or_default();
    view! {
        <div class="field">
            <label for="override-reason" class="label">"Reason"</label>
            <textarea id="override-reason" name="reason" rows="2" required=true
                maxlength=MAX_REASON_CHARS.to_string() class="input"
                aria-describedby="override-reason-hint override-reason-error"
                aria-invalid=move || if error.with(|e| e.is_some()) { "true" } else { "false" }>
                {initial}
            </textarea>
            <p id="override-reason-hint" class="hint">"Why the budget is exceeded this time; it goes on the record."</p>
            <p id="override-reason-error" class="field-error" role="alert">{move || error.get()}</p>
        </div>
    }
}

/// One form for every budget: which one, how much more it may spend this period, and why.
#[component]
fn OverrideForm(
    d: Data,
    grant: ServerAction<GrantBudgetOverride>,
    form: FormState,
) -> impl IntoView {
    let budgets: Vec<(String, String)> = d
        .budgets
        .iter()
        .map(|b| (b.id.to_string(), budget_name(b)))
        .collect();
    let first = budgets.first().map(|(v, _)| v.clone()).unwrap_or_default();
    view! {
        <section class="card mt-6 max-w-xl" aria-labelledby="override-form-heading">
            <h2 id="override-form-heading" class="text-lg font-semibold">"Grant an override"</h2>
            <p class="muted mt-1 text-sm">"Extra room for one budget in its current period only, for a one-off that would pass it."</p>
            <ActionForm action=grant>
                <div class="mt-4 space-y-4">
                    <input type="hidden" name="org" value=d.org.slug.clone() />
                    <Choice form label="Budget" name="id" options=budgets selected=first
                        hint="The budget to give more room; its amount stays as it is." />
                    <DollarsField form name="extra" label="Extra in dollars"
                        hint="More than $0 and at most $1,000,000, for this period only." />
                    <ReasonField form />
                    <FormError form />
                    <button type="submit" class="btn" disabled=move || form.pending.get()>"Grant override"</button>
                </div>
            </ActionForm>
        </section>
    }
}

#[component]
fn BudgetRow(
    b: BudgetView,
    slug: String,
    manage: bool,
    outcome: Option<FormOutcome>,
) -> impl IntoView {
    let scope = b.member.clone().unwrap_or_else(|| "Whole org".into());
    let category = b.category.map(BudgetCategory::label).unwrap_or("All");
    let actions = manage.then(|| {
        let delete = ServerAction::<DeleteBudget>::new();
        let id = b.id.to_string();
        let form = FormState::new(delete, &outcome, Some(("id", id.clone())));
        let label = format!(
            "Delete the budget for {scope}, {category}, {}",
            b.period.label().to_lowercase()
        );
        view! {
            <td class="whitespace-nowrap">
                <ActionForm action=delete>
                    <input type="hidden" name="org" value=slug.clone() />
                    <input type="hidden" name="id" value=id />
                    <button type="submit" class="btn-danger" aria-label=label disabled=move || form.pending.get()>"Delete"</button>
                    <FormError form />
                </ActionForm>
            </td>
        }
    });
    let extra = (b.extra_micros > 0).then(|| {
        let e = Money::from_micros(b.extra_micros);
        view! { <span class="muted block text-xs">{format!("+ {e} extra this period")}</span> }
    });
    let kind = if b.hard_cap {
        view! { <span class="badge bg-red-50 text-red-800">"Hard cap"</span> }.into_any()
    } else {
        view! { <span class="badge">"Alert only"</span> }.into_any()
    };
    view! {
        <tr>
            <td>{scope}</td>
            <td>{category}</td>
            <td>{b.period.label()} <span class="muted block text-xs">{b.period_label.clone()}</span></td>
            <td class="tabular-nums">{b.amount.clone()} {extra}</td>
            <td class="tabular-nums">{b.spent.clone()}</td>
            <td class="tabular-nums">{b.held.clone()}</td>
            <td class="tabular-nums">{b.remaining.clone()}</td>
            <td><UsedBar percent=b.percent_used /></td>
            <td>{kind}</td>
            {actions}
        </tr>
    }
}

/// What a budget's period has used, as a bar (full at 100%) and the percentage itself.
#[component]
pub(super) fn UsedBar(percent: u32) -> impl IntoView {
    let colour = if percent >= 100 {
        "bg-red-500"
    } else if percent >= 80 {
        "bg-amber-500"
    } else {
        "bg-emerald-500"
    };
    view! {
        <div class="flex items-center gap-2">
            <div class="h-2 w-20 overflow-hidden rounded-full bg-slate-200" aria-hidden="true">
                <div class=format!("h-2 rounded-full {colour}") style=format!("width: {}%", percent.min(100))></div>
            </div>
            <span class="tabular-nums text-xs">{format!("{percent}%")}</span>
        </div>
    }
}

/// A select of the budget form: its label, options (value, text), the option chosen, a
/// one-line hint and the field's error.
#[component]
fn Choice(
    form: FormState,
    label: &'static str,
    name: &'static str,
    options: Vec<(String, String)>,
    selected: String,
    hint: &'static str,
) -> impl IntoView {
    let id = format!("budget-{name}");
    let err_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let described = format!("{hint_id} {err_id}");
    let error = form.field_error(name);
    let selected = form.initial(name).unwrap_or(selected);
    let options = options
        .into_iter()
        .map(|(v, text)| {
            let on = v == selected;
            view! { <option value=v selected=on>{text}</option> }
        })
        .collect_view();
    view! {
        <div class="field">
            <label for=id.clone() class="label">{label}</label>
            <select id=id name=name class="input" aria-describedby=described
                aria-invalid=move || if error.with(|e| e.is_some()) { "true" } else { "false" }>
                {options}
            </select>
            <p id=hint_id class="hint">{hint}</p>
            <p id=err_id class="field-error" role="alert">{move || error.get()}</p>
        </div>
    }
}

/// An amount in dollars (a "$" before the box), the field `name` of a form.
#[component]
fn DollarsField(
    form: FormState,
    name: &'static str,
    label: &'static str,
    hint: &'static str,
) -> impl IntoView {
    let id = format!("budget-{name}");
    let hint_id = format!("{id}-hint");
    let err_id = format!("{id}-error");
    let described = format!("{hint_id} {err_id}");
    let error = form.field_error(name);
    let initial = form.initial(name);
    view! {
        <div class="field">
            <label for=id.clone() class="label">{label}</label>
            <div class="mt-1 flex items-center gap-2">
                <span class="text-sm font-medium text-slate-600" aria-hidden="true">"$"</span>
                <input id=id name=name type="text" inputmode="decimal" autocomplete="off"
                    required=true class="input mt-0" value=initial aria-describedby=described
                    aria-invalid=move || if error.with(|e| e.is_some()) { "true" } else { "false" } />
            </div>
            <p id=hint_id class="hint">{hint}</p>
            <p id=err_id class="field-error" role="alert">{move || error.get()}</p>
        </div>
    }
}

#[component]
fn BudgetForm(d: Data, save: ServerAction<SaveBudget>, form: FormState) -> impl IntoView {
    let members: Vec<(String, String)> = std::iter::once((String::new(), "Whole org".to_string()))
        .chain(
            d.members
                .iter()
                .map(|(id, email)| (id.to_string(), email.clone())),
        )
        .collect();
    let categories: Vec<(String, String)> =
        std::iter::once((String::new(), "Everything".to_string()))
            .chain(
                BudgetCategory::ALL
                    .iter()
                    .map(|c| (c.as_str().to_string(), c.label().to_string())),
            )
            .collect();
    let periods: Vec<(String, String)> = BudgetPeriod::ALL
        .iter()
        .map(|p| (p.as_str().to_string(), p.label().to_string()))
        .collect();
    // After a no-JavaScript error the box comes back as sent; a fresh form starts as a hard cap.
    let hard_cap = match form.initial("period") {
        Some(_) => form.initial("hard_cap").is_some(),
        None => true,
    };
    view! {
        <section class="card mt-6 max-w-xl" aria-labelledby="budget-form-heading">
            <h2 id="budget-form-heading" class="text-lg font-semibold">"Set a budget"</h2>
            <p class="muted mt-1 text-sm">"A budget for the same member, category and period as an existing one replaces its amount and kind."</p>
            <ActionForm action=save>
                <div class="mt-4 space-y-4">
                    <input type="hidden" name="org" value=d.org.slug.clone() />
                    <Choice form label="For" name="member" options=members selected=String::new()
                        hint="The whole org counts everyone's spending; a member's budget counts only theirs." />
                    <Choice form label="Category" name="category" options=categories selected=String::new()
                        hint="Everything, or one kind of paid action." />
                    <Choice form label="Period" name="period" options=periods selected=BudgetPeriod::Month.as_str().to_string()
                        hint="A day or a calendar month of the org's time zone; each period starts again from zero." />
                    <DollarsField form name="amount" label="Amount in dollars"
                        hint="Like 50 or 12.50; at most $1,000,000." />
                    <label for="budget-hard-cap" class="flex items-start gap-2 text-sm">
                        <input id="budget-hard-cap" type="checkbox" name="hard_cap" value="on" checked=hard_cap />
                        <span>"Hard cap: refuse calls, messages, lookups and purchases that would pass it. Unticked, the budget only alerts."</span>
                    </label>
                    <FormError form />
                    <button type="submit" class="btn" disabled=move || form.pending.get()>"Save budget"</button>
                </div>
            </ActionForm>
        </section>
    }
}

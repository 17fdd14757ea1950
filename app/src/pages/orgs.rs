//! Org pages: the dashboard (with what the viewer's budgets have left, and the org's country and
//! time zone), the members list and its invitations.

use leptos::prelude::*;
use leptos_meta::Title;

use super::budgets::UsedBar;
use super::org_param;
use crate::api::compliance::SetUrgentAllowed;
use crate::api::invitations::RevokeInvitation;
use crate::api::orgs::{
    list_members, org_dashboard, AddMember, ChangeRole, LeaveOrg, RemoveMember, SetOrgCountry,
    SetOrgTimeZone,
};
use crate::components::{
    page_outcome, ActionForm, Field, FormError, FormOutcome, FormState, Loaded, Notice,
    ReadOnlyBanner, Refresh, SelectField, Stat,
};
use crate::model::budgets::{BudgetCategory, BudgetView};
use crate::model::invitations::InvitationRow;
use crate::model::money::Money;
use crate::model::{Access, Dashboard, MemberRow, MembersPage as MembersData, Role};

#[component]
pub fn DashboardPage() -> impl IntoView {
    let outcome = StoredValue::new(page_outcome());
    let refresh = Refresh::provide();
    let org = org_param();
    let data = crate::components::page_data(
        move || (org.get(), refresh.0.get()),
        |(o, _)| org_dashboard(o),
    );
    view! {
        <Loaded data show=move |d| view! { <DashboardView d outcome=outcome.get_value() /> } />
    }
}

#[component]
fn DashboardView(d: Dashboard, outcome: Option<FormOutcome>) -> impl IntoView {
    let slug = d.org.slug.clone();
    let leave = ServerAction::<LeaveOrg>::new();
    let leave_form = FormState::new(leave, &outcome, None);
    // Members (not staff looking in) may leave: a membership someone added them to is theirs.
    // The last owner cannot leave (someone else must own the org first): no button to fail.
    let member = match d.org.access {
        Access::Member(Role::Owner) => d.owners > 1,
        Access::Member(_) => true,
        _ => false,
    };
    let slug_leave = slug.clone();
    let owner = d.org.access.is_owner();
    view! {
        <Title text=d.org.name.clone() />
        <Notice />
        <div class="flex flex-wrap items-baseline justify-between gap-2">
            <h1 class="text-2xl font-semibold">{d.org.name.clone()}</h1>
            <p class="muted text-sm">"Your access: " {d.org.access.label()} " · org since " {d.created.clone()}</p>
        </div>
        {d.org.access.read_only().then(|| view! { <ReadOnlyBanner /> })}
        <dl class="mt-6 grid grid-cols-2 gap-4 md:grid-cols-4">
            <Stat label="Members" value=d.members.to_string() large=true />
            <Stat label="Owners" value=d.owners.to_string() large=true />
            <Stat label="Admins" value=d.admins.to_string() large=true />
            <Stat label="Plain members" value=d.plain_members.to_string() large=true />
        </dl>
        <nav class="mt-6 flex flex-wrap gap-4" aria-label="Org pages">
            <a class="link" href=format!("/o/{slug}/members")>"Members →"</a>
            <a class="link" href=format!("/o/{slug}/numbers")>"Numbers →"</a>
            <a class="link" href=format!("/o/{slug}/calls")>"Calls →"</a>
            <a class="link" href=format!("/o/{slug}/sms")>"SMS →"</a>
            <a class="link" href=format!("/o/{slug}/lookup")>"Look up a number →"</a>
            <a class="link" href=format!("/o/{slug}/lookups/bulk")>"Bulk lookups →"</a>
            <a class="link" href=format!("/o/{slug}/notifications")>"Notifications →"</a>
            <a class="link" href=format!("/o/{slug}/admin/budgets")>"Budgets →"</a>
            <a class="link" href=format!("/o/{slug}/statements")>"Statements →"</a>
            {d.org.access.oversees().then(|| view! {
                <a class="link" href=format!("/o/{slug}/admin/destinations")>"Destinations →"</a>
                <a class="link" href=format!("/o/{slug}/admin/opt-outs")>"Opt-outs →"</a>
                <a class="link" href=format!("/o/{slug}/admin/compliance")>"Compliance →"</a>
                <a class="link" href=format!("/o/{slug}/admin/requests")>"Requests by number →"</a>
                <a class="link" href=format!("/o/{slug}/admin/call-blocking")>"Call blocking →"</a>
                <a class="link" href=format!("/o/{slug}/admin/webhooks")>"Webhooks →"</a>
                <a class="link" href=format!("/o/{slug}/admin/usage")>"Usage and spend →"</a>
                <a class="link" href=format!("/o/{slug}/admin/lookups")>"Lookup costs →"</a>
                <a class="link" href=format!("/o/{slug}/admin/audit")>"Audit log →"</a>
                <a class="link" href=format!("/o/{slug}/admin/phone-config")>"Phone config →"</a>
                <a class="link" href=format!("/o/{slug}/admin/api-keys")>"API keys →"</a>
            })}
        </nav>
        <YourBudgets budgets=d.budgets.clone() slug=slug.clone() />
        <CountryCard d=d.clone() outcome=outcome.clone() owner />
        <TimeZoneCard d=d.clone() outcome=outcome.clone() owner />
        {member.then(|| view! {
            <ActionForm action=leave attr:class="card mt-8 max-w-xl">
                <input type="hidden" name="org" value=slug_leave />
                <p class="text-sm">"Leave this org: its pages, numbers and calls are no longer yours to see. An owner or admin can invite you again."</p>
                <button type="submit" class="btn-danger mt-2">"Leave this org"</button>
                <FormError form=leave_form />
            </ActionForm>
        })}
    }
}

/// The org's country, and for its owners the form that changes it.
#[component]
fn CountryCard(d: Dashboard, outcome: Option<FormOutcome>, owner: bool) -> impl IntoView {
    let country = ServerAction::<SetOrgCountry>::new();
    let country_form = FormState::new(country, &outcome, None);
    let code = d.org.country.clone();
    let country_line = format!(
        "Country: {} ({code}). National numbers typed in this org (lookups, calls, SMS, forwarding) are read as numbers of this country; numbers of other countries need their + prefix.",
        d.org.country_name.as_deref().unwrap_or("unknown"),
    );
    let options = d.countries.clone();
    let slug_country = d.org.slug.clone();
    view! {
    <section class="card mt-6 max-w-xl" aria-labelledby="country-h">
        <h2 id="country-h" class="font-semibold">"Country"</h2>
        <p class="text-sm mt-1" data-testid="org-country">{country_line}</p>
        {owner.then(|| view! {
            <ActionForm action=country attr:class="mt-3 space-y-2">
                <input type="hidden" name="org" value=slug_country />
                <ChoiceField
                    form=country_form
                    label="Change the country"
                    name="country"
                    options
                    selected=code.clone()
                />
                <FormError form=country_form />
                <button type="submit" class="btn-secondary">"Save country"</button>
            </ActionForm>
        })}
        <p class="muted text-sm mt-2">"Changing the country also resets the time zone to the country's main zone."</p>
    </section>
    }
}

/// The org's time zone (budgets' periods and statements' months follow it), and for its owners
/// the form that changes it.
#[component]
fn TimeZoneCard(d: Dashboard, outcome: Option<FormOutcome>, owner: bool) -> impl IntoView {
    let zone = ServerAction::<SetOrgTimeZone>::new();
    let zone_form = FormState::new(zone, &outcome, None);
    let zone_line = format!(
        "Time zone: {} — budgets' days and months and monthly statements follow it.",
        d.time_zone
    );
    let zone_options: Vec<(String, String)> = d
        .time_zones
        .iter()
        .map(|z| (z.clone(), z.clone()))
        .collect();
    let current_zone = d.time_zone.clone();
    let slug_zone = d.org.slug.clone();
    view! {
    <section class="card mt-6 max-w-xl" aria-labelledby="time-zone-h">
        <h2 id="time-zone-h" class="font-semibold">"Time zone"</h2>
        <p class="text-sm mt-1" data-testid="org-time-zone">{zone_line}</p>
        {owner.then(|| view! {
            <ActionForm action=zone attr:class="mt-3 space-y-2">
                <input type="hidden" name="org" value=slug_zone />
                <ChoiceField
                    form=zone_form
                    label="Change the time zone"
                    name="time_zone"
                    options=zone_options
                    selected=current_zone
                />
                <FormError form=zone_form />
                <button type="submit" class="btn-secondary">"Save time zone"</button>
            </ActionForm>
        })}
    </section>
    }
}

/// The budgets that cover the viewer, each with what is left of it this period and a bar of what
/// it has used; nothing when none does.
#[component]
fn YourBudgets(budgets: Vec<BudgetView>, slug: String) -> impl IntoView {
    let items = budgets
        .iter()
        .map(|b| {
            let limit = Money::from_micros(b.amount_micros.saturating_add(b.extra_micros));
            let line = format!(
                "{} · {}: {} of {limit} left",
                b.period.label(),
                b.category.map(BudgetCategory::label).unwrap_or("Everything"),
                b.remaining
            );
            let whose = if b.member.is_some() { "Yours" } else { "The whole org's" };
            let kind = if b.hard_cap { "hard cap" } else { "alert only" };
            view! {
                <li class="flex flex-wrap items-center justify-between gap-2">
                    <span>
                        <span class="tabular-nums">{line}</span>
                        <span class="muted block text-xs">{format!("{whose} · {kind} · {}", b.period_label)}</span>
                    </span>
                    <UsedBar percent=b.percent_used />
                </li>
            }
        })
        .collect_view();
    (!budgets.is_empty()).then(|| view! {
        <section class="card mt-6 max-w-xl" aria-labelledby="your-budgets-h" data-testid="your-budgets">
            <div class="flex flex-wrap items-baseline justify-between gap-2">
                <h2 id="your-budgets-h" class="font-semibold">"Your budgets"</h2>
                <a class="link text-sm" href=format!("/o/{slug}/admin/budgets")>"All budgets →"</a>
            </div>
            <ul class="mt-2 space-y-3 text-sm">{items}</ul>
        </section>
    })
}

/// A select of the country and time zone forms: `SelectField`'s markup, over (value, text)
/// choices the page data carries (the lists themselves are the server's: `model::countries`, the
/// database's time zones), with the field's error at `{name}-error`.
#[component]
fn ChoiceField(
    form: FormState,
    label: &'static str,
    name: &'static str,
    options: Vec<(String, String)>,
    selected: String,
) -> impl IntoView {
    let err_id = format!("{name}-error");
    let error = form.field_error(name);
    let selected = form.initial(name).unwrap_or(selected);
    view! {
        <div class="field">
            <label for=name class="label">{label}</label>
            <select id=name name=name class="input" aria-describedby=err_id.clone()>
                {options
                    .into_iter()
                    .map(|(v, l)| {
                        let on = selected == v;
                        view! { <option value=v selected=on>{l}</option> }
                    })
                    .collect_view()}
            </select>
            <p id=err_id class="field-error" role="alert">{move || error.get()}</p>
        </div>
    }
}

#[component]
pub fn MembersPage() -> impl IntoView {
    let outcome = page_outcome();
    let refresh = Refresh::provide();
    let org = org_param();
    let data = crate::components::page_data(
        move || (org.get(), refresh.0.get()),
        |(o, _)| list_members(o),
    );
    let outcome = StoredValue::new(outcome);
    view! {
        <Loaded data show=move |d| view! { <MembersView d outcome=outcome.get_value() /> } />
    }
}

#[component]
fn MembersView(d: MembersData, outcome: Option<FormOutcome>) -> impl IntoView {
    let manage = d.org.access.can_manage();
    let is_owner = matches!(
        d.org.access,
        Access::Member(Role::Owner) | Access::Superadmin
    );
    let slug = d.org.slug.clone();
    let rows = d
        .members
        .iter()
        .cloned()
        .map(|m| {
            view! {
                <MemberRowView
                    m
                    slug=slug.clone()
                    manage
                    me=d.me
                    outcome=outcome.clone()
                />
            }
        })
        .collect_view();
    let invitations = (!d.invitations.is_empty()).then(|| {
        let rows = d
            .invitations
            .iter()
            .cloned()
            .map(|i| view! { <InvitationRowView i slug=slug.clone() manage outcome=outcome.clone() /> })
            .collect_view();
        view! {
            <section class="mt-6" aria-labelledby="invitations-heading">
                <h2 id="invitations-heading" class="text-lg font-semibold">"Invitations"</h2>
                <p class="muted text-sm">"Not members yet: each becomes one when the person it was sent to accepts it."</p>
                <div class="card mt-2 overflow-x-auto p-0">
                    <table class="table">
                        <caption class="sr-only">"Invitations"</caption>
                        <thead>
                            <tr>
                                <th scope="col">"Invited"</th>
                                <th scope="col">"Role"</th>
                                <th scope="col">"Status"</th>
                                {manage.then(|| view! { <th scope="col"><span class="sr-only">"Actions"</span></th> })}
                            </tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                </div>
            </section>
        }
    });
    view! {
        <Title text=format!("Members · {}", d.org.name) />
        <h1 class="text-2xl font-semibold">"Members of " {d.org.name.clone()}</h1>
        <Notice />
        {d.org.access.read_only().then(|| view! { <ReadOnlyBanner /> })}
        <div class="card mt-4 overflow-x-auto p-0">
            <table class="table">
                <caption class="sr-only">"Members"</caption>
                <thead>
                    <tr>
                        <th scope="col">"E-mail"</th>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Role"</th>
                        <th scope="col">"Since"</th>
                        {manage.then(|| view! { <th scope="col"><span class="sr-only">"Actions"</span></th> })}
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        {invitations}
        {manage.then(|| view! { <AddMemberForm slug=d.org.slug.clone() is_owner outcome=outcome.clone() /> })}
    }
}

fn role_options(is_owner: bool) -> Vec<(&'static str, &'static str)> {
    Role::ALL
        .iter()
        .filter(|r| is_owner || **r != Role::Owner)
        .map(|r| (r.as_str(), r.label()))
        .collect()
}

#[component]
fn MemberRowView(
    m: MemberRow,
    slug: String,
    manage: bool,
    me: i64,
    outcome: Option<FormOutcome>,
) -> impl IntoView {
    let key = m.user_id.to_string();
    let change = ServerAction::<ChangeRole>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let change_form = FormState::new(change, &outcome, Some(("user_id", key.clone())));
    let remove_form = FormState::new(remove, &outcome, Some(("user_id", key.clone())));
    let you = (m.user_id == me).then_some(" (you)");
    let email = m.email.clone();
    let actions = manage.then(move || {
        let select_id = format!("role-{}", m.user_id);
        let (slug2, key2) = (slug.clone(), key.clone());
        let save_label = format!("Save role of {email}");
        let email = email.clone();
        let remove_label = format!("Remove {email}");
        let role = m.role.as_str();
        // Owners and admins may always send urgent texts: only plain members are let.
        let urgent = (m.role == Role::Member).then(|| {
            view! {
                <UrgentForm slug=slug.clone() user_id=m.user_id email=email.clone()
                    allowed=m.may_send_urgent outcome />
            }
        });
        view! {
            <td class="whitespace-nowrap">
                <div class="flex items-start gap-2">
                    <ActionForm action=change>
                        <div class="flex items-start gap-2">
                            <input type="hidden" name="org" value=slug />
                            <input type="hidden" name="user_id" value=key />
                            <SelectField
                                form=change_form
                                label=format!("Role of {email}")
                                name="role"
                                id=select_id
                                hide_label=true
                                options=role_options(true)
                                selected=role
                            />
                            <button type="submit" class="btn-secondary" aria-label=save_label>"Save"</button>
                        </div>
                        <FormError form=change_form />
                    </ActionForm>
                    <ActionForm action=remove>
                        <input type="hidden" name="org" value=slug2 />
                        <input type="hidden" name="user_id" value=key2 />
                        <button type="submit" class="btn-danger" aria-label=remove_label>"Remove"</button>
                        <FormError form=remove_form />
                    </ActionForm>
                </div>
                {urgent}
            </td>
        }
    });
    view! {
        <tr>
            <td>{m.email.clone()}{you}</td>
            <td>{if m.name.is_empty() { "—".to_string() } else { m.name.clone() }}</td>
            <td>
                <span class="badge">{m.role.label()}</span>
                {m.may_send_urgent.then(|| view! { <span class="badge ml-1">"Urgent texts allowed"</span> })}
            </td>
            <td class="muted tabular-nums">{m.since.clone()}</td>
            {actions}
        </tr>
    }
}

/// Whether a plain member may send urgent texts (they go at once, even in the recipient's quiet
/// hours).
#[component]
fn UrgentForm(
    slug: String,
    user_id: i64,
    email: String,
    allowed: bool,
    outcome: Option<FormOutcome>,
) -> impl IntoView {
    let set = ServerAction::<SetUrgentAllowed>::new();
    let key = user_id.to_string();
    let form = FormState::new(set, &outcome, Some(("user_id", key.clone())));
    // After a no-JavaScript error the box comes back as sent; otherwise as saved.
    let checked = match form.initial("user_id") {
        Some(_) => form.initial("allowed").as_deref() == Some("on"),
        None => allowed,
    };
    let id = format!("urgent-{user_id}");
    let label_for = id.clone();
    let form_label = format!("Urgent texts for {email}");
    let save_label = format!("Save urgent texts of {email}");
    view! {
        <ActionForm action=set attr:class="mt-2" attr:aria-label=form_label>
            <div class="flex items-center gap-2">
                <input type="hidden" name="org" value=slug />
                <input type="hidden" name="user_id" value=key />
                <label for=label_for class="flex items-center gap-2 text-sm">
                    <input id=id type="checkbox" name="allowed" value="on" checked=checked />
                    "May send urgent texts"
                </label>
                <button type="submit" class="btn-secondary" aria-label=save_label
                    disabled=move || form.pending.get()>"Save"</button>
            </div>
            <FormError form />
        </ActionForm>
    }
}

/// An open invitation: the address only (whether it has an account, and its name, are not the
/// org's to know before it is accepted).
#[component]
fn InvitationRowView(
    i: InvitationRow,
    slug: String,
    manage: bool,
    outcome: Option<FormOutcome>,
) -> impl IntoView {
    let key = i.id.to_string();
    let status = if i.expired {
        format!("Expired {} UTC", i.expires)
    } else {
        format!("Pending · expires {} UTC", i.expires)
    };
    let email = i.email.clone();
    let actions = manage.then(move || {
        let revoke = ServerAction::<RevokeInvitation>::new();
        let form = FormState::new(revoke, &outcome, Some(("id", key.clone())));
        let label = format!("Revoke the invitation of {email}");
        view! {
            <td class="whitespace-nowrap">
                <ActionForm action=revoke>
                    <input type="hidden" name="org" value=slug />
                    <input type="hidden" name="id" value=key />
                    <button type="submit" class="btn-danger" aria-label=label>"Revoke"</button>
                    <FormError form />
                </ActionForm>
            </td>
        }
    });
    view! {
        <tr>
            <td>{i.email.clone()}</td>
            <td><span class="badge">{i.role.label()}</span></td>
            <td class="muted tabular-nums">{status}</td>
            {actions}
        </tr>
    }
}

#[component]
fn AddMemberForm(slug: String, is_owner: bool, outcome: Option<FormOutcome>) -> impl IntoView {
    let add = ServerAction::<AddMember>::new();
    let form = FormState::new(add, &outcome, None);
    view! {
        <section class="card mt-6 max-w-xl" aria-labelledby="add-member-heading">
            <h2 id="add-member-heading" class="text-lg font-semibold">"Add a member"</h2>
            <p class="muted text-sm">
                "Invite someone by e-mail with an initial password. If the e-mail has no account yet, one is created with that password; someone who already has an account keeps their own. Either way they become a member only when they accept the invitation (within 7 days), which they find on their home page after signing in."
            </p>
            <ActionForm action=add>
                <div class="mt-4 space-y-4">
                    <input type="hidden" name="org" value=slug />
                    <Field form label="E-mail" name="email" id="add-email".to_string() kind="email" required=true />
                    <SelectField form label="Role" name="role" id="add-role".to_string() options=role_options(is_owner) selected="member" />
                    <Field form label="Name (new accounts)" name="name" id="add-name".to_string() />
                    <Field
                        form
                        label="Initial password"
                        name="password"
                        id="add-password".to_string()
                        kind="password"
                        autocomplete="new-password"
                        hint="At least 10 characters; used only if the e-mail has no account yet."
                    />
                    <FormError form />
                    <button type="submit" class="btn">"Add member"</button>
                </div>
            </ActionForm>
        </section>
    }
}

//! One module per area of the site.

mod account;
mod admin;
mod api_keys;
mod budgets;
mod call_blocks;
mod calls;
mod compliance;
mod compliance_quiet;
mod compliance_retention;
mod destinations;
mod home;
mod login;
mod lookups;
mod notifications;
mod numbers;
mod opt_outs;
mod orgs;
mod phone_config;
mod requests;
mod sms;
mod staff;
mod statements;
mod usage;
mod webhooks;

pub use account::AccountPage;
pub use admin::{AdminOrgsPage, AdminUsersPage};
pub use api_keys::ApiKeysPage;
pub use budgets::BudgetsPage;
pub use call_blocks::CallBlockingPage;
pub use calls::{CallDetailPage, CallsPage, NewCallPage};
pub use compliance::{CompliancePage, COMPLIANCE_AUDIO_ENDPOINT};
pub use destinations::DestinationsPage;
pub use home::{HomePage, NotFoundPage};
pub use login::LoginPage;
pub use lookups::{BulkPage, LookupPage, LookupStatsPage, BULK_UPLOAD_ENDPOINT};
pub use notifications::NotificationsPage;
pub use numbers::{BuyNumberPage, NumberDetailPage, NumbersListPage};
pub use opt_outs::{OptOutsPage, OPT_OUT_IMPORT_ENDPOINT};
pub use orgs::{DashboardPage, MembersPage};
pub use phone_config::PhoneConfigPage;
pub use requests::RequestsPage;
pub use sms::SmsPage;
pub use staff::{StaffAuditPage, StaffBudgetsPage, StaffHomePage, StaffLookupsPage, StaffOrgPage};
pub use statements::{StatementPage, StatementsPage};
pub use usage::{AuditPage, UsagePage};
pub use webhooks::{WebhookLogPage, WebhooksPage};

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// The `:org` route parameter.
pub(crate) fn org_param() -> Memo<String> {
    let params = use_params_map();
    Memo::new(move |_| params.with(|p| p.get("org").unwrap_or_default()))
}

//! All of the server's integration tests in one binary: one link instead of thirteen (each test
//! binary is gigabytes), and one process paged in.

mod common;

mod alerts;
mod alerts_pages;
mod api;
mod api_v1;
mod budgets;
mod call_blocking;
mod calls;
mod compliance;
mod destinations;
mod hostile_admin;
mod invitations;
mod login_limits;
mod lookups;
mod money_guard;
mod numbers;
mod operate;
mod opt_outs;
mod org_time_zone;
mod per_org;
mod production;
mod providers;
mod quiet_hours;
mod requests;
mod sms_usage;
mod statements;

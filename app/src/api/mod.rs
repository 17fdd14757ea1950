//! Server functions, one use case each, grouped by area. Each one starts with the guard.

pub mod account;
pub mod admin;
pub mod api_keys;
pub mod auth;
pub mod budgets;
pub mod call_blocks;
pub mod calls;
pub mod compliance;
pub mod destinations;
pub mod invitations;
pub mod lookups;
pub mod notifications;
pub mod numbers;
pub mod opt_outs;
pub mod org_webhooks;
pub mod orgs;
pub mod phone_config;
pub mod requests;
pub mod sms;
pub mod staff;
pub mod statements;
pub mod usage;
/// The sentences people read live below the server layer (`ssr::words`); the old path stays.
#[cfg(feature = "ssr")]
pub use crate::ssr::words;

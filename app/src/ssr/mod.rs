//! Server-only code: feature modules that orchestrate, shared services, and all SQL (`db`, which
//! only this layer reaches).

pub mod account;
pub mod admin;
pub mod alerts;
pub mod api_keys;
pub mod auth;
pub mod blocked_prefixes;
pub mod budgets;
pub mod bulk_lookups;
pub mod bulk_worker;
pub mod call_blocks;
pub mod calls;
pub mod charts;
pub mod clock;
pub mod consent;
pub mod crypto;
pub(crate) mod db;
pub mod destination_guard;
pub mod destinations;
pub mod errors;
pub mod format;
pub mod guard;
pub mod hot_cache;
pub mod last_known;
pub mod limits;
pub mod listen;
pub mod lookup_events;
pub mod lookup_pages;
pub mod lookups;
pub mod mailer;
pub mod members;
pub mod money_guard;
pub mod nanp_zones;
pub mod notifications;
pub mod number_upkeep;
pub mod numbers;
pub mod opt_out_list;
pub mod opt_outs;
pub mod org_provider;
pub mod org_webhooks;
pub mod orgs;
pub mod outage;
pub mod phone_config;
pub mod prices;
pub mod providers;
pub mod quiet_hours;
pub mod requests;
pub mod retention;
pub mod route_twiml;
pub mod scheduled_texts;
pub mod seed;
pub mod shutdown;
pub mod sms;
pub mod sms_read;
pub mod staff;
pub mod state;
pub mod statements;
pub mod system_config;
pub mod twiml;
pub mod usage;
pub mod webhooks;
pub mod words;
pub mod zip;

/// The few database functions tests and benchmarks set up state with. Nothing in the server uses
/// them: its code goes through the use cases above, and `ssr::db` is this layer's alone.
#[doc(hidden)]
pub mod fixtures {
    pub use super::db::bulk_lookups::{claim, create, finish, Claimed, NewRow};
    pub use super::db::logins::PER_EMAIL;
    pub use super::db::lookup_cache::get as cached_lookup;
    pub use super::db::lookups::{record_events, top_numbers};
    pub use super::db::numbers::accrue_charges;
    pub use super::db::users::by_id as user_by_id;
}

pub use guard::{current_user, require, require_staff, require_superadmin, Permission};
pub use state::AppState;

/// Whether the database answers a trivial query (readiness, the outage page's recovery check).
pub async fn database_answers(pool: &sqlx::PgPool) -> Result<(), sqlx::Error> {
    db::ping(pool).await
}

/// The newest migration applied to the database (readiness compares it with the build's).
pub async fn latest_migration(pool: &sqlx::PgPool) -> Result<Option<i64>, sqlx::Error> {
    db::latest_migration(pool).await
}

use crate::error::AppError;

/// Records the error's status on the response (server functions and SSR pages alike), so
/// bad input answers 4xx and a missing org 404 rather than the framework's default 500.
pub fn respond<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(e) = &result {
        if let Some(opts) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            if let Ok(code) = http::StatusCode::from_u16(e.status()) {
                opts.set_status(code);
            }
        }
    }
    result
}

/// The client's IP (for the audit log and the login throttle): the socket's peer, or behind a
/// trusted reverse proxy the address it appended last to `X-Forwarded-For` (earlier entries are
/// whatever the client claimed).
pub fn client_ip() -> Option<String> {
    use leptos::prelude::use_context;
    let parts = use_context::<http::request::Parts>()?;
    let behind_proxy = use_context::<AppState>().is_some_and(|s| s.trust_proxy);
    client_ip_of(&parts, behind_proxy)
}

/// The group an address is counted in by the per-address limits: IPv4 addresses one by one, IPv6
/// by their /64 (one host is given a whole /64 and can pick any address in it).
pub fn address_group(ip: &str) -> String {
    use std::net::IpAddr;
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => ip.to_string(),
    }
}

/// The client's address from a request: the last `X-Forwarded-For` entry behind a trusted proxy,
/// else the connection's peer.
pub fn client_ip_of(parts: &http::request::Parts, behind_proxy: bool) -> Option<String> {
    if behind_proxy {
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|s| !s.is_empty())
            .and_then(|s| s.parse::<std::net::IpAddr>().ok());
        if let Some(ip) = forwarded {
            return Some(ip.to_string());
        }
    }
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    // A proxy in front that is not trusted makes every client one address (its own): the
    // per-address limits then hold for everyone at once. Said once, in the log.
    if !behind_proxy
        && peer.is_some_and(|p| p.is_loopback())
        && parts.headers.contains_key("x-forwarded-for")
    {
        static WARNED: std::sync::Once = std::sync::Once::new();
        WARNED.call_once(|| {
            tracing::warn!(
                "requests arrive through a proxy (X-Forwarded-For) but PHONEHUB_TRUST_PROXY is off: every client counts as the proxy's address for the login and API limits"
            )
        });
    }
    peer.map(|p| p.to_string())
}

/// A stored E.164 number as people in `country` read it: the national format for that country's
/// numbers, the international one for others; anything that does not parse, as stored.
pub fn shown(e164: &str, country: &str) -> String {
    telephony::E164::parse(e164, None)
        .map(|e| e.shown_in(country))
        .unwrap_or_else(|_| e164.to_string())
}

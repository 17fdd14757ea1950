//! Server-only code: shared state, authentication, the org guard and all SQL.

pub mod auth;
pub mod calls;
pub mod crypto;
pub mod db;
pub mod guard;
pub mod jobs;
pub mod lookups;
pub mod numbers;
pub mod sms;
pub mod state;
pub mod usage;

pub use guard::{current_user, require, require_superadmin, Permission};
pub use state::AppState;

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

/// The client's IP as seen by the server socket (for the audit log).
pub fn client_ip() -> Option<String> {
    use leptos::prelude::use_context;
    let parts = use_context::<http::request::Parts>()?;
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
}

//! The PhoneHub server: configuration, startup wiring, middleware and demo data.

pub mod admin_cli;
pub mod assets;
pub mod bulk;
pub mod config;
pub mod consent_files;
pub mod data_requests;
pub mod downloads;
pub mod metrics;
pub mod middleware;
pub mod opt_out_files;
pub mod plain_routes;
pub mod seed;
pub mod sessions;
pub mod startup;
pub mod telemetry;
pub mod v1;
pub mod webhooks;

pub use startup::Application;

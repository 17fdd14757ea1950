//! Every SQL statement of the app, checked at compile time against the migrated schema.

pub mod audit;
pub mod cache;
pub mod jobs;
pub mod logins;
pub mod lookups;
pub mod orgs;
pub mod phone_config;
pub mod staff;
pub mod usage;
pub mod users;

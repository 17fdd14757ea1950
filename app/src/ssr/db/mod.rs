//! Every SQL statement of the app, checked at compile time against the migrated schema.

pub mod audit;
pub mod call_history;
pub mod calls;
pub mod limits;
pub mod logins;
pub mod lookups;
pub mod numbers;
pub mod orgs;
pub mod phone_config;
pub mod prices;
pub mod sms;
pub mod users;

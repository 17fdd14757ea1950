//! Every SQL statement of the app, checked at compile time against the migrated schema.

pub mod audit;
pub mod orgs;
pub mod users;

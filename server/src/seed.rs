//! Demo data for development mode (`app::ssr::seed`; README lists the accounts).

pub use app::ssr::seed::{seed_demo, DEMO_PASSWORD};

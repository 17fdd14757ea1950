//! Widgets shared by the pages: forms with field errors, the nav bar, notices and error panels.

pub mod data;
pub mod form;
pub mod nav;
pub mod panels;

pub use data::{page_data, Data, PageCodec};
pub use form::{
    page_outcome, page_shown_once, poll_while, ActionForm, Field, FormError, FormOutcome,
    FormState, Refresh, SelectField, ShownOnce,
};
pub use nav::Nav;
pub use panels::{ErrorPanel, FilterError, Loaded, Loading, Notice, ReadOnlyBanner, Stat};

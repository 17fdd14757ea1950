//! Calls: placing them, the provider's webhooks about them, their history and their recordings.

mod history;
mod hooks;
mod place;
mod recordings;

pub use history::{filter_numbers, history, one, page, Call, HistoryRow};
pub use hooks::{
    announce_twiml, connect_twiml, inbound_voice, recording_callback, status_callback,
};
pub use place::{place_as, place_call, usable_numbers};
pub use recordings::recording_media;

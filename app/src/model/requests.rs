//! Requests by phone number: everything the org holds about one number (calls, messages,
//! recordings, lookup events, its opt-out entry), to show, export or erase.

use serde::{Deserialize, Serialize};

use crate::model::OrgView;

/// The most rows of each kind the page lists (the export holds them all).
pub const SHOWN: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldCall {
    pub id: i64,
    pub direction: String,
    pub from: String,
    pub to: String,
    pub status: String,
    pub duration_secs: Option<i32>,
    pub recordings: i64,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldMessage {
    pub id: i64,
    pub direction: String,
    /// The org's number.
    pub ours: String,
    /// Empty once redacted.
    pub body: String,
    pub status: String,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldLookup {
    pub outcome: String,
    pub line_type: Option<String>,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldOptOut {
    pub source: String,
    pub reason: String,
    pub since: String,
    /// Ledger events for the number (opt-outs, opt-ins, help requests).
    pub events: i64,
}

/// What the org holds about one number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Holdings {
    /// The number searched, E.164.
    pub number: String,
    pub calls: Vec<HeldCall>,
    pub calls_total: i64,
    pub messages: Vec<HeldMessage>,
    pub messages_total: i64,
    pub recordings: i64,
    pub lookups: Vec<HeldLookup>,
    pub lookups_total: i64,
    pub opt_out: Option<HeldOptOut>,
}

impl Holdings {
    pub fn is_empty(&self) -> bool {
        self.calls_total == 0
            && self.messages_total == 0
            && self.lookups_total == 0
            && self.recordings == 0
            && self.opt_out.is_none()
    }
}

/// What an erasure did (counts only; the audit log keeps them with a salted hash of the number).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erased {
    pub recordings_deleted: i64,
    /// Of those, deleted at the provider (the rest it no longer held).
    pub provider_recordings_deleted: i64,
    pub bodies_redacted: i64,
    /// Of those, redacted at the provider.
    pub provider_bodies_redacted: i64,
    pub calls: i64,
    pub messages: i64,
    pub lookups: i64,
    /// Scheduled or held texts to the number, canceled.
    pub canceled: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestsPage {
    pub org: OrgView,
    /// Owners and admins erase; support staff and they read and export.
    pub can_manage: bool,
    /// None until a number is searched.
    pub found: Option<Holdings>,
}

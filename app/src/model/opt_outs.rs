//! The opt-out ledger: who is opted out of an org's texts, how each got there (with its proof),
//! what the org answers to STOP, START and HELP, and the opt-outs page as it crosses the wire.

use serde::{Deserialize, Serialize};

use super::OrgView;

/// How a number entered (or left) the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptOutSource {
    /// The recipient texted a keyword (STOP, START, HELP…).
    Keyword,
    /// The provider refused a send to them as opted out (Twilio 21610), or its list says so
    /// (Amazon SNS).
    Provider,
    /// An owner or admin added it by hand, with a reason.
    Admin,
    /// A CSV file an owner or admin imported.
    Import,
}

impl OptOutSource {
    pub const ALL: [OptOutSource; 4] = [
        OptOutSource::Keyword,
        OptOutSource::Provider,
        OptOutSource::Admin,
        OptOutSource::Import,
    ];

    /// As stored and written by `/v1` and the CSV file.
    pub fn as_str(self) -> &'static str {
        match self {
            OptOutSource::Keyword => "keyword",
            OptOutSource::Provider => "provider",
            OptOutSource::Admin => "admin",
            OptOutSource::Import => "import",
        }
    }

    pub fn parse(s: &str) -> Option<OptOutSource> {
        OptOutSource::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether the recipient asked for it themselves: then only they can lift it (by START).
    pub fn by_recipient(self) -> bool {
        matches!(self, OptOutSource::Keyword | OptOutSource::Provider)
    }

    /// How the page names it.
    pub fn label(self) -> &'static str {
        match self {
            OptOutSource::Keyword => "Replied with a keyword",
            OptOutSource::Provider => "The provider's opt-out list",
            OptOutSource::Admin => "Added by an admin",
            OptOutSource::Import => "Imported from a file",
        }
    }
}

/// What an event of the ledger did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptOutAction {
    OptOut,
    OptIn,
    Help,
}

impl OptOutAction {
    pub fn as_str(self) -> &'static str {
        match self {
            OptOutAction::OptOut => "opt_out",
            OptOutAction::OptIn => "opt_in",
            OptOutAction::Help => "help",
        }
    }

    pub fn parse(s: &str) -> Option<OptOutAction> {
        [
            OptOutAction::OptOut,
            OptOutAction::OptIn,
            OptOutAction::Help,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            OptOutAction::OptOut => "Opted out",
            OptOutAction::OptIn => "Opted back in",
            OptOutAction::Help => "Asked for help",
        }
    }
}

/// The longest reason an admin may give, and the longest reply text.
pub const MAX_REASON: usize = 500;
pub const MAX_REPLY: usize = 320;
pub const MAX_CONTACT: usize = 160;

/// One number opted out of the org's texts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptOutView {
    pub e164: String,
    pub source: OptOutSource,
    pub reason: String,
    /// When, as people read it (UTC) and as RFC 3339.
    pub since: String,
    pub since_rfc3339: String,
    /// Unix microseconds: the keyset position of `/v1`'s pages.
    pub since_micros: i64,
    /// The org's number the keyword reached and its words: the proof of a recipient's own
    /// opt-out.
    pub our_e164: Option<String>,
    pub words: Option<String>,
    /// Who added it (an admin's e-mail), for entries added by hand or imported.
    pub by: Option<String>,
    /// Whether an owner or admin may lift it (entries an admin added or imported; never one the
    /// recipient sent).
    pub removable: bool,
}

/// One event of the ledger: an opt-out, an opt-in or a HELP, with its proof.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptOutEventView {
    pub id: i64,
    pub e164: String,
    pub action: OptOutAction,
    pub source: OptOutSource,
    pub our_e164: Option<String>,
    pub words: Option<String>,
    pub reason: String,
    pub by: Option<String>,
    /// A confirmation (or the help text) was sent in answer.
    pub replied: bool,
    pub at: String,
    pub at_rfc3339: String,
}

/// What the org answers to STOP, START and HELP: the texts in force (the org's own or the
/// defaults), whether each is the org's own, and the contact the help text names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepliesView {
    pub help_contact: String,
    pub stop_reply: String,
    pub start_reply: String,
    pub help_reply: String,
    pub stop_custom: bool,
    pub start_custom: bool,
    pub help_custom: bool,
    pub updated_rfc3339: Option<String>,
}

/// The opt-outs page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptOutsPage {
    pub org: OrgView,
    /// Owners and admins (and the superadmin): the forms, the import and the Remove buttons.
    pub can_manage: bool,
    /// Whether the org's provider keeps an opt-out list PhoneHub can import (Amazon SNS).
    pub provider_list: bool,
    /// How many numbers are opted out, and the newest (or those matching `search`), at most 200.
    pub count: i64,
    pub search: String,
    pub entries: Vec<OptOutView>,
    /// The latest events (or the searched number's whole history), newest first.
    pub events: Vec<OptOutEventView>,
    pub replies: RepliesView,
    /// The keywords each kind answers to, as the classifier reads them.
    pub opt_out_words: Vec<String>,
    pub opt_in_words: Vec<String>,
    pub help_words: Vec<String>,
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportOutcome {
    pub added: u32,
    pub already: u32,
}

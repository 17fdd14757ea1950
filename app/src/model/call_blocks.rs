//! Call blocking: the callers an org refuses before anything rings, the numbers its people must
//! not call, and the call-blocking page as it crosses the wire.

use serde::{Deserialize, Serialize};

use super::OrgView;

/// The most entries one list holds (a prefix covers a range).
pub const MAX_ENTRIES: i64 = 1000;
/// The longest note on an entry.
pub const MAX_NOTE: usize = 200;

/// Which list an entry is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockList {
    /// Callers refused before anything rings.
    Blocked,
    /// Numbers nobody in the org may call (click-to-call and `/v1/calls`).
    DoNotCall,
}

impl BlockList {
    pub const ALL: [BlockList; 2] = [BlockList::Blocked, BlockList::DoNotCall];

    /// As stored: the direction of the calls it stops.
    pub fn stored(self) -> &'static str {
        match self {
            BlockList::Blocked => "inbound",
            BlockList::DoNotCall => "outbound",
        }
    }

    pub fn from_stored(s: &str) -> Option<BlockList> {
        BlockList::ALL.into_iter().find(|l| l.stored() == s)
    }

    /// As forms and `/v1` name it.
    pub fn as_str(self) -> &'static str {
        match self {
            BlockList::Blocked => "blocked",
            BlockList::DoNotCall => "do_not_call",
        }
    }

    pub fn parse(s: &str) -> Option<BlockList> {
        BlockList::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

/// Why an inbound call was refused before it rang.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockReason {
    /// Its number is on the block list.
    Number,
    /// Its number starts with a blocked prefix.
    Prefix,
    /// It hid its number, and the org blocks those.
    Anonymous,
}

impl BlockReason {
    pub const ALL: [BlockReason; 3] = [
        BlockReason::Number,
        BlockReason::Prefix,
        BlockReason::Anonymous,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BlockReason::Number => "number",
            BlockReason::Prefix => "prefix",
            BlockReason::Anonymous => "anonymous",
        }
    }

    pub fn parse(s: &str) -> Option<BlockReason> {
        BlockReason::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// "Blocked: number on the block list".
    pub fn label(self) -> &'static str {
        match self {
            BlockReason::Number => "Blocked: number on the block list",
            BlockReason::Prefix => "Blocked: number starts with a blocked prefix",
            BlockReason::Anonymous => "Blocked: the caller hid their number",
        }
    }
}

/// One entry of a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockEntry {
    pub id: i64,
    pub list: BlockList,
    /// "+14155550100", or "+1900" for a prefix.
    pub pattern: String,
    pub is_prefix: bool,
    pub note: String,
    /// Who added it (their e-mail), if they still exist.
    pub by: Option<String>,
    /// "2026-12-08 10:05 UTC"
    pub added: String,
    /// RFC 3339.
    pub added_rfc3339: String,
}

impl BlockEntry {
    /// "+1900…" for a prefix, the number otherwise.
    pub fn shown(&self) -> String {
        if self.is_prefix {
            format!("{}…", self.pattern)
        } else {
            self.pattern.clone()
        }
    }
}

/// A call refused before it rang, as the page lists the latest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockedCall {
    pub id: i64,
    pub from: String,
    pub to: String,
    pub reason: BlockReason,
    pub at: String,
}

/// The call-blocking page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallBlockingPage {
    pub org: OrgView,
    pub can_manage: bool,
    pub block_anonymous: bool,
    pub blocked: Vec<BlockEntry>,
    pub do_not_call: Vec<BlockEntry>,
    /// Whether the reader sees the org's calls (owners, admins, support staff): the refused
    /// calls are shown only then.
    pub sees_calls: bool,
    /// The latest calls refused before they rang.
    pub recent: Vec<BlockedCall>,
    /// Calls refused in the last 30 days.
    pub refused_30_days: i64,
}

/// What Twilio sends as `From` when the caller hid their number: "ANONYMOUS", "RESTRICTED",
/// "UNAVAILABLE" and "BLOCKED" spelled on a phone's keypad.
pub const HIDDEN_NUMBERS: [&str; 4] = ["+266696687", "+7378742833", "+86282452253", "+2562533"];

/// Whether a caller hid their number: no `From`, one that is not shaped like a phone number
/// ("anonymous", "Restricted"), or one of Twilio's keypad spellings of those. Only the shape
/// counts: a spoofed or unallocated number is still a number, and the block list sees it.
pub fn is_hidden(from: &str) -> bool {
    let f = from.trim();
    let shaped = f.strip_prefix('+').is_some_and(|d| {
        (2..=15).contains(&d.len()) && !d.starts_with('0') && d.bytes().all(|b| b.is_ascii_digit())
    });
    !shaped || HIDDEN_NUMBERS.contains(&f)
}

/// A pattern as typed: a number (its own form, read by the server), or a prefix: "+" and its
/// first digits followed by "*" ("+1 900*"). Returns the prefix's digits with "+", or `None`
/// when it is not a prefix; `Err` says what is wrong with a prefix.
pub fn prefix_of(raw: &str) -> Result<Option<String>, &'static str> {
    let t = raw.trim();
    let Some(head) = t.strip_suffix('*') else {
        return Ok(None);
    };
    let kept: String = head
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let Some(digits) = kept.strip_prefix('+') else {
        return Err("Write a prefix with its country code: + then its first digits, then *, for example +1900*.");
    };
    if digits.is_empty() || digits.len() > 14 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err("A prefix is + and 1 to 14 digits, then *, for example +1900*.");
    }
    if digits.starts_with('0') {
        return Err("A country code never starts with 0.");
    }
    Ok(Some(format!("+{digits}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_plus_digits_and_a_star() {
        assert_eq!(prefix_of("+1 900*"), Ok(Some("+1900".into())));
        assert_eq!(prefix_of(" +44 (70) * "), Ok(Some("+4470".into())));
        assert_eq!(prefix_of("+14155550100"), Ok(None));
        assert_eq!(prefix_of("(415) 555-0100"), Ok(None));
        assert!(prefix_of("1900*").is_err());
        assert!(prefix_of("+*").is_err());
        assert!(prefix_of("+0800*").is_err());
        assert!(prefix_of("+1a*").is_err());
        assert!(prefix_of("+123456789012345*").is_err());
    }

    #[test]
    fn hidden_callers_are_empty_words_or_twilios_keypad_spellings() {
        for hidden in [
            "",
            " ",
            "anonymous",
            "Restricted",
            "+266696687",
            "+7378742833",
            "+86282452253",
            "+2562533",
            "+0123",
            "12125550100",
        ] {
            assert!(is_hidden(hidden), "{hidden:?}");
        }
        // A number that is not allocated (555-01xx, or a made-up range) is still a number.
        for shown in ["+14155550100", "+442071838750", "+19005550100", "+99912345"] {
            assert!(!is_hidden(shown), "{shown}");
        }
    }

    #[test]
    fn lists_and_reasons_round_trip() {
        for l in BlockList::ALL {
            assert_eq!(BlockList::parse(l.as_str()), Some(l));
            assert_eq!(BlockList::from_stored(l.stored()), Some(l));
        }
        for r in BlockReason::ALL {
            assert_eq!(BlockReason::parse(r.as_str()), Some(r));
        }
        assert_eq!(BlockList::parse("inbound"), None);
    }
}

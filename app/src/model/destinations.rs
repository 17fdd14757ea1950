//! Destination rules: where an org's calls and texts may go, the destinations the pumping guard
//! counts and pauses, and the destinations page as it crosses the wire.

use serde::{Deserialize, Serialize};

use super::OrgView;

/// What goes to a destination: a text or a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Sms,
    Call,
}

impl Channel {
    /// As stored (`destination_pauses.kind`) and written by `/v1`.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Call => "call",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        [Channel::Sms, Channel::Call]
            .into_iter()
            .find(|c| c.as_str() == s)
    }

    /// "Texts", "Calls": how a sentence about a destination starts.
    pub fn plural(self) -> &'static str {
        match self {
            Channel::Sms => "Texts",
            Channel::Call => "Calls",
        }
    }
}

/// How many digits after the "+" name a number prefix the velocity rule counts.
pub const PREFIX_DIGITS: usize = 6;

/// The most sends to one destination an hour the velocity rule may allow, and its default.
pub const MAX_VELOCITY: i32 = 100_000;
pub const DEFAULT_VELOCITY: i32 = 30;

/// A destination the velocity rule counts and pauses: a country abroad (ISO 3166 alpha-2), or a
/// number prefix ("+" and the first six digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DestKey {
    Country(String),
    Prefix(String),
}

impl DestKey {
    /// The prefix an E.164 number is counted under: "+447400123456" → "+447400".
    pub fn prefix_of(e164: &str) -> DestKey {
        DestKey::Prefix(e164.chars().take(1 + PREFIX_DIGITS).collect())
    }

    /// As stored: `cc:GB`, `p:+447400`.
    pub fn as_key(&self) -> String {
        match self {
            DestKey::Country(c) => format!("cc:{c}"),
            DestKey::Prefix(p) => format!("p:{p}"),
        }
    }

    /// A stored key read back (None for anything `as_key` does not write).
    pub fn parse(s: &str) -> Option<DestKey> {
        if let Some(c) = s.strip_prefix("cc:") {
            let ok = c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase());
            return ok.then(|| DestKey::Country(c.to_string()));
        }
        let p = s.strip_prefix("p:")?;
        let digits = p.strip_prefix('+')?;
        let ok = (1..=PREFIX_DIGITS).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit());
        ok.then(|| DestKey::Prefix(p.to_string()))
    }
}

/// An org's destination rules, as the page and `/v1/destinations` show them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RulesView {
    /// The org's own country (ISO 3166 alpha-2): always allowed.
    pub own_country: String,
    /// The other countries calls and texts may go to (empty: the org's own only), sorted.
    pub allowed_countries: Vec<String>,
    /// Their names, in the same order.
    pub allowed_names: Vec<String>,
    /// The most one text may cost ("$0.05"); None: no maximum.
    pub max_sms: Option<String>,
    pub max_sms_micros: Option<i64>,
    /// The most a call may cost a minute; None: no maximum.
    pub max_call_minute: Option<String>,
    pub max_call_minute_micros: Option<i64>,
    /// Sends to one destination an hour that pause it.
    pub velocity_per_hour: i32,
    /// When they were last saved, "2026-12-06 14:05 UTC" (None: never, the defaults apply).
    pub updated_at: Option<String>,
    /// The same, RFC 3339.
    pub updated_rfc3339: Option<String>,
}

/// A pause of the velocity rule: sends to one destination stopped until an owner or admin
/// resumes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PauseView {
    pub id: i64,
    /// As stored: `cc:GB`, `p:+447400`.
    pub key: String,
    /// As a person reads it: "United Kingdom", "+447400…".
    pub destination: String,
    /// What tripped it.
    pub kind: Channel,
    /// Sends counted in the hour when it tripped, and the rule then.
    pub sends: i64,
    pub per_hour: i32,
    /// "2026-12-06 14:05 UTC", and RFC 3339.
    pub paused_at: String,
    pub paused_rfc3339: String,
    pub resumed_at: Option<String>,
    pub resumed_rfc3339: Option<String>,
    /// Who resumed it (None: open, or their account is gone).
    pub resumed_by: Option<String>,
    /// Texts held under it, waiting to be sent.
    pub held: i64,
}

impl PauseView {
    pub fn is_open(&self) -> bool {
        self.resumed_at.is_none()
    }
}

/// One range of the shipped blocked list, as the page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockedRangeView {
    /// "+1900".
    pub prefix: String,
    /// "premium-rate", or "allowed (an exception)".
    pub kind: String,
    pub source: String,
    /// False for an exception carved out of a wider range.
    pub blocks: bool,
}

/// Destinations refused this month for one reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusalCount {
    /// `country`, `blocked`, `price` or `paused`.
    pub reason: String,
    /// What it means: "Country not allowed".
    pub label: String,
    pub n: i64,
}

/// `/o/:org/admin/destinations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestinationsPage {
    pub org: OrgView,
    /// Owners and admins (and the superadmin): the rules form and the Resume buttons.
    pub can_manage: bool,
    pub rules: RulesView,
    /// Ranges refused for every org, and where the list comes from.
    pub blocked_count: u32,
    pub blocked_sources: String,
    pub blocked: Vec<BlockedRangeView>,
    /// This month (the org's time zone) as people name it, and what was refused in it.
    pub month: String,
    pub refusals: Vec<RefusalCount>,
    /// Open pauses, then those resumed in the last 30 days, newest first.
    pub pauses: Vec<PauseView>,
    /// Common destinations, (code, name), to copy into the allowed countries.
    pub common: Vec<(String, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_back_from_what_they_write() {
        let p = DestKey::prefix_of("+447400123456");
        assert_eq!(p, DestKey::Prefix("+447400".into()));
        assert_eq!(p.as_key(), "p:+447400");
        assert_eq!(DestKey::parse("p:+447400"), Some(p));
        let c = DestKey::Country("GB".into());
        assert_eq!(c.as_key(), "cc:GB");
        assert_eq!(DestKey::parse("cc:GB"), Some(c));
        for bad in [
            "cc:gb",
            "cc:GBR",
            "p:447400",
            "p:+4474001",
            "p:+",
            "x:GB",
            "",
        ] {
            assert_eq!(DestKey::parse(bad), None, "{bad}");
        }
        for c in [Channel::Sms, Channel::Call] {
            assert_eq!(Channel::parse(c.as_str()), Some(c));
        }
    }
}

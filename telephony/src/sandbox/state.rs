//! The sandbox's state (numbers, calls, recordings, messages, and the ledger of what it billed),
//! saved as JSON to survive restarts.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OwnedNumber {
    pub sid: String,
    pub phone_number: String,
    pub friendly_name: String,
    pub voice_url: Option<String>,
    pub sms_url: Option<String>,
    pub status_callback: Option<String>,
    pub voice: bool,
    pub sms: bool,
    pub mms: bool,
    pub date_created: String,
    pub date_updated: String,
    /// The last month (`YYYY-MM`) its monthly price was billed for; renewed on the first of each
    /// later month it is held (see `Data::renew_numbers`).
    #[serde(default)]
    pub billed_through: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CallRec {
    pub sid: String,
    pub from: String,
    pub to: String,
    pub status: String,
    pub url: Option<String>,
    pub status_callback: Option<String>,
    pub status_callback_events: Vec<String>,
    pub record: bool,
    pub recording_status_callback: Option<String>,
    /// Simulated seconds of conversation, decided when the call is created (never past its
    /// `TimeLimit`).
    pub talk_seconds: u32,
    /// The `TimeLimit` the call was created with, in seconds.
    #[serde(default)]
    pub time_limit: Option<u32>,
    pub duration: Option<u32>,
    pub price_micros: Option<i64>,
    pub sequence: u32,
    pub date_created: String,
    pub date_updated: String,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    /// What the call's TwiML played to the other party before connecting them, in document order:
    /// each `<Say>`'s text (trimmed) and `play:{url}` for each `<Play>`, followed by
    /// `play-bytes:{n}` when that audio is on 127.0.0.1 and the sandbox fetched its `n` bytes. An
    /// inbound call's come from the voice URL's TwiML before its `<Dial>` (or `<Record>`, for a
    /// voicemail); an outbound call's from the TwiML of the `<Number url>` its `<Dial>` called. At
    /// most 10 entries of at most 1000 characters (absent in older saved states).
    #[serde(default)]
    pub heard: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RecordingRec {
    pub sid: String,
    pub call_sid: String,
    pub duration: u32,
    pub price_micros: i64,
    pub date_created: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MessageRec {
    pub sid: String,
    pub from: String,
    pub to: String,
    pub body: String,
    pub status: String,
    pub num_segments: u32,
    pub status_callback: Option<String>,
    pub error_code: Option<u32>,
    pub price_micros: Option<i64>,
    pub date_created: String,
    pub date_updated: String,
    pub date_sent: Option<String>,
    /// Twilio's `direction` when it is not `outbound-api` (a message created through the API):
    /// `outbound-reply` for the `<Message>` of a webhook's TwiML answer (absent in older saved
    /// states).
    #[serde(default)]
    pub direction: Option<String>,
}

/// Someone who texted one of Twilio's opt-out keywords (STOP, …) to one of the account's numbers:
/// Twilio refuses to text them from that number (error 21610) until they text START.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptOut {
    /// The account's number (E.164) they texted.
    pub number: String,
    /// Their number: the inbound text's `From`, in E.164 when it parses as a number.
    pub person: String,
}

/// What the sandbox billed in one usage category on one day (UTC), as Twilio's Usage Records
/// report it: items of the same category and day are summed into one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageItem {
    /// Twilio's usage category: `calls`, `recordings`, `sms`, `phonenumbers`, `lookups`.
    pub category: String,
    /// The real (wall-clock) day it was billed, `YYYY-MM-DD` in UTC.
    pub date: String,
    /// Usage events: calls, recordings, messages, numbers, lookups.
    pub count: u64,
    /// The billed amount in the category's unit: started minutes, segments, numbers, lookups.
    pub usage: u64,
    /// What it cost, in micro-dollars (positive).
    pub price_micros: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Data {
    pub numbers: Vec<OwnedNumber>,
    pub calls: Vec<CallRec>,
    pub recordings: Vec<RecordingRec>,
    pub messages: Vec<MessageRec>,
    /// The billing ledger: what was billed, per category and day (absent in older saved states).
    #[serde(default)]
    pub usage: Vec<UsageItem>,
    /// Who opted out of which number's texts (absent in older saved states).
    #[serde(default)]
    pub opted_out: Vec<OptOut>,
}

impl Data {
    /// Adds what was just billed to today's item of `category` in the ledger. The caller holds
    /// the state's lock (the same section that fixes the price) and saves afterwards.
    pub(super) fn bill(&mut self, category: &str, count: u64, usage: u64, price_micros: i64) {
        self.bill_on(super::rest::today(), category, count, usage, price_micros);
    }

    /// Bills each held number its monthly price for every month after the last one billed, up
    /// to `month` (`YYYY-MM`), on that month's first day, as Twilio renews a number monthly.
    /// A number without a month billed (saved before renewals) starts at `month`. Whether
    /// anything changed (to be saved).
    pub(super) fn renew_numbers(&mut self, month: &str) -> bool {
        let mut due: Vec<String> = Vec::new();
        let mut changed = false;
        for n in &mut self.numbers {
            let mut last = match &n.billed_through {
                Some(m) => m.clone(),
                None => {
                    n.billed_through = Some(month.to_string());
                    changed = true;
                    continue;
                }
            };
            // At most a century of months: a corrupt state file must not loop for long.
            for _ in 0..1200 {
                match next_month(&last) {
                    Some(next) if next.as_str() <= month => {
                        due.push(format!("{next}-01"));
                        last = next;
                    }
                    _ => break,
                }
            }
            if n.billed_through.as_deref() != Some(last.as_str()) {
                n.billed_through = Some(last);
                changed = true;
            }
        }
        for date in due {
            self.bill_on(
                date,
                "phonenumbers",
                1,
                1,
                super::numbers::NUMBER_MONTHLY_MICROS,
            );
        }
        changed
    }

    fn bill_on(&mut self, date: String, category: &str, count: u64, usage: u64, price_micros: i64) {
        match self
            .usage
            .iter_mut()
            .rev()
            .find(|u| u.category == category && u.date == date)
        {
            Some(item) => {
                item.count += count;
                item.usage += usage;
                item.price_micros += price_micros;
            }
            None => self.usage.push(UsageItem {
                category: category.to_string(),
                date,
                count,
                usage,
                price_micros,
            }),
        }
    }

    /// Whether `person` opted out of texts from `number`.
    pub fn is_opted_out(&self, number: &str, person: &str) -> bool {
        self.opted_out
            .iter()
            .any(|o| o.number == number && o.person == person)
    }

    /// Records that `person` opted out of texts from `number` (true) or back in (false). The
    /// caller holds the state's lock and saves afterwards.
    pub(super) fn set_opted_out(&mut self, number: &str, person: &str, out: bool) {
        self.opted_out
            .retain(|o| o.number != number || o.person != person);
        if out {
            self.opted_out.push(OptOut {
                number: number.to_string(),
                person: person.to_string(),
            });
        }
    }

    pub fn load(path: &Option<PathBuf>) -> Data {
        let Some(path) = path else {
            return Data::default();
        };
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(error = %e, path = %path.display(), "sandbox state unreadable; starting empty");
                Data::default()
            }),
            Err(_) => Data::default(),
        }
    }

    /// Writes atomically (temporary file, then rename).
    pub fn save(&self, path: &Option<PathBuf>) {
        let Some(path) = path else { return };
        let tmp = path.with_extension("json.tmp");
        let result = serde_json::to_vec(self)
            .map_err(std::io::Error::other)
            .and_then(|bytes| {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                std::fs::write(&tmp, bytes)?;
                std::fs::rename(&tmp, path)
            });
        if let Err(e) = result {
            tracing::warn!(error = %e, path = %path.display(), "could not save sandbox state");
        }
    }
}

/// The month after `YYYY-MM`; `None` for anything else.
fn next_month(month: &str) -> Option<String> {
    let (y, m) = month.split_once('-')?;
    let (y, m): (i32, u32) = (y.parse().ok()?, m.parse().ok()?);
    match m {
        1..=11 => Some(format!("{y:04}-{:02}", m + 1)),
        12 => Some(format!("{:04}-01", y + 1)),
        _ => None,
    }
}

#[cfg(test)]
mod renewal_tests {
    use super::*;

    #[test]
    fn opt_outs_are_per_pair_and_older_states_load_without_them() {
        let mut d = Data::default();
        d.set_opted_out("+14155550100", "+14155550111", true);
        d.set_opted_out("+14155550100", "+14155550111", true);
        assert_eq!(d.opted_out.len(), 1, "once per pair");
        assert!(d.is_opted_out("+14155550100", "+14155550111"));
        assert!(!d.is_opted_out("+14155550199", "+14155550111"));
        assert!(!d.is_opted_out("+14155550111", "+14155550100"));
        let saved = serde_json::to_string(&d).unwrap();
        let loaded: Data = serde_json::from_str(&saved).unwrap();
        assert!(loaded.is_opted_out("+14155550100", "+14155550111"));
        d.set_opted_out("+14155550100", "+14155550111", false);
        assert!(d.opted_out.is_empty());
        let old: Data = serde_json::from_str(
            r#"{"numbers":[],"calls":[],"recordings":[],"messages":[{"sid":"SM1","from":"+1","to":"+2","body":"hi","status":"sent","num_segments":1,"status_callback":null,"error_code":null,"price_micros":null,"date_created":"","date_updated":"","date_sent":null}]}"#,
        )
        .unwrap();
        assert!(old.opted_out.is_empty());
        assert_eq!(old.messages[0].direction, None);
    }

    #[test]
    fn calls_saved_before_heard_was_kept_load_with_nothing_heard() {
        let old: Data = serde_json::from_str(
            r#"{"numbers":[],"recordings":[],"messages":[],"calls":[{"sid":"CA1","from":"+1","to":"+2","status":"completed","url":null,"status_callback":null,"status_callback_events":[],"record":false,"recording_status_callback":null,"talk_seconds":5,"duration":5,"price_micros":8500,"sequence":0,"date_created":"","date_updated":"","start_time":null,"end_time":null}]}"#,
        )
        .unwrap();
        assert!(old.calls[0].heard.is_empty());
        let mut d = old.clone();
        d.calls[0].heard = vec!["This call is recorded.".into()];
        let again: Data = serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
        assert_eq!(again.calls[0].heard, ["This call is recorded."]);
    }

    #[test]
    fn held_numbers_are_billed_on_the_first_of_each_later_month() {
        let mut d = Data::default();
        d.numbers.push(OwnedNumber {
            billed_through: Some("2026-11".into()),
            ..Default::default()
        });
        d.numbers.push(OwnedNumber::default());
        assert!(d.renew_numbers("2027-01"));
        let dates: Vec<&str> = d.usage.iter().map(|u| u.date.as_str()).collect();
        assert_eq!(dates, ["2026-12-01", "2027-01-01"]);
        assert!(d
            .usage
            .iter()
            .all(|u| u.category == "phonenumbers" && u.price_micros == 1_000_000));
        assert_eq!(d.numbers[1].billed_through.as_deref(), Some("2027-01"));
        // Once per month.
        assert!(!d.renew_numbers("2027-01"));
        assert_eq!(d.usage.len(), 2);
        assert_eq!(next_month("2026-12").as_deref(), Some("2027-01"));
        assert_eq!(next_month("garbage"), None);
    }
}

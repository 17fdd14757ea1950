//! Calls as the pages see them, and the call-history filters (kept in the URL).

use serde::{Deserialize, Serialize};

use super::cursor::Cursor;
use super::OrgView;
#[cfg(feature = "ssr")]
use crate::error::AppError;

/// Where a call stands (the `calls.status` column; its CHECK lists exactly these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ssr", derive(sqlx::Type))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "kebab-case"))]
pub enum CallStatus {
    Queued,
    Initiated,
    Ringing,
    InProgress,
    Completed,
    Busy,
    NoAnswer,
    Failed,
    Canceled,
}

impl CallStatus {
    pub const ALL: [CallStatus; 9] = [
        CallStatus::Queued,
        CallStatus::Initiated,
        CallStatus::Ringing,
        CallStatus::InProgress,
        CallStatus::Completed,
        CallStatus::Busy,
        CallStatus::NoAnswer,
        CallStatus::Failed,
        CallStatus::Canceled,
    ];

    /// As the provider and the database write it.
    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Queued => "queued",
            CallStatus::Initiated => "initiated",
            CallStatus::Ringing => "ringing",
            CallStatus::InProgress => "in-progress",
            CallStatus::Completed => "completed",
            CallStatus::Busy => "busy",
            CallStatus::NoAnswer => "no-answer",
            CallStatus::Failed => "failed",
            CallStatus::Canceled => "canceled",
        }
    }

    pub fn parse(s: &str) -> Option<CallStatus> {
        CallStatus::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The call has ended (nothing later can change it).
    pub fn is_final(self) -> bool {
        self.rank() == 4
    }

    /// Order of statuses: a callback never moves a call back to an earlier one.
    pub fn rank(self) -> u8 {
        match self {
            CallStatus::Queued => 0,
            CallStatus::Initiated => 1,
            CallStatus::Ringing => 2,
            CallStatus::InProgress => 3,
            CallStatus::Completed
            | CallStatus::Busy
            | CallStatus::NoAnswer
            | CallStatus::Failed
            | CallStatus::Canceled => 4,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CallStatus::Queued => "Queued",
            CallStatus::Initiated => "Dialling",
            CallStatus::Ringing => "Ringing",
            CallStatus::InProgress => "In progress",
            CallStatus::Completed => "Completed",
            CallStatus::Busy => "Busy",
            CallStatus::NoAnswer => "No answer",
            CallStatus::Failed => "Failed",
            CallStatus::Canceled => "Canceled",
        }
    }
}

impl std::fmt::Display for CallStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

pub const PAGE_SIZE: i64 = 50;

/// "1:05" for 65 seconds.
pub fn duration_label(secs: Option<i32>) -> String {
    match secs {
        Some(s) if s >= 3600 => format!("{}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60),
        Some(s) => format!("{}:{:02}", s / 60, s % 60),
        None => "—".into(),
    }
}

/// The history filters, exactly as in the URL (`?status=completed&direction=inbound&…`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallFilter {
    pub status: String,
    pub direction: String,
    /// An owned number's id.
    pub number: String,
    /// YYYY-MM-DD, inclusive.
    pub from: String,
    /// YYYY-MM-DD, inclusive.
    pub to: String,
    /// "1": only calls with a recording.
    pub recorded: String,
    /// Digits (or +digits) to find in From or To.
    pub q: String,
    /// The keyset cursor: the last row of the previous page (`<micros>.<id>`).
    pub before: String,
}

impl CallFilter {
    pub fn from_pairs(pairs: &[(String, String)]) -> CallFilter {
        let val = |k: &str| super::query_value(pairs, k);
        CallFilter {
            status: val("status"),
            direction: val("direction"),
            number: val("number"),
            from: val("from"),
            to: val("to"),
            recorded: val("recorded"),
            q: val("q"),
            before: val("before"),
        }
    }

    /// The filters as a query string (without the cursor), for links and the CSV export.
    pub fn query_string(&self) -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("status", &self.status),
            ("direction", &self.direction),
            ("number", &self.number),
            ("from", &self.from),
            ("to", &self.to),
            ("recorded", &self.recorded),
            ("q", &self.q),
        ] {
            if !v.is_empty() {
                s.append_pair(k, v);
            }
        }
        s.finish()
    }

    /// Checks every filter; a bad one is a field error naming it.
    #[cfg(feature = "ssr")]
    pub fn validate(&self) -> Result<ValidFilter, AppError> {
        let status =
            match self.status.as_str() {
                "" => None,
                s => Some(CallStatus::parse(s).ok_or_else(|| {
                    AppError::validation("status", "Choose a status from the list.")
                })?),
            };
        let direction = match self.direction.as_str() {
            "" => None,
            d @ ("outbound" | "inbound") => Some(d.to_string()),
            _ => {
                return Err(AppError::validation(
                    "direction",
                    "Choose outbound or inbound.",
                ))
            }
        };
        let number =
            match self.number.as_str() {
                "" => None,
                n => Some(n.parse::<i64>().map_err(|_| {
                    AppError::validation("number", "Choose a number from the list.")
                })?),
            };
        let from = super::dates::parse_date("from", Some(&self.from))?;
        let to = super::dates::parse_date("to", Some(&self.to))?;
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                return Err(AppError::validation(
                    "to",
                    "The end date is before the start date.",
                ));
            }
        }
        let q = self.q.trim_start_matches('+');
        if q.len() > 15 || !q.chars().all(|c| c.is_ascii_digit()) {
            return Err(AppError::validation(
                "q",
                "Search with digits of a phone number (up to 15).",
            ));
        }
        let before = match self.before.as_str() {
            "" => None,
            b => Some(b.parse::<Cursor>()?),
        };
        Ok(ValidFilter {
            status,
            direction,
            number,
            from,
            to,
            recorded: !self.recorded.is_empty(),
            q: (!q.is_empty()).then(|| q.to_string()),
            before,
        })
    }
}

/// Checked filters, ready for the query.
#[cfg(feature = "ssr")]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidFilter {
    pub status: Option<CallStatus>,
    pub direction: Option<String>,
    pub number: Option<i64>,
    /// Inclusive, UTC.
    pub from: Option<time::Date>,
    /// Inclusive, UTC.
    pub to: Option<time::Date>,
    pub recorded: bool,
    pub q: Option<String>,
    /// The last row already shown.
    pub before: Option<Cursor>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRow {
    pub id: i64,
    /// "2026-11-23 14:05 UTC"
    pub created: String,
    pub direction: String,
    pub from: String,
    pub to: String,
    pub status: CallStatus,
    pub duration_secs: Option<i32>,
    pub cost: String,
    pub recordings: i32,
    pub user: String,
    /// Why the call was refused before it rang (an inbound call the org blocks).
    pub blocked: Option<crate::model::call_blocks::BlockReason>,
    /// An inbound call from a caller who showed their number and is not blocked yet (the
    /// history's Block button).
    pub blockable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberOption {
    pub id: i64,
    pub e164: String,
    pub friendly_name: String,
    pub forward_to: String,
}

impl NumberOption {
    pub fn label(&self) -> String {
        if self.friendly_name.is_empty() {
            self.e164.clone()
        } else {
            format!("{} · {}", self.e164, self.friendly_name)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallsPage {
    pub org: OrgView,
    /// Admins and support see the org's calls; members their own.
    pub all: bool,
    pub filter: CallFilter,
    pub rows: Vec<CallRow>,
    /// The cursor of the next (older) page, when there is one.
    pub next: Option<Cursor>,
    pub numbers: Vec<NumberOption>,
    pub can_call: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallEventView {
    pub status: CallStatus,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingView {
    pub id: i64,
    pub duration_secs: i32,
    pub cost: String,
    pub created: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallPage {
    pub org: OrgView,
    pub call: CallRow,
    pub bridge: Option<String>,
    pub number_id: Option<i64>,
    pub error: Option<String>,
    pub started: Option<String>,
    pub ended: Option<String>,
    /// Still changing (the page refreshes itself): not ended, or ended moments ago.
    pub live: bool,
    /// The call's own cost and its recordings' cost.
    pub call_cost: String,
    pub recording_cost: String,
    pub events: Vec<CallEventView>,
    pub recordings: Vec<RecordingView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCallPage {
    pub org: OrgView,
    /// Active voice numbers the user may call from.
    pub numbers: Vec<NumberOption>,
    pub can_call: bool,
    /// Why calls cannot be placed with the org's configuration (AWS), in words.
    pub unavailable: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(feature = "ssr")]
    use crate::error::AppError;

    fn filter(pairs: &[(&str, &str)]) -> CallFilter {
        let p: Vec<(String, String)> = pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        CallFilter::from_pairs(&p)
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn filters_are_checked_field_by_field() {
        let ok = filter(&[
            ("status", "completed"),
            ("direction", "inbound"),
            ("from", "2026-11-01"),
            ("to", "2026-11-23"),
            ("q", "+1415"),
            ("before", "1700000000000000.42"),
        ])
        .validate()
        .unwrap();
        assert_eq!(ok.status, Some(CallStatus::Completed));
        assert_eq!(ok.q.as_deref(), Some("1415"));
        assert_eq!(
            ok.before,
            Some(Cursor {
                micros: 1_700_000_000_000_000,
                id: 42
            })
        );
        for (pairs, field) in [
            (vec![("status", "done")], "status"),
            (vec![("direction", "sideways")], "direction"),
            (vec![("number", "x")], "number"),
            (vec![("from", "2026-13-01")], "from"),
            (vec![("from", "2026-02-31")], "from"),
            (vec![("to", "23/11/2026")], "to"),
            (vec![("from", "2026-11-23"), ("to", "2026-11-01")], "to"),
            (vec![("q", "'; drop table calls")], "q"),
        ] {
            match filter(&pairs).validate() {
                Err(AppError::Validation { field: f, .. }) => assert_eq!(f, field, "{pairs:?}"),
                other => panic!("{pairs:?}: {other:?}"),
            }
        }
        assert!(matches!(
            filter(&[("before", "abc")]).validate(),
            Err(AppError::BadRequest(_))
        ));
    }

    #[test]
    fn query_string_keeps_filters_but_not_the_cursor() {
        let f = filter(&[("status", "completed"), ("q", "+1 415"), ("before", "1.2")]);
        assert_eq!(f.query_string(), "status=completed&q=%2B1+415");
    }

    #[test]
    fn statuses_only_move_forward() {
        use CallStatus::*;
        assert!(Completed.rank() > Ringing.rank());
        assert!(Ringing.rank() > Initiated.rank());
        assert_eq!(Busy.rank(), Completed.rank());
        for s in CallStatus::ALL {
            assert_eq!(CallStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
        assert_eq!(InProgress.label(), "In progress");
        assert_eq!(duration_label(Some(65)), "1:05");
        assert_eq!(duration_label(Some(3725)), "1:02:05");
    }
}

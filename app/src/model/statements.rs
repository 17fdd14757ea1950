//! Monthly statements: what an org (or one member) was billed in a closed month of the org's time
//! zone, by category, with the adjustments of earlier months and, for orgs on their own Twilio
//! account, the provider's usage records beside it. As the statements pages, their CSV and
//! `/v1/statements` show them.

use serde::{Deserialize, Serialize};

use crate::model::money::Money;
use crate::model::OrgView;

/// A statement's categories, in the order statements list them.
pub const CATEGORIES: [&str; 5] = ["numbers", "calls", "recordings", "sms", "lookups"];

/// A category's name on a statement.
pub fn category_label(category: &str) -> &'static str {
    match category {
        "numbers" => "Numbers held",
        "calls" => "Calls",
        "recordings" => "Recordings",
        "sms" => "SMS",
        "lookups" => "Paid lookups",
        "total" => "Total",
        _ => "Other",
    }
}

/// What a category's usage is counted in.
pub fn usage_unit(category: &str) -> &'static str {
    match category {
        "calls" | "recordings" => "minutes",
        "sms" => "segments",
        "numbers" => "number-months",
        _ => "lookups",
    }
}

/// A line's usage in words: "1 segment", "75 minutes".
pub fn usage_label(category: &str, usage: i64) -> String {
    let unit = usage_unit(category);
    if usage == 1 {
        format!("1 {}", unit.trim_end_matches('s'))
    } else {
        format!("{usage} {unit}")
    }
}

/// One statement in a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatementSummary {
    pub id: i64,
    /// The month's first day, YYYY-MM-DD.
    pub month: String,
    /// "December 2026".
    pub month_label: String,
    /// The member's e-mail; `None`: the whole org.
    pub member: Option<String>,
    pub total_micros: i64,
    pub adjustments_micros: i64,
    /// The provider comparison: `None` (not compared: not the org's own Twilio account, or a
    /// member's statement), `pending`, `matches`, `differs` or `failed`.
    pub check: Option<String>,
}

/// A category's line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatementLine {
    pub category: String,
    pub item_count: i64,
    pub usage: i64,
    pub micros: i64,
    pub adjustment_count: i64,
    pub adjustment_micros: i64,
    pub cache_hits: i64,
    pub saved_micros: i64,
}

impl StatementLine {
    pub fn total_micros(&self) -> i64 {
        self.micros + self.adjustment_micros
    }
}

/// An adjustment: an item of an earlier month whose cost changed (or was written) after that
/// month's statement closed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatementAdjustment {
    pub category: String,
    pub item: String,
    /// When the item happened (RFC 3339, to the second).
    pub item_at: String,
    /// What earlier statements said it cost.
    pub was_micros: i64,
    /// What it costs now.
    pub micros: i64,
}

impl StatementAdjustment {
    pub fn delta_micros(&self) -> i64 {
        self.micros - self.was_micros
    }
}

/// One category of the provider comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckLine {
    /// One of [`CATEGORIES`] or `total`.
    pub category: String,
    /// The month's usage on this statement (adjustments of earlier months are not in the
    /// provider's figure for this month).
    pub ours_micros: i64,
    pub provider_micros: i64,
}

impl CheckLine {
    pub fn difference_micros(&self) -> i64 {
        self.provider_micros - self.ours_micros
    }
}

/// The comparison with the provider's usage records for the month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatementCheck {
    /// `pending`, `matches`, `differs` or `failed`.
    pub state: String,
    /// When the usage records were read (RFC 3339), once they were.
    pub checked_at: Option<String>,
    /// Why reading them failed, in words.
    pub error: Option<String>,
    pub lines: Vec<CheckLine>,
}

/// A whole statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    pub id: i64,
    pub org_name: String,
    pub month: String,
    pub month_label: String,
    pub member: Option<String>,
    pub time_zone: String,
    /// The period, RFC 3339 (start inclusive, end exclusive).
    pub period_start: String,
    pub period_end: String,
    pub closed_at: String,
    pub lines: Vec<StatementLine>,
    pub adjustments: Vec<StatementAdjustment>,
    pub check: Option<StatementCheck>,
}

impl Statement {
    /// The month's usage, without adjustments.
    pub fn usage_micros(&self) -> i64 {
        self.lines.iter().map(|l| l.micros).sum()
    }

    pub fn adjustments_micros(&self) -> i64 {
        self.lines.iter().map(|l| l.adjustment_micros).sum()
    }

    pub fn total_micros(&self) -> i64 {
        self.usage_micros() + self.adjustments_micros()
    }

    pub fn saved_micros(&self) -> i64 {
        self.lines.iter().map(|l| l.saved_micros).sum()
    }
}

/// The statements page: the org's statements and its members' (owners, admins and support
/// staff), or the viewer's own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatementsPage {
    pub org: OrgView,
    /// Whether the viewer sees the org's and every member's statements (else only their own).
    pub sees_all: bool,
    pub org_statements: Vec<StatementSummary>,
    pub member_statements: Vec<StatementSummary>,
    /// The org's time zone, which months follow.
    pub time_zone: String,
}

/// Signed dollars for a statement: "$1.25", "−$0.0085" (adjustments can be negative).
pub fn signed(micros: i64) -> String {
    if micros < 0 {
        format!("−{}", Money::from_micros(-micros))
    } else {
        Money::from_micros(micros).to_string()
    }
}

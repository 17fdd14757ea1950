//! Budgets: what the org (or one member) may spend per day or month, on everything or one
//! category; as the budgets page and `/v1/budgets` show them, and the form's choices.

use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::model::OrgView;

/// What a budget counts: one kind of paid action (a budget without one counts everything).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BudgetCategory {
    Calls,
    Sms,
    Lookups,
    Numbers,
}

impl BudgetCategory {
    pub const ALL: [BudgetCategory; 4] = [
        BudgetCategory::Calls,
        BudgetCategory::Sms,
        BudgetCategory::Lookups,
        BudgetCategory::Numbers,
    ];

    /// As stored, sent by the form and written by `/v1`.
    pub fn as_str(self) -> &'static str {
        match self {
            BudgetCategory::Calls => "calls",
            BudgetCategory::Sms => "sms",
            BudgetCategory::Lookups => "lookups",
            BudgetCategory::Numbers => "numbers",
        }
    }

    /// The category named exactly `s` (as `as_str` writes it).
    pub fn parse(s: &str) -> Option<BudgetCategory> {
        BudgetCategory::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            BudgetCategory::Calls => "Calls",
            BudgetCategory::Sms => "SMS",
            BudgetCategory::Lookups => "Paid lookups",
            BudgetCategory::Numbers => "Number rental",
        }
    }
}

/// A budget's category as typed in `field`: absent or empty counts everything.
pub fn parse_category(field: &str, raw: Option<&str>) -> Result<Option<BudgetCategory>, AppError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => BudgetCategory::parse(&s.to_ascii_lowercase())
            .map(Some)
            .ok_or_else(|| {
                AppError::validation(
                    field,
                    "Choose what the budget counts: everything, calls, sms, lookups or numbers.",
                )
            }),
    }
}

/// How long a budget's period is: a local day or a local month of the org's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BudgetPeriod {
    Day,
    Month,
}

impl BudgetPeriod {
    pub const ALL: [BudgetPeriod; 2] = [BudgetPeriod::Month, BudgetPeriod::Day];

    pub fn as_str(self) -> &'static str {
        match self {
            BudgetPeriod::Day => "day",
            BudgetPeriod::Month => "month",
        }
    }

    pub fn parse(s: &str) -> Option<BudgetPeriod> {
        BudgetPeriod::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// "Per day", "Per month".
    pub fn label(self) -> &'static str {
        match self {
            BudgetPeriod::Day => "Per day",
            BudgetPeriod::Month => "Per month",
        }
    }
}

/// A budget's period as typed in `field`.
pub fn parse_period(field: &str, raw: &str) -> Result<BudgetPeriod, AppError> {
    BudgetPeriod::parse(&raw.trim().to_ascii_lowercase())
        .ok_or_else(|| AppError::validation(field, "Choose a period: day or month."))
}

/// A budget with its current period's figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetView {
    pub id: i64,
    /// The member's e-mail; None: the whole org.
    pub member: Option<String>,
    /// None: everything.
    pub category: Option<BudgetCategory>,
    pub period: BudgetPeriod,
    /// Whether it refuses what would pass it (else it only alerts).
    pub hard_cap: bool,
    /// The amounts as the pages write them ("$50.00").
    pub amount: String,
    pub spent: String,
    pub held: String,
    pub remaining: String,
    pub amount_micros: i64,
    pub spent_micros: i64,
    /// Reserved by paid actions under way.
    pub held_micros: i64,
    /// Granted on top of the amount for this period only.
    pub extra_micros: i64,
    /// amount + extra − spent − held, never below zero.
    pub remaining_micros: i64,
    /// (spent + held) of (amount + extra), in whole percent; over 100 once passed, at most
    /// `MAX_PERCENT`.
    pub percent_used: u32,
    /// The current period's first local day, YYYY-MM-DD.
    pub period_start: String,
    /// The current period as people name it: "December 2026", "7 Dec 2026".
    pub period_label: String,
}

/// What is left of `limit` once `used` is counted, never below zero.
pub fn remaining(limit: i64, used: i64) -> i64 {
    limit.saturating_sub(used).max(0)
}

/// The most `percent_used` says: ten thousand times the budget (a millionth of a dollar's
/// budget can be passed by any amount).
pub const MAX_PERCENT: u32 = 1_000_000;

/// `used` of `limit` in whole percent (rounded down, at most `MAX_PERCENT`); a zero budget is 0%
/// until anything is used, then 100%.
pub fn percent_used(limit: i64, used: i64) -> u32 {
    let used = used.max(0);
    if limit <= 0 {
        return if used > 0 { 100 } else { 0 };
    }
    let pct = i128::from(used) * 100 / i128::from(limit);
    u32::try_from(pct.min(i128::from(MAX_PERCENT))).unwrap_or(MAX_PERCENT)
}

/// The budgets page: the budgets the caller may see, and for those who set them the form's
/// choice of members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetsPage {
    pub org: OrgView,
    pub budgets: Vec<BudgetView>,
    /// Owners and admins (and the superadmin): the form and the delete buttons.
    pub can_manage: bool,
    /// (user id, e-mail) of the org's members, for the form's member choice (empty unless
    /// `can_manage`).
    pub members: Vec<(i64, String)>,
    /// The IANA zone the org's days and months follow.
    pub time_zone: String,
    /// The overrides granted in the current periods of the budgets shown, newest first.
    pub overrides: Vec<OverrideView>,
}

/// A one-off override: extra room granted in one budget's current period, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverrideView {
    pub budget_id: i64,
    /// "$5.00".
    pub extra: String,
    pub extra_micros: i64,
    pub reason: String,
    /// Who granted it (None: their account is gone).
    pub granted_by: Option<String>,
    /// "2026-12-06 14:05 UTC".
    pub granted_at: String,
}

/// The longest reason an override may give, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// Why an override is granted, as typed in `field`: trimmed, 1 to `MAX_REASON_CHARS`
/// characters, no control characters but line breaks and tabs.
pub fn parse_reason(field: &str, raw: &str) -> Result<String, AppError> {
    let r = raw.trim();
    if r.is_empty() {
        return Err(AppError::validation(
            field,
            "Say why the budget is exceeded this time.",
        ));
    }
    if r.chars().count() > MAX_REASON_CHARS {
        return Err(AppError::validation(
            field,
            format!("Keep the reason to {MAX_REASON_CHARS} characters at most."),
        ));
    }
    if r.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(AppError::validation(
            field,
            "The reason can hold text and line breaks only.",
        ));
    }
    Ok(r.to_string())
}

/// A budget of any org, as the support console lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffBudgetRow {
    pub org_slug: String,
    pub org_name: String,
    /// The IANA zone the org's periods follow.
    pub time_zone: String,
    pub budget: BudgetView,
}

/// `/staff/budgets`: every org's budgets, nearest their cap first, at most `limit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffBudgetsPage {
    pub rows: Vec<StaffBudgetRow>,
    pub limit: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_and_periods_read_back_from_what_they_write() {
        for c in BudgetCategory::ALL {
            assert_eq!(BudgetCategory::parse(c.as_str()), Some(c));
        }
        for p in BudgetPeriod::ALL {
            assert_eq!(BudgetPeriod::parse(p.as_str()), Some(p));
        }
        assert_eq!(BudgetCategory::Sms.label(), "SMS");
        assert_eq!(parse_category("category", None).unwrap(), None);
        assert_eq!(parse_category("category", Some(" ")).unwrap(), None);
        assert_eq!(
            parse_category("category", Some("SMS")).unwrap(),
            Some(BudgetCategory::Sms)
        );
        assert!(parse_category("category", Some("fax"))
            .unwrap_err()
            .field_message("category")
            .is_some());
        assert_eq!(
            parse_period("period", " Month ").unwrap(),
            BudgetPeriod::Month
        );
        assert!(parse_period("period", "week")
            .unwrap_err()
            .field_message("period")
            .is_some());
        assert!(parse_period("period", "").is_err());
    }

    #[test]
    fn a_reason_is_trimmed_and_bounded() {
        assert_eq!(
            parse_reason("reason", "  Launch day \n").unwrap(),
            "Launch day"
        );
        assert_eq!(parse_reason("reason", "Two\nlines").unwrap(), "Two\nlines");
        let err = parse_reason("reason", " \t ").unwrap_err();
        assert_eq!(
            err.field_message("reason").as_deref(),
            Some("Say why the budget is exceeded this time.")
        );
        let long = "é".repeat(MAX_REASON_CHARS);
        assert_eq!(parse_reason("reason", &long).unwrap(), long);
        assert!(parse_reason("reason", &format!("{long}x"))
            .unwrap_err()
            .field_message("reason")
            .is_some());
        assert!(parse_reason("reason", "nul\0byte")
            .unwrap_err()
            .field_message("reason")
            .is_some());
    }

    #[test]
    fn figures_never_go_below_zero_and_percentages_pass_100() {
        assert_eq!(remaining(50, 20), 30);
        assert_eq!(remaining(50, 80), 0);
        assert_eq!(remaining(i64::MIN, i64::MAX), 0);
        assert_eq!(percent_used(200, 50), 25);
        assert_eq!(percent_used(3, 2), 66);
        assert_eq!(percent_used(100, 150), 150);
        assert_eq!(percent_used(0, 0), 0);
        assert_eq!(percent_used(0, 1), 100);
        assert_eq!(percent_used(1, i64::MAX), MAX_PERCENT);
        assert_eq!(percent_used(100, -5), 0);
    }
}

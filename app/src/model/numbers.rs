//! Owned numbers as the pages see them.

use serde::{Deserialize, Serialize};

use super::OrgView;

pub const MAX_FRIENDLY_NAME: usize = 64;

/// Where an owned number stands (the `owned_numbers.status` column; its CHECK lists exactly these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ssr", derive(sqlx::Type))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "lowercase"))]
pub enum NumberStatus {
    /// The row is written; the provider has not confirmed the purchase yet.
    Purchasing,
    Active,
    /// Still held and billed until the provider confirms the release.
    Releasing,
    Released,
    /// The purchase failed; nothing was bought.
    Failed,
}

impl NumberStatus {
    /// Still the org's: bought or being bought, and not yet released.
    pub fn is_live(self) -> bool {
        !matches!(self, NumberStatus::Released | NumberStatus::Failed)
    }
}

/// The buy page's search filters, as in its URL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberQuery {
    pub country: String,
    /// local, mobile or tollfree
    pub number_type: String,
    pub area_code: String,
    pub contains: String,
    pub voice: bool,
    pub sms: bool,
    pub mms: bool,
    pub region: String,
    pub locality: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvailableView {
    pub e164: String,
    pub national: String,
    pub locality: String,
    pub region: String,
    pub voice: bool,
    pub sms: bool,
    pub mms: bool,
}

/// The "really buy?" step: the number, its price and the form's one-time key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmView {
    pub e164: String,
    pub national: String,
    pub monthly: String,
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuyPage {
    pub org: OrgView,
    pub can_buy: bool,
    pub query: NumberQuery,
    pub searched: bool,
    pub results: Vec<AvailableView>,
    /// Why the search found nothing or failed, in words.
    pub message: Option<String>,
    pub monthly: String,
    pub confirm: Option<ConfirmView>,
    /// Why numbers cannot be bought with the org's configuration (AWS), in words.
    pub unavailable: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberRow {
    pub id: i64,
    pub e164: String,
    /// `e164` as people in the org's country write it (the pages fill it in).
    pub shown: String,
    pub friendly_name: String,
    pub owner: String,
    pub mine: bool,
    pub status: NumberStatus,
    pub active: bool,
    pub forward_to: String,
    pub record_calls: bool,
    pub shared: bool,
    pub voice: bool,
    pub sms: bool,
    pub monthly: String,
    pub purchased: Option<String>,
    pub last_error: Option<String>,
    /// The signed-in user may change and release it (its owner or an org admin).
    pub can_edit: bool,
}

impl NumberRow {
    pub fn status_label(&self) -> &'static str {
        match self.status {
            NumberStatus::Purchasing => "Purchase in progress",
            NumberStatus::Active if self.active => "Active",
            NumberStatus::Active => "Inactive",
            NumberStatus::Releasing => "Releasing (still billed; retrying)",
            NumberStatus::Released => "Released",
            NumberStatus::Failed => "Purchase failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drift {
    /// Numbers the provider bills that no org here holds.
    pub unknown_here: Vec<String>,
    /// Numbers active here that the provider no longer has.
    pub gone_there: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumbersPage {
    pub org: OrgView,
    pub can_buy: bool,
    pub is_admin: bool,
    pub numbers: Vec<NumberRow>,
    /// Set when an admin asked for a reconciliation (`?check=1`).
    pub drift: Option<Result<Drift, String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberPage {
    pub org: OrgView,
    pub number: NumberRow,
    /// The org's provider is the sandbox: the page offers simulated inbound calls and SMS.
    pub sandbox: bool,
}

/// A number's name as typed: trimmed, at most `MAX_FRIENDLY_NAME` characters, no control
/// characters.
pub fn check_friendly_name(raw: &str) -> Result<String, crate::error::AppError> {
    let s = raw.trim();
    if s.chars().count() > MAX_FRIENDLY_NAME || s.chars().any(char::is_control) {
        return Err(crate::error::AppError::validation(
            "friendly_name",
            format!("Use at most {MAX_FRIENDLY_NAME} characters."),
        ));
    }
    Ok(s.to_string())
}

pub fn check_area_code(raw: &str) -> Result<String, crate::error::AppError> {
    let s = raw.trim();
    if s.is_empty() || (s.len() == 3 && s.chars().all(|c| c.is_ascii_digit())) {
        Ok(s.to_string())
    } else {
        Err(crate::error::AppError::validation(
            "area_code",
            "An area code is three digits, e.g. 415.",
        ))
    }
}

pub fn check_contains(raw: &str) -> Result<String, crate::error::AppError> {
    let s = raw.trim();
    let ok = s.len() <= 16 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '*');
    if ok {
        Ok(s.to_uppercase())
    } else {
        Err(crate::error::AppError::validation(
            "contains",
            "Use up to 16 digits, letters or * (any digit).",
        ))
    }
}

pub fn check_country(raw: &str) -> Result<String, crate::error::AppError> {
    let s = raw.trim().to_uppercase();
    if s.is_empty() {
        return Ok("US".into());
    }
    if s.len() == 2 && s.chars().all(|c| c.is_ascii_uppercase()) {
        Ok(s)
    } else {
        Err(crate::error::AppError::validation(
            "country",
            "Use a two-letter country code such as US, CA or GB.",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_filters_are_checked() {
        assert_eq!(check_area_code(" 415 ").unwrap(), "415");
        assert_eq!(check_area_code("").unwrap(), "");
        for bad in ["41", "4155", "abc", "41a"] {
            assert!(check_area_code(bad).is_err(), "{bad}");
        }
        assert_eq!(check_contains("5*5").unwrap(), "5*5");
        assert_eq!(check_contains("call").unwrap(), "CALL");
        assert!(check_contains("55-55").is_err());
        assert!(check_contains("12345678901234567").is_err());
        assert_eq!(check_country("").unwrap(), "US");
        assert_eq!(check_country("gb").unwrap(), "GB");
        assert!(check_country("USA").is_err());
    }
}

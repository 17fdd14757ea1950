//! Usage and spend, the audit log and the support console as the pages see them.

use serde::{Deserialize, Serialize};

use super::OrgView;

pub const CATEGORIES: [(&str, &str, &str); 5] = [
    ("numbers", "Numbers", "number-months"),
    ("calls", "Call minutes", "minutes"),
    ("recordings", "Recording minutes", "minutes"),
    ("lookups", "Lookups", "paid lookups"),
    ("sms", "SMS segments", "segments"),
];

pub fn category_label(c: &str) -> &'static str {
    CATEGORIES
        .iter()
        .find(|x| x.0 == c)
        .map(|x| x.1)
        .unwrap_or("Other")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryTotal {
    pub category: String,
    pub quantity: i64,
    pub micros: i64,
    pub amount: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendRow {
    pub label: String,
    pub amount: String,
    pub micros: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdleNumber {
    pub id: i64,
    pub e164: String,
    pub owner: String,
    pub monthly: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageReport {
    pub from: String,
    pub to: String,
    pub categories: Vec<CategoryTotal>,
    pub total: String,
    pub total_micros: i64,
    pub by_user: Vec<SpendRow>,
    pub by_number: Vec<SpendRow>,
    pub chart_svg: String,
    pub idle: Vec<IdleNumber>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsagePageData {
    pub org: OrgView,
    pub report: UsageReport,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub org: String,
    pub action: String,
    pub target: String,
    pub details: String,
    pub ip: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPageData {
    /// None: the staff's system-wide log.
    pub org: Option<OrgView>,
    pub actor: String,
    pub action: String,
    pub from: String,
    pub to: String,
    pub rows: Vec<AuditRow>,
    pub next: Option<String>,
    pub actions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffOrgRow {
    pub slug: String,
    pub name: String,
    pub members: i64,
    pub numbers: i64,
    pub calls: i64,
    pub sms: i64,
    pub lookups: i64,
    pub spend: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffUserRow {
    pub email: String,
    pub name: String,
    pub orgs: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffHome {
    pub q: String,
    pub orgs: Vec<StaffOrgRow>,
    pub users: Vec<StaffUserRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigSummary {
    /// The org's own configuration (else the system default applies).
    pub own: bool,
    pub provider: super::phone_config::ProviderKind,
    pub display_name: String,
    /// The Account SID (Twilio) or access key id (AWS).
    pub credential_id: String,
    /// "…0001": the last characters only.
    pub token: String,
    pub test_mode: bool,
    pub lookups: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffOrgPage {
    pub org: OrgView,
    pub report: UsageReport,
    pub numbers: Vec<super::numbers::NumberRow>,
    pub calls: Vec<super::calls::CallRow>,
    pub sms: Vec<super::sms::Conversation>,
    pub config: Option<ConfigSummary>,
    pub audit: Vec<AuditRow>,
}

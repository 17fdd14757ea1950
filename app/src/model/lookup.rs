//! Lookups: cached numbers, cost figures and bulk jobs as pages see them (the provider
//! configuration is in `model::phone_config`).

use serde::{Deserialize, Serialize};

use super::phone_config::ProviderKind;
use super::OrgView;
pub const MAX_BULK_ROWS: usize = 10_000;
pub const MAX_BULK_BYTES: usize = 1024 * 1024;

/// The note shown with a cached answer that another provider than the org's own gave (the shared
/// cache answers every org): "Answered by Twilio". None when the org's own provider answered, or
/// when the row does not say which did (rows stored before it was recorded).
pub fn answered_by_note(answered_by: Option<&str>, own_provider: Option<&str>) -> Option<String> {
    let by = answered_by?;
    if own_provider == Some(by) {
        return None;
    }
    let name = ProviderKind::parse("provider", by).ok()?.short_name();
    Some(format!("Answered by {name}, not this org's own provider."))
}

/// One cached number with everything the provider told us.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberInfo {
    pub e164: String,
    pub national_format: Option<String>,
    pub country_code: Option<String>,
    pub calling_country_code: Option<String>,
    pub valid: Option<bool>,
    pub line_type: Option<String>,
    pub carrier_name: Option<String>,
    pub mobile_country_code: Option<String>,
    pub mobile_network_code: Option<String>,
    pub is_mobile: Option<bool>,
    pub is_voip: Option<bool>,
    pub caller_name_checked: bool,
    pub caller_name: Option<String>,
    pub caller_type: Option<String>,
    /// Joined address when a provider returned one; `None` shows "not provided".
    pub address: Option<String>,
    pub last_lookup_at: Option<String>,
    pub expires_at: Option<String>,
    /// Whole days until the cache entry expires (0 = today); negative when expired.
    pub expires_in_days: Option<i64>,
    pub error: Option<String>,
    /// The provider kind that answered (`twilio`, `aws`, `sandbox`), when the row records it.
    pub answered_by: Option<String>,
    /// "Answered by Twilio, …" when that is not the asking org's own provider (set by the page).
    pub answered_by_note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentLookup {
    pub e164: String,
    pub outcome: String,
    pub cost: String,
    pub user: String,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LookupPage {
    pub org: OrgView,
    pub can_lookup: bool,
    pub can_refresh: bool,
    /// Why lookups cannot run now (no provider, turned off), if so.
    pub unavailable: Option<String>,
    pub result: Option<NumberInfo>,
    pub recent: Vec<RecentLookup>,
    /// The database could not be reached: the answer comes from this server's memory and recent
    /// lookups are not shown.
    pub offline: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    pub label: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expiring {
    pub e164: String,
    pub expires: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Totals {
    pub requests: i64,
    pub hits: i64,
    pub misses: i64,
    pub refreshes: i64,
    pub errors: i64,
    pub cost_micros: i64,
    pub saved_micros: i64,
}

impl Totals {
    pub fn paid(&self) -> i64 {
        self.misses + self.refreshes
    }
    /// Hits over requests that were answered (errors excluded), as a percentage.
    pub fn hit_ratio(&self) -> String {
        let answered = self.hits + self.misses + self.refreshes;
        if answered == 0 {
            "—".into()
        } else {
            format!("{:.1}%", self.hits as f64 * 100.0 / answered as f64)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LookupStats {
    pub org: OrgView,
    pub from: String,
    pub to: String,
    pub month: Totals,
    pub range: Totals,
    /// Server-rendered SVG of requests per day (hits, paid, errors).
    pub chart_svg: String,
    pub line_types: Vec<Count>,
    pub top_numbers: Vec<Count>,
    pub expiring: Vec<Expiring>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgCacheRow {
    pub slug: String,
    pub name: String,
    pub requests: i64,
    pub paid: i64,
    pub spend: String,
    pub saved: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GlobalCacheStats {
    pub entries: i64,
    pub expired: i64,
    pub failing: i64,
    pub total_lookup_count: i64,
    pub spend: String,
    pub saved: String,
    pub by_org: Vec<OrgCacheRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkJobView {
    pub id: i64,
    pub filename: String,
    pub status: String,
    pub total: i64,
    pub processed: i64,
    pub errors: i64,
    pub created: String,
    pub finished: Option<String>,
    pub user: String,
    pub error: Option<String>,
}

impl BulkJobView {
    pub fn percent(&self) -> i64 {
        if self.total == 0 {
            100
        } else {
            self.processed * 100 / self.total
        }
    }
    pub fn open(&self) -> bool {
        self.status == "queued" || self.status == "running"
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkPage {
    pub org: OrgView,
    pub can_upload: bool,
    pub jobs: Vec<BulkJobView>,
    /// The job asked for with `?job=`.
    pub job: Option<BulkJobView>,
}

/// Micro-dollars as dollars: cents ("$1.00"), or tenths of a cent when there are any ("$0.005").
pub fn money(micros: i64) -> String {
    super::money::Money::from_micros(micros).to_string()
}

/// Whether a Lookup v2 line type is mobile / VoIP (`None` when the provider did not say).
pub fn classify_line_type(line_type: Option<&str>) -> (Option<bool>, Option<bool>) {
    match line_type {
        None | Some("") | Some("unknown") => (None, None),
        Some("mobile") => (Some(true), Some(false)),
        Some("fixedVoip") | Some("nonFixedVoip") => (Some(false), Some(true)),
        Some(_) => (Some(false), Some(false)),
    }
}

pub fn line_type_label(t: &str) -> &str {
    match t {
        "landline" => "Landline",
        "mobile" => "Mobile",
        "fixedVoip" => "Fixed VoIP",
        "nonFixedVoip" => "Non-fixed VoIP",
        "personal" => "Personal",
        "tollFree" => "Toll-free",
        "premium" => "Premium",
        "sharedCost" => "Shared cost",
        "uan" => "UAN",
        "voicemail" => "Voicemail",
        "pager" => "Pager",
        "" | "unknown" => "Unknown",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_rounds_to_tenths_of_cents() {
        assert_eq!(money(5000), "$0.005");
        assert_eq!(money(15000), "$0.015");
        assert_eq!(money(0), "$0.00");
        assert_eq!(money(10_000), "$0.01");
        assert_eq!(money(1_000_000), "$1.00");
        assert_eq!(money(1_234_567), "$1.235");
        assert_eq!(money(999_999_600), "$1000.00");
        assert_eq!(money(-5000), "-$0.005");
    }

    #[test]
    fn every_lookup_v2_line_type_is_classified() {
        assert_eq!(
            classify_line_type(Some("mobile")),
            (Some(true), Some(false))
        );
        assert_eq!(
            classify_line_type(Some("fixedVoip")),
            (Some(false), Some(true))
        );
        assert_eq!(
            classify_line_type(Some("nonFixedVoip")),
            (Some(false), Some(true))
        );
        for t in [
            "landline",
            "personal",
            "tollFree",
            "premium",
            "sharedCost",
            "uan",
            "voicemail",
            "pager",
        ] {
            assert_eq!(
                classify_line_type(Some(t)),
                (Some(false), Some(false)),
                "{t}"
            );
            assert_ne!(line_type_label(t), t, "{t} has a label");
        }
        assert_eq!(classify_line_type(Some("unknown")), (None, None));
        assert_eq!(classify_line_type(None), (None, None));
    }

    #[test]
    fn another_providers_answer_is_labelled() {
        assert_eq!(answered_by_note(Some("twilio"), Some("twilio")), None);
        assert_eq!(answered_by_note(None, Some("aws")), None);
        let note = answered_by_note(Some("twilio"), Some("aws")).unwrap();
        assert!(note.starts_with("Answered by Twilio"), "{note}");
        assert!(answered_by_note(Some("sandbox"), None)
            .unwrap()
            .contains("sandbox"));
        assert_eq!(answered_by_note(Some("carrier pigeon"), Some("aws")), None);
    }

    #[test]
    fn hit_ratio_ignores_errors() {
        let t = Totals {
            requests: 5,
            hits: 1,
            misses: 1,
            errors: 3,
            ..Totals::default()
        };
        assert_eq!(t.hit_ratio(), "50.0%");
        assert_eq!(t.paid(), 1);
        assert_eq!(Totals::default().hit_ratio(), "—");
    }
}

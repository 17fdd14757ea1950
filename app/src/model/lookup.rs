//! Lookups: provider configuration, cached numbers, cost figures and bulk jobs as pages see them.

use serde::{Deserialize, Serialize};

use super::OrgView;
use crate::error::AppError;

pub const MIN_CACHE_DAYS: i32 = 1;
pub const MAX_CACHE_DAYS: i32 = 365;
pub const MAX_BULK_ROWS: usize = 10_000;
pub const MAX_BULK_BYTES: usize = 1024 * 1024;

/// Which API a configuration talks to. Twilio and the sandbox speak Twilio's wire format (the
/// sandbox defaults its base URLs to PhoneHub's built-in simulator); AWS is Amazon SNS for SMS and
/// Amazon Pinpoint for lookups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    Twilio,
    Aws,
    Sandbox,
}

impl ProviderKind {
    pub const ALL: [ProviderKind; 3] = [
        ProviderKind::Twilio,
        ProviderKind::Aws,
        ProviderKind::Sandbox,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Twilio => "twilio",
            ProviderKind::Aws => "aws",
            ProviderKind::Sandbox => "sandbox",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            ProviderKind::Twilio => "Twilio",
            ProviderKind::Aws => "Amazon Web Services (SNS and Pinpoint: SMS and lookups)",
            ProviderKind::Sandbox => "PhoneHub sandbox (simulated Twilio)",
        }
    }
    pub fn parse(field: &str, raw: &str) -> Result<ProviderKind, AppError> {
        match raw.trim() {
            "twilio" => Ok(ProviderKind::Twilio),
            "aws" => Ok(ProviderKind::Aws),
            "sandbox" => Ok(ProviderKind::Sandbox),
            _ => Err(AppError::validation(
                field,
                "Choose Twilio, Amazon Web Services or the sandbox.",
            )),
        }
    }
    /// Whether numbers can be bought, calls placed and recordings played with this provider
    /// (AWS is used for SMS and lookups only).
    pub fn has_voice(self) -> bool {
        self != ProviderKind::Aws
    }
    /// The provider as a lookup answer names it ("answered by …").
    pub fn short_name(self) -> &'static str {
        match self {
            ProviderKind::Twilio => "Twilio",
            ProviderKind::Aws => "Amazon Pinpoint",
            ProviderKind::Sandbox => "the PhoneHub sandbox",
        }
    }
}

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

/// Where a Twilio configuration's requests go: Twilio's own hostnames for one processing region,
/// chosen from this fixed list (never a URL an org admin types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TwilioRegion {
    /// `api.twilio.com` (US1, Twilio's default).
    Us1,
    /// Ireland, through the Dublin edge.
    Ie1,
}

impl TwilioRegion {
    /// Regions where both the REST API and Lookup are served (Lookup is not in AU1 or JP1).
    pub const ALL: [TwilioRegion; 2] = [TwilioRegion::Us1, TwilioRegion::Ie1];

    /// The stored value (`None` for the default region).
    pub fn code(self) -> Option<&'static str> {
        match self {
            TwilioRegion::Us1 => None,
            TwilioRegion::Ie1 => Some("ie1"),
        }
    }

    pub fn form_value(self) -> &'static str {
        self.code().unwrap_or("us1")
    }

    pub fn label(self) -> &'static str {
        match self {
            TwilioRegion::Us1 => "United States (US1, default)",
            TwilioRegion::Ie1 => "Ireland (IE1, Dublin edge)",
        }
    }

    /// Twilio's hostnames for the REST API and Lookup in this region
    /// (`{product}.{edge}.{region}.twilio.com`).
    pub fn bases(self) -> (&'static str, &'static str) {
        match self {
            TwilioRegion::Us1 => ("https://api.twilio.com", "https://lookups.twilio.com"),
            TwilioRegion::Ie1 => (
                "https://api.dublin.ie1.twilio.com",
                "https://lookups.dublin.ie1.twilio.com",
            ),
        }
    }

    /// From the stored column.
    pub fn from_code(code: Option<&str>) -> Option<TwilioRegion> {
        match code {
            None => Some(TwilioRegion::Us1),
            Some(c) => TwilioRegion::ALL.into_iter().find(|r| r.code() == Some(c)),
        }
    }

    /// From a form field: one of the listed regions, else a field error.
    pub fn parse(field: &str, raw: &str) -> Result<TwilioRegion, AppError> {
        match raw.trim() {
            "" | "us1" => Ok(TwilioRegion::Us1),
            r => TwilioRegion::ALL
                .into_iter()
                .find(|x| x.code() == Some(r))
                .ok_or_else(|| AppError::validation(field, "Choose one of the listed regions.")),
        }
    }
}

/// A phone configuration as its page shows it: the secret only as a masked tail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneConfigView {
    pub exists: bool,
    pub provider: ProviderKind,
    pub display_name: String,
    pub active: bool,
    pub lookup_enabled: bool,
    pub lookup_cache_days: i32,
    pub caller_name_enabled: bool,
    pub test_mode: bool,
    pub default_sender: String,
    pub api_base: String,
    pub lookups_base: String,
    pub region: TwilioRegion,
    pub account_sid: String,
    /// "…a1b2" when a token is stored.
    pub token_masked: Option<String>,
    pub key_id: Option<String>,
    /// The stored token was saved for another destination (provider, region, account or base
    /// URL) and is not sent until it is entered again.
    pub token_needs_reentry: bool,
    pub updated: String,
    /// AWS only: the region (`eu-west-2`), the SNS sender ID and SMS type, when set.
    pub aws_region: String,
    pub sms_sender_id: String,
    pub sms_type: String,
    /// The keys Twilio may sign this configuration's webhooks with, instead of the auth token.
    pub signing_keys: Vec<SigningKeyView>,
}

/// A webhook signing key as its page shows it: the id, and the secret only as a masked tail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKeyView {
    pub id: i64,
    pub key_id: String,
    pub secret_masked: String,
    pub created: String,
    pub last_used: Option<String>,
}

/// How many signing keys a configuration holds at once (the current one and a few being rotated).
pub const MAX_SIGNING_KEYS: usize = 5;

/// A shared key's id as Twilio names it: letters, digits, `_` and `-`, at most 100.
pub fn parse_signing_key_id(field: &str, raw: &str) -> Result<String, AppError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(AppError::validation(
            field,
            "Enter the key's id, as Twilio shows it.",
        ));
    }
    if s.len() > 100
        || !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(AppError::validation(
            field,
            "A key id is at most 100 letters, digits, underscores or hyphens.",
        ));
    }
    Ok(s.to_string())
}

/// A shared key's secret: 16 to 256 characters without spaces.
pub fn check_signing_secret(field: &str, raw: &str) -> Result<String, AppError> {
    let s = raw.trim();
    if s.len() < 16 || s.len() > 256 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(AppError::validation(
            field,
            "A key secret is 16 to 256 characters without spaces.",
        ));
    }
    Ok(s.to_string())
}

/// The AWS regions where both Amazon SNS text messaging and Amazon Pinpoint (its
/// `PhoneNumberValidate`, which lookups use) are offered. Source: AWS's published endpoint data
/// (`endpoints.json`, as botocore ships it: the regions of the `pinpoint` service in the `aws` and
/// `aws-us-gov` partitions, each of which also offers SNS with SMS). Change it only from that data.
pub const AWS_REGIONS: [&str; 13] = [
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ca-central-1",
    "eu-central-1",
    "eu-west-1",
    "eu-west-2",
    "us-gov-west-1",
];

/// An AWS region as AWS writes it (`us-east-1`, `eu-west-2`, `us-gov-west-1`) and one where both
/// SNS text messaging and Pinpoint are offered (`AWS_REGIONS`).
pub fn parse_aws_region(field: &str, raw: &str) -> Result<String, AppError> {
    let s = raw.trim().to_ascii_lowercase();
    let parts: Vec<&str> = s.split('-').collect();
    let ok = s.len() <= 30
        && parts.len() >= 3
        && parts[0].len() == 2
        && parts[0].chars().all(|c| c.is_ascii_lowercase())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|n| (1..=2).contains(&n.len()) && n.chars().all(|c| c.is_ascii_digit()));
    if ok && AWS_REGIONS.contains(&s.as_str()) {
        Ok(s)
    } else if ok {
        Err(AppError::validation(
            field,
            format!(
                "Amazon Pinpoint lookups and SNS text messages are not both offered in {s}. Choose one of: {}.",
                AWS_REGIONS.join(", ")
            ),
        ))
    } else if s.is_empty() {
        Err(AppError::validation(
            field,
            "Enter the AWS region, such as us-east-1 or eu-west-2.",
        ))
    } else {
        Err(AppError::validation(
            field,
            "An AWS region looks like us-east-1 or eu-west-2.",
        ))
    }
}

/// An AWS access key id: 16 to 128 capital letters and digits (`AKIA…`).
pub fn parse_access_key_id(field: &str, raw: &str) -> Result<String, AppError> {
    let s = raw.trim();
    if (16..=128).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        Ok(s.to_string())
    } else if s.is_empty() {
        Err(AppError::validation(field, "Enter the access key ID."))
    } else {
        Err(AppError::validation(
            field,
            "An access key ID is 16 to 128 capital letters and digits, such as AKIA….",
        ))
    }
}

/// An AWS secret access key: 16 to 128 characters without spaces (AWS's are 40).
pub fn check_aws_secret(field: &str, raw: &str) -> Result<String, AppError> {
    let s = raw.trim();
    if s.len() < 16 || s.len() > 128 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(AppError::validation(
            field,
            "A secret access key is 16 to 128 characters without spaces (AWS's are 40).",
        ));
    }
    Ok(s.to_string())
}

/// An SNS sender ID: 1 to 11 letters and digits, at least one letter (empty: none).
pub fn parse_sender_id(field: &str, raw: &str) -> Result<Option<String>, AppError> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if s.len() <= 11
        && s.chars().all(|c| c.is_ascii_alphanumeric())
        && s.chars().any(|c| c.is_ascii_alphabetic())
    {
        Ok(Some(s.to_string()))
    } else {
        Err(AppError::validation(
            field,
            "A sender ID is 1 to 11 letters and digits, with at least one letter.",
        ))
    }
}

/// An SNS SMS type: Transactional or Promotional (empty: the account's default).
pub fn parse_sms_type(field: &str, raw: &str) -> Result<Option<String>, AppError> {
    match raw.trim() {
        "" => Ok(None),
        "Transactional" => Ok(Some("Transactional".into())),
        "Promotional" => Ok(Some("Promotional".into())),
        _ => Err(AppError::validation(
            field,
            "Choose Transactional or Promotional.",
        )),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneConfigPage {
    /// `None` for the system default page.
    pub org: Option<OrgView>,
    pub can_edit: bool,
    pub config: PhoneConfigView,
    /// Which configuration this org's lookups use right now, in words.
    pub effective: String,
    /// Development servers offer the built-in sandbox as a provider.
    pub sandbox_available: bool,
}

/// What "test connection" found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionResult {
    pub ok: bool,
    pub message: String,
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

pub fn parse_cache_days(field: &str, raw: &str) -> Result<i32, AppError> {
    match raw.trim().parse::<i32>() {
        Ok(n) if (MIN_CACHE_DAYS..=MAX_CACHE_DAYS).contains(&n) => Ok(n),
        _ => Err(AppError::validation(
            field,
            format!("Enter a whole number of days from {MIN_CACHE_DAYS} to {MAX_CACHE_DAYS}."),
        )),
    }
}

/// An optional http(s) base URL, without a trailing slash.
pub fn parse_base_url(field: &str, raw: &str) -> Result<Option<String>, AppError> {
    let s = raw.trim().trim_end_matches('/');
    if s.is_empty() {
        return Ok(None);
    }
    // Only scheme, host, port and path: a `?`, `#`, `@` or backslash would let the text choose
    // where the paths PhoneHub appends really go (or whose credentials the URL carries).
    let ok = (s.starts_with("https://") || s.starts_with("http://"))
        && s.len() <= 300
        && !s.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '?' | '#' | '@' | '\\' | '%')
        })
        && s.split("://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .is_some_and(|h| !h.is_empty() && !h.starts_with(':'));
    if ok {
        Ok(Some(s.to_string()))
    } else {
        Err(AppError::validation(
            field,
            "Enter a URL starting with https:// (or http:// for a local proxy) with no query, fragment or user name, or leave it empty.",
        ))
    }
}

/// A Twilio Account SID: "AC" and 32 hex digits.
pub fn parse_account_sid(field: &str, raw: &str) -> Result<String, AppError> {
    let s = raw.trim();
    let ok = s.len() == 34 && s.starts_with("AC") && s[2..].chars().all(|c| c.is_ascii_hexdigit());
    if ok {
        Ok(s.to_string())
    } else if s.is_empty() {
        Err(AppError::validation(field, "Enter the Account SID."))
    } else {
        Err(AppError::validation(
            field,
            "An Account SID is AC followed by 32 hexadecimal digits.",
        ))
    }
}

pub fn check_auth_token(field: &str, raw: &str) -> Result<String, AppError> {
    let s = raw.trim();
    if s.len() < 16 || s.len() > 128 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(AppError::validation(
            field,
            "An auth token is 16 to 128 characters without spaces.",
        ));
    }
    Ok(s.to_string())
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
    fn config_inputs_are_checked() {
        assert_eq!(parse_cache_days("d", " 30 ").unwrap(), 30);
        for bad in ["0", "366", "-1", "ten", "", "1.5"] {
            assert!(parse_cache_days("d", bad).is_err(), "{bad}");
        }
        assert_eq!(parse_base_url("u", "").unwrap(), None);
        assert_eq!(
            parse_base_url("u", "http://127.0.0.1:9/x/")
                .unwrap()
                .as_deref(),
            Some("http://127.0.0.1:9/x")
        );
        assert!(parse_base_url("u", "ftp://x").is_err());
        assert!(parse_base_url("u", "https://").is_err());
        assert!(parse_account_sid("s", "AC00000000000000000000000000000001").is_ok());
        assert!(parse_account_sid("s", "AC0000").is_err());
        assert!(parse_account_sid("s", "XX00000000000000000000000000000001").is_err());
        assert!(check_auth_token("t", "short").is_err());
        assert!(check_auth_token("t", "has a space in the token").is_err());
        assert!(check_auth_token("t", "sandbox-auth-token-0001").is_ok());
    }

    #[test]
    fn aws_regions_are_those_offering_sns_sms_and_pinpoint() {
        assert_eq!(parse_aws_region("r", " EU-West-2 ").unwrap(), "eu-west-2");
        assert_eq!(
            parse_aws_region("r", "us-gov-west-1").unwrap(),
            "us-gov-west-1"
        );
        for r in AWS_REGIONS {
            assert!(parse_aws_region("r", r).is_ok(), "{r}");
        }
        // Well formed, but without Pinpoint (or not a region at all): refused by name.
        for r in ["eu-north-1", "sa-east-1", "xx-north-1", "us-west-1"] {
            let e = parse_aws_region("r", r).unwrap_err();
            let msg = e.field_message("r").unwrap();
            assert!(msg.contains("not both offered") && msg.contains(r), "{msg}");
        }
        assert!(parse_aws_region("r", "mars-1")
            .unwrap_err()
            .to_string()
            .contains("looks like"));
        assert!(parse_aws_region("r", "")
            .unwrap_err()
            .to_string()
            .contains("Enter the AWS region"));
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

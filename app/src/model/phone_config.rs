//! Phone configurations as pages see them: which provider (and what it can do), where its
//! requests go, and the rules for every field an admin types.

use serde::{Deserialize, Serialize};

use super::OrgView;
use crate::error::AppError;

pub const MIN_CACHE_DAYS: i32 = 1;
pub const MAX_CACHE_DAYS: i32 = 365;

/// Which API a configuration talks to. Twilio and the sandbox speak Twilio's wire format (the
/// sandbox defaults its base URLs to PhoneHub's built-in simulator); AWS is Amazon SNS for SMS and
/// Amazon Pinpoint for lookups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ssr", derive(sqlx::Type))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "lowercase"))]
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
    /// Whether this provider can do `what`. AWS is SNS for SMS and Pinpoint for lookups: it
    /// sells no numbers and places no calls. The clients agree (telephony's `Provider::numbers`,
    /// `voice`, … answer `Unsupported` for what a provider cannot do; a test holds them to this).
    pub fn can(self, what: Capability) -> bool {
        !matches!(
            (self, what),
            (ProviderKind::Aws, Capability::Numbers | Capability::Voice)
        )
    }
    /// What the two parts of this provider's credential are called: (the id, the secret).
    pub fn credential_labels(self) -> (&'static str, &'static str) {
        match self {
            ProviderKind::Aws => ("Access key ID", "Secret access key"),
            ProviderKind::Twilio | ProviderKind::Sandbox => ("Account SID", "Auth token"),
        }
    }
    /// Whether requests go to the development sandbox (a server setting) rather than a provider.
    pub fn is_sandbox(self) -> bool {
        self == ProviderKind::Sandbox
    }
    /// Whether this provider keeps an opt-out list PhoneHub can ask about and import (Amazon
    /// SNS); Twilio says so only by refusing a send (error 21610).
    pub fn keeps_opt_out_list(self) -> bool {
        self == ProviderKind::Aws
    }
    /// Whether this provider speaks Twilio's wire format (its webhooks, its signatures).
    pub fn speaks_twilio(self) -> bool {
        matches!(self, ProviderKind::Twilio | ProviderKind::Sandbox)
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

impl std::fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a provider can do for an org, one group of operations each. Pages and use cases ask
/// `ProviderKind::can` before they offer or start an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Capability {
    /// Looking up numbers (line type, caller name).
    Lookups,
    /// Searching for, buying, changing and releasing numbers.
    Numbers,
    /// Placing calls, following them and playing their recordings.
    Voice,
    /// Sending SMS.
    Messaging,
}

impl Capability {
    pub const ALL: [Capability; 4] = [
        Capability::Lookups,
        Capability::Numbers,
        Capability::Voice,
        Capability::Messaging,
    ];
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
    pub credential_id: String,
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
}

//! Amazon Web Services as a provider: text messages through Amazon SNS (`Publish` to a phone
//! number), the credentials check through SNS `GetSMSAttributes`, and number lookups through Amazon
//! Pinpoint `PhoneNumberValidate`. Every request is signed with Signature Version 4 (the
//! `aws-sigv4` crate); nothing else of the AWS SDK is used.
//!
//! The wire formats are those of botocore's service models:
//! - `botocore/data/sns/2010-03-31/service-2.json`: protocol `query` (a form body with `Action` and
//!   `Version=2010-03-31`, XML answers in namespace `http://sns.amazonaws.com/doc/2010-03-31/`,
//!   errors as `ErrorResponse/Error/{Type,Code,Message}`), signing name `sns`;
//! - `botocore/data/pinpoint/2016-12-01/service-2.json`: protocol `rest-json`, signing name
//!   `mobiletargeting`, errors as `{"Message"|"message": …}` with the `x-amzn-ErrorType` header.
//!
//! SNS and Pinpoint neither sell numbers nor place calls: those operations answer
//! [`ProviderError::Unsupported`] without a request.

use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use reqwest::header::{HeaderMap, CONTENT_TYPE, RETRY_AFTER};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::http;
use crate::models::{
    Account, AvailableNumber, Call, IncomingNumber, LineTypeIntelligence, LookupResult, Message,
    Recording,
};
use crate::provider::{
    ByteRange, Media, NewCall, NewMessage, NumberSearch, NumberUpdate, Provider, ProviderError,
};

/// SNS's signing name (`metadata.endpointPrefix` of the SNS model; it has no `signingName`).
pub const SNS_SIGNING_NAME: &str = "sns";
/// Pinpoint's signing name (`metadata.signingName` of the Pinpoint model).
pub const PINPOINT_SIGNING_NAME: &str = "mobiletargeting";
/// The SNS API version every query request names (`metadata.apiVersion`).
pub const SNS_VERSION: &str = "2010-03-31";
/// The namespace of SNS's XML answers (`metadata.xmlNamespace`).
pub const SNS_XMLNS: &str = "http://sns.amazonaws.com/doc/2010-03-31/";
/// The query protocol's body type, as botocore sends it.
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";
/// `PhoneNumberValidate`'s path (`operations.PhoneNumberValidate.http.requestUri`).
pub const VALIDATE_PATH: &str = "/v1/phone/number/validate";

/// The SMS types SNS knows (`AWS.SNS.SMS.SMSType`).
pub const SMS_TYPES: [&str; 2] = ["Transactional", "Promotional"];

/// The longest AWS error message we pass on (they are a sentence or two).
const MAX_MESSAGE_CHARS: usize = 300;
/// The longest `Retry-After` worth waiting for inside one request (as the Twilio client).
const MAX_RETRY_WAIT_SECS: u64 = 5;
/// Safe requests (lookup, credentials check) are tried once more after a transient failure.
const SAFE_RETRIES: u32 = 1;
/// The wait before that retry, with up to 50% random jitter added.
const BACKOFF: Duration = Duration::from_millis(200);

/// An AWS account's access for SMS and lookups, in one region.
#[derive(Clone)]
pub struct AwsConfig {
    /// e.g. `us-east-1` (see [`valid_region`]); the credential scope of every signature.
    pub region: String,
    /// The access key ID (`AKIA…`, see [`valid_access_key_id`]); not secret.
    pub access_key_id: String,
    pub secret_access_key: SecretString,
    /// `https://sns.{region}.amazonaws.com`, or the sandbox / moto.
    pub sns_base: String,
    /// `https://pinpoint.{region}.amazonaws.com`, or the sandbox.
    pub pinpoint_base: String,
    pub timeout: Duration,
    /// Whether AWS may be reached at loopback, private, link-local or other non-public addresses
    /// (the sandbox, moto); off for AWS itself (see [`crate::http`]).
    pub allow_private_networks: bool,
    /// `AWS.SNS.SMS.SenderID`: the alphanumeric sender shown where countries allow one.
    pub sender_id: Option<String>,
    /// `AWS.MM.SMS.OriginationNumber`: the number (E.164) texts are sent from.
    pub origination_number: Option<String>,
    /// `AWS.SNS.SMS.SMSType`: `Transactional` or `Promotional` (see [`SMS_TYPES`]).
    pub sms_type: Option<String>,
}

impl std::fmt::Debug for AwsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsConfig")
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"[redacted]")
            .field("sns_base", &self.sns_base)
            .field("pinpoint_base", &self.pinpoint_base)
            .field("timeout", &self.timeout)
            .field("allow_private_networks", &self.allow_private_networks)
            .field("sender_id", &self.sender_id)
            .field("origination_number", &self.origination_number)
            .field("sms_type", &self.sms_type)
            .finish()
    }
}

impl AwsConfig {
    /// The official SNS and Pinpoint endpoints of `region`, with the Twilio client's timeout.
    pub fn new(region: &str, access_key_id: &str, secret_access_key: &str) -> AwsConfig {
        AwsConfig {
            region: region.to_string(),
            access_key_id: access_key_id.to_string(),
            secret_access_key: SecretString::from(secret_access_key.to_string()),
            sns_base: format!("https://sns.{region}.amazonaws.com"),
            pinpoint_base: format!("https://pinpoint.{region}.amazonaws.com"),
            timeout: Duration::from_secs(10),
            allow_private_networks: false,
            sender_id: None,
            origination_number: None,
            sms_type: None,
        }
    }
}

/// Whether `s` has the shape of an AWS region name: lowercase words joined by `-`, the first of
/// two letters and the last a number (`us-east-1`, `eu-west-2`, `ap-southeast-1`,
/// `us-gov-west-1`), at most 32 characters.
pub fn valid_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let [first, words @ .., last] = parts.as_slice() else {
        return false;
    };
    s.len() <= 32
        && !words.is_empty()
        && first.len() == 2
        && first.bytes().all(|b| b.is_ascii_lowercase())
        && (1..=2).contains(&last.len())
        && last.bytes().all(|b| b.is_ascii_digit())
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
}

/// Whether `s` has the shape of an access key ID as IAM documents it (`AccessKey.AccessKeyId`:
/// 16–128 characters), here capital letters and digits (`AKIA…`, `ASIA…`).
pub fn valid_access_key_id(s: &str) -> bool {
    (16..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Which of the two services a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    Sns,
    Pinpoint,
}

impl Service {
    fn signing_name(self) -> &'static str {
        match self {
            Service::Sns => SNS_SIGNING_NAME,
            Service::Pinpoint => PINPOINT_SIGNING_NAME,
        }
    }
}

/// Whether a request may be sent again after a failure without changing its effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repeat {
    Safe,
    Never,
}

/// One request to send: where, what, and how it is named in logs and metrics.
struct Request<'a> {
    service: Service,
    /// A fixed label such as `sns Publish` (never a number or a key).
    operation: &'static str,
    url: String,
    content_type: &'static str,
    body: &'a [u8],
    repeat: Repeat,
}

/// The client for SNS and Pinpoint. Its `Debug` shows the configuration without the secret.
#[derive(Clone, Debug)]
pub struct AwsClient {
    http: reqwest::Client,
    cfg: AwsConfig,
}

/// The headers a Signature Version 4 signature adds to a request (`Authorization` and
/// `X-Amz-Date`), and the signature itself.
pub(crate) struct Signed {
    pub(crate) headers: Vec<(&'static str, String)>,
    #[cfg_attr(not(feature = "sandbox"), allow(dead_code))]
    pub(crate) signature: String,
}

/// Signs `method url` with `headers` (each of them signed) and `body` for `service` in `region` at
/// `time`, as aws-sigv4 does for the SDK (headers, not query parameters). Used by the client and by
/// the sandbox, which recomputes a received request's signature.
#[allow(clippy::too_many_arguments)]
pub(crate) fn sign(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    region: &str,
    service: &str,
    access_key_id: &str,
    secret_access_key: &str,
    time: SystemTime,
) -> Result<Signed, String> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings};
    // aws-sigv4 panics on a URI without an authority: refuse it first.
    let parsed = url::Url::parse(url).map_err(|e| e.to_string())?;
    if parsed.host_str().is_none_or(str::is_empty)
        || !parsed.username().is_empty()
        || parsed.password().is_some()
    {
        return Err("the address has no host, or credentials in it".into());
    }
    let identity = aws_credential_types::Credentials::new(
        access_key_id,
        secret_access_key,
        None,
        None,
        "phonehub",
    )
    .into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let request = SignableRequest::new(
        method,
        url,
        headers.iter().copied(),
        SignableBody::Bytes(body),
    )
    .map_err(|e| e.to_string())?;
    let (instructions, signature) = aws_sigv4::http_request::sign(request, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    let (added, _) = instructions.into_parts();
    Ok(Signed {
        headers: added
            .into_iter()
            .map(|h| (h.name(), h.value().to_string()))
            .collect(),
        signature,
    })
}

/// The form of an SNS query request: `Action`, `Version`, then `params`.
fn query_body(action: &str, params: &[(String, String)]) -> Vec<u8> {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("Action", action)
        .append_pair("Version", SNS_VERSION)
        .extend_pairs(params)
        .finish()
        .into_bytes()
}

/// `Publish`'s parameters (`PublishInput`): `PhoneNumber`, `Message`, and the SMS settings of the
/// configuration as `MessageAttributes` (a `MessageAttributeMap`: `entry.N.Name`, and
/// `entry.N.Value` a `MessageAttributeValue` with `DataType` `String` and `StringValue`).
fn publish_params(cfg: &AwsConfig, to: &str, body: &str) -> Vec<(String, String)> {
    let mut p = vec![
        ("PhoneNumber".to_string(), to.to_string()),
        ("Message".to_string(), body.to_string()),
    ];
    let attributes = [
        ("AWS.SNS.SMS.SenderID", &cfg.sender_id),
        ("AWS.SNS.SMS.SMSType", &cfg.sms_type),
        ("AWS.MM.SMS.OriginationNumber", &cfg.origination_number),
    ];
    let set = attributes
        .iter()
        .filter_map(|(name, v)| v.as_deref().map(|v| (*name, v.trim())))
        .filter(|(_, v)| !v.is_empty());
    for (i, (name, value)) in set.enumerate() {
        let n = i + 1;
        p.push((format!("MessageAttributes.entry.{n}.Name"), name.into()));
        p.push((
            format!("MessageAttributes.entry.{n}.Value.DataType"),
            "String".into(),
        ));
        p.push((
            format!("MessageAttributes.entry.{n}.Value.StringValue"),
            value.into(),
        ));
    }
    p
}

/// `NumberValidateRequest`, the payload of `PhoneNumberValidateRequest` (the shape's `payload`
/// trait: the body is this structure itself, not wrapped in a `NumberValidateRequest` member).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NumberValidateRequest {
    #[serde(
        rename = "PhoneNumber",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub phone_number: Option<String>,
    #[serde(
        rename = "IsoCountryCode",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub iso_country_code: Option<String>,
}

/// `NumberValidateResponse`, the payload of `PhoneNumberValidateResponse` (the whole answer body).
/// `PhoneType` is one of MOBILE, LANDLINE, VOIP, INVALID, PREPAID, OTHER; `PhoneTypeCode` the same
/// as 0, 1, 2, 3, 4 (other), 5 (prepaid).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NumberValidateResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(
        rename = "CleansedPhoneNumberE164",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub cleansed_phone_number_e164: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleansed_phone_number_national: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code_iso2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code_numeric: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub county: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_country_code_iso2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_phone_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_type_code: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip_code: Option<String>,
}

/// Pinpoint's phone type as a Lookup v2 line type (the strings `LineTypeIntelligence::line_type`
/// and the app use); `None` for INVALID (the number is not valid, and has no line type).
/// `PhoneTypeCode` is read when `PhoneType` is absent.
pub fn line_type(phone_type: Option<&str>, phone_type_code: Option<i64>) -> Option<&'static str> {
    let kind = match (phone_type, phone_type_code) {
        (Some(t), _) => t.trim().to_ascii_uppercase(),
        (None, Some(0)) => "MOBILE".into(),
        (None, Some(1)) => "LANDLINE".into(),
        (None, Some(2)) => "VOIP".into(),
        (None, Some(3)) => "INVALID".into(),
        (None, Some(5)) => "PREPAID".into(),
        _ => "OTHER".into(),
    };
    match kind.as_str() {
        "MOBILE" | "PREPAID" => Some("mobile"),
        "LANDLINE" => Some("landline"),
        "VOIP" => Some("nonFixedVoip"),
        "INVALID" => None,
        _ => Some("unknown"),
    }
}

/// A Pinpoint answer as the lookup result the app stores: valid unless the phone type is INVALID,
/// line type intelligence with the carrier, never a caller name (AWS has none). `raw` keeps the
/// answer as received.
pub fn lookup_result(
    asked: &str,
    r: &NumberValidateResponse,
    raw: serde_json::Value,
) -> LookupResult {
    let kind = line_type(r.phone_type.as_deref(), r.phone_type_code);
    let invalid = kind.is_none();
    let non_empty = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    LookupResult {
        phone_number: non_empty(&r.cleansed_phone_number_e164).unwrap_or_else(|| asked.to_string()),
        national_format: non_empty(&r.cleansed_phone_number_national),
        country_code: non_empty(&r.country_code_iso2),
        calling_country_code: non_empty(&r.country_code_numeric),
        valid: Some(!invalid),
        line_type_intelligence: kind.map(|t| LineTypeIntelligence {
            carrier_name: non_empty(&r.carrier),
            line_type: Some(t.to_string()),
            ..Default::default()
        }),
        caller_name: None,
        raw,
    }
}

/// Reads an XML document into its leaf elements: the path of local names from the root
/// (`PublishResponse/PublishResult/MessageId`) and the element's text, entities resolved. Bounded:
/// the document was read within a cap, and depth and the number of leaves are limited.
pub(crate) fn xml_leaves(doc: &str) -> Result<Vec<(String, String)>, String> {
    use quick_xml::events::Event;
    const MAX_DEPTH: usize = 16;
    const MAX_LEAVES: usize = 1000;
    let mut reader = quick_xml::Reader::from_str(doc);
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    // Whether the innermost open element has had no child element yet (so it is a leaf).
    let mut leaf_open = false;
    let mut leaves = Vec::new();
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(e) => {
                if path.len() >= MAX_DEPTH {
                    return Err("XML nested too deep".into());
                }
                path.push(String::from_utf8_lossy(e.local_name().as_ref()).into_owned());
                text.clear();
                leaf_open = true;
            }
            Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                let p = if path.is_empty() {
                    name
                } else {
                    format!("{}/{name}", path.join("/"))
                };
                leaves.push((p, String::new()));
                leaf_open = false;
            }
            Event::Text(t) => text.push_str(&t.decode().map_err(|e| e.to_string())?),
            Event::CData(c) => {
                // Escaped so that the unescaping at the element's end gives it back as it was.
                let raw = c.decode().map_err(|e| e.to_string())?;
                text.push_str(&quick_xml::escape::escape(raw.as_ref()));
            }
            Event::GeneralRef(r) => {
                text.push('&');
                text.push_str(&r.decode().map_err(|e| e.to_string())?);
                text.push(';');
            }
            Event::End(_) => {
                if leaf_open {
                    let value = quick_xml::escape::unescape(&text).map_err(|e| e.to_string())?;
                    leaves.push((path.join("/"), value.into_owned()));
                }
                text.clear();
                path.pop();
                leaf_open = false;
            }
            Event::Eof => break,
            _ => {}
        }
        if leaves.len() > MAX_LEAVES {
            return Err("XML with too many elements".into());
        }
    }
    Ok(leaves)
}

/// The first leaf at `path`.
fn leaf<'a>(leaves: &'a [(String, String)], path: &str) -> Option<&'a str> {
    leaves
        .iter()
        .find(|(p, _)| p == path)
        .map(|(_, v)| v.as_str())
}

/// An error as AWS words it: its code (`InvalidClientTokenId`) and message.
#[derive(Debug, Default, PartialEq)]
struct AwsError {
    code: Option<String>,
    message: Option<String>,
}

/// The rest-json error body (`{"message": …}` or `{"Message": …}`, sometimes `__type`/`code`).
#[derive(Debug, Default, Deserialize)]
struct JsonError {
    #[serde(alias = "Message", alias = "errorMessage")]
    message: Option<String>,
    #[serde(rename = "__type", alias = "code", alias = "Code")]
    kind: Option<String>,
}

/// An error's code and message from either protocol: SNS's `ErrorResponse/Error/{Code,Message}`
/// (also read without the `ErrorResponse` wrapper), or Pinpoint's JSON with `x-amzn-ErrorType`
/// (`TooManyRequestsException:http://internal.amazon.com/…`: the part before the `:`).
fn parse_error(header_type: Option<&str>, body: &[u8]) -> AwsError {
    let clean_code = |s: &str| {
        let s = s.split(':').next().unwrap_or(s);
        // `__type` may be namespaced: `com.amazon.coral.service#UnrecognizedClientException`.
        let s = s.rsplit('#').next().unwrap_or(s).trim();
        (!s.is_empty() && s.len() <= 100).then(|| s.to_string())
    };
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim_start();
    let mut err = AwsError::default();
    if trimmed.starts_with('<') {
        if let Ok(leaves) = xml_leaves(trimmed) {
            for prefix in ["ErrorResponse/Error", "Error", "Response/Errors/Error"] {
                if let Some(code) = leaf(&leaves, &format!("{prefix}/Code")) {
                    err.code = clean_code(code);
                    err.message = leaf(&leaves, &format!("{prefix}/Message")).map(str::to_string);
                    break;
                }
            }
        }
    } else if let Ok(j) = serde_json::from_slice::<JsonError>(body) {
        err.code = j.kind.as_deref().and_then(clean_code);
        err.message = j.message;
    }
    if let Some(h) = header_type.and_then(clean_code) {
        err.code = Some(h);
    }
    err
}

/// AWS's message as something to show: control characters removed, whitespace collapsed, at most
/// [`MAX_MESSAGE_CHARS`] characters, ending as a sentence; `None` when nothing is left.
fn sentence(message: Option<&str>) -> Option<String> {
    let cleaned: String = message?
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut s = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() > MAX_MESSAGE_CHARS {
        s = s.chars().take(MAX_MESSAGE_CHARS).collect::<String>();
        s = format!("{}…", s.trim_end());
    }
    if s.is_empty() {
        return None;
    }
    if !s.ends_with(['.', '!', '?', '…']) {
        s.push('.');
    }
    Some(s)
}

const AUTH_CODES: [&str; 11] = [
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "AuthorizationError",
    "IncompleteSignature",
    "MissingAuthenticationToken",
    "InvalidAccessKeyId",
    "ExpiredToken",
    "ExpiredTokenException",
    "ForbiddenException",
];
const THROTTLE_CODES: [&str; 6] = [
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "Throttled",
    "RequestLimitExceeded",
    "ThrottledException",
];
const REGION_CODES: [&str; 3] = [
    "PermanentRedirect",
    "AuthorizationHeaderMalformed",
    "IllegalLocationConstraintException",
];

/// An error answer as a provider error (see the table in the crate's AWS notes): credentials
/// (401/403 and AWS's credential codes) → `Auth`; throttling codes and 429 → `RateLimited`; 404 →
/// `NotFound`; a redirect or an error that names the region → `Rejected` saying so; other 4xx →
/// `Rejected` with AWS's message; 5xx → `Server`.
fn error_for(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    service: Service,
    region: &str,
) -> ProviderError {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let retry_after_secs = header(RETRY_AFTER.as_str()).and_then(http::retry_after_secs);
    let err = parse_error(header("x-amzn-errortype"), body);
    let code = err.code.as_deref().unwrap_or("");
    let message = sentence(err.message.as_deref());
    let reason = || status.canonical_reason().unwrap_or("error").to_string();
    let name = match service {
        Service::Sns => "Amazon SNS",
        Service::Pinpoint => "Amazon Pinpoint",
    };
    if status.is_redirection() || REGION_CODES.contains(&code) {
        let said = message
            .map(|m| format!(" AWS said: {m}"))
            .unwrap_or_default();
        return ProviderError::Rejected {
            status: status.as_u16(),
            code: None,
            message: format!(
                "{name} answered that this request belongs to another endpoint or region than {region} (HTTP {}). Check the region.{said}",
                status.as_u16()
            ),
            more_info: err.code.clone(),
        };
    }
    if THROTTLE_CODES.contains(&code) || status == StatusCode::TOO_MANY_REQUESTS {
        return ProviderError::RateLimited { retry_after_secs };
    }
    if AUTH_CODES.contains(&code)
        || code.starts_with("AccessDenied")
        || matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
    {
        return ProviderError::Auth {
            code: None,
            message: message.unwrap_or_else(|| {
                format!("{name} did not accept the access key ID or its secret access key.")
            }),
        };
    }
    match status {
        StatusCode::NOT_FOUND => ProviderError::NotFound {
            code: None,
            message: message.unwrap_or_else(reason),
        },
        s if s.is_server_error() => ProviderError::Server {
            status: s.as_u16(),
            message: message.unwrap_or_else(reason),
        },
        s => ProviderError::Rejected {
            status: s.as_u16(),
            code: None,
            message: message
                .unwrap_or_else(|| format!("{name} refused the request (HTTP {}).", s.as_u16())),
            more_info: err.code,
        },
    }
}

fn waits_too_long(e: &ProviderError) -> bool {
    matches!(e, ProviderError::RateLimited { retry_after_secs: Some(s) } if *s > MAX_RETRY_WAIT_SECS)
}

impl AwsClient {
    /// A client for `cfg`. Refuses a region that is not a region name, an access key ID that is not
    /// one, an unknown SMS type, and (unless allowed) bases at IP literals outside the public
    /// internet; no request is made.
    pub fn new(cfg: AwsConfig) -> Result<AwsClient, ProviderError> {
        let invalid = |message: String| ProviderError::Rejected {
            status: 400,
            code: None,
            message,
            more_info: None,
        };
        if !valid_region(&cfg.region) {
            return Err(invalid(
                "The AWS region is not a region name such as us-east-1.".into(),
            ));
        }
        if !valid_access_key_id(&cfg.access_key_id) {
            return Err(ProviderError::Auth {
                code: None,
                message: "The access key ID is not an AWS access key ID (16 to 128 capital letters and digits).".into(),
            });
        }
        if let Some(t) = cfg.sms_type.as_deref() {
            if !SMS_TYPES.contains(&t) {
                return Err(invalid(
                    "The SMS type must be Transactional or Promotional.".into(),
                ));
            }
        }
        for base in [&cfg.sns_base, &cfg.pinpoint_base] {
            http::check_literal_host(base, cfg.allow_private_networks)?;
        }
        let http = http::client(cfg.timeout, cfg.allow_private_networks)?;
        Ok(AwsClient { http, cfg })
    }

    pub fn config(&self) -> &AwsConfig {
        &self.cfg
    }

    fn sns_url(&self) -> String {
        format!("{}/", self.cfg.sns_base.trim_end_matches('/'))
    }

    fn pinpoint_url(&self, path: &str) -> String {
        format!("{}{path}", self.cfg.pinpoint_base.trim_end_matches('/'))
    }

    /// A connection failure as a sentence that points at the likely cause: the region (its
    /// endpoints do not exist, or the service is not offered there).
    fn unreachable(&self, e: reqwest::Error, url: &str) -> ProviderError {
        let connect = e.is_connect();
        match http::request_error(e) {
            ProviderError::Network(m) if connect && m != http::NOT_ALLOWED => {
                let host = url::Url::parse(url)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_string))
                    .unwrap_or_default();
                ProviderError::Network(format!(
                    "{host} could not be reached; check that the region {} offers this service ({m})",
                    self.cfg.region
                ))
            }
            other => other,
        }
    }

    /// One signed request, logged and counted (`http::observe`); the answer's body on success.
    async fn send_once(&self, call: &Request<'_>) -> Result<Vec<u8>, ProviderError> {
        let started = Instant::now();
        let res = self.request(call).await;
        http::observe(
            call.operation,
            &res.as_ref().map(|(s, _)| *s),
            started.elapsed(),
        );
        res.map(|(_, body)| body)
    }

    async fn request(&self, call: &Request<'_>) -> Result<(StatusCode, Vec<u8>), ProviderError> {
        // The resolver only sees names; an IP literal is checked here, before any connection.
        http::check_literal_host(&call.url, self.cfg.allow_private_networks)?;
        let signed = sign(
            "POST",
            &call.url,
            &[("content-type", call.content_type)],
            call.body,
            &self.cfg.region,
            call.service.signing_name(),
            &self.cfg.access_key_id,
            self.cfg.secret_access_key.expose_secret(),
            SystemTime::now(),
        )
        .map_err(|e| ProviderError::Decode(format!("could not sign the request: {e}")))?;
        let mut rb = self
            .http
            .post(&call.url)
            .header(CONTENT_TYPE, call.content_type)
            .body(call.body.to_vec());
        for (name, value) in &signed.headers {
            rb = rb.header(*name, value);
        }
        let res = rb
            .send()
            .await
            .map_err(|e| self.unreachable(e, &call.url))?;
        let status = res.status();
        // Redirects are not followed (see `http::client`): a 3xx lands in `error_for`.
        if status.is_success() {
            return Ok((status, http::read_capped(res, http::MAX_JSON_BYTES).await?));
        }
        let headers = res.headers().clone();
        // An error body only adds detail: too large or unreadable, it counts as empty.
        let body = http::read_capped(res, http::MAX_ERROR_BODY_BYTES)
            .await
            .unwrap_or_default();
        Err(error_for(
            status,
            &headers,
            &body,
            call.service,
            &self.cfg.region,
        ))
    }

    /// Sends, once more after a transient failure when the call is safe to repeat.
    async fn send(&self, call: Request<'_>) -> Result<Vec<u8>, ProviderError> {
        let mut attempt = 0;
        loop {
            match self.send_once(&call).await {
                Ok(body) => return Ok(body),
                Err(e)
                    if call.repeat == Repeat::Safe
                        && e.is_transient()
                        && !http::is_refusal(&e)
                        && !waits_too_long(&e)
                        && attempt < SAFE_RETRIES =>
                {
                    let wait = match e {
                        ProviderError::RateLimited {
                            retry_after_secs: Some(s),
                        } => Duration::from_secs(s),
                        _ => BACKOFF.mul_f64(1.0 + rand::random::<f64>() * 0.5),
                    };
                    tracing::debug!(error = %e, attempt, ?wait, "retrying AWS request");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// An SNS query action; the XML answer's leaves, checked to be `{action}Response`.
    async fn sns(
        &self,
        action: &'static str,
        operation: &'static str,
        params: &[(String, String)],
        repeat: Repeat,
    ) -> Result<Vec<(String, String)>, ProviderError> {
        let body = query_body(action, params);
        let answer = self
            .send(Request {
                service: Service::Sns,
                operation,
                url: self.sns_url(),
                content_type: FORM_CONTENT_TYPE,
                body: &body,
                repeat,
            })
            .await?;
        let text = std::str::from_utf8(&answer).map_err(|_| {
            ProviderError::Decode("SNS answered with text that is not UTF-8".into())
        })?;
        // The parser's own words can quote the answer at length: bounded like AWS's messages.
        let leaves = xml_leaves(text).map_err(|e| {
            ProviderError::Decode(
                sentence(Some(&e)).unwrap_or_else(|| "SNS answered with broken XML".into()),
            )
        })?;
        let root = format!("{action}Response/");
        if !leaves.iter().any(|(p, _)| p.starts_with(&root)) {
            return Err(ProviderError::Decode(format!(
                "SNS did not answer with {action}Response"
            )));
        }
        Ok(leaves)
    }
}

/// The operations SNS and Pinpoint do not offer, in words for [`ProviderError::Unsupported`].
fn unsupported<T>(operation: &'static str) -> Result<T, ProviderError> {
    Err(ProviderError::Unsupported { operation })
}

#[async_trait]
impl Provider for AwsClient {
    /// SNS `GetSMSAttributes` (`GetSMSAttributesInput`, no `attributes`: all of them): any success
    /// proves the key, its secret and the region.
    async fn test_connection(&self) -> Result<Account, ProviderError> {
        self.sns(
            "GetSMSAttributes",
            "sns GetSMSAttributes",
            &[],
            Repeat::Safe,
        )
        .await?;
        Ok(Account {
            sid: format!("aws:{}", self.cfg.region),
            friendly_name: Some(format!("Amazon SNS ({})", self.cfg.region)),
            status: Some("active".into()),
        })
    }

    /// Pinpoint `PhoneNumberValidate` (`POST /v1/phone/number/validate`, body a
    /// `NumberValidateRequest`, answer a `NumberValidateResponse`), mapped by [`lookup_result`].
    /// `caller_name` is ignored: AWS has no caller name, and the result carries none.
    async fn lookup(&self, e164: &str, _caller_name: bool) -> Result<LookupResult, ProviderError> {
        let request = NumberValidateRequest {
            phone_number: Some(e164.to_string()),
            iso_country_code: crate::e164::E164::parse(e164, None)
                .ok()
                .and_then(|e| e.region()),
        };
        let body =
            serde_json::to_vec(&request).map_err(|e| ProviderError::Decode(e.to_string()))?;
        let answer = self
            .send(Request {
                service: Service::Pinpoint,
                operation: "pinpoint PhoneNumberValidate",
                url: self.pinpoint_url(VALIDATE_PATH),
                content_type: "application/json",
                body: &body,
                repeat: Repeat::Safe,
            })
            .await?;
        let raw: serde_json::Value =
            serde_json::from_slice(&answer).map_err(|e| ProviderError::Decode(e.to_string()))?;
        let r: NumberValidateResponse = serde_json::from_value(raw.clone())
            .map_err(|e| ProviderError::Decode(e.to_string()))?;
        Ok(lookup_result(e164, &r, raw))
    }

    async fn search_numbers(
        &self,
        _q: &NumberSearch,
    ) -> Result<Vec<AvailableNumber>, ProviderError> {
        unsupported("searching for numbers to buy")
    }

    async fn buy_number(
        &self,
        _phone_number: &str,
        _setup: &NumberUpdate,
    ) -> Result<IncomingNumber, ProviderError> {
        unsupported("buying numbers")
    }

    async fn update_number(
        &self,
        _sid: &str,
        _update: &NumberUpdate,
    ) -> Result<IncomingNumber, ProviderError> {
        unsupported("changing numbers")
    }

    async fn release_number(&self, _sid: &str) -> Result<(), ProviderError> {
        unsupported("releasing numbers")
    }

    async fn list_numbers(
        &self,
        _phone_number: Option<&str>,
    ) -> Result<Vec<IncomingNumber>, ProviderError> {
        unsupported("listing numbers")
    }

    async fn create_call(&self, _call: &NewCall) -> Result<Call, ProviderError> {
        unsupported("placing calls")
    }

    async fn fetch_call(&self, _sid: &str) -> Result<Call, ProviderError> {
        unsupported("looking up calls")
    }

    async fn list_recordings(
        &self,
        _call_sid: Option<&str>,
    ) -> Result<Vec<Recording>, ProviderError> {
        unsupported("listing recordings")
    }

    async fn fetch_recording(&self, _sid: &str) -> Result<Recording, ProviderError> {
        unsupported("looking up recordings")
    }

    async fn recording_media(
        &self,
        _sid: &str,
        _format: &str,
        _range: Option<ByteRange>,
    ) -> Result<Media, ProviderError> {
        unsupported("playing recordings")
    }

    /// SNS `Publish` to `msg.to` (see [`publish_params`]); never retried (a repeat would text
    /// twice). `msg.from` and `msg.status_callback` are not sent: SNS takes the sender from the
    /// configuration's attributes (or the account's defaults) and has no delivery callback, so the
    /// message is `sent` once SNS has it.
    async fn send_message(&self, msg: &NewMessage) -> Result<Message, ProviderError> {
        let leaves = self
            .sns(
                "Publish",
                "sns Publish",
                &publish_params(&self.cfg, &msg.to, &msg.body),
                Repeat::Never,
            )
            .await?;
        let id = leaf(&leaves, "PublishResponse/PublishResult/MessageId")
            .map(str::trim)
            .filter(|id| !id.is_empty() && id.len() <= 100)
            .ok_or_else(|| ProviderError::Decode("SNS answered without a MessageId".into()))?;
        Ok(Message {
            sid: id.to_string(),
            status: Some("sent".into()),
            from: self
                .cfg
                .origination_number
                .clone()
                .or_else(|| self.cfg.sender_id.clone()),
            to: Some(msg.to.clone()),
            body: Some(msg.body.clone()),
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::extract::State;
    use axum::http::HeaderMap as AxumHeaders;
    use axum::response::IntoResponse;
    use axum::Router;

    use super::*;

    const KEY: &str = "AKIAIOSFODNN7EXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    /// What the fake AWS received: path, headers, body.
    type Seen = Arc<Mutex<Vec<(String, AxumHeaders, Vec<u8>)>>>;

    /// A fake AWS that records each request and answers `status`, `headers` and `body`.
    async fn fake(
        status: u16,
        headers: Vec<(&'static str, &'static str)>,
        body: Vec<u8>,
    ) -> (String, Seen) {
        let seen: Seen = Arc::default();
        let answer = move |State(seen): State<Seen>, req: axum::extract::Request| {
            let (headers_out, body_out) = (headers.clone(), body.clone());
            async move {
                let path = req.uri().path().to_string();
                let h = req.headers().clone();
                let b = axum::body::to_bytes(req.into_body(), 1 << 20)
                    .await
                    .unwrap();
                seen.lock().unwrap().push((path, h, b.to_vec()));
                let mut r = (StatusCode::from_u16(status).unwrap(), body_out).into_response();
                for (k, v) in headers_out {
                    r.headers_mut().insert(k, v.parse().unwrap());
                }
                r
            }
        };
        let router = Router::new().fallback(answer).with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        (base, seen)
    }

    fn client(base: &str) -> AwsClient {
        let mut cfg = AwsConfig::new("eu-west-2", KEY, SECRET);
        cfg.sns_base = base.to_string();
        cfg.pinpoint_base = format!("{base}/pinpoint");
        cfg.allow_private_networks = true;
        cfg.timeout = Duration::from_secs(5);
        AwsClient::new(cfg).unwrap()
    }

    fn publish_xml(id: &str) -> Vec<u8> {
        format!("<PublishResponse xmlns=\"{SNS_XMLNS}\"><PublishResult><MessageId>{id}</MessageId></PublishResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></PublishResponse>").into_bytes()
    }

    fn message(to: &str, body: &str) -> NewMessage {
        NewMessage {
            to: to.into(),
            from: "+15550000000".into(),
            body: body.into(),
            status_callback: Some("https://example.com/cb".into()),
        }
    }

    fn form_of(body: &[u8]) -> Vec<(String, String)> {
        url::form_urlencoded::parse(body).into_owned().collect()
    }

    fn get<'a>(form: &'a [(String, String)], k: &str) -> Option<&'a str> {
        form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }

    #[test]
    fn regions_and_key_ids_have_aws_shapes() {
        for ok in [
            "us-east-1",
            "eu-west-2",
            "ap-southeast-1",
            "us-gov-west-1",
            "cn-north-1",
            "il-central-1",
            "us-isob-east-1",
        ] {
            assert!(valid_region(ok), "{ok}");
        }
        for bad in [
            "",
            "us",
            "US-EAST-1",
            "us-east",
            "useast1",
            "us-east-",
            "us--east-1",
            "us-east-123",
            "usa-east-1",
            "us-east-1.evil.com",
            "us-east-1/",
            "us-eaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaast-1",
        ] {
            assert!(!valid_region(bad), "{bad}");
        }
        assert!(valid_access_key_id("AKIAIOSFODNN7EXAMPLE"));
        assert!(valid_access_key_id(&"A".repeat(128)));
        for bad in [
            "AKIA",
            "akiaiosfodnn7example",
            "AKIAIOSFODNN7EXAMP E",
            "AKIAIOSFODNN7EXAMPLE/",
            &"A".repeat(129),
        ] {
            assert!(!valid_access_key_id(bad), "{bad}");
        }
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let cfg = AwsConfig::new("us-east-1", KEY, SECRET);
        let c = AwsClient::new(cfg.clone()).unwrap();
        for shown in [format!("{cfg:?}"), format!("{c:?}"), format!("{cfg:#?}")] {
            assert!(!shown.contains(SECRET), "{shown}");
            assert!(!shown.contains("EXAMPLEKEY"), "{shown}");
            assert!(shown.contains(KEY));
        }
    }

    #[test]
    fn the_official_endpoints_and_bad_configurations() {
        let cfg = AwsConfig::new("eu-west-2", KEY, SECRET);
        assert_eq!(cfg.sns_base, "https://sns.eu-west-2.amazonaws.com");
        assert_eq!(
            cfg.pinpoint_base,
            "https://pinpoint.eu-west-2.amazonaws.com"
        );
        assert_eq!(cfg.timeout, Duration::from_secs(10));
        assert!(matches!(
            AwsClient::new(AwsConfig::new("eu-west-2.evil", KEY, SECRET)),
            Err(ProviderError::Rejected { .. })
        ));
        assert!(matches!(
            AwsClient::new(AwsConfig::new("eu-west-2", "nope", SECRET)),
            Err(ProviderError::Auth { .. })
        ));
        let mut typed = AwsConfig::new("eu-west-2", KEY, SECRET);
        typed.sms_type = Some("Urgent".into());
        assert!(AwsClient::new(typed).is_err());
        let mut local = AwsConfig::new("eu-west-2", KEY, SECRET);
        local.sns_base = "http://169.254.169.254".into();
        assert_eq!(
            AwsClient::new(local).unwrap_err(),
            ProviderError::Network(http::NOT_ALLOWED.into())
        );
    }

    #[test]
    fn signatures_match_aws_test_suite() {
        // AWS's Signature Version 4 test suite, "get-vanilla".
        let s = sign(
            "GET",
            "https://example.amazonaws.com/",
            &[],
            b"",
            "us-east-1",
            "service",
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_938_160),
        )
        .unwrap();
        assert_eq!(
            s.signature,
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
        let auth = s
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))
            .unwrap();
        assert_eq!(auth.1, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
        assert!(sign(
            "GET",
            "http://user:pw@example.com/",
            &[],
            b"",
            "us-east-1",
            "sns",
            KEY,
            SECRET,
            SystemTime::now()
        )
        .is_err());
        assert!(sign(
            "GET",
            "/relative",
            &[],
            b"",
            "us-east-1",
            "sns",
            KEY,
            SECRET,
            SystemTime::now()
        )
        .is_err());
    }

    #[tokio::test]
    async fn publish_sends_the_form_with_attributes_signed_for_sns() {
        let (base, seen) = fake(
            200,
            vec![("content-type", "text/xml")],
            publish_xml("6e1b1e0a-7c2f-4c1e-9c9e-0f6d3e0d9a11"),
        )
        .await;
        let mut cfg = client(&base).cfg.clone();
        cfg.sender_id = Some("PhoneHub".into());
        cfg.sms_type = Some("Transactional".into());
        cfg.origination_number = Some("+447700900001".into());
        let c = AwsClient::new(cfg).unwrap();
        let m = c
            .send_message(&message("+447400123456", "Hello & goodbye"))
            .await
            .unwrap();
        assert_eq!(m.sid, "6e1b1e0a-7c2f-4c1e-9c9e-0f6d3e0d9a11");
        assert_eq!(m.status.as_deref(), Some("sent"));
        assert_eq!(m.to.as_deref(), Some("+447400123456"));
        assert_eq!(m.from.as_deref(), Some("+447700900001"));
        assert_eq!(m.body.as_deref(), Some("Hello & goodbye"));
        let seen = seen.lock().unwrap();
        let (path, headers, body) = &seen[0];
        assert_eq!(path, "/");
        assert_eq!(headers["content-type"], FORM_CONTENT_TYPE);
        let form = form_of(body);
        let expected = [
            ("Action", "Publish"),
            ("Version", "2010-03-31"),
            ("PhoneNumber", "+447400123456"),
            ("Message", "Hello & goodbye"),
            ("MessageAttributes.entry.1.Name", "AWS.SNS.SMS.SenderID"),
            ("MessageAttributes.entry.1.Value.DataType", "String"),
            ("MessageAttributes.entry.1.Value.StringValue", "PhoneHub"),
            ("MessageAttributes.entry.2.Name", "AWS.SNS.SMS.SMSType"),
            ("MessageAttributes.entry.2.Value.DataType", "String"),
            (
                "MessageAttributes.entry.2.Value.StringValue",
                "Transactional",
            ),
            (
                "MessageAttributes.entry.3.Name",
                "AWS.MM.SMS.OriginationNumber",
            ),
            ("MessageAttributes.entry.3.Value.DataType", "String"),
            (
                "MessageAttributes.entry.3.Value.StringValue",
                "+447700900001",
            ),
        ];
        let got: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(got, expected);
        let auth = headers["authorization"].to_str().unwrap();
        let date = headers["x-amz-date"].to_str().unwrap();
        assert!(
            auth.starts_with(&format!(
                "AWS4-HMAC-SHA256 Credential={KEY}/{}/eu-west-2/sns/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=",
                &date[..8]
            )),
            "{auth}"
        );
        assert!(!auth.contains(SECRET));
    }

    #[tokio::test]
    async fn publish_without_settings_sends_no_attributes_and_is_never_retried() {
        let (base, seen) = fake(503, vec![], b"<ErrorResponse><Error><Type>Receiver</Type><Code>InternalError</Code><Message>oops</Message></Error></ErrorResponse>".to_vec()).await;
        let err = client(&base)
            .send_message(&message("+14155550100", "hi"))
            .await
            .unwrap_err();
        assert_eq!(
            err,
            ProviderError::Server {
                status: 503,
                message: "oops.".into()
            }
        );
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1, "Publish is never repeated");
        let form = form_of(&seen[0].2);
        assert!(form
            .iter()
            .all(|(k, _)| !k.starts_with("MessageAttributes")));
        assert_eq!(get(&form, "PhoneNumber"), Some("+14155550100"));
    }

    #[tokio::test]
    async fn lookups_send_the_payload_unwrapped_signed_for_mobiletargeting() {
        let answer = br#"{"Carrier":"Example Mobile","City":"London","CleansedPhoneNumberE164":"+447400123456","CleansedPhoneNumberNational":"07400123456","Country":"United Kingdom","CountryCodeIso2":"GB","CountryCodeNumeric":"44","OriginalPhoneNumber":"+447400123456","PhoneType":"MOBILE","PhoneTypeCode":0,"Timezone":"Europe/London","ZipCode":"SW1"}"#;
        let (base, seen) = fake(
            200,
            vec![("content-type", "application/json")],
            answer.to_vec(),
        )
        .await;
        let r = client(&base).lookup("+447400123456", true).await.unwrap();
        assert_eq!(r.phone_number, "+447400123456");
        assert_eq!(r.valid, Some(true));
        assert_eq!(r.country_code.as_deref(), Some("GB"));
        assert_eq!(r.calling_country_code.as_deref(), Some("44"));
        assert_eq!(r.national_format.as_deref(), Some("07400123456"));
        let lti = r.line_type_intelligence.unwrap();
        assert_eq!(lti.line_type.as_deref(), Some("mobile"));
        assert_eq!(lti.carrier_name.as_deref(), Some("Example Mobile"));
        assert!(r.caller_name.is_none(), "AWS has no caller name");
        assert_eq!(r.raw["Carrier"], "Example Mobile");
        let seen = seen.lock().unwrap();
        let (path, headers, body) = &seen[0];
        assert_eq!(path, "/pinpoint/v1/phone/number/validate");
        assert_eq!(headers["content-type"], "application/json");
        let sent: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(
            sent,
            serde_json::json!({"PhoneNumber": "+447400123456", "IsoCountryCode": "GB"})
        );
        let auth = headers["authorization"].to_str().unwrap();
        assert!(
            auth.contains("/eu-west-2/mobiletargeting/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature="),
            "{auth}"
        );
    }

    #[tokio::test]
    async fn lookups_are_retried_once_after_a_server_error() {
        let (base, seen) = fake(500, vec![("x-amzn-ErrorType", "InternalServerErrorException:http://internal.amazon.com/coral/com.amazonaws.pinpoint/")], br#"{"Message":"Internal server error","RequestID":"r"}"#.to_vec()).await;
        let err = client(&base)
            .lookup("+14155550100", false)
            .await
            .unwrap_err();
        assert!(
            matches!(err, ProviderError::Server { status: 500, .. }),
            "{err:?}"
        );
        assert_eq!(seen.lock().unwrap().len(), 2);
        let (base, seen) = fake(
            403,
            vec![],
            br#"{"message":"The security token included in the request is invalid."}"#.to_vec(),
        )
        .await;
        assert!(matches!(
            client(&base).test_connection().await,
            Err(ProviderError::Auth { .. })
        ));
        assert_eq!(
            seen.lock().unwrap().len(),
            1,
            "an auth failure is not retried"
        );
    }

    #[tokio::test]
    async fn test_connection_reads_get_sms_attributes() {
        let xml = format!("<GetSMSAttributesResponse xmlns=\"{SNS_XMLNS}\"><GetSMSAttributesResult><attributes><entry><key>DefaultSMSType</key><value>Transactional</value></entry></attributes></GetSMSAttributesResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetSMSAttributesResponse>");
        let (base, seen) = fake(200, vec![], xml.into_bytes()).await;
        let a = client(&base).test_connection().await.unwrap();
        assert_eq!(a.sid, "aws:eu-west-2");
        assert_eq!(a.friendly_name.as_deref(), Some("Amazon SNS (eu-west-2)"));
        assert_eq!(a.status.as_deref(), Some("active"));
        let form = form_of(&seen.lock().unwrap()[0].2);
        assert_eq!(get(&form, "Action"), Some("GetSMSAttributes"));
        assert_eq!(get(&form, "Version"), Some("2010-03-31"));
        // Any other document is not an answer to GetSMSAttributes.
        let (base, _) = fake(200, vec![], b"<html><body>hello</body></html>".to_vec()).await;
        assert!(matches!(
            client(&base).test_connection().await,
            Err(ProviderError::Decode(_))
        ));
    }

    #[tokio::test]
    async fn a_too_large_answer_is_refused() {
        let mut big = publish_xml("x");
        big.extend(std::iter::repeat_n(b' ', http::MAX_JSON_BYTES as usize));
        let (base, _) = fake(200, vec![], big).await;
        assert_eq!(
            client(&base)
                .send_message(&message("+14155550100", "hi"))
                .await
                .unwrap_err(),
            ProviderError::Decode(http::TOO_LARGE.into())
        );
        // An error body over its cap only loses its detail.
        let (base, _) = fake(
            400,
            vec![],
            vec![b'x'; 2 * http::MAX_ERROR_BODY_BYTES as usize],
        )
        .await;
        assert!(matches!(
            client(&base)
                .send_message(&message("+14155550100", "hi"))
                .await,
            Err(ProviderError::Rejected { status: 400, .. })
        ));
    }

    #[test]
    fn xml_answers_are_read_with_entities_and_bounds() {
        let leaves = xml_leaves(&String::from_utf8(publish_xml("a&amp;b")).unwrap()).unwrap();
        assert_eq!(
            leaf(&leaves, "PublishResponse/PublishResult/MessageId"),
            Some("a&b")
        );
        let leaves =
            xml_leaves("<?xml version=\"1.0\"?><a><b><![CDATA[x<y]]></b><c/><d>&#65;&lt;</d></a>")
                .unwrap();
        assert_eq!(leaf(&leaves, "a/b"), Some("x<y"));
        assert_eq!(leaf(&leaves, "a/c"), Some(""));
        assert_eq!(leaf(&leaves, "a/d"), Some("A<"));
        assert!(xml_leaves(&"<a>".repeat(100)).is_err());
        assert!(xml_leaves(&format!("<a>{}</a>", "<b>1</b>".repeat(2000))).is_err());
        assert!(xml_leaves("<a><b></a>").is_err());
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    fn sns_err(code: &str, message: &str) -> Vec<u8> {
        format!("<ErrorResponse xmlns=\"{SNS_XMLNS}\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>r</RequestId></ErrorResponse>").into_bytes()
    }

    fn map(status: u16, h: &[(&'static str, &'static str)], body: &[u8]) -> ProviderError {
        error_for(
            StatusCode::from_u16(status).unwrap(),
            &headers(h),
            body,
            Service::Sns,
            "eu-west-2",
        )
    }

    #[test]
    fn errors_map_to_provider_errors() {
        for code in [
            "InvalidClientTokenId",
            "SignatureDoesNotMatch",
            "AuthorizationError",
            "AccessDenied",
            "AccessDeniedException",
        ] {
            let e = map(
                403,
                &[],
                &sns_err(
                    code,
                    "The security token included in the request is invalid",
                ),
            );
            assert_eq!(
                e,
                ProviderError::Auth {
                    code: None,
                    message: "The security token included in the request is invalid.".into()
                },
                "{code}"
            );
        }
        // A credential code wins over the status; the status alone also means credentials.
        assert!(matches!(
            map(400, &[], &sns_err("InvalidClientTokenId", "x")),
            ProviderError::Auth { .. }
        ));
        assert!(matches!(map(401, &[], b""), ProviderError::Auth { .. }));
        for (kind, body) in [
            ("UnrecognizedClientException:http://internal.amazon.com/coral/com.amazon.coral.service/", r#"{"message":"The security token included in the request is invalid."}"#),
            ("InvalidSignatureException", r#"{"message":"Credential should be scoped to a valid region."}"#),
        ] {
            let mut h = HeaderMap::new();
            h.insert("x-amzn-ErrorType", kind.parse().unwrap());
            let e = error_for(StatusCode::FORBIDDEN, &h, body.as_bytes(), Service::Pinpoint, "eu-west-2");
            assert!(matches!(e, ProviderError::Auth { .. }), "{kind}: {e:?}");
        }
        for (status, h, body) in [
            (400, vec![], sns_err("Throttling", "Rate exceeded")),
            (429, vec![], sns_err("Throttled", "Throttled")),
            (400, vec![("x-amzn-ErrorType", "ThrottlingException")], b"{}".to_vec()),
            (429, vec![("x-amzn-ErrorType", "TooManyRequestsException:http://internal.amazon.com/coral/com.amazonaws.pinpoint/")], br#"{"Message":"Too many requests"}"#.to_vec()),
            (429, vec![], b"".to_vec()),
        ] {
            assert_eq!(map(status, &h, &body), ProviderError::RateLimited { retry_after_secs: None });
        }
        assert_eq!(
            map(429, &[("retry-after", "7")], b""),
            ProviderError::RateLimited {
                retry_after_secs: Some(7)
            }
        );
        assert!(matches!(map(404, &[], b""), ProviderError::NotFound { .. }));
        let rejected = map(
            400,
            &[],
            &sns_err(
                "InvalidParameter",
                "Invalid parameter: PhoneNumber Reason: +1 is not valid to publish to\u{7}\n\n  ",
            ),
        );
        assert_eq!(
            rejected,
            ProviderError::Rejected {
                status: 400,
                code: None,
                message: "Invalid parameter: PhoneNumber Reason: +1 is not valid to publish to."
                    .into(),
                more_info: Some("InvalidParameter".into()),
            }
        );
        let long = map(400, &[], &sns_err("InvalidParameter", &"word ".repeat(500)));
        let ProviderError::Rejected { message, .. } = long else {
            panic!()
        };
        assert!(
            message.chars().count() <= MAX_MESSAGE_CHARS + 1,
            "{message}"
        );
        assert!(message.ends_with('…'));
        let json_rejected = error_for(
            StatusCode::BAD_REQUEST,
            &headers(&[("x-amzn-ErrorType", "BadRequestException")]),
            br#"{"Message":"Invalid phone number","RequestID":"r"}"#,
            Service::Pinpoint,
            "eu-west-2",
        );
        assert!(
            matches!(json_rejected, ProviderError::Rejected { status: 400, ref message, ref more_info, .. } if message == "Invalid phone number." && more_info.as_deref() == Some("BadRequestException"))
        );
        assert!(
            matches!(map(400, &[], b""), ProviderError::Rejected { ref message, .. } if message == "Amazon SNS refused the request (HTTP 400).")
        );
        assert!(matches!(
            map(500, &[], b""),
            ProviderError::Server { status: 500, .. }
        ));
        assert!(matches!(
            map(502, &[], b"<html>bad gateway</html>"),
            ProviderError::Server { status: 502, .. }
        ));
        for (status, body) in [
            (301, sns_err("PermanentRedirect", "The request was sent to the wrong endpoint")),
            (400, sns_err("AuthorizationHeaderMalformed", "The authorization header is malformed; the region 'eu-west-2' is wrong; expecting 'us-east-1'")),
            (307, b"".to_vec()),
        ] {
            let e = map(status, &[], &body);
            let ProviderError::Rejected { message, .. } = &e else { panic!("{e:?}") };
            assert!(message.contains("another endpoint or region than eu-west-2"), "{message}");
            assert!(message.contains("Check the region."), "{message}");
        }
    }

    #[test]
    fn phone_types_become_lookup_v2_line_types() {
        assert_eq!(line_type(Some("MOBILE"), None), Some("mobile"));
        assert_eq!(line_type(Some("PREPAID"), Some(5)), Some("mobile"));
        assert_eq!(line_type(Some("LANDLINE"), None), Some("landline"));
        assert_eq!(line_type(Some("VOIP"), None), Some("nonFixedVoip"));
        assert_eq!(line_type(Some("OTHER"), None), Some("unknown"));
        assert_eq!(line_type(Some("SOMETHING_NEW"), None), Some("unknown"));
        assert_eq!(line_type(Some("INVALID"), Some(3)), None);
        assert_eq!(line_type(None, Some(1)), Some("landline"));
        assert_eq!(line_type(None, Some(3)), None);
        assert_eq!(line_type(None, None), Some("unknown"));
        let invalid = NumberValidateResponse {
            phone_type: Some("INVALID".into()),
            phone_type_code: Some(3),
            original_phone_number: Some("+1415".into()),
            ..Default::default()
        };
        let r = lookup_result("+1415", &invalid, serde_json::Value::Null);
        assert_eq!(r.valid, Some(false));
        assert!(r.line_type_intelligence.is_none());
        assert_eq!(r.phone_number, "+1415");
    }
}

//! Amazon SNS and Amazon Pinpoint as PhoneHub's AWS client uses them, with their wire formats
//! (botocore's `sns/2010-03-31` and `pinpoint/2016-12-01` service models):
//! - `POST {mount}/aws/sns/` (also without the final `/`): the query protocol, `Publish` to a phone
//!   number, `GetSMSAttributes`, `CheckIfPhoneNumberIsOptedOut` and `ListPhoneNumbersOptedOut`, XML
//!   answers in namespace `http://sns.amazonaws.com/doc/2010-03-31/` (`text/xml`), errors as
//!   `ErrorResponse/Error/{Type,Code,Message}`;
//! - `POST {mount}/aws/pinpoint/v1/phone/number/validate`: rest-json `PhoneNumberValidate`, the body
//!   a `NumberValidateRequest` and the answer a `NumberValidateResponse` (`application/json`), errors
//!   as `{"Message", "RequestID"}` (auth errors `{"message"}`) with `x-amzn-ErrorType`.
//!
//! Every answer carries `x-amzn-RequestId`. Requests must be signed with Signature Version 4 by
//! [`DEV_AWS_ACCESS_KEY_ID`] / [`DEV_AWS_SECRET_ACCESS_KEY`] for region [`DEV_AWS_REGION`] and the
//! endpoint's service (`sns`, `mobiletargeting`): the signature is recomputed and compared (see
//! `aws_auth`).
//!
//! Magic numbers (both services): [`MAGIC_AWS_THROTTLED`] is throttled, [`MAGIC_AWS_SERVER_ERROR`]
//! fails with a 500, and the sandbox's [`MAGIC_INVALID`] is an invalid number. Other numbers get the
//! Twilio sandbox's lookup answers (`data::lookup_facts`), so a number is a mobile in both.
//! Published messages are kept in memory (not in the saved state) and listed at the control
//! endpoint `GET {mount}/_aws/messages`.
//!
//! Opted-out numbers, as moto answers them: `CheckIfPhoneNumberIsOptedOut` says a number is opted
//! out when it ends in `99` or is on the sandbox's list, which starts as [`SNS_OPTED_OUT_AT_START`]
//! (in memory; [`super::Sandbox::aws_opt_out`] adds to it). `ListPhoneNumbersOptedOut` lists that
//! list [`OPTED_OUT_PAGE_SIZE`] numbers a page, with a `nextToken` while more follow, so that
//! clients page.

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::json;

use super::aws_auth;
use super::data::{lookup_facts, place, MAGIC_INVALID};
use super::rest::{field, form, now};
use super::Shared;
use crate::aws::{NumberValidateRequest, NumberValidateResponse, SNS_VERSION, SNS_XMLNS};
use crate::e164::E164;

/// The one access key the sandbox knows (the shape of an IAM access key ID).
pub const DEV_AWS_ACCESS_KEY_ID: &str = "AKIASANDBOX000000001";
/// Its secret access key (40 characters, as AWS's).
pub const DEV_AWS_SECRET_ACCESS_KEY: &str = "sandboxSecretAccessKey/PhoneHub/0000001";
/// The region the sandbox serves: credential scopes must name it.
pub const DEV_AWS_REGION: &str = "us-east-1";

/// `Publish` to it answers 400 `Throttling` (SNS); `PhoneNumberValidate` of it 429
/// `TooManyRequestsException` (Pinpoint).
pub const MAGIC_AWS_THROTTLED: &str = "+15005550429";
/// Both services fail with a 500 for it (`InternalError`, `InternalServerErrorException`).
pub const MAGIC_AWS_SERVER_ERROR: &str = "+15005550500";

/// The numbers on the sandbox's SNS opted-out list when it starts.
pub const SNS_OPTED_OUT_AT_START: [&str; 2] = ["+15005550199", "+447700900199"];
/// How many numbers a page of `ListPhoneNumbersOptedOut` holds in the sandbox (AWS: up to 100).
pub const OPTED_OUT_PAGE_SIZE: usize = 2;

/// SMS's limit for one `Publish` (the `PublishInput.Message` documentation: 1,600 characters).
const MAX_SMS_CHARS: usize = 1600;

/// A text published through the sandbox's SNS, as the control endpoint lists it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AwsMessage {
    pub message_id: String,
    pub phone_number: String,
    pub message: String,
    pub sender_id: Option<String>,
    pub sms_type: Option<String>,
    pub origination_number: Option<String>,
    pub date_created: String,
}

/// Which endpoint answers, for its error shapes and its service name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Endpoint {
    Sns,
    Pinpoint,
}

impl Endpoint {
    pub(super) fn service(self) -> &'static str {
        match self {
            Endpoint::Sns => crate::aws::SNS_SIGNING_NAME,
            Endpoint::Pinpoint => crate::aws::PINPOINT_SIGNING_NAME,
        }
    }
}

/// A random UUID (version 4), the form of SNS's message IDs and AWS's request IDs.
fn uuid() -> String {
    let mut b: u128 = rand::random();
    b = (b & !(0xf << 76)) | (0x4 << 76);
    b = (b & !(0x3 << 62)) | (0x2 << 62);
    let h = format!("{b:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn xml_escape(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

/// An answer with AWS's content type and `x-amzn-RequestId`.
fn answer(
    status: StatusCode,
    content_type: &'static str,
    body: String,
    request_id: &str,
) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-RequestId", v);
    }
    r
}

/// An SNS (query protocol) error: `ErrorResponse/Error/{Type,Code,Message}` and `RequestId`.
pub(super) fn sns_error(status: StatusCode, code: &str, message: &str) -> Response {
    let id = uuid();
    let kind = if status.is_server_error() {
        "Receiver"
    } else {
        "Sender"
    };
    answer(
        status,
        "text/xml",
        format!(
            "<ErrorResponse xmlns=\"{SNS_XMLNS}\">\n  <Error>\n    <Type>{kind}</Type>\n    <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{id}</RequestId>\n</ErrorResponse>\n",
            xml_escape(code),
            xml_escape(message)
        ),
        &id,
    )
}

/// A Pinpoint (rest-json) error: `x-amzn-ErrorType`, and the modelled exceptions' body
/// `{"Message", "RequestID"}` or, for the errors of AWS's front door (authentication), `{"message"}`.
pub(super) fn pinpoint_error(status: StatusCode, kind: &str, message: &str) -> Response {
    let id = uuid();
    let front_door = matches!(
        kind,
        "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "MissingAuthenticationTokenException"
            | "IncompleteSignatureException"
    );
    let (body, namespace) = if front_door {
        (json!({ "message": message }), "com.amazon.coral.service")
    } else {
        (
            json!({ "Message": message, "RequestID": id }),
            "com.amazonaws.pinpoint",
        )
    };
    let mut r = answer(status, "application/json", body.to_string(), &id);
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{kind}:http://internal.amazon.com/coral/{namespace}/"
    )) {
        r.headers_mut().insert("x-amzn-ErrorType", v);
    }
    r
}

/// The faults injected at `…/_faults` (latency, 500s, hangs), answered in the endpoint's shape.
async fn faults(sb: &super::Sandbox, endpoint: Endpoint) -> Option<Response> {
    sb.injected_error().await.then(|| server_error(endpoint))
}

fn server_error(endpoint: Endpoint) -> Response {
    let message = "Internal Server Error (injected by the sandbox)";
    match endpoint {
        Endpoint::Sns => sns_error(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", message),
        Endpoint::Pinpoint => pinpoint_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerErrorException",
            message,
        ),
    }
}

/// `POST …/aws/sns/`: the query protocol's `Action`.
pub(super) async fn sns(
    State(sb): State<Shared>,
    OriginalUri(original): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = aws_auth::verify(&sb, Endpoint::Sns, &original, &headers, &body) {
        return *r;
    }
    if let Some(r) = faults(&sb, Endpoint::Sns).await {
        return r;
    }
    let f = form(&String::from_utf8_lossy(&body));
    let action = field(&f, "Action").unwrap_or_default();
    if field(&f, "Version").as_deref() != Some(SNS_VERSION) {
        return sns_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValue",
            &format!("Version must be {SNS_VERSION}."),
        );
    }
    match action.as_str() {
        "Publish" => publish(&sb, &f),
        "GetSMSAttributes" => get_sms_attributes(&sb, &f),
        "CheckIfPhoneNumberIsOptedOut" => check_if_opted_out(&sb, &f),
        "ListPhoneNumbersOptedOut" => list_opted_out(&sb, &f),
        other => sns_error(
            StatusCode::BAD_REQUEST,
            "InvalidAction",
            &format!(
                "The action {} is not valid for this web service.",
                other.chars().take(64).collect::<String>()
            ),
        ),
    }
}

/// The `MessageAttributes.entry.N.{Name,Value.StringValue}` of a `Publish`, by name.
fn message_attribute(f: &[(String, String)], name: &str) -> Option<String> {
    (1..=10).find_map(|n| {
        (field(f, &format!("MessageAttributes.entry.{n}.Name")).as_deref() == Some(name))
            .then(|| field(f, &format!("MessageAttributes.entry.{n}.Value.StringValue")))
            .flatten()
    })
}

fn publish(sb: &super::Sandbox, f: &[(String, String)]) -> Response {
    sb.count("SnsPublish");
    let invalid = |message: &str| sns_error(StatusCode::BAD_REQUEST, "InvalidParameter", message);
    let Some(to) = field(f, "PhoneNumber") else {
        return invalid(
            "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter",
        );
    };
    let Some(text) = field(f, "Message") else {
        return sns_error(
            StatusCode::BAD_REQUEST,
            "ValidationError",
            "1 validation error detected: Value null at 'message' failed to satisfy constraint: Member must not be null",
        );
    };
    match to.as_str() {
        MAGIC_AWS_THROTTLED => {
            return sns_error(StatusCode::BAD_REQUEST, "Throttling", "Rate exceeded")
        }
        MAGIC_AWS_SERVER_ERROR => return server_error(Endpoint::Sns),
        _ => {}
    }
    let e164 = E164::parse(&to, None)
        .ok()
        .filter(|e| e.as_str() == to && to != MAGIC_INVALID);
    if e164.is_none() {
        return invalid(&format!(
            "Invalid parameter: PhoneNumber Reason: {} is not valid to publish to",
            to.chars().take(32).collect::<String>()
        ));
    }
    if text.trim().is_empty() {
        return invalid("Invalid parameter: Empty message");
    }
    if text.chars().count() > MAX_SMS_CHARS {
        return invalid("Invalid parameter: Message too long");
    }
    let sms_type = message_attribute(f, "AWS.SNS.SMS.SMSType");
    if sms_type
        .as_deref()
        .is_some_and(|t| !crate::aws::SMS_TYPES.contains(&t))
    {
        return sns_error(
            StatusCode::BAD_REQUEST,
            "ParameterValueInvalid",
            "The value of AWS.SNS.SMS.SMSType must be Transactional or Promotional.",
        );
    }
    let m = AwsMessage {
        message_id: uuid(),
        phone_number: to,
        message: text,
        sender_id: message_attribute(f, "AWS.SNS.SMS.SenderID"),
        sms_type,
        origination_number: message_attribute(f, "AWS.MM.SMS.OriginationNumber"),
        date_created: now(),
    };
    let id = m.message_id.clone();
    sb.aws_messages
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(m);
    let request_id = uuid();
    answer(
        StatusCode::OK,
        "text/xml",
        format!(
            "<PublishResponse xmlns=\"{SNS_XMLNS}\">\n  <PublishResult>\n    <MessageId>{id}</MessageId>\n  </PublishResult>\n  <ResponseMetadata>\n    <RequestId>{request_id}</RequestId>\n  </ResponseMetadata>\n</PublishResponse>\n"
        ),
        &request_id,
    )
}

/// The account's SMS settings, as `GetSMSAttributes` lists them (`attributes.member.N` filters).
const SMS_ATTRIBUTES: [(&str, &str); 4] = [
    ("DefaultSMSType", "Transactional"),
    ("MonthlySpendLimit", "1"),
    ("DefaultSenderID", "PhoneHub"),
    ("UsageReportS3Bucket", ""),
];

fn get_sms_attributes(sb: &super::Sandbox, f: &[(String, String)]) -> Response {
    sb.count("SnsGetSMSAttributes");
    let wanted: Vec<String> = f
        .iter()
        .filter(|(k, _)| k.starts_with("attributes.member."))
        .map(|(_, v)| v.clone())
        .collect();
    let entries: String = SMS_ATTRIBUTES
        .iter()
        .filter(|(k, _)| wanted.is_empty() || wanted.iter().any(|w| w == k))
        .map(|(k, v)| {
            format!(
                "      <entry>\n        <key>{}</key>\n        <value>{}</value>\n      </entry>\n",
                xml_escape(k),
                xml_escape(v)
            )
        })
        .collect();
    let request_id = uuid();
    answer(
        StatusCode::OK,
        "text/xml",
        format!(
            "<GetSMSAttributesResponse xmlns=\"{SNS_XMLNS}\">\n  <GetSMSAttributesResult>\n    <attributes>\n{entries}    </attributes>\n  </GetSMSAttributesResult>\n  <ResponseMetadata>\n    <RequestId>{request_id}</RequestId>\n  </ResponseMetadata>\n</GetSMSAttributesResponse>\n"
        ),
        &request_id,
    )
}

/// Whether `s` has the shape of an E.164 number: `+` and 1 to 15 digits.
fn e164_shaped(s: &str) -> bool {
    s.strip_prefix('+')
        .is_some_and(|d| (1..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether SNS holds `number` as opted out: it ends in `99` (as moto answers) or is on `list`.
fn sns_opted_out(number: &str, list: &[String]) -> bool {
    number.ends_with("99") || list.iter().any(|n| n == number)
}

/// `CheckIfPhoneNumberIsOptedOut` (`phoneNumber`, lower camel case): `isOptedOut`. A number that is
/// not `+` and digits is refused as moto refuses it; the magic numbers throttle and fail as for
/// `Publish`.
fn check_if_opted_out(sb: &super::Sandbox, f: &[(String, String)]) -> Response {
    sb.count("SnsCheckIfPhoneNumberIsOptedOut");
    let Some(number) = field(f, "phoneNumber") else {
        return sns_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            "Invalid parameter: PhoneNumber Reason: no value for required parameter",
        );
    };
    match number.as_str() {
        MAGIC_AWS_THROTTLED => {
            return sns_error(StatusCode::BAD_REQUEST, "Throttling", "Rate exceeded")
        }
        MAGIC_AWS_SERVER_ERROR => return server_error(Endpoint::Sns),
        _ => {}
    }
    if !e164_shaped(&number) {
        return sns_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            "Invalid parameter: PhoneNumber Reason: input incorrectly formatted",
        );
    }
    let opted_out = sns_opted_out(&number, &sb.sns_opted_out_list());
    let request_id = uuid();
    answer(
        StatusCode::OK,
        "text/xml",
        format!(
            "<CheckIfPhoneNumberIsOptedOutResponse xmlns=\"{SNS_XMLNS}\">\n  <CheckIfPhoneNumberIsOptedOutResult>\n    <isOptedOut>{opted_out}</isOptedOut>\n  </CheckIfPhoneNumberIsOptedOutResult>\n  <ResponseMetadata>\n    <RequestId>{request_id}</RequestId>\n  </ResponseMetadata>\n</CheckIfPhoneNumberIsOptedOutResponse>\n"
        ),
        &request_id,
    )
}

/// The `nextToken` of the page that starts at `offset` of the opted-out list.
fn opted_out_token(offset: usize) -> String {
    format!("sandbox-opted-out-{offset}")
}

/// The page of `list` that `next_token` starts (the first without one): its numbers, and the
/// token of the page after it when there is one; `None` for a token the sandbox did not give.
fn opted_out_page(
    list: &[String],
    next_token: Option<&str>,
) -> Option<(Vec<String>, Option<String>)> {
    let start = match next_token.filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => t
            .strip_prefix("sandbox-opted-out-")?
            .parse::<usize>()
            .ok()
            .filter(|o| *o <= list.len())?,
    };
    let end = (start + OPTED_OUT_PAGE_SIZE).min(list.len());
    let next = (end < list.len()).then(|| opted_out_token(end));
    Some((list[start..end].to_vec(), next))
}

/// `ListPhoneNumbersOptedOut` (`nextToken`): a page of the opted-out list, `phoneNumbers` as
/// `member`s and `nextToken` while more follow.
fn list_opted_out(sb: &super::Sandbox, f: &[(String, String)]) -> Response {
    sb.count("SnsListPhoneNumbersOptedOut");
    let list = sb.sns_opted_out_list();
    let Some((numbers, next)) = opted_out_page(&list, field(f, "nextToken").as_deref()) else {
        return sns_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            "Invalid parameter: NextToken",
        );
    };
    let members: String = numbers
        .iter()
        .map(|n| format!("      <member>{}</member>\n", xml_escape(n)))
        .collect();
    let next = next
        .map(|t| format!("    <nextToken>{}</nextToken>\n", xml_escape(&t)))
        .unwrap_or_default();
    let request_id = uuid();
    answer(
        StatusCode::OK,
        "text/xml",
        format!(
            "<ListPhoneNumbersOptedOutResponse xmlns=\"{SNS_XMLNS}\">\n  <ListPhoneNumbersOptedOutResult>\n    <phoneNumbers>\n{members}    </phoneNumbers>\n{next}  </ListPhoneNumbersOptedOutResult>\n  <ResponseMetadata>\n    <RequestId>{request_id}</RequestId>\n  </ResponseMetadata>\n</ListPhoneNumbersOptedOutResponse>\n"
        ),
        &request_id,
    )
}

/// The Lookup v2 line type the Twilio sandbox gives a number, as Pinpoint's phone type and code.
fn phone_type(line_type: &str) -> (&'static str, i64) {
    match line_type {
        "mobile" => ("MOBILE", 0),
        "landline" => ("LANDLINE", 1),
        "fixedVoip" | "nonFixedVoip" => ("VOIP", 2),
        _ => ("OTHER", 4),
    }
}

fn country_name(iso: &str) -> Option<&'static str> {
    Some(match iso {
        "US" => "United States",
        "CA" => "Canada",
        "GB" => "United Kingdom",
        "IE" => "Ireland",
        "FR" => "France",
        "DE" => "Germany",
        "ES" => "Spain",
        "IT" => "Italy",
        "NL" => "Netherlands",
        "AU" => "Australia",
        _ => return None,
    })
}

/// `PhoneNumberValidate`'s answer for a number: from the sandbox's lookup data when it is valid,
/// `PhoneType: "INVALID"` (code 3) when it does not parse (or is [`MAGIC_INVALID`]).
pub fn validate_answer(number: &str, iso_country: Option<&str>) -> NumberValidateResponse {
    let original = NumberValidateResponse {
        original_phone_number: Some(number.to_string()),
        original_country_code_iso2: iso_country.map(str::to_string),
        ..Default::default()
    };
    let parsed = E164::parse(number, iso_country)
        .ok()
        .filter(|e| e.as_str() != MAGIC_INVALID);
    let Some(e) = parsed else {
        return NumberValidateResponse {
            phone_type: Some("INVALID".into()),
            phone_type_code: Some(3),
            ..original
        };
    };
    let facts = lookup_facts(e.as_str());
    let (kind, code) = phone_type(facts.line_type);
    let iso = e.region();
    let nanp_area = (e.country_code() == 1)
        .then(|| e.as_str().get(2..5))
        .flatten();
    let city = nanp_area.map(place).filter(|(c, _, _)| *c != "Springfield");
    NumberValidateResponse {
        carrier: Some(facts.carrier.to_string()),
        city: city.map(|(c, _, _)| c.to_string()),
        cleansed_phone_number_e164: Some(e.as_str().to_string()),
        cleansed_phone_number_national: Some(
            e.national().chars().filter(char::is_ascii_digit).collect(),
        ),
        country: iso.as_deref().and_then(country_name).map(str::to_string),
        country_code_numeric: Some(e.country_code().to_string()),
        country_code_iso2: iso,
        phone_type: Some(kind.into()),
        phone_type_code: Some(code),
        zip_code: city.map(|(_, _, z)| z.to_string()),
        ..original
    }
}

/// `POST …/aws/pinpoint/v1/phone/number/validate`.
pub(super) async fn phone_number_validate(
    State(sb): State<Shared>,
    OriginalUri(original): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = aws_auth::verify(&sb, Endpoint::Pinpoint, &original, &headers, &body) {
        return *r;
    }
    if let Some(r) = faults(&sb, Endpoint::Pinpoint).await {
        return r;
    }
    sb.count("PinpointPhoneNumberValidate");
    let Ok(req) = serde_json::from_slice::<NumberValidateRequest>(&body) else {
        return pinpoint_error(
            StatusCode::BAD_REQUEST,
            "BadRequestException",
            "The request body is not a NumberValidateRequest.",
        );
    };
    let Some(number) = req.phone_number.filter(|n| !n.trim().is_empty()) else {
        return pinpoint_error(
            StatusCode::BAD_REQUEST,
            "BadRequestException",
            "PhoneNumber is required.",
        );
    };
    match number.as_str() {
        MAGIC_AWS_THROTTLED => {
            return pinpoint_error(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequestsException",
                "Too many requests",
            )
        }
        MAGIC_AWS_SERVER_ERROR => return server_error(Endpoint::Pinpoint),
        _ => {}
    }
    sb.count("billed_aws_validations");
    let iso = req
        .iso_country_code
        .filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()));
    let r = validate_answer(&number, iso.as_deref());
    let request_id = uuid();
    let mut res = Json(r).into_response();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert("x-amzn-RequestId", v);
    }
    res
}

/// `GET …/_aws/messages`: what was published, oldest first.
pub(super) async fn list_messages(State(sb): State<Shared>) -> Json<Vec<AwsMessage>> {
    Json(sb.aws_messages())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_version_4_uuids() {
        let id = uuid();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!("89ab".contains(&id[19..20]), "{id}");
        assert_ne!(uuid(), id);
    }

    #[test]
    fn opted_out_numbers_as_moto_answers_them_in_pages_of_two() {
        let list: Vec<String> = SNS_OPTED_OUT_AT_START
            .iter()
            .map(|n| n.to_string())
            .chain(["+447420500600".to_string()])
            .collect();
        assert!(sns_opted_out("+14155550199", &[]), "ends in 99");
        assert!(sns_opted_out("+447420500600", &list));
        assert!(!sns_opted_out("+14155550100", &list));
        let (first, next) = opted_out_page(&list, None).unwrap();
        assert_eq!(first, ["+15005550199", "+447700900199"]);
        let next = next.unwrap();
        let (second, last) = opted_out_page(&list, Some(next.as_str())).unwrap();
        assert_eq!(second, ["+447420500600"]);
        assert_eq!(last, None);
        let (exact, none) = opted_out_page(&list[..2], None).unwrap();
        assert_eq!(exact.len(), 2);
        assert_eq!(none, None, "no token when nothing follows");
        assert_eq!(opted_out_page(&[], None), Some((vec![], None)));
        for bad in ["nope", "sandbox-opted-out-x", "sandbox-opted-out-9"] {
            assert_eq!(opted_out_page(&list, Some(bad)), None, "{bad}");
        }
        assert!(e164_shaped("+15005550199"));
        assert!(!e164_shaped("15005550199"));
        assert!(!e164_shaped("+1 500"));
    }

    #[test]
    fn validation_follows_the_twilio_sandbox_lookups() {
        for i in 0..24 {
            let n = format!("+1415555{:04}", 2600 + i);
            let r = validate_answer(&n, None);
            let twilio = lookup_facts(&n).line_type;
            let expected = match twilio {
                "mobile" => "MOBILE",
                "landline" => "LANDLINE",
                "fixedVoip" | "nonFixedVoip" => "VOIP",
                _ => "OTHER",
            };
            assert_eq!(r.phone_type.as_deref(), Some(expected), "{n}: {twilio}");
            assert_eq!(r.country_code_iso2.as_deref(), Some("US"));
            assert_eq!(r.cleansed_phone_number_e164.as_deref(), Some(n.as_str()));
        }
        let bad = validate_answer("+1415", None);
        assert_eq!(bad.phone_type.as_deref(), Some("INVALID"));
        assert_eq!(bad.phone_type_code, Some(3));
        let gb = validate_answer("07400 123456", Some("GB"));
        assert_eq!(
            gb.cleansed_phone_number_e164.as_deref(),
            Some("+447400123456")
        );
        assert_eq!(gb.country_code_iso2.as_deref(), Some("GB"));
        assert_eq!(gb.country_code_numeric.as_deref(), Some("44"));
    }
}

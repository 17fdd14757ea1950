//! AWS's error answers as provider errors: reading SNS's XML and Pinpoint's JSON errors
//! ([`error_for`]), the XML reader both SNS answers and errors go through ([`xml_leaves`]), and
//! which rate limits are worth waiting for inside a request ([`waits_too_long`]).

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::StatusCode;
use serde::Deserialize;

use super::signing::Service;
use crate::http;
use crate::provider::ProviderError;

/// The longest AWS error message we pass on (they are a sentence or two).
const MAX_MESSAGE_CHARS: usize = 300;
/// The longest `Retry-After` worth waiting for inside one request (as the Twilio client).
const MAX_RETRY_WAIT_SECS: u64 = 5;

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
pub(super) fn leaf<'a>(leaves: &'a [(String, String)], path: &str) -> Option<&'a str> {
    leaves
        .iter()
        .find(|(p, _)| p == path)
        .map(|(_, v)| v.as_str())
}

/// An error as AWS words it: its code (`InvalidClientTokenId`) and message.
#[derive(Debug, Default, PartialEq)]
pub(super) struct AwsError {
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
pub(super) fn parse_error(header_type: Option<&str>, body: &[u8]) -> AwsError {
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
pub(super) fn sentence(message: Option<&str>) -> Option<String> {
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
pub(super) fn error_for(
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

/// Whether a rate limit asks for a longer wait than one request should hold on for.
pub(super) fn waits_too_long(e: &ProviderError) -> bool {
    matches!(e, ProviderError::RateLimited { retry_after_secs: Some(s) } if *s > MAX_RETRY_WAIT_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::SNS_XMLNS;

    #[test]
    fn xml_answers_are_read_with_entities_and_bounds() {
        let publish = format!("<PublishResponse xmlns=\"{SNS_XMLNS}\"><PublishResult><MessageId>a&amp;b</MessageId></PublishResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></PublishResponse>");
        let leaves = xml_leaves(&publish).unwrap();
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
}

//! Signature Version 4 as the sandbox's AWS endpoints check it: the `Authorization` header read,
//! its credential scope and time checked, and the signature recomputed (with the client's own
//! [`crate::aws::sign`]) and compared, each failure answered with the error AWS gives for it.

use std::time::{Duration, SystemTime};

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;

use super::aws::{
    pinpoint_error, sns_error, Endpoint, DEV_AWS_ACCESS_KEY_ID, DEV_AWS_REGION,
    DEV_AWS_SECRET_ACCESS_KEY,
};

/// How far a signature's time may be from the sandbox's clock, as AWS allows.
const MAX_SKEW: Duration = Duration::from_secs(15 * 60);

/// The error each endpoint gives for a failed authentication step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuthFailure {
    Missing,
    Incomplete,
    UnknownKey,
    BadSignature,
}

fn auth_error(
    sb: &super::Sandbox,
    endpoint: Endpoint,
    why: AuthFailure,
    message: &str,
) -> Response {
    sb.count("aws_auth_failures");
    let (status, sns_code, pinpoint_code) = match why {
        AuthFailure::Missing => (
            StatusCode::FORBIDDEN,
            "MissingAuthenticationToken",
            "MissingAuthenticationTokenException",
        ),
        AuthFailure::Incomplete => (
            StatusCode::BAD_REQUEST,
            "IncompleteSignature",
            "IncompleteSignatureException",
        ),
        AuthFailure::UnknownKey => (
            StatusCode::FORBIDDEN,
            "InvalidClientTokenId",
            "UnrecognizedClientException",
        ),
        AuthFailure::BadSignature => (
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "InvalidSignatureException",
        ),
    };
    match endpoint {
        Endpoint::Sns => sns_error(status, sns_code, message),
        Endpoint::Pinpoint => pinpoint_error(status, pinpoint_code, message),
    }
}

/// `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`, read.
struct Authorization<'a> {
    key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Option<Authorization<'_>> {
    let rest = value.strip_prefix("AWS4-HMAC-SHA256 ")?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed = Some(v),
            "Signature" => signature = Some(v),
            _ => {}
        }
    }
    let scope: Vec<&str> = credential?.split('/').collect();
    let [key_id, date, region, service, "aws4_request"] = scope[..] else {
        return None;
    };
    Some(Authorization {
        key_id,
        date,
        region,
        service,
        signed_headers: signed?.split(';').collect(),
        signature: signature?,
    })
}

/// `X-Amz-Date` (`20240102T030405Z`) as a time.
fn parse_amz_date(s: &str) -> Option<SystemTime> {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let t = time::PrimitiveDateTime::parse(s, format).ok()?;
    Some(t.assume_utc().into())
}

/// A failed check: the kind of error to answer, and AWS's words for it.
type Failure = (AuthFailure, String);

fn fail<T>(why: AuthFailure, message: impl Into<String>) -> Result<T, Failure> {
    Err((why, message.into()))
}

/// Checks a request's Signature Version 4 as AWS does: the key, the credential scope (date,
/// region, service), the time, then the signature itself, recomputed over the method, the path
/// as the client sent it (`original`, before the sandbox's mount point was stripped), the signed
/// headers and the body, and compared in constant time.
pub(super) fn verify(
    sb: &super::Sandbox,
    endpoint: Endpoint,
    original: &axum::http::Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), Box<Response>> {
    let checked = read_authorization(headers).and_then(|auth| {
        let time = check_scope_and_time(&auth, endpoint, headers)?;
        compare_signature(&auth, time, original, headers, body)
    });
    checked.map_err(|(why, message)| Box::new(auth_error(sb, endpoint, why, &message)))
}

/// The `Authorization` header, read, for the sandbox's one access key.
fn read_authorization(headers: &HeaderMap) -> Result<Authorization<'_>, Failure> {
    use subtle::ConstantTimeEq;
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return fail(
            AuthFailure::Missing,
            "Request is missing Authentication Token",
        );
    };
    let Some(auth) = parse_authorization(value) else {
        return fail(
            AuthFailure::Incomplete,
            "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.",
        );
    };
    if !bool::from(
        auth.key_id
            .as_bytes()
            .ct_eq(DEV_AWS_ACCESS_KEY_ID.as_bytes()),
    ) {
        return fail(
            AuthFailure::UnknownKey,
            "The security token included in the request is invalid.",
        );
    }
    Ok(auth)
}

/// Checks `X-Amz-Date` against the credential scope's date, the scope's region and service, and
/// the time against the sandbox's clock; the signature's time.
fn check_scope_and_time(
    auth: &Authorization<'_>,
    endpoint: Endpoint,
    headers: &HeaderMap,
) -> Result<SystemTime, Failure> {
    let Some(amz_date) = headers.get("x-amz-date").and_then(|v| v.to_str().ok()) else {
        return fail(
            AuthFailure::Incomplete,
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        );
    };
    let Some(time) = parse_amz_date(amz_date) else {
        return fail(
            AuthFailure::Incomplete,
            "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
        );
    };
    if !amz_date.starts_with(auth.date) || auth.date.len() != 8 {
        return fail(
            AuthFailure::BadSignature,
            format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{amz_date}'.",
                auth.date,
                amz_date.get(..8).unwrap_or(amz_date)
            ),
        );
    }
    if auth.region != DEV_AWS_REGION {
        return fail(
            AuthFailure::BadSignature,
            "Credential should be scoped to a valid region.",
        );
    }
    if auth.service != endpoint.service() {
        return fail(
            AuthFailure::BadSignature,
            format!(
                "Credential should be scoped to correct service: '{}'.",
                endpoint.service()
            ),
        );
    }
    let skew = match SystemTime::now().duration_since(time) {
        Ok(d) => d,
        Err(e) => e.duration(),
    };
    if skew > MAX_SKEW {
        return fail(
            AuthFailure::BadSignature,
            format!("Signature expired: {amz_date} is now earlier or later than 15 minutes from the sandbox's time."),
        );
    }
    Ok(time)
}

/// Recomputes the signature over the signed headers (`host` must be one) and the body, and
/// compares it with the one received, in constant time.
fn compare_signature(
    auth: &Authorization<'_>,
    time: SystemTime,
    original: &axum::http::Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), Failure> {
    use subtle::ConstantTimeEq;
    let mismatch = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";
    // Only the headers the client signed, with the values received; `host` must be one.
    let mut signed: Vec<(&str, &str)> = Vec::new();
    for name in &auth.signed_headers {
        match headers.get(*name).and_then(|v| v.to_str().ok()) {
            Some(v) => signed.push((name, v)),
            None => return fail(AuthFailure::BadSignature, mismatch),
        }
    }
    let Some(host) = signed.iter().find(|(n, _)| *n == "host").map(|(_, v)| *v) else {
        return fail(
            AuthFailure::Incomplete,
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        );
    };
    let path = original.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let Ok(expected) = crate::aws::sign(
        "POST",
        &format!("http://{host}{path}"),
        &signed,
        body,
        auth.region,
        auth.service,
        DEV_AWS_ACCESS_KEY_ID,
        DEV_AWS_SECRET_ACCESS_KEY,
        time,
    ) else {
        return fail(AuthFailure::BadSignature, mismatch);
    };
    if !bool::from(
        expected
            .signature
            .as_bytes()
            .ct_eq(auth.signature.as_bytes()),
    ) {
        return fail(AuthFailure::BadSignature, mismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    /// A request signed by the sandbox's key for `service` in `region` at `time`, checked by the
    /// Pinpoint endpoint.
    fn check(
        service: &str,
        region: &str,
        secret: &str,
        time: SystemTime,
    ) -> Result<(), Box<Response>> {
        let sb = super::super::Sandbox::start(super::super::SandboxConfig::dev(
            "http://127.0.0.1:9/sandbox/twilio",
            None,
        ));
        let url = "http://127.0.0.1:9/sandbox/twilio/aws/pinpoint/v1/phone/number/validate";
        let body = br#"{"PhoneNumber":"+14155550100"}"#;
        let signed = crate::aws::sign(
            "POST",
            url,
            &[("content-type", "application/json")],
            body,
            region,
            service,
            DEV_AWS_ACCESS_KEY_ID,
            secret,
            time,
        )
        .unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert("host", HeaderValue::from_static("127.0.0.1:9"));
        for (k, v) in signed.headers {
            headers.insert(k, HeaderValue::from_str(&v).unwrap());
        }
        let uri: axum::http::Uri = "/sandbox/twilio/aws/pinpoint/v1/phone/number/validate"
            .parse()
            .unwrap();
        verify(&sb, Endpoint::Pinpoint, &uri, &headers, body)
    }

    fn error_type(r: &Response) -> (StatusCode, String) {
        let kind = r.headers()["x-amzn-ErrorType"].to_str().unwrap();
        (r.status(), kind.split(':').next().unwrap().to_string())
    }

    #[tokio::test]
    async fn signatures_are_checked_for_scope_time_and_secret() {
        let now = SystemTime::now();
        assert!(check(
            "mobiletargeting",
            DEV_AWS_REGION,
            DEV_AWS_SECRET_ACCESS_KEY,
            now
        )
        .is_ok());
        let forbidden = |kind: &str| (StatusCode::FORBIDDEN, kind.to_string());
        for (service, region, secret, time) in [
            ("sns", DEV_AWS_REGION, DEV_AWS_SECRET_ACCESS_KEY, now),
            (
                "mobiletargeting",
                "eu-west-1",
                DEV_AWS_SECRET_ACCESS_KEY,
                now,
            ),
            ("mobiletargeting", DEV_AWS_REGION, "wrong", now),
            (
                "mobiletargeting",
                DEV_AWS_REGION,
                DEV_AWS_SECRET_ACCESS_KEY,
                now - Duration::from_secs(3600),
            ),
        ] {
            let r = check(service, region, secret, time).unwrap_err();
            assert_eq!(
                error_type(&r),
                forbidden("InvalidSignatureException"),
                "{service} {region} {secret}"
            );
        }
    }

    #[test]
    fn authorization_headers_are_read() {
        let a = parse_authorization("AWS4-HMAC-SHA256 Credential=AKIASANDBOX000000001/20240102/us-east-1/sns/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=abc").unwrap();
        assert_eq!(
            (a.key_id, a.date, a.region, a.service, a.signature),
            (
                "AKIASANDBOX000000001",
                "20240102",
                "us-east-1",
                "sns",
                "abc"
            )
        );
        assert_eq!(a.signed_headers, ["content-type", "host", "x-amz-date"]);
        assert!(parse_authorization("Basic abc").is_none());
        assert!(parse_authorization(
            "AWS4-HMAC-SHA256 Credential=A/B/C, SignedHeaders=host, Signature=x"
        )
        .is_none());
    }
}

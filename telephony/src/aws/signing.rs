//! Signature Version 4 for the AWS client and the sandbox: the services' signing names and
//! [`sign`], which signs a request as the AWS SDK does (through the `aws-sigv4` crate).

use std::time::SystemTime;

/// SNS's signing name (`metadata.endpointPrefix` of the SNS model; it has no `signingName`).
pub const SNS_SIGNING_NAME: &str = "sns";
/// Pinpoint's signing name (`metadata.signingName` of the Pinpoint model).
pub const PINPOINT_SIGNING_NAME: &str = "mobiletargeting";

/// Which of the two services a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Service {
    Sns,
    Pinpoint,
}

impl Service {
    pub(super) fn signing_name(self) -> &'static str {
        match self {
            Service::Sns => SNS_SIGNING_NAME,
            Service::Pinpoint => PINPOINT_SIGNING_NAME,
        }
    }
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const KEY: &str = "AKIAIOSFODNN7EXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

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
}

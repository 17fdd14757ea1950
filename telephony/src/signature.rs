//! `X-Twilio-Signature` computed and checked exactly as Twilio's helper libraries do.
//!
//! The signed string is the full URL Twilio requested followed by every POST parameter, sorted by
//! name, each value of a repeated parameter sorted too, as `name` + `value`; HMAC-SHA1 with the
//! account's auth token, base64. JSON webhooks carry `bodySHA256` (hex SHA-256 of the body) in the
//! URL instead of parameters. Twilio may have signed the URL with or without its default port, so
//! both forms are accepted. The URL must be the public one (`PHONEHUB_PUBLIC_URL` + path + query),
//! never rebuilt from the request's Host header, which a proxy changes.
//!
//! Webhooks signed with a SharedKey (Twilio's Webhooks configuration API) carry
//! `X-Twilio-Webhooks-Signature-Settings: key=<id>,algorithm=HMAC_SHA256`: the same string, keyed
//! with that shared key's secret, HMAC-SHA256. `tests/signature_vectors.rs` checks both against
//! signatures computed by twilio-python 9.13.0.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What Twilio posted.
#[derive(Debug, Clone, Copy)]
pub enum Payload<'a> {
    /// `application/x-www-form-urlencoded` parameters, repeated names kept.
    Form(&'a [(String, String)]),
    /// A JSON body; the URL must carry its `bodySHA256`.
    Json(&'a [u8]),
}

/// The header naming the shared key and algorithm a webhook was signed with.
pub const SETTINGS_HEADER: &str = "X-Twilio-Webhooks-Signature-Settings";

/// The HMACs Twilio signs webhooks with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// With the account's auth token (no settings header).
    HmacSha1,
    /// With a shared key.
    HmacSha256,
}

impl Algorithm {
    /// Twilio's name for it, as in the settings header.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::HmacSha1 => "HMAC_SHA1",
            Algorithm::HmacSha256 => "HMAC_SHA256",
        }
    }

    /// Reads a name (case-insensitive, as the helper libraries do); unknown names are `None`.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        [Algorithm::HmacSha1, Algorithm::HmacSha256]
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name.trim()))
    }
}

/// What an `X-Twilio-Webhooks-Signature-Settings` header says: `key=<id>,algorithm=<name>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    pub key: Option<String>,
    pub algorithm: Option<String>,
}

/// Reads the settings header; unknown parts are ignored, empty values are absent.
pub fn parse_settings(header: &str) -> Settings {
    let mut s = Settings::default();
    for part in header.split(',') {
        let Some((name, value)) = part.split_once('=') else {
            continue;
        };
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        match name.trim() {
            "key" => s.key = Some(value.to_string()),
            "algorithm" => s.algorithm = Some(value.to_string()),
            _ => {}
        }
    }
    s
}

/// The settings header for a webhook signed with shared key `key_id` (what Twilio sends).
pub fn settings_header(key_id: &str) -> String {
    format!("key={key_id},algorithm={}", Algorithm::HmacSha256.name())
}

/// Base64 HMAC-SHA1 of `url` + sorted parameters, keyed with the auth token.
pub fn compute(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    compute_with(Algorithm::HmacSha1, auth_token, url, params)
}

/// Base64 HMAC of `url` + parameters sorted by name then value (a pair repeated with the same
/// value counts once, as in the helper libraries), keyed with `secret`.
pub fn compute_with(
    algorithm: Algorithm,
    secret: &str,
    url: &str,
    params: &[(String, String)],
) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    sorted.dedup();
    let mut signed = Vec::with_capacity(url.len() + 64 * sorted.len());
    signed.extend_from_slice(url.as_bytes());
    for (name, value) in sorted {
        signed.extend_from_slice(name.as_bytes());
        signed.extend_from_slice(value.as_bytes());
    }
    let digest = match algorithm {
        Algorithm::HmacSha1 => {
            let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(secret.as_bytes())
                .expect("HMAC accepts keys of any length");
            mac.update(&signed);
            mac.finalize().into_bytes().to_vec()
        }
        Algorithm::HmacSha256 => {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
                .expect("HMAC accepts keys of any length");
            mac.update(&signed);
            mac.finalize().into_bytes().to_vec()
        }
    };
    base64::engine::general_purpose::STANDARD.encode(digest)
}

/// Hex SHA-256 of a JSON webhook body, as carried in `bodySHA256`.
pub fn body_hash(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// Whether `signature` is Twilio's for this URL and payload, signed with the auth token.
pub fn validate(auth_token: &str, url: &str, payload: Payload<'_>, signature: &str) -> bool {
    validate_with(Algorithm::HmacSha1, auth_token, url, payload, signature)
}

/// Whether `signature` is the `algorithm` HMAC with `secret` for this URL and payload.
pub fn validate_with(
    algorithm: Algorithm,
    secret: &str,
    url: &str,
    payload: Payload<'_>,
    signature: &str,
) -> bool {
    let no_params: [(String, String); 0] = [];
    let params: &[(String, String)] = match payload {
        Payload::Form(p) => p,
        Payload::Json(body) => {
            let Some(expected) = query_value(url, "bodySHA256") else {
                return false;
            };
            if !ct_eq(&body_hash(body), &expected) {
                return false;
            }
            &no_params
        }
    };
    let Some((without, with)) = port_variants(url) else {
        return false;
    };
    let a = ct_eq(
        &compute_with(algorithm, secret, &without, params),
        signature,
    );
    let b = ct_eq(&compute_with(algorithm, secret, &with, params), signature);
    a | b
}

/// The URL a webhook was sent to, from the configured public base and the request's path + query.
pub fn public_url(public_base: &str, path_and_query: &str) -> String {
    format!("{}{}", public_base.trim_end_matches('/'), path_and_query)
}

fn ct_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

fn query_value(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or(query);
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The URL without any port and with an explicit port (the default one when absent), keeping
/// everything else byte for byte (Twilio signs the URL as configured, case included).
fn port_variants(url: &str) -> Option<(String, String)> {
    let (scheme, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let host_start = authority.rfind('@').map(|i| i + 1).unwrap_or(0);
    let host_part = &authority[host_start..];
    // A colon after an IPv6 literal's closing bracket (or in a plain host) starts the port.
    let bracket = host_part.rfind(']').unwrap_or(0);
    let (host, port) = match host_part[bracket..].rfind(':') {
        Some(i) => {
            let i = bracket + i;
            (&host_part[..i], Some(&host_part[i + 1..]))
        }
        None => (host_part, None),
    };
    let userinfo = &authority[..host_start];
    let default_port = if scheme.eq_ignore_ascii_case("https") {
        "443"
    } else {
        "80"
    };
    let without = format!("{scheme}://{userinfo}{host}{tail}");
    let with = format!(
        "{scheme}://{userinfo}{host}:{}{tail}",
        port.filter(|p| !p.is_empty()).unwrap_or(default_port)
    );
    Some((without, with))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Published vectors from Twilio's helper libraries (twilio-python, twilio-csharp, twilio-php
    // request-validator tests): token "12345" and this URL and these parameters.
    const TOKEN: &str = "12345";
    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
    const SIGNATURE: &str = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
    const BODY: &str = "{\"property\": \"value\", \"boolean\": true}";
    const BODY_HASH: &str = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";

    fn params() -> Vec<(String, String)> {
        // Deliberately not in sorted order.
        [
            ("CallSid", "CA1234567890ABCDE"),
            ("From", "+14158675309"),
            ("Digits", "1234"),
            ("To", "+18005551212"),
            ("Caller", "+14158675309"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn computes_the_published_signature() {
        assert_eq!(compute(TOKEN, URL, &params()), SIGNATURE);
        assert!(validate(TOKEN, URL, Payload::Form(&params()), SIGNATURE));
    }

    #[test]
    fn every_value_of_a_repeated_parameter_is_signed_sorted() {
        let repeated = pairs(&[
            ("Sid", "CA123"),
            ("SidAccount", "AC123"),
            ("Digits", "5678"),
            ("Digits", "1234"),
        ]);
        assert_eq!(
            compute(TOKEN, URL, &repeated),
            "IK+Dwps556ElfBT0I3Rgjkr1wJU="
        );
        // Keeping only the first value (a defect of the source design) gives another signature.
        let first_only = pairs(&[
            ("Sid", "CA123"),
            ("SidAccount", "AC123"),
            ("Digits", "5678"),
        ]);
        assert!(!validate(
            TOKEN,
            URL,
            Payload::Form(&first_only),
            "IK+Dwps556ElfBT0I3Rgjkr1wJU="
        ));
    }

    #[test]
    fn both_port_forms_are_accepted() {
        // Signed without a port, requested with one (https and http).
        let with_port = URL.replace(".com", ".com:1234");
        assert!(validate(
            TOKEN,
            &with_port,
            Payload::Form(&params()),
            SIGNATURE
        ));
        let http_port = with_port.replace("https", "http");
        assert!(validate(
            TOKEN,
            &http_port,
            Payload::Form(&params()),
            "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="
        ));
        // Signed with the default port, requested without it.
        assert!(validate(
            TOKEN,
            URL,
            Payload::Form(&params()),
            "kvajT1Ptam85bY51eRf/AJRuM3w="
        ));
        let http = URL.replace("https", "http");
        assert!(validate(
            TOKEN,
            &http,
            Payload::Form(&params()),
            "0ZXoZLH/DfblKGATFgpif+LLRf4="
        ));
    }

    #[test]
    fn the_url_is_signed_as_written_including_case() {
        let mixed = "https://MyCompany.com/myapp.php?foo=1&bar=2";
        assert!(validate(
            TOKEN,
            mixed,
            Payload::Form(&params()),
            "g9IN/x4Cft2g517EjYvEvM/W7LU="
        ));
        let mixed_port = "https://MyCompany.com:1234/myapp.php?foo=1&bar=2";
        assert!(validate(
            TOKEN,
            mixed_port,
            Payload::Form(&params()),
            "PCqOZm8cnu/L6+u5i5fuEd+Iac4="
        ));
    }

    #[test]
    fn json_bodies_are_checked_through_body_sha256() {
        assert_eq!(body_hash(BODY.as_bytes()), BODY_HASH);
        let url = format!("{URL}&bodySHA256={BODY_HASH}");
        assert!(validate(
            TOKEN,
            &url,
            Payload::Json(BODY.as_bytes()),
            "a9nBmqA0ju/hNViExpshrM61xv4="
        ));
        // A changed body no longer matches its hash.
        let tampered = BODY.replace("value", "other");
        assert!(!validate(
            TOKEN,
            &url,
            Payload::Json(tampered.as_bytes()),
            "a9nBmqA0ju/hNViExpshrM61xv4="
        ));
        // Without bodySHA256 a JSON body cannot be validated.
        assert!(!validate(
            TOKEN,
            URL,
            Payload::Json(BODY.as_bytes()),
            "a9nBmqA0ju/hNViExpshrM61xv4="
        ));
    }

    #[test]
    fn tampering_with_anything_fails() {
        let p = params();
        assert!(
            !validate("54321", URL, Payload::Form(&p), SIGNATURE),
            "other token"
        );
        assert!(
            !validate(TOKEN, &format!("{URL}&x=1"), Payload::Form(&p), SIGNATURE),
            "other query"
        );
        assert!(!validate(
            TOKEN,
            "https://mycompany.com/other.php?foo=1&bar=2",
            Payload::Form(&p),
            SIGNATURE
        ));
        assert!(!validate(
            TOKEN,
            "https://evil.com/myapp.php?foo=1&bar=2",
            Payload::Form(&p),
            SIGNATURE
        ));
        let mut changed = p.clone();
        changed[2].1 = "9999".into();
        assert!(
            !validate(TOKEN, URL, Payload::Form(&changed), SIGNATURE),
            "changed value"
        );
        let mut extra = p.clone();
        extra.push(("Extra".into(), "1".into()));
        assert!(
            !validate(TOKEN, URL, Payload::Form(&extra), SIGNATURE),
            "added param"
        );
        assert!(
            !validate(TOKEN, URL, Payload::Form(&p[1..]), SIGNATURE),
            "dropped param"
        );
        assert!(
            !validate(TOKEN, URL, Payload::Form(&p), ""),
            "empty signature"
        );
        assert!(
            !validate(TOKEN, URL, Payload::Form(&p), "RSOYDt4T1cUTdK1PDd93/VVr8B8"),
            "truncated"
        );
        assert!(!validate(TOKEN, "not a url", Payload::Form(&p), SIGNATURE));
    }

    #[test]
    fn settings_headers_are_read_like_the_helper_libraries() {
        let s = parse_settings("key=webhooks_sharedkey_0001,algorithm=HMAC_SHA256");
        assert_eq!(s.key.as_deref(), Some("webhooks_sharedkey_0001"));
        assert_eq!(
            s.algorithm.as_deref().and_then(Algorithm::from_name),
            Some(Algorithm::HmacSha256)
        );
        let spaced = parse_settings(" algorithm = hmac_sha256 , key = k1 ,junk");
        assert_eq!(spaced.key.as_deref(), Some("k1"));
        assert_eq!(
            Algorithm::from_name("hmac_sha256"),
            Some(Algorithm::HmacSha256)
        );
        assert_eq!(Algorithm::from_name("HMAC_SHA512"), None);
        assert_eq!(parse_settings("key=,algorithm="), Settings::default());
        assert_eq!(
            parse_settings(&settings_header("k2")),
            Settings {
                key: Some("k2".into()),
                algorithm: Some("HMAC_SHA256".into())
            }
        );
    }

    #[test]
    fn the_public_url_comes_from_configuration() {
        assert_eq!(
            public_url("https://phonehub.example.com/", "/webhooks/voice?x=1"),
            "https://phonehub.example.com/webhooks/voice?x=1"
        );
        assert_eq!(
            public_url("https://example.com/phonehub", "/webhooks/sms"),
            "https://example.com/phonehub/webhooks/sms"
        );
    }

    #[test]
    fn port_variants_handle_userinfo_and_ipv6() {
        assert_eq!(
            port_variants("https://u:p@[::1]:8443/x").unwrap(),
            (
                "https://u:p@[::1]/x".to_string(),
                "https://u:p@[::1]:8443/x".to_string()
            )
        );
        assert_eq!(
            port_variants("http://[::1]/x?a=b").unwrap(),
            (
                "http://[::1]/x?a=b".to_string(),
                "http://[::1]:80/x?a=b".to_string()
            )
        );
    }
}

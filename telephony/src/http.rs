//! The one outbound HTTP client for providers, hardened against what a provider's answer (or a
//! misconfigured provider URL) could make us do: redirects are never followed, bodies are read
//! within fixed bounds, and connections to loopback, private, link-local (cloud metadata) and other
//! non-public addresses are refused unless explicitly allowed (the sandbox and tests on 127.0.0.1).

use std::error::Error as StdError;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};

use crate::provider::ProviderError;

/// Largest JSON answer we read: Twilio's pages are tens of KiB; anything far bigger is an attack
/// or a broken proxy, and would otherwise be held in memory whole.
pub const MAX_JSON_BYTES: u64 = 1024 * 1024;
/// Largest error body we read; beyond it the body is ignored (the status still counts).
pub const MAX_ERROR_BODY_BYTES: u64 = 64 * 1024;
/// The longest `Retry-After` we honour, in seconds; a bigger one is capped to this.
pub const MAX_RETRY_AFTER_SECS: u64 = 3600;

/// `ProviderError::Decode` message for an answer over its size cap.
pub const TOO_LARGE: &str = "answer too large";
/// `ProviderError::Network` message for a provider address in a non-public network.
pub const NOT_ALLOWED: &str = "the provider address is not allowed";

/// Whether `ip` is an ordinary public unicast address. Loopback, private (RFC 1918, fc00::/7),
/// link-local (169.254/16 with the cloud metadata address, fe80::/10), unspecified, CGNAT
/// (100.64/10), multicast, broadcast, reserved and documentation ranges are not, and neither are
/// IPv6 forms that embed such an IPv4 address (mapped, compatible, NAT64, 6to4).
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let blocked = a == 0 // "this network", includes the unspecified address
        || a == 10
        || a == 127
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64/10
        || (a == 169 && b == 254) // link-local, cloud metadata 169.254.169.254
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 168)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // documentation
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // documentation
        || (a == 203 && b == 0 && c == 113) // documentation
        || a >= 224; // multicast 224/4, reserved 240/4 and broadcast
    !blocked
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    // IPv4-compatible (::a.b.c.d, deprecated) and NAT64 (64:ff9b::/96) carry an IPv4 address in
    // their last 32 bits, and 6to4 (2002::/16) in bits 16-48: judge that address.
    let last_v4 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if s[..6] == [0, 0, 0, 0, 0, 0] {
        // Also covers :: (unspecified) and ::1 (loopback), which embed 0.0.0.0 and 0.0.0.1.
        return is_public_v4(last_v4);
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_public_v4(last_v4);
    }
    if s[0] == 0x2002 {
        let embedded = Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8);
        return is_public_v4(embedded);
    }
    let blocked = (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local fec0::/10 (deprecated, still private)
        || (s[0] & 0xff00) == 0xff00 // multicast
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || s[..4] == [0x0100, 0, 0, 0]; // discard-only 100::/64
    !blocked
}

/// The refusal carried through reqwest's error chain from the resolver, so it can be told apart
/// from an ordinary DNS failure.
#[derive(Debug)]
struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(NOT_ALLOWED)
    }
}

impl StdError for Refused {}

/// Resolves through the system resolver (via tokio) and keeps only public addresses. Filtering at
/// resolution is what makes the check hold for the address actually connected to: a name that
/// resolves to a private address (DNS rebinding, `localhost`, an internal name) is refused.
#[derive(Debug)]
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let public: Vec<SocketAddr> = found.filter(|a| is_public_ip(a.ip())).collect();
            if public.is_empty() {
                return Err(Box::new(Refused) as Box<dyn StdError + Send + Sync>);
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The most a recording download may take in all (a player reads it at its own pace).
pub const MEDIA_TIMEOUT: Duration = Duration::from_secs(600);

/// Builds the provider client: no redirects, timeouts, and the public-address resolver unless
/// `allow_private_networks`.
pub fn client(
    timeout: Duration,
    allow_private_networks: bool,
) -> Result<reqwest::Client, ProviderError> {
    let mut b = reqwest::Client::builder()
        // A 3xx is the provider's error to report, never ours to follow: following it would send
        // our Basic credentials wherever the answer points.
        .redirect(reqwest::redirect::Policy::none())
        // Each request sets its whole-request timeout (`TwilioClient::send`); a streamed
        // recording instead gets `MEDIA_TIMEOUT`, and no read may stall longer than `timeout`.
        .read_timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .user_agent(concat!("PhoneHub/", env!("CARGO_PKG_VERSION")));
    if !allow_private_networks {
        b = b
            .dns_resolver(Arc::new(PublicOnly))
            // Through an HTTP proxy from the environment the proxy, not us, would resolve and
            // connect to the provider's host, and the address check could not hold.
            .no_proxy();
    }
    b.build().map_err(|e| ProviderError::Network(e.to_string()))
}

/// Refuses a URL whose host is an IP literal outside the public internet. reqwest connects to IP
/// literals without asking the resolver, so `PublicOnly` never sees them.
pub fn check_literal_host(url: &str, allow_private_networks: bool) -> Result<(), ProviderError> {
    if allow_private_networks {
        return Ok(());
    }
    let parsed = url::Url::parse(url).map_err(|e| ProviderError::Decode(e.to_string()))?;
    let ip = match parsed.host() {
        Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
        Some(url::Host::Domain(_)) => return Ok(()),
        None => return Err(ProviderError::Network(NOT_ALLOWED.into())),
    };
    if is_public_ip(ip) {
        Ok(())
    } else {
        Err(ProviderError::Network(NOT_ALLOWED.into()))
    }
}

/// Whether this error is the refusal of a non-public address (not worth retrying).
pub fn is_refusal(e: &ProviderError) -> bool {
    matches!(e, ProviderError::Network(m) if m == NOT_ALLOWED)
}

/// A reqwest failure as a provider error, recognising our resolver's refusal.
pub fn request_error(e: reqwest::Error) -> ProviderError {
    if e.is_timeout() {
        return ProviderError::Timeout;
    }
    let mut source: Option<&(dyn StdError + 'static)> = Some(&e);
    while let Some(s) = source {
        if s.is::<Refused>() {
            return ProviderError::Network(NOT_ALLOWED.into());
        }
        source = s.source();
    }
    ProviderError::Network(e.without_url().to_string())
}

/// Reads a whole body of at most `cap` bytes, refusing early when Content-Length already says it
/// is larger, and otherwise as soon as the bytes received pass the cap (nothing more is read).
pub async fn read_capped(mut res: reqwest::Response, cap: u64) -> Result<Vec<u8>, ProviderError> {
    if res.content_length().is_some_and(|n| n > cap) {
        return Err(ProviderError::Decode(TOO_LARGE.into()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(request_error)? {
        if body.len() as u64 + chunk.len() as u64 > cap {
            return Err(ProviderError::Decode(TOO_LARGE.into()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The body as a stream that fails once more than `cap` bytes have passed (then ends). The
/// caller checks Content-Length first; this covers bodies that lie about it or send none.
pub fn capped_stream(
    res: reqwest::Response,
    cap: u64,
) -> BoxStream<'static, Result<Bytes, ProviderError>> {
    res.bytes_stream()
        .scan((0u64, false), move |(seen, failed), chunk| {
            let item = if *failed {
                None
            } else {
                match chunk {
                    Ok(bytes) => {
                        *seen += bytes.len() as u64;
                        if *seen > cap {
                            *failed = true;
                            Some(Err(ProviderError::Decode(TOO_LARGE.into())))
                        } else {
                            Some(Ok(bytes))
                        }
                    }
                    Err(e) => {
                        *failed = true;
                        Some(Err(request_error(e)))
                    }
                }
            };
            futures::future::ready(item)
        })
        .boxed()
}

/// `Retry-After` as delay-seconds, capped at [`MAX_RETRY_AFTER_SECS`]; an HTTP date or anything
/// unreadable gives `None`. A number too big for u64 is still "a very long time": the cap.
pub fn retry_after_secs(value: &str) -> Option<u64> {
    let v = value.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(
        v.parse::<u64>()
            .unwrap_or(u64::MAX)
            .min(MAX_RETRY_AFTER_SECS),
    )
}

/// The URL of the next page: a path (appended to `api_base`, as Twilio sends it) or an absolute
/// URL at `api_base`'s own scheme, host and port. Anything else is refused: the answer must not
/// choose where our credentials go next.
pub fn next_page_url(api_base: &str, next: &str) -> Result<String, ProviderError> {
    let refuse =
        || ProviderError::Decode(format!("next_page_uri outside the provider's API: {next}"));
    let base = url::Url::parse(api_base).map_err(|e| ProviderError::Decode(e.to_string()))?;
    let candidate = if next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\")
    {
        format!("{}{next}", api_base.trim_end_matches('/'))
    } else {
        next.to_string()
    };
    let url = url::Url::parse(&candidate).map_err(|_| refuse())?;
    // Checked for the appended path too: the joined URL must still be at the same origin.
    let same_origin = url.scheme() == base.scheme()
        && url.host_str() == base.host_str()
        && url.port_or_known_default() == base.port_or_known_default();
    if !same_origin || !url.username().is_empty() || url.password().is_some() {
        return Err(refuse());
    }
    Ok(candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_public_unicast_addresses_are_public() {
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "54.172.60.1",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "169.253.1.1",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(is_public_ip(ip(public)), "{public} is public");
        }
        for private in [
            "0.0.0.0",
            "0.1.2.3",
            "127.0.0.1",
            "127.255.255.254",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.0.1",
            "100.64.0.1",
            "100.127.255.255",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "192.0.2.1",
            "198.18.0.1",
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "::ffff:0.0.0.0",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::1",
            "2002:a9fe:a9fe::1",
        ] {
            assert!(!is_public_ip(ip(private)), "{private} is not public");
        }
    }

    #[test]
    fn retry_after_is_seconds_capped_at_an_hour() {
        assert_eq!(retry_after_secs("0"), Some(0));
        assert_eq!(retry_after_secs(" 120 "), Some(120));
        assert_eq!(retry_after_secs("3600"), Some(3600));
        assert_eq!(retry_after_secs("3000000000"), Some(3600));
        assert_eq!(retry_after_secs("99999999999999999999999999"), Some(3600));
        assert_eq!(retry_after_secs("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(retry_after_secs("-5"), None);
        assert_eq!(retry_after_secs(""), None);
    }

    #[test]
    fn next_pages_stay_at_the_api_origin() {
        let base = "https://api.twilio.com";
        assert_eq!(
            next_page_url(base, "/2010-04-01/Accounts/AC1/Calls.json?Page=1").unwrap(),
            "https://api.twilio.com/2010-04-01/Accounts/AC1/Calls.json?Page=1"
        );
        assert_eq!(
            next_page_url(base, "https://api.twilio.com/2010-04-01/x.json").unwrap(),
            "https://api.twilio.com/2010-04-01/x.json"
        );
        assert_eq!(
            next_page_url(base, "https://api.twilio.com:443/x").unwrap(),
            "https://api.twilio.com:443/x"
        );
        let sandbox = "http://127.0.0.1:3000/sandbox/twilio/api";
        assert_eq!(
            next_page_url(sandbox, "http://127.0.0.1:3000/sandbox/twilio/api/p?Page=2").unwrap(),
            "http://127.0.0.1:3000/sandbox/twilio/api/p?Page=2"
        );
        for bad in [
            "//evil.example/x",
            "/\\evil.example/x",
            "https://evil.example/2010-04-01/x.json",
            "http://api.twilio.com/x",
            "https://api.twilio.com:8443/x",
            "https://api.twilio.com.evil.example/x",
            "https://user:pw@api.twilio.com/x",
            "relative/path",
            "",
            "javascript:alert(1)",
        ] {
            assert!(
                matches!(next_page_url(base, bad), Err(ProviderError::Decode(_))),
                "{bad:?} refused"
            );
        }
        assert!(next_page_url(sandbox, "http://127.0.0.1:3001/sandbox/twilio/api/p").is_err());
    }

    #[test]
    fn ip_literal_hosts_are_checked_before_sending() {
        for bad in [
            "http://127.0.0.1:8080/x",
            "http://[::1]/x",
            "http://169.254.169.254/latest/meta-data",
            "http://[::ffff:a9fe:a9fe]/x",
            "http://10.1.2.3/x",
            "http://0x7f000001/x",
            "http://2130706433/x",
        ] {
            assert_eq!(
                check_literal_host(bad, false),
                Err(ProviderError::Network(NOT_ALLOWED.into())),
                "{bad}"
            );
            assert_eq!(check_literal_host(bad, true), Ok(()), "{bad} when allowed");
        }
        assert_eq!(check_literal_host("https://8.8.8.8/x", false), Ok(()));
        // Names are left to the resolver.
        assert_eq!(check_literal_host("http://localhost:1/x", false), Ok(()));
    }
}

/// A provider request's operation for logs and metrics: the method and the URL's path with every
/// identifier (SIDs, phone numbers) replaced, so neither an account nor a number becomes a label.
pub fn operation(method: &reqwest::Method, url: &str) -> String {
    let path = url::Url::parse(url)
        .map(|u| u.path().to_string())
        .unwrap_or_default();
    let masked: Vec<&str> = path.split('/').map(mask_segment).collect();
    format!("{method} {}", masked.join("/"))
}

/// The path words of the provider's API; every other segment (SIDs, numbers, countries, anything
/// a webhook could have made up) becomes `{id}`, keeping only the kind of its extension.
const API_WORDS: &[&str] = &[
    "2010-04-01",
    "Accounts",
    "AvailablePhoneNumbers",
    "Calls",
    "IncomingPhoneNumbers",
    "Local",
    "Messages",
    "Mobile",
    "PhoneNumbers",
    "Recordings",
    "TollFree",
    "v2",
];

fn mask_segment(seg: &str) -> &str {
    let (stem, ext) = seg.split_once('.').unwrap_or((seg, ""));
    if stem.is_empty() || API_WORDS.contains(&stem) && matches!(ext, "" | "json") {
        return seg;
    }
    match ext {
        "" => "{id}",
        "json" => "{id}.json",
        _ => "{id}.media",
    }
}

/// What became of one provider request, as a metric label.
pub fn outcome(result: &Result<reqwest::StatusCode, &ProviderError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(ProviderError::Auth { .. }) => "auth",
        Err(ProviderError::NotFound { .. }) => "not_found",
        Err(ProviderError::RateLimited { .. }) => "rate_limited",
        Err(ProviderError::Rejected { .. }) => "rejected",
        Err(ProviderError::Server { .. }) => "server_error",
        Err(ProviderError::Timeout) => "timeout",
        Err(ProviderError::Network(_)) => "network",
        Err(ProviderError::Decode(_)) => "decode",
        Err(ProviderError::Unsupported { .. }) => "unsupported",
    }
}

/// Logs and counts one provider request: operation, outcome, HTTP status, duration. Never the
/// URL's query, a credential or the provider's own words.
pub fn observe(op: &str, result: &Result<reqwest::StatusCode, &ProviderError>, took: Duration) {
    let outcome = outcome(result);
    let status = match result {
        Ok(s) => s.as_u16(),
        Err(ProviderError::Rejected { status, .. } | ProviderError::Server { status, .. }) => {
            *status
        }
        Err(ProviderError::Auth { .. }) => 401,
        Err(ProviderError::NotFound { .. }) => 404,
        Err(ProviderError::RateLimited { .. }) => 429,
        Err(_) => 0,
    };
    let ms = took.as_secs_f64() * 1000.0;
    if result.is_ok() {
        tracing::info!(
            operation = op,
            outcome,
            status,
            duration_ms = ms,
            "provider call"
        );
    } else {
        tracing::warn!(
            operation = op,
            outcome,
            status,
            duration_ms = ms,
            "provider call"
        );
    }
    metrics::counter!("phonehub_provider_calls_total", "operation" => op.to_string(), "outcome" => outcome)
        .increment(1);
    metrics::histogram!("phonehub_provider_call_duration_seconds", "operation" => op.to_string())
        .record(took.as_secs_f64());
}

#[cfg(test)]
mod operation_tests {
    use super::*;

    #[test]
    fn identifiers_never_reach_a_label() {
        let m = reqwest::Method::GET;
        assert_eq!(
            operation(&m, "https://api.twilio.com/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Calls/CA0123456789abcdef0123456789abcdef.json?PageSize=50"),
            "GET /2010-04-01/Accounts/{id}/Calls/{id}.json"
        );
        assert_eq!(
            operation(&m, "https://lookups.twilio.com/v2/PhoneNumbers/%2B14155550100?Fields=line_type_intelligence"),
            "GET /v2/PhoneNumbers/{id}"
        );
        assert_eq!(
            operation(&m, "https://api.twilio.com/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Recordings/RE0123456789abcdef0123456789abcdef.mp3"),
            "GET /2010-04-01/Accounts/{id}/Recordings/{id}.media"
        );
        assert_eq!(
            operation(&reqwest::Method::POST, "https://api.twilio.com/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/AvailablePhoneNumbers/US/Local.json"),
            "POST /2010-04-01/Accounts/{id}/AvailablePhoneNumbers/{id}/Local.json"
        );
        // A made-up call SID from a forged webhook is not a label of its own.
        assert_eq!(
            operation(&m, "https://api.twilio.com/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Calls/anything-an-attacker-types.json"),
            "GET /2010-04-01/Accounts/{id}/Calls/{id}.json"
        );
    }
}

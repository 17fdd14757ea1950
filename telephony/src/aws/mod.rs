//! Amazon Web Services as a provider: text messages through Amazon SNS (`Publish` to a phone
//! number), the numbers that opted out through SNS `CheckIfPhoneNumberIsOptedOut` and
//! `ListPhoneNumbersOptedOut`, the credentials check through SNS `GetSMSAttributes`, and number
//! lookups through Amazon Pinpoint `PhoneNumberValidate`. Every request is signed with Signature Version 4 (the
//! `aws-sigv4` crate); nothing else of the AWS SDK is used.
//!
//! The wire formats are those of botocore's service models:
//! - `botocore/data/sns/2010-03-31/service-2.json`: protocol `query` (a form body with `Action` and
//!   `Version=2010-03-31`, XML answers in namespace `http://sns.amazonaws.com/doc/2010-03-31/`,
//!   errors as `ErrorResponse/Error/{Type,Code,Message}`), signing name `sns`;
//! - `botocore/data/pinpoint/2016-12-01/service-2.json`: protocol `rest-json`, signing name
//!   `mobiletargeting`, errors as `{"Message"|"message": …}` with the `x-amzn-ErrorType` header.
//!
//! SNS and Pinpoint neither sell numbers nor place calls: [`AwsClient`] offers only [`Lookups`] and
//! [`Messaging`], and its `numbers()` and `voice()` answer [`ProviderError::Unsupported`] without a
//! request.
//!
//! This module holds the configuration and the client; `signing` signs requests, `sns` and
//! `pinpoint` hold each service's requests and answers, and `errors` reads AWS's error answers.

mod errors;
mod pinpoint;
mod signing;
mod sns;

pub use pinpoint::{
    line_type, lookup_result, NumberValidateRequest, NumberValidateResponse, VALIDATE_PATH,
};
pub(crate) use signing::sign;
pub use signing::{PINPOINT_SIGNING_NAME, SNS_SIGNING_NAME};
pub use sns::{FORM_CONTENT_TYPE, SMS_TYPES, SNS_VERSION, SNS_XMLNS};

use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use reqwest::header::CONTENT_TYPE;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};

use crate::http;
use crate::models::{Account, LookupResult, Message};
use crate::provider::{Lookups, Messaging, NewMessage, Provider, ProviderError};
use errors::{error_for, waits_too_long};
use signing::Service;

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
        let body = sns::query_body(action, params);
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
        sns::read_answer(action, &answer)
    }
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

    fn lookups(&self) -> Result<&dyn Lookups, ProviderError> {
        Ok(self)
    }

    fn messaging(&self) -> Result<&dyn Messaging, ProviderError> {
        Ok(self)
    }
}

#[async_trait]
impl Lookups for AwsClient {
    /// Pinpoint `PhoneNumberValidate` (`POST /v1/phone/number/validate`, body a
    /// `NumberValidateRequest`, answer a `NumberValidateResponse`), mapped by [`lookup_result`].
    /// `caller_name` is ignored: AWS has no caller name, and the result carries none.
    async fn lookup(&self, e164: &str, _caller_name: bool) -> Result<LookupResult, ProviderError> {
        let body = pinpoint::validate_body(e164)?;
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
        pinpoint::read_answer(e164, &answer)
    }
}

#[async_trait]
impl Messaging for AwsClient {
    /// SNS `Publish` to `msg.to` (see `sns::publish_params`); never retried (a repeat would text
    /// twice). `msg.from` and `msg.status_callback` are not sent: SNS takes the sender from the
    /// configuration's attributes (or the account's defaults) and has no delivery callback, so the
    /// message is `sent` once SNS has it.
    async fn send_message(&self, msg: &NewMessage) -> Result<Message, ProviderError> {
        let leaves = self
            .sns(
                "Publish",
                "sns Publish",
                &sns::publish_params(&self.cfg, &msg.to, &msg.body),
                Repeat::Never,
            )
            .await?;
        sns::published(&self.cfg, msg, &leaves)
    }

    /// SNS `CheckIfPhoneNumberIsOptedOut` (`phoneNumber`): whether the number replied STOP (or
    /// was opted out otherwise) to this account's texts. A read: retried once after a transient
    /// failure.
    async fn opted_out(&self, to: &str) -> Result<Option<bool>, ProviderError> {
        let leaves = self
            .sns(
                "CheckIfPhoneNumberIsOptedOut",
                "sns CheckIfPhoneNumberIsOptedOut",
                &sns::check_opted_out_params(to),
                Repeat::Safe,
            )
            .await?;
        sns::is_opted_out(&leaves).map(Some)
    }

    /// SNS `ListPhoneNumbersOptedOut`, page after page while it answers a new `nextToken`: the
    /// numbers in the order listed, each once (numbers that are not E.164-shaped are skipped). Stops
    /// after 100 pages or 10,000 numbers (`sns::MAX_OPTED_OUT_PAGES`, `sns::MAX_OPTED_OUT_NUMBERS`)
    /// and answers what it has, with a warning logged; a page that fails fails the whole listing.
    /// Each page is a read: retried once after a transient failure.
    async fn opted_out_numbers(&self) -> Result<Option<Vec<String>>, ProviderError> {
        let mut numbers: Vec<String> = Vec::new();
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        let mut next_token: Option<String> = None;
        for _ in 0..sns::MAX_OPTED_OUT_PAGES {
            let leaves = self
                .sns(
                    "ListPhoneNumbersOptedOut",
                    "sns ListPhoneNumbersOptedOut",
                    &sns::list_opted_out_params(next_token.as_deref()),
                    Repeat::Safe,
                )
                .await?;
            let listed = sns::opted_out_page(&leaves)?;
            for n in listed.numbers {
                if seen.contains(&n) {
                    continue;
                }
                if numbers.len() >= sns::MAX_OPTED_OUT_NUMBERS {
                    tracing::warn!(
                        max = sns::MAX_OPTED_OUT_NUMBERS,
                        "SNS lists more opted-out numbers than we read; the rest are left out"
                    );
                    return Ok(Some(numbers));
                }
                seen.insert(n.clone());
                numbers.push(n);
            }
            match listed.next_token {
                None => return Ok(Some(numbers)),
                // A token that does not move on would list the same page again.
                Some(t) if next_token.as_deref() == Some(t.as_str()) => {
                    tracing::warn!(
                        "SNS answered the same nextToken again; the listing stops there"
                    );
                    return Ok(Some(numbers));
                }
                Some(t) => next_token = Some(t),
            }
        }
        tracing::warn!(
            pages = sns::MAX_OPTED_OUT_PAGES,
            "SNS lists more pages of opted-out numbers than we read; the rest are left out"
        );
        Ok(Some(numbers))
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
    async fn opted_out_asks_check_if_phone_number_is_opted_out_and_is_retried() {
        let xml = format!("<CheckIfPhoneNumberIsOptedOutResponse xmlns=\"{SNS_XMLNS}\"><CheckIfPhoneNumberIsOptedOutResult><isOptedOut>true</isOptedOut></CheckIfPhoneNumberIsOptedOutResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></CheckIfPhoneNumberIsOptedOutResponse>");
        let (base, seen) = fake(200, vec![("content-type", "text/xml")], xml.into_bytes()).await;
        assert_eq!(
            client(&base).opted_out("+447700900199").await,
            Ok(Some(true))
        );
        let form = form_of(&seen.lock().unwrap()[0].2);
        assert_eq!(get(&form, "Action"), Some("CheckIfPhoneNumberIsOptedOut"));
        assert_eq!(get(&form, "Version"), Some("2010-03-31"));
        assert_eq!(get(&form, "phoneNumber"), Some("+447700900199"));
        assert_eq!(get(&form, "PhoneNumber"), None, "lower camel case");
        // A read is tried once more after a server error.
        let (base, seen) = fake(503, vec![], b"<ErrorResponse><Error><Type>Receiver</Type><Code>InternalError</Code><Message>oops</Message></Error></ErrorResponse>".to_vec()).await;
        assert!(matches!(
            client(&base).opted_out("+14155550100").await,
            Err(ProviderError::Server { status: 503, .. })
        ));
        assert_eq!(seen.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn opted_out_numbers_follow_next_token_until_it_stops_moving() {
        // The fake answers every page alike: the second page names the same token again.
        let xml = format!("<ListPhoneNumbersOptedOutResponse xmlns=\"{SNS_XMLNS}\"><ListPhoneNumbersOptedOutResult><phoneNumbers><member>+447420500600</member><member>+15005550199</member></phoneNumbers><nextToken>again</nextToken></ListPhoneNumbersOptedOutResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ListPhoneNumbersOptedOutResponse>");
        let (base, seen) = fake(200, vec![], xml.into_bytes()).await;
        let numbers = client(&base).opted_out_numbers().await.unwrap();
        assert_eq!(
            numbers,
            Some(vec![
                "+447420500600".to_string(),
                "+15005550199".to_string()
            ]),
            "each number once"
        );
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        let first = form_of(&seen[0].2);
        assert_eq!(get(&first, "Action"), Some("ListPhoneNumbersOptedOut"));
        assert_eq!(get(&first, "nextToken"), None);
        assert_eq!(get(&form_of(&seen[1].2), "nextToken"), Some("again"));
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
}

//! The Twilio REST client: api v2010 and Lookup v2 over reqwest, Basic auth, form bodies,
//! typed errors, pagination, and retries with backoff and jitter for safe (read-only) calls only.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;

use crate::http;
use crate::models::{Account, AvailableNumber, IncomingNumber, LookupResult, Page, UsageRecord};
use crate::provider::{
    Lookups, Messaging, NumberSearch, NumberUpdate, Numbers, Provider, ProviderError, Usage, Voice,
    MAX_MEDIA_BYTES,
};

mod errors;
mod voice;
use errors::error_from;

pub const TWILIO_API: &str = "https://api.twilio.com";
pub const TWILIO_LOOKUPS: &str = "https://lookups.twilio.com";

/// How requests authenticate: the account's auth token, or an API key and secret.
#[derive(Clone)]
pub enum Credentials {
    AuthToken(SecretString),
    ApiKey { sid: String, secret: SecretString },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::AuthToken(_) => f.write_str("AuthToken([redacted])"),
            Credentials::ApiKey { sid, .. } => write!(f, "ApiKey({sid}, [redacted])"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct TwilioConfig {
    pub account_sid: String,
    pub credentials: Credentials,
    /// `https://api.twilio.com`, or the sandbox / a proxy.
    pub api_base: String,
    /// `https://lookups.twilio.com`, or the sandbox / a proxy.
    pub lookups_base: String,
    pub timeout: Duration,
    /// Extra attempts for safe requests after a transient failure.
    pub max_retries: u32,
    /// First backoff; doubled each retry, with up to 50% random jitter added.
    pub backoff: Duration,
    /// Whether the provider may be reached at loopback, private, link-local or other non-public
    /// addresses. Off for real providers (a provider URL must not reach into our network, e.g.
    /// the cloud metadata address); on for the sandbox and local fakes.
    pub allow_private_networks: bool,
    /// The largest recording `recording_media` streams (default [`MAX_MEDIA_BYTES`]).
    pub max_media_bytes: u64,
}

impl TwilioConfig {
    pub fn new(account_sid: &str, auth_token: &str) -> TwilioConfig {
        TwilioConfig {
            account_sid: account_sid.to_string(),
            credentials: Credentials::AuthToken(SecretString::from(auth_token.to_string())),
            api_base: TWILIO_API.into(),
            lookups_base: TWILIO_LOOKUPS.into(),
            timeout: Duration::from_secs(10),
            max_retries: 2,
            backoff: Duration::from_millis(200),
            allow_private_networks: false,
            max_media_bytes: MAX_MEDIA_BYTES,
        }
    }
}

#[derive(Clone, Debug)]
pub struct TwilioClient {
    http: reqwest::Client,
    cfg: TwilioConfig,
}

/// Whether a request may be sent again after a failure without changing its effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repeat {
    Safe,
    Never,
}

impl TwilioClient {
    pub fn new(cfg: TwilioConfig) -> Result<TwilioClient, ProviderError> {
        let http = http::client(cfg.timeout, cfg.allow_private_networks)?;
        Ok(TwilioClient { http, cfg })
    }

    fn account_url(&self, rest: &str) -> String {
        format!(
            "{}/2010-04-01/Accounts/{}{rest}",
            self.cfg.api_base.trim_end_matches('/'),
            self.cfg.account_sid
        )
    }

    fn auth(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.cfg.credentials {
            Credentials::AuthToken(t) => {
                rb.basic_auth(&self.cfg.account_sid, Some(t.expose_secret()))
            }
            Credentials::ApiKey { sid, secret } => rb.basic_auth(sid, Some(secret.expose_secret())),
        }
    }

    /// One request, logged and counted (`http::observe`).
    async fn send_once(
        &self,
        method: &Method,
        url: &str,
        form: &[(String, String)],
        whole: Duration,
        range: Option<&str>,
    ) -> Result<reqwest::Response, ProviderError> {
        let started = std::time::Instant::now();
        let res = self.request(method, url, form, whole, range).await;
        http::observe(
            &http::operation(method, url),
            &res.as_ref().map(reqwest::Response::status),
            started.elapsed(),
        );
        res
    }

    async fn request(
        &self,
        method: &Method,
        url: &str,
        form: &[(String, String)],
        whole: Duration,
        range: Option<&str>,
    ) -> Result<reqwest::Response, ProviderError> {
        // The resolver only sees names; an IP literal is checked here, before any connection.
        http::check_literal_host(url, self.cfg.allow_private_networks)?;
        let mut rb = self
            .auth(self.http.request(method.clone(), url))
            .timeout(whole);
        if let Some(r) = range {
            rb = rb.header(reqwest::header::RANGE, r);
        }
        if !form.is_empty() {
            rb = rb.form(form);
        }
        let res = rb.send().await.map_err(http::request_error)?;
        // Redirects are not followed (see `http::client`): a 3xx lands in `error_from`.
        if res.status().is_success() {
            return Ok(res);
        }
        Err(error_from(res).await)
    }

    /// Sends with retries (when `repeat` allows) and returns the successful response.
    async fn send(
        &self,
        method: Method,
        url: &str,
        form: &[(String, String)],
        repeat: Repeat,
    ) -> Result<reqwest::Response, ProviderError> {
        self.send_within(method, url, form, repeat, self.cfg.timeout, None)
            .await
    }

    /// As `send`, with `whole` as the limit of each attempt (body included).
    async fn send_within(
        &self,
        method: Method,
        url: &str,
        form: &[(String, String)],
        repeat: Repeat,
        whole: Duration,
        range: Option<&str>,
    ) -> Result<reqwest::Response, ProviderError> {
        let mut attempt = 0;
        loop {
            match self.send_once(&method, url, form, whole, range).await {
                Ok(r) => return Ok(r),
                Err(e)
                    if repeat == Repeat::Safe
                        && e.is_transient()
                        && !http::is_refusal(&e)
                        && !waits_too_long(&e)
                        && attempt < self.cfg.max_retries =>
                {
                    let wait = self.backoff_for(attempt, &e);
                    tracing::debug!(error = %e, attempt, ?wait, "retrying provider request");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn backoff_for(&self, attempt: u32, e: &ProviderError) -> Duration {
        // `waits_too_long` has already given up on longer waits.
        if let ProviderError::RateLimited {
            retry_after_secs: Some(s),
        } = e
        {
            return Duration::from_secs((*s).min(MAX_RETRY_WAIT_SECS));
        }
        let base = self
            .cfg
            .backoff
            .saturating_mul(2u32.saturating_pow(attempt));
        let jitter = rand::random::<f64>() * 0.5;
        base.mul_f64(1.0 + jitter)
    }

    async fn json<T: DeserializeOwned>(res: reqwest::Response) -> Result<T, ProviderError> {
        let bytes = http::read_capped(res, http::MAX_JSON_BYTES).await?;
        serde_json::from_slice(&bytes).map_err(|e| ProviderError::Decode(e.to_string()))
    }

    async fn value(res: reqwest::Response) -> Result<serde_json::Value, ProviderError> {
        Self::json(res).await
    }

    /// Follows `next_page_uri` until the last page (at most `max_pages`).
    async fn all_pages<T: DeserializeOwned>(
        &self,
        first_url: String,
        key: &str,
        max_pages: usize,
    ) -> Result<Vec<T>, ProviderError> {
        let mut items = Vec::new();
        let mut url = first_url;
        for _ in 0..max_pages {
            let v = Self::value(self.send(Method::GET, &url, &[], Repeat::Safe).await?).await?;
            let page: Page<T> =
                Page::from_json(v, key).map_err(|e| ProviderError::Decode(e.to_string()))?;
            items.extend(page.items);
            match page.next_page_uri {
                // Twilio sends a path relative to the API host; an absolute URL only at the same
                // origin (our credentials go with the next request).
                Some(next) => url = http::next_page_url(&self.cfg.api_base, &next)?,
                None => return Ok(items),
            }
        }
        Ok(items)
    }
}

fn push(form: &mut Vec<(String, String)>, key: &str, value: &Option<String>) {
    if let Some(v) = value {
        form.push((key.to_string(), v.clone()));
    }
}

fn update_form(u: &NumberUpdate) -> Vec<(String, String)> {
    let mut form = Vec::new();
    push(&mut form, "FriendlyName", &u.friendly_name);
    push(&mut form, "VoiceUrl", &u.voice_url);
    push(&mut form, "SmsUrl", &u.sms_url);
    push(&mut form, "StatusCallback", &u.status_callback);
    form
}

/// A day as Twilio's `StartDate` and `EndDate` take it: `YYYY-MM-DD` (nothing to encode).
fn twilio_date(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

fn encode(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes()).collect()
}

/// The longest `Retry-After` worth waiting for inside one request; a longer one is the caller's
/// to honour (the lookup cache stores it, capped), not a reason to hold the request open.
const MAX_RETRY_WAIT_SECS: u64 = 5;

fn waits_too_long(e: &ProviderError) -> bool {
    matches!(e, ProviderError::RateLimited { retry_after_secs: Some(s) } if *s > MAX_RETRY_WAIT_SECS)
}

#[async_trait]
impl Provider for TwilioClient {
    async fn test_connection(&self) -> Result<Account, ProviderError> {
        let res = self
            .send(Method::GET, &self.account_url(".json"), &[], Repeat::Safe)
            .await?;
        Self::json(res).await
    }

    fn lookups(&self) -> Result<&dyn Lookups, ProviderError> {
        Ok(self)
    }

    fn numbers(&self) -> Result<&dyn Numbers, ProviderError> {
        Ok(self)
    }

    fn voice(&self) -> Result<&dyn Voice, ProviderError> {
        Ok(self)
    }

    fn messaging(&self) -> Result<&dyn Messaging, ProviderError> {
        Ok(self)
    }

    fn usage(&self) -> Result<&dyn Usage, ProviderError> {
        Ok(self)
    }
}

#[async_trait]
impl Lookups for TwilioClient {
    async fn lookup(&self, e164: &str, caller_name: bool) -> Result<LookupResult, ProviderError> {
        let fields = if caller_name {
            "line_type_intelligence,caller_name"
        } else {
            "line_type_intelligence"
        };
        let url = format!(
            "{}/v2/PhoneNumbers/{}?Fields={fields}",
            self.cfg.lookups_base.trim_end_matches('/'),
            encode(e164)
        );
        let v = Self::value(self.send(Method::GET, &url, &[], Repeat::Safe).await?).await?;
        let mut r: LookupResult =
            serde_json::from_value(v.clone()).map_err(|e| ProviderError::Decode(e.to_string()))?;
        r.raw = v;
        Ok(r)
    }
}

#[async_trait]
impl Numbers for TwilioClient {
    async fn search_numbers(
        &self,
        q: &NumberSearch,
    ) -> Result<Vec<AvailableNumber>, ProviderError> {
        let kind = q
            .number_type
            .unwrap_or(crate::provider::NumberType::Local)
            .path();
        let mut params: Vec<(String, String)> = Vec::new();
        push(&mut params, "AreaCode", &q.area_code);
        push(&mut params, "Contains", &q.contains);
        push(&mut params, "InRegion", &q.region);
        push(&mut params, "InLocality", &q.locality);
        for (flag, name) in [
            (q.voice, "VoiceEnabled"),
            (q.sms, "SmsEnabled"),
            (q.mms, "MmsEnabled"),
        ] {
            if flag {
                params.push((name.into(), "true".into()));
            }
        }
        params.push(("PageSize".into(), q.page_size.unwrap_or(20).to_string()));
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&params)
            .finish();
        let url = self.account_url(&format!(
            "/AvailablePhoneNumbers/{}/{kind}.json?{query}",
            encode(&q.country.to_ascii_uppercase())
        ));
        let v = Self::value(self.send(Method::GET, &url, &[], Repeat::Safe).await?).await?;
        let page: Page<AvailableNumber> = Page::from_json(v, "available_phone_numbers")
            .map_err(|e| ProviderError::Decode(e.to_string()))?;
        Ok(page.items)
    }

    async fn buy_number(
        &self,
        phone_number: &str,
        setup: &NumberUpdate,
    ) -> Result<IncomingNumber, ProviderError> {
        let mut form = vec![("PhoneNumber".to_string(), phone_number.to_string())];
        form.extend(update_form(setup));
        let res = self
            .send(
                Method::POST,
                &self.account_url("/IncomingPhoneNumbers.json"),
                &form,
                Repeat::Never,
            )
            .await?;
        Self::json(res).await
    }

    async fn update_number(
        &self,
        sid: &str,
        update: &NumberUpdate,
    ) -> Result<IncomingNumber, ProviderError> {
        // Setting the same fields twice has the same effect, so this may be repeated.
        let url = self.account_url(&format!("/IncomingPhoneNumbers/{}.json", encode(sid)));
        let res = self
            .send(Method::POST, &url, &update_form(update), Repeat::Safe)
            .await?;
        Self::json(res).await
    }

    async fn release_number(&self, sid: &str) -> Result<(), ProviderError> {
        let url = self.account_url(&format!("/IncomingPhoneNumbers/{}.json", encode(sid)));
        self.send(Method::DELETE, &url, &[], Repeat::Safe)
            .await
            .map(|_| ())
    }

    async fn list_numbers(
        &self,
        phone_number: Option<&str>,
    ) -> Result<Vec<IncomingNumber>, ProviderError> {
        let mut url = self.account_url("/IncomingPhoneNumbers.json?PageSize=100");
        if let Some(n) = phone_number {
            url.push_str(&format!("&PhoneNumber={}", encode(n)));
        }
        self.all_pages(url, "incoming_phone_numbers", 100).await
    }
}

#[async_trait]
impl Usage for TwilioClient {
    async fn usage_records(
        &self,
        start: time::Date,
        end: time::Date,
    ) -> Result<Vec<UsageRecord>, ProviderError> {
        let url = self.account_url(&format!(
            "/Usage/Records.json?StartDate={}&EndDate={}&PageSize=1000",
            twilio_date(start),
            twilio_date(end)
        ));
        self.all_pages(url, "usage_records", 10).await
    }
}

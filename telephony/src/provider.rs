//! The provider interface PhoneHub needs, with provider-neutral errors: [`Provider`] checks the
//! credentials and hands out the capabilities a provider has ([`Lookups`], [`Numbers`], [`Voice`],
//! [`Messaging`], [`Usage`]). Twilio implements all of them (the sandbox speaks Twilio's wire
//! format, so it is reached through the same client); AWS only lookups and messaging.

use async_trait::async_trait;

use crate::models::{
    Account, AvailableNumber, Call, IncomingNumber, LookupResult, Message, Recording, UsageRecord,
};

/// Why a provider call failed, in terms the product can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// Bad credentials (HTTP 401, Twilio 20003).
    #[error("the provider rejected the credentials ({message})")]
    Auth { code: Option<u32>, message: String },
    /// The resource does not exist (HTTP 404, Twilio 20404).
    #[error("not found at the provider ({message})")]
    NotFound { code: Option<u32>, message: String },
    /// Too many requests; `retry_after_secs` when the provider said.
    #[error("the provider is rate limiting us")]
    RateLimited { retry_after_secs: Option<u64> },
    /// The provider refused the request (4xx), e.g. 21211 invalid To, 21452 no numbers.
    #[error("{message}")]
    Rejected {
        status: u16,
        code: Option<u32>,
        message: String,
        more_info: Option<String>,
    },
    /// The provider failed (5xx).
    #[error("the provider failed (HTTP {status})")]
    Server { status: u16, message: String },
    #[error("the provider did not answer in time")]
    Timeout,
    #[error("could not reach the provider: {0}")]
    Network(String),
    #[error("unexpected answer from the provider: {0}")]
    Decode(String),
    /// The provider lacks the capability (e.g. numbers or calls through AWS): the default answer
    /// of [`Provider`]'s accessors, before anything is sent. `operation` names it in words:
    /// "buying and managing numbers".
    #[error("the provider cannot do this: {operation}")]
    Unsupported { operation: &'static str },
}

impl ProviderError {
    /// The provider's own error code (Twilio's 5-digit codes), when it gave one.
    pub fn code(&self) -> Option<u32> {
        match self {
            ProviderError::Auth { code, .. }
            | ProviderError::NotFound { code, .. }
            | ProviderError::Rejected { code, .. } => *code,
            _ => None,
        }
    }

    /// Whether the same request may succeed later (worth a retry for safe operations).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ProviderError::RateLimited { .. }
                | ProviderError::Server { .. }
                | ProviderError::Timeout
                | ProviderError::Network(_)
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberType {
    Local,
    Mobile,
    TollFree,
}

impl NumberType {
    pub fn path(self) -> &'static str {
        match self {
            NumberType::Local => "Local",
            NumberType::Mobile => "Mobile",
            NumberType::TollFree => "TollFree",
        }
    }
}

/// Filters for searching numbers to buy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NumberSearch {
    /// ISO 3166 country, e.g. "US".
    pub country: String,
    pub number_type: Option<NumberType>,
    pub area_code: Option<String>,
    /// Digits or letters the number should contain (`Contains`).
    pub contains: Option<String>,
    pub voice: bool,
    pub sms: bool,
    pub mms: bool,
    pub region: Option<String>,
    pub locality: Option<String>,
    pub page_size: Option<u32>,
}

/// The URLs a bought number sends its traffic to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NumberUpdate {
    pub friendly_name: Option<String>,
    pub voice_url: Option<String>,
    pub sms_url: Option<String>,
    pub status_callback: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewCall {
    pub to: String,
    pub from: String,
    /// TwiML URL fetched when the call is answered.
    pub url: String,
    pub status_callback: Option<String>,
    /// initiated, ringing, answered, completed
    pub status_callback_events: Vec<String>,
    pub record: bool,
    pub recording_status_callback: Option<String>,
    /// The longest the call may last, in seconds (Twilio's `TimeLimit`; None: the provider's
    /// own maximum, four hours).
    pub time_limit_secs: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewMessage {
    pub to: String,
    pub from: String,
    pub body: String,
    pub status_callback: Option<String>,
}

/// The largest recording we stream from a provider (an hour of 8 kHz 16-bit WAV is ~58 MB; our
/// recordings are calls of minutes).
pub const MAX_MEDIA_BYTES: u64 = 50 * 1024 * 1024;

/// A byte range to ask for: `start-` or `start-end` (inclusive), as in `Range: bytes=…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    pub end: Option<u64>,
}

/// The bytes a partial answer holds: `start..=end` of `total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentRange {
    pub start: u64,
    pub end: u64,
    pub total: u64,
}

impl ContentRange {
    /// Reads `bytes start-end/total` and checks it answers `asked` within `cap` bytes.
    pub fn parse_for(header: &str, asked: ByteRange, cap: u64) -> Option<ContentRange> {
        let rest = header.trim().strip_prefix("bytes ")?;
        let (span, total) = rest.split_once('/')?;
        let (start, end) = span.split_once('-')?;
        let r = ContentRange {
            start: start.trim().parse().ok()?,
            end: end.trim().parse().ok()?,
            total: total.trim().parse().ok()?,
        };
        let fits = r.start == asked.start
            && r.end >= r.start
            && r.end < r.total
            && r.total <= cap
            && asked.end.is_none_or(|e| r.end <= e);
        fits.then_some(r)
    }

    /// How many bytes the range holds (never 0: `end >= start`).
    pub fn byte_count(&self) -> u64 {
        self.end - self.start + 1
    }
}

/// A recording's audio as the provider sends it, streamed rather than held in memory. The
/// provider's Content-Type is not carried: the caller knows the format it asked for.
pub struct Media {
    /// From the provider's Content-Length when it sent one (already checked ≤ MAX_MEDIA_BYTES).
    pub content_length: Option<u64>,
    /// When a byte range was asked for and the provider served exactly it (206 with a
    /// Content-Range that starts where asked, checked): which bytes `body` holds. `None`: the
    /// whole recording.
    pub range: Option<ContentRange>,
    /// The bytes; yields an error (then ends) once more than the cap has arrived.
    pub body: futures::stream::BoxStream<'static, Result<bytes::Bytes, ProviderError>>,
}

impl std::fmt::Debug for Media {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Media")
            .field("content_length", &self.content_length)
            .field("range", &self.range)
            .finish_non_exhaustive()
    }
}

/// A provider account as PhoneHub reaches it: the credentials check, which every provider has,
/// and the capabilities it offers. Each accessor answers the provider's implementation of that
/// capability, or [`ProviderError::Unsupported`] (the default) when it has none, so a caller
/// learns this before anything is sent: `client.numbers()?.buy_number(…)`.
#[async_trait]
pub trait Provider: Send + Sync {
    /// Checks the credentials by fetching the account.
    async fn test_connection(&self) -> Result<Account, ProviderError>;
    /// Number lookups (Twilio Lookup v2, Amazon Pinpoint).
    fn lookups(&self) -> Result<&dyn Lookups, ProviderError> {
        Err(ProviderError::Unsupported {
            operation: "looking up numbers",
        })
    }
    /// Searching, buying, changing, releasing and listing numbers.
    fn numbers(&self) -> Result<&dyn Numbers, ProviderError> {
        Err(ProviderError::Unsupported {
            operation: "buying and managing numbers",
        })
    }
    /// Calls and their recordings.
    fn voice(&self) -> Result<&dyn Voice, ProviderError> {
        Err(ProviderError::Unsupported {
            operation: "calls and recordings",
        })
    }
    /// Sending SMS.
    fn messaging(&self) -> Result<&dyn Messaging, ProviderError> {
        Err(ProviderError::Unsupported {
            operation: "sending SMS",
        })
    }
    /// What the provider billed (usage records), to reconcile statements with.
    fn usage(&self) -> Result<&dyn Usage, ProviderError> {
        Err(ProviderError::Unsupported {
            operation: "reading usage records",
        })
    }
}

/// Looking up what a number is: whether it is valid, its line type and carrier.
#[async_trait]
pub trait Lookups: Send + Sync {
    /// Lookup v2 with line type intelligence, and caller name when asked.
    async fn lookup(&self, e164: &str, caller_name: bool) -> Result<LookupResult, ProviderError>;
}

/// The numbers an account owns: finding them for sale, buying, configuring and releasing them.
#[async_trait]
pub trait Numbers: Send + Sync {
    async fn search_numbers(&self, q: &NumberSearch)
        -> Result<Vec<AvailableNumber>, ProviderError>;
    /// Buys a number. Never retried: a repeated purchase would buy twice.
    async fn buy_number(
        &self,
        phone_number: &str,
        setup: &NumberUpdate,
    ) -> Result<IncomingNumber, ProviderError>;
    async fn update_number(
        &self,
        sid: &str,
        update: &NumberUpdate,
    ) -> Result<IncomingNumber, ProviderError>;
    async fn release_number(&self, sid: &str) -> Result<(), ProviderError>;
    /// Every number the account owns (all pages), optionally only `phone_number`.
    async fn list_numbers(
        &self,
        phone_number: Option<&str>,
    ) -> Result<Vec<IncomingNumber>, ProviderError>;
}

/// Placing calls, following them, and fetching what they recorded.
#[async_trait]
pub trait Voice: Send + Sync {
    async fn create_call(&self, call: &NewCall) -> Result<Call, ProviderError>;
    async fn fetch_call(&self, sid: &str) -> Result<Call, ProviderError>;
    async fn list_recordings(
        &self,
        call_sid: Option<&str>,
    ) -> Result<Vec<Recording>, ProviderError>;
    async fn fetch_recording(&self, sid: &str) -> Result<Recording, ProviderError>;
    /// The recording's audio (`wav` or `mp3`), streamed and capped (see [`Media`]); `range`
    /// asks for part of it (a player seeking), which the provider may ignore.
    async fn recording_media(
        &self,
        sid: &str,
        format: &str,
        range: Option<ByteRange>,
    ) -> Result<Media, ProviderError>;
    /// Deletes a recording at the provider, its audio and its resource (Twilio's
    /// `DeleteRecording`). A recording already gone counts as deleted, so that a deletion retried
    /// after a lost answer succeeds. A SID that cannot be a recording's is refused before anything
    /// is sent.
    async fn delete_recording(&self, sid: &str) -> Result<(), ProviderError>;
}

/// Sending text messages, and what the provider knows of the people who asked not to get them.
#[async_trait]
pub trait Messaging: Send + Sync {
    async fn send_message(&self, msg: &NewMessage) -> Result<Message, ProviderError>;
    /// Whether the provider itself holds `to` (E.164) as opted out of this account's texts: Some
    /// for a provider that keeps a list it can be asked about (Amazon SNS), None for one that says
    /// so only by refusing a send (Twilio's error 21610).
    async fn opted_out(&self, _to: &str) -> Result<Option<bool>, ProviderError> {
        Ok(None)
    }
    /// Every number the provider holds as opted out (SNS `ListPhoneNumbersOptedOut`, following
    /// `nextToken`, at most 100 pages / 10,000 numbers), or None when it keeps no such list.
    async fn opted_out_numbers(&self) -> Result<Option<Vec<String>>, ProviderError> {
        Ok(None)
    }
    /// Erases the text of a message from the provider's records, keeping the rest of the message
    /// (Twilio: an update with an empty `Body`). `Ok(true)` once the provider holds no text for it
    /// (erased now, erased before, or the message is gone); `Ok(false)`, without a request, when
    /// the provider keeps no message bodies to redact (the default: Amazon SNS).
    async fn redact_message(&self, _sid: &str) -> Result<bool, ProviderError> {
        Ok(false)
    }
}

/// What the provider billed the account, as its usage records report it.
#[async_trait]
pub trait Usage: Send + Sync {
    /// The usage from `start` to `end` (both included, UTC days): a record per category used
    /// (Twilio's `calls`, `sms`, `phonenumbers`, …) and `totalprice`, the sum of all prices.
    async fn usage_records(
        &self,
        start: time::Date,
        end: time::Date,
    ) -> Result<Vec<UsageRecord>, ProviderError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::{AwsClient, AwsConfig};
    use crate::twilio::{TwilioClient, TwilioConfig};

    #[test]
    fn providers_offer_only_the_capabilities_they_have() {
        let aws = AwsClient::new(AwsConfig::new(
            "us-east-1",
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ))
        .unwrap();
        let aws: &dyn Provider = &aws;
        assert!(aws.lookups().is_ok());
        assert!(aws.messaging().is_ok());
        assert_eq!(
            aws.numbers().err(),
            Some(ProviderError::Unsupported {
                operation: "buying and managing numbers"
            })
        );
        assert_eq!(
            aws.voice().err(),
            Some(ProviderError::Unsupported {
                operation: "calls and recordings"
            })
        );
        assert_eq!(
            aws.usage().err(),
            Some(ProviderError::Unsupported {
                operation: "reading usage records"
            })
        );

        let twilio = TwilioClient::new(TwilioConfig::new(
            "AC00000000000000000000000000000001",
            "an-auth-token",
        ))
        .unwrap();
        let twilio: &dyn Provider = &twilio;
        assert!(twilio.lookups().is_ok());
        assert!(twilio.numbers().is_ok());
        assert!(twilio.voice().is_ok());
        assert!(twilio.messaging().is_ok());
        assert!(twilio.usage().is_ok());
    }

    #[tokio::test]
    async fn twilio_keeps_no_opt_out_list_to_ask() {
        let twilio = TwilioClient::new(TwilioConfig::new(
            "AC00000000000000000000000000000001",
            "an-auth-token",
        ))
        .unwrap();
        let m = twilio.messaging().unwrap();
        // Answered without a request: the account SID above is not reachable.
        assert_eq!(m.opted_out("+14155550100").await, Ok(None));
        assert_eq!(m.opted_out_numbers().await, Ok(None));
    }

    #[tokio::test]
    async fn sids_that_cannot_be_a_recordings_or_a_messages_are_refused_before_sending() {
        let twilio = TwilioClient::new(TwilioConfig::new(
            "AC00000000000000000000000000000001",
            "an-auth-token",
        ))
        .unwrap();
        let refused = |r: Result<(), ProviderError>| {
            matches!(
                r,
                Err(ProviderError::Rejected {
                    status: 400,
                    code: None,
                    ..
                })
            )
        };
        let long = format!("RE{}", "0".repeat(63));
        for bad in [
            "",
            "RE",
            "CA0123456789abcdef0123456789abcdef",
            "re0123456789abcdef0123456789abcdef",
            "RE0123/../../Calls",
            "RE01234567 89",
            "RE01234567%2F89",
            long.as_str(),
        ] {
            assert!(
                refused(twilio.delete_recording(bad).await),
                "recording {bad:?}"
            );
        }
        for bad in [
            "",
            "SM",
            "RE0123456789abcdef0123456789abcdef",
            "SM0123.json",
        ] {
            assert!(
                refused(twilio.redact_message(bad).await.map(|_| ())),
                "message {bad:?}"
            );
        }
    }

    #[tokio::test]
    async fn aws_keeps_no_message_bodies_to_redact() {
        let aws = AwsClient::new(AwsConfig::new(
            "us-east-1",
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ))
        .unwrap();
        // Answered without a request (`tests/aws.rs` checks that none reaches the sandbox).
        assert_eq!(
            aws.messaging()
                .unwrap()
                .redact_message("0a1b2c3d-0000-4000-8000-000000000000")
                .await,
            Ok(false)
        );
    }
}

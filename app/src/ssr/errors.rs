//! The ways a use case fails, as types: a lookup, a purchase, a call, a recording, a message, a
//! provider client, an hourly limit or a destination. The words a person reads for each are
//! chosen in `words.rs`; the feature modules return these.

use telephony::ProviderError;
use time::OffsetDateTime;

use crate::model::destinations::{Channel, DestKey};

/// Why no client can be built from a configuration (the words are chosen in `ssr::words`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error("the configuration has no auth token")]
    NoToken,
    #[error("the stored auth token cannot be decrypted: {0}")]
    Unreadable(String),
    #[error("the configuration is unusable: {0}")]
    Invalid(String),
    /// The stored token was saved for another destination; it is never sent to this one.
    #[error("the auth token was saved for another destination")]
    TokenElsewhere,
    #[error("the development sandbox is not available on this server")]
    NoSandbox,
}

/// Why there is no provider client to use.
#[derive(Debug, thiserror::Error)]
pub enum NoProvider {
    #[error("the org has no active phone configuration")]
    NotConfigured,
    #[error("phone configuration {0} no longer exists")]
    ConfigGone(i64),
    #[error("the phone configuration cannot be used")]
    Unusable(#[source] BuildError),
    #[error("the database failed")]
    Db(#[from] sqlx::Error),
}

/// The things a user may do only so often an hour (the `limits` table, else the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    Purchase,
    Call,
    Sms,
}

/// Why a limited row was not written.
#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    #[error("the hourly limit of {limit} ({what:?}) is reached")]
    Reached { what: Limited, limit: i64 },
    #[error("the database failed")]
    Db(#[from] sqlx::Error),
}

/// The hard cap a paid action would pass: what a person reads names it and who can raise it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CappedBudget {
    pub budget_id: i64,
    /// The member's e-mail; None: the whole org's budget.
    pub member: Option<String>,
    /// `calls`, `sms`, `lookups`, `numbers`; None: everything.
    pub category: Option<String>,
    /// `day` or `month`.
    pub period: String,
    pub amount_micros: i64,
    pub left_micros: i64,
}

/// Why the money guard refused a paid action (before any provider request).
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error("the budget {} would be passed", .0.budget_id)]
    Capped(CappedBudget),
    #[error("the database failed")]
    Db(#[from] sqlx::Error),
}

/// Why a call or text may not go where it was sent (refused before any provider request; the
/// words are chosen in `ssr::words::refusal`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A range of the shipped blocked list: the number's start as people write it ("+1 900"),
    /// and the range's kind (`premium`, `satellite`, …).
    Blocked { shown: String, kind: String },
    /// A country the org does not allow (None: a number of no country, such as +882); `cc` is
    /// the number's country calling code.
    Country {
        channel: Channel,
        country: Option<String>,
        cc: u16,
    },
    /// Over the org's maximum price: per text, or per call minute.
    Price {
        channel: Channel,
        micros: i64,
        max_micros: i64,
    },
    /// Sends there are paused by the velocity rule until an owner or admin resumes them.
    Paused {
        channel: Channel,
        key: DestKey,
        per_hour: i32,
    },
}

impl Refusal {
    /// As counted (`destination_refusals.reason`).
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::Blocked { .. } => "blocked",
            Refusal::Country { .. } => "country",
            Refusal::Price { .. } => "price",
            Refusal::Paused { .. } => "paused",
        }
    }
}

/// Why the destination guard refused a call or text, or could not decide.
#[derive(Debug, thiserror::Error)]
pub enum DestinationError {
    #[error("the destination is refused ({})", .0.reason())]
    Refused(Refusal),
    #[error("the database failed")]
    Db(#[from] sqlx::Error),
}

/// Why a lookup gave no answer (the words are chosen in `ssr::words::lookup`).
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("the org has no phone configuration")]
    NoConfig,
    #[error("lookups are off in the org's configuration")]
    Disabled,
    #[error("caller-name lookups are off in the org's configuration")]
    CallerNameOff,
    #[error("the provider rejected the org's credentials")]
    Credentials,
    #[error("no provider client for the configuration")]
    Unusable(#[source] BuildError),
    /// A failure that belongs to the asking configuration (a refusal of its account, or any
    /// failure of an org's own configuration): not stored on the shared row.
    #[error("the provider refused this configuration's lookup")]
    Refused(#[source] ProviderError),
    /// A failure about the number, stored on the shared row with a retry time.
    #[error("the provider failed to look the number up")]
    Failed(#[source] ProviderError),
    /// An earlier failure about the number, not asked again until `until`.
    #[error("backing off after a failure: {message}")]
    BackingOff {
        message: String,
        until: OffsetDateTime,
    },
    /// A stored number that no longer parses (bulk jobs).
    #[error("the number does not parse")]
    BadNumber(#[source] telephony::PhoneError),
    /// Waited for another request's lookup of the number for too long.
    #[error("another request is still looking the number up")]
    Busy,
    /// The leader's lease ran out before it stored the answer (internal: the request waits
    /// for the new leader instead).
    #[error("the lookup's lease ran out")]
    LostLease,
    /// A hard cap refuses the paid lookup (nothing was asked).
    #[error(transparent)]
    Guard(#[from] GuardError),
    #[error("database error")]
    Db(#[from] sqlx::Error),
}

/// Why a number was not found, bought, released or sent a simulation (the words are chosen in
/// `ssr::words`).
#[derive(Debug, thiserror::Error)]
pub enum NumberError {
    #[error("an earlier submission of this purchase is still open")]
    StillPurchasing,
    #[error("an earlier submission of this purchase failed")]
    FailedBefore(Option<String>),
    #[error("the same purchase is being made by another request")]
    AlreadyBuying,
    #[error("the number is already held by an org here")]
    Taken,
    #[error("the provider did not answer the purchase")]
    OutcomeUnknown(#[source] ProviderError),
    #[error("the provider refused the purchase")]
    PurchaseRefused(#[source] ProviderError),
    #[error("the provider refused the search")]
    Search {
        #[source]
        source: ProviderError,
        area_code: String,
    },
    #[error("the provider failed")]
    Provider(#[source] ProviderError),
    #[error("the number is not held")]
    NotReleasable,
    #[error("the number's configuration is not the sandbox")]
    NotSandbox,
    #[error("the sandbox is not enabled on this server")]
    NoSandbox,
    #[error("the sandbox configuration has no readable token")]
    SandboxNoToken,
    #[error("the sandbox could not be reached")]
    SandboxUnreachable(#[source] reqwest::Error),
    #[error("the sandbox refused: {0}")]
    SandboxRefused(String),
    #[error("the HTTP client could not be built")]
    Client(#[source] ProviderError),
    #[error(transparent)]
    NoProvider(#[from] NoProvider),
    #[error(transparent)]
    Limited(#[from] LimitError),
    #[error(transparent)]
    Guard(#[from] GuardError),
    #[error("the database failed")]
    Db(#[from] sqlx::Error),
}

/// Why a call was not placed (the words are chosen in `ssr::words`).
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("the number is not the user's nor shared in the org")]
    NotYours,
    #[error("the number is inactive")]
    Inactive,
    #[error("the number has no voice capability")]
    NoVoice,
    #[error("the number has no phone to ring first")]
    NoBridge,
    #[error("the destination is the caller's own number")]
    OwnNumber,
    /// The destination is on the org's do-not-call list (an exact number, or "+1900…").
    #[error("the destination is on the org's do-not-call list")]
    DoNotCall { entry: String },
    /// The number's "Forward calls to" phone, rung first, is on the do-not-call list.
    #[error("the phone rung first is on the org's do-not-call list")]
    BridgeDoNotCall { entry: String },
    #[error("the provider refused the call")]
    Provider(#[source] ProviderError),
    #[error(transparent)]
    NoProvider(#[from] NoProvider),
    #[error(transparent)]
    Limited(#[from] LimitError),
    #[error(transparent)]
    Guard(#[from] GuardError),
    #[error(transparent)]
    Destination(#[from] DestinationError),
    #[error("the database failed")]
    Db(#[from] sqlx::Error),
}

/// Why a recording cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    #[error("no such recording for this user")]
    NotFound,
    #[error("the provider could not send the recording")]
    Provider(#[source] ProviderError),
    #[error(transparent)]
    NoProvider(#[from] NoProvider),
    #[error("the database failed")]
    Db(#[from] sqlx::Error),
}

/// Why a message was not sent (the words are chosen in `ssr::words`).
#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    #[error("the sender is not one the user may send from")]
    NotASender,
    #[error("the sender and the recipient are the same number")]
    TextsItself,
    /// The recipient is opted out of the org's texts (the sentence says since when and how).
    #[error("the recipient opted out")]
    OptedOut(String),
    #[error("the provider refused the message")]
    Provider(#[source] ProviderError),
    #[error(transparent)]
    NoProvider(#[from] NoProvider),
    #[error(transparent)]
    Limited(#[from] LimitError),
    #[error(transparent)]
    Guard(#[from] GuardError),
    #[error(transparent)]
    Destination(#[from] DestinationError),
    #[error("the database failed")]
    Db(#[from] sqlx::Error),
}

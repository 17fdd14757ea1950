//! The provider-facing layer of PhoneHub: E.164 phone numbers, the provider interface and its
//! Twilio client, the AWS client (SNS and Pinpoint), and Twilio webhook signatures.

pub mod aws;
pub mod e164;
pub mod http;
pub mod models;
pub mod provider;
/// A Twilio-compatible simulator, for development and tests (the `sandbox` feature).
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod signature;
pub mod twilio;

pub use aws::{AwsClient, AwsConfig};
pub use e164::{PhoneError, E164};
pub use provider::{
    ByteRange, ContentRange, Lookups, Media, Messaging, Numbers, Provider, ProviderError, Usage,
    Voice, MAX_MEDIA_BYTES,
};
pub use twilio::{TwilioClient, TwilioConfig};

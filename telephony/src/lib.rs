//! The provider-facing layer of PhoneHub: E.164 phone numbers and Twilio webhook signatures.

pub mod e164;
pub mod signature;

pub use e164::{PhoneError, E164};

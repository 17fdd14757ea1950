//! SMS as the pages see them, and the segment rules (shared by the browser's live count and the
//! server's cost).

use serde::{Deserialize, Serialize};

use super::message_status::MessageStatus;
use super::OrgView;

pub const MAX_BODY: usize = 1600;

// The segment rules live in the `sms-segments` crate (one copy, shared with the Twilio sandbox).
pub use sms_segments::{segments, Segments};

/// What a message's status reads as (a test message was never sent).
pub fn status_label(status: MessageStatus, is_test: bool) -> &'static str {
    if is_test {
        "Test — not sent"
    } else {
        status.label()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    pub our: String,
    pub other: String,
    /// `other` as people in the org's country write it.
    pub other_shown: String,
    pub last_body: String,
    pub last_at: String,
    pub last_direction: String,
    pub count: i64,
}

impl Conversation {
    /// The SMS page's query that opens this conversation (`our=…&with=…`).
    pub fn thread_query(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("our", &self.our)
            .append_pair("with", &self.other)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageView {
    pub id: i64,
    pub direction: String,
    pub body: String,
    pub status: MessageStatus,
    pub is_test: bool,
    pub segments: i32,
    pub cost: String,
    pub at: String,
    pub error: Option<String>,
    pub user: String,
    /// A scheduled text: when its recipient's window opens ("2026-12-09 16:00 UTC").
    pub send_after: Option<String>,
    /// The viewer may cancel it (scheduled, and theirs or they manage the org).
    pub can_cancel: bool,
}

/// A number (or the org's sender) the user may send from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sender {
    pub e164: String,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsPage {
    pub org: OrgView,
    pub can_send: bool,
    pub conversations: Vec<Conversation>,
    /// The open conversation (`?our=…&with=…`), oldest first.
    pub thread: Option<(String, String, Vec<MessageView>)>,
    /// The open conversation's other party opted out of the org's texts: since when and how.
    pub opted_out: Option<String>,
    pub senders: Vec<Sender>,
    /// Price of one segment, for the estimate ("$0.0079").
    pub segment_micros: i64,
    /// The effective configuration is in test mode: messages are recorded, not sent.
    pub test_mode: bool,
    /// The viewer may mark a text urgent (it goes even in the recipient's quiet hours).
    pub may_send_urgent: bool,
    /// The org's quiet hours in a sentence.
    pub quiet: String,
}

/// A message body as the send form and the sandbox's simulation take it.
pub fn check_body(body: &str) -> Result<(), crate::error::AppError> {
    if body.trim().is_empty() {
        return Err(crate::error::AppError::validation(
            "body",
            "Write a message.",
        ));
    }
    let n = body.chars().count();
    if n > MAX_BODY {
        return Err(crate::error::AppError::validation(
            "body",
            format!("A message can be at most {MAX_BODY} characters; this one has {n}."),
        ));
    }
    if body
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(crate::error::AppError::validation(
            "body",
            "The message contains control characters; remove them.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_message_reads_as_never_sent() {
        assert_eq!(status_label(MessageStatus::Queued, true), "Test — not sent");
        assert_eq!(status_label(MessageStatus::Delivered, false), "Delivered");
    }
}

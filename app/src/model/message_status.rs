//! `MessageStatus`: where an SMS stands, and the one order its delivery statuses move in.

use serde::{Deserialize, Serialize};

/// The `messages.status` column (its CHECK lists exactly these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ssr", derive(sqlx::Type))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "lowercase"))]
pub enum MessageStatus {
    Queued,
    Sending,
    Sent,
    Delivered,
    Undelivered,
    Failed,
    /// An inbound message.
    Received,
    /// Kept, not sent: sends to its destination are paused (the pumping guard) until an owner
    /// or admin resumes them.
    Held,
    /// Kept, not sent yet: written in the recipient's quiet hours, it goes when their sending
    /// window opens (`messages.send_after`).
    Scheduled,
    /// A scheduled text its sender or an admin canceled: never sent.
    Canceled,
}

impl MessageStatus {
    pub const ALL: [MessageStatus; 10] = [
        MessageStatus::Queued,
        MessageStatus::Sending,
        MessageStatus::Sent,
        MessageStatus::Delivered,
        MessageStatus::Undelivered,
        MessageStatus::Failed,
        MessageStatus::Received,
        MessageStatus::Held,
        MessageStatus::Scheduled,
        MessageStatus::Canceled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Queued => "queued",
            MessageStatus::Sending => "sending",
            MessageStatus::Sent => "sent",
            MessageStatus::Delivered => "delivered",
            MessageStatus::Undelivered => "undelivered",
            MessageStatus::Failed => "failed",
            MessageStatus::Received => "received",
            MessageStatus::Held => "held",
            MessageStatus::Scheduled => "scheduled",
            MessageStatus::Canceled => "canceled",
        }
    }

    pub fn parse(s: &str) -> Option<MessageStatus> {
        MessageStatus::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// Delivery statuses only move forward; rank 3 is final (a held message moves only when its
    /// destination is resumed, never by a callback).
    pub fn rank(self) -> u8 {
        match self {
            MessageStatus::Queued => 0,
            MessageStatus::Sending => 1,
            MessageStatus::Sent => 2,
            MessageStatus::Delivered
            | MessageStatus::Undelivered
            | MessageStatus::Failed
            | MessageStatus::Received
            | MessageStatus::Held
            | MessageStatus::Scheduled
            | MessageStatus::Canceled => 3,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            MessageStatus::Queued => "Queued",
            MessageStatus::Sending => "Sending",
            MessageStatus::Sent => "Sent",
            MessageStatus::Delivered => "Delivered",
            MessageStatus::Undelivered => "Undelivered",
            MessageStatus::Failed => "Failed",
            MessageStatus::Received => "Received",
            MessageStatus::Held => "Held (destination paused)",
            MessageStatus::Scheduled => "Scheduled (quiet hours)",
            MessageStatus::Canceled => "Canceled",
        }
    }

    /// The statuses a message may move to `self` from (those ranked before it).
    pub fn earlier(self) -> Vec<MessageStatus> {
        MessageStatus::ALL
            .into_iter()
            .filter(|s| s.rank() < self.rank())
            .collect()
    }
}

impl std::fmt::Display for MessageStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MessageStatus::*;

    #[test]
    fn delivery_statuses_only_move_forward() {
        assert_eq!(Queued.earlier(), vec![]);
        assert_eq!(Sent.earlier(), vec![Queued, Sending]);
        assert_eq!(Delivered.earlier(), vec![Queued, Sending, Sent]);
        assert_eq!(Failed.earlier(), Delivered.earlier());
        assert!(
            !Delivered.earlier().contains(&Held),
            "no callback moves a held message"
        );
        for s in MessageStatus::ALL {
            assert_eq!(MessageStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
    }
}

//! Alerts that reach people: the notifications a member reads (the nav's bell and their page),
//! and the org's webhook endpoints with their delivery log, as the pages and `/v1` show them.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::OrgView;

/// Notifications a page lists (the newest).
pub const MAX_LISTED: i64 = 100;

/// Webhook endpoints an org may have.
pub const MAX_WEBHOOKS: i64 = 10;

/// The longest webhook URL accepted.
pub const MAX_URL_CHARS: usize = 2000;

/// One notification of the viewer in this org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationView {
    pub id: i64,
    pub title: String,
    /// Plain text (line breaks kept).
    pub body: String,
    /// A path of this site to open about it, if any.
    pub link: Option<String>,
    /// "2026-12-06 14:05 UTC".
    pub created: String,
    /// RFC 3339.
    pub created_iso: String,
    pub unread: bool,
}

/// `/o/:org/notifications`: the viewer's newest notifications in the org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationsPage {
    pub org: OrgView,
    pub notifications: Vec<NotificationView>,
    pub unread: i64,
}

/// The nav bar's bell: the unread count of the org the nav shows (counted up to `BELL_CAP`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bell {
    pub org: String,
    pub unread: i64,
}

/// The bell counts this far; more shows as "99+".
pub const BELL_CAP: i64 = 100;

impl Bell {
    /// The badge: the count, or "99+".
    pub fn badge(&self) -> String {
        if self.unread > 99 {
            "99+".into()
        } else {
            self.unread.to_string()
        }
    }

    /// What a screen reader says for the bell.
    pub fn label(&self) -> String {
        match self.unread {
            n if n > 99 => "Notifications, more than 99 unread".into(),
            n => format!("Notifications, {n} unread"),
        }
    }
}

/// A webhook endpoint of the org (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookView {
    pub id: i64,
    pub url: String,
    pub active: bool,
    /// "2026-12-06 14:05 UTC".
    pub created: String,
    /// RFC 3339.
    pub created_iso: String,
    /// Who added it (None: an account since deleted).
    pub created_by: Option<String>,
}

/// `/o/:org/admin/webhooks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhooksPage {
    pub org: OrgView,
    pub webhooks: Vec<WebhookView>,
    pub can_manage: bool,
    /// Whether the server accepts plain-http URLs (development only).
    pub http_allowed: bool,
}

/// A webhook just added, with its signing secret: the only time the secret is shown.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewWebhook {
    pub webhook: WebhookView,
    pub secret: String,
}

impl fmt::Debug for NewWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewWebhook")
            .field("webhook", &self.webhook)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Waiting for its next try.
    Pending,
    /// Answered 2xx.
    Delivered,
    /// Not answered 2xx within a day of tries.
    Failed,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 3] = [
        DeliveryState::Pending,
        DeliveryState::Delivered,
        DeliveryState::Failed,
    ];

    /// As stored and as `/v1` writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryState> {
        DeliveryState::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            DeliveryState::Pending => "Pending",
            DeliveryState::Delivered => "Delivered",
            DeliveryState::Failed => "Failed",
        }
    }
}

/// One try of a delivery: the receiver's status, or why there was none, and the start of its
/// answer (untrusted text: shown escaped, never as markup).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptView {
    pub n: i32,
    /// "2026-12-06 14:05:09 UTC".
    pub at: String,
    pub at_iso: String,
    pub status: Option<i32>,
    pub error: Option<String>,
    pub excerpt: String,
}

/// One event sent to the endpoint, with its tries (first try first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryView {
    pub id: i64,
    pub event_id: String,
    pub event: String,
    pub state: DeliveryState,
    pub attempts: i32,
    pub created: String,
    pub created_iso: String,
    pub last_status: Option<i32>,
    pub delivered_iso: Option<String>,
    pub tries: Vec<AttemptView>,
}

/// `/o/:org/admin/webhooks/:id`: an endpoint and its newest deliveries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookLogPage {
    pub org: OrgView,
    pub webhook: WebhookView,
    pub deliveries: Vec<DeliveryView>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bell_counts_to_99_and_says_how_many() {
        let bell = |n| Bell {
            org: "acme".into(),
            unread: n,
        };
        assert_eq!(bell(2).label(), "Notifications, 2 unread");
        assert_eq!(bell(2).badge(), "2");
        assert_eq!(bell(100).badge(), "99+");
        assert_eq!(bell(100).label(), "Notifications, more than 99 unread");
    }

    #[test]
    fn a_new_webhooks_debug_hides_its_secret() {
        let w = NewWebhook {
            webhook: WebhookView {
                id: 1,
                url: "https://hooks.example.com/x".into(),
                active: true,
                created: String::new(),
                created_iso: String::new(),
                created_by: None,
            },
            secret: "whsec_topsecret".into(),
        };
        assert!(!format!("{w:?}").contains("topsecret"));
    }

    #[test]
    fn delivery_states_read_back() {
        for s in DeliveryState::ALL {
            assert_eq!(DeliveryState::parse(s.as_str()), Some(s));
        }
        assert_eq!(DeliveryState::parse("lost"), None);
    }
}

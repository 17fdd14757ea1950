//! SMS as the pages see them, and the segment rules (shared by the browser's live count and the
//! server's cost).

use serde::{Deserialize, Serialize};

use super::OrgView;

pub const MAX_BODY: usize = 1600;

/// GSM 03.38 basic character set.
const GSM7: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// The extension table: each takes two septets (an escape and the character).
const GSM7_EXT: &str = "^{}\\[~]|€\x0c";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segments {
    /// True for GSM-7, false for UCS-2.
    pub gsm7: bool,
    /// Septets (GSM-7) or UTF-16 code units (UCS-2).
    pub units: usize,
    pub count: u32,
    /// Units per segment at this length (160/153 or 70/67).
    pub per_segment: usize,
}

impl Segments {
    pub fn encoding(&self) -> &'static str {
        if self.gsm7 {
            "gsm7"
        } else {
            "ucs2"
        }
    }

    /// "2 segments · GSM-7 · 170 of 306 characters".
    pub fn describe(&self) -> String {
        let enc = if self.gsm7 {
            "GSM-7"
        } else {
            "UCS-2 (Unicode)"
        };
        let cap = self.per_segment * self.count.max(1) as usize;
        format!(
            "{} segment{} · {enc} · {} of {cap} characters",
            self.count,
            if self.count == 1 { "" } else { "s" },
            self.units
        )
    }
}

/// How a body is split into SMS segments: GSM-7 when every character is in the GSM set
/// (extension characters count double), else UCS-2; 160/70 in one segment, 153/67 per segment
/// of a longer message.
pub fn segments(body: &str) -> Segments {
    let gsm7 = body
        .chars()
        .all(|c| GSM7.contains(c) || GSM7_EXT.contains(c));
    let (units, single, multi) = if gsm7 {
        let septets = body
            .chars()
            .map(|c| if GSM7_EXT.contains(c) { 2 } else { 1 })
            .sum();
        (septets, 160, 153)
    } else {
        (body.encode_utf16().count(), 70, 67)
    };
    let (count, per_segment) = if units == 0 {
        (0, single)
    } else if units <= single {
        (1, single)
    } else {
        (units.div_ceil(multi) as u32, multi)
    };
    Segments {
        gsm7,
        units,
        count,
        per_segment,
    }
}

pub fn status_label(status: &str, is_test: bool) -> &'static str {
    if is_test {
        return "Test — not sent";
    }
    match status {
        "queued" => "Queued",
        "sending" => "Sending",
        "sent" => "Sent",
        "delivered" => "Delivered",
        "failed" => "Failed",
        "undelivered" => "Undelivered",
        "received" => "Received",
        _ => "Unknown",
    }
}

/// Delivery statuses only move forward; the last three are final.
pub fn rank(status: &str) -> u8 {
    match status {
        "queued" => 0,
        "sending" => 1,
        "sent" => 2,
        "delivered" | "undelivered" | "failed" => 3,
        _ => 0,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    pub our: String,
    pub other: String,
    pub last_body: String,
    pub last_at: String,
    pub last_direction: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageView {
    pub id: i64,
    pub direction: String,
    pub body: String,
    pub status: String,
    pub is_test: bool,
    pub segments: i32,
    pub cost: String,
    pub at: String,
    pub error: Option<String>,
    pub user: String,
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
    pub senders: Vec<Sender>,
    /// Price of one segment, for the estimate ("$0.0079").
    pub segment_micros: i64,
    /// The effective configuration is in test mode: messages are recorded, not sent.
    pub test_mode: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_table() {
        let a = |n: usize| "a".repeat(n);
        for (body, gsm7, units, count) in [
            (String::new(), true, 0, 0),
            (a(1), true, 1, 1),
            (a(160), true, 160, 1),
            (a(161), true, 161, 2),
            (a(306), true, 306, 2),
            (a(307), true, 307, 3),
            // Extension characters take two septets.
            ("€".repeat(80), true, 160, 1),
            (format!("{}€", a(159)), true, 161, 2),
            ("[]{}".to_string(), true, 8, 1),
            // One emoji switches the whole message to UCS-2 (and is two UTF-16 units).
            (format!("{}😀", a(68)), false, 70, 1),
            (format!("{}😀", a(69)), false, 71, 2),
            ("é".repeat(160), true, 160, 1),
            ("ç".repeat(70), false, 70, 1),
            ("ç".repeat(71), false, 71, 2),
            ("ç".repeat(134), false, 134, 2),
            ("ç".repeat(135), false, 135, 3),
        ] {
            let s = segments(&body);
            assert_eq!((s.gsm7, s.units, s.count), (gsm7, units, count), "{body:?}");
        }
        assert_eq!(
            segments(&a(170)).describe(),
            "2 segments · GSM-7 · 170 of 306 characters"
        );
    }

    #[test]
    fn delivery_statuses_only_move_forward() {
        assert!(rank("delivered") > rank("sent"));
        assert!(rank("sent") > rank("queued"));
        assert_eq!(rank("undelivered"), rank("delivered"));
        assert_eq!(status_label("queued", true), "Test — not sent");
    }
}

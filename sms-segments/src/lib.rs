//! How many SMS segments a text takes (GSM-7 or UCS-2): one rule for the portal and the sandbox.

/// GSM 03.38 basic character set.
const GSM7: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// The extension table: each takes two septets (an escape and the character).
const GSM7_EXT: &str = "^{}\\[~]|€\x0c";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segments {
    /// True for GSM-7, false for UCS-2.
    pub gsm7: bool,
    /// Septets (GSM-7) or UTF-16 code units (UCS-2).
    pub units: usize,
    /// Segments the text takes; 0 for an empty text.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_follow_gsm7_and_ucs2_rules() {
        let a = |n: usize| "a".repeat(n);
        for (body, gsm7, units, count) in [
            (String::new(), true, 0, 0),
            (a(1), true, 1, 1),
            ("hello".to_string(), true, 5, 1),
            (a(160), true, 160, 1),
            (a(161), true, 161, 2),
            (a(306), true, 306, 2),
            (a(307), true, 307, 3),
            // Extension characters take two septets: 80 euro signs fill one segment.
            ("€".repeat(80), true, 160, 1),
            ("€".repeat(81), true, 162, 2),
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
    }

    #[test]
    fn a_count_is_described_with_its_encoding_and_room() {
        let s = segments(&"a".repeat(170));
        assert_eq!(s.describe(), "2 segments · GSM-7 · 170 of 306 characters");
        assert_eq!(s.encoding(), "gsm7");
        let u = segments("ç");
        assert_eq!(
            u.describe(),
            "1 segment · UCS-2 (Unicode) · 1 of 70 characters"
        );
        assert_eq!(u.encoding(), "ucs2");
    }
}

//! Quiet hours: the window of the recipient's local day in which the org's texts go out, its
//! presets (the federal rule and the stricter US states'), and the form's checks.

use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// A named window: (form value, label, start minute, end minute).
pub struct Preset {
    pub value: &'static str,
    pub label: &'static str,
    pub start: i32,
    pub end: i32,
}

/// The presets the form offers; "custom" takes the times typed.
pub const PRESETS: [Preset; 3] = [
    Preset {
        value: "federal",
        label: "8:00–21:00 (US federal rule, TCPA)",
        start: 8 * 60,
        end: 21 * 60,
    },
    Preset {
        value: "strict",
        label: "8:00–20:00 (Florida, Oklahoma, Maryland, Washington)",
        start: 8 * 60,
        end: 20 * 60,
    },
    Preset {
        value: "texas",
        label: "9:00–21:00 (Texas, Monday to Saturday)",
        start: 9 * 60,
        end: 21 * 60,
    },
];

/// The window with no setting saved: 8:00 to 21:00, on.
pub const DEFAULT_START: i32 = 8 * 60;
pub const DEFAULT_END: i32 = 21 * 60;

/// The org's quiet hours as the page and `/v1/quiet-hours` show them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuietHoursView {
    pub enabled: bool,
    /// "08:00".
    pub start: String,
    /// "21:00" ("24:00": until midnight).
    pub end: String,
    /// The preset the window is, or "custom".
    pub preset: String,
    /// Texts waiting for their recipient's window to open.
    pub scheduled: i64,
}

impl QuietHoursView {
    pub fn new(enabled: bool, start: i32, end: i32, scheduled: i64) -> Self {
        let preset = PRESETS
            .iter()
            .find(|p| p.start == start && p.end == end)
            .map_or("custom", |p| p.value);
        QuietHoursView {
            enabled,
            start: hhmm(start),
            end: hhmm(end),
            preset: preset.to_string(),
            scheduled,
        }
    }

    /// "8:00–21:00 in each recipient's local time" (or that quiet hours are off).
    pub fn summary(&self) -> String {
        if self.enabled {
            format!(
                "Texts go out {}–{} in each recipient's local time; others wait until then.",
                self.start, self.end
            )
        } else {
            "Quiet hours are off: texts go out at any hour.".to_string()
        }
    }
}

/// "08:05" for minute 485.
pub fn hhmm(minute: i32) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// Minutes after midnight from "8:00", "08:00" or "24:00" (the end of the day), for `field`.
pub fn parse_hhmm(field: &str, s: &str) -> Result<i32, AppError> {
    let bad = || AppError::validation(field, "Enter a time as HH:MM, for example 08:00.");
    let s = s.trim();
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: i32 = h.parse().map_err(|_| bad())?;
    let m: i32 = m.parse().map_err(|_| bad())?;
    if !(0..=59).contains(&m) || !(0..=24).contains(&h) || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// The shortest window: a North American area code spans zones up to an hour and a half apart,
/// and a text to it waits for a moment that is in the window in every one of them.
pub const MIN_WINDOW: i32 = 180;

/// The window the form asks for: a preset's, or the custom times; at least three hours long.
pub fn window(preset: &str, start: &str, end: &str) -> Result<(i32, i32), AppError> {
    if let Some(p) = PRESETS.iter().find(|p| p.value == preset) {
        return Ok((p.start, p.end));
    }
    if preset != "custom" {
        return Err(AppError::validation("preset", "Choose a window."));
    }
    let s = parse_hhmm("start", start)?;
    let e = parse_hhmm("end", end)?;
    if s >= 24 * 60 {
        return Err(AppError::validation(
            "start",
            "The window must start before midnight.",
        ));
    }
    if e - s < MIN_WINDOW {
        return Err(AppError::validation(
            "end",
            "The window must end at least three hours after it starts, on the same day (some area codes span two time zones).",
        ));
    }
    Ok((s, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_presets_or_checked_times() {
        assert_eq!(window("federal", "", "").unwrap(), (480, 1260));
        assert_eq!(window("strict", "x", "y").unwrap(), (480, 1200));
        assert_eq!(window("custom", "7:30", "24:00").unwrap(), (450, 1440));
        assert_eq!(window("custom", "09:00", "21:00").unwrap(), (540, 1260));
        for (s, e, field) in [
            ("9", "21:00", "start"),
            ("09:60", "21:00", "start"),
            ("-1:00", "21:00", "start"),
            ("25:00", "21:00", "start"),
            ("09:00", "09:30", "end"),
            ("09:00", "11:59", "end"),
            ("21:00", "08:00", "end"),
            ("09:00", "24:01", "end"),
            ("<b>", "21:00", "start"),
        ] {
            let err = window("custom", s, e).unwrap_err();
            assert!(err.field_message(field).is_some(), "{s}–{e}: {err:?}");
        }
        assert!(window("nope", "", "")
            .unwrap_err()
            .field_message("preset")
            .is_some());
    }

    #[test]
    fn a_view_names_its_preset() {
        assert_eq!(QuietHoursView::new(true, 480, 1200, 0).preset, "strict");
        let v = QuietHoursView::new(true, 450, 1440, 2);
        assert_eq!(
            (v.preset.as_str(), v.start.as_str(), v.end.as_str()),
            ("custom", "07:30", "24:00")
        );
    }
}

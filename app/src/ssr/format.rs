//! How times are written, in one place for the pages and `/v1`: the database hands out
//! `OffsetDateTime`s, and each way in formats them here.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

fn utc(t: OffsetDateTime) -> OffsetDateTime {
    t.to_offset(UtcOffset::UTC)
}

/// "2026-12-06 14:05 UTC", as the pages write a moment.
pub fn utc_minute(t: OffsetDateTime) -> String {
    let f = format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    utc(t).format(&f).unwrap_or_default()
}

/// "2026-12-06 14:05:09 UTC", where seconds matter (a call's start and end).
pub fn utc_second(t: OffsetDateTime) -> String {
    let f = format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    utc(t).format(&f).unwrap_or_default()
}

/// "14:05:09" (UTC), for a timeline within one page.
pub fn clock(t: OffsetDateTime) -> String {
    let f = format_description!("[hour]:[minute]:[second]");
    utc(t).format(&f).unwrap_or_default()
}

/// RFC 3339 in UTC to the second ("2026-12-06T14:05:09Z"), as `/v1` writes every time.
pub fn rfc3339(t: OffsetDateTime) -> String {
    utc(t)
        .replace_nanosecond(0)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_is_utc_whatever_the_offset() {
        let t = time::macros::datetime!(2026-12-06 15:05:09.75 +01:00);
        assert_eq!(utc_minute(t), "2026-12-06 14:05 UTC");
        assert_eq!(utc_second(t), "2026-12-06 14:05:09 UTC");
        assert_eq!(clock(t), "14:05:09");
        assert_eq!(rfc3339(t), "2026-12-06T14:05:09Z");
    }
}

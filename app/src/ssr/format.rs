//! How times are written, in one place for the pages and `/v1`: the database hands out
//! `OffsetDateTime`s, and each way in formats them here.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};

fn utc(t: OffsetDateTime) -> OffsetDateTime {
    t.to_offset(UtcOffset::UTC)
}

/// "2026-12-06 14:05 UTC", as the pages write a moment.
pub fn utc_minute(t: OffsetDateTime) -> String {
    let f = format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    utc(t).format(&f).unwrap_or_default()
}

/// "2026-12-06 14:05" (UTC), for text that says "UTC" itself after it (an invitation's expiry).
pub fn utc_minute_plain(t: OffsetDateTime) -> String {
    let f = format_description!("[year]-[month]-[day] [hour]:[minute]");
    utc(t).format(&f).unwrap_or_default()
}

/// "2026-12-06", the UTC day of a moment (when an org was created, a number bought).
pub fn utc_date(t: OffsetDateTime) -> String {
    date(utc(t).date())
}

/// "2026-12-06", a calendar day (the usage ledger's).
pub fn date(d: Date) -> String {
    let f = format_description!("[year]-[month]-[day]");
    d.format(&f).unwrap_or_default()
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

    #[test]
    fn minutes_without_the_label_and_days_are_utc_too() {
        let t = time::macros::datetime!(2026-12-07 00:30:09.75 +01:00);
        assert_eq!(utc_minute_plain(t), "2026-12-06 23:30");
        assert_eq!(utc_date(t), "2026-12-06");
        // A calendar day is written as it is: 2026-12-07 is the day at +01:00.
        assert_eq!(date(t.date()), "2026-12-07");
    }
}

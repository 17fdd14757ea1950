//! Dates typed into forms and URLs: one parser (YYYY-MM-DD, real calendar dates only) and report ranges.

use time::{Date, OffsetDateTime};

use crate::error::AppError;

/// A `YYYY-MM-DD` date from a form field or URL; empty or absent is `None`. A date that is not
/// on the calendar (2026-02-31) is an error naming `field`, never silently ignored.
pub fn parse_date(field: &str, raw: Option<&str>) -> Result<Option<Date>, AppError> {
    let Some(s) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    // Exactly YYYY-MM-DD: the parser alone would take a signed year (`-9999-01-01`), which the
    // database then refuses.
    let shaped = s.len() == 10
        && s.char_indices().all(|(i, c)| match i {
            4 | 7 => c == '-',
            _ => c.is_ascii_digit(),
        });
    let f = time::macros::format_description!("[year]-[month]-[day]");
    if let Some(d) = shaped.then(|| Date::parse(s, &f).ok()).flatten() {
        return Ok(Some(d));
    }
    Err(AppError::validation(
        field,
        if shaped {
            format!("There is no {s} on the calendar. Enter a real date, like 2026-11-23.")
        } else {
            "Enter a date as YYYY-MM-DD, like 2026-11-23.".to_string()
        },
    ))
}

/// The first and last day of `d`'s month.
pub fn month_of(d: Date) -> (Date, Date) {
    let first = d.replace_day(1).unwrap_or(d);
    let next = if first.month() == time::Month::December {
        Date::from_calendar_date(first.year() + 1, time::Month::January, 1)
    } else {
        Date::from_calendar_date(first.year(), first.month().next(), 1)
    };
    let last = next.ok().and_then(|n| n.previous_day()).unwrap_or(d);
    (first, last)
}

/// The range a report covers: `from`/`to` (YYYY-MM-DD, inclusive; each defaults to this month's
/// first or last day); the end not before the start, at most a year.
pub fn date_range(from: Option<&str>, to: Option<&str>) -> Result<(Date, Date), AppError> {
    let (m_from, m_to) = month_of(OffsetDateTime::now_utc().date());
    let from_d = parse_date("from", from)?.unwrap_or(m_from);
    let to_d = parse_date("to", to)?.unwrap_or(m_to);
    if to_d < from_d {
        return Err(AppError::validation(
            "to",
            "The end date is before the start date.",
        ));
    }
    if (to_d - from_d).whole_days() > 366 {
        return Err(AppError::validation(
            "to",
            "Choose a range of at most a year.",
        ));
    }
    Ok((from_d, to_d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn field(r: Result<impl std::fmt::Debug, AppError>) -> String {
        match r {
            Err(AppError::Validation { field, .. }) => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn only_calendar_dates_parse() {
        assert_eq!(
            parse_date("from", Some(" 2026-11-23 ")).unwrap(),
            Some(date!(2026 - 11 - 23))
        );
        assert_eq!(parse_date("from", Some("")).unwrap(), None);
        assert_eq!(parse_date("from", None).unwrap(), None);
        for bad in [
            "2026-02-31",
            "2026-13-01",
            "23/11/2026",
            "2026-1-1",
            "x",
            "+2026-11-23",
            "-9999-01-01",
        ] {
            assert_eq!(field(parse_date("from", Some(bad))), "from", "{bad}");
        }
        let msg = parse_date("to", Some("2026-02-31"))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("no 2026-02-31"), "{msg}");
    }

    #[test]
    fn ranges_default_to_this_month_and_are_bounded() {
        let (f, t) = date_range(Some("2026-01-01"), Some("2026-01-31")).unwrap();
        assert_eq!((f, t), (date!(2026 - 01 - 01), date!(2026 - 01 - 31)));
        let (f, t) = date_range(None, None).unwrap();
        assert_eq!(f.day(), 1);
        assert!(t >= f);
        assert_eq!(
            field(date_range(Some("2026-02-01"), Some("2026-01-01"))),
            "to"
        );
        assert_eq!(
            field(date_range(Some("2024-01-01"), Some("2026-01-01"))),
            "to"
        );
        assert_eq!(field(date_range(Some("2026-02-30"), None)), "from");
        assert_eq!(
            month_of(date!(2026 - 12 - 15)),
            (date!(2026 - 12 - 01), date!(2026 - 12 - 31))
        );
    }
}

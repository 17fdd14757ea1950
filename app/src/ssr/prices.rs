//! Prices: the price list, the provider's price strings, and what minutes cost.

use sqlx::PgExecutor;

use super::db;
use crate::model::money::Money;

/// A call or recording longer than this (Twilio ends calls after 24 hours) is not believed: the
/// minutes arithmetic must not overflow on a forged or broken callback.
pub const MAX_DURATION_SECS: i32 = 24 * 3600;

/// A provider price above this (for one call or one message) is not believed: it is untrusted
/// input, and the ledger's sums must stay far from overflowing.
pub const MAX_PROVIDER_PRICE: Money = Money::from_micros(100_000_000);

/// The things with a price in the price list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priced {
    NumberMonthly,
    CallMinute,
    RecordingMinute,
    SmsSegment,
}

impl Priced {
    fn item(self) -> &'static str {
        match self {
            Priced::NumberMonthly => "number.monthly",
            Priced::CallMinute => "call.minute",
            Priced::RecordingMinute => "recording.minute",
            Priced::SmsSegment => "sms.segment",
        }
    }
}

/// The listed price (nothing listed: free).
pub async fn price(db: impl PgExecutor<'_>, what: Priced) -> Result<Money, sqlx::Error> {
    Ok(Money::from_micros(
        db::prices::micros(db, what.item()).await?.unwrap_or(0),
    ))
}

/// Started minutes × the per-minute rate (a call of 61 s is two minutes).
pub fn minutes_cost(secs: i64, rate: Money) -> Money {
    rate.times((secs.max(0) + 59) / 60)
}

/// Twilio's price string ("-0.00850", charges are negative) as a positive amount.
pub fn parse_price(s: &str) -> Option<Money> {
    let s = s.trim().trim_start_matches(['-', '+']);
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    if !whole.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut micros = 0i64;
    for (i, c) in frac.chars().take(6).enumerate() {
        micros += (c as i64 - '0' as i64) * 10i64.pow(5 - i as u32);
    }
    whole
        .checked_mul(1_000_000)?
        .checked_add(micros)
        .map(Money::from_micros)
        .filter(|m| *m <= MAX_PROVIDER_PRICE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_and_minutes() {
        let m = |x: i64| Some(Money::from_micros(x));
        assert_eq!(parse_price("-0.00850"), m(8_500));
        assert_eq!(parse_price("0.0085"), m(8_500));
        assert_eq!(parse_price("-1.5"), m(1_500_000));
        assert_eq!(parse_price(""), None);
        assert_eq!(parse_price("abc"), None);
        assert_eq!(parse_price("-100.00"), m(100_000_000));
        assert_eq!(parse_price("-100.000001"), None, "over the sane range");
        assert_eq!(parse_price("-9223372036854775807"), None);
        assert_eq!(parse_price("99999999999999999999"), None);
        let rate = Money::from_micros(8_500);
        assert_eq!(minutes_cost(0, rate), Money::ZERO);
        assert_eq!(minutes_cost(1, rate), rate);
        assert_eq!(minutes_cost(60, rate), rate);
        assert_eq!(minutes_cost(61, rate), rate.times(2));
    }
}

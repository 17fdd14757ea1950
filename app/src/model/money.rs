//! `Money`: an amount in micro-dollars, how pages and CSV files write it, and how an amount a
//! person typed is read.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::error::AppError;

/// An amount of US dollars in micro-dollars (1 = $0.000001).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Money(i64);

impl Money {
    pub const ZERO: Money = Money(0);

    pub const fn from_micros(micros: i64) -> Money {
        Money(micros)
    }

    pub const fn micros(self) -> i64 {
        self.0
    }

    /// `n` of this amount (segments, minutes); saturates rather than overflowing.
    pub fn times(self, n: i64) -> Money {
        Money(self.0.saturating_mul(n))
    }

    /// Dollars with all six decimals, as CSV exports write them ("0.008500").
    pub fn decimal(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let m = self.0.unsigned_abs();
        format!("{sign}{}.{:06}", m / 1_000_000, m % 1_000_000)
    }

    /// "$1,000,000.00": whole dollars with thousands separated, and cents (for sentences about
    /// limits; amounts in tables use `Display`).
    pub fn dollars_with_commas(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let m = self.0.unsigned_abs();
        let cents = (m % 1_000_000 + 5_000) / 10_000;
        let (dollars, cents) = if cents == 100 {
            (m / 1_000_000 + 1, 0)
        } else {
            (m / 1_000_000, cents)
        };
        let digits = dollars.to_string();
        let mut grouped = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        format!("{sign}${grouped}.{cents:02}")
    }
}

/// The most anyone may type as an amount: $1,000,000.
pub const MAX_TYPED: Money = Money(1_000_000_000_000);

/// An amount of dollars as a person types it ("12", "12.5", "$1,200.00", up to six decimals),
/// at most `MAX_TYPED`; anything else is an error on `field` saying what to type.
pub fn parse_dollars(field: &str, raw: &str) -> Result<Money, AppError> {
    let s = raw.trim();
    let s = s.strip_prefix('$').map(str::trim_start).unwrap_or(s);
    if s.is_empty() {
        return Err(AppError::validation(
            field,
            "Enter an amount in dollars, like 25 or 12.50.",
        ));
    }
    if s.starts_with('-') {
        return Err(AppError::validation(field, "An amount cannot be negative."));
    }
    let not_a_number = || {
        AppError::validation(
            field,
            "That is not an amount of dollars: type digits, like 25 or 1,200.50.",
        )
    };
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let whole = whole_digits(whole).ok_or_else(not_a_number)?;
    if !frac.bytes().all(|b| b.is_ascii_digit()) || (whole.is_empty() && frac.is_empty()) {
        return Err(not_a_number());
    }
    if frac.len() > 6 {
        return Err(AppError::validation(
            field,
            "Use at most six decimal places (a millionth of a dollar).",
        ));
    }
    let too_much = || {
        AppError::validation(
            field,
            format!("An amount is at most {}.", MAX_TYPED.dollars_with_commas()),
        )
    };
    let whole = whole.trim_start_matches('0');
    // Seven digits hold $1,000,000; more can only be larger.
    if whole.len() > 7 {
        return Err(too_much());
    }
    let dollars: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| not_a_number())?
    };
    let micros_part: i64 = format!("{frac:0<6}").parse().map_err(|_| not_a_number())?;
    let micros = dollars * 1_000_000 + micros_part;
    if micros > MAX_TYPED.0 {
        return Err(too_much());
    }
    Ok(Money(micros))
}

/// The digits of a whole number of dollars, with thousands separated by commas or not ("1200",
/// "1,200"); `None` for anything else ("1,20", "12a").
fn whole_digits(s: &str) -> Option<String> {
    if !s.contains(',') {
        return s.bytes().all(|b| b.is_ascii_digit()).then(|| s.to_string());
    }
    let mut groups = s.split(',');
    let first = groups.next()?;
    let first_ok = (1..=3).contains(&first.len()) && first.bytes().all(|b| b.is_ascii_digit());
    let mut out = first.to_string();
    for g in groups {
        if g.len() != 3 || !g.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        out.push_str(g);
    }
    first_ok.then_some(out)
}

impl std::ops::Add for Money {
    type Output = Money;
    fn add(self, other: Money) -> Money {
        Money(self.0.saturating_add(other.0))
    }
}

/// "$0.005", "$1.00": rounded to tenths of a cent, two decimals when that is exact.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let m = self.0.unsigned_abs();
        let dollars = m / 1_000_000;
        let thousandths = (m % 1_000_000 + 500) / 1000;
        let (dollars, thousandths) = if thousandths == 1000 {
            (dollars + 1, 0)
        } else {
            (dollars, thousandths)
        };
        if thousandths % 10 == 0 {
            write!(f, "{sign}${dollars}.{:02}", thousandths / 10)
        } else {
            write!(f, "{sign}${dollars}.{thousandths:03}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_written_like_the_pages_always_did() {
        let m = Money::from_micros;
        assert_eq!(m(5000).to_string(), "$0.005");
        assert_eq!(m(0).to_string(), "$0.00");
        assert_eq!(m(1_234_567).to_string(), "$1.235");
        assert_eq!(m(999_999_600).to_string(), "$1000.00");
        assert_eq!(m(-5000).to_string(), "-$0.005");
        assert_eq!(m(8_500).decimal(), "0.008500");
        assert_eq!(m(12_345_678).decimal(), "12.345678");
        assert_eq!(m(8_500).times(3), m(25_500));
    }

    #[test]
    fn typed_dollar_amounts_are_read_to_the_micro_dollar() {
        let ok = |s: &str| parse_dollars("amount", s).map(Money::micros);
        assert_eq!(ok("12"), Ok(12_000_000));
        assert_eq!(ok("12.5"), Ok(12_500_000));
        assert_eq!(ok(" $1,200.00 "), Ok(1_200_000_000));
        assert_eq!(ok("$ 7"), Ok(7_000_000));
        assert_eq!(ok(".25"), Ok(250_000));
        assert_eq!(ok("3."), Ok(3_000_000));
        assert_eq!(ok("0.000001"), Ok(1));
        assert_eq!(ok("0"), Ok(0));
        assert_eq!(ok("007.10"), Ok(7_100_000));
        assert_eq!(ok("1,000,000"), Ok(1_000_000_000_000));
        assert_eq!(ok("1000000.000000"), Ok(1_000_000_000_000));
    }

    #[test]
    fn typed_amounts_that_are_not_plain_dollars_are_refused_with_a_reason() {
        let why = |s: &str| match parse_dollars("amount", s) {
            Err(AppError::Validation { field, message }) => {
                assert_eq!(field, "amount");
                message
            }
            other => panic!("{s:?} gave {other:?}"),
        };
        assert!(why("").contains("Enter an amount"));
        assert!(why("  $ ").contains("Enter an amount"));
        assert!(why("-5").contains("negative"));
        assert!(why("$-5").contains("negative"));
        assert!(why("0.0000001").contains("six decimal"));
        assert!(why("1000000.01").contains("at most $1,000,000.00"));
        assert!(why("99999999999999999999999").contains("at most"));
        for bad in [
            "abc", "1e5", "12.5.3", "12 50", "1,20", ",100", "1,2345", "NaN", ".", "$$5", "+5",
            "5$", "１２",
        ] {
            assert!(why(bad).contains("not an amount"), "{bad:?}");
        }
    }

    #[test]
    fn limits_are_written_with_thousands_separated() {
        assert_eq!(MAX_TYPED.dollars_with_commas(), "$1,000,000.00");
        assert_eq!(
            Money::from_micros(1_234_567_890).dollars_with_commas(),
            "$1,234.57"
        );
        assert_eq!(
            Money::from_micros(999_995_000).dollars_with_commas(),
            "$1,000.00"
        );
        assert_eq!(Money::from_micros(0).dollars_with_commas(), "$0.00");
    }
}

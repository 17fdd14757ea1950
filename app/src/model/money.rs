//! `Money`: an amount in micro-dollars, and how pages and CSV files write it.

use serde::{Deserialize, Serialize};
use std::fmt;

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
}

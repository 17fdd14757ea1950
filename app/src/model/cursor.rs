//! `Cursor`: the keyset position of a newest-first list (the last row shown), as written in page links.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::error::AppError;

/// The last row already shown: its creation time (Unix microseconds) and id. The next page holds
/// the rows strictly before it in (created_at, id) order. On the wire it is the link's string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Cursor {
    pub micros: i64,
    pub id: i64,
}

/// 9999-12-31T23:59:59.999999Z in Unix microseconds.
const MAX_MICROS: i64 = 253_402_300_799_999_999;

/// `<micros>.<id>`, as in `?before=1700000000000000.42`.
impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.micros, self.id)
    }
}

impl FromStr for Cursor {
    type Err = AppError;
    fn from_str(s: &str) -> Result<Cursor, AppError> {
        let broken = || AppError::BadRequest("This page link is broken.".into());
        let (micros, id) = s.split_once('.').ok_or_else(broken)?;
        let c = Cursor {
            micros: micros.parse().map_err(|_| broken())?,
            id: id.parse().map_err(|_| broken())?,
        };
        // A time PhoneHub can have written: from 1970 to the year 9999 (anything else would
        // overflow the database's date arithmetic).
        if !(0..=MAX_MICROS).contains(&c.micros) {
            return Err(broken());
        }
        Ok(c)
    }
}

impl From<Cursor> for String {
    fn from(c: Cursor) -> String {
        c.to_string()
    }
}

impl TryFrom<String> for Cursor {
    type Error = AppError;
    fn try_from(s: String) -> Result<Cursor, AppError> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_what_it_writes() {
        let c = Cursor {
            micros: 1_700_000_000_000_000,
            id: 42,
        };
        assert_eq!(c.to_string(), "1700000000000000.42");
        assert_eq!(c.to_string().parse::<Cursor>().unwrap(), c);
        // Times the database cannot represent are broken links, not errors on our side.
        for bad in [
            "-1000000000000000000.1",
            "9223372036854775807.1",
            "-1.1",
            "x.1",
            "1",
        ] {
            assert!(bad.parse::<Cursor>().is_err(), "{bad}");
        }
        assert_eq!("1700000000000000.42".parse::<Cursor>().unwrap(), c);
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, r#""1700000000000000.42""#);
        assert_eq!(serde_json::from_str::<Cursor>(&json).unwrap(), c);
        for bad in ["", "abc", "1.", ".2", "1.2.3", "1,2"] {
            assert!(
                matches!(bad.parse::<Cursor>(), Err(AppError::BadRequest(_))),
                "{bad}"
            );
        }
    }
}

//! `E164`: a phone number parsed and validated with libphonenumber's metadata (the `phonenumber` crate).

use std::fmt;
use std::str::FromStr;

use phonenumber::country::Id;
use phonenumber::{Mode, PhoneNumber};

/// Input longer than this is not a phone number, whatever it contains.
const MAX_INPUT: usize = 40;

/// Why an input is not a usable phone number; the messages are shown next to form fields.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("Enter a phone number.")]
    Empty,
    #[error("That is too long to be a phone number.")]
    Oversized,
    #[error("That is not a phone number.")]
    NotANumber,
    #[error("Phone numbers cannot contain letters.")]
    Letters,
    #[error("Invalid country code.")]
    InvalidCountryCode,
    #[error("Unknown default region {0:?}.")]
    UnknownRegion(String),
    #[error("Too short for {region}.")]
    TooShort { region: String },
    #[error("Too long for {region}.")]
    TooLong { region: String },
    #[error("Not a valid {region} number.")]
    Invalid { region: String },
}

/// A valid phone number in E.164 form (`+14155550100`). Parse, don't validate: holding one means
/// libphonenumber's metadata accepted it. Two are equal when they are the same number, however
/// they were typed (the parser's record of how the input was written does not count).
#[derive(Clone)]
pub struct E164 {
    e164: String,
    number: PhoneNumber,
}

impl PartialEq for E164 {
    fn eq(&self, other: &E164) -> bool {
        self.e164 == other.e164
    }
}

impl Eq for E164 {}

impl std::hash::Hash for E164 {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.e164.hash(state);
    }
}

impl fmt::Debug for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "E164({})", self.e164)
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.e164)
    }
}

impl AsRef<str> for E164 {
    fn as_ref(&self) -> &str {
        &self.e164
    }
}

impl FromStr for E164 {
    type Err = PhoneError;
    /// Parses international input only (no default region).
    fn from_str(s: &str) -> Result<Self, PhoneError> {
        E164::parse(s, None)
    }
}

/// Whether `code` (ISO 3166 alpha-2, upper case) is a region the numbering metadata knows, so
/// national numbers can be read in it.
pub fn is_known_region(code: &str) -> bool {
    code.len() == 2
        && code.chars().all(|c| c.is_ascii_uppercase())
        && region_id(code).is_ok()
        && phonenumber::metadata::DATABASE.by_id(code).is_some()
}

fn region_id(region: &str) -> Result<Id, PhoneError> {
    region
        .trim()
        .to_ascii_uppercase()
        .parse::<Id>()
        .map_err(|_| PhoneError::UnknownRegion(region.to_string()))
}

impl E164 {
    /// Parses national input for `default_region` (an ISO 3166 code such as "US"; `None` means
    /// US, as for an org without a region), or international input with `+` or `00`.
    pub fn parse(input: &str, default_region: Option<&str>) -> Result<E164, PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        if trimmed.chars().count() > MAX_INPUT {
            return Err(PhoneError::Oversized);
        }
        let region = region_id(default_region.unwrap_or("US"))?;
        // libphonenumber reads letters as keypad digits (1-800-FLOWERS); people here type numbers.
        let (body, _ext) = split_extension(trimmed);
        if body.chars().any(|c| c.is_alphabetic()) {
            return Err(PhoneError::Letters);
        }
        if !body.chars().any(|c| c.is_ascii_digit()) {
            return Err(PhoneError::NotANumber);
        }
        // "00" is the international prefix in most of the world; treat it as "+" everywhere, once
        // the region's own prefix has had its say ("0011" in Australia, "001" in Korea).
        let normalised;
        let to_parse = match body.strip_prefix("00") {
            Some(rest) if !body.starts_with("000") => {
                if let Some(e) = phonenumber::parse(Some(region), body)
                    .ok()
                    .filter(phonenumber::is_valid)
                {
                    let e164 = e.format().mode(Mode::E164).to_string();
                    return Ok(E164 { e164, number: e });
                }
                normalised = format!("+{rest}");
                normalised.as_str()
            }
            _ => trimmed,
        };
        // International input is parsed without a region: the crate otherwise applies the default
        // region's national prefix rules to the foreign number (a "+33 1 …" lost its "1" for US).
        let parse_region = if to_parse.starts_with('+') {
            None
        } else {
            Some(region)
        };
        let number = phonenumber::parse(parse_region, to_parse).map_err(|e| match e {
            phonenumber::ParseError::InvalidCountryCode => PhoneError::InvalidCountryCode,
            phonenumber::ParseError::TooShortAfterIdd | phonenumber::ParseError::TooShortNsn => {
                PhoneError::TooShort {
                    region: region.as_ref().to_string(),
                }
            }
            phonenumber::ParseError::TooLong => PhoneError::TooLong {
                region: region.as_ref().to_string(),
            },
            _ => PhoneError::NotANumber,
        })?;
        if !phonenumber::is_valid(&number) {
            return Err(length_error(&number, region));
        }
        let e164 = number.format().mode(Mode::E164).to_string();
        Ok(E164 { e164, number })
    }

    pub fn as_str(&self) -> &str {
        &self.e164
    }

    /// The country calling code (1 for NANP, 44 for the UK).
    pub fn country_code(&self) -> u16 {
        self.number.country().code()
    }

    /// The ISO 3166 region ("US", "GB"), when the metadata names one.
    pub fn region(&self) -> Option<String> {
        self.number.country().id().map(|id| id.as_ref().to_string())
    }

    /// National format, as people in that country write it: "(415) 555-0100".
    pub fn national(&self) -> String {
        self.number.format().mode(Mode::National).to_string()
    }

    /// As people in `country` write it: the national format for a number of that country, the
    /// international one for any other ("020 7183 8750" in GB, "+44 20 7183 8750" in the US).
    pub fn shown_in(&self, country: &str) -> String {
        if self.region().as_deref() == Some(country) {
            self.national()
        } else {
            self.international()
        }
    }

    /// International format: "+1 415-555-0100".
    pub fn international(&self) -> String {
        self.number.format().mode(Mode::International).to_string()
    }
}

/// Splits "…ext. 12", "…x12", "…#12" off the end; the extension is not part of the E.164 number.
fn split_extension(s: &str) -> (&str, Option<&str>) {
    let lower = s.to_ascii_lowercase();
    for marker in ["extension", "ext.", "ext", "x", "#"] {
        if let Some(pos) = lower.rfind(marker) {
            let tail = s[pos + marker.len()..].trim();
            if !tail.is_empty() && tail.chars().all(|c| c.is_ascii_digit()) {
                return (s[..pos].trim_end(), Some(tail));
            }
        }
    }
    (s, None)
}

/// Explains an invalid number by its length against the possible lengths of its country code.
fn length_error(number: &PhoneNumber, fallback: Id) -> PhoneError {
    let code = number.country().code();
    let metas = phonenumber::metadata::DATABASE
        .by_code(&code)
        .unwrap_or_default();
    // The number itself matches no region (it is invalid), so name the code's main region.
    let main = metas
        .iter()
        .find(|m| m.is_main_country_for_code())
        .or(metas.first())
        .copied();
    let region = match main {
        Some(m) => m.id().to_string(),
        None => fallback.as_ref().to_string(),
    };
    let digits = number.national().to_string().len() as u16;
    if let Some(meta) = main {
        let d = meta.descriptors();
        let mut lengths: Vec<u16> = d.general().possible_length().to_vec();
        for desc in [d.fixed_line(), d.mobile(), d.toll_free()]
            .into_iter()
            .flatten()
        {
            lengths.extend_from_slice(desc.possible_length());
        }
        if let (Some(min), Some(max)) = (lengths.iter().min(), lengths.iter().max()) {
            if digits < *min {
                return PhoneError::TooShort { region };
            }
            if digits > *max {
                return PhoneError::TooLong { region };
            }
        }
    }
    PhoneError::Invalid { region }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_number_is_equal_however_it_was_typed() {
        let stored = E164::parse("+14155550180", None).unwrap();
        for typed in [
            "(415) 555-0180",
            "415.555.0180",
            "+1 415 555 0180 x1",
            "001 415 555 0180",
        ] {
            let n = E164::parse(typed, Some("US")).unwrap();
            assert_eq!(n, stored, "{typed}");
            let mut set = std::collections::HashSet::new();
            set.insert(stored.clone());
            assert!(set.contains(&n), "{typed}");
        }
        assert_ne!(E164::parse("+14155550181", None).unwrap(), stored);
    }

    /// (input, default region, expected E.164 or error message)
    const CASES: &[(&str, Option<&str>, Result<&str, &str>)] = &[
        ("+1 415 555 2671", None, Ok("+14155552671")),
        ("(415) 555-2671", None, Ok("+14155552671")),
        ("415.555.2671", None, Ok("+14155552671")),
        ("415-555-2671", Some("US"), Ok("+14155552671")),
        ("  +1-415-555-2671  ", None, Ok("+14155552671")),
        ("001 415 555 2671", Some("GB"), Ok("+14155552671")),
        ("+44 20 7946 0958", None, Ok("+442079460958")),
        ("020 7946 0958", Some("GB"), Ok("+442079460958")),
        ("0044 20 7946 0958", Some("DE"), Ok("+442079460958")),
        ("0011 44 20 7946 0958", Some("AU"), Ok("+442079460958")),
        ("0044 20 7946 0958", Some("AU"), Ok("+442079460958")),
        ("02 9374 4000", Some("AU"), Ok("+61293744000")),
        ("01 42 68 53 00", Some("FR"), Ok("+33142685300")),
        ("030 901820", Some("DE"), Ok("+4930901820")),
        ("+49 30 901820", Some("us"), Ok("+4930901820")),
        ("+33 1 42 68 53 00", None, Ok("+33142685300")),
        ("+61 2 9374 4000", None, Ok("+61293744000")),
        ("+81 3-3224-9999", None, Ok("+81332249999")),
        ("+1 415 555 2671 ext. 12", None, Ok("+14155552671")),
        ("+1 415 555 2671 x12", None, Ok("+14155552671")),
        ("", None, Err("Enter a phone number.")),
        ("   ", None, Err("Enter a phone number.")),
        ("415 555", None, Err("Too short for US.")),
        ("+1 415 555 26711234", None, Err("Too long for US.")),
        ("+999 123 456 789", None, Err("Invalid country code.")),
        (
            "1-800-FLOWERS",
            None,
            Err("Phone numbers cannot contain letters."),
        ),
        (
            "call me maybe",
            None,
            Err("Phone numbers cannot contain letters."),
        ),
        ("---", None, Err("That is not a phone number.")),
        ("+1 (000) 555-2671", None, Err("Not a valid US number.")),
        (
            "1234567890123456789012345678901234567890X",
            None,
            Err("That is too long to be a phone number."),
        ),
        (
            "555-2671",
            Some("ZZ"),
            Err("Unknown default region \"ZZ\"."),
        ),
    ];

    #[test]
    fn real_world_inputs_parse_or_explain_why_not() {
        for (input, region, expected) in CASES {
            let got = E164::parse(input, *region)
                .map(|n| n.to_string())
                .map_err(|e| e.to_string());
            let expected = expected.map(str::to_string).map_err(str::to_string);
            assert_eq!(got, expected, "input {input:?} region {region:?}");
        }
    }

    #[test]
    fn formats_follow_the_numbers_country() {
        let n = E164::parse("+14155552671", None).unwrap();
        assert_eq!(n.national(), "(415) 555-2671");
        assert_eq!(n.international(), "+1 415-555-2671");
        assert_eq!(n.country_code(), 1);
        assert_eq!(n.region().as_deref(), Some("US"));
        let uk = E164::parse("020 7946 0958", Some("GB")).unwrap();
        assert_eq!(uk.national(), "020 7946 0958");
        assert_eq!(uk.international(), "+44 20 7946 0958");
        assert_eq!(uk.region().as_deref(), Some("GB"));
    }
}

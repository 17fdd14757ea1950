//! The sandbox's deterministic world: number inventory by area code, lookup answers, magic numbers.

use crate::e164::E164;

/// Destination numbers with a documented outcome (README "Sandbox").
pub const MAGIC_INVALID: &str = "+15005550001";
pub const MAGIC_BUSY: &str = "+15005550002";
pub const MAGIC_NO_ANSWER: &str = "+15005550003";
pub const MAGIC_FAILED: &str = "+15005550004";
/// SMS to this number is undelivered (30003).
pub const MAGIC_UNDELIVERED: &str = "+15005550009";
/// An area code with no numbers, as with Twilio's test credentials.
pub const EMPTY_AREA_CODE: &str = "533";

/// Every Lookup v2 line type; the sandbox hands them out so that each occurs.
pub const LINE_TYPES: [&str; 12] = [
    "mobile",
    "landline",
    "fixedVoip",
    "nonFixedVoip",
    "tollFree",
    "personal",
    "premium",
    "sharedCost",
    "uan",
    "voicemail",
    "pager",
    "unknown",
];

const CARRIERS: [&str; 6] = [
    "Sandbox Wireless",
    "Acme Telecom",
    "Example Mobile",
    "Fictional Fiber",
    "Voipify",
    "Bell Sandbox",
];

const CALLER_NAMES: [(&str, &str); 6] = [
    ("ACME CORP", "BUSINESS"),
    ("JANE DOE", "CONSUMER"),
    ("GLOBEX INC", "BUSINESS"),
    ("JOHN SMITH", "CONSUMER"),
    ("INITECH", "BUSINESS"),
    ("ALEX RIVERA", "CONSUMER"),
];

/// FNV-1a: a stable hash, so the same number always gets the same answers.
pub fn stable_hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

pub struct LookupFacts {
    pub line_type: &'static str,
    pub carrier: &'static str,
    pub caller_name: &'static str,
    pub caller_type: &'static str,
}

pub fn lookup_facts(e164: &str) -> LookupFacts {
    let h = stable_hash(e164);
    // The last digits pick the line type, so consecutive numbers cover every type.
    let digits: u64 = e164
        .chars()
        .rev()
        .take(4)
        .filter_map(|c| c.to_digit(10))
        .enumerate()
        .map(|(i, d)| d as u64 * 10u64.pow(i as u32))
        .sum();
    let (name, kind) = CALLER_NAMES[(h % CALLER_NAMES.len() as u64) as usize];
    LookupFacts {
        line_type: LINE_TYPES[(digits % LINE_TYPES.len() as u64) as usize],
        carrier: CARRIERS[((h >> 8) % CARRIERS.len() as u64) as usize],
        caller_name: name,
        caller_type: kind,
    }
}

/// Where an area code is (for search results and the InRegion / InLocality filters).
pub fn place(area_code: &str) -> (&'static str, &'static str, &'static str) {
    match area_code {
        "415" => ("San Francisco", "CA", "94105"),
        "212" => ("New York", "NY", "10001"),
        "312" => ("Chicago", "IL", "60601"),
        "512" => ("Austin", "TX", "78701"),
        "206" => ("Seattle", "WA", "98101"),
        "617" => ("Boston", "MA", "02108"),
        "303" => ("Denver", "CO", "80202"),
        "305" => ("Miami", "FL", "33101"),
        "604" => ("Vancouver", "BC", "V5K 0A1"),
        "416" => ("Toronto", "ON", "M5H 2N2"),
        _ => ("Springfield", "IL", "62701"),
    }
}

pub const TOLL_FREE_CODES: [&str; 7] = ["800", "833", "844", "855", "866", "877", "888"];
const DEFAULT_AREA_CODES: [&str; 8] = ["415", "212", "312", "512", "206", "617", "303", "305"];

/// Candidate numbers for a search: 40 per area code, valid by libphonenumber's metadata.
pub fn inventory(country: &str, kind: &str, area_code: Option<&str>) -> Vec<String> {
    let codes: Vec<&str> = match (country, kind, area_code) {
        (_, _, Some(EMPTY_AREA_CODE)) => vec![],
        ("US" | "CA", "TollFree", Some(a)) if TOLL_FREE_CODES.contains(&a) => vec![a],
        ("US" | "CA", "TollFree", None) => TOLL_FREE_CODES.to_vec(),
        ("US" | "CA", "TollFree", Some(_)) => vec![],
        ("US" | "CA", _, Some(a)) => vec![a],
        ("US", _, None) => DEFAULT_AREA_CODES.to_vec(),
        ("CA", _, None) => vec!["604", "416"],
        // Ofcom's ranges for drama: London 020 7946 0xxx, mobile 07700 900xxx.
        ("GB", "Local", _) => return gb_numbers("+442079460"),
        ("GB", "Mobile", _) => return gb_numbers("+447700900"),
        _ => vec![],
    };
    let mut out = Vec::new();
    for code in codes {
        // Exchange 2xx–9xx, lines from 1000 upwards: deterministic and mostly valid.
        for i in 0..40u32 {
            let exchange = 200 + (stable_hash(code) as u32 + i * 37) % 700;
            let line = 1000 + (i * 211) % 9000;
            let candidate = format!("+1{code}{exchange:03}{line:04}");
            if E164::parse(&candidate, None).is_ok() {
                out.push(candidate);
            }
        }
    }
    out
}

fn gb_numbers(prefix: &str) -> Vec<String> {
    (0..20)
        .map(|i| format!("{prefix}{:03}", 100 + i * 7))
        .filter(|n| E164::parse(n, None).is_ok())
        .collect()
}

/// Twilio's `Contains` pattern: digits, `*` for any digit, letters as keypad digits.
pub fn matches_pattern(number: &str, pattern: &str) -> bool {
    let pat: Vec<char> = pattern
        .chars()
        .filter_map(|c| match c.to_ascii_uppercase() {
            d @ '0'..='9' => Some(d),
            '*' => Some('*'),
            'A'..='C' => Some('2'),
            'D'..='F' => Some('3'),
            'G'..='I' => Some('4'),
            'J'..='L' => Some('5'),
            'M'..='O' => Some('6'),
            'P'..='S' => Some('7'),
            'T'..='V' => Some('8'),
            'W'..='Z' => Some('9'),
            _ => None,
        })
        .collect();
    if pat.is_empty() {
        return true;
    }
    let digits: Vec<char> = number.chars().filter(|c| c.is_ascii_digit()).collect();
    digits
        .windows(pat.len())
        .any(|w| w.iter().zip(&pat).all(|(d, p)| *p == '*' || d == p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_type_occurs_and_answers_are_stable() {
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..24 {
            let n = format!("+1415555{:04}", 2600 + i);
            seen.insert(lookup_facts(&n).line_type);
            assert_eq!(lookup_facts(&n).carrier, lookup_facts(&n).carrier);
        }
        assert_eq!(seen.len(), LINE_TYPES.len());
    }

    #[test]
    fn inventory_is_valid_and_533_is_empty() {
        let nums = inventory("US", "Local", Some("415"));
        assert!(nums.len() >= 20, "{}", nums.len());
        assert!(nums.iter().all(|n| n.starts_with("+1415")));
        assert!(inventory("US", "Local", Some("533")).is_empty());
        assert!(!inventory("US", "TollFree", None).is_empty());
        assert!(!inventory("GB", "Local", None).is_empty());
    }

    #[test]
    fn contains_patterns_follow_twilio() {
        assert!(matches_pattern("+14155551234", "555"));
        assert!(matches_pattern("+14155551234", "5*5"));
        assert!(
            matches_pattern("+14153569377", "FLOWERS")
                == matches_pattern("+14153569377", "3569377")
        );
        assert!(!matches_pattern("+14155551234", "999"));
    }
}

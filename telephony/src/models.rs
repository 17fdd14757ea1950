//! Twilio's JSON resources as PhoneHub reads them: unknown fields ignored, numbers accepted as
//! strings or numbers (Twilio sends "duration": "15" and "num_segments": "1"), absent fields empty.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};

/// A string field that may arrive as a string, a number, a boolean or null.
fn loose_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match v {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    })
}

/// An integer field that may arrive as a number or a numeric string.
fn loose_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match v {
        Some(serde_json::Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    })
}

/// A string field that may be null (empty then), a number or a boolean.
fn loose_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    loose_string(d).map(Option::unwrap_or_default)
}

/// A count Twilio sends as a string of a number ("12", or "12.5" for some usage), a number or
/// null: its whole part, 0 when it is not a number.
fn whole_number<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let from_float = |f: f64| f.is_finite().then_some(f as i64);
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match v {
        Some(serde_json::Value::Number(n)) => {
            n.as_i64().or_else(|| n.as_f64().and_then(from_float))
        }
        Some(serde_json::Value::String(s)) => {
            let s = s.trim();
            s.parse::<i64>()
                .ok()
                .or_else(|| s.parse::<f64>().ok().and_then(from_float))
        }
        _ => None,
    }
    .unwrap_or(0))
}

/// A price Twilio sends as a JSON number, a decimal string or null (nothing: 0), in positive
/// micro-dollars (see [`price_micros`]); anything else is refused rather than read as free.
fn price_field<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let text = match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => return Ok(0),
        Some(serde_json::Value::String(s)) if s.trim().is_empty() => return Ok(0),
        Some(serde_json::Value::String(s)) => s,
        // The number's own text: no float arithmetic before the decimal is read.
        Some(serde_json::Value::Number(n)) => n.to_string(),
        Some(other) => other.to_string(),
    };
    price_micros(&text).ok_or_else(|| D::Error::custom(format!("not a price: {text}")))
}

/// A decimal amount of dollars as Twilio writes prices ("-0.00850", "1.0085", "12", and in
/// exponent form "5e-7" when a JSON number is printed back) in micro-dollars, positive whatever
/// its sign (call prices are charges, negative; usage prices are positive), rounded half away
/// from zero past the sixth decimal. `None` when it is not a decimal number or does not fit.
pub fn price_micros(text: &str) -> Option<i64> {
    let t = text.trim();
    let t = t.strip_prefix(['-', '+']).unwrap_or(t);
    let (mantissa, exponent) = match t.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i64>().ok()?),
        None => (t, 0),
    };
    let (whole, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    let chars = whole.bytes().chain(frac.bytes());
    if !chars.clone().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let digits: Vec<u8> = chars.map(|c| c - b'0').collect();
    let zeros = digits.iter().take_while(|d| **d == 0).count();
    let digits = &digits[zeros..];
    if digits.is_empty() {
        return Some(0);
    }
    // The amount is 0.d₁d₂… × 10^n, n = whole.len() - zeros + exponent; in micro-dollars,
    // `places` = n + 6 digits stand before the point.
    let places = (whole.len() as i64 - zeros as i64)
        .saturating_add(exponent)
        .saturating_add(6);
    if places > 19 {
        return None; // at least 10^19 micro-dollars: beyond i64
    }
    if places < 0 {
        return Some(0); // under a tenth of a micro-dollar
    }
    let places = places as usize;
    let mut micros: i64 = 0;
    for d in digits
        .iter()
        .copied()
        .chain(std::iter::repeat(0))
        .take(places)
    {
        micros = micros.checked_mul(10)?.checked_add(i64::from(d))?;
    }
    let round_up = digits.get(places).is_some_and(|d| *d >= 5);
    micros.checked_add(i64::from(round_up))
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Account {
    #[serde(default)]
    pub sid: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub friendly_name: Option<String>,
    #[serde(default, deserialize_with = "loose_string")]
    pub status: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Capabilities {
    #[serde(default, alias = "Voice")]
    pub voice: bool,
    #[serde(default, alias = "SMS")]
    pub sms: bool,
    #[serde(default, alias = "MMS")]
    pub mms: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AvailableNumber {
    pub phone_number: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub friendly_name: Option<String>,
    #[serde(default, deserialize_with = "loose_string")]
    pub locality: Option<String>,
    #[serde(default, deserialize_with = "loose_string")]
    pub region: Option<String>,
    #[serde(default, deserialize_with = "loose_string")]
    pub postal_code: Option<String>,
    #[serde(default, deserialize_with = "loose_string")]
    pub iso_country: Option<String>,
    #[serde(default)]
    pub capabilities: Capabilities,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IncomingNumber {
    pub sid: String,
    pub phone_number: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub friendly_name: Option<String>,
    #[serde(default, deserialize_with = "loose_string")]
    pub voice_url: Option<String>,
    #[serde(default, deserialize_with = "loose_string")]
    pub sms_url: Option<String>,
    #[serde(default, deserialize_with = "loose_string")]
    pub status_callback: Option<String>,
    #[serde(default)]
    pub capabilities: Capabilities,
    #[serde(default, deserialize_with = "loose_string")]
    pub date_created: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Call {
    pub sid: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "loose_string")]
    pub from: Option<String>,
    #[serde(default, deserialize_with = "loose_string")]
    pub to: Option<String>,
    #[serde(default, deserialize_with = "loose_string")]
    pub direction: Option<String>,
    /// Seconds, once the call has ended.
    #[serde(default, deserialize_with = "loose_i64")]
    pub duration: Option<i64>,
    /// Decimal string, negative for charges ("-0.0085"); null until known.
    #[serde(default, deserialize_with = "loose_string")]
    pub price: Option<String>,
    #[serde(default, deserialize_with = "loose_string")]
    pub price_unit: Option<String>,
    #[serde(default, deserialize_with = "loose_string")]
    pub start_time: Option<String>,
    #[serde(default, deserialize_with = "loose_string")]
    pub end_time: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Recording {
    pub sid: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub call_sid: Option<String>,
    #[serde(default, deserialize_with = "loose_i64")]
    pub duration: Option<i64>,
    #[serde(default, deserialize_with = "loose_string")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "loose_string")]
    pub price: Option<String>,
    #[serde(default, deserialize_with = "loose_string")]
    pub price_unit: Option<String>,
    #[serde(default, deserialize_with = "loose_i64")]
    pub channels: Option<i64>,
    #[serde(default, deserialize_with = "loose_string")]
    pub date_created: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub sid: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "loose_string")]
    pub from: Option<String>,
    #[serde(default, deserialize_with = "loose_string")]
    pub to: Option<String>,
    #[serde(default, deserialize_with = "loose_string")]
    pub body: Option<String>,
    #[serde(default, deserialize_with = "loose_i64")]
    pub num_segments: Option<i64>,
    #[serde(default, deserialize_with = "loose_string")]
    pub price: Option<String>,
    #[serde(default, deserialize_with = "loose_string")]
    pub price_unit: Option<String>,
    #[serde(default, deserialize_with = "loose_i64")]
    pub error_code: Option<i64>,
    #[serde(default, deserialize_with = "loose_string")]
    pub error_message: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LineTypeIntelligence {
    #[serde(default, deserialize_with = "loose_string")]
    pub carrier_name: Option<String>,
    /// Lookup v2 line type: landline, mobile, fixedVoip, nonFixedVoip, tollFree, …
    #[serde(default, rename = "type", deserialize_with = "loose_string")]
    pub line_type: Option<String>,
    #[serde(default, deserialize_with = "loose_string")]
    pub mobile_country_code: Option<String>,
    #[serde(default, deserialize_with = "loose_string")]
    pub mobile_network_code: Option<String>,
    #[serde(default, deserialize_with = "loose_i64")]
    pub error_code: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CallerName {
    #[serde(default, deserialize_with = "loose_string")]
    pub caller_name: Option<String>,
    /// BUSINESS or CONSUMER
    #[serde(default, deserialize_with = "loose_string")]
    pub caller_type: Option<String>,
    #[serde(default, deserialize_with = "loose_i64")]
    pub error_code: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LookupResult {
    pub phone_number: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub national_format: Option<String>,
    #[serde(default, deserialize_with = "loose_string")]
    pub country_code: Option<String>,
    #[serde(default, deserialize_with = "loose_string")]
    pub calling_country_code: Option<String>,
    #[serde(default)]
    pub valid: Option<bool>,
    #[serde(default)]
    pub line_type_intelligence: Option<LineTypeIntelligence>,
    #[serde(default)]
    pub caller_name: Option<CallerName>,
    /// The whole answer as received, kept for the cache's raw payload.
    #[serde(skip)]
    pub raw: serde_json::Value,
}

/// One category of a usage report: what was used, and what it cost, over the days asked for.
/// Read from Twilio's usage record (`count` and `usage` are strings there, `price` a number).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct UsageRecord {
    /// Twilio's usage category: `calls`, `sms`, `phonenumbers`, `recordings`, `lookups`, …, and
    /// `totalprice`, the sum of all prices.
    #[serde(default, deserialize_with = "loose_text")]
    pub category: String,
    /// Usage events (calls, messages, numbers, …), in the record's `count_unit`.
    #[serde(default, deserialize_with = "whole_number")]
    pub count: i64,
    /// What was billed, in the record's `usage_unit` (minutes, segments, …), whole units.
    #[serde(default, deserialize_with = "whole_number")]
    pub usage: i64,
    /// What it cost, in micro-dollars (positive).
    #[serde(default, rename = "price", deserialize_with = "price_field")]
    pub price_micros: i64,
}

/// A page of a Twilio list: the items under the resource's key, and where the next page is.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_page_uri: Option<String>,
}

impl<T: serde::de::DeserializeOwned> Page<T> {
    /// Reads `{ "<key>": [...], "next_page_uri": ... }`.
    pub fn from_json(v: serde_json::Value, key: &str) -> Result<Page<T>, serde_json::Error> {
        let next_page_uri = v
            .get("next_page_uri")
            .and_then(|n| n.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        let items = match v.get(key) {
            Some(list) => serde_json::from_value(list.clone())?,
            None => Vec::new(),
        };
        Ok(Page {
            items,
            next_page_uri,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_strings_and_extra_fields_are_tolerated() {
        let call: Call = serde_json::from_str(
            r#"{"sid":"CA1","status":"completed","duration":"15","price":-0.0085,"new_field":{"x":1}}"#,
        )
        .unwrap();
        assert_eq!(call.duration, Some(15));
        assert_eq!(call.price.as_deref(), Some("-0.0085"));
        let msg: Message =
            serde_json::from_str(r#"{"sid":"SM1","num_segments":2,"error_code":null}"#).unwrap();
        assert_eq!(msg.num_segments, Some(2));
        assert_eq!(msg.error_code, None);
    }

    #[test]
    fn prices_are_read_exactly_as_positive_micro_dollars() {
        assert_eq!(price_micros("1.0085"), Some(1_008_500));
        assert_eq!(price_micros("-0.00850"), Some(8_500));
        assert_eq!(price_micros("12"), Some(12_000_000));
        assert_eq!(price_micros("12.0"), Some(12_000_000));
        assert_eq!(price_micros("+.5"), Some(500_000));
        assert_eq!(price_micros("0"), Some(0));
        assert_eq!(price_micros("-0.000"), Some(0));
        // Past six decimals, rounded half away from zero (on the positive amount).
        assert_eq!(price_micros("0.0000005"), Some(1));
        assert_eq!(price_micros("0.00000049"), Some(0));
        assert_eq!(price_micros("-0.0000015"), Some(2));
        assert_eq!(price_micros("1.0085000000000002"), Some(1_008_500));
        assert_eq!(price_micros("1.0084999999999999"), Some(1_008_500));
        // The exponent form a printed JSON number can take.
        assert_eq!(price_micros("5e-7"), Some(1));
        assert_eq!(price_micros("8.5E-3"), Some(8_500));
        assert_eq!(price_micros("1.5e2"), Some(150_000_000));
        assert_eq!(price_micros("1e-400"), Some(0));
        assert_eq!(price_micros("9223372036854.775807"), Some(i64::MAX));
        for bad in [
            "",
            "-",
            ".",
            "abc",
            "1.2.3",
            "1e",
            "1e99",
            "0x10",
            "1,5",
            "--1",
            "9223372036854.7758075",
        ] {
            assert_eq!(price_micros(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn usage_records_read_counts_loosely_and_prices_exactly() {
        let r: UsageRecord = serde_json::from_str(
            r#"{"category":"calls","count":"3","usage":"12.5","price":1.0085,"price_unit":"usd"}"#,
        )
        .unwrap();
        assert_eq!(
            r,
            UsageRecord {
                category: "calls".into(),
                count: 3,
                usage: 12,
                price_micros: 1_008_500
            }
        );
        let r: UsageRecord = serde_json::from_value(serde_json::json!(
            {"category":"sms","count":7,"usage":"many","price":"-0.00790"}
        ))
        .unwrap();
        assert_eq!((r.count, r.usage, r.price_micros), (7, 0, 7_900));
        let r: UsageRecord = serde_json::from_value(serde_json::json!(
            {"category":"calleridlookups","count":null,"price":null}
        ))
        .unwrap();
        assert_eq!((r.count, r.usage, r.price_micros), (0, 0, 0));
        let tiny: UsageRecord =
            serde_json::from_value(serde_json::json!({"category":"x","price":0.0000005})).unwrap();
        assert_eq!(tiny.price_micros, 1);
        assert!(serde_json::from_value::<UsageRecord>(
            serde_json::json!({"category":"x","price":"free"})
        )
        .is_err());
        assert!(serde_json::from_value::<UsageRecord>(
            serde_json::json!({"category":"x","price":true})
        )
        .is_err());
    }

    #[test]
    fn pages_read_their_items_and_next_page() {
        let v =
            serde_json::json!({"calls":[{"sid":"CA1"},{"sid":"CA2"}],"next_page_uri":"/x?Page=1"});
        let p: Page<Call> = Page::from_json(v, "calls").unwrap();
        assert_eq!(p.items.len(), 2);
        assert_eq!(p.next_page_uri.as_deref(), Some("/x?Page=1"));
        let last: Page<Call> = Page::from_json(
            serde_json::json!({"calls":[],"next_page_uri":null}),
            "calls",
        )
        .unwrap();
        assert!(last.next_page_uri.is_none());
    }
}

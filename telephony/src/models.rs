//! Twilio's JSON resources as PhoneHub reads them: unknown fields ignored, numbers accepted as
//! strings or numbers (Twilio sends "duration": "15" and "num_segments": "1"), absent fields empty.

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

//! Amazon Pinpoint `PhoneNumberValidate` (botocore's `pinpoint/2016-12-01`, protocol
//! `rest-json`): its request and answer, and the answer as the lookup result the app stores.

use serde::{Deserialize, Serialize};

use crate::models::{LineTypeIntelligence, LookupResult};
use crate::provider::ProviderError;

/// `PhoneNumberValidate`'s path (`operations.PhoneNumberValidate.http.requestUri`).
pub const VALIDATE_PATH: &str = "/v1/phone/number/validate";

/// `NumberValidateRequest`, the payload of `PhoneNumberValidateRequest` (the shape's `payload`
/// trait: the body is this structure itself, not wrapped in a `NumberValidateRequest` member).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NumberValidateRequest {
    #[serde(
        rename = "PhoneNumber",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub phone_number: Option<String>,
    #[serde(
        rename = "IsoCountryCode",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub iso_country_code: Option<String>,
}

/// `NumberValidateResponse`, the payload of `PhoneNumberValidateResponse` (the whole answer body).
/// `PhoneType` is one of MOBILE, LANDLINE, VOIP, INVALID, PREPAID, OTHER; `PhoneTypeCode` the same
/// as 0, 1, 2, 3, 4 (other), 5 (prepaid).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NumberValidateResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(
        rename = "CleansedPhoneNumberE164",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub cleansed_phone_number_e164: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleansed_phone_number_national: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code_iso2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code_numeric: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub county: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_country_code_iso2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_phone_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_type_code: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip_code: Option<String>,
}

/// Pinpoint's phone type as a Lookup v2 line type (the strings `LineTypeIntelligence::line_type`
/// and the app use); `None` for INVALID (the number is not valid, and has no line type).
/// `PhoneTypeCode` is read when `PhoneType` is absent.
pub fn line_type(phone_type: Option<&str>, phone_type_code: Option<i64>) -> Option<&'static str> {
    let kind = match (phone_type, phone_type_code) {
        (Some(t), _) => t.trim().to_ascii_uppercase(),
        (None, Some(0)) => "MOBILE".into(),
        (None, Some(1)) => "LANDLINE".into(),
        (None, Some(2)) => "VOIP".into(),
        (None, Some(3)) => "INVALID".into(),
        (None, Some(5)) => "PREPAID".into(),
        _ => "OTHER".into(),
    };
    match kind.as_str() {
        "MOBILE" | "PREPAID" => Some("mobile"),
        "LANDLINE" => Some("landline"),
        "VOIP" => Some("nonFixedVoip"),
        "INVALID" => None,
        _ => Some("unknown"),
    }
}

/// A Pinpoint answer as the lookup result the app stores: valid unless the phone type is INVALID,
/// line type intelligence with the carrier, never a caller name (AWS has none). `raw` keeps the
/// answer as received.
pub fn lookup_result(
    asked: &str,
    r: &NumberValidateResponse,
    raw: serde_json::Value,
) -> LookupResult {
    let kind = line_type(r.phone_type.as_deref(), r.phone_type_code);
    let invalid = kind.is_none();
    let non_empty = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    LookupResult {
        phone_number: non_empty(&r.cleansed_phone_number_e164).unwrap_or_else(|| asked.to_string()),
        national_format: non_empty(&r.cleansed_phone_number_national),
        country_code: non_empty(&r.country_code_iso2),
        calling_country_code: non_empty(&r.country_code_numeric),
        valid: Some(!invalid),
        line_type_intelligence: kind.map(|t| LineTypeIntelligence {
            carrier_name: non_empty(&r.carrier),
            line_type: Some(t.to_string()),
            ..Default::default()
        }),
        caller_name: None,
        raw,
    }
}

/// The body of a `PhoneNumberValidate` for `e164`: the number, and its country when it parses.
pub(super) fn validate_body(e164: &str) -> Result<Vec<u8>, ProviderError> {
    let request = NumberValidateRequest {
        phone_number: Some(e164.to_string()),
        iso_country_code: crate::e164::E164::parse(e164, None)
            .ok()
            .and_then(|e| e.region()),
    };
    serde_json::to_vec(&request).map_err(|e| ProviderError::Decode(e.to_string()))
}

/// A `PhoneNumberValidate` answer to the lookup of `e164`, mapped by [`lookup_result`].
pub(super) fn read_answer(e164: &str, answer: &[u8]) -> Result<LookupResult, ProviderError> {
    let raw: serde_json::Value =
        serde_json::from_slice(answer).map_err(|e| ProviderError::Decode(e.to_string()))?;
    let r: NumberValidateResponse =
        serde_json::from_value(raw.clone()).map_err(|e| ProviderError::Decode(e.to_string()))?;
    Ok(lookup_result(e164, &r, raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_types_become_lookup_v2_line_types() {
        assert_eq!(line_type(Some("MOBILE"), None), Some("mobile"));
        assert_eq!(line_type(Some("PREPAID"), Some(5)), Some("mobile"));
        assert_eq!(line_type(Some("LANDLINE"), None), Some("landline"));
        assert_eq!(line_type(Some("VOIP"), None), Some("nonFixedVoip"));
        assert_eq!(line_type(Some("OTHER"), None), Some("unknown"));
        assert_eq!(line_type(Some("SOMETHING_NEW"), None), Some("unknown"));
        assert_eq!(line_type(Some("INVALID"), Some(3)), None);
        assert_eq!(line_type(None, Some(1)), Some("landline"));
        assert_eq!(line_type(None, Some(3)), None);
        assert_eq!(line_type(None, None), Some("unknown"));
        let invalid = NumberValidateResponse {
            phone_type: Some("INVALID".into()),
            phone_type_code: Some(3),
            original_phone_number: Some("+1415".into()),
            ..Default::default()
        };
        let r = lookup_result("+1415", &invalid, serde_json::Value::Null);
        assert_eq!(r.valid, Some(false));
        assert!(r.line_type_intelligence.is_none());
        assert_eq!(r.phone_number, "+1415");
    }
}

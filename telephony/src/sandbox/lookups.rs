//! Lookup v2: validation, line type intelligence and caller name, counting what would be billed.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::data::lookup_facts;
use super::rest::field;
use super::Shared;
use crate::e164::E164;

/// What a lookup with line type intelligence costs, in micro-dollars (PhoneHub's default
/// `lookup.line_type` price).
const LINE_TYPE_MICROS: i64 = 5_000;
/// What a lookup with caller name costs, in micro-dollars (PhoneHub's default
/// `lookup.caller_name` price).
const CALLER_NAME_MICROS: i64 = 10_000;

pub(super) async fn lookup(
    State(sb): State<Shared>,
    Path(number): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
    _headers: HeaderMap,
) -> Response {
    sb.count("FetchPhoneNumber");
    let fields = field(&q, "Fields").unwrap_or_default();
    let want_lti = fields
        .split(',')
        .any(|f| f.trim() == "line_type_intelligence");
    let want_cnam = fields.split(',').any(|f| f.trim() == "caller_name");
    let region = field(&q, "CountryCode");
    let url = format!("https://lookups.twilio.com/v2/PhoneNumbers/{number}");
    let parsed = E164::parse(&number, region.as_deref());
    let Ok(e) = parsed else {
        let reason = match parsed {
            Err(crate::PhoneError::TooShort { .. }) => "TOO_SHORT",
            Err(crate::PhoneError::TooLong { .. }) => "TOO_LONG",
            Err(crate::PhoneError::InvalidCountryCode) => "INVALID_COUNTRY_CODE",
            _ => "NOT_A_NUMBER",
        };
        return Json(json!({
            "calling_country_code": null, "country_code": null, "phone_number": number,
            "national_format": null, "valid": false, "validation_errors": [reason],
            "caller_name": null, "sim_swap": null, "call_forwarding": null, "line_status": null,
            "line_type_intelligence": null, "identity_match": null, "reassigned_number": null,
            "sms_pumping_risk": null, "phone_number_quality_score": null, "pre_fill": null, "url": url,
        }))
        .into_response();
    };
    if want_lti {
        sb.count("billed_line_type_intelligence");
    }
    if want_cnam {
        sb.count("billed_caller_name");
    }
    if want_lti || want_cnam {
        sb.count("billed_lookups");
        let price = if want_lti { LINE_TYPE_MICROS } else { 0 }
            + if want_cnam { CALLER_NAME_MICROS } else { 0 };
        let mut d = sb.lock();
        d.bill("lookups", 1, 1, price);
        sb.save(&d);
    }
    let facts = lookup_facts(e.as_str());
    let us = e.country_code() == 1;
    Json(json!({
        "calling_country_code": e.country_code().to_string(), "country_code": e.region(),
        "phone_number": e.as_str(), "national_format": e.national(), "valid": true,
        "validation_errors": [],
        "caller_name": want_cnam.then(|| if us {
            json!({"caller_name": facts.caller_name, "caller_type": facts.caller_type, "error_code": null})
        } else {
            // Caller name is a US-only product.
            json!({"caller_name": null, "caller_type": null, "error_code": 60600})
        }),
        "sim_swap": null, "call_forwarding": null, "line_status": null,
        "line_type_intelligence": want_lti.then(|| json!({
            "carrier_name": facts.carrier, "type": facts.line_type, "error_code": null,
            "mobile_country_code": if us { "310" } else { "234" }, "mobile_network_code": "456",
        })),
        "identity_match": null, "reassigned_number": null, "sms_pumping_risk": null,
        "phone_number_quality_score": null, "pre_fill": null, "url": url,
    }))
    .into_response()
}

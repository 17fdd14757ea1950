//! Phone numbers: searching the inventory, and buying, listing, updating and releasing them.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::data::{inventory, matches_pattern, place, EMPTY_AREA_CODE};
use super::rest::{
    field, form, new_sid, not_found, now, page_json, strip_json, twilio_error, ApiError,
};
use super::state::OwnedNumber;
use super::{Sandbox, Shared};
use crate::e164::E164;

/// What a number costs a month, in micro-dollars, billed when it is bought (PhoneHub's default
/// `number.monthly` price).
pub const NUMBER_MONTHLY_MICROS: i64 = 1_000_000;

fn available_json(n: &str, country: &str) -> Value {
    let e = E164::parse(n, None).ok();
    let area = if country == "US" || country == "CA" {
        &n[2..5]
    } else {
        ""
    };
    let (locality, region, postal) = place(area);
    let national = e
        .as_ref()
        .map(|e| e.national())
        .unwrap_or_else(|| n.to_string());
    json!({
        "friendly_name": national, "phone_number": n, "lata": "722", "locality": locality,
        "rate_center": locality.to_uppercase(), "latitude": 37.78, "longitude": -122.4,
        "region": region, "postal_code": postal, "iso_country": country,
        "address_requirements": "none", "beta": false,
        "capabilities": {"voice": true, "SMS": true, "MMS": true, "fax": false},
    })
}

fn owned_numbers(sb: &Sandbox) -> Vec<String> {
    sb.lock()
        .numbers
        .iter()
        .map(|n| n.phone_number.clone())
        .collect()
}

pub(super) async fn search_numbers(
    State(sb): State<Shared>,
    Path((_, country, kind)): Path<(String, String, String)>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let Some(kind) = strip_json(&kind) else {
        return not_found();
    };
    if !matches!(kind, "Local" | "Mobile" | "TollFree") {
        return not_found();
    }
    sb.count(&format!("ListAvailablePhoneNumber{kind}"));
    let get = |k: &str| field(&q, k);
    let area = get("AreaCode");
    if area
        .as_deref()
        .is_some_and(|a| a.len() != 3 || !a.chars().all(|c| c.is_ascii_digit()))
    {
        return twilio_error(StatusCode::BAD_REQUEST, 21216, "AreaCode must be 3 digits");
    }
    let owned = owned_numbers(&sb);
    let page_size: usize = get("PageSize")
        .and_then(|p| p.parse().ok())
        .unwrap_or(50)
        .clamp(1, 1000);
    let mut found: Vec<Value> = inventory(&country, kind, area.as_deref())
        .into_iter()
        .filter(|n| !owned.contains(n))
        .filter(|n| get("Contains").is_none_or(|p| matches_pattern(n, &p)))
        .map(|n| available_json(&n, &country))
        .filter(|v| {
            get("InRegion").is_none_or(|r| {
                v["region"]
                    .as_str()
                    .is_some_and(|x| x.eq_ignore_ascii_case(&r))
            })
        })
        .filter(|v| {
            get("InLocality").is_none_or(|l| {
                v["locality"]
                    .as_str()
                    .is_some_and(|x| x.eq_ignore_ascii_case(&l))
            })
        })
        .collect();
    found.truncate(page_size);
    Json(json!({
        "available_phone_numbers": found,
        "uri": sb.absolute(&sb.account_uri(&format!("/AvailablePhoneNumbers/{country}/{kind}.json"))),
    }))
    .into_response()
}

fn number_json(sb: &Sandbox, n: &OwnedNumber) -> Value {
    json!({
        "account_sid": sb.cfg.account_sid, "address_sid": null, "address_requirements": "none",
        "api_version": "2010-04-01", "beta": false,
        "capabilities": {"voice": n.voice, "sms": n.sms, "mms": n.mms, "fax": false},
        "date_created": n.date_created, "date_updated": n.date_updated,
        "friendly_name": n.friendly_name, "identity_sid": null, "phone_number": n.phone_number,
        "origin": "twilio", "sid": n.sid, "sms_application_sid": null, "sms_fallback_method": "POST",
        "sms_fallback_url": null, "sms_method": "POST", "sms_url": n.sms_url,
        "status_callback": n.status_callback, "status_callback_method": "POST", "trunk_sid": null,
        "uri": sb.account_uri(&format!("/IncomingPhoneNumbers/{}.json", n.sid)),
        "voice_receive_mode": "voice", "voice_application_sid": null, "voice_caller_id_lookup": false,
        "voice_fallback_method": "POST", "voice_fallback_url": null, "voice_method": "POST",
        "voice_url": n.voice_url, "emergency_status": "Inactive", "emergency_address_sid": null,
        "emergency_address_status": "unregistered", "bundle_sid": null, "status": "in-use",
    })
}

pub(super) async fn list_numbers(
    State(sb): State<Shared>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    sb.count("ListIncomingPhoneNumber");
    let filter = field(&q, "PhoneNumber");
    let items: Vec<Value> = sb
        .lock()
        .numbers
        .iter()
        .filter(|n| filter.as_deref().is_none_or(|f| n.phone_number == f))
        .map(|n| number_json(&sb, n))
        .collect();
    Json(page_json(
        &sb,
        "incoming_phone_numbers",
        "/IncomingPhoneNumbers.json",
        items,
        &q,
    ))
    .into_response()
}

fn apply_update(n: &mut OwnedNumber, f: &[(String, String)]) {
    if let Some(v) = field(f, "FriendlyName") {
        n.friendly_name = v.chars().take(64).collect();
    }
    for (key, slot) in [
        ("VoiceUrl", &mut n.voice_url),
        ("SmsUrl", &mut n.sms_url),
        ("StatusCallback", &mut n.status_callback),
    ] {
        if let Some(v) = field(f, key) {
            *slot = (!v.is_empty()).then_some(v);
        }
    }
    n.date_updated = now();
}

/// The number a purchase asks for: the `PhoneNumber` given, or the first free one in `AreaCode`.
fn wanted_number(sb: &Sandbox, f: &[(String, String)]) -> Result<String, ApiError> {
    match (field(f, "PhoneNumber"), field(f, "AreaCode")) {
        (Some(p), _) => match E164::parse(&p, None) {
            Ok(e) => Ok(e.to_string()),
            Err(_) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                21421,
                format!("PhoneNumber {p} is invalid"),
            )),
        },
        (None, Some(area)) => {
            let owned = owned_numbers(sb);
            inventory("US", "Local", Some(&area))
                .into_iter()
                .find(|n| !owned.contains(n))
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        21452,
                        format!("No phone numbers found in area code {area}"),
                    )
                })
        }
        (None, None) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            21421,
            "PhoneNumber or AreaCode is required",
        )),
    }
}

pub(super) async fn buy_number(State(sb): State<Shared>, body: String) -> Response {
    sb.count("CreateIncomingPhoneNumber");
    let f = form(&body);
    let wanted = match wanted_number(&sb, &f) {
        Ok(n) => n,
        Err(e) => return e.into_response(),
    };
    let mut d = sb.lock();
    if d.numbers.iter().any(|n| n.phone_number == wanted) {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21422,
            format!("PhoneNumber {wanted} is not available"),
        );
    }
    let area = wanted.get(2..5).unwrap_or_default();
    if wanted.starts_with("+1") && area == EMPTY_AREA_CODE {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21452,
            format!("No phone numbers found in area code {area}"),
        );
    }
    let t = now();
    let mut n = OwnedNumber {
        sid: new_sid("PN"),
        phone_number: wanted.clone(),
        friendly_name: E164::parse(&wanted, None)
            .map(|e| e.national())
            .unwrap_or(wanted),
        voice: true,
        sms: true,
        mms: true,
        date_created: t.clone(),
        date_updated: t,
        billed_through: super::rest::today().get(..7).map(str::to_string),
        ..Default::default()
    };
    apply_update(&mut n, &f);
    d.numbers.push(n.clone());
    d.bill("phonenumbers", 1, 1, NUMBER_MONTHLY_MICROS);
    sb.save(&d);
    (StatusCode::CREATED, Json(number_json(&sb, &n))).into_response()
}

pub(super) async fn fetch_number(
    State(sb): State<Shared>,
    Path((_, sid)): Path<(String, String)>,
) -> Response {
    sb.count("FetchIncomingPhoneNumber");
    let Some(sid) = strip_json(&sid) else {
        return not_found();
    };
    match sb.lock().numbers.iter().find(|n| n.sid == sid) {
        Some(n) => Json(number_json(&sb, n)).into_response(),
        None => not_found(),
    }
}

pub(super) async fn update_number(
    State(sb): State<Shared>,
    Path((_, sid)): Path<(String, String)>,
    body: String,
) -> Response {
    sb.count("UpdateIncomingPhoneNumber");
    let Some(sid) = strip_json(&sid) else {
        return not_found();
    };
    let f = form(&body);
    let mut d = sb.lock();
    let Some(n) = d.numbers.iter_mut().find(|n| n.sid == sid) else {
        return not_found();
    };
    apply_update(n, &f);
    let out = number_json(&sb, n);
    sb.save(&d);
    Json(out).into_response()
}

pub(super) async fn release_number(
    State(sb): State<Shared>,
    Path((_, sid)): Path<(String, String)>,
) -> Response {
    sb.count("DeleteIncomingPhoneNumber");
    let Some(sid) = strip_json(&sid) else {
        return not_found();
    };
    let mut d = sb.lock();
    // The months it was held are billed before it goes.
    d.renew_numbers(super::rest::today().get(..7).unwrap_or_default());
    let before = d.numbers.len();
    d.numbers.retain(|n| n.sid != sid);
    if d.numbers.len() == before {
        return not_found();
    }
    sb.save(&d);
    StatusCode::NO_CONTENT.into_response()
}

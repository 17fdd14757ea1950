//! Webhook signatures against vectors computed by Twilio's own helper library (twilio-python
//! 9.13.0, `scripts/twilio-signature-vectors.py`): shared keys with HMAC-SHA256 and auth tokens
//! with HMAC-SHA1, repeated parameters, both port forms and the JSON body variant.

use telephony::signature::{self, Algorithm, Payload};

#[derive(serde::Deserialize)]
struct Vectors {
    settings_header: String,
    vectors: Vec<Vector>,
}

#[derive(serde::Deserialize)]
struct Vector {
    name: String,
    secret: String,
    algorithm: String,
    request_url: String,
    signed_url: String,
    params: Option<Vec<(String, String)>>,
    body: Option<String>,
    signature: String,
}

fn vectors() -> Vectors {
    let raw = include_str!("data/twilio_signature_vectors.json");
    serde_json::from_str(raw).expect("the vectors file is valid JSON")
}

#[test]
fn signatures_match_twilio_python() {
    let all = vectors();
    assert_eq!(all.vectors.len(), 8);
    let settings = signature::parse_settings(&all.settings_header);
    assert_eq!(
        settings.algorithm.as_deref().and_then(Algorithm::from_name),
        Some(Algorithm::HmacSha256)
    );
    for v in &all.vectors {
        let alg = Algorithm::from_name(&v.algorithm).expect("a known algorithm");
        let params = v.params.clone().unwrap_or_default();
        // The signature Twilio computed over the URL it signed…
        assert_eq!(
            signature::compute_with(alg, &v.secret, &v.signed_url, &params),
            v.signature,
            "{}",
            v.name
        );
        // …is accepted for the URL the request was sent to, and only with that secret and
        // algorithm.
        let payload = match &v.body {
            Some(b) => Payload::Json(b.as_bytes()),
            None => Payload::Form(&params),
        };
        assert!(
            signature::validate_with(alg, &v.secret, &v.request_url, payload, &v.signature),
            "{}",
            v.name
        );
        assert!(
            !signature::validate_with(alg, "another-secret", &v.request_url, payload, &v.signature),
            "{}: another secret",
            v.name
        );
        let other = match alg {
            Algorithm::HmacSha1 => Algorithm::HmacSha256,
            Algorithm::HmacSha256 => Algorithm::HmacSha1,
        };
        assert!(
            !signature::validate_with(other, &v.secret, &v.request_url, payload, &v.signature),
            "{}: another algorithm",
            v.name
        );
    }
}

#[test]
fn a_tampered_request_fails_every_vector() {
    for v in vectors().vectors {
        let alg = Algorithm::from_name(&v.algorithm).expect("a known algorithm");
        match (&v.params, &v.body) {
            (Some(params), _) => {
                let mut changed = params.clone();
                changed[0].1.push('0');
                assert!(
                    !signature::validate_with(
                        alg,
                        &v.secret,
                        &v.request_url,
                        Payload::Form(&changed),
                        &v.signature
                    ),
                    "{}",
                    v.name
                );
            }
            (None, Some(body)) => {
                let changed = body.replace("true", "false");
                assert!(
                    !signature::validate_with(
                        alg,
                        &v.secret,
                        &v.request_url,
                        Payload::Json(changed.as_bytes()),
                        &v.signature
                    ),
                    "{}",
                    v.name
                );
            }
            (None, None) => panic!("{}: a vector has parameters or a body", v.name),
        }
    }
}

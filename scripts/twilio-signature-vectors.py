#!/usr/bin/env python3
"""Writes telephony/tests/data/twilio_signature_vectors.json: webhook signatures computed by
Twilio's official helper library, twilio-python 9.13.0 (the first with SharedKey / HMAC_SHA256
support), so telephony::signature is checked against Twilio's code rather than against itself.

Run it (PyPI only):
    python3 -m venv /tmp/tw && /tmp/tw/bin/pip install twilio==9.13.0
    /tmp/tw/bin/python scripts/twilio-signature-vectors.py

Each vector names the secret (auth token or shared key), the algorithm, the URL the request was
sent to (`request_url`), the URL Twilio signed (`signed_url`, with or without the default port),
the form parameters in the order they were posted (repeated names kept), or a JSON body, and the
signature. Every vector is checked with the library's own `RequestValidator.validate` before it is
written.
"""
import json
import pathlib

import twilio
from twilio.request_validator import RequestValidator, get_signature_algorithm

assert twilio.__version__ == "9.13.0", twilio.__version__


class Multi:
    """Form parameters with repeated names, as a web framework's MultiDict gives them."""

    def __init__(self, pairs):
        self.pairs = pairs

    def __iter__(self):
        return iter(dict.fromkeys(k for k, _ in self.pairs))

    def getall(self, name):
        return [v for k, v in self.pairs if k == name]


AUTH_TOKEN = "12345"
SHARED_KEY = "whsk_secret_c2hhcmVkLWtleS0wMDE"
OTHER_KEY = "whsk_secret_b3RoZXIta2V5LTAwMg"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = [
    ("CallSid", "CA1234567890ABCDE"),
    ("Caller", "+14158675309"),
    ("Digits", "1234"),
    ("From", "+14158675309"),
    ("To", "+18005551212"),
]
REPEATED = [
    ("Sid", "CA123"),
    ("SidAccount", "AC123"),
    ("Digits", "5678"),
    ("Digits", "1234"),
    ("Digits", "5678"),
]
BODY = '{"property": "value", "boolean": true}'


def vector(name, secret, algorithm, request_url, signed_url, pairs=None, body=None):
    v = RequestValidator(secret)
    if body is not None:
        signature = v.compute_signature(signed_url, {}, algorithm)
        assert v.validate(request_url, body, signature, algorithm)
        assert not v.validate(request_url, body.replace("value", "other"), signature, algorithm)
    else:
        signature = v.compute_signature(signed_url, Multi(pairs), algorithm)
        assert v.validate(request_url, Multi(pairs), signature, algorithm)
    other = RequestValidator(OTHER_KEY)
    assert not other.validate(request_url, body if body is not None else Multi(pairs), signature, algorithm)
    return {
        "name": name,
        "secret": secret,
        "algorithm": algorithm,
        "request_url": request_url,
        "signed_url": signed_url,
        "params": pairs,
        "body": body,
        "signature": signature,
    }


header = "key=webhooks_sharedkey_0001,algorithm=HMAC_SHA256"
assert get_signature_algorithm(header) == "HMAC_SHA256"
assert get_signature_algorithm(None) == "HMAC_SHA1"

body_url = URL + "&bodySHA256=" + RequestValidator(SHARED_KEY).compute_hash(BODY)
vectors = [
    vector("shared key, form", SHARED_KEY, "HMAC_SHA256", URL, URL, PARAMS),
    vector("shared key, repeated parameters", SHARED_KEY, "HMAC_SHA256", URL, URL, REPEATED),
    vector("shared key, signed with the default port, sent without", SHARED_KEY, "HMAC_SHA256",
           URL, URL.replace(".com/", ".com:443/"), PARAMS),
    vector("shared key, signed without a port, sent with one", SHARED_KEY, "HMAC_SHA256",
           URL.replace(".com/", ".com:8443/"), URL, PARAMS),
    vector("shared key, http with the default port", SHARED_KEY, "HMAC_SHA256",
           URL.replace("https", "http"), URL.replace("https", "http").replace(".com/", ".com:80/"), PARAMS),
    vector("shared key, JSON body", SHARED_KEY, "HMAC_SHA256", body_url, body_url, body=BODY),
    vector("auth token, form (legacy)", AUTH_TOKEN, "HMAC_SHA1", URL, URL, PARAMS),
    vector("auth token, repeated parameters (legacy)", AUTH_TOKEN, "HMAC_SHA1", URL, URL, REPEATED),
]

out = pathlib.Path(__file__).resolve().parent.parent / "telephony/tests/data/twilio_signature_vectors.json"
out.write_text(json.dumps({
    "generator": "scripts/twilio-signature-vectors.py with twilio-python " + twilio.__version__,
    "settings_header": header,
    "vectors": vectors,
}, indent=2) + "\n")
print(f"wrote {len(vectors)} vectors to {out}")

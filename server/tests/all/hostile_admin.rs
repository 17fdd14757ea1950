//! An org admin (or a provider) turned against everyone else: each test plays one attack against a
//! fake provider server the test starts, and shows PhoneHub fails safely.

use crate::common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use common::{configure_sandbox, spawn_app, spawn_app_on, start_sandbox, TestApp};
use sqlx::PgPool;

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "fake-provider-token-0001";

/// What the fake provider answers, by path suffix, and how often each path was asked.
#[derive(Clone, Default)]
struct Fake {
    answers: Arc<Mutex<HashMap<String, FakeAnswer>>>,
    hits: Arc<Mutex<HashMap<String, u32>>>,
}

#[derive(Clone)]
struct FakeAnswer {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl Fake {
    async fn start() -> (Fake, String) {
        let fake = Fake::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let router = axum::Router::new()
            .fallback(answer)
            .with_state(fake.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        (fake, base)
    }

    fn on(&self, path_suffix: &str, status: u16, headers: &[(&'static str, &str)], body: &[u8]) {
        self.answers.lock().unwrap().insert(
            path_suffix.to_string(),
            FakeAnswer {
                status,
                headers: headers.iter().map(|(k, v)| (*k, v.to_string())).collect(),
                body: body.to_vec(),
            },
        );
    }

    fn hits(&self, path_suffix: &str) -> u32 {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p.ends_with(path_suffix))
            .map(|(_, n)| *n)
            .sum()
    }

    fn total_hits(&self) -> u32 {
        self.hits.lock().unwrap().values().sum()
    }
}

async fn answer(State(fake): State<Fake>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    *fake.hits.lock().unwrap().entry(path.clone()).or_default() += 1;
    let found = fake
        .answers
        .lock()
        .unwrap()
        .iter()
        .find(|(suffix, _)| path.ends_with(suffix.as_str()))
        .map(|(_, a)| a.clone());
    match found {
        Some(a) => {
            let mut headers = HeaderMap::new();
            for (k, v) in a.headers {
                headers.insert(k, v.parse().unwrap());
            }
            (
                StatusCode::from_u16(a.status).unwrap(),
                headers,
                Body::from(a.body),
            )
                .into_response()
        }
        None => (StatusCode::NOT_FOUND, "{}").into_response(),
    }
}

/// The system default phone config (set by the superadmin, the one who may set base URLs) pointed
/// at the fake provider; orgs without their own config use it.
async fn default_config_at(app: &TestApp, base: &str) {
    let root = app.login_as("root@phonehub.test").await;
    let r = app
        .call(
            &root,
            "save_phone_config",
            &[
                ("org", ""),
                ("provider", "twilio"),
                ("display_name", "Proxy"),
                ("active", "on"),
                ("lookup_enabled", "on"),
                ("lookup_cache_days", "30"),
                ("default_sender", ""),
                ("region", "us1"),
                ("api_base", &format!("{base}/api")),
                ("lookups_base", &format!("{base}/lookups")),
                ("credential_id", SID),
                ("credential_secret", TOKEN),
            ],
        )
        .await;
    assert!(r.status().as_u16() < 400, "default config: {}", r.status());
}

async fn lookup(app: &TestApp, c: &reqwest::Client, org: &str, number: &str) -> reqwest::Response {
    app.call(c, "lookup_number", &[("org", org), ("number", number)])
        .await
}

fn org_form<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("org", "acme"),
        ("provider", "twilio"),
        ("display_name", "Ours"),
        ("active", "on"),
        ("lookup_enabled", "on"),
        ("lookup_cache_days", "30"),
        ("default_sender", ""),
        ("region", "us1"),
        ("credential_id", SID),
        ("credential_secret", TOKEN),
    ];
    for (k, v) in extra {
        match form.iter_mut().find(|(f, _)| f == k) {
            Some(slot) => slot.1 = v,
            None => form.push((k, v)),
        }
    }
    form
}

#[sqlx::test(migrations = "../migrations")]
async fn an_org_admin_cannot_send_the_orgs_credentials_to_a_host_they_choose(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (fake, base) = Fake::start().await;
    let admin = app.login_as("admin@acme.test").await;
    let before = app.count("SELECT count(*) FROM phone_configs").await;
    let api = format!("{base}/api");
    let lookups = format!("{base}/lookups#");
    for attack in [
        vec![("api_base", api.as_str())],
        vec![("lookups_base", lookups.as_str())],
        vec![("region", "evil.example")],
        vec![("region", "127.0.0.1")],
    ] {
        let r = app
            .call(&admin, "save_phone_config", &org_form(&attack))
            .await;
        assert_eq!(r.status(), 422, "{attack:?}");
        let field = attack[0].0;
        assert!(r.text().await.unwrap().contains(field), "{field}");
    }
    assert_eq!(
        app.count("SELECT count(*) FROM phone_configs").await,
        before
    );
    assert_eq!(fake.total_hits(), 0, "nothing reached the admin's host");
    // The database refuses an org row with a base URL even if a code path forgot to.
    let err = sqlx::query(
        "INSERT INTO phone_configs (org_id, provider, api_base)
         SELECT id, 'twilio', 'https://evil.example' FROM orgs WHERE slug = 'acme'",
    )
    .execute(&app.pool)
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("phone_configs_bases_system_only"),
        "{err}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn moving_a_stored_token_to_another_destination_needs_the_token_again(pool: PgPool) {
    let app = spawn_app(pool).await;
    let admin = app.login_as("admin@acme.test").await;
    let r = app.call(&admin, "save_phone_config", &org_form(&[])).await;
    assert!(r.status().as_u16() < 400, "{}", r.status());
    let saved: (Vec<u8>, Option<String>) = sqlx::query_as(
        "SELECT token_ciphertext, region FROM phone_configs WHERE org_id IS NOT NULL",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let other_sid = "AC99999999999999999999999999999999";
    for change in [
        vec![("region", "ie1"), ("credential_secret", "")],
        vec![("credential_id", other_sid), ("credential_secret", "")],
        vec![("provider", "sandbox"), ("credential_secret", "")],
    ] {
        let r = app
            .call(&admin, "save_phone_config", &org_form(&change))
            .await;
        assert_eq!(r.status(), 422, "{change:?}");
        assert!(r.text().await.unwrap().contains("credential_secret"));
    }
    let after: (Vec<u8>, Option<String>) = sqlx::query_as(
        "SELECT token_ciphertext, region FROM phone_configs WHERE org_id IS NOT NULL",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(saved, after, "nothing written");
    // The same destination keeps the token; a new one with the token typed again is fine.
    let same = org_form(&[("credential_secret", ""), ("display_name", "Renamed")]);
    assert!(
        app.call(&admin, "save_phone_config", &same)
            .await
            .status()
            .as_u16()
            < 400
    );
    let moved = org_form(&[("region", "ie1")]);
    assert!(
        app.call(&admin, "save_phone_config", &moved)
            .await
            .status()
            .as_u16()
            < 400
    );
    let region: Option<String> =
        sqlx::query_scalar("SELECT region FROM phone_configs WHERE org_id IS NOT NULL")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(region.as_deref(), Some("ie1"));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_token_saved_for_one_host_is_never_sent_to_another(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (fake, base) = Fake::start().await;
    let (_, elsewhere) = Fake::start().await;
    default_config_at(&app, &elsewhere).await;
    // The row is changed behind the form's back (as the migration does to org rows that had
    // their own base URL): the stored token was saved for another host.
    sqlx::query("UPDATE phone_configs SET api_base = $1, lookups_base = $2 WHERE org_id IS NULL")
        .bind(format!("{base}/api"))
        .bind(format!("{base}/lookups"))
        .execute(&app.pool)
        .await
        .unwrap();
    let admin = app.login_as("admin@acme.test").await;
    let r = lookup(&app, &admin, "acme", "+14155552001").await;
    assert!(r.status().is_client_error() || r.status().is_server_error());
    assert!(r.text().await.unwrap().contains("Enter it again"));
    assert_eq!(fake.total_hits(), 0, "the token went nowhere");
    let page = app
        .get(&admin, "/o/acme/lookup")
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains(TOKEN));
}

fn lookup_json(number: &str, carrier: &str) -> Vec<u8> {
    serde_json::json!({
        "phone_number": number,
        "country_code": "US",
        "calling_country_code": "1",
        "national_format": "(415) 555-2002",
        "valid": true,
        "line_type_intelligence": { "type": "mobile", "carrier_name": carrier },
        "caller_name": { "caller_name": "SECRET NAME", "caller_type": "CONSUMER" },
        "url": "https://lookups.twilio.com/v2/PhoneNumbers/x"
    })
    .to_string()
    .into_bytes()
}

#[sqlx::test(migrations = "../migrations")]
async fn provider_answers_are_bounded_and_never_followed_elsewhere(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (fake, base) = Fake::start().await;
    let (target, target_base) = Fake::start().await;
    default_config_at(&app, &base).await;
    let admin = app.login_as("admin@acme.test").await;
    // A redirect is not followed (SSRF: the Location is the provider's choice).
    fake.on(
        "/PhoneNumbers/%2B14155552010",
        302,
        &[(
            "location",
            &format!("{target_base}/lookups/v2/PhoneNumbers/%2B14155552010"),
        )],
        b"",
    );
    let r = lookup(&app, &admin, "acme", "+14155552010").await;
    assert!(r.status().as_u16() >= 400);
    assert_eq!(target.total_hits(), 0, "the redirect was not followed");
    // A 2 MiB answer is refused, not read whole into memory or the cache.
    let mut huge = lookup_json("+14155552011", "Big");
    huge.truncate(huge.len() - 1);
    huge.extend(format!(", \"pad\": \"{}\"}}", "x".repeat(2 << 20)).into_bytes());
    fake.on("/PhoneNumbers/%2B14155552011", 200, &[], &huge);
    let r = lookup(&app, &admin, "acme", "+14155552011").await;
    assert!(r.status().as_u16() >= 400);
    let stored: i64 = app
        .count("SELECT count(*) FROM phone_numbers WHERE e164 = '+14155552011' AND lookup_expires_at IS NOT NULL")
        .await;
    assert_eq!(stored, 0);
    // A Retry-After bomb (or any refusal by the asking account) blocks nobody: it belongs to the
    // configuration, not to the number every org shares.
    fake.on(
        "/PhoneNumbers/%2B14155552012",
        429,
        &[("retry-after", "3000000000")],
        br#"{"code":20429,"message":"Too many requests"}"#,
    );
    let r = lookup(&app, &admin, "acme", "+14155552012").await;
    assert!(r.status().as_u16() >= 400);
    let blocked: i64 = app
        .count("SELECT count(*) FROM phone_numbers WHERE e164 = '+14155552012' AND retry_after IS NOT NULL")
        .await;
    assert_eq!(blocked, 0, "the number is not blocked for everyone");
    fake.on(
        "/PhoneNumbers/%2B14155552012",
        200,
        &[("content-type", "application/json")],
        &lookup_json("+14155552012", "Back"),
    );
    let globex = app.login_as("admin@globex.test").await;
    let r = lookup(&app, &globex, "globex", "+14155552012").await;
    assert!(r.status().as_u16() < 400, "{}", r.status());
}

#[sqlx::test(migrations = "../migrations")]
async fn a_providers_error_text_is_never_shown_to_another_org(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (fake, base) = Fake::start().await;
    default_config_at(&app, &base).await;
    let evil = "<script>alert(1)</script> call +1 900 555 0000 now";
    fake.on(
        "/PhoneNumbers/%2B14155552020",
        400,
        &[("content-type", "application/json")],
        serde_json::json!({ "code": 21999, "message": evil })
            .to_string()
            .as_bytes(),
    );
    let acme = app.login_as("admin@acme.test").await;
    let globex = app.login_as("admin@globex.test").await;
    let first = lookup(&app, &acme, "acme", "+14155552020")
        .await
        .text()
        .await
        .unwrap();
    let second = lookup(&app, &globex, "globex", "+14155552020")
        .await
        .text()
        .await
        .unwrap();
    for (who, text) in [("acme", &first), ("globex", &second)] {
        assert!(
            !text.contains("alert(1)") && !text.contains("900 555"),
            "{who}: {text}"
        );
        assert!(
            text.contains("refused"),
            "{who} gets our own sentence: {text}"
        );
    }
    // A refusal is the asking account's: not cached against the number for the next org.
    assert_eq!(fake.hits("/PhoneNumbers/%2B14155552020"), 2);
    // A failure about the number itself is cached, with our sentence only.
    fake.on(
        "/PhoneNumbers/%2B14155552021",
        503,
        &[("content-type", "application/json")],
        serde_json::json!({ "code": 20500, "message": evil })
            .to_string()
            .as_bytes(),
    );
    let first = lookup(&app, &acme, "acme", "+14155552021")
        .await
        .text()
        .await
        .unwrap();
    let second = lookup(&app, &globex, "globex", "+14155552021")
        .await
        .text()
        .await
        .unwrap();
    for text in [&first, &second] {
        assert!(
            !text.contains("alert(1)") && !text.contains("900 555"),
            "{text}"
        );
    }
    let stored: Option<String> =
        sqlx::query_scalar("SELECT error_message FROM phone_numbers WHERE e164 = '+14155552021'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let stored = stored.unwrap_or_default();
    assert!(
        stored.contains("The provider failed") && !stored.contains("alert"),
        "{stored}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_form_sent_back_with_errors_never_carries_the_token(pool: PgPool) {
    let app = spawn_app(pool).await;
    let admin = app.login_as("admin@acme.test").await;
    let secret = "typed-token-that-must-not-come-back";
    let form = org_form(&[("credential_secret", secret), ("lookup_cache_days", "0")]);
    let r = app
        .post_plain(
            &admin,
            "save_phone_config",
            "/o/acme/admin/phone-config",
            &form,
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("lookup_cache_days"),
        "the page shows the error"
    );
    assert!(!html.contains(secret), "the token came back in the page");
}

#[sqlx::test(migrations = "../migrations")]
async fn reading_the_shared_cache_is_a_lookup_and_caller_names_need_the_orgs_setting(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (fake, base) = Fake::start().await;
    default_config_at(&app, &base).await;
    fake.on(
        "/PhoneNumbers/%2B14155552030",
        200,
        &[("content-type", "application/json")],
        &lookup_json("+14155552030", "Acme Mobile"),
    );
    // Acme's own config has caller names on and looks the number up (paid).
    sqlx::query("UPDATE phone_configs SET caller_name_enabled = true WHERE org_id IS NULL")
        .execute(&app.pool)
        .await
        .unwrap();
    let acme = app.login_as("admin@acme.test").await;
    assert!(
        lookup(&app, &acme, "acme", "+14155552030")
            .await
            .status()
            .as_u16()
            < 400
    );
    let page = app
        .get(&acme, "/o/acme/lookup?number=%2B14155552030")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Acme Mobile") && page.contains("SECRET NAME"));
    // Globex never asked: opening the URL shows nothing of the cache, and costs nothing.
    sqlx::query("UPDATE phone_configs SET caller_name_enabled = false WHERE org_id IS NULL")
        .execute(&app.pool)
        .await
        .unwrap();
    let globex = app.login_as("admin@globex.test").await;
    let peek = app
        .get(&globex, "/o/globex/lookup?number=%2B14155552030")
        .await
        .text()
        .await
        .unwrap();
    assert!(!peek.contains("Acme Mobile"), "the cache was read for free");
    // Once Globex asks (a free hit, recorded), it sees the answer but not the caller name its
    // configuration does not pay for.
    assert!(
        lookup(&app, &globex, "globex", "+14155552030")
            .await
            .status()
            .as_u16()
            < 400
    );
    let page = app
        .get(&globex, "/o/globex/lookup?number=%2B14155552030")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Acme Mobile"));
    assert!(
        !page.contains("SECRET NAME"),
        "caller name without the setting"
    );
    let hits: i64 = app
        .count(
            "SELECT count(*) FROM lookup_events e JOIN orgs o ON o.id = e.org_id
             WHERE o.slug = 'globex' AND e.outcome = 'hit'",
        )
        .await;
    assert_eq!(hits, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn recordings_reach_the_browser_as_audio_only(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (fake, base) = Fake::start().await;
    default_config_at(&app, &base).await;
    let body: Vec<u8> = b"<html><script>steal(document.cookie)</script></html>"
        .iter()
        .copied()
        .chain((0..200u32).map(|i| (i % 251) as u8))
        .collect();
    fake.on(
        "/Recordings/RE0123456789abcdef0123456789abcdef.wav",
        200,
        &[("content-type", "text/html; charset=utf-8")],
        &body,
    );
    let (call_id, rec_id): (i64, i64) = sqlx::query_as(
        "WITH c AS (
             INSERT INTO calls (org_id, user_id, config_id, direction, from_e164, to_e164, status)
             SELECT o.id, u.id, (SELECT id FROM phone_configs WHERE org_id IS NULL), 'outbound',
                    '+14155550100', '+14155550101', 'completed'
             FROM orgs o, users u WHERE o.slug = 'acme' AND u.email = 'admin@acme.test'
             RETURNING id)
         INSERT INTO call_recordings (call_id, provider_sid)
         SELECT id, 'RE0123456789abcdef0123456789abcdef' FROM c RETURNING call_id, id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let admin = app.login_as("admin@acme.test").await;
    let path = format!("/o/acme/calls/{call_id}/recordings/{rec_id}");
    let r = app.get(&admin, &path).await;
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    assert_eq!(h["content-type"], "audio/wav");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["content-security-policy"], "sandbox");
    assert_eq!(h["accept-ranges"], "bytes");
    assert_eq!(r.bytes().await.unwrap().to_vec(), body);
    // Seeking: a byte range comes back as 206 with exactly those bytes.
    let r = admin
        .get(format!("{}{path}", app.base))
        .header("range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(
        r.headers()["content-range"],
        format!("bytes 10-19/{}", body.len()).as_str()
    );
    assert_eq!(r.bytes().await.unwrap().to_vec(), body[10..20].to_vec());
    let r = admin
        .get(format!("{}{path}", app.base))
        .header("range", format!("bytes={}-", body.len() + 5))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 416);
    // A provider that serves ranges is asked for just the bytes the player wants.
    fake.on(
        "/Recordings/RE0123456789abcdef0123456789abcdef.wav",
        206,
        &[
            ("content-type", "text/html"),
            ("content-range", &format!("bytes 100-109/{}", body.len())),
        ],
        &body[100..110],
    );
    let r = admin
        .get(format!("{}{path}", app.base))
        .header("range", "bytes=100-109")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.headers()["content-type"], "audio/wav");
    assert_eq!(
        r.headers()["content-range"],
        format!("bytes 100-109/{}", body.len()).as_str()
    );
    assert_eq!(r.bytes().await.unwrap().to_vec(), body[100..110].to_vec());
    // MP3 is asked for by format and labelled by us, whatever the provider says.
    fake.on(
        "/Recordings/RE0123456789abcdef0123456789abcdef.mp3",
        200,
        &[("content-type", "text/html")],
        b"ID3",
    );
    let r = app.get(&admin, &format!("{path}?format=mp3")).await;
    assert_eq!(r.headers()["content-type"], "audio/mpeg");
}

#[sqlx::test(migrations = "../migrations")]
async fn check_against_provider_on_the_shared_account_shows_only_the_orgs_numbers(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let app = spawn_app_on(pool, &sb).await;
    // Both orgs use the system default (the sandbox account, shared).
    let root = app.login_as("root@phonehub.test").await;
    let r = configure_sandbox(&app, &root, "", &sb, "30").await;
    assert!(r.status().as_u16() < 400, "{}", r.status());
    let globex = app.login_as("admin@globex.test").await;
    let key = "9".repeat(32);
    let r = app
        .call(
            &globex,
            "buy_number",
            &[
                ("org", "globex"),
                ("number", "+14155550197"),
                ("key", &key),
                ("friendly_name", "Globex line"),
            ],
        )
        .await;
    assert!(r.status().as_u16() < 400, "{}", r.status());
    let acme = app.login_as("admin@acme.test").await;
    let r = app
        .call(&acme, "load_numbers", &[("org", "acme"), ("check", "1")])
        .await;
    let text = r.text().await.unwrap();
    assert!(
        !text.contains("+14155550197"),
        "another org's number leaked: {text}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn parallel_wrong_passwords_are_checked_at_most_five_times(pool: PgPool) {
    let app = spawn_app(pool).await;
    let clients: Vec<reqwest::Client> = (0..24).map(|_| app.client()).collect();
    let tasks = clients.iter().map(|c| {
        app.call(
            c,
            "login",
            &[
                ("email", "user@acme.test"),
                ("password", "wrong-password-1"),
            ],
        )
    });
    let statuses: Vec<u16> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.status().as_u16())
        .collect();
    let checked = statuses.iter().filter(|s| **s == 422).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert!(checked <= 5, "{statuses:?}");
    assert_eq!(checked + refused, 24, "{statuses:?}");
    assert!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'login.failed'")
            .await
            <= 5
    );
    // Even the right password waits now.
    let r = app
        .call(
            &app.client(),
            "login",
            &[("email", "user@acme.test"), ("password", common::PASSWORD)],
        )
        .await;
    assert_eq!(r.status(), 429);
}

#[sqlx::test(migrations = "../migrations")]
async fn one_address_cannot_guess_across_many_accounts(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = app.client();
    let mut statuses = Vec::new();
    for i in 0..35 {
        let email = format!("nobody{i}@example.test");
        let r = app
            .call(
                &c,
                "login",
                &[("email", &email), ("password", "wrong-password-1")],
            )
            .await;
        statuses.push(r.status().as_u16());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 422).count(),
        30,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        5,
        "{statuses:?}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn login_next_cannot_leave_the_site_or_break_the_redirect(pool: PgPool) {
    let app = spawn_app(pool).await;
    for next in [
        "https://evil.test/",
        "//evil.test/x",
        "/\\evil.test",
        "/x\r\nSet-Cookie: a=b",
        "/x\u{7f}",
        "javascript:alert(1)",
        "/a/../redirect?u=http://evil.test",
    ] {
        let c = app.client();
        let r = app
            .post_plain(
                &c,
                "login",
                "/login",
                &[
                    ("email", "user@acme.test"),
                    ("password", common::PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(r.status().as_u16() / 100, 3, "{next:?}: {}", r.status());
        assert_eq!(r.headers()["location"], "/", "{next:?}");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn every_page_carries_the_security_headers(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let c = app.client();
    for path in ["/login", "/pkg/does-not-exist.js", "/healthz"] {
        let r = app.get(&c, path).await;
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("'unsafe-eval'"), "{path}: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert!(h.contains_key("referrer-policy"), "{path}");
        assert!(!h.contains_key("strict-transport-security"), "{path}: http");
    }
    // The page's inline hydration scripts carry the nonce its policy names.
    let r = app.get(&c, "/login").await;
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .expect("a nonce in the policy")
        .to_string();
    let html = r.text().await.unwrap();
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "scripts carry the nonce"
    );
    // Behind https, browsers are told to stay there.
    let secure =
        server::Application::build_with_pool(common::settings("https://phonehub.example"), pool)
            .await
            .unwrap();
    let base = format!("http://{}", secure.local_addr());
    tokio::spawn(secure.run_until_stopped());
    let r = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert!(r.headers()["strict-transport-security"]
        .to_str()
        .unwrap()
        .contains("max-age="));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_leader_that_lost_its_lease_records_no_paid_lookup(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let app = spawn_app_on(pool, &sb).await;
    let admin = app.login_as("admin@acme.test").await;
    let r = configure_sandbox(&app, &admin, "acme", &sb, "30").await;
    assert!(r.status().as_u16() < 400);
    common::sandbox_control(reqwest::Method::POST, format!("{sb}/_faults"))
        .json(&serde_json::json!({ "latency_ms": 1500 }))
        .send()
        .await
        .unwrap();
    let number = "+14155552040";
    let first = {
        let (app_base, c) = (app.base.clone(), admin.clone());
        tokio::spawn(async move {
            c.post(format!("{app_base}/api/lookup_number"))
                .form(&[("org", "acme"), ("number", number)])
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    // Wait (with a deadline) until the first request leads, then let its lease run out, as a
    // provider slower than the lease would.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let leased: i64 = app
            .count("SELECT count(*) FROM phone_numbers WHERE e164 = '+14155552040' AND lease_token IS NOT NULL")
            .await;
        if leased == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no leader within 20 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    sqlx::query(
        "UPDATE phone_numbers SET lease_until = now() - interval '1 second' WHERE e164 = $1",
    )
    .bind(number)
    .execute(&app.pool)
    .await
    .unwrap();
    let second = lookup(&app, &admin, "acme", number).await;
    assert!(second.status().as_u16() < 400, "{}", second.status());
    assert!(first.await.unwrap().as_u16() < 400);
    // The stats page flushes the event writer.
    app.call(&admin, "load_lookup_stats", &[("org", "acme")])
        .await;
    let paid: i64 = app
        .count("SELECT count(*) FROM lookup_events WHERE e164 = '+14155552040' AND cost_micros > 0")
        .await;
    assert_eq!(paid, 1, "only the lease holder's answer is a paid lookup");
}

#[sqlx::test(migrations = "../migrations")]
async fn parallel_requests_cannot_exceed_the_hourly_limits(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let app = spawn_app_on(pool, &sb).await;
    let admin = app.login_as("admin@acme.test").await;
    let r = configure_sandbox(&app, &admin, "acme", &sb, "30").await;
    assert!(r.status().as_u16() < 400);
    common::own_number(&app, &admin, "+14155550161", false, common::PHONE).await;
    sqlx::query(
        "INSERT INTO limits (item, per_hour) VALUES ('sms.send', 3), ('number.purchase', 3)
         ON CONFLICT (item) DO UPDATE SET per_hour = EXCLUDED.per_hour",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    // Twelve messages at once against a limit of three.
    let bodies: Vec<String> = (0..12).map(|i| format!("hello {i}")).collect();
    let forms: Vec<Vec<(&str, &str)>> = bodies
        .iter()
        .map(|b| {
            vec![
                ("org", "acme"),
                ("from", "+14155550161"),
                ("to", "+12125550147"),
                ("body", b.as_str()),
            ]
        })
        .collect();
    let sends = forms.iter().map(|f| app.call(&admin, "send_sms", f));
    let statuses: Vec<u16> = futures::future::join_all(sends)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s < 400).count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        9,
        "{statuses:?}"
    );
    assert_eq!(app.count("SELECT count(*) FROM messages").await, 3);
    // Purchases: one is held already; eight more at once, two fit.
    let keys: Vec<(String, String)> = (0..8)
        .map(|i| (format!("+1415555017{i}"), format!("{:0>32}", 700 + i)))
        .collect();
    let forms: Vec<Vec<(&str, &str)>> = keys
        .iter()
        .map(|(n, k)| {
            vec![
                ("org", "acme"),
                ("number", n.as_str()),
                ("key", k.as_str()),
                ("friendly_name", "Parallel"),
            ]
        })
        .collect();
    let buys = forms.iter().map(|f| app.call(&admin, "buy_number", f));
    let statuses: Vec<u16> = futures::future::join_all(buys)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s < 400).count(),
        2,
        "{statuses:?}"
    );
    assert_eq!(app.count("SELECT count(*) FROM owned_numbers").await, 3);
}

#[sqlx::test(migrations = "../migrations")]
async fn the_hourly_send_figure_is_counted_again_at_the_limit_and_when_it_is_old(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let app = spawn_app_on(pool, &sb).await;
    let admin = app.login_as("admin@acme.test").await;
    let r = configure_sandbox(&app, &admin, "acme", &sb, "30").await;
    assert!(r.status().as_u16() < 400);
    common::own_number(&app, &admin, "+14155550162", false, common::PHONE).await;
    sqlx::query(
        "INSERT INTO limits (item, per_hour) VALUES ('sms.send', 3)
         ON CONFLICT (item) DO UPDATE SET per_hour = EXCLUDED.per_hour",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let send = |i: u32| {
        let (app, admin) = (&app, &admin);
        async move {
            let body = format!("hello {i}");
            let form = [
                ("org", "acme"),
                ("from", "+14155550162"),
                ("to", "+12125550148"),
                ("body", body.as_str()),
            ];
            app.call(admin, "send_sms", &form).await.status().as_u16()
        }
    };
    let mut statuses = Vec::new();
    for i in 0..4 {
        statuses.push(send(i).await);
    }
    assert_eq!(statuses, [200, 200, 200, 429]);
    // An hour later the figure (at the limit) is counted again: the hour is empty.
    sqlx::query("UPDATE messages SET created_at = created_at - interval '61 minutes'")
        .execute(&app.pool)
        .await
        .unwrap();
    let mut statuses = Vec::new();
    for i in 4..8 {
        statuses.push(send(i).await);
    }
    assert_eq!(statuses, [200, 200, 200, 429]);
    // A figure over two hours old is not trusted, even one that says nothing was sent.
    sqlx::query("UPDATE limit_windows SET n = 0, since = now() - interval '3 hours'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(send(8).await, 429);
    assert_eq!(
        app.count("SELECT count(*) FROM messages WHERE created_at > now() - interval '1 hour'")
            .await,
        3
    );
    assert_eq!(app.count("SELECT count(*) FROM messages").await, 6);
}

#[sqlx::test(migrations = "../migrations")]
async fn adding_a_member_does_not_reveal_who_has_an_account_and_members_can_leave(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = app.login_as("admin@globex.test").await;
    let add = |email: &'static str, password: &'static str| {
        let (app, owner) = (&app, &owner);
        async move {
            let r = app
                .call(
                    owner,
                    "add_member",
                    &[
                        ("org", "globex"),
                        ("email", email),
                        ("role", "member"),
                        ("password", password),
                    ],
                )
                .await;
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    // An existing account and a new one: the same answers, with and without a password.
    assert_eq!(
        add("user@acme.test", "").await,
        add("nobody-yet@acme.test", "").await
    );
    let existing = add("user@acme.test", "a long password 1").await;
    let fresh = add("nobody-yet@acme.test", "a long password 1").await;
    assert_eq!(existing.0, fresh.0);
    assert_eq!(existing.0, 200);
    // The existing account kept its own password.
    app.login_as("user@acme.test").await;
    let details: Vec<String> = sqlx::query_scalar(
        "SELECT details::text FROM audit_log WHERE action = 'invitation.created' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(details.len(), 2);
    assert_eq!(
        details[0], details[1],
        "the audit log does not tell them apart"
    );
    // The invited person is no member until they accept; then they see the org and can leave it.
    let user = app.login_as("user@acme.test").await;
    assert_eq!(app.get(&user, "/o/globex").await.status(), 404);
    let id: i64 = sqlx::query_scalar(
        "SELECT id FROM invitations WHERE email = 'user@acme.test' AND status = 'pending'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let r = app
        .call(&user, "accept_invitation", &[("id", &id.to_string())])
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(app.get(&user, "/o/globex").await.status(), 200);
    let r = app.call(&user, "leave_org", &[("org", "globex")]).await;
    assert!(r.status().as_u16() < 400, "{}", r.status());
    assert_eq!(app.get(&user, "/o/globex").await.status(), 404);
    // The last owner cannot leave.
    let r = app.call(&owner, "leave_org", &[("org", "globex")]).await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("last owner"));
}

/// A server on `pool` using the sandbox at `sb`, with short bulk-job times.
async fn job_server(pool: &PgPool, sb: &str) -> TestApp {
    let mut settings = common::settings("http://127.0.0.1:0");
    settings.sandbox_url = Some(url::Url::parse(sb).unwrap());
    settings.job_timing = app::ssr::bulk_lookups::JobTiming {
        heartbeat: std::time::Duration::from_millis(100),
        stale_after: std::time::Duration::from_secs(2),
    };
    let a = server::Application::build_with_pool(settings, pool.clone())
        .await
        .unwrap();
    let base = format!("http://{}", a.local_addr());
    tokio::spawn(a.run_until_stopped());
    TestApp {
        base,
        pool: pool.clone(),
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_running_job_with_a_slow_provider_is_never_taken_over(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    common::seed(&pool).await;
    let a = job_server(&pool, &sb).await;
    let _b = job_server(&pool, &sb).await;
    let admin = a.login_as("admin@acme.test").await;
    let r = configure_sandbox(&a, &admin, "acme", &sb, "30").await;
    assert!(r.status().as_u16() < 400);
    // Each lookup takes 400 ms: a chunk of 32 (4 at a time) takes over 3 s, longer than the 2 s
    // after which a silent worker's job is taken over.
    common::sandbox_control(reqwest::Method::POST, format!("{sb}/_faults"))
        .json(&serde_json::json!({ "latency_ms": 400 }))
        .send()
        .await
        .unwrap();
    let csv: String = (0..40)
        .map(|i| format!("+1415555{:04}\n", 2700 + i))
        .collect();
    let rows = app::ssr::bulk_lookups::parse_csv(csv.as_bytes(), "US").unwrap();
    let org: i64 = a.count("SELECT id FROM orgs WHERE slug = 'acme'").await;
    let user = a.user_id("admin@acme.test").await;
    let job = app::ssr::bulk_lookups::create_job(&a.pool, org, user, "slow.csv", &rows)
        .await
        .unwrap();
    let mut tokens = std::collections::BTreeSet::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    loop {
        let (status, token): (String, Option<String>) =
            sqlx::query_as("SELECT status, claim_token FROM lookup_jobs WHERE id = $1")
                .bind(job)
                .fetch_one(&a.pool)
                .await
                .unwrap();
        tokens.extend(token);
        if status == "done" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the job did not finish in 90 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        tokens.len(),
        1,
        "the job changed hands while it ran: {tokens:?}"
    );
    assert_eq!(common::sandbox_stat(&sb, "billed_lookups").await, 40);
}

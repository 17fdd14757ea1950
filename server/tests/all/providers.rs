//! Issue 15: webhooks signed with Twilio's shared keys (HMAC-SHA256, several keys for rotation),
//! an org's own country (national numbers read and shown in it everywhere), and AWS as a second
//! provider (SNS through moto, Pinpoint through the sandbox).

use crate::common;

use std::time::Duration;

use common::{
    configure_sandbox, decode, insert_message, own_number, poll_until_eq, spawn_app_on,
    start_sandbox, webhook, TestApp, PHONE,
};
use sqlx::PgPool;
use telephony::sandbox::DEV_AUTH_TOKEN;
use telephony::signature::{self, Algorithm};

const KEY_ID: &str = "webhooks_sharedkey_0001";
const KEY_SECRET: &str = "whsk_secret_c2hhcmVkLWtleS0wMDE";
const KEY2_ID: &str = "webhooks_sharedkey_0002";
const KEY2_SECRET: &str = "whsk_secret_c2Vjb25kLWtleS0wMDI";

/// Posts a webhook signed with `secret` under `algorithm`, with the settings header `settings`
/// (None: no header).
async fn signed_webhook(
    app: &TestApp,
    path: &str,
    params: &[(&str, &str)],
    algorithm: Algorithm,
    secret: &str,
    settings: Option<&str>,
) -> u16 {
    let url = format!("{}{path}", app.base);
    let owned: Vec<(String, String)> = params
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let mut req = reqwest::Client::new().post(&url).form(params).header(
        "X-Twilio-Signature",
        signature::compute_with(algorithm, secret, &url, &owned),
    );
    if let Some(s) = settings {
        req = req.header(signature::SETTINGS_HEADER, s);
    }
    req.send().await.unwrap().status().as_u16()
}

async fn status_of(app: &TestApp, id: i64) -> String {
    sqlx::query_scalar("SELECT status FROM messages WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn add_key(app: &TestApp, c: &reqwest::Client, id: &str, secret: &str) -> reqwest::Response {
    app.call(
        c,
        "add_signing_key",
        &[("org", "acme"), ("key_id", id), ("secret", secret)],
    )
    .await
}

#[sqlx::test(migrations = "../migrations")]
async fn webhooks_signed_with_a_shared_key_are_checked_with_the_key_they_name(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let app = spawn_app_on(pool, &sb).await;
    let owner = app.login_as("admin@acme.test").await;
    configure_sandbox(&app, &owner, "acme", &sb, "30").await;

    // Who may add keys, and what a key is.
    let member = app.login_as("user@acme.test").await;
    let support = app.login_as("support@phonehub.test").await;
    let outsider = app.login_as("admin@globex.test").await;
    assert_eq!(
        add_key(&app, &member, KEY_ID, KEY_SECRET).await.status(),
        403
    );
    assert_eq!(
        add_key(&app, &support, KEY_ID, KEY_SECRET).await.status(),
        403
    );
    assert_eq!(
        add_key(&app, &outsider, KEY_ID, KEY_SECRET).await.status(),
        404
    );
    for (id, secret, field) in [
        ("", KEY_SECRET, "key_id"),
        ("bad id!", KEY_SECRET, "key_id"),
        (KEY_ID, "short", "secret"),
        (KEY_ID, "has a space in the secret", "secret"),
    ] {
        let r = add_key(&app, &owner, id, secret).await;
        assert_eq!(r.status(), 422, "{id:?} {secret:?}");
        assert!(r.text().await.unwrap().contains(field), "{field}");
    }
    assert_eq!(
        app.count("SELECT count(*) FROM webhook_signing_keys").await,
        0
    );
    assert!(
        add_key(&app, &owner, KEY_ID, KEY_SECRET)
            .await
            .status()
            .as_u16()
            < 400
    );
    assert_eq!(
        add_key(&app, &owner, KEY_ID, KEY2_SECRET).await.status(),
        422,
        "same id twice"
    );
    // The secret is stored encrypted and shown masked only.
    let stored: Vec<u8> = sqlx::query_scalar("SELECT secret_ciphertext FROM webhook_signing_keys")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(!String::from_utf8_lossy(&stored).contains(KEY_SECRET));
    let page = decode::<app::model::phone_config::PhoneConfigPage>(
        app.call(&owner, "load_phone_config", &[("org", "acme")])
            .await,
    )
    .await;
    assert_eq!(page["config"]["signing_keys"][0]["key_id"], KEY_ID);
    assert!(!page.to_string().contains(KEY_SECRET));

    let sid = "SM0123456789abcdef0123456789abcdef";
    let id = insert_message(&app, sid).await;
    let path = format!("/webhooks/twilio/sms-status?msg={id}");
    let delivered = [("MessageSid", sid), ("MessageStatus", "delivered")];
    let header = signature::settings_header(KEY_ID);
    let sha256 = Algorithm::HmacSha256;

    // Refused, nothing written: a wrong secret, an unknown key id, an unknown algorithm, the
    // auth token's signature under a shared-key header, a header naming no key.
    let wrong: [(Algorithm, &str, String); 6] = [
        (sha256, KEY2_SECRET, header.clone()),
        (
            sha256,
            KEY_SECRET,
            signature::settings_header("webhooks_sharedkey_9999"),
        ),
        (
            sha256,
            KEY_SECRET,
            format!("key={KEY_ID},algorithm=HMAC_SHA512"),
        ),
        (
            Algorithm::HmacSha1,
            KEY_SECRET,
            format!("key={KEY_ID},algorithm=HMAC_SHA1"),
        ),
        (Algorithm::HmacSha1, DEV_AUTH_TOKEN, header.clone()),
        (sha256, KEY_SECRET, "algorithm=HMAC_SHA256".to_string()),
    ];
    for (alg, secret, settings) in &wrong {
        assert_eq!(
            signed_webhook(&app, &path, &delivered, *alg, secret, Some(settings)).await,
            403,
            "{settings}"
        );
    }
    assert_eq!(status_of(&app, id).await, "queued");
    // Without the header the auth token still signs (HMAC-SHA1), as before.
    let id_token = insert_message(&app, "SMtoken").await;
    let r = webhook(
        &app,
        &format!("/webhooks/twilio/sms-status?msg={id_token}"),
        &[("MessageSid", "SMtoken"), ("MessageStatus", "delivered")],
        Some(DEV_AUTH_TOKEN),
    )
    .await;
    assert_eq!(r.status(), 204);
    assert_eq!(status_of(&app, id_token).await, "delivered");

    // The named key's HMAC-SHA256 is accepted, and its use is noted.
    assert_eq!(
        signed_webhook(&app, &path, &delivered, sha256, KEY_SECRET, Some(&header)).await,
        204
    );
    assert_eq!(status_of(&app, id).await, "delivered");
    assert_eq!(
        app.count("SELECT count(*) FROM webhook_signing_keys WHERE last_used_at IS NOT NULL")
            .await,
        1
    );

    // Rotation: a second key works beside the first; once the first is removed it is refused.
    assert!(
        add_key(&app, &owner, KEY2_ID, KEY2_SECRET)
            .await
            .status()
            .as_u16()
            < 400
    );
    let id2 = insert_message(&app, "SMrot").await;
    let p2 = format!("/webhooks/twilio/sms-status?msg={id2}");
    let sent = [("MessageSid", "SMrot"), ("MessageStatus", "sent")];
    let header2 = signature::settings_header(KEY2_ID);
    assert_eq!(
        signed_webhook(&app, &p2, &sent, sha256, KEY2_SECRET, Some(&header2)).await,
        204
    );
    let first: i64 = sqlx::query_scalar("SELECT id FROM webhook_signing_keys WHERE key_id = $1")
        .bind(KEY_ID)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let first_s = first.to_string();
    assert_eq!(
        app.call(
            &support,
            "remove_signing_key",
            &[("org", "acme"), ("id", &first_s)]
        )
        .await
        .status(),
        403
    );
    assert!(
        app.call(
            &owner,
            "remove_signing_key",
            &[("org", "acme"), ("id", &first_s)]
        )
        .await
        .status()
        .as_u16()
            < 400
    );
    let p2_delivered = [("MessageSid", "SMrot"), ("MessageStatus", "delivered")];
    assert_eq!(
        signed_webhook(&app, &p2, &p2_delivered, sha256, KEY_SECRET, Some(&header)).await,
        403
    );
    assert_eq!(status_of(&app, id2).await, "sent");
    assert_eq!(
        signed_webhook(
            &app,
            &p2,
            &p2_delivered,
            sha256,
            KEY2_SECRET,
            Some(&header2)
        )
        .await,
        204
    );
    assert_eq!(status_of(&app, id2).await, "delivered");
    // Every key change is on the record, without its secret.
    let audit: Vec<String> = sqlx::query_scalar(
        "SELECT action || ' ' || details::text FROM audit_log WHERE action LIKE 'phone_config.signing_key%' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(audit.len(), 3, "{audit:?}");
    assert!(audit
        .iter()
        .all(|a| !a.contains(KEY_SECRET) && !a.contains(KEY2_SECRET)));

    // The configuration moves to AWS: its shared keys go with the Twilio account, and no webhook
    // verifies with the AWS secret (nor with the old key).
    let r = configure_aws(
        &app,
        &owner,
        "us-east-1",
        telephony::sandbox::aws::DEV_AWS_SECRET_ACCESS_KEY,
    )
    .await;
    assert!(r.status().as_u16() < 400, "aws: {}", r.status());
    assert_eq!(
        app.count("SELECT count(*) FROM webhook_signing_keys").await,
        0
    );
    let id3 = insert_message(&app, "SMaws").await;
    let p3 = format!("/webhooks/twilio/sms-status?msg={id3}");
    let aws_delivered = [("MessageSid", "SMaws"), ("MessageStatus", "delivered")];
    let r = webhook(
        &app,
        &p3,
        &aws_delivered,
        Some(telephony::sandbox::aws::DEV_AWS_SECRET_ACCESS_KEY),
    )
    .await;
    assert_eq!(r.status(), 403);
    assert_eq!(
        signed_webhook(
            &app,
            &p3,
            &aws_delivered,
            sha256,
            KEY2_SECRET,
            Some(&header2)
        )
        .await,
        403
    );
    assert_eq!(status_of(&app, id3).await, "queued");
}

#[sqlx::test(migrations = "../migrations")]
async fn the_sandbox_signs_with_its_shared_key_and_the_app_accepts_it(pool: PgPool) {
    // A sandbox whose account signs webhooks with a shared key, as Twilio does once one is set.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sb = format!("http://{}", listener.local_addr().unwrap());
    let mut cfg = telephony::sandbox::SandboxConfig::dev(&sb, None);
    cfg.shared_key = Some((KEY_ID.into(), KEY_SECRET.into()));
    let sandbox = telephony::sandbox::Sandbox::start(cfg);
    let router = telephony::sandbox::router(sandbox.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });

    let app = spawn_app_on(pool, &sb).await;
    let owner = app.login_as("admin@acme.test").await;
    configure_sandbox(&app, &owner, "acme", &sb, "30").await;
    let ours = "+14155550182";
    own_number(&app, &owner, ours, false, PHONE).await;
    let send = |c: reqwest::Client| {
        let app = &app;
        async move {
            app.call(
                &c,
                "send_sms",
                &[
                    ("org", "acme"),
                    ("from", ours),
                    ("to", "+12125550147"),
                    ("body", "hi"),
                ],
            )
            .await
            .status()
            .as_u16()
        }
    };
    // (Without the key the app refuses such callbacks: the test above plays that.) With the key,
    // the sandbox's callbacks are accepted and the message is delivered.
    assert!(
        add_key(&app, &owner, KEY_ID, KEY_SECRET)
            .await
            .status()
            .as_u16()
            < 400
    );
    assert!(send(owner.clone()).await < 400);
    let second: i64 = sqlx::query_scalar("SELECT max(id) FROM messages")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let status = poll_until_eq(Duration::from_secs(15), "delivered".to_string(), || {
        status_of(&app, second)
    })
    .await;
    assert_eq!(status, "delivered");
    assert_eq!(
        app.count("SELECT count(*) FROM webhook_signing_keys WHERE last_used_at IS NOT NULL")
            .await,
        1,
        "the sandbox signed with the shared key"
    );
}

async fn set_country(app: &TestApp, c: &reqwest::Client, org: &str, country: &str) -> u16 {
    app.call(c, "set_org_country", &[("org", org), ("country", country)])
        .await
        .status()
        .as_u16()
}

#[sqlx::test(migrations = "../migrations")]
async fn a_british_org_types_national_numbers_and_they_work_everywhere(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let app = spawn_app_on(pool, &sb).await;
    let owner = app.login_as("admin@acme.test").await;
    configure_sandbox(&app, &owner, "acme", &sb, "30").await;
    let admin = app.login_as("second@acme.test").await;
    let support = app.login_as("support@phonehub.test").await;

    // Only owners choose the country; it is one the numbering plan knows.
    assert_eq!(set_country(&app, &admin, "acme", "GB").await, 403);
    assert_eq!(set_country(&app, &support, "acme", "GB").await, 403);
    let r = app
        .call(
            &owner,
            "set_org_country",
            &[("org", "acme"), ("country", "XX")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("country"));
    assert_eq!(
        app.count("SELECT count(*) FROM orgs WHERE country <> 'US'")
            .await,
        0,
        "existing orgs are US, and nothing was written"
    );
    assert!(set_country(&app, &owner, "acme", "GB").await < 400);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'org.country_changed'")
            .await,
        1
    );
    let dash = decode::<app::model::Dashboard>(
        app.call(&owner, "org_dashboard", &[("org", "acme")]).await,
    )
    .await;
    assert_eq!(dash["org"]["country"], "GB");

    let london = "020 7183 8750";
    let london_e164 = "+442071838750";
    // Lookups.
    let r = app
        .call(
            &owner,
            "lookup_number",
            &[("org", "acme"), ("number", london)],
        )
        .await;
    assert!(r.status().as_u16() < 400, "lookup: {}", r.status());
    let events = format!("SELECT count(*) FROM lookup_events WHERE e164 = '{london_e164}'");
    let looked_up = poll_until_eq(Duration::from_secs(10), 1, || app.count(&events)).await;
    assert_eq!(looked_up, 1);
    // A number's forwarding phone (the member's own phone), then a call and an SMS.
    let ours = "+14155550182";
    let id = own_number(&app, &owner, ours, false, "07911 123456").await;
    let fwd: Option<String> =
        sqlx::query_scalar("SELECT forward_to FROM owned_numbers WHERE id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(fwd.as_deref(), Some("+447911123456"));
    let r = app
        .call(
            &owner,
            "place_call",
            &[
                ("org", "acme"),
                ("number_id", &id.to_string()),
                ("to", london),
            ],
        )
        .await;
    assert!(r.status().as_u16() < 400, "call: {}", r.status());
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM calls WHERE to_e164 = '{london_e164}'"
        ))
        .await,
        1
    );
    let r = app
        .call(
            &owner,
            "send_sms",
            &[
                ("org", "acme"),
                ("from", ours),
                ("to", london),
                ("body", "Hello London"),
            ],
        )
        .await;
    assert!(r.status().as_u16() < 400, "sms: {}", r.status());
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM messages WHERE other_e164 = '{london_e164}'"
        ))
        .await,
        1
    );
    // A US national number is not British: the message says so, on the field.
    let r = app
        .call(
            &owner,
            "send_sms",
            &[
                ("org", "acme"),
                ("from", ours),
                ("to", "(415) 555-0100"),
                ("body", "x"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("to"));

    // Shown as people in the UK write them: British numbers nationally, others internationally.
    let calls = decode::<app::model::calls::CallsPage>(
        app.call(&owner, "load_calls", &[("org", "acme"), ("params", "")])
            .await,
    )
    .await;
    assert_eq!(calls["rows"][0]["to"], london);
    assert_eq!(calls["rows"][0]["from"], "+1 415-555-0182");
    // The number search starts in the UK.
    let buy = decode::<app::model::numbers::BuyPage>(
        app.call(&owner, "load_buy_page", &[("org", "acme"), ("params", "")])
            .await,
    )
    .await;
    assert_eq!(buy["query"]["country"], "GB");

    // A bulk CSV mixing countries: national rows read as British, the others by their prefix.
    let csv =
        "phone\n020 7183 8751\n+33 1 42 68 53 00\n+49 30 901820\n+1 415 555 0101\n(415) 555-0102\n";
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(csv.as_bytes().to_vec()).file_name("mixed.csv"),
    );
    let r = owner
        .post(format!("{}/o/acme/lookups/bulk/upload", app.base))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let rows: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT input, e164 FROM lookup_job_rows ORDER BY row_no")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let e164s: Vec<Option<&str>> = rows.iter().map(|(_, e)| e.as_deref()).collect();
    assert_eq!(
        e164s,
        vec![
            Some("+442071838751"),
            Some("+33142685300"),
            Some("+4930901820"),
            Some("+14155550101"),
            None,
        ],
        "{rows:?}"
    );

    // German and French orgs read their own national numbers.
    let globex = app.login_as("admin@globex.test").await;
    configure_sandbox(&app, &globex, "globex", &sb, "30").await;
    for (country, typed, e164) in [
        ("DE", "030 901820", "+4930901820"),
        ("FR", "01 42 68 53 00", "+33142685300"),
    ] {
        assert!(set_country(&app, &globex, "globex", country).await < 400);
        let r = app
            .call(
                &globex,
                "lookup_number",
                &[("org", "globex"), ("number", typed)],
            )
            .await;
        assert!(r.status().as_u16() < 400, "{country}: {}", r.status());
        let sql = format!(
            "SELECT count(*) FROM lookup_events e JOIN orgs o ON o.id = e.org_id
             WHERE o.slug = 'globex' AND e.e164 = '{e164}'"
        );
        let n = poll_until_eq(Duration::from_secs(10), 1, || app.count(&sql)).await;
        assert_eq!(n, 1, "{country} {typed}");
    }
    let r = app
        .call(
            &globex,
            "lookup_number",
            &[("org", "globex"), ("number", "020 7183 8750")],
        )
        .await;
    assert_eq!(
        r.status(),
        422,
        "a London number typed nationally is not French"
    );
}

/// Saves acme's configuration as AWS (as its owner), with `region` and `secret`.
async fn configure_aws(
    app: &TestApp,
    owner: &reqwest::Client,
    region: &str,
    secret: &str,
) -> reqwest::Response {
    app.call(
        owner,
        "save_phone_config",
        &[
            ("org", "acme"),
            ("provider", "aws"),
            ("display_name", "Amazon"),
            ("active", "on"),
            ("lookup_enabled", "on"),
            ("lookup_cache_days", "30"),
            ("default_sender", "+14155550100"),
            ("aws_region", region),
            (
                "credential_id",
                telephony::sandbox::aws::DEV_AWS_ACCESS_KEY_ID,
            ),
            ("credential_secret", secret),
            ("sms_sender_id", "PhoneHub"),
            ("sms_type", "Transactional"),
        ],
    )
    .await
}

#[sqlx::test(migrations = "../migrations")]
async fn an_org_on_aws_texts_through_sns_and_looks_up_through_pinpoint(pool: PgPool) {
    use telephony::sandbox::aws::{DEV_AWS_SECRET_ACCESS_KEY, MAGIC_AWS_THROTTLED};
    let (sb, _keep) = start_sandbox().await;
    let (moto, _) = common::moto::start_moto().await;
    let mut settings = common::settings("http://127.0.0.1:0");
    settings.sandbox_url = Some(url::Url::parse(&sb).unwrap());
    // SNS is moto; Pinpoint's PhoneNumberValidate (which moto lacks) is the sandbox's.
    settings.aws_endpoints.sns = Some(moto.base.clone());
    let app = common::spawn_with_settings(pool, settings).await;
    let owner = app.login_as("admin@acme.test").await;

    // What AWS needs, field by field; nothing is saved until it is right.
    for (field, value) in [
        ("aws_region", "mars-north-1x"),
        ("credential_id", "akia-not-a-key"),
        ("sms_sender_id", "Sender ID too long"),
        ("sms_type", "Urgent"),
    ] {
        let mut form = vec![
            ("org", "acme"),
            ("provider", "aws"),
            ("display_name", "Amazon"),
            ("lookup_cache_days", "30"),
            ("default_sender", ""),
            ("aws_region", "us-east-1"),
            (
                "credential_id",
                telephony::sandbox::aws::DEV_AWS_ACCESS_KEY_ID,
            ),
            ("credential_secret", DEV_AWS_SECRET_ACCESS_KEY),
        ];
        form.retain(|(k, _)| *k != field);
        form.push((field, value));
        let r = app.call(&owner, "save_phone_config", &form).await;
        assert_eq!(r.status(), 422, "{field}");
        assert!(r.text().await.unwrap().contains(field), "{field}");
    }
    let r = app
        .call(
            &owner,
            "save_phone_config",
            &[
                ("org", "acme"),
                ("provider", "aws"),
                ("display_name", "Amazon"),
                ("lookup_cache_days", "30"),
                ("caller_name_enabled", "on"),
                ("default_sender", ""),
                ("aws_region", "us-east-1"),
                (
                    "credential_id",
                    telephony::sandbox::aws::DEV_AWS_ACCESS_KEY_ID,
                ),
                ("credential_secret", DEV_AWS_SECRET_ACCESS_KEY),
            ],
        )
        .await;
    assert_eq!(r.status(), 422, "Pinpoint has no caller names");
    assert_eq!(
        app.count("SELECT count(*) FROM phone_configs WHERE provider = 'aws'")
            .await,
        0
    );

    // A configuration still holding numbers bought through Twilio cannot become AWS (which could
    // not release them).
    configure_sandbox(&app, &owner, "acme", &sb, "30").await;
    let held = own_number(&app, &owner, "+14155550183", false, PHONE).await;
    let r = configure_aws(&app, &owner, "us-east-1", DEV_AWS_SECRET_ACCESS_KEY).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Release them first"));
    let r = app
        .call(
            &owner,
            "release_number",
            &[
                ("org", "acme"),
                ("id", &held.to_string()),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert!(r.status().as_u16() < 400, "release: {}", r.status());
    let r = configure_aws(&app, &owner, "us-east-1", DEV_AWS_SECRET_ACCESS_KEY).await;
    assert!(r.status().as_u16() < 400, "save: {}", r.status());
    let r = app
        .call(&owner, "test_phone_connection", &[("org", "acme")])
        .await;
    assert!(
        r.status().as_u16() < 400,
        "test: {}",
        r.text().await.unwrap()
    );

    // A lookup: Pinpoint's answer, in the shared cache, at AWS's price.
    let member = app.login_as("user@acme.test").await;
    let r = app
        .call(
            &member,
            "lookup_number",
            &[("org", "acme"), ("number", "+14155552671")],
        )
        .await;
    assert!(r.status().as_u16() < 400, "lookup: {}", r.status());
    let cost_sql =
        "SELECT coalesce(sum(cost_micros), 0)::int8 FROM lookup_events WHERE e164 = '+14155552671'";
    let cost = poll_until_eq(Duration::from_secs(10), 6000, || app.count(cost_sql)).await;
    assert_eq!(cost, 6000, "Amazon Pinpoint's price");
    let line_type: Option<String> =
        sqlx::query_scalar("SELECT line_type FROM phone_numbers WHERE e164 = '+14155552671'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(line_type.is_some(), "Pinpoint's phone type, mapped");
    // Throttling reaches the person as a sentence, not a 500.
    let r = app
        .call(
            &member,
            "lookup_number",
            &[("org", "acme"), ("number", MAGIC_AWS_THROTTLED)],
        )
        .await;
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    assert!(matches!(status, 429 | 502), "throttled: {status} {text}");
    assert!(text.contains("rate limiting"), "{text}");

    // An SMS through SNS (moto): sent, with AWS's message id, from the org's sender.
    let page = app
        .load::<app::model::sms::SmsPage>(&member, "load_sms", &[("org", "acme"), ("params", "")])
        .await;
    let senders: Vec<&str> = page["senders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["e164"].as_str().unwrap())
        .collect();
    assert_eq!(senders, ["+14155550100"]);
    let r = app
        .call(
            &member,
            "send_sms",
            &[
                ("org", "acme"),
                ("from", "+14155550100"),
                ("to", "+12125550147"),
                ("body", "Hello from SNS"),
            ],
        )
        .await;
    assert!(
        r.status().as_u16() < 400,
        "sms: {}",
        r.text().await.unwrap()
    );
    let (status, sid): (String, Option<String>) =
        sqlx::query_as("SELECT status, provider_sid FROM messages ORDER BY id DESC LIMIT 1")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(status, "sent");
    let sid = sid.expect("AWS's message id");
    assert_eq!(sid.len(), 36, "a MessageId: {sid}");

    // What AWS cannot do is unavailable, in a sentence, never a 500.
    let buy = app
        .load::<app::model::numbers::BuyPage>(
            &owner,
            "load_buy_page",
            &[("org", "acme"), ("params", "search=1")],
        )
        .await;
    assert!(buy["unavailable"]
        .as_str()
        .unwrap()
        .contains("Amazon Web Services"));
    let r = app
        .call(
            &owner,
            "buy_number",
            &[
                ("org", "acme"),
                ("number", "+14155550111"),
                ("key", "00000000000000000000000000000111"),
                ("friendly_name", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("Amazon Web Services"));
    assert_eq!(
        app.count(
            "SELECT count(*) FROM owned_numbers WHERE e164 = '+14155550111' AND status <> 'failed'"
        )
        .await,
        0,
        "no half-bought number"
    );
    let calls = app
        .load::<app::model::calls::NewCallPage>(&owner, "load_new_call", &[("org", "acme")])
        .await;
    assert!(calls["unavailable"]
        .as_str()
        .unwrap()
        .contains("placing calls"));
    // A number left from before (its configuration gone) is called through the org's AWS
    // configuration, which places no calls: refused before a call is written or counted.
    let kept: i64 = sqlx::query_scalar(
        "INSERT INTO owned_numbers (org_id, user_id, e164, status, voice, forward_to, monthly_price_micros, idempotency_key)
         SELECT o.id, u.id, '+14155550190', 'active', TRUE, '+14155550123', 1000000, 'kept-from-twilio'
         FROM orgs o, users u WHERE o.slug = 'acme' AND u.email = 'user@acme.test' RETURNING id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let r = app
        .call(
            &member,
            "place_call",
            &[
                ("org", "acme"),
                ("number_id", &kept.to_string()),
                ("to", "+12125550147"),
            ],
        )
        .await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("Amazon Web Services"));
    assert_eq!(
        app.count("SELECT count(*) FROM calls").await,
        0,
        "no call written"
    );

    // Bad credentials and another region reach the admin as sentences.
    let r = configure_aws(
        &app,
        &owner,
        "us-east-1",
        "wrongSecretAccessKey/0000000000000000",
    )
    .await;
    assert!(r.status().as_u16() < 400);
    // A new key is used only after a connection test (moto, serving SNS here, checks no
    // signature; Pinpoint, the sandbox's, does).
    let r = app
        .call(&owner, "test_phone_connection", &[("org", "acme")])
        .await;
    assert!(r.status().as_u16() < 400, "test: {}", r.status());
    let r = app
        .call(
            &member,
            "lookup_number",
            &[("org", "acme"), ("number", "+14155552672")],
        )
        .await;
    assert!(r.status().as_u16() >= 400);
    let text = r.text().await.unwrap();
    assert!(text.contains("credentials"), "{text}");
    let r = configure_aws(&app, &owner, "eu-west-2", DEV_AWS_SECRET_ACCESS_KEY).await;
    assert!(r.status().as_u16() < 400);
    let r = app
        .call(&owner, "test_phone_connection", &[("org", "acme")])
        .await;
    assert!(r.status().as_u16() < 400, "test: {}", r.status());
    let r = app
        .call(
            &member,
            "lookup_number",
            &[("org", "acme"), ("number", "+14155552673")],
        )
        .await;
    assert!(r.status().as_u16() >= 400);
    let text = r.text().await.unwrap();
    assert!(!text.contains("Internal"), "{text}");
    // No secret ever reaches a page.
    let cfg = app
        .load::<app::model::phone_config::PhoneConfigPage>(
            &owner,
            "load_phone_config",
            &[("org", "acme")],
        )
        .await;
    assert_eq!(cfg["config"]["provider"], "aws");
    assert_eq!(cfg["config"]["aws_region"], "eu-west-2");
    assert!(!cfg.to_string().contains(DEV_AWS_SECRET_ACCESS_KEY));
    drop(moto);
}

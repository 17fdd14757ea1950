//! Alerts that reach people: a budget threshold crossed fires once per period into in-app
//! notifications, real e-mail (read back from an SMTP server) and a signed webhook (verified
//! here with the endpoint's secret), and a receiver that fails is tried again with backoff on
//! the server's clock.

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use common::{configure_sandbox, create_key, own_number, start_sandbox, TestApp};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::PgPool;

/// What a receiver got, and the statuses it answers in turn (then 200).
#[derive(Default)]
struct Receiver {
    got: Mutex<Vec<(HeaderMap, Bytes)>>,
    answers: Mutex<Vec<u16>>,
}

async fn receive(
    State(r): State<Arc<Receiver>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    r.got.lock().unwrap().push((headers, body));
    let next = {
        let mut a = r.answers.lock().unwrap();
        if a.is_empty() {
            200
        } else {
            a.remove(0)
        }
    };
    (StatusCode::from_u16(next).unwrap(), "thanks")
}

/// A webhook receiver on a free port; its URL.
async fn start_receiver(answers: &[u16]) -> (String, Arc<Receiver>) {
    let r = Arc::new(Receiver::default());
    r.answers.lock().unwrap().extend_from_slice(answers);
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, r)
}

/// Verifies a delivery as a receiver should: the HMAC of "t.body" with the secret, and t within
/// five minutes of `now`.
fn verify(secret: &str, headers: &HeaderMap, body: &[u8], now: i64) -> bool {
    let Some(sig) = headers
        .get("phonehub-signature")
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mut t = None;
    let mut v1 = None;
    for part in sig.split(',') {
        match part.split_once('=') {
            Some(("t", x)) => t = x.parse::<i64>().ok(),
            Some(("v1", x)) => v1 = hex::decode(x).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    (now - t).abs() <= 300 && mac.verify_slice(&v1).is_ok()
}

struct Setup {
    app: TestApp,
    clock: app::ssr::clock::Clock,
    member: reqwest::Client,
    key: String,
    org: i64,
    _sandbox: telephony::sandbox::Shared,
}

async fn setup(pool: PgPool, mail: Option<&common::smtp::Smtp>) -> Setup {
    let (sb, keep) = start_sandbox().await;
    let mut s = common::settings("http://127.0.0.1:0");
    s.sandbox_url = Some(url::Url::parse(&sb).unwrap());
    s.mailer = mail.map(|m| {
        app::ssr::mailer::Mailer::new(&m.url(), "PhoneHub <alerts@phonehub.test>").unwrap()
    });
    let (app, clock) = common::spawn_with_clock(pool.clone(), s).await;
    let admin = app.login_as("admin@acme.test").await;
    let member = app.login_as("user@acme.test").await;
    configure_sandbox(&app, &admin, "acme", &sb, "30").await;
    own_number(&app, &member, "+15005550007", false, common::PHONE).await;
    let key = create_key(&app, &admin, "user@acme.test", &["scope_messages"]).await;
    let org = sqlx::query_scalar("SELECT id FROM orgs WHERE slug = 'acme'")
        .fetch_one(&pool)
        .await
        .unwrap();
    Setup {
        app,
        clock,
        member,
        key,
        org,
        _sandbox: keep,
    }
}

/// Registers a webhook for acme with `secret` (sealed with the test keyring, as the app seals).
async fn register(pool: &PgPool, org: i64, url: &str, secret: &str) {
    let sealed = common::settings("http://127.0.0.1:0")
        .keyring
        .encrypt(secret)
        .unwrap();
    sqlx::query(
        "INSERT INTO org_webhooks (org_id, url, secret_key_id, secret_nonce, secret_ciphertext)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(org)
    .bind(url)
    .bind(&sealed.key_id)
    .bind(&sealed.nonce)
    .bind(&sealed.ciphertext)
    .execute(pool)
    .await
    .unwrap();
}

async fn send(s: &Setup, to: &str) {
    let r = reqwest::Client::new()
        .post(format!("{}/v1/messages", s.app.base))
        .bearer_auth(&s.key)
        .json(&serde_json::json!({"from": "+15005550007", "to": to, "body": "Hello"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
}

async fn until<F: Fn() -> bool>(what: &str, f: F) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn crossing_80_percent_mails_each_admin_once_and_delivers_one_signed_webhook(pool: PgPool) {
    let smtp = common::smtp::start_smtp().await;
    let s = setup(pool.clone(), Some(&smtp)).await;
    let (url, receiver) = start_receiver(&[]).await;
    let secret = "whsec_test_secret_for_acme";
    register(&pool, s.org, &url, secret).await;
    // One message ($0.0079) is 80.6 % of this alert-only budget: 50 % and 80 % are crossed at
    // once, and only the higher is told.
    sqlx::query(
        "INSERT INTO budgets (org_id, category, period, amount_micros, hard_cap)
         VALUES ($1, 'sms', 'month', 9800, false)",
    )
    .bind(s.org)
    .execute(&pool)
    .await
    .unwrap();
    send(&s, "+14155550199").await;
    // The org's owner and its admin each get one mail; the receiver one delivery.
    until("two mails", || smtp.messages().len() >= 2).await;
    until("one delivery", || !receiver.got.lock().unwrap().is_empty()).await;
    let mails = smtp.messages();
    assert_eq!(mails.len(), 2, "{mails:?}");
    // Sent concurrently: in any order, one to each.
    for to in ["admin@acme.test", "second@acme.test"] {
        let header = format!("To: {to}\n");
        let mut to_them = mails
            .iter()
            .filter(|m| m.replace("\r\n", "\n").contains(&header));
        let mail = to_them
            .next()
            .unwrap_or_else(|| panic!("no mail to {to}: {mails:?}"));
        assert!(to_them.next().is_none(), "one mail to {to}: {mails:?}");
        assert!(
            mail.contains("Subject: Acme Corp: the org's monthly SMS budget is 80% spent")
                || mail.contains("budget is 80% spent"),
            "{mail}"
        );
        assert!(mail.contains("$0.008 of $0.01"), "{mail}");
    }
    let (headers, body) = receiver.got.lock().unwrap()[0].clone();
    let now = s.clock.now().unix_timestamp();
    assert!(
        verify(secret, &headers, &body, now),
        "the signature verifies"
    );
    assert!(!verify("whsec_wrong", &headers, &body, now));
    assert!(!verify(secret, &headers, &body, now + 301), "too old");
    let event: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(event["type"], "budget.threshold");
    assert_eq!(event["data"]["threshold_percent"], 80);
    assert_eq!(
        headers["phonehub-event-id"].to_str().unwrap(),
        event["id"].as_str().unwrap()
    );
    // In the app: a notification for each of them (the member is not told of the org's budget).
    assert_eq!(
        s.app
            .count("SELECT count(*) FROM notifications WHERE title LIKE '%80% spent'")
            .await,
        2
    );
    // Crossing 100 % later is told once more; 80 % never again.
    send(&s, "+14155550198").await;
    until("the 100 % mails", || smtp.messages().len() >= 4).await;
    let mails = smtp.messages();
    assert_eq!(mails.len(), 4);
    assert_eq!(
        mails.iter().filter(|m| m.contains("80% spent")).count(),
        2,
        "80 % was mailed once to each"
    );
    until("the 100 % delivery", || {
        receiver.got.lock().unwrap().len() >= 2
    })
    .await;
    assert_eq!(receiver.got.lock().unwrap().len(), 2);
    let _ = &s.member;
}

#[sqlx::test(migrations = "../migrations")]
async fn a_receiver_that_answers_500_twice_gets_the_third_try(pool: PgPool) {
    let s = setup(pool.clone(), None).await;
    let (url, receiver) = start_receiver(&[500, 500]).await;
    register(&pool, s.org, &url, "whsec_retry").await;
    sqlx::query(
        "INSERT INTO budgets (org_id, category, period, amount_micros, hard_cap, thresholds)
         VALUES ($1, 'sms', 'month', 7900, false, '{100}')",
    )
    .bind(s.org)
    .execute(&pool)
    .await
    .unwrap();
    send(&s, "+14155550199").await;
    let got = |n: usize| {
        let receiver = receiver.clone();
        move || receiver.got.lock().unwrap().len() >= n
    };
    // Each try's next one is set from the server's clock once the try is recorded, after the
    // receiver answered: the clock moves on only then, or the retry would move with it.
    let recorded = |n: i64| {
        let pool = pool.clone();
        common::poll_until_eq(Duration::from_secs(20), n, move || {
            let pool = pool.clone();
            async move {
                sqlx::query_scalar("SELECT count(*) FROM webhook_attempts")
                    .fetch_one(&pool)
                    .await
                    .unwrap()
            }
        })
    };
    until("the first try", got(1)).await;
    assert_eq!(recorded(1).await, 1);
    // Nothing more until the backoff has passed on the server's clock (30 s, then 2 min).
    s.clock.advance(time::Duration::seconds(31));
    until("the second try", got(2)).await;
    assert_eq!(recorded(2).await, 2);
    s.clock.advance(time::Duration::seconds(121));
    until("the third try", got(3)).await;
    let delivered = common::poll_until_eq(Duration::from_secs(10), "delivered".to_string(), || {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar("SELECT state FROM webhook_deliveries")
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    })
    .await;
    assert_eq!(delivered, "delivered");
    let statuses: Vec<Option<i32>> =
        sqlx::query_scalar("SELECT status FROM webhook_attempts ORDER BY n")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(statuses, [Some(500), Some(500), Some(200)]);
    assert_eq!(receiver.got.lock().unwrap().len(), 3);
    // Every try carried the same event id, each signed afresh.
    let ids: Vec<String> = receiver
        .got
        .lock()
        .unwrap()
        .iter()
        .map(|(h, _)| h["phonehub-event-id"].to_str().unwrap().to_string())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
}

//! Owned numbers over HTTP: search messages, one purchase per click, purchases settled after a
//! timeout, settings and ownership checks, releases that survive provider failures, reconciliation.

use crate::common;

use std::time::Duration;

use app::model::numbers::{BuyPage, NumbersPage};
use common::poll_until_eq;
use common::{configure_sandbox, decode, sandbox_stat, spawn_app_on, start_sandbox, TestApp};
use sqlx::PgPool;

async fn faults(sb: &str, body: serde_json::Value) {
    common::sandbox_control(reqwest::Method::POST, format!("{sb}/_faults"))
        .json(&body)
        .send()
        .await
        .unwrap();
}

async fn buy(app: &TestApp, c: &reqwest::Client, number: &str, key: &str) -> reqwest::Response {
    app.call(
        c,
        "buy_number",
        &[
            ("org", "acme"),
            ("number", number),
            ("key", key),
            ("friendly_name", "Sales"),
        ],
    )
    .await
}

async fn status_of(app: &TestApp, number: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT status FROM owned_numbers WHERE e164 = $1 ORDER BY id")
        .bind(number)
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

async fn sandbox_owns(sb: &str, number: &str) -> bool {
    let url = format!(
        "{sb}/api/2010-04-01/Accounts/{}/IncomingPhoneNumbers.json?PhoneNumber={}",
        telephony::sandbox::DEV_ACCOUNT_SID,
        number.replace('+', "%2B")
    );
    let v: serde_json::Value = common::sandbox_control(reqwest::Method::GET, url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["incoming_phone_numbers"]
        .as_array()
        .is_some_and(|a| !a.is_empty())
}

async fn wait_for_status(app: &TestApp, number: &str, want: &str) -> String {
    poll_until_eq(Duration::from_secs(10), want.to_string(), || async {
        status_of(app, number).await.pop().unwrap_or_default()
    })
    .await
}

/// Polls (10 s at most) until the number's purchase is no longer open; its last status.
async fn wait_until_settled(app: &TestApp, number: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let last = status_of(app, number).await.pop().unwrap_or_default();
        if last != "purchasing" || std::time::Instant::now() > deadline {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn search_explains_empty_area_codes_and_checks_filters(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let app = spawn_app_on(pool, &sb).await;
    let admin = app.login_as("admin@acme.test").await;
    configure_sandbox(&app, &admin, "acme", &sb, "30").await;
    let page = |q: &'static str| {
        let (app, admin) = (&app, admin.clone());
        async move {
            app.call(&admin, "load_buy_page", &[("org", "acme"), ("params", q)])
                .await
        }
    };
    let r = page("search=1&country=US&number_type=local&area_code=415&voice=1").await;
    assert_eq!(r.status(), 200);
    let v = decode::<BuyPage>(r).await;
    assert!(!v["results"].as_array().unwrap().is_empty());
    assert_eq!(v["monthly"], "$1.00");
    let r = page("search=1&country=US&area_code=533").await;
    let v = decode::<BuyPage>(r).await;
    assert_eq!(
        v["message"],
        "No numbers available in area code 533 — try a nearby area code."
    );
    for bad in [
        "search=1&area_code=41",
        "search=1&country=USA",
        "search=1&contains=55-55",
    ] {
        assert_eq!(page(bad).await.status(), 422, "{bad}");
    }
    // The no-JS page shows the same message.
    let html = app
        .get(
            &admin,
            "/o/acme/numbers/buy?search=1&country=US&area_code=533",
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("No numbers available in area code 533"));
}

#[sqlx::test(migrations = "../migrations")]
async fn one_click_buys_once_even_when_submitted_twice(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let app = spawn_app_on(pool, &sb).await;
    let admin = app.login_as("admin@acme.test").await;
    configure_sandbox(&app, &admin, "acme", &sb, "30").await;
    let user = app.login_as("user@acme.test").await;
    let key = "a".repeat(32);
    let (a, b) = tokio::join!(
        buy(&app, &user, "+14155550190", &key),
        buy(&app, &user, "+14155550190", &key)
    );
    let codes = [a.status().as_u16(), b.status().as_u16()];
    assert!(codes.iter().any(|c| *c < 400), "{codes:?}");
    // And once more after it finished: the same form is recognised.
    assert!(
        buy(&app, &user, "+14155550190", &key)
            .await
            .status()
            .as_u16()
            < 400
    );
    assert_eq!(sandbox_stat(&sb, "CreateIncomingPhoneNumber").await, 1);
    assert_eq!(status_of(&app, "+14155550190").await, vec!["active"]);
    // Another form (new key) for a number already held: refused, nothing bought.
    let r = buy(&app, &admin, "+14155550190", &"b".repeat(32)).await;
    assert_eq!(r.status(), 409);
    assert_eq!(sandbox_stat(&sb, "CreateIncomingPhoneNumber").await, 1);
    // The number is configured with our webhooks.
    let sid: String =
        sqlx::query_scalar("SELECT provider_sid FROM owned_numbers WHERE status = 'active'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(sid.starts_with("PN"));
    // Support cannot buy.
    let support = app.login_as("support@phonehub.test").await;
    assert_eq!(
        buy(&app, &support, "+14155550191", &"c".repeat(32))
            .await
            .status(),
        403
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_purchase_that_times_out_is_settled_from_the_provider_and_never_doubled(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let mut settings = common::settings("http://127.0.0.1:0");
    settings.provider_timeout = Some(Duration::from_millis(300));
    settings.sandbox_url = Some(url::Url::parse(&sb).unwrap());
    common::seed(&pool).await;
    let a = server::Application::build_with_pool(settings, pool.clone())
        .await
        .unwrap();
    let base = format!("http://{}", a.local_addr());
    tokio::spawn(a.run_until_stopped());
    let app = TestApp { base, pool };
    let admin = app.login_as("admin@acme.test").await;
    configure_sandbox(&app, &admin, "acme", &sb, "30").await;
    faults(&sb, serde_json::json!({ "latency_ms": 600 })).await;
    let key = "d".repeat(32);
    let r = buy(&app, &admin, "+14155550192", &key).await;
    assert_eq!(r.status(), 502);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("checking whether the purchase went through"));
    assert_eq!(status_of(&app, "+14155550192").await, vec!["purchasing"]);
    // Submitting again does not buy again while the outcome is open.
    assert_eq!(buy(&app, &admin, "+14155550192", &key).await.status(), 409);
    faults(&sb, serde_json::json!({})).await;
    // The org turns its own configuration off meanwhile (there is no system default here): the
    // purchase is still settled with the account it was made on.
    sqlx::query("UPDATE phone_configs SET active = false WHERE org_id IS NOT NULL")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE owned_numbers SET updated_at = now() - interval '2 minutes'")
        .execute(&app.pool)
        .await
        .unwrap();
    // The background check settles it as the provider sees it: bought → active, else failed.
    // (Asked after it settled: by then the timed-out request has long been answered or dropped.)
    let settled = wait_until_settled(&app, "+14155550192").await;
    let owned = sandbox_owns(&sb, "+14155550192").await;
    assert_eq!(settled, if owned { "active" } else { "failed" });
    assert!(sandbox_stat(&sb, "CreateIncomingPhoneNumber").await <= 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn owners_and_admins_change_and_release_numbers_and_failed_releases_are_retried(
    pool: PgPool,
) {
    let (sb, _keep) = start_sandbox().await;
    let app = spawn_app_on(pool, &sb).await;
    let admin = app.login_as("admin@acme.test").await;
    configure_sandbox(&app, &admin, "acme", &sb, "30").await;
    let user = app.login_as("user@acme.test").await;
    assert!(
        buy(&app, &user, "+14155550193", &"e".repeat(32))
            .await
            .status()
            .as_u16()
            < 400
    );
    let id: i64 = app
        .count("SELECT id FROM owned_numbers WHERE e164 = '+14155550193'")
        .await;
    let ids = id.to_string();
    let update = |c: &reqwest::Client, fwd: &str| {
        let c = c.clone();
        let ids = ids.clone();
        let fwd = fwd.to_string();
        let app = &app;
        async move {
            app.call(
                &c,
                "update_number",
                &[
                    ("org", "acme"),
                    ("id", &ids),
                    ("friendly_name", "Desk"),
                    ("active", "on"),
                    ("forward_to", &fwd),
                    ("record_calls", "on"),
                ],
            )
            .await
            .status()
            .as_u16()
        }
    };
    assert!(update(&user, "(415) 555-0100").await < 400);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM owned_numbers WHERE forward_to = '+14155550100' AND record_calls"
        )
        .await,
        1
    );
    assert_eq!(update(&user, "not a phone").await, 422);
    assert_eq!(
        update(&user, "+14155550193").await,
        422,
        "forwarding to itself"
    );
    // Another member cannot see an unshared number; another org's admin neither.
    let second = app.login_as("second@acme.test").await;
    assert!(update(&second, "").await < 400, "org admins may");
    let outsider = app.login_as("admin@globex.test").await;
    assert_eq!(update(&outsider, "").await, 404);
    let support = app.login_as("support@phonehub.test").await;
    assert_eq!(update(&support, "").await, 403);
    assert_eq!(
        app.get(&support, &format!("/o/acme/numbers/{id}"))
            .await
            .status(),
        200
    );

    // Release needs the confirmation box.
    let release = |c: &reqwest::Client, confirm: &str| {
        let c = c.clone();
        let ids = ids.clone();
        let confirm = confirm.to_string();
        let app = &app;
        async move {
            app.call(
                &c,
                "release_number",
                &[("org", "acme"), ("id", &ids), ("confirm", &confirm)],
            )
            .await
        }
    };
    assert_eq!(release(&user, "").await.status(), 422);
    // The provider fails: the number stays `releasing` (still billed), never deleted.
    faults(&sb, serde_json::json!({ "error_rate": 1.0 })).await;
    let r = release(&user, "yes").await;
    assert!(r.status().as_u16() < 400);
    assert!(r.headers()["location"]
        .to_str()
        .unwrap()
        .contains("release-pending"));
    assert_eq!(status_of(&app, "+14155550193").await, vec!["releasing"]);
    let html = app
        .get(&user, "/o/acme/numbers")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Releasing (still billed; retrying)"));
    // The provider recovers (it still bills the number); the background retry finishes the release.
    faults(&sb, serde_json::json!({})).await;
    assert!(sandbox_owns(&sb, "+14155550193").await);
    sqlx::query("UPDATE owned_numbers SET next_release_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        wait_for_status(&app, "+14155550193", "released").await,
        "released"
    );
    assert!(!sandbox_owns(&sb, "+14155550193").await);
    let audit = app
        .count("SELECT count(*) FROM audit_log WHERE action IN ('number.purchased', 'number.released')")
        .await;
    assert_eq!(audit, 2);
}

#[sqlx::test(migrations = "../migrations")]
async fn reconciliation_shows_drift_both_ways(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let app = spawn_app_on(pool, &sb).await;
    let admin = app.login_as("admin@acme.test").await;
    configure_sandbox(&app, &admin, "acme", &sb, "30").await;
    assert!(
        buy(&app, &admin, "+14155550194", &"f".repeat(32))
            .await
            .status()
            .as_u16()
            < 400
    );
    assert!(
        buy(&app, &admin, "+14155550195", &"g".repeat(32))
            .await
            .status()
            .as_u16()
            < 400
    );
    let check = || async {
        app.load::<NumbersPage>(&admin, "load_numbers", &[("org", "acme"), ("check", "1")])
            .await["drift"]["Ok"]
            .clone()
    };
    let d = check().await;
    assert_eq!(d["unknown_here"].as_array().unwrap().len(), 0, "{d}");
    assert_eq!(d["gone_there"].as_array().unwrap().len(), 0);
    // Bought behind our back, and released behind our back.
    let sid: String =
        sqlx::query_scalar("SELECT provider_sid FROM owned_numbers WHERE e164 = '+14155550195'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let mut cfg = telephony::TwilioConfig::new(
        telephony::sandbox::DEV_ACCOUNT_SID,
        telephony::sandbox::DEV_AUTH_TOKEN,
    );
    cfg.api_base = format!("{sb}/api");
    cfg.allow_private_networks = true;
    let direct = telephony::TwilioClient::new(cfg).unwrap();
    use telephony::provider::Numbers;
    direct
        .buy_number("+14155550196", &Default::default())
        .await
        .unwrap();
    direct.release_number(&sid).await.unwrap();
    let d = check().await;
    assert_eq!(d["unknown_here"], serde_json::json!(["+14155550196"]));
    assert_eq!(d["gone_there"], serde_json::json!(["+14155550195"]));
    // Members do not get the check.
    let user = app.login_as("user@acme.test").await;
    let v = app
        .load::<NumbersPage>(&user, "load_numbers", &[("org", "acme"), ("check", "1")])
        .await;
    assert!(v["drift"].is_null());
}

//! Alerts that reach people: a member's notifications (their page, the bell in the nav, marking
//! them read with JavaScript on and off, only their own), and the org's webhooks (added by owners
//! and admins with the secret shown once and stored sealed, only public https addresses outside
//! development, read by support, invisible to other orgs), on the pages and through `/v1`.

use crate::common;

use app::model::alerts::{NotificationsPage, WebhookLogPage, WebhooksPage};
use common::{create_key, spawn_app, TestApp};
use serde_json::{json, Value};
use sqlx::PgPool;

const PAGE: &str = "/o/acme/admin/webhooks";
const URL: &str = "https://hooks.example.com/phonehub";

async fn add(app: &TestApp, c: &reqwest::Client, org: &str, url: &str) -> reqwest::Response {
    app.call(c, "create_webhook", &[("org", org), ("url", url)])
        .await
}

/// Adds `url` to acme as its owner (JavaScript on); the new endpoint's id.
async fn added(app: &TestApp, owner: &reqwest::Client, url: &str) -> i64 {
    let r = add(app, owner, "acme", url).await;
    assert_eq!(r.status(), 200, "{url}");
    r.json::<Value>().await.unwrap()["webhook"]["id"]
        .as_i64()
        .unwrap()
}

async fn webhook_audit(app: &TestApp) -> Vec<(String, Value)> {
    sqlx::query_as::<_, (String, Value)>(
        "SELECT action, details FROM audit_log WHERE action LIKE 'webhook.%' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

/// The secret in a page that shows it (the input's value).
fn secret_in(html: &str) -> String {
    html.split("value=\"whsec_")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .map(|s| format!("whsec_{s}"))
        .expect("the secret is on the page")
}

/// A delivery of acme's endpoint `webhook` (one the money worker leaves alone: not due), with a
/// try that got no answer and one whose answer is `excerpt`.
async fn insert_delivery(app: &TestApp, webhook: i64, excerpt: &str) -> i64 {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO webhook_deliveries (webhook_id, event_id, event, payload, state, attempts,
                                         created_at, next_attempt_at, last_status)
         VALUES ($1, 'evt_budget_1_2026-12-01_80', 'budget.threshold', '{}'::jsonb, 'failed', 2,
                 now(), now() + interval '1 day', 500)
         RETURNING id",
    )
    .bind(webhook)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO webhook_attempts (delivery_id, n, at, status, error, body_excerpt)
         VALUES ($1, 1, now(), NULL, 'timed out', ''), ($1, 2, now(), 500, NULL, $2)",
    )
    .bind(id)
    .bind(excerpt)
    .execute(&app.pool)
    .await
    .unwrap();
    id
}

#[sqlx::test(migrations = "../migrations")]
async fn adding_a_webhook_shows_its_secret_once_and_keeps_it_sealed(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = app.login_as("admin@acme.test").await;

    // JavaScript on: the answer holds the secret, never cached.
    let r = add(&app, &owner, "acme", URL).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let v: Value = r.json().await.unwrap();
    let secret = v["secret"].as_str().unwrap().to_string();
    assert!(
        secret.starts_with("whsec_") && secret.len() == 49,
        "{secret}"
    );
    assert_eq!(v["webhook"]["url"], URL);
    assert_eq!(v["webhook"]["active"], true);
    let id = v["webhook"]["id"].as_i64().unwrap();

    // Stored sealed: the row holds a ciphertext the keyring opens, never the secret itself.
    let (key_id, nonce, ciphertext, row): (String, Vec<u8>, Vec<u8>, String) = sqlx::query_as(
        "SELECT secret_key_id, secret_nonce, secret_ciphertext, row_to_json(w)::text
         FROM org_webhooks w WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(!row.contains(&secret) && !row.contains(&secret[6..]));
    assert!(!String::from_utf8_lossy(&ciphertext).contains(&secret[6..]));
    let ring = app::ssr::crypto::Keyring::parse(&format!("t1:{}", common::test_key(1))).unwrap();
    let sealed = app::ssr::crypto::Sealed {
        key_id,
        nonce,
        ciphertext,
    };
    assert_eq!(ring.decrypt(&sealed).unwrap(), secret);

    // Lists never show it: the page's data, the page, `/v1`.
    let listed = app
        .load::<WebhooksPage>(&owner, "load_webhooks", &[("org", "acme")])
        .await;
    assert_eq!(listed["webhooks"][0]["url"], URL);
    assert!(!listed.to_string().contains("whsec_"));
    let html = app.get(&owner, PAGE).await.text().await.unwrap();
    assert!(html.contains(URL) && html.contains("How to verify"));
    assert!(!html.contains("whsec_"), "the list page shows no secret");

    // JavaScript off: the answer is the page itself, with the secret this once.
    let r = app
        .post_plain(
            &owner,
            "create_webhook",
            PAGE,
            &[("org", "acme"), ("url", "https://second.example.com/in")],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let html = r.text().await.unwrap();
    let second = secret_in(&html);
    assert_ne!(second, secret);
    assert!(html.contains("cannot show it again") && html.contains("PhoneHub-Signature"));
    let again = app.get(&owner, PAGE).await.text().await.unwrap();
    assert!(!again.contains(&second[6..]), "reloading shows it no more");
    assert!(again.contains("https://second.example.com/in"));

    // On the record, without the secrets.
    let audit = webhook_audit(&app).await;
    let actions: Vec<&str> = audit.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(actions, ["webhook.created", "webhook.created"]);
    assert_eq!(audit[0].1["url"], URL);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE details::text LIKE '%whsec_%'")
            .await,
        0
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_bad_url_is_a_field_error_with_javascript_on_and_off_and_writes_nothing(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = app.login_as("admin@acme.test").await;
    for bad in [
        "",
        "ftp://hooks.example.com/x",
        "https://user:pw@hooks.example.com/x",
        "hooks.example.com/x",
    ] {
        let r = add(&app, &owner, "acme", bad).await;
        assert_eq!(r.status(), 422, "{bad:?}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["Validation"]["field"], "url", "{bad:?}: {v}");
    }
    let r = app
        .post_plain(
            &owner,
            "create_webhook",
            PAGE,
            &[("org", "acme"), ("url", "not a url")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("That is not a web address"), "by the field");
    assert!(
        html.contains("value=\"not a url\""),
        "what was typed is kept"
    );
    assert!(html.contains("Webhooks of"), "the page is rendered again");
    assert_eq!(app.count("SELECT count(*) FROM org_webhooks").await, 0);
    assert!(webhook_audit(&app).await.is_empty());

    // In development (the tests' servers) plain http and local addresses are taken; an org
    // holds ten endpoints at most.
    added(&app, &owner, "http://127.0.0.1:9/hook").await;
    for n in 1..10 {
        added(&app, &owner, &format!("{URL}/{n}")).await;
    }
    let r = add(&app, &owner, "acme", &format!("{URL}/11")).await;
    assert_eq!(r.status(), 409);
    assert_eq!(app.count("SELECT count(*) FROM org_webhooks").await, 10);
}

#[sqlx::test(migrations = "../migrations")]
async fn outside_development_only_public_https_addresses_are_taken(pool: PgPool) {
    let mut settings = common::settings("http://127.0.0.1:0");
    settings.environment = server::config::Environment::Production;
    let app = common::spawn_with_settings(pool, settings).await;
    let owner = app.login_as("admin@acme.test").await;
    for bad in [
        "http://hooks.example.com/x",
        "https://10.0.0.5/x",
        "https://127.0.0.1:8443/x",
        "https://[::1]/x",
        "https://169.254.169.254/latest/meta-data",
        "https://192.168.1.10/x",
    ] {
        let r = add(&app, &owner, "acme", bad).await;
        assert_eq!(r.status(), 422, "{bad}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["Validation"]["field"], "url", "{bad}: {v}");
    }
    assert_eq!(app.count("SELECT count(*) FROM org_webhooks").await, 0);
    added(&app, &owner, URL).await;
    added(&app, &owner, "https://8.8.8.8/hook").await;
    assert_eq!(app.count("SELECT count(*) FROM org_webhooks").await, 2);
}

#[sqlx::test(migrations = "../migrations")]
async fn members_and_support_cannot_add_webhooks_and_support_reads_the_log(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = app.login_as("admin@acme.test").await;
    let id = added(&app, &owner, URL).await;
    insert_delivery(&app, id, "<script>alert(1)</script> nope").await;
    let ids = id.to_string();
    let log = format!("{PAGE}/{id}");

    let member = app.login_as("user@acme.test").await;
    let support = app.login_as("support@phonehub.test").await;
    for c in [&member, &support] {
        assert_eq!(add(&app, c, "acme", URL).await.status(), 403);
        let r = app
            .post_plain(c, "create_webhook", PAGE, &[("org", "acme"), ("url", URL)])
            .await;
        assert_eq!(r.status(), 403);
        for (endpoint, form) in [
            (
                "set_webhook_active",
                vec![("org", "acme"), ("id", ids.as_str()), ("active", "false")],
            ),
            (
                "delete_webhook",
                vec![("org", "acme"), ("id", ids.as_str())],
            ),
        ] {
            assert_eq!(
                app.call(c, endpoint, &form).await.status(),
                403,
                "{endpoint}"
            );
        }
    }
    // A member does not see the org's webhooks at all.
    let r = app.call(&member, "load_webhooks", &[("org", "acme")]).await;
    assert_eq!(r.status(), 403);
    let r = app
        .call(
            &member,
            "load_webhook_log",
            &[("org", "acme"), ("id", &ids)],
        )
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(app.get(&member, &log).await.status(), 403);
    assert_eq!(
        app.count("SELECT count(*) FROM org_webhooks WHERE active")
            .await,
        1
    );
    assert_eq!(webhook_audit(&app).await.len(), 1, "only the owner's");

    // Support reads the list and the log; the receiver's answer is text, never markup.
    let p = app
        .load::<WebhooksPage>(&support, "load_webhooks", &[("org", "acme")])
        .await;
    assert_eq!(p["can_manage"], false);
    let l = app
        .load::<WebhookLogPage>(
            &support,
            "load_webhook_log",
            &[("org", "acme"), ("id", &ids)],
        )
        .await;
    let tries = &l["deliveries"][0]["tries"];
    assert_eq!(tries.as_array().unwrap().len(), 2);
    assert_eq!(tries[0]["error"], "timed out");
    assert_eq!(tries[1]["status"], 500);
    assert_eq!(l["deliveries"][0]["state"], "failed");
    let r = app.get(&support, &log).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; nope"));
    assert!(!html.contains("<script>alert(1)"));
    assert!(html.contains("evt_budget_1_2026-12-01_80") && html.contains("HTTP 500"));
    assert!(html.contains("read-only"));
    let list = app.get(&support, PAGE).await.text().await.unwrap();
    assert!(list.contains(URL) && !list.contains("Add a webhook") && !list.contains(">Delete<"));
}

#[sqlx::test(migrations = "../migrations")]
async fn another_orgs_admin_gets_404_for_this_orgs_webhooks(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = app.login_as("admin@acme.test").await;
    let id = added(&app, &owner, URL).await;
    let ids = id.to_string();
    let globex = app.login_as("admin@globex.test").await;
    for org in ["globex", "acme"] {
        let by_id = [("org", org), ("id", ids.as_str())];
        let r = app.call(&globex, "load_webhook_log", &by_id).await;
        assert_eq!(r.status(), 404, "log through {org}");
        let r = app.call(&globex, "delete_webhook", &by_id).await;
        assert_eq!(r.status(), 404, "delete through {org}");
        let mut toggle = by_id.to_vec();
        toggle.push(("active", "false"));
        let r = app.call(&globex, "set_webhook_active", &toggle).await;
        assert_eq!(r.status(), 404, "turn off through {org}");
        let r = app
            .get(&globex, &format!("/o/{org}/admin/webhooks/{id}"))
            .await;
        assert_eq!(r.status(), 404, "the log page through {org}");
    }
    let key = create_key_in(&app, &globex, "globex", "admin@globex.test").await;
    for (method, path) in [
        (reqwest::Method::GET, format!("/v1/webhooks/{id}")),
        (reqwest::Method::DELETE, format!("/v1/webhooks/{id}")),
        (
            reqwest::Method::GET,
            format!("/v1/webhooks/{id}/deliveries"),
        ),
    ] {
        problem(send(&app, &key, method.clone(), &path, None).await, 404).await;
    }
    let v: Value = send(&app, &key, reqwest::Method::GET, "/v1/webhooks", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["data"], json!([]));
    assert_eq!(
        app.count("SELECT count(*) FROM org_webhooks WHERE active")
            .await,
        1
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn an_admin_turns_a_webhook_off_and_on_and_deletes_it_on_the_record(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = app.login_as("admin@acme.test").await;
    let id = added(&app, &owner, URL).await.to_string();

    // JavaScript on, then off.
    let off = [("org", "acme"), ("id", id.as_str()), ("active", "false")];
    assert_eq!(
        app.call(&owner, "set_webhook_active", &off).await.status(),
        200
    );
    assert_eq!(active(&app).await, 0);
    let on = [("org", "acme"), ("id", id.as_str()), ("active", "true")];
    let r = app
        .post_plain(&owner, "set_webhook_active", PAGE, &on)
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "/o/acme/admin/webhooks?notice=webhook-enabled"
    );
    assert_eq!(active(&app).await, 1);
    let odd = [("org", "acme"), ("id", id.as_str()), ("active", "maybe")];
    assert_eq!(
        app.call(&owner, "set_webhook_active", &odd).await.status(),
        400
    );
    assert_eq!(active(&app).await, 1);

    let r = app
        .post_plain(
            &owner,
            "delete_webhook",
            PAGE,
            &[("org", "acme"), ("id", &id)],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(app.count("SELECT count(*) FROM org_webhooks").await, 0);
    let r = app
        .call(&owner, "delete_webhook", &[("org", "acme"), ("id", &id)])
        .await;
    assert_eq!(r.status(), 404);
    let actions: Vec<String> = webhook_audit(&app)
        .await
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    assert_eq!(
        actions,
        [
            "webhook.created",
            "webhook.disabled",
            "webhook.enabled",
            "webhook.deleted"
        ]
    );
}

async fn active(app: &TestApp) -> i64 {
    app.count("SELECT count(*) FROM org_webhooks WHERE active")
        .await
}

/// A notification for `email` in `org`, `hours_ago`, read or not.
async fn notify(app: &TestApp, email: &str, org: &str, title: &str, hours_ago: i32, read: bool) {
    sqlx::query(
        "INSERT INTO notifications (org_id, user_id, title, body, link, created_at, read_at)
         SELECT o.id, u.id, $3, 'Line one.' || chr(10) || 'Line two.', '/o/' || o.slug || '/admin/budgets',
                now() - make_interval(hours => $4),
                CASE WHEN $5 THEN now() END
         FROM orgs o, users u WHERE o.slug = $2 AND u.email = $1",
    )
    .bind(email)
    .bind(org)
    .bind(title)
    .bind(hours_ago)
    .bind(read)
    .execute(&app.pool)
    .await
    .unwrap();
}

async fn unread(app: &TestApp, email: &str, org: &str) -> i64 {
    app.count(&format!(
        "SELECT count(*) FROM notifications n JOIN users u ON u.id = n.user_id
         JOIN orgs o ON o.id = n.org_id
         WHERE u.email = '{email}' AND o.slug = '{org}' AND n.read_at IS NULL"
    ))
    .await
}

#[sqlx::test(migrations = "../migrations")]
async fn a_member_reads_their_notifications_and_marks_them_read_with_javascript_on_and_off(
    pool: PgPool,
) {
    let app = spawn_app(pool).await;
    notify(&app, "user@acme.test", "acme", "Budget 50% spent", 3, false).await;
    notify(&app, "user@acme.test", "acme", "Budget 80% spent", 2, false).await;
    notify(&app, "user@acme.test", "acme", "Old news", 24, true).await;
    notify(&app, "admin@acme.test", "acme", "For the owner", 1, false).await;
    notify(&app, "admin@acme.test", "globex", "Globex news", 1, false).await;
    let member = app.login_as("user@acme.test").await;

    let p = app
        .load::<NotificationsPage>(&member, "load_notifications", &[("org", "acme")])
        .await;
    assert_eq!(p["unread"], 2);
    let titles: Vec<&str> = p["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Budget 80% spent", "Budget 50% spent", "Old news"]);
    assert_eq!(p["notifications"][0]["unread"], true);
    assert_eq!(p["notifications"][2]["unread"], false);
    assert_eq!(p["notifications"][0]["link"], "/o/acme/admin/budgets");

    // The page, and the bell in the nav with the count of this org.
    let r = app.get(&member, "/o/acme/notifications").await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    for shown in [
        "Budget 80% spent",
        "Old news",
        "Line one.\nLine two.",
        "whitespace-pre-line",
        "href=\"/o/acme/admin/budgets\"",
        "aria-label=\"Notifications, 2 unread\"",
        "href=\"/o/acme/notifications\"",
        "Mark all as read",
    ] {
        assert!(html.contains(shown), "the page lacks {shown:?}");
    }
    assert!(!html.contains("For the owner") && !html.contains("Globex news"));
    let me = app
        .load::<Option<app::model::Me>>(&member, "me", &[("path", "/o/acme/calls")])
        .await;
    assert_eq!(me["bell"], json!({"org": "acme", "unread": 2}));
    let me = app.load::<Option<app::model::Me>>(&member, "me", &[]).await;
    assert_eq!(me["bell"], Value::Null, "only the nav asks for the bell");

    // JavaScript on: only the viewer's rows in this org are marked.
    let r = app
        .call(&member, "mark_all_notifications_read", &[("org", "acme")])
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(unread(&app, "user@acme.test", "acme").await, 0);
    assert_eq!(unread(&app, "admin@acme.test", "acme").await, 1);
    assert_eq!(unread(&app, "admin@acme.test", "globex").await, 1);

    // JavaScript off: the same, back to the page with the bell at zero.
    notify(
        &app,
        "user@acme.test",
        "acme",
        "Budget 100% spent",
        0,
        false,
    )
    .await;
    let r = app
        .post_plain(
            &member,
            "mark_all_notifications_read",
            "/o/acme/notifications",
            &[("org", "acme")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let back = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(back, "/o/acme/notifications?notice=notifications-read");
    assert_eq!(unread(&app, "user@acme.test", "acme").await, 0);
    let html = app.get(&member, &back).await.text().await.unwrap();
    assert!(html.contains("aria-label=\"Notifications, 0 unread\""));
    assert!(html.contains("All notifications marked as read."));
    assert!(!html.contains(">Mark all as read<"), "nothing left to mark");
    assert_eq!(unread(&app, "admin@acme.test", "acme").await, 1);
    let audited = app
        .count("SELECT count(*) FROM audit_log WHERE action = 'notifications.read'")
        .await;
    assert_eq!(audited, 2);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_notification_is_marked_read_by_its_reader_only(pool: PgPool) {
    let app = spawn_app(pool).await;
    notify(&app, "user@acme.test", "acme", "Theirs", 1, false).await;
    notify(&app, "admin@acme.test", "acme", "Mine", 1, false).await;
    notify(&app, "admin@acme.test", "globex", "Globex news", 1, false).await;
    let id_of = |title: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT id FROM notifications WHERE title = $1")
                .bind(title)
                .fetch_one(&pool)
                .await
                .unwrap()
                .to_string()
        }
    };
    let (theirs, mine, globex) = (
        id_of("Theirs").await,
        id_of("Mine").await,
        id_of("Globex news").await,
    );
    let owner = app.login_as("admin@acme.test").await;
    for (org, id) in [("acme", theirs.as_str()), ("acme", globex.as_str())] {
        let r = app
            .call(
                &owner,
                "mark_notification_read",
                &[("org", org), ("id", id)],
            )
            .await;
        assert_eq!(r.status(), 404, "{org} {id}");
    }
    let r = app
        .post_plain(
            &owner,
            "mark_notification_read",
            "/o/acme/notifications",
            &[("org", "acme"), ("id", &mine)],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(unread(&app, "admin@acme.test", "acme").await, 0);
    assert_eq!(unread(&app, "user@acme.test", "acme").await, 1);
    assert_eq!(unread(&app, "admin@acme.test", "globex").await, 1);
    // The bell follows the org of the page.
    let html = app
        .get(&owner, "/o/globex/notifications")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("aria-label=\"Notifications, 1 unread\""));

    // Support staff read an org's pages but have nothing of theirs to mark.
    let support = app.login_as("support@phonehub.test").await;
    let r = app
        .call(&support, "mark_all_notifications_read", &[("org", "acme")])
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(unread(&app, "user@acme.test", "acme").await, 1);
}

async fn send(
    app: &TestApp,
    key: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap()
}

async fn problem(r: reqwest::Response, status: u16) -> Value {
    assert_eq!(r.status(), status);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    r.json().await.unwrap()
}

/// A key of `org` acting as `acting_as` with the `alerts` scope.
async fn create_key_in(app: &TestApp, c: &reqwest::Client, org: &str, acting_as: &str) -> String {
    let r = common::try_create_key(app, c, org, acting_as, &["scope_alerts"]).await;
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["key"]
        .as_str()
        .unwrap()
        .to_string()
}

#[sqlx::test(migrations = "../migrations")]
async fn v1_lists_each_keys_own_members_notifications_with_the_alerts_scope_only(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = app.login_as("admin@acme.test").await;
    notify(&app, "user@acme.test", "acme", "Theirs", 1, false).await;
    notify(&app, "admin@acme.test", "acme", "Mine", 1, true).await;
    notify(&app, "admin@acme.test", "globex", "Globex news", 1, false).await;
    let key = create_key(&app, &owner, "admin@acme.test", &["scope_alerts"]).await;
    let member_key = create_key(&app, &owner, "user@acme.test", &["scope_alerts"]).await;
    for (k, title, read) in [(&key, "Mine", true), (&member_key, "Theirs", false)] {
        let r = send(&app, k, reqwest::Method::GET, "/v1/notifications", None).await;
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["data"].as_array().unwrap().len(), 1, "{v}");
        assert_eq!(v["data"][0]["title"], title);
        assert_eq!(v["data"][0]["read"], read);
        assert!(v["data"][0]["created_at"].as_str().unwrap().ends_with('Z'));
    }
    let usage_key = create_key(&app, &owner, "admin@acme.test", &["scope_usage"]).await;
    let r = send(
        &app,
        &usage_key,
        reqwest::Method::GET,
        "/v1/notifications",
        None,
    )
    .await;
    let v = problem(r, 403).await;
    assert!(v["detail"].as_str().unwrap().contains("alerts"), "{v}");
}

#[sqlx::test(migrations = "../migrations")]
async fn v1_manages_webhooks_with_the_alerts_scope_and_an_admins_key_only(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = app.login_as("admin@acme.test").await;
    let key = create_key(&app, &owner, "admin@acme.test", &["scope_alerts"]).await;
    let member_key = create_key(&app, &owner, "user@acme.test", &["scope_alerts"]).await;
    let (get, post, del) = (
        reqwest::Method::GET,
        reqwest::Method::POST,
        reqwest::Method::DELETE,
    );

    // Added once, with the secret in that answer only.
    let body = json!({"url": URL});
    let r = send(&app, &key, post.clone(), "/v1/webhooks", Some(body.clone())).await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["cache-control"], "private, no-store");
    let made: Value = r.json().await.unwrap();
    let secret = made["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(made["url"], URL);
    let one = format!("/v1/webhooks/{}", made["id"]);
    let listed = send(&app, &key, get.clone(), "/v1/webhooks", None)
        .await
        .text()
        .await
        .unwrap();
    assert!(listed.contains(URL) && !listed.contains(&secret[6..]));
    let r = send(&app, &key, get.clone(), &one, None).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["active"], true);
    assert!(v.get("secret").is_none());
    let id = made["id"].as_i64().unwrap();
    insert_delivery(&app, id, "ok").await;
    let v: Value = send(&app, &key, get.clone(), &format!("{one}/deliveries"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["data"][0]["event"], "budget.threshold");
    assert_eq!(v["data"][0]["tries"][1]["body_excerpt"], "ok");

    // Bad bodies: 422 naming the field, nothing written.
    for (b, field) in [
        (json!({"url": "ftp://x.example.com"}), "url"),
        (json!({"url": URL, "events": ["all"]}), "events"),
        (json!({}), "url"),
    ] {
        let v = problem(
            send(&app, &key, post.clone(), "/v1/webhooks", Some(b.clone())).await,
            422,
        )
        .await;
        assert_eq!(v["errors"][0]["field"], field, "{b}: {v}");
    }
    assert_eq!(app.count("SELECT count(*) FROM org_webhooks").await, 1);

    // A member's key manages nothing; a key without the scope reaches nothing.
    for (method, path) in [
        (get.clone(), "/v1/webhooks".to_string()),
        (post.clone(), "/v1/webhooks".to_string()),
        (get.clone(), one.clone()),
        (del.clone(), one.clone()),
    ] {
        let r = send(&app, &member_key, method.clone(), &path, Some(body.clone())).await;
        problem(r, 403).await;
    }
    let budgets_key = create_key(&app, &owner, "admin@acme.test", &["scope_budgets"]).await;
    for (method, path) in [
        (get.clone(), "/v1/webhooks".to_string()),
        (post.clone(), "/v1/webhooks".to_string()),
        (get.clone(), one.clone()),
        (del.clone(), one.clone()),
        (get.clone(), format!("{one}/deliveries")),
    ] {
        let r = send(
            &app,
            &budgets_key,
            method.clone(),
            &path,
            Some(body.clone()),
        )
        .await;
        let v = problem(r, 403).await;
        assert!(
            v["detail"].as_str().unwrap().contains("alerts"),
            "{method} {path}: {v}"
        );
    }
    assert_eq!(app.count("SELECT count(*) FROM org_webhooks").await, 1);

    // Deleted once: 204, then gone; on the record, through the key.
    assert_eq!(
        send(&app, &key, del.clone(), &one, None).await.status(),
        204
    );
    problem(send(&app, &key, del, &one, None).await, 404).await;
    problem(send(&app, &key, get, &one, None).await, 404).await;
    let audit = webhook_audit(&app).await;
    let actions: Vec<&str> = audit.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(actions, ["webhook.created", "webhook.deleted"]);
    assert!(
        audit.iter().all(|(_, d)| d["api_key"].is_i64()),
        "{audit:?}"
    );
}

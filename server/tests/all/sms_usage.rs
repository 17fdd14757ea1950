//! SMS (send, delivery callbacks, inbound, test mode, bad input), the usage ledger agreeing with
//! every other page, the support console's read-only guarantee, and the audit log.

use crate::common;

use std::time::Duration;

use common::poll_until_eq;
use common::{
    configure_sandbox, insert_message, own_number, sandbox_stat, spawn_app, spawn_app_on,
    start_sandbox, webhook, TestApp, PHONE,
};
use sqlx::PgPool;
use telephony::sandbox::DEV_AUTH_TOKEN;

const OTHER: &str = "+12125550147";

async fn setup(pool: PgPool) -> (TestApp, String, telephony::sandbox::Shared, reqwest::Client) {
    let (sb, keep) = start_sandbox().await;
    let app = spawn_app_on(pool, &sb).await;
    let admin = app.login_as("admin@acme.test").await;
    configure_sandbox(&app, &admin, "acme", &sb, "30").await;
    (app, sb, keep, admin)
}

async fn send(
    app: &TestApp,
    c: &reqwest::Client,
    from: &str,
    to: &str,
    body: &str,
) -> reqwest::Response {
    app.call(
        c,
        "send_sms",
        &[("org", "acme"), ("from", from), ("to", to), ("body", body)],
    )
    .await
}

async fn wait_status(app: &TestApp, id: i64, want: &str) -> String {
    poll_until_eq(Duration::from_secs(15), want.to_string(), || async {
        sqlx::query_scalar("SELECT status FROM messages WHERE id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap()
    })
    .await
}

#[sqlx::test(migrations = "../migrations")]
async fn sms_is_sent_delivered_and_priced_by_segment_and_bad_input_sends_nothing(pool: PgPool) {
    let (app, sb, _keep, admin) = setup(pool).await;
    let user = app.login_as("user@acme.test").await;
    let mine = "+14155550180";
    own_number(&app, &user, mine, false, PHONE).await;
    let theirs = "+14155550181";
    own_number(&app, &admin, theirs, false, PHONE).await;
    // Bad input: a field error each, nothing sent, nothing recorded.
    let long = "a".repeat(1601);
    for (what, from, to, body, field) in [
        ("empty body", mine, OTHER, "   ", "body"),
        ("over 1600 characters", mine, OTHER, long.as_str(), "body"),
        ("invalid To", mine, "12", "hi", "to"),
        ("empty To", mine, "", "hi", "to"),
        ("someone else's number", theirs, OTHER, "hi", "from"),
        ("a number not ours", "+14155550999", OTHER, "hi", "from"),
        ("itself", mine, mine, "hi", "to"),
        // The same number typed nationally, or with an extension, is still itself.
        (
            "itself, typed nationally",
            mine,
            "(415) 555-0180",
            "hi",
            "to",
        ),
        (
            "itself, with an extension",
            mine,
            "+1 415 555 0180 x1",
            "hi",
            "to",
        ),
    ] {
        let r = send(&app, &user, from, to, body).await;
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        assert_eq!(status, 422, "{what}: {text}");
        assert!(text.contains(field), "{what}: {text}");
    }
    assert_eq!(app.count("SELECT count(*) FROM messages").await, 0);
    assert_eq!(sandbox_stat(&sb, "CreateMessage").await, 0);
    // 170 GSM-7 characters: two segments at $0.0079.
    let body = "b".repeat(170);
    assert!(
        send(&app, &user, mine, "(212) 555-0147", &body)
            .await
            .status()
            .as_u16()
            < 400
    );
    let id: i64 = sqlx::query_scalar("SELECT max(id) FROM messages")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(wait_status(&app, id, "delivered").await, "delivered");
    let (segments, cost, enc, sent, delivered): (i32, i64, String, bool, bool) = sqlx::query_as(
        "SELECT segments, cost_micros, encoding, sent_at IS NOT NULL, delivered_at IS NOT NULL FROM messages WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        (segments, cost, enc.as_str(), sent, delivered),
        (2, 15_800, "gsm7", true, true)
    );
    // The conversation shows it.
    let page: serde_json::Value = app
        .load::<app::model::sms::SmsPage>(
            &user,
            "load_sms",
            &[
                ("org", "acme"),
                (
                    "params",
                    &format!("our=%2B{}&with=%2B{}", &mine[1..], &OTHER[1..]),
                ),
            ],
        )
        .await;
    assert_eq!(page["conversations"][0]["other"], OTHER);
    assert_eq!(page["thread"][2][0]["status"], "delivered");
    // An emoji makes it UCS-2.
    assert!(
        send(&app, &user, mine, OTHER, "hello 😀")
            .await
            .status()
            .as_u16()
            < 400
    );
    let enc: String = sqlx::query_scalar("SELECT encoding FROM messages ORDER BY id DESC LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(enc, "ucs2");
    // An undeliverable destination ends undelivered (and stays so).
    assert!(
        send(
            &app,
            &user,
            mine,
            telephony::sandbox::data::MAGIC_UNDELIVERED,
            "x"
        )
        .await
        .status()
        .as_u16()
            < 400
    );
    let id: i64 = sqlx::query_scalar("SELECT max(id) FROM messages")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(wait_status(&app, id, "undelivered").await, "undelivered");

    // Test mode: recorded as a test, not sent, free.
    let before = sandbox_stat(&sb, "CreateMessage").await;
    // An org admin turns test mode on: saving the configuration applies it at once in this
    // process (no waiting out the effective-config cache).
    let saved = app
        .call(
            &admin,
            "save_phone_config",
            &[
                ("org", "acme"),
                ("provider", "sandbox"),
                ("display_name", "Test sandbox"),
                ("active", "on"),
                ("lookup_enabled", "on"),
                ("lookup_cache_days", "30"),
                ("test_mode", "on"),
                ("default_sender", ""),
                ("credential_id", telephony::sandbox::DEV_ACCOUNT_SID),
                ("credential_secret", telephony::sandbox::DEV_AUTH_TOKEN),
            ],
        )
        .await;
    assert!(saved.status().as_u16() < 400, "{}", saved.status());
    assert!(
        send(&app, &user, mine, OTHER, "test")
            .await
            .status()
            .as_u16()
            < 400
    );
    let (is_test, status, cost): (bool, String, i64) = sqlx::query_as(
        "SELECT is_test, status, cost_micros FROM messages ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((is_test, status.as_str(), cost), (true, "queued", 0));
    assert_eq!(sandbox_stat(&sb, "CreateMessage").await, before);
    // Support cannot send.
    let support = app.login_as("support@phonehub.test").await;
    assert_eq!(send(&app, &support, mine, OTHER, "hi").await.status(), 403);
}

#[sqlx::test(migrations = "../migrations")]
async fn delivery_callbacks_are_signed_and_never_regress_and_inbound_sms_lands_once(pool: PgPool) {
    let (app, _sb, _keep, admin) = setup(pool).await;
    let sid = "SM0123456789abcdef0123456789abcdef";
    let id = insert_message(&app, sid).await;
    let path = format!("/webhooks/twilio/sms-status?msg={id}");
    let delivered = [("MessageSid", sid), ("MessageStatus", "delivered")];
    let sent = [("MessageSid", sid), ("MessageStatus", "sent")];
    assert_eq!(webhook(&app, &path, &delivered, None).await.status(), 403);
    assert_eq!(
        webhook(&app, &path, &delivered, Some("wrong"))
            .await
            .status(),
        403
    );
    assert_eq!(
        webhook(
            &app,
            "/webhooks/twilio/sms-status?msg=999999",
            &delivered,
            Some(DEV_AUTH_TOKEN)
        )
        .await
        .status(),
        403
    );
    assert_eq!(
        webhook(
            &app,
            &path,
            &[("MessageSid", "SMother"), ("MessageStatus", "failed")],
            Some(DEV_AUTH_TOKEN)
        )
        .await
        .status(),
        403
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM messages WHERE id = {id} AND status = 'queued'"
        ))
        .await,
        1
    );
    assert_eq!(
        webhook(&app, &path, &delivered, Some(DEV_AUTH_TOKEN))
            .await
            .status(),
        204
    );
    // A late "sent" and replays change nothing.
    for _ in 0..2 {
        assert_eq!(
            webhook(&app, &path, &sent, Some(DEV_AUTH_TOKEN))
                .await
                .status(),
            204
        );
        assert_eq!(
            webhook(&app, &path, &delivered, Some(DEV_AUTH_TOKEN))
                .await
                .status(),
            204
        );
    }
    let (status, cost): (String, i64) =
        sqlx::query_as("SELECT status, cost_micros FROM messages WHERE id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), cost), ("delivered", 7_900));
    // A message that failed to send costs nothing.
    let id2 = insert_message(&app, "SM2").await;
    let p2 = format!("/webhooks/twilio/sms-status?msg={id2}");
    webhook(
        &app,
        &p2,
        &[
            ("MessageSid", "SM2"),
            ("MessageStatus", "failed"),
            ("ErrorCode", "30006"),
        ],
        Some(DEV_AUTH_TOKEN),
    )
    .await;
    let (status, cost, err): (String, i64, String) =
        sqlx::query_as("SELECT status, cost_micros, error_message FROM messages WHERE id = $1")
            .bind(id2)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), cost), ("failed", 0));
    assert!(err.contains("cannot receive SMS"), "{err}");

    // Inbound SMS to an owned number: into its conversation, once.
    let ours = "+14155550182";
    own_number(&app, &admin, ours, false, PHONE).await;
    let msg = [
        ("MessageSid", "SMin1"),
        ("From", OTHER),
        ("To", ours),
        ("Body", "Hello there"),
        ("NumSegments", "1"),
    ];
    for _ in 0..3 {
        let r = webhook(&app, "/webhooks/twilio/sms", &msg, Some(DEV_AUTH_TOKEN)).await;
        assert_eq!(r.status(), 200);
        assert!(r.text().await.unwrap().contains("<Response/>"));
    }
    assert_eq!(
        app.count(
            "SELECT count(*) FROM messages WHERE direction = 'inbound' AND status = 'received'"
        )
        .await,
        1
    );
    let page: serde_json::Value = app
        .load::<app::model::sms::SmsPage>(&admin, "load_sms", &[("org", "acme"), ("params", "")])
        .await;
    assert!(page["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["our"] == ours && c["last_body"] == "Hello there"));
    let unknown = [
        ("MessageSid", "SMin2"),
        ("From", OTHER),
        ("To", "+14155550999"),
        ("Body", "x"),
    ];
    assert_eq!(
        webhook(&app, "/webhooks/twilio/sms", &unknown, Some(DEV_AUTH_TOKEN))
            .await
            .status(),
        403
    );
    let forged = [
        ("MessageSid", "SMin3"),
        ("From", OTHER),
        ("To", ours),
        ("Body", "x"),
    ];
    assert_eq!(
        webhook(&app, "/webhooks/twilio/sms", &forged, Some("wrong"))
            .await
            .status(),
        403
    );
    assert_eq!(
        app.count("SELECT count(*) FROM messages WHERE direction = 'inbound'")
            .await,
        1
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn the_usage_ledger_agrees_with_every_other_page(pool: PgPool) {
    let (app, _sb, _keep, admin) = setup(pool).await;
    let user = app.login_as("user@acme.test").await;
    let number = own_number(&app, &user, "+14155550183", true, PHONE).await;
    // A call through the sandbox, to completion with its price and recording.
    let r = app
        .call(
            &user,
            "place_call",
            &[
                ("org", "acme"),
                ("number_id", &number.to_string()),
                ("to", OTHER),
            ],
        )
        .await;
    assert!(r.status().as_u16() < 400);
    poll_until_eq(Duration::from_secs(15), 1, || {
        app.count("SELECT count(*) FROM calls WHERE provider_price_micros IS NOT NULL AND recording_count = 1")
    })
    .await;
    // An SMS and two lookups (one paid, one cached).
    assert!(
        send(&app, &user, "+14155550183", OTHER, "hi")
            .await
            .status()
            .as_u16()
            < 400
    );
    for _ in 0..2 {
        app.call(
            &user,
            "lookup_number",
            &[("org", "acme"), ("number", "+14155550100")],
        )
        .await;
    }
    let usage: serde_json::Value = app
        .load::<app::model::usage::UsagePageData>(&admin, "load_usage", &[("org", "acme")])
        .await;
    let cat = |c: &str| -> i64 {
        usage["report"]["categories"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["category"] == c)
            .unwrap()["micros"]
            .as_i64()
            .unwrap()
    };
    let calls: i64 = app
        .count("SELECT coalesce(sum(cost_micros), 0)::int8 FROM calls")
        .await;
    let recordings: i64 = app
        .count("SELECT coalesce(sum(recording_cost_micros), 0)::int8 FROM calls")
        .await;
    let sms: i64 = app
        .count("SELECT coalesce(sum(cost_micros), 0)::int8 FROM messages")
        .await;
    assert!(
        calls > 0 && recordings > 0 && sms == 7_900,
        "{calls} {recordings} {sms}"
    );
    assert_eq!(cat("calls"), calls);
    assert_eq!(cat("recordings"), recordings);
    assert_eq!(cat("sms"), sms);
    assert_eq!(cat("numbers"), 1_000_000, "one number, one month");
    // Lookups: the lookup cost page's figure for this month.
    let stats: serde_json::Value = app
        .load::<app::model::lookup::LookupStats>(&admin, "load_lookup_stats", &[("org", "acme")])
        .await;
    let spent = stats["month"]["cost_micros"]
        .as_i64()
        .unwrap_or_else(|| panic!("{stats}"));
    assert_eq!(cat("lookups"), spent);
    assert_eq!(spent, 5_000);
    // The call history shows the same call cost; the total is the sum of the categories.
    let history: serde_json::Value = app
        .load::<app::model::calls::CallsPage>(
            &admin,
            "load_calls",
            &[("org", "acme"), ("params", "")],
        )
        .await;
    assert_eq!(
        history["rows"][0]["cost"],
        serde_json::json!(app::model::lookup::money(calls + recordings))
    );
    assert_eq!(
        usage["report"]["total_micros"].as_i64().unwrap(),
        calls + recordings + sms + 1_000_000 + 5_000
    );
    // By user: Uma spent everything but nothing else did (the number is hers).
    assert_eq!(usage["report"]["by_user"][0]["label"], "user@acme.test");
    // The CSV adds up to the same total.
    let csv = app
        .get(&admin, "/o/acme/admin/usage.csv")
        .await
        .text()
        .await
        .unwrap();
    let sum: f64 = csv
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(
        (sum * 1_000_000.0).round() as i64,
        usage["report"]["total_micros"].as_i64().unwrap()
    );
    // Members cannot see the org's spend.
    assert_eq!(
        app.call(&user, "load_usage", &[("org", "acme")])
            .await
            .status(),
        403
    );
    assert_eq!(
        app.get(&user, "/o/acme/admin/usage.csv").await.status(),
        403
    );
}

/// Every table support could change, as one fingerprint (the audit log aside: staff views are
/// written there on purpose).
async fn fingerprint(app: &TestApp) -> String {
    sqlx::query_scalar(
        "SELECT md5(string_agg(t, '|' ORDER BY t)) FROM (
            SELECT 'u' || string_agg(row_to_json(x)::text, ',' ORDER BY x.id) t FROM users x
            UNION ALL SELECT 'o' || string_agg(row_to_json(x)::text, ',' ORDER BY x.id) FROM orgs x
            UNION ALL SELECT 'm' || string_agg(row_to_json(x)::text, ',' ORDER BY x.org_id, x.user_id) FROM memberships x
            UNION ALL SELECT 'p' || coalesce(string_agg(row_to_json(x)::text, ',' ORDER BY x.id), '') FROM phone_configs x
            UNION ALL SELECT 'n' || coalesce(string_agg(row_to_json(x)::text, ',' ORDER BY x.id), '') FROM owned_numbers x
            UNION ALL SELECT 'c' || coalesce(string_agg(row_to_json(x)::text, ',' ORDER BY x.id), '') FROM calls x
            UNION ALL SELECT 's' || coalesce(string_agg(row_to_json(x)::text, ',' ORDER BY x.id), '') FROM messages x
            UNION ALL SELECT 'l' || count(*)::text FROM lookup_events x
            UNION ALL SELECT 'j' || count(*)::text FROM lookup_jobs x
         ) f",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn support_staff_read_everything_change_nothing_and_are_audited(pool: PgPool) {
    let (app, _sb, _keep, admin) = setup(pool).await;
    let number = own_number(&app, &admin, "+14155550184", true, PHONE).await;
    let n = number.to_string();
    let uid = app.user_id("user@acme.test").await.to_string();
    let support = app.login_as("support@phonehub.test").await;
    let before = fingerprint(&app).await;
    let writes: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "place_call",
            vec![("org", "acme"), ("number_id", &n), ("to", OTHER)],
        ),
        (
            "send_sms",
            vec![
                ("org", "acme"),
                ("from", "+14155550184"),
                ("to", OTHER),
                ("body", "hi"),
            ],
        ),
        (
            "buy_number",
            vec![
                ("org", "acme"),
                ("number", "+14155550185"),
                ("key", "abcdefabcdefabcdefabcdef"),
                ("friendly_name", ""),
            ],
        ),
        (
            "update_number",
            vec![
                ("org", "acme"),
                ("id", &n),
                ("friendly_name", "x"),
                ("forward_to", ""),
            ],
        ),
        (
            "release_number",
            vec![("org", "acme"), ("id", &n), ("confirm", "yes")],
        ),
        (
            "lookup_number",
            vec![("org", "acme"), ("number", "+14155550100")],
        ),
        (
            "save_phone_config",
            vec![
                ("org", "acme"),
                ("provider", "sandbox"),
                ("display_name", "x"),
                ("lookup_cache_days", "30"),
                ("default_sender", ""),
                ("credential_id", "AC1"),
                ("credential_secret", ""),
            ],
        ),
        (
            "add_member",
            vec![
                ("org", "acme"),
                ("email", "new@acme.test"),
                ("role", "member"),
            ],
        ),
        (
            "change_role",
            vec![("org", "acme"), ("user_id", &uid), ("role", "admin")],
        ),
        ("remove_member", vec![("org", "acme"), ("user_id", &uid)]),
    ];
    for (endpoint, form) in &writes {
        let r = app.call(&support, endpoint, form).await;
        assert_eq!(r.status(), 403, "{endpoint}");
    }
    // Superadmin-only functions do not exist for support.
    for (endpoint, form) in [
        (
            "admin_create_org",
            vec![
                ("slug", "evil"),
                ("name", "Evil"),
                ("owner_email", "support@phonehub.test"),
            ],
        ),
        (
            "admin_create_user",
            vec![
                ("email", "evil@x.test"),
                ("name", "E"),
                ("password", "long-enough-pw"),
            ],
        ),
        ("admin_set_flags", vec![("user_id", uid.as_str())]),
    ] {
        let s = app.call(&support, endpoint, &form).await.status().as_u16();
        assert!(s == 403 || s == 404, "{endpoint}: {s}");
    }
    assert_eq!(fingerprint(&app).await, before, "support changed nothing");
    // Reads work, and each is on the record.
    let views_before = app
        .count("SELECT count(*) FROM audit_log WHERE action = 'staff.viewed'")
        .await;
    for (endpoint, form) in [
        ("load_staff_org", vec![("org", "acme")]),
        ("load_usage", vec![("org", "acme")]),
        ("load_calls", vec![("org", "acme"), ("params", "")]),
        ("load_sms", vec![("org", "acme"), ("params", "")]),
        ("load_audit", vec![("org", "acme"), ("params", "")]),
    ] {
        assert_eq!(
            app.call(&support, endpoint, &form).await.status(),
            200,
            "{endpoint}"
        );
    }
    let views = app
        .count("SELECT count(*) FROM audit_log WHERE action = 'staff.viewed'")
        .await;
    assert!(views >= views_before + 5, "{views_before} → {views}");
    // A page that refreshes itself while open (or is opened again at once) is one view.
    for _ in 0..3 {
        app.call(&support, "load_usage", &[("org", "acme")]).await;
    }
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'staff.viewed'")
            .await,
        views
    );
    let home: serde_json::Value = app
        .load::<app::model::usage::StaffHome>(&support, "load_staff_home", &[("q", "acme")])
        .await;
    assert!(home["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["slug"] == "acme"));
    assert!(home["users"]
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["email"] == "user@acme.test"));
    // The staff org page masks the token.
    let org: serde_json::Value = app
        .load::<app::model::usage::StaffOrgPage>(&support, "load_staff_org", &[("org", "acme")])
        .await;
    assert_eq!(org["config"]["token"], "…0001");
    assert!(!org.to_string().contains(DEV_AUTH_TOKEN));
    // Members and org admins have no staff console.
    assert_eq!(app.call(&admin, "load_staff_home", &[]).await.status(), 404);
    assert_eq!(
        app.call(&admin, "load_audit", &[("org", ""), ("params", "")])
            .await
            .status(),
        404
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn the_audit_log_records_each_audited_action_and_pages_by_keyset(pool: PgPool) {
    let (app, _sb, _keep, admin) = setup(pool).await;
    let number = own_number(&app, &admin, "+14155550186", false, PHONE).await;
    app.call(
        &admin,
        "release_number",
        &[
            ("org", "acme"),
            ("id", &number.to_string()),
            ("confirm", "yes"),
        ],
    )
    .await;
    let uid = app.user_id("user@acme.test").await.to_string();
    app.call(
        &admin,
        "change_role",
        &[("org", "acme"), ("user_id", &uid), ("role", "admin")],
    )
    .await;
    let r = app
        .call(
            &admin,
            "change_role",
            &[("org", "acme"), ("user_id", &uid), ("role", "member")],
        )
        .await;
    assert!(r.status().as_u16() < 400);
    let support = app.login_as("support@phonehub.test").await;
    app.call(&support, "load_usage", &[("org", "acme")]).await;
    let log: serde_json::Value = app
        .load::<app::model::usage::AuditPageData>(
            &admin,
            "load_audit",
            &[("org", "acme"), ("params", "")],
        )
        .await;
    let actions: Vec<&str> = log["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    for want in [
        "phone_config.created",
        "number.purchased",
        "number.released",
        "member.role_changed",
        "staff.viewed",
    ] {
        assert!(actions.contains(&want), "{want} in {actions:?}");
    }
    // Credential replacements say so, never the value.
    assert!(!log.to_string().contains(DEV_AUTH_TOKEN));
    // Filters.
    let only: serde_json::Value = app
        .load::<app::model::usage::AuditPageData>(
            &admin,
            "load_audit",
            &[("org", "acme"), ("params", "action=number.released")],
        )
        .await;
    assert_eq!(only["rows"].as_array().unwrap().len(), 1);
    let by_actor: serde_json::Value = app
        .load::<app::model::usage::AuditPageData>(
            &admin,
            "load_audit",
            &[("org", "acme"), ("params", "actor=support")],
        )
        .await;
    assert!(by_actor["rows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["actor"] == "support@phonehub.test"));
    assert_eq!(
        app.call(
            &admin,
            "load_audit",
            &[("org", "acme"), ("params", "from=yesterday")]
        )
        .await
        .status(),
        422
    );
    // Keyset pages: 120 entries, 50 a page, each once.
    sqlx::query("INSERT INTO audit_log (org_id, action, target, created_at) SELECT o.id, 'bench.entry', g::text, now() - g * interval '1 second' FROM generate_series(1, 120) g, orgs o WHERE o.slug = 'acme'")
        .execute(&app.pool).await.unwrap();
    let mut seen = std::collections::HashSet::new();
    let mut params = "action=bench.entry".to_string();
    for _ in 0..5 {
        let v: serde_json::Value = app
            .load::<app::model::usage::AuditPageData>(
                &admin,
                "load_audit",
                &[("org", "acme"), ("params", &params)],
            )
            .await;
        for r in v["rows"].as_array().unwrap() {
            assert!(seen.insert(r["id"].as_i64().unwrap()));
        }
        match v["next"].as_str() {
            Some(c) => params = format!("action=bench.entry&before={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 120);
    // Members cannot read it; staff read everything.
    let role: String = sqlx::query_scalar("SELECT role FROM memberships m JOIN users u ON u.id = m.user_id JOIN orgs o ON o.id = m.org_id WHERE u.email = 'user@acme.test' AND o.slug = 'acme'")
        .fetch_one(&app.pool).await.unwrap();
    assert_eq!(role, "member");
    let user = app.login_as("user@acme.test").await;
    assert_eq!(
        app.call(&user, "load_audit", &[("org", "acme"), ("params", "")])
            .await
            .status(),
        403
    );
    let all: serde_json::Value = app
        .load::<app::model::usage::AuditPageData>(
            &support,
            "load_audit",
            &[("org", ""), ("params", "action=login")],
        )
        .await;
    assert!(!all["rows"].as_array().unwrap().is_empty());
}

#[sqlx::test(migrations = "../migrations")]
async fn a_failure_callback_that_beats_the_providers_answer_keeps_the_message_free(pool: PgPool) {
    let (app, sb, _keep, admin) = setup(pool).await;
    let ours = "+14155550186";
    own_number(&app, &admin, ours, false, PHONE).await;
    // The provider answers the send slowly; its failure callback arrives first.
    common::sandbox_control(reqwest::Method::POST, format!("{sb}/_faults"))
        .json(&serde_json::json!({ "latency_ms": 1500 }))
        .send()
        .await
        .unwrap();
    let sending = {
        let (base, c) = (app.base.clone(), admin.clone());
        tokio::spawn(async move {
            c.post(format!("{base}/api/send_sms"))
                .form(&[
                    ("org", "acme"),
                    ("from", ours),
                    ("to", OTHER),
                    ("body", "hi"),
                ])
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let id: i64 = loop {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM messages WHERE status = 'queued' AND provider_sid IS NULL",
        )
        .fetch_optional(&app.pool)
        .await
        .unwrap();
        if let Some(id) = id {
            break id;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no queued message in 20 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let r = webhook(
        &app,
        &format!("/webhooks/twilio/sms-status?msg={id}"),
        &[
            ("MessageSid", "SM0000000000000000000000000000race"),
            ("MessageStatus", "failed"),
            ("ErrorCode", "30008"),
        ],
        Some(DEV_AUTH_TOKEN),
    )
    .await;
    assert!(r.status().is_success(), "{}", r.status());
    assert!(sending.await.unwrap().as_u16() < 400);
    let (status, cost): (String, i64) =
        sqlx::query_as("SELECT status, cost_micros FROM messages WHERE id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), cost), ("failed", 0));
}

/// A staff member's download through a plain route (a CSV, not a page) is on the record with the
/// address it came from, as a page view is: the route reads the address itself, outside the
/// pages' context.
#[sqlx::test(migrations = "../migrations")]
async fn a_staff_download_is_recorded_with_its_address(pool: PgPool) {
    let app = spawn_app(pool).await;
    let support = app.login_as("support@phonehub.test").await;
    let r = app.get(&support, "/o/acme/admin/usage.csv").await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM audit_log
             WHERE action = 'staff.viewed' AND target = 'acme' AND ip = '127.0.0.1'"
        )
        .await,
        1
    );
}

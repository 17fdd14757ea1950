//! Lookups end to end over HTTP: single-flight across two servers, TTL from the config, negative
//! caching with backoff, attribution, encrypted and masked credentials, permissions, bulk jobs.

use crate::common;

use std::time::Duration;

use app::model::lookup::LookupStats;
use common::poll_until_eq;
use common::{configure_sandbox, sandbox_stat, spawn_app_on, start_sandbox, TestApp};
use sqlx::PgPool;

async fn second_server(app: &TestApp, sandbox: &str) -> TestApp {
    let mut settings = common::settings("http://127.0.0.1:0");
    settings.sandbox_url = Some(url::Url::parse(sandbox).unwrap());
    let a = server::Application::build_with_pool(settings, app.pool.clone())
        .await
        .expect("second server");
    let base = format!("http://{}", a.local_addr());
    tokio::spawn(a.run_until_stopped());
    TestApp {
        base,
        pool: app.pool.clone(),
    }
}

async fn lookup(app: &TestApp, c: &reqwest::Client, number: &str) -> reqwest::Response {
    app.call(c, "lookup_number", &[("org", "acme"), ("number", number)])
        .await
}

/// Flushes the event writer of the server behind `c` (the stats page does) and returns the stats.
async fn stats(app: &TestApp, admin: &reqwest::Client) -> serde_json::Value {
    app.load::<LookupStats>(admin, "load_lookup_stats", &[("org", "acme")])
        .await
}

#[sqlx::test(migrations = "../migrations")]
async fn concurrent_lookups_through_two_servers_pay_once_per_number(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let a = spawn_app_on(pool, &sb).await;
    let b = second_server(&a, &sb).await;
    let admin_a = a.login_as("admin@acme.test").await;
    let r = configure_sandbox(&a, &admin_a, "acme", &sb, "30").await;
    assert!(r.status().as_u16() < 400, "{}", r.status());
    let admin_b = b.login_as("second@acme.test").await;
    let user_a = a.login_as("user@acme.test").await;
    let user_b = b.login_as("user@acme.test").await;

    let numbers: Vec<String> = (0..16)
        .map(|i| format!("+1415555{:04}", 2000 + i))
        .collect();
    let mut tasks = Vec::new();
    for i in 0..64 {
        let (app, c) = if i % 2 == 0 {
            (&a, &user_a)
        } else {
            (&b, &user_b)
        };
        let n = numbers[i % 16].clone();
        tasks.push(async move { lookup(app, c, &n).await.status().as_u16() });
    }
    let statuses = futures_join_all(tasks).await;
    assert!(statuses.iter().all(|s| *s < 400), "{statuses:?}");
    assert_eq!(
        sandbox_stat(&sb, "billed_lookups").await,
        16,
        "one paid lookup per number"
    );

    let sa = stats(&a, &admin_a).await;
    let _ = stats(&b, &admin_b).await;
    let sa2 = stats(&a, &admin_a).await;
    let month = &sa2["month"];
    assert_eq!(month["requests"], 64, "{sa} {sa2}");
    assert_eq!(month["misses"], 16);
    assert_eq!(month["hits"], 48);
    assert_eq!(month["cost_micros"], 16 * 5000);
    assert_eq!(month["saved_micros"], 48 * 5000);
    // The rollups agree with the events they summarise.
    assert_eq!(a.count("SELECT count(*) FROM lookup_events").await, 64);
    assert_eq!(
        a.count("SELECT sum(cost_micros)::int8 FROM lookup_events")
            .await,
        16 * 5000
    );
    assert_eq!(
        a.count("SELECT sum(lookup_count)::int8 FROM phone_numbers")
            .await,
        16
    );
    assert_eq!(
        a.count("SELECT count(*) FROM phone_numbers WHERE lease_token IS NOT NULL")
            .await,
        0
    );
    let top = &sa2["top_numbers"];
    assert_eq!(top.as_array().unwrap().len(), 10);
    assert_eq!(top[0]["count"], 4);
}

async fn futures_join_all<F: std::future::Future<Output = u16>>(fs: Vec<F>) -> Vec<u16> {
    let mut set = Vec::new();
    for f in fs {
        set.push(f);
    }
    futures::future::join_all(set).await
}

#[sqlx::test(migrations = "../migrations")]
async fn the_cache_lifetime_comes_from_the_config(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let app = spawn_app_on(pool, &sb).await;
    let admin = app.login_as("admin@acme.test").await;
    configure_sandbox(&app, &admin, "acme", &sb, "3").await;
    assert!(lookup(&app, &admin, "+14155552100").await.status().as_u16() < 400);
    let days = |app: &TestApp| {
        let pool = app.pool.clone();
        async move {
            let d: f64 = sqlx::query_scalar(
                "SELECT extract(epoch FROM lookup_expires_at - now())::float8 / 86400 FROM phone_numbers WHERE e164 = '+14155552100'",
            )
            .fetch_one(&pool)
            .await
            .unwrap();
            d
        }
    };
    let d = days(&app).await;
    assert!((2.99..=3.0).contains(&d), "{d}");
    configure_sandbox(&app, &admin, "acme", &sb, "10").await;
    // A hit does not extend the entry; an admin refresh uses the new lifetime.
    lookup(&app, &admin, "+14155552100").await;
    assert!((2.99..=3.0).contains(&days(&app).await));
    let r = app
        .call(
            &admin,
            "lookup_number",
            &[
                ("org", "acme"),
                ("number", "+14155552100"),
                ("refresh", "1"),
            ],
        )
        .await;
    assert!(r.status().as_u16() < 400, "{}", r.status());
    let d = days(&app).await;
    assert!((9.99..=10.0).contains(&d), "{d}");
    assert_eq!(sandbox_stat(&sb, "billed_lookups").await, 2);
    let s = stats(&app, &admin).await;
    assert_eq!(s["month"]["refreshes"], 1);
    assert_eq!(s["month"]["hits"], 1);
    assert_eq!(s["month"]["cost_micros"], 10_000);
    // Members may not force a paid refresh.
    let member = app.login_as("user@acme.test").await;
    let r = app
        .call(
            &member,
            "lookup_number",
            &[
                ("org", "acme"),
                ("number", "+14155552100"),
                ("refresh", "1"),
            ],
        )
        .await;
    assert_eq!(r.status(), 403);
}

#[sqlx::test(migrations = "../migrations")]
async fn provider_errors_back_off_exponentially_instead_of_asking_again(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let app = spawn_app_on(pool, &sb).await;
    let admin = app.login_as("admin@acme.test").await;
    // The system default's failures back a number off for everyone (an org's own
    // configuration's failures store nothing on the shared row: see per_org.rs).
    let root = app.login_as("root@phonehub.test").await;
    let r = configure_sandbox(&app, &root, "", &sb, "30").await;
    assert!(r.status().as_u16() < 400, "system default: {}", r.status());
    let faults = |rate: f64| {
        let url = format!("{sb}/_faults");
        async move {
            common::sandbox_control(reqwest::Method::POST, url)
                .json(&serde_json::json!({ "error_rate": rate }))
                .send()
                .await
                .unwrap();
        }
    };
    faults(1.0).await;
    let r = lookup(&app, &admin, "+14155552200").await;
    assert_eq!(r.status(), 502);
    let body = r.text().await.unwrap();
    assert!(body.contains("The provider failed"), "{body}");
    let asked = sandbox_stat(&sb, "faults_error").await;
    assert!(asked >= 1);
    // Asking again during the backoff does not reach the provider.
    for _ in 0..5 {
        let r = lookup(&app, &admin, "+14155552200").await;
        assert_eq!(r.status(), 502);
        assert!(r
            .text()
            .await
            .unwrap()
            .contains("will not ask the provider"));
    }
    assert_eq!(sandbox_stat(&sb, "faults_error").await, asked);
    let backoff = |app: &TestApp| {
        let pool = app.pool.clone();
        async move {
            let s: f64 = sqlx::query_scalar(
                "SELECT extract(epoch FROM retry_after - now())::float8 FROM phone_numbers WHERE e164 = '+14155552200'",
            )
            .fetch_one(&pool)
            .await
            .unwrap();
            s
        }
    };
    let first = backoff(&app).await;
    assert!((55.0..=60.0).contains(&first), "{first}");
    // Once the backoff is over, a second failure waits twice as long.
    sqlx::query("UPDATE phone_numbers SET retry_after = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(lookup(&app, &admin, "+14155552200").await.status(), 502);
    let second = backoff(&app).await;
    assert!((115.0..=120.0).contains(&second), "{second}");
    // And when the provider recovers, the number is looked up and the error forgotten.
    faults(0.0).await;
    sqlx::query("UPDATE phone_numbers SET retry_after = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert!(lookup(&app, &admin, "+14155552200").await.status().as_u16() < 400);
    assert_eq!(
        app.count("SELECT count(*) FROM phone_numbers WHERE error_count = 0 AND retry_after IS NULL AND lookup_expires_at > now()").await,
        1
    );
    let s = stats(&app, &admin).await;
    assert_eq!(s["month"]["errors"], 7);
    assert_eq!(s["month"]["misses"], 1);
    assert_eq!(s["month"]["cost_micros"], 5000, "errors cost nothing");
}

#[sqlx::test(migrations = "../migrations")]
async fn credentials_are_encrypted_masked_and_survive_key_rotation(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let app = spawn_app_on(pool.clone(), &sb).await;
    let admin = app.login_as("admin@acme.test").await;
    configure_sandbox(&app, &admin, "acme", &sb, "30").await;
    let token = telephony::sandbox::DEV_AUTH_TOKEN;
    // Nothing in the table, as a dump would show it, contains the token.
    let dump: Vec<String> = sqlx::query_scalar("SELECT row_to_json(p)::text FROM phone_configs p")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(dump.len(), 1);
    assert!(
        !dump[0].contains(token) && !dump[0].contains("sandbox-auth"),
        "{}",
        dump[0]
    );
    let raw: Vec<u8> = sqlx::query_scalar("SELECT token_ciphertext FROM phone_configs")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!String::from_utf8_lossy(&raw).contains("sandbox"));
    // The page and the data behind it show only the tail.
    let html = app
        .get(&admin, "/o/acme/admin/phone-config")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("…0001"), "masked tail shown");
    assert!(!html.contains(token));
    let json = app
        .call(&admin, "load_phone_config", &[("org", "acme")])
        .await
        .text()
        .await
        .unwrap();
    assert!(!json.contains(token));
    // The connection test uses the decrypted token.
    let r = app
        .call(&admin, "test_phone_connection", &[("org", "acme")])
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Connected"));
    // Saving without a new token keeps the stored one.
    let before: Vec<u8> = sqlx::query_scalar("SELECT token_ciphertext FROM phone_configs")
        .fetch_one(&pool)
        .await
        .unwrap();
    let r = app
        .call(
            &admin,
            "save_phone_config",
            &[
                ("org", "acme"),
                ("provider", "sandbox"),
                ("display_name", "Renamed"),
                ("active", "on"),
                ("lookup_enabled", "on"),
                ("lookup_cache_days", "30"),
                ("default_sender", ""),
                ("credential_id", telephony::sandbox::DEV_ACCOUNT_SID),
                ("credential_secret", ""),
            ],
        )
        .await;
    assert!(r.status().as_u16() < 400, "{}", r.status());
    let after: Vec<u8> = sqlx::query_scalar("SELECT token_ciphertext FROM phone_configs")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(before, after);
    // The audit entry says credentials were (not) replaced, never what they are.
    let audit: Vec<String> = sqlx::query_scalar(
        "SELECT details::text FROM audit_log WHERE action LIKE 'phone_config.%' ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(audit.len(), 2);
    assert!(
        audit[0].contains("\"credentials_replaced\": true"),
        "{}",
        audit[0]
    );
    assert!(audit.iter().all(|a| !a.contains(token)));

    // A server started with a new current key re-encrypts under it and still reads the token.
    let mut settings = common::settings("http://127.0.0.1:0");
    settings.keyring = std::sync::Arc::new(
        app::ssr::crypto::Keyring::parse(&format!(
            "t2:{},t1:{}",
            common::test_key(2),
            common::test_key(1)
        ))
        .unwrap(),
    );
    settings.sandbox_url = Some(url::Url::parse(&sb).unwrap());
    let rotated = server::Application::build_with_pool(settings, pool.clone())
        .await
        .unwrap();
    let base = format!("http://{}", rotated.local_addr());
    tokio::spawn(rotated.run_until_stopped());
    let kid: String = sqlx::query_scalar("SELECT token_key_id FROM phone_configs")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(kid, "t2");
    let app2 = TestApp { base, pool };
    let admin2 = app2.login_as("admin@acme.test").await;
    let r = app2
        .call(&admin2, "test_phone_connection", &[("org", "acme")])
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

#[sqlx::test(migrations = "../migrations")]
async fn only_owners_and_admins_see_the_config_and_support_only_reads_it(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let app = spawn_app_on(pool, &sb).await;
    let admin = app.login_as("admin@acme.test").await;
    configure_sandbox(&app, &admin, "acme", &sb, "30").await;
    let member = app.login_as("user@acme.test").await;
    let support = app.login_as("support@phonehub.test").await;
    let outsider = app.login_as("admin@globex.test").await;
    let root = app.login_as("root@phonehub.test").await;
    for (c, page, data, save, costs) in [
        (&member, 403, 403, 403, 403),
        (&support, 200, 200, 403, 200),
        (&outsider, 404, 404, 404, 404),
        (&root, 200, 200, 303, 200),
    ] {
        assert_eq!(
            app.get(c, "/o/acme/admin/phone-config").await.status(),
            page
        );
        assert_eq!(
            app.call(c, "load_phone_config", &[("org", "acme")])
                .await
                .status(),
            data
        );
        assert_eq!(
            app.call(c, "load_lookup_stats", &[("org", "acme")])
                .await
                .status(),
            costs
        );
        let r = configure_sandbox(&app, c, "acme", &sb, "30").await;
        let s = r.status().as_u16();
        if save == 303 {
            assert!(s < 400, "{s}");
        } else {
            assert_eq!(s, save);
        }
    }
    // Support sees the page without a save button.
    let html = app
        .get(&support, "/o/acme/admin/phone-config")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("read-only"));
    assert!(!html.contains("Save configuration"));
    // The system default: superadmins edit, support reads, others do not see it.
    assert_eq!(app.get(&root, "/admin/phone-config").await.status(), 200);
    assert_eq!(
        app.call(&support, "load_phone_config", &[("org", "")])
            .await
            .status(),
        200
    );
    assert_eq!(
        app.call(&admin, "load_phone_config", &[("org", "")])
            .await
            .status(),
        404
    );
    assert_eq!(
        configure_sandbox(&app, &support, "", &sb, "30")
            .await
            .status(),
        403
    );
    assert!(
        configure_sandbox(&app, &root, "", &sb, "30")
            .await
            .status()
            .as_u16()
            < 400
    );
    // Support may look but not look up (a lookup can cost money).
    assert_eq!(lookup(&app, &support, "+14155552300").await.status(), 403);
    assert_eq!(
        app.call(&support, "load_global_lookup_stats", &[])
            .await
            .status(),
        200
    );
    assert_eq!(
        app.call(&member, "load_global_lookup_stats", &[])
            .await
            .status(),
        404
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn bad_input_is_refused_without_a_provider_call(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let app = spawn_app_on(pool, &sb).await;
    let admin = app.login_as("admin@acme.test").await;
    // No configuration yet: a clear refusal, not a 500.
    let r = lookup(&app, &admin, "+14155552400").await;
    assert_eq!(r.status(), 409);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("No phone provider is configured"));
    configure_sandbox(&app, &admin, "acme", &sb, "30").await;
    for bad in ["", "abc", "+1 415", "12345678901234567890", "<script>"] {
        let r = lookup(&app, &admin, bad).await;
        assert_eq!(r.status(), 422, "{bad:?}");
    }
    // JavaScript off: the page again, with the message next to the field.
    let r = app
        .post_plain(
            &admin,
            "lookup_number",
            "/o/acme/lookup",
            &[("org", "acme"), ("number", "call me")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("number-error"), "field error element");
    assert!(html.contains("call me"), "the input is kept");
    assert_eq!(sandbox_stat(&sb, "billed_lookups").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM phone_numbers").await, 0);
    // Config fields are checked too.
    for (field, value) in [
        ("lookup_cache_days", "0"),
        ("lookup_cache_days", "366"),
        ("credential_id", "nope"),
        ("api_base", "ftp://x"),
        ("api_base", "https://attacker.example"),
        ("lookups_base", "http://127.0.0.1:9/"),
        ("provider", "aws-ish"),
        ("default_sender", "12"),
    ] {
        let mut form = vec![
            ("org", "acme".to_string()),
            ("provider", "sandbox".into()),
            ("display_name", "x".into()),
            ("lookup_cache_days", "30".into()),
            ("default_sender", "".into()),
            ("api_base", "".into()),
            ("lookups_base", "".into()),
            ("credential_id", telephony::sandbox::DEV_ACCOUNT_SID.into()),
            ("credential_secret", "".into()),
        ];
        for f in form.iter_mut() {
            if f.0 == field {
                f.1 = value.into();
            }
        }
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = app.call(&admin, "save_phone_config", &form).await;
        assert_eq!(r.status(), 422, "{field}={value}");
        assert!(r.text().await.unwrap().contains(field), "{field}");
    }
    // The page with a successful lookup shows every field, and "not provided" for the address.
    assert!(
        lookup(&app, &admin, "(415) 555-2401")
            .await
            .status()
            .as_u16()
            < 400
    );
    let html = app
        .get(&admin, "/o/acme/lookup?number=%2B14155552401&outcome=miss")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Fresh lookup"));
    assert!(html.contains("Not provided"));
    assert!(html.contains("Line type"));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_bulk_csv_runs_in_the_background_and_downloads_a_row_per_input(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let app = spawn_app_on(pool, &sb).await;
    let admin = app.login_as("admin@acme.test").await;
    configure_sandbox(&app, &admin, "acme", &sb, "30").await;
    let member = app.login_as("user@acme.test").await;
    // Cached already: costs nothing in the job.
    lookup(&app, &member, "+14155552500").await;
    let csv = "phone\n+14155552500\n(415) 555-2501\n+14155552501\nnot a number\n+14155552502\n";
    let upload = |c: &reqwest::Client, body: &str| {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(body.as_bytes().to_vec()).file_name("numbers.csv"),
        );
        c.post(format!("{}/o/acme/lookups/bulk/upload", app.base))
            .multipart(form)
            .send()
    };
    let r = upload(&member, csv).await.unwrap();
    assert_eq!(r.status(), 303);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    assert!(loc.starts_with("/o/acme/lookups/bulk?job="), "{loc}");
    let job: i64 = loc.rsplit('=').next().unwrap().parse().unwrap();
    let status = poll_until_eq(Duration::from_secs(10), "done".to_string(), || async {
        sqlx::query_scalar("SELECT status FROM lookup_jobs WHERE id = $1")
            .bind(job)
            .fetch_one(&app.pool)
            .await
            .unwrap()
    })
    .await;
    assert_eq!(status, "done", "the job finished");
    // Two new numbers were paid for; the repeat and the cached one were not.
    assert_eq!(sandbox_stat(&sb, "billed_lookups").await, 3);
    let page = app.get(&member, &loc).await.text().await.unwrap();
    assert!(page.contains("5 of 5 rows"), "progress shown");
    let r = app
        .get(&member, &format!("/o/acme/lookups/bulk/{job}/results.csv"))
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let body = r.text().await.unwrap();
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines.len(), 6, "{body}");
    assert!(lines[0].starts_with("row,input,e164,status,outcome"));
    assert!(lines[1].contains("+14155552500,done,hit"), "{body}");
    assert!(lines[2].contains("+14155552501,done,miss"), "{body}");
    assert!(lines[3].contains("+14155552501,done,duplicate"), "{body}");
    assert!(lines[4].contains("not a number,,error"), "{body}");
    assert!(lines[5].contains("+14155552502,done,miss"), "{body}");
    // Another org cannot read it; a bad upload gets a message next to the field and a 4xx.
    let outsider = app.login_as("admin@globex.test").await;
    assert_eq!(
        app.get(
            &outsider,
            &format!("/o/acme/lookups/bulk/{job}/results.csv")
        )
        .await
        .status(),
        404
    );
    let r = upload(&member, "").await.unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("Choose a CSV file"), "{html}");
    let too_many: String = (0..10_001)
        .map(|i| format!("+1415556{:04}\n", i % 10_000))
        .collect();
    let r = upload(&member, &too_many).await.unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("more than 10000 rows"));
    assert_eq!(app.count("SELECT count(*) FROM lookup_jobs").await, 1);
    let support = app.login_as("support@phonehub.test").await;
    assert_eq!(upload(&support, csv).await.unwrap().status(), 403);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_job_left_running_by_a_stopped_server_is_finished_by_another(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let app = spawn_app_on(pool, &sb).await;
    let admin = app.login_as("admin@acme.test").await;
    configure_sandbox(&app, &admin, "acme", &sb, "30").await;
    let org: i64 = app.count("SELECT id FROM orgs WHERE slug = 'acme'").await;
    let user = app.user_id("admin@acme.test").await;
    // As a crashed server leaves it: running, heartbeat long ago, rows still pending.
    let rows = app::ssr::bulk_lookups::parse_csv(b"+14155552600\n+14155552601\n", "US").unwrap();
    let job = app::ssr::bulk_lookups::create_job(&app.pool, org, user, "crash.csv", &rows)
        .await
        .unwrap();
    sqlx::query("UPDATE lookup_jobs SET status = 'running', heartbeat_at = now() - interval '5 minutes' WHERE id = $1")
        .bind(job)
        .execute(&app.pool)
        .await
        .unwrap();
    let status = poll_until_eq(Duration::from_secs(10), "done".to_string(), || async {
        sqlx::query_scalar::<_, String>("SELECT status FROM lookup_jobs WHERE id = $1")
            .bind(job)
            .fetch_one(&app.pool)
            .await
            .unwrap()
    })
    .await;
    assert_eq!(status, "done");
    assert_eq!(sandbox_stat(&sb, "billed_lookups").await, 2);
}

/// "Most looked-up numbers" reads running totals per number and year: for any range of months,
/// across a year's end, with one number in two months of one batch and in several batches, it
/// counts exactly the events of the months the range touches.
#[sqlx::test(migrations = "../migrations")]
async fn top_numbers_count_exactly_the_months_a_range_touches(pool: PgPool) {
    use app::ssr::{fixtures as lookups, lookup_events::Event, lookups::Outcome};
    use time::macros::{date, datetime};
    let org: i64 =
        sqlx::query_scalar("INSERT INTO orgs (slug, name) VALUES ('tops', 'Tops') RETURNING id")
            .fetch_one(&pool)
            .await
            .unwrap();
    let event = |e164: &str, at: time::OffsetDateTime| Event {
        org_id: org,
        user_id: None,
        e164: e164.into(),
        outcome: Outcome::Hit,
        cost_micros: 0,
        saved_micros: 0,
        line_type: Some("mobile".into()),
        at,
        hold_id: None,
    };
    let (a, b, c) = ("+14155550001", "+14155550002", "+14155550003");
    // One batch: `a` in November and December 2025 and January 2026 (two years, three months).
    let first = [
        event(a, datetime!(2025-11-30 23:59:59 UTC)),
        event(a, datetime!(2025-12-01 00:00:00 UTC)),
        event(a, datetime!(2026-01-15 12:00:00 UTC)),
        event(b, datetime!(2025-12-31 23:59:59 UTC)),
    ];
    lookups::record_events(&pool, &first).await.unwrap();
    // Later batches add to the same rows.
    let second: Vec<Event> = (0..3)
        .map(|_| event(b, datetime!(2026-01-01 00:00:00 UTC)))
        .chain((0..5).map(|_| event(c, datetime!(2026-03-10 08:00:00 UTC))))
        .collect();
    lookups::record_events(&pool, &second).await.unwrap();
    lookups::record_events(&pool, &[event(a, datetime!(2025-12-20 00:00:00 UTC))])
        .await
        .unwrap();

    let top = |from: time::Date, to: time::Date| {
        let pool = pool.clone();
        async move {
            lookups::top_numbers(&pool, org, from, to)
                .await
                .unwrap()
                .into_iter()
                .map(|n| (n.label, n.count))
                .collect::<Vec<_>>()
        }
    };
    let n = |s: &str, k: i64| (s.to_string(), k);
    // Every range checked against the events themselves.
    assert_eq!(
        top(date!(2025 - 12 - 05), date!(2025 - 12 - 06)).await,
        [n(a, 2), n(b, 1)],
        "December 2025 only"
    );
    assert_eq!(
        top(date!(2025 - 11 - 01), date!(2026 - 01 - 31)).await,
        [n(a, 4), n(b, 4)]
    );
    assert_eq!(
        top(date!(2025 - 12 - 31), date!(2026 - 03 - 01)).await,
        [n(c, 5), n(b, 4), n(a, 3)],
        "across the year's end"
    );
    assert_eq!(
        top(date!(2026 - 01 - 01), date!(2026 - 02 - 28)).await,
        [n(b, 3), n(a, 1)]
    );
    assert_eq!(
        top(date!(2026 - 02 - 01), date!(2026 - 02 - 28)).await,
        [],
        "a month without lookups lists nobody, not numbers with zero"
    );
    assert_eq!(
        top(date!(2024 - 01 - 01), date!(2027 - 12 - 31)).await,
        [n(c, 5), n(a, 4), n(b, 4)],
        "a range over years with none at either end"
    );
    // The rollup agrees with the events, month by month.
    let by_rollup = top(date!(2025 - 01 - 01), date!(2026 - 12 - 31)).await;
    let by_events: Vec<(String, i64)> = sqlx::query_as(
        "SELECT e164, count(*) FROM lookup_events WHERE org_id = $1 GROUP BY 1 ORDER BY 2 DESC, 1",
    )
    .bind(org)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(by_rollup, by_events);
}

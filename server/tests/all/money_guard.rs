//! The money guard: hard caps refuse a paid action before any provider request, exactly at the
//! cap, even when many requests race on several servers.

use crate::common;

use common::{configure_sandbox, create_key, own_number, sandbox_stat, start_sandbox, TestApp};
use serde_json::Value;
use sqlx::PgPool;

/// One SMS segment's price (the seeded price list).
const SEGMENT: i64 = 7_900;

async fn acme(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT id FROM orgs WHERE slug = 'acme'")
        .fetch_one(pool)
        .await
        .unwrap()
}

fn send(app: &TestApp, key: &str, from: &str, to: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .post(format!("{}/v1/messages", app.base))
        .bearer_auth(key)
        .json(&serde_json::json!({"from": from, "to": to, "body": "Your code is 123456"}))
}

#[sqlx::test(migrations = "../migrations")]
async fn two_hundred_parallel_messages_on_two_servers_against_a_cap_worth_twenty_send_exactly_twenty(
    pool: PgPool,
) {
    let (sb, _keep) = start_sandbox().await;
    let settings = || {
        let mut s = common::settings("http://127.0.0.1:0");
        s.sandbox_url = Some(url::Url::parse(&sb).unwrap());
        s.api_requests_per_minute = 10_000;
        s
    };
    let one = common::spawn_with_settings(pool.clone(), settings()).await;
    let two = common::spawn_without_seed(pool.clone(), settings()).await;
    let admin = one.login_as("admin@acme.test").await;
    let member = one.login_as("user@acme.test").await;
    configure_sandbox(&one, &admin, "acme", &sb, "30").await;
    let from = "+15005550007";
    own_number(&one, &member, from, false, common::PHONE).await;
    let key = create_key(&one, &admin, "user@acme.test", &["scope_messages"]).await;
    let org = acme(&pool).await;
    sqlx::query(
        "INSERT INTO budgets (org_id, category, period, amount_micros, hard_cap)
         VALUES ($1, 'sms', 'month', $2, true)",
    )
    .bind(org)
    .bind(20 * SEGMENT)
    .execute(&pool)
    .await
    .unwrap();

    let answers = futures::future::join_all((0..200).map(|i| {
        let app = if i % 2 == 0 { &one } else { &two };
        let to = format!("+1415555{:04}", 1000 + i);
        let r = send(app, &key, from, &to);
        async move {
            let r = r.send().await.unwrap();
            let status = r.status().as_u16();
            let v: Value = r.json().await.unwrap();
            (status, v)
        }
    }))
    .await;
    let sent = answers.iter().filter(|(s, _)| *s == 201).count();
    let refused: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| *s == 402)
        .map(|(_, v)| v)
        .collect();
    let others: Vec<_> = answers
        .iter()
        .filter(|(s, _)| *s != 201 && *s != 402)
        .collect();
    println!(
        "200 parallel sends on two servers, cap worth 20: {sent} sent, {} refused (402)",
        refused.len()
    );
    assert!(others.is_empty(), "unexpected answers: {others:?}");
    assert_eq!(sent, 20);
    assert_eq!(refused.len(), 180);
    let detail = refused[0]["detail"].as_str().unwrap();
    assert_eq!(
        refused[0]["type"], "https://phonehub.dev/problems/budget",
        "{detail}"
    );
    assert!(
        detail.contains("the org's monthly SMS budget of $0.158")
            && detail.contains("An owner or admin of the org can raise it"),
        "{detail}"
    );
    // The provider was asked exactly twenty times; nothing is left held.
    assert_eq!(sandbox_stat(&sb, "CreateMessage").await, 20);
    assert_eq!(one.count("SELECT count(*) FROM messages").await, 20);
    let (spent, held): (i64, i64) =
        sqlx::query_as("SELECT spent_micros, held_micros FROM budget_usage")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((spent, held), (20 * SEGMENT, 0));
    // Each was charged its price as it was written: no hold was needed.
    assert_eq!(
        one.count("SELECT sum(cost_micros)::bigint FROM messages")
            .await,
        20 * SEGMENT
    );
    assert_eq!(one.count("SELECT count(*) FROM spend_holds").await, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_failed_send_releases_its_hold_and_an_alert_only_budget_never_refuses(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let app = common::spawn_app_on(pool.clone(), &sb).await;
    let admin = app.login_as("admin@acme.test").await;
    let member = app.login_as("user@acme.test").await;
    configure_sandbox(&app, &admin, "acme", &sb, "30").await;
    let from = "+15005550007";
    own_number(&app, &member, from, false, common::PHONE).await;
    let key = create_key(&app, &admin, "user@acme.test", &["scope_messages"]).await;
    let org = acme(&pool).await;
    let user = app.user_id("user@acme.test").await;
    // The member's own daily cap is one message; the org's budget only alerts.
    sqlx::query(
        "INSERT INTO budgets (org_id, user_id, category, period, amount_micros, hard_cap)
         VALUES ($1, $2, NULL, 'day', $3, true), ($1, NULL, NULL, 'month', 1, false)",
    )
    .bind(org)
    .bind(user)
    .bind(SEGMENT)
    .execute(&pool)
    .await
    .unwrap();
    let capped_spent = "SELECT coalesce(sum(u.spent_micros), 0)::bigint
                        FROM budget_usage u JOIN budgets b ON b.id = u.budget_id WHERE b.hard_cap";
    // The sandbox refuses this destination: its charge is taken back, the cap is whole again.
    let r = send(&app, &key, from, "+15005550001").send().await.unwrap();
    let status = r.status().as_u16();
    assert!(
        (400..600).contains(&status) && status != 402,
        "refused by the provider, not the cap: {status}"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM messages WHERE status = 'failed' AND cost_micros = 0")
            .await,
        1
    );
    assert_eq!(app.count(capped_spent).await, 0);
    let r = send(&app, &key, from, "+14155550199").send().await.unwrap();
    assert_eq!(r.status(), 201);
    let r = send(&app, &key, from, "+14155550198").send().await.unwrap();
    assert_eq!(r.status(), 402);
    let v: Value = r.json().await.unwrap();
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .contains("user@acme.test's daily budget of $0.008 ($0.00 left today)"),
        "{v}"
    );
    assert_eq!(sandbox_stat(&sb, "CreateMessage").await, 2);
    // The org's alert-only budget books what was spent in its month (the number's first month,
    // bought before the budget was set, and the message), far past its amount, refusing nothing.
    let spent: i64 = sqlx::query_scalar(
        "SELECT u.spent_micros FROM budget_usage u JOIN budgets b ON b.id = u.budget_id
         WHERE NOT b.hard_cap",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let month = app
        .count("SELECT coalesce(sum(micros), 0)::bigint FROM number_charges")
        .await;
    assert_eq!(month, 1_000_000);
    assert_eq!(spent, month + SEGMENT);
    // A hold a stopped server left open stops holding the cap once it expires.
    sqlx::query("UPDATE budgets SET amount_micros = amount_micros + 100 WHERE user_id = $1")
        .bind(user)
        .execute(&pool)
        .await
        .unwrap();
    let hold: Option<i64> = sqlx::query_scalar(
        "SELECT hold_id FROM budget_reserve($1, $2, 'sms', 1, 1, now(), interval '-1 second')",
    )
    .bind(org)
    .bind(user)
    .fetch_one(&pool)
    .await
    .unwrap();
    let hold = hold.expect("a hold on the member's cap");
    let state = common::poll_until_eq(
        std::time::Duration::from_secs(20),
        "released".to_string(),
        || async {
            sqlx::query_scalar("SELECT state FROM spend_holds WHERE id = $1")
                .bind(hold)
                .fetch_one(&pool)
                .await
                .unwrap()
        },
    )
    .await;
    assert_eq!(state, "released");
    assert_eq!(
        app.count("SELECT coalesce(sum(held_micros), 0)::bigint FROM budget_usage")
            .await,
        0
    );
    // A message a stopped server charged (written, never asked of the provider) is charged
    // back an hour after it was charged; one the provider took keeps its cost however old.
    let before = app.count(capped_spent).await;
    sqlx::query(
        "INSERT INTO messages (org_id, user_id, direction, our_e164, other_e164, body, segments,
                               encoding, status, provider_sid, cost_micros, created_at, charged_at)
         VALUES ($1, $2, 'outbound', $3, '+14155550197', 'never sent', 1, 'gsm7', 'queued', NULL,
                 $4, now() - interval '2 hours', now() - interval '2 hours'),
                ($1, $2, 'outbound', $3, '+14155550196', 'sent long ago', 1, 'gsm7', 'sent',
                 'SM00000000000000000000000000000196', $4, now() - interval '2 hours',
                 now() - interval '2 hours')",
    )
    .bind(org)
    .bind(user)
    .bind(from)
    .bind(SEGMENT)
    .execute(&pool)
    .await
    .unwrap();
    let unsent = "SELECT cost_micros FROM messages WHERE body = 'never sent'";
    assert_eq!(
        common::poll_until_eq(std::time::Duration::from_secs(20), 0, || app.count(unsent)).await,
        0
    );
    // The sent one was booked as written and stays so: the cap's figure grew by it alone.
    assert_eq!(app.count(capped_spent).await, before + SEGMENT);
    assert_eq!(
        app.count("SELECT cost_micros FROM messages WHERE body = 'sent long ago'")
            .await,
        SEGMENT
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_call_placed_with_five_cents_left_can_last_five_minutes_and_none_is_placed_with_less_than_one(
    pool: PgPool,
) {
    let (sb, _keep) = start_sandbox().await;
    let app = common::spawn_app_on(pool.clone(), &sb).await;
    let admin = app.login_as("admin@acme.test").await;
    let member = app.login_as("user@acme.test").await;
    configure_sandbox(&app, &admin, "acme", &sb, "30").await;
    let number = own_number(&app, &member, "+14155550170", false, common::PHONE).await;
    let org = acme(&pool).await;
    let user = app.user_id("user@acme.test").await;
    // The member's calls this month: $0.05, at $0.0085 a minute (five whole minutes).
    sqlx::query(
        "INSERT INTO budgets (org_id, user_id, category, period, amount_micros, hard_cap)
         VALUES ($1, $2, 'calls', 'month', 50000, true)",
    )
    .bind(org)
    .bind(user)
    .execute(&pool)
    .await
    .unwrap();
    let number = number.to_string();
    let place = |to: &'static str| {
        let form = vec![("org", "acme"), ("number_id", number.as_str()), ("to", to)];
        let (app, member) = (&app, &member);
        async move { app.call(member, "place_call", &form).await }
    };
    let r = place("+14155550188").await;
    assert_eq!(r.status(), 200);
    let (id, limit): (i64, Option<i32>) =
        sqlx::query_as("SELECT id, time_limit_secs FROM calls ORDER BY id DESC LIMIT 1")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(limit, Some(300));
    // The provider was asked with the same TimeLimit, and the call talks no longer.
    let calls: Vec<Value> = common::sandbox_control(reqwest::Method::GET, format!("{sb}/_calls"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["time_limit"], 300);
    assert!(calls[0]["talk_seconds"].as_u64().unwrap() <= 300);
    // While the call is under way its five minutes are held: no second call fits.
    let held: i64 = sqlx::query_scalar("SELECT held_micros FROM budget_usage")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(held == 42_500 || held == 0, "held {held}");
    // Once it ends, its real cost is spent and nothing stays held.
    let done = common::poll_until_eq(std::time::Duration::from_secs(20), 0i64, || async {
        sqlx::query_scalar("SELECT count(*) FROM spend_holds WHERE state = 'open'")
            .fetch_one(&pool)
            .await
            .unwrap()
    })
    .await;
    assert_eq!(done, 0);
    let (spent, held, cost): (i64, i64, i64) = sqlx::query_as(
        "SELECT u.spent_micros, u.held_micros, (SELECT cost_micros FROM calls WHERE id = $1)
         FROM budget_usage u",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((spent, held), (cost, 0));
    assert!(cost > 0);
    // With less than a minute's price left, no call is placed and the provider is not asked.
    sqlx::query("UPDATE budgets SET amount_micros = $1 + 8499")
        .bind(cost)
        .execute(&pool)
        .await
        .unwrap();
    let r = place("+14155550189").await;
    assert_eq!(r.status(), 402);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("user@acme.test's monthly calls budget"),
        "{text}"
    );
    assert_eq!(sandbox_stat(&sb, "CreateCall").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM calls").await, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn paid_lookups_stop_at_the_cap_and_cached_answers_are_never_refused(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let app = common::spawn_app_on(pool.clone(), &sb).await;
    let admin = app.login_as("admin@acme.test").await;
    configure_sandbox(&app, &admin, "acme", &sb, "30").await;
    let member = app.login_as("user@acme.test").await;
    let org = acme(&pool).await;
    // The org's paid lookups today: two at $0.005.
    sqlx::query(
        "INSERT INTO budgets (org_id, user_id, category, period, amount_micros, hard_cap)
         VALUES ($1, NULL, 'lookups', 'day', 10000, true)",
    )
    .bind(org)
    .execute(&pool)
    .await
    .unwrap();
    let lookup = |number: &'static str| {
        let (app, member) = (&app, &member);
        async move {
            app.call(
                member,
                "lookup_number",
                &[("org", "acme"), ("number", number)],
            )
            .await
        }
    };
    assert_eq!(lookup("+14155552671").await.status(), 200);
    assert_eq!(lookup("+14155552672").await.status(), 200);
    let r = lookup("+14155552673").await;
    assert_eq!(r.status(), 402);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("the org's daily paid-lookup budget of $0.01 ($0.00 left today)"),
        "{text}"
    );
    assert_eq!(sandbox_stat(&sb, "billed_lookups").await, 2);
    // A number already answered is served from the cache at the cap, free.
    assert_eq!(lookup("+14155552671").await.status(), 200);
    assert_eq!(sandbox_stat(&sb, "billed_lookups").await, 2);
    // Once the events are written the holds are settled: spent, nothing held.
    let usage = common::poll_until_eq(
        std::time::Duration::from_secs(10),
        (10_000i64, 0i64),
        || async {
            sqlx::query_as("SELECT spent_micros, held_micros FROM budget_usage")
                .fetch_one(&pool)
                .await
                .unwrap()
        },
    )
    .await;
    assert_eq!(usage, (10_000, 0));
    // The refused number was not left leased: once the cap is raised it is looked up.
    sqlx::query("UPDATE budgets SET amount_micros = 15000")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(lookup("+14155552673").await.status(), 200);
    assert_eq!(sandbox_stat(&sb, "billed_lookups").await, 3);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_number_whose_first_month_passes_the_cap_is_not_bought(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let app = common::spawn_app_on(pool.clone(), &sb).await;
    let admin = app.login_as("admin@acme.test").await;
    configure_sandbox(&app, &admin, "acme", &sb, "30").await;
    let member = app.login_as("user@acme.test").await;
    let org = acme(&pool).await;
    // Everything the org spends this month: $1.50; a number's month is $1.00.
    sqlx::query(
        "INSERT INTO budgets (org_id, user_id, category, period, amount_micros, hard_cap)
         VALUES ($1, NULL, NULL, 'month', 1500000, true)",
    )
    .bind(org)
    .execute(&pool)
    .await
    .unwrap();
    own_number(&app, &member, "+14155550170", false, common::PHONE).await;
    let buy = |number: &'static str| {
        let (app, member) = (&app, &member);
        let key = format!("{:0>32}", number.trim_start_matches('+'));
        async move {
            app.call(
                member,
                "buy_number",
                &[
                    ("org", "acme"),
                    ("number", number),
                    ("key", key.as_str()),
                    ("friendly_name", "Second"),
                ],
            )
            .await
        }
    };
    let r = buy("+14155550171").await;
    assert_eq!(r.status(), 402);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("the org's monthly budget of $1.50 ($0.50 left this month)"),
        "{text}"
    );
    assert_eq!(sandbox_stat(&sb, "CreateIncomingPhoneNumber").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM owned_numbers").await, 1);
    // The first purchase's hold was settled by its month's charge.
    let (spent, held): (i64, i64) =
        sqlx::query_as("SELECT spent_micros, held_micros FROM budget_usage")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((spent, held), (1_000_000, 0));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_bulk_job_pauses_at_the_cap_with_its_rows_kept_and_resumes_when_raised(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let app = common::spawn_app_on(pool.clone(), &sb).await;
    let admin = app.login_as("admin@acme.test").await;
    configure_sandbox(&app, &admin, "acme", &sb, "30").await;
    let member = app.login_as("user@acme.test").await;
    let org = acme(&pool).await;
    sqlx::query(
        "INSERT INTO budgets (org_id, user_id, category, period, amount_micros, hard_cap)
         VALUES ($1, NULL, 'lookups', 'month', 15000, true)",
    )
    .bind(org)
    .execute(&pool)
    .await
    .unwrap();
    let csv: String = std::iter::once("phone".to_string())
        .chain((0..10).map(|i| format!("+1415555{:04}", 2700 + i)))
        .collect::<Vec<_>>()
        .join("\n");
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("numbers.csv"),
    );
    let r = member
        .post(format!("{}/o/acme/lookups/bulk/upload", app.base))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    let job: i64 = loc.rsplit('=').next().unwrap().parse().unwrap();
    let status = |want: &'static str| {
        let pool = &pool;
        common::poll_until_eq(
            std::time::Duration::from_secs(15),
            want.to_string(),
            move || async move {
                sqlx::query_scalar("SELECT status FROM lookup_jobs WHERE id = $1")
                    .bind(job)
                    .fetch_one(pool)
                    .await
                    .unwrap()
            },
        )
    };
    assert_eq!(status("paused").await, "paused");
    // Three were paid for; the seven others are kept, marked, not lost.
    assert_eq!(sandbox_stat(&sb, "billed_lookups").await, 3);
    let rows = |s: &'static str| {
        let pool = &pool;
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM lookup_job_rows WHERE job_id = $1 AND status = $2",
            )
            .bind(job)
            .bind(s)
            .fetch_one(pool)
            .await
            .unwrap()
        }
    };
    assert_eq!((rows("done").await, rows("capped").await), (3, 7));
    let page = app.get(&member, &loc).await.text().await.unwrap();
    assert!(page.contains("Paused after 3 of 10 rows"), "{page}");
    assert!(page.contains("Resume the job"));
    // Raised, and resumed with JavaScript off (a plain form back to the page).
    sqlx::query("UPDATE budgets SET amount_micros = 100000")
        .execute(&pool)
        .await
        .unwrap();
    let r = app
        .post_plain(
            &member,
            "resume_bulk_job",
            &loc,
            &[("org", "acme"), ("id", &job.to_string())],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(status("done").await, "done");
    assert_eq!(sandbox_stat(&sb, "billed_lookups").await, 10);
    assert_eq!((rows("done").await, rows("capped").await), (10, 0));
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'bulk_lookup.resumed'")
            .await,
        1
    );
    // Another org's admin cannot resume it.
    let outsider = app.login_as("admin@globex.test").await;
    let r = app
        .call(
            &outsider,
            "resume_bulk_job",
            &[("org", "acme"), ("id", &job.to_string())],
        )
        .await;
    assert!(r.status().is_client_error(), "{}", r.status());
}

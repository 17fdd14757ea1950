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
    assert_eq!(
        one.count("SELECT count(*) FROM spend_holds WHERE state = 'settled'")
            .await,
        20
    );
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
    // The sandbox refuses this destination: the hold is released, the cap is whole again.
    let r = send(&app, &key, from, "+15005550001").send().await.unwrap();
    let status = r.status().as_u16();
    assert!(
        (400..600).contains(&status) && status != 402,
        "refused by the provider, not the cap: {status}"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM spend_holds WHERE state = 'released'")
            .await,
        1
    );
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
    // The org's alert-only budget books what was spent, far past its amount, refusing nothing.
    let spent: i64 = sqlx::query_scalar(
        "SELECT u.spent_micros FROM budget_usage u JOIN budgets b ON b.id = u.budget_id
         WHERE NOT b.hard_cap",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(spent, SEGMENT);
    // A hold a stopped server left open stops holding the cap once it expires.
    sqlx::query("UPDATE budgets SET amount_micros = amount_micros + 100 WHERE user_id = $1")
        .bind(user)
        .execute(&pool)
        .await
        .unwrap();
    let hold: Option<i64> = sqlx::query_scalar(
        "SELECT hold_id FROM budget_reserve($1, $2, 'sms', 1, now(), interval '-1 second')",
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
}

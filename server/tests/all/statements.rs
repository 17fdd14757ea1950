//! Monthly statements: a month of purchases, calls, SMS and lookups across two members closes to
//! statements whose totals equal the events and the sandbox's usage records to the micro-dollar;
//! a status callback that arrives after its month closed lands on the next statement as an
//! adjustment; statements are never changed and only those who may see one do.

use std::time::Duration;

use crate::common;

use common::{configure_sandbox, create_key, own_number, poll_until_eq, TestApp, PHONE};
use serde_json::Value;
use sqlx::PgPool;
use time::OffsetDateTime;

/// The first instant of the month after `t`'s (UTC), plus an hour.
fn next_month(t: OffsetDateTime) -> OffsetDateTime {
    let d = t.date();
    let (y, m) = if d.month() == time::Month::December {
        (d.year() + 1, time::Month::January)
    } else {
        (d.year(), d.month().next())
    };
    time::Date::from_calendar_date(y, m, 1)
        .unwrap()
        .midnight()
        .assume_utc()
        + time::Duration::hours(1)
}

/// Moves the app's clock to an hour into the month after the one it shows.
fn to_next_month(clock: &app::ssr::clock::Clock) {
    let now = clock.now();
    clock.advance(next_month(now) - now);
}

/// A sandbox on its own port whose clock stands still until the test moves it.
async fn manual_sandbox() -> (String, telephony::sandbox::Shared) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut cfg = telephony::sandbox::SandboxConfig::dev(&base, None);
    cfg.manual_clock = true;
    let sb = telephony::sandbox::Sandbox::start(cfg);
    let router = telephony::sandbox::router(sb.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (base, sb)
}

async fn setup(pool: PgPool, sb: &str) -> (TestApp, app::ssr::clock::Clock, reqwest::Client) {
    let mut s = common::settings("http://127.0.0.1:0");
    s.sandbox_url = Some(url::Url::parse(sb).unwrap());
    let (app, clock) = common::spawn_with_clock(pool, s).await;
    let owner = app.login_as("admin@acme.test").await;
    configure_sandbox(&app, &owner, "acme", sb, "30").await;
    // Months of UTC, as Twilio's usage records count them.
    let r = app
        .call(
            &owner,
            "set_org_time_zone",
            &[("org", "acme"), ("time_zone", "UTC")],
        )
        .await;
    assert!(r.status().as_u16() < 400, "time zone: {}", r.status());
    (app, clock, owner)
}

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.pool).await.unwrap()
}

/// The org statement of the org's earliest closed month, once it exists.
async fn org_statement(app: &TestApp, nth: i64) -> i64 {
    let sql = format!(
        "SELECT coalesce((SELECT s.id FROM statements s JOIN orgs o ON o.id = s.org_id
                          WHERE o.slug = 'acme' AND s.user_id IS NULL ORDER BY s.month OFFSET {nth} LIMIT 1), 0)"
    );
    let id = poll_until_eq(Duration::from_secs(20), true, || async {
        scalar(app, &sql).await > 0
    })
    .await;
    assert!(id, "statement {nth} closed");
    scalar(app, &sql).await
}

async fn line(app: &TestApp, statement: i64, category: &str, column: &str) -> i64 {
    sqlx::query_scalar(&format!(
        "SELECT {column} FROM statement_lines WHERE statement_id = $1 AND category = $2"
    ))
    .bind(statement)
    .bind(category)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

fn send(app: &TestApp, key: &str, from: &str, to: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .post(format!("{}/v1/messages", app.base))
        .bearer_auth(key)
        .json(&serde_json::json!({"from": from, "to": to, "body": "Your statement test"}))
}

#[sqlx::test(migrations = "../migrations")]
async fn a_month_closes_to_statements_equal_to_its_events_and_to_twilios_usage_records(
    pool: PgPool,
) {
    let (sb, _keep) = common::start_sandbox().await;
    let (app, clock, owner) = setup(pool, &sb).await;
    let user = app.login_as("user@acme.test").await;
    let second = app.login_as("second@acme.test").await;

    // Two members buy a number each; one records its calls.
    let user_number = own_number(&app, &user, "+14155550170", true, PHONE).await;
    own_number(&app, &second, "+14155550171", false, PHONE).await;
    // A recorded call, until its price and its recording's are in.
    let r = app
        .call(
            &user,
            "place_call",
            &[
                ("org", "acme"),
                ("number_id", &user_number.to_string()),
                ("to", "+14155550188"),
            ],
        )
        .await;
    assert!(r.status().as_u16() < 400, "place: {}", r.status());
    let priced = poll_until_eq(Duration::from_secs(30), 1, || async {
        scalar(
            &app,
            "SELECT count(*) FROM calls WHERE status = 'completed' AND cost_micros > 0 AND recording_cost_micros > 0",
        )
        .await
    })
    .await;
    assert_eq!(priced, 1, "the call and its recording are priced");

    // Texts from both members, and paid lookups (and a cache hit) by one.
    let user_key = create_key(&app, &owner, "user@acme.test", &["scope_messages"]).await;
    let second_key = create_key(
        &app,
        &owner,
        "second@acme.test",
        &["scope_messages", "scope_lookups"],
    )
    .await;
    for (key, from, to) in [
        (&user_key, "+14155550170", "+14155550190"),
        (&user_key, "+14155550170", "+14155550191"),
        (&second_key, "+14155550171", "+14155550192"),
    ] {
        let r = send(&app, key, from, to).send().await.unwrap();
        assert_eq!(r.status(), 201, "send: {}", r.text().await.unwrap());
    }
    for n in ["+14155552671", "+14155552672", "+14155552671"] {
        let r = reqwest::Client::new()
            .get(format!("{}/v1/lookups/{n}", app.base))
            .bearer_auth(&second_key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let delivered = poll_until_eq(Duration::from_secs(30), 3, || async {
        scalar(
            &app,
            "SELECT count(*) FROM messages WHERE status = 'delivered' AND cost_micros > 0",
        )
        .await
    })
    .await;
    assert_eq!(delivered, 3, "the texts are delivered and priced");

    // What the events say, by category.
    let events = [
        (
            "numbers",
            scalar(
                &app,
                "SELECT coalesce(sum(micros), 0)::int8 FROM number_charges",
            )
            .await,
        ),
        (
            "calls",
            scalar(
                &app,
                "SELECT coalesce(sum(cost_micros), 0)::int8 FROM calls",
            )
            .await,
        ),
        (
            "recordings",
            scalar(
                &app,
                "SELECT coalesce(sum(recording_cost_micros), 0)::int8 FROM calls",
            )
            .await,
        ),
        (
            "sms",
            scalar(
                &app,
                "SELECT coalesce(sum(cost_micros), 0)::int8 FROM messages",
            )
            .await,
        ),
        (
            "lookups",
            scalar(
                &app,
                "SELECT coalesce(sum(cost_micros), 0)::int8 FROM lookup_events",
            )
            .await,
        ),
    ];
    let saved = scalar(
        &app,
        "SELECT coalesce(sum(saved_micros), 0)::int8 FROM lookup_events",
    )
    .await;
    assert!(
        events.iter().all(|(_, m)| *m > 0),
        "every category was billed: {events:?}"
    );
    assert!(saved > 0, "the cache saved a lookup");

    // The month ends: the worker closes it and reads the sandbox's usage records.
    to_next_month(&clock);
    let st = org_statement(&app, 0).await;
    let checked = poll_until_eq(Duration::from_secs(20), 1, || async {
        scalar(
            &app,
            &format!("SELECT count(*) FROM statement_checks WHERE statement_id = {st} AND state = 'done'"),
        )
        .await
    })
    .await;
    assert_eq!(checked, 1, "the usage records were read");

    let mut total = 0;
    for (category, micros) in events {
        let on_statement = line(&app, st, category, "micros").await;
        let provider: i64 = sqlx::query_scalar(
            "SELECT micros FROM statement_provider_lines WHERE statement_id = $1 AND category = $2",
        )
        .bind(st)
        .bind(category)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        println!("{category}: events {micros} µ$, statement {on_statement} µ$, sandbox usage records {provider} µ$");
        assert_eq!(
            on_statement, micros,
            "{category}: the statement equals the events"
        );
        assert_eq!(provider, micros, "{category}: the sandbox billed the same");
        total += micros;
    }
    let provider_total: i64 = sqlx::query_scalar(
        "SELECT micros FROM statement_provider_lines WHERE statement_id = $1 AND category = 'total'",
    )
    .bind(st)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    println!("total: {total} µ$, sandbox totalprice {provider_total} µ$; cache saved {saved} µ$");
    assert_eq!(provider_total, total);
    assert_eq!(line(&app, st, "lookups", "saved_micros").await, saved);
    assert_eq!(line(&app, st, "lookups", "cache_hits").await, 1);
    assert_eq!(line(&app, st, "calls", "adjustment_micros").await, 0);

    // The members' statements add up to the org's, each with its own part.
    let members: i64 = scalar(
        &app,
        &format!(
            "SELECT coalesce(sum(l.micros + l.adjustment_micros), 0)::int8 FROM statement_lines l
             JOIN statements s ON s.id = l.statement_id
             WHERE s.org_id = (SELECT org_id FROM statements WHERE id = {st})
               AND s.month = (SELECT month FROM statements WHERE id = {st}) AND s.user_id IS NOT NULL"
        ),
    )
    .await;
    assert_eq!(
        members, total,
        "the members' statements add up to the org's"
    );
    let user_id = app.user_id("user@acme.test").await;
    let user_statement = scalar(
        &app,
        &format!(
            "SELECT id FROM statements WHERE user_id = {user_id}
               AND month = (SELECT month FROM statements WHERE id = {st})"
        ),
    )
    .await;
    assert_eq!(line(&app, user_statement, "lookups", "micros").await, 0);
    assert_eq!(
        line(&app, user_statement, "numbers", "micros").await,
        1_000_000
    );
    assert_eq!(line(&app, user_statement, "sms", "item_count").await, 2);

    // Statements are never changed.
    assert!(
        sqlx::query("UPDATE statement_lines SET micros = 0 WHERE statement_id = $1")
            .bind(st)
            .execute(&app.pool)
            .await
            .is_err()
    );
    assert!(sqlx::query("DELETE FROM statements WHERE id = $1")
        .bind(st)
        .execute(&app.pool)
        .await
        .is_err());

    // The API: the statement with its lines and the comparison.
    let key = create_key(&app, &owner, "admin@acme.test", &["scope_usage"]).await;
    let api = |path: String| {
        reqwest::Client::new()
            .get(format!("{}{path}", app.base))
            .bearer_auth(&key)
            .send()
    };
    let list: Value = api("/v1/statements".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        list["data"]
            .as_array()
            .is_some_and(|a| a.iter().any(|s| s["id"] == st)),
        "listed: {list}"
    );
    let r = api(format!("/v1/statements/{st}")).await.unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    println!("GET /v1/statements/{st}: {v}");
    assert_eq!(v["check"]["state"], "matches", "{v}");

    // The pages: the owner reads the org's; a member only their own; the CSV opens in a browser.
    let page = app.get(&owner, &format!("/o/acme/statements/{st}")).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Twilio's figures match PhoneHub's."),
        "comparison shown: {html}"
    );
    assert_eq!(
        app.get(&user, &format!("/o/acme/statements/{st}"))
            .await
            .status(),
        404
    );
    assert_eq!(
        app.get(&user, &format!("/o/acme/statements/{user_statement}"))
            .await
            .status(),
        200
    );
    let csv = app
        .get(&owner, &format!("/o/acme/statements/{st}/statement.csv"))
        .await;
    assert_eq!(csv.status(), 200);
    let body = csv.text().await.unwrap();
    let want = format!("{}.{:06}", total / 1_000_000, total % 1_000_000);
    assert!(body.contains(&want), "the CSV's total {want}: {body}");
    assert_eq!(
        app.get(&user, &format!("/o/acme/statements/{st}/statement.csv"))
            .await
            .status(),
        404
    );
    // Support staff read it; another org's owner, through their own org, finds nothing.
    let support = app.login_as("support@phonehub.test").await;
    assert_eq!(
        app.get(&support, &format!("/o/acme/statements/{st}"))
            .await
            .status(),
        200
    );
    let globex = app.login_as("admin@globex.test").await;
    for path in [
        format!("/o/globex/statements/{st}"),
        format!("/o/globex/statements/{st}/statement.csv"),
    ] {
        assert_eq!(app.get(&globex, &path).await.status(), 404, "{path}");
    }
    let r = common::try_create_key(
        &app,
        &globex,
        "globex",
        "admin@globex.test",
        &["scope_usage"],
    )
    .await;
    let globex_key = r.json::<Value>().await.unwrap()["key"]
        .as_str()
        .unwrap()
        .to_string();
    let r = reqwest::Client::new()
        .get(format!("{}/v1/statements/{st}", app.base))
        .bearer_auth(&globex_key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "another org's key");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_status_callback_after_the_month_closed_is_an_adjustment_on_the_next_statement(
    pool: PgPool,
) {
    let (sb_base, sb) = manual_sandbox().await;
    let (app, clock, _owner) = setup(pool, &sb_base).await;
    let user = app.login_as("user@acme.test").await;
    let number = own_number(&app, &user, "+14155550170", false, PHONE).await;
    let r = app
        .call(
            &user,
            "place_call",
            &[
                ("org", "acme"),
                ("number_id", &number.to_string()),
                ("to", "+14155550188"),
            ],
        )
        .await;
    assert!(r.status().as_u16() < 400, "place: {}", r.status());
    assert_eq!(
        scalar(
            &app,
            "SELECT coalesce(sum(cost_micros), 0)::int8 FROM calls"
        )
        .await,
        0
    );

    // The month closes while the call has no price yet.
    to_next_month(&clock);
    let first = org_statement(&app, 0).await;
    assert_eq!(line(&app, first, "calls", "micros").await, 0);

    // The call ends (its callbacks arrive, with its price), after its month closed.
    sb.advance(3600.0);
    let price = poll_until_eq(Duration::from_secs(20), true, || async {
        scalar(
            &app,
            "SELECT coalesce(sum(cost_micros), 0)::int8 FROM calls WHERE status = 'completed'",
        )
        .await
            > 0
    })
    .await;
    assert!(price, "the call's price arrived");
    let cost = scalar(&app, "SELECT cost_micros FROM calls").await;
    // The first statement is unchanged; the next one carries the adjustment, listed as such.
    to_next_month(&clock);
    let next = org_statement(&app, 1).await;
    assert_eq!(
        line(&app, first, "calls", "micros").await,
        0,
        "never changed"
    );
    assert_eq!(line(&app, next, "calls", "micros").await, 0);
    assert_eq!(line(&app, next, "calls", "adjustment_micros").await, cost);
    assert_eq!(line(&app, next, "calls", "adjustment_count").await, 1);
    let (item, was, now): (String, i64, i64) = sqlx::query_as(
        "SELECT item, was_micros, micros FROM statement_adjustments WHERE statement_id = $1",
    )
    .bind(next)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    println!("adjustment on the next statement: {item}: was {was} µ$, now {now} µ$");
    assert!(item.starts_with("Call CA"), "{item}");
    assert_eq!((was, now), (0, cost));
    // The member's own next statement lists it too; the page shows it.
    let page = app
        .get(&user, "/o/acme/statements")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Statements"));
    // A third close has nothing more to adjust.
    to_next_month(&clock);
    let third = org_statement(&app, 2).await;
    assert_eq!(line(&app, third, "calls", "adjustment_micros").await, 0);
}

//! Quiet hours: a text written outside the recipient's sending window (their local time, by their
//! area code) waits, scheduled and cancellable, and goes when the window opens, even from
//! another server after a restart; urgent texts go at once, only from those allowed, audited.

use crate::common;

use std::time::Duration;

use common::{create_key, own_number, poll_until_eq, sandbox_stat, start_sandbox, TestApp, PHONE};
use serde_json::{json, Value};
use sqlx::PgPool;

const LA: &str = "+12135550123";
const LA_2: &str = "+12135550124";
const NEW_YORK: &str = "+12125550123";
const FROM: &str = "+14155550194";

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.count(sql).await
}

async fn wait(app: &TestApp, sql: &str, want: i64) {
    let got = poll_until_eq(Duration::from_secs(20), want, || async {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(&app.pool)
            .await
            .unwrap()
    })
    .await;
    assert_eq!(got, want, "{sql}");
}

/// Seconds from `now` to the next 06:00 in Los Angeles (tomorrow's, so always ahead).
async fn to_six_in_la(pool: &PgPool, now: time::OffsetDateTime) -> i64 {
    sqlx::query_scalar(
        "SELECT extract(epoch FROM ((date_trunc('day', $1 AT TIME ZONE 'America/Los_Angeles')
                 + interval '1 day 6 hours') AT TIME ZONE 'America/Los_Angeles') - $1)::int8",
    )
    .bind(now)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn send(
    app: &TestApp,
    c: &reqwest::Client,
    to: &str,
    body: &str,
    urgent: bool,
) -> reqwest::Response {
    let mut form = vec![("org", "acme"), ("from", FROM), ("to", to), ("body", body)];
    if urgent {
        form.push(("urgent", "on"));
    }
    app.call(c, "send_sms", &form).await
}

async fn status_of(app: &TestApp, body: &str) -> String {
    sqlx::query_scalar("SELECT status FROM messages WHERE body = $1")
        .bind(body)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn a_text_to_los_angeles_at_six_waits_until_eight_and_a_restart_loses_nothing(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let mut s = common::settings("http://127.0.0.1:0");
    s.sandbox_url = Some(url::Url::parse(&sb).unwrap());
    // Server A: built here, so it can be stopped.
    common::seed(&pool).await;
    let a = server::Application::build_with_pool(s.clone(), pool.clone())
        .await
        .unwrap();
    let clock = a.state().clock.clone();
    let app = TestApp {
        base: format!("http://{}", a.local_addr()),
        pool: pool.clone(),
    };
    let served = tokio::spawn(a.run_until_stopped());
    let admin = app.login_as("admin@acme.test").await;
    common::configure_sandbox(&app, &admin, "acme", &sb, "30").await;
    let user = app.login_as("user@acme.test").await;
    own_number(&app, &user, FROM, false, PHONE).await;

    // Only owners and admins set quiet hours; a bad time is refused next to its field.
    let r = app
        .call(
            &user,
            "save_quiet_hours",
            &[
                ("org", "acme"),
                ("enabled", "on"),
                ("preset", "federal"),
                ("start", ""),
                ("end", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 403);
    let r = app
        .call(
            &admin,
            "save_quiet_hours",
            &[
                ("org", "acme"),
                ("enabled", "on"),
                ("preset", "custom"),
                ("start", "9"),
                ("end", "21:00"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("start"));
    assert_eq!(
        count(&app, "SELECT count(*) FROM quiet_hours WHERE enabled").await,
        0
    );
    let r = app
        .call(
            &admin,
            "save_quiet_hours",
            &[
                ("org", "acme"),
                ("enabled", "on"),
                ("preset", "federal"),
                ("start", ""),
                ("end", ""),
            ],
        )
        .await;
    assert!(r.status().as_u16() < 400, "save: {}", r.status());
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_log WHERE action = 'quiet_hours.saved'"
        )
        .await,
        1
    );

    // 06:00 in Los Angeles (09:00 in New York).
    clock.advance(time::Duration::seconds(
        to_six_in_la(&pool, clock.now()).await,
    ));
    let r = send(&app, &user, LA, "Your table is ready at 8", false).await;
    assert!(r.status().as_u16() < 400, "send: {}", r.status());
    assert_eq!(
        status_of(&app, "Your table is ready at 8").await,
        "scheduled"
    );
    let (local, cost): (String, i64) = sqlx::query_as(
        "SELECT to_char(send_after AT TIME ZONE 'America/Los_Angeles', 'HH24:MI'), cost_micros
         FROM messages WHERE body = 'Your table is ready at 8'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (local.as_str(), cost),
        ("08:00", 0),
        "scheduled for 08:00 their time, nothing charged"
    );
    assert_eq!(
        sandbox_stat(&sb, "CreateMessage").await,
        0,
        "the provider was not asked"
    );
    // The thread shows it, with when it goes and a way to cancel it.
    let page = app
        .get(&user, "/o/acme/sms?our=%2B14155550194&with=%2B12135550123")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Scheduled (quiet hours)"), "{page}");
    assert!(page.contains("Cancel scheduled text"));

    // The same moment is 09:00 in New York: a text there goes now.
    let r = send(&app, &user, NEW_YORK, "Morning, New York", false).await;
    assert!(r.status().as_u16() < 400);
    wait(&app, "SELECT count(*) FROM messages WHERE body = 'Morning, New York' AND provider_sid IS NOT NULL", 1).await;
    assert_eq!(sandbox_stat(&sb, "CreateMessage").await, 1);

    // Urgent: not for a member nobody allowed (nothing written) …
    let before = count(&app, "SELECT count(*) FROM messages").await;
    let r = send(&app, &user, LA, "Urgent: the pipe burst", true).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("urgent"));
    assert_eq!(count(&app, "SELECT count(*) FROM messages").await, before);
    // … until an admin allows it: then it goes now, on the record.
    let uid = app.user_id("user@acme.test").await.to_string();
    let r = app
        .call(
            &user,
            "set_urgent_allowed",
            &[("org", "acme"), ("user_id", &uid), ("allowed", "on")],
        )
        .await;
    assert_eq!(r.status(), 403, "a member cannot allow themself");
    let r = app
        .call(
            &admin,
            "set_urgent_allowed",
            &[("org", "acme"), ("user_id", &uid), ("allowed", "on")],
        )
        .await;
    assert!(r.status().as_u16() < 400);
    let r = send(&app, &user, LA, "Urgent: the pipe burst", true).await;
    assert!(r.status().as_u16() < 400, "urgent: {}", r.status());
    wait(&app, "SELECT count(*) FROM messages WHERE body = 'Urgent: the pipe burst' AND provider_sid IS NOT NULL", 1).await;
    assert_eq!(sandbox_stat(&sb, "CreateMessage").await, 2);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_log WHERE action = 'sms.urgent'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_log WHERE action = 'member.urgent_allowed'"
        )
        .await,
        1
    );

    // Through /v1: a scheduled text answers 202 with when it goes; another org cannot cancel
    // it; its sender can.
    let key = create_key(&app, &admin, "user@acme.test", &["scope_messages"]).await;
    let api = reqwest::Client::new();
    let r = api
        .post(format!("{}/v1/messages", app.base))
        .bearer_auth(&key)
        .json(&json!({"from": FROM, "to": LA_2, "body": "See you at nine"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let m: Value = r.json().await.unwrap();
    assert_eq!(m["status"], "scheduled");
    assert!(m["send_after"].as_str().unwrap().ends_with('Z'), "{m}");
    let id = m["id"].as_i64().unwrap().to_string();
    let globex = app.login_as("admin@globex.test").await;
    let r = app
        .call(&globex, "cancel_message", &[("org", "globex"), ("id", &id)])
        .await;
    assert_eq!(r.status(), 404);
    let r = api
        .post(format!("{}/v1/messages/{id}/cancel", app.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let m: Value = r.json().await.unwrap();
    assert_eq!(m["status"], "canceled");
    let r = app
        .call(&user, "cancel_message", &[("org", "acme"), ("id", &id)])
        .await;
    assert_eq!(r.status(), 404, "a canceled text is no longer scheduled");

    // Server A stops. Server B, started later over the same database, sends the scheduled text
    // when its clock reaches 08:00 in Los Angeles, and never the canceled one.
    served.abort();
    let b = server::Application::build_with_pool(s, pool.clone())
        .await
        .unwrap();
    let b_clock = b.state().clock.clone();
    tokio::spawn(b.run_until_stopped());
    // To a minute before the text's own moment (08:00 in Los Angeles), by B's clock.
    let until: i64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM send_after - $1)::int8 FROM messages WHERE body = 'Your table is ready at 8'",
    )
    .bind(b_clock.now())
    .fetch_one(&pool)
    .await
    .unwrap();
    b_clock.advance(time::Duration::seconds(until - 60));
    assert_eq!(
        status_of(&app, "Your table is ready at 8").await,
        "scheduled",
        "07:59 is still quiet"
    );
    b_clock.advance(time::Duration::minutes(2));
    wait(
        &app,
        "SELECT count(*) FROM messages WHERE body = 'Your table is ready at 8' AND status IN ('sent', 'delivered') AND provider_sid IS NOT NULL AND cost_micros > 0",
        1,
    )
    .await;
    assert_eq!(sandbox_stat(&sb, "CreateMessage").await, 3);
    assert_eq!(status_of(&app, "See you at nine").await, "canceled");
}

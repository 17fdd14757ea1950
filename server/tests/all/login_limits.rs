//! Passwords cannot be used against the server or against other people: every argon2 hash goes
//! through one bounded gate per app (its gauges read through `AppState::passwords.gate`), wrong
//! current passwords are limited per user, and the login limits lock out whoever guesses, not the
//! account: the strict limit counts an e-mail from one address, and a browser that signed in
//! before passes the per-e-mail one.

use crate::common;

use std::time::Duration;

use app::ssr::auth::BUSY;
use app::ssr::fixtures::PER_EMAIL;
use common::{poll_until_eq, TestApp, PASSWORD};
use sqlx::PgPool;

const USER: &str = "user@acme.test";
const NEW_PASSWORD: &str = "a new passphrase 1";

/// Seeds and serves the app as `common::spawn_with_settings` does, keeping its state for the
/// assertions (the hashing gate). `trust_proxy`: the client's address is the last
/// `X-Forwarded-For` entry, so one test plays several addresses.
async fn spawn(pool: PgPool, trust_proxy: bool) -> (TestApp, app::ssr::AppState) {
    common::seed(&pool).await;
    let mut settings = common::settings("http://127.0.0.1:0");
    settings.trust_proxy = trust_proxy;
    let server = server::Application::build_with_pool(settings, pool.clone())
        .await
        .expect("build app");
    let state = server.state().clone();
    let base = format!("http://{}", server.local_addr());
    tokio::spawn(server.run_until_stopped());
    (TestApp { base, pool }, state)
}

/// A login from `ip` (as the trusted proxy reports it).
async fn login_from(
    app: &TestApp,
    c: &reqwest::Client,
    ip: &str,
    email: &str,
    password: &str,
) -> reqwest::Response {
    c.post(format!("{}/api/login", app.base))
        .header("x-forwarded-for", ip)
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .unwrap()
}

async fn change_password(app: &TestApp, c: &reqwest::Client, current: &str) -> reqwest::Response {
    app.call(
        c,
        "change_password",
        &[
            ("current", current),
            ("new_password", NEW_PASSWORD),
            ("confirm", NEW_PASSWORD),
        ],
    )
    .await
}

async fn answer(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

/// Failed login attempts for `email` from `n` other addresses, `ago` (an SQL interval) ago: what a
/// botnet leaves behind.
async fn failed_elsewhere(app: &TestApp, email: &str, n: i64, ago: &str) {
    sqlx::query(&format!(
        "INSERT INTO login_attempts (email, ip, succeeded, created_at)
         SELECT $1, '10.7.' || (g / 250) || '.' || (g % 250 + 1), false, now() - interval '{ago}'
         FROM generate_series(1, $2) g"
    ))
    .bind(email)
    .bind(n)
    .execute(&app.pool)
    .await
    .unwrap();
}

/// Moves every current-password check `by` (an SQL interval) into the past.
async fn age_password_checks(app: &TestApp, by: &str) {
    sqlx::query(&format!(
        "UPDATE password_checks SET created_at = created_at - interval '{by}'"
    ))
    .execute(&app.pool)
    .await
    .unwrap();
}

#[sqlx::test(migrations = "../migrations")]
async fn wrong_passwords_from_one_address_do_not_lock_the_owner_out_elsewhere(pool: PgPool) {
    let (app, _) = spawn(pool, true).await;
    let attacker_ip = "203.0.113.7";
    let owner_ip = "198.51.100.20";
    // The superadmin's account included.
    for email in [USER, "root@phonehub.test"] {
        let attacker = app.client();
        for i in 0..5 {
            let r = login_from(&app, &attacker, attacker_ip, email, "wrong-password-1").await;
            assert_eq!(r.status(), 422, "{email}: attempt {i}");
        }
        let (status, body) =
            answer(login_from(&app, &attacker, attacker_ip, email, PASSWORD).await).await;
        assert_eq!(status, 429, "{email}: {body}");
        assert!(
            body.contains("from this address. Try again in 15 minutes"),
            "{body}"
        );
        // The owner, from another address, signs in with the right password...
        let owner = app.client();
        let r = login_from(&app, &owner, owner_ip, email, PASSWORD).await;
        assert!(r.status().is_success(), "{email}: {}", r.status());
        // ...and that lifts nothing for the attacker's address, whoever asks from there.
        let r = login_from(&app, &app.client(), attacker_ip, email, PASSWORD).await;
        assert_eq!(r.status(), 429, "{email}");
    }
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'login' AND ip = '198.51.100.20'")
            .await,
        2
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM audit_log WHERE action = 'login.failed' AND ip = '203.0.113.7'"
        )
        .await,
        10
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_browser_that_signed_in_before_passes_the_per_email_limit_but_not_its_own(pool: PgPool) {
    let (app, _) = spawn(pool, true).await;
    let home = "198.51.100.20";
    let laptop = app.client();
    let r = login_from(&app, &laptop, home, USER, PASSWORD).await;
    assert!(r.status().is_success(), "{}", r.status());
    let device = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("phonehub_device="))
        .expect("a device cookie on a successful login")
        .to_string();
    assert!(device.contains("HttpOnly"), "{device}");
    assert!(device.contains("SameSite=Lax"), "{device}");
    assert_eq!(app.call(&laptop, "logout", &[]).await.status(), 200);

    // A botnet used up the per-e-mail limit (a while ago: no wait between attempts is left).
    failed_elsewhere(&app, USER, PER_EMAIL, "5 minutes").await;
    failed_elsewhere(&app, "second@acme.test", PER_EMAIL, "5 minutes").await;

    // A browser that never signed in is refused, even from the owner's usual address...
    let (status, body) = answer(login_from(&app, &app.client(), home, USER, PASSWORD).await).await;
    assert_eq!(status, 429, "{body}");
    assert!(
        body.contains("from a browser you have signed in with before"),
        "{body}"
    );
    // ...and so is a device cookie the server did not sign.
    let uid = app.user_id(USER).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let forged = format!("phonehub_device={}=device.v1.{uid}.{now}", "A".repeat(43));
    let r = app
        .client()
        .post(format!("{}/api/login", app.base))
        .header("x-forwarded-for", home)
        .header("cookie", forged)
        .form(&[("email", USER), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);

    // The laptop signs in, from any address.
    let r = login_from(&app, &laptop, "192.0.2.44", USER, PASSWORD).await;
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(
        app.count(
            "SELECT count(*) FROM audit_log WHERE action = 'login' AND details->>'trusted_device' = 'true'"
        )
        .await,
        1
    );
    // Its cookie vouches for its own user only.
    let r = login_from(&app, &laptop, "192.0.2.44", "second@acme.test", PASSWORD).await;
    assert_eq!(r.status(), 429);

    // And not past its own per-(e-mail, address) limit: five wrong passwords from one address,
    // and there even the right one waits.
    assert_eq!(app.call(&laptop, "logout", &[]).await.status(), 200);
    for i in 0..5 {
        let r = login_from(&app, &laptop, "192.0.2.45", USER, "wrong-password-1").await;
        assert_eq!(r.status(), 422, "attempt {i}");
    }
    let (status, body) =
        answer(login_from(&app, &laptop, "192.0.2.45", USER, PASSWORD).await).await;
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("from this address"), "{body}");

    // The password changes (the owner suspects a thief has this browser's cookie): cookies issued
    // before the change vouch for nobody, so the laptop meets the per-e-mail limit again.
    sqlx::query(
        "UPDATE users SET password_changed_at = now() + interval '2 seconds' WHERE email = $1",
    )
    .bind(USER)
    .execute(&app.pool)
    .await
    .unwrap();
    let (status, body) =
        answer(login_from(&app, &laptop, "192.0.2.46", USER, PASSWORD).await).await;
    assert_eq!(status, 429, "{body}");
    assert!(
        body.contains("from a browser you have signed in with before"),
        "{body}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn failures_from_many_addresses_space_out_the_attempts_for_that_email(pool: PgPool) {
    let (app, _) = spawn(pool, true).await;
    let laptop = app.client();
    let r = login_from(&app, &laptop, "198.51.100.20", USER, PASSWORD).await;
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(app.call(&laptop, "logout", &[]).await.status(), 200);

    // Twenty failures from twenty addresses, the last just now: the next try waits a minute.
    failed_elsewhere(&app, USER, 20, "0 seconds").await;
    let (status, body) =
        answer(login_from(&app, &app.client(), "198.51.100.21", USER, PASSWORD).await).await;
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("before the next try"), "{body}");
    // Nothing was counted for the refused try.
    assert_eq!(
        app.count("SELECT count(*) FROM login_attempts WHERE ip = '198.51.100.21'")
            .await,
        0
    );
    // The browser that signed in before does not wait.
    let r = login_from(&app, &laptop, "198.51.100.22", USER, PASSWORD).await;
    assert!(r.status().is_success(), "{}", r.status());
    // A minute on, anyone may try again.
    sqlx::query("UPDATE login_attempts SET created_at = created_at - interval '61 seconds'")
        .execute(&app.pool)
        .await
        .unwrap();
    let r = login_from(&app, &app.client(), "198.51.100.21", USER, PASSWORD).await;
    assert!(r.status().is_success(), "{}", r.status());
}

#[sqlx::test(migrations = "../migrations")]
async fn parallel_wrong_current_passwords_are_bounded_then_limited_per_user(pool: PgPool) {
    let (app, state) = spawn(pool, false).await;
    let gate = state.passwords.gate.clone();
    let member = app.login_as(USER).await;
    // The test holds all slots but one, so the requests' hashes must share that one: the
    // high-water mark shows they never took more.
    let held: Vec<_> = (1..gate.capacity())
        .map(|_| gate.try_enter().unwrap())
        .collect();
    gate.reset_high_water();

    let (app_ref, member_ref) = (&app, &member);
    let answers = futures::future::join_all((0..64).map(move |_| async move {
        answer(change_password(app_ref, member_ref, "wrong-password-1").await).await
    }))
    .await;
    // Five guesses are checked (each waits its turn for the slot); the other 59 are refused before
    // any hashing, with the reason.
    let checked = answers.iter().filter(|(s, _)| *s == 422).count();
    let limited = answers
        .iter()
        .filter(|(s, body)| *s == 429 && body.contains("Too many wrong current passwords"))
        .count();
    assert_eq!((checked, limited), (5, 59), "{answers:?}");
    assert_eq!(gate.high_water(), gate.capacity(), "one hash at a time");
    assert_eq!(gate.in_flight(), held.len());
    drop(held);

    let wrong_sql = "SELECT count(*) FROM audit_log \
                     WHERE action = 'account.password_wrong' AND target = 'user@acme.test'";
    assert_eq!(app.count(wrong_sql).await, 5);
    // A sixth wrong password within 15 minutes is refused, and so is the right one.
    for current in ["wrong-password-2", PASSWORD] {
        let (status, body) = answer(change_password(&app, &member, current).await).await;
        assert_eq!(status, 429, "{body}");
        assert!(
            body.contains("Too many wrong current passwords. Try again in"),
            "{body}"
        );
    }
    // Fourteen minutes on, the window still holds them...
    age_password_checks(&app, "14 minutes").await;
    assert_eq!(change_password(&app, &member, PASSWORD).await.status(), 429);
    // ...sixteen minutes on, it does not.
    age_password_checks(&app, "2 minutes").await;
    assert_eq!(change_password(&app, &member, PASSWORD).await.status(), 200);
    // Refused tries were never hashed, so they are not audited as guesses.
    assert_eq!(app.count(wrong_sql).await, 5);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'account.password_changed'")
            .await,
        1
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_full_hashing_gate_answers_busy_at_once_and_counts_against_nobody(pool: PgPool) {
    let (app, state) = spawn(pool, true).await;
    let gate = state.passwords.gate.clone();
    let member = app.login_as(USER).await;
    // Every slot taken (by the test), then every place in the waiting room (by logins that wait).
    let held: Vec<_> = (0..gate.capacity())
        .map(|_| gate.try_enter().unwrap())
        .collect();
    let parked: Vec<_> = (0..gate.max_waiting())
        .map(|i| {
            let c = app.client();
            let url = format!("{}/api/login", app.base);
            let form = vec![
                ("email", format!("nobody{i}@example.test")),
                ("password", "wrong-password-1".to_string()),
            ];
            let ip = format!("10.8.{}.{}", i / 250, i % 250 + 1);
            tokio::spawn(async move {
                let r = c
                    .post(url)
                    .header("x-forwarded-for", ip)
                    .form(&form)
                    .send()
                    .await
                    .unwrap();
                r.status().as_u16()
            })
        })
        .collect();
    let waiting = poll_until_eq(Duration::from_secs(20), gate.max_waiting(), || async {
        gate.waiting()
    })
    .await;
    assert_eq!(waiting, gate.max_waiting());

    // One more finds no room: refused with the reason, and neither the login nor the password
    // change counts against its user, since no password was checked.
    let (status, body) = answer(
        login_from(
            &app,
            &app.client(),
            "198.51.100.30",
            "admin@acme.test",
            PASSWORD,
        )
        .await,
    )
    .await;
    assert_eq!(status, 429, "{body}");
    assert!(body.contains(BUSY), "{body}");
    let (status, body) = answer(change_password(&app, &member, PASSWORD).await).await;
    assert_eq!(status, 429, "{body}");
    assert!(body.contains(BUSY), "{body}");
    assert_eq!(
        app.count("SELECT count(*) FROM login_attempts WHERE email = 'admin@acme.test'")
            .await,
        0
    );
    assert_eq!(app.count("SELECT count(*) FROM password_checks").await, 0);

    // The slots free: the waiting logins are checked (and wrong), and the server answers again.
    drop(held);
    for p in parked {
        assert_eq!(p.await.unwrap(), 422);
    }
    assert!(gate.high_water() <= gate.capacity());
    let r = login_from(
        &app,
        &app.client(),
        "198.51.100.30",
        "admin@acme.test",
        PASSWORD,
    )
    .await;
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(change_password(&app, &member, PASSWORD).await.status(), 200);
}

//! The binary as an operator starts it: production unless development is asked for, no demo
//! accounts, no sandbox, and the first superadmin made by a command.

use crate::common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use sqlx::PgPool;

/// The URL of the database `pool` is connected to (the test's own fresh one).
fn database_url(pool: &PgPool) -> String {
    let name = pool
        .connect_options()
        .get_database()
        .expect("a database name")
        .to_string();
    let mut url = url::Url::parse(&std::env::var("DATABASE_URL").expect("DATABASE_URL")).unwrap();
    url.set_path(&format!("/{name}"));
    url.to_string()
}

struct Child(std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The binary with only what an operator must set: no PHONEHUB_ENV. Port 0: it says which.
fn phonehub(db: &str, data: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_phonehub"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db)
        .env("PHONEHUB_DATA_DIR", data)
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "info,sqlx=warn")
        .current_dir(std::env::temp_dir());
    cmd
}

/// Starts the server with `env` added; returns it, its address and the "listening on" log line
/// it was read from (within a deadline).
fn start_server_with(
    db: &str,
    data: &std::path::Path,
    env: &[(&str, &str)],
) -> (Child, String, String) {
    use std::io::BufRead;
    let mut child = phonehub(db, data)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("listening on http://") {
                let _ = tx.send(line);
            }
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the server said where it listens within 60 s");
    let at = line.find("http://").unwrap_or(0);
    let base: String = line[at..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"')
        .collect();
    (Child(child), base, line)
}

#[sqlx::test(migrations = false)]
async fn the_binary_defaults_to_production_seeds_nothing_and_mounts_no_sandbox(pool: PgPool) {
    let db = database_url(&pool);
    let data = std::env::temp_dir().join(format!("phonehub-prod-{}", std::process::id()));
    let (_server, base, line) = start_server_with(&db, &data, &[]);
    // Production logs are JSON lines, for a log collector.
    let log: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
    assert_eq!(log["level"], "INFO", "{line}");
    assert_eq!(
        reqwest::get(format!("{base}/readyz"))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        reqwest::get(format!("{base}/healthz"))
            .await
            .unwrap()
            .status(),
        200
    );
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(users, 0, "no demo accounts in production");
    let configs: i64 = sqlx::query_scalar("SELECT count(*) FROM phone_configs")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(configs, 0, "no sandbox as the default provider");
    for path in [
        "/sandbox/twilio/_stats",
        "/sandbox/twilio/api/2010-04-01/Accounts/x.json",
    ] {
        let r = reqwest::get(format!("{base}{path}")).await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
    let r = reqwest::Client::new()
        .post(format!("{base}/api/login"))
        .header("origin", &base)
        .form(&[
            ("email", "root@phonehub.test"),
            ("password", common::PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422, "the demo superadmin does not exist");

    // The operator makes the first superadmin; the password comes from standard input.
    let mut admin = phonehub(&db, &data)
        .args(["admin", "create-superadmin", "--email", "Ops@Example.com"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    admin
        .stdin
        .take()
        .unwrap()
        .write_all(b"a-long-operator-password\n")
        .unwrap();
    let out = admin.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let is_super: bool =
        sqlx::query_scalar("SELECT is_superadmin FROM users WHERE email = 'ops@example.com'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(is_super);
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client
        .post(format!("{base}/api/login"))
        .header("origin", &base)
        .form(&[
            ("email", "ops@example.com"),
            ("password", "a-long-operator-password"),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
    assert_eq!(
        client
            .get(format!("{base}/admin/orgs"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Not even the superadmin can point production at the development sandbox.
    let r = client
        .post(format!("{base}/api/save_phone_config"))
        .header("origin", &base)
        .form(&[
            ("org", ""),
            ("provider", "sandbox"),
            ("display_name", "Sandbox"),
            ("active", "on"),
            ("lookup_enabled", "on"),
            ("lookup_cache_days", "30"),
            ("default_sender", ""),
            ("credential_id", "AC00000000000000000000000000000001"),
            ("credential_secret", "sandbox-auth-token-0001"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("only in development"));

    // A second run for the same address changes nothing; a short password is refused.
    for (email, password) in [
        ("ops@example.com", "another-long-password"),
        ("new@example.com", "short"),
    ] {
        let mut again = phonehub(&db, &data)
            .args(["admin", "create-superadmin", "--email", email])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        writeln!(again.stdin.take().unwrap(), "{password}").unwrap();
        assert!(!again.wait().unwrap().success(), "{email}");
    }
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(users, 1);
    let _ = std::fs::remove_dir_all(&data);
}

/// SIGTERM: the server stops taking requests, finishes what it was doing, and writes every
/// lookup it recorded (a paid or saved lookup to attribute) before it exits.
#[sqlx::test(migrations = false)]
async fn sigterm_writes_every_recorded_lookup_before_exiting(pool: PgPool) {
    let db = database_url(&pool);
    let data = std::env::temp_dir().join(format!("phonehub-term-{}", std::process::id()));
    // Development: the demo accounts, and the sandbox as the system's default provider.
    let (mut server, base, line) =
        start_server_with(&db, &data, &[("PHONEHUB_ENV", "development")]);
    assert!(!line.starts_with('{'), "development logs are text: {line}");
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let post = |endpoint: &str, form: &[(&str, &str)]| {
        client
            .post(format!("{base}/api/{endpoint}"))
            .header("origin", &base)
            .form(form)
            .send()
    };
    let r = post(
        "login",
        &[
            ("email", "user@acme.test"),
            ("password", server::seed::DEMO_PASSWORD),
        ],
    )
    .await
    .unwrap();
    assert!(r.status().is_success(), "login: {}", r.status());
    let r = post(
        "lookup_number",
        &[("org", "acme"), ("number", "+14155550100")],
    )
    .await
    .unwrap();
    assert!(r.status().as_u16() < 400, "lookup: {}", r.status());
    // At once: the event is still in the writer's batch.
    let pid = server.0.id().to_string();
    let term = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(term.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still running 30 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "exit: {status}");
    let events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM lookup_events WHERE outcome = 'miss'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(events, 1, "the paid lookup is recorded");
    let _ = std::fs::remove_dir_all(&data);
}

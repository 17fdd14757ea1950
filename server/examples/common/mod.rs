//! What the benchmarks share: a `phonehub` process on a free port, health wait, signed-in clients.

#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

pub struct Proc(pub Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `sandbox`: a development sandbox the server's "sandbox" provider uses (`PHONEHUB_SANDBOX_URL`).
pub fn spawn_server(
    bin: &str,
    db: &str,
    port: u16,
    data: &std::path::Path,
    sandbox: Option<&str>,
) -> Res<Proc> {
    spawn_server_with(bin, db, port, data, sandbox, &[])
}

/// As `spawn_server`, with more environment variables.
pub fn spawn_server_with(
    bin: &str,
    db: &str,
    port: u16,
    data: &std::path::Path,
    sandbox: Option<&str>,
    env: &[(&str, &str)],
) -> Res<Proc> {
    let mut cmd = Command::new(bin);
    cmd.envs(env.iter().copied());
    if let Some(s) = sandbox {
        cmd.env("PHONEHUB_SANDBOX_URL", s);
    }
    let child = cmd
        .env("DATABASE_URL", db)
        .env("PHONEHUB_ENV", "development")
        .env("PHONEHUB_SEED_DEMO", "true")
        .env("PHONEHUB_SANDBOX", "false")
        .env("PHONEHUB_DATA_DIR", data)
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("PHONEHUB_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?;
    Ok(Proc(child))
}

pub async fn wait_healthy(base: &str) -> Res<()> {
    for _ in 0..200 {
        if let Ok(r) = reqwest::get(format!("{base}/healthz")).await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("{base} did not become healthy").into())
}

pub async fn login(base: &str, email: &str) -> Res<reqwest::Client> {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert(reqwest::header::ORIGIN, base.parse()?);
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(h)
        .pool_max_idle_per_host(64)
        .build()?;
    let r = c
        .post(format!("{base}/api/login"))
        .form(&[("email", email), ("password", server::seed::DEMO_PASSWORD)])
        .send()
        .await?;
    if !r.status().is_success() {
        return Err(format!("login {email}: {}", r.status()).into());
    }
    Ok(c)
}

/// Median of `n` GETs of `url` (ms); each must answer 2xx with `must_contain` in the body.
pub async fn page_p50(c: &reqwest::Client, url: &str, n: usize, must_contain: &str) -> Res<f64> {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let r = c.get(url).send().await?;
        let status = r.status();
        let body = r.text().await?;
        if !status.is_success() || !body.contains(must_contain) {
            return Err(format!("{url}: {status}").into());
        }
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    Ok(times[n / 2])
}

/// Loads `n` calls for `org` spread over the last year: 60% completed, the rest busy, no-answer,
/// failed or canceled; a fifth inbound; a tenth recorded.
pub async fn load_calls(pool: &sqlx::PgPool, org: i64, user: i64, n: i64) -> Res<()> {
    sqlx::query(
        r#"INSERT INTO calls (org_id, user_id, direction, from_e164, to_e164, status, duration_secs,
                              cost_micros, recording_count, created_at, ended_at)
           SELECT $1, $2, CASE WHEN g % 5 = 0 THEN 'inbound' ELSE 'outbound' END,
                  '+1415555' || lpad((g % 10000)::text, 4, '0'),
                  '+1212555' || lpad((g % 7919)::text, 4, '0'),
                  (ARRAY['completed','completed','completed','completed','completed','completed',
                         'busy','no-answer','failed','canceled'])[1 + g % 10],
                  CASE WHEN g % 10 < 6 THEN g % 600 END,
                  CASE WHEN g % 10 < 6 THEN ((g % 600) + 59) / 60 * 8500 ELSE 0 END,
                  (g % 10 = 3)::int,
                  now() - (g::float8 * 365 * 86400 / $3) * interval '1 second',
                  now() - (g::float8 * 365 * 86400 / $3) * interval '1 second'
           FROM generate_series(1, $3) g"#,
    )
    .bind(org)
    .bind(user)
    .bind(n)
    .execute(pool)
    .await?;
    Ok(())
}

/// Creates (if missing) an org owned by admin@acme.test and returns its id.
pub async fn bench_org(pool: &sqlx::PgPool, slug: &str, name: &str) -> Res<i64> {
    sqlx::query(
        "WITH o AS (INSERT INTO orgs (slug, name) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING id)
         INSERT INTO memberships (org_id, user_id, role)
         SELECT o.id, u.id, 'owner' FROM o, users u WHERE u.email = 'admin@acme.test'",
    )
    .bind(slug)
    .bind(name)
    .execute(pool)
    .await?;
    Ok(sqlx::query_scalar("SELECT id FROM orgs WHERE slug = $1")
        .bind(slug)
        .fetch_one(pool)
        .await?)
}

/// A release server on the benchmark database (it seeds the demo users), a pool beside it, and
/// two empty orgs to fill: a small one and a large one.
pub struct Setup {
    pub srv: Proc,
    pub base: String,
    pub data: std::path::PathBuf,
    pub pool: sqlx::PgPool,
    pub small: i64,
    pub large: i64,
    /// The demo org admin, who owns what the benchmarks load.
    pub user: i64,
}

pub async fn setup(name: &str) -> Res<Setup> {
    let db = std::env::var("DATABASE_URL").map_err(|_| "set DATABASE_URL to an empty database")?;
    let bin = std::env::var("PHONEHUB_BIN").unwrap_or_else(|_| "target/release/phonehub".into());
    let data = std::env::temp_dir().join(format!("phonehub-bench-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&data)?;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let srv = spawn_server(&bin, &db, port, &data, None)?;
    wait_healthy(&base).await?;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .connect(&db)
        .await?;
    let small = bench_org(&pool, "bench-small", "Bench small").await?;
    let large = bench_org(&pool, "bench-large", "Bench large").await?;
    let user: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = 'admin@acme.test'")
        .fetch_one(&pool)
        .await?;
    Ok(Setup {
        srv,
        base,
        data,
        pool,
        small,
        large,
        user,
    })
}

/// Resident memory of a process, in MiB.
pub fn rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// The development sandbox on a free port (a Twilio stand-in); returns its base URL.
pub async fn start_sandbox() -> Res<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let sb =
        telephony::sandbox::Sandbox::start(telephony::sandbox::SandboxConfig::dev(&base, None));
    let router = telephony::sandbox::router(sb);
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(base)
}

/// Points `org`'s phone configuration at the sandbox, lookups on.
pub async fn configure(base: &str, admin: &reqwest::Client, org: &str) -> Res<()> {
    let r = admin
        .post(format!("{base}/api/save_phone_config"))
        .form(&[
            ("org", org),
            ("provider", "sandbox"),
            ("display_name", "bench"),
            ("active", "on"),
            ("lookup_enabled", "on"),
            ("lookup_cache_days", "30"),
            ("default_sender", ""),
            ("credential_id", telephony::sandbox::DEV_ACCOUNT_SID),
            ("credential_secret", telephony::sandbox::DEV_AUTH_TOKEN),
        ])
        .send()
        .await?;
    if r.status().as_u16() >= 400 {
        return Err(format!("save config: {}", r.status()).into());
    }
    Ok(())
}

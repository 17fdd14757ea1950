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

pub fn spawn_server(bin: &str, db: &str, port: u16, data: &std::path::Path) -> Res<Proc> {
    let child = Command::new(bin)
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

//! Memory under load (run by bench/load.sh with a fresh database in DATABASE_URL): 64 concurrent
//! signed-in connections for 60 s (BENCH_SECONDS) against a release server, each fetching the pages an org
//! admin opens most (dashboard, lookup costs, call history, numbers, usage) in turn. Prints
//! requests/s, failures, p50/p99 latency and the server's resident memory before, at its peak and
//! after (target: peak <= 150 MB).

use std::time::{Duration, Instant};

mod common;

use common::*;

const CLIENTS: usize = 64;
const PAGES: &[&str] = &[
    "/o/acme",
    "/o/acme/admin/lookups",
    "/o/acme/calls",
    "/o/acme/numbers",
    "/o/acme/admin/usage",
];

#[tokio::main]
async fn main() -> Res<()> {
    let s = setup("load").await?;
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let pid = s.srv.0.id();
    // A few thousand calls so the history page has rows to render.
    load_calls(&s.pool, acme(&s.pool).await?, s.user, 5_000).await?;
    let before = rss_mib(pid);
    // One session; each task is its own connection (64 requests in flight at once).
    let signed_in = login(&s.base, "admin@acme.test").await?;
    let clients = vec![signed_in; CLIENTS];
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, c) in clients.into_iter().enumerate() {
        let base = s.base.clone();
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut failed, mut times) = (0u64, 0u64, Vec::new());
            let mut k = i;
            while Instant::now() < deadline {
                let t = Instant::now();
                let r = c
                    .get(format!("{base}{}", PAGES[k % PAGES.len()]))
                    .send()
                    .await;
                let good = match r {
                    Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                    _ => false,
                };
                times.push(t.elapsed().as_secs_f64() * 1000.0);
                if good {
                    ok += 1;
                } else {
                    failed += 1;
                }
                k += 1;
            }
            (ok, failed, times)
        }));
    }
    let mut peak = before;
    while Instant::now() < deadline {
        peak = peak.max(rss_mib(pid));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let (mut ok, mut failed, mut times) = (0, 0, Vec::new());
    for t in tasks {
        let (o, f, ts) = t.await?;
        ok += o;
        failed += f;
        times.extend(ts);
    }
    peak = peak.max(rss_mib(pid));
    let took = started.elapsed().as_secs_f64();
    times.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    let after = rss_mib(pid);
    println!(
        "load: {CLIENTS} signed-in clients for {seconds} s over {} pages (release server)",
        PAGES.len()
    );
    println!(
        "  {:.0} requests/s, {ok} answered, {failed} failed; p50 {:.1} ms, p99 {:.1} ms",
        ok as f64 / took,
        pct(0.5),
        pct(0.99)
    );
    println!(
        "  server RSS: {before:.1} MiB before, peak {peak:.1} MiB ({:.1} MB; target <= 150 MB), {after:.1} MiB after",
        peak * 1.048_576
    );
    let _ = std::fs::remove_dir_all(&s.data);
    Ok(())
}

async fn acme(pool: &sqlx::PgPool) -> Res<i64> {
    Ok(
        sqlx::query_scalar("SELECT id FROM orgs WHERE slug = 'acme'")
            .fetch_one(pool)
            .await?,
    )
}

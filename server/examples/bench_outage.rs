//! Outage figures (run by bench/outage.sh with a fresh database in DATABASE_URL).
//!
//! A release `phonehub` reaches Postgres through a TCP proxy this program cuts for OUTAGE: cut, the
//! proxy is a black hole (connections accepted, never answered), the worst kind of outage, where
//! nothing fails fast by itself. Before the cut a member looks HELD numbers up until the server
//! answers them from its hot cache. During the cut, WORKERS clients each repeat: a held number
//! through the no-JS lookup form and its answer page; a number not held; another page. After the
//! cut: how long until ready again, and whether every lookup answered during the outage was
//! written (each is an attribution event).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::PgPool;

mod common;
#[path = "../tests/all/common/db_proxy.rs"]
mod db_proxy;

use common::*;
use db_proxy::DbProxy;

const HELD: usize = 20;
const WORKERS: usize = 4;
const OUTAGE: Duration = Duration::from_secs(10);

#[derive(Default)]
struct Kind {
    ok: usize,
    wrong: Vec<String>,
    ms: Vec<f64>,
}

impl Kind {
    fn add(&mut self, ok: Result<(), String>, took: Duration) {
        self.ms.push(took.as_secs_f64() * 1000.0);
        match ok {
            Ok(()) => self.ok += 1,
            Err(e) => self.wrong.push(e),
        }
    }

    fn line(&mut self, what: &str, expected: &str) -> String {
        self.ms.sort_by(|a, b| a.total_cmp(b));
        let at = |q: f64| {
            self.ms
                .get(((self.ms.len() as f64 - 1.0) * q).round() as usize)
                .copied()
                .unwrap_or(0.0)
        };
        let mut s = format!(
            "  {what}: {}/{} {expected}; p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            self.ok,
            self.ms.len(),
            at(0.5),
            at(0.99),
            at(1.0)
        );
        if let Some(w) = self.wrong.first() {
            s.push_str(&format!("\n    first other answer: {w}"));
        }
        s
    }
}

async fn metric(metrics: &str, name: &str, label: &str) -> f64 {
    let Ok(r) = reqwest::get(format!("{metrics}/metrics")).await else {
        return 0.0;
    };
    let text = r.text().await.unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with(name) && l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The no-JS lookup form: 303 to the answer page.
async fn look(base: &str, c: &reqwest::Client, n: &str) -> reqwest::Result<reqwest::Response> {
    c.post(format!("{base}/api/lookup_number"))
        .header("accept", "text/html")
        .header("referer", format!("{base}/o/acme/lookup"))
        .form(&[("org", "acme"), ("number", n)])
        .send()
        .await
}

async fn held_and_shown(base: &str, c: &reqwest::Client, n: &str) -> Result<(), String> {
    let r = look(base, c, n).await.map_err(|e| e.to_string())?;
    let to = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let to = match (r.status().as_u16(), to) {
        (303, Some(to)) if to.contains("outcome=hit") => to,
        (s, to) => return Err(format!("lookup {s} {to:?}")),
    };
    let page = c
        .get(format!("{base}{to}"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = page.status().as_u16();
    let html = page.text().await.unwrap_or_default();
    if status == 200 && html.contains(&n[2..5]) && html.contains("Line type") {
        Ok(())
    } else {
        Err(format!("answer page {status}"))
    }
}

async fn is_503(r: reqwest::Result<reqwest::Response>) -> Result<(), String> {
    match r {
        Ok(r) if r.status() == 503 => Ok(()),
        Ok(r) => Err(format!("{}", r.status())),
        Err(e) => Err(e.to_string()),
    }
}

async fn hit_events(pool: &PgPool, numbers: &[String]) -> Res<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM lookup_events WHERE outcome = 'hit' AND e164 = ANY($1)",
    )
    .bind(numbers)
    .fetch_one(pool)
    .await?)
}

async fn wait_for(what: &str, limit: Duration, mut done: impl AsyncFnMut() -> bool) -> Res<f64> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if done().await {
            return Ok(started.elapsed().as_secs_f64());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("{what}: not within {limit:?}").into())
}

#[tokio::main]
async fn main() -> Res<()> {
    let db = std::env::var("DATABASE_URL")?;
    let bin = std::env::var("PHONEHUB_BIN")?;
    let pool = PgPool::connect(&db).await?;
    let sandbox = start_sandbox().await?;
    let target = url::Url::parse(&db)?;
    let proxy = DbProxy::start(format!(
        "{}:{}",
        target.host_str().unwrap_or("127.0.0.1"),
        target.port().unwrap_or(5432)
    ))
    .await;
    let mut through = target.clone();
    through
        .set_host(Some("127.0.0.1"))
        .map_err(|e| e.to_string())?;
    through
        .set_port(Some(proxy.port))
        .map_err(|_| "proxy port")?;
    let data = std::env::temp_dir().join(format!("phonehub-bench-{}", std::process::id()));
    std::fs::create_dir_all(&data)?;
    let (port, metrics_port) = (free_port(), free_port());
    let base = format!("http://127.0.0.1:{port}");
    let metrics = format!("http://127.0.0.1:{metrics_port}");
    let _server = spawn_server_with(
        &bin,
        through.as_str(),
        port,
        &data,
        Some(&sandbox),
        &[(
            "PHONEHUB_METRICS_ADDR",
            &format!("127.0.0.1:{metrics_port}"),
        )],
    )?;
    wait_healthy(&base).await?;
    let admin = login(&base, "admin@acme.test").await?;
    configure(&base, &admin, "acme").await?;
    let member = login(&base, "user@acme.test").await?;
    if member
        .get(format!("{base}/o/acme/lookup"))
        .send()
        .await?
        .status()
        != 200
    {
        return Err("the lookup page did not load".into());
    }

    // Every held number answered from memory in one round: the server holds them all.
    let held: Vec<String> = (0..HELD)
        .map(|i| format!("+1415555{:04}", 4000 + i))
        .collect();
    let mut asked = 0i64;
    let mut round = 0;
    loop {
        round += 1;
        let before = metric(&metrics, "phonehub_lookups_total", "from=\"memory\"").await;
        for n in &held {
            let r = look(&base, &member, n).await?;
            if r.status() != 303 {
                return Err(format!("lookup {n}: {}", r.status()).into());
            }
            asked += 1;
        }
        let after = metric(&metrics, "phonehub_lookups_total", "from=\"memory\"").await;
        if after - before >= HELD as f64 {
            break;
        }
        if round == 20 {
            return Err("the numbers were not held in memory after 20 rounds".into());
        }
    }
    // Bought once each, the rest hits: all written before the cut.
    let hits_before = asked - HELD as i64;
    wait_for(
        "events before the cut",
        Duration::from_secs(30),
        async || hit_events(&pool, &held).await.ok() == Some(hits_before),
    )
    .await?;
    println!(
        "outage of {} s (database behind a black hole), {WORKERS} clients, {HELD} numbers held:",
        OUTAGE.as_secs()
    );

    proxy.set_up(false);
    let cut = Instant::now();
    let kinds: Arc<Mutex<[Kind; 3]>> = Arc::default();
    let mut tasks = Vec::new();
    for w in 0..WORKERS {
        let (base, member, held, kinds) =
            (base.clone(), member.clone(), held.clone(), kinds.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = w;
            while cut.elapsed() < OUTAGE {
                let n = &held[i % held.len()];
                let t = Instant::now();
                let ok = held_and_shown(&base, &member, n).await;
                kinds.lock().unwrap()[0].add(ok, t.elapsed());
                let t = Instant::now();
                let other = format!("+1415555{:04}", 6000 + i % 1000);
                let ok = is_503(look(&base, &member, &other).await).await;
                kinds.lock().unwrap()[1].add(ok, t.elapsed());
                let t = Instant::now();
                let ok = is_503(member.get(format!("{base}/o/acme/calls")).send().await).await;
                kinds.lock().unwrap()[2].add(ok, t.elapsed());
                i += WORKERS;
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let healthz = reqwest::get(format!("{base}/healthz")).await?.status();
    let readyz = reqwest::get(format!("{base}/readyz")).await?.status();
    let mut kinds = std::mem::take(&mut *kinds.lock().unwrap());
    let answered = kinds[0].ok as i64;
    println!(
        "{}",
        kinds[0].line("held number, lookup + answer page", "answered from memory")
    );
    println!(
        "{}",
        kinds[1].line("number not held, lookup", "answered 503")
    );
    println!("{}", kinds[2].line("call history page", "answered 503"));
    println!("  /healthz {healthz}, /readyz {readyz}");

    proxy.set_up(true);
    let back = wait_for("ready again", Duration::from_secs(60), async || {
        reqwest::get(format!("{base}/readyz"))
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await?;
    let expected = hits_before + answered;
    let written = wait_for(
        "events after the outage",
        Duration::from_secs(60),
        async || hit_events(&pool, &held).await.ok() == Some(expected),
    )
    .await;
    let lost = metric(&metrics, "phonehub_lookup_events_lost_total", "").await as u64;
    println!("after the database is back:");
    println!("  ready again in {back:.2} s");
    match written {
        Ok(t) => println!(
            "  all {answered} hits answered during the outage written as events within {t:.2} s (lost: {lost})"
        ),
        Err(_) => println!(
            "  hit events: {} of {expected} written (lost: {lost})",
            hit_events(&pool, &held).await?
        ),
    }
    Ok(())
}

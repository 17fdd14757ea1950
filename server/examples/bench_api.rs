//! The public API against the page's server function (run by bench/api.sh with a fresh database in
//! DATABASE_URL): cached lookups of 16 numbers, 16 concurrent clients, through
//! `GET /v1/lookups/{number}` with an API key and through `POST /api/lookup_number` with a session
//! (what the lookup form calls), in interleaved rounds against one release server. Prints both
//! rates and their ratio (target: the API is not slower, ratio >= 1.0).

use std::time::{Duration, Instant};

mod common;

use common::*;

const CLIENTS: usize = 16;
const ROUNDS: usize = 3;
const ROUND: Duration = Duration::from_secs(3);

fn numbers() -> Vec<String> {
    (0..16)
        .map(|i| format!("+1415555{:04}", 3000 + i))
        .collect()
}

#[derive(Clone, Copy)]
enum Via {
    Api,
    Page,
}

/// Requests answered per second by `CLIENTS` tasks for `ROUND`; any failure is an error.
async fn round(via: Via, base: &str, key: &str, session: &reqwest::Client) -> Res<f64> {
    let deadline = Instant::now() + ROUND;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..CLIENTS {
        let (base, key) = (base.to_string(), key.to_string());
        let api = reqwest::Client::builder().build()?;
        let session = session.clone();
        tasks.push(tokio::spawn(async move {
            let numbers = numbers();
            let mut n = 0u64;
            let mut k = i;
            while Instant::now() < deadline {
                let number = &numbers[k % numbers.len()];
                let r = match via {
                    Via::Api => {
                        api.get(format!("{base}/v1/lookups/{number}"))
                            .bearer_auth(&key)
                            .send()
                            .await
                    }
                    Via::Page => {
                        session
                            .post(format!("{base}/api/lookup_number"))
                            .form(&[("org", "acme"), ("number", number.as_str())])
                            .send()
                            .await
                    }
                };
                let r = r.map_err(|e| e.to_string())?;
                if r.status().as_u16() >= 400 {
                    return Err(format!("{}", r.status()));
                }
                r.bytes().await.map_err(|e| e.to_string())?;
                n += 1;
                k += 1;
            }
            Ok::<u64, String>(n)
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await?.map_err(|e| format!("request failed: {e}"))?;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() -> Res<()> {
    let db = std::env::var("DATABASE_URL").map_err(|_| "set DATABASE_URL to an empty database")?;
    let bin = std::env::var("PHONEHUB_BIN").unwrap_or_else(|_| "target/release/phonehub".into());
    let sandbox = start_sandbox().await?;
    let data = std::env::temp_dir().join(format!("phonehub-bench-api-{}", std::process::id()));
    std::fs::create_dir_all(&data)?;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let _srv = spawn_server_with(
        &bin,
        &db,
        port,
        &data,
        Some(&sandbox),
        &[("PHONEHUB_API_REQUESTS_PER_MINUTE", "1000000000")],
    )?;
    wait_healthy(&base).await?;
    let admin = login(&base, "admin@acme.test").await?;
    configure(&base, &admin, "acme").await?;
    let r = admin
        .post(format!("{base}/api/create_api_key"))
        .form(&[("org", "acme"), ("name", "bench"), ("scope_lookups", "on")])
        .send()
        .await?;
    let v: serde_json::Value = r.json().await?;
    let key = v["key"].as_str().ok_or("no key")?.to_string();
    // Every number looked up once (paid), so both paths answer from the cache.
    for n in numbers() {
        let r = admin
            .post(format!("{base}/api/lookup_number"))
            .form(&[("org", "acme"), ("number", n.as_str())])
            .send()
            .await?;
        if r.status().as_u16() >= 400 {
            return Err(format!("warm-up lookup: {}", r.status()).into());
        }
    }
    // Warm both paths once.
    round(Via::Api, &base, &key, &admin).await?;
    round(Via::Page, &base, &key, &admin).await?;
    let (mut api, mut page) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        api.push(round(Via::Api, &base, &key, &admin).await?);
        page.push(round(Via::Page, &base, &key, &admin).await?);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (a, p) = (mean(&api), mean(&page));
    println!(
        "cached lookups, {CLIENTS} concurrent clients, {ROUNDS} interleaved rounds of {} s:",
        ROUND.as_secs()
    );
    println!("  GET /v1/lookups/{{number}} (API key):       {a:.0} req/s");
    println!("  POST /api/lookup_number (session, the page): {p:.0} req/s");
    println!("  ratio API / page: {:.2} (target >= 1.0)", a / p);
    println!(
        "  rounds (req/s): API {:?}, page {:?}",
        api.iter().map(|x| x.round()).collect::<Vec<_>>(),
        page.iter().map(|x| x.round()).collect::<Vec<_>>()
    );
    let _ = std::fs::remove_dir_all(&data);
    Ok(())
}

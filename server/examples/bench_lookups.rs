//! Lookup benchmarks (run by bench/lookups.sh with a fresh database in DATABASE_URL):
//!
//! 1. Single-flight: 64 concurrent lookups of 16 numbers through two `phonehub` processes sharing
//!    one database and one sandbox; the sandbox's billed lookups must be 16.
//! 2. Cached lookups/s through the lookup service (`app::ssr::lookups::lookup`, served by axum,
//!    answered from the per-process hot cache)
//!    against a bare axum + sqlx handler doing the primary-key SELECT of the cached row, same pool
//!    size and client concurrency, interleaved rounds in one run.
//! 3. The admin lookups page (full server render, signed in) for an org with 1M lookup events
//!    against one with 10k: p50 of each and their ratio.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

mod common;

use common::*;

const CONCURRENCY: usize = 16;
const POOL: u32 = 8;
const PAGE_TITLE: &str = "Lookup costs and cache savings";

async fn single_flight(db: &str, bin: &str, sandbox: &str) -> Res<()> {
    let data = std::env::temp_dir().join(format!("phonehub-bench-{}", std::process::id()));
    std::fs::create_dir_all(&data)?;
    let (pa, pb) = (free_port(), free_port());
    let (a, b) = (
        format!("http://127.0.0.1:{pa}"),
        format!("http://127.0.0.1:{pb}"),
    );
    let _first = spawn_server(bin, db, pa, &data, Some(sandbox))?;
    wait_healthy(&a).await?;
    let _second = spawn_server(bin, db, pb, &data, Some(sandbox))?;
    wait_healthy(&b).await?;
    let admin = login(&a, "admin@acme.test").await?;
    configure(&a, &admin, "acme").await?;
    let ua = login(&a, "user@acme.test").await?;
    let ub = login(&b, "user@acme.test").await?;
    let numbers: Vec<String> = (0..16)
        .map(|i| format!("+1415555{:04}", 3000 + i))
        .collect();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..64 {
        let (base, c) = if i % 2 == 0 {
            (a.clone(), ua.clone())
        } else {
            (b.clone(), ub.clone())
        };
        let n = numbers[i % 16].clone();
        tasks.push(tokio::spawn(async move {
            c.post(format!("{base}/api/lookup_number"))
                .form(&[("org", "acme"), ("number", n.as_str())])
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }));
    }
    let mut ok = 0;
    for t in tasks {
        if (200..400).contains(&t.await.unwrap_or(0)) {
            ok += 1;
        }
    }
    let took = started.elapsed();
    let stats: serde_json::Value = reqwest::Client::new()
        .get(format!("{sandbox}/_stats"))
        .basic_auth(
            telephony::sandbox::DEV_ACCOUNT_SID,
            Some(telephony::sandbox::DEV_AUTH_TOKEN),
        )
        .send()
        .await?
        .json()
        .await?;
    let billed = stats["billed_lookups"].as_u64().unwrap_or(0);
    println!("single-flight: 64 concurrent lookups of 16 numbers via 2 server processes");
    println!(
        "  answered OK: {ok}/64 in {:.0} ms",
        took.as_secs_f64() * 1000.0
    );
    println!(
        "  sandbox billed lookups: {billed} (must be 16) -> {}",
        if billed == 16 && ok == 64 {
            "PASS"
        } else {
            "FAIL"
        }
    );
    let _ = std::fs::remove_dir_all(&data);
    if billed != 16 || ok != 64 {
        return Err("single-flight failed".into());
    }
    Ok(())
}

#[derive(Clone)]
struct Bench {
    pool: PgPool,
    state: app::ssr::AppState,
    org_id: i64,
    user_id: i64,
}

async fn bare(State(b): State<Arc<Bench>>, Path(n): Path<String>) -> String {
    // The same primary-key SELECT of the cached row that a cache hit runs.
    let Ok(n) = n.parse::<telephony::E164>() else {
        return "bad number".into();
    };
    match app::ssr::fixtures::cached_lookup(&b.pool, &n).await {
        Ok(Some(row)) => format!("{} {:?}", row.e164, row.line_type),
        _ => "missing".into(),
    }
}

async fn cached(State(b): State<Arc<Bench>>, Path(n): Path<String>) -> String {
    let Ok(n) = n.parse::<telephony::E164>() else {
        return "bad number".into();
    };
    let deps = b.state.lookup_deps();
    match app::ssr::lookups::lookup(&deps, b.org_id, Some(b.user_id), &n, false, None).await {
        Ok((o, row)) => format!("{} {:?} {}", row.e164, row.line_type, o.as_str()),
        Err(e) => format!("error {e}"),
    }
}

async fn hammer(base: &str, path: &str, numbers: &[String], dur: Duration) -> Res<f64> {
    let c = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let deadline = Instant::now() + dur;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..CONCURRENCY {
        let c = c.clone();
        let url = format!("{base}{path}");
        let numbers = numbers.to_vec();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            let mut i = w;
            while Instant::now() < deadline {
                let num = &numbers[i % numbers.len()];
                i += 7;
                let ok = c
                    .get(format!("{url}/{}", num.replace('+', "%2B")))
                    .send()
                    .await
                    .map(|r| r.status().is_success())
                    .unwrap_or(false);
                if ok {
                    n += 1;
                }
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap_or(0);
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

async fn throughput(db: &str, sandbox: &str) -> Res<()> {
    let pool = PgPoolOptions::new()
        .max_connections(POOL)
        .connect(db)
        .await?;
    let org_id: i64 = sqlx::query_scalar("SELECT id FROM orgs WHERE slug = 'acme'")
        .fetch_one(&pool)
        .await?;
    let user_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = 'user@acme.test'")
        .fetch_one(&pool)
        .await?;
    let keyring = Arc::new(app::ssr::crypto::Keyring::parse(&format!(
        "bench:{}",
        app::ssr::crypto::Key::generate_b64()
    ))?);
    let state = app::ssr::AppState {
        pool: pool.clone(),
        leptos_options: leptos::prelude::LeptosOptions::builder()
            .output_name("phonehub")
            .build(),
        public_url: url::Url::parse("http://127.0.0.1:1")?,
        dev_mode: false,
        trust_proxy: false,
        job_timing: Default::default(),
        keyring,
        // The org's config is the development sandbox, which runs beside this process.
        providers: app::ssr::providers::Providers::new(
            None,
            true,
            Some(sandbox.to_string()),
            Default::default(),
        ),
        events: app::ssr::lookup_events::EventSink::start(pool.clone()),
        hot: app::ssr::hot_cache::HotCache::default(),
        known: app::ssr::last_known::LastKnown::for_pool(&pool),
        passwords: app::ssr::auth::Passwords::ephemeral(),
        clock: Default::default(),
        mailer: None,
        dispatch: Default::default(),
    };
    state.hot.spawn_listener(&pool);
    let numbers: Vec<String> = (0..200).map(|i| format!("+1415556{:04}", i)).collect();
    let bench = Arc::new(Bench {
        pool: pool.clone(),
        state,
        org_id,
        user_id,
    });
    // The config was saved by another process with its own key: re-save the token under ours.
    reencrypt_for(&bench).await?;
    // Hits are kept in this process's hot cache once its listener hears row changes.
    let listening = Instant::now();
    while !bench.state.hot.listening() {
        if listening.elapsed() > Duration::from_secs(10) {
            return Err("the hot cache's listener did not connect".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Warm the cache: each number is looked up once (a miss) through the sandbox config.
    for n in &numbers {
        let deps = bench.state.lookup_deps();
        let n = n.parse::<telephony::E164>()?;
        app::ssr::lookups::lookup(&deps, org_id, Some(user_id), &n, false, None)
            .await
            .map_err(|e| format!("warm-up lookup: {e}"))?;
    }
    let router = Router::new()
        .route("/bare/{n}", get(bare))
        .route("/cached/{n}", get(cached))
        .with_state(bench.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, router).await });
    let round = Duration::from_secs(3);
    hammer(&base, "/bare", &numbers, Duration::from_secs(1)).await?;
    hammer(&base, "/cached", &numbers, Duration::from_secs(1)).await?;
    let (mut bare_total, mut cached_total) = (0.0, 0.0);
    for _ in 0..3 {
        bare_total += hammer(&base, "/bare", &numbers, round).await?;
        cached_total += hammer(&base, "/cached", &numbers, round).await?;
    }
    bench.state.events.flush().await;
    let events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM lookup_events WHERE outcome = 'hit'")
            .fetch_one(&pool)
            .await?;
    println!("cached lookup throughput ({CONCURRENCY} concurrent clients, pool of {POOL}, 3 interleaved rounds of 3 s):");
    println!(
        "  bare axum + sqlx primary-key SELECT: {:.0} req/s",
        bare_total / 3.0
    );
    println!(
        "  lookup service, cache hit (hot cache + attribution event): {:.0} req/s",
        cached_total / 3.0
    );
    println!(
        "  ratio: {:.2} (target >= 2.0); hit events recorded: {events}; hot cache entries: {}",
        cached_total / bare_total,
        bench.state.hot.entries()
    );
    Ok(())
}

async fn reencrypt_for(b: &Bench) -> Res<()> {
    let sealed = b
        .state
        .keyring
        .encrypt(telephony::sandbox::DEV_AUTH_TOKEN)?;
    sqlx::query(
        "UPDATE phone_configs SET token_ciphertext = $1, token_nonce = $2, token_key_id = $3, version = version + 1",
    )
    .bind(&sealed.ciphertext)
    .bind(&sealed.nonce)
    .bind(&sealed.key_id)
    .execute(&b.pool)
    .await?;
    Ok(())
}

/// Loads `n` lookup events for `org` spread over the last 90 days, with their rollups.
async fn load_events(pool: &PgPool, org: i64, n: i64) -> Res<()> {
    sqlx::query(
        r#"INSERT INTO lookup_events (org_id, user_id, e164, outcome, cost_micros, saved_micros, line_type, created_at)
           SELECT $1, NULL, '+1415557' || lpad((g % 5000)::text, 4, '0'),
                  CASE WHEN g % 4 = 0 THEN 'miss' WHEN g % 97 = 0 THEN 'error' ELSE 'hit' END,
                  CASE WHEN g % 4 = 0 THEN 5000 ELSE 0 END,
                  CASE WHEN g % 4 = 0 OR g % 97 = 0 THEN 0 ELSE 5000 END,
                  (ARRAY['mobile','landline','nonFixedVoip','fixedVoip'])[1 + g % 4],
                  now() - (g % (90 * 24 * 60)) * interval '1 minute'
           FROM generate_series(1, $2) g"#,
    )
    .bind(org)
    .bind(n)
    .execute(pool)
    .await?;
    sqlx::query(
        r#"INSERT INTO lookup_daily (org_id, day, line_type, requests, hits, misses, refreshes, errors, cost_micros, saved_micros)
           SELECT org_id, (created_at AT TIME ZONE 'UTC')::date, coalesce(line_type, ''), count(*),
                  count(*) FILTER (WHERE outcome = 'hit'), count(*) FILTER (WHERE outcome = 'miss'),
                  count(*) FILTER (WHERE outcome = 'refresh'), count(*) FILTER (WHERE outcome = 'error'),
                  sum(cost_micros), sum(saved_micros)
           FROM lookup_events WHERE org_id = $1 GROUP BY 1, 2, 3
           ON CONFLICT (org_id, day, line_type) DO NOTHING"#,
    )
    .bind(org)
    .execute(pool)
    .await?;
    sqlx::query(
        r#"INSERT INTO lookup_number_years (org_id, e164, year, cumulative)
           SELECT org_id, e164, y,
                  ARRAY[0, count(*) FILTER (WHERE m <= 1), count(*) FILTER (WHERE m <= 2), count(*) FILTER (WHERE m <= 3),
                        count(*) FILTER (WHERE m <= 4), count(*) FILTER (WHERE m <= 5), count(*) FILTER (WHERE m <= 6), count(*) FILTER (WHERE m <= 7),
                        count(*) FILTER (WHERE m <= 8), count(*) FILTER (WHERE m <= 9), count(*) FILTER (WHERE m <= 10), count(*) FILTER (WHERE m <= 11),
                        count(*)]
           FROM (SELECT org_id, e164, extract(year FROM created_at AT TIME ZONE 'UTC')::int2 AS y,
                        extract(month FROM created_at AT TIME ZONE 'UTC')::int4 AS m
                 FROM lookup_events WHERE org_id = $1) e
           GROUP BY 1, 2, 3
           ON CONFLICT (org_id, e164, year) DO NOTHING"#,
    )
    .bind(org)
    .execute(pool)
    .await?;
    sqlx::query("ANALYZE").execute(pool).await?;
    Ok(())
}

async fn admin_page(db: &str, bin: &str) -> Res<()> {
    let pool = PgPoolOptions::new().max_connections(4).connect(db).await?;
    // Two orgs owned by admin@acme.test: one with 10k events, one with 1M.
    for (slug, name) in [
        ("bench-small", "Bench small"),
        ("bench-large", "Bench large"),
    ] {
        sqlx::query(
            "WITH o AS (INSERT INTO orgs (slug, name) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING id)
             INSERT INTO memberships (org_id, user_id, role)
             SELECT o.id, u.id, 'owner' FROM o, users u WHERE u.email = 'admin@acme.test'",
        )
        .bind(slug)
        .bind(name)
        .execute(&pool)
        .await?;
    }
    let small: i64 = sqlx::query_scalar("SELECT id FROM orgs WHERE slug = 'bench-small'")
        .fetch_one(&pool)
        .await?;
    let large: i64 = sqlx::query_scalar("SELECT id FROM orgs WHERE slug = 'bench-large'")
        .fetch_one(&pool)
        .await?;
    let t = Instant::now();
    load_events(&pool, small, 10_000).await?;
    load_events(&pool, large, 1_000_000).await?;
    println!(
        "admin lookups page: loaded 10k and 1M events in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let data = std::env::temp_dir().join(format!("phonehub-bench-page-{}", std::process::id()));
    std::fs::create_dir_all(&data)?;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let _srv = spawn_server(bin, db, port, &data, None)?;
    wait_healthy(&base).await?;
    let c = login(&base, "admin@acme.test").await?;
    for slug in ["bench-small", "bench-large"] {
        page_p50(&c, &format!("{base}/o/{slug}/admin/lookups"), 5, PAGE_TITLE).await?;
    }
    let (mut s, mut l) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        s.push(
            page_p50(
                &c,
                &format!("{base}/o/bench-small/admin/lookups"),
                9,
                PAGE_TITLE,
            )
            .await?,
        );
        l.push(
            page_p50(
                &c,
                &format!("{base}/o/bench-large/admin/lookups"),
                9,
                PAGE_TITLE,
            )
            .await?,
        );
    }
    s.sort_by(|a, b| a.total_cmp(b));
    l.sort_by(|a, b| a.total_cmp(b));
    let (ps, pl) = (s[2], l[2]);
    // A 90-day range too (the chart and rollups over three months).
    let today = time::OffsetDateTime::now_utc().date();
    let from = today - time::Duration::days(89);
    let q = format!("?from={from}&to={today}");
    let rs = page_p50(
        &c,
        &format!("{base}/o/bench-small/admin/lookups{q}"),
        15,
        PAGE_TITLE,
    )
    .await?;
    let rl = page_p50(
        &c,
        &format!("{base}/o/bench-large/admin/lookups{q}"),
        15,
        PAGE_TITLE,
    )
    .await?;
    println!("  this month:   p50 10k events {ps:.1} ms, 1M events {pl:.1} ms, ratio {:.2} (target <= 1.5)", pl / ps);
    println!(
        "  last 90 days: p50 10k events {rs:.1} ms, 1M events {rl:.1} ms, ratio {:.2} (target <= 1.2)",
        rl / rs
    );
    let _ = std::fs::remove_dir_all(&data);
    Ok(())
}

#[tokio::main]
async fn main() -> Res<()> {
    let db = std::env::var("DATABASE_URL").map_err(|_| "set DATABASE_URL to an empty database")?;
    let bin = std::env::var("PHONEHUB_BIN").unwrap_or_else(|_| "target/release/phonehub".into());
    let sandbox = start_sandbox().await?;
    single_flight(&db, &bin, &sandbox).await?;
    throughput(&db, &sandbox).await?;
    admin_page(&db, &bin).await?;
    Ok(())
}

//! SMS sending with budgets against none (run by bench/sms.sh with a fresh database in
//! DATABASE_URL): 8 concurrent clients send through `POST /v1/messages` with two members' API
//! keys, from their own numbers, in interleaved rounds against one release server (8: within
//! the default pool of 10, as each send holds a connection while it waits for its member's
//! hourly-limit lock). Three settings: no budget; the org's SMS hard cap (the usual setting);
//! three hard caps per send (org-wide monthly, SMS daily, the member's own monthly), each
//! reserved and settled. Prints the rates and their ratios to no budget (target: >= 0.9).

use std::time::{Duration, Instant};

mod common;

use common::*;

const CLIENTS: usize = 8;
const ROUNDS: usize = 3;
const ROUND: Duration = Duration::from_secs(3);
const MEMBERS: [(&str, &str); 2] = [
    ("admin@acme.test", "+15005550007"),
    ("user@acme.test", "+15005550008"),
];

/// Messages accepted per second by `CLIENTS` tasks for `ROUND`; any failure is an error.
async fn round(base: &str, keys: &[String]) -> Res<f64> {
    let deadline = Instant::now() + ROUND;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..CLIENTS {
        let (base, key, from) = (
            base.to_string(),
            keys[i % keys.len()].clone(),
            MEMBERS[i % MEMBERS.len()].1,
        );
        let c = reqwest::Client::builder().build()?;
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                // Spread over 700 exchanges: the pumping guard serialises sends to one prefix.
                let k = i as u64 * 613 + n;
                let to = format!("+1415{:03}{:04}", 200 + k % 700, k % 10_000);
                let r = c
                    .post(format!("{base}/v1/messages"))
                    .bearer_auth(&key)
                    .json(
                        &serde_json::json!({"from": from, "to": to, "body": "Your code is 123456"}),
                    )
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if r.status().as_u16() != 201 {
                    return Err(format!(
                        "{}: {}",
                        r.status(),
                        r.text().await.unwrap_or_default()
                    ));
                }
                n += 1;
            }
            Ok::<u64, String>(n)
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await?.map_err(|e| format!("send failed: {e}"))?;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

/// How many hard caps cover each send: none, the org's SMS cap alone (the usual setting), or
/// three (an org-wide monthly cap, an SMS daily cap and each member's own monthly cap).
#[derive(Clone, Copy)]
enum Caps {
    None,
    One,
    Three,
}

/// Sets the org's budgets to `caps` (each far above what a round spends).
async fn budgets(pool: &sqlx::PgPool, org: i64, users: &[i64], caps: Caps) -> Res<()> {
    sqlx::query("DELETE FROM budgets WHERE org_id = $1")
        .bind(org)
        .execute(pool)
        .await?;
    let insert = |user: Option<i64>, category: Option<&'static str>, period: &'static str| {
        sqlx::query(
            "INSERT INTO budgets (org_id, user_id, category, period, amount_micros, hard_cap)
             VALUES ($1, $2, $3, $4, 900000000000, true)",
        )
        .bind(org)
        .bind(user)
        .bind(category)
        .bind(period)
        .execute(pool)
    };
    match caps {
        Caps::None => {}
        Caps::One => {
            insert(None, Some("sms"), "month").await?;
        }
        Caps::Three => {
            insert(None, None, "month").await?;
            insert(None, Some("sms"), "day").await?;
            for u in users {
                insert(Some(*u), None, "month").await?;
            }
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Res<()> {
    let db = std::env::var("DATABASE_URL").map_err(|_| "set DATABASE_URL to an empty database")?;
    let bin = std::env::var("PHONEHUB_BIN").unwrap_or_else(|_| "target/release/phonehub".into());
    let sandbox = start_sandbox().await?;
    let data = std::env::temp_dir().join(format!("phonehub-bench-sms-{}", std::process::id()));
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
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(&db)
        .await?;
    // The hourly SMS limit would stop a benchmark; budgets are what is measured.
    sqlx::query(
        "INSERT INTO limits (item, per_hour) VALUES ('sms.send', 2000000000)
         ON CONFLICT (item) DO UPDATE SET per_hour = EXCLUDED.per_hour",
    )
    .execute(&pool)
    .await?;
    // Nor may the pumping guard pause a benchmark's thousands of texts an hour.
    sqlx::query(
        "INSERT INTO destination_rules (org_id, velocity_per_hour)
         SELECT id, 100000 FROM orgs WHERE slug = 'acme'
         ON CONFLICT (org_id) DO UPDATE SET velocity_per_hour = EXCLUDED.velocity_per_hour",
    )
    .execute(&pool)
    .await?;
    let owner = login(&base, MEMBERS[0].0).await?;
    configure(&base, &owner, "acme").await?;
    let (mut keys, mut users) = (Vec::new(), Vec::new());
    for (email, number) in MEMBERS {
        let c = login(&base, email).await?;
        let key_field = format!("{:0>32}", number.trim_start_matches('+'));
        let r = c
            .post(format!("{base}/api/buy_number"))
            .form(&[
                ("org", "acme"),
                ("number", number),
                ("key", key_field.as_str()),
                ("friendly_name", "Bench"),
            ])
            .send()
            .await?;
        if r.status().as_u16() >= 400 {
            return Err(format!("buying {number}: {}", r.status()).into());
        }
        let user: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
            .bind(email)
            .fetch_one(&pool)
            .await?;
        let acting = user.to_string();
        let r = owner
            .post(format!("{base}/api/create_api_key"))
            .form(&[
                ("org", "acme"),
                ("name", "bench"),
                ("acting_as", acting.as_str()),
                ("scope_messages", "on"),
            ])
            .send()
            .await?;
        let v: serde_json::Value = r.json().await?;
        keys.push(v["key"].as_str().ok_or("no key")?.to_string());
        users.push(user);
    }
    let org: i64 = sqlx::query_scalar("SELECT id FROM orgs WHERE slug = 'acme'")
        .fetch_one(&pool)
        .await?;
    // Warm every way once.
    for caps in [Caps::None, Caps::One, Caps::Three] {
        budgets(&pool, org, &users, caps).await?;
        round(&base, &keys).await?;
    }
    let (mut off, mut one, mut three) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        budgets(&pool, org, &users, Caps::None).await?;
        off.push(round(&base, &keys).await?);
        budgets(&pool, org, &users, Caps::One).await?;
        one.push(round(&base, &keys).await?);
        budgets(&pool, org, &users, Caps::Three).await?;
        three.push(round(&base, &keys).await?);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (b, a1, a3) = (mean(&off), mean(&one), mean(&three));
    let r = |v: &[f64]| v.iter().map(|x| x.round()).collect::<Vec<_>>();
    println!(
        "SMS sends through /v1/messages, {CLIENTS} concurrent clients over 2 members, {ROUNDS} interleaved rounds of {} s:",
        ROUND.as_secs()
    );
    println!(
        "  no budget:                          {b:.0} messages/s {:?}",
        r(&off)
    );
    println!(
        "  the org's SMS hard cap:             {a1:.0} messages/s {:?}",
        r(&one)
    );
    println!(
        "  three hard caps (org, SMS, member): {a3:.0} messages/s {:?}",
        r(&three)
    );
    println!("  ratio one cap / none:    {:.2} (target >= 0.9)", a1 / b);
    println!("  ratio three caps / none: {:.2}", a3 / b);
    let _ = std::fs::remove_dir_all(&data);
    Ok(())
}

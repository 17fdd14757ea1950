//! Usage-page benchmark (run by bench/usage.sh with a fresh database in DATABASE_URL): the
//! org usage and spend page (full server render, signed in as an org owner) for an org with 1M
//! calls, 1M lookup events and 100k SMS against one with 10k of each: p50 of each and their ratio,
//! for this month and for the last 90 days.

mod common;

use std::time::Instant;

use common::*;

const PAGE_TITLE: &str = "Usage and spend";

/// `n` lookup events over the last year (a quarter paid misses).
async fn load_lookups(pool: &sqlx::PgPool, org: i64, user: i64, n: i64) -> Res<()> {
    sqlx::query(
        r#"INSERT INTO lookup_events (org_id, user_id, e164, outcome, cost_micros, saved_micros, line_type, created_at)
           SELECT $1, $2, '+1415557' || lpad((g % 5000)::text, 4, '0'),
                  CASE WHEN g % 4 = 0 THEN 'miss' ELSE 'hit' END,
                  CASE WHEN g % 4 = 0 THEN 5000 ELSE 0 END, CASE WHEN g % 4 = 0 THEN 0 ELSE 5000 END,
                  'mobile', now() - (g::float8 * 365 * 86400 / $3) * interval '1 second'
           FROM generate_series(1, $3) g"#,
    )
    .bind(org)
    .bind(user)
    .bind(n)
    .execute(pool)
    .await?;
    Ok(())
}

/// `n` delivered outbound messages over the last year, 1–3 segments each.
async fn load_sms(pool: &sqlx::PgPool, org: i64, user: i64, n: i64) -> Res<()> {
    sqlx::query(
        r#"INSERT INTO messages (org_id, user_id, direction, our_e164, other_e164, body, segments,
                                 encoding, status, cost_micros, created_at)
           SELECT $1, $2, 'outbound', '+14155550100', '+1212555' || lpad((g % 9000)::text, 4, '0'),
                  'Your order has shipped', 1 + g % 3, 'gsm7', 'delivered', (1 + g % 3) * 7900,
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

/// Numbers held by the org (20), so the idle-number check has work to do.
async fn load_numbers(pool: &sqlx::PgPool, org: i64, user: i64, prefix: &str) -> Res<()> {
    sqlx::query(
        r#"INSERT INTO owned_numbers (org_id, user_id, e164, status, voice, sms, monthly_price_micros,
                                      idempotency_key, purchased_at)
           SELECT $1, $2, $3 || lpad(g::text, 4, '0'), 'active', TRUE, TRUE, 1000000, 'bench' || g,
                  now() - interval '60 days'
           FROM generate_series(1, 20) g"#,
    )
    .bind(org)
    .bind(user)
    .bind(prefix)
    .execute(pool)
    .await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Res<()> {
    let Setup {
        srv,
        base,
        data,
        pool,
        small,
        large,
        user,
    } = setup("usage").await?;
    let t = Instant::now();
    load_numbers(&pool, small, user, "+1415201").await?;
    load_numbers(&pool, large, user, "+1415202").await?;
    for (org, n_calls, n_lookups, n_sms) in [
        (small, 10_000, 10_000, 10_000),
        (large, 1_000_000, 1_000_000, 100_000),
    ] {
        load_calls(&pool, org, user, n_calls).await?;
        load_lookups(&pool, org, user, n_lookups).await?;
        load_sms(&pool, org, user, n_sms).await?;
    }
    app_charges(&pool).await?;
    sqlx::query("ANALYZE").execute(&pool).await?;
    let ledger: i64 = sqlx::query_scalar("SELECT count(*) FROM usage_daily")
        .fetch_one(&pool)
        .await?;
    println!(
        "usage page: loaded 10k calls/lookups/SMS and 1M calls, 1M lookups, 100k SMS in {:.1} s ({ledger} ledger rows)",
        t.elapsed().as_secs_f64()
    );
    let c = login(&base, "admin@acme.test").await?;
    let page = |slug: &str, q: &str| format!("{base}/o/{slug}/admin/usage{q}");
    for slug in ["bench-small", "bench-large"] {
        page_p50(&c, &page(slug, ""), 5, PAGE_TITLE).await?;
    }
    let today = time::OffsetDateTime::now_utc().date();
    let from = today - time::Duration::days(89);
    for (label, q) in [
        ("this month", String::new()),
        ("last 90 days", format!("?from={from}&to={today}")),
    ] {
        let (mut s, mut l) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            s.push(page_p50(&c, &page("bench-small", &q), 9, PAGE_TITLE).await?);
            l.push(page_p50(&c, &page("bench-large", &q), 9, PAGE_TITLE).await?);
        }
        s.sort_by(|a, b| a.total_cmp(b));
        l.sort_by(|a, b| a.total_cmp(b));
        println!(
            "  {label:<13} p50 10k each {:.1} ms, 1M calls + 1M lookups + 100k SMS {:.1} ms, ratio {:.2} (target <= 1.5)",
            s[2],
            l[2],
            l[2] / s[2]
        );
    }
    drop(srv);
    let _ = std::fs::remove_dir_all(&data);
    Ok(())
}

/// This month's number charges (what the server's worker does every minute).
async fn app_charges(pool: &sqlx::PgPool) -> Res<()> {
    app::ssr::fixtures::accrue_charges(pool, time::OffsetDateTime::now_utc()).await?;
    Ok(())
}

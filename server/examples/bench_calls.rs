//! Call-history benchmarks (run by bench/calls.sh with a fresh database in DATABASE_URL):
//!
//! 1. The call-history page (50 rows, full server render, signed in as an org admin) for an org
//!    with 1M calls against one with 10k: p50 of each and their ratio, unfiltered, with a status
//!    filter, and one page deep (keyset cursor).
//! 2. The CSV export of the 1M-call org, streamed: rows, bytes, rows/s, and the server's resident
//!    memory before, during (peak of samples) and after.

mod common;

use std::time::{Duration, Instant};

use common::*;

const PAGE_TITLE: &str = "Calls in";

async fn median_of_rounds(c: &reqwest::Client, small: &str, large: &str) -> Res<(f64, f64)> {
    let (mut s, mut l) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        s.push(page_p50(c, small, 9, PAGE_TITLE).await?);
        l.push(page_p50(c, large, 9, PAGE_TITLE).await?);
    }
    s.sort_by(|a, b| a.total_cmp(b));
    l.sort_by(|a, b| a.total_cmp(b));
    Ok((s[2], l[2]))
}

/// The cursor of the history's next page (from the page's "Older calls" link).
async fn next_cursor(c: &reqwest::Client, url: &str) -> Res<String> {
    let body = c.get(url).send().await?.text().await?;
    let at = body.find("before=").ok_or("no next page link")?;
    let rest = &body[at + "before=".len()..];
    let end = rest.find(['"', '&']).ok_or("bad link")?;
    Ok(rest[..end].to_string())
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
    } = setup("calls").await?;
    let t = Instant::now();
    load_calls(&pool, small, user, 10_000).await?;
    load_calls(&pool, large, user, 1_000_000).await?;
    sqlx::query("ANALYZE calls").execute(&pool).await?;
    println!(
        "call history: loaded 10k and 1M calls in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let c = login(&base, "admin@acme.test").await?;
    let page = |slug: &str, q: &str| format!("{base}/o/{slug}/calls{q}");
    for slug in ["bench-small", "bench-large"] {
        page_p50(&c, &page(slug, ""), 5, PAGE_TITLE).await?;
    }
    for (label, q) in [
        ("first page", String::new()),
        ("status=completed", "?status=completed".to_string()),
        ("status=failed", "?status=failed".to_string()),
    ] {
        let (ps, pl) =
            median_of_rounds(&c, &page("bench-small", &q), &page("bench-large", &q)).await?;
        println!(
            "  {label:<17} p50 10k calls {ps:.1} ms, 1M calls {pl:.1} ms, ratio {:.2} (target <= 1.2)",
            pl / ps
        );
    }
    // One page deep: the keyset cursor from each org's first page.
    let cs = next_cursor(&c, &page("bench-small", "")).await?;
    let cl = next_cursor(&c, &page("bench-large", "")).await?;
    let (ps, pl) = median_of_rounds(
        &c,
        &page("bench-small", &format!("?before={cs}")),
        &page("bench-large", &format!("?before={cl}")),
    )
    .await?;
    println!(
        "  {:<17} p50 10k calls {ps:.1} ms, 1M calls {pl:.1} ms, ratio {:.2}",
        "second page",
        pl / ps
    );

    // The export: streamed, so the server's memory stays flat while 1M rows go out.
    let pid = srv.0.id();
    let before = rss_mib(pid);
    let t = Instant::now();
    let mut r = c
        .get(format!("{base}/o/bench-large/calls/export.csv"))
        .timeout(Duration::from_secs(600))
        .send()
        .await?;
    let (mut bytes, mut lines, mut peak) = (0usize, 0usize, before);
    let mut last_sample = Instant::now();
    while let Some(chunk) = r.chunk().await? {
        bytes += chunk.len();
        lines += chunk.iter().filter(|b| **b == b'\n').count();
        if last_sample.elapsed() > Duration::from_millis(50) {
            peak = peak.max(rss_mib(pid));
            last_sample = Instant::now();
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let after = rss_mib(pid);
    println!(
        "CSV export of 1M calls: {} rows, {:.1} MiB in {secs:.1} s ({:.0} rows/s)",
        lines.saturating_sub(1),
        bytes as f64 / 1048576.0,
        (lines.saturating_sub(1)) as f64 / secs
    );
    println!(
        "  server RSS: before {before:.1} MiB, peak during {peak:.1} MiB (+{:.1}), after {after:.1} MiB; the CSV itself is {:.0} MiB",
        peak - before,
        bytes as f64 / 1048576.0
    );
    if lines != 1_000_001 {
        return Err(format!("expected 1,000,001 lines, got {lines}").into());
    }
    drop(srv);
    let _ = std::fs::remove_dir_all(&data);
    Ok(())
}

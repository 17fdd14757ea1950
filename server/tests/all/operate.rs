//! Operating PhoneHub: the bundle served precompressed and cached, pages compressed, metrics on
//! their own address, the hot lookup cache (dropped when another server changes a row, answering
//! while the database is away) and workers that stop at a safe point.

use crate::common;

use std::time::{Duration, Instant};

use app::ssr::AppState;
use common::{configure_sandbox, poll_until_eq, spawn_app_on, start_sandbox, DbProxy, TestApp};
use sqlx::PgPool;
use telephony::E164;

/// A request that hands back the body as sent (the bundle files here are stand-ins, not real
/// brotli or gzip), asking for `accept_encoding` or for nothing.
fn get(url: &str, accept_encoding: Option<&str>) -> reqwest::RequestBuilder {
    let c = reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .no_deflate()
        .no_zstd()
        .build()
        .unwrap()
        .get(url);
    match accept_encoding {
        Some(e) => c.header("accept-encoding", e),
        None => c,
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn the_bundle_is_sent_precompressed_and_hashed_names_are_cached_for_a_year(pool: PgPool) {
    let site = std::env::temp_dir().join(format!("phonehub-site-{}", std::process::id()));
    let pkg = site.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    let name = "phonehub.0123456789abcdef";
    for (file, body) in [
        (format!("{name}.js"), "raw js"),
        (format!("{name}.js.br"), "brotli js"),
        (format!("{name}.js.gz"), "gzip js"),
        (format!("{name}_bg.wasm"), "raw wasm"),
        (format!("{name}_bg.wasm.br"), "brotli wasm"),
        ("other.txt".to_string(), "not hashed"),
    ] {
        std::fs::write(pkg.join(file), body).unwrap();
    }
    let mut settings = common::settings("http://127.0.0.1:0");
    settings.site_root = site.to_string_lossy().into_owned();
    settings.output_name = name.into();
    let app = common::spawn_with_settings(pool, settings).await;
    let js = format!("{}/pkg/{name}.js", app.base);

    let r = get(&js, Some("gzip, deflate, br")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-encoding"], "br");
    assert_eq!(
        r.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(r.headers()["vary"], "accept-encoding");
    assert_eq!(r.text().await.unwrap(), "brotli js");
    let r = get(&js, Some("gzip")).send().await.unwrap();
    assert_eq!(r.headers()["content-encoding"], "gzip");
    assert_eq!(r.text().await.unwrap(), "gzip js");
    let r = get(&js, None).send().await.unwrap();
    assert!(r.headers().get("content-encoding").is_none());
    assert_eq!(r.text().await.unwrap(), "raw js");
    let wasm = format!("{}/pkg/{name}_bg.wasm", app.base);
    let r = get(&wasm, Some("br")).send().await.unwrap();
    assert_eq!(
        r.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(r.text().await.unwrap(), "brotli wasm");
    // A name without the bundle's hash may change under the same name: revalidated.
    let r = get(&format!("{}/pkg/other.txt", app.base), Some("br"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["cache-control"], "no-cache");

    // Pages link the hashed bundle and are compressed for browsers that accept it.
    let r = get(&format!("{}/login", app.base), Some("br"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-encoding"], "br");
    let r = get(&format!("{}/login", app.base), None)
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("content-encoding").is_none());
    let html = r.text().await.unwrap();
    assert!(html.contains(&format!("/pkg/{name}.css")), "{html}");
    assert!(html.contains(&format!("{name}_bg")), "{html}");
    let _ = std::fs::remove_dir_all(&site);
}

#[sqlx::test(migrations = "../migrations")]
async fn metrics_are_served_on_their_own_address_only(pool: PgPool) {
    let mut settings = common::settings("http://127.0.0.1:0");
    settings.metrics_addr = Some("127.0.0.1:0".parse().unwrap());
    common::seed(&pool).await;
    let built = server::Application::build_with_pool(settings, pool.clone())
        .await
        .unwrap();
    let base = format!("http://{}", built.local_addr());
    let metrics = format!("http://{}/metrics", built.metrics_addr().unwrap());
    tokio::spawn(built.run_until_stopped());
    let app = TestApp { base, pool };
    let c = app.client();
    assert_eq!(app.get(&c, "/login").await.status(), 200);
    assert_eq!(app.get(&c, "/o/nowhere/lookup").await.status(), 303);

    let text = reqwest::get(&metrics).await.unwrap().text().await.unwrap();
    for want in [
        r#"phonehub_http_requests_total{method="GET",route="/login",status="200"}"#,
        // The route's pattern, never the org's slug.
        r#"route="/o/{org}/lookup",status="303""#,
        "phonehub_http_request_duration_seconds_bucket",
        r#"phonehub_db_pool_connections{state="in_use"}"#,
        r#"phonehub_bulk_jobs{status="queued"} 0"#,
        "phonehub_lookup_events_pending 0",
        "phonehub_database_up 1",
    ] {
        assert!(text.contains(want), "{want} missing from:\n{text}");
    }
    assert!(!text.contains("nowhere"), "{text}");
    // A made-up method is counted, under one label whatever its name.
    let r = reqwest::Client::new()
        .request(
            reqwest::Method::from_bytes(b"MADEUP").unwrap(),
            format!("{}/login", app.base),
        )
        .send()
        .await
        .unwrap();
    let _ = r.status();
    let text = reqwest::get(&metrics).await.unwrap().text().await.unwrap();
    assert!(!text.contains("MADEUP"), "{text}");
    assert!(text.contains(r#"method="other""#), "{text}");
    // The public address has no metrics.
    let r = app.get(&c, "/metrics").await;
    assert_ne!(r.status(), 200);
    assert!(!r
        .text()
        .await
        .unwrap()
        .contains("phonehub_http_requests_total"));
}

/// A lookup service of its own (as a second server process has), over `pool`.
fn service(app: &TestApp, pool: PgPool, sandbox: &str) -> AppState {
    let settings = common::settings(&app.base);
    let state = AppState {
        pool: pool.clone(),
        leptos_options: leptos::prelude::LeptosOptions::builder()
            .output_name("phonehub")
            .build(),
        public_url: settings.public_url.clone(),
        dev_mode: true,
        trust_proxy: false,
        job_timing: Default::default(),
        keyring: settings.keyring.clone(),
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
    state
}

/// Looks `n` up through `s` until `s` holds it in memory (a notification about the number's own
/// first answer may drop the first hit's copy).
async fn hold(s: &AppState, org: i64, user: i64, n: &E164) {
    let held = poll_until_eq(Duration::from_secs(10), true, || async {
        let (o, _) = app::ssr::lookups::lookup(&s.lookup_deps(), org, Some(user), n, false, None)
            .await
            .unwrap();
        assert_eq!(o, app::ssr::lookups::Outcome::Hit);
        s.hot
            .get(n, time::OffsetDateTime::now_utc(), false)
            .is_some()
    })
    .await;
    assert!(held, "a hit is kept in memory");
}

/// Waits until `s` has heard of a row change after `generation` (the first answer's own
/// notification), so that it cannot drop a copy kept later.
async fn heard(s: &AppState, generation: u64) {
    let heard = poll_until_eq(Duration::from_secs(10), true, || async {
        s.hot.generation() > generation
    })
    .await;
    assert!(heard, "no notification for the stored answer");
}

async fn listening(s: &AppState) {
    let on = poll_until_eq(Duration::from_secs(10), true, || async {
        s.hot.listening()
    })
    .await;
    assert!(on, "the hot cache's listener did not connect");
}

async fn setup(pool: PgPool) -> (TestApp, String, i64, i64, telephony::sandbox::Shared) {
    let (sb, keep) = start_sandbox().await;
    let app = spawn_app_on(pool, &sb).await;
    let admin = app.login_as("admin@acme.test").await;
    let r = configure_sandbox(&app, &admin, "acme", &sb, "30").await;
    assert!(r.status().as_u16() < 400, "{}", r.status());
    let org: i64 = app.count("SELECT id FROM orgs WHERE slug = 'acme'").await;
    let user = app.user_id("user@acme.test").await;
    (app, sb, org, user, keep)
}

#[sqlx::test(migrations = "../migrations")]
async fn a_row_refreshed_by_another_server_is_dropped_from_this_ones_hot_cache(pool: PgPool) {
    use app::ssr::lookups::{lookup, Outcome};
    let (app, sb, org, user, _keep) = setup(pool).await;
    let a = service(&app, app.pool.clone(), &sb);
    let b = service(&app, app.pool.clone(), &sb);
    listening(&a).await;
    listening(&b).await;
    let n: E164 = "+14155552700".parse().unwrap();

    let generation = a.hot.generation();
    let (o, first) = lookup(&a.lookup_deps(), org, Some(user), &n, false, None)
        .await
        .unwrap();
    assert_eq!(o, Outcome::Miss);
    heard(&a, generation).await;
    hold(&a, org, user, &n).await;

    // Another server refreshes the number: this one hears of it and drops its copy.
    let (o, refreshed) = lookup(&b.lookup_deps(), org, Some(user), &n, true, None)
        .await
        .unwrap();
    assert_eq!(o, Outcome::Refresh);
    assert!(refreshed.last_lookup_at > first.last_lookup_at);
    let held = poll_until_eq(Duration::from_secs(10), false, || async {
        a.hot
            .get(&n, time::OffsetDateTime::now_utc(), false)
            .is_some()
    })
    .await;
    assert!(!held, "the refreshed row is still held by the other server");
    let (o, row) = lookup(&a.lookup_deps(), org, Some(user), &n, false, None)
        .await
        .unwrap();
    assert_eq!(o, Outcome::Hit);
    assert_eq!(row.last_lookup_at, refreshed.last_lookup_at);

    // A row changed by hand (a purge) is dropped too.
    hold(&a, org, user, &n).await;
    sqlx::query("UPDATE phone_numbers SET lookup_expires_at = now() WHERE e164 = $1")
        .bind(n.as_str())
        .execute(&app.pool)
        .await
        .unwrap();
    let held = poll_until_eq(Duration::from_secs(10), false, || async {
        a.hot
            .get(&n, time::OffsetDateTime::now_utc(), false)
            .is_some()
    })
    .await;
    assert!(!held);
}

#[sqlx::test(migrations = "../migrations")]
async fn with_the_database_away_hot_hits_answer_and_their_events_are_written_when_it_is_back(
    pool: PgPool,
) {
    use app::ssr::lookups::{lookup, Outcome};
    let (app, sb, org, user, _keep) = setup(pool).await;
    let (proxy, proxied) = DbProxy::in_front_of(&app.pool).await;
    let s = service(&app, proxied, &sb);
    listening(&s).await;
    let (held, other): (E164, E164) = (
        "+14155552710".parse().unwrap(),
        "+14155552711".parse().unwrap(),
    );
    let events = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM lookup_events WHERE org_id = $1")
            .bind(org)
            .fetch_one(&app.pool)
            .await
            .unwrap()
    };
    let generation = s.hot.generation();
    lookup(&s.lookup_deps(), org, Some(user), &held, false, None)
        .await
        .unwrap();
    heard(&s, generation).await;
    hold(&s, org, user, &held).await;
    s.events.flush().await;
    let before = events().await;
    assert!(before >= 2);

    proxy.set_up(false);
    // Longer than the configuration is trusted without reading it again (2 s): every hit in
    // that time answers from memory, each quickly (`in_an_outage`).
    let outage = Instant::now();
    let mut hits = 0;
    while outage.elapsed() < Duration::from_millis(2500) {
        let started = Instant::now();
        let (o, row) = lookup(&s.lookup_deps(), org, Some(user), &held, false, None)
            .await
            .expect("a held number answers while the database is away");
        assert_eq!(o, Outcome::Hit);
        assert_eq!(row.e164, held.as_str());
        assert!(started.elapsed() < common::in_an_outage());
        hits += 1;
        // Paces the loop without racing anything (each answer is checked).
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A number not held needs the database: an error, quickly, not a hang.
    let started = Instant::now();
    assert!(
        lookup(&s.lookup_deps(), org, Some(user), &other, false, None)
            .await
            .is_err()
    );
    assert!(
        started.elapsed() < common::in_an_outage(),
        "{:?}",
        started.elapsed()
    );

    proxy.set_up(true);
    // Every hit answered during the outage is written once the database is back.
    let written = poll_until_eq(Duration::from_secs(30), before + hits, events).await;
    assert_eq!(written, before + hits);
}

/// Whether `state` answers `n` from memory now.
fn held_in(state: &AppState, n: &E164) -> bool {
    state
        .hot
        .get(n, time::OffsetDateTime::now_utc(), false)
        .is_some()
}

#[sqlx::test(migrations = "../migrations")]
async fn with_the_database_away_a_signed_in_member_still_gets_held_answers_through_the_pages(
    pool: PgPool,
) {
    let (sb, _keep) = start_sandbox().await;
    common::seed(&pool).await;
    let (proxy, proxied) = DbProxy::in_front_of(&pool).await;
    let mut settings = common::settings("http://127.0.0.1:0");
    settings.sandbox_url = Some(url::Url::parse(&sb).unwrap());
    let server = server::Application::build_with_pool(settings, proxied)
        .await
        .unwrap();
    let state = server.state().clone();
    let base = format!("http://{}", server.local_addr());
    tokio::spawn(server.run_until_stopped());
    let app = TestApp { base, pool };
    let admin = app.login_as("admin@acme.test").await;
    let r = configure_sandbox(&app, &admin, "acme", &sb, "30").await;
    assert!(r.status().as_u16() < 400, "{}", r.status());
    let member = app.login_as("user@acme.test").await;
    // The member is on the lookup page when the database goes away.
    assert_eq!(app.get(&member, "/o/acme/lookup").await.status(), 200);
    listening(&state).await;
    let (held, other): (E164, E164) = (
        "+14155552730".parse().unwrap(),
        "+14155552731".parse().unwrap(),
    );
    let look = |n: &E164| {
        let n = n.as_str().to_string();
        let (app, member) = (&app, &member);
        async move {
            let started = Instant::now();
            let r = app
                .post_plain(
                    member,
                    "lookup_number",
                    "/o/acme/lookup",
                    &[("org", "acme"), ("number", &n)],
                )
                .await;
            (r, started.elapsed())
        }
    };
    // The first answer is bought; its own notification may drop the first copy, so look again
    // until this server holds it.
    let generation = state.hot.generation();
    let (r, _) = look(&held).await;
    assert_eq!(r.status(), 303);
    heard(&state, generation).await;
    let kept = poll_until_eq(Duration::from_secs(10), true, || async {
        let (r, _) = look(&held).await;
        assert_eq!(r.status(), 303);
        held_in(&state, &held)
    })
    .await;
    assert!(kept, "the answer is held in memory");
    state.events.flush().await;
    let events = || async {
        app.count("SELECT count(*) FROM lookup_events WHERE e164 = '+14155552730'")
            .await
    };
    let before = events().await;

    proxy.set_up(false);
    // The member looks the held number up: answered from memory, quickly, the answer
    // page included.
    let (r, took) = look(&held).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    assert!(took < common::in_an_outage(), "{took:?}");
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to.contains("outcome=hit"), "{to}");
    let started = Instant::now();
    let page = app.get(&member, &to).await;
    assert!(
        started.elapsed() < common::in_an_outage(),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("(415) 555-2730"), "the answer is on the page");
    assert!(html.contains("database cannot be reached"));
    // Anything the hot cache does not hold answers 503 quickly: another number, another
    // page.
    let (r, took) = look(&other).await;
    assert_eq!(r.status(), 503);
    assert!(took < common::in_an_outage(), "{took:?}");
    let started = Instant::now();
    let r = app.get(&member, "/o/acme/calls").await;
    assert_eq!(r.status(), 503);
    assert!(started.elapsed() < common::in_an_outage());
    // Nobody signs in while the database is away.
    let fresh = app.client();
    let r = app
        .call(
            &fresh,
            "login",
            &[("email", "user@acme.test"), ("password", common::PASSWORD)],
        )
        .await;
    assert_eq!(r.status(), 503);

    proxy.set_up(true);
    // The hit answered during the outage is attributed once the database is back.
    let written = poll_until_eq(Duration::from_secs(30), before + 1, events).await;
    assert_eq!(written, before + 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_member_removed_on_another_server_is_not_answered_from_memory_in_an_outage(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    common::seed(&pool).await;
    let (proxy, proxied) = DbProxy::in_front_of(&pool).await;
    let settings = || {
        let mut s = common::settings("http://127.0.0.1:0");
        s.sandbox_url = Some(url::Url::parse(&sb).unwrap());
        s
    };
    let server = server::Application::build_with_pool(settings(), proxied)
        .await
        .unwrap();
    let state = server.state().clone();
    let base = format!("http://{}", server.local_addr());
    tokio::spawn(server.run_until_stopped());
    let app = TestApp {
        base,
        pool: pool.clone(),
    };
    // A second server, on the database directly: where the member is removed.
    let other = common::spawn_without_seed(pool.clone(), settings()).await;
    let admin = app.login_as("admin@acme.test").await;
    let r = configure_sandbox(&app, &admin, "acme", &sb, "30").await;
    assert!(r.status().as_u16() < 400, "{}", r.status());
    let member = app.login_as("user@acme.test").await;
    let member_id = app.user_id("user@acme.test").await;
    listening(&state).await;
    let held: E164 = "+14155552740".parse().unwrap();
    let number = held.as_str().to_string();
    let look = || {
        let (app, member, number) = (&app, &member, number.clone());
        async move {
            app.post_plain(
                member,
                "lookup_number",
                "/o/acme/lookup",
                &[("org", "acme"), ("number", &number)],
            )
            .await
        }
    };
    let kept = poll_until_eq(Duration::from_secs(10), true, || async {
        assert_eq!(look().await.status(), 303);
        held_in(&state, &held)
    })
    .await;
    assert!(kept, "the answer is held in memory");
    assert!(
        state.known.users.holds(&member_id),
        "the member is remembered"
    );

    // Removed on the other server: this one hears it and forgets what it remembered.
    let other_admin = other.login_as("admin@acme.test").await;
    let r = other
        .call(
            &other_admin,
            "remove_member",
            &[("org", "acme"), ("user_id", &member_id.to_string())],
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    let forgotten = poll_until_eq(Duration::from_secs(10), false, || async {
        state.known.users.holds(&member_id)
    })
    .await;
    assert!(!forgotten, "the removal reached this server");

    proxy.set_up(false);
    // The held answer is no longer given to the removed member.
    let r = look().await;
    assert_ne!(r.status(), 303, "a removed member was answered from memory");
    assert!(r.status().as_u16() >= 400, "{}", r.status());
    proxy.set_up(true);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_stopping_worker_hands_its_bulk_job_back_after_the_chunk_in_hand(pool: PgPool) {
    use app::ssr::fixtures::{create, Claimed, NewRow};
    let (app, sb, org, user, _keep) = setup(pool).await;
    let s = service(&app, app.pool.clone(), &sb);
    common::sandbox_control(reqwest::Method::POST, format!("{sb}/_faults"))
        .json(&serde_json::json!({ "latency_ms": 200 }))
        .send()
        .await
        .unwrap();
    let csv: String = (0..80)
        .map(|i| format!("+1415555{:04}\n", 2800 + i))
        .collect();
    let parsed = app::ssr::bulk_lookups::parse_csv(csv.as_bytes(), "US").unwrap();
    let rows: Vec<NewRow> = parsed
        .iter()
        .map(|r| NewRow {
            input: &r.input,
            e164: r.e164.as_deref().map_err(String::as_str),
        })
        .collect();
    // Created already claimed by this test's worker, so the server's own worker leaves it be.
    let mut tx = app.pool.begin().await.unwrap();
    let job = create(&mut tx, org, user, "stop.csv", &rows).await.unwrap();
    sqlx::query("UPDATE lookup_jobs SET status = 'running', claim_token = 'ours', heartbeat_at = now() WHERE id = $1")
        .bind(job)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let claimed = Claimed {
        id: job,
        org_id: org,
        user_id: Some(user),
        token: "ours".into(),
    };
    let (stop, signal) = app::ssr::shutdown::channel();
    let worker = {
        let s = s.clone();
        tokio::spawn(async move { app::ssr::bulk_worker::work_on(&s, &claimed, &signal).await })
    };
    // The first chunk (32 numbers, 4 at a time, 200 ms each) is under way: stop.
    let billed = poll_until_eq(Duration::from_secs(20), true, || async {
        common::sandbox_stat(&sb, "billed_lookups").await >= 1
    })
    .await;
    assert!(billed);
    stop.stop();
    tokio::time::timeout(Duration::from_secs(30), worker)
        .await
        .expect("the worker stops")
        .unwrap()
        .unwrap();
    let done = |app: &TestApp| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM lookup_job_rows WHERE job_id = $1 AND status <> 'pending'",
            )
            .bind(job)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    // The chunk in hand was finished and recorded, the rest left for the next worker.
    let at_stop = done(&app).await;
    assert!((32..80).contains(&at_stop), "{at_stop} rows done at stop");
    let token: Option<String> =
        sqlx::query_scalar("SELECT claim_token FROM lookup_jobs WHERE id = $1")
            .bind(job)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_ne!(
        token.as_deref(),
        Some("ours"),
        "handed back, not left claimed"
    );
    // The server's own worker takes it from the queue and finishes it; no number paid twice.
    let status = poll_until_eq(Duration::from_secs(60), "done".to_string(), || async {
        sqlx::query_scalar::<_, String>("SELECT status FROM lookup_jobs WHERE id = $1")
            .bind(job)
            .fetch_one(&app.pool)
            .await
            .unwrap()
    })
    .await;
    assert_eq!(status, "done");
    assert_eq!(done(&app).await, 80);
    assert_eq!(common::sandbox_stat(&sb, "billed_lookups").await, 80);
}

#[sqlx::test(migrations = "../migrations")]
async fn use_cases_that_manage_the_org_refuse_a_member_however_they_are_reached(pool: PgPool) {
    // The attack: a future way in (an API route, a job) that checks only that the caller may read
    // the org, and then calls a use case that manages it. Each use case refuses by itself.
    use app::error::AppError;
    use app::ssr::guard::{check, Permission};
    let app = common::spawn_app(pool).await;
    let (sb, _keep) = common::start_sandbox().await;
    let state = service(&app, app.pool.clone(), &sb);
    let user = app::ssr::fixtures::user_by_id(&app.pool, app.user_id("user@acme.test").await)
        .await
        .unwrap()
        .unwrap();
    let ctx = check(state.clone(), user, "acme", Permission::Read)
        .await
        .unwrap();
    let owner = app.user_id("admin@acme.test").await;
    let members_before = app.count("SELECT count(*) FROM memberships").await;
    let forbidden = |r: Result<(), AppError>, what: &str| {
        assert!(matches!(r, Err(AppError::Forbidden(_))), "{what}: {r:?}");
    };
    forbidden(
        app::ssr::members::remove(&ctx, owner).await,
        "remove a member",
    );
    forbidden(
        app::ssr::members::change_role(&ctx, owner, app::model::Role::Member)
            .await
            .map(|_| ()),
        "change a role",
    );
    forbidden(
        app::ssr::members::invite(
            &ctx,
            "x@example.test",
            "admin",
            "",
            Some("a fine password 1".into()),
        )
        .await,
        "invite",
    );
    forbidden(
        app::ssr::members::revoke_invitation(&ctx, 1).await,
        "revoke an invitation",
    );
    forbidden(app::ssr::api_keys::revoke(&ctx, 1).await, "revoke a key");
    forbidden(
        app::ssr::lookup_pages::look_up(&ctx, "+14155552671", true)
            .await
            .map(|_| ()),
        "a paid refresh",
    );
    assert_eq!(
        app.count("SELECT count(*) FROM memberships").await,
        members_before
    );
    assert_eq!(app.count("SELECT count(*) FROM invitations").await, 0);
}

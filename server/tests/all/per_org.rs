//! Issue 22, items 5 and 6: limits and queues are per org (a user's hourly limits in one org are
//! not used up in another; a few open bulk jobs per org, claimed round-robin by org), and the
//! shared lookup cache belongs to nobody (an org's own configuration failing blocks the number for
//! no one, freshness is the asking org's own, answers say which provider gave them).

use crate::common;

use std::time::Duration;

use app::model::lookup::LookupPage;
use app::model::phone_config::PhoneConfigPage;
use common::{
    configure_sandbox, poll_until_eq, sandbox_stat, spawn_app_on, start_sandbox, TestApp,
};
use sqlx::PgPool;
use telephony::sandbox::aws::{DEV_AWS_ACCESS_KEY_ID, DEV_AWS_SECRET_ACCESS_KEY};

async fn buy(app: &TestApp, who: &reqwest::Client, org: &str, number: &str) -> u16 {
    let key = format!("{:0>32}", number.trim_start_matches('+'));
    app.call(
        who,
        "buy_number",
        &[
            ("org", org),
            ("number", number),
            ("key", &key),
            ("friendly_name", "Line"),
        ],
    )
    .await
    .status()
    .as_u16()
}

async fn lookup(
    app: &TestApp,
    who: &reqwest::Client,
    org: &str,
    number: &str,
) -> reqwest::Response {
    app.call(who, "lookup_number", &[("org", org), ("number", number)])
        .await
}

async fn id_of(pool: &PgPool, sql: &str, key: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(key)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn a_users_hourly_limits_in_one_org_are_not_used_up_in_another(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let app = spawn_app_on(pool, &sb).await;
    // Ada owns Acme and is a member of Globex.
    let ada = app.login_as("admin@acme.test").await;
    let gus = app.login_as("admin@globex.test").await;
    let r = configure_sandbox(&app, &ada, "acme", &sb, "30").await;
    assert!(r.status().as_u16() < 400, "acme: {}", r.status());
    let r = configure_sandbox(&app, &gus, "globex", &sb, "30").await;
    assert!(r.status().as_u16() < 400, "globex: {}", r.status());
    sqlx::query("UPDATE limits SET per_hour = 2 WHERE item = 'number.purchase'")
        .execute(&app.pool)
        .await
        .unwrap();

    // Globex (another org's admin could do this for her) fills Ada's purchases there.
    assert!(buy(&app, &ada, "globex", "+14155550271").await < 400);
    assert!(buy(&app, &ada, "globex", "+14155550272").await < 400);
    assert_eq!(buy(&app, &ada, "globex", "+14155550273").await, 429);

    // Her purchases in Acme are untouched: Acme's own two, then Acme's limit.
    assert!(buy(&app, &ada, "acme", "+14155550274").await < 400);
    assert!(buy(&app, &ada, "acme", "+14155550275").await < 400);
    assert_eq!(buy(&app, &ada, "acme", "+14155550276").await, 429);
    let held = |slug: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM owned_numbers n JOIN orgs o ON o.id = n.org_id
                 WHERE o.slug = $1 AND n.status = 'active'",
            )
            .bind(slug)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert_eq!(held("acme").await, 2);
    assert_eq!(held("globex").await, 2);

    // The hour is counted per org too: Globex's purchases an hour old free Globex only.
    sqlx::query(
        "UPDATE owned_numbers n SET created_at = now() - interval '61 minutes'
         FROM orgs o WHERE o.id = n.org_id AND o.slug = 'globex'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    assert!(buy(&app, &ada, "globex", "+14155550277").await < 400);
    assert_eq!(buy(&app, &ada, "acme", "+14155550278").await, 429);
}

#[sqlx::test(migrations = "../migrations")]
async fn bulk_jobs_are_capped_per_org_and_claimed_round_robin_by_org(pool: PgPool) {
    use app::ssr::bulk_lookups::{create_job, parse_csv};
    use app::ssr::fixtures::{claim, finish};
    // No server here: nothing but this test claims jobs.
    common::seed(&pool).await;
    let org = "SELECT id FROM orgs WHERE slug = $1";
    let user = "SELECT id FROM users WHERE email = $1";
    let (acme, globex) = (
        id_of(&pool, org, "acme").await,
        id_of(&pool, org, "globex").await,
    );
    let ada = id_of(&pool, user, "admin@acme.test").await;
    let gus = id_of(&pool, user, "admin@globex.test").await;
    let rows = parse_csv(b"+14155552900\n+14155552901\n", "US").unwrap();
    let open = |org_id: i64| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM lookup_jobs WHERE org_id = $1 AND status IN ('queued', 'running')",
            )
            .bind(org_id)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };

    // Acme queues three big jobs; a fourth is refused next to the file field, nothing written.
    let mut a = Vec::new();
    for name in ["a1.csv", "a2.csv", "a3.csv"] {
        a.push(create_job(&pool, acme, ada, name, &rows).await.unwrap());
    }
    let err = create_job(&pool, acme, ada, "a4.csv", &rows)
        .await
        .unwrap_err();
    assert_eq!(err.status(), 422);
    let msg = err
        .field_message("file")
        .expect("a message for the file field");
    assert!(msg.contains("at most 3"), "{msg}");
    assert_eq!(open(acme).await, 3);
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM lookup_jobs")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(total, 3, "nothing written for the refused upload");

    // Then Globex queues one: it is claimed second, not after all of Acme's.
    let b = create_job(&pool, globex, gus, "b1.csv", &rows)
        .await
        .unwrap();
    let stale = Duration::from_secs(30);
    let first = claim(&pool, "worker-1", stale).await.unwrap().unwrap();
    assert_eq!(first.id, a[0], "the oldest job first");
    let second = claim(&pool, "worker-2", stale).await.unwrap().unwrap();
    assert_eq!(
        (second.id, second.org_id),
        (b, globex),
        "Globex's job is claimed second"
    );
    // Both orgs run one: the org whose last claim is older goes next.
    let third = claim(&pool, "worker-3", stale).await.unwrap().unwrap();
    assert_eq!(third.id, a[1]);
    let fourth = claim(&pool, "worker-4", stale).await.unwrap().unwrap();
    assert_eq!(fourth.id, a[2]);
    assert!(claim(&pool, "worker-5", stale).await.unwrap().is_none());

    // A finished job frees its place in the org's queue.
    finish(&pool, &first).await.unwrap();
    assert_eq!(open(acme).await, 2);
    assert!(create_job(&pool, acme, ada, "a4.csv", &rows).await.is_ok());
    assert_eq!(open(acme).await, 3);
}

#[sqlx::test(migrations = "../migrations")]
async fn an_upload_beyond_the_orgs_open_jobs_is_refused_next_to_the_file_field(pool: PgPool) {
    let app = common::spawn_app(pool).await;
    let acme = id_of(&app.pool, "SELECT id FROM orgs WHERE slug = $1", "acme").await;
    let user = app.user_id("user@acme.test").await;
    // Three of Acme's jobs, running on a worker elsewhere (created running with a live
    // heartbeat, so this server's worker never takes them).
    let parsed = app::ssr::bulk_lookups::parse_csv(b"+14155552910\n", "US").unwrap();
    let rows: Vec<app::ssr::fixtures::NewRow> = parsed
        .iter()
        .map(|r| app::ssr::fixtures::NewRow {
            input: &r.input,
            e164: r.e164.as_deref().map_err(String::as_str),
        })
        .collect();
    for _ in 0..3 {
        let mut tx = app.pool.begin().await.unwrap();
        let job = app::ssr::fixtures::create(&mut tx, acme, user, "held.csv", &rows)
            .await
            .unwrap();
        sqlx::query(
            "UPDATE lookup_jobs SET status = 'running', claim_token = 'elsewhere',
                 heartbeat_at = now() + interval '1 hour' WHERE id = $1",
        )
        .bind(job)
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let upload = |c: &reqwest::Client, org: &str| {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(b"+14155552911\n".to_vec()).file_name("more.csv"),
        );
        c.post(format!("{}/o/{org}/lookups/bulk/upload", app.base))
            .multipart(form)
            .send()
    };
    let member = app.login_as("user@acme.test").await;
    let r = upload(&member, "acme").await.unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("at most 3"), "{html}");
    assert_eq!(
        app.count("SELECT count(*) FROM lookup_jobs").await,
        3,
        "nothing written"
    );
    // Another org's queue is its own.
    let gus = app.login_as("admin@globex.test").await;
    let r = upload(&gus, "globex").await.unwrap();
    assert_eq!(r.status(), 303);
}

/// Saves acme's configuration as AWS (as its owner) in `region`.
async fn configure_aws(app: &TestApp, owner: &reqwest::Client, region: &str) -> reqwest::Response {
    app.call(
        owner,
        "save_phone_config",
        &[
            ("org", "acme"),
            ("provider", "aws"),
            ("display_name", "Amazon"),
            ("active", "on"),
            ("lookup_enabled", "on"),
            ("lookup_cache_days", "30"),
            ("default_sender", ""),
            ("aws_region", region),
            ("credential_id", DEV_AWS_ACCESS_KEY_ID),
            ("credential_secret", DEV_AWS_SECRET_ACCESS_KEY),
        ],
    )
    .await
}

async fn effective(app: &TestApp, owner: &reqwest::Client) -> String {
    let page = app
        .load::<PhoneConfigPage>(owner, "load_phone_config", &[("org", "acme")])
        .await;
    page["effective"].as_str().unwrap_or_default().to_string()
}

#[sqlx::test(migrations = "../migrations")]
async fn an_orgs_own_failing_aws_endpoint_blocks_the_number_for_nobody(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    // Acme's AWS configuration reaches SNS (the sandbox's) but its Pinpoint endpoint is a closed
    // port (as a region without Pinpoint, or a network the org chose, would be).
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let mut settings = common::settings("http://127.0.0.1:0");
    settings.sandbox_url = Some(url::Url::parse(&sb).unwrap());
    settings.aws_endpoints.pinpoint = Some(closed);
    let app = common::spawn_with_settings(pool, settings).await;
    let ada = app.login_as("admin@acme.test").await;
    let gus = app.login_as("admin@globex.test").await;
    let x = "+14155552960";

    // A region where Pinpoint is not offered is refused next to the region field.
    let r = configure_aws(&app, &ada, "eu-north-1").await;
    assert_eq!(r.status(), 422);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("aws_region") && text.contains("not both offered"),
        "{text}"
    );
    let r = configure_aws(&app, &ada, "us-east-1").await;
    assert!(r.status().as_u16() < 400, "save: {}", r.status());
    // Not used before a connection test succeeds (and there is no system default here).
    assert!(effective(&app, &ada).await.contains("Test connection"));
    assert_eq!(lookup(&app, &ada, "acme", x).await.status(), 409);
    let r = app
        .call(&ada, "test_phone_connection", &[("org", "acme")])
        .await;
    assert!(r.status().as_u16() < 400, "test: {}", r.status());
    assert!(effective(&app, &ada)
        .await
        .contains("use this configuration"));

    // The org's own endpoint fails: the person reads why, and the shared row keeps nothing.
    let r = lookup(&app, &ada, "acme", x).await;
    assert_eq!(r.status(), 502);
    let text = r.text().await.unwrap();
    assert!(text.contains("could not reach"), "{text}");
    let marked = app
        .count(
            "SELECT count(*) FROM phone_numbers WHERE e164 = '+14155552960'
             AND (retry_after IS NOT NULL OR error_message IS NOT NULL OR error_count > 0
                  OR lease_token IS NOT NULL)",
        )
        .await;
    assert_eq!(marked, 0, "no backoff on the shared row");

    // Another org's lookup of the number reaches its own provider.
    let r = configure_sandbox(&app, &gus, "globex", &sb, "30").await;
    assert!(r.status().as_u16() < 400);
    let r = lookup(&app, &gus, "globex", x).await;
    assert!(r.status().as_u16() < 400, "globex: {}", r.status());
    assert_eq!(sandbox_stat(&sb, "billed_lookups").await, 1);
    let by: Option<String> =
        sqlx::query_scalar("SELECT answered_by FROM phone_numbers WHERE e164 = $1")
            .bind(x)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(by.as_deref(), Some("sandbox"));

    // Acme now gets that answer from the cache, labelled as another provider's.
    assert!(lookup(&app, &ada, "acme", x).await.status().as_u16() < 400);
    assert_eq!(sandbox_stat(&sb, "billed_lookups").await, 1);
    let page = app
        .load::<LookupPage>(&ada, "load_lookup_page", &[("org", "acme"), ("number", x)])
        .await;
    assert_eq!(page["result"]["answered_by"], "sandbox");
    let note = page["result"]["answered_by_note"]
        .as_str()
        .unwrap_or_default();
    assert!(note.contains("Answered by the PhoneHub sandbox"), "{page}");
    let html = app
        .get(&ada, "/o/acme/lookup?number=%2B14155552960")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Answered by the PhoneHub sandbox"));
    // Globex's own provider answered for Globex: no note.
    let page = app
        .load::<LookupPage>(
            &gus,
            "load_lookup_page",
            &[("org", "globex"), ("number", x)],
        )
        .await;
    assert_eq!(page["result"]["answered_by"], "sandbox");
    assert!(page["result"]["answered_by_note"].is_null(), "{page}");
}

/// Moves the number's answer `days` days into the past, as if it had been fetched then.
async fn backdate(app: &TestApp, number: &str, days: i32) {
    sqlx::query(
        "UPDATE phone_numbers SET last_lookup_at = last_lookup_at - make_interval(days => $2),
             lookup_expires_at = lookup_expires_at - make_interval(days => $2)
         WHERE e164 = $1",
    )
    .bind(number)
    .bind(days)
    .execute(&app.pool)
    .await
    .unwrap();
}

async fn outcomes(app: &TestApp, org: &str, outcome: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM lookup_events e JOIN orgs o ON o.id = e.org_id
         WHERE o.slug = $1 AND e.outcome = $2",
    )
    .bind(org)
    .bind(outcome)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn freshness_is_judged_by_the_asking_orgs_own_cache_days(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let app = spawn_app_on(pool, &sb).await;
    let ada = app.login_as("admin@acme.test").await;
    let gus = app.login_as("admin@globex.test").await;
    assert!(
        configure_sandbox(&app, &ada, "acme", &sb, "365")
            .await
            .status()
            .as_u16()
            < 400
    );
    assert!(
        configure_sandbox(&app, &gus, "globex", &sb, "1")
            .await
            .status()
            .as_u16()
            < 400
    );
    let x = "+14155552970";
    assert!(lookup(&app, &ada, "acme", x).await.status().as_u16() < 400);
    assert_eq!(sandbox_stat(&sb, "billed_lookups").await, 1);

    // Two days later, Acme's answer (kept a year for Acme) is stale for Globex, which keeps
    // answers a day: Globex gets a fresh lookup.
    backdate(&app, x, 2).await;
    assert!(lookup(&app, &gus, "globex", x).await.status().as_u16() < 400);
    assert_eq!(sandbox_stat(&sb, "billed_lookups").await, 2);
    let misses = poll_until_eq(Duration::from_secs(10), 1, || {
        outcomes(&app, "globex", "miss")
    })
    .await;
    assert_eq!(misses, 1, "Globex paid for a fresh lookup");

    // Two more days: Globex's answer expired for Globex, but not for Acme's year.
    backdate(&app, x, 2).await;
    assert!(lookup(&app, &ada, "acme", x).await.status().as_u16() < 400);
    assert_eq!(
        sandbox_stat(&sb, "billed_lookups").await,
        2,
        "a hit for Acme"
    );
    let hits = poll_until_eq(Duration::from_secs(10), 1, || outcomes(&app, "acme", "hit")).await;
    assert_eq!(hits, 1);

    // Each org's page shows the expiry by its own days.
    let page = app
        .load::<LookupPage>(&ada, "load_lookup_page", &[("org", "acme"), ("number", x)])
        .await;
    assert_eq!(page["result"]["expires_in_days"], 363, "{page}");
    let page = app
        .load::<LookupPage>(
            &gus,
            "load_lookup_page",
            &[("org", "globex"), ("number", x)],
        )
        .await;
    let left = page["result"]["expires_in_days"].as_i64().unwrap();
    assert!(left < 0, "expired for Globex: {page}");
}

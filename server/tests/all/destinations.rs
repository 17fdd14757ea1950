//! Destination permissions and the pumping guard: blocked premium ranges and countries outside
//! the org's list are refused before any provider request and counted; too many texts to one
//! destination within an hour pause it (held, not lost, the admins told, on the record) until an
//! owner or admin resumes it, which sends what it held.

use crate::common;

use app::model::destinations::DestinationsPage;
use common::{
    configure_sandbox, create_key, own_number, poll_until_eq, sandbox_stat, start_sandbox,
    try_create_key, TestApp,
};
use serde_json::{json, Value};
use sqlx::PgPool;
use std::time::Duration;

const PAGE: &str = "/o/acme/admin/destinations";

/// The sender every test texts from (bought by the member).
const FROM: &str = "+15005550007";

/// The rules form as a browser posts it.
fn rules<'a>(countries: &'a str, max_sms: &'a str, velocity: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("org", "acme"),
        ("countries", countries),
        ("max_sms", max_sms),
        ("max_call_minute", ""),
        ("velocity_per_hour", velocity),
    ]
}

fn v1_send(app: &TestApp, key: &str, to: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .post(format!("{}/v1/messages", app.base))
        .bearer_auth(key)
        .json(&json!({"from": FROM, "to": to, "body": "Your code is 123456"}))
}

async fn refused(app: &TestApp, reason: &str) -> i64 {
    app.count(&format!(
        "SELECT coalesce(sum(n), 0)::int8 FROM destination_refusals WHERE reason = '{reason}'"
    ))
    .await
}

#[sqlx::test(migrations = "../migrations")]
async fn a_call_to_a_premium_rate_number_is_refused_before_the_provider_and_counted(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let app = common::spawn_app_on(pool, &sb).await;
    let admin = app.login_as("admin@acme.test").await;
    let member = app.login_as("user@acme.test").await;
    configure_sandbox(&app, &admin, "acme", &sb, "30").await;
    let number = own_number(&app, &member, "+14155550170", false, common::PHONE).await;
    let number = number.to_string();

    // NANPA's 900 area code is premium rate: refused in acme's own country too.
    let form = [
        ("org", "acme"),
        ("number_id", number.as_str()),
        ("to", "+19002345678"),
    ];
    let r = app.call(&member, "place_call", &form).await;
    assert_eq!(r.status(), 403);
    let text = r.text().await.unwrap();
    println!("a call to +1 900 234 5678: {text}");
    assert!(
        text.contains("+1 900… is a premium-rate number, blocked for this org."),
        "{text}"
    );
    assert_eq!(sandbox_stat(&sb, "CreateCall").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM calls").await, 0);
    assert_eq!(refused(&app, "blocked").await, 1);

    // Through the API: the same refusal, as a destination problem.
    let key = create_key(&app, &admin, "user@acme.test", &["scope_calls"]).await;
    let r = reqwest::Client::new()
        .post(format!("{}/v1/calls", app.base))
        .bearer_auth(&key)
        .json(&json!({"from_number_id": number.parse::<i64>().unwrap(), "to": "+19002345678"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["type"], "https://phonehub.dev/problems/destination",
        "{v}"
    );
    assert_eq!(sandbox_stat(&sb, "CreateCall").await, 0);
    assert_eq!(refused(&app, "blocked").await, 2);
    // An ordinary domestic number is still called.
    let form = [
        ("org", "acme"),
        ("number_id", number.as_str()),
        ("to", "+14155550188"),
    ];
    assert_eq!(app.call(&member, "place_call", &form).await.status(), 200);
    assert_eq!(sandbox_stat(&sb, "CreateCall").await, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_text_to_a_country_outside_the_list_is_refused_until_an_admin_allows_it(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let app = common::spawn_app_on(pool, &sb).await;
    let admin = app.login_as("admin@acme.test").await;
    let member = app.login_as("user@acme.test").await;
    configure_sandbox(&app, &admin, "acme", &sb, "30").await;
    own_number(&app, &member, FROM, false, common::PHONE).await;
    let text_uk = || {
        let (app, member) = (&app, &member);
        let form = [
            ("org", "acme"),
            ("from", FROM),
            ("to", "+447400123456"),
            ("body", "Hi"),
        ];
        async move { app.call(member, "send_sms", &form).await }
    };

    let r = text_uk().await;
    assert_eq!(r.status(), 403);
    let text = r.text().await.unwrap();
    println!("a text from a US org to a UK mobile: {text}");
    assert!(
        text.contains("Texts to United Kingdom are not allowed in this org: an owner or admin can allow it under Admin → Destinations."),
        "{text}"
    );
    assert_eq!(sandbox_stat(&sb, "CreateMessage").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM messages").await, 0);
    assert_eq!(refused(&app, "country").await, 1);

    // A member cannot change the rules.
    let r = app
        .call(&member, "save_destination_rules", &rules("GB", "", "30"))
        .await;
    assert_eq!(r.status(), 403);
    // The owner allows the United Kingdom, JavaScript off, with a maximum under a text's price.
    let r = app
        .post_plain(
            &admin,
            "save_destination_rules",
            PAGE,
            &rules("gb", "0.005", "30"),
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "/o/acme/admin/destinations?notice=destinations-saved"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'destination.rules_saved'")
            .await,
        1
    );
    let r = text_uk().await;
    assert_eq!(r.status(), 403);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("over the org's maximum of $0.005 per message"),
        "{text}"
    );
    assert_eq!(refused(&app, "price").await, 1);
    // Without the maximum, the text goes.
    let r = app
        .call(&admin, "save_destination_rules", &rules("GB", "", "30"))
        .await;
    assert_eq!(r.status(), 200);
    let r = text_uk().await;
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(sandbox_stat(&sb, "CreateMessage").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM messages").await, 1);

    // The page (JavaScript off) shows the rules and what was refused this month.
    let html = app.get(&admin, PAGE).await.text().await.unwrap();
    for shown in [
        "United States (the org&#x27;s own) and United Kingdom.",
        "Country not allowed",
        "Over the maximum price",
        "View the blocked list",
        "Change the rules",
    ] {
        assert!(
            html.contains(shown) || html.contains(&shown.replace("&#x27;", "'")),
            "the page lacks {shown:?}"
        );
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn sixty_texts_to_one_foreign_prefix_pause_at_twenty_and_the_held_forty_go_out_when_an_admin_resumes(
    pool: PgPool,
) {
    let (sb, _keep) = start_sandbox().await;
    let app = common::spawn_app_on(pool.clone(), &sb).await;
    let admin = app.login_as("admin@acme.test").await;
    let member = app.login_as("user@acme.test").await;
    configure_sandbox(&app, &admin, "acme", &sb, "30").await;
    own_number(&app, &member, FROM, false, common::PHONE).await;
    let voice = own_number(&app, &member, "+14155550170", false, common::PHONE).await;
    let key = create_key(&app, &admin, "user@acme.test", &["scope_messages"]).await;
    let owner_key = create_key(&app, &admin, "admin@acme.test", &["scope_budgets"]).await;
    let member_key = create_key(&app, &admin, "user@acme.test", &["scope_budgets"]).await;

    // The owner allows the UK and pauses a destination at 20 sends an hour (through the API).
    let put = |k: &str| {
        reqwest::Client::new()
            .put(format!("{}/v1/destinations", app.base))
            .bearer_auth(k)
            .json(&json!({"allowed_countries": ["GB"], "velocity_per_hour": 20}))
    };
    assert_eq!(put(&member_key).send().await.unwrap().status(), 403);
    let r = put(&owner_key).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["allowed_countries"], json!(["GB"]));
    assert_eq!(v["velocity_per_hour"], 20);

    // Sixty texts to sixty UK mobiles under one prefix, +447400.
    let mut answers = Vec::new();
    for i in 0..60 {
        let r = v1_send(&app, &key, &format!("+4474001{i:05}"))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let v: Value = r.json().await.unwrap();
        answers.push((status, v));
    }
    let sent = answers.iter().filter(|(s, _)| *s == 201).count();
    let held: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| *s == 202)
        .map(|(_, v)| v)
        .collect();
    println!(
        "60 texts to +447400… at 20 an hour: {sent} sent, {} held",
        held.len()
    );
    assert_eq!((sent, held.len()), (20, 40), "{answers:?}");
    assert!(answers[..20].iter().all(|(s, _)| *s == 201));
    assert!(held.iter().all(|v| v["status"] == "held"), "{held:?}");
    // Nothing lost: sixty rows, forty of them held under the one pause; the provider saw twenty.
    assert_eq!(app.count("SELECT count(*) FROM messages").await, 60);
    assert_eq!(
        app.count("SELECT count(*) FROM messages WHERE status = 'held' AND pause_id IS NOT NULL")
            .await,
        40
    );
    assert_eq!(sandbox_stat(&sb, "CreateMessage").await, 20);
    assert_eq!(
        app.count("SELECT count(*) FROM destination_pauses WHERE dest_key = 'p:+447400' AND resumed_at IS NULL")
            .await,
        1
    );
    // The owners and admins were told (the member was not), and it is on the record.
    let told: Vec<String> = sqlx::query_scalar(
        "SELECT u.email FROM notifications n JOIN users u ON u.id = n.user_id
         WHERE n.title = 'Acme Corp: texts to +447400… paused after 20 in an hour'
           AND n.link = '/o/acme/admin/destinations'
         ORDER BY u.email",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(told, ["admin@acme.test", "second@acme.test"]);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'destination.paused' AND target = 'p:+447400'")
            .await,
        1
    );
    // Calls there are refused meanwhile.
    let voice = voice.to_string();
    let call = [
        ("org", "acme"),
        ("number_id", voice.as_str()),
        ("to", "+447400100099"),
    ];
    let r = app.call(&member, "place_call", &call).await;
    assert_eq!(r.status(), 403);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("Calls to +447400… are paused after 20 in an hour."),
        "{text}"
    );
    assert_eq!(sandbox_stat(&sb, "CreateCall").await, 0);

    // The page lists the pause with the forty it holds.
    let p = app
        .load::<DestinationsPage>(&admin, "load_destinations", &[("org", "acme")])
        .await;
    let pause = &p["pauses"][0];
    assert_eq!(pause["destination"], "+447400…");
    assert_eq!(pause["held"], 40);
    let id = pause["id"].as_i64().unwrap().to_string();
    let resume = [("org", "acme"), ("id", id.as_str())];

    // A member cannot resume it; another org does not see it.
    assert_eq!(
        app.call(&member, "resume_destination", &resume)
            .await
            .status(),
        403
    );
    let r = reqwest::Client::new()
        .post(format!("{}/v1/destinations/pauses/{id}/resume", app.base))
        .bearer_auth(&member_key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let outsider = app.login_as("admin@globex.test").await;
    assert_eq!(
        app.call(&outsider, "resume_destination", &resume)
            .await
            .status(),
        404
    );
    let theirs = [("org", "globex"), ("id", id.as_str())];
    assert_eq!(
        app.call(&outsider, "resume_destination", &theirs)
            .await
            .status(),
        404
    );
    let r = try_create_key(
        &app,
        &outsider,
        "globex",
        "admin@globex.test",
        &["scope_budgets"],
    )
    .await;
    let globex_key = r.json::<Value>().await.unwrap()["key"]
        .as_str()
        .unwrap()
        .to_string();
    let r = reqwest::Client::new()
        .post(format!("{}/v1/destinations/pauses/{id}/resume", app.base))
        .bearer_auth(&globex_key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = reqwest::Client::new()
        .get(format!("{}/v1/destinations/pauses", app.base))
        .bearer_auth(&globex_key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["data"], json!([]));

    // Say they were held since last month, and the org has a monthly SMS budget: resumed now,
    // they are checked against this month's caps, so they are booked in this month too.
    sqlx::query(
        "UPDATE messages SET created_at = created_at - interval '40 days' WHERE status = 'held'",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO budgets (org_id, category, period, amount_micros, hard_cap)
         SELECT id, 'sms', 'month', 900000000, false FROM orgs WHERE slug = 'acme'",
    )
    .execute(&pool)
    .await
    .unwrap();
    // The owner resumes it with JavaScript off: the forty go out, and it is on the record.
    let r = app
        .post_plain(&admin, "resume_destination", PAGE, &resume)
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "/o/acme/admin/destinations?notice=destination-resumed"
    );
    let seen = poll_until_eq(Duration::from_secs(30), 60, || {
        sandbox_stat(&sb, "CreateMessage")
    })
    .await;
    println!("after the resume the provider saw {seen} texts");
    assert_eq!(seen, 60);
    let still_held = poll_until_eq(Duration::from_secs(10), 0, || {
        app.count("SELECT count(*) FROM messages WHERE status = 'held'")
    })
    .await;
    assert_eq!(still_held, 0);
    assert_eq!(app.count("SELECT count(*) FROM messages").await, 60);
    assert_eq!(app.count("SELECT count(*) FROM budget_usage").await, 1);
    assert_eq!(
        app.count("SELECT spent_micros FROM budget_usage").await,
        app.count("SELECT sum(cost_micros)::bigint FROM messages")
            .await
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'destination.resumed'")
            .await,
        1
    );
    let admin_id = app.user_id("admin@acme.test").await;
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM destination_pauses WHERE resumed_by = {admin_id} AND resumed_at IS NOT NULL"
        ))
        .await,
        1
    );

    // The hour starts again at the resume: the next text is sent.
    let r = v1_send(&app, &key, "+447400100060").send().await.unwrap();
    assert_eq!(r.status(), 201);
    // At one an hour the one after is held under a new pause, which the owner resumes with
    // JavaScript on (the server function).
    let r = app
        .call(&admin, "save_destination_rules", &rules("GB", "", "1"))
        .await;
    assert_eq!(r.status(), 200);
    let r = v1_send(&app, &key, "+447400100061").send().await.unwrap();
    assert_eq!(r.status(), 202);
    let r = reqwest::Client::new()
        .get(format!("{}/v1/destinations/pauses", app.base))
        .bearer_auth(&owner_key)
        .send()
        .await
        .unwrap();
    let pauses: Value = r.json().await.unwrap();
    assert_eq!(pauses["data"][0]["destination"], "p:+447400");
    assert_eq!(pauses["data"][0]["held"], 1);
    assert_eq!(pauses["data"][0]["resumed_at"], Value::Null);
    let second = pauses["data"][0]["id"].as_i64().unwrap().to_string();
    let r = app
        .call(
            &admin,
            "resume_destination",
            &[("org", "acme"), ("id", second.as_str())],
        )
        .await;
    assert_eq!(r.status(), 200);
    let seen = poll_until_eq(Duration::from_secs(30), 62, || {
        sandbox_stat(&sb, "CreateMessage")
    })
    .await;
    assert_eq!(seen, 62);
    // Nothing is left to resume there.
    let still_held = poll_until_eq(Duration::from_secs(10), 0, || {
        app.count("SELECT count(*) FROM messages WHERE status = 'held'")
    })
    .await;
    assert_eq!(still_held, 0);
    let r = app
        .call(
            &admin,
            "resume_destination",
            &[("org", "acme"), ("id", second.as_str())],
        )
        .await;
    assert_eq!(r.status(), 409);
}

//! Call blocking: callers on the block list (a number, a prefix) and hidden numbers are refused
//! before anything rings and kept as blocked; a caller is blocked from the history; a number on
//! the do-not-call list is refused before the provider is asked, from the page and `/v1`; only
//! owners and admins change the lists, and another org's entries are out of reach.

use crate::common;

use std::time::Duration;

use common::{
    configure_sandbox, create_key, own_number, poll_until_eq, sandbox_stat, spawn_app_on,
    start_sandbox, TestApp, PHONE,
};
use serde_json::{json, Value};
use sqlx::PgPool;

const OURS: &str = "+14155550185";

/// `from` calls the number `id` (through the sandbox, which asks PhoneHub's signed voice webhook
/// as Twilio does); the new call's id.
async fn call_in(app: &TestApp, c: &reqwest::Client, id: i64, from: &str) -> i64 {
    let before = app.count("SELECT coalesce(max(id), 0) FROM calls").await;
    let r = app
        .call(
            c,
            "simulate_inbound",
            &[
                ("org", "acme"),
                ("id", &id.to_string()),
                ("kind", "call"),
                ("from", from),
            ],
        )
        .await;
    assert!(r.status().as_u16() < 400, "{from}: {}", r.status());
    let id = app.count("SELECT coalesce(max(id), 0) FROM calls").await;
    assert!(id > before, "{from}: no call was written");
    id
}

/// The call's blocked reason and status once the provider's last callback arrived.
async fn settled(app: &TestApp, call: i64) -> (Option<String>, String, Option<String>) {
    let sql = format!(
        "SELECT count(*) FROM calls WHERE id = {call} AND status IN ('completed', 'no-answer', 'busy')"
    );
    poll_until_eq(Duration::from_secs(20), 1, || app.count(&sql)).await;
    sqlx::query_as("SELECT blocked, status, bridge_e164 FROM calls WHERE id = $1")
        .bind(call)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn add(app: &TestApp, c: &reqwest::Client, list: &str, number: &str) -> reqwest::Response {
    app.call(
        c,
        "add_call_block",
        &[
            ("org", "acme"),
            ("list", list),
            ("number", number),
            ("note", "spam"),
        ],
    )
    .await
}

#[sqlx::test(migrations = "../migrations")]
async fn blocked_and_hidden_callers_are_refused_before_ringing_and_do_not_call_before_the_provider(
    pool: PgPool,
) {
    let (sb, _keep) = start_sandbox().await;
    let app = spawn_app_on(pool, &sb).await;
    let admin = app.login_as("admin@acme.test").await;
    configure_sandbox(&app, &admin, "acme", &sb, "30").await;
    let number = own_number(&app, &admin, OURS, false, PHONE).await;
    // Another org blocking a caller changes nothing for acme.
    sqlx::query(
        "INSERT INTO call_blocks (org_id, list, pattern, is_prefix)
         SELECT id, 'inbound', '+12125550999', false FROM orgs WHERE slug = 'globex'",
    )
    .execute(&app.pool)
    .await
    .unwrap();

    // Who may change the lists, and what they may type.
    let member = app.login_as("user@acme.test").await;
    assert_eq!(
        add(&app, &member, "blocked", "+12125550111").await.status(),
        403
    );
    let support = app.login_as("support@phonehub.test").await;
    assert_eq!(
        add(&app, &support, "blocked", "+12125550111")
            .await
            .status(),
        403
    );
    for bad in ["1900*", "+0800*", "not a number", "", "+1 900 55*5*"] {
        let r = add(&app, &admin, "blocked", bad).await;
        assert_eq!(r.status(), 422, "{bad:?}");
        let body: Value = r.json().await.unwrap();
        assert!(body.to_string().contains("number"), "{bad:?}: {body}");
    }
    assert_eq!(app.count("SELECT count(*) FROM call_blocks").await, 1);
    assert!(
        add(&app, &admin, "blocked", "+1 212 555 0111")
            .await
            .status()
            .as_u16()
            < 400
    );
    assert!(
        add(&app, &admin, "blocked", "+1 900*")
            .await
            .status()
            .as_u16()
            < 400
    );
    assert!(
        add(&app, &admin, "do_not_call", "(310) 555-0122")
            .await
            .status()
            .as_u16()
            < 400
    );
    assert_eq!(
        add(&app, &admin, "blocked", "+12125550111").await.status(),
        409
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'call_block.added'")
            .await,
        3
    );

    // A blocked number and a blocked prefix: rejected before ringing, kept as blocked, unbilled.
    let exact = call_in(&app, &admin, number, "+12125550111").await;
    assert_eq!(
        settled(&app, exact).await,
        (Some("number".into()), "no-answer".into(), None)
    );
    let prefixed = call_in(&app, &admin, number, "+19005550100").await;
    assert_eq!(settled(&app, prefixed).await.0.as_deref(), Some("prefix"));
    assert_eq!(sandbox_stat(&sb, "RejectedCall").await, 2);
    assert_eq!(
        app.count("SELECT count(*) FROM calls WHERE blocked IS NOT NULL AND cost_micros <> 0")
            .await,
        0
    );

    // A hidden number rings through until the org blocks those, then is refused too.
    let hidden = call_in(&app, &admin, number, "anonymous").await;
    assert_eq!(settled(&app, hidden).await.0, None);
    let r = app
        .call(
            &member,
            "set_block_anonymous",
            &[("org", "acme"), ("block", "on")],
        )
        .await;
    assert_eq!(r.status(), 403);
    let r = app
        .call(
            &admin,
            "set_block_anonymous",
            &[("org", "acme"), ("block", "on")],
        )
        .await;
    assert!(r.status().as_u16() < 400);
    let hidden = call_in(&app, &admin, number, "Anonymous").await;
    assert_eq!(settled(&app, hidden).await.0.as_deref(), Some("anonymous"));
    assert_eq!(sandbox_stat(&sb, "RejectedCall").await, 3);

    // Anyone else rings the number's phone (globex's entry for them is globex's alone).
    let fine = call_in(&app, &admin, number, "+12125550999").await;
    let (blocked, _, bridge) = settled(&app, fine).await;
    assert_eq!((blocked, bridge.as_deref()), (None, Some(PHONE)));

    // Blocked from the history's row: the member may not; the admin does, and the next call
    // from them is refused.
    let block_row = |c: &reqwest::Client, call: i64| {
        let c = c.clone();
        let app = &app;
        async move {
            app.call(
                &c,
                "block_caller",
                &[("org", "acme"), ("call", &call.to_string())],
            )
            .await
        }
    };
    assert_eq!(block_row(&member, fine).await.status(), 403);
    assert!(block_row(&admin, fine).await.status().as_u16() < 400);
    assert_eq!(block_row(&admin, fine).await.status(), 409);
    let again = call_in(&app, &admin, number, "+12125550999").await;
    assert_eq!(settled(&app, again).await.0.as_deref(), Some("number"));

    // The do-not-call list: refused next to the field, before the provider is asked.
    let placed_before = sandbox_stat(&sb, "CreateCall").await;
    let r = app
        .call(
            &admin,
            "place_call",
            &[
                ("org", "acme"),
                ("number_id", &number.to_string()),
                ("to", "+13105550122"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert!(body.to_string().contains("do-not-call"), "{body}");
    let key = create_key(&app, &admin, "admin@acme.test", &["scope_calls"]).await;
    let api = reqwest::Client::new();
    let r = api
        .post(format!("{}/v1/calls", app.base))
        .bearer_auth(&key)
        .json(&json!({ "from_number_id": number, "to": "+13105550122" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(sandbox_stat(&sb, "CreateCall").await, placed_before);
    assert_eq!(
        app.count("SELECT count(*) FROM calls WHERE to_e164 = '+13105550122'")
            .await,
        0
    );

    // The phone click-to-call rings first is dialled too: a forward to a do-not-call number is
    // refused when set, and one set before the entry refuses the call (and inbound calls go to
    // voicemail instead of ringing it).
    let r = app
        .call(
            &admin,
            "update_number",
            &[
                ("org", "acme"),
                ("id", &number.to_string()),
                ("friendly_name", ""),
                ("active", "on"),
                ("forward_to", "+13105550122"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert!(body.to_string().contains("forward_to"), "{body}");
    assert!(
        add(&app, &admin, "do_not_call", PHONE)
            .await
            .status()
            .as_u16()
            < 400
    );
    let r = app
        .call(
            &admin,
            "place_call",
            &[
                ("org", "acme"),
                ("number_id", &number.to_string()),
                ("to", "+12125550998"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert!(body.to_string().contains("number_id"), "{body}");
    assert_eq!(sandbox_stat(&sb, "CreateCall").await, placed_before);
    let unrung = call_in(&app, &admin, number, "+12125550998").await;
    assert_eq!(
        settled(&app, unrung).await,
        (None, "completed".into(), None)
    );
    let phone_entry = app
        .count(&format!(
            "SELECT id FROM call_blocks WHERE pattern = '{PHONE}'"
        ))
        .await;
    let r = app
        .call(
            &admin,
            "remove_call_block",
            &[("org", "acme"), ("id", &phone_entry.to_string())],
        )
        .await;
    assert!(r.status().as_u16() < 400);

    // `/v1`: the lists as the page has them; a member's key reads but does not change them;
    // another org's entry is not found.
    let v: Value = api
        .get(format!("{}/v1/call-blocking", app.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["block_anonymous"], true, "{v}");
    // A blocked call says so in `/v1/calls`: not a missed call to ring back.
    let calls: Value = api
        .get(format!("{}/v1/calls/{exact}", app.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(calls["blocked"], "number", "{calls}");
    let blocked: Vec<&str> = v["blocked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["number"].as_str().unwrap())
        .collect();
    assert_eq!(blocked, ["+12125550999", "+1900", "+12125550111"]);
    assert_eq!(v["do_not_call"][0]["number"], "+13105550122");
    let member_key = create_key(&app, &admin, "user@acme.test", &["scope_calls"]).await;
    let r = api
        .post(format!("{}/v1/call-blocking/entries", app.base))
        .bearer_auth(&member_key)
        .json(&json!({ "list": "blocked", "number": "+15555550100" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = api
        .post(format!("{}/v1/call-blocking/entries", app.base))
        .bearer_auth(&key)
        .json(&json!({ "list": "do_not_call", "number": "+4470*" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let added: Value = r.json().await.unwrap();
    assert_eq!(
        (added["number"].as_str(), added["prefix"].as_bool()),
        (Some("+4470"), Some(true))
    );
    let theirs = app
        .count(
            "SELECT id FROM call_blocks WHERE org_id = (SELECT id FROM orgs WHERE slug = 'globex')",
        )
        .await;
    let r = api
        .delete(format!("{}/v1/call-blocking/entries/{theirs}", app.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = api
        .delete(format!(
            "{}/v1/call-blocking/entries/{}",
            app.base, added["id"]
        ))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        app.count("SELECT count(*) FROM call_blocks WHERE org_id = (SELECT id FROM orgs WHERE slug = 'globex')").await,
        1
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action IN ('call_block.removed', 'call_block.anonymous_on')").await,
        3
    );
    // Support staff and members read the page.
    for reader in [&support, &member] {
        let r = app
            .call(reader, "load_call_blocking", &[("org", "acme")])
            .await;
        assert_eq!(r.status(), 200);
    }
}

//! The public API: keys created on the API keys page (shown once, stored as a hash, audited,
//! revocable at once), and `/v1` used with them as a member's code would, and as an attacker would.

use crate::common;

use app::model::api_keys::ApiKeysPage;
use common::{
    configure_sandbox, create_key, own_number, sandbox_stat, spawn_app_on, start_sandbox,
    try_create_key, TestApp,
};
use serde_json::Value;
use sqlx::PgPool;

fn get(app: &TestApp, key: &str, path: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .get(format!("{}{path}", app.base))
        .bearer_auth(key)
}

async fn problem(r: reqwest::Response, status: u16) -> Value {
    assert_eq!(r.status(), status);
    assert_eq!(
        r.headers()["content-type"],
        "application/problem+json",
        "errors are problem documents"
    );
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], status);
    assert!(v["detail"].as_str().is_some_and(|d| !d.is_empty()), "{v}");
    v
}

#[sqlx::test(migrations = "../migrations")]
async fn a_new_key_is_shown_once_stored_as_a_hash_listed_by_prefix_and_audited(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let app = spawn_app_on(pool, &sb).await;
    let admin = app.login_as("admin@acme.test").await;
    let key = create_key(&app, &admin, "user@acme.test", &["scope_lookups"]).await;
    assert!(
        key.starts_with("phk_") && key.len() == 4 + 12 + 1 + 43,
        "{key}"
    );

    // Only the SHA-256 of the key is kept; nothing in the row holds the secret.
    let (digest, row): (Vec<u8>, String) = sqlx::query_as(
        "SELECT key_sha256, row_to_json(k)::text FROM api_keys k WHERE name = 'CRM sync'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    use sha2::Digest;
    assert_eq!(digest, sha2::Sha256::digest(key.as_bytes()).to_vec());
    let secret = &key[17..];
    assert!(!row.contains(secret), "the secret is not stored");

    // The list shows the prefix, who it acts as, and never the secret.
    let r = app.call(&admin, "load_api_keys", &[("org", "acme")]).await;
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap();
    assert!(!String::from_utf8_lossy(&bytes).contains(secret));
    let page: ApiKeysPage = postcard::from_bytes(&bytes).unwrap();
    assert_eq!(page.keys.len(), 1);
    assert_eq!(page.keys[0].prefix, format!("{}_…", &key[..16]));
    assert_eq!(page.keys[0].acting_as, "user@acme.test");
    assert_eq!(page.keys[0].scopes, ["lookups"]);
    let html = app
        .get(&admin, "/o/acme/admin/api-keys")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(&key[..16]) && !html.contains(secret));

    // JavaScript off: the form's page is rendered with the key, once, never cached.
    let acting = app.user_id("user@acme.test").await.to_string();
    let r = app
        .post_plain(
            &admin,
            "create_api_key",
            "/o/acme/admin/api-keys",
            &[
                ("org", "acme"),
                ("name", "Nightly export"),
                ("acting_as", &acting),
                ("scope_usage", "on"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let html = r.text().await.unwrap();
    let shown = html
        .split("value=\"phk_")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .map(|s| format!("phk_{s}"))
        .expect("the new key is on the page");
    assert!(html.contains("cannot show it again"));
    let (digest,): (Vec<u8>,) =
        sqlx::query_as("SELECT key_sha256 FROM api_keys WHERE name = 'Nightly export'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(digest, sha2::Sha256::digest(shown.as_bytes()).to_vec());
    // Reloading the page does not show it again.
    let again = app
        .get(&admin, "/o/acme/admin/api-keys")
        .await
        .text()
        .await
        .unwrap();
    assert!(!again.contains(&shown[17..]));

    // Created and revoked keys are on the record, without their secrets.
    let id: i64 = sqlx::query_scalar("SELECT id FROM api_keys WHERE name = 'CRM sync'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let r = app
        .call(
            &admin,
            "revoke_api_key",
            &[("org", "acme"), ("id", &id.to_string())],
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    let audit: Vec<(String, String)> = sqlx::query_as(
        "SELECT action, details::text FROM audit_log WHERE action LIKE 'api_key.%' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let actions: Vec<&str> = audit.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        ["api_key.created", "api_key.created", "api_key.revoked"]
    );
    assert!(audit.iter().all(|(_, d)| !d.contains(secret)));
}

#[sqlx::test(migrations = "../migrations")]
async fn only_owners_and_admins_create_keys_and_never_beyond_their_own_rights(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let app = spawn_app_on(pool, &sb).await;
    let member = app.login_as("user@acme.test").await;
    let support = app.login_as("support@phonehub.test").await;
    let second = app.login_as("second@acme.test").await; // an admin of acme
    let owner = app.login_as("admin@acme.test").await; // owner of acme, member of globex

    // A member cannot create keys or see the page; support sees that keys exist, nothing more.
    let r = try_create_key(&app, &member, "acme", "user@acme.test", &["scope_lookups"]).await;
    assert_eq!(r.status(), 403);
    let r = app.call(&member, "load_api_keys", &[("org", "acme")]).await;
    assert_eq!(r.status(), 403);
    let r = try_create_key(&app, &support, "acme", "user@acme.test", &["scope_lookups"]).await;
    assert_eq!(r.status(), 403);
    let r = app
        .call(&support, "load_api_keys", &[("org", "acme")])
        .await;
    assert_eq!(r.status(), 200);

    // An admin cannot make a key that acts as an owner (it would do what they cannot).
    let r = try_create_key(&app, &second, "acme", "admin@acme.test", &["scope_lookups"]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("acting_as"));
    // Nobody makes a key acting as someone outside the org.
    let r = try_create_key(
        &app,
        &owner,
        "acme",
        "admin@globex.test",
        &["scope_lookups"],
    )
    .await;
    assert_eq!(r.status(), 422);
    // A plain member of globex cannot make keys there.
    let r = try_create_key(
        &app,
        &owner,
        "globex",
        "admin@acme.test",
        &["scope_lookups"],
    )
    .await;
    assert_eq!(r.status(), 403);
    // A key needs a scope and a name.
    let r = try_create_key(&app, &owner, "acme", "user@acme.test", &[]).await;
    assert_eq!(r.status(), 422);
    assert_eq!(app.count("SELECT count(*) FROM api_keys").await, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_key_looks_numbers_up_as_its_member_with_cost_and_saving(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let app = spawn_app_on(pool, &sb).await;
    let admin = app.login_as("admin@acme.test").await;
    configure_sandbox(&app, &admin, "acme", &sb, "30").await;
    let key = create_key(&app, &admin, "user@acme.test", &["scope_lookups"]).await;

    let r = get(&app, &key, "/v1/lookups/+14155552671")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("ratelimit"));
    assert_eq!(r.headers()["cache-control"], "private, no-store");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["number"], "+14155552671");
    assert_eq!(v["outcome"], "miss");
    assert_eq!(v["cost"]["micros"], 5000);
    assert_eq!(v["cost"]["decimal"], "0.005000");
    assert_eq!(v["saved"]["micros"], 0);
    assert!(
        v["expires_at"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{v}"
    );
    // A national number is read as the page reads it; the second time it is a free hit.
    let v: Value = get(&app, &key, "/v1/lookups/(415)%20555-2671")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["outcome"], "hit");
    assert_eq!(v["cost"]["micros"], 0);
    assert_eq!(v["saved"]["micros"], 5000);
    // Both are attributed to acme and the key's member, as the page's lookups are.
    let user = app.user_id("user@acme.test").await;
    common::poll_until_eq(std::time::Duration::from_secs(10), 2, || async {
        app.count(&format!(
            "SELECT count(*) FROM lookup_events e JOIN orgs o ON o.id = e.org_id WHERE o.slug = 'acme' AND e.user_id = {user}"
        ))
        .await
    })
    .await;
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM lookup_events e JOIN orgs o ON o.id = e.org_id WHERE o.slug = 'acme' AND e.user_id = {user}"
        ))
        .await,
        2
    );
    // Bad input: a 422 naming the field.
    let v = problem(
        get(&app, &key, "/v1/lookups/hello").send().await.unwrap(),
        422,
    )
    .await;
    assert_eq!(v["errors"][0]["field"], "number");

    // The caller name, on request: refused while the org's config has it off...
    let v = problem(
        get(&app, &key, "/v1/lookups/+14155552672?caller_name=true")
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;
    assert_eq!(v["errors"][0]["field"], "caller_name");
    // ...and paid for when it is on; `false` leaves it out at the line-type price.
    let r = app
        .call(
            &admin,
            "save_phone_config",
            &[
                ("org", "acme"),
                ("provider", "sandbox"),
                ("display_name", "Test sandbox"),
                ("active", "on"),
                ("lookup_enabled", "on"),
                ("lookup_cache_days", "30"),
                ("caller_name_enabled", "on"),
                ("default_sender", ""),
                ("credential_id", telephony::sandbox::DEV_ACCOUNT_SID),
                ("credential_secret", telephony::sandbox::DEV_AUTH_TOKEN),
            ],
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    let v: Value = get(&app, &key, "/v1/lookups/+14155552673?caller_name=false")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (v["outcome"].as_str(), v["cost"]["micros"].as_i64()),
        (Some("miss"), Some(5000))
    );
    assert!(v["caller_name"].is_null());
    let v: Value = get(&app, &key, "/v1/lookups/+14155552674?caller_name=true")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["cost"]["micros"], 15000, "{v}");
    assert!(v["caller_name"].is_string(), "{v}");
}

#[sqlx::test(migrations = "../migrations")]
async fn missing_malformed_unknown_forged_and_revoked_keys_are_refused(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let app = spawn_app_on(pool, &sb).await;
    let admin = app.login_as("admin@acme.test").await;
    configure_sandbox(&app, &admin, "acme", &sb, "30").await;
    let key = create_key(&app, &admin, "user@acme.test", &["scope_lookups"]).await;
    let path = "/v1/lookups/+14155552671";

    let r = reqwest::get(format!("{}{path}", app.base)).await.unwrap();
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    problem(r, 401).await;
    for bad in [
        "nonsense".to_string(),
        // Well formed but unknown.
        format!("phk_0123456789ab_{}", &key[17..]),
        // The real public id with another secret: forged.
        format!("{}{}", &key[..17], "A".repeat(43)),
    ] {
        let v = problem(get(&app, &bad, path).send().await.unwrap(), 401).await;
        assert!(!v.to_string().contains(&key[17..]));
    }
    // A session cookie is no key.
    let r = admin
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    problem(r, 401).await;

    // Works, then is revoked, and the very next request is refused.
    assert_eq!(get(&app, &key, path).send().await.unwrap().status(), 200);
    let id: i64 = sqlx::query_scalar("SELECT id FROM api_keys")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let r = app
        .call(
            &admin,
            "revoke_api_key",
            &[("org", "acme"), ("id", &id.to_string())],
        )
        .await;
    assert!(r.status().is_success());
    let v = problem(get(&app, &key, path).send().await.unwrap(), 401).await;
    assert!(v["detail"].as_str().unwrap().contains("revoked"));
    // Revoking it again, or another org's key id, is a 404.
    let r = app
        .call(
            &admin,
            "revoke_api_key",
            &[("org", "acme"), ("id", &id.to_string())],
        )
        .await;
    assert_eq!(r.status(), 404);

    // A key whose member left the org stops working.
    let key2 = create_key(&app, &admin, "user@acme.test", &["scope_lookups"]).await;
    assert_eq!(get(&app, &key2, path).send().await.unwrap().status(), 200);
    let user = app.user_id("user@acme.test").await.to_string();
    let r = app
        .call(
            &admin,
            "remove_member",
            &[("org", "acme"), ("user_id", &user)],
        )
        .await;
    assert!(r.status().is_success());
    problem(get(&app, &key2, path).send().await.unwrap(), 401).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn scopes_and_the_members_rights_both_apply_and_other_orgs_do_not_exist(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let app = spawn_app_on(pool, &sb).await;
    let owner = app.login_as("admin@acme.test").await;
    let member = app.login_as("user@acme.test").await;
    configure_sandbox(&app, &owner, "acme", &sb, "30").await;
    let globex_owner = app.login_as("admin@globex.test").await;
    configure_sandbox(&app, &globex_owner, "globex", &sb, "30").await;
    let r = app
        .call(
            &globex_owner,
            "buy_number",
            &[
                ("org", "globex"),
                ("number", "+15005550006"),
                ("key", "00000000000000000000015005550006"),
                ("friendly_name", "Globex line"),
            ],
        )
        .await;
    assert!(r.status().as_u16() < 400, "{}", r.status());
    let globex_id: i64 =
        sqlx::query_scalar("SELECT id FROM owned_numbers WHERE e164 = '+15005550006'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let mine = own_number(&app, &member, "+15005550007", false, common::PHONE).await;

    let lookups_only = create_key(&app, &owner, "user@acme.test", &["scope_lookups"]).await;
    let v = problem(
        get(&app, &lookups_only, "/v1/numbers")
            .send()
            .await
            .unwrap(),
        403,
    )
    .await;
    assert!(v["detail"].as_str().unwrap().contains("numbers"));

    let member_key = create_key(
        &app,
        &owner,
        "user@acme.test",
        &["scope_numbers", "scope_usage"],
    )
    .await;
    let v: Value = get(&app, &member_key, "/v1/numbers")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let numbers: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["+15005550007"]);
    let r = get(&app, &member_key, &format!("/v1/numbers/{mine}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Another org's number, or a nonsense id: 404, the same answer.
    for path in [format!("/v1/numbers/{globex_id}"), "/v1/numbers/x".into()] {
        problem(get(&app, &member_key, &path).send().await.unwrap(), 404).await;
    }
    // The usage scope on a plain member's key: the member cannot see spend, so neither can it.
    problem(
        get(&app, &member_key, "/v1/usage").send().await.unwrap(),
        403,
    )
    .await;
    let admin_key = create_key(&app, &owner, "second@acme.test", &["scope_usage"]).await;
    let r = get(&app, &admin_key, "/v1/usage?from=2026-01-01&to=2026-12-31")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert!(v["total"]["micros"].as_i64().unwrap() > 0, "{v}");
    let v = problem(
        get(&app, &admin_key, "/v1/usage?from=yesterday")
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;
    assert_eq!(v["errors"][0]["field"], "from");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_key_sends_an_sms_from_its_members_number(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let app = spawn_app_on(pool, &sb).await;
    let owner = app.login_as("admin@acme.test").await;
    let member = app.login_as("user@acme.test").await;
    configure_sandbox(&app, &owner, "acme", &sb, "30").await;
    own_number(&app, &member, "+15005550007", false, common::PHONE).await;
    let key = create_key(&app, &owner, "user@acme.test", &["scope_messages"]).await;
    let send = |body: Value| {
        reqwest::Client::new()
            .post(format!("{}/v1/messages", app.base))
            .bearer_auth(&key)
            .json(&body)
            .send()
    };
    let r = send(serde_json::json!({"from": "+15005550007", "to": "+14155550199", "body": "Hi"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    let user = app.user_id("user@acme.test").await;
    let (from, to, by): (String, String, Option<i64>) =
        sqlx::query_as("SELECT our_e164, other_e164, user_id FROM messages WHERE id = $1")
            .bind(v["id"].as_i64().unwrap())
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        (from.as_str(), to.as_str(), by),
        ("+15005550007", "+14155550199", Some(user))
    );

    let before = app.count("SELECT count(*) FROM messages").await;
    let v = problem(
        send(serde_json::json!({"from": "+15005550007", "to": "+14155550199", "body": ""}))
            .await
            .unwrap(),
        422,
    )
    .await;
    assert_eq!(v["errors"][0]["field"], "body");
    // Not the member's number: refused, nothing sent.
    let r = send(serde_json::json!({"from": "+15005550006", "to": "+14155550199", "body": "Hi"}))
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
    // Not JSON, or unknown members: a problem, nothing sent.
    let r = reqwest::Client::new()
        .post(format!("{}/v1/messages", app.base))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body("{\"from\":")
        .send()
        .await
        .unwrap();
    problem(r, 400).await;
    problem(
        send(serde_json::json!({"from": "+15005550007", "to": "+14155550199", "body": "Hi", "admin": true}))
            .await
            .unwrap(),
        422,
    )
    .await;
    assert_eq!(app.count("SELECT count(*) FROM messages").await, before);
}

#[sqlx::test(migrations = "../migrations")]
async fn each_key_has_a_request_budget_with_ratelimit_headers(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let mut settings = common::settings("http://127.0.0.1:0");
    settings.sandbox_url = Some(url::Url::parse(&sb).unwrap());
    settings.api_requests_per_minute = 3;
    let app = common::spawn_with_settings(pool, settings).await;
    let admin = app.login_as("admin@acme.test").await;
    configure_sandbox(&app, &admin, "acme", &sb, "30").await;
    let key = create_key(&app, &admin, "user@acme.test", &["scope_lookups"]).await;
    let other = create_key(&app, &admin, "user@acme.test", &["scope_lookups"]).await;
    let path = "/v1/lookups/+14155552671";
    for left in [2, 1, 0] {
        let r = get(&app, &key, path).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["ratelimit-policy"], "\"per-key\";q=3;w=60");
        let rl = r.headers()["ratelimit"].to_str().unwrap().to_string();
        assert!(rl.starts_with(&format!("\"per-key\";r={left};t=")), "{rl}");
    }
    let r = get(&app, &key, path).send().await.unwrap();
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    problem(r, 429).await;
    // Another key's budget is its own.
    assert_eq!(get(&app, &other, path).send().await.unwrap().status(), 200);
}

fn send_json(
    app: &TestApp,
    key: &str,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(key)
        .json(&body)
}

#[sqlx::test(migrations = "../migrations")]
async fn a_purchase_is_bought_once_under_parallel_retries_and_answers_the_same(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let app = spawn_app_on(pool, &sb).await;
    let owner = app.login_as("admin@acme.test").await;
    configure_sandbox(&app, &owner, "acme", &sb, "30").await;
    let key = create_key(&app, &owner, "user@acme.test", &["scope_numbers"]).await;
    let v: Value = get(&app, &key, "/v1/numbers/available?area_code=415&sms=true")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let number = v["data"][0]["number"].as_str().unwrap().to_string();
    assert!(v["monthly_price"]["micros"].as_i64().unwrap() > 0);
    let buy = |idem: &str, body: Value| {
        send_json(&app, &key, reqwest::Method::POST, "/v1/numbers", body)
            .header("Idempotency-Key", idem.to_string())
            .send()
    };
    let body = serde_json::json!({ "number": number, "friendly_name": "Support line" });
    // Eight retries at once with the same key: one purchase; every answer is that number, or
    // "still buying" while the first is at the provider.
    let answers = futures::future::join_all((0..8).map(|_| buy("order-7", body.clone()))).await;
    let mut ids = std::collections::BTreeSet::new();
    for r in answers {
        let r = r.unwrap();
        match r.status().as_u16() {
            201 => {
                let v: Value = r.json().await.unwrap();
                assert_eq!(v["number"], number.as_str());
                ids.insert(v["id"].as_i64().unwrap());
            }
            409 => {
                problem(r, 409).await;
            }
            s => panic!("unexpected {s}: {}", r.text().await.unwrap()),
        }
    }
    assert!(ids.len() <= 1, "{ids:?}");
    assert_eq!(sandbox_stat(&sb, "CreateIncomingPhoneNumber").await, 1);
    assert_eq!(
        app.count("SELECT count(*) FROM owned_numbers WHERE status = 'active'")
            .await,
        1
    );
    // A later retry gets the same answer, and buys nothing.
    let r = buy("order-7", body.clone()).await.unwrap();
    assert_eq!(r.status(), 201);
    let first: Value = r.json().await.unwrap();
    let again: Value = buy("order-7", body.clone())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(sandbox_stat(&sb, "CreateIncomingPhoneNumber").await, 1);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'number.purchased'")
            .await,
        1,
        "one purchase, on the record once"
    );
    // The same key with another body: refused, nothing bought.
    let other = serde_json::json!({ "number": number, "friendly_name": "Sales" });
    let v = problem(buy("order-7", other).await.unwrap(), 422).await;
    assert_eq!(v["errors"][0]["field"], "Idempotency-Key");
    // Without a key: refused.
    let r = send_json(
        &app,
        &key,
        reqwest::Method::POST,
        "/v1/numbers",
        body.clone(),
    )
    .send()
    .await
    .unwrap();
    problem(r, 400).await;

    // Change it, then release it: gone afterwards, and the old key does not buy it again.
    let id = first["id"].as_i64().unwrap();
    let r = send_json(
        &app,
        &key,
        reqwest::Method::PATCH,
        &format!("/v1/numbers/{id}"),
        serde_json::json!({ "friendly_name": "Desk", "forward_to": "(415) 555-0123" }),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (v["friendly_name"].as_str(), v["forward_to"].as_str()),
        (Some("Desk"), Some("+14155550123"))
    );
    let r = reqwest::Client::new()
        .delete(format!("{}/v1/numbers/{id}", app.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "released");
    problem(
        get(&app, &key, &format!("/v1/numbers/{id}"))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    problem(buy("order-7", body).await.unwrap(), 409).await;
    assert_eq!(sandbox_stat(&sb, "CreateIncomingPhoneNumber").await, 1);

    // Both entries through the API name the client's address and the key, as the pages' do the
    // address.
    let key_id: i64 = sqlx::query_scalar("SELECT max(id) FROM api_keys")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let rows: Vec<(String, Option<String>, Option<i64>)> = sqlx::query_as(
        "SELECT action, ip, (details->>'api_key')::bigint FROM audit_log
         WHERE action IN ('number.purchased', 'number.released') ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        rows,
        [
            (
                "number.purchased".to_string(),
                Some("127.0.0.1".to_string()),
                Some(key_id)
            ),
            (
                "number.released".to_string(),
                Some("127.0.0.1".to_string()),
                Some(key_id)
            ),
        ]
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn calls_and_messages_page_by_cursor_and_stay_the_members_own(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let app = spawn_app_on(pool, &sb).await;
    let owner = app.login_as("admin@acme.test").await;
    let member = app.login_as("user@acme.test").await;
    configure_sandbox(&app, &owner, "acme", &sb, "30").await;
    let mine = own_number(&app, &member, "+15005550007", false, common::PHONE).await;
    let owners = own_number(&app, &owner, "+15005550008", false, common::PHONE).await;
    let key = create_key(
        &app,
        &owner,
        "user@acme.test",
        &["scope_calls", "scope_messages"],
    )
    .await;

    // Three calls from the member's number through the key.
    let mut placed = Vec::new();
    for to in ["+14155550181", "+14155550182", "+14155550183"] {
        let r = send_json(
            &app,
            &key,
            reqwest::Method::POST,
            "/v1/calls",
            serde_json::json!({ "from_number_id": mine, "to": to }),
        )
        .send()
        .await
        .unwrap();
        assert_eq!(r.status(), 201);
        let v: Value = r.json().await.unwrap();
        placed.push(v["id"].as_i64().unwrap());
    }
    // Not from the owner's private number.
    let r = send_json(
        &app,
        &key,
        reqwest::Method::POST,
        "/v1/calls",
        serde_json::json!({ "from_number_id": owners, "to": "+14155550184" }),
    )
    .send()
    .await
    .unwrap();
    assert!(r.status().is_client_error());
    // The owner's own call is not in the member's history.
    let r = app
        .call(
            &owner,
            "place_call",
            &[
                ("org", "acme"),
                ("number_id", &owners.to_string()),
                ("to", "+14155550185"),
            ],
        )
        .await;
    assert!(r.status().as_u16() < 400);
    let owners_call: i64 = sqlx::query_scalar("SELECT max(id) FROM calls")
        .fetch_one(&app.pool)
        .await
        .unwrap();

    // Two per page, newest first, then the rest; the cursor is opaque and checked.
    let v: Value = get(&app, &key, "/v1/calls?limit=2")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let page1: Vec<i64> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(page1, [placed[2], placed[1]]);
    let cursor = v["next_cursor"].as_str().unwrap().to_string();
    let v: Value = get(&app, &key, &format!("/v1/calls?limit=2&cursor={cursor}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["data"][0]["id"], placed[0]);
    assert_eq!(v["data"].as_array().unwrap().len(), 1);
    assert!(v["next_cursor"].is_null());
    assert!(v["data"][0]["created_at"].as_str().unwrap().ends_with('Z'));
    let v = problem(
        get(&app, &key, "/v1/calls?cursor=MTIz")
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;
    assert_eq!(v["errors"][0]["field"], "cursor");
    problem(
        get(&app, &key, "/v1/calls?limit=0").send().await.unwrap(),
        422,
    )
    .await;

    // One call: its timeline and cost; the owner's call does not exist for this key.
    let v: Value = get(&app, &key, &format!("/v1/calls/{}", placed[0]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["to"], "+14155550181");
    assert!(v["timeline"].is_array());
    assert!(v["call_cost"]["micros"].is_i64());
    problem(
        get(&app, &key, &format!("/v1/calls/{owners_call}"))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    problem(
        get(&app, &key, &format!("/v1/calls/{owners_call}/recordings/1"))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;

    // Messages: sent through the key, listed newest first by cursor, one by one.
    let mut sent = Vec::new();
    for body in ["one", "two", "three"] {
        let r = send_json(
            &app,
            &key,
            reqwest::Method::POST,
            "/v1/messages",
            serde_json::json!({ "from": "+15005550007", "to": "+14155550199", "body": body }),
        )
        .send()
        .await
        .unwrap();
        assert_eq!(r.status(), 201);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["body"], body);
        sent.push(v["id"].as_i64().unwrap());
    }
    let v: Value = get(&app, &key, "/v1/messages?limit=2")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["data"][0]["id"], sent[2]);
    assert_eq!(v["data"][1]["id"], sent[1]);
    let cursor = v["next_cursor"].as_str().unwrap().to_string();
    let v: Value = get(&app, &key, &format!("/v1/messages?limit=2&cursor={cursor}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["data"][0]["id"], sent[0]);
    let r = get(&app, &key, &format!("/v1/messages/{}", sent[1]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The owner's message from their private number is not the member's to read.
    let r = app
        .call(
            &owner,
            "send_sms",
            &[
                ("org", "acme"),
                ("from", "+15005550008"),
                ("to", "+14155550199"),
                ("body", "private"),
            ],
        )
        .await;
    assert!(r.status().as_u16() < 400, "{}", r.status());
    let theirs: i64 = sqlx::query_scalar("SELECT max(id) FROM messages")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    problem(
        get(&app, &key, &format!("/v1/messages/{theirs}"))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    let v: Value = get(&app, &key, "/v1/messages")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(v["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["body"] != "private"));
}

#[sqlx::test(migrations = "../migrations")]
async fn the_openapi_document_and_its_page_are_public_and_offline(pool: PgPool) {
    let app = common::spawn_app(pool).await;
    let r = reqwest::get(format!("{}/v1/openapi.json", app.base))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let doc: Value = r.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(doc["paths"]["/v1/lookups/{number}"]["get"].is_object());
    let r = reqwest::get(format!("{}/v1/docs", app.base)).await.unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("/v1/numbers/{id}") && html.contains("Idempotency-Key"));
    // Nothing from elsewhere: every src and href is on this server.
    for attr in ["src=\"http", "href=\"http", "src=\"//", "href=\"//"] {
        assert!(!html.contains(attr), "{attr}");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_key_ends_with_its_makers_right_to_make_it_and_with_its_members_membership(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let app = spawn_app_on(pool, &sb).await;
    let owner = app.login_as("admin@acme.test").await;
    configure_sandbox(&app, &owner, "acme", &sb, "30").await;
    let admin = app.login_as("second@acme.test").await;
    let path = "/v1/lookups/+14155552671";
    // An admin makes a key acting as a member, then is demoted: the key stops at once.
    let key = create_key(&app, &admin, "user@acme.test", &["scope_lookups"]).await;
    assert_eq!(get(&app, &key, path).send().await.unwrap().status(), 200);
    let second = app.user_id("second@acme.test").await.to_string();
    let r = app
        .call(
            &owner,
            "change_role",
            &[("org", "acme"), ("user_id", &second), ("role", "member")],
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    let v = problem(get(&app, &key, path).send().await.unwrap(), 401).await;
    assert!(v["detail"].as_str().unwrap().contains("no longer manages"));
    // Promoted again it works; removed, every key they made or that acts as them is revoked,
    // and adding them back does not bring those keys back.
    let r = app
        .call(
            &owner,
            "change_role",
            &[("org", "acme"), ("user_id", &second), ("role", "admin")],
        )
        .await;
    assert!(r.status().is_success());
    assert_eq!(get(&app, &key, path).send().await.unwrap().status(), 200);
    // The member the key acts as becomes an owner: an admin could not make that key today, so it
    // stops; a member again, it works again (checked against the roles on every use).
    let member = app.user_id("user@acme.test").await.to_string();
    for (role, want) in [("owner", 401), ("member", 200)] {
        let r = app
            .call(
                &owner,
                "change_role",
                &[("org", "acme"), ("user_id", &member), ("role", role)],
            )
            .await;
        assert!(r.status().is_success(), "{role}: {}", r.status());
        assert_eq!(
            get(&app, &key, path).send().await.unwrap().status(),
            want,
            "acting as an {role}"
        );
    }
    let own = create_key(&app, &admin, "second@acme.test", &["scope_lookups"]).await;
    let r = app
        .call(
            &owner,
            "remove_member",
            &[("org", "acme"), ("user_id", &second)],
        )
        .await;
    assert!(r.status().is_success());
    assert_eq!(
        app.count("SELECT count(*) FROM api_keys WHERE revoked_at IS NULL")
            .await,
        0
    );
    let r = app
        .call(
            &owner,
            "add_member",
            &[
                ("org", "acme"),
                ("email", "second@acme.test"),
                ("role", "admin"),
                ("password", "not used for existing accounts"),
            ],
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    common::accept_invitation_of(&app, "acme", "second@acme.test").await;
    for k in [&key, &own] {
        let v = problem(get(&app, k, path).send().await.unwrap(), 401).await;
        assert!(v["detail"].as_str().unwrap().contains("revoked"));
    }
    // A key acting as support staff (added, keyed, removed) never writes a staff view.
    let support = app.user_id("support@phonehub.test").await.to_string();
    let r = app
        .call(
            &owner,
            "add_member",
            &[
                ("org", "acme"),
                ("email", "support@phonehub.test"),
                ("role", "member"),
                ("password", "not used for existing accounts"),
            ],
        )
        .await;
    assert!(r.status().is_success());
    common::accept_invitation_of(&app, "acme", "support@phonehub.test").await;
    let staff_key = create_key(&app, &owner, "support@phonehub.test", &["scope_lookups"]).await;
    sqlx::query("DELETE FROM memberships WHERE user_id = $1")
        .bind(support.parse::<i64>().unwrap())
        .execute(&app.pool)
        .await
        .unwrap();
    problem(get(&app, &staff_key, path).send().await.unwrap(), 401).await;
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'staff.viewed'")
            .await,
        0
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn cursors_outside_time_and_guessed_keys_are_turned_away_without_errors(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let app = spawn_app_on(pool, &sb).await;
    let owner = app.login_as("admin@acme.test").await;
    let key = create_key(
        &app,
        &owner,
        "user@acme.test",
        &["scope_calls", "scope_messages"],
    )
    .await;
    use base64::Engine;
    for raw in ["-1000000000000000000.1", "9223372036854775807.1"] {
        let cursor = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
        for list in ["calls", "messages"] {
            let r = get(&app, &key, &format!("/v1/{list}?cursor={cursor}"))
                .send()
                .await
                .unwrap();
            let v = problem(r, 422).await;
            assert_eq!(v["errors"][0]["field"], "cursor");
        }
        // The pages' own links too: a broken link, not an error on our side.
        let r = app
            .get(&owner, &format!("/o/acme/calls?before={raw}"))
            .await;
        assert_eq!(r.status(), 400, "{raw}");
    }
    // Guessing keys from one address: 60 refusals a minute, then turned away unheard; a key
    // that works is still heard from the same address.
    assert_eq!(
        get(&app, &key, "/v1/calls").send().await.unwrap().status(),
        200
    );
    let guess = format!("phk_0123456789ab_{}", "A".repeat(43));
    for _ in 0..60 {
        problem(get(&app, &guess, "/v1/calls").send().await.unwrap(), 401).await;
    }
    let r = get(&app, &guess, "/v1/calls").send().await.unwrap();
    assert!(r.headers().contains_key("retry-after"));
    problem(r, 429).await;
    // A request without a key costs no database read: it is told to send one.
    problem(
        reqwest::get(format!("{}/v1/calls", app.base))
            .await
            .unwrap(),
        401,
    )
    .await;
    assert_eq!(
        get(&app, &key, "/v1/calls").send().await.unwrap().status(),
        200
    );
}

/// Every endpoint against keys with each single scope: only the endpoint's own scope gets past
/// the scope check (whatever happens next), every other scope is a 403 naming the missing one.
#[sqlx::test(migrations = "../migrations")]
async fn every_endpoint_answers_only_to_its_own_scope(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let app = spawn_app_on(pool, &sb).await;
    let owner = app.login_as("admin@acme.test").await;
    configure_sandbox(&app, &owner, "acme", &sb, "30").await;
    let scopes = [
        ("scope_lookups", "lookups"),
        ("scope_numbers", "numbers"),
        ("scope_calls", "calls"),
        ("scope_messages", "messages"),
        ("scope_usage", "usage:read"),
        ("scope_budgets", "budgets"),
        ("scope_alerts", "alerts"),
    ];
    let mut keys = Vec::new();
    for (field, name) in scopes {
        keys.push((
            name,
            create_key(&app, &owner, "admin@acme.test", &[field]).await,
        ));
    }
    let endpoints: [(reqwest::Method, &str, &str); 37] = [
        (reqwest::Method::GET, "/v1/lookups/+14155552671", "lookups"),
        (reqwest::Method::GET, "/v1/numbers", "numbers"),
        (reqwest::Method::GET, "/v1/numbers/available", "numbers"),
        (reqwest::Method::POST, "/v1/numbers", "numbers"),
        (reqwest::Method::GET, "/v1/numbers/1", "numbers"),
        (reqwest::Method::PATCH, "/v1/numbers/1", "numbers"),
        (reqwest::Method::DELETE, "/v1/numbers/1", "numbers"),
        (reqwest::Method::GET, "/v1/calls", "calls"),
        (reqwest::Method::POST, "/v1/calls", "calls"),
        (reqwest::Method::GET, "/v1/calls/1", "calls"),
        (reqwest::Method::GET, "/v1/calls/1/recordings/1", "calls"),
        (reqwest::Method::GET, "/v1/call-blocking", "calls"),
        (reqwest::Method::PUT, "/v1/call-blocking", "calls"),
        (reqwest::Method::POST, "/v1/call-blocking/entries", "calls"),
        (
            reqwest::Method::DELETE,
            "/v1/call-blocking/entries/1",
            "calls",
        ),
        (reqwest::Method::GET, "/v1/messages", "messages"),
        (reqwest::Method::POST, "/v1/messages", "messages"),
        (reqwest::Method::GET, "/v1/messages/1", "messages"),
        (reqwest::Method::POST, "/v1/messages/1/cancel", "messages"),
        (reqwest::Method::GET, "/v1/quiet-hours", "messages"),
        (reqwest::Method::PUT, "/v1/quiet-hours", "messages"),
        (reqwest::Method::GET, "/v1/usage", "usage:read"),
        (reqwest::Method::GET, "/v1/budgets", "budgets"),
        (reqwest::Method::POST, "/v1/budgets", "budgets"),
        (reqwest::Method::GET, "/v1/budgets/1", "budgets"),
        (reqwest::Method::DELETE, "/v1/budgets/1", "budgets"),
        (reqwest::Method::POST, "/v1/budgets/1/overrides", "budgets"),
        (reqwest::Method::GET, "/v1/destinations", "budgets"),
        (reqwest::Method::PUT, "/v1/destinations", "budgets"),
        (reqwest::Method::GET, "/v1/destinations/pauses", "budgets"),
        (
            reqwest::Method::POST,
            "/v1/destinations/pauses/1/resume",
            "budgets",
        ),
        (reqwest::Method::GET, "/v1/notifications", "alerts"),
        (reqwest::Method::GET, "/v1/webhooks", "alerts"),
        (reqwest::Method::POST, "/v1/webhooks", "alerts"),
        (reqwest::Method::GET, "/v1/webhooks/1", "alerts"),
        (reqwest::Method::DELETE, "/v1/webhooks/1", "alerts"),
        (reqwest::Method::GET, "/v1/webhooks/1/deliveries", "alerts"),
    ];
    for (method, path, needs) in endpoints {
        for (scope, key) in &keys {
            let r = reqwest::Client::new()
                .request(method.clone(), format!("{}{path}", app.base))
                .bearer_auth(key)
                .header("Idempotency-Key", "matrix")
                .json(&serde_json::json!({}))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            if *scope == needs {
                assert_ne!(status, 403, "{method} {path} with {scope}");
                assert!(status < 500, "{method} {path} with {scope}: {status}");
            } else {
                let v = problem(r, 403).await;
                assert!(
                    v["detail"].as_str().unwrap().contains(needs),
                    "{method} {path} with {scope}: {v}"
                );
            }
        }
    }
}

/// A request with a JSON body, as an API client sends it.
fn send_raw(
    app: &TestApp,
    key: &str,
    method: reqwest::Method,
    path: &str,
    body: &str,
) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(key)
        .header("content-type", "application/json")
        .body(body.to_string())
}

#[sqlx::test(migrations = "../migrations")]
async fn every_error_is_a_problem_naming_the_field_and_oversized_bodies_are_413(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let app = spawn_app_on(pool, &sb).await;
    let admin = app.login_as("admin@acme.test").await;
    configure_sandbox(&app, &admin, "acme", &sb, "30").await;
    let key = create_key(
        &app,
        &admin,
        "admin@acme.test",
        &[
            "scope_lookups",
            "scope_numbers",
            "scope_calls",
            "scope_messages",
        ],
    )
    .await;

    // A method the path does not support: 405, a problem document, with Allow.
    let r = send_raw(&app, &key, reqwest::Method::PUT, "/v1/numbers", "{}")
        .send()
        .await
        .unwrap();
    let v = problem(r, 405).await;
    assert_eq!(v["title"], "Method not allowed", "{v}");

    // Bodies and query strings that do not parse: 422 naming the field.
    let post = reqwest::Method::POST;
    for (path, body, field) in [
        (
            "/v1/messages",
            r#"{"from":"+14155550100","to":"+14155550101","body":"hi","priority":1}"#,
            "priority",
        ),
        (
            "/v1/messages",
            r#"{"from":"+14155550100","to":"+14155550101"}"#,
            "body",
        ),
        (
            "/v1/messages",
            r#"{"from":"+14155550100","to":"+14155550101","body":5}"#,
            "body",
        ),
        (
            "/v1/calls",
            r#"{"from_number_id":"abc","to":"+14155550101"}"#,
            "from_number_id",
        ),
    ] {
        let r = send_raw(&app, &key, post.clone(), path, body)
            .send()
            .await
            .unwrap();
        let v = problem(r, 422).await;
        assert_eq!(v["errors"][0]["field"], field, "{path} {body}: {v}");
        assert!(v["errors"][0]["detail"]
            .as_str()
            .is_some_and(|d| !d.is_empty()));
    }
    for (path, field) in [
        ("/v1/calls?limit=abc", "limit"),
        ("/v1/lookups/+14155550101?caller_name=maybe", "caller_name"),
    ] {
        let v = problem(get(&app, &key, path).send().await.unwrap(), 422).await;
        assert_eq!(v["errors"][0]["field"], field, "{path}: {v}");
    }

    // Over the body limit: 413, not 400.
    let big = format!(
        r#"{{"from":"+14155550100","to":"+14155550101","body":"{}"}}"#,
        "x".repeat(64 * 1024)
    );
    let r = send_raw(&app, &key, post, "/v1/messages", &big)
        .send()
        .await
        .unwrap();
    problem(r, 413).await;
}

/// The key's id (the public part) as the limiter knows it.
fn public_id(key: &str) -> String {
    app::ssr::api_keys::public_id(key).unwrap().to_string()
}

/// Waits (bounded) until `ok()` holds.
async fn until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while !ok() {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_key_over_its_budget_is_answered_without_touching_the_database(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let mut settings = common::settings("http://127.0.0.1:0");
    settings.sandbox_url = Some(url::Url::parse(&sb).unwrap());
    settings.api_requests_per_minute = 5;
    let (app, limiter) = common::spawn_with_limiter(pool, settings).await;
    let admin = app.login_as("admin@acme.test").await;
    configure_sandbox(&app, &admin, "acme", &sb, "30").await;
    let key = create_key(&app, &admin, "user@acme.test", &["scope_lookups"]).await;
    until("the key listener", || limiter.listening()).await;
    let path = "/v1/lookups/+14155552671";
    for _ in 0..5 {
        assert_eq!(get(&app, &key, path).send().await.unwrap().status(), 200);
    }
    let before = limiter.db_checks();
    for _ in 0..3 {
        problem(get(&app, &key, path).send().await.unwrap(), 429).await;
    }
    assert_eq!(
        limiter.db_checks(),
        before,
        "requests over the budget reached the database"
    );
    // Revoked, the key is forgotten at once (through NOTIFY) and answered 401, not 429.
    let id: i64 = sqlx::query_scalar("SELECT id FROM api_keys")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let r = app
        .call(
            &admin,
            "revoke_api_key",
            &[("org", "acme"), ("id", &id.to_string())],
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    let pid = public_id(&key);
    until("the revocation reaches the limiter", || {
        !limiter.knows_key(&pid)
    })
    .await;
    problem(get(&app, &key, path).send().await.unwrap(), 401).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn a_valid_new_key_is_heard_from_an_address_that_guessed(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let mut settings = common::settings("http://127.0.0.1:0");
    settings.sandbox_url = Some(url::Url::parse(&sb).unwrap());
    let (app, limiter) = common::spawn_with_limiter(pool, settings).await;
    let admin = app.login_as("admin@acme.test").await;
    configure_sandbox(&app, &admin, "acme", &sb, "30").await;
    until("the key listener", || limiter.listening()).await;
    let path = "/v1/lookups/+14155552671";
    // 60 guessed keys from this address: it is turned away...
    for i in 0..60 {
        let guess = format!("phk_{:0>12}_{}", i, "A".repeat(43));
        problem(get(&app, &guess, path).send().await.unwrap(), 401).await;
    }
    let guess = format!("phk_{:0>12}_{}", 99, "A".repeat(43));
    problem(get(&app, &guess, path).send().await.unwrap(), 429).await;
    // ...but a request without a key still learns it needs one (no database is involved)...
    problem(
        reqwest::Client::new()
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
    // ...and a key made now, never used before, is heard from it.
    let key = create_key(&app, &admin, "user@acme.test", &["scope_lookups"]).await;
    let pid = public_id(&key);
    until("the new key reaches the limiter", || {
        limiter.knows_key(&pid)
    })
    .await;
    assert_eq!(get(&app, &key, path).send().await.unwrap().status(), 200);
}

#[sqlx::test(migrations = "../migrations")]
async fn two_servers_together_give_a_key_its_budget_once(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let settings = |budget| {
        let mut s = common::settings("http://127.0.0.1:0");
        s.sandbox_url = Some(url::Url::parse(&sb).unwrap());
        s.api_requests_per_minute = budget;
        s
    };
    let (one, _l1) = common::spawn_with_limiter(pool.clone(), settings(40)).await;
    let two = common::spawn_without_seed(pool, settings(40)).await;
    let admin = one.login_as("admin@acme.test").await;
    configure_sandbox(&one, &admin, "acme", &sb, "30").await;
    let key = create_key(&one, &admin, "user@acme.test", &["scope_lookups"]).await;
    let path = "/v1/lookups/+14155552671";
    let (mut ok, mut refused) = (0, [false, false]);
    for i in 0..200 {
        let app = if i % 2 == 0 { &one } else { &two };
        let r = get(app, &key, path).send().await.unwrap();
        match r.status().as_u16() {
            200 => ok += 1,
            429 => refused[i % 2] = true,
            s => panic!("unexpected {s}"),
        }
        if refused == [true, true] {
            break;
        }
    }
    assert_eq!(refused, [true, true], "both servers stopped the key");
    assert!(
        (38..=42).contains(&ok),
        "{ok} requests passed, the budget is 40"
    );
}

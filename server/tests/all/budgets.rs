//! Budgets: set on the budgets page (JavaScript on and off) and through `/v1/budgets` by owners
//! and admins only, seen by members as far as they concern them, read by support, invisible to
//! other orgs, and on the record; one-off overrides granted the same way; what is left on the
//! dashboard; every org's budgets in the support console.

use crate::common;

use app::model::budgets::{BudgetsPage, StaffBudgetsPage};
use common::{
    configure_sandbox, create_key, own_number, sandbox_stat, spawn_app, spawn_app_on,
    start_sandbox, try_create_key, TestApp,
};
use serde_json::{json, Value};
use sqlx::PgPool;

const PAGE: &str = "/o/acme/admin/budgets";

/// The budget form as the page posts it (`member` empty: the whole org).
fn form<'a>(
    member: &'a str,
    category: &'a str,
    period: &'a str,
    amount: &'a str,
    hard_cap: bool,
) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("org", "acme"),
        ("member", member),
        ("category", category),
        ("period", period),
        ("amount", amount),
    ];
    if hard_cap {
        f.push(("hard_cap", "on"));
    }
    f
}

async fn page_of(app: &TestApp, c: &reqwest::Client, org: &str) -> Value {
    app.load::<BudgetsPage>(c, "load_budgets", &[("org", org)])
        .await
}

async fn budget_id(app: &TestApp, where_sql: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT id FROM budgets WHERE {where_sql}"))
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn audit_actions(app: &TestApp) -> Vec<(String, Value)> {
    sqlx::query_as::<_, (String, Value)>(
        "SELECT action, details FROM audit_log WHERE action LIKE 'budget.%' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn an_admin_sets_an_org_sms_monthly_hard_cap_with_javascript_on_and_off(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = app.login_as("admin@acme.test").await;

    // JavaScript on: the server function.
    let r = app
        .call(&owner, "save_budget", &form("", "sms", "month", "50", true))
        .await;
    assert_eq!(r.status(), 200);
    let scope = "org_id = (SELECT id FROM orgs WHERE slug = 'acme') AND user_id IS NULL \
                 AND category = 'sms' AND period = 'month' AND hard_cap";
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM budgets WHERE {scope} AND amount_micros = 50000000"
        ))
        .await,
        1
    );
    let p = page_of(&app, &owner, "acme").await;
    assert_eq!(p["can_manage"], true);
    assert_eq!(p["budgets"].as_array().unwrap().len(), 1);
    let b = &p["budgets"][0];
    assert_eq!(b["member"], Value::Null);
    assert_eq!(b["category"], "sms");
    assert_eq!(b["period"], "month");
    assert_eq!(b["amount"], "$50.00");
    assert_eq!(b["hard_cap"], true);
    assert_eq!(b["remaining_micros"], 50_000_000);
    let emails: Vec<&str> = p["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m[1].as_str().unwrap())
        .collect();
    assert!(emails.contains(&"user@acme.test"), "{emails:?}");

    // JavaScript off: the same scope again changes that budget, and the page shows it.
    let r = app
        .post_plain(
            &owner,
            "save_budget",
            PAGE,
            &form("", "sms", "month", "$75.25", true),
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "/o/acme/admin/budgets?notice=budget-saved"
    );
    assert_eq!(app.count("SELECT count(*) FROM budgets").await, 1);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM budgets WHERE {scope} AND amount_micros = 75250000"
        ))
        .await,
        1
    );
    let html = app
        .get(&owner, "/o/acme/admin/budgets?notice=budget-saved")
        .await
        .text()
        .await
        .unwrap();
    for shown in [
        "Whole org",
        "Per month",
        "$75.25",
        ">Hard cap<",
        "Budget saved",
        "Set a budget",
    ] {
        assert!(html.contains(shown), "the page lacks {shown:?}");
    }
    let zone: String = sqlx::query_scalar("SELECT time_zone FROM orgs WHERE slug = 'acme'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(
        html.contains(&format!("time zone, {zone}.")),
        "the zone is named"
    );

    // The record: created, then changed, with the scope and the amount.
    let audit = audit_actions(&app).await;
    let actions: Vec<&str> = audit.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(actions, ["budget.created", "budget.saved"]);
    assert_eq!(audit[1].1["amount_micros"], 75_250_000);
    assert_eq!(audit[1].1["hard_cap"], true);
    assert_eq!(audit[1].1["scope"]["category"], "sms");
    assert_eq!(audit[1].1["scope"]["period"], "month");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_bad_amount_is_a_field_error_with_javascript_on_and_off_and_writes_nothing(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = app.login_as("admin@acme.test").await;

    let r = app
        .call(&owner, "save_budget", &form("", "calls", "day", "-5", true))
        .await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("amount") && body.contains("negative"),
        "{body}"
    );

    let r = app
        .post_plain(
            &owner,
            "save_budget",
            PAGE,
            &form("", "calls", "day", "lots", true),
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("That is not an amount of dollars"),
        "the message is by the field"
    );
    assert!(html.contains("value=\"lots\""), "what was typed is kept");
    assert!(
        html.contains("Budgets of"),
        "the budgets page is rendered again"
    );

    for (field, f) in [
        ("amount", form("", "calls", "day", "1000000.01", false)),
        ("amount", form("", "calls", "day", "0.0000001", false)),
        ("period", form("", "calls", "week", "5", false)),
        ("category", form("", "fax", "day", "5", false)),
    ] {
        let r = app.call(&owner, "save_budget", &f).await;
        assert_eq!(r.status(), 422, "{f:?}");
        assert!(r.text().await.unwrap().contains(field), "{f:?}");
    }
    assert_eq!(app.count("SELECT count(*) FROM budgets").await, 0);
    assert!(
        audit_actions(&app).await.is_empty(),
        "nothing on the record"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_member_cannot_set_budgets_and_sees_only_the_org_wide_ones_and_their_own(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = app.login_as("admin@acme.test").await;
    let member = app.login_as("user@acme.test").await;
    let user_id = app.user_id("user@acme.test").await.to_string();
    for f in [
        form("", "sms", "month", "50", true),
        // A member by user id (the page's select) or by e-mail (as `/v1` names them).
        form(&user_id, "calls", "day", "5", true),
        form("second@acme.test", "", "month", "500", false),
    ] {
        let r = app.call(&owner, "save_budget", &f).await;
        assert_eq!(r.status(), 200, "{f:?}");
    }

    let p = page_of(&app, &member, "acme").await;
    assert_eq!(p["can_manage"], false);
    assert_eq!(p["members"], json!([]));
    let seen: Vec<(Value, Value)> = p["budgets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["member"].clone(), b["category"].clone()))
        .collect();
    assert_eq!(
        seen,
        [
            (Value::Null, json!("sms")),
            (json!("user@acme.test"), json!("calls"))
        ]
    );
    let html = app.get(&member, PAGE).await.text().await.unwrap();
    assert!(!html.contains("second@acme.test") && !html.contains("Set a budget"));

    // Setting or deleting one is refused, and nothing changes.
    let r = app
        .call(
            &member,
            "save_budget",
            &form(&user_id, "calls", "day", "500", false),
        )
        .await;
    assert_eq!(r.status(), 403);
    let own = budget_id(&app, "category = 'calls'").await.to_string();
    let r = app
        .call(&member, "delete_budget", &[("org", "acme"), ("id", &own)])
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(app.count("SELECT count(*) FROM budgets").await, 3);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM budgets WHERE amount_micros = 500000000 AND category = 'calls'"
        )
        .await,
        0
    );

    // Someone outside the org is the same answer whether or not they have an account.
    let mut messages = Vec::new();
    for outsider in ["admin@globex.test", "nobody@nowhere.test", "999999"] {
        let r = app
            .call(
                &owner,
                "save_budget",
                &form(outsider, "", "day", "5", false),
            )
            .await;
        assert_eq!(r.status(), 422, "{outsider}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["Validation"]["field"], "member", "{v}");
        messages.push(v["Validation"]["message"].clone());
    }
    assert!(messages.windows(2).all(|w| w[0] == w[1]), "{messages:?}");
    assert_eq!(app.count("SELECT count(*) FROM budgets").await, 3);
}

#[sqlx::test(migrations = "../migrations")]
async fn support_staff_read_every_budget_and_change_nothing(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = app.login_as("admin@acme.test").await;
    let support = app.login_as("support@phonehub.test").await;
    let user_id = app.user_id("user@acme.test").await.to_string();
    for f in [
        form("", "", "month", "100", true),
        form(&user_id, "lookups", "day", "2", false),
    ] {
        assert_eq!(app.call(&owner, "save_budget", &f).await.status(), 200);
    }

    let p = page_of(&app, &support, "acme").await;
    assert_eq!(p["can_manage"], false);
    assert_eq!(p["budgets"].as_array().unwrap().len(), 2);
    let html = app.get(&support, PAGE).await.text().await.unwrap();
    assert!(html.contains("read-only"), "the read-only banner");
    assert!(html.contains("Paid lookups") && html.contains(">Alert only<"));
    assert!(!html.contains("Set a budget") && !html.contains(">Delete<"));

    let r = app
        .call(&support, "save_budget", &form("", "sms", "day", "1", true))
        .await;
    assert_eq!(r.status(), 403);
    let id = budget_id(&app, "category IS NULL").await.to_string();
    let r = app
        .call(&support, "delete_budget", &[("org", "acme"), ("id", &id)])
        .await;
    assert_eq!(r.status(), 403);
    let r = app
        .post_plain(
            &support,
            "delete_budget",
            PAGE,
            &[("org", "acme"), ("id", &id)],
        )
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(app.count("SELECT count(*) FROM budgets").await, 2);
    assert_eq!(audit_actions(&app).await.len(), 2, "only the owner's two");
}

#[sqlx::test(migrations = "../migrations")]
async fn another_orgs_admin_cannot_read_or_delete_a_budget_by_id(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = app.login_as("admin@acme.test").await;
    let globex = app.login_as("admin@globex.test").await;
    let r = app
        .call(&owner, "save_budget", &form("", "sms", "month", "50", true))
        .await;
    assert_eq!(r.status(), 200);
    let id = budget_id(&app, "true").await.to_string();

    for org in ["globex", "acme"] {
        let r = app
            .call(&globex, "delete_budget", &[("org", org), ("id", &id)])
            .await;
        assert_eq!(r.status(), 404, "through {org}");
    }
    assert_eq!(page_of(&app, &globex, "globex").await["budgets"], json!([]));
    let r = app.call(&globex, "load_budgets", &[("org", "acme")]).await;
    assert_eq!(r.status(), 404);

    let r = try_create_key(
        &app,
        &globex,
        "globex",
        "admin@globex.test",
        &["scope_budgets"],
    )
    .await;
    assert_eq!(r.status(), 200);
    let key = r.json::<Value>().await.unwrap()["key"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/v1/budgets/{id}");
    problem(
        send(&app, &key, reqwest::Method::GET, &path, None).await,
        404,
    )
    .await;
    problem(
        send(&app, &key, reqwest::Method::DELETE, &path, None).await,
        404,
    )
    .await;
    let v: Value = send(&app, &key, reqwest::Method::GET, "/v1/budgets", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["data"], json!([]));
    assert_eq!(app.count("SELECT count(*) FROM budgets").await, 1);
}

async fn send(
    app: &TestApp,
    key: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap()
}

async fn problem(r: reqwest::Response, status: u16) -> Value {
    assert_eq!(r.status(), status);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    r.json().await.unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn v1_sets_reads_and_deletes_budgets_with_the_budgets_scope_only(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = app.login_as("admin@acme.test").await;
    let key = create_key(&app, &owner, "admin@acme.test", &["scope_budgets"]).await;
    let post = reqwest::Method::POST;
    let get = reqwest::Method::GET;

    let cap = json!({"category": "sms", "period": "month", "amount": "12.50", "hard_cap": true});
    let r = send(&app, &key, post.clone(), "/v1/budgets", Some(cap.clone())).await;
    assert_eq!(r.status(), 201);
    let made: Value = r.json().await.unwrap();
    assert_eq!(made["member"], Value::Null);
    assert_eq!(made["category"], "sms");
    assert_eq!(made["period"], "month");
    assert_eq!(made["hard_cap"], true);
    assert_eq!(
        made["amount"],
        json!({"micros": 12_500_000, "decimal": "12.500000"})
    );
    assert_eq!(made["remaining"]["micros"], 12_500_000);
    // The same body again changes nothing and says so.
    let r = send(&app, &key, post.clone(), "/v1/budgets", Some(cap)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["id"], made["id"]);
    let daily = json!({"member": "user@acme.test", "period": "day", "amount": "1"});
    let r = send(&app, &key, post.clone(), "/v1/budgets", Some(daily)).await;
    assert_eq!(r.status(), 201);
    let theirs: Value = r.json().await.unwrap();
    assert_eq!(theirs["member"], "user@acme.test");
    assert_eq!(theirs["category"], Value::Null);
    assert_eq!(theirs["hard_cap"], false);

    // Bad bodies: 422 naming the field, nothing written.
    for (body, field) in [
        (json!({"period": "month", "amount": "-1"}), "amount"),
        (json!({"period": "week", "amount": "1"}), "period"),
        (
            json!({"category": "fax", "period": "day", "amount": "1"}),
            "category",
        ),
        (
            json!({"member": "admin@globex.test", "period": "day", "amount": "1"}),
            "member",
        ),
        (
            json!({"period": "day", "amount": "1", "currency": "EUR"}),
            "currency",
        ),
        (json!({"period": "day"}), "amount"),
    ] {
        let r = send(&app, &key, post.clone(), "/v1/budgets", Some(body.clone())).await;
        let v = problem(r, 422).await;
        assert_eq!(v["errors"][0]["field"], field, "{body}: {v}");
    }
    assert_eq!(app.count("SELECT count(*) FROM budgets").await, 2);

    let v: Value = send(&app, &key, get.clone(), "/v1/budgets", None)
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&Value> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| &b["id"])
        .collect();
    assert_eq!(ids, [&made["id"], &theirs["id"]], "org-wide first");
    let one = format!("/v1/budgets/{}", made["id"]);
    let r = send(&app, &key, get.clone(), &one, None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["category"], "sms");

    // A member's key reads what the member sees, and sets or deletes nothing.
    let member_key = create_key(&app, &owner, "user@acme.test", &["scope_budgets"]).await;
    let v: Value = send(&app, &member_key, get.clone(), "/v1/budgets", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["data"].as_array().unwrap().len(), 2);
    let body = json!({"period": "day", "amount": "100"});
    problem(
        send(&app, &member_key, post.clone(), "/v1/budgets", Some(body)).await,
        403,
    )
    .await;
    let del = reqwest::Method::DELETE;
    problem(send(&app, &member_key, del.clone(), &one, None).await, 403).await;

    // Without the scope: 403 naming it, for every budgets endpoint.
    let usage_key = create_key(&app, &owner, "admin@acme.test", &["scope_usage"]).await;
    for (method, path) in [
        (get.clone(), "/v1/budgets".to_string()),
        (post.clone(), "/v1/budgets".to_string()),
        (get.clone(), one.clone()),
        (del.clone(), one.clone()),
    ] {
        let body = Some(json!({"period": "day", "amount": "1"}));
        let v = problem(
            send(&app, &usage_key, method.clone(), &path, body).await,
            403,
        )
        .await;
        assert!(
            v["detail"].as_str().unwrap().contains("budgets"),
            "{method} {path}: {v}"
        );
    }

    // Deleted once: 204, then it is gone.
    let r = send(&app, &key, del.clone(), &one, None).await;
    assert_eq!(r.status(), 204);
    problem(send(&app, &key, del, &one, None).await, 404).await;
    problem(send(&app, &key, get, &one, None).await, 404).await;
    assert_eq!(app.count("SELECT count(*) FROM budgets").await, 1);

    // On the record, through the key.
    let audit = audit_actions(&app).await;
    let actions: Vec<&str> = audit.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "budget.created",
            "budget.saved",
            "budget.created",
            "budget.deleted"
        ]
    );
    assert!(
        audit.iter().all(|(_, d)| d["api_key"].is_i64()),
        "{audit:?}"
    );
}

/// The override form as the page posts it.
fn grant<'a>(id: &'a str, extra: &'a str, reason: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("org", "acme"),
        ("id", id),
        ("extra", extra),
        ("reason", reason),
    ]
}

/// What overrides wrote: how many rows, and the extra room booked on the budgets' periods.
async fn overrides_written(app: &TestApp) -> (i64, i64) {
    (
        app.count("SELECT count(*) FROM budget_overrides").await,
        app.count("SELECT coalesce(sum(extra_micros), 0)::bigint FROM budget_usage")
            .await,
    )
}

/// A budget of acme made without the page (its current period has no usage row yet).
async fn insert_budget(app: &TestApp, category: &str, period: &str, micros: i64) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO budgets (org_id, category, period, amount_micros, hard_cap)
         SELECT id, $1, $2, $3, true FROM orgs WHERE slug = 'acme' RETURNING id",
    )
    .bind(category)
    .bind(period)
    .bind(micros)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn an_admin_grants_an_override_with_javascript_on_and_off_on_the_record(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = app.login_as("admin@acme.test").await;
    let r = app
        .call(&owner, "save_budget", &form("", "sms", "month", "10", true))
        .await;
    assert_eq!(r.status(), 200);
    let id = budget_id(&app, "category = 'sms'").await.to_string();

    // JavaScript on: the server function.
    let r = app
        .call(
            &owner,
            "grant_budget_override",
            &grant(&id, "5", "  Launch week  "),
        )
        .await;
    assert_eq!(r.status(), 200);
    let (reason, extra, by): (String, i64, i64) =
        sqlx::query_as("SELECT reason, extra_micros, granted_by FROM budget_overrides")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((reason.as_str(), extra), ("Launch week", 5_000_000));
    assert_eq!(by, app.user_id("admin@acme.test").await);
    assert_eq!(overrides_written(&app).await, (1, 5_000_000));

    // JavaScript off: the plain form, answered with a redirect and a notice.
    let r = app
        .post_plain(
            &owner,
            "grant_budget_override",
            PAGE,
            &grant(&id, "$2.50", "Second push"),
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "/o/acme/admin/budgets?notice=budget-override"
    );
    assert_eq!(overrides_written(&app).await, (2, 7_500_000));
    assert_eq!(
        app.count("SELECT count(*) FROM budget_usage").await,
        1,
        "both count in the one current period"
    );

    // The superadmin may grant too.
    let root = app.login_as("root@phonehub.test").await;
    let r = app
        .call(&root, "grant_budget_override", &grant(&id, "1", "Goodwill"))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(overrides_written(&app).await, (3, 8_500_000));

    let p = page_of(&app, &owner, "acme").await;
    let b = &p["budgets"][0];
    assert_eq!(b["extra_micros"], 8_500_000);
    assert_eq!(b["remaining_micros"], 18_500_000);
    let reasons: Vec<&str> = p["overrides"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["Goodwill", "Second push", "Launch week"]);
    assert_eq!(p["overrides"][1]["granted_by"], "admin@acme.test");
    assert_eq!(p["overrides"][1]["extra"], "$2.50");
    let html = app
        .get(&owner, "/o/acme/admin/budgets?notice=budget-override")
        .await
        .text()
        .await
        .unwrap();
    for shown in [
        "Overrides this period",
        "Second push",
        "+ $2.50",
        "Override granted",
        "Grant an override",
        "+ $8.50 extra this period",
    ] {
        assert!(html.contains(shown), "the page lacks {shown:?}");
    }

    // On the record, with the period the extra counts in.
    let audit = audit_actions(&app).await;
    let grants: Vec<&Value> = audit
        .iter()
        .filter(|(a, _)| a == "budget.override")
        .map(|(_, d)| d)
        .collect();
    assert_eq!(grants.len(), 3);
    assert_eq!(grants[0]["extra_micros"], 5_000_000);
    assert_eq!(grants[0]["reason"], "Launch week");
    assert_eq!(grants[1]["budget"], id.parse::<i64>().unwrap());
    assert_eq!(grants[1]["extra_micros"], 2_500_000);
    assert_eq!(grants[1]["period_start"], b["period_start"]);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_bad_override_is_a_field_error_with_javascript_on_and_off_and_writes_nothing(
    pool: PgPool,
) {
    let app = spawn_app(pool).await;
    let owner = app.login_as("admin@acme.test").await;
    let r = app
        .call(&owner, "save_budget", &form("", "sms", "month", "10", true))
        .await;
    assert_eq!(r.status(), 200);
    let id = budget_id(&app, "true").await.to_string();

    let long = "x".repeat(501);
    for (extra, reason, field) in [
        ("0", "Launch", "extra"),
        ("0.000000", "Launch", "extra"),
        ("-1", "Launch", "extra"),
        ("lots", "Launch", "extra"),
        ("1000000.01", "Launch", "extra"),
        ("", "Launch", "extra"),
        ("5", "", "reason"),
        ("5", "   ", "reason"),
        ("5", long.as_str(), "reason"),
    ] {
        let r = app
            .call(&owner, "grant_budget_override", &grant(&id, extra, reason))
            .await;
        assert_eq!(r.status(), 422, "{extra:?} {reason:?}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["Validation"]["field"], field, "{v}");
    }

    let r = app
        .post_plain(
            &owner,
            "grant_budget_override",
            PAGE,
            &grant(&id, "7.25", " "),
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Say why the budget is exceeded this time."),
        "the message is by the field"
    );
    assert!(html.contains("value=\"7.25\""), "what was typed is kept");

    // Another org's budget, or none: not found.
    let globex = app.login_as("admin@globex.test").await;
    let theirs = [
        ("org", "globex"),
        ("member", ""),
        ("category", ""),
        ("period", "day"),
        ("amount", "1"),
    ];
    assert_eq!(
        app.call(&globex, "save_budget", &theirs).await.status(),
        200
    );
    let theirs = budget_id(&app, "org_id = (SELECT id FROM orgs WHERE slug = 'globex')")
        .await
        .to_string();
    for other in [theirs.as_str(), "999999"] {
        let r = app
            .call(
                &owner,
                "grant_budget_override",
                &grant(other, "5", "Launch"),
            )
            .await;
        assert_eq!(r.status(), 404, "{other}");
    }

    assert_eq!(overrides_written(&app).await, (0, 0));
    assert!(
        audit_actions(&app)
            .await
            .iter()
            .all(|(a, _)| a != "budget.override"),
        "nothing on the record"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn members_and_support_staff_cannot_grant_overrides(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = app.login_as("admin@acme.test").await;
    let member = app.login_as("user@acme.test").await;
    let support = app.login_as("support@phonehub.test").await;
    let r = app
        .call(&owner, "save_budget", &form("", "sms", "month", "10", true))
        .await;
    assert_eq!(r.status(), 200);
    let id = budget_id(&app, "true").await.to_string();

    for who in [&member, &support] {
        let r = app
            .call(who, "grant_budget_override", &grant(&id, "5", "Launch"))
            .await;
        assert_eq!(r.status(), 403);
        // Refused before what was typed is read: no field errors for them.
        let r = app
            .call(who, "grant_budget_override", &grant(&id, "lots", ""))
            .await;
        assert_eq!(r.status(), 403);
        let html = app.get(who, PAGE).await.text().await.unwrap();
        assert!(!html.contains("Grant an override"), "no form for them");
    }
    let r = app
        .post_plain(
            &support,
            "grant_budget_override",
            PAGE,
            &grant(&id, "5", "Launch"),
        )
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(overrides_written(&app).await, (0, 0));
    assert!(audit_actions(&app)
        .await
        .iter()
        .all(|(a, _)| a != "budget.override"));
}

#[sqlx::test(migrations = "../migrations")]
async fn v1_grants_an_override_with_the_budgets_scope_only(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = app.login_as("admin@acme.test").await;
    let key = create_key(&app, &owner, "admin@acme.test", &["scope_budgets"]).await;
    let id = insert_budget(&app, "calls", "day", 10_000_000).await;
    let path = format!("/v1/budgets/{id}/overrides");
    let post = reqwest::Method::POST;
    let body = json!({"extra": "5.00", "reason": "Support line during the outage"});

    let r = send(&app, &key, post.clone(), &path, Some(body.clone())).await;
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["id"], id);
    assert_eq!(v["extra"]["micros"], 5_000_000);
    assert_eq!(v["remaining"]["micros"], 15_000_000);
    // The period's row was made by the grant, starting from what was spent.
    assert_eq!(overrides_written(&app).await, (1, 5_000_000));

    for (bad, field) in [
        (json!({"extra": "0", "reason": "x"}), "extra"),
        (json!({"extra": "-5", "reason": "x"}), "extra"),
        (json!({"extra": "5", "reason": " "}), "reason"),
        (json!({"extra": "5"}), "reason"),
        (
            json!({"extra": "5", "reason": "x", "until": "Friday"}),
            "until",
        ),
    ] {
        let r = send(&app, &key, post.clone(), &path, Some(bad.clone())).await;
        let v = problem(r, 422).await;
        assert_eq!(v["errors"][0]["field"], field, "{bad}: {v}");
    }
    for missing in ["/v1/budgets/999999/overrides", "/v1/budgets/abc/overrides"] {
        let r = send(&app, &key, post.clone(), missing, Some(body.clone())).await;
        problem(r, 404).await;
    }

    // A member's key, and a key without the scope: 403.
    let member_key = create_key(&app, &owner, "user@acme.test", &["scope_budgets"]).await;
    let usage_key = create_key(&app, &owner, "admin@acme.test", &["scope_usage"]).await;
    for k in [&member_key, &usage_key] {
        let r = send(&app, k, post.clone(), &path, Some(body.clone())).await;
        problem(r, 403).await;
    }
    assert_eq!(overrides_written(&app).await, (1, 5_000_000));

    // On the record, through the key.
    let audit = audit_actions(&app).await;
    let (action, details) = audit.last().unwrap();
    assert_eq!(action, "budget.override");
    assert!(details["api_key"].is_i64(), "{details}");
    assert_eq!(details["reason"], "Support line during the outage");
}

#[sqlx::test(migrations = "../migrations")]
async fn an_override_lets_a_message_through_a_hard_cap_with_no_room(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let app = spawn_app_on(pool, &sb).await;
    let owner = app.login_as("admin@acme.test").await;
    let member = app.login_as("user@acme.test").await;
    configure_sandbox(&app, &owner, "acme", &sb, "30").await;
    let from = "+15005550007";
    own_number(&app, &member, from, false, common::PHONE).await;
    let key = create_key(&app, &owner, "user@acme.test", &["scope_messages"]).await;
    let id = insert_budget(&app, "sms", "month", 0).await;
    let sms = json!({"from": from, "to": "+14155550199", "body": "Your code is 123456"});
    let post = reqwest::Method::POST;

    let r = send(&app, &key, post.clone(), "/v1/messages", Some(sms.clone())).await;
    problem(r, 402).await;
    assert_eq!(sandbox_stat(&sb, "CreateMessage").await, 0);

    let r = app
        .call(
            &owner,
            "grant_budget_override",
            &grant(&id.to_string(), "1", "One urgent reminder"),
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = send(&app, &key, post, "/v1/messages", Some(sms)).await;
    assert_eq!(r.status(), 201);
    assert_eq!(sandbox_stat(&sb, "CreateMessage").await, 1);
    let (spent, held, extra): (i64, i64, i64) = sqlx::query_as(
        "SELECT spent_micros, held_micros, extra_micros FROM budget_usage WHERE budget_id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((spent, held, extra), (7_900, 0, 1_000_000));
}

#[sqlx::test(migrations = "../migrations")]
async fn the_dashboard_shows_a_member_what_their_budgets_have_left(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = app.login_as("admin@acme.test").await;
    let member = app.login_as("user@acme.test").await;
    let html = app.get(&member, "/o/acme").await.text().await.unwrap();
    assert!(!html.contains("Your budgets"), "nothing before any budget");

    for f in [
        form("", "sms", "month", "10", true),
        form("user@acme.test", "calls", "day", "2", false),
        form("second@acme.test", "", "month", "500", false),
    ] {
        let r = app.call(&owner, "save_budget", &f).await;
        assert_eq!(r.status(), 200, "{f:?}");
    }
    let d = app
        .load::<app::model::Dashboard>(&member, "org_dashboard", &[("org", "acme")])
        .await;
    let seen: Vec<(Value, Value)> = d["budgets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["member"].clone(), b["category"].clone()))
        .collect();
    assert_eq!(
        seen,
        [
            (Value::Null, json!("sms")),
            (json!("user@acme.test"), json!("calls"))
        ]
    );
    let html = app.get(&member, "/o/acme").await.text().await.unwrap();
    for shown in [
        "Your budgets",
        "Per month · SMS: $10.00 of $10.00 left",
        "Per day · Calls: $2.00 of $2.00 left",
        "All budgets →",
    ] {
        assert!(html.contains(shown), "the dashboard lacks {shown:?}");
    }
    assert!(
        !html.contains("$500.00"),
        "another member's budget is not theirs"
    );

    // Support staff spend nothing in the org: no budgets of theirs.
    let support = app.login_as("support@phonehub.test").await;
    let d = app
        .load::<app::model::Dashboard>(&support, "org_dashboard", &[("org", "acme")])
        .await;
    assert_eq!(d["budgets"], json!([]));
}

#[sqlx::test(migrations = "../migrations")]
async fn support_staff_see_every_orgs_budgets_nearest_their_cap_first(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = app.login_as("admin@acme.test").await;
    let globex = app.login_as("admin@globex.test").await;
    let support = app.login_as("support@phonehub.test").await;
    let r = app
        .call(&owner, "save_budget", &form("", "sms", "month", "10", true))
        .await;
    assert_eq!(r.status(), 200);
    let theirs = [
        ("org", "globex"),
        ("member", ""),
        ("category", "calls"),
        ("period", "day"),
        ("amount", "1"),
    ];
    assert_eq!(
        app.call(&globex, "save_budget", &theirs).await.status(),
        200
    );
    // Globex's budget has used 90% of its day.
    sqlx::query(
        "UPDATE budget_usage SET spent_micros = 900000 WHERE budget_id =
             (SELECT b.id FROM budgets b JOIN orgs o ON o.id = b.org_id WHERE o.slug = 'globex')",
    )
    .execute(&app.pool)
    .await
    .unwrap();

    let v = app
        .load::<StaffBudgetsPage>(&support, "load_staff_budgets", &[])
        .await;
    let rows: Vec<(&str, u64)> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["org_slug"].as_str().unwrap(),
                r["budget"]["percent_used"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(rows, [("globex", 90_u64), ("acme", 0_u64)]);
    assert_eq!(v["limit"], 200);
    let r = app.get(&support, "/staff/budgets").await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    for shown in [
        "Budgets, all orgs",
        "Acme Corp",
        "Globex",
        "90%",
        ">Hard cap<",
    ] {
        assert!(html.contains(shown), "the page lacks {shown:?}");
    }
    let home = app.get(&support, "/staff").await.text().await.unwrap();
    assert!(
        home.contains("href=\"/staff/budgets\""),
        "linked from the console"
    );
    let root = app.login_as("root@phonehub.test").await;
    assert_eq!(
        app.call(&root, "load_staff_budgets", &[]).await.status(),
        200
    );

    // For org admins and members the console does not exist.
    let member = app.login_as("user@acme.test").await;
    for who in [&owner, &member] {
        assert_eq!(app.call(who, "load_staff_budgets", &[]).await.status(), 404);
        assert_eq!(app.get(who, "/staff/budgets").await.status(), 404);
    }
}

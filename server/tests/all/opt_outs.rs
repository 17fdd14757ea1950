//! The opt-out ledger: keywords texted to the org's numbers (fifty ways of saying STOP), the
//! refusal before any provider request, START and HELP, the fence between sends and a STOP under
//! races, the provider's own opt-outs (Twilio 21610, Amazon SNS through moto), admin entries, the
//! CSV import and export, `/v1`, and other orgs untouched.

use crate::common;

use std::time::Duration;

use common::{
    configure_sandbox, create_key, own_number, poll_until_eq, sandbox_stat, spawn_app_on,
    start_sandbox, TestApp, PHONE,
};
use sqlx::PgPool;

/// The number every test's member texts from.
const OURS: &str = "+14155550180";

async fn setup(pool: PgPool) -> (TestApp, String, telephony::sandbox::Shared, reqwest::Client) {
    let (sb, keep) = start_sandbox().await;
    let app = spawn_app_on(pool, &sb).await;
    let admin = app.login_as("admin@acme.test").await;
    configure_sandbox(&app, &admin, "acme", &sb, "30").await;
    (app, sb, keep, admin)
}

/// `from` texts `body` to the number `id` (through the sandbox, which posts it to PhoneHub's
/// signed webhook as Twilio does).
async fn text_in(app: &TestApp, c: &reqwest::Client, id: i64, from: &str, body: &str) {
    let id = id.to_string();
    let r = app
        .call(
            c,
            "simulate_inbound",
            &[
                ("org", "acme"),
                ("id", &id),
                ("kind", "sms"),
                ("from", from),
                ("body", body),
            ],
        )
        .await;
    assert!(r.status().as_u16() < 400, "{body:?}: {}", r.status());
}

async fn send(app: &TestApp, c: &reqwest::Client, to: &str, body: &str) -> reqwest::Response {
    app.call(
        c,
        "send_sms",
        &[("org", "acme"), ("from", OURS), ("to", to), ("body", body)],
    )
    .await
}

async fn opted_out(app: &TestApp, e164: &str) -> Option<String> {
    sqlx::query_scalar(
        "SELECT o.source FROM opt_outs o JOIN orgs g ON g.id = o.org_id
         WHERE g.slug = 'acme' AND o.e164 = $1",
    )
    .bind(e164)
    .fetch_optional(&app.pool)
    .await
    .unwrap()
}

async fn replies_to(app: &TestApp, e164: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT body FROM messages WHERE direction = 'outbound' AND other_e164 = $1
           AND user_id IS NULL ORDER BY id",
    )
    .bind(e164)
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

/// Fifty ways people say stop, as the FCC's "any reasonable means" asks: Twilio's keywords in any
/// case and punctuation, short phrases, and the French-Canadian ARRÊT.
const STOPS: [&str; 50] = [
    "STOP",
    "stop",
    "Stop",
    "STOP!",
    "stop.",
    " stop ",
    "Stop!!!",
    "STOP 🛑",
    "stop\n",
    "\tSTOP",
    "STOPALL",
    "stop all",
    "UNSUBSCRIBE",
    "Unsubscribe.",
    "unsubscribe me",
    "CANCEL",
    "cancel",
    "END",
    "end.",
    "QUIT",
    "quit!",
    "REVOKE",
    "revoke",
    "OPTOUT",
    "opt out",
    "Opt-Out",
    "OPT-OUT!",
    "ARRÊT",
    "arrêt",
    "Arret",
    "stop please",
    "Please stop",
    "STOP NOW",
    "Stop it",
    "stop texting me",
    "Stop texting me!",
    "stop sending me messages",
    "Stop messaging me please",
    "stop contacting me",
    "STOP this number",
    "Remove me from your list",
    "remove me",
    "Take me off this list",
    "Do not text me again",
    "don't text me",
    "Dont text me anymore",
    "No more texts please",
    "no more messages",
    "Leave me alone",
    "revoke consent",
];

#[sqlx::test(migrations = "../migrations")]
async fn fifty_ways_of_saying_stop_opt_out_once_with_one_confirmation_and_proof(pool: PgPool) {
    let (app, sb, _keep, admin) = setup(pool).await;
    let number = own_number(&app, &admin, OURS, false, PHONE).await;
    for (i, words) in STOPS.iter().enumerate() {
        let from = format!("+1212555{:04}", 1000 + i);
        text_in(&app, &admin, number, &from, words).await;
        assert_eq!(
            opted_out(&app, &from).await.as_deref(),
            Some("keyword"),
            "{words:?} opts out"
        );
        // The proof: the words as received, the number they reached, the message.
        let (body, our, message): (String, String, Option<i64>) = sqlx::query_as(
            "SELECT e.body, e.our_e164, e.message_id FROM opt_outs o
             JOIN opt_out_events e ON e.id = o.event_id WHERE o.e164 = $1",
        )
        .bind(&from)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!(body, words.chars().take(1600).collect::<String>());
        assert_eq!(our, OURS);
        assert!(message.is_some(), "{words:?}: the message is the proof");
        let replies = replies_to(&app, &from).await;
        assert_eq!(replies.len(), 1, "{words:?}: exactly one confirmation");
        assert!(replies[0].contains("unsubscribed"), "{}", replies[0]);
    }
    // Each confirmation went back through the provider's answer to the webhook (TwiML), and its
    // status callback names it and says it was delivered.
    assert_eq!(sandbox_stat(&sb, "TwimlReply").await, 50);
    let delivered = poll_until_eq(Duration::from_secs(20), 50, || {
        app.count("SELECT count(*) FROM messages WHERE user_id IS NULL AND direction = 'outbound' AND status = 'delivered' AND provider_sid LIKE 'SM%'")
    })
    .await;
    assert_eq!(delivered, 50);
    // Ordinary messages are conversation, not keywords.
    for (i, words) in [
        "Can you help me with my bill?",
        "cancel my 3pm appointment",
        "Yes, see you there",
        "stop by the office at 5",
        "The meeting will end at 3",
        "don't stop texting me",
    ]
    .iter()
    .enumerate()
    {
        let from = format!("+1212555{:04}", 2000 + i);
        text_in(&app, &admin, number, &from, words).await;
        assert_eq!(opted_out(&app, &from).await, None, "{words:?}");
        assert!(replies_to(&app, &from).await.is_empty(), "{words:?}");
    }
    assert_eq!(sandbox_stat(&sb, "TwimlReply").await, 50);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_text_after_stop_is_refused_before_the_provider_until_start(pool: PgPool) {
    let (app, sb, _keep, admin) = setup(pool).await;
    let user = app.login_as("user@acme.test").await;
    let number = own_number(&app, &user, OURS, false, PHONE).await;
    let them = "+12125550147";
    assert!(send(&app, &user, them, "Your order shipped")
        .await
        .status()
        .is_success());
    assert_eq!(sandbox_stat(&sb, "CreateMessage").await, 1);

    text_in(&app, &user, number, them, "Stop texting me").await;
    assert_eq!(opted_out(&app, them).await.as_deref(), Some("keyword"));
    // A second STOP is kept as proof and not answered again.
    text_in(&app, &user, number, them, "STOP").await;
    assert_eq!(replies_to(&app, them).await.len(), 1);
    assert_eq!(
        app.count("SELECT count(*) FROM opt_out_events WHERE e164 = '+12125550147' AND action = 'opt_out'")
            .await,
        2
    );

    // Refused with the reason, nothing written, no request to the provider.
    let messages = app.count("SELECT count(*) FROM messages").await;
    let r = send(&app, &user, them, "One more thing").await;
    assert_eq!(r.status(), 403);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("opted out") && text.contains("START"),
        "{text}"
    );
    assert_eq!(app.count("SELECT count(*) FROM messages").await, messages);
    assert_eq!(sandbox_stat(&sb, "CreateMessage").await, 1);
    // The same through /v1 (a problem of its own type), and typed nationally.
    let key = create_key(&app, &admin, "user@acme.test", &["scope_messages"]).await;
    let r = reqwest::Client::new()
        .post(format!("{}/v1/messages", app.base))
        .bearer_auth(&key)
        .json(&serde_json::json!({ "from": OURS, "to": "(212) 555-0147", "body": "Hi" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let p: serde_json::Value = r.json().await.unwrap();
    assert_eq!(p["type"], "https://phonehub.dev/problems/opted-out");
    assert_eq!(sandbox_stat(&sb, "CreateMessage").await, 1);

    // Nobody but them can lift it: not the admin on the page, nor through /v1.
    let r = app
        .call(
            &admin,
            "remove_opt_out",
            &[
                ("org", "acme"),
                ("number", them),
                ("reason", "customer called"),
            ],
        )
        .await;
    assert_eq!(r.status(), 403);
    let admin_key = create_key(&app, &admin, "admin@acme.test", &["scope_messages"]).await;
    let r = reqwest::Client::new()
        .delete(format!("{}/v1/opt-outs/{them}?reason=please", app.base))
        .bearer_auth(&admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(opted_out(&app, them).await.as_deref(), Some("keyword"));

    // HELP is answered with the org's help text, naming the contact the admin set.
    let r = app
        .call(
            &admin,
            "save_opt_out_replies",
            &[
                ("org", "acme"),
                ("help_contact", "call 0800 123 456"),
                ("stop_reply", ""),
                ("start_reply", ""),
                ("help_reply", ""),
            ],
        )
        .await;
    assert!(r.status().as_u16() < 400, "{}", r.status());
    text_in(&app, &user, number, them, "HELP").await;
    let replies = replies_to(&app, them).await;
    assert_eq!(replies.len(), 2);
    assert!(replies[1].contains("call 0800 123 456"), "{}", replies[1]);
    // The provider does not text someone opted out (the sandbox, as Twilio, fails it with
    // 21610): its status callback says so, and the reply costs nothing.
    let failed = poll_until_eq(Duration::from_secs(20), 1, || {
        app.count("SELECT count(*) FROM messages WHERE user_id IS NULL AND other_e164 = '+12125550147' AND body LIKE '%0800 123 456%' AND status = 'failed' AND error_code = 21610 AND cost_micros = 0")
    })
    .await;
    assert_eq!(failed, 1);
    // HELP again within ten minutes is kept, not answered again.
    text_in(&app, &user, number, them, "help").await;
    assert_eq!(replies_to(&app, them).await.len(), 2);

    // START: back in, with its own confirmation, and texts go again.
    text_in(&app, &user, number, them, "start").await;
    assert_eq!(opted_out(&app, them).await, None);
    let replies = replies_to(&app, them).await;
    assert_eq!(replies.len(), 3);
    assert!(replies[2].contains("resubscribed"), "{}", replies[2]);
    assert!(send(&app, &user, them, "Welcome back")
        .await
        .status()
        .is_success());
    assert_eq!(sandbox_stat(&sb, "CreateMessage").await, 2);
    // The whole story, through /v1.
    let h: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/v1/opt-outs/{them}", app.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(h["opt_out"], serde_json::Value::Null);
    let actions: Vec<&str> = h["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["opt_in", "help", "help", "opt_out", "opt_out"]);
}

/// The fence: sends that passed the first check and wait to ask the provider while a STOP is
/// being recorded are refused once it is, and none of them reaches the provider.
#[sqlx::test(migrations = "../migrations")]
async fn sends_waiting_at_the_fence_while_a_stop_is_recorded_never_reach_the_provider(
    pool: PgPool,
) {
    let (app, sb, _keep, admin) = setup(pool).await;
    let user = app.login_as("user@acme.test").await;
    own_number(&app, &user, OURS, false, PHONE).await;
    let them = "+12125550148";
    let org: i64 = sqlx::query_scalar("SELECT id FROM orgs WHERE slug = 'acme'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    // The STOP's recording, as the webhook does it, paused between its lock and its commit.
    let mut stop = app.pool.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('optout:' || $1::int8 || ':' || $2::text, 0))")
        .bind(org)
        .bind(them)
        .execute(&mut *stop)
        .await
        .unwrap();
    let sends: Vec<_> = (0..4)
        .map(|i| {
            let (base, user) = (app.base.clone(), user.clone());
            tokio::spawn(async move {
                user.post(format!("{base}/api/send_sms"))
                    .form(&[
                        ("org", "acme"),
                        ("from", OURS),
                        ("to", them),
                        ("body", &format!("Reminder {i}")),
                    ])
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    // All four are written and wait at the fence (or for a dispatch slot behind it); none has
    // asked the provider.
    let waiting = poll_until_eq(Duration::from_secs(20), 4, || {
        app.count(
            "SELECT count(*) FROM messages WHERE other_e164 = '+12125550148' AND status = 'queued'",
        )
    })
    .await;
    assert_eq!(waiting, 4);
    assert_eq!(sandbox_stat(&sb, "CreateMessage").await, 0);
    let event: i64 = sqlx::query_scalar(
        "INSERT INTO opt_out_events (org_id, e164, action, source, body, at)
         VALUES ($1, $2, 'opt_out', 'keyword', 'STOP', now()) RETURNING id",
    )
    .bind(org)
    .bind(them)
    .fetch_one(&mut *stop)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO opt_outs (org_id, e164, source, since, event_id) VALUES ($1, $2, 'keyword', now(), $3)",
    )
    .bind(org)
    .bind(them)
    .bind(event)
    .execute(&mut *stop)
    .await
    .unwrap();
    stop.commit().await.unwrap();
    for s in sends {
        assert_eq!(s.await.unwrap(), 403);
    }
    assert_eq!(sandbox_stat(&sb, "CreateMessage").await, 0);
    // Failed, saying why, and nothing charged.
    assert_eq!(
        app.count("SELECT count(*) FROM messages WHERE other_e164 = '+12125550148' AND status = 'failed' AND cost_micros = 0 AND error_message LIKE '%opted out%'")
            .await,
        4
    );
    let _ = admin;
}

/// A real race: twenty sends and a STOP at once. Whatever the interleaving, no send reaches the
/// provider once the STOP is recorded (the sandbox, like Twilio, would refuse it with 21610, so
/// every refusal after it must be PhoneHub's own), nothing is left half done, and the next send
/// is refused without a request.
#[sqlx::test(migrations = "../migrations")]
async fn parallel_sends_racing_a_stop_never_deliver_after_it_is_recorded(pool: PgPool) {
    let (app, sb, keep, admin) = setup(pool).await;
    let user = app.login_as("user@acme.test").await;
    let number = own_number(&app, &user, OURS, false, PHONE).await;
    let them = "+12125550149";
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (base, member) = (app.base.clone(), user.clone());
        tasks.push(tokio::spawn(async move {
            member
                .post(format!("{base}/api/send_sms"))
                .form(&[
                    ("org", "acme"),
                    ("from", OURS),
                    ("to", them),
                    ("body", &format!("Race {i}")),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
        if i == 10 {
            text_in(&app, &user, number, them, "STOP").await;
        }
    }
    let mut codes = Vec::new();
    for t in tasks {
        codes.push(t.await.unwrap());
    }
    assert!(
        codes.iter().all(|c| matches!(c, 200 | 403 | 422)),
        "{codes:?}"
    );
    assert_eq!(opted_out(&app, them).await.as_deref(), Some("keyword"));
    // The sandbox saw every REST request; those it accepted all came before the STOP's reply
    // (the webhook answers only after the STOP is recorded, and sends fenced out by it ask
    // nothing).
    let seen: Vec<(String, String)> = keep
        .messages()
        .into_iter()
        .filter(|m| m.to == them)
        .map(|m| (m.sid, m.body))
        .collect();
    let reply_at = seen
        .iter()
        .position(|(_, b)| b.contains("unsubscribed"))
        .expect("the confirmation went out");
    assert!(
        seen[reply_at + 1..].is_empty(),
        "nothing after the confirmation: {seen:?}"
    );
    // Nothing half done: every message is sent or failed (charged only if sent).
    assert_eq!(
        app.count("SELECT count(*) FROM messages WHERE other_e164 = '+12125550149' AND direction = 'outbound' AND status IN ('queued', 'held')").await,
        0
    );
    assert_eq!(
        app.count("SELECT count(*) FROM messages WHERE other_e164 = '+12125550149' AND status = 'failed' AND cost_micros <> 0").await,
        0
    );
    let before = sandbox_stat(&sb, "CreateMessage").await;
    assert_eq!(send(&app, &user, them, "After").await.status(), 403);
    assert_eq!(sandbox_stat(&sb, "CreateMessage").await, before);
    let _ = admin;
}

#[sqlx::test(migrations = "../migrations")]
async fn a_21610_refusal_puts_the_recipient_on_the_list_and_the_next_send_asks_nothing(
    pool: PgPool,
) {
    let (app, sb, keep, _admin) = setup(pool).await;
    let user = app.login_as("user@acme.test").await;
    own_number(&app, &user, OURS, false, PHONE).await;
    let them = "+12125550150";
    // They texted STOP to Twilio only (the sandbox's record; PhoneHub never heard of it).
    keep.opt_out(OURS, them);
    let r = send(&app, &user, them, "Hello").await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("opted out"));
    assert_eq!(sandbox_stat(&sb, "CreateMessage").await, 1);
    assert_eq!(opted_out(&app, them).await.as_deref(), Some("provider"));
    assert_eq!(
        app.count("SELECT count(*) FROM messages WHERE other_e164 = '+12125550150' AND status = 'failed' AND error_code = 21610 AND cost_micros = 0").await,
        1
    );
    assert_eq!(send(&app, &user, them, "Hello?").await.status(), 403);
    assert_eq!(sandbox_stat(&sb, "CreateMessage").await, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn admins_add_import_export_and_lift_their_own_entries_and_other_orgs_are_untouched(
    pool: PgPool,
) {
    let (app, sb, _keep, admin) = setup(pool).await;
    let user = app.login_as("user@acme.test").await;
    own_number(&app, &user, OURS, false, PHONE).await;
    // Bad input: a message next to the field, nothing written.
    for (number, reason, field) in [
        ("", "asked by phone", "number"),
        ("12", "asked by phone", "number"),
        ("+12125550151", "", "reason"),
        ("+12125550151", &"x".repeat(501), "reason"),
    ] {
        let r = app
            .call(
                &admin,
                "add_opt_out",
                &[("org", "acme"), ("number", number), ("reason", reason)],
            )
            .await;
        assert_eq!(r.status(), 422, "{number:?} {reason:?}");
        assert!(r.text().await.unwrap().contains(field));
    }
    assert_eq!(app.count("SELECT count(*) FROM opt_outs").await, 0);
    // A member cannot; support staff cannot.
    for who in ["user@acme.test", "support@phonehub.test"] {
        let c = app.login_as(who).await;
        let r = app
            .call(
                &c,
                "add_opt_out",
                &[("org", "acme"), ("number", "+12125550151"), ("reason", "x")],
            )
            .await;
        assert_eq!(r.status(), 403, "{who}");
    }
    let r = app
        .call(
            &admin,
            "add_opt_out",
            &[
                ("org", "acme"),
                ("number", "(212) 555-0151"),
                ("reason", "Asked by phone on 3 March"),
            ],
        )
        .await;
    assert!(r.status().as_u16() < 400, "{}", r.status());
    assert_eq!(
        opted_out(&app, "+12125550151").await.as_deref(),
        Some("admin")
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'opt_out.added' AND target = '+12125550151'").await,
        1
    );
    assert_eq!(send(&app, &user, "+12125550151", "Hi").await.status(), 403);

    // Import: a bad row refuses the whole file, next to the field; a good one adds what is new.
    let upload = |csv: &'static str, reason: &'static str| {
        let (base, admin) = (app.base.clone(), admin.clone());
        async move {
            let form = reqwest::multipart::Form::new().text("reason", reason).part(
                "file",
                reqwest::multipart::Part::bytes(csv.as_bytes().to_vec())
                    .file_name("old-provider.csv")
                    .mime_str("text/csv")
                    .unwrap(),
            );
            admin
                .post(format!("{base}/o/acme/admin/opt-outs/import"))
                .multipart(form)
                .send()
                .await
                .unwrap()
        }
    };
    let r = upload(
        "phone\n+12125550152\nnot a number\n",
        "From our old provider",
    )
    .await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("Nothing was imported") && page.contains("row 2"),
        "the error is on the page"
    );
    assert_eq!(app.count("SELECT count(*) FROM opt_outs").await, 1);
    let r = upload(
        "phone\n+12125550152\n(212) 555-0153\n+12125550151\n+12125550152\n",
        "=From our old provider",
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        opted_out(&app, "+12125550153").await.as_deref(),
        Some("import")
    );
    assert_eq!(app.count("SELECT count(*) FROM opt_outs").await, 3);
    assert_eq!(
        opted_out(&app, "+12125550151").await.as_deref(),
        Some("admin"),
        "kept"
    );

    // Export: every entry, formula-safe, readable as a browser downloads it (gzip).
    text_in(&app, &user, own_id(&app).await, "+12125550154", "Stop").await;
    let r = admin
        .get(format!("{}/o/acme/admin/opt-outs.csv", app.base))
        .header("accept-encoding", "gzip, br")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = r.text().await.unwrap();
    assert_eq!(csv.lines().count(), 1 + 4, "{csv}");
    assert!(csv.contains("+12125550153"), "{csv}");
    assert!(
        csv.contains(",'=From our old provider,"),
        "formula-safe: {csv}"
    );
    // The CSV of a member's org is theirs to read; another org's admin cannot.
    let globex = app.login_as("admin@globex.test").await;
    let r = globex
        .get(format!("{}/o/acme/admin/opt-outs.csv", app.base))
        .send()
        .await
        .unwrap();
    assert!(matches!(r.status().as_u16(), 403 | 404), "{}", r.status());
    // Another org's ledger is its own: nothing of acme's is in it, and it cannot add to acme's.
    let theirs = app
        .load::<app::model::opt_outs::OptOutsPage>(
            &globex,
            "load_opt_outs",
            &[("org", "globex"), ("search", "")],
        )
        .await;
    assert_eq!(theirs["count"], 0);
    let r = app
        .call(
            &globex,
            "add_opt_out",
            &[("org", "acme"), ("number", "+12125550155"), ("reason", "x")],
        )
        .await;
    assert!(matches!(r.status().as_u16(), 403 | 404), "{}", r.status());
    assert_eq!(opted_out(&app, "+12125550155").await, None);

    // A number an admin added that then texts STOP becomes the recipient's own: confirmed once,
    // and no admin can lift it any more.
    app.call(
        &admin,
        "add_opt_out",
        &[
            ("org", "acme"),
            ("number", "+12125550156"),
            ("reason", "Asked by phone"),
        ],
    )
    .await;
    text_in(&app, &user, own_id(&app).await, "+12125550156", "STOP").await;
    assert_eq!(
        opted_out(&app, "+12125550156").await.as_deref(),
        Some("keyword")
    );
    assert_eq!(replies_to(&app, "+12125550156").await.len(), 1);
    let r = app
        .call(
            &admin,
            "remove_opt_out",
            &[
                ("org", "acme"),
                ("number", "+12125550156"),
                ("reason", "mistake"),
            ],
        )
        .await;
    assert_eq!(r.status(), 403);

    // Lifting an admin's entry needs a reason, and is on the record.
    let r = app
        .call(
            &admin,
            "remove_opt_out",
            &[("org", "acme"), ("number", "+12125550151"), ("reason", "")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let r = app
        .call(
            &admin,
            "remove_opt_out",
            &[
                ("org", "acme"),
                ("number", "+12125550151"),
                ("reason", "Entered by mistake"),
            ],
        )
        .await;
    assert!(r.status().as_u16() < 400, "{}", r.status());
    assert_eq!(opted_out(&app, "+12125550151").await, None);
    assert!(send(&app, &user, "+12125550151", "Hi")
        .await
        .status()
        .is_success());
    let _ = sb;
}

async fn own_id(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT id FROM owned_numbers WHERE e164 = $1 AND status = 'active'")
        .bind(OURS)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// Amazon SNS keeps its own opt-out list: a send asks it first (moto answers true for numbers
/// ending in 99), and an admin imports the whole list (`ListPhoneNumbersOptedOut`).
#[sqlx::test(migrations = "../migrations")]
async fn an_org_on_aws_checks_and_imports_sns_opt_outs_through_moto(pool: PgPool) {
    use telephony::sandbox::aws::{DEV_AWS_ACCESS_KEY_ID, DEV_AWS_SECRET_ACCESS_KEY};
    let (sb, _keep) = start_sandbox().await;
    let (moto, _) = common::moto::start_moto().await;
    let mut settings = common::settings("http://127.0.0.1:0");
    settings.sandbox_url = Some(url::Url::parse(&sb).unwrap());
    settings.aws_endpoints.sns = Some(moto.base.clone());
    let app = common::spawn_with_settings(pool, settings).await;
    let owner = app.login_as("admin@acme.test").await;
    let r = app
        .call(
            &owner,
            "save_phone_config",
            &[
                ("org", "acme"),
                ("provider", "aws"),
                ("display_name", "Amazon"),
                ("active", "on"),
                ("lookup_enabled", "on"),
                ("lookup_cache_days", "30"),
                ("default_sender", "+14155550100"),
                ("aws_region", "us-east-1"),
                ("credential_id", DEV_AWS_ACCESS_KEY_ID),
                ("credential_secret", DEV_AWS_SECRET_ACCESS_KEY),
                ("sms_sender_id", "PhoneHub"),
                ("sms_type", "Transactional"),
            ],
        )
        .await;
    let status = r.status();
    let text = r.text().await.unwrap();
    assert!(status.as_u16() < 400, "save: {status} {text}");
    let member = app.login_as("user@acme.test").await;
    // A new key is used once a connection test has passed.
    let r = app
        .call(&owner, "test_phone_connection", &[("org", "acme")])
        .await;
    assert!(r.status().as_u16() < 400, "test: {}", r.status());
    let send = |to: &'static str| {
        let (app, member) = (&app, member.clone());
        async move {
            app.call(
                &member,
                "send_sms",
                &[
                    ("org", "acme"),
                    ("from", "+14155550100"),
                    ("to", to),
                    ("body", "Your code is 1234"),
                ],
            )
            .await
        }
    };
    let r = send("+12125550199").await;
    let status = r.status();
    let text = r.text().await.unwrap();
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("opted out"), "{text}");
    assert_eq!(
        opted_out(&app, "+12125550199").await.as_deref(),
        Some("provider")
    );
    // SNS was asked just before the text would have gone: it is failed, saying why, and free.
    assert_eq!(
        app.count("SELECT count(*) FROM messages WHERE status = 'failed' AND cost_micros = 0 AND error_message LIKE '%opted out%'").await,
        1
    );
    // Known now: the next send is refused from the ledger alone, and nothing is written.
    assert_eq!(send("+12125550199").await.status(), 403);
    assert_eq!(app.count("SELECT count(*) FROM messages").await, 1);
    assert!(send("+12125550147").await.status().is_success());

    // The page offers the import; a member cannot run it.
    let page = app
        .load::<app::model::opt_outs::OptOutsPage>(
            &owner,
            "load_opt_outs",
            &[("org", "acme"), ("search", "")],
        )
        .await;
    assert_eq!(page["provider_list"], true);
    let r = app
        .call(&member, "import_provider_opt_outs", &[("org", "acme")])
        .await;
    assert_eq!(r.status(), 403);
    let r = app
        .call(&owner, "import_provider_opt_outs", &[("org", "acme")])
        .await;
    assert!(r.status().as_u16() < 400, "import: {}", r.status());
    // moto's list (UK numbers), each as the provider's.
    let imported = app
        .count("SELECT count(*) FROM opt_outs WHERE source = 'provider' AND e164 LIKE '+44%'")
        .await;
    assert!(imported >= 5, "{imported}");
    assert_eq!(
        opted_out(&app, "+447420500600").await.as_deref(),
        Some("provider")
    );
    // Importing again adds nothing.
    let before = app.count("SELECT count(*) FROM opt_out_events").await;
    app.call(&owner, "import_provider_opt_outs", &[("org", "acme")])
        .await;
    assert_eq!(
        app.count("SELECT count(*) FROM opt_out_events").await,
        before
    );
}

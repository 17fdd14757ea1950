//! Requests by phone number: an org's owners and admins (support staff reading) find everything
//! the org holds about one number, export it as a ZIP that holds every item and nothing about
//! anyone else, and erase it: at the provider first, then everywhere in the org's tables, with
//! other people's and other orgs' data untouched and every sum kept.

use crate::common;

use std::time::Duration;

use common::{create_key, own_number, poll_until_eq, sandbox_stat, start_sandbox, TestApp, PHONE};
use serde_json::Value;
use sqlx::PgPool;

const PERSON: &str = "+12125550107";
const OTHER: &str = "+12125550108";
const OURS: &str = "+14155550194";

async fn wait(app: &TestApp, sql: &str, want: i64) {
    let got = poll_until_eq(Duration::from_secs(20), want, || async {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(&app.pool)
            .await
            .unwrap()
    })
    .await;
    assert_eq!(got, want, "{sql}");
}

async fn simulate(app: &TestApp, c: &reqwest::Client, id: i64, kind: &str, from: &str, body: &str) {
    let id = id.to_string();
    let r = app
        .call(
            c,
            "simulate_inbound",
            &[
                ("org", "acme"),
                ("id", &id),
                ("kind", kind),
                ("from", from),
                ("body", body),
            ],
        )
        .await;
    assert!(r.status().as_u16() < 400, "simulate {kind}: {}", r.status());
}

async fn text(app: &TestApp, c: &reqwest::Client, to: &str, body: &str) {
    let r = app
        .call(
            c,
            "send_sms",
            &[("org", "acme"), ("from", OURS), ("to", to), ("body", body)],
        )
        .await;
    assert!(r.status().as_u16() < 400, "send: {}", r.status());
}

/// The files of a stored ZIP (what the export writes): name → bytes, read from the local
/// headers as any unzip tool would.
fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 0;
    while bytes[at..].starts_with(b"PK\x03\x04") {
        let u16_at = |i: usize| u16::from_le_bytes([bytes[at + i], bytes[at + i + 1]]) as usize;
        let size = u32::from_le_bytes(bytes[at + 18..at + 22].try_into().unwrap()) as usize;
        let (name_len, extra) = (u16_at(26), u16_at(28));
        assert_eq!(u16_at(8), 0, "stored");
        let name = String::from_utf8(bytes[at + 30..at + 30 + name_len].to_vec()).unwrap();
        let start = at + 30 + name_len + extra;
        let data = bytes[start..start + size].to_vec();
        let crc = u32::from_le_bytes(bytes[at + 14..at + 18].try_into().unwrap());
        assert_eq!(crc, crc32(&data), "{name}'s checksum");
        out.push((name, data));
        at = start + size;
    }
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for b in data {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[sqlx::test(migrations = "../migrations")]
async fn a_numbers_data_is_found_exported_and_erased_here_and_at_the_provider(pool: PgPool) {
    let (sb, _keep) = start_sandbox().await;
    let mut s = common::settings("http://127.0.0.1:0");
    s.sandbox_url = Some(url::Url::parse(&sb).unwrap());
    let (app, _clock) = common::spawn_with_clock(pool.clone(), s).await;
    let admin = app.login_as("admin@acme.test").await;
    common::configure_sandbox(&app, &admin, "acme", &sb, "30").await;
    let user = app.login_as("user@acme.test").await;
    let number = own_number(&app, &user, OURS, true, PHONE).await;

    // The person: a recorded call from them, a text to them, their STOP, a lookup, the shared
    // cache's caller name; someone else's text; another org's text to the same person.
    simulate(&app, &admin, number, "call", PERSON, "").await;
    wait(&app, "SELECT count(*) FROM call_recordings", 1).await;
    text(&app, &user, PERSON, "Your code is 4411").await;
    text(&app, &user, OTHER, "Someone else's appointment").await;
    wait(
        &app,
        "SELECT count(*) FROM messages WHERE provider_sid IS NOT NULL AND direction = 'outbound'",
        2,
    )
    .await;
    simulate(&app, &admin, number, "sms", PERSON, "STOP").await;
    wait(&app, "SELECT count(*) FROM opt_outs", 1).await;
    sqlx::query(
        "INSERT INTO lookup_events (org_id, e164, outcome, line_type) SELECT id, $1, 'miss', 'mobile' FROM orgs WHERE slug = 'acme';
         ",
    )
    .bind(PERSON)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO phone_numbers (e164, line_type, carrier_name, caller_name, caller_name_checked)
         VALUES ($1, 'mobile', 'Verizon', 'JANE DOE', true)
         ON CONFLICT (e164) DO UPDATE SET caller_name = 'JANE DOE', line_type = 'mobile', carrier_name = 'Verizon'",
    )
    .bind(PERSON)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO messages (org_id, direction, our_e164, other_e164, body, segments, encoding, status)
         SELECT id, 'outbound', '+15550000001', $1, 'globex keeps this', 1, 'gsm7', 'sent' FROM orgs WHERE slug = 'globex'",
    )
    .bind(PERSON)
    .execute(&pool)
    .await
    .unwrap();
    // A longer number that starts with theirs is someone else's.
    sqlx::query(
        "INSERT INTO audit_log (org_id, action, target, details)
         SELECT id, 'note.test', $1 || '9', '{}'::jsonb FROM orgs WHERE slug = 'acme'",
    )
    .bind(PERSON)
    .execute(&pool)
    .await
    .unwrap();
    let usage = app
        .count("SELECT coalesce(sum(micros), 0)::int8 FROM usage_daily")
        .await;

    // Find: owners, admins and support staff; a member is refused; a bad number is a field error.
    let r = app
        .call(
            &user,
            "load_requests",
            &[("org", "acme"), ("number", PERSON)],
        )
        .await;
    assert_eq!(r.status(), 403);
    let r = app
        .call(
            &admin,
            "load_requests",
            &[("org", "acme"), ("number", "12")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let key = create_key(
        &app,
        &admin,
        "admin@acme.test",
        &["scope_calls", "scope_messages", "scope_lookups"],
    )
    .await;
    let api = reqwest::Client::new();
    let held: Value = api
        .get(format!("{}/v1/data-requests/{PERSON}", app.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(held["calls_total"], 1, "{held}");
    assert_eq!(
        held["messages_total"], 3,
        "the text, their STOP and its confirmation: {held}"
    );
    assert_eq!(held["recordings"], 1);
    assert_eq!(held["lookups_total"], 1);
    assert_eq!(held["opt_out"]["source"], "keyword");
    let support = app.login_as("support@phonehub.test").await;
    let r = app
        .call(
            &support,
            "load_requests",
            &[("org", "acme"), ("number", PERSON)],
        )
        .await;
    assert_eq!(r.status(), 200, "support staff read");

    // Export: a ZIP a browser downloads (it asks for gzip and br) with every item, its audio,
    // and nothing about anyone else.
    let path = format!(
        "/o/acme/admin/requests/export.zip?number=%2B{}",
        &PERSON[1..]
    );
    assert_eq!(app.get(&user, &path).await.status(), 403);
    let r = app.get(&admin, &path).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/zip");
    assert!(r.headers().get("content-encoding").is_none());
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment;"));
    let files = unzip(&r.bytes().await.unwrap());
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    for want in ["data.json", "calls.csv", "messages.csv", "lookups.csv"] {
        assert!(names.contains(&want), "{names:?}");
    }
    let audio = files
        .iter()
        .find(|(n, _)| n.starts_with("recordings/") && n.ends_with(".wav"))
        .expect("the recording's audio");
    assert!(!audio.1.is_empty());
    let everything: String = files
        .iter()
        .filter(|(n, _)| !n.starts_with("recordings/"))
        .map(|(_, d)| String::from_utf8_lossy(d).to_string())
        .collect();
    assert!(everything.contains("Your code is 4411"));
    assert!(everything.contains("STOP"));
    assert!(everything.contains(PERSON));
    for never in [OTHER, "Someone else's appointment", "globex keeps this"] {
        assert!(!everything.contains(never), "the export holds {never}");
    }
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'privacy.exported' AND target LIKE 'erased-%'")
            .await,
        1
    );

    // Erase: a member cannot; a confirmation that differs changes nothing.
    let erase = |c: &reqwest::Client, confirm: &str| {
        let confirm = confirm.to_string();
        let c = c.clone();
        let app = &app;
        async move {
            app.call(
                &c,
                "erase_number",
                &[("org", "acme"), ("number", PERSON), ("confirm", &confirm)],
            )
            .await
        }
    };
    assert_eq!(erase(&user, PERSON).await.status(), 403);
    let r = erase(&admin, OTHER).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("confirm"));
    assert_eq!(app.count("SELECT count(*) FROM call_recordings").await, 1);
    let r = erase(&admin, "(212) 555-0107").await;
    assert!(r.status().as_u16() < 400, "erase: {}", r.status());

    // The provider first: the recording deleted and the sent text's body redacted there.
    assert_eq!(sandbox_stat(&sb, "DeleteRecording").await, 1);
    assert!(sandbox_stat(&sb, "RedactMessage").await >= 1);
    // Then nothing of the org's names the number, except the opt-out entry that keeps them
    // from being texted again (without the message that proved it).
    let acme_rows = format!(
        "SELECT (SELECT count(*) FROM calls c JOIN orgs o ON o.id = c.org_id WHERE o.slug = 'acme' AND '{PERSON}' IN (c.from_e164, c.to_e164, coalesce(c.bridge_e164, '')))
              + (SELECT count(*) FROM messages m JOIN orgs o ON o.id = m.org_id WHERE o.slug = 'acme' AND (m.other_e164 = '{PERSON}' OR m.body <> '' AND m.other_e164 LIKE 'erased-%'))
              + (SELECT count(*) FROM lookup_events l JOIN orgs o ON o.id = l.org_id WHERE o.slug = 'acme' AND l.e164 = '{PERSON}')
              + (SELECT count(*) FROM call_recordings)
              + (SELECT count(*) FROM audit_log a JOIN orgs o ON o.id = a.org_id WHERE o.slug = 'acme' AND a.action <> 'note.test' AND (a.target LIKE '%{PERSON}%' OR a.details::text LIKE '%{PERSON}%'))
              + (SELECT count(*) FROM opt_out_events e WHERE e.e164 = '{PERSON}' AND e.body IS NOT NULL)"
    );
    assert_eq!(app.count(&acme_rows).await, 0);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM audit_log WHERE action = 'note.test' AND target = '{PERSON}9'"
        ))
        .await,
        1,
        "a longer number is not theirs"
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM opt_outs WHERE e164 = '{PERSON}'"
        ))
        .await,
        1,
        "still never texted again"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM messages WHERE body = 'Someone else''s appointment'")
            .await,
        1
    );
    assert_eq!(
        app.count(&format!("SELECT count(*) FROM messages WHERE body = 'globex keeps this' AND other_e164 = '{PERSON}'")).await,
        1,
        "another org's data about the same person is untouched"
    );
    let shared: (Option<String>, Option<String>, Option<String>) = sqlx::query_as(
        "SELECT caller_name, line_type, carrier_name FROM phone_numbers WHERE e164 = $1",
    )
    .bind(PERSON)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        shared,
        (None, Some("mobile".into()), Some("Verizon".into())),
        "the shared row keeps its carrier and line type"
    );
    assert_eq!(
        app.count("SELECT coalesce(sum(micros), 0)::int8 FROM usage_daily")
            .await,
        usage,
        "usage totals keep their sums"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'privacy.erased' AND target LIKE 'erased-%' AND (details->>'recordings_deleted')::int = 1")
            .await,
        1
    );
    // Found again: nothing.
    let held: Value = api
        .get(format!("{}/v1/data-requests/{PERSON}", app.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            held["calls_total"].as_i64(),
            held["messages_total"].as_i64(),
            held["recordings"].as_i64()
        ),
        (Some(0), Some(0), Some(0)),
        "{held}"
    );
}

//! Calls over HTTP: click-to-call through the sandbox to completion with its cost and recording,
//! webhook signatures, replays and out-of-order callbacks, inbound TwiML, ownership checks,
//! the hourly limit, recording access by role, history filters and the CSV export.

use crate::common;

use std::time::Duration;

use app::model::calls::CallsPage;
use common::poll_until_eq;
use common::{
    configure_sandbox, own_number, sandbox_stat, spawn_app_on, start_sandbox, webhook, TestApp,
};
use sqlx::PgPool;
use telephony::sandbox::DEV_AUTH_TOKEN;

use common::{PASSWORD, PHONE};
const DEST: &str = "+14155550188";

async fn setup(pool: PgPool) -> (TestApp, String, telephony::sandbox::Shared, reqwest::Client) {
    let (sb, keep) = start_sandbox().await;
    let app = spawn_app_on(pool, &sb).await;
    let admin = app.login_as("admin@acme.test").await;
    configure_sandbox(&app, &admin, "acme", &sb, "30").await;
    (app, sb, keep, admin)
}

async fn place(app: &TestApp, c: &reqwest::Client, number: i64, to: &str) -> reqwest::Response {
    app.call(
        c,
        "place_call",
        &[
            ("org", "acme"),
            ("number_id", &number.to_string()),
            ("to", to),
        ],
    )
    .await
}

async fn last_call(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT max(id) FROM calls")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// Waits (bounded) until `sql` (one int8/bool-as-int column, $1 = call id) returns `want`.
async fn wait_for(app: &TestApp, sql: &str, id: i64, want: i64) -> i64 {
    poll_until_eq(Duration::from_secs(15), want, || async {
        sqlx::query_scalar(sql)
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap()
    })
    .await
}

#[sqlx::test(migrations = "../migrations")]
async fn click_to_call_completes_with_the_providers_price_and_a_recording(pool: PgPool) {
    let (app, sb, _keep, admin) = setup(pool).await;
    let user = app.login_as("user@acme.test").await;
    let number = own_number(&app, &user, "+14155550170", true, PHONE).await;
    let r = place(&app, &user, number, "(415) 555-0188").await;
    assert!(r.status().as_u16() < 400, "place: {}", r.status());
    let id = last_call(&app).await;
    assert_eq!(sandbox_stat(&sb, "CreateCall").await, 1);
    let done = wait_for(
        &app,
        "SELECT (status = 'completed')::int::int8 FROM calls WHERE id = $1",
        id,
        1,
    )
    .await;
    assert_eq!(done, 1, "the call reached completed");
    // The provider's price replaces the estimate; the recording arrives after the call ends.
    assert_eq!(
        wait_for(
            &app,
            "SELECT (provider_price_micros IS NOT NULL)::int::int8 FROM calls WHERE id = $1",
            id,
            1
        )
        .await,
        1
    );
    assert_eq!(
        wait_for(
            &app,
            "SELECT recording_count::int8 FROM calls WHERE id = $1",
            id,
            1
        )
        .await,
        1
    );
    let row: (String, String, String, i32, i64, i64, i64) = sqlx::query_as(
        "SELECT to_e164, bridge_e164, provider_sid, duration_secs, cost_micros, provider_price_micros, recording_cost_micros FROM calls WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(row.0, DEST);
    assert_eq!(row.1, PHONE);
    assert!(row.2.starts_with("CA"));
    let minutes = (row.3 as i64 + 59) / 60;
    assert!(row.3 > 0);
    assert_eq!(
        row.5,
        minutes * 8_500,
        "sandbox price: started minutes × $0.0085"
    );
    assert_eq!(row.4, row.5, "the call costs the provider's price");
    assert_eq!(row.6, minutes * 2_500, "recording minutes × $0.0025");
    let events: Vec<String> =
        sqlx::query_scalar("SELECT status FROM call_events WHERE call_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(events, ["initiated", "ringing", "in-progress", "completed"]);

    // The connect TwiML dials the destination with the number as caller ID.
    let sid = row.2.clone();
    let connect = format!("/webhooks/twilio/connect?call={id}");
    let r = webhook(
        &app,
        &connect,
        &[("CallSid", &sid), ("CallStatus", "in-progress")],
        Some(DEV_AUTH_TOKEN),
    )
    .await;
    assert_eq!(r.status(), 200);
    // The call has ended, so a late fetch hangs up; a fresh one would dial.
    assert!(r.text().await.unwrap().contains("<Hangup/>"));
    sqlx::query("UPDATE calls SET status = 'in-progress' WHERE id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
    let xml = webhook(&app, &connect, &[("CallSid", &sid)], Some(DEV_AUTH_TOKEN))
        .await
        .text()
        .await
        .unwrap();
    // The number records: the called party hears the consent announcement (the `<Number url>`)
    // before being connected, and the recording starts at their answer.
    let want = format!(
        r#"<Dial callerId="+14155550170" record="record-from-answer" recordingStatusCallback="{base}/webhooks/twilio/recording?call={id}"><Number url="{base}/webhooks/twilio/announce?call={id}">+14155550188</Number></Dial>"#,
        base = app.base
    );
    assert!(xml.contains(&want), "{xml}");
    sqlx::query("UPDATE calls SET status = 'completed' WHERE id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();

    // The recording: the caller, org admins and support may play it; other members and outsiders not.
    let rid: i64 = sqlx::query_scalar("SELECT id FROM call_recordings WHERE call_id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let path = format!("/o/acme/calls/{id}/recordings/{rid}");
    let hash: String =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE email = 'user@acme.test'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    sqlx::query("WITH u AS (INSERT INTO users (email, name, password_hash) VALUES ('member2@acme.test', 'Mo', $1) RETURNING id)
                 INSERT INTO memberships (org_id, user_id, role) SELECT o.id, u.id, 'member' FROM u, orgs o WHERE o.slug = 'acme'")
        .bind(hash).execute(&app.pool).await.unwrap();
    let support = app.login_as("support@phonehub.test").await;
    let member2 = app.login_as("member2@acme.test").await;
    let outsider = app.login_as("admin@globex.test").await;
    for (who, c, want) in [
        ("caller", &user, 200),
        ("org admin", &admin, 200),
        ("support", &support, 200),
        ("another member", &member2, 404),
        ("another org", &outsider, 404),
    ] {
        let r = app.get(c, &path).await;
        assert_eq!(r.status(), want, "{who}");
        if want == 200 {
            assert!(
                r.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("audio/"),
                "{who}"
            );
            assert!(r.bytes().await.unwrap().starts_with(b"RIFF"), "{who}");
        }
    }
    let r = app.get(&user, &format!("{path}?download=1")).await;
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    // Not signed in: the login page, not the audio.
    assert_ne!(app.get(&app.client(), &path).await.status(), 200);

    // History: the caller sees it, another member does not; the call page shows the timeline.
    let mine: serde_json::Value = app
        .load::<CallsPage>(
            &user,
            "load_calls",
            &[("org", "acme"), ("params", "status=completed")],
        )
        .await;
    assert_eq!(mine["rows"][0]["id"], id);
    let theirs: serde_json::Value = app
        .load::<CallsPage>(&member2, "load_calls", &[("org", "acme"), ("params", "")])
        .await;
    assert_eq!(theirs["rows"].as_array().unwrap().len(), 0);
    assert_eq!(
        app.call(
            &member2,
            "load_call",
            &[("org", "acme"), ("id", &id.to_string())]
        )
        .await
        .status(),
        404
    );
    let html = app
        .get(&user, &format!("/o/acme/calls/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Completed") && html.contains("<audio"),
        "call page"
    );
    let csv = app
        .get(&admin, "/o/acme/calls/export.csv?status=completed")
        .await
        .text()
        .await
        .unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(
        lines[1].contains(",+14155550170,") && lines[1].contains("completed"),
        "{csv}"
    );
}

/// A call row owned by Acme's configuration, as if placed, with provider SID `sid`.
async fn insert_call(app: &TestApp, sid: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO calls (org_id, user_id, config_id, direction, from_e164, to_e164, provider_sid)
         SELECT o.id, u.id, c.id, 'outbound', '+14155550170', '+14155550188', $1
         FROM orgs o JOIN phone_configs c ON c.org_id = o.id, users u
         WHERE o.slug = 'acme' AND u.email = 'user@acme.test' RETURNING id",
    )
    .bind(sid)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn status_callbacks_are_signed_idempotent_and_never_go_backwards(pool: PgPool) {
    let (app, _sb, _keep, _admin) = setup(pool).await;
    let sid = "CA0123456789abcdef0123456789abcdef";
    let id = insert_call(&app, sid).await;
    let path = format!("/webhooks/twilio/status?call={id}");
    let events_sql = format!("SELECT count(*) FROM call_events WHERE call_id = {id}");
    let events = || app.count(&events_sql);
    let completed = [
        ("CallSid", sid),
        ("CallStatus", "completed"),
        ("SequenceNumber", "3"),
        ("CallDuration", "61"),
    ];
    // Forged: no signature, a wrong token, or a tampered parameter → 403, nothing written.
    assert_eq!(webhook(&app, &path, &completed, None).await.status(), 403);
    assert_eq!(
        webhook(&app, &path, &completed, Some("not-the-token"))
            .await
            .status(),
        403
    );
    let url = format!("{}{path}", app.base);
    let signed_for_other: Vec<(String, String)> = [
        ("CallSid", sid),
        ("CallStatus", "completed"),
        ("SequenceNumber", "3"),
        ("CallDuration", "1"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    let r = reqwest::Client::new()
        .post(&url)
        .header(
            "X-Twilio-Signature",
            telephony::signature::compute(DEV_AUTH_TOKEN, &url, &signed_for_other),
        )
        .form(&completed)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(events().await, 0);
    // Unknown call → the same 403 as a bad signature, nothing written.
    assert_eq!(
        webhook(
            &app,
            "/webhooks/twilio/status?call=999999",
            &completed,
            Some(DEV_AUTH_TOKEN)
        )
        .await
        .status(),
        403
    );
    assert_eq!(
        webhook(
            &app,
            "/webhooks/twilio/status",
            &[("CallSid", "CAunknown"), ("CallStatus", "ringing")],
            Some(DEV_AUTH_TOKEN)
        )
        .await
        .status(),
        403
    );
    // Another call's SID on this call's URL → 403.
    assert_eq!(
        webhook(
            &app,
            &path,
            &[("CallSid", "CAother"), ("CallStatus", "ringing")],
            Some(DEV_AUTH_TOKEN)
        )
        .await
        .status(),
        403
    );
    assert_eq!(app.count("SELECT count(*) FROM call_events").await, 0);

    // "completed" arrives first, then a late "ringing": the call stays completed.
    assert_eq!(
        webhook(&app, &path, &completed, Some(DEV_AUTH_TOKEN))
            .await
            .status(),
        204
    );
    let late = [
        ("CallSid", sid),
        ("CallStatus", "ringing"),
        ("SequenceNumber", "1"),
    ];
    assert_eq!(
        webhook(&app, &path, &late, Some(DEV_AUTH_TOKEN))
            .await
            .status(),
        204
    );
    let (status, secs, cost): (String, i32, i64) =
        sqlx::query_as("SELECT status, duration_secs, cost_micros FROM calls WHERE id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), secs), ("completed", 61));
    assert_eq!(cost, 17_000, "61 s is two started minutes at $0.0085");
    // Replays change nothing.
    for _ in 0..3 {
        assert_eq!(
            webhook(&app, &path, &completed, Some(DEV_AUTH_TOKEN))
                .await
                .status(),
            204
        );
        assert_eq!(
            webhook(&app, &path, &late, Some(DEV_AUTH_TOKEN))
                .await
                .status(),
            204
        );
    }
    assert_eq!(events().await, 2);
    // The inbound-style callback (no ?call=) finds the call by its SID.
    let answered = [
        ("CallSid", sid),
        ("CallStatus", "in-progress"),
        ("SequenceNumber", "2"),
    ];
    assert_eq!(
        webhook(
            &app,
            "/webhooks/twilio/status",
            &answered,
            Some(DEV_AUTH_TOKEN)
        )
        .await
        .status(),
        204
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM calls WHERE id = {id} AND status = 'completed'"
        ))
        .await,
        1
    );

    // Recording callbacks: attached once however often they are sent.
    let rec_path = format!("/webhooks/twilio/recording?call={id}");
    let rec = [
        ("CallSid", sid),
        ("RecordingSid", "RE0123456789abcdef0123456789abcdef"),
        ("RecordingStatus", "completed"),
        ("RecordingDuration", "61"),
    ];
    assert_eq!(webhook(&app, &rec_path, &rec, None).await.status(), 403);
    for _ in 0..3 {
        assert_eq!(
            webhook(&app, &rec_path, &rec, Some(DEV_AUTH_TOKEN))
                .await
                .status(),
            204
        );
    }
    let (n, cost): (i32, i64) =
        sqlx::query_as("SELECT recording_count, recording_cost_micros FROM calls WHERE id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((n, cost), (1, 5_000));
    assert_eq!(app.count("SELECT count(*) FROM call_recordings").await, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn inbound_calls_forward_or_take_voicemail_and_are_logged_once(pool: PgPool) {
    let (app, _sb, _keep, admin) = setup(pool).await;
    let forwarding = own_number(&app, &admin, "+14155550171", true, PHONE).await;
    let _voicemail = own_number(&app, &admin, "+14155550172", false, "").await;
    let call = |to: &'static str, sid: &'static str| {
        [
            ("CallSid", sid),
            ("From", "+12125550100"),
            ("To", to),
            ("CallStatus", "ringing"),
            ("Direction", "inbound"),
        ]
    };
    let xml = webhook(
        &app,
        "/webhooks/twilio/voice",
        &call("+14155550171", "CAin1"),
        Some(DEV_AUTH_TOKEN),
    )
    .await;
    assert_eq!(xml.status(), 200);
    assert_eq!(xml.headers()["content-type"], "text/xml; charset=utf-8");
    let xml = xml.text().await.unwrap();
    assert!(
        xml.contains(r#"<Dial callerId="+12125550100" record="record-from-answer""#),
        "{xml}"
    );
    assert!(xml.contains("<Number>+14155550123</Number>"), "{xml}");
    let xml = webhook(
        &app,
        "/webhooks/twilio/voice",
        &call("+14155550172", "CAin2"),
        Some(DEV_AUTH_TOKEN),
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(
        xml.contains("<Record ") && xml.contains("recordingStatusCallback="),
        "{xml}"
    );
    // Retried by the provider: still one call each.
    webhook(
        &app,
        "/webhooks/twilio/voice",
        &call("+14155550171", "CAin1"),
        Some(DEV_AUTH_TOKEN),
    )
    .await;
    assert_eq!(
        app.count("SELECT count(*) FROM calls WHERE direction = 'inbound'")
            .await,
        2
    );
    let (user, number): (i64, i64) =
        sqlx::query_as("SELECT user_id, number_id FROM calls WHERE provider_sid = 'CAin1'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        (user, number),
        (app.user_id("admin@acme.test").await, forwarding)
    );
    // Unknown number and bad signature → the same 403; neither writes anything.
    let answer = |r: reqwest::Response| async move {
        let status = r.status();
        let ct = r.headers().get("content-type").cloned();
        (status, ct, r.text().await.unwrap())
    };
    assert_eq!(
        answer(
            webhook(
                &app,
                "/webhooks/twilio/voice",
                &call("+14155550999", "CAin3"),
                Some(DEV_AUTH_TOKEN)
            )
            .await
        )
        .await,
        answer(
            webhook(
                &app,
                "/webhooks/twilio/voice",
                &call("+14155550171", "CAin4"),
                Some("wrong")
            )
            .await
        )
        .await,
        "an unknown number must be indistinguishable from a bad signature"
    );
    assert_eq!(
        webhook(
            &app,
            "/webhooks/twilio/voice",
            &call("+14155550999", "CAin3"),
            Some(DEV_AUTH_TOKEN)
        )
        .await
        .status(),
        403
    );
    assert_eq!(
        webhook(
            &app,
            "/webhooks/twilio/voice",
            &call("+14155550171", "CAin4"),
            Some("wrong")
        )
        .await
        .status(),
        403
    );
    assert_eq!(
        webhook(
            &app,
            "/webhooks/twilio/voice",
            &call("+14155550171", "CAin5"),
            None
        )
        .await
        .status(),
        403
    );
    assert_eq!(app.count("SELECT count(*) FROM calls").await, 2);
    // Inactive numbers turn callers away politely (and log the call).
    sqlx::query("UPDATE owned_numbers SET active = FALSE WHERE id = $1")
        .bind(forwarding)
        .execute(&app.pool)
        .await
        .unwrap();
    let xml = webhook(
        &app,
        "/webhooks/twilio/voice",
        &call("+14155550171", "CAin6"),
        Some(DEV_AUTH_TOKEN),
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(xml.contains("<Hangup/>") && !xml.contains("<Dial"), "{xml}");
}

#[sqlx::test(migrations = "../migrations")]
async fn calls_are_checked_on_the_server_and_limited_per_hour(pool: PgPool) {
    let (app, sb, _keep, admin) = setup(pool).await;
    let user = app.login_as("user@acme.test").await;
    let admins = own_number(&app, &admin, "+14155550173", false, PHONE).await;
    let mine = own_number(&app, &user, "+14155550174", false, PHONE).await;
    let no_phone = own_number(&app, &user, "+14155550175", false, "").await;
    // Another org's number.
    let globex: i64 = sqlx::query_scalar(
        "INSERT INTO owned_numbers (org_id, e164, status, voice, forward_to, monthly_price_micros, idempotency_key)
         SELECT id, '+14155550176', 'active', TRUE, '+14155550123', 1000000, 'k' FROM orgs WHERE slug = 'globex' RETURNING id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let field = |r: reqwest::Response| async move {
        let status = r.status().as_u16();
        let v: serde_json::Value = r.json().await.unwrap_or_default();
        (status, v.to_string())
    };
    for (what, number, to, want_field) in [
        ("another user's number", admins, DEST, "number_id"),
        ("another org's number", globex, DEST, "number_id"),
        (
            "a number with no phone to ring",
            no_phone,
            DEST,
            "number_id",
        ),
        ("an invalid destination", mine, "12", "to"),
        ("an empty destination", mine, "", "to"),
        ("calling yourself", mine, PHONE, "to"),
    ] {
        let (status, body) = field(place(&app, &user, number, to).await).await;
        assert_eq!(status, 422, "{what}: {body}");
        assert!(body.contains(want_field), "{what}: {body}");
    }
    // Inactive: turned off in its settings.
    sqlx::query("UPDATE owned_numbers SET active = FALSE WHERE id = $1")
        .bind(mine)
        .execute(&app.pool)
        .await
        .unwrap();
    let (status, body) = field(place(&app, &user, mine, DEST).await).await;
    assert_eq!(status, 422);
    assert!(body.contains("inactive"), "{body}");
    sqlx::query("UPDATE owned_numbers SET active = TRUE WHERE id = $1")
        .bind(mine)
        .execute(&app.pool)
        .await
        .unwrap();
    // Support is read-only.
    let support = app.login_as("support@phonehub.test").await;
    assert_eq!(place(&app, &support, mine, DEST).await.status(), 403);
    assert_eq!(app.count("SELECT count(*) FROM calls").await, 0);
    assert_eq!(sandbox_stat(&sb, "CreateCall").await, 0);
    // A shared (team) number can be used by other members.
    sqlx::query("UPDATE owned_numbers SET shared = TRUE WHERE id = $1")
        .bind(admins)
        .execute(&app.pool)
        .await
        .unwrap();
    assert!(place(&app, &user, admins, DEST).await.status().as_u16() < 400);
    // The hourly limit.
    sqlx::query("UPDATE limits SET per_hour = 2 WHERE item = 'call.create'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert!(place(&app, &user, mine, DEST).await.status().as_u16() < 400);
    let r = place(&app, &user, mine, DEST).await;
    assert_eq!(r.status(), 429);
    assert!(r.text().await.unwrap().contains("at most 2 calls an hour"));
    assert_eq!(sandbox_stat(&sb, "CreateCall").await, 2);
    // History filters are checked (422), and the no-JS page shows the message.
    for bad in ["status=done", "from=2026-13-01", "q=abc", "direction=up"] {
        let r = app
            .call(&user, "load_calls", &[("org", "acme"), ("params", bad)])
            .await;
        assert_eq!(r.status(), 422, "{bad}");
    }
    let r = app.get(&user, "/o/acme/calls?status=done").await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Choose a status from the list."));
    assert_eq!(
        app.get(&user, "/o/acme/calls/export.csv?from=x")
            .await
            .status(),
        422
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_history_date_not_on_the_calendar_is_refused_with_a_message_for_its_field(pool: PgPool) {
    let (app, _sb, _keep, admin) = setup(pool).await;
    // One call on 2026-11-20: a dropped filter would show it.
    sqlx::query(
        "INSERT INTO calls (org_id, user_id, direction, from_e164, to_e164, status, created_at)
         SELECT o.id, u.id, 'outbound', '+14155550100', '+12125550100', 'completed',
                timestamptz '2026-11-20 12:00Z'
         FROM orgs o, users u WHERE o.slug = 'acme' AND u.email = 'admin@acme.test'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let want = "There is no 2026-02-31 on the calendar.";
    // With JavaScript: the server function answers 422 naming the field.
    let r = app
        .call(
            &admin,
            "load_calls",
            &[("org", "acme"), ("params", "from=2026-02-31")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains(want) && body.contains("from"), "{body}");
    // Without: the page itself answers 422, with the filters and the message under "From date".
    let r = app.get(&admin, "/o/acme/calls?from=2026-02-31").await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    let at = page
        .find(r#"id="from-error""#)
        .expect("the message next to the field");
    assert!(page[at..].contains(want), "{page}");
    assert!(
        page.contains(r#"value="2026-02-31""#),
        "the typed date is kept"
    );
    // The export refuses it too, rather than exporting every call.
    let r = app
        .get(&admin, "/o/acme/calls/export.csv?to=2026-02-31")
        .await;
    assert_eq!(r.status(), 422);
}

#[sqlx::test(migrations = "../migrations")]
async fn history_pages_by_keyset_and_filters(pool: PgPool) {
    let (app, _sb, _keep, admin) = setup(pool).await;
    // 120 calls a minute apart; every third completed, every fifth inbound, every seventh recorded.
    sqlx::query(
        "INSERT INTO calls (org_id, user_id, direction, from_e164, to_e164, status, recording_count, created_at)
         SELECT o.id, u.id, CASE WHEN g % 5 = 0 THEN 'inbound' ELSE 'outbound' END,
                '+1415555' || lpad(g::text, 4, '0'), '+12125550100',
                CASE WHEN g % 3 = 0 THEN 'completed' ELSE 'busy' END, (g % 7 = 0)::int,
                timestamptz '2026-11-20 12:00Z' - g * interval '1 minute'
         FROM generate_series(1, 120) g, orgs o, users u WHERE o.slug = 'acme' AND u.email = 'user@acme.test'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let page = |params: String| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let v: serde_json::Value = app
                .load::<CallsPage>(
                    &admin,
                    "load_calls",
                    &[("org", "acme"), ("params", &params)],
                )
                .await;
            v
        }
    };
    let mut seen = Vec::new();
    let mut params = String::new();
    for _ in 0..5 {
        let v = page(params.clone()).await;
        seen.extend(
            v["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_i64().unwrap()),
        );
        match v["next"].as_str() {
            Some(c) => params = format!("before={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 120, "every call once across pages");
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    sorted.dedup();
    assert_eq!(sorted.len(), 120);
    let count = |v: &serde_json::Value| v["rows"].as_array().unwrap().len();
    assert_eq!(count(&page("status=completed".into()).await), 40);
    assert_eq!(count(&page("direction=inbound".into()).await), 24);
    assert_eq!(count(&page("recorded=1".into()).await), 17);
    assert_eq!(count(&page("q=5550012".into()).await), 1);
    // 12:00 minus 1..120 minutes: all on 2026-11-20.
    assert_eq!(count(&page("from=2026-11-21".into()).await), 0);
    assert_eq!(
        count(&page("from=2026-11-20&to=2026-11-20&status=completed".into()).await),
        40
    );
    // The CSV export streams every matching row (no page limit) with a header.
    let csv = app
        .get(&admin, "/o/acme/calls/export.csv")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(csv.lines().count(), 121);
    assert!(csv.starts_with("id,created_at,direction,from,to,status"));
    // As a browser gets it: compressed, and the chunked body ends properly (the compression layer
    // polls the stream once more after its end, which used to panic and cut the answer short).
    for enc in ["gzip", "br"] {
        let raw = app.undecoding_client();
        let login = app
            .call(
                &raw,
                "login",
                &[("email", "admin@acme.test"), ("password", PASSWORD)],
            )
            .await;
        assert!(login.status().is_success());
        let r = raw
            .get(format!("{}/o/acme/calls/export.csv", app.base))
            .header(reqwest::header::ACCEPT_ENCODING, enc)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()
                .get(reqwest::header::CONTENT_ENCODING)
                .and_then(|v| v.to_str().ok()),
            Some(enc)
        );
        let body = r.bytes().await;
        assert!(body.is_ok(), "{enc}: the body ended early: {body:?}");
        assert!(!body.unwrap().is_empty());
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn the_sandbox_plays_inbound_calls_and_sms_through_the_webhooks(pool: PgPool) {
    let (app, sb, _keep, admin) = setup(pool).await;
    let number = own_number(&app, &admin, "+14155550177", true, PHONE).await;
    let id = number.to_string();
    let sim = |kind: &'static str, body: &'static str| {
        let (app, admin, id) = (&app, admin.clone(), id.clone());
        async move {
            app.call(
                &admin,
                "simulate_inbound",
                &[
                    ("org", "acme"),
                    ("id", &id),
                    ("kind", kind),
                    ("from", "+1 212 555 0100"),
                    ("body", body),
                ],
            )
            .await
        }
    };
    assert!(sim("call", "").await.status().as_u16() < 400);
    assert_eq!(sandbox_stat(&sb, "SimulateIncomingCall").await, 1);
    // Forwarded (the number forwards and records), completed, recorded.
    let call: i64 = sqlx::query_scalar("SELECT id FROM calls WHERE direction = 'inbound'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        wait_for(&app, "SELECT (status = 'completed' AND recording_count = 1)::int::int8 FROM calls WHERE id = $1", call, 1).await,
        1
    );
    let (from, bridge, user): (String, String, i64) =
        sqlx::query_as("SELECT from_e164, bridge_e164, user_id FROM calls WHERE id = $1")
            .bind(call)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((from.as_str(), bridge.as_str()), ("+12125550100", PHONE));
    assert_eq!(user, app.user_id("admin@acme.test").await);
    // An SMS lands in its conversation; an empty one is refused before anything is sent.
    assert!(sim("sms", "Are you open today?").await.status().as_u16() < 400);
    assert_eq!(
        app.count("SELECT count(*) FROM messages WHERE direction = 'inbound' AND body = 'Are you open today?' AND other_e164 = '+12125550100'").await,
        1
    );
    assert_eq!(sim("sms", " ").await.status(), 422);
    // Not the owner or an admin: not found (not shared) — and support is read-only.
    let user = app.login_as("user@acme.test").await;
    let r = app
        .call(
            &user,
            "simulate_inbound",
            &[
                ("org", "acme"),
                ("id", &id),
                ("kind", "call"),
                ("from", "+12125550100"),
            ],
        )
        .await;
    assert_eq!(r.status(), 404);
    let support = app.login_as("support@phonehub.test").await;
    let r = app
        .call(
            &support,
            "simulate_inbound",
            &[
                ("org", "acme"),
                ("id", &id),
                ("kind", "call"),
                ("from", "+12125550100"),
            ],
        )
        .await;
    assert_eq!(r.status(), 403);
}

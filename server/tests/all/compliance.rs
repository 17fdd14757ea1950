//! Recording consent and retention: a recorded call announces itself before recording starts
//! (inbound, outbound, voicemail) and still records; turning the announcement off needs an admin
//! and a reason and is audited; a retention policy deletes expired recordings and redacts
//! expired bodies here and at the provider, deletes stated records, and leaves usage totals,
//! statements and other orgs alone.

use crate::common;

use std::time::Duration;

use common::{
    configure_sandbox, create_key, own_number, poll_until_eq, sandbox_stat, start_sandbox, TestApp,
    PHONE,
};
use serde_json::{json, Value};
use sqlx::PgPool;
use telephony::sandbox::DEV_AUTH_TOKEN;

const DEFAULT_EN: &str = "This call may be recorded for quality and training purposes.";

async fn setup(
    pool: PgPool,
) -> (
    TestApp,
    app::ssr::clock::Clock,
    String,
    telephony::sandbox::Shared,
    reqwest::Client,
) {
    let (sb, keep) = start_sandbox().await;
    let mut s = common::settings("http://127.0.0.1:0");
    s.sandbox_url = Some(url::Url::parse(&sb).unwrap());
    let (app, clock) = common::spawn_with_clock(pool, s).await;
    let admin = app.login_as("admin@acme.test").await;
    configure_sandbox(&app, &admin, "acme", &sb, "30").await;
    (app, clock, sb, keep, admin)
}

/// `from` calls the number `id` through the sandbox (which follows PhoneHub's TwiML as Twilio
/// does: plays, dials, records).
async fn call_in(app: &TestApp, c: &reqwest::Client, id: i64, from: &str) {
    let id = id.to_string();
    let r = app
        .call(
            c,
            "simulate_inbound",
            &[
                ("org", "acme"),
                ("id", &id),
                ("kind", "call"),
                ("from", from),
            ],
        )
        .await;
    assert!(r.status().as_u16() < 400, "simulate: {}", r.status());
}

/// The TwiML PhoneHub answers a call from `from` to `to` with (the signed voice webhook).
async fn voice_twiml(app: &TestApp, to: &str, from: &str) -> String {
    let sid = format!("CA{:0>32}", from.trim_start_matches('+'));
    let params = [
        ("CallSid", sid.as_str()),
        ("From", from),
        ("To", to),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
    ];
    let r = common::webhook(app, "/webhooks/twilio/voice", &params, Some(DEV_AUTH_TOKEN)).await;
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

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

/// What the sandbox's call to (or from) `party` heard before it was connected.
fn heard(sb: &telephony::sandbox::Shared, party: &str) -> Vec<String> {
    sb.calls()
        .into_iter()
        .filter(|c| c.from == party || c.to == party)
        .flat_map(|c| c.heard)
        .collect()
}

#[sqlx::test(migrations = "../migrations")]
async fn recorded_calls_announce_consent_before_recording_and_only_an_admin_with_a_reason_turns_it_off(
    pool: PgPool,
) {
    let (app, _clock, _sb, sb, admin) = setup(pool).await;
    let user = app.login_as("user@acme.test").await;
    let number = own_number(&app, &user, "+14155550190", true, PHONE).await;

    // Inbound, forwarded and recorded: the caller hears the announcement, then the <Dial record>.
    let twiml = voice_twiml(&app, "+14155550190", "+12125550100").await;
    let say = twiml.find(r#"<Say language="en-US">This call may be recorded"#);
    let dial = twiml.find(r#"<Dial callerId="+12125550100" record="record-from-answer""#);
    assert!(
        say.is_some() && dial.is_some() && say < dial,
        "announcement first: {twiml}"
    );
    call_in(&app, &admin, number, "+12125550101").await;
    wait(
        &app,
        "SELECT count(*) FROM call_recordings r JOIN calls c ON c.id = r.call_id WHERE c.from_e164 = '+12125550101'",
        1,
    )
    .await;
    assert_eq!(heard(&sb, "+12125550101"), [DEFAULT_EN]);

    // Outbound: the called party hears it on answer (the <Number url>), and the call records.
    let r = app
        .call(
            &user,
            "place_call",
            &[
                ("org", "acme"),
                ("number_id", &number.to_string()),
                ("to", "+14155550191"),
            ],
        )
        .await;
    assert!(r.status().as_u16() < 400, "place: {}", r.status());
    wait(
        &app,
        "SELECT count(*) FROM call_recordings r JOIN calls c ON c.id = r.call_id WHERE c.to_e164 = '+14155550191'",
        1,
    )
    .await;
    let sid: String =
        sqlx::query_scalar("SELECT provider_sid FROM calls WHERE to_e164 = '+14155550191'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let outbound: Vec<String> = sb
        .calls()
        .into_iter()
        .filter(|c| c.sid == sid)
        .flat_map(|c| c.heard)
        .collect();
    assert_eq!(outbound, [DEFAULT_EN]);

    // Members and support staff cannot change it; an admin cannot turn it off without a reason.
    let off = |reason: &'static str| {
        vec![
            ("org", "acme"),
            ("message", ""),
            ("language", "en-US"),
            ("off_reason", reason),
        ]
    };
    let support = app.login_as("support@phonehub.test").await;
    for (who, c) in [("member", &user), ("support", &support)] {
        let r = app
            .call(c, "save_recording_consent", &off("we tell them"))
            .await;
        assert_eq!(r.status(), 403, "{who}");
    }
    let r = app.call(&admin, "save_recording_consent", &off("")).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("off_reason"));
    let mut bad_language = off("x");
    bad_language[2] = ("language", "xx-XX\"><script>");
    let r = app
        .call(&admin, "save_recording_consent", &bad_language)
        .await;
    assert_eq!(r.status(), 422);
    assert_eq!(app.count("SELECT count(*) FROM recording_consent").await, 0);

    // With a reason it is off (audited), and a recorded call no longer announces but still records.
    let r = app
        .call(
            &admin,
            "save_recording_consent",
            &off("Our IVR tells every caller"),
        )
        .await;
    assert!(r.status().as_u16() < 400, "{}", r.status());
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'recording_consent.turned_off' AND details->>'off_reason' = 'Our IVR tells every caller'")
            .await,
        1
    );
    let twiml = voice_twiml(&app, "+14155550190", "+12125550199").await;
    assert!(!twiml.contains("<Say"), "{twiml}");
    assert!(twiml.contains("record-from-answer"), "{twiml}");
    call_in(&app, &admin, number, "+12125550102").await;
    wait(
        &app,
        "SELECT count(*) FROM call_recordings r JOIN calls c ON c.id = r.call_id WHERE c.from_e164 = '+12125550102'",
        1,
    )
    .await;

    // Back on through /v1, in French, with the org's own words (escaped in the TwiML).
    let key = create_key(&app, &admin, "admin@acme.test", &["scope_calls"]).await;
    let api = reqwest::Client::new();
    let put = |body: Value| {
        api.put(format!("{}/v1/recording-consent", app.base))
            .bearer_auth(&key)
            .json(&body)
            .send()
    };
    let r = put(
        json!({"announce": true, "language": "fr-FR", "message": "Appel <enregistré> & suivi"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["spoken"], "Appel <enregistré> & suivi");
    let r = put(json!({"announce": false, "language": "fr-FR"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 422, "off needs a reason through /v1 too");
    let twiml = voice_twiml(&app, "+14155550190", "+12125550103").await;
    assert!(
        twiml.contains(r#"<Say language="fr-FR">Appel &lt;enregistré&gt; &amp; suivi</Say><Dial"#),
        "{twiml}"
    );

    // An unrecorded forward announces nothing; voicemail (which records) does.
    own_number(&app, &user, "+14155550192", false, PHONE).await;
    let twiml = voice_twiml(&app, "+14155550192", "+12125550104").await;
    assert!(
        !twiml.contains("<Say") && !twiml.contains("record="),
        "{twiml}"
    );
    sqlx::query("UPDATE owned_numbers SET forward_to = NULL WHERE e164 = '+14155550192'")
        .execute(&app.pool)
        .await
        .unwrap();
    let twiml = voice_twiml(&app, "+14155550192", "+12125550108").await;
    let say = twiml.find(r#"<Say language="fr-FR">Appel"#);
    assert!(
        say.is_some() && say < twiml.find("<Record"),
        "voicemail: {twiml}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn uploaded_announcements_are_checked_served_to_the_provider_and_played(pool: PgPool) {
    let (app, _clock, _sb, sb, admin) = setup(pool).await;
    let user = app.login_as("user@acme.test").await;
    let number = own_number(&app, &user, "+14155550193", true, PHONE).await;
    let upload = |c: &reqwest::Client, name: &'static str, bytes: Vec<u8>| {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name),
        );
        c.post(format!("{}/o/acme/admin/compliance/audio", app.base))
            .multipart(form)
            .send()
    };
    // Not audio (an HTML file named .wav) and members: refused, nothing stored.
    let r = upload(
        &admin,
        "evil.wav",
        b"<html><script>alert(1)</script>".to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("not a WAV or MP3"));
    let mut wav = b"RIFF\x24\x10\0\0WAVEfmt ".to_vec();
    wav.resize(4096, 0);
    let r = upload(&user, "a.wav", wav.clone()).await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(app.count("SELECT count(*) FROM consent_audio").await, 0);

    let r = upload(&admin, "../../greeting.wav", wav.clone())
        .await
        .unwrap();
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
    let name: String = sqlx::query_scalar("SELECT file_name FROM consent_audio")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(name, "greeting.wav");

    // A call plays it, fetched from PhoneHub by its token (anonymously, as the provider does).
    let twiml = voice_twiml(&app, "+14155550193", "+12125550109").await;
    let start = twiml.find("<Play>").expect("plays the upload") + "<Play>".len();
    let url = &twiml[start..start + twiml[start..].find("</Play>").unwrap()];
    assert!(
        url.starts_with(&format!("{}/media/consent/", app.base)),
        "{url}"
    );
    let r = reqwest::get(url).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "audio/wav");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.bytes().await.unwrap().to_vec(), wav);
    call_in(&app, &admin, number, "+12125550105").await;
    let played = poll_until_eq(Duration::from_secs(20), true, || async {
        !heard(&sb, "+12125550105").is_empty()
    })
    .await;
    assert!(played, "the sandbox played the announcement");
    let heard = heard(&sb, "+12125550105");
    assert!(
        heard.iter().any(|h| h == &format!("play:{url}")),
        "{heard:?}"
    );
    // A wrong or malformed token is a plain 404.
    for bad in ["0".repeat(64), "../../etc/passwd".into(), "A".repeat(64)] {
        let r = reqwest::get(format!("{}/media/consent/{bad}", app.base))
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{bad}");
    }
    // Removed: calls speak the text again, and the old address is gone.
    let r = app
        .call(&admin, "remove_consent_audio", &[("org", "acme")])
        .await;
    assert!(r.status().as_u16() < 400);
    assert_eq!(reqwest::get(url).await.unwrap().status(), 404);
    let twiml = voice_twiml(&app, "+14155550193", "+12125550106").await;
    assert!(twiml.contains(DEFAULT_EN), "{twiml}");
}

async fn sum(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// Acme's usage up to the end of this (real) month: the test's clock later moves into the next,
/// which charges the numbers again.
const ACME_USAGE: &str = "SELECT coalesce(sum(d.micros), 0)::int8 FROM usage_daily d JOIN orgs o ON o.id = d.org_id WHERE o.slug = 'acme' AND d.day < (date_trunc('month', now()) + interval '1 month')::date";

#[sqlx::test(migrations = "../migrations")]
async fn retention_deletes_what_expired_here_and_at_the_provider_and_keeps_every_sum(pool: PgPool) {
    let (app, clock, sb_url, sb, admin) = setup(pool).await;
    let r = app
        .call(
            &admin,
            "set_org_time_zone",
            &[("org", "acme"), ("time_zone", "UTC")],
        )
        .await;
    assert!(r.status().as_u16() < 400);
    let user = app.login_as("user@acme.test").await;
    let number = own_number(&app, &user, "+14155550194", true, PHONE).await;
    call_in(&app, &admin, number, "+12125550107").await;
    wait(&app, "SELECT count(*) FROM call_recordings", 1).await;
    let r = app
        .call(
            &user,
            "send_sms",
            &[
                ("org", "acme"),
                ("from", "+14155550194"),
                ("to", "+14155550195"),
                ("body", "Your appointment is at 3pm"),
            ],
        )
        .await;
    assert!(r.status().as_u16() < 400, "send: {}", r.status());
    wait(
        &app,
        "SELECT count(*) FROM messages WHERE status IN ('sent', 'delivered') AND provider_sid IS NOT NULL",
        1,
    )
    .await;
    // Another org's message about the same person is not acme's to purge.
    sqlx::query(
        "INSERT INTO messages (org_id, direction, our_e164, other_e164, body, segments, encoding, status, created_at)
         SELECT id, 'outbound', '+15550000001', '+14155550195', 'globex keeps this', 1, 'gsm7', 'sent', now() - interval '400 days'
         FROM orgs WHERE slug = 'globex'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    // A text held for an admin's review (a paused destination) keeps its body and its row.
    sqlx::query(
        "INSERT INTO messages (org_id, direction, our_e164, other_e164, body, segments, encoding, status)
         SELECT id, 'outbound', '+14155550194', '+14155550196', 'held for review', 1, 'gsm7', 'held'
         FROM orgs WHERE slug = 'acme'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let usage = sum(&app, ACME_USAGE).await;
    assert!(usage > 0);

    // Bad periods are refused next to the field, nothing saved.
    let key = create_key(
        &app,
        &admin,
        "admin@acme.test",
        &["scope_calls", "scope_messages", "scope_lookups"],
    )
    .await;
    let api = reqwest::Client::new();
    let put = |body: Value| {
        api.put(format!("{}/v1/retention", app.base))
            .bearer_auth(&key)
            .json(&body)
            .send()
    };
    let r = put(json!({"recordings_days": 0, "bodies_days": null, "records_days": null, "lookups_days": null}))
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let r = app
        .call(
            &admin,
            "save_retention",
            &[
                ("org", "acme"),
                ("recordings_days", "30"),
                ("bodies_days", "ten"),
                ("records_days", ""),
                ("lookups_days", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("bodies_days"));
    let member_key = create_key(
        &app,
        &admin,
        "user@acme.test",
        &["scope_calls", "scope_messages", "scope_lookups"],
    )
    .await;
    let r = api
        .put(format!("{}/v1/retention", app.base))
        .bearer_auth(&member_key)
        .json(
            &json!({"recordings_days": 1, "bodies_days": 1, "records_days": 1, "lookups_days": 1}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "a member's key cannot set retention");
    assert_eq!(
        app.count("SELECT count(*) FROM retention_policies").await,
        0
    );

    let r = put(
        json!({"recordings_days": 30, "bodies_days": 30, "records_days": null, "lookups_days": 30}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);

    // Two nights later nothing has expired yet: the run (its next one moved a night on) deletes
    // nothing.
    clock.advance(time::Duration::days(2));
    wait(
        &app,
        "SELECT count(*) FROM retention_policies WHERE next_run_at > now() + interval '49 hours'",
        1,
    )
    .await;
    assert_eq!(app.count("SELECT count(*) FROM retention_runs").await, 0);
    let rsid: String = sqlx::query_scalar("SELECT provider_sid FROM call_recordings")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(sandbox_stat(&sb_url, "DeleteRecording").await, 0);

    // A month on: the recording is gone here and at the sandbox, the body redacted in both.
    clock.advance(time::Duration::days(31));
    wait(&app, "SELECT count(*) FROM retention_runs", 1).await;
    assert_eq!(app.count("SELECT count(*) FROM call_recordings").await, 0);
    assert_eq!(sandbox_stat(&sb_url, "DeleteRecording").await, 1);
    assert!(sb.recordings().iter().all(|r| r.sid != rsid));
    let (body, msid): (String, String) = sqlx::query_as(
        "SELECT m.body, m.provider_sid FROM messages m JOIN orgs o ON o.id = m.org_id
         WHERE o.slug = 'acme' AND m.redacted_at IS NOT NULL",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(body, "");
    assert_eq!(sandbox_stat(&sb_url, "RedactMessage").await, 1);
    let at_sandbox = sb.messages().into_iter().find(|m| m.sid == msid).unwrap();
    assert_eq!(at_sandbox.body, "");
    let run: (i32, i32, i32, i32, i32) = sqlx::query_as(
        "SELECT recordings_deleted, provider_deleted, bodies_redacted, provider_redacted, failures FROM retention_runs",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(run, (1, 1, 1, 1, 0));
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'retention.run' AND (details->>'recordings_deleted')::int = 1")
            .await,
        1
    );
    assert_eq!(
        sum(&app, ACME_USAGE).await,
        usage,
        "usage totals keep their sums"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM messages WHERE body = 'globex keeps this'")
            .await,
        1
    );

    // Records: once December's statement has stated them, they go; the statement and the usage
    // totals keep every sum.
    let r = put(
        json!({"recordings_days": 30, "bodies_days": 30, "records_days": 30, "lookups_days": 30}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    wait(
        &app,
        "SELECT count(*) FROM statements s JOIN orgs o ON o.id = s.org_id WHERE o.slug = 'acme' AND s.user_id IS NULL AND s.month = date_trunc('month', now())::date",
        1,
    )
    .await;
    let stated = sum(&app, "SELECT coalesce(sum(l.micros), 0)::int8 FROM statement_lines l JOIN statements s ON s.id = l.statement_id JOIN orgs o ON o.id = s.org_id WHERE o.slug = 'acme' AND s.user_id IS NULL").await;
    // The next run is at 03:00 the night after the last one: up to 27 hours on, whatever the
    // hour the test started at, so two days always pass it.
    clock.advance(time::Duration::days(2));
    wait(
        &app,
        "SELECT count(*) FROM calls WHERE from_e164 = '+12125550107'",
        0,
    )
    .await;
    wait(
        &app,
        "SELECT count(*) FROM messages m JOIN orgs o ON o.id = m.org_id WHERE o.slug = 'acme' AND m.status <> 'held'",
        0,
    )
    .await;
    assert_eq!(
        app.count("SELECT count(*) FROM messages WHERE status = 'held' AND body = 'held for review' AND redacted_at IS NULL")
            .await,
        1,
        "a held text is not the retention run's"
    );
    assert_eq!(sum(&app, ACME_USAGE).await, usage);
    assert_eq!(
        sum(&app, "SELECT coalesce(sum(l.micros), 0)::int8 FROM statement_lines l JOIN statements s ON s.id = l.statement_id JOIN orgs o ON o.id = s.org_id WHERE o.slug = 'acme' AND s.user_id IS NULL").await,
        stated
    );
    assert_eq!(
        app.count("SELECT count(*) FROM messages WHERE body = 'globex keeps this'")
            .await,
        1,
        "another org's data is untouched"
    );
    // The runs, as /v1 and the page list them.
    let runs: Value = api
        .get(format!("{}/v1/retention/runs", app.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(runs.as_array().unwrap().len() >= 2, "{runs}");
    assert!(runs
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["calls_deleted"] == 1));
}

//! The money worker: in every server process, every second, it fires the budget thresholds the
//! spending has crossed (each once per period, whichever server sees it first) into in-app
//! notifications, e-mail and the org's webhooks, and sends due mail; the webhook worker, a task
//! of its own, tries due deliveries a few at a time. (Statements have their own worker:
//! `statements::spawn_statements_worker`.)
//!
//! A webhook delivery is a JSON POST signed like Stripe's: `PhoneHub-Signature: t=<unix
//! seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the endpoint's secret>`, with the event's
//! id in `PhoneHub-Event-Id`. Receivers reject a `t` more than five minutes away and ids they
//! have seen. A delivery that is not answered 2xx is tried again after 30 s, 2 min, 10 min, 1 h
//! and then every 3 h, for a day.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use time::OffsetDateTime;

use super::db;
use super::db::alerts::{Delivery, Fired};
use super::shutdown::StopSignal;
use super::AppState;
use crate::model::money::Money;

/// How long deliveries are retried after the event.
const RETRY_FOR: time::Duration = time::Duration::hours(24);

/// The most of a receiver's answer read (and the first KiB of it kept in the delivery log).
const ANSWER_CAP: u64 = 64 * 1024;

/// Deliveries and mails handled per round.
const BATCH: i64 = 20;

/// The wait before the try after `attempts` tries.
pub fn backoff(attempts: i32) -> time::Duration {
    match attempts {
        ..=1 => time::Duration::seconds(30),
        2 => time::Duration::minutes(2),
        3 => time::Duration::minutes(10),
        4 => time::Duration::hours(1),
        _ => time::Duration::hours(3),
    }
}

/// `t=<unix>,v1=<hex HMAC-SHA256(secret, "<unix>.<body>")>`.
pub fn signature(secret: &str, unix: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(unix.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={unix},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Fires, mails and delivers every second until the server stops.
pub fn spawn_money_worker(state: AppState, mut stop: StopSignal) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            stop.pause(Duration::from_secs(1)).await;
            if stop.stopping() {
                return;
            }
            if let Err(e) = fire_alerts(&state).await {
                tracing::warn!(error = %e, "firing budget alerts failed");
            }
            if let Some(mailer) = &state.mailer {
                if let Err(e) = send_mail(&state, mailer).await {
                    tracing::warn!(error = %e, "sending mail failed");
                }
            }
        }
    })
}

/// Delivers webhooks every second until the server stops: a task of its own, so slow receivers
/// never delay alerts or mail.
pub fn spawn_webhook_worker(state: AppState, mut stop: StopSignal) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let Ok(client) = telephony::http::client(Duration::from_secs(10), state.dev_mode) else {
            tracing::error!("no HTTP client for webhook deliveries");
            return;
        };
        loop {
            stop.pause(Duration::from_secs(1)).await;
            if stop.stopping() {
                return;
            }
            if let Err(e) = deliver(&state, &client).await {
                tracing::warn!(error = %e, "webhook deliveries failed");
            }
        }
    })
}

/// Fires the crossed thresholds and fans each out, in one transaction.
pub async fn fire_alerts(state: &AppState) -> Result<usize, sqlx::Error> {
    let now = state.clock.now();
    let mut tx = state.pool.begin().await?;
    let fired = db::alerts::fire(&mut tx, now).await?;
    for f in &fired {
        // Each alert fans out on its own savepoint: one that cannot be written (it is logged)
        // never holds back another org's.
        let mut one = sqlx::Connection::begin(&mut *tx).await?;
        match fan_out(&mut one, state, f, now).await {
            Ok(()) => one.commit().await?,
            Err(e) => {
                tracing::error!(budget = f.budget_id, error = %e, "a budget alert could not be fanned out");
                one.rollback().await?;
            }
        }
    }
    tx.commit().await?;
    Ok(fired.len())
}

/// `s` cut to at most `max` characters (an ellipsis marks the cut).
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// Text from a receiver, as the delivery log keeps it: printable characters only (no NUL,
/// which Postgres refuses, nor other control characters), at most `max`.
fn printable(s: &str, max: usize) -> String {
    s.chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .take(max)
        .collect()
}

/// What a person reads about a fired threshold: the title and the body.
fn words(f: &Fired, public_url: &url::Url) -> (String, String) {
    let whose = match &f.member_email {
        Some(e) => format!("{e}'s"),
        None => "the org's".into(),
    };
    let (every, this) = if f.period == "day" {
        ("daily", "today")
    } else {
        ("monthly", "this month")
    };
    let what = match f.category.as_deref() {
        Some("sms") => "SMS ",
        Some("calls") => "calls ",
        Some("lookups") => "paid-lookup ",
        Some("numbers") => "number-rental ",
        _ => "",
    };
    let title = clip(
        &format!(
            "{}: {whose} {every} {what}budget is {}% spent",
            f.org_name, f.pct
        ),
        200,
    );
    let stops = if f.hard_cap {
        "It is a hard cap: paid actions it covers stop when it is reached."
    } else {
        "It only alerts: nothing is stopped."
    };
    let body = format!(
        "{} of {} spent {this}. {stops}\n\nBudgets: {}o/{}/admin/budgets",
        Money::from_micros(f.spent_micros),
        Money::from_micros(f.amount_micros),
        public_url,
        f.org_slug
    );
    (title, body)
}

async fn fan_out(
    tx: &mut sqlx::PgConnection,
    state: &AppState,
    f: &Fired,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    let (title, body) = words(f, &state.public_url);
    let link = format!("/o/{}/admin/budgets", f.org_slug);
    let to = db::alerts::recipients(&mut *tx, f.org_id, f.member_id).await?;
    let ids: Vec<i64> = to.iter().map(|r| r.user_id).collect();
    let note = db::alerts::NewNotification {
        org_id: f.org_id,
        title: &title,
        body: &body,
        link: &link,
        at: now,
    };
    db::alerts::notify(&mut *tx, &ids, &note).await?;
    if state.mailer.is_some() {
        for r in &to {
            let key = format!(
                "budget:{}:{}:{}:{}",
                f.budget_id, f.period_start, f.pct, r.user_id
            );
            let mail = db::alerts::NewMail {
                org_id: Some(f.org_id),
                to: &r.email,
                subject: &title,
                body: &body,
                dedupe_key: &key,
                at: now,
            };
            db::alerts::enqueue_mail(&mut *tx, &mail).await?;
        }
    }
    let event_id = format!("evt_budget_{}_{}_{}", f.budget_id, f.period_start, f.pct);
    let payload = serde_json::json!({
        "id": event_id,
        "type": "budget.threshold",
        "created": super::format::rfc3339(now),
        "org": f.org_slug,
        "data": {
            "budget_id": f.budget_id,
            "member": f.member_email,
            "category": f.category,
            "period": f.period,
            "period_start": f.period_start.to_string(),
            "threshold_percent": f.pct,
            "amount_micros": f.amount_micros,
            "spent_micros": f.spent_micros,
            "hard_cap": f.hard_cap,
        }
    });
    db::alerts::enqueue_deliveries(
        &mut *tx,
        f.org_id,
        (&event_id, "budget.threshold"),
        &payload,
        now,
    )
    .await
}

/// Sends the mails due now; a failure waits longer each time (at most ten tries).
async fn send_mail(state: &AppState, mailer: &super::mailer::Mailer) -> Result<(), sqlx::Error> {
    let now = state.clock.now();
    for m in db::alerts::claim_mail(&state.pool, now, BATCH).await? {
        match mailer.send(&m.to_email, &m.subject, &m.body).await {
            Ok(()) => db::alerts::mail_sent(&state.pool, m.id, state.clock.now()).await?,
            Err(e) => {
                tracing::warn!(mail = m.id, error = %e, "a mail was not sent");
                let next = state.clock.now() + backoff(m.attempts);
                db::alerts::mail_failed(&state.pool, m.id, &e, next).await?;
            }
        }
    }
    Ok(())
}

/// Tries the webhook deliveries due now, a few at a time; one whose try cannot be recorded is
/// logged and left to its claim's expiry, never holding back the others.
async fn deliver(state: &AppState, client: &reqwest::Client) -> Result<(), sqlx::Error> {
    use futures::StreamExt;
    let now = state.clock.now();
    let due = db::alerts::claim_deliveries(&state.pool, now, BATCH).await?;
    futures::stream::iter(due)
        .for_each_concurrent(DELIVERING, |d| async move {
            if let Err(e) = deliver_one(state, client, &d).await {
                tracing::warn!(delivery = d.id, error = %e, "a webhook try was not recorded");
            }
        })
        .await;
    Ok(())
}

/// Deliveries tried at once by one server.
const DELIVERING: usize = 8;

async fn deliver_one(
    state: &AppState,
    client: &reqwest::Client,
    d: &Delivery,
) -> Result<(), sqlx::Error> {
    let (status, error, excerpt) = try_once(state, client, d).await;
    let error = error.map(|e| printable(&e, 500));
    let at = state.clock.now();
    let delivered = status.is_some_and(|s| (200..300).contains(&s));
    let next = at + backoff(d.attempts);
    let retry_at = (!delivered && next < d.created_at + RETRY_FOR).then_some(next);
    let mut tx = state.pool.begin().await?;
    let attempt = db::alerts::Attempt {
        delivery_id: d.id,
        n: d.attempts,
        at,
        status,
        error: error.as_deref(),
        excerpt: &excerpt,
        delivered,
        retry_at,
    };
    db::alerts::record_attempt(&mut tx, &attempt).await?;
    tx.commit().await
}

/// One POST of a delivery: the receiver's status (or why there was none) and the start of its
/// answer.
async fn try_once(
    state: &AppState,
    client: &reqwest::Client,
    d: &Delivery,
) -> (Option<i32>, Option<String>, String) {
    let sealed = super::crypto::Sealed {
        key_id: d.secret_key_id.clone(),
        nonce: d.secret_nonce.clone(),
        ciphertext: d.secret_ciphertext.clone(),
    };
    let secret = match state.keyring.decrypt(&sealed) {
        Ok(s) => s,
        Err(e) => {
            return (
                None,
                Some(format!("the signing secret: {e}")),
                String::new(),
            )
        }
    };
    if let Err(e) = telephony::http::check_literal_host(&d.url, state.dev_mode) {
        return (None, Some(e.to_string()), String::new());
    }
    let body = d.payload.to_string().into_bytes();
    let sig = signature(&secret, state.clock.now().unix_timestamp(), &body);
    let sent = client
        .post(&d.url)
        .timeout(Duration::from_secs(10))
        .header("content-type", "application/json")
        .header("phonehub-signature", sig)
        .header("phonehub-event-id", &d.event_id)
        .header("phonehub-event", &d.event)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(res) => {
            let status = i32::from(res.status().as_u16());
            let excerpt = match telephony::http::read_capped(res, ANSWER_CAP).await {
                Ok(bytes) => printable(&String::from_utf8_lossy(&bytes), 1024),
                Err(e) => format!("({e})"),
            };
            (Some(status), None, excerpt)
        }
        Err(e) => (
            None,
            Some(telephony::http::request_error(e).to_string()),
            String::new(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmac_sha256_of_the_time_and_the_body() {
        // Checked against Python: hmac.new(b"whsec_test", b"1700000000.{}", sha256).hexdigest()
        let s = signature("whsec_test", 1_700_000_000, b"{}");
        assert_eq!(
            s,
            "t=1700000000,v1=35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91"
        );
        assert_ne!(s, signature("whsec_other", 1_700_000_000, b"{}"));
        assert_ne!(s, signature("whsec_test", 1_700_000_001, b"{}"));
    }

    #[test]
    fn retries_wait_longer_each_time() {
        let waits: Vec<i64> = (1..=6).map(|n| backoff(n).whole_seconds()).collect();
        assert_eq!(waits, [30, 120, 600, 3600, 10800, 10800]);
    }
}

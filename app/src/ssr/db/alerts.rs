//! Alerts: budget thresholds fired once per period, and what they fan out to (notifications,
//! the mail outbox, webhook deliveries); the outbox and deliveries claimed by the money worker.

use sqlx::PgExecutor;
use time::OffsetDateTime;

/// A threshold crossed and fired now (the highest one per budget when several fired at once).
#[derive(Debug, Clone)]
pub struct Fired {
    pub budget_id: i64,
    pub period_start: time::Date,
    pub pct: i16,
    pub org_id: i64,
    pub org_slug: String,
    pub org_name: String,
    pub member_id: Option<i64>,
    pub member_email: Option<String>,
    pub category: Option<String>,
    pub period: String,
    pub hard_cap: bool,
    /// The budget's amount in this period (with overrides).
    pub amount_micros: i64,
    pub spent_micros: i64,
}

/// Fires every threshold the current periods' spending has crossed and that has not fired in
/// its period yet (at most once across servers: the insert decides).
pub async fn fire(
    tx: &mut sqlx::PgConnection,
    now: OffsetDateTime,
) -> Result<Vec<Fired>, sqlx::Error> {
    sqlx::query_as!(
        Fired,
        r#"WITH due AS (
               SELECT b.id AS budget_id, u.period_start, t.pct, b.org_id, b.user_id, b.category,
                      b.period, b.hard_cap, b.amount_micros + u.extra_micros AS amount,
                      u.spent_micros
               FROM budgets b
               JOIN orgs o ON o.id = b.org_id
               JOIN budget_usage u
                 ON u.budget_id = b.id AND u.period_start = budget_period(b.period, $1, o.time_zone)
               CROSS JOIN LATERAL unnest(b.thresholds) AS t(pct)
               WHERE b.amount_micros + u.extra_micros > 0
                 AND u.spent_micros * 100 >= t.pct::bigint * (b.amount_micros + u.extra_micros)),
           fired AS (
               INSERT INTO budget_alerts (budget_id, period_start, pct, fired_at)
               SELECT budget_id, period_start, pct, $1 FROM due
               ON CONFLICT DO NOTHING
               RETURNING budget_id, period_start, pct)
           SELECT DISTINCT ON (f.budget_id)
                  f.budget_id AS "budget_id!", f.period_start AS "period_start!", f.pct AS "pct!",
                  d.org_id AS "org_id!", o.slug AS "org_slug!", o.name AS "org_name!",
                  d.user_id AS "member_id?", u.email AS "member_email?",
                  d.category AS "category?", d.period AS "period!", d.hard_cap AS "hard_cap!",
                  d.amount AS "amount_micros!", d.spent_micros AS "spent_micros!"
           FROM fired f
           JOIN due d ON d.budget_id = f.budget_id AND d.period_start = f.period_start AND d.pct = f.pct
           JOIN orgs o ON o.id = d.org_id
           LEFT JOIN users u ON u.id = d.user_id
           ORDER BY f.budget_id, f.pct DESC"#,
        now
    )
    .fetch_all(&mut *tx)
    .await
}

/// Who hears of a budget's alert: the org's owners and admins, and the member it is for.
pub struct Recipient {
    pub user_id: i64,
    pub email: String,
}

pub async fn recipients(
    db: impl PgExecutor<'_>,
    org_id: i64,
    member_id: Option<i64>,
) -> Result<Vec<Recipient>, sqlx::Error> {
    sqlx::query_as!(
        Recipient,
        r#"SELECT u.id AS user_id, u.email
           FROM memberships m JOIN users u ON u.id = m.user_id
           WHERE m.org_id = $1 AND (m.role IN ('owner', 'admin') OR m.user_id = $2)
           ORDER BY u.id"#,
        org_id,
        member_id
    )
    .fetch_all(db)
    .await
}

/// One notification, to each of `user_ids`.
pub struct NewNotification<'a> {
    pub org_id: i64,
    pub title: &'a str,
    pub body: &'a str,
    pub link: &'a str,
    pub at: OffsetDateTime,
}

pub async fn notify(
    db: impl PgExecutor<'_>,
    user_ids: &[i64],
    n: &NewNotification<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO notifications (org_id, user_id, title, body, link, created_at)
           SELECT $1, u, $3, $4, $5, $6 FROM unnest($2::int8[]) u"#,
        n.org_id,
        user_ids,
        n.title,
        n.body,
        n.link,
        n.at
    )
    .execute(db)
    .await?;
    Ok(())
}

/// An e-mail to send (once per `dedupe_key`).
pub struct NewMail<'a> {
    pub org_id: Option<i64>,
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub dedupe_key: &'a str,
    pub at: OffsetDateTime,
}

pub async fn enqueue_mail(db: impl PgExecutor<'_>, m: &NewMail<'_>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO mail_outbox (org_id, to_email, subject, body, dedupe_key, created_at,
                                    next_attempt_at)
           VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (dedupe_key) DO NOTHING"#,
        m.org_id,
        m.to,
        m.subject,
        m.body,
        m.dedupe_key,
        m.at
    )
    .execute(db)
    .await?;
    Ok(())
}

/// A delivery of `event` to each of the org's active webhooks (once per endpoint and event id).
pub async fn enqueue_deliveries(
    db: impl PgExecutor<'_>,
    org_id: i64,
    (event_id, event): (&str, &str),
    payload: &serde_json::Value,
    at: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO webhook_deliveries (webhook_id, event_id, event, payload, created_at,
                                           next_attempt_at)
           SELECT id, $2, $3, $4, $5, $5 FROM org_webhooks WHERE org_id = $1 AND active
           ON CONFLICT (webhook_id, event_id) DO NOTHING"#,
        org_id,
        event_id,
        event,
        payload,
        at
    )
    .execute(db)
    .await?;
    Ok(())
}

/// A mail claimed for sending.
pub struct Mail {
    pub id: i64,
    pub to_email: String,
    pub subject: String,
    pub body: String,
    pub attempts: i32,
}

/// Claims up to `limit` mails due at `now` (pushing their next attempt a minute on, so another
/// server does not send them meanwhile); a mail is tried at most ten times.
pub async fn claim_mail(
    db: impl PgExecutor<'_>,
    now: OffsetDateTime,
    limit: i64,
) -> Result<Vec<Mail>, sqlx::Error> {
    sqlx::query_as!(
        Mail,
        r#"UPDATE mail_outbox SET next_attempt_at = $1 + interval '1 minute', attempts = attempts + 1
           WHERE id IN (SELECT id FROM mail_outbox
                        WHERE sent_at IS NULL AND next_attempt_at <= $1 AND attempts < 10
                        ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)
           RETURNING id, to_email, subject, body, attempts"#,
        now,
        limit
    )
    .fetch_all(db)
    .await
}

pub async fn mail_sent(
    db: impl PgExecutor<'_>,
    id: i64,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE mail_outbox SET sent_at = $2, last_error = NULL WHERE id = $1",
        id,
        now
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn mail_failed(
    db: impl PgExecutor<'_>,
    id: i64,
    error: &str,
    next_at: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE mail_outbox SET last_error = left($2, 500), next_attempt_at = $3 WHERE id = $1",
        id,
        error,
        next_at
    )
    .execute(db)
    .await?;
    Ok(())
}

/// A delivery claimed for its next try, with its endpoint and sealed secret.
pub struct Delivery {
    pub id: i64,
    pub event_id: String,
    pub event: String,
    pub payload: serde_json::Value,
    pub attempts: i32,
    pub created_at: OffsetDateTime,
    pub url: String,
    pub secret_key_id: String,
    pub secret_nonce: Vec<u8>,
    pub secret_ciphertext: Vec<u8>,
}

/// Claims up to `limit` deliveries due at `now` (their next attempt pushed five minutes on
/// meanwhile, as a claim, longer than a batch can take); none older than a day and an hour.
pub async fn claim_deliveries(
    db: impl PgExecutor<'_>,
    now: OffsetDateTime,
    limit: i64,
) -> Result<Vec<Delivery>, sqlx::Error> {
    sqlx::query_as!(
        Delivery,
        r#"WITH claimed AS (
               UPDATE webhook_deliveries SET next_attempt_at = $1 + interval '5 minutes',
                      attempts = attempts + 1
               WHERE id IN (SELECT d.id FROM webhook_deliveries d
                            JOIN org_webhooks w ON w.id = d.webhook_id AND w.active
                            WHERE d.state = 'pending' AND d.next_attempt_at <= $1
                              AND d.created_at > $1 - interval '25 hours'
                            ORDER BY d.id LIMIT $2 FOR UPDATE OF d SKIP LOCKED)
               RETURNING id, webhook_id, event_id, event, payload, attempts, created_at)
           SELECT c.id AS "id!", c.event_id AS "event_id!", c.event AS "event!",
                  c.payload AS "payload!", c.attempts AS "attempts!", c.created_at AS "created_at!",
                  w.url, w.secret_key_id, w.secret_nonce, w.secret_ciphertext
           FROM claimed c JOIN org_webhooks w ON w.id = c.webhook_id"#,
        now,
        limit
    )
    .fetch_all(db)
    .await
}

/// One try's answer (status, or the error), and what follows: delivered, tried again at
/// `retry_at`, or failed for good (`retry_at` None).
pub struct Attempt<'a> {
    pub delivery_id: i64,
    pub n: i32,
    pub at: OffsetDateTime,
    pub status: Option<i32>,
    pub error: Option<&'a str>,
    pub excerpt: &'a str,
    pub delivered: bool,
    pub retry_at: Option<OffsetDateTime>,
}

pub async fn record_attempt(
    tx: &mut sqlx::PgConnection,
    a: &Attempt<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO webhook_attempts (delivery_id, n, at, status, error, body_excerpt)
           VALUES ($1, $2, $3, $4, left($5, 500), left($6, 1024))
           ON CONFLICT (delivery_id, n) DO NOTHING"#,
        a.delivery_id,
        a.n,
        a.at,
        a.status,
        a.error,
        a.excerpt
    )
    .execute(&mut *tx)
    .await?;
    let state = match (a.delivered, a.retry_at) {
        (true, _) => "delivered",
        (false, Some(_)) => "pending",
        (false, None) => "failed",
    };
    sqlx::query!(
        r#"UPDATE webhook_deliveries SET state = $2, last_status = $3,
                  delivered_at = CASE WHEN $2 = 'delivered' THEN $4 ELSE delivered_at END,
                  next_attempt_at = coalesce($5, next_attempt_at)
           WHERE id = $1"#,
        a.delivery_id,
        state,
        a.status,
        a.at,
        a.retry_at
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

//! Owned numbers: purchases, settings, releases and the monthly charges.

use sqlx::{PgExecutor, Postgres, Transaction};
use time::OffsetDateTime;

use crate::model::money::Money;
use crate::model::numbers::NumberStatus;

/// Charges every held number (active or releasing) its monthly price once for the month `now`
/// falls in, in its org's time zone.
pub async fn accrue_charges(
    db: impl PgExecutor<'_>,
    now: OffsetDateTime,
) -> Result<u64, sqlx::Error> {
    let r = sqlx::query!(
        r#"INSERT INTO number_charges (number_id, month, org_id, user_id, micros, charged_at)
           SELECT n.id, date_trunc('month', $1::timestamptz AT TIME ZONE o.time_zone)::date, n.org_id,
                  n.user_id, n.monthly_price_micros, $1
           FROM owned_numbers n JOIN orgs o ON o.id = n.org_id
           WHERE n.status IN ('active', 'releasing')
           ON CONFLICT (number_id, month) DO NOTHING"#,
        now
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected())
}

/// A purchase made earlier with the same form key.
pub struct EarlierPurchase {
    pub id: i64,
    pub status: NumberStatus,
    pub last_error: Option<String>,
}

pub async fn purchase_by_key(
    db: impl PgExecutor<'_>,
    org_id: i64,
    key: &str,
) -> Result<Option<EarlierPurchase>, sqlx::Error> {
    sqlx::query_as!(
        EarlierPurchase,
        r#"SELECT id, status AS "status: NumberStatus", last_error
           FROM owned_numbers WHERE org_id = $1 AND idempotency_key = $2"#,
        org_id,
        key
    )
    .fetch_optional(db)
    .await
}

/// A number about to be bought (its row is written, `purchasing`, before the provider is asked).
pub struct NewPurchase<'a> {
    pub org_id: i64,
    pub user_id: i64,
    pub config_id: i64,
    pub e164: &'a telephony::E164,
    pub friendly_name: &'a str,
    pub monthly: Money,
    pub key: &'a str,
    /// The money guard's reservation of the first month (ended when the purchase settles).
    pub hold_id: Option<i64>,
}

/// The new row's id; `None` when the same key is already being bought.
pub async fn insert_purchase(
    tx: &mut Transaction<'_, Postgres>,
    p: &NewPurchase<'_>,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"INSERT INTO owned_numbers (org_id, user_id, config_id, e164, friendly_name,
                                      monthly_price_micros, idempotency_key, hold_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (org_id, idempotency_key) DO NOTHING
           RETURNING id"#,
        p.org_id,
        p.user_id,
        p.config_id,
        p.e164.as_str(),
        p.friendly_name,
        p.monthly.micros(),
        p.key,
        p.hold_id
    )
    .fetch_optional(&mut **tx)
    .await
}

/// The purchase's budget hold, if it has one still open.
pub async fn hold_of(db: impl PgExecutor<'_>, id: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT n.hold_id AS "hold_id!" FROM owned_numbers n
           JOIN spend_holds h ON h.id = n.hold_id AND h.state = 'open' WHERE n.id = $1"#,
        id
    )
    .fetch_optional(db)
    .await
}

pub async fn set_last_error(
    db: impl PgExecutor<'_>,
    id: i64,
    message: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE owned_numbers SET last_error = $2, updated_at = now() WHERE id = $1",
        id,
        message
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn mark_bought(
    db: impl PgExecutor<'_>,
    id: i64,
    n: &telephony::models::IncomingNumber,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE owned_numbers SET status = 'active', provider_sid = $2, voice = $3, sms = $4,
                       mms = $5, purchased_at = now(), last_error = NULL, updated_at = now()
                   WHERE id = $1"#,
        id,
        n.sid,
        n.capabilities.voice,
        n.capabilities.sms,
        n.capabilities.mms
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn mark_purchase_failed(
    db: impl PgExecutor<'_>,
    id: i64,
    message: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE owned_numbers SET status = 'failed', last_error = $2, updated_at = now() WHERE id = $1",
        id,
        message
    )
    .execute(db)
    .await?;
    Ok(())
}

pub struct NumberRecord {
    pub id: i64,
    pub org_id: i64,
    pub user_id: Option<i64>,
    pub config_id: Option<i64>,
    pub e164: String,
    pub provider_sid: Option<String>,
    pub status: NumberStatus,
    pub shared: bool,
}

pub async fn record(
    db: impl PgExecutor<'_>,
    org_id: i64,
    id: i64,
) -> Result<Option<NumberRecord>, sqlx::Error> {
    sqlx::query_as!(
        NumberRecord,
        r#"SELECT id, org_id, user_id, config_id, e164, provider_sid,
                  status AS "status: NumberStatus", shared
           FROM owned_numbers WHERE id = $1 AND org_id = $2"#,
        id,
        org_id
    )
    .fetch_optional(db)
    .await
}

/// A number as the numbers list reads it.
pub struct ListedNumber {
    pub id: i64,
    pub e164: String,
    pub friendly_name: String,
    /// The owner's e-mail ("deleted user" once their account is gone).
    pub owner: String,
    pub user_id: Option<i64>,
    pub status: NumberStatus,
    pub active: bool,
    pub forward_to: Option<String>,
    pub record_calls: bool,
    pub shared: bool,
    pub voice: bool,
    pub sms: bool,
    pub monthly_price_micros: i64,
    pub purchased_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
}

/// Numbers of the org the user may see: theirs and shared ones (admins: all), newest first.
pub async fn list(
    db: impl PgExecutor<'_>,
    org_id: i64,
    user_id: i64,
    all: bool,
    id: Option<i64>,
) -> Result<Vec<ListedNumber>, sqlx::Error> {
    sqlx::query_as!(
        ListedNumber,
        r#"SELECT n.id, n.e164, n.friendly_name, coalesce(u.email, 'deleted user') AS "owner!",
                  n.user_id, n.status AS "status: NumberStatus", n.active, n.forward_to, n.record_calls, n.shared, n.voice,
                  n.sms, n.monthly_price_micros, n.purchased_at, n.last_error
           FROM owned_numbers n LEFT JOIN users u ON u.id = n.user_id
           WHERE n.org_id = $1 AND n.status <> 'failed' AND n.status <> 'released'
             AND ($3 OR n.user_id = $2 OR n.shared)
             AND ($4::int8 IS NULL OR n.id = $4)
           ORDER BY n.created_at DESC, n.id DESC"#,
        org_id,
        user_id,
        all,
        id
    )
    .fetch_all(db)
    .await
}

pub struct NumberSettings {
    pub friendly_name: String,
    pub active: bool,
    pub forward_to: Option<String>,
    pub record_calls: bool,
    pub shared: bool,
}

/// False when the number is not active (only active numbers can be changed).
pub async fn update(
    db: impl PgExecutor<'_>,
    id: i64,
    s: &NumberSettings,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query!(
        r#"UPDATE owned_numbers SET friendly_name = $2, active = $3, forward_to = $4,
               record_calls = $5, shared = $6, updated_at = now()
           WHERE id = $1 AND status = 'active'"#,
        id,
        s.friendly_name,
        s.active,
        s.forward_to,
        s.record_calls,
        s.shared
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Marks a held number `releasing` (so it is never forgotten while billed); false if it is not held.
pub async fn mark_releasing(
    db: impl PgExecutor<'_>,
    org_id: i64,
    id: i64,
) -> Result<bool, sqlx::Error> {
    let marked = sqlx::query_scalar!(
        r#"UPDATE owned_numbers SET status = 'releasing', active = FALSE, updated_at = now(),
               next_release_at = now()
           WHERE id = $1 AND org_id = $2 AND status IN ('active', 'releasing')
           RETURNING id"#,
        id,
        org_id
    )
    .fetch_optional(db)
    .await?;
    Ok(marked.is_some())
}

/// A number being released, as a release attempt needs it.
pub struct Releasing {
    pub org_id: i64,
    pub config_id: Option<i64>,
    pub provider_sid: Option<String>,
    pub e164: String,
}

pub async fn releasing(db: impl PgExecutor<'_>, id: i64) -> Result<Option<Releasing>, sqlx::Error> {
    sqlx::query_as!(
        Releasing,
        "SELECT org_id, config_id, provider_sid, e164 FROM owned_numbers WHERE id = $1 AND status = 'releasing'",
        id
    )
    .fetch_optional(db)
    .await
}

pub async fn mark_released(db: impl PgExecutor<'_>, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE owned_numbers SET status = 'released', released_at = now(),
                       next_release_at = NULL, last_error = NULL, updated_at = now()
                   WHERE id = $1"#,
        id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Records a failed release attempt; the next one is due in 1 min, doubling, at most an hour.
pub async fn release_failed(
    db: impl PgExecutor<'_>,
    id: i64,
    message: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE owned_numbers SET release_attempts = release_attempts + 1, last_error = $2,
                       next_release_at = now() + make_interval(secs => least(3600, 60 * power(2, release_attempts))::float8),
                       updated_at = now()
                   WHERE id = $1"#,
        id,
        message
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Claims up to 20 due releases (their next attempt is pushed forward first, so another server
/// process skips them).
pub async fn claim_due_releases(db: impl PgExecutor<'_>) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"UPDATE owned_numbers SET next_release_at = now() + interval '5 minutes'
                   WHERE id IN (SELECT id FROM owned_numbers
                                WHERE status = 'releasing' AND next_release_at <= now()
                                ORDER BY next_release_at LIMIT 20 FOR UPDATE SKIP LOCKED)
                   RETURNING id"#
    )
    .fetch_all(db)
    .await
}

/// A purchase whose outcome is unknown.
pub struct OpenPurchase {
    pub id: i64,
    pub org_id: i64,
    pub e164: String,
    pub config_id: Option<i64>,
}

/// Claims up to 20 purchases left `purchasing` for over a minute.
pub async fn claim_open_purchases(
    db: impl PgExecutor<'_>,
) -> Result<Vec<OpenPurchase>, sqlx::Error> {
    sqlx::query_as!(
        OpenPurchase,
        r#"UPDATE owned_numbers SET updated_at = now()
           WHERE id IN (SELECT id FROM owned_numbers
                        WHERE status = 'purchasing' AND updated_at < now() - interval '1 minute'
                        LIMIT 20 FOR UPDATE SKIP LOCKED)
           RETURNING id, org_id, e164, config_id"#
    )
    .fetch_all(db)
    .await
}

pub async fn settle_bought(
    db: impl PgExecutor<'_>,
    id: i64,
    provider_sid: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE owned_numbers SET status = 'active', provider_sid = $2, purchased_at = now(),
                     last_error = NULL WHERE id = $1 AND status = 'purchasing'",
        id,
        provider_sid
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn settle_not_bought(db: impl PgExecutor<'_>, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE owned_numbers SET status = 'failed',
                     last_error = 'The provider did not complete the purchase; nothing was bought.'
                 WHERE id = $1 AND status = 'purchasing'",
        id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// A number the org holds on one configuration, for reconciliation.
pub struct Held {
    pub e164: String,
    pub status: NumberStatus,
}

pub async fn held_on_config(
    db: impl PgExecutor<'_>,
    config_id: i64,
    org_id: i64,
) -> Result<Vec<Held>, sqlx::Error> {
    sqlx::query_as!(
        Held,
        r#"SELECT e164, status AS "status: NumberStatus" FROM owned_numbers
           WHERE config_id = $1 AND org_id = $2
             AND status IN ('purchasing', 'active', 'releasing')"#,
        config_id,
        org_id
    )
    .fetch_all(db)
    .await
}

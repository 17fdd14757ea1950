//! Owned numbers: search, buy (never twice for one click, never lost), settings, release (never
//! forgotten while still billed) and reconciliation with the provider.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use telephony::provider::{NumberSearch, NumberType, NumberUpdate};
use telephony::{Provider, ProviderError};

use super::db::phone_config::ConfigRow;
use super::AppState;
use crate::error::AppError;
use crate::model::lookup::money;
use crate::model::numbers::{Drift, NumberQuery, NumberRow};

/// Where the provider sends a number's traffic (served by the webhooks under the public URL).
pub fn webhook_urls(public_url: &url::Url) -> NumberUpdate {
    let base = public_url.as_str().trim_end_matches('/');
    NumberUpdate {
        friendly_name: None,
        voice_url: Some(format!("{base}/webhooks/twilio/voice")),
        sms_url: Some(format!("{base}/webhooks/twilio/sms")),
        status_callback: Some(format!("{base}/webhooks/twilio/status")),
    }
}

/// The provider of the org's effective configuration.
pub async fn provider_for_org(
    state: &AppState,
    org_id: i64,
) -> Result<(ConfigRow, Arc<dyn Provider>), AppError> {
    let eff = state.providers.effective(&state.pool, org_id).await?;
    let cfg = eff.config.clone().ok_or_else(|| {
        AppError::Conflict(
            "No phone provider is configured for this org. An org admin can set one up under Phone config."
                .into(),
        )
    })?;
    let p = state
        .providers
        .for_config(&cfg, &state.keyring, &state.public_url)
        .map_err(|e| AppError::Conflict(e.to_string()))?;
    Ok((cfg, p))
}

/// The provider of the configuration a number (or call) belongs to; without one recorded, the
/// org's effective configuration.
pub async fn provider_for_config(
    state: &AppState,
    config_id: Option<i64>,
    org_id: i64,
) -> Result<(ConfigRow, Arc<dyn Provider>), AppError> {
    let Some(id) = config_id else {
        return provider_for_org(state, org_id).await;
    };
    let cfg = super::db::phone_config::by_id(&state.pool, id)
        .await?
        .ok_or_else(|| {
            AppError::Conflict(
                "The phone configuration this number was bought with is gone.".into(),
            )
        })?;
    let p = state
        .providers
        .for_config(&cfg, &state.keyring, &state.public_url)
        .map_err(|e| AppError::Conflict(e.to_string()))?;
    Ok((cfg, p))
}

/// Charges every held number (active or releasing) its monthly price once for the current month.
pub async fn accrue_charges(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let r = sqlx::query!(
        r#"INSERT INTO number_charges (number_id, month, org_id, user_id, micros)
           SELECT id, date_trunc('month', now() AT TIME ZONE 'UTC')::date, org_id, user_id,
                  monthly_price_micros
           FROM owned_numbers WHERE status IN ('active', 'releasing')
           ON CONFLICT (number_id, month) DO NOTHING"#
    )
    .execute(pool)
    .await?;
    Ok(r.rows_affected())
}

/// A per-user hourly limit from the `limits` table (the superadmin may change it).
async fn hourly_limit(pool: &PgPool, item: &str, default: i64) -> Result<i64, sqlx::Error> {
    Ok(sqlx::query_scalar!(
        "SELECT per_hour::int8 AS \"n!\" FROM limits WHERE item = $1",
        item
    )
    .fetch_optional(pool)
    .await?
    .unwrap_or(default))
}

/// The things a user may do only so often an hour (the `limits` table, else the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    Purchase,
    Call,
    Sms,
}

impl Limited {
    fn item(self) -> &'static str {
        match self {
            Limited::Purchase => "number.purchase",
            Limited::Call => "call.create",
            Limited::Sms => "sms.send",
        }
    }

    fn default_per_hour(self) -> i64 {
        match self {
            Limited::Purchase => 10,
            Limited::Call => 60,
            Limited::Sms => 200,
        }
    }

    fn refusal(self, limit: i64) -> String {
        match self {
            Limited::Purchase => {
                format!("You can buy at most {limit} numbers an hour. Try again later.")
            }
            Limited::Call => {
                format!("You can place at most {limit} calls an hour. Try again later.")
            }
            Limited::Sms => {
                format!("You can send at most {limit} messages an hour. Try again later.")
            }
        }
    }

    /// The user's rows of this kind in the last hour.
    async fn count(self, tx: &mut sqlx::PgConnection, user_id: i64) -> Result<i64, sqlx::Error> {
        match self {
            Limited::Purchase => {
                sqlx::query_scalar!(
                    r#"SELECT count(*) AS "n!" FROM owned_numbers
                       WHERE user_id = $1 AND created_at > now() - interval '1 hour'"#,
                    user_id
                )
                .fetch_one(tx)
                .await
            }
            Limited::Call => {
                sqlx::query_scalar!(
                    r#"SELECT count(*) AS "n!" FROM calls
                       WHERE user_id = $1 AND direction = 'outbound' AND created_at > now() - interval '1 hour'"#,
                    user_id
                )
                .fetch_one(tx)
                .await
            }
            Limited::Sms => {
                sqlx::query_scalar!(
                    r#"SELECT count(*) AS "n!" FROM messages
                       WHERE user_id = $1 AND direction = 'outbound' AND created_at > now() - interval '1 hour'"#,
                    user_id
                )
                .fetch_one(tx)
                .await
            }
        }
    }
}

/// Opens the transaction that writes a limited row: it holds the user's lock for `what` until it
/// ends, so counting the last hour and writing the new row are one step even under parallel
/// requests. At the limit: 429 with a sentence, nothing written.
pub async fn begin_limited(
    pool: &PgPool,
    what: Limited,
    user_id: i64,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, AppError> {
    let limit = hourly_limit(pool, what.item(), what.default_per_hour()).await?;
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended('limit:' || $1 || ':' || $2::int8, 0))",
        what.item(),
        user_id
    )
    .execute(&mut *tx)
    .await?;
    if what.count(&mut tx, user_id).await? >= limit {
        return Err(AppError::TooManyRequests(what.refusal(limit)));
    }
    Ok(tx)
}

pub async fn price(pool: &PgPool, item: &str) -> Result<i64, sqlx::Error> {
    Ok(
        sqlx::query_scalar!("SELECT micros FROM prices WHERE item = $1", item)
            .fetch_optional(pool)
            .await?
            .unwrap_or(0),
    )
}

/// The provider's answer to a search or purchase, as a person would want to read it.
pub fn provider_message(e: &ProviderError, q: Option<&NumberQuery>) -> AppError {
    match e {
        ProviderError::Auth { .. } => AppError::Upstream(
            "The phone provider rejected this org's credentials. An org admin should check Phone config."
                .into(),
        ),
        ProviderError::Rejected { code: Some(21452), .. } => AppError::validation(
            "area_code",
            match q.map(|q| q.area_code.as_str()).filter(|a| !a.is_empty()) {
                Some(a) => format!("No numbers available in area code {a} — try a nearby area code."),
                None => "No numbers match these filters — try fewer filters.".into(),
            },
        ),
        ProviderError::Rejected { code: Some(21422), .. } => AppError::Conflict(
            "That number is no longer available — someone else bought it. Search again.".into(),
        ),
        ProviderError::Rejected { message, .. } => {
            AppError::Upstream(format!("The provider refused: {message}."))
        }
        ProviderError::RateLimited { .. } => AppError::TooManyRequests(
            "The provider is busy right now. Try again in a minute.".into(),
        ),
        ProviderError::NotFound { .. } => {
            AppError::Upstream("The provider does not know that number.".into())
        }
        other => AppError::Upstream(format!("The provider could not be reached: {other}.")),
    }
}

pub async fn search(
    state: &AppState,
    org_id: i64,
    q: &NumberQuery,
) -> Result<Vec<telephony::models::AvailableNumber>, AppError> {
    let (_, provider) = provider_for_org(state, org_id).await?;
    let number_type = match q.number_type.as_str() {
        "mobile" => NumberType::Mobile,
        "tollfree" => NumberType::TollFree,
        _ => NumberType::Local,
    };
    let opt = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
    let search = NumberSearch {
        country: q.country.clone(),
        number_type: Some(number_type),
        area_code: opt(&q.area_code),
        contains: opt(&q.contains),
        voice: q.voice,
        sms: q.sms,
        mms: q.mms,
        region: opt(&q.region),
        locality: opt(&q.locality),
        page_size: Some(20),
    };
    provider
        .search_numbers(&search)
        .await
        .map_err(|e| provider_message(&e, Some(q)))
}

/// What a purchase came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bought {
    /// Bought now, or by an earlier submission of the same form.
    Active(i64),
}

/// Buys `e164` for the user. The row exists (state `purchasing`) before the provider is asked; a
/// repeated submission of the same form finds it instead of buying again; a timeout is settled by
/// asking the provider whether the account now owns the number.
pub async fn buy(
    state: &AppState,
    org_id: i64,
    user_id: i64,
    e164: &str,
    key: &str,
    friendly_name: &str,
) -> Result<Bought, AppError> {
    let pool = &state.pool;
    if let Some(existing) = sqlx::query!(
        "SELECT id, status, last_error FROM owned_numbers WHERE org_id = $1 AND idempotency_key = $2",
        org_id,
        key
    )
    .fetch_optional(pool)
    .await?
    {
        return match existing.status.as_str() {
            "purchasing" => Err(AppError::Conflict(
                "This purchase is still in progress. Check My numbers in a moment.".into(),
            )),
            "failed" => Err(AppError::Conflict(existing.last_error.unwrap_or_else(|| {
                "This purchase failed. Search again to buy another number.".into()
            }))),
            _ => Ok(Bought::Active(existing.id)),
        };
    }
    // Everything else from the pool first: the transaction below holds a connection while it
    // waits for the user's lock.
    let (cfg, provider) = provider_for_org(state, org_id).await?;
    let monthly = price(pool, "number.monthly").await?;
    let mut tx = begin_limited(pool, Limited::Purchase, user_id).await?;
    let id = match sqlx::query_scalar!(
        r#"INSERT INTO owned_numbers (org_id, user_id, config_id, e164, friendly_name,
                                      monthly_price_micros, idempotency_key)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (org_id, idempotency_key) DO NOTHING
           RETURNING id"#,
        org_id,
        user_id,
        cfg.id,
        e164,
        friendly_name,
        monthly,
        key
    )
    .fetch_optional(&mut *tx)
    .await
    {
        Ok(Some(id)) => {
            tx.commit().await?;
            id
        }
        // The same form, submitted twice at once: the other submission is buying it.
        Ok(None) => {
            return Err(AppError::Conflict(
                "This purchase is already in progress. Check My numbers in a moment.".into(),
            ))
        }
        Err(sqlx::Error::Database(d)) if d.constraint() == Some("owned_numbers_live_e164") => {
            return Err(AppError::Conflict(
                "That number already belongs to an org here. Search for another one.".into(),
            ))
        }
        Err(e) => return Err(e.into()),
    };
    let mut setup = webhook_urls(&state.public_url);
    setup.friendly_name = (!friendly_name.is_empty()).then(|| friendly_name.to_string());
    let result = provider.buy_number(e164, &setup).await;
    let result = match result {
        Err(ProviderError::Timeout | ProviderError::Network(_) | ProviderError::Server { .. }) => {
            // The purchase may or may not have happened: ask.
            match provider.list_numbers(Some(e164)).await {
                Ok(found) => found.into_iter().find(|n| n.phone_number == e164).ok_or(
                    ProviderError::Rejected {
                        status: 0,
                        code: None,
                        message: "the provider did not complete the purchase; nothing was bought"
                            .into(),
                        more_info: None,
                    },
                ),
                Err(e) => {
                    // Still unknown: the row stays `purchasing` and the reconciler settles it.
                    tracing::warn!(error = %e, number = e164, "purchase outcome unknown");
                    sqlx::query!(
                        "UPDATE owned_numbers SET last_error = $2, updated_at = now() WHERE id = $1",
                        id,
                        "The provider did not answer; PhoneHub is checking whether the purchase went through."
                    )
                    .execute(pool)
                    .await?;
                    return Err(AppError::Upstream(
                        "The provider did not answer. PhoneHub is checking whether the purchase went through; the number will show under My numbers either way.".into(),
                    ));
                }
            }
        }
        other => other,
    };
    match result {
        Ok(n) => {
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
            .execute(pool)
            .await?;
            accrue_charges(pool).await?;
            Ok(Bought::Active(id))
        }
        Err(e) => {
            let err = provider_message(&e, None);
            sqlx::query!(
                "UPDATE owned_numbers SET status = 'failed', last_error = $2, updated_at = now() WHERE id = $1",
                id,
                err.to_string()
            )
            .execute(pool)
            .await?;
            Err(match err {
                AppError::Validation { message, .. } => AppError::Conflict(message),
                other => other,
            })
        }
    }
}

pub struct NumberRecord {
    pub id: i64,
    pub org_id: i64,
    pub user_id: Option<i64>,
    pub config_id: Option<i64>,
    pub e164: String,
    pub provider_sid: Option<String>,
    pub status: String,
    pub shared: bool,
}

pub async fn record(
    pool: &PgPool,
    org_id: i64,
    id: i64,
) -> Result<Option<NumberRecord>, sqlx::Error> {
    sqlx::query_as!(
        NumberRecord,
        "SELECT id, org_id, user_id, config_id, e164, provider_sid, status, shared
         FROM owned_numbers WHERE id = $1 AND org_id = $2",
        id,
        org_id
    )
    .fetch_optional(pool)
    .await
}

/// Numbers of the org the user may see: theirs and shared ones (admins: all), newest first.
pub async fn list(
    pool: &PgPool,
    org_id: i64,
    user_id: i64,
    all: bool,
    id: Option<i64>,
) -> Result<Vec<NumberRow>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT n.id, n.e164, n.friendly_name, coalesce(u.email, 'deleted user') AS "owner!",
                  n.user_id, n.status, n.active, n.forward_to, n.record_calls, n.shared, n.voice,
                  n.sms, n.monthly_price_micros,
                  to_char(n.purchased_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS purchased, n.last_error
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
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let mine = r.user_id == Some(user_id);
            NumberRow {
                id: r.id,
                e164: r.e164,
                friendly_name: r.friendly_name,
                owner: r.owner,
                mine,
                status: r.status,
                active: r.active,
                forward_to: r.forward_to.unwrap_or_default(),
                record_calls: r.record_calls,
                shared: r.shared,
                voice: r.voice,
                sms: r.sms,
                monthly: money(r.monthly_price_micros),
                purchased: r.purchased,
                last_error: r.last_error,
                can_edit: mine || all,
            }
        })
        .collect())
}

pub struct Settings {
    pub friendly_name: String,
    pub active: bool,
    pub forward_to: Option<String>,
    pub record_calls: bool,
    pub shared: bool,
}

pub async fn update(pool: &PgPool, id: i64, s: &Settings) -> Result<bool, sqlx::Error> {
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
    .execute(pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Released {
    Done,
    /// The provider did not confirm; the number stays `releasing` and is retried.
    Pending(String),
}

/// Marks the number `releasing` (so it is never forgotten while billed), then asks the provider.
pub async fn release(state: &AppState, org_id: i64, id: i64) -> Result<Released, AppError> {
    let marked = sqlx::query_scalar!(
        r#"UPDATE owned_numbers SET status = 'releasing', active = FALSE, updated_at = now(),
               next_release_at = now()
           WHERE id = $1 AND org_id = $2 AND status IN ('active', 'releasing')
           RETURNING id"#,
        id,
        org_id
    )
    .fetch_optional(&state.pool)
    .await?;
    if marked.is_none() {
        return Err(AppError::Conflict(
            "This number cannot be released now (it is not active).".into(),
        ));
    }
    attempt_release(state, id).await
}

/// One release attempt: `released` when the provider confirms (or no longer has it), else the
/// error and the next attempt's time (1 min, doubling, at most an hour).
pub async fn attempt_release(state: &AppState, id: i64) -> Result<Released, AppError> {
    let pool = &state.pool;
    let Some(n) = sqlx::query!(
        "SELECT org_id, config_id, provider_sid, e164 FROM owned_numbers WHERE id = $1 AND status = 'releasing'",
        id
    )
    .fetch_optional(pool)
    .await?
    else {
        return Ok(Released::Done);
    };
    let provider = provider_for_config(state, n.config_id, n.org_id)
        .await
        .map(|(_, p)| p);
    let outcome = match (provider, &n.provider_sid) {
        (Ok(p), Some(sid)) => match p.release_number(sid).await {
            Ok(()) | Err(ProviderError::NotFound { .. }) => Ok(()),
            Err(e) => Err(format!("The provider did not confirm the release: {e}.")),
        },
        (Ok(_), None) => Ok(()),
        (Err(e), _) => Err(e.to_string()),
    };
    match outcome {
        Ok(()) => {
            sqlx::query!(
                r#"UPDATE owned_numbers SET status = 'released', released_at = now(),
                       next_release_at = NULL, last_error = NULL, updated_at = now()
                   WHERE id = $1"#,
                id
            )
            .execute(pool)
            .await?;
            Ok(Released::Done)
        }
        Err(msg) => {
            sqlx::query!(
                r#"UPDATE owned_numbers SET release_attempts = release_attempts + 1, last_error = $2,
                       next_release_at = now() + make_interval(secs => least(3600, 60 * power(2, release_attempts))::float8),
                       updated_at = now()
                   WHERE id = $1"#,
                id,
                msg
            )
            .execute(pool)
            .await?;
            tracing::warn!(number = %n.e164, error = %msg, "release not confirmed; will retry");
            Ok(Released::Pending(msg))
        }
    }
}

/// Retries due releases every few seconds, in every server process (rows are claimed with
/// `SKIP LOCKED` by pushing their next attempt forward first).
pub fn spawn_release_worker(state: AppState) {
    tokio::spawn(async move {
        let mut tick: u64 = 0;
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            if tick.is_multiple_of(12) {
                if let Err(e) = accrue_charges(&state.pool).await {
                    tracing::warn!(error = %e, "accruing number charges failed");
                }
            }
            tick += 1;
            let due = sqlx::query_scalar!(
                r#"UPDATE owned_numbers SET next_release_at = now() + interval '5 minutes'
                   WHERE id IN (SELECT id FROM owned_numbers
                                WHERE status = 'releasing' AND next_release_at <= now()
                                ORDER BY next_release_at LIMIT 20 FOR UPDATE SKIP LOCKED)
                   RETURNING id"#
            )
            .fetch_all(&state.pool)
            .await;
            settle_purchases(&state).await;
            let Ok(due) = due else { continue };
            for id in due {
                if let Err(e) = attempt_release(&state, id).await {
                    tracing::warn!(id, error = %e, "release retry failed");
                }
            }
        }
    });
}

/// Purchases whose outcome was unknown (the provider timed out and could not be asked): after a
/// minute, ask the provider whether the account owns the number, and settle the row.
async fn settle_purchases(state: &AppState) {
    let open = sqlx::query!(
        r#"UPDATE owned_numbers SET updated_at = now()
           WHERE id IN (SELECT id FROM owned_numbers
                        WHERE status = 'purchasing' AND updated_at < now() - interval '1 minute'
                        LIMIT 20 FOR UPDATE SKIP LOCKED)
           RETURNING id, org_id, e164, config_id"#
    )
    .fetch_all(&state.pool)
    .await;
    let Ok(open) = open else { return };
    for n in open {
        // The account the purchase was made with, not whatever the org uses now.
        let Ok((_, provider)) = provider_for_config(state, n.config_id, n.org_id).await else {
            continue;
        };
        let Ok(found) = provider.list_numbers(Some(&n.e164)).await else {
            continue;
        };
        let r = match found.into_iter().find(|x| x.phone_number == n.e164) {
            Some(x) => sqlx::query!(
                "UPDATE owned_numbers SET status = 'active', provider_sid = $2, purchased_at = now(),
                     last_error = NULL WHERE id = $1 AND status = 'purchasing'",
                n.id,
                x.sid
            )
            .execute(&state.pool)
            .await,
            None => sqlx::query!(
                "UPDATE owned_numbers SET status = 'failed',
                     last_error = 'The provider did not complete the purchase; nothing was bought.'
                 WHERE id = $1 AND status = 'purchasing'",
                n.id
            )
            .execute(&state.pool)
            .await,
        };
        if let Err(e) = r {
            tracing::warn!(error = %e, "settling a purchase failed");
        }
    }
}

/// Compares the provider's numbers (of the org's effective configuration) with ours.
pub async fn reconcile(state: &AppState, org_id: i64) -> Result<Drift, AppError> {
    let (cfg, provider) = provider_for_org(state, org_id).await?;
    let theirs = provider
        .list_numbers(None)
        .await
        .map_err(|e| provider_message(&e, None))?;
    let ours = sqlx::query!(
        r#"SELECT e164, status FROM owned_numbers
           WHERE config_id = $1 AND org_id = $2
             AND status IN ('purchasing', 'active', 'releasing')"#,
        cfg.id,
        org_id
    )
    .fetch_all(&state.pool)
    .await?;
    // On a shared account (the system default) the provider's other numbers belong to other orgs
    // or to nobody in PhoneHub: none of them is this org's to see.
    let account_is_the_orgs = cfg.org_id == Some(org_id);
    let theirs_set: std::collections::HashSet<&str> =
        theirs.iter().map(|n| n.phone_number.as_str()).collect();
    let ours_set: std::collections::HashSet<&str> = ours.iter().map(|n| n.e164.as_str()).collect();
    let mut unknown_here: Vec<String> = theirs_set
        .iter()
        .filter(|n| account_is_the_orgs && !ours_set.contains(*n))
        .map(|n| n.to_string())
        .collect();
    let mut gone_there: Vec<String> = ours
        .iter()
        .filter(|n| n.status == "active" && !theirs_set.contains(n.e164.as_str()))
        .map(|n| n.e164.clone())
        .collect();
    unknown_here.sort();
    gone_there.sort();
    Ok(Drift {
        unknown_here,
        gone_there,
    })
}

/// What to simulate with the sandbox: someone calling or texting an owned number.
pub enum Simulate<'a> {
    Call { from: &'a str },
    Sms { from: &'a str, body: &'a str },
}

/// Asks the sandbox (only when the number's configuration is the sandbox) to simulate an
/// inbound call or SMS to the number, which then reaches our webhooks like Twilio's would.
pub async fn simulate_inbound(
    state: &AppState,
    org_id: i64,
    n: &NumberRecord,
    what: Simulate<'_>,
) -> Result<(), AppError> {
    let (cfg, _) = provider_for_config(state, n.config_id, org_id).await?;
    if cfg.provider != "sandbox" {
        return Err(AppError::Conflict(
            "Only numbers on the sandbox can be sent simulated calls and messages.".into(),
        ));
    }
    if !state.dev_mode {
        return Err(AppError::Conflict(
            "The development sandbox is not available on this server.".into(),
        ));
    }
    // The sandbox in this server, with its own credentials (the control endpoints require them).
    let root = state.providers.sandbox_root(&state.public_url);
    let token = cfg
        .sealed_token()
        .and_then(|s| state.keyring.decrypt(&s).ok())
        .ok_or_else(|| AppError::Conflict("The sandbox configuration has no token.".into()))?;
    let (path, body) = match what {
        Simulate::Call { from } => (
            "incoming-call",
            serde_json::json!({ "to": n.e164, "from": from }),
        ),
        Simulate::Sms { from, body } => (
            "incoming-sms",
            serde_json::json!({ "to": n.e164, "from": from, "body": body }),
        ),
    };
    // The providers' client (no redirects; the sandbox is on this development server's own
    // network, which development allows).
    let r = telephony::http::client(Duration::from_secs(15), true)
        .map_err(|_| AppError::Internal)?
        .post(format!("{root}/_simulate/{path}"))
        .basic_auth(&cfg.account_sid, Some(token.as_str()))
        .timeout(Duration::from_secs(15))
        .json(&body)
        .send()
        .await
        .map_err(|e| {
            AppError::Upstream(format!(
                "The sandbox could not be reached: {}.",
                e.without_url()
            ))
        })?;
    if r.status().is_success() {
        Ok(())
    } else {
        let v: serde_json::Value = r.json().await.unwrap_or_default();
        Err(AppError::Upstream(format!(
            "The sandbox refused: {}.",
            v["message"].as_str().unwrap_or("unknown error")
        )))
    }
}

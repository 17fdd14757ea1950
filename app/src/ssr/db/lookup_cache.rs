//! The shared lookup cache's rows (`phone_numbers`): read one, take and give up its lease, store
//! an answer or a failure. A row belongs to no org: whether its answer is fresh is judged by the
//! asking org's own cache days from when it was fetched, and it records which provider answered.

use sqlx::PgExecutor;
use telephony::models::LookupResult;
use telephony::E164;
use time::OffsetDateTime;

use crate::model::lookup::classify_line_type;

/// One row of the cache.
#[derive(Debug, Clone, Default)]
pub struct Cached {
    pub e164: String,
    pub country_code: Option<String>,
    pub calling_country_code: Option<String>,
    pub national_format: Option<String>,
    pub valid: Option<bool>,
    pub line_type: Option<String>,
    pub carrier_name: Option<String>,
    pub mobile_country_code: Option<String>,
    pub mobile_network_code: Option<String>,
    pub is_mobile: Option<bool>,
    pub is_voip: Option<bool>,
    pub caller_name_checked: bool,
    pub caller_name: Option<String>,
    pub caller_type: Option<String>,
    pub address_street: Option<String>,
    pub address_city: Option<String>,
    pub address_region: Option<String>,
    pub address_postal_code: Option<String>,
    pub lookup_count: i64,
    pub last_lookup_at: Option<OffsetDateTime>,
    pub lookup_expires_at: Option<OffsetDateTime>,
    pub error_message: Option<String>,
    pub retry_after: Option<OffsetDateTime>,
    pub lease_until: Option<OffsetDateTime>,
    /// The provider kind that answered (`twilio`, `aws`, `sandbox`); None for rows stored before
    /// it was recorded.
    pub answered_by: Option<String>,
}

impl Cached {
    /// Whether the row's answer is still within the expiry the fetching org's configuration gave
    /// it (the hot cache keeps rows that long).
    pub fn fresh(&self, now: OffsetDateTime, need_caller_name: bool) -> bool {
        self.lookup_expires_at.is_some_and(|e| e > now)
            && (self.caller_name_checked || !need_caller_name)
    }

    /// Whether the answer is fresh for an org that keeps answers `cache_days` days: judged by when
    /// it was fetched and the asking org's own days, not by whichever org fetched it.
    pub fn fresh_for(&self, now: OffsetDateTime, need_caller_name: bool, cache_days: i32) -> bool {
        self.expires_for(cache_days).is_some_and(|e| e > now)
            && (self.caller_name_checked || !need_caller_name)
    }

    /// When the answer expires for an org that keeps answers `cache_days` days (None: no answer).
    pub fn expires_for(&self, cache_days: i32) -> Option<OffsetDateTime> {
        self.lookup_expires_at
            .and(self.last_lookup_at)
            .map(|fetched| fetched + time::Duration::days(i64::from(cache_days)))
    }

    /// The row as an org that keeps answers `cache_days` days sees it: the expiry is its own.
    pub fn seen_by(mut self, cache_days: i32) -> Cached {
        if let Some(e) = self.expires_for(cache_days) {
            self.lookup_expires_at = Some(e);
        }
        self
    }

    pub fn backing_off(&self, now: OffsetDateTime) -> bool {
        self.retry_after.is_some_and(|r| r > now)
    }
}

pub async fn get(db: impl PgExecutor<'_>, e164: &E164) -> Result<Option<Cached>, sqlx::Error> {
    sqlx::query_as!(
        Cached,
        r#"SELECT e164, country_code, calling_country_code, national_format, valid, line_type,
                  carrier_name, mobile_country_code, mobile_network_code, is_mobile, is_voip,
                  caller_name_checked, caller_name, caller_type, address_street, address_city,
                  address_region, address_postal_code, lookup_count, last_lookup_at,
                  lookup_expires_at, error_message, retry_after, lease_until, answered_by
           FROM phone_numbers WHERE e164 = $1"#,
        e164.as_str()
    )
    .fetch_optional(db)
    .await
}

/// Takes the number's lease with `token` if nobody holds it and it still needs a provider call
/// for an org that keeps answers `cache_days` days.
#[allow(clippy::too_many_arguments)]
pub async fn take_lease(
    db: impl PgExecutor<'_>,
    e164: &E164,
    token: &str,
    lease_secs: f64,
    force_refresh: bool,
    started: OffsetDateTime,
    caller_name: bool,
    cache_days: i32,
) -> Result<bool, sqlx::Error> {
    let got = sqlx::query_scalar!(
        r#"INSERT INTO phone_numbers (e164, lease_token, lease_until)
           VALUES ($1, $2, now() + make_interval(secs => $3))
           ON CONFLICT (e164) DO UPDATE
               SET lease_token = EXCLUDED.lease_token, lease_until = EXCLUDED.lease_until
               WHERE (phone_numbers.lease_until IS NULL OR phone_numbers.lease_until < now())
                 AND (phone_numbers.retry_after IS NULL OR phone_numbers.retry_after <= now())
                 AND (CASE WHEN $4 THEN phone_numbers.last_lookup_at IS NULL
                                     OR phone_numbers.last_lookup_at < $5
                           ELSE phone_numbers.lookup_expires_at IS NULL
                                OR phone_numbers.last_lookup_at IS NULL
                                OR phone_numbers.last_lookup_at
                                   + make_interval(days => $7) <= now()
                                OR ($6 AND NOT phone_numbers.caller_name_checked) END)
           RETURNING lease_token AS "t!""#,
        e164.as_str(),
        token,
        lease_secs,
        force_refresh,
        started,
        caller_name,
        cache_days
    )
    .fetch_optional(db)
    .await?;
    Ok(got.is_some())
}

/// Gives the lease up (the provider was not asked, or refused for reasons of the asking account).
pub async fn release(db: impl PgExecutor<'_>, e164: &E164, token: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE phone_numbers SET lease_token = NULL, lease_until = NULL
         WHERE e164 = $1 AND lease_token = $2",
        e164.as_str(),
        token
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Stores the provider's answer if `token` still holds the lease; false when the lease ran out
/// and someone else holds the number now (their answer counts). `answered_by` is the provider
/// kind that answered.
pub async fn store(
    db: impl PgExecutor<'_>,
    e164: &E164,
    token: &str,
    res: &LookupResult,
    caller_name: bool,
    cache_days: i32,
    answered_by: &str,
) -> Result<bool, sqlx::Error> {
    let lti = res.line_type_intelligence.clone().unwrap_or_default();
    let cn = res.caller_name.clone().unwrap_or_default();
    let (is_mobile, is_voip) = classify_line_type(lti.line_type.as_deref());
    let stored = sqlx::query!(
        r#"UPDATE phone_numbers SET
               country_code = $3, calling_country_code = $4, national_format = $5, valid = $6,
               line_type = $7, carrier_name = $8, mobile_country_code = $9,
               mobile_network_code = $10, is_mobile = $11, is_voip = $12,
               caller_name_checked = $13, caller_name = $14, caller_type = $15, raw = $16,
               lookup_count = lookup_count + 1,
               first_lookup_at = coalesce(first_lookup_at, now()), last_lookup_at = now(),
               lookup_expires_at = now() + make_interval(days => $17), answered_by = $18,
               error_code = NULL, error_message = NULL, error_count = 0, retry_after = NULL,
               lease_token = NULL, lease_until = NULL, updated_at = now()
           WHERE e164 = $1 AND lease_token = $2"#,
        e164.as_str(),
        token,
        res.country_code,
        res.calling_country_code,
        res.national_format,
        res.valid,
        lti.line_type,
        lti.carrier_name,
        lti.mobile_country_code,
        lti.mobile_network_code,
        is_mobile,
        is_voip,
        caller_name,
        cn.caller_name,
        cn.caller_type,
        res.raw,
        cache_days,
        answered_by,
    )
    .execute(db)
    .await?;
    Ok(stored.rows_affected() > 0)
}

/// Stores a failure about the number and backs off: `first_backoff_secs`, doubling per failure up
/// to `max_backoff_secs`.
pub async fn store_error(
    db: impl PgExecutor<'_>,
    e164: &E164,
    token: &str,
    code: Option<i32>,
    message: &str,
    (first_backoff_secs, max_backoff_secs): (f64, f64),
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE phone_numbers SET
               error_code = $3, error_message = $4, error_count = error_count + 1,
               retry_after = now() + make_interval(secs =>
                   least($5::float8, $6::float8 * power(2, error_count))),
               lease_token = NULL, lease_until = NULL, updated_at = now()
           WHERE e164 = $1 AND lease_token = $2"#,
        e164.as_str(),
        token,
        code,
        message,
        max_backoff_secs,
        first_backoff_secs,
    )
    .execute(db)
    .await?;
    Ok(())
}

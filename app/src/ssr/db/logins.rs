//! The login throttle and the change-password throttle: each check is reserved atomically before
//! the password is hashed, so parallel guesses cannot slip past the count.
//!
//! Logins are limited so that nobody can lock another person out: the strict limit counts one
//! e-mail from one client address (only whoever guesses from there is stopped); the per-e-mail
//! limit is far higher, with waits that grow between attempts, and a browser that signed in as that
//! user before (its device cookie, see `auth::Passwords`) is exempt from it.

use sqlx::{PgConnection, PgPool};

/// Failed (or still running) attempts allowed per e-mail from one client address in the window.
pub const PER_EMAIL_AND_IP: i64 = 5;
/// Failed (or still running) attempts allowed per e-mail from all addresses together in the window.
pub const PER_EMAIL: i64 = 100;
/// Failed (or still running) attempts allowed per client IP in the window, across e-mails.
pub const PER_IP: i64 = 30;
/// Failures for one e-mail (from all addresses) after which each further attempt waits
/// `delay_secs` after the one before.
pub const DELAY_AFTER: i64 = 10;
/// The longest such wait.
pub const MAX_DELAY_SECS: i64 = 60;
/// Wrong (or still running) current-password checks allowed per user in the window.
pub const PASSWORD_CHECKS_PER_USER: i64 = 5;

/// The wait between attempts for an e-mail with `failures` in the window: none up to
/// `DELAY_AFTER`, then 1 s doubling per failure up to `MAX_DELAY_SECS`. Spread over many addresses,
/// guesses slow to one a minute, while the owner, who fails a few times at most, never waits.
pub fn delay_secs(failures: i64) -> i64 {
    if failures < DELAY_AFTER {
        return 0;
    }
    let doublings = (failures - DELAY_AFTER).min(6) as u32;
    (1i64 << doublings).min(MAX_DELAY_SECS)
}

/// Which limit refused an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// `PER_EMAIL_AND_IP`.
    EmailFromAddress,
    /// `PER_IP`.
    Address,
    /// `PER_EMAIL`.
    Email,
    /// The wait of `delay_secs` since the e-mail's last attempt.
    Delay,
    /// `PASSWORD_CHECKS_PER_USER`.
    User,
}

pub enum Reservation {
    /// Go ahead; settle (or release) the attempt with its id afterwards.
    Granted(i64),
    /// Over a limit: seconds until an attempt is allowed again.
    Refused { wait_secs: i64, limit: Limit },
}

/// Reserves one password check for `email` from `ip`, or refuses it. `device_user`: the user the
/// browser's valid device cookie names; when that is `email`'s user, the per-e-mail and per-address
/// limits do not apply. The advisory locks make the count and the insert one step for each e-mail
/// and IP, whatever runs in parallel.
pub async fn reserve(
    pool: &PgPool,
    email: &str,
    ip: Option<&str>,
    device_user: Option<i64>,
    device_issued: Option<i64>,
) -> Result<Reservation, sqlx::Error> {
    let mut tx = pool.begin().await?;
    lock_email_and_ip(&mut tx, email, ip).await?;
    let attempts = count_attempts(&mut tx, email, ip, device_user, device_issued).await?;
    if let Some(refused) = refusal(&attempts) {
        return Ok(refused);
    }
    let id = sqlx::query_scalar!(
        "INSERT INTO login_attempts (email, ip) VALUES ($1, $2) RETURNING id",
        email,
        ip
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Reservation::Granted(id))
}

/// Takes the transaction's locks on `email` and then on `ip`.
async fn lock_email_and_ip(
    conn: &mut PgConnection,
    email: &str,
    ip: Option<&str>,
) -> Result<(), sqlx::Error> {
    // A flood of attempts for one e-mail waits briefly, then is refused, instead of holding the
    // pool's connections while it queues.
    sqlx::query!("SET LOCAL lock_timeout = '2s'")
        .execute(&mut *conn)
        .await?;
    // Always e-mail first, then IP: two requests never wait on each other in a cycle. The e-mail's
    // lock also covers its (e-mail, IP) pairs.
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended('login-email:' || $1, 0))",
        email
    )
    .execute(&mut *conn)
    .await?;
    if let Some(ip) = ip {
        sqlx::query!(
            "SELECT pg_advisory_xact_lock(hashtextextended('login-ip:' || $1, 0))",
            ip
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The recent unsettled attempts a login is judged by (the last 15 minutes), with the seconds
/// until the oldest of each kind leaves the window.
struct Attempts {
    /// For the e-mail from this address.
    by_pair: i64,
    pair_wait: i64,
    /// For the e-mail from all addresses.
    by_email: i64,
    email_wait: i64,
    /// Milliseconds since the e-mail's last attempt (0 if none).
    email_since_ms: i64,
    /// From this address, across e-mails.
    by_ip: i64,
    ip_wait: i64,
    /// The browser's device cookie names the e-mail's user (and is no older than its password).
    trusted_device: bool,
}

/// Counts the attempts for `email` and from `ip`, and whether the device cookie is trusted.
async fn count_attempts(
    conn: &mut PgConnection,
    email: &str,
    ip: Option<&str>,
    device_user: Option<i64>,
    device_issued: Option<i64>,
) -> Result<Attempts, sqlx::Error> {
    // An unknown address (no peer, which a real connection always has) shares one bucket per
    // e-mail: IS NOT DISTINCT FROM, so it is limited rather than never counted.
    let r = sqlx::query!(
        r#"SELECT
             (SELECT count(*) FROM login_attempts
              WHERE email = $1 AND ip IS NOT DISTINCT FROM $2 AND succeeded IS NOT TRUE
                AND created_at > now() - interval '15 minutes') AS "by_pair!",
             (SELECT COALESCE(EXTRACT(EPOCH FROM (min(created_at) + interval '15 minutes' - now()))::bigint, 0)
              FROM login_attempts
              WHERE email = $1 AND ip IS NOT DISTINCT FROM $2 AND succeeded IS NOT TRUE
                AND created_at > now() - interval '15 minutes') AS "pair_wait!",
             (SELECT count(*) FROM login_attempts
              WHERE email = $1 AND succeeded IS NOT TRUE
                AND created_at > now() - interval '15 minutes') AS "by_email!",
             (SELECT COALESCE(EXTRACT(EPOCH FROM (min(created_at) + interval '15 minutes' - now()))::bigint, 0)
              FROM login_attempts
              WHERE email = $1 AND succeeded IS NOT TRUE
                AND created_at > now() - interval '15 minutes') AS "email_wait!",
             (SELECT COALESCE((EXTRACT(EPOCH FROM (now() - max(created_at))) * 1000)::bigint, 0)
              FROM login_attempts
              WHERE email = $1 AND succeeded IS NOT TRUE
                AND created_at > now() - interval '15 minutes') AS "email_since_ms!",
             (SELECT count(*) FROM login_attempts
              WHERE ip = $2 AND succeeded IS NOT TRUE
                AND created_at > now() - interval '15 minutes') AS "by_ip!",
             (SELECT COALESCE(EXTRACT(EPOCH FROM (min(created_at) + interval '15 minutes' - now()))::bigint, 0)
              FROM login_attempts
              WHERE ip = $2 AND succeeded IS NOT TRUE
                AND created_at > now() - interval '15 minutes') AS "ip_wait!",
             EXISTS (SELECT 1 FROM users WHERE id = $3 AND email = $1
                     AND date_trunc('second', password_changed_at) <= to_timestamp($4::bigint))
                    AS "trusted_device!""#,
        email,
        ip,
        device_user,
        device_issued
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(Attempts {
        by_pair: r.by_pair,
        pair_wait: r.pair_wait,
        by_email: r.by_email,
        email_wait: r.email_wait,
        email_since_ms: r.email_since_ms,
        by_ip: r.by_ip,
        ip_wait: r.ip_wait,
        trusted_device: r.trusted_device,
    })
}

/// The limit the attempts are over, if any, and how long until another attempt is allowed.
fn refusal(r: &Attempts) -> Option<Reservation> {
    // The strict limit holds for everyone, a trusted browser included: it is what stops a thief of
    // a device cookie from guessing more than this from their own address.
    if r.by_pair >= PER_EMAIL_AND_IP {
        return Some(Reservation::Refused {
            wait_secs: r.pair_wait,
            limit: Limit::EmailFromAddress,
        });
    }
    if !r.trusted_device {
        if r.by_ip >= PER_IP {
            return Some(Reservation::Refused {
                wait_secs: r.ip_wait,
                limit: Limit::Address,
            });
        }
        if r.by_email >= PER_EMAIL {
            return Some(Reservation::Refused {
                wait_secs: r.email_wait,
                limit: Limit::Email,
            });
        }
        let delay_ms = delay_secs(r.by_email) * 1000;
        if r.email_since_ms < delay_ms {
            return Some(Reservation::Refused {
                wait_secs: (delay_ms - r.email_since_ms + 999) / 1000,
                limit: Limit::Delay,
            });
        }
    }
    None
}

/// Records how a reserved attempt ended (a success no longer counts against the limits).
pub async fn settle(pool: &PgPool, id: i64, succeeded: bool) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE login_attempts SET succeeded = $2 WHERE id = $1",
        id,
        succeeded
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Forgets a reserved attempt whose password was never checked (the hashing gate was full), so it
/// counts against nobody.
pub async fn release(pool: &PgPool, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM login_attempts WHERE id = $1", id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Reserves one current-password check for `user_id` (the change-password form), or refuses it
/// with `Limit::User`: a stolen session gets a handful of guesses, not unlimited argon2 work.
pub async fn reserve_password_check(
    pool: &PgPool,
    user_id: i64,
    ip: Option<&str>,
) -> Result<Reservation, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query!("SET LOCAL lock_timeout = '2s'")
        .execute(&mut *tx)
        .await?;
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended('password-check:' || $1::bigint::text, 0))",
        user_id
    )
    .execute(&mut *tx)
    .await?;
    let r = sqlx::query!(
        r#"SELECT
             count(*) AS "by_user!",
             COALESCE(EXTRACT(EPOCH FROM (min(created_at) + interval '15 minutes' - now()))::bigint, 0) AS "wait!"
           FROM password_checks
           WHERE user_id = $1 AND succeeded IS NOT TRUE
             AND created_at > now() - interval '15 minutes'"#,
        user_id
    )
    .fetch_one(&mut *tx)
    .await?;
    if r.by_user >= PASSWORD_CHECKS_PER_USER {
        return Ok(Reservation::Refused {
            wait_secs: r.wait,
            limit: Limit::User,
        });
    }
    let id = sqlx::query_scalar!(
        "INSERT INTO password_checks (user_id, ip) VALUES ($1, $2) RETURNING id",
        user_id,
        ip
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Reservation::Granted(id))
}

/// Records how a reserved current-password check ended (a right password no longer counts).
pub async fn settle_password_check(
    pool: &PgPool,
    id: i64,
    succeeded: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE password_checks SET succeeded = $2 WHERE id = $1",
        id,
        succeeded
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Forgets a reserved current-password check that never ran (the hashing gate was full).
pub async fn release_password_check(pool: &PgPool, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM password_checks WHERE id = $1", id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Forgets login attempts and password checks older than a day (every limit looks back 15
/// minutes), so anonymous clients cannot grow the tables without end.
pub async fn prune(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let attempts =
        sqlx::query!("DELETE FROM login_attempts WHERE created_at < now() - interval '1 day'")
            .execute(pool)
            .await?
            .rows_affected();
    let checks =
        sqlx::query!("DELETE FROM password_checks WHERE created_at < now() - interval '1 day'")
            .execute(pool)
            .await?
            .rows_affected();
    Ok(attempts + checks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_start_after_a_few_failures_and_grow_to_a_minute() {
        for n in 0..DELAY_AFTER {
            assert_eq!(delay_secs(n), 0, "{n}");
        }
        let waits: Vec<i64> = (DELAY_AFTER..DELAY_AFTER + 8).map(delay_secs).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(delay_secs(PER_EMAIL), MAX_DELAY_SECS);
        // The owner's own few mistakes (the strict limit's worth) never make anyone wait.
        assert_eq!(delay_secs(PER_EMAIL_AND_IP), 0);
    }
}

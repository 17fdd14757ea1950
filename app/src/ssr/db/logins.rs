//! The login throttle: attempts reserved atomically per e-mail and per client IP before the
//! password is checked, so parallel guesses cannot slip past the count.

use sqlx::PgPool;

/// Failed (or still running) attempts allowed per e-mail in the window.
pub const PER_EMAIL: i64 = 5;
/// Failed (or still running) attempts allowed per client IP in the window, across e-mails.
pub const PER_IP: i64 = 30;

pub enum Reservation {
    /// Go ahead; settle the attempt with its id afterwards.
    Granted(i64),
    /// Over a limit: seconds until the oldest counted attempt leaves the 15-minute window.
    Refused { wait_secs: i64, by_ip: bool },
}

/// Reserves one password check for `email` from `ip`, or refuses it. The advisory locks make the
/// count and the insert one step for each e-mail and IP, whatever runs in parallel.
pub async fn reserve(
    pool: &PgPool,
    email: &str,
    ip: Option<&str>,
) -> Result<Reservation, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // A flood of attempts for one e-mail waits briefly, then is refused, instead of holding the
    // pool's connections while it queues.
    sqlx::query!("SET LOCAL lock_timeout = '2s'")
        .execute(&mut *tx)
        .await?;
    // Always e-mail first, then IP: two requests never wait on each other in a cycle.
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended('login-email:' || $1, 0))",
        email
    )
    .execute(&mut *tx)
    .await?;
    if let Some(ip) = ip {
        sqlx::query!(
            "SELECT pg_advisory_xact_lock(hashtextextended('login-ip:' || $1, 0))",
            ip
        )
        .execute(&mut *tx)
        .await?;
    }
    let r = sqlx::query!(
        r#"SELECT
             (SELECT count(*) FROM login_attempts
              WHERE email = $1 AND succeeded IS NOT TRUE
                AND created_at > now() - interval '15 minutes') AS "by_email!",
             (SELECT COALESCE(EXTRACT(EPOCH FROM (min(created_at) + interval '15 minutes' - now()))::bigint, 0)
              FROM login_attempts
              WHERE email = $1 AND succeeded IS NOT TRUE
                AND created_at > now() - interval '15 minutes') AS "email_wait!",
             (SELECT count(*) FROM login_attempts
              WHERE ip = $2 AND succeeded IS NOT TRUE
                AND created_at > now() - interval '15 minutes') AS "by_ip!",
             (SELECT COALESCE(EXTRACT(EPOCH FROM (min(created_at) + interval '15 minutes' - now()))::bigint, 0)
              FROM login_attempts
              WHERE ip = $2 AND succeeded IS NOT TRUE
                AND created_at > now() - interval '15 minutes') AS "ip_wait!""#,
        email,
        ip
    )
    .fetch_one(&mut *tx)
    .await?;
    if r.by_email >= PER_EMAIL {
        return Ok(Reservation::Refused {
            wait_secs: r.email_wait,
            by_ip: false,
        });
    }
    if r.by_ip >= PER_IP {
        return Ok(Reservation::Refused {
            wait_secs: r.ip_wait,
            by_ip: true,
        });
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

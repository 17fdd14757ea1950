//! Bulk-lookup jobs and their rows: create, claim with a token, heartbeat, record results, list.

use std::time::Duration;

use sqlx::{PgExecutor, Postgres, Transaction};
use time::OffsetDateTime;

/// One input line as stored: what was written, and its E.164 form or why it has none.
pub struct NewRow<'a> {
    pub input: &'a str,
    pub e164: Result<&'a str, &'a str>,
}

pub async fn create(
    tx: &mut Transaction<'_, Postgres>,
    org_id: i64,
    user_id: i64,
    filename: &str,
    rows: &[NewRow<'_>],
) -> Result<i64, sqlx::Error> {
    let id = sqlx::query_scalar!(
        "INSERT INTO lookup_jobs (org_id, user_id, filename, total) VALUES ($1, $2, $3, $4)
         RETURNING id",
        org_id,
        user_id,
        filename,
        rows.len() as i32
    )
    .fetch_one(&mut **tx)
    .await?;
    let row_no: Vec<i32> = (1..=rows.len() as i32).collect();
    let input: Vec<String> = rows.iter().map(|r| r.input.to_string()).collect();
    let e164: Vec<Option<String>> = rows
        .iter()
        .map(|r| r.e164.ok().map(str::to_string))
        .collect();
    let error: Vec<Option<String>> = rows
        .iter()
        .map(|r| r.e164.err().map(str::to_string))
        .collect();
    sqlx::query!(
        r#"INSERT INTO lookup_job_rows (job_id, row_no, input, e164, status, error)
           SELECT $1, r.row_no, r.input, r.e164,
                  CASE WHEN r.e164 IS NULL THEN 'error' ELSE 'pending' END, r.error
           FROM UNNEST($2::int4[], $3::text[], $4::text[], $5::text[])
                AS r(row_no, input, e164, error)"#,
        id,
        &row_no,
        &input,
        &e164 as &[Option<String>],
        &error as &[Option<String>],
    )
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// A job a worker holds: `token` proves the claim is still its own.
pub struct Claimed {
    pub id: i64,
    pub org_id: i64,
    pub user_id: Option<i64>,
    pub token: String,
}

/// Claims the next job: a queued one, or a running one whose heartbeat is older than
/// `stale_after`. Round-robin by org: among those, the job of the org with the fewest running jobs,
/// then of the org whose last claim is oldest (never claimed first), then the oldest job. Parallel
/// workers skip each other's candidates (`FOR UPDATE SKIP LOCKED`), and the claim is noted for
/// the org in the same statement.
pub async fn claim(
    db: impl PgExecutor<'_>,
    token: &str,
    stale_after: Duration,
) -> Result<Option<Claimed>, sqlx::Error> {
    sqlx::query_as!(
        Claimed,
        r#"WITH next AS (
               SELECT j.id FROM lookup_jobs j
               LEFT JOIN lookup_job_claims c ON c.org_id = j.org_id
               WHERE j.status = 'queued'
                  OR (j.status = 'running'
                      AND j.heartbeat_at < now() - make_interval(secs => $1))
               ORDER BY (SELECT count(*) FROM lookup_jobs r
                         WHERE r.org_id = j.org_id AND r.status = 'running'
                           AND r.heartbeat_at >= now() - make_interval(secs => $1)),
                        c.last_claimed_at ASC NULLS FIRST,
                        j.id
               LIMIT 1
               FOR UPDATE OF j SKIP LOCKED),
           claimed AS (
               UPDATE lookup_jobs SET status = 'running', heartbeat_at = now(), claim_token = $2,
                   started_at = coalesce(started_at, now())
               WHERE id = (SELECT id FROM next)
               RETURNING id, org_id, user_id, claim_token),
           noted AS (
               INSERT INTO lookup_job_claims (org_id, last_claimed_at)
               SELECT org_id, clock_timestamp() FROM claimed
               ON CONFLICT (org_id) DO UPDATE SET last_claimed_at = EXCLUDED.last_claimed_at)
           SELECT id AS "id!", org_id AS "org_id!", user_id AS "user_id?",
                  claim_token AS "token!"
           FROM claimed"#,
        stale_after.as_secs_f64(),
        token
    )
    .fetch_optional(db)
    .await
}

/// Takes the org's bulk-queue lock until the transaction ends (counting its open jobs and adding
/// one are then one step).
pub async fn lock_org_queue(
    tx: &mut Transaction<'_, Postgres>,
    org_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended('lookup_jobs:' || $1::int8, 0))",
        org_id
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The org's jobs still queued or running.
pub async fn open_for_org(db: impl PgExecutor<'_>, org_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM lookup_jobs
           WHERE org_id = $1 AND status IN ('queued', 'running')"#,
        org_id
    )
    .fetch_one(db)
    .await
}

/// The next distinct numbers of the job still to look up.
pub async fn pending_numbers(
    db: impl PgExecutor<'_>,
    job_id: i64,
    limit: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT DISTINCT e164 AS "e164!" FROM lookup_job_rows
           WHERE job_id = $1 AND status = 'pending' AND e164 IS NOT NULL
           ORDER BY 1 LIMIT $2"#,
        job_id,
        limit
    )
    .fetch_all(db)
    .await
}

pub async fn finish(db: impl PgExecutor<'_>, job: &Claimed) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE lookup_jobs SET status = 'done', finished_at = now()
         WHERE id = $1 AND claim_token = $2",
        job.id,
        job.token
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Hands a claimed job back to the queue (a stopping server), for the next worker to go on with.
pub async fn requeue(db: impl PgExecutor<'_>, job: &Claimed) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE lookup_jobs SET status = 'queued', claim_token = NULL, heartbeat_at = NULL
         WHERE id = $1 AND claim_token = $2 AND status = 'running'",
        job.id,
        job.token
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Pauses the job at a hard cap: every row still pending is marked `capped` with `msg` (the
/// budget's sentence), for `resume` to put back in the queue.
pub async fn pause(db: impl PgExecutor<'_>, job: &Claimed, msg: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"WITH rows AS (
               UPDATE lookup_job_rows SET status = 'capped', error = $3
               WHERE job_id = $1 AND status = 'pending')
           UPDATE lookup_jobs SET status = 'paused', error = $3, claim_token = NULL,
                  heartbeat_at = NULL
           WHERE id = $1 AND claim_token = $2"#,
        job.id,
        job.token,
        msg
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Puts a paused job of the org (started by `only_user`, if given) back in the queue with its
/// capped rows; whether there was such a job.
pub async fn resume(
    db: impl PgExecutor<'_>,
    org_id: i64,
    job_id: i64,
    only_user: Option<i64>,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query_scalar!(
        r#"WITH job AS (
               UPDATE lookup_jobs SET status = 'queued', error = NULL
               WHERE id = $1 AND org_id = $2 AND status = 'paused'
                 AND ($3::bigint IS NULL OR user_id = $3)
               RETURNING id),
           rows AS (
               UPDATE lookup_job_rows SET status = 'pending', error = NULL
               WHERE job_id = (SELECT id FROM job) AND status = 'capped')
           SELECT count(*) AS "n!" FROM job"#,
        job_id,
        org_id,
        only_user
    )
    .fetch_one(db)
    .await?
        > 0)
}

/// Fails the job and every row still pending with `msg`.
pub async fn fail(
    tx: &mut Transaction<'_, Postgres>,
    job_id: i64,
    msg: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE lookup_job_rows SET status = 'error', error = $2
         WHERE job_id = $1 AND status = 'pending'",
        job_id,
        msg
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "UPDATE lookup_jobs SET status = 'failed', error = $2, finished_at = now()
         WHERE id = $1",
        job_id,
        msg
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Records a number's result on its pending rows: the first row with the number carries the
/// outcome; repeats are marked `duplicate` (they cost nothing).
pub async fn record_result(
    db: impl PgExecutor<'_>,
    job_id: i64,
    e164: &str,
    status: &str,
    outcome: Option<&str>,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE lookup_job_rows r SET status = $3, error = $5,
               outcome = CASE WHEN r.row_no = (SELECT min(row_no) FROM lookup_job_rows
                                              WHERE job_id = $1 AND e164 = $2)
                              THEN $4 ELSE 'duplicate' END
           WHERE r.job_id = $1 AND r.e164 = $2 AND r.status = 'pending'"#,
        job_id,
        e164,
        status,
        outcome,
        error
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Refreshes the job's heartbeat; false when another worker has claimed it since.
pub async fn heartbeat(db: impl PgExecutor<'_>, job: &Claimed) -> Result<bool, sqlx::Error> {
    let r = sqlx::query!(
        "UPDATE lookup_jobs SET heartbeat_at = now()
         WHERE id = $1 AND claim_token = $2 AND status = 'running'",
        job.id,
        job.token
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// A job with its progress: rows processed and failed so far.
pub struct JobRow {
    pub id: i64,
    pub filename: String,
    pub status: String,
    pub total: i64,
    pub processed: i64,
    pub errors: i64,
    pub created_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
    /// Who uploaded it ("deleted user" once their account is gone).
    pub user: String,
    pub error: Option<String>,
}

/// The org's last 20 jobs (or just `job`), newest first.
pub async fn for_org(
    db: impl PgExecutor<'_>,
    org_id: i64,
    job: Option<i64>,
) -> Result<Vec<JobRow>, sqlx::Error> {
    sqlx::query_as!(
        JobRow,
        r#"SELECT j.id, j.filename, j.status, j.total::int8 AS "total!",
                  (SELECT count(*) FROM lookup_job_rows r
                   WHERE r.job_id = j.id AND r.status NOT IN ('pending', 'capped')) AS "processed!",
                  (SELECT count(*) FROM lookup_job_rows r
                   WHERE r.job_id = j.id AND r.status = 'error') AS "errors!",
                  j.created_at AS "created_at!", j.finished_at AS "finished_at?",
                  coalesce(u.email, 'deleted user') AS "user!", j.error
           FROM lookup_jobs j LEFT JOIN users u ON u.id = j.user_id
           WHERE j.org_id = $1 AND ($2::int8 IS NULL OR j.id = $2)
           ORDER BY j.id DESC LIMIT 20"#,
        org_id,
        job
    )
    .fetch_all(db)
    .await
}

pub async fn belongs_to(
    db: impl PgExecutor<'_>,
    job_id: i64,
    org_id: i64,
) -> Result<bool, sqlx::Error> {
    let found = sqlx::query_scalar!(
        "SELECT id FROM lookup_jobs WHERE id = $1 AND org_id = $2",
        job_id,
        org_id
    )
    .fetch_optional(db)
    .await?;
    Ok(found.is_some())
}

/// One input line of a job with the cached answer for its number (when it was looked up).
pub struct ResultRow {
    pub row_no: i32,
    pub input: String,
    pub e164: Option<String>,
    pub status: String,
    pub outcome: Option<String>,
    pub error: Option<String>,
    pub national_format: Option<String>,
    pub country_code: Option<String>,
    pub line_type: Option<String>,
    pub carrier_name: Option<String>,
    pub is_mobile: Option<bool>,
    pub is_voip: Option<bool>,
    pub caller_name: Option<String>,
}

pub async fn results(db: impl PgExecutor<'_>, job_id: i64) -> Result<Vec<ResultRow>, sqlx::Error> {
    sqlx::query_as!(
        ResultRow,
        r#"SELECT r.row_no, r.input, r.e164, r.status, r.outcome, r.error,
                  n.national_format, n.country_code, n.line_type, n.carrier_name, n.is_mobile,
                  n.is_voip, n.caller_name
           FROM lookup_job_rows r LEFT JOIN phone_numbers n ON n.e164 = r.e164 AND r.status = 'done'
           WHERE r.job_id = $1 ORDER BY r.row_no"#,
        job_id
    )
    .fetch_all(db)
    .await
}

/// Bulk jobs waiting or running, and the age of the oldest of each (for `/metrics`).
#[derive(Debug, Clone, Copy, Default)]
pub struct QueueStats {
    pub queued: i64,
    pub running: i64,
    pub oldest_queued_secs: f64,
    pub oldest_running_secs: f64,
}

pub async fn queue_stats(db: impl PgExecutor<'_>) -> Result<QueueStats, sqlx::Error> {
    let r = sqlx::query!(
        r#"SELECT count(*) FILTER (WHERE status = 'queued') AS "queued!",
                  count(*) FILTER (WHERE status = 'running') AS "running!",
                  coalesce(extract(epoch FROM now() - min(created_at) FILTER (WHERE status = 'queued')), 0)::float8 AS "oldest_queued!",
                  coalesce(extract(epoch FROM now() - min(started_at) FILTER (WHERE status = 'running')), 0)::float8 AS "oldest_running!"
           FROM lookup_jobs WHERE status IN ('queued', 'running')"#
    )
    .fetch_one(db)
    .await?;
    Ok(QueueStats {
        queued: r.queued,
        running: r.running,
        oldest_queued_secs: r.oldest_queued,
        oldest_running_secs: r.oldest_running,
    })
}

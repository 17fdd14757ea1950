//! The recording consent announcement (and its uploaded audio), and retention: each org's periods,
//! what has expired, and the record of each run.

use sqlx::PgExecutor;
use time::OffsetDateTime;

pub struct ConsentRow {
    pub announce: bool,
    pub message: Option<String>,
    pub language: String,
    pub off_reason: String,
    pub updated_at: Option<OffsetDateTime>,
}

pub async fn consent(
    db: impl PgExecutor<'_>,
    org_id: i64,
) -> Result<Option<ConsentRow>, sqlx::Error> {
    sqlx::query_as!(
        ConsentRow,
        r#"SELECT announce, message, language, off_reason, updated_at AS "updated_at?"
           FROM recording_consent WHERE org_id = $1"#,
        org_id
    )
    .fetch_optional(db)
    .await
}

pub struct NewConsent<'a> {
    pub announce: bool,
    pub message: Option<&'a str>,
    pub language: &'a str,
    pub off_reason: &'a str,
}

pub async fn save_consent(
    db: impl PgExecutor<'_>,
    org_id: i64,
    c: &NewConsent<'_>,
    (actor, at): (i64, OffsetDateTime),
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO recording_consent (org_id, announce, message, language, off_reason,
                                        updated_by, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (org_id) DO UPDATE
             SET announce = EXCLUDED.announce, message = EXCLUDED.message,
                 language = EXCLUDED.language, off_reason = EXCLUDED.off_reason,
                 updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at",
        org_id,
        c.announce,
        c.message,
        c.language,
        c.off_reason,
        actor,
        at
    )
    .execute(db)
    .await?;
    Ok(())
}

/// What a recorded call of the org announces: the settings (none saved: the defaults), the org's
/// country (whose language the default speaks) and the uploaded audio's token.
pub struct Announcement {
    pub announce: Option<bool>,
    pub message: Option<String>,
    pub language: Option<String>,
    pub country: String,
    pub audio_token: Option<String>,
}

pub async fn announcement(
    db: impl PgExecutor<'_>,
    org_id: i64,
) -> Result<Option<Announcement>, sqlx::Error> {
    sqlx::query_as!(
        Announcement,
        r#"SELECT c.announce AS "announce?", c.message AS "message?", c.language AS "language?",
                  o.country, a.token AS "audio_token?"
           FROM orgs o
           LEFT JOIN recording_consent c ON c.org_id = o.id
           LEFT JOIN consent_audio a ON a.org_id = o.id
           WHERE o.id = $1"#,
        org_id
    )
    .fetch_optional(db)
    .await
}

pub struct AudioMeta {
    pub content_type: String,
    pub file_name: String,
    pub size: i32,
    pub uploaded_at: OffsetDateTime,
}

pub async fn audio_meta(
    db: impl PgExecutor<'_>,
    org_id: i64,
) -> Result<Option<AudioMeta>, sqlx::Error> {
    sqlx::query_as!(
        AudioMeta,
        r#"SELECT content_type, file_name, octet_length(bytes) AS "size!", uploaded_at
           FROM consent_audio WHERE org_id = $1"#,
        org_id
    )
    .fetch_optional(db)
    .await
}

pub struct AudioFile {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

pub async fn audio_by_token(
    db: impl PgExecutor<'_>,
    token: &str,
) -> Result<Option<AudioFile>, sqlx::Error> {
    sqlx::query_as!(
        AudioFile,
        "SELECT content_type, bytes FROM consent_audio WHERE token = $1",
        token
    )
    .fetch_optional(db)
    .await
}

pub struct NewAudio<'a> {
    pub token: &'a str,
    pub content_type: &'a str,
    pub file_name: &'a str,
    pub bytes: &'a [u8],
}

pub async fn save_audio(
    db: impl PgExecutor<'_>,
    org_id: i64,
    a: &NewAudio<'_>,
    (actor, at): (i64, OffsetDateTime),
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO consent_audio (org_id, token, content_type, file_name, bytes, uploaded_by,
                                    uploaded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (org_id) DO UPDATE
             SET token = EXCLUDED.token, content_type = EXCLUDED.content_type,
                 file_name = EXCLUDED.file_name, bytes = EXCLUDED.bytes,
                 uploaded_by = EXCLUDED.uploaded_by, uploaded_at = EXCLUDED.uploaded_at",
        org_id,
        a.token,
        a.content_type,
        a.file_name,
        a.bytes,
        actor,
        at
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn delete_audio(db: impl PgExecutor<'_>, org_id: i64) -> Result<bool, sqlx::Error> {
    let r = sqlx::query!("DELETE FROM consent_audio WHERE org_id = $1", org_id)
        .execute(db)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// An org's retention periods in days (None: kept).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Periods {
    pub recordings_days: Option<i32>,
    pub bodies_days: Option<i32>,
    pub records_days: Option<i32>,
    pub lookups_days: Option<i32>,
}

pub struct PolicyRow {
    pub org_id: i64,
    pub recordings_days: Option<i32>,
    pub bodies_days: Option<i32>,
    pub records_days: Option<i32>,
    pub lookups_days: Option<i32>,
    pub next_run_at: OffsetDateTime,
}

impl PolicyRow {
    pub fn periods(&self) -> Periods {
        Periods {
            recordings_days: self.recordings_days,
            bodies_days: self.bodies_days,
            records_days: self.records_days,
            lookups_days: self.lookups_days,
        }
    }
}

pub async fn policy(
    db: impl PgExecutor<'_>,
    org_id: i64,
) -> Result<Option<PolicyRow>, sqlx::Error> {
    sqlx::query_as!(
        PolicyRow,
        "SELECT org_id, recordings_days, bodies_days, records_days, lookups_days, next_run_at
         FROM retention_policies WHERE org_id = $1",
        org_id
    )
    .fetch_optional(db)
    .await
}

/// Saves the periods; the first run is due at the next 03:00 of the org's time zone.
pub async fn save_policy(
    db: impl PgExecutor<'_>,
    org_id: i64,
    p: &Periods,
    (actor, at): (i64, OffsetDateTime),
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO retention_policies (org_id, recordings_days, bodies_days, records_days,
                                         lookups_days, next_run_at, updated_by, updated_at)
         SELECT $1, $2, $3, $4, $5,
                (date_trunc('day', $7 AT TIME ZONE o.time_zone) + interval '1 day 3 hours')
                    AT TIME ZONE o.time_zone,
                $6, $7
         FROM orgs o WHERE o.id = $1
         ON CONFLICT (org_id) DO UPDATE
             SET recordings_days = EXCLUDED.recordings_days, bodies_days = EXCLUDED.bodies_days,
                 records_days = EXCLUDED.records_days, lookups_days = EXCLUDED.lookups_days,
                 next_run_at = least(retention_policies.next_run_at, EXCLUDED.next_run_at),
                 updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at",
        org_id,
        p.recordings_days,
        p.bodies_days,
        p.records_days,
        p.lookups_days,
        actor,
        at
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Claims up to `limit` orgs whose run is due: each is moved to its next night (or `soon`, while
/// `backlog` says the last run stopped at its batch limit) before it runs, so another server
/// skips it.
pub async fn claim_due(
    db: impl PgExecutor<'_>,
    now: OffsetDateTime,
    limit: i64,
) -> Result<Vec<PolicyRow>, sqlx::Error> {
    sqlx::query_as!(
        PolicyRow,
        "UPDATE retention_policies p
            SET next_run_at = (date_trunc('day', $1 AT TIME ZONE o.time_zone)
                               + interval '1 day 3 hours') AT TIME ZONE o.time_zone
           FROM orgs o
          WHERE o.id = p.org_id
            AND p.org_id IN (SELECT org_id FROM retention_policies WHERE next_run_at <= $1
                             ORDER BY next_run_at LIMIT $2 FOR UPDATE SKIP LOCKED)
          RETURNING p.org_id, p.recordings_days, p.bodies_days, p.records_days, p.lookups_days,
                    p.next_run_at",
        now,
        limit
    )
    .fetch_all(db)
    .await
}

/// Runs the org again at `at` (a backlog remains).
pub async fn run_again(
    db: impl PgExecutor<'_>,
    org_id: i64,
    at: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE retention_policies SET next_run_at = least(next_run_at, $2) WHERE org_id = $1",
        org_id,
        at
    )
    .execute(db)
    .await?;
    Ok(())
}

pub struct ExpiredRecording {
    pub id: i64,
    pub provider_sid: String,
    pub config_id: Option<i64>,
}

/// The recordings of the org's calls made before `cutoff` (a recording is never older than its
/// call), oldest first.
pub async fn expired_recordings(
    db: impl PgExecutor<'_>,
    org_id: i64,
    cutoff: OffsetDateTime,
    limit: i64,
) -> Result<Vec<ExpiredRecording>, sqlx::Error> {
    sqlx::query_as!(
        ExpiredRecording,
        "SELECT r.id, r.provider_sid, c.config_id
         FROM call_recordings r JOIN calls c ON c.id = r.call_id
         WHERE c.org_id = $1 AND c.created_at < $2
         ORDER BY c.created_at LIMIT $3",
        org_id,
        cutoff,
        limit
    )
    .fetch_all(db)
    .await
}

pub async fn delete_recording(db: impl PgExecutor<'_>, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM call_recordings WHERE id = $1", id)
        .execute(db)
        .await?;
    Ok(())
}

pub struct ExpiredBody {
    pub id: i64,
    pub provider_sid: Option<String>,
    pub config_id: Option<i64>,
    pub is_test: bool,
}

/// The org's message bodies from before `cutoff` not yet redacted (a text still waiting to be
/// sent, or held for an admin's review, keeps its body), oldest first.
pub async fn expired_bodies(
    db: impl PgExecutor<'_>,
    org_id: i64,
    cutoff: OffsetDateTime,
    limit: i64,
) -> Result<Vec<ExpiredBody>, sqlx::Error> {
    sqlx::query_as!(
        ExpiredBody,
        "SELECT id, provider_sid, config_id, is_test FROM messages
         WHERE org_id = $1 AND created_at < $2 AND redacted_at IS NULL
           AND status NOT IN ('queued', 'held', 'scheduled')
         ORDER BY created_at LIMIT $3",
        org_id,
        cutoff,
        limit
    )
    .fetch_all(db)
    .await
}

pub async fn redact_body(
    db: impl PgExecutor<'_>,
    id: i64,
    at: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE messages SET body = '', redacted_at = $2 WHERE id = $1 AND redacted_at IS NULL",
        id,
        at
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Deletes up to `limit` of the org's calls from before `cutoff`, in a month its statement closed,
/// whose cost that statement stated (so no statement or total loses a sum) and whose recordings
/// are gone. The conditions are checked again on the row deleted: a price or a recording that
/// arrived meanwhile keeps it.
pub async fn delete_calls(
    db: impl PgExecutor<'_>,
    org_id: i64,
    cutoff: OffsetDateTime,
    limit: i64,
) -> Result<u64, sqlx::Error> {
    let r = sqlx::query!(
        "DELETE FROM calls c
         WHERE c.id IN (SELECT x.id FROM calls x WHERE x.org_id = $1 AND x.created_at < $2
                                                 AND x.created_at < closed_end($1)
                                                 AND x.cost_micros = coalesce(x.stated_micros, 0)
                        ORDER BY x.created_at LIMIT $3)
           AND c.cost_micros = coalesce(c.stated_micros, 0)
           AND c.recording_cost_micros = coalesce(c.stated_recording_micros, 0)
           AND NOT EXISTS (SELECT 1 FROM call_recordings r WHERE r.call_id = c.id)",
        org_id,
        cutoff,
        limit
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected())
}

/// As [`delete_calls`] for messages: stated, not waiting to be sent or held for review, and with
/// no body left at the provider (redacted, or never sent to one).
pub async fn delete_messages(
    db: impl PgExecutor<'_>,
    org_id: i64,
    cutoff: OffsetDateTime,
    limit: i64,
) -> Result<u64, sqlx::Error> {
    let r = sqlx::query!(
        "DELETE FROM messages m
         WHERE m.id IN (SELECT x.id FROM messages x WHERE x.org_id = $1 AND x.created_at < $2
                                                    AND x.created_at < closed_end($1)
                                                    AND x.status NOT IN ('queued', 'held', 'scheduled')
                        ORDER BY x.created_at LIMIT $3)
           AND m.status NOT IN ('queued', 'held', 'scheduled')
           AND m.cost_micros = coalesce(m.stated_micros, 0)
           AND (m.redacted_at IS NOT NULL OR m.provider_sid IS NULL OR m.is_test)",
        org_id,
        cutoff,
        limit
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected())
}

/// As [`delete_calls`] for the org's lookup events (a free one too: the statement of its month
/// counted it as a cache hit before it goes).
pub async fn delete_lookups(
    db: impl PgExecutor<'_>,
    org_id: i64,
    cutoff: OffsetDateTime,
    limit: i64,
) -> Result<u64, sqlx::Error> {
    let r = sqlx::query!(
        "DELETE FROM lookup_events l
         WHERE l.id IN (SELECT x.id FROM lookup_events x WHERE x.org_id = $1 AND x.created_at < $2
                                                         AND x.created_at < closed_end($1)
                        ORDER BY x.created_at LIMIT $3)
           AND l.cost_micros = coalesce(l.stated_micros, 0)",
        org_id,
        cutoff,
        limit
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected())
}

/// What one run did, in counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RunCounts {
    pub recordings_deleted: i32,
    pub provider_deleted: i32,
    pub bodies_redacted: i32,
    pub provider_redacted: i32,
    pub calls_deleted: i32,
    pub messages_deleted: i32,
    pub lookups_deleted: i32,
    pub failures: i32,
}

pub async fn insert_run(
    db: impl PgExecutor<'_>,
    org_id: i64,
    at: OffsetDateTime,
    c: &RunCounts,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO retention_runs (org_id, at, recordings_deleted, provider_deleted,
                                     bodies_redacted, provider_redacted, calls_deleted,
                                     messages_deleted, lookups_deleted, failures)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        org_id,
        at,
        c.recordings_deleted,
        c.provider_deleted,
        c.bodies_redacted,
        c.provider_redacted,
        c.calls_deleted,
        c.messages_deleted,
        c.lookups_deleted,
        c.failures
    )
    .execute(db)
    .await?;
    Ok(())
}

pub struct RunRow {
    pub at: OffsetDateTime,
    pub recordings_deleted: i32,
    pub provider_deleted: i32,
    pub bodies_redacted: i32,
    pub provider_redacted: i32,
    pub calls_deleted: i32,
    pub messages_deleted: i32,
    pub lookups_deleted: i32,
    pub failures: i32,
}

/// The org's latest runs, newest first.
pub async fn runs(
    db: impl PgExecutor<'_>,
    org_id: i64,
    limit: i64,
) -> Result<Vec<RunRow>, sqlx::Error> {
    sqlx::query_as!(
        RunRow,
        "SELECT at, recordings_deleted, provider_deleted, bodies_redacted, provider_redacted,
                calls_deleted, messages_deleted, lookups_deleted, failures
         FROM retention_runs WHERE org_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
        org_id,
        limit
    )
    .fetch_all(db)
    .await
}

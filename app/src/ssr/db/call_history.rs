//! The call history and one call's page: keyset pages, events and recordings.

use sqlx::{PgExecutor, Postgres, Transaction};

use crate::model::calls::{CallStatus, NumberOption};

/// Numbers of the org the history can be filtered by (the user's own view: theirs and shared).
pub async fn filter_numbers(
    db: impl PgExecutor<'_>,
    org_id: i64,
    user_id: Option<i64>,
) -> Result<Vec<NumberOption>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id, e164, friendly_name FROM owned_numbers
           WHERE org_id = $1 AND status <> 'failed' AND ($2::int8 IS NULL OR user_id = $2 OR shared)
           ORDER BY e164, id"#,
        org_id,
        user_id
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| NumberOption {
            id: r.id,
            e164: r.e164,
            friendly_name: r.friendly_name,
            forward_to: String::new(),
        })
        .collect())
}

/// The history's filters as the query binds them.
pub struct HistoryQuery<'a> {
    pub org_id: i64,
    pub user_id: Option<i64>,
    pub status: Option<CallStatus>,
    pub direction: Option<&'a str>,
    pub number: Option<i64>,
    pub from: Option<time::Date>,
    pub to: Option<time::Date>,
    pub recorded: bool,
    pub q: Option<&'a str>,
    pub before_micros: Option<i64>,
    pub before_id: Option<i64>,
    pub limit: i64,
}

/// One row of the history.
pub struct HistoryRecord {
    pub id: i64,
    pub direction: String,
    pub from_e164: String,
    pub to_e164: String,
    pub status: CallStatus,
    pub duration_secs: Option<i32>,
    pub cost: i64,
    pub recording_count: i32,
    pub user: String,
    pub created_at: time::OffsetDateTime,
    pub micros: i64,
    pub blocked: Option<String>,
}

pub async fn history(
    tx: &mut Transaction<'_, Postgres>,
    f: &HistoryQuery<'_>,
) -> Result<Vec<HistoryRecord>, sqlx::Error> {
    sqlx::query_as!(
        HistoryRecord,
        r#"SELECT c.id, c.direction, c.from_e164, c.to_e164, c.status AS "status: CallStatus",
                  c.duration_secs, c.cost_micros + c.recording_cost_micros AS "cost!", c.recording_count,
                  coalesce(u.email, '—') AS "user!",
                  c.created_at AS "created_at!",
                  ((extract(epoch FROM c.created_at) * 1000000)::int8) AS "micros!", c.blocked
           FROM calls c LEFT JOIN users u ON u.id = c.user_id
           WHERE c.org_id = $1
             AND ($2::int8 IS NULL OR c.user_id = $2)
             AND ($3::text IS NULL OR c.status = $3)
             AND ($4::text IS NULL OR c.direction = $4)
             AND ($5::int8 IS NULL OR c.number_id = $5)
             AND ($6::date IS NULL OR c.created_at >= ($6::date)::timestamp AT TIME ZONE 'UTC')
             AND ($7::date IS NULL OR c.created_at < ($7::date + 1)::timestamp AT TIME ZONE 'UTC')
             AND (NOT $8 OR c.recording_count > 0)
             AND ($9::text IS NULL OR c.from_e164 LIKE '%' || $9 || '%' OR c.to_e164 LIKE '%' || $9 || '%')
             AND ($10::int8 IS NULL OR (c.created_at, c.id) <
                  (timestamptz 'epoch' + $10 * interval '1 microsecond', $11::int8))
           ORDER BY c.created_at DESC, c.id DESC
           LIMIT $12"#,
        f.org_id,
        f.user_id,
        f.status as Option<CallStatus>,
        f.direction,
        f.number,
        f.from,
        f.to,
        f.recorded,
        f.q,
        f.before_micros,
        f.before_id,
        f.limit
    )
    .fetch_all(&mut **tx)
    .await
}

/// One call as its page shows it.
pub struct DetailRecord {
    pub id: i64,
    pub direction: String,
    pub from_e164: String,
    pub to_e164: String,
    pub status: CallStatus,
    pub duration_secs: Option<i32>,
    pub cost_micros: i64,
    pub recording_cost_micros: i64,
    pub recording_count: i32,
    pub bridge_e164: Option<String>,
    pub number_id: Option<i64>,
    pub error_message: Option<String>,
    pub user: String,
    pub created: time::OffsetDateTime,
    pub started: Option<time::OffsetDateTime>,
    pub ended: Option<time::OffsetDateTime>,
    pub live: bool,
    pub blocked: Option<String>,
}

pub async fn detail(
    db: impl PgExecutor<'_>,
    org_id: i64,
    id: i64,
    user_id: Option<i64>,
) -> Result<Option<DetailRecord>, sqlx::Error> {
    sqlx::query_as!(
        DetailRecord,
        r#"SELECT c.id, c.direction, c.from_e164, c.to_e164, c.status AS "status: CallStatus",
                  c.duration_secs, c.cost_micros, c.recording_cost_micros, c.recording_count, c.bridge_e164,
                  c.number_id, c.error_message, coalesce(u.email, '—') AS "user!",
                  c.created_at AS created, c.started_at AS started, c.ended_at AS ended,
                  ((c.ended_at IS NULL AND c.created_at > now() - interval '1 hour')
                   OR c.ended_at > now() - interval '20 seconds') AS "live!", c.blocked
           FROM calls c LEFT JOIN users u ON u.id = c.user_id
           WHERE c.id = $1 AND c.org_id = $2 AND ($3::int8 IS NULL OR c.user_id = $3)"#,
        id,
        org_id,
        user_id
    )
    .fetch_optional(db)
    .await
}

/// A status the provider reported for a call, and when it arrived.
pub struct EventRecord {
    pub status: CallStatus,
    pub at: time::OffsetDateTime,
}

pub async fn events(
    db: impl PgExecutor<'_>,
    call_id: i64,
) -> Result<Vec<EventRecord>, sqlx::Error> {
    sqlx::query_as!(
        EventRecord,
        r#"SELECT status AS "status: CallStatus", received_at AS at
           FROM call_events WHERE call_id = $1 ORDER BY received_at, id"#,
        call_id
    )
    .fetch_all(db)
    .await
}

pub struct RecordingRecord {
    pub id: i64,
    pub duration_secs: i32,
    pub cost_micros: i64,
    pub created: time::OffsetDateTime,
}

pub async fn recordings(
    db: impl PgExecutor<'_>,
    call_id: i64,
) -> Result<Vec<RecordingRecord>, sqlx::Error> {
    sqlx::query_as!(
        RecordingRecord,
        r#"SELECT id, duration_secs, cost_micros, created_at AS created
           FROM call_recordings WHERE call_id = $1 ORDER BY id"#,
        call_id
    )
    .fetch_all(db)
    .await
}

/// Where a recording is kept at the provider, for a user allowed to see its call.
pub struct RecordingSource {
    pub provider_sid: String,
    pub config_id: Option<i64>,
}

pub async fn recording_source(
    db: impl PgExecutor<'_>,
    org_id: i64,
    call_id: i64,
    recording_id: i64,
    user_id: Option<i64>,
) -> Result<Option<RecordingSource>, sqlx::Error> {
    sqlx::query_as!(
        RecordingSource,
        r#"SELECT r.provider_sid, c.config_id FROM call_recordings r JOIN calls c ON c.id = r.call_id
           WHERE r.id = $1 AND c.id = $2 AND c.org_id = $3 AND ($4::int8 IS NULL OR c.user_id = $4)"#,
        recording_id,
        call_id,
        org_id,
        user_id
    )
    .fetch_optional(db)
    .await
}

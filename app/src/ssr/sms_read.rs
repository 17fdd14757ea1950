//! Reading messages: who sees which (`MessageScope`), the keyset list behind the SMS pages and
//! `/v1/messages`, conversations and one thread.

use sqlx::PgPool;

use super::db;
use super::db::sms::MessageRecord;
use super::format;
use crate::model::cursor::Cursor;
use crate::model::message_status::MessageStatus;
use crate::model::money::Money;
use crate::model::sms::*;

/// Who may see which messages: admins and support all of the org's; members their own and those
/// on team numbers.
#[derive(Debug, Clone, Copy)]
pub struct MessageScope {
    pub org_id: i64,
    /// None: everything in the org.
    pub user_id: Option<i64>,
}

/// Messages the caller may see (theirs and shared numbers'; owners, admins and staff: all),
/// newest first, strictly before the keyset position `before`; `id` picks one.
pub async fn messages(
    ctx: &crate::ssr::guard::OrgCtx,
    before: Option<Cursor>,
    id: Option<i64>,
    limit: i64,
) -> Result<Vec<MessageRecord>, sqlx::Error> {
    let q = db::sms::MessageQuery {
        org_id: ctx.org_id,
        user_id: ctx.own_rows_only(),
        our: None,
        other: None,
        before_micros: before.map(|c| c.micros),
        before_id: before.map(|c| c.id),
        id,
        limit,
    };
    read(&ctx.state.pool, &q).await
}

/// The one read of messages, planned for its actual filters.
async fn read(
    pool: &PgPool,
    q: &db::sms::MessageQuery<'_>,
) -> Result<Vec<MessageRecord>, sqlx::Error> {
    let mut tx = db::custom_plans(pool).await?;
    let rows = db::sms::messages(&mut tx, q).await?;
    tx.commit().await?;
    Ok(rows)
}

/// Conversations (our number, other party), newest first.
pub async fn conversations(
    pool: &PgPool,
    scope: MessageScope,
) -> Result<Vec<Conversation>, sqlx::Error> {
    Ok(db::sms::conversations(pool, scope.org_id, scope.user_id)
        .await?
        .into_iter()
        .map(|r| Conversation {
            our: r.our_e164,
            other_shown: r.other_e164.clone(),
            other: r.other_e164,
            last_body: r.body.chars().take(120).collect(),
            last_at: format::utc_minute(r.at),
            last_direction: r.direction,
            count: r.count,
        })
        .collect())
}

/// How many of a conversation's latest messages its thread shows.
const THREAD_LENGTH: i64 = 200;

/// The last 200 messages of one conversation, oldest first.
pub async fn thread(
    pool: &PgPool,
    scope: MessageScope,
    viewer: Viewer,
    our: &str,
    other: &str,
) -> Result<Vec<MessageView>, sqlx::Error> {
    let q = db::sms::MessageQuery {
        org_id: scope.org_id,
        user_id: scope.user_id,
        our: Some(our),
        other: Some(other),
        before_micros: None,
        before_id: None,
        id: None,
        limit: THREAD_LENGTH,
    };
    // The read is newest first; the thread reads down from the oldest.
    Ok(read(pool, &q)
        .await?
        .into_iter()
        .rev()
        .map(|r| MessageView {
            id: r.id,
            direction: r.direction,
            body: r.body,
            status: r.status,
            is_test: r.is_test,
            segments: r.segments,
            cost: Money::from_micros(r.cost_micros).to_string(),
            at: format::utc_minute(r.created_at),
            error: r.error_message,
            user: r.user,
            send_after: r.send_after.map(format::utc_minute),
            can_cancel: r.status == MessageStatus::Scheduled
                && match (viewer.acts, viewer.only_own) {
                    (false, _) => false,
                    (true, None) => true,
                    (true, Some(me)) => r.user_id == Some(me),
                },
        })
        .collect())
}

/// Who reads a thread: whether they may act (not support staff), and their own id when they
/// see only their own and shared rows (a member: they cancel only their own scheduled texts).
#[derive(Debug, Clone, Copy)]
pub struct Viewer {
    pub acts: bool,
    pub only_own: Option<i64>,
}

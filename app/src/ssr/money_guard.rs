//! The money guard: before any provider request, a paid action reserves its estimated cost
//! against every hard cap that covers it (the org's, the member's, each category's; per day and
//! per month in the org's time zone), in the transaction that writes its row. The reservation
//! locks the caps' rows, so parallel actions on any number of servers queue there and never
//! together pass a cap. The hold ends in the statement that writes the real price (settled) or
//! when the action fails (released); one a crash leaves open expires. An SMS, whose price is
//! known, needs no hold: it is written with its price as its cost under the caps' locks
//! (`charge_message`), and written back to 0 if the provider refuses it.

use time::OffsetDateTime;

use super::db;
use super::errors::{CappedBudget, GuardError};

/// What a paid action is, for the budgets that cover it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spend {
    Calls,
    Sms,
    Lookups,
    Numbers,
}

impl Spend {
    pub fn as_str(self) -> &'static str {
        match self {
            Spend::Calls => "calls",
            Spend::Sms => "sms",
            Spend::Lookups => "lookups",
            Spend::Numbers => "numbers",
        }
    }
}

/// How long a hold outlives its action at most (a server stopped between reserving and
/// settling): long enough for any provider answer, short enough not to block a budget for long.
pub const HOLD_TTL_SECS: i64 = 3600;

/// A reservation: the hold to end (None: no hard cap covers the action).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hold {
    pub id: Option<i64>,
    /// How many units were reserved (all asked for when no hard cap covers the action).
    pub units: i32,
    /// What the tightest covering cap has left after this reservation (None: no cap).
    pub remaining_micros: Option<i64>,
}

/// Reserves `micros` (one paid action at a known price) for `who` (org, member if any: None
/// is covered by the org's budgets only) in `tx`, or
/// refuses naming the cap it would pass. Nothing is reserved on refusal (the caller's
/// transaction ends without writing).
pub async fn reserve(
    tx: &mut sqlx::PgConnection,
    who: (i64, Option<i64>),
    spend: Spend,
    micros: i64,
    now: OffsetDateTime,
) -> Result<Hold, GuardError> {
    reserve_units(tx, who, spend, (micros, 1), now).await
}

/// Reserves as many units of `unit` micros as every covering cap has room for, up to
/// `max_units` (a call: minutes at its rate); refuses naming the tightest cap when it has no
/// room for one.
pub async fn reserve_units(
    tx: &mut sqlx::PgConnection,
    (org_id, user_id): (i64, Option<i64>),
    spend: Spend,
    (unit, max_units): (i64, i32),
    now: OffsetDateTime,
) -> Result<Hold, GuardError> {
    let r = db::budgets::reserve(
        tx,
        (org_id, user_id),
        spend.as_str(),
        (unit, max_units),
        now,
        // A call's hold outlives the longest the call may last.
        HOLD_TTL_SECS
            + match spend {
                Spend::Calls => i64::from(max_units) * 60,
                _ => 0,
            },
    )
    .await?;
    held(tx, org_id, r, now).await
}

/// Checks that every hard cap covering a message (for `who`) has room for its price, in `tx`,
/// which then writes the message with that price as its cost: the write books it on the caps,
/// whose rows stay locked until `tx` ends, so no separate hold is made or ended. Refuses naming
/// the tightest cap.
pub async fn charge_message(
    tx: &mut sqlx::PgConnection,
    (org_id, user_id): (i64, Option<i64>),
    micros: i64,
    now: OffsetDateTime,
) -> Result<(), GuardError> {
    if micros <= 0 {
        return Ok(());
    }
    let room = db::budgets::room(tx, (org_id, user_id), Spend::Sms.as_str(), now).await?;
    let r = db::budgets::Reserved {
        hold_id: None,
        units: 1,
        refused: room
            .tightest
            .filter(|_| room.remaining_micros.is_some_and(|l| l < micros)),
        remaining_micros: room.remaining_micros,
    };
    held(tx, org_id, r, now).await.map(|_| ())
}

/// A reservation's answer as a hold, or the refusal naming its cap.
async fn held(
    tx: &mut sqlx::PgConnection,
    org_id: i64,
    r: db::budgets::Reserved,
    now: OffsetDateTime,
) -> Result<Hold, GuardError> {
    if let Some(budget_id) = r.refused {
        let b = db::budgets::get(&mut *tx, org_id, budget_id, now)
            .await?
            .ok_or(GuardError::Db(sqlx::Error::RowNotFound))?;
        return Err(GuardError::Capped(CappedBudget {
            budget_id,
            member: b.user_email,
            category: b.category,
            period: b.period,
            amount_micros: b.amount_micros + b.extra_micros,
            left_micros: r.remaining_micros.unwrap_or(0).max(0),
        }));
    }
    Ok(Hold {
        id: r.hold_id,
        units: r.units,
        remaining_micros: r.remaining_micros,
    })
}

/// Ends `hold` (if any): `settled` in the transaction that writes the real price, else
/// released because the action failed.
pub async fn end(
    db: impl sqlx::PgExecutor<'_>,
    hold: Option<i64>,
    settled: bool,
) -> Result<(), sqlx::Error> {
    match hold {
        Some(id) => db::budgets::end_hold(db, id, settled).await,
        None => Ok(()),
    }
}

/// Releases holds left open past their expiry, and takes back the price of messages a stopped
/// server charged but never asked the provider to send; how many of each.
pub async fn expire(pool: &sqlx::PgPool, now: OffsetDateTime) -> Result<(i64, i64), sqlx::Error> {
    let holds = db::budgets::expire_holds(pool, now).await?;
    let cutoff = now - time::Duration::seconds(HOLD_TTL_SECS);
    let mut messages = 0;
    while messages < 1000 && db::sms::uncharge_unsent(pool, cutoff).await? {
        messages += 1;
    }
    Ok((holds, messages))
}

//! Hourly limits per user in each org: what is limited, and the transaction that counts and writes
//! as one step. A user's rows in one org never count against their limit in another, so another
//! org's admin cannot use up a member's limits here.

use sqlx::PgPool;

use super::db;
use super::errors::{LimitError, Limited};

/// What each limited thing is called in the `limits` table, its default, and how it is counted.
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

    /// Whether a running figure stands in for counting the hour's rows (`limit_windows`): sends
    /// and calls, which only `begin_limited` writes. Purchases are few, and imported numbers are
    /// written elsewhere, so they are always counted.
    fn windowed(self) -> bool {
        matches!(self, Limited::Call | Limited::Sms)
    }

    /// The user's rows of this kind in the org in the last hour, counted up to `limit`.
    async fn count(
        self,
        tx: &mut sqlx::PgConnection,
        org_id: i64,
        user_id: i64,
        limit: i64,
    ) -> Result<i64, sqlx::Error> {
        let who = (org_id, user_id);
        match self {
            Limited::Purchase => db::limits::purchases_last_hour(tx, who, limit).await,
            Limited::Call => db::limits::calls_last_hour(tx, who, limit).await,
            Limited::Sms => db::limits::messages_last_hour(tx, who, limit).await,
        }
    }
}

/// Opens the transaction that writes a limited row: it holds the (org, user) lock for `what` until
/// it ends, so counting the last hour and writing the new row are one step even under parallel
/// requests. At the limit nothing is written. Counted per org: the user's rows in other orgs do
/// not count here.
pub async fn begin_limited(
    pool: &PgPool,
    what: Limited,
    org_id: i64,
    user_id: i64,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, LimitError> {
    let limit = db::limits::per_hour(pool, what.item())
        .await?
        .unwrap_or(what.default_per_hour());
    let mut tx = pool.begin().await?;
    let item = what.item();
    db::limits::lock_user(&mut tx, item, org_id, user_id).await?;
    // Well under the limit, the running figure says so without counting the hour's rows.
    if what.windowed() && db::limits::bump_window(&mut tx, (item, org_id, user_id), limit).await? {
        return Ok(tx);
    }
    let n = what.count(&mut tx, org_id, user_id, limit).await?;
    if n >= limit {
        return Err(LimitError::Reached { what, limit });
    }
    if what.windowed() {
        db::limits::reset_window(&mut tx, (item, org_id, user_id), n + 1).await?;
    }
    Ok(tx)
}

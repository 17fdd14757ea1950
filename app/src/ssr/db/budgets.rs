//! Budgets: listed with their current period's figures, saved, deleted; and the reservation of a
//! paid action's estimated cost against the hard caps that cover it (`budget_reserve`, in the
//! migration: one round trip that locks the caps' rows in budget id order).

use sqlx::PgExecutor;
use time::OffsetDateTime;

/// A budget with its current period (in the org's time zone) as of the moment asked.
#[derive(Debug, Clone)]
pub struct BudgetRow {
    pub id: i64,
    pub user_id: Option<i64>,
    /// The member's e-mail (None: the whole org).
    pub user_email: Option<String>,
    /// `calls`, `sms`, `lookups`, `numbers`; None: everything.
    pub category: Option<String>,
    /// `day` or `month`.
    pub period: String,
    pub amount_micros: i64,
    pub hard_cap: bool,
    /// The current period's first local day.
    pub period_start: time::Date,
    pub spent_micros: i64,
    pub held_micros: i64,
    /// One-off overrides granted for this period.
    pub extra_micros: i64,
}

/// The org's budgets (`user_id` Some: only the org-wide ones and that member's), org-wide first,
/// then by member, category and period; with the figures of the period `now` falls in.
pub async fn list(
    db: impl PgExecutor<'_>,
    org_id: i64,
    user_id: Option<i64>,
    now: OffsetDateTime,
) -> Result<Vec<BudgetRow>, sqlx::Error> {
    sqlx::query_as!(
        BudgetRow,
        r#"SELECT b.id, b.user_id AS "user_id?", u.email AS "user_email?",
                  b.category AS "category?", b.period, b.amount_micros, b.hard_cap,
                  budget_period(b.period, $3, o.time_zone) AS "period_start!",
                  coalesce(us.spent_micros,
                           budget_spent(b.org_id, b.user_id, b.category,
                                        budget_period(b.period, $3, o.time_zone)::timestamp
                                            AT TIME ZONE o.time_zone, $3)) AS "spent_micros!",
                  coalesce(us.held_micros, 0) AS "held_micros!",
                  coalesce(us.extra_micros, 0) AS "extra_micros!"
           FROM budgets b
           JOIN orgs o ON o.id = b.org_id
           LEFT JOIN users u ON u.id = b.user_id
           LEFT JOIN budget_usage us
             ON us.budget_id = b.id AND us.period_start = budget_period(b.period, $3, o.time_zone)
           WHERE b.org_id = $1 AND ($2::bigint IS NULL OR b.user_id IS NULL OR b.user_id = $2)
           ORDER BY b.user_id IS NOT NULL, u.email, b.category NULLS FIRST, b.period DESC, b.id"#,
        org_id,
        user_id,
        now
    )
    .fetch_all(db)
    .await
}

/// One of the org's budgets, with the figures of the period `now` falls in.
pub async fn get(
    db: impl PgExecutor<'_>,
    org_id: i64,
    id: i64,
    now: OffsetDateTime,
) -> Result<Option<BudgetRow>, sqlx::Error> {
    sqlx::query_as!(
        BudgetRow,
        r#"SELECT b.id, b.user_id AS "user_id?", u.email AS "user_email?",
                  b.category AS "category?", b.period, b.amount_micros, b.hard_cap,
                  budget_period(b.period, $3, o.time_zone) AS "period_start!",
                  coalesce(us.spent_micros,
                           budget_spent(b.org_id, b.user_id, b.category,
                                        budget_period(b.period, $3, o.time_zone)::timestamp
                                            AT TIME ZONE o.time_zone, $3)) AS "spent_micros!",
                  coalesce(us.held_micros, 0) AS "held_micros!",
                  coalesce(us.extra_micros, 0) AS "extra_micros!"
           FROM budgets b
           JOIN orgs o ON o.id = b.org_id
           LEFT JOIN users u ON u.id = b.user_id
           LEFT JOIN budget_usage us
             ON us.budget_id = b.id AND us.period_start = budget_period(b.period, $3, o.time_zone)
           WHERE b.org_id = $1 AND b.id = $2"#,
        org_id,
        id,
        now
    )
    .fetch_optional(db)
    .await
}

/// A budget to create, or to change (same org, member, category and period: its amount and
/// whether it is a hard cap).
pub struct NewBudget<'a> {
    pub org_id: i64,
    pub user_id: Option<i64>,
    pub category: Option<&'a str>,
    pub period: &'a str,
    pub amount_micros: i64,
    pub hard_cap: bool,
    pub by: i64,
}

/// Creates the budget or changes the one with the same scope; returns its id and whether it
/// was created. A new budget starts its current period from what was already spent in it.
pub async fn save(
    tx: &mut sqlx::PgConnection,
    b: &NewBudget<'_>,
    now: OffsetDateTime,
) -> Result<(i64, bool), sqlx::Error> {
    let row = sqlx::query!(
        r#"INSERT INTO budgets (org_id, user_id, category, period, amount_micros, hard_cap, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT ON CONSTRAINT budgets_scope DO UPDATE
               SET amount_micros = EXCLUDED.amount_micros, hard_cap = EXCLUDED.hard_cap,
                   updated_at = now()
           RETURNING id, (xmax = 0) AS "created!""#,
        b.org_id,
        b.user_id,
        b.category,
        b.period,
        b.amount_micros,
        b.hard_cap,
        b.by
    )
    .fetch_one(&mut *tx)
    .await?;
    if row.created {
        sqlx::query!(
            r#"INSERT INTO budget_usage (budget_id, period_start, spent_micros)
               SELECT b.id, budget_period(b.period, $2, o.time_zone),
                      budget_spent(b.org_id, b.user_id, b.category,
                                   budget_period(b.period, $2, o.time_zone)::timestamp
                                       AT TIME ZONE o.time_zone, $2)
               FROM budgets b JOIN orgs o ON o.id = b.org_id WHERE b.id = $1
               ON CONFLICT DO NOTHING"#,
            row.id,
            now
        )
        .execute(&mut *tx)
        .await?;
    }
    Ok((row.id, row.created))
}

/// Deletes one of the org's budgets; whether it existed.
pub async fn delete(db: impl PgExecutor<'_>, org_id: i64, id: i64) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query!(
        "DELETE FROM budgets WHERE org_id = $1 AND id = $2",
        org_id,
        id
    )
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

/// What `reserve` answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reserved {
    /// The hold made (None: no hard cap covers the action).
    pub hold_id: Option<i64>,
    /// How many units were reserved (every unit asked for when no hard cap covers the action).
    pub units: i32,
    /// The tightest hard cap, when it has no room for one unit (nothing was reserved).
    pub refused: Option<i64>,
    /// What the tightest covering hard cap has left after this reservation (None: no hard cap).
    pub remaining_micros: Option<i64>,
}

/// Reserves for (org, user, category) at `now`, against every covering hard cap, as many units
/// of `unit_micros` as they all have room for, up to `max_units`; in the caller's transaction
/// (its row locks are held until it ends).
pub async fn reserve(
    tx: &mut sqlx::PgConnection,
    (org_id, user_id): (i64, Option<i64>),
    category: &str,
    (unit_micros, max_units): (i64, i32),
    now: OffsetDateTime,
    ttl_secs: i64,
) -> Result<Reserved, sqlx::Error> {
    let r = sqlx::query!(
        r#"SELECT hold_id, units AS "units!", refused, remaining
           FROM budget_reserve($1, $2, $3, $4, $5, $6,
                               make_interval(secs => $7::bigint::double precision))"#,
        org_id,
        user_id,
        category,
        unit_micros,
        max_units,
        now,
        ttl_secs
    )
    .fetch_one(&mut *tx)
    .await?;
    Ok(Reserved {
        hold_id: r.hold_id,
        units: r.units,
        refused: r.refused,
        remaining_micros: r.remaining,
    })
}

/// Ends a hold: `settled` (its real price is written in the same transaction) or `released`
/// (the action failed). A hold ends once; ending it again does nothing.
pub async fn end_hold(
    db: impl PgExecutor<'_>,
    hold_id: i64,
    settled: bool,
) -> Result<(), sqlx::Error> {
    let state = if settled { "settled" } else { "released" };
    sqlx::query!("SELECT hold_end($1, $2)", hold_id, state)
        .execute(db)
        .await?;
    Ok(())
}

/// Releases the holds left open past their expiry (a server stopped between reserving and
/// settling); how many.
pub async fn expire_holds(
    db: impl PgExecutor<'_>,
    now: OffsetDateTime,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(hold_end(id, 'released'))::bigint AS "n!"
           FROM (SELECT id FROM spend_holds WHERE state = 'open' AND expires_at < $1
                 ORDER BY id LIMIT 1000) h"#,
        now
    )
    .fetch_one(db)
    .await
}

/// The org's time zone (an IANA name).
pub async fn time_zone(db: impl PgExecutor<'_>, org_id: i64) -> Result<String, sqlx::Error> {
    sqlx::query_scalar!("SELECT time_zone FROM orgs WHERE id = $1", org_id)
        .fetch_one(db)
        .await
}

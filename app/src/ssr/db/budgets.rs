//! Budgets: listed with their current period's figures (one org's, or every org's for support),
//! saved, deleted, given one-off overrides; and the reservation of a paid action's estimated cost
//! against the hard caps that cover it (`budget_reserve`, in the migration: one round trip that
//! locks the caps' rows in budget id order).

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

/// The room every hard cap covering (org, user, category) has at `now`.
pub struct Room {
    /// The tightest cap (None: no hard cap covers it).
    pub tightest: Option<i64>,
    /// What it has left (None: no hard cap).
    pub remaining_micros: Option<i64>,
}

/// The room of the hard caps covering (org, user, category) at `now`, their rows locked in
/// budget id order until the caller's transaction ends.
pub async fn room(
    tx: &mut sqlx::PgConnection,
    (org_id, user_id): (i64, Option<i64>),
    category: &str,
    now: OffsetDateTime,
) -> Result<Room, sqlx::Error> {
    let r = sqlx::query!(
        "SELECT tightest, remaining FROM budget_room($1, $2, $3, $4)",
        org_id,
        user_id,
        category,
        now
    )
    .fetch_one(&mut *tx)
    .await?;
    Ok(Room {
        tightest: r.tightest,
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
/// settling), all at once so their budgets' rows are locked in budget id order; how many.
pub async fn expire_holds(
    db: impl PgExecutor<'_>,
    now: OffsetDateTime,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"WITH due AS (SELECT array_agg(id) AS ids
                        FROM (SELECT id FROM spend_holds WHERE state = 'open' AND expires_at < $1
                              ORDER BY id LIMIT 1000) h)
           SELECT coalesce(cardinality(ids), 0)::bigint AS "n!"
           FROM due, LATERAL (SELECT hold_end_many(coalesce(ids, '{}'), 'released')) e"#,
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

/// A one-off override to grant: extra room in the current period of one of the org's budgets.
pub struct NewOverride<'a> {
    pub org_id: i64,
    pub budget_id: i64,
    pub extra_micros: i64,
    pub reason: &'a str,
    pub by: i64,
}

/// Grants the override in the caller's transaction: records it, and adds it to the room of the
/// budget's period `now` falls in (in the org's time zone), starting that period's row from what
/// was already spent in it if it has none. Returns the period's first local day; None when the
/// budget is not the org's (nothing is written).
pub async fn grant_override(
    tx: &mut sqlx::PgConnection,
    o: &NewOverride<'_>,
    now: OffsetDateTime,
) -> Result<Option<time::Date>, sqlx::Error> {
    let Some(period_start) = sqlx::query_scalar!(
        r#"INSERT INTO budget_overrides (budget_id, period_start, extra_micros, reason, granted_by, granted_at)
           SELECT b.id, budget_period(b.period, $3, o.time_zone), $4::bigint, $5::text,
                  $6::bigint, $3::timestamptz
           FROM budgets b JOIN orgs o ON o.id = b.org_id
           WHERE b.org_id = $1 AND b.id = $2
           RETURNING period_start"#,
        o.org_id,
        o.budget_id,
        now,
        o.extra_micros,
        o.reason,
        o.by
    )
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(None);
    };
    // One row of one budget: no other lock is taken here, so no order to keep with reservations.
    sqlx::query!(
        r#"INSERT INTO budget_usage AS u (budget_id, period_start, spent_micros, extra_micros)
           SELECT b.id, $2::date,
                  budget_spent(b.org_id, b.user_id, b.category,
                               $2::date::timestamp AT TIME ZONE o.time_zone, $3),
                  $4::bigint
           FROM budgets b JOIN orgs o ON o.id = b.org_id WHERE b.id = $1
           ON CONFLICT (budget_id, period_start) DO UPDATE
               SET extra_micros = u.extra_micros + EXCLUDED.extra_micros"#,
        o.budget_id,
        period_start,
        now,
        o.extra_micros
    )
    .execute(&mut *tx)
    .await?;
    Ok(Some(period_start))
}

/// An override granted in a budget's current period.
#[derive(Debug, Clone)]
pub struct OverrideRow {
    pub budget_id: i64,
    pub extra_micros: i64,
    pub reason: String,
    /// Who granted it (None: their account is gone).
    pub granted_by: Option<String>,
    pub granted_at: OffsetDateTime,
}

/// The overrides of the org's budgets granted for the periods `now` falls in, newest first (at
/// most 100).
pub async fn overrides(
    db: impl PgExecutor<'_>,
    org_id: i64,
    now: OffsetDateTime,
) -> Result<Vec<OverrideRow>, sqlx::Error> {
    sqlx::query_as!(
        OverrideRow,
        r#"SELECT ov.budget_id, ov.extra_micros, ov.reason, u.email AS "granted_by?",
                  ov.granted_at
           FROM budget_overrides ov
           JOIN budgets b ON b.id = ov.budget_id
           JOIN orgs o ON o.id = b.org_id
           LEFT JOIN users u ON u.id = ov.granted_by
           WHERE b.org_id = $1 AND ov.period_start = budget_period(b.period, $2, o.time_zone)
           ORDER BY ov.granted_at DESC, ov.id DESC
           LIMIT 100"#,
        org_id,
        now
    )
    .fetch_all(db)
    .await
}

/// A budget of any org, for the support console.
#[derive(Debug, Clone)]
pub struct StaffBudgetRow {
    pub slug: String,
    pub org_name: String,
    pub time_zone: String,
    pub budget: BudgetRow,
}

/// Every org's budgets with the figures of the period `now` falls in (as `list` reads them),
/// nearest their cap first: by the share of amount + extra that spent + held uses, descending
/// (a zero budget counts as 100% once anything is used); at most `limit`.
pub async fn staff_overview(
    db: impl PgExecutor<'_>,
    now: OffsetDateTime,
    limit: i64,
) -> Result<Vec<StaffBudgetRow>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT x.slug AS "slug!", x.org_name AS "org_name!", x.time_zone AS "time_zone!",
                  x.id AS "id!", x.user_id AS "user_id?", x.user_email AS "user_email?",
                  x.category AS "category?", x.period AS "period!",
                  x.amount_micros AS "amount_micros!", x.hard_cap AS "hard_cap!",
                  x.period_start AS "period_start!", x.spent_micros AS "spent_micros!",
                  x.held_micros AS "held_micros!", x.extra_micros AS "extra_micros!"
           FROM (
               SELECT o.slug, o.name AS org_name, o.time_zone, b.id, b.user_id,
                      u.email AS user_email, b.category, b.period, b.amount_micros, b.hard_cap,
                      budget_period(b.period, $1, o.time_zone) AS period_start,
                      coalesce(us.spent_micros,
                               budget_spent(b.org_id, b.user_id, b.category,
                                            budget_period(b.period, $1, o.time_zone)::timestamp
                                                AT TIME ZONE o.time_zone, $1)) AS spent_micros,
                      coalesce(us.held_micros, 0) AS held_micros,
                      coalesce(us.extra_micros, 0) AS extra_micros
               FROM budgets b
               JOIN orgs o ON o.id = b.org_id
               LEFT JOIN users u ON u.id = b.user_id
               LEFT JOIN budget_usage us
                 ON us.budget_id = b.id AND us.period_start = budget_period(b.period, $1, o.time_zone)
           ) x
           ORDER BY CASE
                        WHEN x.amount_micros::numeric + x.extra_micros <= 0
                            THEN CASE WHEN x.spent_micros::numeric + x.held_micros > 0 THEN 100 ELSE 0 END
                        ELSE (x.spent_micros::numeric + x.held_micros) * 100
                             / (x.amount_micros::numeric + x.extra_micros)
                    END DESC,
                    x.org_name, x.id
           LIMIT $2"#,
        now,
        limit
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| StaffBudgetRow {
            slug: r.slug,
            org_name: r.org_name,
            time_zone: r.time_zone,
            budget: BudgetRow {
                id: r.id,
                user_id: r.user_id,
                user_email: r.user_email,
                category: r.category,
                period: r.period,
                amount_micros: r.amount_micros,
                hard_cap: r.hard_cap,
                period_start: r.period_start,
                spent_micros: r.spent_micros,
                held_micros: r.held_micros,
                extra_micros: r.extra_micros,
            },
        })
        .collect())
}

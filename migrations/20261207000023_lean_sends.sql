-- Sends that cost less: an SMS is charged its estimate when it is written (no separate hold), and
-- a member's hourly send limit is checked against a running figure instead of a count of the
-- hour's rows.

-- The room every hard cap covering (org, member, category) has at `now`: the tightest cap and
-- what it has left (both NULL: no hard cap). The period's rows of every budget covering it, hard
-- cap or alert only (made, from what was already spent, if missing), are locked in budget id
-- order until the caller's transaction ends: a booking in the same transaction then takes no
-- lock out of that order (a refund booking the same budgets cannot deadlock with it).
CREATE FUNCTION budget_room(p_org BIGINT, p_user BIGINT, p_cat TEXT, p_now TIMESTAMPTZ)
RETURNS TABLE (tightest BIGINT, remaining BIGINT)
LANGUAGE plpgsql AS $$
DECLARE
    tz TEXT;
    r RECORD;
BEGIN
    SELECT o.time_zone INTO tz FROM orgs o WHERE o.id = p_org;
    INSERT INTO budget_usage (budget_id, period_start, spent_micros)
    SELECT b.id, budget_period(b.period, p_now, tz),
           budget_spent(p_org, b.user_id, b.category,
                        budget_period(b.period, p_now, tz)::timestamp AT TIME ZONE tz, p_now)
    FROM budgets b
    WHERE b.org_id = p_org
      AND (b.user_id IS NULL OR b.user_id = p_user) AND (b.category IS NULL OR b.category = p_cat)
      AND NOT EXISTS (SELECT 1 FROM budget_usage u
                      WHERE u.budget_id = b.id AND u.period_start = budget_period(b.period, p_now, tz))
    ORDER BY b.id
    ON CONFLICT DO NOTHING;
    FOR r IN
        SELECT u.budget_id, b.hard_cap,
               b.amount_micros + u.extra_micros - u.spent_micros - u.held_micros AS left_micros
        FROM budgets b JOIN budget_usage u
          ON u.budget_id = b.id AND u.period_start = budget_period(b.period, p_now, tz)
        WHERE b.org_id = p_org
          AND (b.user_id IS NULL OR b.user_id = p_user) AND (b.category IS NULL OR b.category = p_cat)
        ORDER BY b.id
        FOR UPDATE OF u
    LOOP
        IF r.hard_cap AND (remaining IS NULL OR r.left_micros < remaining) THEN
            remaining := r.left_micros;
            tightest := r.budget_id;
        END IF;
    END LOOP;
    RETURN NEXT;
END $$;

-- Reservations (calls, numbers, paid lookups) start from that room.
CREATE OR REPLACE FUNCTION budget_reserve(p_org BIGINT, p_user BIGINT, p_cat TEXT, p_unit BIGINT, p_max_units INT,
                                          p_now TIMESTAMPTZ, p_ttl INTERVAL)
RETURNS TABLE (hold_id BIGINT, units INT, refused BIGINT, remaining BIGINT)
LANGUAGE plpgsql AS $$
DECLARE
    tz TEXT;
    least_left BIGINT;
    tightest_id BIGINT;
    n_units INT;
    h BIGINT;
BEGIN
    SELECT room.tightest, room.remaining INTO tightest_id, least_left
    FROM budget_room(p_org, p_user, p_cat, p_now) room;
    IF least_left IS NULL OR p_unit <= 0 THEN
        RETURN QUERY SELECT NULL::bigint, p_max_units, NULL::bigint, least_left;
        RETURN;
    END IF;
    n_units := least(p_max_units::bigint, greatest(least_left, 0) / p_unit)::int;
    IF n_units < 1 THEN
        RETURN QUERY SELECT NULL::bigint, 0, tightest_id, greatest(least_left, 0);
        RETURN;
    END IF;
    SELECT o.time_zone INTO tz FROM orgs o WHERE o.id = p_org;
    INSERT INTO spend_holds (org_id, user_id, category, micros, created_at, expires_at)
    VALUES (p_org, p_user, p_cat, n_units * p_unit, p_now, p_now + p_ttl) RETURNING id INTO h;
    INSERT INTO spend_hold_rows (hold_id, budget_id, period_start)
    SELECT h, u.budget_id, u.period_start
    FROM budgets b JOIN budget_usage u
      ON u.budget_id = b.id AND u.period_start = budget_period(b.period, p_now, tz)
    WHERE b.org_id = p_org AND b.hard_cap
      AND (b.user_id IS NULL OR b.user_id = p_user) AND (b.category IS NULL OR b.category = p_cat);
    UPDATE budget_usage u SET held_micros = u.held_micros + n_units * p_unit
    FROM spend_hold_rows s WHERE s.hold_id = h AND s.budget_id = u.budget_id AND s.period_start = u.period_start;
    RETURN QUERY SELECT h, n_units, NULL::bigint, least_left - n_units * p_unit;
END $$;

-- An outbound SMS is written with its estimated price as its cost (after its caps' room was
-- checked under their locks, in the same statement), which books it on its budgets at once; the
-- provider's refusal writes it back to 0. `charged_at` (app clock) is when that happened: at its
-- write, or when a held message is resumed. One a stopped server never asked the provider about
-- (still queued, no SID) is written back to 0 by the upkeep worker an hour after it was charged;
-- this index finds those.
ALTER TABLE messages ADD COLUMN charged_at TIMESTAMPTZ;
CREATE INDEX messages_charged_unsent ON messages (charged_at)
    WHERE status = 'queued' AND provider_sid IS NULL AND cost_micros <> 0;

-- A member's hourly send limit: `n` is at least the sends (of `item`, in the org) since `since`,
-- which is always an hour or more ago, so while n is under the limit the hour's sends are too and
-- nothing is counted. At the limit, or when `since` is over two hours old, the hour's rows are
-- counted again and the figure starts over from them. Written only under the member's limit lock.
CREATE TABLE limit_windows (
    org_id  BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    item    TEXT NOT NULL,
    since   TIMESTAMPTZ NOT NULL,
    n       BIGINT NOT NULL,
    PRIMARY KEY (org_id, user_id, item)
);
CREATE INDEX limit_windows_user ON limit_windows (user_id);

-- One row's spend booked on every budget that covers it, in budget id order: the row triggers
-- call this (a PL/pgSQL function, so its plan is kept) instead of building a JSON batch for
-- `budget_book`, which is planned afresh on every call.
CREATE FUNCTION budget_book_row(p_org BIGINT, p_user BIGINT, p_cat TEXT, p_at TIMESTAMPTZ, p_micros BIGINT)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF p_micros = 0 THEN RETURN; END IF;
    INSERT INTO budget_usage AS u (budget_id, period_start, spent_micros)
    SELECT b.id, budget_period(b.period, p_at, o.time_zone), p_micros
    FROM budgets b JOIN orgs o ON o.id = b.org_id
    WHERE b.org_id = p_org AND (b.user_id IS NULL OR b.user_id = p_user)
      AND (b.category IS NULL OR b.category = p_cat)
    ORDER BY b.id
    ON CONFLICT (budget_id, period_start) DO UPDATE SET spent_micros = u.spent_micros + EXCLUDED.spent_micros;
END $$;

CREATE OR REPLACE FUNCTION budget_book_call_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM budget_book_row(NEW.org_id, NEW.user_id, 'calls', NEW.created_at,
        (NEW.cost_micros + NEW.recording_cost_micros) - (OLD.cost_micros + OLD.recording_cost_micros));
    RETURN NULL;
END $$;

-- A message's spend falls in the period it was charged in (a held message resumed in a later
-- day or month was checked against that period's caps), or, never charged, when it was written.
CREATE OR REPLACE FUNCTION budget_book_message_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM budget_book_row(NEW.org_id, NEW.user_id, 'sms', coalesce(NEW.charged_at, NEW.created_at),
                            NEW.cost_micros - OLD.cost_micros);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION budget_book_call_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM budget_book_row(NEW.org_id, NEW.user_id, 'calls', NEW.created_at,
        NEW.cost_micros + NEW.recording_cost_micros);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION budget_book_message_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM budget_book_row(NEW.org_id, NEW.user_id, 'sms', coalesce(NEW.charged_at, NEW.created_at),
                            NEW.cost_micros);
    RETURN NULL;
END $$;

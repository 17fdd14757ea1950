-- Money guard, part 4: monthly statements.
--
-- At the end of each month of the org's time zone, an org statement and one per member are
-- closed: what was billed in the month by category (numbers held, calls, recordings, SMS, paid
-- lookups, and what the cache saved), and, as adjustments, what changed since earlier statements
-- (a price reported by a late callback, a charge written late). Statements are never changed.
--
-- Each paid row remembers what a statement has said it cost (`stated_*`): a close takes every row
-- of the org whose cost differs from what was stated, up to the month's end: one never stated,
-- created in the month, is the month's usage; any other is an adjustment of the difference. The
-- partial indexes hold only such rows (at most a month's), so a close never scans history.

-- Number charges are for a month of the org's time zone, charged at the app clock's time.
ALTER TABLE number_charges ADD COLUMN charged_at TIMESTAMPTZ NOT NULL DEFAULT now();

CREATE OR REPLACE FUNCTION budget_book_numbers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM budgets) THEN RETURN NULL; END IF;
    PERFORM budget_book(coalesce(jsonb_agg(jsonb_build_object('org_id', org_id, 'user_id', user_id,
        'category', 'numbers', 'at', charged_at, 'micros', micros)), '[]'))
    FROM new_rows WHERE micros <> 0;
    RETURN NULL;
END $$;

ALTER TABLE calls ADD COLUMN stated_micros BIGINT, ADD COLUMN stated_recording_micros BIGINT;
ALTER TABLE messages ADD COLUMN stated_micros BIGINT;
ALTER TABLE lookup_events ADD COLUMN stated_micros BIGINT;
ALTER TABLE number_charges ADD COLUMN stated_micros BIGINT;

CREATE INDEX calls_unstated_idx ON calls (org_id, created_at)
    WHERE cost_micros <> coalesce(stated_micros, 0)
       OR recording_cost_micros <> coalesce(stated_recording_micros, 0);
CREATE INDEX messages_unstated_idx ON messages (org_id, created_at)
    WHERE cost_micros <> coalesce(stated_micros, 0);
CREATE INDEX lookup_events_unstated_idx ON lookup_events (org_id, created_at)
    WHERE cost_micros <> coalesce(stated_micros, 0);
CREATE INDEX number_charges_unstated_idx ON number_charges (org_id, month)
    WHERE micros <> coalesce(stated_micros, 0);

-- The last month closed for the org (NULL: none yet; the first is the month it was created in),
-- and when the next one is over (kept by a trigger; the worker's index).
ALTER TABLE orgs ADD COLUMN closed_through DATE, ADD COLUMN next_close_at TIMESTAMPTZ;

CREATE FUNCTION org_next_close() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.next_close_at := (coalesce((NEW.closed_through + interval '1 month')::date,
                                   date_trunc('month', NEW.created_at AT TIME ZONE NEW.time_zone)::date)
                          + interval '1 month')::timestamp AT TIME ZONE NEW.time_zone;
    RETURN NEW;
END $$;
CREATE TRIGGER orgs_next_close BEFORE INSERT OR UPDATE OF time_zone, closed_through ON orgs
    FOR EACH ROW EXECUTE FUNCTION org_next_close();
UPDATE orgs SET closed_through = NULL;
CREATE INDEX orgs_next_close_idx ON orgs (next_close_at);

CREATE TABLE statements (
    id           BIGSERIAL PRIMARY KEY,
    org_id       BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    -- NULL: the org's statement; otherwise the member's (no foreign key: a statement outlives
    -- the account, and keeps the address it was closed for).
    user_id      BIGINT,
    member_email TEXT,
    month        DATE NOT NULL,
    time_zone    TEXT NOT NULL,
    period_start TIMESTAMPTZ NOT NULL,
    period_end   TIMESTAMPTZ NOT NULL,
    closed_at    TIMESTAMPTZ NOT NULL,
    CONSTRAINT statements_month CHECK (month = date_trunc('month', month)::date),
    CONSTRAINT statements_member CHECK ((user_id IS NULL) = (member_email IS NULL)),
    CONSTRAINT statements_one UNIQUE NULLS NOT DISTINCT (org_id, month, user_id)
);
CREATE INDEX statements_org_month_idx ON statements (org_id, month DESC);
CREATE INDEX statements_user_idx ON statements (user_id, month DESC) WHERE user_id IS NOT NULL;

CREATE TABLE statement_lines (
    statement_id      BIGINT NOT NULL REFERENCES statements (id) ON DELETE CASCADE,
    category          TEXT NOT NULL,
    -- Billed items of the month (numbers, calls, recordings, messages, paid lookups).
    item_count        BIGINT NOT NULL,
    -- Minutes (calls, recordings), segments (SMS); otherwise the item count.
    usage             BIGINT NOT NULL,
    micros            BIGINT NOT NULL,
    adjustment_count  BIGINT NOT NULL,
    adjustment_micros BIGINT NOT NULL,
    -- Lookups only: answers from the cache, and what they would have cost.
    cache_hits        BIGINT NOT NULL DEFAULT 0,
    saved_micros      BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (statement_id, category),
    CONSTRAINT statement_lines_category CHECK (category IN ('numbers', 'calls', 'recordings', 'sms', 'lookups'))
);

-- Each adjustment, listed on the statement that carries it.
CREATE TABLE statement_adjustments (
    id           BIGSERIAL PRIMARY KEY,
    statement_id BIGINT NOT NULL REFERENCES statements (id) ON DELETE CASCADE,
    category     TEXT NOT NULL,
    item         TEXT NOT NULL,
    item_at      TIMESTAMPTZ NOT NULL,
    was_micros   BIGINT NOT NULL,
    micros       BIGINT NOT NULL
);
CREATE INDEX statement_adjustments_statement_idx ON statement_adjustments (statement_id);

-- A statement, its lines and adjustments are never changed; they go only with their org.
CREATE FUNCTION statement_unchangeable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A cascade from the org's deletion runs below the foreign key's own trigger.
    IF TG_OP = 'DELETE' AND pg_trigger_depth() > 1 THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'statements are never changed' USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER statements_unchangeable BEFORE UPDATE OR DELETE ON statements
    FOR EACH ROW EXECUTE FUNCTION statement_unchangeable();
CREATE TRIGGER statement_lines_unchangeable BEFORE UPDATE OR DELETE ON statement_lines
    FOR EACH ROW EXECUTE FUNCTION statement_unchangeable();
CREATE TRIGGER statement_adjustments_unchangeable BEFORE UPDATE OR DELETE ON statement_adjustments
    FOR EACH ROW EXECUTE FUNCTION statement_unchangeable();

-- The comparison of an org statement with the provider's usage records for the month (orgs on
-- their own Twilio account): tried until it is read, a few times.
CREATE TABLE statement_checks (
    statement_id BIGINT PRIMARY KEY REFERENCES statements (id) ON DELETE CASCADE,
    config_id    BIGINT NOT NULL REFERENCES phone_configs (id) ON DELETE CASCADE,
    state        TEXT NOT NULL DEFAULT 'pending',
    attempts     INT NOT NULL DEFAULT 0,
    next_at      TIMESTAMPTZ NOT NULL,
    checked_at   TIMESTAMPTZ,
    error        TEXT,
    CONSTRAINT statement_checks_state CHECK (state IN ('pending', 'done', 'failed')),
    CONSTRAINT statement_checks_error CHECK (char_length(error) <= 300)
);
CREATE INDEX statement_checks_due_idx ON statement_checks (next_at) WHERE state = 'pending';

-- What the provider billed for the month, by our categories.
CREATE TABLE statement_provider_lines (
    statement_id BIGINT NOT NULL REFERENCES statement_checks (statement_id) ON DELETE CASCADE,
    category     TEXT NOT NULL,
    item_count   BIGINT NOT NULL,
    micros       BIGINT NOT NULL,
    PRIMARY KEY (statement_id, category),
    CONSTRAINT statement_provider_lines_category CHECK (category IN ('numbers', 'calls', 'recordings', 'sms', 'lookups', 'total'))
);

-- Closes month `p_month` of org `p_org` (its time zone now) at `p_now`: the org's statement and
-- one per member (and per former member with charges in it). Returns the org statement's id, or
-- NULL when the month is already closed. Rows are locked while they are read and marked, so a
-- callback that changes a cost meanwhile lands on this statement or the next, never on neither.
CREATE FUNCTION statement_close(p_org BIGINT, p_month DATE, p_now TIMESTAMPTZ)
RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    tz TEXT;
    s TIMESTAMPTZ;
    e TIMESTAMPTZ;
    org_statement BIGINT;
BEGIN
    -- One closer per org at a time, on any server (a lock that new calls, texts and lookups of
    -- the org, whose foreign keys share the row, do not wait for).
    SELECT o.time_zone INTO tz FROM orgs o WHERE o.id = p_org FOR NO KEY UPDATE;
    IF tz IS NULL OR EXISTS (SELECT 1 FROM statements
                             WHERE org_id = p_org AND month = p_month AND user_id IS NULL) THEN
        RETURN NULL;
    END IF;
    s := p_month::timestamp AT TIME ZONE tz;
    e := (p_month + interval '1 month')::timestamp AT TIME ZONE tz;
    IF e > p_now THEN
        RAISE EXCEPTION 'the month of % is not over', p_month;
    END IF;

    IF to_regclass('pg_temp.close_items') IS NULL THEN
        CREATE TEMP TABLE close_items (
            category TEXT, src_id BIGINT, src_month DATE, user_id BIGINT, item TEXT,
            item_at TIMESTAMPTZ, n BIGINT, usage BIGINT, was BIGINT, micros BIGINT, adjustment BOOLEAN
        ) ON COMMIT DROP;
    ELSE
        TRUNCATE close_items;
    END IF;

    INSERT INTO close_items
    SELECT 'calls', c.id, NULL, c.user_id, 'Call ' || coalesce(c.provider_sid, '#' || c.id),
           c.created_at, 1, (coalesce(c.duration_secs, 0) + 59) / 60, c.stated_micros, c.cost_micros,
           NOT (c.created_at >= s AND c.stated_micros IS NULL)
    FROM calls c
    WHERE c.org_id = p_org AND c.created_at < e AND c.cost_micros <> coalesce(c.stated_micros, 0)
    FOR UPDATE;
    INSERT INTO close_items
    SELECT 'recordings', c.id, NULL, c.user_id, 'Recording of call ' || coalesce(c.provider_sid, '#' || c.id),
           c.created_at, c.recording_count, c.recording_minutes, c.stated_recording_micros,
           c.recording_cost_micros, NOT (c.created_at >= s AND c.stated_recording_micros IS NULL)
    FROM calls c
    WHERE c.org_id = p_org AND c.created_at < e
      AND c.recording_cost_micros <> coalesce(c.stated_recording_micros, 0)
    FOR UPDATE;
    INSERT INTO close_items
    SELECT 'sms', m.id, NULL, m.user_id, 'Message ' || coalesce(m.provider_sid, '#' || m.id) || ' to ' || m.other_e164,
           m.created_at, 1, m.segments, m.stated_micros, m.cost_micros,
           NOT (m.created_at >= s AND m.stated_micros IS NULL)
    FROM messages m
    WHERE m.org_id = p_org AND m.created_at < e AND m.cost_micros <> coalesce(m.stated_micros, 0)
    FOR UPDATE;
    INSERT INTO close_items
    SELECT 'lookups', l.id, NULL, l.user_id, 'Lookup of ' || l.e164, l.created_at, 1, 1,
           l.stated_micros, l.cost_micros, NOT (l.created_at >= s AND l.stated_micros IS NULL)
    FROM lookup_events l
    WHERE l.org_id = p_org AND l.created_at < e AND l.cost_micros <> coalesce(l.stated_micros, 0)
    FOR UPDATE;
    INSERT INTO close_items
    SELECT 'numbers', n.number_id, n.month, n.user_id,
           'Number ' || o.e164 || ', ' || to_char(n.month, 'FMMonth YYYY'), n.charged_at, 1, 1,
           n.stated_micros, n.micros, NOT (n.month = p_month AND n.stated_micros IS NULL)
    FROM number_charges n JOIN owned_numbers o ON o.id = n.number_id
    WHERE n.org_id = p_org AND n.month <= p_month AND n.micros <> coalesce(n.stated_micros, 0)
    FOR UPDATE OF n;

    INSERT INTO statements (org_id, user_id, member_email, month, time_zone, period_start, period_end, closed_at)
    SELECT p_org, NULL, NULL, p_month, tz, s, e, p_now
    UNION ALL
    SELECT p_org, u.id, u.email, p_month, tz, s, e, p_now
    FROM users u
    WHERE u.id IN (SELECT m.user_id FROM memberships m WHERE m.org_id = p_org
                   UNION SELECT i.user_id FROM close_items i WHERE i.user_id IS NOT NULL);
    SELECT id INTO org_statement FROM statements WHERE org_id = p_org AND month = p_month AND user_id IS NULL;

    -- Summed once per member and category, then for the org: the statements join on equality.
    INSERT INTO statement_lines (statement_id, category, item_count, usage, micros,
                                 adjustment_count, adjustment_micros, cache_hits, saved_micros)
    WITH agg AS (
        SELECT i.category, i.user_id,
               sum(i.n) FILTER (WHERE NOT i.adjustment) AS n,
               sum(i.usage) FILTER (WHERE NOT i.adjustment) AS usage,
               sum(i.micros) FILTER (WHERE NOT i.adjustment) AS micros,
               count(*) FILTER (WHERE i.adjustment) AS adj_n,
               sum(i.micros - coalesce(i.was, 0)) FILTER (WHERE i.adjustment) AS adj_micros
        FROM close_items i GROUP BY i.category, i.user_id
    ), per AS (
        SELECT a.user_id AS who, a.category, a.n, a.usage, a.micros, a.adj_n, a.adj_micros
        FROM agg a WHERE a.user_id IS NOT NULL
        UNION ALL
        SELECT 0, a.category, sum(a.n), sum(a.usage), sum(a.micros), sum(a.adj_n), sum(a.adj_micros)
        FROM agg a GROUP BY a.category
    ), looked AS (
        SELECT l.user_id, count(*) FILTER (WHERE l.outcome = 'hit') AS hits, sum(l.saved_micros) AS saved
        FROM lookup_events l
        WHERE l.org_id = p_org AND l.created_at >= s AND l.created_at < e
        GROUP BY l.user_id
    ), per_looked AS (
        SELECT l.user_id AS who, l.hits, l.saved FROM looked l WHERE l.user_id IS NOT NULL
        UNION ALL
        SELECT 0, sum(l.hits), sum(l.saved) FROM looked l
    )
    SELECT st.id, cat.category, coalesce(p.n, 0), coalesce(p.usage, 0), coalesce(p.micros, 0),
           coalesce(p.adj_n, 0), coalesce(p.adj_micros, 0),
           CASE WHEN cat.category = 'lookups' THEN coalesce(h.hits, 0) ELSE 0 END,
           CASE WHEN cat.category = 'lookups' THEN coalesce(h.saved, 0) ELSE 0 END
    FROM statements st
    CROSS JOIN (VALUES ('numbers'), ('calls'), ('recordings'), ('sms'), ('lookups')) AS cat (category)
    LEFT JOIN per p ON p.category = cat.category AND p.who = coalesce(st.user_id, 0)
    LEFT JOIN per_looked h ON h.who = coalesce(st.user_id, 0)
    WHERE st.org_id = p_org AND st.month = p_month;

    INSERT INTO statement_adjustments (statement_id, category, item, item_at, was_micros, micros)
    SELECT st.id, i.category, i.item, i.item_at, coalesce(i.was, 0), i.micros
    FROM statements st JOIN close_items i ON i.adjustment AND i.user_id = st.user_id
    WHERE st.org_id = p_org AND st.month = p_month
    UNION ALL
    SELECT org_statement, i.category, i.item, i.item_at, coalesce(i.was, 0), i.micros
    FROM close_items i WHERE i.adjustment
    ORDER BY 1, 4, 3;

    UPDATE calls c SET stated_micros = i.micros
    FROM close_items i WHERE i.category = 'calls' AND c.id = i.src_id;
    UPDATE calls c SET stated_recording_micros = i.micros
    FROM close_items i WHERE i.category = 'recordings' AND c.id = i.src_id;
    UPDATE messages m SET stated_micros = i.micros
    FROM close_items i WHERE i.category = 'sms' AND m.id = i.src_id;
    UPDATE lookup_events l SET stated_micros = i.micros
    FROM close_items i WHERE i.category = 'lookups' AND l.id = i.src_id;
    UPDATE number_charges n SET stated_micros = i.micros
    FROM close_items i WHERE i.category = 'numbers' AND n.number_id = i.src_id AND n.month = i.src_month;

    UPDATE orgs SET closed_through = p_month WHERE id = p_org;
    RETURN org_statement;
END $$;

-- A call's or message's cost booked on its budgets only when it changes: row triggers whose
-- condition Postgres checks itself, so the status updates of every call and text (ringing,
-- sent, delivered) run no booking at all. Each books one row, whose budgets it locks in budget id
-- order (every UPDATE of a cost is of one row).
CREATE FUNCTION budget_book_call_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM budgets b WHERE b.org_id = NEW.org_id) THEN RETURN NULL; END IF;
    PERFORM budget_book(jsonb_build_array(jsonb_build_object('org_id', NEW.org_id, 'user_id', NEW.user_id,
        'category', 'calls', 'at', NEW.created_at,
        'micros', (NEW.cost_micros + NEW.recording_cost_micros) - (OLD.cost_micros + OLD.recording_cost_micros))));
    RETURN NULL;
END $$;
DROP TRIGGER calls_budget_update ON calls;
CREATE TRIGGER calls_budget_update AFTER UPDATE OF cost_micros, recording_cost_micros ON calls
    FOR EACH ROW
    WHEN (OLD.cost_micros + OLD.recording_cost_micros IS DISTINCT FROM NEW.cost_micros + NEW.recording_cost_micros)
    EXECUTE FUNCTION budget_book_call_change();

CREATE FUNCTION budget_book_message_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM budgets b WHERE b.org_id = NEW.org_id) THEN RETURN NULL; END IF;
    PERFORM budget_book(jsonb_build_array(jsonb_build_object('org_id', NEW.org_id, 'user_id', NEW.user_id,
        'category', 'sms', 'at', NEW.created_at, 'micros', NEW.cost_micros - OLD.cost_micros)));
    RETURN NULL;
END $$;
DROP TRIGGER messages_budget_update ON messages;
CREATE TRIGGER messages_budget_update AFTER UPDATE OF cost_micros ON messages
    FOR EACH ROW WHEN (OLD.cost_micros IS DISTINCT FROM NEW.cost_micros)
    EXECUTE FUNCTION budget_book_message_change();

-- Likewise a new call or message: written without a cost (its price comes later), it books
-- nothing, and Postgres skips the trigger.
CREATE FUNCTION budget_book_call_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM budgets b WHERE b.org_id = NEW.org_id) THEN RETURN NULL; END IF;
    PERFORM budget_book(jsonb_build_array(jsonb_build_object('org_id', NEW.org_id, 'user_id', NEW.user_id,
        'category', 'calls', 'at', NEW.created_at, 'micros', NEW.cost_micros + NEW.recording_cost_micros)));
    RETURN NULL;
END $$;
DROP TRIGGER calls_budget_insert ON calls;
CREATE TRIGGER calls_budget_insert AFTER INSERT ON calls
    FOR EACH ROW WHEN (NEW.cost_micros + NEW.recording_cost_micros <> 0)
    EXECUTE FUNCTION budget_book_call_new();

CREATE FUNCTION budget_book_message_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM budgets b WHERE b.org_id = NEW.org_id) THEN RETURN NULL; END IF;
    PERFORM budget_book(jsonb_build_array(jsonb_build_object('org_id', NEW.org_id, 'user_id', NEW.user_id,
        'category', 'sms', 'at', NEW.created_at, 'micros', NEW.cost_micros)));
    RETURN NULL;
END $$;
DROP TRIGGER messages_budget_insert ON messages;
CREATE TRIGGER messages_budget_insert AFTER INSERT ON messages
    FOR EACH ROW WHEN (NEW.cost_micros <> 0)
    EXECUTE FUNCTION budget_book_message_new();
DROP FUNCTION budget_book_calls();
DROP FUNCTION budget_book_messages();

-- SMS, and the usage ledger every spend figure is read from.

CREATE TABLE messages (
    id              BIGSERIAL PRIMARY KEY,
    org_id          BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    -- Who sent it (outbound) or whose number received it (inbound).
    user_id         BIGINT REFERENCES users (id) ON DELETE SET NULL,
    -- Our number, when it is an owned number (not the org's configured sender).
    number_id       BIGINT REFERENCES owned_numbers (id) ON DELETE SET NULL,
    config_id       BIGINT REFERENCES phone_configs (id) ON DELETE SET NULL,
    direction       TEXT NOT NULL,
    -- The conversation: our number and the other party.
    our_e164        TEXT NOT NULL,
    other_e164      TEXT NOT NULL,
    body            TEXT NOT NULL,
    segments        INT NOT NULL,
    encoding        TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'queued',
    -- Recorded under test mode: never sent to the provider.
    is_test         BOOLEAN NOT NULL DEFAULT FALSE,
    provider_sid    TEXT,
    error_code      INT,
    error_message   TEXT,
    cost_micros     BIGINT NOT NULL DEFAULT 0,
    sent_at         TIMESTAMPTZ,
    delivered_at    TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT messages_direction CHECK (direction IN ('outbound', 'inbound')),
    CONSTRAINT messages_status CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'failed',
        'undelivered', 'received')),
    CONSTRAINT messages_encoding CHECK (encoding IN ('gsm7', 'ucs2')),
    CONSTRAINT messages_body_len CHECK (char_length(body) BETWEEN 1 AND 1600)
);
CREATE UNIQUE INDEX messages_provider_sid ON messages (provider_sid);
CREATE INDEX messages_conversation ON messages (org_id, our_e164, other_e164, created_at DESC);
CREATE INDEX messages_org_time ON messages (org_id, created_at DESC, id DESC);
CREATE INDEX messages_number_time ON messages (number_id, created_at DESC);
CREATE INDEX messages_user_recent ON messages (user_id, created_at) WHERE direction = 'outbound';

INSERT INTO prices (item, micros) VALUES ('sms.segment', 7900);
INSERT INTO limits (item, per_hour) VALUES ('sms.send', 200);

-- The usage ledger: spend per org, day, category, user and number, kept by triggers on the tables
-- that hold the charges (calls, messages, lookup events, number charges), so the usage page reads a
-- small table and its totals are the other pages' totals. user_id/number_id 0 = none.
CREATE TABLE usage_daily (
    org_id     BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    day        DATE NOT NULL,
    category   TEXT NOT NULL,
    user_id    BIGINT NOT NULL DEFAULT 0,
    number_id  BIGINT NOT NULL DEFAULT 0,
    quantity   BIGINT NOT NULL DEFAULT 0,
    micros     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, day, category, user_id, number_id),
    CONSTRAINT usage_daily_category CHECK (category IN ('numbers', 'calls', 'recordings', 'lookups', 'sms'))
);

-- Calls: minutes and cost by the day the call was placed; recordings likewise.
CREATE FUNCTION usage_calls() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO usage_daily (org_id, day, category, user_id, number_id, quantity, micros)
        SELECT org_id, day, category, user_id, number_id, sum(q), sum(m) FROM (
            SELECT org_id, (created_at AT TIME ZONE 'UTC')::date AS day, 'calls' AS category,
                   coalesce(user_id, 0) AS user_id, coalesce(number_id, 0) AS number_id,
                   (coalesce(duration_secs, 0) + 59) / 60 AS q, cost_micros AS m FROM new_rows
            UNION ALL
            SELECT org_id, (created_at AT TIME ZONE 'UTC')::date, 'recordings', coalesce(user_id, 0),
                   coalesce(number_id, 0), recording_minutes, recording_cost_micros FROM new_rows
        ) x WHERE q <> 0 OR m <> 0
        GROUP BY 1, 2, 3, 4, 5
        ON CONFLICT (org_id, day, category, user_id, number_id) DO UPDATE
            SET quantity = usage_daily.quantity + EXCLUDED.quantity,
                micros = usage_daily.micros + EXCLUDED.micros;
    ELSE
        INSERT INTO usage_daily (org_id, day, category, user_id, number_id, quantity, micros)
        SELECT org_id, day, category, user_id, number_id, sum(q), sum(m) FROM (
            SELECT n.org_id, (n.created_at AT TIME ZONE 'UTC')::date AS day, 'calls' AS category,
                   coalesce(n.user_id, 0) AS user_id, coalesce(n.number_id, 0) AS number_id,
                   (coalesce(n.duration_secs, 0) + 59) / 60 - (coalesce(o.duration_secs, 0) + 59) / 60 AS q,
                   n.cost_micros - o.cost_micros AS m
            FROM new_rows n JOIN old_rows o ON o.id = n.id
            UNION ALL
            SELECT n.org_id, (n.created_at AT TIME ZONE 'UTC')::date, 'recordings', coalesce(n.user_id, 0),
                   coalesce(n.number_id, 0), n.recording_minutes - o.recording_minutes,
                   n.recording_cost_micros - o.recording_cost_micros
            FROM new_rows n JOIN old_rows o ON o.id = n.id
        ) x WHERE q <> 0 OR m <> 0
        GROUP BY 1, 2, 3, 4, 5
        ON CONFLICT (org_id, day, category, user_id, number_id) DO UPDATE
            SET quantity = usage_daily.quantity + EXCLUDED.quantity,
                micros = usage_daily.micros + EXCLUDED.micros;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER calls_usage_insert AFTER INSERT ON calls
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION usage_calls();
CREATE TRIGGER calls_usage_update AFTER UPDATE ON calls
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION usage_calls();

-- SMS: charged segments and cost.
CREATE FUNCTION usage_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO usage_daily (org_id, day, category, user_id, number_id, quantity, micros)
        SELECT org_id, (created_at AT TIME ZONE 'UTC')::date, 'sms', coalesce(user_id, 0),
               coalesce(number_id, 0), sum(CASE WHEN cost_micros > 0 THEN segments ELSE 0 END),
               sum(cost_micros)
        FROM new_rows WHERE cost_micros <> 0 GROUP BY 1, 2, 3, 4, 5
        ON CONFLICT (org_id, day, category, user_id, number_id) DO UPDATE
            SET quantity = usage_daily.quantity + EXCLUDED.quantity,
                micros = usage_daily.micros + EXCLUDED.micros;
    ELSE
        INSERT INTO usage_daily (org_id, day, category, user_id, number_id, quantity, micros)
        SELECT n.org_id, (n.created_at AT TIME ZONE 'UTC')::date, 'sms', coalesce(n.user_id, 0),
               coalesce(n.number_id, 0),
               sum((CASE WHEN n.cost_micros > 0 THEN n.segments ELSE 0 END)
                   - (CASE WHEN o.cost_micros > 0 THEN o.segments ELSE 0 END)),
               sum(n.cost_micros - o.cost_micros)
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE n.cost_micros <> o.cost_micros GROUP BY 1, 2, 3, 4, 5
        ON CONFLICT (org_id, day, category, user_id, number_id) DO UPDATE
            SET quantity = usage_daily.quantity + EXCLUDED.quantity,
                micros = usage_daily.micros + EXCLUDED.micros;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER messages_usage_insert AFTER INSERT ON messages
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION usage_messages();
CREATE TRIGGER messages_usage_update AFTER UPDATE ON messages
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION usage_messages();

-- Lookups: paid lookups and their cost (events are only ever inserted).
CREATE FUNCTION usage_lookups() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO usage_daily (org_id, day, category, user_id, number_id, quantity, micros)
    SELECT org_id, (created_at AT TIME ZONE 'UTC')::date, 'lookups', coalesce(user_id, 0), 0,
           count(*) FILTER (WHERE cost_micros > 0), sum(cost_micros)
    FROM new_rows GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (org_id, day, category, user_id, number_id) DO UPDATE
        SET quantity = usage_daily.quantity + EXCLUDED.quantity,
            micros = usage_daily.micros + EXCLUDED.micros;
    RETURN NULL;
END $$;
CREATE TRIGGER lookup_events_usage AFTER INSERT ON lookup_events
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION usage_lookups();

-- Numbers: each month's charge, on the month's first day (the purchase day in the month bought).
CREATE FUNCTION usage_numbers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO usage_daily (org_id, day, category, user_id, number_id, quantity, micros)
    SELECT c.org_id,
           greatest(c.month, (coalesce(n.purchased_at, n.created_at) AT TIME ZONE 'UTC')::date),
           'numbers', coalesce(c.user_id, 0), c.number_id, count(*), sum(c.micros)
    FROM new_rows c JOIN owned_numbers n ON n.id = c.number_id GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (org_id, day, category, user_id, number_id) DO UPDATE
        SET quantity = usage_daily.quantity + EXCLUDED.quantity,
            micros = usage_daily.micros + EXCLUDED.micros;
    RETURN NULL;
END $$;
CREATE TRIGGER number_charges_usage AFTER INSERT ON number_charges
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION usage_numbers();

-- What existed before the ledger.
INSERT INTO usage_daily (org_id, day, category, user_id, number_id, quantity, micros)
SELECT org_id, (created_at AT TIME ZONE 'UTC')::date, 'lookups', coalesce(user_id, 0), 0,
       count(*) FILTER (WHERE cost_micros > 0), sum(cost_micros)
FROM lookup_events GROUP BY 1, 2, 3, 4, 5;
INSERT INTO usage_daily (org_id, day, category, user_id, number_id, quantity, micros)
SELECT c.org_id, greatest(c.month, (coalesce(n.purchased_at, n.created_at) AT TIME ZONE 'UTC')::date),
       'numbers', coalesce(c.user_id, 0), c.number_id, count(*), sum(c.micros)
FROM number_charges c JOIN owned_numbers n ON n.id = c.number_id GROUP BY 1, 2, 3, 4, 5;
INSERT INTO usage_daily (org_id, day, category, user_id, number_id, quantity, micros)
SELECT org_id, day, category, user_id, number_id, sum(q), sum(m) FROM (
    SELECT org_id, (created_at AT TIME ZONE 'UTC')::date AS day, 'calls' AS category,
           coalesce(user_id, 0) AS user_id, coalesce(number_id, 0) AS number_id,
           (coalesce(duration_secs, 0) + 59) / 60 AS q, cost_micros AS m FROM calls
    UNION ALL
    SELECT org_id, (created_at AT TIME ZONE 'UTC')::date, 'recordings', coalesce(user_id, 0),
           coalesce(number_id, 0), recording_minutes, recording_cost_micros FROM calls
) x WHERE q <> 0 OR m <> 0 GROUP BY 1, 2, 3, 4, 5;

-- Audit log pages filter by actor and action, newest first.
CREATE INDEX audit_log_time_idx ON audit_log (created_at DESC, id DESC);
CREATE INDEX audit_log_org_page_idx ON audit_log (org_id, created_at DESC, id DESC);

-- Compliance, part 1: each org's opt-out ledger, enforced before any provider is asked.
--
-- `opt_outs` holds who is opted out of the org's texts now (one row per number); every change
-- and every keyword received is kept in `opt_out_events` with its proof (the message, its
-- words, the org's number it reached, when). A recipient's own opt-out (a keyword, or the
-- provider's list) is lifted only by the recipient (START); an admin's entry by an admin too.
CREATE TABLE opt_out_events (
    id         BIGSERIAL PRIMARY KEY,
    org_id     BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    e164       TEXT NOT NULL,
    -- `opt_out`, `opt_in`, `help` (a HELP keyword, answered).
    action     TEXT NOT NULL,
    -- `keyword` (the recipient texted it), `provider` (the provider refused a send, or its list
    -- says so), `admin` (by hand, with a reason), `import` (a CSV file an admin imported).
    source     TEXT NOT NULL,
    -- The org's number a keyword reached, the message that carried it, and its words.
    our_e164   TEXT,
    message_id BIGINT REFERENCES messages (id) ON DELETE SET NULL,
    body       TEXT,
    reason     TEXT NOT NULL DEFAULT '',
    actor_id   BIGINT REFERENCES users (id) ON DELETE SET NULL,
    -- A confirmation (or the help text) was sent in answer.
    replied    BOOLEAN NOT NULL DEFAULT false,
    at         TIMESTAMPTZ NOT NULL,
    CONSTRAINT opt_out_events_e164 CHECK (e164 ~ '^\+[1-9][0-9]{1,14}$'),
    CONSTRAINT opt_out_events_action CHECK (action IN ('opt_out', 'opt_in', 'help')),
    CONSTRAINT opt_out_events_source CHECK (source IN ('keyword', 'provider', 'admin', 'import')),
    CONSTRAINT opt_out_events_body CHECK (length(body) <= 1600),
    CONSTRAINT opt_out_events_reason CHECK (length(reason) <= 500)
);
CREATE INDEX opt_out_events_number ON opt_out_events (org_id, e164, id DESC);

CREATE TABLE opt_outs (
    org_id   BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    e164     TEXT NOT NULL,
    source   TEXT NOT NULL,
    reason   TEXT NOT NULL DEFAULT '',
    since    TIMESTAMPTZ NOT NULL,
    -- The event that opted the number out: its proof.
    event_id BIGINT NOT NULL REFERENCES opt_out_events (id) ON DELETE CASCADE,
    PRIMARY KEY (org_id, e164),
    CONSTRAINT opt_outs_e164 CHECK (e164 ~ '^\+[1-9][0-9]{1,14}$'),
    CONSTRAINT opt_outs_source CHECK (source IN ('keyword', 'provider', 'admin', 'import')),
    CONSTRAINT opt_outs_reason CHECK (length(reason) <= 500)
);
CREATE INDEX opt_outs_since ON opt_outs (org_id, since DESC, e164);

-- What the org answers to STOP, START and HELP (null: the default wording), and the contact its
-- help text names.
CREATE TABLE opt_out_settings (
    org_id       BIGINT PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    help_contact TEXT NOT NULL DEFAULT '',
    stop_reply   TEXT,
    start_reply  TEXT,
    help_reply   TEXT,
    updated_by   BIGINT REFERENCES users (id) ON DELETE SET NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    CONSTRAINT opt_out_settings_contact CHECK (length(help_contact) <= 160),
    CONSTRAINT opt_out_settings_stop CHECK (length(stop_reply) BETWEEN 1 AND 320),
    CONSTRAINT opt_out_settings_start CHECK (length(start_reply) BETWEEN 1 AND 320),
    CONSTRAINT opt_out_settings_help CHECK (length(help_reply) BETWEEN 1 AND 320)
);

-- The fence between sends and opt-outs. A send holds the number's lock shared from its last
-- check until the provider has answered; an opt-out takes it exclusively to be recorded. So a
-- recorded opt-out comes after every send already asking the provider, and every send that
-- checks later sees it, on any number of servers. True: `p_e164` is opted out of the org's texts.
CREATE FUNCTION opt_out_fence(p_org BIGINT, p_e164 TEXT) RETURNS BOOLEAN
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(hashtextextended('optout:' || p_org || ':' || p_e164, 0));
    RETURN EXISTS (SELECT 1 FROM opt_outs WHERE org_id = p_org AND e164 = p_e164);
END
$$;

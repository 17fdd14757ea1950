-- Money guard, part 3: where calls and texts may go, and a pumping guard.
--
-- Per org: the countries calls and SMS may go to besides the org's own (always allowed), the
-- highest price per message and per call minute, and how many sends to one destination (a
-- country abroad, or a number prefix) an hour pause it until an owner or admin resumes it. The
-- blocked premium-rate and special ranges ship with the code (app/data/blocked_prefixes.tsv).
CREATE TABLE destination_rules (
    org_id                 BIGINT PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    -- ISO 3166 alpha-2 codes; empty: the org's own country only.
    allowed_countries      TEXT[] NOT NULL DEFAULT '{}',
    max_sms_micros         BIGINT,
    max_call_minute_micros BIGINT,
    velocity_per_hour      INT NOT NULL DEFAULT 30,
    updated_by             BIGINT REFERENCES users (id) ON DELETE SET NULL,
    updated_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT destination_rules_countries CHECK (
        cardinality(allowed_countries) <= 300
        AND array_position(allowed_countries, NULL) IS NULL
        AND array_to_string(allowed_countries, ',') ~ '^([A-Z]{2}(,[A-Z]{2})*)?$'),
    CONSTRAINT destination_rules_max_sms CHECK (max_sms_micros BETWEEN 0 AND 1000000000000),
    CONSTRAINT destination_rules_max_call CHECK (max_call_minute_micros BETWEEN 0 AND 1000000000000),
    CONSTRAINT destination_rules_velocity CHECK (velocity_per_hour BETWEEN 1 AND 100000)
);

-- Sends to one destination paused by the velocity rule: `cc:GB` (a country abroad) or
-- `p:+447400` (a number prefix: + and the first six digits). At most one open pause per
-- destination; texts to it are held (not lost) and calls refused until it is resumed.
CREATE TABLE destination_pauses (
    id         BIGSERIAL PRIMARY KEY,
    org_id     BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    dest_key   TEXT NOT NULL,
    -- What tripped it: `sms` or `call` (a pause stops both).
    kind       TEXT NOT NULL,
    -- The sends counted in the hour when it tripped, and the rule's figure then.
    sends      BIGINT NOT NULL,
    per_hour   INT NOT NULL,
    paused_at  TIMESTAMPTZ NOT NULL,
    resumed_at TIMESTAMPTZ,
    resumed_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT destination_pauses_key CHECK (dest_key ~ '^(cc:[A-Z]{2}|p:\+[0-9]{1,6})$'),
    CONSTRAINT destination_pauses_kind CHECK (kind IN ('sms', 'call')),
    CONSTRAINT destination_pauses_resumed CHECK (resumed_by IS NULL OR resumed_at IS NOT NULL)
);
CREATE UNIQUE INDEX destination_pauses_open ON destination_pauses (org_id, dest_key)
    WHERE resumed_at IS NULL;
CREATE INDEX destination_pauses_org ON destination_pauses (org_id, paused_at DESC);
-- The window of the velocity rule starts again at a destination's last resume.
CREATE INDEX destination_pauses_resumed ON destination_pauses (org_id, dest_key, resumed_at)
    WHERE resumed_at IS NOT NULL;

-- Refused destinations, counted per org, local day (the org's time zone) and reason.
CREATE TABLE destination_refusals (
    org_id BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    day    DATE NOT NULL,
    reason TEXT NOT NULL,
    n      BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, day, reason),
    CONSTRAINT destination_refusals_reason CHECK (reason IN ('country', 'blocked', 'price', 'paused'))
);

-- A text to a paused destination is kept as `held` under its pause, and sent when it is resumed.
-- Every outbound row records its destination's country (NULL for a number of no country, and
-- for rows written before this migration), for the velocity rule's count.
ALTER TABLE messages DROP CONSTRAINT messages_status,
    ADD CONSTRAINT messages_status CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'failed',
        'undelivered', 'received', 'held')),
    ADD COLUMN pause_id BIGINT REFERENCES destination_pauses (id) ON DELETE SET NULL,
    ADD COLUMN dest_country TEXT;
ALTER TABLE calls ADD COLUMN dest_country TEXT;

-- The velocity rule counts an org's sends of the last hour to a prefix (`left(…, 7)`: + and six
-- digits) or to a country.
CREATE INDEX messages_dest_prefix ON messages (org_id, left(other_e164, 7), created_at)
    WHERE direction = 'outbound';
CREATE INDEX messages_dest_country ON messages (org_id, dest_country, created_at)
    WHERE direction = 'outbound';
CREATE INDEX messages_held ON messages (pause_id, id) WHERE status = 'held';
CREATE INDEX calls_dest_prefix ON calls (org_id, left(to_e164, 7), created_at)
    WHERE direction = 'outbound';
CREATE INDEX calls_dest_country ON calls (org_id, dest_country, created_at)
    WHERE direction = 'outbound';

-- Compliance, parts 3 and 4: the recording consent announcement, and how long an org keeps what
-- it holds about people.

-- What callers hear before a call is recorded. On unless an owner or admin turns it off, saying
-- why. `message` null: the default wording in `language` (Twilio's <Say> language code).
CREATE TABLE recording_consent (
    org_id     BIGINT PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    announce   BOOLEAN NOT NULL DEFAULT true,
    message    TEXT,
    language   TEXT NOT NULL DEFAULT 'en-US',
    off_reason TEXT NOT NULL DEFAULT '',
    updated_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT recording_consent_message CHECK (char_length(message) BETWEEN 1 AND 500),
    CONSTRAINT recording_consent_language CHECK (language ~ '^[a-z]{2,3}-[A-Z]{2}$'),
    CONSTRAINT recording_consent_reason CHECK (char_length(off_reason) <= 500),
    CONSTRAINT recording_consent_off_needs_reason CHECK (announce OR char_length(off_reason) >= 3)
);

-- An uploaded announcement (WAV or MP3), played instead of the spoken one. The provider fetches it
-- from PhoneHub by its unguessable token (a provider's <Play> request carries no signature).
CREATE TABLE consent_audio (
    org_id       BIGINT PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    token        TEXT NOT NULL UNIQUE,
    content_type TEXT NOT NULL,
    file_name    TEXT NOT NULL,
    bytes        BYTEA NOT NULL,
    uploaded_by  BIGINT REFERENCES users (id) ON DELETE SET NULL,
    uploaded_at  TIMESTAMPTZ NOT NULL,
    CONSTRAINT consent_audio_type CHECK (content_type IN ('audio/wav', 'audio/mpeg')),
    CONSTRAINT consent_audio_size CHECK (octet_length(bytes) BETWEEN 1 AND 1048576),
    CONSTRAINT consent_audio_name CHECK (char_length(file_name) BETWEEN 1 AND 200),
    CONSTRAINT consent_audio_token CHECK (token ~ '^[0-9a-f]{64}$')
);

-- How long each kind of data is kept, in days (null: kept). A nightly run per org deletes what
-- has expired, at the provider first, and records what it did (counts, never content).
CREATE TABLE retention_policies (
    org_id          BIGINT PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    recordings_days INT,
    bodies_days     INT,
    records_days    INT,
    lookups_days    INT,
    -- When the org's next run is due (03:00 in the org's time zone, or sooner while a backlog
    -- remains).
    next_run_at     TIMESTAMPTZ NOT NULL,
    updated_by      BIGINT REFERENCES users (id) ON DELETE SET NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    CONSTRAINT retention_recordings CHECK (recordings_days BETWEEN 1 AND 3650),
    CONSTRAINT retention_bodies CHECK (bodies_days BETWEEN 1 AND 3650),
    CONSTRAINT retention_records CHECK (records_days BETWEEN 1 AND 3650),
    CONSTRAINT retention_lookups CHECK (lookups_days BETWEEN 1 AND 3650)
);
CREATE INDEX retention_policies_due ON retention_policies (next_run_at);

CREATE TABLE retention_runs (
    id                  BIGSERIAL PRIMARY KEY,
    org_id              BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    at                  TIMESTAMPTZ NOT NULL,
    recordings_deleted  INT NOT NULL DEFAULT 0,
    -- Of those, how many the provider deleted too (the rest it no longer had, or the org's
    -- configuration that held them is gone).
    provider_deleted    INT NOT NULL DEFAULT 0,
    bodies_redacted     INT NOT NULL DEFAULT 0,
    provider_redacted   INT NOT NULL DEFAULT 0,
    calls_deleted       INT NOT NULL DEFAULT 0,
    messages_deleted    INT NOT NULL DEFAULT 0,
    lookups_deleted     INT NOT NULL DEFAULT 0,
    -- Items the provider could not delete now: kept, and tried again at the next run.
    failures            INT NOT NULL DEFAULT 0
);
CREATE INDEX retention_runs_org ON retention_runs (org_id, at DESC);

-- A redacted message keeps its row (its cost, time and parties) with an empty body.
ALTER TABLE messages ADD COLUMN redacted_at TIMESTAMPTZ;
ALTER TABLE messages DROP CONSTRAINT messages_body_len;
ALTER TABLE messages ADD CONSTRAINT messages_body_len
    CHECK (char_length(body) <= 1600 AND (char_length(body) >= 1 OR redacted_at IS NOT NULL))
    NOT VALID;
ALTER TABLE messages VALIDATE CONSTRAINT messages_body_len;

-- What the retention run looks for: the oldest items of an org first.
CREATE INDEX messages_unredacted_age ON messages (org_id, created_at) WHERE redacted_at IS NULL;

-- The end of the last month the org's statement closed (NULL: none yet): records from before it
-- have been stated, and only they may be deleted.
CREATE FUNCTION closed_end(p_org BIGINT) RETURNS TIMESTAMPTZ LANGUAGE sql STABLE AS $$
    SELECT (o.closed_through + interval '1 month')::timestamp AT TIME ZONE o.time_zone
    FROM orgs o WHERE o.id = p_org
$$;

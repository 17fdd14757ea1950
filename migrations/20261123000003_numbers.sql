-- Numbers bought from the provider and owned by users inside an org.

CREATE TABLE owned_numbers (
    id                    BIGSERIAL PRIMARY KEY,
    org_id                BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id               BIGINT REFERENCES users (id) ON DELETE SET NULL,
    -- The phone configuration (and so the provider account) the number was bought with.
    config_id             BIGINT REFERENCES phone_configs (id) ON DELETE SET NULL,
    e164                  TEXT NOT NULL,
    provider_sid          TEXT,
    friendly_name         TEXT NOT NULL DEFAULT '',
    -- purchasing: a row before the provider call; active: bought; releasing: release asked for and
    -- not yet confirmed by the provider (still billed); released; failed: the purchase did not happen.
    status                TEXT NOT NULL DEFAULT 'purchasing',
    active                BOOLEAN NOT NULL DEFAULT TRUE,
    forward_to            TEXT,
    record_calls          BOOLEAN NOT NULL DEFAULT FALSE,
    shared                BOOLEAN NOT NULL DEFAULT FALSE,
    voice                 BOOLEAN NOT NULL DEFAULT FALSE,
    sms                   BOOLEAN NOT NULL DEFAULT FALSE,
    mms                   BOOLEAN NOT NULL DEFAULT FALSE,
    locality              TEXT,
    region                TEXT,
    monthly_price_micros  BIGINT NOT NULL,
    idempotency_key       TEXT NOT NULL,
    last_error            TEXT,
    release_attempts      INT NOT NULL DEFAULT 0,
    next_release_at       TIMESTAMPTZ,
    purchased_at          TIMESTAMPTZ,
    released_at           TIMESTAMPTZ,
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT owned_numbers_status CHECK (status IN ('purchasing', 'active', 'releasing', 'released', 'failed')),
    CONSTRAINT owned_numbers_name_len CHECK (char_length(friendly_name) <= 64),
    CONSTRAINT owned_numbers_price CHECK (monthly_price_micros >= 0)
);
-- One click, one purchase: the form's idempotency key.
CREATE UNIQUE INDEX owned_numbers_idempotency_key ON owned_numbers (org_id, idempotency_key);
-- A number is held by at most one live row.
CREATE UNIQUE INDEX owned_numbers_live_e164 ON owned_numbers (e164)
    WHERE status IN ('purchasing', 'active', 'releasing');
CREATE INDEX owned_numbers_org_idx ON owned_numbers (org_id, status);
CREATE INDEX owned_numbers_user_idx ON owned_numbers (user_id, created_at);
CREATE INDEX owned_numbers_release_retry_idx ON owned_numbers (next_release_at) WHERE status = 'releasing';

INSERT INTO prices (item, micros) VALUES
    ('number.monthly', 1000000),
    ('call.minute', 8500),
    ('recording.minute', 2500);

-- Per-user limits (per hour); changeable by the superadmin.
CREATE TABLE limits (
    item        TEXT PRIMARY KEY,
    per_hour    INT NOT NULL,
    CONSTRAINT limits_positive CHECK (per_hour > 0)
);
INSERT INTO limits (item, per_hour) VALUES ('number.purchase', 10), ('call.create', 60);

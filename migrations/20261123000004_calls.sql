-- Calls placed from and received on owned numbers, their status timeline and recordings, and the
-- monthly charges owned numbers accrue.

CREATE TABLE calls (
    id                      BIGSERIAL PRIMARY KEY,
    org_id                  BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    -- Who placed it (outbound) or whose number it reached (inbound).
    user_id                 BIGINT REFERENCES users (id) ON DELETE SET NULL,
    number_id               BIGINT REFERENCES owned_numbers (id) ON DELETE SET NULL,
    -- The phone configuration whose auth token signs this call's webhooks.
    config_id               BIGINT REFERENCES phone_configs (id) ON DELETE SET NULL,
    direction               TEXT NOT NULL,
    from_e164               TEXT NOT NULL,
    to_e164                 TEXT NOT NULL,
    -- The user's own phone: rung first for click-to-call, forwarded to for inbound calls.
    bridge_e164             TEXT,
    provider_sid            TEXT,
    status                  TEXT NOT NULL DEFAULT 'queued',
    -- The highest SequenceNumber applied: an older callback never overwrites a newer one.
    last_sequence           INT,
    duration_secs           INT,
    -- The provider's own price, once it reports one (positive micro-dollars).
    provider_price_micros   BIGINT,
    -- What the call costs: the provider's price, else started minutes × the per-minute rate.
    cost_micros             BIGINT NOT NULL DEFAULT 0,
    recording_count         INT NOT NULL DEFAULT 0,
    -- Started minutes of each recording, summed (what recordings are billed by).
    recording_minutes       INT NOT NULL DEFAULT 0,
    recording_cost_micros   BIGINT NOT NULL DEFAULT 0,
    error_message           TEXT,
    started_at              TIMESTAMPTZ,
    ended_at                TIMESTAMPTZ,
    created_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT calls_direction CHECK (direction IN ('outbound', 'inbound')),
    CONSTRAINT calls_status CHECK (status IN ('queued', 'initiated', 'ringing', 'in-progress',
        'completed', 'busy', 'no-answer', 'failed', 'canceled'))
);
CREATE UNIQUE INDEX calls_provider_sid ON calls (provider_sid);
-- Keyset pagination, newest first: the org's calls, one user's, one status's, one number's.
CREATE INDEX calls_org_page ON calls (org_id, created_at DESC, id DESC);
CREATE INDEX calls_user_page ON calls (org_id, user_id, created_at DESC, id DESC);
CREATE INDEX calls_status_page ON calls (org_id, status, created_at DESC, id DESC);
CREATE INDEX calls_number_page ON calls (number_id, created_at DESC, id DESC);
-- Calls per user per hour (the rate limit).
CREATE INDEX calls_user_recent ON calls (user_id, created_at) WHERE direction = 'outbound';

-- Every status a call went through, once each (callbacks are retried and may arrive late).
CREATE TABLE call_events (
    id           BIGSERIAL PRIMARY KEY,
    call_id      BIGINT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    status       TEXT NOT NULL,
    sequence     INT,
    occurred_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    received_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (call_id, status)
);

CREATE TABLE call_recordings (
    id             BIGSERIAL PRIMARY KEY,
    call_id        BIGINT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    provider_sid   TEXT NOT NULL UNIQUE,
    duration_secs  INT NOT NULL DEFAULT 0,
    cost_micros    BIGINT NOT NULL DEFAULT 0,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX call_recordings_call_idx ON call_recordings (call_id);

-- What owned numbers cost: one charge per number per month it is held (active or releasing).
CREATE TABLE number_charges (
    number_id  BIGINT NOT NULL REFERENCES owned_numbers (id) ON DELETE CASCADE,
    month      DATE NOT NULL,
    org_id     BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id    BIGINT REFERENCES users (id) ON DELETE SET NULL,
    micros     BIGINT NOT NULL,
    PRIMARY KEY (number_id, month)
);
CREATE INDEX number_charges_org_month ON number_charges (org_id, month);

-- Phone-number lookups: provider configuration per org, the shared lookup cache, cost attribution
-- and bulk jobs.

-- One per org, plus the system default (org_id NULL). The auth token is stored only encrypted
-- (AES-256-GCM); `token_key_id` names the key so keys can be rotated; `token_tail` is the last
-- four characters, shown masked.
CREATE TABLE phone_configs (
    id                  BIGSERIAL PRIMARY KEY,
    org_id              BIGINT REFERENCES orgs (id) ON DELETE CASCADE,
    provider            TEXT NOT NULL,
    display_name        TEXT NOT NULL DEFAULT '',
    active              BOOLEAN NOT NULL DEFAULT TRUE,
    lookup_enabled      BOOLEAN NOT NULL DEFAULT TRUE,
    lookup_cache_days   INT NOT NULL DEFAULT 30,
    caller_name_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    test_mode           BOOLEAN NOT NULL DEFAULT FALSE,
    default_sender      TEXT,
    api_base            TEXT,
    lookups_base        TEXT,
    account_sid         TEXT NOT NULL DEFAULT '',
    token_ciphertext    BYTEA,
    token_nonce         BYTEA,
    token_key_id        TEXT,
    token_tail          TEXT,
    version             BIGINT NOT NULL DEFAULT 1,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT phone_configs_provider CHECK (provider IN ('twilio', 'sandbox')),
    CONSTRAINT phone_configs_cache_days CHECK (lookup_cache_days BETWEEN 1 AND 365),
    CONSTRAINT phone_configs_name_len CHECK (char_length(display_name) <= 100),
    CONSTRAINT phone_configs_token_parts CHECK (
        (token_ciphertext IS NULL) = (token_nonce IS NULL)
        AND (token_ciphertext IS NULL) = (token_key_id IS NULL))
);
CREATE UNIQUE INDEX phone_configs_org_key ON phone_configs (org_id) WHERE org_id IS NOT NULL;
CREATE UNIQUE INDEX phone_configs_default_key ON phone_configs ((org_id IS NULL)) WHERE org_id IS NULL;

-- What the provider charges us, in micro-dollars.
CREATE TABLE prices (
    item        TEXT PRIMARY KEY,
    micros      BIGINT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT prices_non_negative CHECK (micros >= 0)
);
INSERT INTO prices (item, micros) VALUES
    ('lookup.line_type', 5000),
    ('lookup.caller_name', 10000);

-- The system-wide lookup cache, one row per number (shared by every org).
CREATE TABLE phone_numbers (
    e164                  TEXT PRIMARY KEY,
    country_code          TEXT,
    calling_country_code  TEXT,
    national_format       TEXT,
    valid                 BOOLEAN,
    line_type             TEXT,
    carrier_name          TEXT,
    mobile_country_code   TEXT,
    mobile_network_code   TEXT,
    is_mobile             BOOLEAN,
    is_voip               BOOLEAN,
    caller_name_checked   BOOLEAN NOT NULL DEFAULT FALSE,
    caller_name           TEXT,
    caller_type           TEXT,
    -- Only when a provider returns them; never guessed.
    address_street        TEXT,
    address_city          TEXT,
    address_region        TEXT,
    address_postal_code   TEXT,
    raw                   JSONB,
    lookup_count          BIGINT NOT NULL DEFAULT 0,
    first_lookup_at       TIMESTAMPTZ,
    last_lookup_at        TIMESTAMPTZ,
    -- NULL until a lookup succeeded.
    lookup_expires_at     TIMESTAMPTZ,
    -- Negative cache: the last provider error and when the provider may be asked again.
    error_code            INT,
    error_message         TEXT,
    error_count           INT NOT NULL DEFAULT 0,
    retry_after           TIMESTAMPTZ,
    -- Single-flight: the request holding the lease is the only one asking the provider.
    lease_token           TEXT,
    lease_until           TIMESTAMPTZ,
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX phone_numbers_expiry_idx ON phone_numbers (lookup_expires_at);

-- One row per lookup request, attributed to an org and a user.
CREATE TABLE lookup_events (
    id            BIGSERIAL PRIMARY KEY,
    org_id        BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id       BIGINT REFERENCES users (id) ON DELETE SET NULL,
    e164          TEXT NOT NULL,
    outcome       TEXT NOT NULL,
    cost_micros   BIGINT NOT NULL DEFAULT 0,
    saved_micros  BIGINT NOT NULL DEFAULT 0,
    line_type     TEXT,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT lookup_events_outcome CHECK (outcome IN ('hit', 'miss', 'refresh', 'error'))
);
CREATE INDEX lookup_events_org_time_idx ON lookup_events (org_id, created_at DESC);

-- Daily rollup of lookup_events, written in the same transaction as the events it counts.
CREATE TABLE lookup_daily (
    org_id        BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    day           DATE NOT NULL,
    line_type     TEXT NOT NULL DEFAULT '',
    requests      BIGINT NOT NULL DEFAULT 0,
    hits          BIGINT NOT NULL DEFAULT 0,
    misses        BIGINT NOT NULL DEFAULT 0,
    refreshes     BIGINT NOT NULL DEFAULT 0,
    errors        BIGINT NOT NULL DEFAULT 0,
    cost_micros   BIGINT NOT NULL DEFAULT 0,
    saved_micros  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, day, line_type)
);

-- Requests per number per org and month, for "most looked-up numbers".
CREATE TABLE lookup_monthly_numbers (
    org_id    BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    month     DATE NOT NULL,
    e164      TEXT NOT NULL,
    requests  BIGINT NOT NULL DEFAULT 0,
    last_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, month, e164)
);
CREATE INDEX lookup_monthly_numbers_top_idx ON lookup_monthly_numbers (org_id, month, requests DESC);
CREATE INDEX lookup_monthly_numbers_e164_idx ON lookup_monthly_numbers (org_id, e164);

-- Bulk lookups: a CSV becomes a job with one row per input line, processed in the background.
CREATE TABLE lookup_jobs (
    id            BIGSERIAL PRIMARY KEY,
    org_id        BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id       BIGINT REFERENCES users (id) ON DELETE SET NULL,
    filename      TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL DEFAULT 'queued',
    total         INT NOT NULL,
    error         TEXT,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at    TIMESTAMPTZ,
    finished_at   TIMESTAMPTZ,
    heartbeat_at  TIMESTAMPTZ,
    CONSTRAINT lookup_jobs_status CHECK (status IN ('queued', 'running', 'done', 'failed'))
);
CREATE INDEX lookup_jobs_org_idx ON lookup_jobs (org_id, id DESC);
CREATE INDEX lookup_jobs_open_idx ON lookup_jobs (id) WHERE status IN ('queued', 'running');

CREATE TABLE lookup_job_rows (
    job_id    BIGINT NOT NULL REFERENCES lookup_jobs (id) ON DELETE CASCADE,
    row_no    INT NOT NULL,
    input     TEXT NOT NULL,
    e164      TEXT,
    status    TEXT NOT NULL DEFAULT 'pending',
    outcome   TEXT,
    error     TEXT,
    PRIMARY KEY (job_id, row_no),
    CONSTRAINT lookup_job_rows_status CHECK (status IN ('pending', 'done', 'error'))
);
CREATE INDEX lookup_job_rows_pending_idx ON lookup_job_rows (job_id, e164) WHERE status = 'pending';

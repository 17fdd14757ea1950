-- Money guard, part 2: alerts that reach people. Each budget's thresholds (percent of its amount
-- plus any override) fire once per period, to an in-app notification, e-mail (an outbox sent by
-- the money worker) and the org's webhooks (signed deliveries, retried with backoff for a day).
ALTER TABLE budgets ADD COLUMN thresholds SMALLINT[] NOT NULL DEFAULT '{50,80,100}',
    ADD CONSTRAINT budgets_thresholds CHECK (
        cardinality(thresholds) <= 5 AND 1 <= ALL (thresholds) AND 100 >= ALL (thresholds));

-- A threshold fired in a period (at most once, across every server).
CREATE TABLE budget_alerts (
    budget_id    BIGINT NOT NULL REFERENCES budgets (id) ON DELETE CASCADE,
    period_start DATE NOT NULL,
    pct          SMALLINT NOT NULL,
    fired_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (budget_id, period_start, pct)
);

-- What a person reads in the app (the bell in the nav and the notifications page).
CREATE TABLE notifications (
    id         BIGSERIAL PRIMARY KEY,
    org_id     BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    link       TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    read_at    TIMESTAMPTZ,
    CONSTRAINT notifications_title CHECK (char_length(title) BETWEEN 1 AND 200),
    CONSTRAINT notifications_body CHECK (char_length(body) <= 2000),
    CONSTRAINT notifications_link CHECK (link = '' OR link LIKE '/%')
);
CREATE INDEX notifications_user_idx ON notifications (user_id, org_id, created_at DESC, id DESC);
CREATE INDEX notifications_unread_idx ON notifications (user_id, org_id) WHERE read_at IS NULL;

-- E-mail to send: each written once (its dedupe key), sent by whichever server claims it.
CREATE TABLE mail_outbox (
    id              BIGSERIAL PRIMARY KEY,
    org_id          BIGINT REFERENCES orgs (id) ON DELETE CASCADE,
    to_email        TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    dedupe_key      TEXT NOT NULL UNIQUE,
    created_at      TIMESTAMPTZ NOT NULL,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    attempts        INT NOT NULL DEFAULT 0,
    sent_at         TIMESTAMPTZ,
    last_error      TEXT,
    CONSTRAINT mail_outbox_subject CHECK (char_length(subject) BETWEEN 1 AND 200)
);
CREATE INDEX mail_outbox_due_idx ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL;

-- An org's webhook endpoints: each delivery signed with the endpoint's secret (encrypted at rest
-- like provider credentials; shown once when made).
CREATE TABLE org_webhooks (
    id          BIGSERIAL PRIMARY KEY,
    org_id      BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    url         TEXT NOT NULL,
    -- The signing secret, sealed with the keyring (as provider credentials are).
    secret_key_id     TEXT NOT NULL,
    secret_nonce      BYTEA NOT NULL,
    secret_ciphertext BYTEA NOT NULL,
    active      BOOLEAN NOT NULL DEFAULT true,
    created_by  BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT org_webhooks_url CHECK (char_length(url) BETWEEN 8 AND 2000 AND url ~ '^https?://')
);
CREATE INDEX org_webhooks_org_idx ON org_webhooks (org_id);

-- One event to one endpoint, retried with backoff until delivered or a day has passed.
CREATE TABLE webhook_deliveries (
    id              BIGSERIAL PRIMARY KEY,
    webhook_id      BIGINT NOT NULL REFERENCES org_webhooks (id) ON DELETE CASCADE,
    event_id        TEXT NOT NULL,
    event           TEXT NOT NULL,
    payload         JSONB NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending',
    attempts        INT NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ NOT NULL,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_status     INT,
    delivered_at    TIMESTAMPTZ,
    CONSTRAINT webhook_deliveries_state CHECK (state IN ('pending', 'delivered', 'failed')),
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_hook_idx ON webhook_deliveries (webhook_id, id DESC);

-- Each try of a delivery, with the receiver's answer (bounded).
CREATE TABLE webhook_attempts (
    delivery_id  BIGINT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    n            INT NOT NULL,
    at           TIMESTAMPTZ NOT NULL,
    status       INT,
    error        TEXT,
    body_excerpt TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (delivery_id, n),
    CONSTRAINT webhook_attempts_excerpt CHECK (char_length(body_excerpt) <= 1024)
);

-- API keys may read notifications and manage the org's webhooks (acting as an owner or admin).
ALTER TABLE api_keys DROP CONSTRAINT api_keys_scopes_check,
    ADD CONSTRAINT api_keys_scopes_check CHECK (
        cardinality(scopes) > 0
        AND scopes <@ ARRAY['lookups', 'numbers', 'calls', 'messages', 'usage:read', 'budgets', 'alerts']);

-- API keys: an org's code calls /v1 with `Authorization: Bearer phk_<id>_<secret>`. The key acts as
-- a chosen member of the org (their rights apply) within its scopes. Only a SHA-256 of the whole
-- key is kept (the secret is 256 random bits: a slow hash adds nothing); the secret is shown once.
CREATE TABLE api_keys (
    id              BIGSERIAL PRIMARY KEY,
    org_id          BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    -- The public part of the key (`phk_<public_id>_…`), shown in listings and logs.
    public_id       TEXT NOT NULL UNIQUE CHECK (public_id ~ '^[a-z0-9]{12}$'),
    key_sha256      BYTEA NOT NULL CHECK (length(key_sha256) = 32),
    name            TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    scopes          TEXT[] NOT NULL CHECK (
        cardinality(scopes) > 0
        AND scopes <@ ARRAY['lookups', 'numbers', 'calls', 'messages', 'usage:read']),
    acting_user_id  BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_by      BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_used_at    TIMESTAMPTZ,
    revoked_at      TIMESTAMPTZ,
    revoked_by      BIGINT REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX api_keys_org_idx ON api_keys (org_id, created_at DESC);

-- Answers to API requests sent with an `Idempotency-Key` (purchases): a retry with the same key
-- and the same request gets the stored answer; the same key with another request is refused.
CREATE TABLE api_idempotency (
    api_key_id      BIGINT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    idempotency_key TEXT NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    request_sha256  BYTEA NOT NULL CHECK (length(request_sha256) = 32),
    status          SMALLINT NOT NULL,
    body            JSONB NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (api_key_id, idempotency_key)
);

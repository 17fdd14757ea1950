-- Amazon Web Services as a second provider, Twilio's SharedKey webhook signatures, and an org's
-- own country.

-- An `aws` configuration keeps its access key id in `account_sid`, its secret access key in the
-- encrypted token columns and its AWS region in `region`; SMS sender options are its own.
ALTER TABLE phone_configs DROP CONSTRAINT phone_configs_provider;
ALTER TABLE phone_configs DROP CONSTRAINT phone_configs_region;
ALTER TABLE phone_configs
    ADD COLUMN sms_sender_id TEXT,
    ADD COLUMN sms_type TEXT,
    ADD CONSTRAINT phone_configs_provider CHECK (provider IN ('twilio', 'sandbox', 'aws')),
    ADD CONSTRAINT phone_configs_region CHECK (
        region IS NULL
        OR (provider <> 'aws' AND region IN ('ie1'))
        OR (provider = 'aws' AND region ~ '^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$')),
    ADD CONSTRAINT phone_configs_aws_region CHECK (provider <> 'aws' OR region IS NOT NULL),
    ADD CONSTRAINT phone_configs_sms_sender_id CHECK (
        sms_sender_id IS NULL OR sms_sender_id ~ '^[A-Za-z0-9]{1,11}$'),
    ADD CONSTRAINT phone_configs_sms_type CHECK (
        sms_type IS NULL OR sms_type IN ('Transactional', 'Promotional'));

-- What Amazon Pinpoint charges for one phone number validation, in micro-dollars.
INSERT INTO prices (item, micros) VALUES ('lookup.aws_validate', 6000)
ON CONFLICT (item) DO NOTHING;

-- Keys Twilio signs a configuration's webhooks with instead of the auth token (several at once,
-- for rotation). The secret is stored only encrypted, like the auth token; `secret_tail` is
-- shown masked.
CREATE TABLE webhook_signing_keys (
    id                  BIGSERIAL PRIMARY KEY,
    config_id           BIGINT NOT NULL REFERENCES phone_configs (id) ON DELETE CASCADE,
    key_id              TEXT NOT NULL,
    secret_ciphertext   BYTEA NOT NULL,
    secret_nonce        BYTEA NOT NULL,
    secret_key_id       TEXT NOT NULL,
    secret_tail         TEXT NOT NULL,
    created_by          BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_used_at        TIMESTAMPTZ,
    CONSTRAINT webhook_signing_keys_key_id CHECK (key_id ~ '^[A-Za-z0-9_-]{1,100}$'),
    CONSTRAINT webhook_signing_keys_unique UNIQUE (config_id, key_id)
);

-- The country national numbers are read in (ISO 3166-1 alpha-2); existing orgs dial like the US.
ALTER TABLE orgs
    ADD COLUMN country TEXT NOT NULL DEFAULT 'US',
    ADD CONSTRAINT orgs_country CHECK (country ~ '^[A-Z]{2}$');

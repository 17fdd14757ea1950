-- Provider endpoints are not tenant input: an org's configuration names a provider and, for Twilio,
-- a region from a fixed list; free-form base URLs belong to the system default only. A stored token
-- remembers where it may be sent (`token_scope`), so changing the destination needs the token again.

ALTER TABLE phone_configs
    ADD COLUMN region TEXT,
    ADD COLUMN token_scope TEXT;

-- Each stored token was saved for where its row pointed then (same formula as
-- `phone_config::token_scope` in Rust).
UPDATE phone_configs
SET token_scope = provider || '|' || coalesce(region, '') || '|' || account_sid || '|'
                  || coalesce(api_base, '') || '|' || coalesce(lookups_base, '')
WHERE token_key_id IS NOT NULL;

-- Orgs lose their free-form bases. A token saved for such a base no longer matches its row's scope,
-- so it is never sent to the provider's real host: the org admin enters it again.
UPDATE phone_configs SET api_base = NULL, lookups_base = NULL WHERE org_id IS NOT NULL;

ALTER TABLE phone_configs
    ADD CONSTRAINT phone_configs_bases_system_only
        CHECK (org_id IS NULL OR (api_base IS NULL AND lookups_base IS NULL)),
    ADD CONSTRAINT phone_configs_region CHECK (region IS NULL OR region IN ('ie1'));

-- Login attempts, counted atomically per e-mail and per client IP (a row per attempt that was let
-- through to the password check; the throttle inserts only while under the limit).
CREATE TABLE login_attempts (
    id          BIGSERIAL PRIMARY KEY,
    email       TEXT NOT NULL,
    ip          TEXT,
    succeeded   BOOLEAN,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX login_attempts_email_idx ON login_attempts (email, created_at);
CREATE INDEX login_attempts_ip_idx ON login_attempts (ip, created_at);

-- The shared cache showed a provider's own error text to every org; it now keeps PhoneHub's own
-- sentence (the provider's stays in the logs). Old rows fall back to the generic sentence.
UPDATE phone_numbers SET error_message = NULL WHERE error_message IS NOT NULL;

-- A bulk job's current worker: heartbeats only count from it, so a job taken over after a stall
-- is never worked on by two processes.
ALTER TABLE lookup_jobs ADD COLUMN claim_token TEXT;

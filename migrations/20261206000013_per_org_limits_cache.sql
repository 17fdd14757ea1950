-- Issue 22, items 5 and 6: limits and queues per org; the shared lookup cache belongs to nobody.

-- The hourly limits count a user's rows in one org (another org's admin cannot use them up).
CREATE INDEX owned_numbers_org_user_recent ON owned_numbers (org_id, user_id, created_at);
CREATE INDEX calls_org_user_recent ON calls (org_id, user_id, created_at)
    WHERE direction = 'outbound';
CREATE INDEX messages_org_user_recent ON messages (org_id, user_id, created_at)
    WHERE direction = 'outbound';

-- Bulk jobs: a few open per org, claimed round-robin by org (the org with the fewest running
-- jobs, then the one whose last claim is oldest, then the oldest job).
CREATE INDEX lookup_jobs_org_open_idx ON lookup_jobs (org_id) WHERE status IN ('queued', 'running');
CREATE TABLE lookup_job_claims (
    org_id           BIGINT PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    last_claimed_at  TIMESTAMPTZ NOT NULL
);

-- Which provider answered the shared row ('twilio', 'aws', 'sandbox'; NULL for older rows):
-- an answer from another provider than the asking org's own is labelled as such. Freshness is
-- judged per asking org from `last_lookup_at` and its own cache days.
ALTER TABLE phone_numbers ADD COLUMN answered_by TEXT;

-- An AWS configuration is used only after a connection test succeeded for where its key is sent
-- (`token_scope` at that moment); replacing the key asks for a new test. Configurations saved
-- before this rule were already in use and count as tested.
ALTER TABLE phone_configs ADD COLUMN verified_scope TEXT;
UPDATE phone_configs SET verified_scope = token_scope WHERE provider = 'aws';

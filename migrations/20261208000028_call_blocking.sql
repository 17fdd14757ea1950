-- Call blocking: callers an org refuses before anything rings (exact numbers, prefixes, and
-- optionally anyone who hides their number), and the numbers its people must not call (the
-- do-not-call list, refused before the provider is asked).
CREATE TABLE call_blocks (
    id         BIGSERIAL PRIMARY KEY,
    org_id     BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    -- 'inbound': callers refused; 'outbound': numbers not to call.
    list       TEXT NOT NULL,
    -- E.164 ('+14155550100'), or the start of one ('+1900') when `is_prefix`.
    pattern    TEXT NOT NULL,
    is_prefix  BOOLEAN NOT NULL,
    note       TEXT NOT NULL DEFAULT '',
    created_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT call_blocks_list CHECK (list IN ('inbound', 'outbound')),
    CONSTRAINT call_blocks_pattern CHECK (pattern ~ '^\+[1-9][0-9]{0,14}$'),
    CONSTRAINT call_blocks_note CHECK (char_length(note) <= 200),
    CONSTRAINT call_blocks_once UNIQUE (org_id, list, pattern, is_prefix)
);
CREATE INDEX call_blocks_page ON call_blocks (org_id, list, created_at DESC, id DESC);

ALTER TABLE orgs ADD COLUMN block_anonymous_callers BOOLEAN NOT NULL DEFAULT FALSE;

-- Why an inbound call was refused before it rang: its number, a prefix, or a hidden number.
ALTER TABLE calls ADD COLUMN blocked TEXT;
ALTER TABLE calls ADD CONSTRAINT calls_blocked
    CHECK (blocked IS NULL OR blocked IN ('number', 'prefix', 'anonymous')) NOT VALID;
ALTER TABLE calls VALIDATE CONSTRAINT calls_blocked;
CREATE INDEX calls_blocked_page ON calls (org_id, created_at DESC) WHERE blocked IS NOT NULL;

-- Requests by phone number: an erased number is replaced, wherever the org keeps it, by a
-- salted hash of it (the org's own random salt), so costs, statements and the audit trail keep
-- their rows and sums without the number.
ALTER TABLE orgs ADD COLUMN privacy_salt TEXT NOT NULL DEFAULT replace(gen_random_uuid()::text, '-', '');

-- "erased-" and the first 16 hex digits of SHA-256(salt ‖ number): the same for one number in
-- one org (so an erasure and its audit entry can be matched by someone who has the number),
-- meaningless elsewhere.
CREATE FUNCTION number_hash(p_org BIGINT, p_e164 TEXT) RETURNS TEXT LANGUAGE sql STABLE AS $$
    SELECT 'erased-' || left(encode(sha256(convert_to(o.privacy_salt || p_e164, 'UTF8')), 'hex'), 16)
    FROM orgs o WHERE o.id = p_org
$$;

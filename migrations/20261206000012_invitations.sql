-- Membership by consent: an org's admins invite an e-mail; the person behind it becomes a member
-- only by accepting (pending invitations are not memberships, so nobody can act as them).

CREATE TABLE invitations (
    id          BIGSERIAL PRIMARY KEY,
    org_id      BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    -- The address invited, lower-cased as users.email is; no user id, so the org's side of an
    -- invitation says nothing about whether an account exists.
    email       TEXT NOT NULL,
    role        TEXT NOT NULL,
    invited_by  BIGINT REFERENCES users (id) ON DELETE SET NULL,
    status      TEXT NOT NULL DEFAULT 'pending',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ NOT NULL,
    decided_at  TIMESTAMPTZ,
    CONSTRAINT invitations_role CHECK (role IN ('owner', 'admin', 'member')),
    CONSTRAINT invitations_status CHECK (status IN ('pending', 'accepted', 'declined', 'revoked', 'expired')),
    CONSTRAINT invitations_email_lower CHECK (email = lower(email)),
    CONSTRAINT invitations_email_len CHECK (char_length(email) BETWEEN 3 AND 254)
);
-- One open invitation per org and address (a lapsed one is marked expired before another is made).
CREATE UNIQUE INDEX invitations_pending_key ON invitations (org_id, email) WHERE status = 'pending';
-- The invitee's home page lists their open invitations.
CREATE INDEX invitations_email_idx ON invitations (email) WHERE status = 'pending';

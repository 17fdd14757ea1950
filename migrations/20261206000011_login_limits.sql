-- Current-password checks on the change-password form, counted per user as logins are counted per
-- e-mail: a stolen session can neither guess the password nor keep argon2 busy without limit. A row
-- per check let through to argon2 (reserved before, settled after: NULL while it runs).
CREATE TABLE password_checks (
    id          BIGSERIAL PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    ip          TEXT,
    succeeded   BOOLEAN,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX password_checks_user_idx ON password_checks (user_id, created_at);

-- The strict login limit is now per (e-mail, address), so that strangers cannot lock an account.
CREATE INDEX login_attempts_email_ip_idx ON login_attempts (email, ip, created_at);

-- When an account's password last changed: device cookies issued before it vouch for nobody (a
-- thief's cookie stops helping them once the owner changes the password).
ALTER TABLE users ADD COLUMN password_changed_at TIMESTAMPTZ NOT NULL DEFAULT now();

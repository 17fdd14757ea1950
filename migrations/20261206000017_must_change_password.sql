-- An account made for someone with a password another person chose (an org admin inviting a new
-- e-mail, the superadmin creating a user) must choose their own before anything else.
ALTER TABLE users ADD COLUMN must_change_password boolean NOT NULL DEFAULT false;

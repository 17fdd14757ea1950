-- A configuration's credential is a Twilio Account SID and auth token or an AWS access key id and
-- secret access key: the column that holds the first part is named for neither. (The secret's
-- columns, `token_*`, already are.)
ALTER TABLE phone_configs RENAME COLUMN account_sid TO credential_id;

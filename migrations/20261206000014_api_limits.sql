-- The public API's limits across servers: each live server takes its share of every key's
-- request budget, and every server keeps the list of live key ids in memory.

-- One row per running server; `seen_at` is refreshed every few seconds, and a server not seen for
-- 30 seconds no longer counts (it died without saying goodbye).
CREATE TABLE api_servers (
    id         TEXT PRIMARY KEY CHECK (id ~ '^[a-f0-9]{32}$'),
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    seen_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- A key made or revoked reaches every server at once (their in-memory list of live key ids, and
-- the keys they remember as recently authenticated).
CREATE FUNCTION notify_api_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('phonehub_api_keys', NEW.public_id);
    RETURN NEW;
END
$$;

CREATE TRIGGER api_keys_notify
    AFTER INSERT OR UPDATE OF revoked_at ON api_keys
    FOR EACH ROW EXECUTE FUNCTION notify_api_key();

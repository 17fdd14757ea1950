-- Each server process keeps the lookup answers it serves most in memory. When a cached row changes
-- (a refresh, a failure, a purge) every process hears about it and drops its copy. Lease changes
-- alone do not change an answer and stay quiet.
CREATE FUNCTION phone_numbers_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('phonehub_lookup_rows', OLD.e164);
    RETURN NULL;
END
$$;

CREATE TRIGGER phone_numbers_updated AFTER UPDATE ON phone_numbers FOR EACH ROW
    WHEN ((to_jsonb(OLD) - 'lease_token' - 'lease_until' - 'updated_at')
          IS DISTINCT FROM (to_jsonb(NEW) - 'lease_token' - 'lease_until' - 'updated_at'))
    EXECUTE FUNCTION phone_numbers_changed();

CREATE TRIGGER phone_numbers_deleted AFTER DELETE ON phone_numbers FOR EACH ROW
    EXECUTE FUNCTION phone_numbers_changed();

-- TRUNCATE fires no row trigger: it drops every process's whole copy.
CREATE FUNCTION phone_numbers_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('phonehub_lookup_rows', '*');
    RETURN NULL;
END
$$;

CREATE TRIGGER phone_numbers_truncated AFTER TRUNCATE ON phone_numbers FOR EACH STATEMENT
    EXECUTE FUNCTION phone_numbers_truncated();

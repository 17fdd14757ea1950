-- Every server forgets what it remembered about an account's access (for answering while the
-- database is away) as soon as the account or one of its memberships changes anywhere.
CREATE FUNCTION notify_access() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'users' THEN
        PERFORM pg_notify('phonehub_access', COALESCE(NEW.id, OLD.id)::text);
    ELSE
        PERFORM pg_notify('phonehub_access', COALESCE(NEW.user_id, OLD.user_id)::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER memberships_access_notify
    AFTER INSERT OR UPDATE OR DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION notify_access();

CREATE TRIGGER users_access_notify
    AFTER UPDATE OF password_hash, is_support, is_superadmin OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION notify_access();

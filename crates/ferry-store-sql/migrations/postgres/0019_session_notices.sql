-- The session check's cache on each node (src/session_cache.rs) learns of every change to a
-- session or a user through these notices, whoever makes the change: this node, another node,
-- the CLI or an operator's own SQL. A notice is delivered when its transaction commits, and
-- not at all if it rolls back. PostgreSQL only: SQLite keeps no such cache.
CREATE FUNCTION ferry_session_notice() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'sessions' THEN
        PERFORM pg_notify('ferry_session_changes', 's' || OLD.id);
    ELSE
        PERFORM pg_notify('ferry_session_changes', 'u' || OLD.id::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER sessions_notice AFTER UPDATE OR DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION ferry_session_notice();
CREATE TRIGGER users_notice AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION ferry_session_notice();

-- TRUNCATE fires no row triggers: it empties every node's cache instead.
CREATE FUNCTION ferry_session_notice_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ferry_session_changes', '*');
    RETURN NULL;
END
$$;

CREATE TRIGGER sessions_truncate_notice AFTER TRUNCATE ON sessions
    FOR EACH STATEMENT EXECUTE FUNCTION ferry_session_notice_all();
CREATE TRIGGER users_truncate_notice AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION ferry_session_notice_all();

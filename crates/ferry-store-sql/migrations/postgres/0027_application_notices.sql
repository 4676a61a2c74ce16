-- A session is checked with its application (src/session_reads.rs: a disabled application's
-- sessions are refused until it is enabled again), so every node's session cache must forget
-- its answers when an application changes, whoever changes it. Rare: every answer goes.
CREATE TRIGGER applications_notice AFTER UPDATE OR DELETE ON applications
    FOR EACH STATEMENT EXECUTE FUNCTION ferry_session_notice_all();

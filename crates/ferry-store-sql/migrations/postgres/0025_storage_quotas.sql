-- Storage quotas. A user's quota (`users.quota_bytes`: NULL the server's `[files] user_quota`,
-- 0 none, else bytes) bounds what they have stored: every version they uploaded, in whole
-- 4 KiB blocks and one at least (`ferry_core::domain::quota::charged`: a file takes whole
-- blocks on a disk and rows in this database whatever its size, so the quota bounds how many
-- files an account makes too), counted from its upload until its content is purged (a deleted file's bytes stay on disk until then, so
-- deleting and uploading again cannot fill it). `user_storage` keeps each user's total,
-- moved by these triggers in the same transaction as the rows they follow, whichever writer
-- makes the change (an upload on any node, a rename handing content over, the purge). Kept
-- apart from `users` so that an upload does not change the user's row (nor send the session
-- caches' notice, migration 0019).
ALTER TABLE users ADD COLUMN quota_bytes BIGINT;

CREATE TABLE user_storage (
    user_id      BIGINT PRIMARY KEY,
    stored_bytes BIGINT NOT NULL DEFAULT 0
);

-- A version's charge: its size in whole 4 KiB blocks, one at least.
CREATE FUNCTION ferry_charged(size BIGINT) RETURNS BIGINT LANGUAGE sql IMMUTABLE AS
    'SELECT GREATEST(4096, (size + 4095) / 4096 * 4096)';

INSERT INTO user_storage (user_id, stored_bytes)
    SELECT v.created_by, SUM(ferry_charged(v.size)) FROM file_versions v JOIN files f ON f.id = v.file_id
    WHERE f.purged = 0 AND v.created_by IS NOT NULL GROUP BY v.created_by;

CREATE FUNCTION ferry_user_storage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'files' THEN
        -- The purge: every version of the file leaves its uploader's count.
        UPDATE user_storage s SET stored_bytes = s.stored_bytes - v.total
            FROM (SELECT created_by, SUM(ferry_charged(size)) AS total FROM file_versions
                  WHERE file_id = NEW.id AND created_by IS NOT NULL GROUP BY created_by) v
            WHERE s.user_id = v.created_by;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO user_storage (user_id, stored_bytes) VALUES (NEW.created_by, ferry_charged(NEW.size))
            ON CONFLICT (user_id)
            DO UPDATE SET stored_bytes = user_storage.stored_bytes + EXCLUDED.stored_bytes;
    ELSIF EXISTS (SELECT 1 FROM files WHERE id = OLD.file_id AND purged = 0) THEN
        -- A version leaves a live file when a rename hands its content over to another
        -- file, which records it as its own new version (counted on insert).
        UPDATE user_storage SET stored_bytes = stored_bytes - ferry_charged(OLD.size)
            WHERE user_id = OLD.created_by;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER user_storage_on_version AFTER INSERT ON file_versions
    FOR EACH ROW WHEN (NEW.created_by IS NOT NULL)
    EXECUTE FUNCTION ferry_user_storage();
CREATE TRIGGER user_storage_on_version_gone AFTER DELETE ON file_versions
    FOR EACH ROW WHEN (OLD.created_by IS NOT NULL)
    EXECUTE FUNCTION ferry_user_storage();
CREATE TRIGGER user_storage_on_purge AFTER UPDATE OF purged ON files
    FOR EACH ROW WHEN (NEW.purged <> 0 AND OLD.purged = 0)
    EXECUTE FUNCTION ferry_user_storage();

-- A resumable (tus) upload in progress reserves its declared length against its user's quota
-- until it is finished or given up: its bytes wait in staging meanwhile, and without the
-- reservation a user could begin uploads up to the quota again and again and leave them
-- idle, each one's bytes on the disk for a day. Uploads begun before have none.
ALTER TABLE tus_uploads ADD COLUMN user_id BIGINT;
CREATE INDEX tus_uploads_by_user ON tus_uploads (user_id) WHERE file_id IS NULL;

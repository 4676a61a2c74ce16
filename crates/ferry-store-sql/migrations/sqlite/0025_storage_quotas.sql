-- Storage quotas. A user's quota (`users.quota_bytes`: NULL the server's `[files] user_quota`,
-- 0 none, else bytes) bounds what they have stored: every version they uploaded, in whole
-- 4 KiB blocks and one at least (`ferry_core::domain::quota::charged`: a file takes whole
-- blocks on a disk and rows in this database whatever its size, so the quota bounds how many
-- files an account makes too), counted from its upload until its content is purged (a deleted file's bytes stay on disk until then, so
-- deleting and uploading again cannot fill it). `user_storage` keeps each user's total,
-- moved by these triggers in the same transaction as the rows they follow, whichever writer
-- makes the change (an upload on any node, a rename handing content over, the purge). Kept
-- apart from `users` so that an upload does not change the user's row.
ALTER TABLE users ADD COLUMN quota_bytes INTEGER;

CREATE TABLE user_storage (
    user_id      INTEGER PRIMARY KEY,
    stored_bytes INTEGER NOT NULL DEFAULT 0
);

INSERT INTO user_storage (user_id, stored_bytes)
    SELECT v.created_by, SUM(MAX(4096, (v.size + 4095) / 4096 * 4096)) FROM file_versions v JOIN files f ON f.id = v.file_id
    WHERE f.purged = 0 AND v.created_by IS NOT NULL GROUP BY v.created_by;

CREATE TRIGGER user_storage_on_version AFTER INSERT ON file_versions
    WHEN NEW.created_by IS NOT NULL
BEGIN
    INSERT INTO user_storage (user_id, stored_bytes) VALUES (NEW.created_by, MAX(4096, (NEW.size + 4095) / 4096 * 4096))
        ON CONFLICT (user_id) DO UPDATE SET stored_bytes = stored_bytes + excluded.stored_bytes;
END;

-- A version leaves a live file when a rename hands its content over to another file, which
-- records it as its own new version (counted above).
CREATE TRIGGER user_storage_on_version_gone AFTER DELETE ON file_versions
    WHEN OLD.created_by IS NOT NULL
         AND (SELECT purged FROM files WHERE id = OLD.file_id) = 0
BEGIN
    UPDATE user_storage SET stored_bytes = stored_bytes - MAX(4096, (OLD.size + 4095) / 4096 * 4096)
        WHERE user_id = OLD.created_by;
END;

CREATE TRIGGER user_storage_on_purge AFTER UPDATE OF purged ON files
    WHEN NEW.purged <> 0 AND OLD.purged = 0
BEGIN
    UPDATE user_storage SET stored_bytes = stored_bytes - (
            SELECT COALESCE(SUM(MAX(4096, (v.size + 4095) / 4096 * 4096)), 0) FROM file_versions v
            WHERE v.file_id = NEW.id AND v.created_by = user_storage.user_id)
        WHERE user_id IN (SELECT created_by FROM file_versions WHERE file_id = NEW.id);
END;

-- A resumable (tus) upload in progress reserves its declared length against its user's quota
-- until it is finished or given up: its bytes wait in staging meanwhile, and without the
-- reservation a user could begin uploads up to the quota again and again and leave them
-- idle, each one's bytes on the disk for a day. Uploads begun before have none.
ALTER TABLE tus_uploads ADD COLUMN user_id INTEGER;
CREATE INDEX tus_uploads_by_user ON tus_uploads (user_id) WHERE file_id IS NULL;

-- Deleted files whose content has been removed after the retention period.
ALTER TABLE files ADD COLUMN purged BIGINT NOT NULL DEFAULT 0;
CREATE INDEX files_purge_queue ON files (deleted, purged, deleted_at);

-- The purge queue holds deleted files only (issue 21): every live file was an entry of it,
-- so each upload wrote one more index page than it needed to. The purge's one query
-- (`deleted = 1 AND purged = 0 AND deleted_at <= ?`, in `deleted_at` order) reads this index.
DROP INDEX files_purge_queue;
CREATE INDEX files_purge_queue ON files (deleted_at) WHERE deleted = 1 AND purged = 0;

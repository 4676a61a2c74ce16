-- The navigation folders (root, Home, Shared) were made with time 0, which clients show as
-- 1 January 1970 (issue 16): they take the time of the installation, or of this upgrade.
UPDATE folders
SET created_at = (EXTRACT(EPOCH FROM now()) * 1000)::BIGINT,
    modified_at = (EXTRACT(EPOCH FROM now()) * 1000)::BIGINT
WHERE id IN (1, 2, 3) AND created_at = 0;

-- The web client and administration console (issue 17): its reserved application; the
-- indexes of a folder page sorted by size or by modification time (the name order has
-- files_by_folder), so that a page of a 100,000-file folder is read from an index; and the
-- audit records of one file (a file page's activity).
INSERT INTO applications (id, name, enabled, created_at) VALUES (5, 'Ferry web client', 1, 0);
CREATE INDEX files_by_folder_size ON files (folder_id, deleted, size, id);
CREATE INDEX files_by_folder_modified ON files (folder_id, deleted, modified_at, id);
CREATE INDEX audit_by_file ON audit_log (file_id) WHERE file_id IS NOT NULL;
